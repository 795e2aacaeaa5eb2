/*
 * m6ike-inproc-handover: the in-process experiment.
 *
 * A mobile node (MN) and its home agent (HA), each made of the mip6ike C
 * core's units exactly as the main paper's architecture (Xu et al., Fig. 1-5)
 * splits a node:
 *
 *   mobility side (MIPv6 daemon)   binding update list (MN) / cache (HA),
 *                                  the only writer of the node's MSRD
 *   PF_KEY bus (the kernel side)   checks the ACQUIRE's Reference extension
 *                                  against the MSRD, then hands it on
 *   key-management side (IKE)      a reader of the MSRD, registered on the
 *                                  bus for ESP
 *
 * The two nodes exchange real RFC 6275 packets (IPv6 + Home Address option
 * or Type 2 Routing Header + Mobility Header, with checksums) over a
 * virtual-time link with a one-way delay and a loss rate.  The MN
 * bootstraps in a foreign network (first home registration), hands over to
 * a second foreign network, and optionally returns home.  Every message is
 * printed with its simulated time; the summary's figures are measured from
 * the run.
 *
 * The IKEv2 engine and ESP arrive with the IPsec/IKEv2 issue: here the key
 * manager shows what it learns from the MSRD through the MPI (the
 * parameters IKEv2 will negotiate with) and the BU/BA travel unprotected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/binding.h"
#include "m6ike/common.h"
#include "m6ike/mh.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_bus.h"
#include "vlink.h"

#define PKT_MAX 2048

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
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    double d;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--quiet") == 0) {
      o->quiet = 1;
      continue;
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

/* Deterministic randomness for the cores (the sans-I/O rand callback). */
static int rand_cb(uint8_t *dest, size_t len, void *user_data) {
  uint64_t *state = user_data;
  for (size_t i = 0; i < len; i++) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    dest[i] = (uint8_t)((x * 0x2545F4914F6CDD1DULL) >> 56);
  }
  return 0;
}

/* One node: its mobility side, MSRD, PF_KEY bus and key manager. */
typedef struct node {
  const char *name;
  m6ike_msrd *msrd;
  m6ike_msrd_writer *writer; /* held by the mobility side only */
  m6ike_msrd_reader *km_reader;
  m6ike_pfkey_bus *bus;
  m6ike_pfkey_ep ep_mobility, ep_km;
  uint32_t acquire_seq;
  unsigned acquires_seen;
} node;

typedef struct handover_rec {
  m6ike_tstamp l2, coa_ready, bu_sent, ba_received;
  unsigned bus_sent;
} handover_rec;

typedef struct exp {
  options opt;
  uint64_t rng;
  m6ike_tstamp now;
  m6ike_vlink *link; /* AB = MN -> HA, BA = HA -> MN */
  node mn, ha;
  m6ike_bul *bul;
  m6ike_bcache *bc;
  m6ike_addr6 hoa, ha_addr, coa1, coa2, coa;
  uint32_t mn_mpi; /* the MN's MSRD entry */
  int attached;    /* L2 up */
  /* Measurements. */
  handover_rec rec[3]; /* 0 bootstrap, 1 handover, 2 return home */
  int phase;
  unsigned bu_sent, bu_retx, ba_sent, ba_dropped, ba_received;
  int failed;
} exp;

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

static m6ike_pfkey_sockaddr sockaddr6(const m6ike_addr6 *a) {
  m6ike_pfkey_sockaddr s;
  memset(&s, 0, sizeof(s));
  s.family = M6IKE_PFKEY_AF_INET6;
  memcpy(s.addr, a->b, 16);
  return s;
}

/* MSRD check that the PF_KEY bus applies to a Reference (paper §IV). */
static int mpi_valid(uint32_t mpi, void *user_data) {
  node *n = user_data;
  m6ike_msrd_entry ent;
  return m6ike_msrd_lookup_mpi(n->km_reader, mpi, &ent, NULL) == 0;
}

static int node_init(exp *e, node *n, const char *name, m6ike_msrd_role role) {
  m6ike_msrd_config mc;
  m6ike_pfkey_bus_config bc;
  static const m6ike_pfkey_alg enc[] = {{M6IKE_SADB_EALG_3DESCBC, 0, 192, 192},
                                        {M6IKE_SADB_X_EALG_AESCBC, 0, 128, 256}};
  static const m6ike_pfkey_alg auth[] = {
      {M6IKE_SADB_AALG_SHA1HMAC, 0, 160, 160},
      {M6IKE_SADB_X_AALG_SHA2_256HMAC, 0, 256, 256}};
  uint8_t buf[256];
  m6ike_pfkey_builder b;
  int rv;

  memset(n, 0, sizeof(*n));
  n->name = name;
  m6ike_msrd_config_default(&mc, role);
  mc.rand = rand_cb;
  mc.rand_user_data = &e->rng;
  if ((rv = m6ike_msrd_new(&n->msrd, &n->writer, &mc, NULL)) != 0 ||
      (rv = m6ike_msrd_reader_new(n->msrd, &n->km_reader)) != 0) {
    return rv;
  }
  memset(&bc, 0, sizeof(bc));
  bc.enc_algs = enc;
  bc.n_enc = sizeof(enc) / sizeof(enc[0]);
  bc.auth_algs = auth;
  bc.n_auth = sizeof(auth) / sizeof(auth[0]);
  bc.mpi_valid = mpi_valid;
  bc.mpi_user_data = n;
  if ((rv = m6ike_pfkey_bus_new(&n->bus, &bc, NULL)) != 0 ||
      (rv = m6ike_pfkey_bus_open(n->bus, M6IKE_PFKEY_ROLE_MOBILITY, 100, NULL,
                                 NULL, &n->ep_mobility)) != 0 ||
      (rv = m6ike_pfkey_bus_open(n->bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 200,
                                 NULL, NULL, &n->ep_km)) != 0) {
    return rv;
  }
  /* The key manager registers for ESP, as an IKE daemon does at start. */
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_REGISTER,
                            M6IKE_SADB_SATYPE_ESP, 1, 200);
  if ((rv = m6ike_pfkey_builder_finish(&b)) < 0 ||
      (rv = m6ike_pfkey_bus_send(n->bus, n->ep_km, buf, (size_t)rv, 0)) < 0) {
    return rv;
  }
  /* Drain the REGISTER reply (supported algorithms). */
  while (m6ike_pfkey_bus_recv(n->bus, n->ep_km, buf, sizeof(buf)) > 0) {
  }
  return 0;
}

static void node_free(node *n) {
  m6ike_pfkey_bus_del(n->bus);
  m6ike_msrd_reader_del(n->km_reader);
  m6ike_msrd_del(n->msrd);
}

/*
 * The mobility side asks key management for SAs: an SADB_ACQUIRE from HoA
 * to HA carrying the Reference extension with the MPI of the binding.
 */
static int send_acquire(exp *e, node *n, uint32_t mpi,
                        const m6ike_addr6 *src, const m6ike_addr6 *dst) {
  uint8_t buf[512];
  m6ike_pfkey_builder b;
  m6ike_pfkey_comb comb;
  m6ike_pfkey_sockaddr s = sockaddr6(src), d = sockaddr6(dst);
  m6ike_pfkey_msg msg;
  char line[256];
  int len;

  memset(&comb, 0, sizeof(comb));
  comb.auth = M6IKE_SADB_AALG_SHA1HMAC;
  comb.encrypt = M6IKE_SADB_EALG_3DESCBC;
  comb.auth_minbits = comb.auth_maxbits = 160;
  comb.encrypt_minbits = comb.encrypt_maxbits = 192;
  comb.soft_addtime = 500;
  comb.hard_addtime = 800;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ACQUIRE,
                            M6IKE_SADB_SATYPE_ESP, ++n->acquire_seq, 100);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, M6IKE_IPPROTO_MH,
                          128, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, M6IKE_IPPROTO_MH,
                          128, &d);
  m6ike_pfkey_add_proposal(&b, 32, &comb, 1);
  m6ike_pfkey_add_reference(&b, mpi);
  len = m6ike_pfkey_builder_finish(&b);
  if (len < 0) {
    return len;
  }
  if (m6ike_pfkey_decode(&msg, buf, (size_t)len, M6IKE_PFKEY_DEC_STRICT) > 0) {
    m6ike_pfkey_format(&msg, line, sizeof(line));
    logf_(e, n->name, "PF_KEY %s (%d bytes, mobility -> bus)", line, len);
  }
  return m6ike_pfkey_bus_send(n->bus, n->ep_mobility, buf, (size_t)len,
                              e->now);
}

/*
 * The key manager: reads what the bus delivered and, for an ACQUIRE with a
 * Reference, queries the MSRD by MPI.  These are the parameters the IKEv2
 * engine (next issue) negotiates with: IKE endpoints CoA <-> HA, the HoA
 * in the traffic selectors (RFC 4877).
 */
static void km_poll(exp *e, node *n, const char *who) {
  uint8_t buf[PKT_MAX];
  int len;
  while ((len = m6ike_pfkey_bus_recv(n->bus, n->ep_km, buf, sizeof(buf))) >
         0) {
    m6ike_pfkey_msg msg;
    m6ike_pfkey_reference ref;
    m6ike_msrd_entry ent;
    uint64_t gen;
    char a[M6IKE_ADDR6_STRLEN], c[M6IKE_ADDR6_STRLEN], h[M6IKE_ADDR6_STRLEN];
    if (m6ike_pfkey_decode(&msg, buf, (size_t)len, M6IKE_PFKEY_DEC_LENIENT) <
        0) {
      logf_(e, who, "PF_KEY message dropped: malformed");
      continue;
    }
    if (msg.hdr.type != M6IKE_SADB_ACQUIRE) {
      continue;
    }
    n->acquires_seen++;
    if (m6ike_pfkey_get_reference(&msg, &ref) != 0) {
      logf_(e, who, "ACQUIRE without Reference: stock IKEv2 behaviour "
                    "(full negotiation from the packet's addresses)");
      continue;
    }
    if (m6ike_msrd_lookup_mpi(n->km_reader, ref.mpi, &ent, &gen) != 0) {
      logf_(e, who, "ACQUIRE ref.mpi=%" PRIu32 ": no MSRD entry", ref.mpi);
      continue;
    }
    logf_(e, who,
          "ACQUIRE ref.mpi=%" PRIu32 " -> MSRD (gen %" PRIu64
          "): HoA %s CoA %s HA %s state %s: IKE endpoints %s <-> %s, "
          "TSi %s",
          ref.mpi, gen, fmt_addr(&ent.hoa, h), fmt_addr(&ent.coa, c),
          fmt_addr(&ent.ha, a), m6ike_msrd_state_name(ent.state), c, a, h);
  }
}

/* HA side: subscribed to its MSRD, as the HA's key manager would be. */
static void ha_msrd_notify(const m6ike_msrd_entry *ent, m6ike_msrd_event ev,
                           uint64_t generation, void *user_data) {
  exp *e = user_data;
  char h[M6IKE_ADDR6_STRLEN], c[M6IKE_ADDR6_STRLEN];
  logf_(e, "HA-KM", "MSRD %s mpi=%" PRIu32 " HoA %s CoA %s (gen %" PRIu64 ")",
        ev == M6IKE_MSRD_EVENT_INSERTED  ? "insert"
        : ev == M6IKE_MSRD_EVENT_UPDATED ? "update"
                                         : "remove",
        ent->mpi, fmt_addr(&ent->hoa, h), fmt_addr(&ent->coa, c), generation);
}

static void bul_event(m6ike_bul *bul, m6ike_bul_event ev,
                      const m6ike_mh_msg *msg, void *user_data) {
  exp *e = user_data;
  handover_rec *r = &e->rec[e->phase];
  m6ike_msrd_change ch;
  (void)bul;
  (void)msg;
  switch (ev) {
  case M6IKE_BUL_EV_REGISTERED:
  case M6IKE_BUL_EV_DEREGISTERED:
    r->ba_received = e->now;
    memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_STATE;
    ch.state = ev == M6IKE_BUL_EV_REGISTERED ? M6IKE_MSRD_REGISTERED
                                             : M6IKE_MSRD_HOME;
    if (m6ike_msrd_update(e->mn.writer, e->mn_mpi, &ch, e->now) != 0) {
      e->failed = 1;
    }
    logf_(e, "MN", "%s (%.1f ms after the CoA was ready)",
          ev == M6IKE_BUL_EV_REGISTERED ? "binding registered"
                                        : "de-registered at home",
          (double)(e->now - r->coa_ready) / 1e6);
    break;
  case M6IKE_BUL_EV_RETRANSMIT:
    e->bu_retx++;
    break;
  case M6IKE_BUL_EV_BA_REJECTED:
  case M6IKE_BUL_EV_GAVE_UP:
    e->failed = 1;
    logf_(e, "MN", "registration failed (%s)",
          ev == M6IKE_BUL_EV_GAVE_UP ? "gave up" : "BA rejected");
    break;
  default:
    break;
  }
}

/* MN: write every BU that is due onto the link. */
static int mn_flush(exp *e) {
  m6ike_mh_msg bu;
  m6ike_addr6 src, dst;
  uint8_t pkt[PKT_MAX];
  char line[160];
  int rv;
  while ((rv = m6ike_bul_write_bu(e->bul, e->now, &bu, &src, &dst)) == 1) {
    int home = m6ike_addr6_equal(&src, &e->hoa);
    int len = m6ike_mh_build_packet(pkt, sizeof(pkt), &src, &dst,
                                    home ? NULL : &e->hoa, NULL, &bu);
    if (len < 0) {
      return len;
    }
    e->bu_sent++;
    e->rec[e->phase].bus_sent++;
    if (e->rec[e->phase].bu_sent == 0) {
      e->rec[e->phase].bu_sent = e->now;
    }
    logf_(e, "MN -> HA", "%s (%d bytes%s)",
          m6ike_mh_format(&bu, line, sizeof(line)), len,
          home ? ", from the HoA" : ", IPv6+HAO+MH");
    if (e->attached) {
      m6ike_vlink_send(e->link, M6IKE_VLINK_AB, pkt, (size_t)len, e->now);
    }
  }
  return rv;
}

/* HA: a packet from the MN. */
static void ha_receive(exp *e, const uint8_t *pkt, size_t len) {
  m6ike_ip6_info info;
  m6ike_mh_msg bu, ba;
  uint8_t out[PKT_MAX];
  char line[160], h[M6IKE_ADDR6_STRLEN], c[M6IKE_ADDR6_STRLEN];
  const m6ike_addr6 *hoa, *coa;
  const m6ike_bcache_entry *be;
  m6ike_msrd_entry ent;
  int rv, olen;

  rv = m6ike_mh_parse_packet(&info, &bu, pkt, len);
  if (rv < 0) {
    logf_(e, "HA", "packet dropped: %s", m6ike_strerror(rv));
    return;
  }
  logf_(e, "HA <- MN", "%s", m6ike_mh_format(&bu, line, sizeof(line)));
  if (bu.type != M6IKE_MH_BU) {
    return;
  }
  hoa = info.has_hao ? &info.hao : &info.src;
  coa = bu.opts.has_alt_coa ? &bu.opts.alt_coa : &info.src;
  rv = m6ike_bcache_process_bu(e->bc, hoa, coa, &bu, e->now, &ba);
  if (rv < 0) {
    logf_(e, "HA", "BU discarded: %s", m6ike_strerror(rv));
    return;
  }
  /* The HA's mobility side keeps its MSRD in step with the binding cache:
   * one entry per MN, keyed by HoA. */
  be = m6ike_bcache_lookup(e->bc, hoa);
  if (ba.u.ba.status < 128) {
    int have = m6ike_msrd_lookup_hoa(
                   m6ike_msrd_writer_as_reader(e->ha.writer), hoa, &ent,
                   NULL) == 0;
    if (be == NULL && have) {
      m6ike_msrd_remove(e->ha.writer, ent.mpi, e->now);
    } else if (be != NULL && !have) {
      m6ike_msrd_params p;
      uint32_t mpi;
      memset(&p, 0, sizeof(p));
      p.hoa = be->hoa;
      p.coa = be->coa;
      p.ha = e->ha_addr;
      p.lifetime = (uint32_t)be->lifetime * M6IKE_MH_LIFETIME_UNIT_S;
      p.state = M6IKE_MSRD_REGISTERED;
      p.seq = be->seq;
      p.k_bit = be->k;
      m6ike_msrd_insert(e->ha.writer, &p, e->now, &mpi);
    } else if (be != NULL) {
      m6ike_msrd_change ch;
      memset(&ch, 0, sizeof(ch));
      ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_SEQ |
                M6IKE_MSRD_SET_LIFETIME | M6IKE_MSRD_SET_STATE;
      ch.coa = be->coa;
      ch.seq = be->seq;
      ch.lifetime = (uint32_t)be->lifetime * M6IKE_MH_LIFETIME_UNIT_S;
      ch.state = M6IKE_MSRD_REGISTERED;
      m6ike_msrd_update(e->ha.writer, ent.mpi, &ch, e->now);
    }
    if (be != NULL) {
      logf_(e, "HA", "binding cache: %s -> %s, lifetime %u s, seq %u",
            fmt_addr(&be->hoa, h), fmt_addr(&be->coa, c),
            (unsigned)be->lifetime * M6IKE_MH_LIFETIME_UNIT_S,
            (unsigned)be->seq);
    } else {
      logf_(e, "HA", "binding cache: %s removed", fmt_addr(hoa, h));
    }
  }
  if (rv == 0) {
    return;
  }
  /* BA to the CoA with a Type 2 Routing Header naming the HoA; at home
   * (CoA == HoA) straight to the HoA. */
  {
    int home = m6ike_addr6_equal(coa, hoa);
    olen = m6ike_mh_build_packet(out, sizeof(out), &e->ha_addr,
                                 home ? hoa : coa, NULL, home ? NULL : hoa,
                                 &ba);
  }
  if (olen < 0) {
    logf_(e, "HA", "BA not built: %s", m6ike_strerror(olen));
    return;
  }
  e->ba_sent++;
  if (e->opt.drop_ba[e->phase] > 0) {
    e->opt.drop_ba[e->phase]--;
    e->ba_dropped++;
    logf_(e, "HA -> MN", "%s (%d bytes) [dropped: fault injection]",
          m6ike_mh_format(&ba, line, sizeof(line)), olen);
    return;
  }
  logf_(e, "HA -> MN", "%s (%d bytes%s)",
        m6ike_mh_format(&ba, line, sizeof(line)), olen,
        m6ike_addr6_equal(coa, hoa) ? "" : ", IPv6+RH2+MH");
  m6ike_vlink_send(e->link, M6IKE_VLINK_BA, out, (size_t)olen, e->now);
}

/* MN: a packet from the HA. */
static void mn_receive(exp *e, const uint8_t *pkt, size_t len) {
  m6ike_ip6_info info;
  m6ike_mh_msg ba;
  char line[160];
  int rv = m6ike_mh_parse_packet(&info, &ba, pkt, len);
  if (rv < 0) {
    logf_(e, "MN", "packet dropped: %s", m6ike_strerror(rv));
    return;
  }
  logf_(e, "MN <- HA", "%s", m6ike_mh_format(&ba, line, sizeof(line)));
  if (ba.type != M6IKE_MH_BA) {
    return;
  }
  e->ba_received++;
  rv = m6ike_bul_read_ba(e->bul, &ba, e->now);
  if (rv < 0) {
    logf_(e, "MN", "BA ignored: %s", m6ike_strerror(rv));
  }
}

/*
 * The MN has a new address in a network (movement detected, CoA formed):
 * the mobility side records it in the MSRD, asks key management for SAs
 * with an ACQUIRE carrying the MPI, and starts the registration.
 */
static int mn_new_coa(exp *e, const m6ike_addr6 *coa) {
  char c[M6IKE_ADDR6_STRLEN];
  int home = m6ike_addr6_equal(coa, &e->hoa);
  int rv;
  e->coa = *coa;
  e->rec[e->phase].coa_ready = e->now;
  logf_(e, "MN", "%s %s (movement detected)",
        home ? "back home: address" : "care-of address", fmt_addr(coa, c));
  if (e->mn_mpi == 0) {
    m6ike_msrd_params p;
    memset(&p, 0, sizeof(p));
    p.hoa = e->hoa;
    p.coa = *coa;
    p.ha = e->ha_addr;
    p.lifetime = (uint32_t)e->opt.lifetime_s;
    p.state = M6IKE_MSRD_REGISTERING;
    p.k_bit = 1;
    rv = m6ike_msrd_insert(e->mn.writer, &p, e->now, &e->mn_mpi);
    if (rv != 0) {
      return rv;
    }
    logf_(e, "MN", "MSRD insert mpi=%" PRIu32, e->mn_mpi);
  } else {
    m6ike_msrd_change ch;
    memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_STATE;
    ch.coa = *coa;
    ch.state = home ? M6IKE_MSRD_DEREGISTERING : M6IKE_MSRD_REGISTERING;
    rv = m6ike_msrd_update(e->mn.writer, e->mn_mpi, &ch, e->now);
    if (rv != 0) {
      return rv;
    }
    logf_(e, "MN", "MSRD update mpi=%" PRIu32 " CoA %s", e->mn_mpi, c);
  }
  if (!home) {
    rv = send_acquire(e, &e->mn, e->mn_mpi, &e->hoa, &e->ha_addr);
    if (rv < 0) {
      logf_(e, "MN", "ACQUIRE refused by the bus: %s", m6ike_strerror(rv));
      return rv;
    }
    km_poll(e, &e->mn, "MN-KM");
  }
  rv = m6ike_bul_move(e->bul, coa, e->now);
  if (rv < 0) {
    return rv;
  }
  return mn_flush(e);
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
  STEP_END
};
typedef struct sched {
  m6ike_tstamp at;
  enum step step;
} sched;

static int run_step(exp *e, enum step s) {
  switch (s) {
  case STEP_BOOT_COA:
    e->attached = 1;
    return mn_new_coa(e, &e->coa1);
  case STEP_L2_DOWN:
  case STEP_HOME_L2_DOWN:
    e->phase = s == STEP_L2_DOWN ? 1 : 2;
    e->rec[e->phase].l2 = e->now;
    e->attached = 0;
    m6ike_vlink_set_up(e->link, 0);
    logf_(e, "MN", "L2 handover starts: link down");
    return 0;
  case STEP_L2_UP:
  case STEP_HOME_L2_UP:
    e->attached = 1;
    m6ike_vlink_set_up(e->link, 1);
    logf_(e, "MN", "L2 handover done: attached to %s",
          s == STEP_L2_UP ? "network 2 (AR2)" : "the home link");
    return 0;
  case STEP_NEW_COA:
    return mn_new_coa(e, &e->coa2);
  case STEP_HOME_ADDR:
    return mn_new_coa(e, &e->hoa);
  case STEP_END:
    return 0;
  }
  return 0;
}

static m6ike_tstamp tmin(m6ike_tstamp a, m6ike_tstamp b) {
  return a < b ? a : b;
}

static int run(exp *e) {
  sched plan[8];
  size_t np = 0, next_step = 0;
  m6ike_tstamp end = (m6ike_tstamp)(e->opt.duration_s * 1e9);
  m6ike_tstamp gap = ms_to_ts(e->opt.l2_gap_ms), md = ms_to_ts(e->opt.md_ms);
  m6ike_tstamp ho = (m6ike_tstamp)(e->opt.handover_at_s * 1e9);
  uint8_t pkt[PKT_MAX];

  plan[np++] = (sched){md, STEP_BOOT_COA};
  if (ho + gap + md <= end) {
    plan[np++] = (sched){ho, STEP_L2_DOWN};
    plan[np++] = (sched){ho + gap, STEP_L2_UP};
    plan[np++] = (sched){ho + gap + md, STEP_NEW_COA};
  }
  if (e->opt.return_home_s > 0) {
    m6ike_tstamp rh = (m6ike_tstamp)(e->opt.return_home_s * 1e9);
    plan[np++] = (sched){rh, STEP_HOME_L2_DOWN};
    plan[np++] = (sched){rh + gap, STEP_HOME_L2_UP};
    plan[np++] = (sched){rh + gap + md, STEP_HOME_ADDR};
  }
  logf_(e, "MN", "boots in foreign network 1 (AR1); home agent %s",
        "2001:db8:1::1");

  for (;;) {
    m6ike_tstamp next = M6IKE_TSTAMP_UNSET;
    int dir, len, rv;
    if (next_step < np) {
      next = plan[next_step].at;
    }
    next = tmin(next, m6ike_vlink_next_arrival(e->link));
    next = tmin(next, m6ike_bul_get_expiry(e->bul));
    next = tmin(next, m6ike_bcache_get_expiry(e->bc));
    if (next == M6IKE_TSTAMP_UNSET || next > end) {
      e->now = end;
      break;
    }
    e->now = next;
    while (next_step < np && plan[next_step].at <= e->now) {
      rv = run_step(e, plan[next_step++].step);
      if (rv < 0) {
        fprintf(stderr, "m6ike-inproc-handover: %s\n", m6ike_strerror(rv));
        return rv;
      }
    }
    while ((len = m6ike_vlink_recv(e->link, e->now, &dir, NULL, pkt,
                                   sizeof(pkt))) > 0) {
      if (dir == M6IKE_VLINK_AB) {
        ha_receive(e, pkt, (size_t)len);
      } else {
        mn_receive(e, pkt, (size_t)len);
      }
    }
    m6ike_bcache_handle_expiry(e->bc, e->now);
    rv = mn_flush(e);
    if (rv < 0) {
      fprintf(stderr, "m6ike-inproc-handover: %s\n", m6ike_strerror(rv));
      return rv;
    }
  }
  return 0;
}

static const char *bul_state_name(m6ike_bul_state st) {
  switch (st) {
  case M6IKE_BUL_IDLE:
    return "idle (no binding)";
  case M6IKE_BUL_REGISTERING:
    return "registering";
  case M6IKE_BUL_REGISTERED:
    return "registered";
  case M6IKE_BUL_DEREGISTERING:
    return "de-registering";
  }
  return "?";
}

static void print_summary(exp *e) {
  const m6ike_vlink_stats *st = m6ike_vlink_get_stats(e->link);
  static const char *names[3] = {"bootstrap (first home registration)",
                                 "handover network 1 -> network 2",
                                 "return home (de-registration)"};
  printf("\n# summary (simulated time, seconds)\n");
  printf("%-36s %9s %9s %9s %9s %6s\n", "phase", "l2", "coa_ready",
         "bu_sent", "ba_recv", "BUs");
  for (int i = 0; i < 3; i++) {
    handover_rec *r = &e->rec[i];
    if (r->coa_ready == 0 && i > 0) {
      continue;
    }
    printf("%-36s %9.3f %9.3f %9.3f ", names[i], ts_to_s(r->l2),
           ts_to_s(r->coa_ready), ts_to_s(r->bu_sent));
    if (r->ba_received) {
      printf("%9.3f %6u\n", ts_to_s(r->ba_received), r->bus_sent);
    } else {
      printf("%9s %6u\n", "-", r->bus_sent);
    }
  }
  if (e->rec[1].ba_received) {
    printf("handover: registration %.1f ms after the CoA, %.1f ms after L2 "
           "start\n",
           (double)(e->rec[1].ba_received - e->rec[1].coa_ready) / 1e6,
           (double)(e->rec[1].ba_received - e->rec[1].l2) / 1e6);
  }
  printf("messages: BU %u sent (%u retransmitted), BA %u sent (%u dropped "
         "by fault injection), %u received; ACQUIRE+Reference seen by the MN's key "
         "manager: %u\n",
         e->bu_sent, e->bu_retx, e->ba_sent, e->ba_dropped, e->ba_received,
         e->mn.acquires_seen);
  printf("link: MN->HA %" PRIu64 " sent %" PRIu64 " lost %" PRIu64
         " down; HA->MN %" PRIu64 " sent %" PRIu64 " lost %" PRIu64 " down\n",
         st->sent[0], st->lost[0], st->dropped_down[0], st->sent[1],
         st->lost[1], st->dropped_down[1]);
  printf("binding: MN %s, HA cache entries %zu, HA MSRD entries %zu\n",
         bul_state_name(m6ike_bul_get_state(e->bul)), m6ike_bcache_count(e->bc),
         m6ike_msrd_count(e->ha.km_reader));
}

int main(int argc, char **argv) {
  exp e;
  m6ike_vlink_params lp;
  m6ike_bul_config bc;
  m6ike_bcache_config cc;
  uint64_t sub;
  int rv;

  memset(&e, 0, sizeof(e));
  if (parse_options(argc, argv, &e.opt) != 0) {
    return 2;
  }
  e.rng = e.opt.seed * 0x9E3779B97F4A7C15ULL + 1;
  m6ike_addr6_parse(&e.hoa, "2001:db8:1::5");
  m6ike_addr6_parse(&e.ha_addr, "2001:db8:1::1");
  m6ike_addr6_parse(&e.coa1, "2001:db8:2::5");
  m6ike_addr6_parse(&e.coa2, "2001:db8:3::5");

  memset(&lp, 0, sizeof(lp));
  lp.delay = ms_to_ts(e.opt.delay_ms);
  lp.loss = e.opt.loss;
  lp.seed = e.opt.seed;
  if ((rv = m6ike_vlink_new(&e.link, &lp, NULL)) != 0 ||
      (rv = node_init(&e, &e.mn, "MN", M6IKE_MSRD_ROLE_MN)) != 0 ||
      (rv = node_init(&e, &e.ha, "HA", M6IKE_MSRD_ROLE_HA)) != 0 ||
      (rv = m6ike_msrd_subscribe(e.ha.km_reader, ha_msrd_notify, &e, &sub)) !=
          0) {
    fprintf(stderr, "m6ike-inproc-handover: setup: %s\n", m6ike_strerror(rv));
    return 1;
  }

  memset(&bc, 0, sizeof(bc));
  bc.hoa = e.hoa;
  bc.ha = e.ha_addr;
  bc.lifetime = (uint16_t)(e.opt.lifetime_s / M6IKE_MH_LIFETIME_UNIT_S);
  bc.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K;
  bc.cb.on_event = bul_event;
  bc.cb.user_data = &e;
  memset(&cc, 0, sizeof(cc));
  cc.role = M6IKE_BCACHE_ROLE_HA;
  cc.home_prefixes[0].prefix = e.ha_addr;
  cc.home_prefixes[0].plen = 64;
  cc.n_home_prefixes = 1;
  cc.k_supported = 1;
  /* The first sequence number is random (RFC 6275 §11.7.1), drawn from
   * the run's seeded generator so that --seed reproduces the run. */
  bc.has_initial_seq = 1;
  {
    uint8_t s[2];
    rand_cb(s, 2, &e.rng);
    bc.initial_seq = (uint16_t)(s[0] << 8 | s[1]);
  }
  if ((rv = m6ike_bul_new(&e.bul, &bc, NULL)) != 0 ||
      (rv = m6ike_bcache_new(&e.bc, &cc, NULL)) != 0) {
    fprintf(stderr, "m6ike-inproc-handover: setup: %s\n", m6ike_strerror(rv));
    return 1;
  }

  if (!e.opt.quiet) {
    printf("# mip6ike %s in-process experiment: MN and HA cores over a "
           "simulated link\n",
           m6ike_version());
    printf("# link: one-way delay %g ms, loss %g, seed %" PRIu64
           "; movement detection %g ms; L2 gap %g ms\n",
           e.opt.delay_ms, e.opt.loss, e.opt.seed, e.opt.md_ms,
           e.opt.l2_gap_ms);
    printf("# HoA 2001:db8:1::5, HA 2001:db8:1::1, network 1 "
           "2001:db8:2::/64, network 2 2001:db8:3::/64\n");
    printf("#   time(s)  who       event\n");
  }
  rv = run(&e);
  if (rv == 0) {
    print_summary(&e);
  }
  m6ike_bul_del(e.bul);
  m6ike_bcache_del(e.bc);
  node_free(&e.mn);
  node_free(&e.ha);
  m6ike_vlink_del(e.link);
  if (rv != 0) {
    return 1;
  }
  return e.failed ? 1 : 0;
}
