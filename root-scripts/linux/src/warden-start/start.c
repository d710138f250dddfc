/*
 * warden-start: a container's first process and everything it does before
 * the init runs, in one static program (start.sh runs it; see README.md).
 *
 *   warden-start [OPTIONS] -- INIT
 *
 * The program forks a child into new mount, UTS, IPC, network and PID
 * namespaces, writes the child's host pid on stdout and waits. The child (PID
 * 1 of its namespace, in a session of its own) waits for "go" on stdin while
 * start.sh configures its cgroups, joins them (--join), then builds its root
 * at --root (overlay,
 * /dev, /proc and /sys with their masks, bind mounts), sets the hostname and
 * configures its network (rtnetlink: netlink.c), pivots into the
 * root, detaches the old one, writes "pivoted" on stdout and executes INIT
 * (opened before the pivot, reached through /dev/<name>, a link to its fd)
 * with an empty environment as "<name> -P". The parent removes that link
 * once the init carries its name, writes the pid file and exits: the init is
 * left to the host's init. Exit status 0 when the init runs, 1 otherwise
 * (the reason on stderr; the child is killed).
 *
 * Meanwhile the parent makes the veth pair (--host-iface) and mounts the
 * disk layer in the child's mount namespace (--disk-image: a loop device of
 * its own; see README.md), then writes "host-ready" on stdout.
 * `warden-start --clone ...` (clone.c) makes a container directory from
 * create.sh's layout template instead.
 *
 * Paths are relative to the working directory (the container's).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/cgroup_join.h"
#include "clone.h"
#include "netlink.h"

#define MAX_BINDS 64
#define MAX_DEVICES 32
#define MAX_DIRS 32
#define WAIT_MS 30000
/* Free loop devices taken by someone else between the kernel's answer and
 * ours (a hundred creates at once all get the same first free one): tried
 * again this many times. */
#define LOOP_TRIES 4096

struct bind {
	const char *src, *dst;
	int readonly;
};

static struct {
	const char *root, *lower, *upper, *work, *disk_image, *disk_mount;
	const char *dev_template, *hostname, *pid_file, *host_iface, *host_address;
	struct network network;
	const char *init;
	int restrict_proc_sys;
	struct bind binds[MAX_BINDS];
	int bind_count;
	const char *devices[MAX_DEVICES];
	int device_count;
	const char *dirs[MAX_DIRS];
	int dir_count;
	const char *joins[MAX_DIRS];
	int join_count;
	const char *clone_into;
} opt = { .restrict_proc_sys = 1 };

/* In the parent, the child (killed when the parent gives up). */
static pid_t child_pid;

static void die(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *format, ...)
{
	va_list args;
	int saved = errno;
	fputs("warden-start: ", stderr);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	if (saved)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
	exit(1);
}

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
	errno = 0;
	die("usage: warden-start --root DIR --lower DIR --upper DIR --work DIR "
	    "[--disk-image FILE --disk-mount DIR] [--dev-template DIR] [--device 'NAME c MAJOR MINOR']... "
	    "--hostname NAME --iface NAME --address IP --netmask MASK --mtu N --gateway IP "
	    "[--host-iface NAME --host-address IP] "
	    "[--restrict-proc-sys true|false] "
	    "[--bind SRC DST ro|rw]... [--mkdir DIR]... [--join DIR]... [--clone-into DIR] --pid-file FILE -- INIT");
}

static void parse(int argc, char **argv)
{
	int i;
	for (i = 1; i < argc; i++) {
		const char *name = argv[i];
		if (!strcmp(name, "--")) {
			if (i + 2 != argc)
				usage();
			opt.init = argv[i + 1];
			break;
		}
		if (!strcmp(name, "--bind")) {
			if (i + 3 >= argc || opt.bind_count == MAX_BINDS)
				usage();
			opt.binds[opt.bind_count].src = argv[i + 1];
			opt.binds[opt.bind_count].dst = argv[i + 2];
			if (strcmp(argv[i + 3], "ro") && strcmp(argv[i + 3], "rw"))
				usage();
			opt.binds[opt.bind_count++].readonly = !strcmp(argv[i + 3], "ro");
			i += 3;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *value = argv[++i];
		if (!strcmp(name, "--root")) opt.root = value;
		else if (!strcmp(name, "--lower")) opt.lower = value;
		else if (!strcmp(name, "--upper")) opt.upper = value;
		else if (!strcmp(name, "--work")) opt.work = value;
		else if (!strcmp(name, "--disk-image")) opt.disk_image = value;
		else if (!strcmp(name, "--disk-mount")) opt.disk_mount = value;
		else if (!strcmp(name, "--dev-template")) opt.dev_template = value;
		else if (!strcmp(name, "--hostname")) opt.hostname = value;
		else if (!strcmp(name, "--iface")) opt.network.iface = value;
		else if (!strcmp(name, "--address")) opt.network.address = value;
		else if (!strcmp(name, "--netmask")) opt.network.netmask = value;
		else if (!strcmp(name, "--gateway")) opt.network.gateway = value;
		else if (!strcmp(name, "--host-iface")) opt.host_iface = value;
		else if (!strcmp(name, "--host-address")) opt.host_address = value;
		else if (!strcmp(name, "--mtu")) {
			char *end;
			errno = 0;
			unsigned long mtu = strtoul(value, &end, 10);
			if (errno || *end || end == value || mtu < 68 || mtu > 65535)
				usage();
			opt.network.mtu = (unsigned int)mtu;
		}
		else if (!strcmp(name, "--pid-file")) opt.pid_file = value;
		else if (!strcmp(name, "--restrict-proc-sys")) {
			if (strcmp(value, "true") && strcmp(value, "false"))
				usage();
			opt.restrict_proc_sys = !strcmp(value, "true");
		} else if (!strcmp(name, "--device")) {
			if (opt.device_count == MAX_DEVICES)
				usage();
			opt.devices[opt.device_count++] = value;
		} else if (!strcmp(name, "--mkdir")) {
			if (opt.dir_count == MAX_DIRS)
				usage();
			opt.dirs[opt.dir_count++] = value;
		} else if (!strcmp(name, "--join")) {
			if (opt.join_count == MAX_DIRS)
				usage();
			opt.joins[opt.join_count++] = value;
		} else if (!strcmp(name, "--clone-into")) {
			if (opt.clone_into)
				usage();
			opt.clone_into = value;
		} else
			usage();
	}
	if (!opt.root || !opt.lower || !opt.upper || !opt.work || !opt.hostname || !opt.network.iface ||
	    !opt.network.address || !opt.network.netmask || !opt.network.gateway || !opt.network.mtu ||
	    !!opt.host_iface != !!opt.host_address || !opt.pid_file || !opt.init || !!opt.disk_image != !!opt.disk_mount)
		usage();
}

/* path: ROOT/SUFFIX, or die. */
static const char *path(char *buffer, const char *root, const char *suffix)
{
	int n = snprintf(buffer, PATH_MAX, "%s/%s", root, suffix);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		die("%s/%s", root, suffix);
	}
	return buffer;
}

static void mount_or_die(const char *source, const char *target, const char *type,
			 unsigned long flags, const char *data)
{
	if (mount(source, target, type, flags, data) < 0)
		die("cannot mount %s on %s", source ? source : type ? type : "(remount)", target);
}

/* A read-only bind of SOURCE on TARGET (mount(8)'s "bind,ro,..."). */
static void bind_readonly(const char *source, const char *target, unsigned long extra)
{
	mount_or_die(source, target, NULL, MS_BIND, NULL);
	mount_or_die(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL);
}

/* mkdir -p PATH (relative or absolute), the missing ones 0755. */
static void make_dirs(const char *target)
{
	char buffer[PATH_MAX];
	char *p;
	if (snprintf(buffer, sizeof buffer, "%s", target) >= (int)sizeof buffer) {
		errno = ENAMETOOLONG;
		die("%s", target);
	}
	for (p = buffer + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buffer, 0755) < 0 && errno != EEXIST)
			die("cannot create %s", buffer);
		*p = '/';
	}
	if (mkdir(buffer, 0755) < 0 && errno != EEXIST)
		die("cannot create %s", buffer);
}

static int is_dir(const char *name)
{
	struct stat st;
	return stat(name, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether DIR is a mount point: another device than its parent's. */
static int is_mount_point(const char *dir)
{
	char parent[PATH_MAX];
	struct stat here, above;
	if (stat(dir, &here) < 0 || stat(path(parent, dir, ".."), &above) < 0)
		return 0;
	return here.st_dev != above.st_dev;
}

/* The disk layer's image on a free loop device of its own, set to clear
 * itself when its last user goes (its mount: FD, ours, is closed once the
 * image is mounted). LOOP_CONFIGURE (5.8) in one call; LOOP_SET_FD and
 * LOOP_SET_STATUS64 before it. Returns the device's fd, *DEVICE its name. */
static int attach_loop(const char *image_path, char *device, size_t size)
{
	int image = open(image_path, O_RDWR | O_CLOEXEC);
	if (image < 0)
		die("cannot attach %s to a loop device", image_path);
	int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (control < 0)
		die("cannot attach %s to a loop device: /dev/loop-control", image_path);
	for (int tries = 0; tries < LOOP_TRIES; tries++) {
		int number = ioctl(control, LOOP_CTL_GET_FREE);
		if (number < 0)
			die("cannot attach %s to a loop device: no free one", image_path);
		snprintf(device, size, "/dev/loop%d", number);
		int loop = open(device, O_RDWR | O_CLOEXEC);
		if (loop < 0) {
			if (errno == ENOENT || errno == ENXIO)
				continue;
			die("cannot attach %s to a loop device: %s", image_path, device);
		}
		struct loop_config config;
		memset(&config, 0, sizeof config);
		config.fd = (__u32)image;
		config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		snprintf((char *)config.info.lo_file_name, LO_NAME_SIZE, "%s", image_path);
		int done = ioctl(loop, LOOP_CONFIGURE, &config);
		if (done < 0 && (errno == EINVAL || errno == ENOTTY)) {
			/* Before LOOP_CONFIGURE: bound, then set to clear itself. */
			done = ioctl(loop, LOOP_SET_FD, image);
			if (done == 0 && ioctl(loop, LOOP_SET_STATUS64, &config.info) < 0) {
				int saved = errno;
				ioctl(loop, LOOP_CLR_FD, 0);
				errno = saved;
				die("cannot attach %s to a loop device: %s", image_path, device);
			}
		}
		if (done == 0) {
			close(control);
			close(image);
			return loop;
		}
		if (errno != EBUSY)
			die("cannot attach %s to a loop device: %s", image_path, device);
		close(loop);
	}
	errno = EBUSY;
	die("cannot attach %s to a loop device", image_path);
}

/* The disk layer (--disk-image), mounted at --disk-mount in the mount
 * namespace of the container's first process PID (this process enters it
 * for that, and comes back: the child's pivot_root will move the root of
 * every process in it). An image limited by
 * project quota (the marker IMAGE.prjquota) is mounted with prjquota: the
 * kernel enforces the project's limits. No barriers: the image has no
 * journal and never outlives a host crash (disk.sh's make_filesystem), so
 * no flush becomes a host fsync. */
static void mount_disk_layer(pid_t pid)
{
	char cwd[PATH_MAX], ns[64], upper[PATH_MAX];
	/* The first files setup.sh wrote (the host's view of the mount point,
	 * which the image hides in the namespace), moved into its upper/. */
	int seed = open(opt.disk_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (seed < 0)
		die("cannot open %s", opt.disk_mount);
	/* setns moves the working directory to the namespace's root; the same
	 * path leads back (the namespace is still a copy of the host's). */
	if (!getcwd(cwd, sizeof cwd))
		die("getcwd");
	int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	snprintf(ns, sizeof ns, "/proc/%d/ns/mnt", (int)pid);
	int fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (own < 0 || fd < 0 || setns(fd, CLONE_NEWNS) < 0)
		die("cannot enter the mount namespace of the container's first process");
	close(fd);
	if (chdir(cwd) < 0)
		die("chdir %s", cwd);
	char device[32], marker[PATH_MAX];
	struct stat st;
	int n = snprintf(marker, sizeof marker, "%s.prjquota", opt.disk_image);
	if (n < 0 || n >= (int)sizeof marker) {
		errno = ENAMETOOLONG;
		die("%s", opt.disk_image);
	}
	/* No prefetch of the image's block bitmaps: a background kernel thread
	 * per mount otherwise reads them in, for hundreds of images alive, at
	 * the expense of every create (kernels before 5.9 lack the option:
	 * mounted without it there). */
	int quota = stat(marker, &st) == 0;
	const char *options = quota ? "nobarrier,no_prefetch_block_bitmaps,prjquota"
				    : "nobarrier,no_prefetch_block_bitmaps";
	const char *plain = quota ? "nobarrier,prjquota" : "nobarrier";
	int loop = attach_loop(opt.disk_image, device, sizeof device);
	if (mount(device, opt.disk_mount, "ext4", 0, options) < 0 &&
	    (errno != EINVAL || mount(device, opt.disk_mount, "ext4", 0, plain) < 0))
		die("cannot mount the disk layer %s (%s on %s)", opt.disk_image, device,
		    opt.disk_mount);
	close(loop);
	int image = open(path(upper, opt.disk_mount, "upper"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (image < 0)
		die("cannot open %s", upper);
	move_tree(seed, image, "cannot move the first files into the disk layer");
	close(image);
	close(seed);
	if (setns(own, CLONE_NEWNS) < 0 || chdir(cwd) < 0)
		die("cannot return to the host's mount namespace");
	close(own);
}

/* The overlay: the rootfs (through the tmp/lower link) under the writable layer. */
static void mount_root(void)
{
	char data[3 * PATH_MAX + 64];
	if (opt.disk_image && !is_mount_point(opt.disk_mount))
		die("the disk layer is not mounted at %s", opt.disk_mount);
	int n = snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", opt.lower,
			 opt.upper, opt.work);
	if (n < 0 || n >= (int)sizeof data) {
		errno = ENAMETOOLONG;
		die("overlay options");
	}
	mount_or_die("overlay", opt.root, "overlay", 0, data);
}

/* DIR/NAME as the template's entry is: a device node, a directory or a link
 * (what the template holds), owned by root. */
static void copy_entry(const char *template, const char *dir, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX], link[PATH_MAX];
	struct stat st;
	path(from, template, name);
	path(to, dir, name);
	if (lstat(from, &st) < 0)
		die("cannot read %s", from);
	mode_t mode = st.st_mode & 07777;
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		if (mknod(to, st.st_mode & S_IFMT, st.st_rdev) < 0)
			die("cannot make %s", to);
	} else if (S_ISDIR(st.st_mode)) {
		if (mkdir(to, 0700) < 0)
			die("cannot make %s", to);
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(from, link, sizeof link - 1);
		if (n < 0)
			die("cannot read %s", from);
		link[n] = '\0';
		if (symlink(link, to) < 0)
			die("cannot make %s", to);
		return;
	} else {
		errno = 0;
		die("unexpected file in the /dev template: %s", from);
	}
	if (chmod(to, mode) < 0)
		die("cannot set the mode of %s", to);
}

/* The template's entries, or the device list and the standard entries. */
static void fill_dev(const char *dev)
{
	char buffer[PATH_MAX], probe[PATH_MAX];
	struct stat st;
	static const char *const entries[] = { "pts", "shm", "ptmx", "fd", "stdin", "stdout", "stderr" };
	int i, usable = 0;
	if (opt.dev_template && lstat(opt.dev_template, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && is_dir(path(probe, opt.dev_template, "pts")) &&
	    stat(path(probe, opt.dev_template, "null"), &st) == 0 && S_ISCHR(st.st_mode))
		usable = 1;
	if (usable) {
		for (i = 0; i < opt.device_count; i++) {
			char name[64];
			if (sscanf(opt.devices[i], "%63s", name) != 1)
				usage();
			copy_entry(opt.dev_template, dev, name);
		}
		for (i = 0; i < (int)(sizeof entries / sizeof *entries); i++)
			copy_entry(opt.dev_template, dev, entries[i]);
		return;
	}
	for (i = 0; i < opt.device_count; i++) {
		char name[64], type;
		unsigned major_number, minor_number;
		if (sscanf(opt.devices[i], "%63s %c %u %u", name, &type, &major_number,
			   &minor_number) != 4 || (type != 'c' && type != 'b'))
			usage();
		path(buffer, dev, name);
		if (mknod(buffer, (type == 'c' ? S_IFCHR : S_IFBLK) | 0666,
			  makedev(major_number, minor_number)) < 0 || chmod(buffer, 0666) < 0)
			die("cannot make %s", buffer);
	}
	if (mkdir(path(buffer, dev, "pts"), 0755) < 0 || chmod(buffer, 0755) < 0 ||
	    mkdir(path(buffer, dev, "shm"), 01777) < 0 || chmod(buffer, 01777) < 0 ||
	    symlink("pts/ptmx", path(buffer, dev, "ptmx")) < 0 ||
	    symlink("/proc/self/fd", path(buffer, dev, "fd")) < 0 ||
	    symlink("/proc/self/fd/0", path(buffer, dev, "stdin")) < 0 ||
	    symlink("/proc/self/fd/1", path(buffer, dev, "stdout")) < 0 ||
	    symlink("/proc/self/fd/2", path(buffer, dev, "stderr")) < 0)
		die("cannot make %s", buffer);
}

/* A minimal /dev on a small tmpfs, a private devpts instance, /dev/shm. */
static void mount_dev(void)
{
	char dev[PATH_MAX], buffer[PATH_MAX];
	path(dev, opt.root, "dev");
	if (!is_dir(dev))
		make_dirs(dev);
	mount_or_die("devtmp", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k");
	fill_dev(dev);
	mount_or_die("devpts", path(buffer, dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_or_die("shm", path(buffer, dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

/* NAME (relative to DIR, an fd of a /proc/sys/net) written with TEXT. */
static void write_sysctl(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CLOEXEC);
	size_t length = strlen(text);
	if (fd < 0 || write(fd, text, length) != (ssize_t)length)
		die("cannot write /proc/sys/net/%s", name);
	close(fd);
}

/* An fd of /proc/sys/net (this process's network namespace) in a proc of
 * its own, mounted nowhere (fsopen, 5.2): the host's /proc is not walked.
 * There every network namespace that has looked at /proc/sys/net/ipv4 (or
 * ipv6) has a directory entry of that name under the same parent, and the
 * kernel compares a lookup's name with each in turn, newest first: with
 * 1,000 containers alive each path through the host's /proc/sys/net/ipv4
 * took about a millisecond, several per create. /proc itself where the
 * kernel or the environment has no fsopen. */
static int private_proc_sys_net(void)
{
	int dir = -1;
#ifdef FSOPEN_CLOEXEC
	int fs = fsopen("proc", FSOPEN_CLOEXEC);
	if (fs >= 0) {
		if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
			int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
			if (mnt >= 0) {
				dir = openat(mnt, "sys/net", O_PATH | O_DIRECTORY | O_CLOEXEC);
				close(mnt);
			}
		}
		close(fs);
	}
#endif
	if (dir < 0)
		dir = open("/proc/sys/net", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		die("cannot open /proc/sys/net");
	return dir;
}

/* In the child, an fd of its /proc/sys/net (private_proc_sys_net, opened
 * before the veth exists; closed before the init runs). */
static int child_proc_sys_net = -1;

/* Reads NAME (relative to DIR) into BUFFER: 0, or -1. */
static int read_sysctl(int dir, const char *name, char *buffer, size_t size)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buffer, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buffer[n] = '\0';
	return 0;
}

/* The child's first settings of its network namespace, before the parent
 * makes the veth in it: ICMP echo sockets for every group, and no IPv6 by
 * default, which the container's end of the veth then takes when it is
 * made (a write of its own disable_ipv6 waits for the host-wide rtnl lock:
 * it is retried at once, in a loop, while others hold it). */
static void child_network_defaults(void)
{
	struct stat st;
	child_proc_sys_net = private_proc_sys_net();
	write_sysctl(child_proc_sys_net, "ipv4/ping_group_range", "0 2147483647");
	if (fstatat(child_proc_sys_net, "ipv6/conf", &st, 0) == 0 && S_ISDIR(st.st_mode))
		write_sysctl(child_proc_sys_net, "ipv6/conf/default/disable_ipv6", "1");
}

/* runc's maskedPaths and readonlyPaths; the host's /proc and /sys (the same
 * kernel) say which exist. */
static const char *const masked_proc_files[] = { "kcore", "keys", "latency_stats", "timer_list",
						 "timer_stats", "sched_debug" };
static const char *const masked_proc_dirs[] = { "acpi", "asound", "scsi" };
static const char *const readonly_proc_paths[] = { "bus", "fs", "irq", "sys", "sysrq-trigger" };
static const char *const masked_sys_dirs[] = { "firmware", "devices/virtual/powercap" };

#define COUNT(array) ((int)(sizeof array / sizeof *array))
#define LOCKED (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static void mask_dir(const char *target)
{
	mount_or_die("tmpfs", target, "tmpfs", MS_RDONLY | LOCKED, "size=4k,mode=0555");
}

/* /proc of the container's PID namespace; with restrict_proc_sys, a
 * read-only /sys and the masks. */
static void mount_proc_sys(void)
{
	char proc[PATH_MAX], sys[PATH_MAX], null[PATH_MAX], host[PATH_MAX], target[PATH_MAX];
	struct stat st;
	int i;
	path(proc, opt.root, "proc");
	path(sys, opt.root, "sys");
	make_dirs(proc);
	make_dirs(sys);
	mount_or_die("proc", proc, "proc", LOCKED, NULL);
	if (!opt.restrict_proc_sys)
		return;
	mount_or_die("sysfs", sys, "sysfs", MS_RDONLY | LOCKED, NULL);
	path(null, opt.root, "dev/null");
	for (i = 0; i < COUNT(masked_proc_files); i++)
		if (stat(path(host, "/proc", masked_proc_files[i]), &st) == 0 && S_ISREG(st.st_mode))
			bind_readonly(null, path(target, proc, masked_proc_files[i]), 0);
	for (i = 0; i < COUNT(masked_proc_dirs); i++)
		if (is_dir(path(host, "/proc", masked_proc_dirs[i])))
			mask_dir(path(target, proc, masked_proc_dirs[i]));
	for (i = 0; i < COUNT(readonly_proc_paths); i++)
		if (lstat(path(host, "/proc", readonly_proc_paths[i]), &st) == 0) {
			path(target, proc, readonly_proc_paths[i]);
			bind_readonly(target, target, LOCKED);
		}
	for (i = 0; i < COUNT(masked_sys_dirs); i++)
		if (is_dir(path(host, "/sys", masked_sys_dirs[i])))
			mask_dir(path(target, sys, masked_sys_dirs[i]));
}

/* Create's bind mounts; a missing destination is made in the writable layer
 * (a directory, or an empty file for a file source). */
static void mount_binds(void)
{
	char target[PATH_MAX];
	int i;
	for (i = 0; i < opt.bind_count; i++) {
		const struct bind *b = &opt.binds[i];
		path(target, opt.root, b->dst[0] == '/' ? b->dst + 1 : b->dst);
		if (is_dir(b->src)) {
			make_dirs(target);
		} else if (access(target, F_OK) < 0) {
			char *slash = strrchr(target, '/');
			*slash = '\0';
			make_dirs(target);
			*slash = '/';
			int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				die("cannot create %s", target);
			close(fd);
		}
		mount_or_die(b->src, target, NULL, MS_BIND, NULL);
		mount_or_die(NULL, target, NULL, MS_REMOUNT | MS_BIND | (b->readonly ? MS_RDONLY : 0),
			     NULL);
	}
}

/* No IPv6 on the container's end of the veth (a link-local address would
 * reach the host past its IPv4 firewall: it took that from the namespace's
 * default, child_network_defaults; written here only where it did not),
 * then by rtnetlink (no `ip` to start): loopback up, the container's end of
 * the veth with its address, MTU and up, the default route through the
 * host's end. */
static void setup_network(void)
{
	char name[PATH_MAX], value[16];
	const char *iface = opt.network.iface, *step;
	int dir = child_proc_sys_net;
	int n = snprintf(name, sizeof name, "ipv6/conf/%s/disable_ipv6", iface);
	if (n < 0 || n >= (int)sizeof name) {
		errno = ENAMETOOLONG;
		die("%s", iface);
	}
	if (read_sysctl(dir, name, value, sizeof value) == 0 && strcmp(value, "1\n") != 0)
		write_sysctl(dir, name, "1");
	close(dir);
	child_proc_sys_net = -1;
	if (configure_network(&opt.network, &step) < 0)
		die("cannot configure %s: %s", iface, step);
}

/* The host's side of the network (--host-iface): the veth pair, its other
 * end made right in PID's network namespace, this end's address and link
 * up; no IPv6 on it (the firewall is iptables: a link-local address would
 * let the container reach every host service listening on [::] past it)
 * and strict reverse-path filtering (a packet whose source address would
 * not be routed back through it, a forged one, is dropped before the
 * firewall). */
static void host_network(pid_t pid)
{
	char name[PATH_MAX];
	const char *step;
	if (make_veth(&opt.network, opt.host_iface, opt.host_address, (int)pid, &step) < 0)
		die("cannot create %s: %s", opt.host_iface, step);
	int dir = private_proc_sys_net();
	int n = snprintf(name, sizeof name, "ipv6/conf/%s/disable_ipv6", opt.host_iface);
	if (n < 0 || n >= (int)sizeof name) {
		errno = ENAMETOOLONG;
		die("%s", opt.host_iface);
	}
	if (faccessat(dir, name, F_OK, 0) == 0)
		write_sysctl(dir, name, "1");
	snprintf(name, sizeof name, "ipv4/conf/%s/rp_filter", opt.host_iface);
	write_sysctl(dir, name, "1");
	close(dir);
}

/* The child joins its cgroups (--join) itself, before anything else of the
 * container's start: through v1's `tasks`, without the kernel's global
 * threadgroup lock (see cgroup_join.h), which a move by another process,
 * start.sh's hook, took: 0.4 to 18 ms for the container's eight v1 cgroups
 * here, against a quarter of a millisecond. */
static void join_cgroups(void)
{
	const char *file;
	for (int i = 0; i < opt.join_count; i++)
		if (cgroup_join_self(opt.joins[i], &file) != CGROUP_JOIN_DONE)
			die("cannot join the cgroup %s (%s)", opt.joins[i], file);
}

/* Wait for a line LINE on fd 0 (WAIT_MS at most). */
static void wait_for(const char *line)
{
	char buffer[16];
	size_t got = 0, want = strlen(line);
	struct pollfd p = { .fd = 0, .events = POLLIN };
	while (got <= want) {
		int n = poll(&p, 1, WAIT_MS);
		if (n <= 0)
			die("no %s from start.sh", line);
		ssize_t r = read(0, buffer + got, 1);
		if (r <= 0)
			die("no %s from start.sh", line);
		if (buffer[got] == '\n')
			break;
		if (++got >= sizeof buffer - 1)
			break;
	}
	buffer[got] = '\0';
	if (strcmp(buffer, line)) {
		errno = 0;
		die("expected %s from start.sh", line);
	}
}

static void say(const char *line)
{
	size_t length = strlen(line);
	if (write(1, line, length) != (ssize_t)length)
		die("cannot write to start.sh");
}

static const char *init_name(void)
{
	const char *slash = strrchr(opt.init, '/');
	return slash ? slash + 1 : opt.init;
}

/* The container's PID 1 until it executes the init. */
static void child(int exec_fd, int ready_fd) __attribute__((noreturn));

/* EXEC_FD: the write end of a close-on-exec pipe; the parent reads its end
 * of the file when the init has been executed (or the child has died).
 * READY_FD: closed once the child's mounts are private (and its network
 * namespace's defaults set, before the veth is made in it), before the
 * parent reports its pid: nothing start.sh mounts in its namespace may
 * reach the host's. */
static void child(int exec_fd, int ready_fd)
{
	char dev[PATH_MAX], link[PATH_MAX], target[32];
	const char *name = init_name();
	if (setsid() < 0)
		die("setsid");
	mount_or_die(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	child_network_defaults();
	close(ready_fd);
	wait_for("go");
	join_cgroups();
	mount_root();
	mount_dev();
	mount_proc_sys();
	mount_binds();
	if (sethostname(opt.hostname, strlen(opt.hostname)) < 0)
		die("cannot set the hostname");
	setup_network();
	/* After the pivot only the container's files are reachable: the init is
	 * opened now and executed through a link to its fd. */
	int fd = open(opt.init, O_PATH | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s", opt.init);
	snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
	path(dev, opt.root, "dev");
	if (symlink(target, path(link, dev, name)) < 0)
		die("cannot link %s", link);
	if (chdir(opt.root) < 0)
		die("chdir %s", opt.root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("cannot pivot into the container's root");
	/* The old root is stacked on the new one: detach it. */
	if (umount2(".", MNT_DETACH) < 0)
		die("cannot detach the old root");
	if (chdir("/") < 0)
		die("chdir /");
	say("pivoted\n");
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	if (null > 2)
		close(null);
	char exec_path[PATH_MAX];
	path(exec_path, "/dev", name);
	char argv0[NAME_MAX + 1], pause_flag[] = "-P";
	snprintf(argv0, sizeof argv0, "%s", name);
	char *const argv[] = { argv0, pause_flag, NULL };
	char *const envp[] = { NULL };
	execve(exec_path, argv, envp);
	(void)exec_fd;
	_exit(127);
}

/* The parent: once the init runs (EXEC_FD, the read end of the child's
 * close-on-exec pipe, at its end) and carries its name, the link goes; then
 * the pid file. */
static void finish(pid_t pid, int exec_fd)
{
	char file[64], comm[32], link[PATH_MAX], tmp[PATH_MAX], byte;
	const char *name = init_name();
	size_t length = strnlen(name, 15);
	struct pollfd p = { .fd = exec_fd, .events = POLLIN };
	struct timespec pause = { 0, 200000 };
	int status, tries;
	/* The child waits for start.sh's go: twice the wait, then give up. */
	if (poll(&p, 1, 2 * WAIT_MS) <= 0 || read(exec_fd, &byte, 1) != 0) {
		errno = 0;
		die("the container's first process did not finish its start");
	}
	/* The kernel closes them a moment before it renames the process. */
	snprintf(file, sizeof file, "/proc/%d/comm", (int)pid);
	for (tries = 0; tries < 5000; tries++) {
		if (waitpid(pid, &status, WNOHANG) != 0) {
			errno = 0;
			die("the container's first process ended before the init ran");
		}
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, comm, sizeof comm - 1);
		if (fd >= 0)
			close(fd);
		if (n == (ssize_t)length + 1 && !memcmp(comm, name, length))
			break;
		nanosleep(&pause, NULL);
	}
	if (tries == 5000) {
		errno = 0;
		die("the init did not start");
	}
	snprintf(link, sizeof link, "/proc/%d/root/dev/%s", (int)pid, name);
	if (unlink(link) < 0 && errno != ENOENT)
		die("cannot remove %s", link);
	snprintf(tmp, sizeof tmp, "%s.tmp", opt.pid_file);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dprintf(fd, "%d\n", (int)pid) < 0 || close(fd) < 0 ||
	    rename(tmp, opt.pid_file) < 0)
		die("cannot write %s", opt.pid_file);
}

/* The container's first process, in new mount, UTS, IPC, network and PID
 * namespaces: fork's return value. With --clone-into, born in that (v2)
 * cgroup directory (clone3's CLONE_INTO_CGROUP): no move, so no wait for the
 * kernel's global threadgroup lock, which a move into v2's cgroup.procs
 * takes. A kernel without it (before 5.7) makes the child join the
 * directory at "go" instead, as --join does. */
static pid_t clone_first_process(void)
{
	const unsigned long namespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
					 CLONE_NEWNET | CLONE_NEWPID;
	if (opt.clone_into) {
		int cgroup = open(opt.clone_into, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgroup < 0)
			die("cannot open the cgroup %s", opt.clone_into);
		struct clone_args args;
		memset(&args, 0, sizeof args);
		args.flags = namespaces | CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.cgroup = (__u64)cgroup;
		long pid = syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0) {
			if (pid > 0)
				close(cgroup);
			return (pid_t)pid;
		}
		if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
			die("cannot make the container's namespaces in the cgroup %s", opt.clone_into);
		close(cgroup);
		if (opt.join_count == MAX_DIRS)
			usage();
		opt.joins[opt.join_count++] = opt.clone_into;
	}
	return (pid_t)syscall(SYS_clone, namespaces | SIGCHLD, NULL, NULL, NULL, NULL);
}

int main(int argc, char **argv)
{
	char line[32];
	int exec_pipe[2], ready_pipe[2];
	char byte;
	if (argc > 1 && !strcmp(argv[1], "--clone"))
		return clone_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--copy-image"))
		return copy_image_main(argc, argv);
	parse(argc, argv);
	if (pipe2(exec_pipe, O_CLOEXEC) < 0 || pipe2(ready_pipe, O_CLOEXEC) < 0)
		die("pipe");
	pid_t pid = clone_first_process();
	if (pid < 0)
		die("cannot make the container's namespaces");
	if (pid == 0) {
		close(exec_pipe[0]);
		close(ready_pipe[0]);
		child(exec_pipe[1], ready_pipe[1]);
	}
	child_pid = pid;
	close(exec_pipe[1]);
	close(ready_pipe[1]);
	/* The directories start.sh's hook needs (the container's v1 cgroups),
	 * made while the child makes its mounts private: no mkdir to start. */
	for (int i = 0; i < opt.dir_count; i++)
		make_dirs(opt.dirs[i]);
	/* End of file: the child's mounts are private (or it died: then the
	 * waits below say so). */
	if (read(ready_pipe[0], &byte, 1) != 0) {
		errno = 0;
		die("unexpected data from the container's first process");
	}
	close(ready_pipe[0]);
	snprintf(line, sizeof line, "%d\n", (int)pid);
	say(line);
	/* Meanwhile with start.sh's hook (the cgroups' settings), from here:
	 * the host's side of the network, and the disk layer outside the
	 * container's cgroups, whose device restriction the child is under once
	 * it has joined them; then "host-ready", which the hook waits for. */
	if (opt.host_iface)
		host_network(pid);
	if (opt.disk_image)
		mount_disk_layer(pid);
	say("host-ready\n");
	/* From here on, the child is start.sh's to talk to. */
	close(0);
	close(1);
	finish(pid, exec_pipe[0]);
	return 0;
}
