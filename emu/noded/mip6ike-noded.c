/*
 * mip6ike-noded: ONE process per node hosting one m6ike_agent (mobile node
 * or home agent) over real sockets: the single-process variant of the
 * emulation (emu-run.sh --set arch=one).  The main paper's architecture
 * is the three daemons per node (mip6ike-ipsecd, mip6ike-mipd,
 * mip6ike-iked --pfkey; arch=three, the default) talking only through
 * PF_KEY over a Unix socket and the MSRD in shared memory; this daemon
 * runs the same core composite the ns-3 host runs, over the same
 * kernel-facing I/O (emu/netio: TUN, packet/raw sockets, UDP with source
 * selection, the netlink movement detection, the event lines), which is
 * what makes the two comparable row by row.
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
#include "nodeopts.h"

#define PROG "mip6ike-noded"

typedef struct options {
  union { /* the shared options (netio/nodeopts.h) under their own names */
    m6e_nodeopts common;
    struct {
      M6E_NODEOPTS_FIELDS
    };
  };
  unsigned lifetime;        /* MN: --lifetime (4-s units), 0 = default */
  unsigned reregister_after; /* MN: --reregister-after N (the core's
                                cfg.ha_lost_after), 0 = never */
  unsigned liveness;        /* --liveness S (the core's cfg.liveness_s),
                               0 = off */
} options;

typedef struct node {
  options o;
  m6ike_agent *a;
  m6ike_crypto *crypto;
  int pkt_fd, raw_fd, udp_fd[2], tun_fd, nl_fd, sig_fd[2];
  int tun_ifindex;
  FILE *ev, *kl_ike, *kl_esp;
  m6e_movement md;     /* MN: movement detection (netio), current CoA */
  int printed_complete; /* MN: current record printed complete */
  m6ike_addr6 pending[16]; /* HA: HoAs to intercept (after the BA left) */
  unsigned npending;
  m6ike_agent_config cfg;
  m6ike_agent_callbacks cbs;
} node;

static volatile sig_atomic_t g_stop;

#define now_ns m6e_now_ns
#define emit(n, t, ...) m6e_emit((n)->ev, (t), __VA_ARGS__)

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
          "          refresh retransmissions the HA lost its state: the core\n"
          "          registers anew from the CoA with a new IKE SA\n"
          "          (cfg.ha_lost_after); 0 = never)]\n"
          "         [--liveness S (IKE liveness check after S s without\n"
          "          traffic; an unanswered check deletes the IKE SA and\n"
          "          its SAs (cfg.liveness_s); 0 = off)]\n"
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
  int i = 0;
  const char *k, *v;
  m6e_nodeopts_init(&o->common, M6E_NODEOPT_TUN | M6E_NODEOPT_IKE);
  while (m6e_nodeopts_next(argc, argv, &i, PROG, usage, &k, &v)) {
    if (m6e_nodeopts_take(&o->common, PROG, k, v)) {
      continue;
    }
    if (!strcmp(k, "--lifetime") || !strcmp(k, "--reregister-after") ||
        !strcmp(k, "--liveness")) {
      char *end;
      unsigned long l = strtoul(v, &end, 10);
      int lt = !strcmp(k, "--lifetime");
      if (*end || !*v || l > 65535 || (l == 0 && lt)) {
        die_arg(k, "must be a whole number (lifetime 1..65535)");
      }
      if (lt) {
        o->lifetime = (unsigned)l;
      } else if (k[3] == 'e') {
        o->reregister_after = (unsigned)l;
      } else {
        o->liveness = (unsigned)l;
      }
    } else {
      die_arg(k, "unknown option");
    }
  }
  m6e_nodeopts_check(&o->common, PROG);
  if (!o->psk[0]) {
    die_arg("--psk", "missing");
  }
  if (!o->tun) {
    die_arg("--tun", "missing");
  }
}

/* ---- sockets ------------------------------------------------------------ */

/* ---- agent callbacks ---------------------------------------------------- */

static int cb_send_ip6(const uint8_t *pkt, size_t len, void *ud) {
  node *n = ud;
  if (m6e_send_ip6(n->raw_fd, pkt, len) != 0) {
    char b[M6IKE_ADDR6_STRLEN];
    emit(n, now_ns(), "HOST_ERROR send_ip6 dst=%s err=\"%s\"",
         len >= 40 ? inet_ntop(AF_INET6, pkt + 24, b, sizeof(b)) : "?",
         strerror(errno));
    return -1;
  }
  return 0;
}

static int cb_send_udp(const m6ike_ikev2_path *p, const uint8_t *buf,
                       size_t len, void *ud) {
  node *n = ud;
  int fd = p->local_port == 4500 ? n->udp_fd[1] : n->udp_fd[0];
  if (m6e_udp_send(fd, p, buf, len) != 0) {
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

static void print_handover(node *n) {
  m6ike_agent_handover h;
  if (n->o.role == M6IKE_AGENT_MN && m6ike_agent_get_handover(n->a, &h) == 0) {
    m6e_emit_handover(n->ev, &h);
  }
}

static void cb_event(const m6ike_agent_event *e, void *ud) {
  node *n = ud;
  m6e_emit_agent_event(n->ev, e);
  if (e->kind == M6IKE_AGENT_EV_HA_LOST) {
    n->printed_complete = 0; /* the core starts a new record */
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
  return (n->md.have_coa && !memcmp(dst, n->md.coa.b, 16)) ||
         !memcmp(dst, n->o.hoa.b, 16);
}

static void on_packet(node *n) {
  uint8_t buf[65536];
  ssize_t r;
  int ifindex, up;
  while ((r = m6e_packet_recv(n->pkt_fd, buf, sizeof(buf), &ifindex)) >= 0) {
    if (r < 40 || (buf[0] >> 4) != 6 || ifindex == n->tun_ifindex) {
      continue;
    }
    up = m6e_upper_proto(buf, (size_t)r);
    if ((up != 50 && up != 135) || !is_ours(n, buf + 24)) {
      continue;
    }
    /* drops are reported through EV_DROP */
    (void)m6ike_agent_read_ip6(n->a, buf, (size_t)r, now_ns());
  }
}

static void on_udp(node *n, int fd, uint16_t port) {
  uint8_t buf[65536];
  m6ike_ikev2_path p;
  ssize_t r;
  while ((r = m6e_udp_recv(fd, port, buf, sizeof(buf), &p)) >= 0) {
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

/* Movement detection (netio) found a usable new CoA. */
static void on_coa_ready(const m6ike_addr6 *coa, void *ud) {
  node *n = ud;
  int rv;
  print_handover(n); /* the previous record, final */
  n->printed_complete = 0;
  rv = m6ike_agent_set_coa(n->a, coa, now_ns());
  if (rv != 0) {
    emit(n, now_ns(), "HOST_ERROR set_coa rv=%d (%s)", rv, m6ike_strerror(rv));
  }
}

/* ---- main --------------------------------------------------------------- */


int main(int argc, char **argv) {
  static node nd;
  node *n = &nd;
  m6ike_agent_config *cfgp = &n->cfg;
  m6ike_agent_callbacks *cbp = &n->cbs;
  int rv;
  char tb[M6IKE_ADDR6_STRLEN];

  parse(argc, argv, &n->o);
  n->ev = n->o.events ? m6e_open_out(PROG, n->o.events, "--events") : stdout;
  n->kl_ike = m6e_open_out(PROG, n->o.keylog_ike, "--keylog-ike");
  n->kl_esp = m6e_open_out(PROG, n->o.keylog_esp, "--keylog-esp");

  if (pipe2(n->sig_fd, O_NONBLOCK | O_CLOEXEC) != 0) {
    perror(PROG ": pipe");
    return 1;
  }
  m6e_stop_signals(&g_stop, n->sig_fd[1]);

  n->tun_fd = m6e_open_tun(n->o.tun);
  if (n->tun_fd < 0) {
    fprintf(stderr, PROG ": --tun: cannot create '%s': %s\n", n->o.tun,
            strerror(errno));
    return 1;
  }
  n->tun_ifindex = (int)if_nametoindex(n->o.tun);
  n->md.ev = n->ev;
  n->md.tun_ifindex = n->tun_ifindex;
  n->md.mn = n->o.role == M6IKE_AGENT_MN;
  n->md.hoa = n->o.hoa;
  n->md.coa_ready = on_coa_ready;
  n->md.user_data = n;
  n->pkt_fd = m6e_open_packet();
  n->raw_fd = m6e_open_raw();
  n->udp_fd[0] = m6e_open_udp(500);
  n->udp_fd[1] = m6e_open_udp(4500);
  n->nl_fd = m6e_open_netlink();
  if (n->pkt_fd < 0 || n->raw_fd < 0 || n->udp_fd[0] < 0 ||
      n->udp_fd[1] < 0 || n->nl_fd < 0) {
    fprintf(stderr, PROG ": cannot open the node's sockets (root?): %s\n",
            strerror(errno));
    return 1;
  }

  rv = m6ike_crypto_openssl_new(&n->crypto, NULL);
  if (rv != 0) {
    fprintf(stderr, PROG ": crypto: %s\n", m6ike_strerror(rv));
    return 1;
  }
  m6e_nodeopts_agent_config(&n->o.common, cfgp);
  if (n->o.lifetime) {
    cfgp->lifetime = (uint16_t)n->o.lifetime;
  }
  cfgp->ha_lost_after = n->o.role == M6IKE_AGENT_MN ? n->o.reregister_after : 0;
  cfgp->liveness_s = n->o.liveness;
  memset(cbp, 0, sizeof(*cbp));
  cbp->user_data = n;
  cbp->rand = m6e_rand;
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
    m6e_run_ip(n->ev, "ip -6 addr replace %s/128 dev %s nodad",
               addr_s(&n->o.hoa, tb), n->o.tun);
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
      m6e_movement_netlink(&n->md, n->nl_fd);
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
      m6e_run_ip(n->ev, "ip -6 neigh replace proxy %s dev %s", tb,
                 n->o.home_if);
      m6e_run_ip(n->ev, "ip -6 route replace %s/128 dev %s", tb, n->o.tun);
    }
    n->npending = 0;
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
