/* ipsec benchmarks: ESP encapsulation + decapsulation (one sender, one
 * receiver, tunnel mode, OpenSSL backend) in Mbit/s and packets/s of inner
 * packets; the direct SA address update (main paper) in ns/op with 10^4
 * SAs in the table. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/ipsec.h"

/* xorshift: CBC IVs and the update loop; not for keys. */
static int fast_rand(uint8_t *d, size_t n, void *ud) {
  uint64_t *s = ud;
  for (size_t i = 0; i < n; i++) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    d[i] = (uint8_t)*s;
  }
  return 0;
}

static m6ike_addr6 addr(const char *t) {
  m6ike_addr6 a;
  m6ike_addr6_parse(&a, t);
  return a;
}

typedef struct {
  const char *name;
  uint16_t enc, integ;
  size_t ek, ak;
} xform;

static void sa_params(const xform *x, m6ike_ipsec_sa_params *p,
                      const uint8_t *ek, const uint8_t *ak) {
  memset(p, 0, sizeof(*p));
  p->spi = 0x1000;
  p->src = addr("2001:db8:2::5");
  p->dst = addr("2001:db8:1::1");
  p->mode = M6IKE_IPSEC_MODE_TUNNEL;
  p->reqid = 1;
  p->enc_alg = x->enc;
  p->auth_alg = x->integ;
  p->enc_key = ek;
  p->enc_key_len = x->ek;
  p->auth_key = ak;
  p->auth_key_len = x->ak;
}

static void bench_esp(const m6ike_crypto *c, const xform *x, size_t size) {
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  m6ike_ipsec_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.crypto = c;
  cfg.rand = fast_rand;
  cfg.rand_user_data = &seed;
  m6ike_ipsec *tx, *rx;
  if (m6ike_ipsec_new(&tx, &cfg, NULL) != 0 ||
      m6ike_ipsec_new(&rx, &cfg, NULL) != 0) {
    return;
  }
  uint8_t ek[36], ak[32];
  for (size_t i = 0; i < sizeof(ek); i++) {
    ek[i] = (uint8_t)(i * 3 + 1);
  }
  for (size_t i = 0; i < sizeof(ak); i++) {
    ak[i] = (uint8_t)(i * 5 + 2);
  }
  m6ike_ipsec_sa_params p;
  sa_params(x, &p, ek, ak);
  m6ike_ipsec_policy pol;
  memset(&pol, 0, sizeof(pol));
  pol.dir = M6IKE_IPSEC_DIR_OUTBOUND;
  pol.action = M6IKE_IPSEC_ACTION_PROTECT;
  pol.mode = M6IKE_IPSEC_MODE_TUNNEL;
  pol.reqid = 1;
  pol.tun_src = p.src;
  pol.tun_dst = p.dst;
  m6ike_addr6 hoa = addr("2001:db8:1::5"), cn = addr("2001:db8:9::9");
  m6ike_ipsec_selector_host(&pol.sel, &hoa, &cn, M6IKE_IPSEC_PROTO_ANY);
  if (m6ike_ipsec_sa_add(tx, &p, 0) != 0 ||
      m6ike_ipsec_sa_add(rx, &p, 0) != 0 ||
      m6ike_ipsec_policy_add(tx, &pol, NULL) != 0) {
    printf("ipsec bench: setup failed for %s\n", x->name);
    m6ike_ipsec_del(tx);
    m6ike_ipsec_del(rx);
    return;
  }
  /* inner packet: IPv6 | UDP | payload, size octets in all */
  uint8_t pkt[1500], esp[1600], back[1600];
  memset(pkt, 0, sizeof(pkt));
  pkt[0] = 0x60;
  pkt[4] = (uint8_t)((size - 40) >> 8);
  pkt[5] = (uint8_t)(size - 40);
  pkt[6] = 17;
  pkt[7] = 64;
  memcpy(pkt + 8, hoa.b, 16);
  memcpy(pkt + 24, cn.b, 16);
  pkt[41] = 9;
  pkt[43] = 9;
  pkt[44] = (uint8_t)((size - 40) >> 8);
  pkt[45] = (uint8_t)(size - 40);
  for (size_t i = 48; i < size; i++) {
    pkt[i] = (uint8_t)i;
  }
  /* about 0.3 s per figure */
  size_t n = size <= 64 ? 600000 : size <= 512 ? 300000 : 150000;
  if (x->enc == M6IKE_ENCR_3DES) {
    n /= 8;
  }
  uint64_t sink = 0, ok = 0;
  uint64_t t0 = m6ike_bench_now_ns();
  for (size_t i = 0; i < n; i++) {
    int e = m6ike_ipsec_output(tx, pkt, size, esp, sizeof(esp), i);
    if (e <= 0) {
      break;
    }
    int d = m6ike_ipsec_input(rx, esp, (size_t)e, back, sizeof(back), i);
    if (d == (int)size) {
      ok++;
      sink += back[size - 1];
    }
  }
  uint64_t t1 = m6ike_bench_now_ns();
  m6ike_bench_sink(sink);
  double s = (double)(t1 - t0) / 1e9;
  char what[96];
  if (ok != n) {
    printf("ipsec bench: %s %zu B: %llu of %zu packets round-tripped\n",
           x->name, size, (unsigned long long)ok, n);
  }
  snprintf(what, sizeof(what), "ESP %s encap+decap %zu B", x->name, size);
  printf("%-48s %12.1f %s\n", what, (double)ok * size * 8 / s / 1e6,
         "Mbit/s");
  printf("%-48s %12.1f %s\n", what, (double)ok / s, "packets/s");
  m6ike_ipsec_del(tx);
  m6ike_ipsec_del(rx);
}

static void bench_update(const m6ike_crypto *c) {
  uint64_t seed = 1;
  m6ike_ipsec_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.crypto = c;
  cfg.rand = fast_rand;
  cfg.rand_user_data = &seed;
  m6ike_ipsec *x;
  if (m6ike_ipsec_new(&x, &cfg, NULL) != 0) {
    return;
  }
  enum { NSA = 10000, N = 2000000 };
  const xform gcm = {"aes128gcm16", M6IKE_ENCR_AES_GCM_16, M6IKE_INTEG_NONE,
                     20, 0};
  uint8_t ek[20] = {1};
  m6ike_ipsec_sa_params p;
  sa_params(&gcm, &p, ek, NULL);
  m6ike_ipsec_policy pol;
  memset(&pol, 0, sizeof(pol));
  pol.dir = M6IKE_IPSEC_DIR_OUTBOUND;
  pol.action = M6IKE_IPSEC_ACTION_PROTECT;
  pol.mode = M6IKE_IPSEC_MODE_TUNNEL;
  pol.tun_src = p.src;
  pol.tun_dst = p.dst;
  m6ike_ipsec_selector_any(&pol.sel);
  uint32_t pid = 0;
  for (uint32_t i = 0; i < NSA; i++) {
    p.spi = 0x1000 + i * 7919u;
    p.reqid = i;
    if (m6ike_ipsec_sa_add(x, &p, 0) != 0) {
      printf("ipsec bench: SA setup failed\n");
      m6ike_ipsec_del(x);
      return;
    }
  }
  if (m6ike_ipsec_policy_add(x, &pol, &pid) != 0) {
    m6ike_ipsec_del(x);
    return;
  }
  m6ike_addr6 coa[2] = {addr("2001:db8:2::5"), addr("2001:db8:3::5")};
  m6ike_addr6 ha = addr("2001:db8:1::1");
  uint64_t sink = 0;
  uint64_t t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < N; i++) {
    uint32_t k = (i * 2654435761u) % NSA;
    sink += (uint64_t)m6ike_ipsec_sa_update_addresses(x, 0x1000 + k * 7919u,
                                                      &coa[i & 1], &ha);
  }
  uint64_t t1 = m6ike_bench_now_ns();
  printf("%-48s %12.1f %s\n", "SA address update (direct), 10^4 SAs",
         (double)(t1 - t0) / N, "ns/op");
  t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < N; i++) {
    uint32_t k = (i * 2654435761u) % NSA;
    sink += (uint64_t)m6ike_ipsec_sa_update_addresses(x, 0x1000 + k * 7919u,
                                                      &coa[i & 1], &ha);
    sink += (uint64_t)m6ike_ipsec_policy_update_tunnel(x, pid, &coa[i & 1],
                                                       &ha);
  }
  t1 = m6ike_bench_now_ns();
  printf("%-48s %12.1f %s\n", "SA + policy address update (direct)",
         (double)(t1 - t0) / N, "ns/op");
  m6ike_bench_sink(sink);
  m6ike_ipsec_del(x);
}

void m6ike_bench_ipsec(void) {
  m6ike_crypto *c;
  if (m6ike_crypto_openssl_new(&c, NULL) != 0) {
    printf("ipsec bench: no OpenSSL backend\n");
    return;
  }
  static const xform xs[] = {
      {"aes128gcm16", M6IKE_ENCR_AES_GCM_16, M6IKE_INTEG_NONE, 20, 0},
      {"3des-sha1", M6IKE_ENCR_3DES, M6IKE_INTEG_HMAC_SHA1_96, 24, 20},
      {"aes128-sha256", M6IKE_ENCR_AES_CBC, M6IKE_INTEG_HMAC_SHA2_256_128, 16,
       32},
  };
  static const size_t sizes[] = {64, 512, 1400};
  for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
    for (size_t j = 0; j < 3; j++) {
      bench_esp(c, &xs[i], sizes[j]);
    }
  }
  bench_update(c);
  m6ike_crypto_del(c);
}
