/* Benchmarks for the ikev2_msg unit: building and parsing IKE messages. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "m6ike/ikev2_msg.h"

#define IKEV2_MSG_BENCH_ITERS 1000000u

static const m6ike_ikev2_xform_spec ike_xf[] = {
    {M6IKE_IKEV2_TRANS_ENCR, M6IKE_IKEV2_ENCR_AES_GCM_16, 256},
    {M6IKE_IKEV2_TRANS_PRF, M6IKE_IKEV2_PRF_HMAC_SHA2_256, -1},
    {M6IKE_IKEV2_TRANS_DH, M6IKE_IKEV2_DH_CURVE25519, -1}};
static const m6ike_ikev2_xform_spec esp_xf[] = {
    {M6IKE_IKEV2_TRANS_ENCR, M6IKE_IKEV2_ENCR_AES_GCM_16, 128},
    {M6IKE_IKEV2_TRANS_ESN, M6IKE_IKEV2_ESN_NO, -1}};

/* IKE_SA_INIT request { SA, KEi, Ni, N(NAT_D_S), N(NAT_D_D) }. */
static int build_init(uint8_t *buf, size_t cap, uint32_t mid) {
  static const uint8_t ke[32] = {1}, no[32] = {2}, h[20] = {3};
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr hdr;
  memset(&hdr, 0, sizeof(hdr));
  hdr.ispi = 0x0102030405060708ULL;
  hdr.exchange = M6IKE_IKEV2_IKE_SA_INIT;
  hdr.flags = M6IKE_IKEV2_FLAG_I;
  hdr.msg_id = mid;
  m6ike_ikev2_prop_spec p = {M6IKE_IKEV2_PROTO_IKE, 0, NULL, 3, ike_xf};
  m6ike_ikev2_ke k = {M6IKE_IKEV2_DH_CURVE25519, ke, 32};
  m6ike_ikev2_builder_begin(&b, buf, cap, &hdr);
  m6ike_ikev2_add_sa(&b, &p, 1, 1);
  m6ike_ikev2_add_ke(&b, &k);
  m6ike_ikev2_add_nonce(&b, no, 32);
  m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP, h,
                              20);
  m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP,
                              h, 20);
  return m6ike_ikev2_builder_finish(&b);
}

/* IKE_AUTH request SK { IDi, AUTH, N(USE_TRANSPORT_MODE), SA, TSi, TSr }
 * with an 8-octet IV and a 16-octet ICV (AES-GCM layout). */
static int build_auth(uint8_t *buf, size_t cap, m6ike_ikev2_sk_region *r) {
  static const uint8_t auth[32] = {4}, spi[4] = {5, 6, 7, 8};
  static const uint8_t hoa[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x64};
  static const uint8_t ha[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1};
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr hdr;
  m6ike_ikev2_ts tsi, tsr;
  m6ike_addr6 a1, a2;
  memset(&hdr, 0, sizeof(hdr));
  hdr.ispi = 0x0102030405060708ULL;
  hdr.rspi = 0x1112131415161718ULL;
  hdr.exchange = M6IKE_IKEV2_IKE_AUTH;
  hdr.flags = M6IKE_IKEV2_FLAG_I;
  hdr.msg_id = 1;
  memcpy(a1.b, hoa, 16);
  memcpy(a2.b, ha, 16);
  m6ike_ikev2_ts_set_mh(&tsi, &a1, 5);
  m6ike_ikev2_ts_set_mh(&tsr, &a2, 5);
  m6ike_ikev2_id id = {M6IKE_IKEV2_ID_FQDN, (const uint8_t *)"mn.example",
                       10};
  m6ike_ikev2_auth au = {M6IKE_IKEV2_AUTH_PSK, auth, 32};
  m6ike_ikev2_prop_spec p = {M6IKE_IKEV2_PROTO_ESP, 4, spi, 2, esp_xf};
  m6ike_ikev2_builder_begin(&b, buf, cap, &hdr);
  m6ike_ikev2_sk_begin(&b, 8);
  m6ike_ikev2_add_id(&b, M6IKE_IKEV2_PL_IDI, &id);
  m6ike_ikev2_add_auth(&b, &au);
  m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
  m6ike_ikev2_add_sa(&b, &p, 1, 1);
  m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSI, &tsi, 1);
  m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSR, &tsr, 1);
  m6ike_ikev2_sk_end(&b, 1, 16, r);
  return m6ike_ikev2_builder_finish(&b);
}

static void report(const char *what, uint64_t t0, uint64_t t1, unsigned n) {
  printf("%-48s %12.1f %s\n", what, (double)(t1 - t0) / (double)n, "ns/op");
}

void m6ike_bench_ikev2_msg(void) {
  uint8_t buf[1024];
  m6ike_ikev2_msg m;
  m6ike_ikev2_sk_region r;
  uint64_t acc = 0, t0, t1;
  int n = 0;

  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < IKEV2_MSG_BENCH_ITERS; i++) {
    n = build_init(buf, sizeof(buf), i);
    acc += (uint64_t)n + buf[23];
  }
  t1 = m6ike_bench_now_ns();
  report("ikev2 build IKE_SA_INIT req (200 B)", t0, t1,
         IKEV2_MSG_BENCH_ITERS);

  n = build_init(buf, sizeof(buf), 0);
  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < IKEV2_MSG_BENCH_ITERS; i++) {
    buf[23] = (uint8_t)i; /* message ID: defeats hoisting */
    acc += (uint64_t)m6ike_ikev2_parse(&m, buf, (size_t)n, 0);
    acc += (uint64_t)m6ike_ikev2_decode_all(&m);
    acc += (uint64_t)m6ike_ikev2_check_exchange(&m) + m.hdr.msg_id;
  }
  t1 = m6ike_bench_now_ns();
  report("ikev2 parse+decode+check IKE_SA_INIT req", t0, t1,
         IKEV2_MSG_BENCH_ITERS);

  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < IKEV2_MSG_BENCH_ITERS; i++) {
    n = build_auth(buf, sizeof(buf), &r);
    acc += (uint64_t)n + r.plain_len;
  }
  t1 = m6ike_bench_now_ns();
  report("ikev2 build IKE_AUTH req with SK layout", t0, t1,
         IKEV2_MSG_BENCH_ITERS);

  n = build_auth(buf, sizeof(buf), &r);
  t0 = m6ike_bench_now_ns();
  for (unsigned i = 0; i < IKEV2_MSG_BENCH_ITERS; i++) {
    m6ike_ikev2_sk_region rr;
    size_t inner = 0;
    buf[23] = (uint8_t)i;
    acc += (uint64_t)m6ike_ikev2_parse(&m, buf, (size_t)n, 0);
    acc += (uint64_t)m6ike_ikev2_sk_layout(&m, 8, 16, 1, &rr);
    acc += (uint64_t)m6ike_ikev2_sk_strip_padding(buf + rr.plain_off,
                                                  rr.plain_len, &inner);
    acc += (uint64_t)m6ike_ikev2_parse_inner(&m, buf + rr.plain_off, inner);
    acc += (uint64_t)m6ike_ikev2_decode_all(&m);
    acc += (uint64_t)m6ike_ikev2_check_exchange(&m) + m.count;
  }
  t1 = m6ike_bench_now_ns();
  report("ikev2 parse+inner+decode+check IKE_AUTH req", t0, t1,
         IKEV2_MSG_BENCH_ITERS);
  m6ike_bench_sink(acc);
}
