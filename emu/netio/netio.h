/*
 * netio: the kernel-facing pieces of the Linux runtime's daemons, shared by
 * mip6ike-noded (the single-process stepping stone) and the three-daemon
 * version (mip6ike-ipsecd's ESP path, mip6ike-mipd's movement detection).
 * Each returns a descriptor or -1 with errno set.
 */
#ifndef MIP6IKE_EMU_NETIO_H
#define MIP6IKE_EMU_NETIO_H

#include <stddef.h>
#include <stdint.h>

/* Creates TUN device name (IFF_TUN | IFF_NO_PI), non-blocking, and sets
 * it up. */
int m6e_open_tun(const char *name);
/* UDP on [::]:port, IPv6 only, IPV6_RECVPKTINFO (the local address of each
 * datagram) and IPV6_FREEBIND (send from an address still in DAD). */
int m6e_open_udp(uint16_t port);
/* rtnetlink: IPv6 address and route events, link events. */
int m6e_open_netlink(void);
/* Asks for every IPv6 address (answers arrive as RTM_NEWADDR). */
void m6e_netlink_dump_addrs(int fd);
/* The upper-layer protocol of a whole IPv6 packet after its hop-by-hop,
 * routing and destination options headers; 44 for a fragment; -1 if
 * truncated. */
int m6e_upper_proto(const uint8_t *p, size_t len);

#endif
