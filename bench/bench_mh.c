/* Benchmarks for the mh unit: BU codec and whole MH packets. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "m6ike/mh.h"

#define MH_BENCH_ITERS 2000000u

static void report(const char *what, uint64_t t0, uint64_t t1, unsigned n) {
  printf("%-48s %12.1f %s\n", what, (double)(t1 - t0) / (double)n, "ns/op");
}

void m6ike_bench_mh(void) {
  m6ike_mh_msg bu, out;
  m6ike_addr6 coa, ha, hoa;
  uint8_t buf[256];
  uint64_t acc = 0, t0, t1;
  int n;

  m6ike_addr6_parse(&coa, "2001:db8:2::100");
  m6ike_addr6_parse(&ha, "2001:db8:1::1");
  m6ike_addr6_parse(&hoa, "2001:db8:1::5");
  memset(&bu, 0, sizeof(bu));
  bu.type = M6IKE_MH_BU;
  bu.u.bu.seq = 7;
  bu.u.bu.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K;
  bu.u.bu.lifetime = 105;
  bu.opts.has_alt_coa = 1;
  bu.opts.alt_coa = coa;
  bu.opts.has_bind_auth = 1;
  memset(bu.opts.authenticator, 0x5a, sizeof(bu.opts.authenticator));

  /* BU with Alt-CoA and Binding Authorization Data: encode + decode. */
  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < MH_BENCH_ITERS; i++) {
    bu.u.bu.seq = (uint16_t)i;
    n = m6ike_mh_encode(buf, sizeof(buf), &bu);
    acc += (uint64_t)m6ike_mh_decode(&out, buf, (size_t)n) + out.u.bu.seq;
  }
  t1 = m6ike_bench_now_ns();
  report("BU encode+decode", t0, t1, MH_BENCH_ITERS);

  /* Decode alone (same message). */
  n = m6ike_mh_encode(buf, sizeof(buf), &bu);
  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < MH_BENCH_ITERS; i++) {
    buf[7] = (uint8_t)i; /* vary the sequence number */
    acc += (uint64_t)m6ike_mh_decode(&out, buf, (size_t)n) + out.u.bu.seq;
  }
  t1 = m6ike_bench_now_ns();
  report("BU decode", t0, t1, MH_BENCH_ITERS);

  /* Whole packet: IPv6 + HAO + BU, checksum computed and verified. */
  m6ike_ip6_info info;
  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < MH_BENCH_ITERS / 4; i++) {
    bu.u.bu.seq = (uint16_t)i;
    n = m6ike_mh_build_packet(buf, sizeof(buf), &coa, &ha, &hoa, NULL, &bu);
    acc += (uint64_t)m6ike_mh_parse_packet(&info, &out, buf, (size_t)n) +
           out.u.bu.seq;
  }
  t1 = m6ike_bench_now_ns();
  report("MH packet build+parse (HAO, checksum)", t0, t1, MH_BENCH_ITERS / 4);
  m6ike_bench_sink(acc);
}
