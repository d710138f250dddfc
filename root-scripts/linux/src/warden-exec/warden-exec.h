/* warden-exec: start one program inside a running warden container.
 * The steps, in the order main() runs them, are described in README.md.
 * Every step either succeeds or ends the process with status 255 and one
 * line on stderr: "warden-exec: <step>(<what>): <reason>". */
#ifndef WARDEN_EXEC_H
#define WARDEN_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define WARDEN_EXEC_FAILED 255 /* the original's status for helper failures */
#define MAX_CGROUPS 32
#define MAX_ENV 256
#define MAX_RLIMIT_ARGS 64

/* errors.c: report a failed step and exit 255 */
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void failx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned long parse_ulong(const char *what, const char *text, unsigned long max);

/* rlimits.c: the original wsh's 15 limits with its defaults, plus RTTIME */
#define RLIMIT_COUNT 16
struct rlimits {
    bool set[RLIMIT_COUNT];
    struct rlimit value[RLIMIT_COUNT];
};
void rlimits_defaults(struct rlimits *limits);
void rlimits_from_env(struct rlimits *limits);
void rlimits_from_arg(struct rlimits *limits, const char *arg);
void rlimits_apply(const struct rlimits *limits);

/* caps.c: capability sets as bit masks (bit N = capability N) */
#define CAPS_ALL (~(uint64_t)0)
uint64_t caps_parse(const char *list);
uint64_t caps_supported(void);
void caps_bound(uint64_t keep);
void caps_clear_ambient(void);
void caps_set(uint64_t keep);
const char *cap_name(int cap);
extern const uint64_t CAPS_DEFAULT;

/* seccomp.c */
void seccomp_install(uint64_t kept_caps);

/* The whole request, parsed from the command line before anything runs. */
struct config {
    pid_t target;
    const char *target_cgroup;
    const char *cgroups[MAX_CGROUPS];
    size_t n_cgroups;
    const char *user;
    long uid, gid; /* -1 when not given */
    char *env[MAX_ENV]; /* NAME=VALUE from argv; putenv keeps these very strings */
    size_t n_env;
    const char *lang; /* LANG of our own environment, NULL when unset */
    struct rlimits rlimits;
    uint64_t caps; /* kept by a uid 0 job */
    bool new_privs; /* a uid 0 job may gain privileges through execve */
    bool seccomp;
    int pdeathsig;
    const char *pid_file; /* NULL: none */
    bool tty;             /* fd 0 is a terminal: the job leads a session with it */
    char **argv;
};

/* --pid-file, opened on the host before entering (main.c): fd when the file
 * was there (emptied), else dir (its directory) and name, for the parent to
 * create it after the fork; all -1/NULL without --pid-file. */
struct pid_file {
    int fd;
    int dir;
    const char *name;
    const char *path;
};

/* ns.c: the host side, then the way into the container */
struct target;
struct target *target_open(pid_t pid, const char *expect_cgroup);
void cgroups_join(const char *const *dirs, size_t n);
void ns_enter(struct target *target);
bool target_has_own_user_ns(const struct target *target);
void fork_into_pid_ns(bool keep_parent_fd, struct pid_file *pid_file, bool forward_signals);
void root_enter(struct target *target);
void pdeathsig_set(int sig);

/* user.c: who the program runs as, and its environment */
struct user {
    uid_t uid;
    gid_t gid;
    char name[256];
    char home[4096];
};
void user_resolve(struct user *user, const struct config *config);
void env_build(const struct user *user, const struct config *config);
void user_switch(const struct user *user);
void home_enter(const struct user *user);

#endif
