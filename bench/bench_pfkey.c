/* PF_KEY codec benchmarks: ACQUIRE+Reference and MIGRATE+KMADDRESS
 * encode+decode, ns per round trip. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "m6ike/pfkey.h"

static m6ike_pfkey_sockaddr sa6(const char *t) {
  m6ike_addr6 a;
  m6ike_addr6_parse(&a, t);
  return m6ike_pfkey_sockaddr6(&a, 0);
}

void m6ike_bench_pfkey(void) {
  enum { N = 1000000 };
  uint8_t buf[512];
  m6ike_pfkey_sockaddr hoa = sa6("2001:db8:1::5"), ha = sa6("2001:db8:1::1"),
                       nc = sa6("2001:db8:2::5"), oc = sa6("2001:db8:3::5");
  m6ike_pfkey_comb c;
  memset(&c, 0, sizeof(c));
  c.auth = M6IKE_SADB_AALG_SHA1HMAC;
  c.encrypt = M6IKE_SADB_X_EALG_AESCBC;
  uint64_t sink = 0;

  uint64_t t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < N; i++) {
    m6ike_pfkey_builder b;
    m6ike_pfkey_msg m;
    m6ike_pfkey_reference r;
    m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ACQUIRE,
                              M6IKE_SADB_SATYPE_ESP, i, 0);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
    m6ike_pfkey_add_proposal(&b, 32, &c, 1);
    m6ike_pfkey_add_reference(&b, i);
    int n = m6ike_pfkey_builder_finish(&b);
    if (m6ike_pfkey_decode(&m, buf, (size_t)n, 0) == n &&
        m6ike_pfkey_get_reference(&m, &r) == 0) {
      sink += r.mpi;
    }
  }
  uint64_t t1 = m6ike_bench_now_ns();
  printf("%-48s %12.1f %s\n", "ACQUIRE+Reference encode+decode",
         (double)(t1 - t0) / N, "ns/op");

  t0 = m6ike_bench_now_ns();
  for (uint32_t i = 0; i < N; i++) {
    m6ike_pfkey_builder b;
    m6ike_pfkey_msg m;
    m6ike_pfkey_policy p;
    m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_X_MIGRATE,
                              M6IKE_SADB_SATYPE_ESP, i, 0);
    m6ike_pfkey_add_kmaddress(&b, &nc, &ha);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
    m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC,
                           M6IKE_IPSEC_DIR_OUTBOUND, 0, 0);
    m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP,
                                 M6IKE_IPSEC_MODE_TUNNEL,
                                 M6IKE_IPSEC_LEVEL_REQUIRE, 1, &oc, &ha);
    m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP,
                                 M6IKE_IPSEC_MODE_TUNNEL,
                                 M6IKE_IPSEC_LEVEL_REQUIRE, 1, &nc, &ha);
    int n = m6ike_pfkey_builder_finish(&b);
    if (m6ike_pfkey_decode(&m, buf, (size_t)n, 0) == n &&
        m6ike_pfkey_get_policy(&m, &p) == 0) {
      sink += p.n_requests + (uint64_t)n;
    }
  }
  t1 = m6ike_bench_now_ns();
  printf("%-48s %12.1f %s\n", "MIGRATE+KMADDRESS encode+decode",
         (double)(t1 - t0) / N, "ns/op");
  m6ike_bench_sink(sink);
}
