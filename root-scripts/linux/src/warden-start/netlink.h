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

#endif
