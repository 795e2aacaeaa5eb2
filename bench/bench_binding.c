/* Benchmarks of the binding unit: a home agent's binding cache at 1e5 MNs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "m6ike/binding.h"

#define BENCH_MNS 100000u
#define BENCH_ROUNDS 10u

static void hoa_of(m6ike_addr6 *a, uint32_t i) {
  memset(a, 0, sizeof(*a));
  a->b[0] = 0x20;
  a->b[1] = 0x01;
  a->b[2] = 0x0d;
  a->b[3] = 0xb8;
  a->b[12] = (uint8_t)(i >> 24);
  a->b[13] = (uint8_t)(i >> 16);
  a->b[14] = (uint8_t)(i >> 8);
  a->b[15] = (uint8_t)i;
}

void m6ike_bench_binding(void) {
  m6ike_bcache_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.role = M6IKE_BCACHE_ROLE_HA;
  cfg.home_prefixes[0].prefix.b[0] = 0x20;
  cfg.home_prefixes[0].prefix.b[1] = 0x01;
  cfg.home_prefixes[0].plen = 16;
  cfg.n_home_prefixes = 1;
  cfg.k_supported = 1;
  m6ike_bcache *bc = NULL;
  if (m6ike_bcache_new(&bc, &cfg, NULL) != 0) return;

  m6ike_addr6 *hoas = malloc(BENCH_MNS * sizeof(*hoas));
  uint32_t *order = malloc(BENCH_MNS * sizeof(*order));
  if (!hoas || !order) {
    free(hoas);
    free(order);
    m6ike_bcache_del(bc);
    return;
  }
  uint64_t x = 88172645463325252ULL; /* xorshift: a fixed shuffle */
  for (uint32_t i = 0; i < BENCH_MNS; i++) {
    hoa_of(&hoas[i], i);
    order[i] = i;
  }
  for (uint32_t i = BENCH_MNS - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint32_t j = (uint32_t)(x % (i + 1));
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  m6ike_addr6 coa;
  memset(&coa, 0, sizeof(coa));
  coa.b[0] = 0x20;
  coa.b[1] = 0x02;
  coa.b[15] = 1;
  m6ike_mh_msg bu, ba;
  memset(&bu, 0, sizeof(bu));
  bu.type = M6IKE_MH_BU;
  bu.payload_proto = M6IKE_IPPROTO_NONE;
  bu.u.bu.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K;
  bu.u.bu.lifetime = 105;
  uint64_t sink = 0;

  /* Populate: every MN registers once. */
  bu.u.bu.seq = 1;
  for (uint32_t i = 0; i < BENCH_MNS; i++) {
    sink += (uint64_t)m6ike_bcache_process_bu(bc, &hoas[i], &coa, &bu, 0, &ba);
  }
  /* Timed: BU accept (refresh/handover of an existing binding, which also
   * moves the entry in the expiry heap), random MN order. */
  uint64_t t0 = m6ike_bench_now_ns();
  for (uint32_t r = 0; r < BENCH_ROUNDS; r++) {
    bu.u.bu.seq = (uint16_t)(2 + r);
    coa.b[14] = (uint8_t)r;
    m6ike_tstamp now = (m6ike_tstamp)(r + 1) * M6IKE_SECONDS;
    for (uint32_t i = 0; i < BENCH_MNS; i++) {
      sink += (uint64_t)m6ike_bcache_process_bu(bc, &hoas[order[i]], &coa, &bu,
                                                now, &ba);
      sink += ba.u.ba.status;
    }
  }
  uint64_t t1 = m6ike_bench_now_ns();
  printf("%-48s %12.1f %s\n", "binding cache update (BU accept, 1e5 MNs)",
         (double)(t1 - t0) / ((double)BENCH_MNS * BENCH_ROUNDS), "ns/op");

  t0 = m6ike_bench_now_ns();
  for (uint32_t r = 0; r < BENCH_ROUNDS; r++) {
    for (uint32_t i = 0; i < BENCH_MNS; i++) {
      const m6ike_bcache_entry *e = m6ike_bcache_lookup(bc, &hoas[order[i]]);
      sink += e ? e->seq : 0;
    }
  }
  t1 = m6ike_bench_now_ns();
  printf("%-48s %12.1f %s\n", "binding cache lookup by HoA (1e5)",
         (double)(t1 - t0) / ((double)BENCH_MNS * BENCH_ROUNDS), "ns/op");
  m6ike_bench_sink(sink);
  free(hoas);
  free(order);
  m6ike_bcache_del(bc);
}
