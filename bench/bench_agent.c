/*
 * Agent benchmarks: a whole bootstrap and handovers of one MN and its HA
 * (two m6ike_agents over a 10 ms virtual link) for each scheme, with the
 * NULL backend and with OpenSSL: wall-clock microseconds per handover (both
 * agents' processing, virtual time costs nothing) and the MN agent's heap;
 * then one HA bootstrapping 1,000 MNs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "m6ike/agent.h"
#include "m6ike/crypto_openssl.h"

#define QCAP 4096
#define FMAX 2048
#define DELAY (10 * M6IKE_MILLISECONDS)

typedef struct frame {
  m6ike_tstamp at;
  unsigned to;   /* 0 = HA, 1 + i = MN i */
  int udp;
  m6ike_ikev2_path path;
  uint16_t len;
  uint8_t data[FMAX];
} frame;

typedef struct net net;
typedef struct bnode {
  net *n;
  unsigned id; /* 0 = HA */
  m6ike_agent *a;
  uint64_t rng;
  m6ike_addr6 addr; /* MN: current CoA */
} bnode;

struct net {
  m6ike_tstamp now;
  bnode ha;
  bnode *mn;
  unsigned n_mn;
  frame *q;
  size_t nq;
};

static int brand(uint8_t *d, size_t n, void *ud) {
  bnode *b = ud;
  for (size_t i = 0; i < n; i++) {
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    d[i] = (uint8_t)(b->rng >> 32);
  }
  return 0;
}

static void enqueue(bnode *from, int udp, const m6ike_ikev2_path *p,
                    const uint8_t *d, size_t len) {
  net *n = from->n;
  if (n->nq == QCAP + 8 * (size_t)n->n_mn || len > FMAX) {
    return;
  }
  frame *f = &n->q[n->nq++];
  f->at = n->now + DELAY;
  f->udp = udp;
  f->len = (uint16_t)len;
  memcpy(f->data, d, len);
  if (p) {
    f->path = *p;
  }
  if (from->id != 0) {
    f->to = 0;
    return;
  }
  m6ike_addr6 dst;
  if (udp) {
    dst = p->remote;
  } else {
    memcpy(dst.b, d + 24, 16);
  }
  /* MN i's CoAs end in i (2001:db8:{2,3}::i+0x100) */
  unsigned i = ((unsigned)dst.b[14] << 8 | dst.b[15]) - 0x100;
  f->to = i < n->n_mn && m6ike_addr6_equal(&dst, &n->mn[i].addr) ? 1 + i
                                                                  : ~0u;
}

static int b_ip6(const uint8_t *p, size_t len, void *ud) {
  enqueue(ud, 0, NULL, p, len);
  return 0;
}
static int b_udp(const m6ike_ikev2_path *path, const uint8_t *b, size_t len,
                 void *ud) {
  enqueue(ud, 1, path, b, len);
  return 0;
}

static m6ike_addr6 host(const char *pfx, unsigned i) {
  m6ike_addr6 a;
  m6ike_addr6_parse(&a, pfx);
  a.b[14] = (uint8_t)((i + 0x100) >> 8);
  a.b[15] = (uint8_t)(i + 0x100);
  return a;
}

static int make(bnode *b, net *n, unsigned id, m6ike_scheme s,
                const m6ike_crypto *cr) {
  static const char psk[] = "bench key";
  m6ike_agent_config c;
  m6ike_agent_callbacks cb;
  b->n = n;
  b->id = id;
  b->rng = 0x1234567ull + id * 7919u;
  m6ike_agent_config_default(&c, id ? M6IKE_AGENT_MN : M6IKE_AGENT_HA);
  c.scheme = s;
  m6ike_addr6_parse(&c.ha, "2001:db8:1::1");
  m6ike_addr6_parse(&c.home_prefix, "2001:db8:1::");
  c.hoa = host("2001:db8:1::", id ? id - 1 : 0);
  c.psk = (const uint8_t *)psk;
  c.psk_len = sizeof(psk) - 1;
  c.expected_mns = n->n_mn;
  c.keylog_esp = 0;
  memset(&cb, 0, sizeof(cb));
  cb.user_data = b;
  cb.rand = brand;
  cb.send_ip6 = b_ip6;
  cb.send_udp = b_udp;
  int rc = m6ike_agent_new(&b->a, &c, &cb, cr, NULL);
  if (rc == 0 && id && s == M6IKE_SCHEME_STATIC) {
    rc = m6ike_agent_add_mn(n->ha.a, &c.hoa, 0);
  }
  return rc;
}

static m6ike_tstamp tmin(m6ike_tstamp a, m6ike_tstamp b) {
  return a < b ? a : b;
}

static void run_until(net *n, m6ike_tstamp until) {
  for (;;) {
    m6ike_tstamp t = m6ike_agent_get_expiry(n->ha.a);
    for (unsigned i = 0; i < n->n_mn; i++) {
      t = tmin(t, m6ike_agent_get_expiry(n->mn[i].a));
    }
    if (n->nq) {
      t = tmin(t, n->q[0].at);
    }
    if (t == M6IKE_TSTAMP_UNSET || t > until) {
      break;
    }
    if (t > n->now) {
      n->now = t;
    }
    /* the queue is in arrival order (constant delay) */
    size_t k = 0;
    while (k < n->nq && n->q[k].at <= n->now) {
      k++;
    }
    for (size_t j = 0; j < k; j++) {
      frame *f = &n->q[j];
      bnode *to = f->to == 0 ? &n->ha : f->to == ~0u ? NULL : &n->mn[f->to - 1];
      if (to == NULL) {
        continue;
      }
      if (f->udp) {
        m6ike_ikev2_path p;
        memset(&p, 0, sizeof(p));
        p.local = f->path.remote;
        p.remote = f->path.local;
        p.local_port = f->path.remote_port;
        p.remote_port = f->path.local_port;
        m6ike_agent_read_udp(to->a, &p, f->data, f->len, n->now);
      } else {
        m6ike_agent_read_ip6(to->a, f->data, f->len, n->now);
      }
    }
    /* frames queued while delivering are later: keep them */
    memmove(n->q, n->q + k, (n->nq - k) * sizeof(frame));
    n->nq -= k;
    if (m6ike_agent_get_expiry(n->ha.a) <= n->now) {
      m6ike_agent_handle_expiry(n->ha.a, n->now);
    }
    for (unsigned i = 0; i < n->n_mn; i++) {
      if (m6ike_agent_get_expiry(n->mn[i].a) <= n->now) {
        m6ike_agent_handle_expiry(n->mn[i].a, n->now);
      }
    }
  }
  if (until > n->now) {
    n->now = until;
  }
}

static int net_new(net *n, unsigned n_mn, m6ike_scheme s,
                   const m6ike_crypto *cr) {
  memset(n, 0, sizeof(*n));
  n->mn = calloc(n_mn, sizeof(bnode));
  n->q = malloc(sizeof(frame) * (QCAP + 8 * (size_t)n_mn));
  if (n->mn == NULL || n->q == NULL) {
    return -1;
  }
  n->n_mn = n_mn;
  int rc = make(&n->ha, n, 0, s, cr);
  for (unsigned i = 0; rc == 0 && i < n_mn; i++) {
    rc = make(&n->mn[i], n, 1 + i, s, cr);
  }
  return rc;
}

static void net_del(net *n) {
  for (unsigned i = 0; i < n->n_mn; i++) {
    m6ike_agent_del(n->mn[i].a);
  }
  m6ike_agent_del(n->ha.a);
  free(n->mn);
  free(n->q);
}

static int set_coa(net *n, unsigned i, const char *pfx) {
  n->mn[i].addr = host(pfx, i);
  return m6ike_agent_set_coa(n->mn[i].a, &n->mn[i].addr, n->now);
}

#define HANDOVERS 200

static void one_scheme(m6ike_scheme s, const m6ike_crypto *cr,
                       const char *crname) {
  net n;
  char what[96];
  if (net_new(&n, 1, s, cr) != 0) {
    printf("agent %s: setup failed\n", m6ike_scheme_name(s));
    net_del(&n);
    return;
  }
  uint64_t t0 = m6ike_bench_now_ns();
  set_coa(&n, 0, "2001:db8:2::");
  run_until(&n, n.now + 5 * M6IKE_SECONDS);
  uint64_t t1 = m6ike_bench_now_ns();
  m6ike_agent_handover h;
  int ok = m6ike_agent_get_handover(n.mn[0].a, &h) == 0 && h.complete;
  snprintf(what, sizeof(what), "agent bootstrap %s (%s)", m6ike_scheme_name(s),
           crname);
  m6ike_bench_line(what, ok ? (double)(t1 - t0) / 1e3 : -1, "us wall");
  uint64_t sum = 0;
  unsigned done = 0;
  uint32_t msgs = 0;
  for (int k = 0; k < HANDOVERS; k++) {
    uint64_t a = m6ike_bench_now_ns();
    set_coa(&n, 0, (k & 1) ? "2001:db8:2::" : "2001:db8:3::");
    run_until(&n, n.now + 3 * M6IKE_SECONDS);
    sum += m6ike_bench_now_ns() - a;
    if (m6ike_agent_get_handover(n.mn[0].a, &h) == 0 && h.complete) {
      done++;
      msgs = h.ike_msgs;
    }
  }
  snprintf(what, sizeof(what), "agent handover %s (%s, %u IKE msgs)",
           m6ike_scheme_name(s), crname, (unsigned)msgs);
  m6ike_bench_line(what,
                   done == HANDOVERS ? (double)sum / 1e3 / HANDOVERS : -1,
                   "us/handover");
  if (cr == m6ike_crypto_null()) {
    snprintf(what, sizeof(what), "agent MN heap %s", m6ike_scheme_name(s));
    m6ike_bench_line(what, (double)m6ike_agent_memory_usage(n.mn[0].a),
                     "bytes");
  }
  m6ike_bench_sink(sum);
  net_del(&n);
}

/* One HA, n MNs bootstrapping (msrd, NULL cipher), then all handing over:
 * the HA's cost per MN. */
static void ha_scale(unsigned N) {
  net n;
  char what[96];
  if (net_new(&n, N, M6IKE_SCHEME_MSRD, m6ike_crypto_null()) == 0) {
    uint64_t t0 = m6ike_bench_now_ns();
    for (unsigned i = 0; i < N; i++) {
      n.now = (m6ike_tstamp)i * M6IKE_MILLISECONDS / 10;
      set_coa(&n, i, "2001:db8:2::");
    }
    run_until(&n, n.now + 5 * M6IKE_SECONDS);
    uint64_t t1 = m6ike_bench_now_ns();
    unsigned done = 0;
    for (unsigned i = 0; i < N; i++) {
      m6ike_agent_handover h;
      done += m6ike_agent_get_handover(n.mn[i].a, &h) == 0 && h.complete;
    }
    snprintf(what, sizeof(what), "agent HA: %u MNs bootstrap (msrd, null)", N);
    m6ike_bench_line(what, done == N ? (double)(t1 - t0) / 1e6 : -1,
                     "ms wall");
    snprintf(what, sizeof(what), "agent HA heap per MN (%u MNs)", N);
    m6ike_bench_line(what, (double)m6ike_agent_memory_usage(n.ha.a) / N,
                     "bytes");
    t0 = m6ike_bench_now_ns();
    for (unsigned i = 0; i < N; i++) {
      set_coa(&n, i, "2001:db8:3::");
    }
    run_until(&n, n.now + 3 * M6IKE_SECONDS);
    t1 = m6ike_bench_now_ns();
    done = 0;
    for (unsigned i = 0; i < N; i++) {
      m6ike_agent_handover h;
      done += m6ike_agent_get_handover(n.mn[i].a, &h) == 0 && h.complete &&
              h.index == 1;
    }
    snprintf(what, sizeof(what), "agent HA: %u MNs hand over at once (msrd)",
             N);
    m6ike_bench_line(what, done == N ? (double)(t1 - t0) / 1e3 / N : -1,
                     "us/handover");
  }
  net_del(&n);
}

void m6ike_bench_agent(void) {
  static const m6ike_scheme schemes[] = {
      M6IKE_SCHEME_MSRD,    M6IKE_SCHEME_RENEGOTIATE,
      M6IKE_SCHEME_MIGRATE, M6IKE_SCHEME_MIGRATE_KMADDRESS,
      M6IKE_SCHEME_MOBIKE,  M6IKE_SCHEME_STATIC};
  m6ike_crypto *ossl = NULL;
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    one_scheme(schemes[i], m6ike_crypto_null(), "null");
  }
  if (m6ike_crypto_openssl_new(&ossl, NULL) == 0) {
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
      one_scheme(schemes[i], ossl, "openssl");
    }
  }
  ha_scale(1000);
  ha_scale(10000);
  m6ike_crypto_del(ossl);
}
