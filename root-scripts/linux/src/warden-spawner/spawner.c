/*
 * warden-spawner: starts processes on the server's behalf, so that the
 * server's reactor never waits for a child's exec.
 *
 *   warden-spawner [--nice N]     (fd 3: a SOCK_SEQPACKET unix socket to the server)
 *
 * With --nice, it (and so every child) runs at niceness N: the server may run
 * at a higher priority than what it starts, its children at the one it was
 * given.
 * The server starts it once. Each request is one message:
 *
 *   uint32 id, uint32 flags, uint32 argc, uint32 envc,
 *   then argc + envc NUL-terminated strings (argv, then the environment),
 *   with SCM_RIGHTS: stdin (unless FLAG_DEVNULL_STDIN), stdout, stderr.
 *
 * For each request it forks (a fork of this small static program, not a
 * vfork: it does not wait for the child) and the child, with every signal at
 * its default, an empty signal mask, the given descriptors as 0-2 and no
 * other, a session of its own with FLAG_SETSID, under SCHED_BATCH with
 * FLAG_BATCH (the server's scripts: a hundred of them at once then do not
 * preempt the reactor at each of their wakeups; it needs no privilege),
 * execs argv[0] (looked up in PATH when it has no slash). Every reply is four int32: kind, id, pid, value.
 *
 *   STARTED id pid 0      the child has exec'd (its exec closed a pipe)
 *   FAILED  id 0 errno    fork or exec failed (the child is reaped here)
 *   EXITED  0 pid status  a child ended (its raw wait status); sent after
 *                         its STARTED, so the server knows the pid by then
 *
 * The spawner reaps every child. When the server's end closes, it exits; the
 * children left run on (reparented), as they did when the server itself was
 * their parent. Exit status: 0 at the server's EOF, 1 on an error (stderr), 2
 * for a bad command line.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVER_FD 3
#define FLAG_SETSID 1u
#define FLAG_DEVNULL_STDIN 2u
#define FLAG_BATCH 4u
#define MAX_REQUEST (1024 * 1024)
#define MAX_STRINGS 65536

enum kind { STARTED = 1, FAILED = 2, EXITED = 3 };

/* A child whose exec has not been seen yet: its CLOEXEC pipe is watched. */
struct pending {
	uint32_t id;
	pid_t pid;
	int fd;
};

static struct pending *pendings;
static size_t pending_count, pending_size;
static int epoll_fd;
static char request[MAX_REQUEST];
static char *strings[MAX_STRINGS + 2];

static void die(const char *what)
{
	fprintf(stderr, "warden-spawner: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void reply(int32_t kind, uint32_t id, pid_t pid, int32_t value)
{
	int32_t message[4] = {kind, (int32_t)id, (int32_t)pid, value};
	while (send(SERVER_FD, message, sizeof message, MSG_NOSIGNAL) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			exit(0); /* the server is gone */
		die("send");
	}
}

/* In the child: never returns. */
static void start_child(uint32_t flags, int in, int out, int err, int report)
{
	sigset_t none;
	int error;

	sigemptyset(&none);
	signal(SIGINT, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((flags & FLAG_SETSID) && setsid() < 0)
		goto failed;
	if (flags & FLAG_BATCH) {
		struct sched_param param = { .sched_priority = 0 };
		/* Best effort: a kernel without it leaves the child as it was. */
		(void)sched_setscheduler(0, SCHED_BATCH, &param);
	}
	/* The received descriptors are above 3 (0-3 are this program's). */
	if ((in >= 0 && dup2(in, 0) < 0) || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto failed;
	/* Everything else closes at exec; the report pipe stays open until then. */
	if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) < 0)
		goto failed;
	if (strchr(strings[0], '/'))
		execve(strings[0], strings, environ);
	else
		execvpe(strings[0], strings, environ);
failed:
	error = errno;
	if (write(report, &error, sizeof error) < 0) {
		/* nothing more to tell */
	}
	_exit(127);
}

static void watch(int fd, uint64_t data)
{
	struct epoll_event event = {.events = EPOLLIN, .data.u64 = data};
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
		die("epoll_ctl");
}

static void spawn_one(uint32_t id, uint32_t flags, char **env, const int *fds, int nfds)
{
	int in = -1, out, err, report[2];
	pid_t pid;

	if (nfds != ((flags & FLAG_DEVNULL_STDIN) ? 2 : 3)) {
		reply(FAILED, id, 0, EBADF);
		return;
	}
	if (!(flags & FLAG_DEVNULL_STDIN))
		in = *fds++;
	out = fds[0];
	err = fds[1];
	if (pipe2(report, O_CLOEXEC) < 0) {
		reply(FAILED, id, 0, errno);
		return;
	}
	environ = env;
	pid = fork();
	if (pid == 0)
		start_child(flags, in, out, err, report[1]);
	close(report[1]);
	if (pid < 0) {
		reply(FAILED, id, 0, errno);
		close(report[0]);
		return;
	}
	if (pending_count == pending_size) {
		pending_size = pending_size ? 2 * pending_size : 64;
		pendings = realloc(pendings, pending_size * sizeof *pendings);
		if (!pendings)
			die("realloc");
	}
	pendings[pending_count++] = (struct pending){id, pid, report[0]};
	watch(report[0], (uint64_t)report[0]);
}

/* The child's exec happened (EOF) or failed (an errno): say which, once. */
static void settle(size_t index)
{
	struct pending entry = pendings[index];
	int error = 0;
	ssize_t got;

	do
		got = read(entry.fd, &error, sizeof error);
	while (got < 0 && errno == EINTR);
	epoll_ctl(epoll_fd, EPOLL_CTL_DEL, entry.fd, NULL);
	close(entry.fd);
	pendings[index] = pendings[--pending_count];
	if (got == (ssize_t)sizeof error)
		reply(FAILED, entry.id, 0, error);
	else
		reply(STARTED, entry.id, entry.pid, 0);
}

static void settle_fd(int fd)
{
	for (size_t i = 0; i < pending_count; i++)
		if (pendings[i].fd == fd) {
			settle(i);
			return;
		}
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < pending_count; i++)
			if (pendings[i].pid == pid) {
				settle(i); /* its STARTED (or FAILED) before its end */
				break;
			}
		reply(EXITED, 0, pid, status);
	}
}

static void serve_request(void)
{
	union {
		char buffer[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = request, .iov_len = sizeof request};
	struct msghdr message = {.msg_iov = &iov,
				 .msg_iovlen = 1,
				 .msg_control = control.buffer,
				 .msg_controllen = sizeof control.buffer};
	int fds[3], nfds = 0;
	uint32_t header[4];
	ssize_t got;
	size_t count, at;

	got = recvmsg(SERVER_FD, &message, MSG_CMSG_CLOEXEC);
	if (got < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		die("recvmsg");
	}
	if (got == 0)
		exit(0); /* the server closed its end */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfds > 3)
				nfds = 3; /* MSG_CTRUNC: the rest were not received */
			memcpy(fds, CMSG_DATA(c), (size_t)nfds * sizeof(int));
		}
	if ((size_t)got < sizeof header || (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		memcpy(header, request, sizeof header[0]);
		reply(FAILED, (size_t)got >= sizeof header[0] ? header[0] : 0, 0, E2BIG);
		goto done;
	}
	memcpy(header, request, sizeof header);
	count = (size_t)header[2] + header[3];
	if (header[2] == 0 || count > MAX_STRINGS) {
		reply(FAILED, header[0], 0, EINVAL);
		goto done;
	}
	/* The strings: argv (NULL), then the environment (NULL). */
	at = sizeof header;
	for (size_t i = 0, slot = 0; i < count; i++) {
		char *end = memchr(request + at, '\0', (size_t)got - at);
		if (!end) {
			reply(FAILED, header[0], 0, EINVAL);
			goto done;
		}
		strings[slot++] = request + at;
		at = (size_t)(end - request) + 1;
		if (i + 1 == header[2])
			strings[slot++] = NULL;
	}
	strings[count + 1] = NULL;
	spawn_one(header[0], header[1], strings + header[2] + 1, fds, nfds);
done:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

int main(int argc, char **argv)
{
	struct epoll_event events[64];
	sigset_t child;
	int signal_fd;

	if (argc == 3 && strcmp(argv[1], "--nice") == 0) {
		char *end;
		long nice_value = strtol(argv[2], &end, 10);
		if (*end || nice_value < -20 || nice_value > 19) {
			fprintf(stderr, "warden-spawner: bad niceness %s\n", argv[2]);
			return 2;
		}
		if (setpriority(PRIO_PROCESS, 0, (int)nice_value) < 0)
			die("setpriority");
	} else if (argc != 1) {
		fprintf(stderr, "usage: warden-spawner [--nice N]\n");
		return 2;
	}

	/* The children start from here: every signal at its default. */
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	/* In the server's process group (as its scripts were when it started
	 * them itself): a terminal's ^C stops the server, whose EOF ends this. */
	signal(SIGINT, SIG_IGN);
	sigemptyset(&child);
	sigaddset(&child, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &child, NULL) < 0)
		die("sigprocmask");
	signal_fd = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (signal_fd < 0 || epoll_fd < 0)
		die("signalfd");
	if (fcntl(SERVER_FD, F_SETFD, FD_CLOEXEC) < 0)
		die("no server socket on fd 3");
	watch(SERVER_FD, (uint64_t)-1);
	watch(signal_fd, (uint64_t)-2);
	for (;;) {
		int n = epoll_wait(epoll_fd, events, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		/* Execs first, then ends (each STARTED before its EXITED), then requests. */
		for (int i = 0; i < n; i++)
			if (events[i].data.u64 < (uint64_t)-2)
				settle_fd((int)events[i].data.u64);
		for (int i = 0; i < n; i++)
			if (events[i].data.u64 == (uint64_t)-2) {
				struct signalfd_siginfo info;
				while (read(signal_fd, &info, sizeof info) > 0) {
				}
				reap();
			}
		for (int i = 0; i < n; i++)
			if (events[i].data.u64 == (uint64_t)-1)
				serve_request();
	}
}
