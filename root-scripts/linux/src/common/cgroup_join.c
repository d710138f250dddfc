/* See cgroup_join.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "cgroup_join.h"

/* DIR/NAME opened for writing; -1 with errno set (ENAMETOOLONG too). */
static int open_in(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	if (n < 0 || n >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_WRONLY | O_CLOEXEC);
}

enum cgroup_join_step cgroup_join_self(const char *dir, const char **file)
{
	*file = "tasks";
	int fd = open_in(dir, *file);
	if (fd < 0 && errno == ENOENT) {
		*file = "cgroup.procs";
		fd = open_in(dir, *file);
		if (fd < 0 && errno == ENOENT)
			return CGROUP_JOIN_NOT_A_CGROUP;
	}
	if (fd < 0)
		return CGROUP_JOIN_OPEN;
	if (write(fd, "0", 1) != 1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return CGROUP_JOIN_WRITE;
	}
	close(fd);
	return CGROUP_JOIN_DONE;
}
