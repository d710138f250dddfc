/*
 * warden-start --clone: a new container directory from create.sh's layout
 * template, in one process and with as few new inodes as it can.
 *
 *   warden-start --clone TEMPLATE TARGET --copy DIR [--owner DIR UID]
 *
 * TARGET is made (it must not exist) with TEMPLATE's tree. Directories are
 * new, with the template's owner, mode and times. Below DIR (relative to
 * TEMPLATE: the container's writable layer, which the container's root can
 * write to) every file is a copy of its own: owner, mode and times kept, as
 * `cp -a` keeps them (not extended attributes: the template has none).
 * Everything else (the container's scripts, lib/, the link to the rootfs:
 * host files no process of the container can reach) is a hard link to the
 * template's file: no inode to allocate (the host file system's inode
 * allocator was most of a create's `cp -a`), none to free at destroy. A
 * template made again later is a new tree: the links keep the files this
 * container was made with. Below --owner's DIR (vcap's home) files and
 * directories belong to UID:UID instead (`chown -R`'s work, symbolic links
 * themselves included).
 *
 * Exit status 0, or 1 with the reason on stderr (create.sh then falls back
 * to a copy of the skeleton); what was made is left for create.sh to remove.
 *
 *   warden-start --copy-image SOURCE TARGET
 *
 * disk.sh's copy of a template image (what `cp --sparse=always
 * --reflink=auto` did, without a program to start): TARGET made (it must
 * not exist) with SOURCE's permissions; a reflink where the file system has
 * them, else SOURCE's data extents copied in the kernel at their offsets
 * (each allocated first at its own length), its holes left holes; written
 * back before it is closed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "clone.h"

static struct {
	const char *copy, *owner;
	uid_t uid;
	int copy_all;
} clone_opt;

/* What failed, for the messages: "clone" or move_tree's caller's words. */
static const char *clone_step = "clone";

static void clone_die(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void clone_die(const char *format, ...)
{
	va_list args;
	int saved = errno;
	fprintf(stderr, "warden-start: %s: ", clone_step);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	if (saved)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	exit(1);
}

/* Whether REL is DIR or below it. */
static int below(const char *rel, const char *dir)
{
	size_t length;
	if (!dir)
		return 0;
	length = strlen(dir);
	return !strncmp(rel, dir, length) && (rel[length] == '\0' || rel[length] == '/');
}

/* The owner, mode and times of ST on FD (NAME in DIR_FD for a link). */
static void set_attributes(int fd, int dir_fd, const char *name, const struct stat *st,
			   const char *rel)
{
	uid_t uid = st->st_uid;
	gid_t gid = st->st_gid;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (below(rel, clone_opt.owner)) {
		uid = clone_opt.uid;
		gid = (gid_t)clone_opt.uid;
	}
	if (S_ISLNK(st->st_mode)) {
		if (fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			clone_die("cannot set the attributes of %s", rel);
		return;
	}
	/* The owner first: a chown clears set-user-ID and set-group-ID bits. */
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 ||
	    futimens(fd, times) < 0)
		clone_die("cannot set the attributes of %s", rel);
}

/* A copy of the regular file NAME (FROM_DIR) as NAME in TO_DIR. */
static void copy_file(int from_dir, int to_dir, const char *name, const struct stat *st,
		      const char *rel)
{
	char buffer[65536];
	int from = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (from < 0)
		clone_die("cannot read %s", rel);
	int to = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (to < 0)
		clone_die("cannot make %s", rel);
	for (;;) {
		ssize_t n = read(from, buffer, sizeof buffer);
		if (n < 0)
			clone_die("cannot read %s", rel);
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(to, buffer + done, (size_t)(n - done));
			if (w < 0)
				clone_die("cannot write %s", rel);
			done += w;
		}
	}
	set_attributes(to, to_dir, name, st, rel);
	close(from);
	if (close(to) < 0)
		clone_die("cannot write %s", rel);
}

/* The symbolic link NAME (FROM_DIR) made again in TO_DIR. */
static void copy_link(int from_dir, int to_dir, const char *name, const struct stat *st,
		      const char *rel)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(from_dir, name, target, sizeof target - 1);
	if (n < 0)
		clone_die("cannot read %s", rel);
	target[n] = '\0';
	if (symlinkat(target, to_dir, name) < 0)
		clone_die("cannot make %s", rel);
	set_attributes(-1, to_dir, name, st, rel);
}

static void clone_dir(int from, int to, const char *rel);

/* One entry NAME of the directory REL. */
static void clone_entry(int from, int to, const char *name, const char *rel_dir)
{
	char rel[PATH_MAX];
	struct stat st;
	int n = snprintf(rel, sizeof rel, "%s%s%s", rel_dir, *rel_dir ? "/" : "", name);
	if (n < 0 || n >= (int)sizeof rel) {
		errno = ENAMETOOLONG;
		clone_die("%s/%s", rel_dir, name);
	}
	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		clone_die("cannot read %s", rel);
	int copy = clone_opt.copy_all || below(rel, clone_opt.copy) || below(rel, clone_opt.owner);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(to, name, 0700) < 0)
			clone_die("cannot make %s", rel);
		int from_sub = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int to_sub = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (from_sub < 0 || to_sub < 0)
			clone_die("cannot open %s", rel);
		clone_dir(from_sub, to_sub, rel);
		set_attributes(to_sub, to, name, &st, rel);
		close(from_sub);
		close(to_sub);
		return;
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		errno = 0;
		clone_die("unexpected file in the template: %s", rel);
	}
	/* Outside the writable layer: the template's own inode (a link to a
	 * symbolic link is the link itself: no AT_SYMLINK_FOLLOW). */
	if (!copy) {
		if (linkat(from, name, to, name, 0) == 0)
			return;
		if (errno != EXDEV && errno != EMLINK && errno != EPERM)
			clone_die("cannot link %s", rel);
	}
	if (S_ISLNK(st.st_mode))
		copy_link(from, to, name, &st, rel);
	else
		copy_file(from, to, name, &st, rel);
}

/* Every entry of the directory FROM (REL in the template) into TO. */
static void clone_dir(int from, int to, const char *rel)
{
	int fd = dup(from);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *entry;
	if (!dir)
		clone_die("cannot read %s", *rel ? rel : ".");
	while ((errno = 0, entry = readdir(dir)) != NULL) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		clone_entry(from, to, entry->d_name, rel);
	}
	if (errno)
		clone_die("cannot read %s", *rel ? rel : ".");
	closedir(dir);
}

static void clone_usage(void) __attribute__((noreturn));

static void clone_usage(void)
{
	errno = 0;
	clone_die("usage: warden-start --clone TEMPLATE TARGET --copy DIR [--owner DIR UID]");
}

int clone_main(int argc, char **argv)
{
	struct stat st;
	int i;
	char *end;
	if (argc < 4)
		clone_usage();
	const char *template = argv[2], *target = argv[3];
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--copy") && i + 1 < argc) {
			clone_opt.copy = argv[++i];
		} else if (!strcmp(argv[i], "--owner") && i + 2 < argc) {
			clone_opt.owner = argv[++i];
			errno = 0;
			unsigned long uid = strtoul(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || uid >= (unsigned long)(uid_t)-1)
				clone_usage();
			clone_opt.uid = (uid_t)uid;
		} else {
			clone_usage();
		}
	}
	/* Nothing below the writable layer may be shared: --copy is required. */
	if (!clone_opt.copy || !*clone_opt.copy || !*template || !*target)
		clone_usage();
	int from = open(template, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from < 0 || fstat(from, &st) < 0)
		clone_die("cannot open %s", template);
	if (mkdir(target, 0700) < 0)
		clone_die("cannot make %s", target);
	int to = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (to < 0)
		clone_die("cannot open %s", target);
	clone_dir(from, to, "");
	set_attributes(to, AT_FDCWD, target, &st, "");
	close(from);
	close(to);
	return 0;
}

/* Every entry below DIR removed (DIR itself stays). */
static void remove_entries(int dir_fd, const char *rel)
{
	int fd = dup(dir_fd);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *entry;
	if (!dir)
		clone_die("cannot read %s", rel);
	while ((errno = 0, entry = readdir(dir)) != NULL) {
		const char *name = entry->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		int flags = 0;
		struct stat st;
		int is_dir = entry->d_type == DT_DIR;
		if (entry->d_type == DT_UNKNOWN) /* a file system without types in its directories */
			is_dir = fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		if (is_dir) {
			int sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				clone_die("cannot open %s/%s", rel, name);
			remove_entries(sub, rel);
			close(sub);
			flags = AT_REMOVEDIR;
		}
		if (unlinkat(dir_fd, name, flags) < 0)
			clone_die("cannot remove %s/%s", rel, name);
	}
	if (errno)
		clone_die("cannot read %s", rel);
	closedir(dir);
}

void move_tree(int from, int to, const char *step)
{
	clone_step = step;
	clone_opt.copy_all = 1;
	clone_dir(from, to, "");
	remove_entries(from, ".");
}

/* The data of FROM (its extents: SEEK_DATA and SEEK_HOLE) written at the
 * same offsets of TO, in the kernel (copy_file_range). */
static void copy_extents(int from, int to, off_t size, const char *source)
{
	char buffer[65536];
	off_t data = 0;
	while (data < size) {
		data = lseek(from, data, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				break; /* only a hole is left */
			clone_die("cannot read %s", source);
		}
		off_t hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0)
			clone_die("cannot read %s", source);
		/* The range's blocks allocated first, at its length: written
		 * back, each small extent of a large sparse file would be
		 * allocated as a request widened to an 8 MiB chunk (ext4's
		 * normalization by the file's size), searched for group after
		 * group and mostly given back at the close; with a few hundred
		 * images on the host's file system each such search went
		 * further. fallocate asks for the range alone, next to the
		 * previous one. Where it is not supported the write allocates. */
		if (fallocate(to, 0, data, hole - data) < 0 && errno != EOPNOTSUPP && errno != ENOSYS)
			clone_die("cannot allocate the copy of %s", source);
		while (data < hole) {
			off_t in = data, out = data;
			ssize_t n = copy_file_range(from, &in, to, &out, (size_t)(hole - data), 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				/* No in-kernel copy here: through a buffer. */
				size_t want = (size_t)(hole - data) < sizeof buffer ? (size_t)(hole - data)
										    : sizeof buffer;
				n = pread(from, buffer, want, data);
				if (n > 0 && pwrite(to, buffer, (size_t)n, data) != n)
					clone_die("cannot write the copy of %s", source);
			}
			if (n < 0)
				clone_die("cannot copy %s", source);
			if (n == 0)
				break; /* the file shrank meanwhile */
			data += n;
		}
	}
}

int copy_image_main(int argc, char **argv)
{
	struct stat st;
	clone_step = "copy-image";
	if (argc != 4) {
		errno = 0;
		clone_die("usage: warden-start --copy-image SOURCE TARGET");
	}
	const char *source = argv[2], *target = argv[3];
	int from = open(source, O_RDONLY | O_CLOEXEC);
	if (from < 0 || fstat(from, &st) < 0 || !S_ISREG(st.st_mode))
		clone_die("cannot read %s", source);
	int to = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      st.st_mode & 0777);
	if (to < 0)
		clone_die("cannot make %s", target);
	/* A reflink where the file system has them; else the extents alone, the
	 * holes left as holes (a sparse image stays sparse). */
	if (ioctl(to, FICLONE, from) < 0) {
		if (ftruncate(to, st.st_size) < 0)
			clone_die("cannot size %s", target);
		copy_extents(from, to, st.st_size, source);
	}
	close(from);
	/* Written back now, while this is the image's only writer: the host's
	 * ext4 sizes the blocks it reserves by the file's size (a whole GiB
	 * here) and gives back what the data did not take when the last writer
	 * closes. Left dirty, the loop device's attach would write it back and
	 * hold that reserve for the container's life: with a few hundred alive,
	 * every new image's blocks were searched for far from its directory. */
	if (fdatasync(to) < 0 || close(to) < 0)
		clone_die("cannot write %s", target);
	return 0;
}
