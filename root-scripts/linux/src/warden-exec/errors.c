/* Reporting a failed step: one line, the step and the syscall first (as
 * nsjail and bubblewrap do), then exit 255. Never returns. */
#include "warden-exec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void report(int err, const char *fmt, va_list args)
{
    /* One write, so that lines from concurrent jobs never interleave. */
    char line[1024];
    int n = snprintf(line, sizeof line, "warden-exec: ");
    n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, args);
    if (n < (int)sizeof line && err != 0)
        n += snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
    _exit(WARDEN_EXEC_FAILED);
}

void fail(const char *fmt, ...)
{
    int err = errno;
    va_list args;
    va_start(args, fmt);
    report(err, fmt, args);
}

void failx(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    report(0, fmt, args);
}

/* A decimal number in [0, max], or a failure naming `what`. */
unsigned long parse_ulong(const char *what, const char *text, unsigned long max)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        failx("%s: not a number: '%s'", what, text);
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > max)
        failx("%s: not a number up to %lu: '%s'", what, max, text);
    return value;
}
