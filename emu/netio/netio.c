/* netio: see netio.h. */
#define _GNU_SOURCE
#include "netio.h"

#include "m6ike/pfkey_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
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


/* ---- whole IPv6 packets ------------------------------------------------- */

int m6e_open_packet(void) {
  return socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                htons(ETH_P_IPV6));
}

ssize_t m6e_packet_recv(int fd, uint8_t *buf, size_t cap, int *ifindex) {
  for (;;) {
    struct sockaddr_ll from;
    socklen_t fl = sizeof(from);
    ssize_t r = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&from,
                         &fl);
    if (r < 0) {
      return -1;
    }
    if (from.sll_pkttype == PACKET_OUTGOING) {
      continue;
    }
    *ifindex = from.sll_ifindex;
    return r;
  }
}

int m6e_open_raw(void) {
  int one = 1, fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd >= 0) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
  }
  return fd;
}

int m6e_send_ip6(int raw_fd, const uint8_t *pkt, size_t len) {
  struct sockaddr_in6 to;
  if (len < 40) {
    errno = EINVAL;
    return -1;
  }
  memset(&to, 0, sizeof(to));
  to.sin6_family = AF_INET6;
  memcpy(&to.sin6_addr, pkt + 24, 16);
  return sendto(raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) ==
                 (ssize_t)len
             ? 0
             : -1;
}

/* ---- IKE datagrams ------------------------------------------------------ */

/* Room for one IPV6_PKTINFO control message, aligned. */
typedef union pktinfo_cmsg {
  char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  struct cmsghdr align;
} pktinfo_cmsg;

/* One datagram to or from peer, its pktinfo in ctl. */
static void udp_msghdr(struct msghdr *mh, struct sockaddr_in6 *peer,
                       struct iovec *iov, char *ctl, size_t ctllen) {
  memset(mh, 0, sizeof(*mh));
  mh->msg_name = peer;
  mh->msg_namelen = sizeof(*peer);
  mh->msg_iov = iov;
  mh->msg_iovlen = 1;
  mh->msg_control = ctl;
  mh->msg_controllen = ctllen;
}

int m6e_udp_send(int fd, const m6ike_ikev2_path *p, const uint8_t *buf,
                 size_t len) {
  struct sockaddr_in6 to;
  struct iovec iov = {(void *)buf, len};
  pktinfo_cmsg c;
  struct msghdr mh;
  struct cmsghdr *cm;
  struct in6_pktinfo pi;
  memset(&to, 0, sizeof(to));
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(p->remote_port);
  memcpy(&to.sin6_addr, p->remote.b, 16);
  memset(&c, 0, sizeof(c));
  udp_msghdr(&mh, &to, &iov, c.b, sizeof(c.b));
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = IPPROTO_IPV6;
  cm->cmsg_type = IPV6_PKTINFO;
  cm->cmsg_len = CMSG_LEN(sizeof(pi));
  memset(&pi, 0, sizeof(pi));
  memcpy(&pi.ipi6_addr, p->local.b, 16);
  memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
  return sendmsg(fd, &mh, 0) == (ssize_t)len ? 0 : -1;
}

ssize_t m6e_udp_recv(int fd, uint16_t port, uint8_t *buf, size_t cap,
                     m6ike_ikev2_path *p) {
  struct sockaddr_in6 from;
  struct iovec iov = {buf, cap};
  pktinfo_cmsg c;
  struct msghdr mh;
  struct cmsghdr *cm;
  ssize_t r;
  udp_msghdr(&mh, &from, &iov, c.b, sizeof(c.b));
  r = recvmsg(fd, &mh, MSG_DONTWAIT);
  if (r < 0) {
    return -1;
  }
  memset(p, 0, sizeof(*p));
  for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      memcpy(p->local.b, &pi.ipi6_addr, 16);
    }
  }
  memcpy(p->remote.b, &from.sin6_addr, 16);
  p->remote_port = ntohs(from.sin6_port);
  p->local_port = port;
  return r;
}

/* ---- event log ---------------------------------------------------------- */

m6ike_tstamp m6e_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (m6ike_tstamp)ts.tv_sec * 1000000000u + (m6ike_tstamp)ts.tv_nsec;
}

void m6e_emit(FILE *f, m6ike_tstamp t, const char *fmt, ...) {
  va_list ap;
  fprintf(f, "%llu.%09llu ", (unsigned long long)(t / 1000000000u),
          (unsigned long long)(t % 1000000000u));
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fflush(f);
}

/* ---- MN movement detection ---------------------------------------------- */

static int md_seen(m6e_movement *n, const m6ike_addr6 *a) {
  unsigned i;
  for (i = 0; i < n->nseen; i++) {
    if (m6ike_addr6_equal(&n->seen[i], a)) {
      return 1;
    }
  }
  if (n->nseen == 8) {
    memmove(n->seen, n->seen + 1, 7 * sizeof(n->seen[0]));
    n->nseen = 7;
  }
  n->seen[n->nseen++] = *a;
  return 0;
}

static void md_addr(m6e_movement *n, const struct nlmsghdr *h) {
  const struct ifaddrmsg *m = NLMSG_DATA(h);
  const struct rtattr *rta;
  int alen = (int)IFA_PAYLOAD(h);
  uint32_t flags = m->ifa_flags;
  m6ike_addr6 a;
  int have = 0;
  char s[M6IKE_ADDR6_STRLEN], ifn[IF_NAMESIZE] = "?";
  m6ike_tstamp t = m6e_now_ns();
  if (m->ifa_family != AF_INET6 || m->ifa_scope != RT_SCOPE_UNIVERSE ||
      (int)m->ifa_index == n->tun_ifindex) {
    return;
  }
  for (rta = IFA_RTA(m); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
    if (rta->rta_type == IFA_ADDRESS && RTA_PAYLOAD(rta) == 16) {
      memcpy(a.b, RTA_DATA(rta), 16);
      have = 1;
    } else if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) == 4) {
      memcpy(&flags, RTA_DATA(rta), 4);
    }
  }
  if (!have || m6ike_addr6_equal(&a, &n->hoa)) {
    return;
  }
  if_indextoname(m->ifa_index, ifn);
  m6ike_addr6_format(&a, s);
  if (h->nlmsg_type == RTM_DELADDR) {
    m6e_emit(n->ev, t, "ADDR_DEL dev=%s addr=%s", ifn, s);
    if (n->have_coa && m6ike_addr6_equal(&a, &n->coa)) {
      n->have_coa = 0;
    }
    return;
  }
  if (!md_seen(n, &a)) {
    m6e_emit(n->ev, t, "ADDR_NEW dev=%s addr=%s tentative=%d", ifn, s,
             (flags & IFA_F_TENTATIVE) != 0);
  }
  if ((flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)) ||
      (n->have_coa && m6ike_addr6_equal(&a, &n->coa))) {
    return;
  }
  /* A usable new global address: the new care-of address. */
  m6e_emit(n->ev, t, "COA_READY dev=%s addr=%s", ifn, s);
  n->coa = a;
  n->have_coa = 1;
  if (n->coa_ready) {
    n->coa_ready(&a, n->user_data);
  }
}

/* A route the kernel learnt from a Router Advertisement (the default
 * route or an on-link prefix, protocol "ra") on an access interface: the
 * MN's L3 movement detection (RFC 6059's idea: a new router / prefix). */
static void md_route(m6e_movement *n, const struct nlmsghdr *h) {
  const struct rtmsg *m = NLMSG_DATA(h);
  const struct rtattr *rta;
  int alen = (int)RTM_PAYLOAD(h), oif = 0;
  m6ike_addr6 dst;
  char s[M6IKE_ADDR6_STRLEN], ifn[IF_NAMESIZE] = "?";
  if (m->rtm_family != AF_INET6 || m->rtm_protocol != RTPROT_RA ||
      m->rtm_table != RT_TABLE_MAIN) {
    return;
  }
  memset(&dst, 0, sizeof(dst));
  for (rta = RTM_RTA(m); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
    if (rta->rta_type == RTA_DST && RTA_PAYLOAD(rta) == 16) {
      memcpy(dst.b, RTA_DATA(rta), 16);
    } else if (rta->rta_type == RTA_OIF && RTA_PAYLOAD(rta) == 4) {
      memcpy(&oif, RTA_DATA(rta), 4);
    }
  }
  if (oif == n->tun_ifindex) {
    return;
  }
  if_indextoname((unsigned)oif, ifn);
  m6e_emit(n->ev, m6e_now_ns(), "ROUTE_RA dev=%s dst=%s/%u", ifn,
           m6ike_addr6_format(&dst, s), m->rtm_dst_len);
}

void m6e_movement_netlink(m6e_movement *n, int nl_fd) {
  char buf[16384];
  for (;;) {
    ssize_t r = recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
    struct nlmsghdr *h;
    int len;
    if (r <= 0) {
      return;
    }
    len = (int)r;
    for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
        if (n->mn) {
          md_addr(n, h);
        }
      } else if (h->nlmsg_type == RTM_NEWROUTE && n->mn) {
        md_route(n, h);
      } else if (h->nlmsg_type == RTM_NEWLINK) {
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        char ifn[IF_NAMESIZE] = "?";
        if ((int)ifi->ifi_index != n->tun_ifindex && ifi->ifi_index != 1) {
          if_indextoname((unsigned)ifi->ifi_index, ifn);
          m6e_emit(n->ev, m6e_now_ns(), "LINK dev=%s up=%d running=%d", ifn,
                   (ifi->ifi_flags & IFF_UP) != 0,
                   (ifi->ifi_flags & IFF_RUNNING) != 0);
        }
      }
    }
  }
}

/* ---- the core's events -------------------------------------------------- */

const char *m6e_agent_ev_name(m6ike_agent_event_kind k) {
  switch (k) {
  case M6IKE_AGENT_EV_COA_SET: return "COA_SET";
  case M6IKE_AGENT_EV_BU_SENT: return "BU_SENT";
  case M6IKE_AGENT_EV_BA_RECEIVED: return "BA_RECEIVED";
  case M6IKE_AGENT_EV_BINDING_UPDATED: return "BINDING_UPDATED";
  case M6IKE_AGENT_EV_IKE_STARTED: return "IKE_STARTED";
  case M6IKE_AGENT_EV_IKE_COMPLETED: return "IKE_COMPLETED";
  case M6IKE_AGENT_EV_SA_INSTALLED: return "SA_INSTALLED";
  case M6IKE_AGENT_EV_SA_UPDATED: return "SA_UPDATED";
  case M6IKE_AGENT_EV_SA_READY: return "SA_READY";
  case M6IKE_AGENT_EV_DROP: return "DROP";
  case M6IKE_AGENT_EV_HA_LOST: return "HA_LOST";
  }
  return "?";
}

void m6e_emit_agent_event(FILE *f, const m6ike_agent_event *e) {
  char h[M6IKE_ADDR6_STRLEN], c[M6IKE_ADDR6_STRLEN];
  m6e_emit(f, e->time, "%s mpi=%u hoa=%s coa=%s spi=0x%08x seq=%u status=%d",
           m6e_agent_ev_name(e->kind), e->mpi, m6ike_addr6_format(&e->hoa, h),
           m6ike_addr6_format(&e->coa, c), e->spi, e->seq, e->status);
}

static void ts_text(char *buf, size_t cap, m6ike_tstamp t) {
  if (t == M6IKE_TSTAMP_UNSET) {
    snprintf(buf, cap, "-");
  } else {
    snprintf(buf, cap, "%llu.%09llu", (unsigned long long)(t / 1000000000u),
             (unsigned long long)(t % 1000000000u));
  }
}

void m6e_emit_handover(FILE *f, const m6ike_agent_handover *h) {
  char c[4][32], a[M6IKE_ADDR6_STRLEN], b[M6IKE_ADDR6_STRLEN];
  ts_text(c[0], sizeof(c[0]), h->coa_set);
  ts_text(c[1], sizeof(c[1]), h->bu_sent);
  ts_text(c[2], sizeof(c[2]), h->ba_received);
  ts_text(c[3], sizeof(c[3]), h->sa_ready);
  m6e_emit(f, m6e_now_ns(),
           "HANDOVER index=%u scheme=%s old_coa=%s coa=%s coa_set=%s "
           "bu_sent=%s ba_received=%s sa_ready=%s bu_count=%u ba_status=%d "
           "ike_msgs=%u ike_bytes=%llu ike_sa_init=%u ike_auth=%u "
           "create_child_sa=%u informational=%u complete=%d",
           h->index, m6ike_scheme_name(h->scheme),
           m6ike_addr6_format(&h->old_coa, a), m6ike_addr6_format(&h->coa, b),
           c[0], c[1], c[2], c[3], h->bu_count, h->ba_status, h->ike_msgs,
           (unsigned long long)h->ike_bytes,
           h->ike_msgs_x[M6IKE_IKEV2_X_IKE_SA_INIT],
           h->ike_msgs_x[M6IKE_IKEV2_X_IKE_AUTH],
           h->ike_msgs_x[M6IKE_IKEV2_X_CREATE_CHILD_SA],
           h->ike_msgs_x[M6IKE_IKEV2_X_INFORMATIONAL], h->complete);
}

/* ---- Unix-domain sockets ------------------------------------------------ */

int m6e_unix_connect(const char *path, int wait_ms) {
  struct sockaddr_un sa;
  int fd;
  if (strlen(path) >= sizeof(sa.sun_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path));
  for (;;) {
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
      int fl = fcntl(fd, F_GETFL);
      fcntl(fd, F_SETFL, fl | O_NONBLOCK);
      return fd;
    }
    close(fd);
    if ((errno != ENOENT && errno != ECONNREFUSED) || wait_ms <= 0) {
      return -1;
    }
    usleep(20000);
    wait_ms -= 20;
  }
}

int m6e_pfkey_connect(const char *path, int role, int wait_ms) {
  uint8_t h[M6IKE_PFKEY_WIRE_HELLO_LEN];
  m6ike_pfkey_wire_hello hello;
  int fd = m6e_unix_connect(path, wait_ms);
  if (fd < 0) {
    return -1;
  }
  hello.role = (m6ike_pfkey_role)role;
  hello.pid = (uint32_t)getpid();
  if (m6ike_pfkey_wire_hello_encode(&hello, h, sizeof(h)) != (int)sizeof(h) ||
      send(fd, h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
    close(fd);
    errno = EPROTO;
    return -1;
  }
  return fd;
}

/* ---- process plumbing --------------------------------------------------- */

int m6e_rand(uint8_t *dest, size_t len, void *user_data) {
  (void)user_data;
  while (len) {
    ssize_t r = getrandom(dest, len, 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) {
        continue;
      }
      return -1;
    }
    dest += r;
    len -= (size_t)r;
  }
  return 0;
}

static volatile sig_atomic_t *g_stop_flag;
static int g_wake_fd = -1;

static void on_stop_signal(int sig) {
  int e = errno;
  (void)sig;
  *g_stop_flag = 1;
  if (g_wake_fd >= 0) {
    ssize_t r = write(g_wake_fd, "x", 1);
    (void)r;
  }
  errno = e;
}

void m6e_stop_signals(volatile sig_atomic_t *stop, int wake_fd) {
  struct sigaction sa;
  g_stop_flag = stop;
  g_wake_fd = wake_fd;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int m6e_run_ip(FILE *ev, const char *fmt, ...) {
  char cmd[512];
  va_list ap;
  int rc;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  rc = system(cmd);
  if (rc != 0) {
    m6e_emit(ev, m6e_now_ns(), "HOST_ERROR cmd=\"%s\" rc=%d", cmd, rc);
  }
  return rc;
}

FILE *m6e_open_out(const char *prog, const char *path, const char *opt) {
  FILE *f;
  if (!path) {
    return NULL;
  }
  f = fopen(path, "a");
  if (!f) {
    fprintf(stderr, "%s: %s: %s: %s\n", prog, opt, path, strerror(errno));
    exit(2);
  }
  return f;
}
