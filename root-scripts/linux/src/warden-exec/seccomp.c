/* The seccomp filter: a deny list modelled on Docker's default profile,
 * written as classic BPF by hand (no libseccomp: one table, one loop).
 *
 * A syscall in the table fails with EPERM unless the job keeps the
 * capability named beside it (as Docker does: whoever is given CAP_SYS_TIME
 * may set the clock). Everything else is allowed. A deny list is only sound
 * for one syscall ABI, so any other ABI (i386 through int 0x80, x32) kills
 * the process. README.md gives the reason for every entry. */
#include "warden-exec.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "warden-exec's seccomp filter knows x86_64 and aarch64 only"
#endif
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "argument checks below read the low 32 bits of a 64-bit argument at its offset"
#endif

#define ALWAYS (-1)

enum action {
    DENY,             /* EPERM */
    NOSYS,            /* ENOSYS: clone3, whose flags a filter cannot read; libc falls back to clone */
    DENY_NS_FLAGS,    /* EPERM when argument 0 asks for a new namespace */
    DENY_PERSONALITY, /* EPERM unless argument 0 is one of Docker's harmless values */
    DENY_FAMILIES,    /* EAFNOSUPPORT when argument 0 is a socket family outside the netns */
    DENY_IOCTLS,      /* EPERM when argument 1 is an ioctl that sets a file's project */
};

static const struct rule {
    int nr;
    int unless_cap;
    enum action action;
} rules[] = {
    /* the kernel itself: modules, kexec, reboot, raw I/O */
    {SYS_init_module, CAP_SYS_MODULE, DENY},
    {SYS_finit_module, CAP_SYS_MODULE, DENY},
    {SYS_delete_module, CAP_SYS_MODULE, DENY},
    {SYS_kexec_load, CAP_SYS_BOOT, DENY},
    {SYS_kexec_file_load, CAP_SYS_BOOT, DENY},
    {SYS_reboot, CAP_SYS_BOOT, DENY},
#ifdef SYS_iopl
    {SYS_iopl, CAP_SYS_RAWIO, DENY},
    {SYS_ioperm, CAP_SYS_RAWIO, DENY},
#endif
    /* the host's clock */
    {SYS_settimeofday, CAP_SYS_TIME, DENY},
    {SYS_clock_settime, CAP_SYS_TIME, DENY},
    {SYS_clock_adjtime, CAP_SYS_TIME, DENY},
    {SYS_adjtimex, CAP_SYS_TIME, DENY},
    /* mounts, swap, quotas, process accounting */
    {SYS_mount, CAP_SYS_ADMIN, DENY},
    {SYS_umount2, CAP_SYS_ADMIN, DENY},
    {SYS_pivot_root, CAP_SYS_ADMIN, DENY},
    {SYS_fsopen, CAP_SYS_ADMIN, DENY},
    {SYS_fsconfig, CAP_SYS_ADMIN, DENY},
    {SYS_fsmount, CAP_SYS_ADMIN, DENY},
    {SYS_fspick, CAP_SYS_ADMIN, DENY},
    {SYS_move_mount, CAP_SYS_ADMIN, DENY},
    {SYS_open_tree, CAP_SYS_ADMIN, DENY},
#ifdef SYS_mount_setattr
    {SYS_mount_setattr, CAP_SYS_ADMIN, DENY},
#endif
    {SYS_swapon, CAP_SYS_ADMIN, DENY},
    {SYS_swapoff, CAP_SYS_ADMIN, DENY},
    {SYS_quotactl, CAP_SYS_ADMIN, DENY},
#ifdef SYS_quotactl_fd
    {SYS_quotactl_fd, CAP_SYS_ADMIN, DENY},
#endif
    /* a file's project: a project quota limits its tree (below) */
    {SYS_ioctl, CAP_SYS_RESOURCE, DENY_IOCTLS},
    {SYS_acct, CAP_SYS_PACCT, DENY},
    /* namespaces: no new ones, no joining others */
    {SYS_unshare, CAP_SYS_ADMIN, DENY_NS_FLAGS},
    {SYS_clone, CAP_SYS_ADMIN, DENY_NS_FLAGS},
    {SYS_clone3, CAP_SYS_ADMIN, NOSYS},
    {SYS_setns, CAP_SYS_ADMIN, DENY},
    /* kernel interfaces with a history of escapes or leaks */
    {SYS_open_by_handle_at, CAP_DAC_READ_SEARCH, DENY},
    {SYS_name_to_handle_at, CAP_DAC_READ_SEARCH, DENY},
    {SYS_bpf, CAP_SYS_ADMIN, DENY},
    {SYS_perf_event_open, CAP_SYS_ADMIN, DENY},
    {SYS_fanotify_init, CAP_SYS_ADMIN, DENY},
    {SYS_lookup_dcookie, CAP_SYS_ADMIN, DENY},
    {SYS_userfaultfd, CAP_SYS_PTRACE, DENY},
    {SYS_kcmp, CAP_SYS_PTRACE, DENY},
    {SYS_syslog, CAP_SYSLOG, DENY},
    {SYS_vhangup, CAP_SYS_TTY_CONFIG, DENY},
    {SYS_keyctl, ALWAYS, DENY},
    {SYS_add_key, ALWAYS, DENY},
    {SYS_request_key, ALWAYS, DENY},
    {SYS_io_uring_setup, ALWAYS, DENY},
    {SYS_io_uring_enter, ALWAYS, DENY},
    {SYS_io_uring_register, ALWAYS, DENY},
    {SYS_personality, ALWAYS, DENY_PERSONALITY},
    /* socket families that ignore the network namespace (below) */
    {SYS_socket, ALWAYS, DENY_FAMILIES},
    {SYS_socketpair, ALWAYS, DENY_FAMILIES},
    /* obsolete */
    {SYS_nfsservctl, ALWAYS, DENY},
#ifdef SYS_uselib
    {SYS_uselib, ALWAYS, DENY},
    {SYS_ustat, ALWAYS, DENY},
    {SYS_sysfs, ALWAYS, DENY},
    {SYS__sysctl, ALWAYS, DENY},
    {SYS_create_module, ALWAYS, DENY},
    {SYS_get_kernel_syms, ALWAYS, DENY},
    {SYS_query_module, ALWAYS, DENY},
#endif
};

#define NEW_NAMESPACES                                                                     \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |           \
     CLONE_NEWPID | CLONE_NEWNET | 0x80 /* CLONE_NEWTIME (unshare only) */)

/* Docker's list: plain Linux, its 32-bit variant, UNAME26 and the query. */
static const uint32_t harmless_personalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
#define N_PERSONALITIES (sizeof harmless_personalities / sizeof harmless_personalities[0])

/* Socket families whose sockets are not confined to the caller's network
 * namespace, so the veth and its firewall never see their traffic. vsock
 * reaches the hypervisor (and, with vhost-vsock, other guests) through a
 * port space shared by the whole host; Qualcomm's IPC router has one
 * host-wide node too. Docker and Podman deny vsock for the same reason.
 * Families the kernel itself refuses outside the initial namespace
 * (Bluetooth, NFC, AX.25, X.25 ...) need no entry. The error is the one a
 * kernel without the family gives, which programs already handle. Numbers,
 * not AF_ names: older libc headers lack them. */
static const uint32_t unconfined_families[] = {40 /* AF_VSOCK */, 42 /* AF_QIPCRTR */};
#define N_FAMILIES (sizeof unconfined_families / sizeof unconfined_families[0])

/* Where disk limits are an ext4 project quota, the container's files belong
 * to a project whose id new files inherit from their directory; in the
 * initial user namespace a file's owner may change its project id
 * (FS_IOC_FSSETXATTR) or a directory's inherit flag (FS_IOC_SETFLAGS, too),
 * and so write outside the limit. Whoever keeps CAP_SYS_RESOURCE may exceed
 * quotas anyway. The ioctl's request is an unsigned int: its low 32 bits. */
static const uint32_t project_ioctls[] = {FS_IOC_FSSETXATTR, FS_IOC_SETFLAGS};
#define N_IOCTLS (sizeof project_ioctls / sizeof project_ioctls[0])

#define LOAD(field) (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(value) (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (value))
#define JUMP(op, k, t, f) (struct sock_filter)BPF_JUMP(BPF_JMP | (op) | BPF_K, (k), (t), (f))
#define ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

struct program {
    struct sock_filter insn[512];
    unsigned short len;
};

static void emit(struct program *p, struct sock_filter insn)
{
    if (p->len == sizeof p->insn / sizeof p->insn[0])
        failx("seccomp: filter too long");
    p->insn[p->len++] = insn;
}

/* The instructions that run once argument checks or the syscall number
 * matched; each ends in a return. */
static void emit_body(struct program *p, enum action action)
{
    switch (action) {
    case DENY:
        emit(p, RET(ERRNO(EPERM)));
        break;
    case NOSYS:
        emit(p, RET(ERRNO(ENOSYS)));
        break;
    case DENY_NS_FLAGS:
        emit(p, LOAD(args[0]));
        emit(p, JUMP(BPF_JSET, NEW_NAMESPACES, 0, 1));
        emit(p, RET(ERRNO(EPERM)));
        emit(p, RET(SECCOMP_RET_ALLOW));
        break;
    case DENY_PERSONALITY:
        emit(p, LOAD(args[0]));
        for (unsigned i = 0; i < N_PERSONALITIES; i++)
            emit(p, JUMP(BPF_JEQ, harmless_personalities[i], (__u8)(N_PERSONALITIES - i), 0));
        emit(p, RET(ERRNO(EPERM)));
        emit(p, RET(SECCOMP_RET_ALLOW));
        break;
    case DENY_FAMILIES:
        emit(p, LOAD(args[0]));
        for (unsigned i = 0; i < N_FAMILIES; i++)
            emit(p, JUMP(BPF_JEQ, unconfined_families[i], (unsigned char)(N_FAMILIES - i), 0));
        emit(p, RET(SECCOMP_RET_ALLOW));
        emit(p, RET(ERRNO(EAFNOSUPPORT)));
        break;
    case DENY_IOCTLS:
        emit(p, LOAD(args[1]));
        for (unsigned i = 0; i < N_IOCTLS; i++)
            emit(p, JUMP(BPF_JEQ, project_ioctls[i], (unsigned char)(N_IOCTLS - i), 0));
        emit(p, RET(SECCOMP_RET_ALLOW));
        emit(p, RET(ERRNO(EPERM)));
        break;
    }
}

static unsigned char body_len(enum action action)
{
    switch (action) {
    case DENY_NS_FLAGS:
        return 4;
    case DENY_PERSONALITY:
        return (unsigned char)(N_PERSONALITIES + 3);
    case DENY_FAMILIES:
        return (unsigned char)(N_FAMILIES + 3);
    case DENY_IOCTLS:
        return (unsigned char)(N_IOCTLS + 3);
    default:
        return 1;
    }
}

void seccomp_install(uint64_t kept_caps)
{
    static struct program p;
    p.len = 0;

    emit(&p, LOAD(arch));
    emit(&p, JUMP(BPF_JEQ, NATIVE_ARCH, 1, 0));
    emit(&p, RET(SECCOMP_RET_KILL_PROCESS));
    emit(&p, LOAD(nr));
#ifdef __x86_64__
    /* x32 numbers are the x86_64 ones with bit 30 set; -1 is no syscall at all */
    emit(&p, JUMP(BPF_JGE, 0x40000000, 0, 2));
    emit(&p, JUMP(BPF_JEQ, 0xffffffff, 1, 0));
    emit(&p, RET(SECCOMP_RET_KILL_PROCESS));
#endif
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        if (r->unless_cap != ALWAYS && (kept_caps >> r->unless_cap) & 1)
            continue;
        emit(&p, JUMP(BPF_JEQ, (uint32_t)r->nr, 0, body_len(r->action)));
        emit_body(&p, r->action);
    }
    emit(&p, RET(SECCOMP_RET_ALLOW));

    struct sock_fprog prog = {.len = p.len, .filter = p.insn};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
        fail("seccomp(filter of %u instructions)", (unsigned)p.len);
}
