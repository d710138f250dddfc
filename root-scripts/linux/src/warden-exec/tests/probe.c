/* probe: a static test program for warden-exec's tests. It runs in a tiny
 * container root (no libraries needed) as the target's init and as the
 * program warden-exec starts, and reports what it sees:
 *
 *   probe init ROOT       be the target's PID 1: pivot_root into ROOT (onto
 *                         ROOT/.oldroot), mount /proc, print "ready HOSTPID",
 *                         then reap forever
 *   probe userns CMD...   unshare a user namespace, print "unshared", wait for
 *                         a line on stdin (the caller writes the id maps),
 *                         become the namespace's root and exec CMD
 *   probe cat FILE...     print files (e.g. /proc/self/status)
 *   probe fds             the open fds, space-separated
 *   probe env             the environment, one per line
 *   probe rlimits         "NAME SOFT HARD" per resource (-1: unlimited)
 *   probe cwd             the working directory
 *   probe ns              "NAME LINK" per /proc/self/ns entry
 *   probe try NAME...     attempt each syscall (in a child of its own) and
 *                         print "NAME OK" or "NAME ERRNONAME"
 *   probe x32 | i386      make a syscall through another ABI (should be killed)
 *   probe thread          create and join a thread (clone3, then clone)
 *   probe exit N | raise SIG | sleep | true
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/fs.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int init(const char *root)
{
    char self[64];
    ssize_t n = readlink("/proc/self", self, sizeof self - 1); /* still the host's /proc */
    if (n < 0)
        return perror("readlink /proc/self"), 1;
    self[n] = '\0';
    /* /proc is mounted before the old root goes: in a user namespace the
     * kernel mounts a new proc only where a full one is already visible. */
    if (chdir(root) || syscall(SYS_pivot_root, ".", ".oldroot") || chdir("/") ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
        umount2("/.oldroot", MNT_DETACH))
        return perror("init"), 1;
    printf("ready %s\n", self);
    fflush(stdout);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0), dup2(devnull, 1), dup2(devnull, 2);
        close(devnull);
    }
    for (;;) {
        if (wait(NULL) < 0 && errno == ECHILD)
            pause();
    }
}

static int userns(char **argv)
{
    char line[64];
    if (unshare(CLONE_NEWUSER))
        return perror("unshare(CLONE_NEWUSER)"), 1;
    printf("unshared\n");
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return fprintf(stderr, "probe userns: no go-ahead\n"), 1;
    if (setresgid(0, 0, 0) || setresuid(0, 0, 0))
        return perror("probe userns: become root"), 1;
    execvp(argv[0], argv);
    return perror(argv[0]), 1;
}

static int cat(const char *path)
{
    char buf[65536];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return perror(path), 1;
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
        fwrite(buf, 1, (size_t)n, stdout);
    close(fd);
    return 0;
}

static int fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return perror("opendir"), 1;
    const char *sep = "";
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(dir))
            continue;
        printf("%s%s", sep, e->d_name);
        sep = " ";
    }
    printf("\n");
    return 0;
}

static int rlimits(void)
{
    static const struct { const char *name; int resource; } all[] = {
        {"AS", RLIMIT_AS}, {"CORE", RLIMIT_CORE}, {"CPU", RLIMIT_CPU}, {"DATA", RLIMIT_DATA},
        {"FSIZE", RLIMIT_FSIZE}, {"LOCKS", RLIMIT_LOCKS}, {"MEMLOCK", RLIMIT_MEMLOCK},
        {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE}, {"NOFILE", RLIMIT_NOFILE},
        {"NPROC", RLIMIT_NPROC}, {"RSS", RLIMIT_RSS}, {"RTPRIO", RLIMIT_RTPRIO},
        {"RTTIME", RLIMIT_RTTIME}, {"SIGPENDING", RLIMIT_SIGPENDING}, {"STACK", RLIMIT_STACK},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct rlimit r;
        getrlimit(all[i].resource, &r);
        printf("%s %lld %lld\n", all[i].name,
               r.rlim_cur == RLIM_INFINITY ? -1LL : (long long)r.rlim_cur,
               r.rlim_max == RLIM_INFINITY ? -1LL : (long long)r.rlim_max);
    }
    return 0;
}

static int ns(void)
{
    static const char *const names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[64], link[128];
        snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        printf("%s %s\n", names[i], link);
    }
    return 0;
}

static void *thread_main(void *arg) { return arg; }

/* One attempt per name; harmless arguments, so that an allowed call does
 * nothing lasting (each runs in a child of its own). Returns -1 with errno
 * on failure. */
static long attempt(const char *name)
{
    if (!strcmp(name, "getpid"))
        return getpid();
    if (!strcmp(name, "mount"))
        return mount("none", "/tmp", "tmpfs", 0, NULL);
    if (!strcmp(name, "umount2"))
        return umount2("/warden-exec-nonexistent", 0);
    if (!strcmp(name, "pivot_root"))
        return syscall(SYS_pivot_root, "/warden-exec-nonexistent", "/warden-exec-nonexistent");
    if (!strcmp(name, "swapon"))
        return swapon("/warden-exec-nonexistent", 0);
    if (!strcmp(name, "swapoff"))
        return swapoff("/warden-exec-nonexistent");
    if (!strcmp(name, "reboot")) /* in a child pid namespace: EINVAL at worst */
        return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                       LINUX_REBOOT_CMD_CAD_OFF, NULL);
    if (!strcmp(name, "kexec_load")) /* invalid flags: EINVAL even with CAP_SYS_BOOT */
        return syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL);
    if (!strcmp(name, "kexec_file_load"))
        return syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0xdead0000UL);
    if (!strcmp(name, "init_module"))
        return syscall(SYS_init_module, NULL, 0UL, "");
    if (!strcmp(name, "finit_module"))
        return syscall(SYS_finit_module, -1, "", 0);
    if (!strcmp(name, "delete_module"))
        return syscall(SYS_delete_module, "warden_exec_nonexistent", O_NONBLOCK);
    if (!strcmp(name, "iopl"))
        return syscall(SYS_iopl, 3);
    if (!strcmp(name, "ioperm"))
        return syscall(SYS_ioperm, 0x80UL, 1UL, 1);
    if (!strcmp(name, "clock_settime")) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return clock_settime(CLOCK_REALTIME, &now);
    }
    if (!strcmp(name, "settimeofday")) {
        struct timeval now;
        gettimeofday(&now, NULL);
        return settimeofday(&now, NULL);
    }
    if (!strcmp(name, "adjtimex")) { /* read-only: allowed to anyone without the filter */
        struct timex t = {.modes = 0};
        return adjtimex(&t) < 0 ? -1 : 0;
    }
    if (!strcmp(name, "sethostname"))
        return sethostname("warden-exec-evil", 16);
    if (!strcmp(name, "mknod_block")) {
        long r = mknod("/tmp/warden-exec-blk", S_IFBLK | 0600, makedev(7, 0));
        if (r == 0)
            unlink("/tmp/warden-exec-blk");
        return r;
    }
    if (!strcmp(name, "mknod_fifo")) {
        long r = mknod("/tmp/warden-exec-fifo", S_IFIFO | 0600, 0);
        if (r == 0)
            unlink("/tmp/warden-exec-fifo");
        return r;
    }
    if (!strcmp(name, "open_by_handle_at")) {
        struct { struct file_handle h; unsigned char bytes[128]; } handle = {{128, 1}, {0}};
        return syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY);
    }
    if (!strcmp(name, "name_to_handle_at")) {
        struct { struct file_handle h; unsigned char bytes[128]; } handle = {{128, 0}, {0}};
        int mount_id;
        return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0);
    }
    if (!strcmp(name, "acct"))
        return acct(NULL);
    if (!strcmp(name, "quotactl"))
        return quotactl(QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL);
    if (!strcmp(name, "bpf"))
        return syscall(SYS_bpf, -1, NULL, 0);
    if (!strcmp(name, "perf_event_open")) {
        struct perf_event_attr attr = {.type = PERF_TYPE_SOFTWARE, .size = sizeof attr,
                                       .config = PERF_COUNT_SW_DUMMY, .exclude_kernel = 1};
        return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL);
    }
    if (!strcmp(name, "keyctl"))
        return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1);
    if (!strcmp(name, "add_key"))
        return syscall(SYS_add_key, "user", "warden-exec", "x", 1UL, KEY_SPEC_PROCESS_KEYRING);
    if (!strcmp(name, "request_key"))
        return syscall(SYS_request_key, "user", "warden-exec-none", NULL, 0);
    if (!strcmp(name, "userfaultfd"))
        return syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
    if (!strcmp(name, "io_uring_setup")) {
        struct io_uring_params params;
        memset(&params, 0, sizeof params);
        return syscall(SYS_io_uring_setup, 1, &params);
    }
    if (!strcmp(name, "kcmp"))
        return syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0UL, 0UL);
    if (!strcmp(name, "syslog"))
        return syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
    if (!strcmp(name, "fsopen"))
        return syscall(SYS_fsopen, "tmpfs", 0);
    if (!strcmp(name, "open_tree"))
        return syscall(SYS_open_tree, AT_FDCWD, "/", 0);
    if (!strcmp(name, "setns")) {
        int fd = open("/proc/self/ns/uts", O_RDONLY);
        return fd < 0 ? -1 : setns(fd, CLONE_NEWUTS);
    }
    if (!strcmp(name, "unshare_user"))
        return unshare(CLONE_NEWUSER);
    if (!strcmp(name, "unshare_net"))
        return unshare(CLONE_NEWNET);
    if (!strcmp(name, "unshare_files"))
        return unshare(CLONE_FILES);
    if (!strcmp(name, "clone_user") || !strcmp(name, "clone_plain")) {
        unsigned long flags = SIGCHLD | (name[6] == 'u' ? CLONE_NEWUSER : 0);
        long pid = syscall(SYS_clone, flags, 0UL, NULL, NULL, 0UL);
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid((pid_t)pid, NULL, 0);
        return pid < 0 ? -1 : 0;
    }
    if (!strcmp(name, "clone3")) {
        struct clone_args args = {.exit_signal = SIGCHLD};
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0)
            _exit(0);
        if (pid > 0)
            waitpid((pid_t)pid, NULL, 0);
        return pid < 0 ? -1 : 0;
    }
    if (!strcmp(name, "personality_unsafe"))
        return personality(ADDR_NO_RANDOMIZE);
    if (!strcmp(name, "personality_query"))
        return personality(0xffffffff);
    if (!strcmp(name, "ptrace"))
        return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    if (!strcmp(name, "chroot"))
        return chroot("/");
    if (!strncmp(name, "socket_", 7) || !strncmp(name, "socketpair_", 11)) {
        /* socket_FAMILY / socketpair_FAMILY: created and closed unused */
        const char *family = strchr(name, '_') + 1;
        int domain = !strcmp(family, "vsock")   ? 40 /* AF_VSOCK */
                     : !strcmp(family, "qipcrtr") ? 42 /* AF_QIPCRTR */
                     : !strcmp(family, "unix")    ? AF_UNIX
                                                  : AF_INET;
        int type = domain == 42 ? SOCK_DGRAM : SOCK_STREAM;
        int fds[2];
        long r = name[6] == 'p' ? socketpair(domain, type, 0, fds) : (fds[0] = socket(domain, type, 0));
        if (r >= 0)
            close(fds[0]);
        if (r >= 0 && name[6] == 'p')
            close(fds[1]);
        return r < 0 ? -1 : 0;
    }
    if (!strcmp(name, "ioctl_setflags") || !strcmp(name, "ioctl_fssetxattr")) {
        /* a new file's own flags (or project) written back unchanged */
        int fd = open("/tmp/warden-exec-flags", O_RDONLY | O_CREAT, 0600);
        long r = -1;
        if (fd >= 0) {
            if (name[6] == 's') {
                int flags;
                r = ioctl(fd, FS_IOC_GETFLAGS, &flags);
                if (r == 0)
                    r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
            } else {
                struct fsxattr attr;
                r = ioctl(fd, FS_IOC_FSGETXATTR, &attr);
                if (r == 0)
                    r = ioctl(fd, FS_IOC_FSSETXATTR, &attr);
            }
            int saved = errno;
            close(fd);
            unlink("/tmp/warden-exec-flags");
            errno = saved;
        }
        return r;
    }
    fprintf(stderr, "probe: unknown syscall %s\n", name);
    exit(2);
}

static int try(int n, char **names)
{
    for (int i = 0; i < n; i++) {
        int pipefd[2];
        if (pipe(pipefd))
            return perror("pipe"), 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(pipefd[0]);
            int err = attempt(names[i]) < 0 ? errno : 0;
            if (write(pipefd[1], &err, sizeof err) != sizeof err)
                _exit(1);
            _exit(0);
        }
        close(pipefd[1]);
        int err = -1, status;
        ssize_t got = read(pipefd[0], &err, sizeof err);
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        if (got != sizeof err)
            printf("%s DIED\n", names[i]);
        else
            printf("%s %s\n", names[i], err ? strerrorname_np(err) : "OK");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: probe COMMAND ...\n"), 2;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "init") && argc == 3)
        return init(argv[2]);
    if (!strcmp(cmd, "userns") && argc > 2)
        return userns(argv + 2);
    if (!strcmp(cmd, "cat")) {
        int rc = 0;
        for (int i = 2; i < argc; i++)
            rc |= cat(argv[i]);
        return rc;
    }
    if (!strcmp(cmd, "fds"))
        return fds();
    if (!strcmp(cmd, "env")) {
        extern char **environ;
        for (char **e = environ; *e; e++)
            printf("%s\n", *e);
        return 0;
    }
    if (!strcmp(cmd, "rlimits"))
        return rlimits();
    if (!strcmp(cmd, "cwd")) {
        char buf[4096];
        return getcwd(buf, sizeof buf) ? printf("%s\n", buf), 0 : 1;
    }
    if (!strcmp(cmd, "ns"))
        return ns();
    if (!strcmp(cmd, "try"))
        return try(argc - 2, argv + 2);
#ifdef __x86_64__
    if (!strcmp(cmd, "x32"))
        return (int)syscall(0x40000000 | SYS_getpid) < 0 ? 1 : 0;
    if (!strcmp(cmd, "i386")) {
        long ret = 20; /* i386 getpid */
        __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
        return ret < 0 ? 1 : 0;
    }
#endif
    if (!strcmp(cmd, "thread")) {
        pthread_t t;
        int err = pthread_create(&t, NULL, thread_main, NULL);
        if (err)
            return printf("thread %s\n", strerrorname_np(err)), 1;
        pthread_join(t, NULL);
        return printf("thread OK\n"), 0;
    }
    if (!strcmp(cmd, "exit") && argc == 3)
        return atoi(argv[2]);
    if (!strcmp(cmd, "raise") && argc == 3)
        return raise(atoi(argv[2])), 1;
    if (!strcmp(cmd, "sleep")) {
        printf("sleeping\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    if (!strcmp(cmd, "true"))
        return 0;
    fprintf(stderr, "probe: unknown command %s\n", cmd);
    return 2;
}
