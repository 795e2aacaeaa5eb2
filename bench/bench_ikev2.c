/*
 * IKEv2 engine benchmarks: full IKE_SA_INIT + IKE_AUTH handshakes (with
 * the first CHILD_SA) per second, both ends in one process on one core,
 * with the OpenSSL backend; and the same handshake as the cost of a full
 * re-negotiation after a handover, in microseconds, to set beside the
 * ipsec bench's direct SA address update.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "m6ike/crypto.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/ikev2.h"
#include "m6ike/ikev2_msg.h"

typedef struct side {
  m6ike_ikev2 *ike;
  uint64_t rng;
  unsigned children;
} side;

static int rand_cb(uint8_t *dest, size_t len, void *user_data) {
  side *s = user_data;
  for (size_t i = 0; i < len; i++) {
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    dest[i] = (uint8_t)((x * 0x2545F4914F6CDD1DULL) >> 56);
  }
  return 0;
}

static int child_up(const m6ike_ikev2_child_info *info, void *user_data) {
  side *s = user_data;
  (void)info;
  s->children++;
  return 0;
}

static void ident(m6ike_ikev2_ident *id, const char *name) {
  memset(id, 0, sizeof(*id));
  id->type = M6IKE_IKEV2_ID_FQDN;
  id->len = (uint8_t)strlen(name);
  memcpy(id->data, name, id->len);
}

static void prefix_ts(m6ike_ikev2_ts *ts, uint8_t net) {
  memset(ts, 0, sizeof(*ts));
  ts->ts_type = M6IKE_IKEV2_TS_IPV6_ADDR_RANGE;
  ts->end_port = 65535;
  ts->start_addr[0] = ts->end_addr[0] = 0x20;
  ts->start_addr[1] = ts->end_addr[1] = 0x01;
  ts->start_addr[2] = ts->end_addr[2] = 0x0d;
  ts->start_addr[3] = ts->end_addr[3] = 0xb8;
  ts->start_addr[5] = ts->end_addr[5] = net;
  memset(ts->end_addr + 8, 0xff, 8);
}

/* Moves every queued datagram from one engine to the other. */
static int pump(side *from, side *to) {
  uint8_t buf[4096];
  m6ike_ikev2_path path, in;
  int len, moved = 0;
  while ((len = m6ike_ikev2_write_pkt(from->ike, &path, buf, sizeof(buf),
                                      0)) > 0) {
    in.local = path.remote;
    in.remote = path.local;
    in.local_port = path.remote_port;
    in.remote_port = path.local_port;
    m6ike_ikev2_read_pkt(to->ike, &in, buf, (size_t)len, 0);
    moved++;
  }
  return moved;
}

static void run(const char *label_rate, const char *label_us,
                const char *ike_prop_name, uint16_t dh, unsigned n) {
  m6ike_crypto *crypto;
  side a, b;
  m6ike_ikev2_callbacks ca, cb;
  m6ike_ikev2_config cfg;
  m6ike_ikev2_peer_cfg pa, pb;
  m6ike_ikev2_child_cfg ka, kb;
  uint64_t t0, t1;
  (void)ike_prop_name;

  if (m6ike_crypto_openssl_new(&crypto, NULL) != 0) {
    abort();
  }
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  a.rng = 0x1234567;
  b.rng = 0x7654321;
  memset(&ca, 0, sizeof(ca));
  ca.user_data = &a;
  ca.rand = rand_cb;
  ca.child_sa_up = child_up;
  cb = ca;
  cb.user_data = &b;
  m6ike_ikev2_config_default(&cfg);
  cfg.max_ike_sas = 2 * n + 16;
  if (m6ike_ikev2_new(&a.ike, &cfg, &ca, crypto, NULL) != 0 ||
      m6ike_ikev2_new(&b.ike, &cfg, &cb, crypto, NULL) != 0) {
    abort();
  }

  memset(&pa, 0, sizeof(pa));
  pa.path.local.b[0] = pa.path.remote.b[0] = 0xfe;
  pa.path.local.b[1] = pa.path.remote.b[1] = 0x80;
  pa.path.local.b[15] = 0xa;
  pa.path.remote.b[15] = 0xb;
  pa.path.local_port = pa.path.remote_port = 500;
  ident(&pa.local_id, "a.bench.example");
  ident(&pa.remote_id, "b.bench.example");
  pa.auth_method = M6IKE_IKEV2_AUTH_PSK;
  memcpy(pa.psk, "bench-pre-shared-key-0123456789", 31);
  pa.psk_len = 31;
  pa.n_ike = 1;
  pa.ike[0].encr = M6IKE_ENCR_AES_GCM_16;
  pa.ike[0].encr_keylen = 128;
  pa.ike[0].prf = M6IKE_PRF_HMAC_SHA2_256;
  pa.ike[0].dh = dh;
  pb = pa;
  pb.path.local = pa.path.remote;
  pb.path.remote = pa.path.local;
  ident(&pb.local_id, "b.bench.example");
  ident(&pb.remote_id, "a.bench.example");

  memset(&ka, 0, sizeof(ka));
  ka.mode = M6IKE_IKEV2_MODE_TUNNEL;
  ka.reqid = 1;
  prefix_ts(&ka.ts_local[0], 0xa);
  prefix_ts(&ka.ts_remote[0], 0xb);
  ka.n_ts_local = ka.n_ts_remote = 1;
  ka.n_esp = 1;
  ka.esp[0].encr = M6IKE_ENCR_AES_GCM_16;
  ka.esp[0].encr_keylen = 128;
  kb = ka;
  prefix_ts(&kb.ts_local[0], 0xb);
  prefix_ts(&kb.ts_remote[0], 0xa);
  if (m6ike_ikev2_add_peer(b.ike, &pb, &kb, 1) != 0) {
    abort();
  }

  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < n; i++) {
    unsigned want = a.children + 1;
    if (m6ike_ikev2_initiate(a.ike, &pa, &ka, 0, NULL) != 0) {
      abort();
    }
    while (a.children < want) {
      if (pump(&a, &b) + pump(&b, &a) == 0) {
        fprintf(stderr, "bench_ikev2: handshake %u stalled\n", i);
        abort();
      }
    }
  }
  t1 = m6ike_bench_now_ns();
  if (b.children != n) {
    abort();
  }
  m6ike_bench_sink(a.children + b.children);
  M6IKE_BENCH_LINE(label_rate, (double)n * 1e9 / (double)(t1 - t0),
                   "handshakes/s");
  M6IKE_BENCH_LINE(label_us, (double)(t1 - t0) / n / 1e3, "us/op");
  m6ike_ikev2_del(a.ike);
  m6ike_ikev2_del(b.ike);
  m6ike_crypto_del(crypto);
}

void m6ike_bench_ikev2(void) {
  run("IKE_SA_INIT+IKE_AUTH, X25519+PSK, both ends",
      "full re-negotiation (X25519+PSK)", "x25519", M6IKE_DH_CURVE25519,
      2000);
  run("IKE_SA_INIT+IKE_AUTH, MODP-2048+PSK, both ends",
      "full re-negotiation (MODP-2048+PSK)", "modp2048", M6IKE_DH_MODP_2048,
      200);
}
