/*
 * m6ike-inproc-handover: the in-process experiment.
 *
 * A mobile node (MN) and its home agent (HA), each one m6ike_agent: the
 * composite of the main paper's architecture (Xu et al., Fig. 1-5) --
 * mobility side (binding update list / binding cache, the only writer of
 * the node's MSRD), PF_KEY bus, the "kernel" IPsec (SPD, SAD, ESP) and the
 * IKEv2 key manager attached to the bus.  This program is only the host:
 * it carries the agents' IPv6 packets and IKE datagrams over a
 * virtual-time link (one-way delay, loss), tells the MN its care-of
 * address, and runs the clock.
 *
 * The MN bootstraps in a foreign network (IKE from the CoA with the HoA in
 * TSi, then the first home registration under ESP), hands over to a
 * second foreign network in the way --scheme says (the main paper's MSRD
 * direct update, a stock re-negotiation, PF_KEY MIGRATE with or without
 * KMADDRESS, MOBIKE, or static keys), and optionally returns home.  Every
 * event is printed with its simulated time; the summary's figures are the
 * agents' own handover records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/agent.h"
#include "m6ike/common.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/mh.h"
#include "vlink.h"

#define PKT_MAX 16384

/* ---- options ------------------------------------------------------------ */

typedef struct options {
  double delay_ms;       /* one-way MN-HA delay */
  double loss;           /* per-packet loss probability */
  uint64_t seed;         /* PRNG seed (losses, MPIs, initial sequence) */
  double lifetime_s;     /* requested binding lifetime */
  double handover_at_s;  /* L2 handover from network 1 to network 2 */
  double l2_gap_ms;      /* link down during the L2 handover */
  double md_ms;          /* movement detection + CoA configuration */
  double return_home_s;  /* 0 = stay away */
  double duration_s;     /* end of the run */
  unsigned drop_ba[3];   /* drop the first N BAs of each phase */
  int quiet;
  m6ike_scheme scheme;   /* how IPsec follows the move */
  int openssl;           /* real cryptography (default) or the NULL backend */
  int bu_on_sa_up;       /* renegotiate: BU as soon as the SAs are up */
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: m6ike-inproc-handover [options]\n"
          "  --delay-ms MS        one-way MN-HA delay (default 10)\n"
          "  --loss P             packet loss probability 0..1 (default 0)\n"
          "  --seed N             random seed (default 1)\n"
          "  --lifetime S         requested binding lifetime (default 420)\n"
          "  --handover-at S      L2 handover time (default 5)\n"
          "  --l2-gap-ms MS       link outage during handover (default 50)\n"
          "  --md-ms MS           movement detection + CoA setup (default "
          "100)\n"
          "  --return-home-at S   return home at S (default: never)\n"
          "  --duration S         end of the run (default 10)\n"
          "  --drop-bootstrap-ba N  drop the first N Binding Acks of the "
          "bootstrap\n"
          "  --drop-handover-ba N   ... of the handover\n"
          "  --drop-home-ba N       ... of the return home\n"
          "  --scheme NAME        msrd (default), renegotiate, migrate,\n"
          "                       migrate-kmaddress, mobike, static\n"
          "  --crypto NAME        openssl (default) or null\n"
          "  --bu-on-sa-up        renegotiate: send the BU as soon as the SAs\n"
          "                       are up (default: stock, the BU timer)\n"
          "  --quiet              print the summary only\n");
}

/* Parses a number; on error names the option and the value. */
static int parse_num(const char *opt, const char *val, double lo, double hi,
                     double *out) {
  char *end;
  double v;
  if (val == NULL) {
    fprintf(stderr, "m6ike-inproc-handover: %s needs a value\n", opt);
    return -1;
  }
  errno = 0;
  v = strtod(val, &end);
  if (errno || end == val || *end != '\0' || !(v >= lo && v <= hi)) {
    fprintf(stderr,
            "m6ike-inproc-handover: %s: bad value '%s' (expected a number "
            "in [%g, %g])\n",
            opt, val, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof(*o));
  o->delay_ms = 10;
  o->seed = 1;
  o->lifetime_s = 420;
  o->handover_at_s = 5;
  o->l2_gap_ms = 50;
  o->md_ms = 100;
  o->duration_s = 10;
  o->scheme = M6IKE_SCHEME_MSRD;
  o->openssl = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    double d;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--quiet") == 0) {
      o->quiet = 1;
      continue;
    } else if (strcmp(a, "--bu-on-sa-up") == 0) {
      o->bu_on_sa_up = 1;
      continue;
    } else if (strcmp(a, "--scheme") == 0) {
      if (v == NULL || m6ike_scheme_parse(v, &o->scheme) != 0) {
        fprintf(stderr,
                "m6ike-inproc-handover: --scheme: bad value '%s' (expected "
                "msrd, renegotiate, migrate, migrate-kmaddress, mobike or "
                "static)\n",
                v ? v : "");
        return -1;
      }
    } else if (strcmp(a, "--crypto") == 0) {
      if (v != NULL && strcmp(v, "openssl") == 0) {
        o->openssl = 1;
      } else if (v != NULL && strcmp(v, "null") == 0) {
        o->openssl = 0;
      } else {
        fprintf(stderr,
                "m6ike-inproc-handover: --crypto: bad value '%s' (expected "
                "openssl or null)\n",
                v ? v : "");
        return -1;
      }
    } else if (strcmp(a, "--delay-ms") == 0) {
      if (parse_num(a, v, 0, 10000, &o->delay_ms)) return -1;
    } else if (strcmp(a, "--loss") == 0) {
      if (parse_num(a, v, 0, 1, &o->loss)) return -1;
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_num(a, v, 0, 4294967295.0, &d)) return -1;
      o->seed = (uint64_t)d;
    } else if (strcmp(a, "--lifetime") == 0) {
      if (parse_num(a, v, 4, 262140, &o->lifetime_s)) return -1;
    } else if (strcmp(a, "--handover-at") == 0) {
      if (parse_num(a, v, 0, 1e6, &o->handover_at_s)) return -1;
    } else if (strcmp(a, "--l2-gap-ms") == 0) {
      if (parse_num(a, v, 0, 1e6, &o->l2_gap_ms)) return -1;
    } else if (strcmp(a, "--md-ms") == 0) {
      if (parse_num(a, v, 0, 1e6, &o->md_ms)) return -1;
    } else if (strcmp(a, "--return-home-at") == 0) {
      if (parse_num(a, v, 0, 1e6, &o->return_home_s)) return -1;
    } else if (strcmp(a, "--duration") == 0) {
      if (parse_num(a, v, 0, 1e6, &o->duration_s)) return -1;
    } else if (strcmp(a, "--drop-bootstrap-ba") == 0 ||
               strcmp(a, "--drop-handover-ba") == 0 ||
               strcmp(a, "--drop-home-ba") == 0) {
      int ph = strcmp(a, "--drop-bootstrap-ba") == 0  ? 0
               : strcmp(a, "--drop-handover-ba") == 0 ? 1
                                                       : 2;
      if (parse_num(a, v, 0, 1000, &d)) return -1;
      o->drop_ba[ph] = (unsigned)d;
    } else {
      fprintf(stderr, "m6ike-inproc-handover: unknown option '%s' (try --help)\n",
              a);
      return -1;
    }
    i++;
  }
  if (o->return_home_s > 0 && o->return_home_s <= o->handover_at_s) {
    fprintf(stderr,
            "m6ike-inproc-handover: --return-home-at: bad value '%g' (must "
            "be after --handover-at %g)\n",
            o->return_home_s, o->handover_at_s);
    return -1;
  }
  return 0;
}

/* ---- the experiment ------------------------------------------------------ */

static m6ike_tstamp ms_to_ts(double ms) {
  return (m6ike_tstamp)(ms * 1e6 + 0.5);
}
static double ts_to_s(m6ike_tstamp t) { return (double)t / 1e9; }

/* Deterministic randomness for the agents (the sans-I/O rand callback). */
static int rand_cb(uint8_t *dest, size_t len, void *user_data);

typedef struct exp exp;

/* One node: its agent and what the host knows about it. */
typedef struct node {
  exp *e;
  const char *name;
  int is_ha;
  m6ike_agent *a;
  uint64_t rng;
  int next_is_ba; /* HA: the next packet it sends is a BA */
} node;

struct exp {
  options opt;
  m6ike_tstamp now;
  m6ike_vlink *link; /* AB = MN -> HA, BA = HA -> MN */
  node mn, ha;
  m6ike_addr6 hoa, ha_addr, coa1, coa2;
  m6ike_addr6 mn_addr; /* where the MN is reachable now */
  int attached;        /* L2 up and an address configured */
  m6ike_tstamp l2[3];  /* per phase: L2 handover start */
  m6ike_agent_handover rec[3];
  int have_rec[3];
  int phase;
  unsigned ba_dropped, ike_pkts;
  unsigned delivered;  /* payload packets the MN received via the tunnel */
  int failed;
};

static int rand_cb(uint8_t *dest, size_t len, void *user_data) {
  node *n = user_data;
  for (size_t i = 0; i < len; i++) {
    uint64_t x = n->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    n->rng = x;
    dest[i] = (uint8_t)((x * 0x2545F4914F6CDD1DULL) >> 56);
  }
  return 0;
}

static void logf_(exp *e, const char *who, const char *fmt, ...) {
  va_list ap;
  if (e->opt.quiet) {
    return;
  }
  printf("%11.6f  %-9s ", ts_to_s(e->now), who);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

static const char *fmt_addr(const m6ike_addr6 *a, char *buf) {
  return m6ike_addr6_format(a, buf);
}

/* ---- frames on the link: kind 0 = IPv6 packet, 1 = IKE datagram ---------- */

static void send_frame(node *from, int kind, const m6ike_ikev2_path *path,
                       const uint8_t *data, size_t len) {
  exp *e = from->e;
  uint8_t buf[PKT_MAX + 64];
  m6ike_ikev2_path p;
  if (len > PKT_MAX) {
    return;
  }
  memset(&p, 0, sizeof(p));
  if (path) {
    p = *path;
  }
  buf[0] = (uint8_t)kind;
  memcpy(buf + 1, &p, sizeof(p));
  memcpy(buf + 1 + sizeof(p), data, len);
  int dir = from->is_ha ? M6IKE_VLINK_BA : M6IKE_VLINK_AB;
  if (from->is_ha && kind == 0 && from->next_is_ba) {
    from->next_is_ba = 0;
    if (e->opt.drop_ba[e->phase] > 0) {
      e->opt.drop_ba[e->phase]--;
      e->ba_dropped++;
      logf_(e, "HA", "BA dropped (fault injection)");
      return;
    }
  }
  m6ike_vlink_send(e->link, dir, buf, 1 + sizeof(p) + len, e->now);
}

static const char *xname(const uint8_t *d, size_t len) {
  static const char *names[] = {"IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA",
                                "INFORMATIONAL"};
  if (len < 28) {
    return "?";
  }
  int x = d[18] - 34;
  return x >= 0 && x < 4 ? names[x] : "?";
}

static int cb_send_ip6(const uint8_t *pkt, size_t len, void *ud) {
  send_frame(ud, 0, NULL, pkt, len);
  return 0;
}

static int cb_send_udp(const m6ike_ikev2_path *path, const uint8_t *buf,
                       size_t len, void *ud) {
  node *n = ud;
  n->e->ike_pkts++;
  logf_(n->e, n->is_ha ? "HA -> MN" : "MN -> HA", "IKE %s %s (%zu octets)",
        xname(buf, len), len >= 20 && (buf[19] & 0x20) ? "response" : "request",
        len);
  send_frame(n, 1, path, buf, len);
  return 0;
}

static int cb_deliver(const uint8_t *pkt, size_t len, void *ud) {
  node *n = ud;
  (void)pkt;
  if (!n->is_ha) {
    n->e->delivered++;
  }
  logf_(n->e, n->name, "payload out of the tunnel (%zu octets)", len);
  return 0;
}

static void cb_event(const m6ike_agent_event *ev, void *ud) {
  node *n = ud;
  exp *e = n->e;
  char a[M6IKE_ADDR6_STRLEN], b[M6IKE_ADDR6_STRLEN];
  switch (ev->kind) {
  case M6IKE_AGENT_EV_COA_SET:
    logf_(e, n->name, "care-of address %s: mobility side writes the MSRD",
          fmt_addr(&ev->coa, a));
    break;
  case M6IKE_AGENT_EV_BU_SENT:
    logf_(e, "MN -> HA", "BU seq=%u%s from %s (HAO %s, ESP)", ev->seq,
          ev->status ? " (retransmission)" : "", fmt_addr(&ev->coa, a),
          fmt_addr(&ev->hoa, b));
    break;
  case M6IKE_AGENT_EV_BA_RECEIVED:
    logf_(e, "MN", "BA seq=%u status %d accepted", ev->seq, ev->status);
    break;
  case M6IKE_AGENT_EV_BINDING_UPDATED:
    n->next_is_ba = 1;
    logf_(e, "HA", "binding %s -> %s (seq %u, BA status %d)",
          fmt_addr(&ev->hoa, a), fmt_addr(&ev->coa, b), ev->seq, ev->status);
    break;
  case M6IKE_AGENT_EV_IKE_STARTED:
    logf_(e, n->name, "key manager asked to follow the move (mpi %u)",
          ev->mpi);
    break;
  case M6IKE_AGENT_EV_IKE_COMPLETED:
    logf_(e, n->name, "key manager done: %s",
          ev->status ? m6ike_strerror(ev->status) : "ok");
    break;
  case M6IKE_AGENT_EV_SA_INSTALLED:
    logf_(e, n->name, "ESP SA %08x installed", ev->spi);
    break;
  case M6IKE_AGENT_EV_SA_UPDATED:
    logf_(e, n->name, "ESP SA %08x moved in place", ev->spi);
    break;
  case M6IKE_AGENT_EV_SA_READY:
    logf_(e, n->name, "every SA needed at %s is ready", fmt_addr(&ev->coa, a));
    break;
  case M6IKE_AGENT_EV_DROP:
    logf_(e, n->name, "packet dropped: %s", m6ike_strerror(ev->status));
    break;
  case M6IKE_AGENT_EV_HA_LOST:
    logf_(e, n->name, "home agent lost: registering anew from %s",
          fmt_addr(&ev->coa, a));
    break;
  }
}

static void cb_log(int level, const char *msg, void *ud) {
  node *n = ud;
  if (level <= M6IKE_IKEV2_LOG_INFO) {
    logf_(n->e, n->name, "%s", msg);
  }
}

static int node_init(exp *e, node *n, const char *name, int is_ha,
                     const m6ike_crypto *crypto) {
  static const char psk[] = "mip6ike in-process example key";
  m6ike_agent_config c;
  m6ike_agent_callbacks cb;
  n->e = e;
  n->name = name;
  n->is_ha = is_ha;
  n->rng = e->opt.seed * 0x9E3779B97F4A7C15ULL + 1 + (uint64_t)is_ha;
  m6ike_agent_config_default(&c, is_ha ? M6IKE_AGENT_HA : M6IKE_AGENT_MN);
  c.scheme = e->opt.scheme;
  c.ha = e->ha_addr;
  c.hoa = e->hoa;
  c.home_prefix = e->ha_addr;
  c.home_plen = 64;
  c.psk = (const uint8_t *)psk;
  c.psk_len = sizeof(psk) - 1;
  c.local_id = is_ha ? "fqdn:ha.example" : "email:mn@example";
  c.remote_id = is_ha ? NULL : "fqdn:ha.example";
  c.bu_on_sa_up = e->opt.bu_on_sa_up;
  if (!is_ha) {
    c.lifetime = (uint16_t)(e->opt.lifetime_s / M6IKE_MH_LIFETIME_UNIT_S);
  }
  memset(&cb, 0, sizeof(cb));
  cb.user_data = n;
  cb.rand = rand_cb;
  cb.send_ip6 = cb_send_ip6;
  cb.send_udp = cb_send_udp;
  cb.deliver_ip6 = cb_deliver;
  cb.event = cb_event;
  cb.log = cb_log;
  int rv = m6ike_agent_new(&n->a, &c, &cb, crypto, NULL);
  if (rv == 0 && is_ha) {
    rv = m6ike_agent_add_mn(n->a, &e->hoa, 0);
  }
  return rv;
}

/* The host's view of the MN's address: frames to anything else are lost. */
static void mn_new_address(exp *e, const m6ike_addr6 *addr) {
  char c[M6IKE_ADDR6_STRLEN];
  int home = m6ike_addr6_equal(addr, &e->hoa);
  e->mn_addr = *addr;
  logf_(e, "MN", "%s %s (movement detected)",
        home ? "back home: address" : "care-of address", fmt_addr(addr, c));
  int rv = m6ike_agent_set_coa(e->mn.a, addr, e->now);
  if (rv < 0) {
    logf_(e, "MN", "set_coa: %s", m6ike_strerror(rv));
    e->failed = 1;
  }
}

static void deliver(exp *e, int dir, const uint8_t *buf, size_t len) {
  m6ike_ikev2_path p, q;
  const uint8_t *data = buf + 1 + sizeof(p);
  size_t dlen = len - 1 - sizeof(p);
  node *to = dir == M6IKE_VLINK_AB ? &e->ha : &e->mn;
  memcpy(&p, buf + 1, sizeof(p));
  if (to == &e->mn) {
    m6ike_addr6 dst;
    if (buf[0] == 1) {
      dst = p.remote;
    } else if (dlen >= 40) {
      memcpy(dst.b, data + 24, 16);
    } else {
      return;
    }
    if (!m6ike_addr6_equal(&dst, &e->mn_addr)) {
      return; /* addressed to where the MN no longer is */
    }
  }
  if (buf[0] == 1) {
    memset(&q, 0, sizeof(q));
    q.local = p.remote;
    q.remote = p.local;
    q.local_port = p.remote_port;
    q.remote_port = p.local_port;
    m6ike_agent_read_udp(to->a, &q, data, dlen, e->now);
  } else {
    m6ike_agent_read_ip6(to->a, data, dlen, e->now);
  }
}

/* After each registration: one payload packet CN -> HoA through the HA. */
static void send_payload(exp *e) {
  uint8_t p[140];
  m6ike_addr6 cn;
  memset(p, 0xab, sizeof(p));
  m6ike_addr6_parse(&cn, "2001:db8:9::9");
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  p[4] = 0;
  p[5] = 100;
  p[6] = 59;
  p[7] = 64;
  memcpy(p + 8, cn.b, 16);
  memcpy(p + 24, e->hoa.b, 16);
  if (m6ike_agent_lookup(e->ha.a, &e->hoa, NULL) == 1) {
    int rv = m6ike_agent_write_tunnel(e->ha.a, p, sizeof(p), e->now);
    logf_(e, "HA", "payload CN -> HoA intercepted: %s",
          rv == 0 ? "tunnelled under ESP" : m6ike_strerror(rv));
  }
}

/* Scheduled steps of the scenario. */
enum step {
  STEP_BOOT_COA,
  STEP_L2_DOWN,
  STEP_L2_UP,
  STEP_NEW_COA,
  STEP_HOME_L2_DOWN,
  STEP_HOME_L2_UP,
  STEP_HOME_ADDR,
  STEP_PAYLOAD,
  STEP_END
};
typedef struct sched {
  m6ike_tstamp at;
  enum step step;
} sched;

static void record(exp *e) {
  if (m6ike_agent_get_handover(e->mn.a, &e->rec[e->phase]) == 0) {
    e->have_rec[e->phase] = 1;
  }
}

static void run_step(exp *e, enum step s) {
  switch (s) {
  case STEP_BOOT_COA:
    e->attached = 1;
    mn_new_address(e, &e->coa1);
    return;
  case STEP_L2_DOWN:
  case STEP_HOME_L2_DOWN:
    record(e);
    e->phase = s == STEP_L2_DOWN ? 1 : 2;
    e->l2[e->phase] = e->now;
    e->attached = 0;
    m6ike_vlink_set_up(e->link, 0);
    logf_(e, "MN", "L2 handover starts: link down");
    return;
  case STEP_L2_UP:
  case STEP_HOME_L2_UP:
    e->attached = 1;
    m6ike_vlink_set_up(e->link, 1);
    logf_(e, "MN", "L2 handover done: attached to %s",
          s == STEP_L2_UP ? "network 2 (AR2)" : "the home link");
    return;
  case STEP_NEW_COA:
    mn_new_address(e, &e->coa2);
    return;
  case STEP_HOME_ADDR:
    mn_new_address(e, &e->hoa);
    return;
  case STEP_PAYLOAD:
    send_payload(e);
    return;
  case STEP_END:
    return;
  }
}

static m6ike_tstamp tmin(m6ike_tstamp a, m6ike_tstamp b) {
  return a < b ? a : b;
}

static int cmp_sched(const void *x, const void *y) {
  const sched *a = x, *b = y;
  return a->at < b->at ? -1 : a->at > b->at;
}

static int run(exp *e) {
  sched plan[12];
  size_t np = 0, next_step = 0;
  m6ike_tstamp end = (m6ike_tstamp)(e->opt.duration_s * 1e9);
  m6ike_tstamp gap = ms_to_ts(e->opt.l2_gap_ms), md = ms_to_ts(e->opt.md_ms);
  m6ike_tstamp ho = (m6ike_tstamp)(e->opt.handover_at_s * 1e9);
  static uint8_t pkt[PKT_MAX + 64];

  plan[np++] = (sched){md, STEP_BOOT_COA};
  if (ho + gap + md <= end) {
    plan[np++] = (sched){ho > ms_to_ts(500) ? ho - ms_to_ts(500) : 0,
                         STEP_PAYLOAD};
    plan[np++] = (sched){ho, STEP_L2_DOWN};
    plan[np++] = (sched){ho + gap, STEP_L2_UP};
    plan[np++] = (sched){ho + gap + md, STEP_NEW_COA};
    plan[np++] = (sched){end > ms_to_ts(500) ? end - ms_to_ts(500) : 0,
                         STEP_PAYLOAD};
  }
  if (e->opt.return_home_s > 0) {
    m6ike_tstamp rh = (m6ike_tstamp)(e->opt.return_home_s * 1e9);
    plan[np++] = (sched){rh, STEP_HOME_L2_DOWN};
    plan[np++] = (sched){rh + gap, STEP_HOME_L2_UP};
    plan[np++] = (sched){rh + gap + md, STEP_HOME_ADDR};
  }
  qsort(plan, np, sizeof(plan[0]), cmp_sched);
  logf_(e, "MN", "boots in foreign network 1 (AR1); home agent %s, scheme %s",
        "2001:db8:1::1", m6ike_scheme_name(e->opt.scheme));

  for (;;) {
    m6ike_tstamp next = M6IKE_TSTAMP_UNSET;
    int dir, len;
    if (next_step < np) {
      next = plan[next_step].at;
    }
    next = tmin(next, m6ike_vlink_next_arrival(e->link));
    next = tmin(next, m6ike_agent_get_expiry(e->mn.a));
    next = tmin(next, m6ike_agent_get_expiry(e->ha.a));
    if (next == M6IKE_TSTAMP_UNSET || next > end) {
      e->now = end;
      break;
    }
    if (next > e->now) {
      e->now = next;
    }
    while (next_step < np && plan[next_step].at <= e->now) {
      run_step(e, plan[next_step++].step);
    }
    while ((len = m6ike_vlink_recv(e->link, e->now, &dir, NULL, pkt,
                                   sizeof(pkt))) > 0) {
      deliver(e, dir, pkt, (size_t)len);
    }
    if (m6ike_agent_get_expiry(e->ha.a) <= e->now) {
      m6ike_agent_handle_expiry(e->ha.a, e->now);
    }
    if (m6ike_agent_get_expiry(e->mn.a) <= e->now) {
      m6ike_agent_handle_expiry(e->mn.a, e->now);
    }
  }
  record(e);
  return e->failed ? -1 : 0;
}

static void print_time(m6ike_tstamp t) {
  if (t == M6IKE_TSTAMP_UNSET) {
    printf(" %9s", "-");
  } else {
    printf(" %9.3f", ts_to_s(t));
  }
}

static void print_summary(exp *e) {
  const m6ike_vlink_stats *st = m6ike_vlink_get_stats(e->link);
  static const char *names[3] = {"bootstrap (first home registration)",
                                 "handover network 1 -> network 2",
                                 "return home (de-registration)"};
  m6ike_agent_stats ms, hs;
  m6ike_agent_get_stats(e->mn.a, &ms);
  m6ike_agent_get_stats(e->ha.a, &hs);
  printf("\n# summary (simulated time, seconds; scheme %s)\n",
         m6ike_scheme_name(e->opt.scheme));
  printf("%-36s %9s %9s %9s %9s %6s %9s %8s %9s\n", "phase", "l2",
         "coa_ready", "bu_sent", "ba_recv", "BUs", "sa_ready", "ike_msgs",
         "ike_bytes");
  for (int i = 0; i < 3; i++) {
    const m6ike_agent_handover *r = &e->rec[i];
    if (!e->have_rec[i] || (i > 0 && r->index == e->rec[i - 1].index)) {
      continue;
    }
    printf("%-36s %9.3f %9.3f", names[i], ts_to_s(e->l2[i]),
           ts_to_s(r->coa_set));
    print_time(r->bu_sent);
    print_time(r->ba_received);
    printf(" %6u", r->bu_count);
    print_time(r->sa_ready);
    printf(" %8u %9" PRIu64 "\n", r->ike_msgs, r->ike_bytes);
  }
  if (e->have_rec[1] && e->rec[1].ba_received != M6IKE_TSTAMP_UNSET) {
    printf("handover: registration %.1f ms after the CoA, %.1f ms after L2 "
           "start\n",
           (double)(e->rec[1].ba_received - e->rec[1].coa_set) / 1e6,
           (double)(e->rec[1].ba_received - e->l2[1]) / 1e6);
  }
  printf("messages: BU %" PRIu64 " sent (%" PRIu64
         " retransmitted), BA %" PRIu64 " sent (%u dropped by fault "
         "injection), %" PRIu64 " received; IKE datagrams %u; payload "
         "through the tunnel %u\n",
         ms.bu_sent, ms.bu_retransmits, hs.ba_sent, e->ba_dropped,
         ms.ba_received, e->ike_pkts, e->delivered);
  printf("link: MN->HA %" PRIu64 " sent %" PRIu64 " lost %" PRIu64
         " down; HA->MN %" PRIu64 " sent %" PRIu64 " lost %" PRIu64 " down\n",
         st->sent[0], st->lost[0], st->dropped_down[0], st->sent[1],
         st->lost[1], st->dropped_down[1]);
  printf("binding: MN %s, HA cache entries %" PRIu64
         "; heap: MN agent %zu bytes, HA agent %zu bytes\n",
         m6ike_agent_lookup(e->mn.a, &e->hoa, NULL) ? "registered"
                                                    : "not registered",
         hs.bindings, m6ike_agent_memory_usage(e->mn.a),
         m6ike_agent_memory_usage(e->ha.a));
}

int main(int argc, char **argv) {
  static exp e;
  m6ike_vlink_params lp;
  m6ike_crypto *ossl = NULL;
  const m6ike_crypto *crypto = m6ike_crypto_null();
  int rv;

  memset(&e, 0, sizeof(e));
  if (parse_options(argc, argv, &e.opt) != 0) {
    return 2;
  }
  m6ike_addr6_parse(&e.hoa, "2001:db8:1::5");
  m6ike_addr6_parse(&e.ha_addr, "2001:db8:1::1");
  m6ike_addr6_parse(&e.coa1, "2001:db8:2::5");
  m6ike_addr6_parse(&e.coa2, "2001:db8:3::5");

  if (e.opt.openssl) {
    if ((rv = m6ike_crypto_openssl_new(&ossl, NULL)) != 0) {
      fprintf(stderr, "m6ike-inproc-handover: OpenSSL backend: %s\n",
              m6ike_strerror(rv));
      return 1;
    }
    crypto = ossl;
  }
  memset(&lp, 0, sizeof(lp));
  lp.delay = ms_to_ts(e.opt.delay_ms);
  lp.loss = e.opt.loss;
  lp.seed = e.opt.seed;
  if ((rv = m6ike_vlink_new(&e.link, &lp, NULL)) != 0 ||
      (rv = node_init(&e, &e.mn, "MN", 0, crypto)) != 0 ||
      (rv = node_init(&e, &e.ha, "HA", 1, crypto)) != 0) {
    fprintf(stderr, "m6ike-inproc-handover: setup: %s\n", m6ike_strerror(rv));
    return 1;
  }
  if (!e.opt.quiet) {
    printf("# mip6ike %s in-process experiment: MN and HA agents over a "
           "simulated link\n",
           m6ike_version());
    printf("# link: one-way delay %g ms, loss %g, seed %" PRIu64
           "; movement detection %g ms; L2 gap %g ms; scheme %s; crypto %s\n",
           e.opt.delay_ms, e.opt.loss, e.opt.seed, e.opt.md_ms,
           e.opt.l2_gap_ms, m6ike_scheme_name(e.opt.scheme),
           m6ike_crypto_name(crypto));
    printf("# HoA 2001:db8:1::5, HA 2001:db8:1::1, network 1 "
           "2001:db8:2::/64, network 2 2001:db8:3::/64\n");
    printf("#   time(s)  who       event\n");
  }
  rv = run(&e);
  print_summary(&e);
  m6ike_agent_del(e.mn.a);
  m6ike_agent_del(e.ha.a);
  m6ike_vlink_del(e.link);
  m6ike_crypto_del(ossl);
  return rv != 0 ? 1 : 0;
}
