/*
 * mip6ike-noded: ONE process per node hosting one m6ike_agent (mobile node
 * or home agent) over real sockets.  THE STEPPING STONE of issue 5: the
 * final shape is three daemons per node (mip6ike-mipd, mip6ike-iked,
 * mip6ike-ipsecd) talking only through PF_KEY over a Unix socket and the
 * MSRD in shared memory; until the agent is split into those parts
 * (branch wip/split) this daemon runs the same core composite the ns-3
 * host runs, with the kernel-facing I/O that the three-daemon version will
 * reuse: emu/netio (TUN, UDP with source selection, netlink, the IPv6
 * upper-layer walk) and the receive/send paths below, which take only the
 * node's descriptors.
 *
 * I/O (the kernel has no ESP and no Mobile IPv6):
 *  - in: an AF_PACKET socket hands every IPv6 packet the node receives,
 *    whole (extension headers included, as the agent wants them); those
 *    whose upper layer is ESP (50) or the Mobility Header (135) and whose
 *    destination is ours go to m6ike_agent_read_ip6.  The kernel must not
 *    see them too (it would answer the Home Address option and the type 2
 *    routing header, which it does not know, with ICMP errors): the runner
 *    drops them at tc ingress, which runs after packet taps.
 *  - out: a raw IPPROTO_RAW socket (the IPv6 header is ours).
 *  - IKE: UDP 500 and 4500, the source chosen per datagram (IPV6_PKTINFO).
 *  - the tunnel: a TUN device.  MN: the HoA lives on it (the runner routes
 *    traffic from the HoA into it); HA: a /128 route per registered HoA
 *    points into it, and proxy ND answers for the HoA on the home link.
 *  - MN movement detection: netlink RTM_NEWADDR / RTM_DELADDR.  A new
 *    global address on an access interface is logged as the movement
 *    (ADDR_NEW, still tentative), and becomes the CoA when the kernel's
 *    DAD is over (IFA_F_TENTATIVE cleared): m6ike_agent_set_coa.
 *
 * Time: the agent's m6ike_tstamp is CLOCK_REALTIME in ns, so that event
 * times line up with the runner's and the capture's clocks.
 *
 * Output (--events FILE, default stdout), one line per event:
 *   T EVENT key=value...      T = seconds since the epoch (ns precision)
 * EVENT: agent events (COA_SET, BU_SENT, BA_RECEIVED, BINDING_UPDATED,
 * IKE_STARTED, IKE_COMPLETED, SA_INSTALLED, SA_UPDATED, SA_READY, DROP),
 * the host's own (READY, LINK, ROUTE_RA, ADDR_NEW, ADDR_DEL, COA_READY,
 * HOST_ERROR, STATS, EXIT) and
 * HANDOVER lines: the agent's handover record (printed when it completes,
 * before the next set_coa and at exit; the last line of an index is the
 * final one).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "m6ike/agent.h"
#include "m6ike/crypto_openssl.h"
#include "netio.h"

#define PROG "mip6ike-noded"

typedef struct options {
  m6ike_agent_role role;
  m6ike_scheme scheme;
  m6ike_addr6 ha, hoa, prefix;
  unsigned plen;
  const char *psk, *tun, *home_if, *events, *keylog_ike, *keylog_esp;
  const char *ike_proposal, *esp_proposal;
  const char *local_id, *remote_id; /* NULL: the defaults below */
  unsigned lifetime;        /* MN: --lifetime (4-s units), 0 = default */
  unsigned reregister_after; /* MN: --reregister-after N, 0 = never */
  m6ike_addr6 mns[16]; /* HA: --mn HOA (provisioned MNs; static scheme) */
  unsigned nmns;
} options;

typedef struct node {
  options o;
  m6ike_agent *a;
  m6ike_crypto *crypto;
  int pkt_fd, raw_fd, udp_fd[2], tun_fd, nl_fd, sig_fd[2];
  int tun_ifindex;
  FILE *ev, *kl_ike, *kl_esp;
  m6ike_addr6 coa;     /* MN: current CoA (unspecified = none) */
  int have_coa;
  m6ike_addr6 seen[8]; /* MN: tentative addresses already logged */
  unsigned nseen;
  int printed_complete; /* MN: current record printed complete */
  m6ike_addr6 pending[16]; /* HA: HoAs to intercept (after the BA left) */
  unsigned npending;
  /* MN, --reregister-after: the agent's configuration (to make it anew),
   * whether the binding is registered, unanswered refresh BUs since. */
  m6ike_agent_config cfg;
  m6ike_agent_callbacks cbs;
  int registered;
  unsigned unanswered;
} node;

static volatile sig_atomic_t g_stop;
static int g_sig_wr = -1;

static void on_signal(int sig) {
  int e = errno;
  (void)sig;
  g_stop = 1;
  if (g_sig_wr >= 0) {
    ssize_t r = write(g_sig_wr, "x", 1);
    (void)r;
  }
  errno = e;
}

static m6ike_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (m6ike_tstamp)ts.tv_sec * 1000000000u + (m6ike_tstamp)ts.tv_nsec;
}

static void emit(node *n, m6ike_tstamp t, const char *fmt, ...) {
  va_list ap;
  fprintf(n->ev, "%llu.%09llu ", (unsigned long long)(t / 1000000000u),
          (unsigned long long)(t % 1000000000u));
  va_start(ap, fmt);
  vfprintf(n->ev, fmt, ap);
  va_end(ap);
  fputc('\n', n->ev);
  fflush(n->ev);
}

static const char *addr_s(const m6ike_addr6 *a, char *buf) {
  return m6ike_addr6_format(a, buf);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: " PROG " --role mn|ha --scheme NAME --ha ADDR\n"
          "         --home-prefix PREFIX/LEN --psk TEXT --tun NAME\n"
          "         [--hoa ADDR (mn)] [--home-if DEV (ha: proxy ND)]\n"
          "         [--mn HOA (ha, repeatable: provision an MN; the static\n"
          "          scheme's manual SAs)]\n"
          "         [--events FILE] [--keylog-ike FILE] [--keylog-esp FILE]\n"
          "         [--ike-proposal P] [--esp-proposal P]\n"
          "         [--local-id ID] [--remote-id ID] (IKE identities,\n"
          "          \"fqdn:..\", \"email:..\" or \"address\" = our address /\n"
          "          any peer; default fqdn:ha.example, email:mn@example)\n"
          "         [--lifetime UNITS (mn: requested binding lifetime, 4 s)]\n"
          "         [--reregister-after N (mn: after N unanswered binding\n"
          "          refresh retransmissions, the HA lost its state: a new\n"
          "          agent bootstraps from the CoA; 0 = never)]\n"
          "One Mobile IPv6 node (the core's m6ike_agent) over real sockets;\n"
          "the single-process stepping stone of the three-daemon split.\n"
          "Schemes: msrd renegotiate migrate migrate-kmaddress mobike "
          "static.\n");
}

static void die_arg(const char *opt, const char *why) {
  fprintf(stderr, PROG ": %s: %s\n", opt, why);
  exit(2);
}

static void parse(int argc, char **argv, options *o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->scheme = M6IKE_SCHEME_MSRD;
  for (i = 1; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
      usage(stdout);
      exit(0);
    }
    if (strncmp(k, "--", 2) != 0) {
      die_arg(k, "unexpected argument");
    }
    if (!v) {
      die_arg(k, "needs a value");
    }
    i++;
    if (!strcmp(k, "--role")) {
      if (!strcmp(v, "mn")) {
        o->role = M6IKE_AGENT_MN;
      } else if (!strcmp(v, "ha")) {
        o->role = M6IKE_AGENT_HA;
      } else {
        die_arg(k, "must be mn or ha");
      }
    } else if (!strcmp(k, "--scheme")) {
      if (m6ike_scheme_parse(v, &o->scheme) != 0) {
        die_arg(k, "unknown scheme");
      }
    } else if (!strcmp(k, "--ha")) {
      if (m6ike_addr6_parse(&o->ha, v) != 0) {
        die_arg(k, "not an IPv6 address");
      }
    } else if (!strcmp(k, "--hoa")) {
      if (m6ike_addr6_parse(&o->hoa, v) != 0) {
        die_arg(k, "not an IPv6 address");
      }
    } else if (!strcmp(k, "--home-prefix")) {
      char buf[64];
      const char *sl = strchr(v, '/');
      char *end;
      unsigned long l;
      if (!sl || (size_t)(sl - v) >= sizeof(buf)) {
        die_arg(k, "must be PREFIX/LEN");
      }
      memcpy(buf, v, (size_t)(sl - v));
      buf[sl - v] = 0;
      l = strtoul(sl + 1, &end, 10);
      if (m6ike_addr6_parse(&o->prefix, buf) != 0 || *end || l < 1 ||
          l > 128) {
        die_arg(k, "must be PREFIX/LEN (LEN 1..128)");
      }
      o->plen = (unsigned)l;
    } else if (!strcmp(k, "--psk")) {
      o->psk = v;
    } else if (!strcmp(k, "--tun")) {
      if (strlen(v) >= IFNAMSIZ) {
        die_arg(k, "interface name too long");
      }
      o->tun = v;
    } else if (!strcmp(k, "--mn")) {
      if (o->nmns == 16 || m6ike_addr6_parse(&o->mns[o->nmns], v) != 0) {
        die_arg(k, "not an IPv6 address (at most 16)");
      }
      o->nmns++;
    } else if (!strcmp(k, "--home-if")) {
      o->home_if = v;
    } else if (!strcmp(k, "--events")) {
      o->events = v;
    } else if (!strcmp(k, "--keylog-ike")) {
      o->keylog_ike = v;
    } else if (!strcmp(k, "--keylog-esp")) {
      o->keylog_esp = v;
    } else if (!strcmp(k, "--ike-proposal")) {
      o->ike_proposal = v;
    } else if (!strcmp(k, "--esp-proposal")) {
      o->esp_proposal = v;
    } else if (!strcmp(k, "--lifetime") || !strcmp(k, "--reregister-after")) {
      char *end;
      unsigned long l = strtoul(v, &end, 10);
      if (*end || !*v || l > 65535 || (l == 0 && k[2] == 'l')) {
        die_arg(k, "must be a whole number (lifetime 1..65535)");
      }
      if (k[2] == 'l') {
        o->lifetime = (unsigned)l;
      } else {
        o->reregister_after = (unsigned)l;
      }
    } else if (!strcmp(k, "--local-id")) {
      o->local_id = v;
    } else if (!strcmp(k, "--remote-id")) {
      o->remote_id = v;
    } else {
      die_arg(k, "unknown option");
    }
  }
  if (!o->role) {
    die_arg("--role", "missing");
  }
  if (m6ike_addr6_is_unspecified(&o->ha)) {
    die_arg("--ha", "missing");
  }
  if (!o->plen) {
    die_arg("--home-prefix", "missing");
  }
  if (!o->psk || !*o->psk) {
    die_arg("--psk", "missing");
  }
  if (!o->tun) {
    die_arg("--tun", "missing");
  }
  if (o->role == M6IKE_AGENT_MN && m6ike_addr6_is_unspecified(&o->hoa)) {
    die_arg("--hoa", "missing (mn)");
  }
  if (o->role == M6IKE_AGENT_HA && !o->home_if) {
    die_arg("--home-if", "missing (ha)");
  }
}

/* ---- helpers running ip(8) for the slow-path configuration ------------- */

static int run_ip(node *n, const char *fmt, ...) {
  char cmd[512];
  va_list ap;
  int rc;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof(cmd), fmt, ap);
  va_end(ap);
  rc = system(cmd);
  if (rc != 0) {
    emit(n, now_ns(), "HOST_ERROR cmd=\"%s\" rc=%d", cmd, rc);
  }
  return rc;
}

/* ---- sockets ------------------------------------------------------------ */

/* ---- agent callbacks ---------------------------------------------------- */

static int cb_rand(uint8_t *dest, size_t len, void *ud) {
  (void)ud;
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

static int cb_send_ip6(const uint8_t *pkt, size_t len, void *ud) {
  node *n = ud;
  struct sockaddr_in6 to;
  if (len < 40) {
    return -1;
  }
  memset(&to, 0, sizeof(to));
  to.sin6_family = AF_INET6;
  memcpy(&to.sin6_addr, pkt + 24, 16);
  if (sendto(n->raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) !=
      (ssize_t)len) {
    char b[M6IKE_ADDR6_STRLEN];
    emit(n, now_ns(), "HOST_ERROR send_ip6 dst=%s err=\"%s\"",
         inet_ntop(AF_INET6, pkt + 24, b, sizeof(b)), strerror(errno));
    return -1;
  }
  return 0;
}

static int cb_send_udp(const m6ike_ikev2_path *p, const uint8_t *buf,
                       size_t len, void *ud) {
  node *n = ud;
  struct sockaddr_in6 to;
  struct iovec iov = {(void *)buf, len};
  union {
    char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } c;
  struct msghdr mh;
  struct cmsghdr *cm;
  struct in6_pktinfo pi;
  int fd = p->local_port == 4500 ? n->udp_fd[1] : n->udp_fd[0];
  memset(&to, 0, sizeof(to));
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(p->remote_port);
  memcpy(&to.sin6_addr, p->remote.b, 16);
  memset(&mh, 0, sizeof(mh));
  memset(&c, 0, sizeof(c));
  mh.msg_name = &to;
  mh.msg_namelen = sizeof(to);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = c.b;
  mh.msg_controllen = sizeof(c.b);
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = IPPROTO_IPV6;
  cm->cmsg_type = IPV6_PKTINFO;
  cm->cmsg_len = CMSG_LEN(sizeof(pi));
  memset(&pi, 0, sizeof(pi));
  memcpy(&pi.ipi6_addr, p->local.b, 16);
  memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
  if (sendmsg(fd, &mh, 0) != (ssize_t)len) {
    char b[M6IKE_ADDR6_STRLEN];
    emit(n, now_ns(), "HOST_ERROR send_udp dst=%s err=\"%s\"",
         addr_s(&p->remote, b), strerror(errno));
    return -1;
  }
  return 0;
}

static int cb_deliver(const uint8_t *pkt, size_t len, void *ud) {
  node *n = ud;
  return write(n->tun_fd, pkt, len) == (ssize_t)len ? 0 : -1;
}

static const char *ev_name(m6ike_agent_event_kind k) {
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
  }
  return "?";
}

static void print_ts(char *buf, size_t cap, m6ike_tstamp t) {
  if (t == M6IKE_TSTAMP_UNSET) {
    snprintf(buf, cap, "-");
  } else {
    snprintf(buf, cap, "%llu.%09llu", (unsigned long long)(t / 1000000000u),
             (unsigned long long)(t % 1000000000u));
  }
}

static void print_handover(node *n) {
  m6ike_agent_handover h;
  char c[4][32], a[M6IKE_ADDR6_STRLEN], b[M6IKE_ADDR6_STRLEN];
  if (n->o.role != M6IKE_AGENT_MN || m6ike_agent_get_handover(n->a, &h) != 0) {
    return;
  }
  print_ts(c[0], sizeof(c[0]), h.coa_set);
  print_ts(c[1], sizeof(c[1]), h.bu_sent);
  print_ts(c[2], sizeof(c[2]), h.ba_received);
  print_ts(c[3], sizeof(c[3]), h.sa_ready);
  emit(n, now_ns(),
       "HANDOVER index=%u scheme=%s old_coa=%s coa=%s coa_set=%s bu_sent=%s "
       "ba_received=%s sa_ready=%s bu_count=%u ba_status=%d ike_msgs=%u "
       "ike_bytes=%llu ike_sa_init=%u ike_auth=%u create_child_sa=%u "
       "informational=%u complete=%d",
       h.index, m6ike_scheme_name(h.scheme), addr_s(&h.old_coa, a),
       addr_s(&h.coa, b), c[0], c[1], c[2], c[3], h.bu_count, h.ba_status,
       h.ike_msgs, (unsigned long long)h.ike_bytes,
       h.ike_msgs_x[M6IKE_IKEV2_X_IKE_SA_INIT],
       h.ike_msgs_x[M6IKE_IKEV2_X_IKE_AUTH],
       h.ike_msgs_x[M6IKE_IKEV2_X_CREATE_CHILD_SA],
       h.ike_msgs_x[M6IKE_IKEV2_X_INFORMATIONAL], h.complete);
}

static void cb_event(const m6ike_agent_event *e, void *ud) {
  node *n = ud;
  char h[M6IKE_ADDR6_STRLEN], c[M6IKE_ADDR6_STRLEN];
  emit(n, e->time,
       "%s mpi=%u hoa=%s coa=%s spi=0x%08x seq=%u status=%d", ev_name(e->kind),
       e->mpi, addr_s(&e->hoa, h), addr_s(&e->coa, c), e->spi, e->seq,
       e->status);
  if (e->kind == M6IKE_AGENT_EV_BA_RECEIVED) {
    n->registered = e->status < 128;
    n->unanswered = 0;
  } else if (e->kind == M6IKE_AGENT_EV_COA_SET) {
    n->registered = 0; /* a new registration, not a refresh */
    n->unanswered = 0;
  } else if (e->kind == M6IKE_AGENT_EV_BU_SENT && e->status == 1 &&
             n->registered) {
    n->unanswered++; /* a refresh BU retransmitted */
  }
  if (n->o.role == M6IKE_AGENT_HA &&
      e->kind == M6IKE_AGENT_EV_BINDING_UPDATED && e->status < 128) {
    /* Intercept the HoA, once the agent has returned (the BA goes
     * first; ip(8) takes milliseconds). */
    if (n->npending < 16) {
      n->pending[n->npending++] = e->hoa;
    }
  }
}

static void cb_log(int level, const char *msg, void *ud) {
  node *n = ud;
  emit(n, now_ns(), "LOG level=%d msg=\"%s\"", level, msg);
}

static void cb_keylog(int kind, const char *line, void *ud) {
  node *n = ud;
  FILE *f = kind == 0 ? n->kl_ike : n->kl_esp;
  if (f) {
    fprintf(f, "%s\n", line);
    fflush(f);
  }
}

/* ---- receive paths ------------------------------------------------------ */

static int is_ours(node *n, const uint8_t *dst) {
  if (n->o.role == M6IKE_AGENT_HA) {
    return !memcmp(dst, n->o.ha.b, 16);
  }
  return (n->have_coa && !memcmp(dst, n->coa.b, 16)) ||
         !memcmp(dst, n->o.hoa.b, 16);
}

static void on_packet(node *n) {
  uint8_t buf[65536];
  struct sockaddr_ll from;
  socklen_t fl = sizeof(from);
  for (;;) {
    ssize_t r = recvfrom(n->pkt_fd, buf, sizeof(buf), MSG_DONTWAIT,
                         (struct sockaddr *)&from, &fl);
    int up, rv;
    if (r < 0) {
      return;
    }
    if (from.sll_pkttype == PACKET_OUTGOING || r < 40 || (buf[0] >> 4) != 6 ||
        (int)from.sll_ifindex == n->tun_ifindex) {
      continue;
    }
    up = m6e_upper_proto(buf, (size_t)r);
    if ((up != 50 && up != 135) || !is_ours(n, buf + 24)) {
      continue;
    }
    rv = m6ike_agent_read_ip6(n->a, buf, (size_t)r, now_ns());
    (void)rv; /* drops are reported through EV_DROP */
  }
}

static void on_udp(node *n, int fd, uint16_t port) {
  uint8_t buf[65536];
  for (;;) {
    struct sockaddr_in6 from;
    struct iovec iov = {buf, sizeof(buf)};
    union {
      char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
      struct cmsghdr align;
    } c;
    struct msghdr mh;
    struct cmsghdr *cm;
    m6ike_ikev2_path p;
    ssize_t r;
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = &from;
    mh.msg_namelen = sizeof(from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = c.b;
    mh.msg_controllen = sizeof(c.b);
    r = recvmsg(fd, &mh, MSG_DONTWAIT);
    if (r < 0) {
      return;
    }
    memset(&p, 0, sizeof(p));
    for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
        memcpy(p.local.b, &pi.ipi6_addr, 16);
      }
    }
    memcpy(p.remote.b, &from.sin6_addr, 16);
    p.remote_port = ntohs(from.sin6_port);
    p.local_port = port;
    if (port == 4500) {
      /* RFC 3948: IKE after a four-octet non-ESP marker. */
      if (r < 4 || memcmp(buf, "\0\0\0\0", 4) != 0) {
        continue;
      }
      m6ike_agent_read_udp(n->a, &p, buf + 4, (size_t)r - 4, now_ns());
    } else {
      m6ike_agent_read_udp(n->a, &p, buf, (size_t)r, now_ns());
    }
  }
}

static void on_tun(node *n) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t r = read(n->tun_fd, buf, sizeof(buf));
    if (r <= 0) {
      return;
    }
    if ((buf[0] >> 4) != 6 || r < 40) {
      continue;
    }
    /* The kernel's own chatter on the TUN device (router solicitations,
     * MLD: link-local source or multicast destination) is not tunnelled;
     * MN: only the HoA's own traffic is reverse-tunnelled. */
    if (buf[24] == 0xff || (buf[8] == 0xfe && (buf[9] & 0xc0) == 0x80) ||
        (n->o.role == M6IKE_AGENT_MN && memcmp(buf + 8, n->o.hoa.b, 16))) {
      continue;
    }
    m6ike_agent_write_tunnel(n->a, buf, (size_t)r, now_ns());
  }
}

static int seen(node *n, const m6ike_addr6 *a, int add) {
  unsigned i;
  for (i = 0; i < n->nseen; i++) {
    if (m6ike_addr6_equal(&n->seen[i], a)) {
      return 1;
    }
  }
  if (add) {
    if (n->nseen == 8) {
      memmove(n->seen, n->seen + 1, 7 * sizeof(n->seen[0]));
      n->nseen = 7;
    }
    n->seen[n->nseen++] = *a;
  }
  return 0;
}

static void on_addr(node *n, const struct nlmsghdr *h) {
  const struct ifaddrmsg *m = NLMSG_DATA(h);
  const struct rtattr *rta;
  int alen = (int)IFA_PAYLOAD(h);
  uint32_t flags = m->ifa_flags;
  m6ike_addr6 a;
  int have = 0;
  char s[M6IKE_ADDR6_STRLEN], ifn[IF_NAMESIZE] = "?";
  m6ike_tstamp t = now_ns();
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
  if (!have || m6ike_addr6_equal(&a, &n->o.hoa)) {
    return;
  }
  if_indextoname(m->ifa_index, ifn);
  addr_s(&a, s);
  if (h->nlmsg_type == RTM_DELADDR) {
    emit(n, t, "ADDR_DEL dev=%s addr=%s", ifn, s);
    if (n->have_coa && m6ike_addr6_equal(&a, &n->coa)) {
      n->have_coa = 0;
    }
    return;
  }
  if (!seen(n, &a, 1)) {
    emit(n, t, "ADDR_NEW dev=%s addr=%s tentative=%d", ifn, s,
         (flags & IFA_F_TENTATIVE) != 0);
  }
  if ((flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)) ||
      (n->have_coa && m6ike_addr6_equal(&a, &n->coa))) {
    return;
  }
  /* A usable new global address: the new care-of address. */
  emit(n, t, "COA_READY dev=%s addr=%s", ifn, s);
  print_handover(n); /* the previous record, final */
  n->coa = a;
  n->have_coa = 1;
  n->printed_complete = 0;
  {
    int rv = m6ike_agent_set_coa(n->a, &a, now_ns());
    if (rv != 0) {
      emit(n, now_ns(), "HOST_ERROR set_coa rv=%d (%s)", rv,
           m6ike_strerror(rv));
    }
  }
}

/* A route the kernel learnt from a Router Advertisement (the default
 * route or an on-link prefix, protocol "ra") on an access interface: the
 * MN's L3 movement detection (RFC 6059's idea: a new router / prefix),
 * logged as ROUTE_RA; the CoA itself comes with the address after DAD. */
static void on_route(node *n, const struct nlmsghdr *h) {
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
  emit(n, now_ns(), "ROUTE_RA dev=%s dst=%s/%u", ifn, addr_s(&dst, s),
       m->rtm_dst_len);
}

static void on_netlink(node *n) {
  char buf[16384];
  for (;;) {
    ssize_t r = recv(n->nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
    struct nlmsghdr *h;
    int len;
    if (r <= 0) {
      return;
    }
    len = (int)r;
    for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
        if (n->o.role == M6IKE_AGENT_MN) {
          on_addr(n, h);
        }
      } else if (h->nlmsg_type == RTM_NEWROUTE &&
                 n->o.role == M6IKE_AGENT_MN) {
        on_route(n, h);
      } else if (h->nlmsg_type == RTM_NEWLINK) {
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        char ifn[IF_NAMESIZE] = "?";
        if ((int)ifi->ifi_index != n->tun_ifindex && ifi->ifi_index != 1) {
          if_indextoname((unsigned)ifi->ifi_index, ifn);
          emit(n, now_ns(), "LINK dev=%s up=%d running=%d", ifn,
               (ifi->ifi_flags & IFF_UP) != 0,
               (ifi->ifi_flags & IFF_RUNNING) != 0);
        }
      }
    }
  }
}

/* ---- the HA lost its state (--reregister-after) ------------------------- */

/* The binding refresh went unanswered reregister_after times: the HA no
 * longer has our binding nor our SAs (a restarted HA drops ESP for SPIs it
 * does not know, and answers IKE for an unknown IKE SA at most with an
 * unprotected INVALID_IKE_SPI that RFC 7296 section 2.21.4 forbids acting
 * on).  The core has no way to drop its SAs and bootstrap again from the
 * same CoA, so this host makes a new agent (empty MSRD, SAD and IKE
 * engine) and hands it the current CoA: IKE_SA_INIT + IKE_AUTH and a first
 * home registration, as at start. */
static void reregister(node *n) {
  m6ike_agent *fresh;
  int rv;
  emit(n, now_ns(), "HA_LOST unanswered=%u", n->unanswered);
  print_handover(n);
  n->unanswered = 0;
  n->registered = 0;
  rv = m6ike_agent_new(&fresh, &n->cfg, &n->cbs, n->crypto, NULL);
  if (rv != 0) {
    emit(n, now_ns(), "HOST_ERROR agent_new rv=%d (%s)", rv,
         m6ike_strerror(rv));
    return;
  }
  m6ike_agent_del(n->a);
  n->a = fresh;
  n->printed_complete = 0;
  emit(n, now_ns(), "REBOOTSTRAP have_coa=%d", n->have_coa);
  if (n->have_coa) {
    rv = m6ike_agent_set_coa(n->a, &n->coa, now_ns());
    if (rv != 0) {
      emit(n, now_ns(), "HOST_ERROR set_coa rv=%d (%s)", rv,
           m6ike_strerror(rv));
    }
  }
}

/* ---- main --------------------------------------------------------------- */

static FILE *open_out(const char *path, const char *opt) {
  FILE *f;
  if (!path) {
    return NULL;
  }
  f = fopen(path, "a");
  if (!f) {
    fprintf(stderr, PROG ": %s: %s: %s\n", opt, path, strerror(errno));
    exit(2);
  }
  return f;
}

int main(int argc, char **argv) {
  static node nd;
  node *n = &nd;
  m6ike_agent_config *cfgp = &n->cfg;
  m6ike_agent_callbacks *cbp = &n->cbs;
  struct sigaction sa;
  int rv, one = 1;
  char tb[M6IKE_ADDR6_STRLEN];

  parse(argc, argv, &n->o);
  n->ev = n->o.events ? open_out(n->o.events, "--events") : stdout;
  n->kl_ike = open_out(n->o.keylog_ike, "--keylog-ike");
  n->kl_esp = open_out(n->o.keylog_esp, "--keylog-esp");

  if (pipe2(n->sig_fd, O_NONBLOCK | O_CLOEXEC) != 0) {
    perror(PROG ": pipe");
    return 1;
  }
  g_sig_wr = n->sig_fd[1];
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  n->tun_fd = m6e_open_tun(n->o.tun);
  if (n->tun_fd < 0) {
    fprintf(stderr, PROG ": --tun: cannot create '%s': %s\n", n->o.tun,
            strerror(errno));
    return 1;
  }
  n->tun_ifindex = (int)if_nametoindex(n->o.tun);
  n->pkt_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     htons(ETH_P_IPV6));
  n->raw_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  n->udp_fd[0] = m6e_open_udp(500);
  n->udp_fd[1] = m6e_open_udp(4500);
  n->nl_fd = m6e_open_netlink();
  if (n->pkt_fd < 0 || n->raw_fd < 0 || n->udp_fd[0] < 0 ||
      n->udp_fd[1] < 0 || n->nl_fd < 0) {
    fprintf(stderr, PROG ": cannot open the node's sockets (root?): %s\n",
            strerror(errno));
    return 1;
  }
  setsockopt(n->raw_fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));

  rv = m6ike_crypto_openssl_new(&n->crypto, NULL);
  if (rv != 0) {
    fprintf(stderr, PROG ": crypto: %s\n", m6ike_strerror(rv));
    return 1;
  }
  m6ike_agent_config_default(cfgp, n->o.role);
  cfgp->scheme = n->o.scheme;
  cfgp->ha = n->o.ha;
  cfgp->hoa = n->o.hoa;
  cfgp->home_prefix = n->o.prefix;
  cfgp->home_plen = (uint8_t)n->o.plen;
  cfgp->psk = (const uint8_t *)n->o.psk;
  cfgp->psk_len = strlen(n->o.psk);
  cfgp->local_id = n->o.role == M6IKE_AGENT_HA ? "fqdn:ha.example"
                                             : "email:mn@example";
  cfgp->remote_id = n->o.role == M6IKE_AGENT_HA ? NULL : "fqdn:ha.example";
  if (n->o.local_id) {
    cfgp->local_id = strcmp(n->o.local_id, "address") ? n->o.local_id : NULL;
  }
  if (n->o.remote_id) {
    cfgp->remote_id = strcmp(n->o.remote_id, "address") ? n->o.remote_id : NULL;
  }
  if (n->o.lifetime) {
    cfgp->lifetime = (uint16_t)n->o.lifetime;
  }
  if (n->o.ike_proposal) {
    cfgp->ike_proposal = n->o.ike_proposal;
  }
  if (n->o.esp_proposal) {
    cfgp->esp_proposal = n->o.esp_proposal;
  }
  memset(cbp, 0, sizeof(*cbp));
  cbp->user_data = n;
  cbp->rand = cb_rand;
  cbp->send_ip6 = cb_send_ip6;
  cbp->send_udp = cb_send_udp;
  cbp->deliver_ip6 = cb_deliver;
  cbp->event = cb_event;
  cbp->log = cb_log;
  cbp->keylog = cb_keylog;
  rv = m6ike_agent_new(&n->a, cfgp, cbp, n->crypto, NULL);
  if (rv != 0) {
    fprintf(stderr, PROG ": agent: %s\n", m6ike_strerror(rv));
    return 1;
  }
  for (unsigned i = 0; n->o.role == M6IKE_AGENT_HA && i < n->o.nmns; i++) {
    rv = m6ike_agent_add_mn(n->a, &n->o.mns[i], now_ns());
    if (rv != 0) {
      fprintf(stderr, PROG ": --mn %s: %s\n", addr_s(&n->o.mns[i], tb),
              m6ike_strerror(rv));
      return 1;
    }
  }
  if (n->o.role == M6IKE_AGENT_MN) {
    run_ip(n, "ip -6 addr replace %s/128 dev %s nodad", addr_s(&n->o.hoa, tb),
           n->o.tun);
  }
  emit(n, now_ns(), "READY role=%s scheme=%s tun=%s",
       n->o.role == M6IKE_AGENT_MN ? "mn" : "ha",
       m6ike_scheme_name(n->o.scheme), n->o.tun);
  if (n->o.role == M6IKE_AGENT_MN) {
    m6e_netlink_dump_addrs(n->nl_fd);
  }

  while (!g_stop) {
    struct pollfd p[6];
    m6ike_tstamp exp = m6ike_agent_get_expiry(n->a), t = now_ns();
    int timeout = -1;
    m6ike_agent_handover h;
    if (exp != M6IKE_TSTAMP_UNSET) {
      timeout = exp <= t ? 0 : (int)((exp - t) / 1000000u) + 1;
    }
    p[0].fd = n->pkt_fd;
    p[1].fd = n->udp_fd[0];
    p[2].fd = n->udp_fd[1];
    p[3].fd = n->tun_fd;
    p[4].fd = n->nl_fd;
    p[5].fd = n->sig_fd[0];
    for (int i = 0; i < 6; i++) {
      p[i].events = POLLIN;
      p[i].revents = 0;
    }
    if (poll(p, 6, timeout) < 0 && errno != EINTR) {
      perror(PROG ": poll");
      break;
    }
    if (p[0].revents & POLLIN) {
      on_packet(n);
    }
    if (p[1].revents & POLLIN) {
      on_udp(n, n->udp_fd[0], 500);
    }
    if (p[2].revents & POLLIN) {
      on_udp(n, n->udp_fd[1], 4500);
    }
    if (p[3].revents & POLLIN) {
      on_tun(n);
    }
    if (p[4].revents & POLLIN) {
      on_netlink(n);
    }
    t = now_ns();
    exp = m6ike_agent_get_expiry(n->a);
    if (exp != M6IKE_TSTAMP_UNSET && exp <= t) {
      rv = m6ike_agent_handle_expiry(n->a, t);
      if (rv == M6IKE_ERR_NOMEM) {
        fprintf(stderr, PROG ": out of memory\n");
        break;
      }
    }
    for (unsigned i = 0; i < n->npending; i++) {
      /* proxy ND on the home link and a route into the tunnel
       * (idempotent: replace) */
      addr_s(&n->pending[i], tb);
      run_ip(n, "ip -6 neigh replace proxy %s dev %s", tb, n->o.home_if);
      run_ip(n, "ip -6 route replace %s/128 dev %s", tb, n->o.tun);
    }
    n->npending = 0;
    if (n->o.role == M6IKE_AGENT_MN && n->o.reregister_after &&
        n->unanswered >= n->o.reregister_after) {
      reregister(n);
    }
    if (n->o.role == M6IKE_AGENT_MN && !n->printed_complete &&
        m6ike_agent_get_handover(n->a, &h) == 0 && h.complete) {
      print_handover(n);
      n->printed_complete = 1;
    }
  }
  print_handover(n);
  {
    m6ike_agent_stats st;
    m6ike_agent_get_stats(n->a, &st);
    emit(n, now_ns(),
         "STATS bu_sent=%llu bu_retransmits=%llu ba_received=%llu "
         "bu_received=%llu ba_sent=%llu esp_in=%llu esp_out=%llu "
         "tunnel_in=%llu tunnel_out=%llu drop_no_sa=%llu drop_esp=%llu "
         "drop_malformed=%llu drop_no_binding=%llu drop_unprotected=%llu "
         "drop_not_handled=%llu drop_send=%llu ike_dropped=%llu",
         (unsigned long long)st.bu_sent, (unsigned long long)st.bu_retransmits,
         (unsigned long long)st.ba_received,
         (unsigned long long)st.bu_received, (unsigned long long)st.ba_sent,
         (unsigned long long)st.esp_in, (unsigned long long)st.esp_out,
         (unsigned long long)st.tunnel_in, (unsigned long long)st.tunnel_out,
         (unsigned long long)st.drop_no_sa, (unsigned long long)st.drop_esp,
         (unsigned long long)st.drop_malformed,
         (unsigned long long)st.drop_no_binding,
         (unsigned long long)st.drop_unprotected,
         (unsigned long long)st.drop_not_handled,
         (unsigned long long)st.drop_send,
         (unsigned long long)st.ike_dropped);
  }
  m6ike_agent_del(n->a);
  m6ike_crypto_del(n->crypto);
  emit(n, now_ns(), "EXIT");
  return 0;
}
