/* The job's user, from the container's own /etc/passwd (parsed here: NSS
 * would load the container's libraries into a process that is still host
 * root), its environment (exactly what the original's wshd gave), and the
 * switch to it. */
#include "warden-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWD_MAX_SIZE (16 << 20)

/* Fill `user` from the first passwd line matching `name` (or, with name
 * NULL, `uid`); false when none does or there is no /etc/passwd and none is
 * required. The file belongs to the container: it may be anything. */
static bool passwd_find(struct user *user, const char *name, long uid)
{
    int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (name == NULL && errno == ENOENT)
            return false;
        fail("user(%s): open /etc/passwd in the container", name ? name : "uid");
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        fail("user: fstat /etc/passwd");
    if (!S_ISREG(st.st_mode) || st.st_size > PASSWD_MAX_SIZE)
        failx("user: the container's /etc/passwd is not a regular file of sane size");
    FILE *file = fdopen(fd, "r");
    if (file == NULL)
        fail("user: fdopen /etc/passwd");

    bool found = false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (!found && (len = getline(&line, &cap, file)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        char *field[7];
        char *rest = line;
        int n = 0;
        while (n < 7 && (field[n] = strsep(&rest, ":")) != NULL)
            n++;
        if (n < 7)
            continue;
        char *end;
        errno = 0;
        unsigned long line_uid = strtoul(field[2], &end, 10);
        if (errno || *end || end == field[2] || line_uid >= (uid_t)-1)
            continue;
        unsigned long line_gid = strtoul(field[3], &end, 10);
        if (errno || *end || end == field[3] || line_gid >= (gid_t)-1)
            continue;
        if (name != NULL ? strcmp(field[0], name) != 0 : (long)line_uid != uid)
            continue;
        if (strlen(field[0]) >= sizeof user->name || strlen(field[5]) >= sizeof user->home)
            continue;
        user->uid = (uid_t)line_uid;
        user->gid = (gid_t)line_gid;
        strcpy(user->name, field[0]);
        strcpy(user->home, field[5][0] ? field[5] : "/");
        found = true;
    }
    free(line);
    fclose(file);
    return found;
}

void user_resolve(struct user *user, const struct config *config)
{
    if (config->user != NULL) {
        if (!passwd_find(user, config->user, -1))
            failx("user(%s): no such user in the container's /etc/passwd", config->user);
    } else if (!passwd_find(user, NULL, config->uid)) {
        /* A uid the container does not name: numeric, at home in /. */
        user->uid = (uid_t)config->uid;
        user->gid = (gid_t)config->uid;
        snprintf(user->name, sizeof user->name, "%ld", config->uid);
        strcpy(user->home, "/");
    }
    if (config->uid >= 0)
        user->uid = (uid_t)config->uid;
    if (config->gid >= 0)
        user->gid = (gid_t)config->gid;
}

/* HOME, USER, PATH and LANG (when we were given one), as wshd set them,
 * then every --env in order (a later one replaces an earlier one). */
void env_build(const struct user *user, const struct config *config)
{
    if (clearenv() != 0)
        failx("env: clearenv failed");
    const char *path = user->uid == 0 ? "/sbin:/bin:/usr/sbin:/usr/bin" : "/bin:/usr/bin";
    if (setenv("HOME", user->home, 1) || setenv("USER", user->name, 1) ||
        setenv("PATH", path, 1) || (config->lang && setenv("LANG", config->lang, 1)))
        fail("env: setenv");
    for (size_t i = 0; i < config->n_env; i++) {
        if (putenv(config->env[i]) != 0)
            fail("env: putenv(%s)", config->env[i]);
    }
}

/* No supplementary groups, then the gid, then the uid (all three of each,
 * so nothing to switch back to). Leaving uid 0 clears the permitted and
 * effective capabilities. */
void user_switch(const struct user *user)
{
    if (setgroups(0, NULL) != 0)
        fail("setgroups(none)");
    if (setresgid(user->gid, user->gid, user->gid) != 0)
        fail("setgid(%u)", (unsigned)user->gid);
    if (setresuid(user->uid, user->uid, user->uid) != 0)
        fail("setuid(%u)", (unsigned)user->uid);
}

/* As the user, so that a home it may not enter is not entered: then /. */
void home_enter(const struct user *user)
{
    if (chdir(user->home) != 0 && chdir("/") != 0)
        fail("chdir(/)");
}
