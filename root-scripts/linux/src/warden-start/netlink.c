/*
 * The container's side of its network, by rtnetlink (what `ip -batch` did
 * for warden-start, without a program to start): loopback up, the
 * container's end of the veth with its address (and broadcast), MTU and up,
 * the default route through the host's end. Each request is acknowledged
 * before the next: the first failure is reported, naming its step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"

#define ATTRS 128

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
	if (status < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	} else {
		close(fd);
	}
	return status;
}
