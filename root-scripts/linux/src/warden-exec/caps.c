/* Capabilities. A uid 0 job keeps a bounded set (CAPS_DEFAULT unless
 * --caps says otherwise); every other job keeps none. The bounding set is
 * what limits a root job for good: execve as root grants exactly it. */
#include "warden-exec.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIT(cap) ((uint64_t)1 << (cap))

/* Podman's default set, which is Docker's without CAP_MKNOD (block devices),
 * CAP_NET_RAW (raw sockets, spoofing on the veth) and CAP_AUDIT_WRITE: what
 * root needs to administer files, users and processes inside its container,
 * and nothing that reaches the kernel or the host. README.md has the list. */
const uint64_t CAPS_DEFAULT = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) |
                              BIT(CAP_FSETID) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) |
                              BIT(CAP_SETFCAP) | BIT(CAP_SETGID) | BIT(CAP_SETPCAP) |
                              BIT(CAP_SETUID) | BIT(CAP_SYS_CHROOT);

static const char *const names[64] = {
    [CAP_CHOWN] = "chown",
    [CAP_DAC_OVERRIDE] = "dac_override",
    [CAP_DAC_READ_SEARCH] = "dac_read_search",
    [CAP_FOWNER] = "fowner",
    [CAP_FSETID] = "fsetid",
    [CAP_KILL] = "kill",
    [CAP_SETGID] = "setgid",
    [CAP_SETUID] = "setuid",
    [CAP_SETPCAP] = "setpcap",
    [CAP_LINUX_IMMUTABLE] = "linux_immutable",
    [CAP_NET_BIND_SERVICE] = "net_bind_service",
    [CAP_NET_BROADCAST] = "net_broadcast",
    [CAP_NET_ADMIN] = "net_admin",
    [CAP_NET_RAW] = "net_raw",
    [CAP_IPC_LOCK] = "ipc_lock",
    [CAP_IPC_OWNER] = "ipc_owner",
    [CAP_SYS_MODULE] = "sys_module",
    [CAP_SYS_RAWIO] = "sys_rawio",
    [CAP_SYS_CHROOT] = "sys_chroot",
    [CAP_SYS_PTRACE] = "sys_ptrace",
    [CAP_SYS_PACCT] = "sys_pacct",
    [CAP_SYS_ADMIN] = "sys_admin",
    [CAP_SYS_BOOT] = "sys_boot",
    [CAP_SYS_NICE] = "sys_nice",
    [CAP_SYS_RESOURCE] = "sys_resource",
    [CAP_SYS_TIME] = "sys_time",
    [CAP_SYS_TTY_CONFIG] = "sys_tty_config",
    [CAP_MKNOD] = "mknod",
    [CAP_LEASE] = "lease",
    [CAP_AUDIT_WRITE] = "audit_write",
    [CAP_AUDIT_CONTROL] = "audit_control",
    [CAP_SETFCAP] = "setfcap",
    [CAP_MAC_OVERRIDE] = "mac_override",
    [CAP_MAC_ADMIN] = "mac_admin",
    [CAP_SYSLOG] = "syslog",
    [CAP_WAKE_ALARM] = "wake_alarm",
    [CAP_BLOCK_SUSPEND] = "block_suspend",
    [CAP_AUDIT_READ] = "audit_read",
    [38] = "perfmon",
    [39] = "bpf",
    [40] = "checkpoint_restore",
};

const char *cap_name(int cap)
{
    return cap >= 0 && cap < 64 && names[cap] != NULL ? names[cap] : "?";
}

/* The capabilities this kernel knows (headers may be older or newer). */
uint64_t caps_supported(void)
{
    uint64_t mask = 0;
    for (int cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) < 0)
            break; /* EINVAL past the last one */
        mask |= BIT(cap);
    }
    return mask;
}

/* "default", "all", "none" or capability names (with or without cap_, any
 * case), comma-separated and combinable: "default,net_admin". */
uint64_t caps_parse(const char *list)
{
    uint64_t mask = 0;
    char buf[1024];
    if (strlen(list) >= sizeof buf)
        failx("caps: list too long");
    strcpy(buf, list);
    char *rest = buf;
    for (char *item; (item = strsep(&rest, ",")) != NULL;) {
        if (strncasecmp(item, "cap_", 4) == 0)
            item += 4;
        if (strcasecmp(item, "default") == 0) {
            mask |= CAPS_DEFAULT;
            continue;
        }
        if (strcasecmp(item, "all") == 0) {
            mask = CAPS_ALL;
            continue;
        }
        if (strcasecmp(item, "none") == 0 || item[0] == '\0')
            continue;
        int cap = 0;
        while (cap < 64 && (names[cap] == NULL || strcasecmp(names[cap], item) != 0))
            cap++;
        if (cap == 64)
            failx("caps: unknown capability '%s'", item);
        mask |= BIT(cap);
    }
    return mask;
}

void caps_bound(uint64_t keep)
{
    uint64_t supported = caps_supported();
    for (int cap = 0; cap < 64; cap++) {
        if ((supported & BIT(cap)) && !(keep & BIT(cap)) &&
            prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) != 0)
            fail("prctl(PR_CAPBSET_DROP, %s)", cap_name(cap));
    }
}

void caps_clear_ambient(void)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        fail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
}

/* Effective and permitted become `keep` (only what we hold can be kept),
 * inheritable becomes empty. */
void caps_set(uint64_t keep)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0)
        fail("capget");
    uint64_t held = (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
    keep &= held;
    for (int i = 0; i < 2; i++) {
        data[i].effective = data[i].permitted = (uint32_t)(keep >> (32 * i));
        data[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &header, data) != 0)
        fail("capset");
}
