/* netio: see netio.h. */
#define _GNU_SOURCE
#include "netio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int m6e_open_tun(const char *name) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), s;
  if (fd < 0) {
    return -1;
  }
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, strlen(name));
  s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0 || s < 0 ||
      ioctl(s, SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) != 0)) {
    if (s >= 0) {
      close(s);
    }
    close(fd);
    return -1;
  }
  close(s);
  return fd;
}

int m6e_open_udp(uint16_t port) {
  struct sockaddr_in6 sa;
  int one = 1, fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                           0);
  if (fd < 0) {
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
  setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int m6e_open_netlink(void) {
  struct sockaddr_nl sa;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  NETLINK_ROUTE);
  if (fd < 0) {
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE | RTMGRP_LINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void m6e_netlink_dump_addrs(int fd) {
  struct {
    struct nlmsghdr h;
    struct ifaddrmsg m;
  } req;
  memset(&req, 0, sizeof(req));
  req.h.nlmsg_len = sizeof(req);
  req.h.nlmsg_type = RTM_GETADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.m.ifa_family = AF_INET6;
  if (send(fd, &req, sizeof(req), 0) < 0) {
    perror("netlink dump");
  }
}

/* The upper-layer protocol of an IPv6 packet (after extension headers),
 * -1 if it cannot be told. */
int m6e_upper_proto(const uint8_t *p, size_t len) {
  size_t off = 40;
  int nh = p[6];
  while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
    if (off + 8 > len) {
      return -1;
    }
    if (nh == 44) {
      return 44;
    }
    nh = p[off];
    off += ((size_t)p[off + 1] + 1) * 8;
  }
  return nh;
}

