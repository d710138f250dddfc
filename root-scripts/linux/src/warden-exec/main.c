/* warden-exec: start one program inside a running warden container, as a
 * job or a copy needs it: the container's namespaces, root and cgroups,
 * rlimits, a clean environment, its user with no or bounded capabilities,
 * no_new_privs, a seccomp filter, and nothing else inherited.
 * main() is the table of contents; README.md explains each step. */
#include "warden-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char usage[] =
    "Usage: warden-exec --target PID (--user NAME | --uid UID [--gid GID]) [OPTION]...\n"
    "                   [--] [PROGRAM [ARG]...]\n"
    "Run PROGRAM (default /bin/bash) inside the container whose init is PID (a host\n"
    "pid): its namespaces and root, as NAME from the container's /etc/passwd, with\n"
    "only HOME, USER, PATH, LANG (when set here) and --env in the environment, only\n"
    "fds 0, 1 and 2, rlimits, a capability set, no_new_privs and a seccomp filter.\n"
    "Ends as PROGRAM did (its exit code, or killed by the same signal), or 255 when a step\n"
    "fails (\"warden-exec: STEP(WHAT): REASON\" on stderr).\n"
    "\n"
    "  -t, --target PID          the container's init, as the host sees it\n"
    "      --target-cgroup CONTROLLER:/PATH\n"
    "                            refuse unless PID is in that cgroup, as a line of\n"
    "                            /proc/PID/cgroup says (CONTROLLER empty: cgroup v2);\n"
    "                            checked on what was opened, so a recycled PID fails\n"
    "  -c, --cgroup DIR          join this cgroup directory first (repeatable)\n"
    "  -u, --user NAME           the user, from the container's /etc/passwd\n"
    "      --uid UID, --gid GID  numeric ids (they override those of --user)\n"
    "  -e, --env NAME=VALUE      add to the environment (repeatable)\n"
    "  -r, --rlimit NAME=SOFT[:HARD]\n"
    "                            a resource limit (repeatable; NAME as in RLIMIT_NAME,\n"
    "                            values in setrlimit's units or 'unlimited'). Also read\n"
    "                            from RLIMIT_NAME=\"SOFT [HARD]\" in the environment;\n"
    "                            unset ones get the original wsh's defaults\n"
    "      --caps LIST           capabilities a uid 0 job keeps: default, all, none or\n"
    "                            names (chown,net_admin,...), combinable:\n"
    "                            default,net_admin (default: default). Other users\n"
    "                            keep none\n"
    "      --allow-new-privs     a uid 0 job without no_new_privs (others always have it)\n"
    "      --no-seccomp          no seccomp filter\n"
    "      --pdeathsig SIGNAL    signal number PROGRAM gets if warden-exec's waiting\n"
    "                            parent dies\n"
    "      --pid-file FILE       create FILE (a host path) and write warden-exec's pid\n"
    "                            to it once PROGRAM's process is in the container\n"
    "      --tty                 fd 0 is a terminal: PROGRAM leads a new session inside\n"
    "                            the container with it as its controlling terminal;\n"
    "                            signals to warden-exec go on to that session's group\n"
    "  -h, --help                this text\n";

enum { OPT_TARGET_CGROUP = 256, OPT_UID, OPT_GID, OPT_CAPS, OPT_NEW_PRIVS, OPT_NO_SECCOMP,
       OPT_PDEATHSIG, OPT_PID_FILE, OPT_TTY };

static const struct option options[] = {
    {"target", required_argument, NULL, 't'},
    {"target-cgroup", required_argument, NULL, OPT_TARGET_CGROUP},
    {"cgroup", required_argument, NULL, 'c'},
    {"user", required_argument, NULL, 'u'},
    {"uid", required_argument, NULL, OPT_UID},
    {"gid", required_argument, NULL, OPT_GID},
    {"env", required_argument, NULL, 'e'},
    {"rlimit", required_argument, NULL, 'r'},
    {"caps", required_argument, NULL, OPT_CAPS},
    {"allow-new-privs", no_argument, NULL, OPT_NEW_PRIVS},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"pdeathsig", required_argument, NULL, OPT_PDEATHSIG},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"tty", no_argument, NULL, OPT_TTY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Writable storage: execvp takes char *const[], and a string literal is const. */
static char default_shell[] = "/bin/bash";
static char *default_argv[] = {default_shell, NULL};

static void parse_args(struct config *config, int argc, char **argv)
{
    const char *rlimit_args[MAX_RLIMIT_ARGS];
    size_t n_rlimit_args = 0;

    memset(config, 0, sizeof *config);
    config->target = -1;
    config->uid = config->gid = -1;
    config->caps = CAPS_DEFAULT;
    config->seccomp = true;

    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, "+t:c:u:e:r:h", options, NULL)) != -1;) {
        switch (opt) {
        case 't':
            config->target = (pid_t)parse_ulong("--target", optarg, 0x3fffffff);
            break;
        case OPT_TARGET_CGROUP:
            config->target_cgroup = optarg;
            break;
        case 'c':
            if (config->n_cgroups == MAX_CGROUPS)
                failx("usage: more than %d --cgroup", MAX_CGROUPS);
            config->cgroups[config->n_cgroups++] = optarg;
            break;
        case 'u':
            config->user = optarg;
            break;
        case OPT_UID:
            config->uid = (long)parse_ulong("--uid", optarg, 0xfffffffe);
            break;
        case OPT_GID:
            config->gid = (long)parse_ulong("--gid", optarg, 0xfffffffe);
            break;
        case 'e':
            if (strchr(optarg, '=') == NULL || optarg[0] == '=')
                failx("usage: --env takes NAME=VALUE, got '%s'", optarg);
            if (config->n_env == MAX_ENV)
                failx("usage: more than %d --env", MAX_ENV);
            config->env[config->n_env++] = optarg;
            break;
        case 'r':
            if (n_rlimit_args == MAX_RLIMIT_ARGS)
                failx("usage: more than %d --rlimit", MAX_RLIMIT_ARGS);
            rlimit_args[n_rlimit_args++] = optarg;
            break;
        case OPT_CAPS:
            config->caps = caps_parse(optarg);
            break;
        case OPT_NEW_PRIVS:
            config->new_privs = true;
            break;
        case OPT_NO_SECCOMP:
            config->seccomp = false;
            break;
        case OPT_PDEATHSIG:
            config->pdeathsig = (int)parse_ulong("--pdeathsig", optarg, 64);
            break;
        case OPT_PID_FILE:
            config->pid_file = optarg;
            break;
        case OPT_TTY:
            config->tty = true;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            failx("usage: unknown option or missing value: '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (config->target < 1)
        failx("usage: --target PID is required (see --help)");
    if (config->user == NULL && config->uid < 0)
        failx("usage: --user NAME or --uid UID is required (see --help)");
    config->argv = optind < argc ? argv + optind : default_argv;

    /* Everything read from our own environment, before it is cleared. */
    const char *lang = getenv("LANG");
    config->lang = lang ? strdup(lang) : NULL;
    rlimits_defaults(&config->rlimits);
    rlimits_from_env(&config->rlimits);
    for (size_t i = 0; i < n_rlimit_args; i++)
        rlimits_from_arg(&config->rlimits, rlimit_args[i]);
}

/* 0, 1 and 2 are the job's (opened on /dev/null when missing, so that no
 * file we open later takes their place); nothing else we inherited from
 * the host may cross into the container. */
static void fds_sanitize(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
            open("/dev/null", O_RDWR) != fd)
            fail("open(/dev/null as fd %d)", fd);
    }
    if (close_range(3, ~0U, 0) != 0)
        fail("close_range(3, ...)");
}

/* The OOM killer judges the job like any other process (0), whatever the
 * caller was given: a server protected with -1000 would otherwise make
 * every job unkillable, and a cgroup at its memory limit would have nothing
 * it may kill. Written through the host's /proc, before the fork, so the
 * waiting parent and the job both get it. Raising a value is always
 * allowed; lowering one below what a privileged writer set takes
 * CAP_SYS_RESOURCE, and without it (EACCES) the job simply stays easier to
 * kill than 0, which is no danger. */
static void oom_score_adj_reset(void)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open(/proc/self/oom_score_adj)");
    if (write(fd, "0", 1) != 1 && errno != EACCES)
        fail("write(/proc/self/oom_score_adj)");
    close(fd);
}

/* --pid-file: opened now, on the host (O_NOFOLLOW: not through a planted
 * link), and written by the waiting parent once the child is in the
 * container's cgroups and pid namespace (fork_into_pid_ns). Whoever waits
 * for the pid (the server) thereby knows that a signal to the container's
 * processes from then on reaches the job. A file that is there is emptied
 * now; one that is not is created by the parent after the fork, while the
 * child goes on (an inode allocation takes up to half a millisecond on a
 * busy file system), from its directory opened now. */
static struct pid_file pid_file_open(const char *path)
{
    struct pid_file file = {-1, -1, NULL, path};
    if (path == NULL)
        return file;
    file.fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (file.fd >= 0)
        return file;
    if (errno != ENOENT)
        fail("open(--pid-file %s)", path);
    const char *slash = strrchr(path, '/');
    file.name = slash ? slash + 1 : path;
    if (*file.name == '\0')
        failx("open(--pid-file %s): not a file name", path);
    if (slash == NULL) {
        file.dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    } else {
        char dir[4096];
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof dir)
            failx("open(--pid-file %s): too long", path);
        memcpy(dir, path, len);
        dir[len] = '\0';
        file.dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (file.dir < 0)
        fail("open(--pid-file %s)", path);
    return file;
}

/* Create the --pid-file that pid_file_open found absent, now. */
static void pid_file_create_now(struct pid_file *file)
{
    file->fd = openat(file->dir, file->name,
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
    if (file->fd < 0)
        fail("open(--pid-file %s)", file->path);
    close(file->dir);
    file->dir = -1;
}

/* The program starts with default signal dispositions, nothing blocked,
 * the plain Linux personality (address space randomisation on) and umask
 * 022, whatever the host-side caller had (and whatever we blocked before
 * the fork). */
static void inherited_state_reset(void)
{
    umask(022);
    if (personality(PER_LINUX) < 0)
        fail("personality(PER_LINUX)");
    /* The raw system call: glibc's sigaction() refuses its own real-time
     * signals (32 and 33), and an ignored disposition for them survives
     * execve just like any other, e.g. from a caller that used posix_spawn. */
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } dfl = { SIG_DFL, 0, NULL, 0 };
    for (int sig = 1; sig < NSIG; sig++)
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask); /* KILL, STOP fail harmlessly */
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        fail("sigprocmask");
}

int main(int argc, char **argv)
{
    struct config config;
    struct user user;

    parse_args(&config, argc, argv);
    fds_sanitize();
    /* Non-dumpable until execve: a container process cannot open
     * /proc/<us>/exe (this host binary) or ptrace us (CVE-2019-5736). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        fail("prctl(PR_SET_DUMPABLE)");

    /* On the host. */
    oom_score_adj_reset();
    struct pid_file pid_file = pid_file_open(config.pid_file);
    struct target *target = target_open(config.target, config.target_cgroup);
    if (pid_file.dir >= 0 && target_has_own_user_ns(target))
        pid_file_create_now(&pid_file); /* as its own root, it may not make it later */
    cgroups_join(config.cgroups, config.n_cgroups);
    ns_enter(target);
    fork_into_pid_ns(config.pdeathsig != 0, &pid_file, config.tty);
    /* In the container's pid namespace: its own session, whose terminal is
     * fd 0 (a slave of the container's devpts), so a shell gets job control. */
    if (config.tty && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) != 0))
        fail("setsid/TIOCSCTTY(--tty)");

    /* In the container, still root with every capability. */
    root_enter(target);
    user_resolve(&user, &config);
    uint64_t keep = user.uid == 0 ? config.caps & caps_supported() : 0;
    rlimits_apply(&config.rlimits);
    env_build(&user, &config);
    caps_bound(keep);
    caps_clear_ambient();

    /* From here on, the job's user. */
    user_switch(&user);
    home_enter(&user);
    if (config.pdeathsig != 0)
        pdeathsig_set(config.pdeathsig);
    inherited_state_reset();
    if (close_range(3, ~0U, 0) != 0)
        fail("close_range(3, ...)");
    if ((user.uid != 0 || !config.new_privs) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail("prctl(PR_SET_NO_NEW_PRIVS)");
    /* Before caps_set: without no_new_privs, installing a filter takes the
     * CAP_SYS_ADMIN that a root job still holds here. */
    if (config.seccomp)
        seccomp_install(keep);
    caps_set(keep);
    execvp(config.argv[0], config.argv);
    fail("execvp(%s)", config.argv[0]);
}
