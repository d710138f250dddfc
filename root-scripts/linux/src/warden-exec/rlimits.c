/* Resource limits: the original wsh's defaults, then RLIMIT_<NAME> from the
 * environment ("SOFT [HARD]", as wsh read them), then --rlimit arguments.
 * They are set while we are still root, so a hard limit may be raised. */
#include "warden-exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INF RLIM_INFINITY

static const struct {
    const char *name;
    int resource;
    bool has_default;
    rlim_t value; /* soft and hard */
} table[RLIMIT_COUNT] = {
    {"AS", RLIMIT_AS, true, INF},
    {"CORE", RLIMIT_CORE, true, 0},
    {"CPU", RLIMIT_CPU, true, INF},
    {"DATA", RLIMIT_DATA, true, INF},
    {"FSIZE", RLIMIT_FSIZE, true, INF},
    {"LOCKS", RLIMIT_LOCKS, true, INF},
    {"MEMLOCK", RLIMIT_MEMLOCK, true, 65536},
    {"MSGQUEUE", RLIMIT_MSGQUEUE, true, 819200},
    {"NICE", RLIMIT_NICE, true, 0},
    {"NOFILE", RLIMIT_NOFILE, true, 1024},
    {"NPROC", RLIMIT_NPROC, true, 1024},
    {"RSS", RLIMIT_RSS, true, INF},
    {"RTPRIO", RLIMIT_RTPRIO, true, 0},
    {"RTTIME", RLIMIT_RTTIME, false, INF}, /* not in the original: inherited unless given */
    {"SIGPENDING", RLIMIT_SIGPENDING, true, 1024},
    {"STACK", RLIMIT_STACK, true, 8192 * 1024},
};

void rlimits_defaults(struct rlimits *limits)
{
    for (size_t i = 0; i < RLIMIT_COUNT; i++) {
        limits->set[i] = table[i].has_default;
        limits->value[i].rlim_cur = table[i].value;
        limits->value[i].rlim_max = table[i].value;
    }
}

/* One value: a decimal number, "unlimited" or "infinity". */
static bool parse_value(const char **text, rlim_t *value)
{
    const char *s = *text;
    if (strncmp(s, "unlimited", 9) == 0 || strncmp(s, "infinity", 8) == 0) {
        *value = INF;
        *text = s + (s[0] == 'u' ? 9 : 8);
        return true;
    }
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    *value = (rlim_t)n;
    *text = end;
    return true;
}

/* "SOFT", "SOFT HARD" or "SOFT:HARD"; one value sets both. */
static void parse_pair(const char *what, const char *text, struct rlimit *limit)
{
    const char *s = text;
    while (*s == ' ')
        s++;
    if (!parse_value(&s, &limit->rlim_cur))
        failx("rlimit(%s): not a limit (a number or 'unlimited'): '%s'", what, text);
    limit->rlim_max = limit->rlim_cur;
    if (*s == ' ' || *s == ':') {
        while (*s == ' ' || *s == ':')
            s++;
        if (*s != '\0' && !parse_value(&s, &limit->rlim_max))
            failx("rlimit(%s): not a limit (a number or 'unlimited'): '%s'", what, text);
    }
    while (*s == ' ')
        s++;
    if (*s != '\0')
        failx("rlimit(%s): not a limit (SOFT [HARD]): '%s'", what, text);
}

void rlimits_from_env(struct rlimits *limits)
{
    char var[32];
    for (size_t i = 0; i < RLIMIT_COUNT; i++) {
        snprintf(var, sizeof var, "RLIMIT_%s", table[i].name);
        const char *value = getenv(var);
        if (value == NULL)
            continue;
        parse_pair(var, value, &limits->value[i]);
        limits->set[i] = true;
    }
}

/* --rlimit NAME=SOFT[:HARD], NAME in any case, with or without RLIMIT_. */
void rlimits_from_arg(struct rlimits *limits, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL)
        failx("rlimit(%s): expected NAME=SOFT[:HARD]", arg);
    const char *name = arg;
    size_t len = (size_t)(eq - arg);
    if (len > 7 && strncasecmp(name, "RLIMIT_", 7) == 0) {
        name += 7;
        len -= 7;
    }
    for (size_t i = 0; i < RLIMIT_COUNT; i++) {
        if (strlen(table[i].name) == len && strncasecmp(table[i].name, name, len) == 0) {
            parse_pair(table[i].name, eq + 1, &limits->value[i]);
            limits->set[i] = true;
            return;
        }
    }
    failx("rlimit(%s): unknown resource", arg);
}

void rlimits_apply(const struct rlimits *limits)
{
    for (size_t i = 0; i < RLIMIT_COUNT; i++) {
        if (limits->set[i] && setrlimit(table[i].resource, &limits->value[i]) != 0)
            fail("setrlimit(%s)", table[i].name);
    }
}
