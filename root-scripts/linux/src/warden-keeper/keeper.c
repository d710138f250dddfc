/*
 * warden-keeper: runs one job with its stdout and stderr on pipes, and keeps
 * its output on the host side of them.
 *
 *   warden-keeper [--limit BYTES | --unbounded | --discard] [--pid-file PATH]
 *                 [--stdin] [--tty ROWSxCOLUMNS [--pty-root DIR] [--no-ctty]]
 *                 JOB_DIR -- PROGRAM [ARG...]
 *
 * The job (PROGRAM, in a process group of its own whose id is its pid) gets
 * as stdin a sealed in-memory copy of this program's stdin (the job's script;
 * seekable, so bash reads it a buffer at a time, but no file of the host and
 * neither writable nor growable), and pipes as stdout and stderr, whose
 * output is read here and appended to JOB_DIR/stdout and JOB_DIR/stderr. So
 * the job holds no host file: it cannot fallocate, lease, chmod, chown or
 * reopen any of them.
 *
 *   --limit BYTES  stdout and stderr together keep at most BYTES. Past it,
 *                  JOB_DIR/output_exceeded is created, the job's group gets
 *                  SIGTERM, and SIGKILL a second later (even if the job has
 *                  ended meanwhile); what comes past the limit is dropped.
 *   --unbounded    the files are written without a limit.
 *   --discard      no file is written; the pipes are read and emptied.
 *   --pid-file     write the job's pid there (atomically) once it is started.
 *   --stdin        interactive: the job's stdin is a pipe fed through
 *                  JOB_DIR/control (see control.md in this folder); the
 *                  script, read from our stdin, becomes "-c SCRIPT" after ARGs.
 *   --tty R x C    interactive on a pseudo-terminal of R rows and C columns:
 *                  the job's fds 0-2 are its slave, it leads a session of its
 *                  own with that terminal as its controlling one (not with
 *                  --no-ctty: a launcher that enters a container does that
 *                  there); the master stays here, its output goes to
 *                  JOB_DIR/stdout, and JOB_DIR/control writes to it and sets
 *                  its window size. --pty-root DIR: the master comes from
 *                  DIR/dev/pts/ptmx (a container's own devpts instance, looked
 *                  up inside DIR), not from the host's /dev/ptmx.
 *
 * The output files and exit_status.tmp are made right after the fork, while
 * the job starts (each is an inode allocation, up to half a millisecond on a
 * busy file system); one that cannot be made ends the job (SIGKILL to its
 * group) and this program (status 1).
 *
 * When the job's process ends, what is left in the pipes is read, the files
 * are closed and JOB_DIR/exit_status gets its status (the exit code, or -N
 * when signal N ended it) atomically; then this program exits, and the pipes
 * close with it: a process the job left behind that writes to them gets
 * SIGPIPE (or EPIPE), as with the original's closed pipes.
 *
 * Exit status: 0 once exit_status is written, 1 when the job could not be
 * started (the reason on stderr), 2 for a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_LIMIT, MODE_UNBOUNDED, MODE_DISCARD };

/* One output stream: the pipe's read end and the file it goes to. */
struct stream {
	const char *name;
	int pipe_fd; /* -1 once closed */
	int file_fd; /* -1 when output is discarded */
};

/* After SIGTERM for too much output, SIGKILL follows this much later. */
static const long kill_after_ms = 1000;
/* At the job's end, at most this much more is read from each pipe: a
 * writer the job left behind must not keep the keeper from finishing. */
static const size_t final_drain_max = 1024 * 1024;
/* A job that writes in small pieces (head writes 4 KiB at a time) wakes us
 * for each one when we share a CPU with it (the pipe wakes a reader that
 * emptied it, and the woken reader runs first): a read and a write to the
 * file per piece, some 250 of each for 1 MiB. After coalesce_after reads in
 * a row below coalesce_below bytes we wait up to coalesce_ns before the
 * next read, so that the job fills the pipe meanwhile; the job's end cuts
 * the wait short. Not for interactive jobs (an echo would wait). */
static const ssize_t coalesce_below = 64 * 1024;
static const int coalesce_after = 4;
static const long coalesce_ns = 200 * 1000;
/* The output pipes' size (F_SETPIPE_SZ; 1 MiB is the unprivileged
 * pipe-max-size default) and the most one read takes. With the kernel's
 * 64 KiB, a job printing megabytes blocks every 64 KiB until the keeper has
 * been scheduled, and each of its reads becomes a write to the file and a
 * wake-up of the server: on a busy machine each hand-over waits for a CPU.
 * Pages are taken only as the pipe fills. */
static const int pipe_size = 1024 * 1024;
#define READ_SIZE (256 * 1024)

static enum mode mode = MODE_LIMIT;
static uint64_t limit;
static uint64_t kept; /* bytes written to the files, both streams */
static int exceeded;
static long kill_at_ms = -1; /* monotonic time of the pending SIGKILL */
static pid_t job_pid;
static int dir_fd = -1;

/* Interactive jobs (--stdin, --tty): where stdin data goes, and the control
 * socket that brings it (one connection at a time; see control.md). */
static int interactive;
static int tty_mode;
static struct winsize tty_size;
static int stdin_fd = -1; /* the pipe's write end (--stdin); the master's is streams[0] */
static int stdin_closed;
static int listen_fd = -1;
static int client_fd = -1;
static char cbuf[64 * 1024];
static size_t cstart, cend;
static uint32_t data_left; /* bytes of the current data record still to write */
static int client_failed;  /* the reply: 0 ok, else the error byte */

static void die(int status, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("warden-keeper: ", stderr);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	exit(status);
}

static long now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Write all of a buffer; a failure (a full disk) drops the rest. */
static void write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t done = write(fd, data, size);
		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0)
			return;
		data += done;
		size -= (size_t)done;
	}
}

/* JOB_DIR/name.tmp, created (or emptied) for write_file_atomically. */
static int open_aside(const char *name)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	return openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Create or replace JOB_DIR/name with text, written aside (to fd, from
 * open_aside, or -1 to open it now) and renamed. */
static int write_file_atomically(const char *name, const char *text, int fd)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	if (fd < 0)
		fd = open_aside(name);
	if (fd < 0)
		return -1;
	size_t size = strlen(text);
	ssize_t done = write(fd, text, size);
	if (close(fd) < 0 || done != (ssize_t)size) {
		unlinkat(dir_fd, tmp, 0);
		return -1;
	}
	return renameat(dir_fd, tmp, dir_fd, name);
}

static void over_the_limit(void)
{
	exceeded = 1;
	int fd = openat(dir_fd, "output_exceeded", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	kill(-job_pid, SIGTERM);
	kill_at_ms = now_ms() + kill_after_ms;
}

/* Keep what a read brought, within the limit. */
static void keep(struct stream *stream, const char *data, size_t size)
{
	if (stream->file_fd < 0)
		return;
	if (mode == MODE_LIMIT) {
		uint64_t room = limit - kept;
		if (size > room) {
			size = (size_t)room;
			if (!exceeded)
				over_the_limit();
		}
	}
	write_all(stream->file_fd, data, size);
	kept += size;
}

/* Read once from a stream's pipe; returns the bytes read, 0 at EOF (the
 * pipe is then closed) and -1 when nothing is there now. */
static ssize_t pump(struct stream *stream)
{
	static char buffer[READ_SIZE];
	ssize_t got = read(stream->pipe_fd, buffer, sizeof buffer);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (got <= 0) {
		close(stream->pipe_fd);
		stream->pipe_fd = -1;
		return 0;
	}
	keep(stream, buffer, (size_t)got);
	return got;
}

/* A sealed memfd holding all of fd 0, at offset 0: the job's stdin. */
static int script_copy(void)
{
	int fd = memfd_create("script", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		die(1, "memfd_create: %s", strerror(errno));
	static char buffer[64 * 1024];
	for (;;) {
		ssize_t got = read(0, buffer, sizeof buffer);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			die(1, "cannot read the script: %s", strerror(errno));
		if (got == 0)
			break;
		write_all(fd, buffer, (size_t)got);
	}
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
	if (fcntl(fd, F_ADD_SEALS, seals) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		die(1, "cannot seal the script: %s", strerror(errno));
	return fd;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Where a control connection's data goes: the pipe, or the terminal's master. */
static int input_fd(const struct stream *streams)
{
	if (stdin_closed)
		return -1;
	return tty_mode ? streams[0].pipe_fd : stdin_fd;
}

static void client_end(char reply)
{
	if (reply)
		if (write(client_fd, &reply, 1) != 1) { /* the server is gone: nothing to tell */
		}
	close(client_fd);
	client_fd = -1;
	cstart = cend = 0;
	data_left = 0;
	client_failed = 0;
}

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Apply what the connection brought, as far as the input takes it now.
 * Returns 1 when it waits for the input to take more (poll for POLLOUT). */
static int client_work(struct stream *streams)
{
	while (client_fd >= 0) {
		if (data_left > 0) {
			if (cstart == cend)
				return 0;
			size_t n = cend - cstart < data_left ? cend - cstart : data_left;
			int in = input_fd(streams);
			ssize_t done = in < 0 ? -1 : write(in, cbuf + cstart, n);
			if (done < 0 && in >= 0 && (errno == EAGAIN || errno == EINTR))
				return 1;
			if (done < 0) { /* closed, or the job closed its end: dropped */
				client_failed = 'c';
				done = (ssize_t)n;
			}
			cstart += (size_t)done;
			data_left -= (uint32_t)done;
			continue;
		}
		if (cend - cstart < 5)
			return 0;
		char kind = cbuf[cstart];
		uint32_t size = be32(cbuf + cstart + 1);
		if (kind == 'd') {
			cstart += 5;
			data_left = size;
		} else if (kind == 'r') {
			if (size != 4) {
				client_end('?');
				return 0;
			}
			if (cend - cstart < 9)
				return 0;
			const unsigned char *u = (const unsigned char *)cbuf + cstart + 5;
			struct winsize size_now = {.ws_row = (unsigned short)(u[0] << 8 | u[1]),
			                           .ws_col = (unsigned short)(u[2] << 8 | u[3])};
			cstart += 9;
			if (!tty_mode || streams[0].pipe_fd < 0 ||
			    ioctl(streams[0].pipe_fd, TIOCSWINSZ, &size_now) < 0)
				client_failed = tty_mode ? 'c' : 'n';
		} else if (kind == 'e') {
			cstart += 5;
			int in = input_fd(streams);
			if (in < 0) {
				client_failed = 'c';
			} else if (tty_mode) {
				/* A terminal cannot be closed for one side: its EOF character. */
				struct termios modes;
				char veof = tcgetattr(in, &modes) == 0 ? (char)modes.c_cc[VEOF] : 4;
				if (write(in, &veof, 1) != 1)
					client_failed = 'c';
			} else {
				close(stdin_fd);
				stdin_fd = -1;
				stdin_closed = 1;
			}
		} else if (kind == 'z') {
			client_end(client_failed ? (char)client_failed : '0');
			return 0;
		} else {
			client_end('?');
			return 0;
		}
		if (cstart == cend)
			cstart = cend = 0;
	}
	return 0;
}

/* Read what the connection has, if there is room. */
static void client_read(void)
{
	if (cstart > 0) {
		memmove(cbuf, cbuf + cstart, cend - cstart);
		cend -= cstart;
		cstart = 0;
	}
	if (cend == sizeof cbuf)
		return;
	ssize_t got = read(client_fd, cbuf + cend, sizeof cbuf - cend);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) { /* gone before its end record: nothing to answer */
		client_end(0);
		return;
	}
	cend += (size_t)got;
}

/* JOB_DIR/control: a unix socket only root (the server) may connect to.
 * Bound through /proc/self/fd: a deep job directory may not fit sun_path. */
static void control_listen(void)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/control", dir_fd);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		die(1, "socket: %s", strerror(errno));
	mode_t old = umask(077);
	int bound = bind(listen_fd, (struct sockaddr *)&address, sizeof address);
	umask(old);
	if (bound < 0 || listen(listen_fd, 16) < 0)
		die(1, "cannot listen on the job's control socket: %s", strerror(errno));
}

/* The master of a new pseudo-terminal: the host's, or the devpts instance
 * at DIR/dev/pts (resolved inside DIR: a link there cannot lead out). */
static int open_master(const char *pty_root)
{
	int master;
	if (pty_root == NULL) {
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	} else {
		int root = open(pty_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			die(1, "cannot open %s: %s", pty_root, strerror(errno));
		struct open_how how = {.flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
		                       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		master = (int)syscall(SYS_openat2, root, "dev/pts/ptmx", &how, sizeof how);
		close(root);
		struct statfs fs;
		if (master >= 0 && (fstatfs(master, &fs) < 0 || fs.f_type != 0x1cd1 /* devpts */)) {
			close(master);
			die(1, "%s/dev/pts/ptmx is not a devpts ptmx", pty_root);
		}
	}
	if (master < 0)
		die(1, "cannot open a pseudo-terminal: %s", strerror(errno));
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCSWINSZ, &tty_size) < 0)
		die(1, "cannot set the pseudo-terminal up: %s", strerror(errno));
	return master;
}

/* The job's argv with "-c SCRIPT" after it, the script read from fd 0. */
static char **with_script(char **argv)
{
	size_t size = 0, room = 64 * 1024;
	char *script = malloc(room + 1);
	for (;;) {
		if (script == NULL)
			die(1, "out of memory for the script");
		ssize_t got = read(0, script + size, room - size);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			die(1, "cannot read the script: %s", strerror(errno));
		if (got == 0)
			break;
		size += (size_t)got;
		if (size == room) {
			room *= 2;
			script = realloc(script, room + 1);
		}
	}
	script[size] = '\0';
	size_t n = 0;
	while (argv[n])
		n++;
	char **out = calloc(n + 3, sizeof *out);
	if (out == NULL)
		die(1, "out of memory for the command line");
	memcpy(out, argv, n * sizeof *out);
	/* A writable copy: argv's strings are char *, a literal is const. */
	static char dash_c[] = "-c";
	out[n] = dash_c;
	out[n + 1] = script;
	return out;
}

static void usage(void)
{
	die(2, "usage: warden-keeper [--limit BYTES | --unbounded | --discard] "
	       "[--pid-file PATH] [--stdin] [--tty ROWSxCOLUMNS [--pty-root DIR] [--no-ctty]] "
	       "JOB_DIR -- PROGRAM [ARG...]");
}

static int open_output(const char *name)
{
	if (mode == MODE_DISCARD)
		return -1;
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die(1, "cannot create %s in the job's directory: %s", name, strerror(errno));
	return fd;
}

/* As open_output, once the job runs: a failure ends its group. */
static int open_output_or_kill(const char *name)
{
	if (mode == MODE_DISCARD)
		return -1;
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int error = errno;
		kill(-job_pid, SIGKILL);
		die(1, "cannot create %s in the job's directory: %s", name, strerror(error));
	}
	return fd;
}

/* In the child: become the job. Does not return. */
static void start_job(int in, int out, int err, char **argv, int ctty)
{
	if (tty_mode) {
		/* Its own session (and group: its pid), the terminal its own. */
		setsid();
		if (ctty && ioctl(in, TIOCSCTTY, 0) < 0)
			_exit(127);
	} else {
		setpgid(0, 0);
	}
	signal(SIGPIPE, SIG_DFL); /* ignored here; the job must not inherit that */
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	/* Only fds 0-2 go on to the job. */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	execv(argv[0], argv);
	dprintf(2, "warden-keeper: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void start_killer_of_group(void)
{
	/* The SIGKILL due a second after SIGTERM outlives the keeper. */
	long wait_ms = kill_at_ms - now_ms();
	if (wait_ms > 0 && fork() == 0) {
		struct timespec pause = {wait_ms / 1000, (wait_ms % 1000) * 1000000};
		while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {
		}
		kill(-job_pid, SIGKILL);
		_exit(0);
	}
	if (wait_ms <= 0)
		kill(-job_pid, SIGKILL);
}

int main(int argc, char **argv)
{
	const char *pid_file = NULL;
	const char *pty_root = NULL;
	int ctty = 1;
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long long value = strtoull(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || argv[i][0] == '-')
				die(2, "--limit takes a number of bytes, not '%s'", argv[i]);
			mode = MODE_LIMIT;
			limit = value;
		} else if (strcmp(argv[i], "--unbounded") == 0) {
			mode = MODE_UNBOUNDED;
		} else if (strcmp(argv[i], "--discard") == 0) {
			mode = MODE_DISCARD;
		} else if (strcmp(argv[i], "--pid-file") == 0 && i + 1 < argc) {
			pid_file = argv[++i];
		} else if (strcmp(argv[i], "--stdin") == 0) {
			interactive = 1;
		} else if (strcmp(argv[i], "--tty") == 0 && i + 1 < argc) {
			unsigned rows, columns;
			char end;
			if (sscanf(argv[++i], "%ux%u%c", &rows, &columns, &end) != 2 || rows > 65535 ||
			    columns > 65535)
				die(2, "--tty takes ROWSxCOLUMNS, not '%s'", argv[i]);
			tty_size.ws_row = (unsigned short)rows;
			tty_size.ws_col = (unsigned short)columns;
			interactive = tty_mode = 1;
		} else if (strcmp(argv[i], "--pty-root") == 0 && i + 1 < argc) {
			pty_root = argv[++i];
		} else if (strcmp(argv[i], "--no-ctty") == 0) {
			ctty = 0;
		} else if (argv[i][0] == '-' || dir_fd >= 0) {
			usage();
		} else {
			dir_fd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dir_fd < 0)
				die(1, "cannot open the job directory %s: %s", argv[i], strerror(errno));
		}
	}
	if (dir_fd < 0 || i + 1 >= argc)
		usage();
	char **job_argv = argv + i + 1;
	signal(SIGPIPE, SIG_IGN);

	struct stream streams[2] = {{"stdout", -1, -1}, {"stderr", -1, -1}};
	int write_ends[2];
	int script = -1;
	if (tty_mode) {
		/* The master is the output (as stdout) and the input; stderr stays empty. */
		int master = open_master(pty_root);
		int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (slave < 0)
			die(1, "cannot open the pseudo-terminal's slave: %s", strerror(errno));
		streams[0].pipe_fd = master;
		write_ends[0] = write_ends[1] = script = slave;
		for (int s = 0; s < 2; s++)
			streams[s].file_fd = open_output(streams[s].name);
	} else {
		for (int s = 0; s < 2; s++) {
			int ends[2];
			if (pipe2(ends, O_CLOEXEC) < 0)
				die(1, "pipe: %s", strerror(errno));
			streams[s].pipe_fd = ends[0];
			write_ends[s] = ends[1];
			/* Best effort: a smaller limit leaves the default size. */
			fcntl(ends[0], F_SETPIPE_SZ, pipe_size);
		}
	}
	if (interactive) {
		job_argv = with_script(job_argv);
		control_listen();
	}
	if (interactive && !tty_mode) {
		int ends[2];
		if (pipe2(ends, O_CLOEXEC) < 0)
			die(1, "pipe: %s", strerror(errno));
		script = ends[0];
		stdin_fd = ends[1];
	} else if (!tty_mode) {
		script = script_copy();
	}

	job_pid = fork();
	if (job_pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (job_pid == 0)
		start_job(script, write_ends[0], write_ends[1], job_argv, ctty);
	if (!tty_mode)
		setpgid(job_pid, job_pid); /* whichever of the two runs first */
	close(script);
	if (!tty_mode) {
		close(write_ends[0]);
		close(write_ends[1]);
	}
	int job_fd = pidfd_open(job_pid);
	if (job_fd < 0) {
		kill(-job_pid, SIGKILL);
		die(1, "pidfd_open: %s", strerror(errno));
	}
	/* The files are made while the job starts (an inode allocation each,
	 * up to half a millisecond on a busy file system), not before: what it
	 * prints waits in the pipes meanwhile. Without them it must not run. */
	if (!tty_mode) {
		for (int s = 0; s < 2; s++) {
			streams[s].file_fd = open_output_or_kill(streams[s].name);
		}
	}
	int status_fd = open_aside("exit_status"); /* -1: opened at the end */
	if (pid_file) {
		char text[32];
		snprintf(text, sizeof text, "%d\n", (int)job_pid);
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s.tmp", pid_file);
		FILE *handle = fopen(tmp, "we");
		if (!handle || fputs(text, handle) < 0 || fclose(handle) != 0 || rename(tmp, pid_file) < 0) {
			/* The server would never know of the job: it must not run. */
			kill(-job_pid, SIGKILL);
			die(1, "cannot record the job's pid in %s", pid_file);
		}
	}
	/* Nobody reads our own stdio from here on (the server may be gone). */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	for (int s = 0; s < 2; s++)
		if (streams[s].pipe_fd >= 0)
			fcntl(streams[s].pipe_fd, F_SETFL, O_NONBLOCK);
	if (stdin_fd >= 0)
		fcntl(stdin_fd, F_SETFL, O_NONBLOCK);

	int status = 0;
	int small_reads = 0; /* reads in a row below coalesce_below */
	int want_input = 0; /* a control connection waits for the job's input to take more */
	for (;;) {
		int in = input_fd(streams);
		short in_events = want_input && in >= 0 ? POLLOUT : 0;
		int separate_in = in_events && in != streams[0].pipe_fd;
		struct pollfd fds[6] = {
			{streams[0].pipe_fd, (short)(POLLIN | (separate_in ? 0 : in_events)), 0},
			{streams[1].pipe_fd, POLLIN, 0},
			{job_fd, POLLIN, 0},
			{client_fd < 0 ? listen_fd : -1, POLLIN, 0},
			{want_input ? -1 : client_fd, POLLIN, 0},
			{separate_in ? in : -1, POLLOUT, 0},
		};
		int timeout = -1;
		if (kill_at_ms >= 0) {
			long left = kill_at_ms - now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(fds, 6, timeout) < 0 && errno != EINTR) {
			/* Cannot follow the output any more: wait for the end. */
			while (waitpid(job_pid, &status, 0) < 0 && errno == EINTR) {
			}
			break;
		}
		if (kill_at_ms >= 0 && now_ms() >= kill_at_ms) {
			kill(-job_pid, SIGKILL);
			kill_at_ms = -1;
		}
		for (int s = 0; s < 2; s++) {
			if (streams[s].pipe_fd >= 0 && (fds[s].revents & ~POLLOUT)) {
				ssize_t got = pump(&streams[s]);
				if (got >= coalesce_below)
					small_reads = 0;
				else if (got > 0)
					small_reads++;
			}
		}
		if (fds[3].revents && client_fd < 0) {
			client_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			want_input = 0;
		}
		if (fds[4].revents && client_fd >= 0)
			client_read();
		if (client_fd >= 0)
			want_input = client_work(streams);
		else
			want_input = 0;
		if (fds[2].revents) {
			if (waitpid(job_pid, &status, 0) == job_pid)
				break;
		} else if (small_reads >= coalesce_after && !interactive) {
			struct pollfd end = {job_fd, POLLIN, 0};
			struct timespec wait = {0, coalesce_ns};
			ppoll(&end, 1, &wait, NULL);
		}
	}
	/* What the job wrote before it ended is in the pipes: read it. */
	for (int s = 0; s < 2; s++) {
		size_t drained = 0;
		while (streams[s].pipe_fd >= 0 && drained < final_drain_max) {
			ssize_t got = pump(&streams[s]);
			if (got <= 0)
				break;
			drained += (size_t)got;
		}
		if (streams[s].pipe_fd >= 0)
			close(streams[s].pipe_fd);
		if (streams[s].file_fd >= 0)
			close(streams[s].file_fd);
	}
	if (listen_fd >= 0) {
		/* The job is over: so are its input and its window. */
		unlinkat(dir_fd, "control", 0);
		close(listen_fd);
		if (client_fd >= 0)
			client_end(0);
	}
	if (stdin_fd >= 0)
		close(stdin_fd);
	/* A death by signal N is recorded as -N: an exit code (0-255) never looks like one. */
	int code = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
	char text[16];
	snprintf(text, sizeof text, "%d\n", code);
	write_file_atomically("exit_status", text, status_fd);
	if (kill_at_ms >= 0)
		start_killer_of_group();
	return 0;
}
