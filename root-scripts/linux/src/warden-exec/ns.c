/* The way in: the target's namespaces and root, opened through one
 * /proc/PID directory fd (so a recycled pid can never swap the process
 * under us), the container's cgroups, setns, and the fork that the pid
 * namespace needs. */
#include "warden-exec.h"
#include "../common/cgroup_join.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The order of entry. mnt is last among those that concern the container
 * itself; user comes after it because we enter as host root, who may enter
 * everything else first (as nsenter does when it deprivileges). time and
 * pid apply to children only: fork_into_pid_ns makes the child. */
static const struct {
    const char *name;
    int type;
    bool optional;          /* the kernel may not have it */
    bool only_if_different; /* setns into one's own ns fails (user) or is pointless */
} kinds[] = {
    {"cgroup", CLONE_NEWCGROUP, true, false},
    {"ipc", CLONE_NEWIPC, false, false},
    {"uts", CLONE_NEWUTS, false, false},
    {"net", CLONE_NEWNET, false, false},
    {"time", CLONE_NEWTIME, true, true},
    {"pid", CLONE_NEWPID, false, false},
    {"mnt", CLONE_NEWNS, false, false},
    {"user", CLONE_NEWUSER, true, true},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

struct target {
    int ns[N_KINDS]; /* -1: not entered */
    int root;
};

static struct target the_target;
static int parent_pidfd = -1;

/* Is the process behind `proc` in cgroup PATH of CONTROLLER, as its
 * /proc/PID/cgroup says ("ID:CONTROLLERS:PATH" lines)? An empty CONTROLLER
 * means cgroup v2's line ("0::PATH"). */
static void check_cgroup(int proc, pid_t pid, const char *expect)
{
    const char *colon = strchr(expect, ':');
    if (colon == NULL || colon[1] != '/')
        failx("target-cgroup(%s): expected CONTROLLER:/PATH", expect);
    size_t controller_len = (size_t)(colon - expect);
    const char *path = colon + 1;

    int fd = openat(proc, "cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open(/proc/%d/cgroup)", (int)pid);
    static char text[65536];
    size_t len = 0;
    for (ssize_t n; len < sizeof text - 1; len += (size_t)n) {
        n = read(fd, text + len, sizeof text - 1 - len);
        if (n < 0)
            fail("read(/proc/%d/cgroup)", (int)pid);
        if (n == 0)
            break;
    }
    close(fd);
    text[len] = '\0';

    char *rest = text;
    for (char *line; (line = strsep(&rest, "\n")) != NULL;) {
        char *controllers = strchr(line, ':');
        char *cgroup = controllers ? strchr(controllers + 1, ':') : NULL;
        if (cgroup == NULL)
            continue;
        *cgroup++ = '\0';
        if (strcmp(cgroup, path) != 0)
            continue;
        char *list = controllers + 1;
        for (char *name; (name = strsep(&list, ",")) != NULL;) {
            if (strlen(name) == controller_len && strncmp(name, expect, controller_len) == 0)
                return;
        }
    }
    failx("target-cgroup(%s): process %d is not in it (is the container gone?)", expect,
          (int)pid);
}

static bool same_as_ours(int fd, const char *name)
{
    char path[64];
    struct stat theirs, ours;
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    if (fstat(fd, &theirs) != 0)
        fail("fstat(ns/%s)", name);
    if (stat(path, &ours) != 0)
        fail("stat(%s)", path);
    return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

struct target *target_open(pid_t pid, const char *expect_cgroup)
{
    char path[64];
    struct target *t = &the_target;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    int proc = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0)
        fail("open(%s)", path);

    for (size_t i = 0; i < N_KINDS; i++) {
        snprintf(path, sizeof path, "ns/%s", kinds[i].name);
        t->ns[i] = openat(proc, path, O_RDONLY | O_CLOEXEC);
        if (t->ns[i] < 0) {
            if (kinds[i].optional && errno == ENOENT)
                continue;
            fail("open(/proc/%d/ns/%s)", (int)pid, kinds[i].name);
        }
        if (kinds[i].only_if_different && same_as_ours(t->ns[i], kinds[i].name)) {
            close(t->ns[i]);
            t->ns[i] = -1;
        }
    }
    t->root = openat(proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (t->root < 0)
        fail("open(/proc/%d/root)", (int)pid);
    /* Checked after the opens, through the same directory fd: what we
     * opened belongs to the process that passes the check. */
    if (expect_cgroup != NULL)
        check_cgroup(proc, pid, expect_cgroup);
    close(proc);
    return t;
}

/* Host paths, so this runs before we leave the host's mount namespace, and
 * before the cgroup namespace changes what the files mean. We have one
 * thread: moving it through v1's "tasks" is moving the process, without the
 * kernel's global threadgroup lock (see cgroup_join.h). */
void cgroups_join(const char *const *dirs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *file;
        switch (cgroup_join_self(dirs[i], &file)) {
        case CGROUP_JOIN_DONE:
            break;
        case CGROUP_JOIN_NOT_A_CGROUP:
            failx("cgroup(%s): not a cgroup directory (no tasks, no cgroup.procs)", dirs[i]);
        case CGROUP_JOIN_OPEN:
            fail("cgroup(%s): open %s", dirs[i], file);
        case CGROUP_JOIN_WRITE:
            fail("cgroup(%s): write %s", dirs[i], file);
        }
    }
}

void ns_enter(struct target *t)
{
    for (size_t i = 0; i < N_KINDS; i++) {
        if (t->ns[i] < 0)
            continue;
        if (setns(t->ns[i], kinds[i].type) != 0)
            fail("setns(%s)", kinds[i].name);
        close(t->ns[i]);
        t->ns[i] = -1;
    }
}

/* Joining a pid namespace takes effect for children only, so we fork once.
 * The child goes on into the container and returns; the parent stays
 * outside (invisible to the container: it is in the host's pid namespace),
 * waits, and ends as the child did: with its exit code, or killed by the
 * same signal N (128+N to a shell).
 *
 * The child stays in our process group, so a signal to the group (what the
 * server sends to a job) reaches it directly. The parent blocks every
 * signal meanwhile, as unshare --fork does, so that such a signal cannot
 * take it away before the child's status is known.
 *
 * pid_file is --pid-file's: the parent writes its pid there once the child
 * exists (creating the file first when it was not there), so whoever reads
 * it knows the job is inside. */
static void die_of_signal(int sig) __attribute__((noreturn));

/* With forward_signals (--tty: the child leads a session of its own, out of
 * our group), a signal sent to us goes on to the child's group. */
static int wait_forwarding(pid_t child, const sigset_t *all)
{
    int status;
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(all, &info);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            fail("sigwaitinfo");
        }
        if (sig == SIGCHLD) {
            pid_t done = waitpid(child, &status, WNOHANG);
            if (done == child)
                return status;
            continue;
        }
        if (kill(-child, sig) < 0) /* its group, or itself before its setsid */
            kill(child, sig);
    }
}

void fork_into_pid_ns(bool keep_parent_fd, struct pid_file *pid_file, bool forward_signals)
{
    sigset_t all;
    sigfillset(&all);
    if (sigprocmask(SIG_SETMASK, &all, NULL) != 0)
        fail("sigprocmask");
    if (keep_parent_fd) {
        /* For pdeathsig_set: tells the child whether we are already gone. */
        parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
        if (parent_pidfd < 0)
            fail("pidfd_open(self)");
    }
    pid_t child = fork();
    if (child < 0) {
        if (errno == ENOMEM)
            failx("fork: the container's pid namespace has no init (is the container gone?)");
        fail("fork");
    }
    if (child == 0) {
        if (pid_file->fd >= 0)
            close(pid_file->fd);
        if (pid_file->dir >= 0)
            close(pid_file->dir);
        return;
    }

    int pid_fd = pid_file->fd;
    if (pid_fd < 0 && pid_file->dir >= 0) {
        /* Relative to the host directory opened before entering: the mount
         * namespace we are in now does not matter. */
        pid_fd = openat(pid_file->dir, pid_file->name,
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
        if (pid_fd < 0) {
            int error = errno;
            kill(child, SIGKILL);
            errno = error;
            fail("open(--pid-file %s)", pid_file->path);
        }
    }
    if (pid_fd >= 0) {
        /* The child is in the pid namespace and (with us) in the cgroups. */
        char text[32];
        int len = snprintf(text, sizeof text, "%d\n", (int)getpid());
        if (write(pid_fd, text, (size_t)len) != len) {
            kill(child, SIGKILL);
            fail("write(--pid-file)");
        }
    }
    close_range(3, ~0U, 0); /* the container's root fd, the pidfd: not needed here */
    int status;
    if (forward_signals) {
        status = wait_forwarding(child, &all);
    } else {
        while (waitpid(child, &status, 0) < 0) {
            if (errno != EINTR)
                fail("waitpid");
        }
    }
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    die_of_signal(WTERMSIG(status));
}

/* End as a signal ended the child, so that whoever waits for us (the job's
 * keeper) can tell a death by signal from an exit code; with no core file of
 * ours. A signal whose default is not to terminate leaves us here: 128+N. */
static void die_of_signal(int sig)
{
    struct rlimit no_core = {0, 0};
    (void)setrlimit(RLIMIT_CORE, &no_core);
    (void)signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    (void)kill(getpid(), sig);
    (void)sigprocmask(SIG_UNBLOCK, &only, NULL);
    _exit(128 + sig);
}

/* Whether ns_enter will join a user namespace of the target's (one that
 * differs from ours): after that, a file made on the host may be refused. */
bool target_has_own_user_ns(const struct target *t)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].type == CLONE_NEWUSER)
            return t->ns[i] >= 0;
    return false;
}

/* The target's own root (as nsenter --root does), not merely its mount
 * namespace's, so that an init that chroots is followed too. */
void root_enter(struct target *t)
{
    if (fchdir(t->root) != 0)
        fail("fchdir(root)");
    if (chroot(".") != 0)
        fail("chroot(root)");
    close(t->root);
    t->root = -1;
}

/* The signal comes when our waiting parent dies. Credential changes clear
 * it, so this runs after user_switch; the pidfd tells whether the parent
 * died before the signal was armed. */
void pdeathsig_set(int sig)
{
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0) != 0)
        fail("prctl(PR_SET_PDEATHSIG)");
    struct pollfd gone = {.fd = parent_pidfd, .events = POLLIN};
    if (poll(&gone, 1, 0) < 0)
        fail("poll(parent pidfd)");
    if (gone.revents & POLLIN) {
        kill(getpid(), sig);
        failx("pdeathsig: warden-exec's parent is gone");
    }
    close(parent_pidfd);
    parent_pidfd = -1;
}
