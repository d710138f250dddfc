/* escape-probe: a static program the escapes suite runs INSIDE a warden
 * container (bind-mounted read-only), as vcap and as a privileged job. Each
 * command makes one family of escape attempts with raw system calls and
 * prints one line per attempt, "NAME RESULT", where RESULT is "OK" (the
 * call succeeded) or the errno name (EPERM, ENOENT ...). The tests decide
 * what each result means.
 *
 * Every attempt is harmless if it succeeds where it should not: files are
 * opened for writing but never written, the clock and the hostname are "set"
 * to their current values, a module load gets garbage, a device node made is
 * removed unopened, a raw socket is closed unused, a ptrace is detached.
 *
 *   probe open PATH r|w|dir      open PATH (no write ever happens)
 *   probe read PATH              print the file (at most 64 KiB) or "ERRNO"
 *   probe chroot-escape          the classic chroot break-out; prints where
 *                                it ends: "contained" (the container's own /)
 *                                or "escaped"
 *   probe handle PATH            name_to_handle_at + open_by_handle_at ("shocker")
 *   probe mount                  mounts, old and new API, unmask, pivot_root
 *   probe namespaces             unshare and setns
 *   probe kill PID SIG | pidfd PID | ptrace PID
 *   probe unix PATH | abstract NAME     connect to a unix socket
 *   probe tcp ADDR PORT          connect (2 s at most); ADDR may be fe80::x%iface
 *   probe udp ADDR PORT          send one datagram
 *   probe raw                    raw and packet sockets
 *   probe ping ADDR              an ICMP echo through an unprivileged ICMP
 *                                socket (what ping uses without CAP_NET_RAW):
 *                                ping-socket, then ping-reply (OK, or
 *                                ETIMEDOUT after 2 s, or the send's error)
 *   probe vsock                  socket families outside the network
 *                                namespace: vsock (then bind any port),
 *                                Qualcomm IPC router
 *   probe spoof SRC DST PORT     a foreign source address: IP_TRANSPARENT,
 *                                IP_FREEBIND + send
 *   probe netadmin IFACE         address, hardware address, MTU, a route
 *   probe module                 init_module, finit_module, delete_module
 *   probe mknod DIR              block and memory devices, a FIFO (control)
 *   probe clock                  clock_settime, settimeofday, clock_adjtime
 *   probe hostname               sethostname, setdomainname
 *   probe fallocate FD BYTES     allocate BYTES of FD's file, its size kept
 *   probe lease FD SECONDS       a write lease on FD (SIGIO ignored), then one
 *                                line on stdout, then hold it SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, int rc)
{
    if (rc >= 0)
        printf("%s OK\n", name);
    else
        printf("%s %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
    fflush(stdout);
}

static int cmd_open(const char *path, const char *mode)
{
    int flags = strcmp(mode, "w") == 0     ? O_WRONLY
                : strcmp(mode, "dir") == 0 ? O_RDONLY | O_DIRECTORY
                                           : O_RDONLY;
    int fd = open(path, flags | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    report(path, fd);
    if (fd >= 0)
        close(fd);
    return 0;
}

static int cmd_read(const char *path)
{
    char buf[65536];
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        printf("%s\n", strerrorname_np(errno));
        return 0;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0)
        printf("%s\n", strerrorname_np(errno));
    else
        fwrite(buf, 1, (size_t)n, stdout);
    close(fd);
    return 0;
}

/* chroot into a subdirectory while the cwd stays above it, climb with ".."
 * far past any root, chroot there: on a host without pivot_root this lands
 * on the real root. Then compare "/" with the container's "/". */
static int cmd_chroot_escape(void)
{
    struct stat before, after;
    if (stat("/", &before) != 0)
        return perror("stat /"), 1;
    mkdir("/tmp/escape-probe-jail", 0700);
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (chroot("/tmp/escape-probe-jail") != 0) {
        report("chroot", -1);
        return 0;
    }
    report("chroot", 0);
    /* The cwd is still the job's home (outside the new root); also through
     * an fd opened before. */
    if (fchdir(fd) != 0)
        return perror("fchdir"), 1;
    for (int i = 0; i < 256; i++)
        if (chdir("..") != 0)
            return perror("chdir .."), 1;
    if (chroot(".") != 0)
        return perror("chroot ."), 1;
    if (stat("/", &after) != 0)
        return perror("stat / after"), 1;
    bool same = before.st_dev == after.st_dev && before.st_ino == after.st_ino;
    printf("chroot-escape %s\n", same ? "contained" : "escaped");
    return 0;
}

static int cmd_handle(const char *path)
{
    struct {
        struct file_handle fh;
        unsigned char bytes[128];
    } h;
    int mount_id;
    h.fh.handle_bytes = sizeof h.bytes;
    report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, path, &h.fh,
                                        &mount_id, 0) == 0 ? 0 : -1);
    /* A handle for inode 2 (the root of most file systems), built by hand,
     * as the "shocker" exploit did. */
    h.fh.handle_bytes = 8;
    h.fh.handle_type = 1;
    memset(h.bytes, 0, 8);
    h.bytes[0] = 2;
    int fd = (int)syscall(SYS_open_by_handle_at, AT_FDCWD, &h.fh, O_RDONLY);
    report("open_by_handle_at", fd);
    if (fd >= 0)
        close(fd);
    return 0;
}

static int cmd_mount(void)
{
    const char *at = "/tmp/escape-probe-mnt";
    mkdir(at, 0700);
    report("mount-tmpfs", mount("tmpfs", at, "tmpfs", 0, NULL));
    report("mount-bind", mount("/", at, NULL, MS_BIND, NULL));
    report("remount-sys-rw", mount(NULL, "/sys", NULL, MS_REMOUNT, NULL));
    report("remount-proc-sys-rw", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL));
    report("remount-bind-rw", mount(NULL, "/opt/escape-probe", NULL, MS_REMOUNT | MS_BIND, NULL));
    report("umount-mask", umount2("/proc/keys", MNT_DETACH));
    report("mount-proc", mount("proc", at, "proc", 0, NULL));
    report("fsopen", (int)syscall(SYS_fsopen, "tmpfs", 0));
    report("open_tree", (int)syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
    report("pivot_root", (int)syscall(SYS_pivot_root, "/tmp", "/tmp"));
    return 0;
}

static int cmd_namespaces(void)
{
    static const struct { const char *name; int flag; } kinds[] = {
        {"unshare-user", CLONE_NEWUSER}, {"unshare-mnt", CLONE_NEWNS},
        {"unshare-net", CLONE_NEWNET}, {"unshare-pid", CLONE_NEWPID},
        {"unshare-uts", CLONE_NEWUTS}, {"unshare-cgroup", CLONE_NEWCGROUP},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        pid_t child = fork();
        if (child == 0)
            _exit(unshare(kinds[i].flag) == 0 ? 0 : errno);
        int status;
        waitpid(child, &status, 0);
        errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
        report(kinds[i].name, errno == 0 ? 0 : -1);
    }
    int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
    report("open-init-mnt-ns", fd);
    if (fd >= 0)
        report("setns-init-mnt-ns", setns(fd, CLONE_NEWNS));
    return 0;
}

static int cmd_kill(const char *pid, const char *sig)
{
    report("kill", kill((pid_t)atoi(pid), atoi(sig)));
    return 0;
}

static int cmd_pidfd(const char *pid)
{
    int fd = (int)syscall(SYS_pidfd_open, atoi(pid), 0);
    report("pidfd_open", fd);
    if (fd >= 0)
        report("pidfd_send_signal", (int)syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
    return 0;
}

static int cmd_ptrace(const char *pid)
{
    pid_t target = (pid_t)atoi(pid);
    long rc = ptrace(PTRACE_SEIZE, target, NULL, NULL);
    report("ptrace-seize", rc == 0 ? 0 : -1);
    if (rc == 0)
        ptrace(PTRACE_DETACH, target, NULL, NULL);
    return 0;
}

static int connect_unix(const char *name, bool abstract)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    if (len + 1 >= sizeof addr.sun_path)
        return fprintf(stderr, "name too long\n"), 1;
    memcpy(addr.sun_path + (abstract ? 1 : 0), name, len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 1 : 0));
    report(abstract ? "connect-abstract" : "connect-unix",
           connect(fd, (struct sockaddr *)&addr, size));
    close(fd);
    return 0;
}

/* A numeric address ("10.0.0.1", "fe80::1%eth0") and port, parsed here:
 * getaddrinfo in a static program would want the host's NSS libraries. */
struct address {
    struct sockaddr_storage storage;
    socklen_t len;
    int family;
};

static struct address parse_address(const char *text, const char *port)
{
    struct address a;
    memset(&a, 0, sizeof a);
    char host[256];
    snprintf(host, sizeof host, "%s", text);
    char *scope = strchr(host, '%');
    if (scope != NULL)
        *scope++ = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a.storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a.storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = a.family = AF_INET;
        v4->sin_port = htons((uint16_t)atoi(port));
        a.len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = a.family = AF_INET6;
        v6->sin6_port = htons((uint16_t)atoi(port));
        v6->sin6_scope_id = scope ? if_nametoindex(scope) : 0;
        a.len = sizeof *v6;
    } else {
        fprintf(stderr, "not a numeric address: %s\n", text);
        exit(2);
    }
    return a;
}

/* Non-blocking connect, at most 2 s: a firewall that drops shows as ETIMEDOUT. */
static int cmd_tcp(const char *host, const char *port)
{
    struct address to = parse_address(host, port);
    int fd = socket(to.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = connect(fd, (struct sockaddr *)&to.storage, to.len);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 2000) == 0) {
            errno = ETIMEDOUT;
        } else {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            errno = err;
            rc = err == 0 ? 0 : -1;
        }
    }
    report("tcp-connect", rc);
    close(fd);
    return 0;
}

static int cmd_udp(const char *host, const char *port)
{
    struct address to = parse_address(host, port);
    int fd = socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    report("udp-send", (int)sendto(fd, "escape-probe\n", 13, 0, (struct sockaddr *)&to.storage,
                                   to.len));
    close(fd);
    return 0;
}

static void try_socket(const char *name, int domain, int type, int protocol)
{
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    report(name, fd);
    if (fd >= 0)
        close(fd);
}

static int cmd_raw(void)
{
    try_socket("raw-ip", AF_INET, SOCK_RAW, IPPROTO_RAW);
    try_socket("raw-icmp", AF_INET, SOCK_RAW, IPPROTO_ICMP);
    try_socket("raw-udp", AF_INET, SOCK_RAW, IPPROTO_UDP);
    try_socket("raw-ipv6", AF_INET6, SOCK_RAW, IPPROTO_RAW);
    try_socket("packet-raw", AF_PACKET, SOCK_RAW, 0);
    try_socket("packet-dgram", AF_PACKET, SOCK_DGRAM, 0);
    return 0;
}

static int cmd_ping(const char *host)
{
    struct address to = parse_address(host, "0");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
    report("ping-socket", fd);
    if (fd < 0)
        return 0;
    /* type 8 (echo), code 0; the kernel fills in the identifier and checksum */
    unsigned char echo[16] = {8, 0, 0, 0, 0, 0, 0, 1, 'w', 'a', 'r', 'd', 'e', 'n', '!', '\n'};
    if (sendto(fd, echo, sizeof echo, 0, (struct sockaddr *)&to.storage, to.len) < 0) {
        report("ping-reply", -1);
    } else {
        struct pollfd in = {.fd = fd, .events = POLLIN};
        unsigned char reply[64];
        int ready = poll(&in, 1, 2000);
        if (ready == 0)
            errno = ETIMEDOUT;
        report("ping-reply", ready > 0 && recv(fd, reply, sizeof reply, 0) > 0 && reply[0] == 0 ? 0 : -1);
    }
    close(fd);
    return 0;
}

/* Bound to a port the kernel picks and closed at once: nothing is sent. */
static int cmd_vsock(void)
{
    struct sockaddr_vm any = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                              .svm_port = VMADDR_PORT_ANY};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    report("vsock-socket", fd);
    if (fd >= 0) {
        report("vsock-bind", bind(fd, (struct sockaddr *)&any, sizeof any));
        close(fd);
    }
    try_socket("qipcrtr-socket", 42 /* AF_QIPCRTR */, SOCK_DGRAM, 0);
    return 0;
}

static int cmd_spoof(const char *src, const char *dst, const char *port)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    report("ip-transparent", setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one));
    close(fd);

    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(40000)};
    inet_pton(AF_INET, src, &from.sin_addr);
    struct address to = parse_address(dst, port);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof one);
    report("freebind-bind-foreign", bind(fd, (struct sockaddr *)&from, sizeof from));
    report("freebind-send", (int)sendto(fd, "spoofed\n", 8, 0, (struct sockaddr *)&to.storage,
                                        to.len));
    close(fd);
    return 0;
}

/* Every change is to the value the interface already has. */
static int cmd_netadmin(const char *iface)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq req;
    memset(&req, 0, sizeof req);
    snprintf(req.ifr_name, sizeof req.ifr_name, "%s", iface);
    if (ioctl(fd, SIOCGIFADDR, &req) != 0)
        return perror("SIOCGIFADDR"), 1;
    report("set-address", ioctl(fd, SIOCSIFADDR, &req));
    if (ioctl(fd, SIOCGIFHWADDR, &req) != 0)
        return perror("SIOCGIFHWADDR"), 1;
    report("set-hwaddr", ioctl(fd, SIOCSIFHWADDR, &req));
    if (ioctl(fd, SIOCGIFMTU, &req) != 0)
        return perror("SIOCGIFMTU"), 1;
    report("set-mtu", ioctl(fd, SIOCSIFMTU, &req));
    struct rtentry route;
    memset(&route, 0, sizeof route);
    struct sockaddr_in *dst = (struct sockaddr_in *)&route.rt_dst;
    struct sockaddr_in *mask = (struct sockaddr_in *)&route.rt_genmask;
    dst->sin_family = mask->sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.0", &dst->sin_addr);
    inet_pton(AF_INET, "255.255.255.0", &mask->sin_addr);
    route.rt_flags = RTF_UP;
    route.rt_dev = (char *)iface;
    int rc = ioctl(fd, SIOCADDRT, &route);
    report("add-route", rc);
    if (rc == 0)
        ioctl(fd, SIOCDELRT, &route);
    close(fd);
    return 0;
}

static int cmd_module(void)
{
    static const char garbage[] = "not a kernel module";
    report("init_module", (int)syscall(SYS_init_module, garbage, sizeof garbage, ""));
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC); /* this probe: not a module */
    report("finit_module", (int)syscall(SYS_finit_module, fd, "", 0));
    close(fd);
    report("delete_module", (int)syscall(SYS_delete_module, "escape_probe_no_such_module",
                                         O_NONBLOCK));
    return 0;
}

static void try_mknod(const char *dir, const char *name, mode_t mode, dev_t dev)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = mknod(path, mode | 0600, dev);
    report(name, rc);
    if (rc == 0)
        unlink(path);
}

static int cmd_mknod(const char *dir)
{
    try_mknod(dir, "mknod-block", S_IFBLK, makedev(8, 0));
    try_mknod(dir, "mknod-loop", S_IFBLK, makedev(7, 0));
    try_mknod(dir, "mknod-mem", S_IFCHR, makedev(1, 1));
    try_mknod(dir, "mknod-kmsg", S_IFCHR, makedev(1, 11));
    try_mknod(dir, "mknod-fifo", S_IFIFO, 0);
    return 0;
}

static int cmd_clock(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    report("clock_settime", clock_settime(CLOCK_REALTIME, &now));
    struct timeval tv;
    gettimeofday(&tv, NULL);
    report("settimeofday", settimeofday(&tv, NULL));
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    tx.modes = ADJ_SETOFFSET | ADJ_NANO; /* a zero offset: no change */
    report("clock_adjtime", clock_adjtime(CLOCK_REALTIME, &tx));
    return 0;
}

static int cmd_hostname(void)
{
    struct utsname names;
    uname(&names);
    report("sethostname", sethostname(names.nodename, strlen(names.nodename)));
    report("setdomainname", setdomainname(names.domainname, strlen(names.domainname)));
    return 0;
}

static int cmd_fallocate(const char *fd, const char *bytes)
{
    report("fallocate", fallocate(atoi(fd), FALLOC_FL_KEEP_SIZE, 0, atoll(bytes)));
    return 0;
}

static int cmd_lease(const char *fd, const char *seconds)
{
    signal(SIGIO, SIG_IGN); /* never give the lease up when it is broken */
    report("lease", fcntl(atoi(fd), F_SETLEASE, F_WRLCK));
    sleep((unsigned)atoi(seconds));
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "open") == 0 && argc == 4)
        return cmd_open(argv[2], argv[3]);
    if (strcmp(cmd, "read") == 0 && argc == 3)
        return cmd_read(argv[2]);
    if (strcmp(cmd, "chroot-escape") == 0)
        return cmd_chroot_escape();
    if (strcmp(cmd, "handle") == 0 && argc == 3)
        return cmd_handle(argv[2]);
    if (strcmp(cmd, "mount") == 0)
        return cmd_mount();
    if (strcmp(cmd, "namespaces") == 0)
        return cmd_namespaces();
    if (strcmp(cmd, "kill") == 0 && argc == 4)
        return cmd_kill(argv[2], argv[3]);
    if (strcmp(cmd, "pidfd") == 0 && argc == 3)
        return cmd_pidfd(argv[2]);
    if (strcmp(cmd, "ptrace") == 0 && argc == 3)
        return cmd_ptrace(argv[2]);
    if (strcmp(cmd, "unix") == 0 && argc == 3)
        return connect_unix(argv[2], false);
    if (strcmp(cmd, "abstract") == 0 && argc == 3)
        return connect_unix(argv[2], true);
    if (strcmp(cmd, "tcp") == 0 && argc == 4)
        return cmd_tcp(argv[2], argv[3]);
    if (strcmp(cmd, "udp") == 0 && argc == 4)
        return cmd_udp(argv[2], argv[3]);
    if (strcmp(cmd, "raw") == 0)
        return cmd_raw();
    if (strcmp(cmd, "ping") == 0 && argc == 3)
        return cmd_ping(argv[2]);
    if (strcmp(cmd, "vsock") == 0)
        return cmd_vsock();
    if (strcmp(cmd, "spoof") == 0 && argc == 5)
        return cmd_spoof(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "netadmin") == 0 && argc == 3)
        return cmd_netadmin(argv[2]);
    if (strcmp(cmd, "module") == 0)
        return cmd_module();
    if (strcmp(cmd, "mknod") == 0 && argc == 3)
        return cmd_mknod(argv[2]);
    if (strcmp(cmd, "clock") == 0)
        return cmd_clock();
    if (strcmp(cmd, "hostname") == 0)
        return cmd_hostname();
    if (strcmp(cmd, "fallocate") == 0 && argc == 4)
        return cmd_fallocate(argv[2], argv[3]);
    if (strcmp(cmd, "lease") == 0 && argc == 4)
        return cmd_lease(argv[2], argv[3]);
    fprintf(stderr, "usage: probe COMMAND [ARG]... (see the source)\n");
    return 2;
}
