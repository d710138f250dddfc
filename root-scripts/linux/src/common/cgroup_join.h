/*
 * The calling thread into a cgroup directory, as warden-exec (a job) and
 * warden-start (a container's first process) join theirs. Compiled into both.
 */
#ifndef WARDEN_CGROUP_JOIN_H
#define WARDEN_CGROUP_JOIN_H

/* What cgroup_join_self did not get past. */
enum cgroup_join_step {
	CGROUP_JOIN_DONE,
	CGROUP_JOIN_NOT_A_CGROUP, /* neither tasks nor cgroup.procs there */
	CGROUP_JOIN_OPEN,
	CGROUP_JOIN_WRITE,
};

/* Writes "0" (the writer, whatever its pid namespace) into DIR's v1 `tasks`
 * file, or into v2's `cgroup.procs` where there is none. A single-threaded
 * process moving itself through `tasks` does not take the kernel's global
 * threadgroup lock, whose writers wait for an RCU grace period (a move
 * through `cgroup.procs`, or of another process, does). Returns
 * CGROUP_JOIN_DONE, or the step that failed with errno set; *FILE names the
 * file tried last. */
enum cgroup_join_step cgroup_join_self(const char *dir, const char **file);

#endif
