/*
 * The container's side of its network, by rtnetlink (what `ip -batch` did
 * for warden-start, without a program to start): loopback up, the
 * container's end of the veth with its address (and broadcast), MTU and up,
 * the default route through the host's end. Each request is acknowledged
 * before the next: the first failure is reported, naming its step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

#define ATTRS 256

struct request {
	struct nlmsghdr header;
	union {
		struct ifinfomsg link;
		struct ifaddrmsg address;
		struct rtmsg route;
	} body;
	char attrs[ATTRS];
};

static unsigned int sequence;

/* One attribute appended to REQUEST (room for it checked by the caller's
 * sizes: every request here is far below ATTRS). */
static int add_attr(struct request *request, unsigned short type, const void *data,
		    size_t length)
{
	size_t at = NLMSG_ALIGN(request->header.nlmsg_len);
	size_t size = RTA_LENGTH(length);
	if (at + RTA_ALIGN(size) > sizeof *request) {
		errno = E2BIG;
		return -1;
	}
	struct rtattr *attr = (struct rtattr *)(void *)((char *)request + at);
	attr->rta_type = type;
	attr->rta_len = (unsigned short)size;
	if (length)
		memcpy(RTA_DATA(attr), data, length);
	request->header.nlmsg_len = (__u32)(at + RTA_ALIGN(size));
	return 0;
}

/* REQUEST sent on FD and its acknowledgement read: 0, or -1 with errno. */
static int talk(int fd, struct request *request)
{
	union {
		struct nlmsghdr header;
		char bytes[1024];
	} reply;
	request->header.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	request->header.nlmsg_seq = ++sequence;
	if (send(fd, request, request->header.nlmsg_len, 0) != (ssize_t)request->header.nlmsg_len)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, &reply, sizeof reply, 0);
		if (n < 0)
			return -1;
		if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			errno = EPROTO;
			return -1;
		}
		if (reply.header.nlmsg_seq != sequence)
			continue;
		if (reply.header.nlmsg_type != NLMSG_ERROR) {
			errno = EPROTO;
			return -1;
		}
		const struct nlmsgerr *error = NLMSG_DATA(&reply.header);
		if (error->error) {
			errno = -error->error;
			return -1;
		}
		return 0;
	}
}

/* A nested attribute begun (its length set by end_nest). */
static struct rtattr *begin_nest(struct request *request, unsigned short type)
{
	struct rtattr *nest =
		(struct rtattr *)(void *)((char *)request + NLMSG_ALIGN(request->header.nlmsg_len));
	return add_attr(request, type, NULL, 0) < 0 ? NULL : nest;
}

static void end_nest(struct request *request, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)request + request->header.nlmsg_len - (char *)nest);
}

static void start(struct request *request, unsigned short type, unsigned short flags,
		  size_t body)
{
	memset(request, 0, sizeof *request);
	request->header.nlmsg_len = (__u32)NLMSG_LENGTH(body);
	request->header.nlmsg_type = type;
	request->header.nlmsg_flags = flags;
}

/* `ip link set dev NAME [mtu MTU] up` */
static int link_up(int fd, unsigned int index, unsigned int mtu)
{
	struct request request;
	start(&request, RTM_NEWLINK, 0, sizeof request.body.link);
	request.body.link.ifi_family = AF_UNSPEC;
	request.body.link.ifi_index = (int)index;
	request.body.link.ifi_change = IFF_UP;
	request.body.link.ifi_flags = IFF_UP;
	if (mtu && add_attr(&request, IFLA_MTU, &mtu, sizeof mtu) < 0)
		return -1;
	return talk(fd, &request);
}

/* `ip address add ADDRESS/PREFIX broadcast + dev NAME` */
static int add_address(int fd, unsigned int index, struct in_addr address, unsigned char prefix)
{
	struct request request;
	start(&request, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof request.body.address);
	request.body.address.ifa_family = AF_INET;
	request.body.address.ifa_prefixlen = prefix;
	request.body.address.ifa_scope = RT_SCOPE_UNIVERSE;
	request.body.address.ifa_index = index;
	if (add_attr(&request, IFA_LOCAL, &address, sizeof address) < 0 ||
	    add_attr(&request, IFA_ADDRESS, &address, sizeof address) < 0)
		return -1;
	/* "broadcast +": the host part all ones (none for /31 and /32). */
	if (prefix < 31) {
		struct in_addr broadcast = address;
		broadcast.s_addr |= htonl(prefix ? 0xffffffffu >> prefix : 0xffffffffu);
		if (add_attr(&request, IFA_BROADCAST, &broadcast, sizeof broadcast) < 0)
			return -1;
	}
	return talk(fd, &request);
}

/* `ip route add default via GATEWAY` */
static int add_default_route(int fd, struct in_addr gateway)
{
	struct request request;
	start(&request, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof request.body.route);
	request.body.route.rtm_family = AF_INET;
	request.body.route.rtm_table = RT_TABLE_MAIN;
	request.body.route.rtm_protocol = RTPROT_BOOT;
	request.body.route.rtm_scope = RT_SCOPE_UNIVERSE;
	request.body.route.rtm_type = RTN_UNICAST;
	if (add_attr(&request, RTA_GATEWAY, &gateway, sizeof gateway) < 0)
		return -1;
	return talk(fd, &request);
}

/* The prefix length of a netmask (contiguous ones), or -1. */
static int prefix_of(struct in_addr mask)
{
	uint32_t bits = ntohl(mask.s_addr);
	int prefix = 0;
	while (prefix < 32 && (bits & (0x80000000u >> prefix)))
		prefix++;
	if (prefix < 32 && (bits << prefix) != 0)
		return -1;
	return prefix;
}

/* NAME's address ADDRESS with the prefix of NETMASK: 0, or -1 (EINVAL). */
static int parse(const char *address, const char *netmask, struct in_addr *parsed, int *prefix)
{
	struct in_addr mask;
	if (inet_pton(AF_INET, address, parsed) != 1 || inet_pton(AF_INET, netmask, &mask) != 1 ||
	    (*prefix = prefix_of(mask)) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* `ip link add name HOST mtu MTU type veth peer name IFACE mtu MTU netns PID` */
static int add_veth(int fd, const struct network *network, const char *host_iface, int pid)
{
	struct request request;
	struct ifinfomsg peer_link;
	struct rtattr *info, *data, *peer;
	unsigned int mtu = network->mtu;
	__u32 ns_pid = (__u32)pid;
	start(&request, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof request.body.link);
	request.body.link.ifi_family = AF_UNSPEC;
	if (add_attr(&request, IFLA_IFNAME, host_iface, strlen(host_iface) + 1) < 0 ||
	    add_attr(&request, IFLA_MTU, &mtu, sizeof mtu) < 0 ||
	    !(info = begin_nest(&request, IFLA_LINKINFO)) ||
	    add_attr(&request, IFLA_INFO_KIND, "veth", 4) < 0 ||
	    !(data = begin_nest(&request, IFLA_INFO_DATA)) ||
	    !(peer = begin_nest(&request, VETH_INFO_PEER)))
		return -1;
	/* The peer's own ifinfomsg, then its attributes. */
	memset(&peer_link, 0, sizeof peer_link);
	peer_link.ifi_family = AF_UNSPEC;
	size_t at = NLMSG_ALIGN(request.header.nlmsg_len);
	if (at + NLMSG_ALIGN(sizeof peer_link) > sizeof request) {
		errno = E2BIG;
		return -1;
	}
	memcpy((char *)&request + at, &peer_link, sizeof peer_link);
	request.header.nlmsg_len = (__u32)(at + NLMSG_ALIGN(sizeof peer_link));
	if (add_attr(&request, IFLA_IFNAME, network->iface, strlen(network->iface) + 1) < 0 ||
	    add_attr(&request, IFLA_MTU, &mtu, sizeof mtu) < 0 ||
	    add_attr(&request, IFLA_NET_NS_PID, &ns_pid, sizeof ns_pid) < 0)
		return -1;
	end_nest(&request, peer);
	end_nest(&request, data);
	end_nest(&request, info);
	return talk(fd, &request);
}

/* `ip link delete dev NAME` */
static int delete_link(int fd, const char *name)
{
	struct request request;
	start(&request, RTM_DELLINK, 0, sizeof request.body.link);
	request.body.link.ifi_family = AF_UNSPEC;
	if (add_attr(&request, IFLA_IFNAME, name, strlen(name) + 1) < 0)
		return -1;
	return talk(fd, &request);
}

/* Close FD and give back STATUS, errno still the failure's (when STATUS < 0). */
static int close_keeping_errno(int fd, int status)
{
	int saved = errno;
	close(fd);
	errno = saved;
	return status;
}

int make_veth(const struct network *network, const char *host_iface, const char *host_address,
	      int pid, const char **step)
{
	struct in_addr address;
	unsigned int index;
	int prefix, fd, status = -1;
	*step = "its settings";
	if (parse(host_address, network->netmask, &address, &prefix) < 0)
		return -1;
	*step = "a netlink socket";
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	*step = "the veth pair";
	if (add_veth(fd, network, host_iface, pid) < 0) {
		/* A veth an interrupted start left behind (the name is the
		 * container's own): removed, and the pair made again. Found
		 * here rather than looked for before each start. */
		if (errno != EEXIST)
			goto out;
		*step = "the veth pair (removing the one left by an earlier start)";
		if (delete_link(fd, host_iface) < 0 && errno != ENODEV)
			goto out;
		*step = "the veth pair";
		if (add_veth(fd, network, host_iface, pid) < 0)
			goto out;
	}
	*step = "its address";
	if (!(index = if_nametoindex(host_iface)) ||
	    add_address(fd, index, address, (unsigned char)prefix) < 0)
		goto out;
	*step = "its link";
	if (link_up(fd, index, 0) < 0)
		goto out;
	status = 0;
out:
	return close_keeping_errno(fd, status);
}

int configure_network(const struct network *network, const char **step)
{
	struct in_addr address, mask, gateway;
	unsigned int lo, iface;
	int prefix, fd, status = -1;
	*step = "its settings";
	if (inet_pton(AF_INET, network->address, &address) != 1 ||
	    inet_pton(AF_INET, network->netmask, &mask) != 1 ||
	    inet_pton(AF_INET, network->gateway, &gateway) != 1 || (prefix = prefix_of(mask)) < 0) {
		errno = EINVAL;
		return -1;
	}
	*step = "a netlink socket";
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	*step = "lo";
	if (!(lo = if_nametoindex("lo")) || link_up(fd, lo, 0) < 0)
		goto out;
	*step = "its interface";
	if (!(iface = if_nametoindex(network->iface)))
		goto out;
	*step = "its address";
	if (add_address(fd, iface, address, (unsigned char)prefix) < 0)
		goto out;
	*step = "its MTU";
	if (link_up(fd, iface, network->mtu) < 0)
		goto out;
	*step = "its default route";
	if (add_default_route(fd, gateway) < 0)
		goto out;
	status = 0;
out:
	return close_keeping_errno(fd, status);
}
