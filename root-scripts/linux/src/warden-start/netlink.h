/* The container's side of its network by rtnetlink (netlink.c). */
#ifndef WARDEN_START_NETLINK_H
#define WARDEN_START_NETLINK_H

struct network {
	const char *iface;   /* the container's end of the veth */
	const char *address; /* its IPv4 address */
	const char *netmask; /* dotted, contiguous */
	const char *gateway; /* the host's end: the default route */
	unsigned int mtu;
};

/* In the calling process's network namespace: loopback up; IFACE's
 * address (broadcast: the host part all ones), MTU, up; the default route
 * via GATEWAY. 0, or -1 with errno and *STEP naming what failed. */
int configure_network(const struct network *network, const char **step);

/* In the calling process's network namespace: the veth pair HOST_IFACE and
 * network->iface (MTU network->mtu both), the latter made right in the
 * network namespace of PID; HOST_IFACE's address HOST_ADDRESS (with
 * network->netmask and its broadcast), up; a link HOST_IFACE already there
 * (left by an interrupted start) is deleted first. 0, or -1 with errno and
 * *STEP naming what failed. */
int make_veth(const struct network *network, const char *host_iface, const char *host_address,
	      int pid, const char **step);

#endif
