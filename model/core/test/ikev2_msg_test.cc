// Tests of the IKEv2 message codec (m6ike/ikev2_msg.h).
#include "m6ike/ikev2_msg.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;
using BuildFn = std::function<void(m6ike_ikev2_builder *)>;

m6ike_ikev2_hdr Hdr(uint8_t exch, uint8_t flags, uint32_t mid = 0) {
  m6ike_ikev2_hdr h;
  std::memset(&h, 0, sizeof(h));
  h.ispi = 0x0102030405060708ULL;
  h.rspi = exch == M6IKE_IKEV2_IKE_SA_INIT && !(flags & M6IKE_IKEV2_FLAG_R)
               ? 0
               : 0x1112131415161718ULL;
  h.exchange = exch;
  h.flags = flags;
  h.msg_id = mid;
  return h;
}

// Builds a message; fails the test if the builder fails.
Bytes Build(uint8_t exch, uint8_t flags, const BuildFn &f, uint32_t mid = 0) {
  std::vector<uint8_t> buf(8192);
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr h = Hdr(exch, flags, mid);
  EXPECT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  f(&b);
  int n = m6ike_ikev2_builder_finish(&b);
  EXPECT_GT(n, 0) << m6ike_strerror(n);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

// Wraps a hand-written payload chain in an IKE header.
Bytes Wrap(uint8_t np, const Bytes &chain, uint8_t exch = 34,
           uint8_t flags = 0x08) {
  Bytes m = Hex("0102030405060708 0000000000000000");
  m.push_back(np);
  m.push_back(0x20);
  m.push_back(exch);
  m.push_back(flags);
  Bytes tail = Hex("00000000");
  m.insert(m.end(), tail.begin(), tail.end());
  uint32_t len = static_cast<uint32_t>(28 + chain.size());
  m.push_back(static_cast<uint8_t>(len >> 24));
  m.push_back(static_cast<uint8_t>(len >> 16));
  m.push_back(static_cast<uint8_t>(len >> 8));
  m.push_back(static_cast<uint8_t>(len));
  m.insert(m.end(), chain.begin(), chain.end());
  return m;
}

// One payload view with the given type and body (for decoder tests).
struct View {
  Bytes raw;
  m6ike_ikev2_payload pl;
  View(uint8_t type, const Bytes &body) {
    raw = Hex("00000000");
    raw.insert(raw.end(), body.begin(), body.end());
    std::memset(&pl, 0, sizeof(pl));
    pl.type = type;
    pl.known = 1;
    pl.hdr = raw.data();
    pl.body = raw.data() + 4;
    pl.body_len = body.size();
  }
};

int Parse(m6ike_ikev2_msg *m, const Bytes &b, unsigned flags = 0) {
  return m6ike_ikev2_parse(m, b.data(), b.size(), flags);
}

std::string Fmt(const m6ike_ikev2_msg &m) {
  char buf[256];
  return m6ike_ikev2_format(&m, buf, sizeof(buf));
}

Bytes Rep(uint8_t v, size_t n) { return Bytes(n, v); }

// The RFC 7296 IKE_SA_INIT request of the reference test, by hand:
//   HDR(SPIi=0102..08, SPIr=0, IKE_SA_INIT, I, mid 0),
//   SA { P1 IKE: ENCR AES_GCM_16 keylen 256, PRF HMAC_SHA2_256, DH 31 },
//   KE(31, 32 x 0x11), Ni(32 x 0x22), N(NAT_D_S, 20 x 0x33),
//   N(NAT_D_D, 20 x 0x44)
Bytes ReferenceInit() {
  std::string h =
      // IKE header: SPIi, SPIr, np=SA(33), ver 2.0, IKE_SA_INIT, I, mid, len
      "0102030405060708 0000000000000000 21 20 22 08 00000000 000000c8"
      // SA: np=KE(34), C=0, len 40
      "22 00 0028"
      //   proposal: last, rsv, len 36, num 1, IKE, spi 0, 3 transforms
      "00 00 0024 01 01 00 03"
      //     ENCR(1) AES_GCM_16(20), more, len 12, attr KeyLength(TV) 256
      "03 00 000c 01 00 0014 800e 0100"
      //     PRF(2) HMAC_SHA2_256(5), more, len 8
      "03 00 0008 02 00 0005"
      //     DH(4) 31, last, len 8
      "00 00 0008 04 00 001f"
      // KE: np=Nonce(40), len 40, group 31, reserved
      "28 00 0028 001f 0000";
  Bytes m = Hex(h);
  Bytes ke = Rep(0x11, 32);
  m.insert(m.end(), ke.begin(), ke.end());
  Bytes no = Hex("29 00 0024");  // Nonce: np=N(41), len 36
  no.insert(no.end(), 32, 0x22);
  m.insert(m.end(), no.begin(), no.end());
  Bytes n1 = Hex("29 00 001c 00 00 4004");  // N: proto 0, spi 0, NAT_D_S
  n1.insert(n1.end(), 20, 0x33);
  m.insert(m.end(), n1.begin(), n1.end());
  Bytes n2 = Hex("00 00 001c 00 00 4005");  // N: last, NAT_D_D
  n2.insert(n2.end(), 20, 0x44);
  m.insert(m.end(), n2.begin(), n2.end());
  return m;
}

const m6ike_ikev2_xform_spec kInitXf[] = {
    {M6IKE_IKEV2_TRANS_ENCR, M6IKE_IKEV2_ENCR_AES_GCM_16, 256},
    {M6IKE_IKEV2_TRANS_PRF, M6IKE_IKEV2_PRF_HMAC_SHA2_256, -1},
    {M6IKE_IKEV2_TRANS_DH, M6IKE_IKEV2_DH_CURVE25519, -1}};

void BuildInit(m6ike_ikev2_builder *b) {
  static const uint8_t ke[32] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                 0x11, 0x11, 0x11, 0x11};
  uint8_t no[32], s[20], d[20];
  std::memset(no, 0x22, sizeof(no));
  std::memset(s, 0x33, sizeof(s));
  std::memset(d, 0x44, sizeof(d));
  m6ike_ikev2_prop_spec p = {M6IKE_IKEV2_PROTO_IKE, 0, nullptr, 3, kInitXf};
  m6ike_ikev2_ke k = {M6IKE_IKEV2_DH_CURVE25519, ke, 32};
  m6ike_ikev2_add_sa(b, &p, 1, 1);
  m6ike_ikev2_add_ke(b, &k);
  m6ike_ikev2_add_nonce(b, no, 32);
  m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP, s, 20);
  m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP, d,
                              20);
}

// ---------------------------------------------------------------------------
// Reference bytes

// IKE_SA_INIT request { SA, KEi, Ni, N(NAT_D_S), N(NAT_D_D) } -->
TEST(Ikev2Msg, ReferenceInitRequestBytesAndFields) {
  Bytes ref = ReferenceInit();
  ASSERT_EQ(200u, ref.size());
  Bytes built = Build(M6IKE_IKEV2_IKE_SA_INIT, M6IKE_IKEV2_FLAG_I, BuildInit);
  EXPECT_EQ(ref, built);

  m6ike_ikev2_msg m;
  ASSERT_EQ(200, Parse(&m, ref));
  EXPECT_EQ(0x0102030405060708ULL, m.hdr.ispi);
  EXPECT_EQ(0u, m.hdr.rspi);
  EXPECT_EQ(M6IKE_IKEV2_PL_SA, m.hdr.next_payload);
  EXPECT_EQ(2, m.hdr.major);
  EXPECT_EQ(0, m.hdr.minor);
  EXPECT_EQ(M6IKE_IKEV2_IKE_SA_INIT, m.hdr.exchange);
  EXPECT_EQ(M6IKE_IKEV2_FLAG_I, m.hdr.flags);
  EXPECT_EQ(0u, m.hdr.msg_id);
  EXPECT_EQ(200u, m.hdr.length);
  ASSERT_EQ(5u, m.count);
  EXPECT_EQ(5u, m.outer_count);
  EXPECT_EQ(-1, m.sk);
  const uint8_t types[] = {33, 34, 40, 41, 41};
  const size_t lens[] = {36, 36, 32, 24, 24};
  const size_t offs[] = {28, 68, 108, 144, 172};
  for (unsigned i = 0; i < 5; i++) {
    EXPECT_EQ(types[i], m.pl[i].type) << i;
    EXPECT_EQ(lens[i], m.pl[i].body_len) << i;
    EXPECT_EQ(offs[i], static_cast<size_t>(m.pl[i].hdr - ref.data())) << i;
    EXPECT_EQ(0, m.pl[i].critical);
    EXPECT_EQ(1, m.pl[i].known);
    EXPECT_EQ(0, m.pl[i].inner);
  }

  m6ike_ikev2_sa sa;
  ASSERT_EQ(0, m6ike_ikev2_decode_sa(&m.pl[0], &sa));
  EXPECT_EQ(1u, sa.n_proposals);
  size_t pos = 0;
  m6ike_ikev2_proposal p;
  ASSERT_EQ(1, m6ike_ikev2_sa_next_proposal(&sa, &pos, &p));
  EXPECT_EQ(1, p.num);
  EXPECT_EQ(M6IKE_IKEV2_PROTO_IKE, p.proto);
  EXPECT_EQ(0, p.spi_size);
  EXPECT_EQ(3, p.n_transforms);
  m6ike_ikev2_transform t;
  size_t tp = 0;
  ASSERT_EQ(1, m6ike_ikev2_proposal_next_transform(&p, &tp, &t));
  EXPECT_EQ(M6IKE_IKEV2_TRANS_ENCR, t.type);
  EXPECT_EQ(M6IKE_IKEV2_ENCR_AES_GCM_16, t.id);
  EXPECT_EQ(256, t.key_len);
  m6ike_ikev2_attr a;
  size_t ap = 0;
  ASSERT_EQ(1, m6ike_ikev2_transform_next_attr(&t, &ap, &a));
  EXPECT_EQ(M6IKE_IKEV2_ATTR_KEY_LENGTH, a.type);
  EXPECT_EQ(1, a.tv);
  EXPECT_EQ(256, a.value);
  EXPECT_EQ(0, m6ike_ikev2_transform_next_attr(&t, &ap, &a));
  ASSERT_EQ(1, m6ike_ikev2_proposal_next_transform(&p, &tp, &t));
  EXPECT_EQ(M6IKE_IKEV2_TRANS_PRF, t.type);
  EXPECT_EQ(M6IKE_IKEV2_PRF_HMAC_SHA2_256, t.id);
  EXPECT_EQ(-1, t.key_len);
  ASSERT_EQ(1, m6ike_ikev2_proposal_next_transform(&p, &tp, &t));
  EXPECT_EQ(M6IKE_IKEV2_TRANS_DH, t.type);
  EXPECT_EQ(M6IKE_IKEV2_DH_CURVE25519, t.id);
  EXPECT_EQ(0, m6ike_ikev2_proposal_next_transform(&p, &tp, &t));
  EXPECT_EQ(0, m6ike_ikev2_sa_next_proposal(&sa, &pos, &p));

  m6ike_ikev2_ke ke;
  ASSERT_EQ(0, m6ike_ikev2_decode_ke(&m.pl[1], &ke));
  EXPECT_EQ(31, ke.group);
  EXPECT_EQ(Rep(0x11, 32), Bytes(ke.data, ke.data + ke.len));
  m6ike_ikev2_blob no;
  ASSERT_EQ(0, m6ike_ikev2_decode_nonce(&m.pl[2], &no));
  EXPECT_EQ(Rep(0x22, 32), Bytes(no.data, no.data + no.len));
  m6ike_ikev2_notify n;
  ASSERT_EQ(0, m6ike_ikev2_decode_notify(&m.pl[3], &n));
  EXPECT_EQ(0, n.proto);
  EXPECT_EQ(0, n.spi_size);
  EXPECT_EQ(M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP, n.type);
  EXPECT_EQ(Rep(0x33, 20), Bytes(n.data, n.data + n.len));
  ASSERT_EQ(4, m6ike_ikev2_find_notify(
                   &m, M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP, &n));
  EXPECT_EQ(Rep(0x44, 20), Bytes(n.data, n.data + n.len));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND,
            m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_COOKIE, &n));

  EXPECT_EQ(0, m6ike_ikev2_decode_all(&m));
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ("IKE_SA_INIT request mid=0 [SA KE Ni N(NAT_D_S) N(NAT_D_D)]",
            Fmt(m));
}

// Every prefix of the reference message is rejected, with the header
// Length left alone (MSG_TRUNCATED) and patched to the prefix length (a
// chain error, never a crash or an out-of-bounds read under ASan).
TEST(Ikev2Msg, EveryPrefixIsRejected) {
  Bytes ref = ReferenceInit();
  m6ike_ikev2_msg m;
  for (size_t n = 0; n < ref.size(); n++) {
    Bytes p(ref.begin(), ref.begin() + static_cast<long>(n));
    int rc = Parse(&m, p);
    if (n < 28) {
      EXPECT_EQ(M6IKE_ERR_IKEV2_HDR_TRUNCATED, rc) << n;
      continue;
    }
    EXPECT_EQ(M6IKE_ERR_IKEV2_MSG_TRUNCATED, rc) << n;
    p[24] = p[25] = 0;
    p[26] = static_cast<uint8_t>(n >> 8);
    p[27] = static_cast<uint8_t>(n);
    rc = Parse(&m, p);
    EXPECT_LT(rc, 0) << n;
    EXPECT_TRUE(rc == M6IKE_ERR_IKEV2_PL_TRUNCATED ||
                rc == M6IKE_ERR_IKEV2_PL_OVERRUN)
        << n << " " << rc;
    EXPECT_EQ(M6IKE_IKEV2_N_INVALID_SYNTAX, m6ike_ikev2_err_to_notify(rc));
  }
  // And every payload body cut short is rejected by its typed decoder,
  // except a nonce still of 16..31 octets (valid); ASan checks the reads.
  ASSERT_EQ(200, Parse(&m, ref));
  for (unsigned i = 0; i < m.count; i++) {
    for (size_t n = 0; n < m.pl[i].body_len; n++) {
      Bytes body(m.pl[i].body, m.pl[i].body + n);
      View v(m.pl[i].type, body);
      int rc = m6ike_ikev2_decode_payload(&v.pl);
      if (m.pl[i].type == M6IKE_IKEV2_PL_NONCE && n >= 16) {
        EXPECT_EQ(0, rc) << n;
      } else {
        EXPECT_LT(rc, 0) << i << " " << n;
      }
    }
  }
}

TEST(Ikev2Msg, BuilderNeedsExactCapacity) {
  Bytes ref = ReferenceInit();
  for (size_t cap = 0; cap < ref.size(); cap++) {
    std::vector<uint8_t> buf(cap + 1);
    m6ike_ikev2_builder b;
    m6ike_ikev2_hdr h = Hdr(34, 8);
    m6ike_ikev2_builder_begin(&b, buf.data(), cap, &h);
    BuildInit(&b);
    EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_ikev2_builder_finish(&b)) << cap;
  }
  std::vector<uint8_t> buf(ref.size());
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr h = Hdr(34, 8);
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  BuildInit(&b);
  EXPECT_EQ(200, m6ike_ikev2_builder_finish(&b));
  EXPECT_EQ(ref, buf);
}

// ---------------------------------------------------------------------------
// Round trips of every payload

struct Fixture {
  m6ike_addr6 hoa = Addr("2001:db8:1::100");
  m6ike_addr6 ha = Addr("2001:db8:1::1");
  m6ike_addr6 coa = Addr("2001:db8:99::5");
};

// IKE_AUTH request SK { IDi, CERT, CERTREQ, IDr, AUTH, CP(CFG_REQUEST),
//   N(USE_TRANSPORT_MODE), N(MOBIKE_SUPPORTED), SA, TSi, TSr, V } -->
// built with a 16-octet IV, CBC block 16 and a 16-octet ICV; the "engine"
// here XORs the plaintext region and undoes it before parse_inner.
TEST(Ikev2Msg, IkeAuthRoundTripThroughSk) {
  Fixture fx;
  std::vector<uint8_t> buf(4096);
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr h = Hdr(M6IKE_IKEV2_IKE_AUTH, M6IKE_IKEV2_FLAG_I, 1);
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  int inner = m6ike_ikev2_sk_begin(&b, 16);
  ASSERT_EQ(28 + 4 + 16, inner);
  const char *fqdn = "mn1.example.org";
  m6ike_ikev2_id idi = {M6IKE_IKEV2_ID_FQDN,
                        reinterpret_cast<const uint8_t *>(fqdn), 15};
  Bytes cert = Rep(0x30, 100), hashes = Rep(0xab, 40), authd = Rep(0x5a, 32);
  m6ike_ikev2_cert c = {M6IKE_IKEV2_CERT_X509_SIG, cert.data(), cert.size()};
  m6ike_ikev2_cert cr = {M6IKE_IKEV2_CERT_X509_SIG, hashes.data(),
                         hashes.size()};
  m6ike_ikev2_id idr = {M6IKE_IKEV2_ID_IPV6_ADDR, fx.ha.b, 16};
  m6ike_ikev2_auth au = {M6IKE_IKEV2_AUTH_PSK, authd.data(), authd.size()};
  m6ike_ikev2_cp_attr cpa[2] = {
      {M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS, 0, nullptr},
      {M6IKE_IKEV2_CP_MIP6_HOME_PREFIX, 0, nullptr}};
  uint8_t spi[4] = {0xc0, 0x01, 0x02, 0x03};
  m6ike_ikev2_xform_spec esp[] = {
      {M6IKE_IKEV2_TRANS_ENCR, M6IKE_IKEV2_ENCR_3DES, -1},
      {M6IKE_IKEV2_TRANS_INTEG, M6IKE_IKEV2_INTEG_HMAC_SHA1_96, -1},
      {M6IKE_IKEV2_TRANS_ESN, M6IKE_IKEV2_ESN_NO, -1}};
  m6ike_ikev2_prop_spec ps[2] = {
      {M6IKE_IKEV2_PROTO_ESP, 4, spi, 3, esp},
      {M6IKE_IKEV2_PROTO_ESP, 4, spi, 1, kInitXf}};
  m6ike_ikev2_ts tsi[2], tsr[2];
  m6ike_ikev2_ts_set_mh(&tsi[0], &fx.hoa, 5);  // BU from the HoA
  m6ike_ikev2_ts_set_prefix6(&tsi[1], &fx.hoa, 128);
  m6ike_ikev2_ts_set_mh(&tsr[0], &fx.ha, 6);  // BA from the HA
  std::memset(&tsr[1], 0, sizeof(tsr[1]));
  tsr[1].ts_type = M6IKE_IKEV2_TS_IPV4_ADDR_RANGE;
  tsr[1].ip_proto = 17;
  tsr[1].start_port = 500;
  tsr[1].end_port = 4500;
  const uint8_t v4a[4] = {192, 0, 2, 1}, v4b[4] = {192, 0, 2, 255};
  std::memcpy(tsr[1].start_addr, v4a, 4);
  std::memcpy(tsr[1].end_addr, v4b, 4);
  const uint8_t vid[] = {'m', '6', 'i', 'k', 'e'};

  EXPECT_EQ(0, m6ike_ikev2_add_id(&b, M6IKE_IKEV2_PL_IDI, &idi));
  EXPECT_EQ(0, m6ike_ikev2_add_cert(&b, &c));
  EXPECT_EQ(0, m6ike_ikev2_add_certreq(&b, &cr));
  EXPECT_EQ(0, m6ike_ikev2_add_id(&b, M6IKE_IKEV2_PL_IDR, &idr));
  EXPECT_EQ(0, m6ike_ikev2_add_auth(&b, &au));
  EXPECT_EQ(0, m6ike_ikev2_add_cp(&b, M6IKE_IKEV2_CFG_REQUEST, cpa, 2));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(
                   &b, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, nullptr, 0));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_MOBIKE_SUPPORTED,
                                           nullptr, 0));
  EXPECT_EQ(0, m6ike_ikev2_add_sa(&b, ps, 2, 1));
  EXPECT_EQ(0, m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSI, tsi, 2));
  EXPECT_EQ(0, m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSR, tsr, 2));
  EXPECT_EQ(0, m6ike_ikev2_add_vendor(&b, vid, sizeof(vid)));
  m6ike_ikev2_sk_region r;
  ASSERT_EQ(0, m6ike_ikev2_sk_end(&b, 16, 16, &r));
  int len = m6ike_ikev2_builder_finish(&b);
  ASSERT_GT(len, 0);
  buf.resize(static_cast<size_t>(len));
  EXPECT_EQ(28u, r.payload_off);
  EXPECT_EQ(32u, r.iv_off);
  EXPECT_EQ(16u, r.iv_len);
  EXPECT_EQ(48u, r.plain_off);
  EXPECT_EQ(0u, r.plain_len % 16);
  EXPECT_EQ(r.plain_off + r.plain_len, r.icv_off);
  EXPECT_EQ(static_cast<size_t>(len), r.icv_off + r.icv_len);
  EXPECT_EQ(M6IKE_IKEV2_PL_IDI, buf[28]);  // SK's next payload = first inner
  EXPECT_EQ(M6IKE_IKEV2_PL_SK, buf[16]);
  Bytes plain(buf.begin() + static_cast<long>(r.plain_off),
              buf.begin() + static_cast<long>(r.icv_off));
  for (size_t i = r.plain_off; i < r.icv_off; i++) buf[i] ^= 0xa5;  // "encrypt"

  m6ike_ikev2_msg m;
  ASSERT_EQ(len, Parse(&m, buf));
  ASSERT_EQ(1u, m.count);
  EXPECT_EQ(0, m.sk);
  EXPECT_EQ(1, m6ike_ikev2_check_exchange(&m));  // inner pending
  EXPECT_EQ("IKE_AUTH request mid=1 [SK]", Fmt(m));
  m6ike_ikev2_sk_region rr;
  ASSERT_EQ(0, m6ike_ikev2_sk_layout(&m, 16, 16, 16, &rr));
  EXPECT_EQ(0, std::memcmp(&r, &rr, sizeof(r)));
  Bytes dec(buf.begin() + static_cast<long>(rr.plain_off),
            buf.begin() + static_cast<long>(rr.icv_off));
  for (auto &x : dec) x ^= 0xa5;
  EXPECT_EQ(plain, dec);
  size_t ilen = 0;
  ASSERT_EQ(0, m6ike_ikev2_sk_strip_padding(dec.data(), dec.size(), &ilen));
  EXPECT_EQ(static_cast<size_t>(dec.back()) + 1 + ilen, dec.size());
  ASSERT_EQ(0, m6ike_ikev2_parse_inner(&m, dec.data(), ilen));
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
            m6ike_ikev2_parse_inner(&m, dec.data(), ilen));
  ASSERT_EQ(13u, m.count);
  EXPECT_EQ(0, m6ike_ikev2_decode_all(&m));
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ("IKE_AUTH request mid=1 [SK{IDi CERT CERTREQ IDr AUTH CP "
            "N(USE_TRANSP) N(MOBIKE_SUP) SA TSi TSr V}]",
            Fmt(m));

  m6ike_ikev2_id id;
  ASSERT_EQ(0, m6ike_ikev2_decode_id(&m.pl[1], &id));
  EXPECT_TRUE(m.pl[1].inner);
  EXPECT_EQ(M6IKE_IKEV2_ID_FQDN, id.id_type);
  EXPECT_EQ(std::string(fqdn),
            std::string(reinterpret_cast<const char *>(id.data), id.len));
  m6ike_ikev2_cert cc;
  ASSERT_EQ(0, m6ike_ikev2_decode_cert(&m.pl[2], &cc));
  EXPECT_EQ(cert, Bytes(cc.data, cc.data + cc.len));
  ASSERT_EQ(0, m6ike_ikev2_decode_certreq(&m.pl[3], &cc));
  EXPECT_EQ(hashes, Bytes(cc.data, cc.data + cc.len));
  ASSERT_EQ(0, m6ike_ikev2_decode_id(&m.pl[4], &id));
  EXPECT_EQ(M6IKE_IKEV2_ID_IPV6_ADDR, id.id_type);
  EXPECT_EQ(0, std::memcmp(id.data, fx.ha.b, 16));
  m6ike_ikev2_auth aa;
  ASSERT_EQ(0, m6ike_ikev2_decode_auth(&m.pl[5], &aa));
  EXPECT_EQ(M6IKE_IKEV2_AUTH_PSK, aa.method);
  EXPECT_EQ(authd, Bytes(aa.data, aa.data + aa.len));
  m6ike_ikev2_cp cp;
  ASSERT_EQ(0, m6ike_ikev2_decode_cp(&m.pl[6], &cp));
  EXPECT_EQ(M6IKE_IKEV2_CFG_REQUEST, cp.cfg_type);
  EXPECT_EQ(2u, cp.n_attrs);
  m6ike_ikev2_notify n;
  ASSERT_EQ(0, m6ike_ikev2_decode_notify(&m.pl[7], &n));
  EXPECT_EQ(M6IKE_IKEV2_N_USE_TRANSPORT_MODE, n.type);
  EXPECT_EQ(0u, n.len);
  m6ike_ikev2_sa sa;
  ASSERT_EQ(0, m6ike_ikev2_decode_sa(&m.pl[9], &sa));
  ASSERT_EQ(2u, sa.n_proposals);
  size_t pp = 0;
  m6ike_ikev2_proposal p;
  ASSERT_EQ(1, m6ike_ikev2_sa_next_proposal(&sa, &pp, &p));
  EXPECT_EQ(1, p.num);
  EXPECT_EQ(M6IKE_IKEV2_PROTO_ESP, p.proto);
  EXPECT_EQ(0, std::memcmp(p.spi, spi, 4));
  EXPECT_EQ(3, p.n_transforms);
  ASSERT_EQ(1, m6ike_ikev2_sa_next_proposal(&sa, &pp, &p));
  EXPECT_EQ(2, p.num);
  EXPECT_EQ(1, p.n_transforms);
  m6ike_ikev2_ts_payload tp;
  ASSERT_EQ(0, m6ike_ikev2_decode_ts(&m.pl[10], &tp));
  EXPECT_EQ(2, tp.num_ts);
  size_t tpos = 0;
  m6ike_ikev2_ts ts;
  ASSERT_EQ(1, m6ike_ikev2_ts_next(&tp, &tpos, &ts));
  EXPECT_EQ(0, std::memcmp(&ts, &tsi[0], sizeof(ts)));
  ASSERT_EQ(1, m6ike_ikev2_ts_next(&tp, &tpos, &ts));
  EXPECT_EQ(0, std::memcmp(&ts, &tsi[1], sizeof(ts)));
  EXPECT_EQ(0, m6ike_ikev2_ts_next(&tp, &tpos, &ts));
  ASSERT_EQ(0, m6ike_ikev2_decode_ts(&m.pl[11], &tp));
  tpos = 0;
  ASSERT_EQ(1, m6ike_ikev2_ts_next(&tp, &tpos, &ts));
  ASSERT_EQ(1, m6ike_ikev2_ts_next(&tp, &tpos, &ts));
  EXPECT_EQ(0, std::memcmp(&ts, &tsr[1], sizeof(ts)));
  m6ike_ikev2_blob v;
  ASSERT_EQ(0, m6ike_ikev2_decode_blob(&m.pl[12], &v));
  EXPECT_EQ(Bytes(vid, vid + 5), Bytes(v.data, v.data + v.len));
}

// INFORMATIONAL request SK { D(ESP, 2 SPIs), D(IKE), N(M6IKE_SA_ADDRESS_
// UPDATE), N(UPDATE_SA_ADDRESSES), N(COOKIE2), N(ADDITIONAL_IP6_ADDRESS),
// N(ADDITIONAL_IP4_ADDRESS), N(NO_ADDITIONAL_ADDRESSES),
// N(NO_NATS_ALLOWED), CP(CFG_SET) } -->   (AEAD: 8-octet IV, block 1)
TEST(Ikev2Msg, InformationalMobikeAndHandoverRoundTrip) {
  Fixture fx;
  std::vector<uint8_t> buf(2048);
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr h = Hdr(M6IKE_IKEV2_INFORMATIONAL, M6IKE_IKEV2_FLAG_I, 7);
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_EQ(40, m6ike_ikev2_sk_begin(&b, 8));
  uint8_t spis[8] = {0, 0, 0x10, 0x01, 0, 0, 0x20, 0x02};
  m6ike_ikev2_delete d1 = {M6IKE_IKEV2_PROTO_ESP, 4, 2, spis};
  m6ike_ikev2_delete d2 = {M6IKE_IKEV2_PROTO_IKE, 0, 0, nullptr};
  uint8_t c2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uint8_t v4[4] = {198, 51, 100, 7};
  EXPECT_EQ(0, m6ike_ikev2_add_delete(&b, &d1));
  EXPECT_EQ(0, m6ike_ikev2_add_delete(&b, &d2));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_m6ike_update(&b, 0xdeadbeef, &fx.coa));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(
                   &b, M6IKE_IKEV2_N_UPDATE_SA_ADDRESSES, nullptr, 0));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_COOKIE2, c2, 8));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(
                   &b, M6IKE_IKEV2_N_ADDITIONAL_IP6_ADDRESS, fx.coa.b, 16));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(
                   &b, M6IKE_IKEV2_N_ADDITIONAL_IP4_ADDRESS, v4, 4));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(
                   &b, M6IKE_IKEV2_N_NO_ADDITIONAL_ADDRESSES, nullptr, 0));
  EXPECT_EQ(0, m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_NO_NATS_ALLOWED,
                                           nullptr, 0));
  EXPECT_EQ(0, m6ike_ikev2_add_cp(&b, M6IKE_IKEV2_CFG_SET, nullptr, 0));
  m6ike_ikev2_sk_region r;
  ASSERT_EQ(0, m6ike_ikev2_sk_end(&b, 1, 16, &r));
  int len = m6ike_ikev2_builder_finish(&b);
  ASSERT_GT(len, 0);
  buf.resize(static_cast<size_t>(len));
  EXPECT_EQ(0, buf[r.icv_off - 1]);  // AEAD: no padding, Pad Length 0

  m6ike_ikev2_msg m;
  ASSERT_EQ(len, Parse(&m, buf));
  m6ike_ikev2_sk_region rr;
  ASSERT_EQ(0, m6ike_ikev2_sk_layout(&m, 8, 16, 1, &rr));
  size_t ilen;
  ASSERT_EQ(0, m6ike_ikev2_sk_strip_padding(buf.data() + rr.plain_off,
                                            rr.plain_len, &ilen));
  ASSERT_EQ(0, m6ike_ikev2_parse_inner(&m, buf.data() + rr.plain_off, ilen));
  EXPECT_EQ(0, m6ike_ikev2_decode_all(&m));
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ("INFORMATIONAL request mid=7 [SK{D D N(M6IKE_UPD) N(UPD_SA_ADDR) "
            "N(COOKIE2) N(ADD_6_ADDR) N(ADD_4_ADDR) N(NO_ADD_ADDR) "
            "N(NO_NATS) CP}]",
            Fmt(m));
  m6ike_ikev2_delete d;
  ASSERT_EQ(0, m6ike_ikev2_decode_delete(&m.pl[1], &d));
  EXPECT_EQ(2, d.num_spi);
  EXPECT_EQ(0x1001u, m6ike_ikev2_delete_spi32(&d, 0));
  EXPECT_EQ(0x2002u, m6ike_ikev2_delete_spi32(&d, 1));
  EXPECT_EQ(0u, m6ike_ikev2_delete_spi32(&d, 2));
  ASSERT_EQ(0, m6ike_ikev2_decode_delete(&m.pl[2], &d));
  EXPECT_EQ(M6IKE_IKEV2_PROTO_IKE, d.proto);
  m6ike_ikev2_notify n;
  ASSERT_EQ(3, m6ike_ikev2_find_notify(
                   &m, M6IKE_IKEV2_N_M6IKE_SA_ADDRESS_UPDATE, &n));
  EXPECT_EQ(0xdeadbeefu, n.mpi);
  EXPECT_TRUE(m6ike_addr6_equal(&fx.coa, &n.addr6));
  ASSERT_GE(m6ike_ikev2_find_notify(
                &m, M6IKE_IKEV2_N_ADDITIONAL_IP6_ADDRESS, &n),
            0);
  EXPECT_TRUE(m6ike_addr6_equal(&fx.coa, &n.addr6));
  ASSERT_GE(m6ike_ikev2_find_notify(
                &m, M6IKE_IKEV2_N_ADDITIONAL_IP4_ADDRESS, &n),
            0);
  EXPECT_EQ(0, std::memcmp(v4, n.addr4, 4));
  ASSERT_GE(m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_COOKIE2, &n), 0);
  EXPECT_EQ(Bytes(c2, c2 + 8), Bytes(n.data, n.data + n.len));
}

// CREATE_CHILD_SA request SK { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } -->
// and the IKE SA rekey form SK { SA, Ni, KEi } -->
TEST(Ikev2Msg, CreateChildSaForms) {
  Fixture fx;
  auto child = [&](bool ts, bool ke, bool resp) {
    std::vector<uint8_t> buf(1024);
    m6ike_ikev2_builder b;
    m6ike_ikev2_hdr h = Hdr(M6IKE_IKEV2_CREATE_CHILD_SA,
                            resp ? M6IKE_IKEV2_FLAG_R : M6IKE_IKEV2_FLAG_I, 3);
    m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h);
    m6ike_ikev2_sk_begin(&b, 0);
    uint8_t no[16] = {0};
    uint8_t spi[4] = {1, 2, 3, 4};
    uint8_t kd[32] = {0};
    m6ike_ikev2_prop_spec ps = {M6IKE_IKEV2_PROTO_ESP, 4, spi, 1, kInitXf};
    m6ike_ikev2_ke k = {31, kd, 32};
    m6ike_ikev2_ts t;
    m6ike_ikev2_ts_set_prefix6(&t, &fx.hoa, 64);
    if (ts) m6ike_ikev2_add_notify_rekey_sa(&b, M6IKE_IKEV2_PROTO_ESP, 0x1234);
    m6ike_ikev2_add_sa(&b, &ps, 1, resp ? 2 : 1);
    m6ike_ikev2_add_nonce(&b, no, 16);
    if (ke) m6ike_ikev2_add_ke(&b, &k);
    if (ts) {
      m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSI, &t, 1);
      m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSR, &t, 1);
    }
    m6ike_ikev2_sk_region r;
    m6ike_ikev2_sk_end(&b, 1, 0, &r);
    int n = m6ike_ikev2_builder_finish(&b);
    EXPECT_GT(n, 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  };
  auto check = [](const Bytes &buf, uint8_t *err_type) {
    m6ike_ikev2_msg m;
    EXPECT_GT(m6ike_ikev2_parse(&m, buf.data(), buf.size(), 0), 0);
    m6ike_ikev2_sk_region r;
    EXPECT_EQ(0, m6ike_ikev2_sk_layout(&m, 0, 0, 1, &r));
    size_t il;
    EXPECT_EQ(0, m6ike_ikev2_sk_strip_padding(buf.data() + r.plain_off,
                                              r.plain_len, &il));
    EXPECT_EQ(0, m6ike_ikev2_parse_inner(&m, buf.data() + r.plain_off, il));
    EXPECT_EQ(0, m6ike_ikev2_decode_all(&m));
    int rc = m6ike_ikev2_check_exchange(&m);
    *err_type = m.err_type;
    return rc;
  };
  uint8_t et;
  EXPECT_EQ(0, check(child(true, true, false), &et));
  EXPECT_EQ(0, check(child(true, false, false), &et));  // no PFS
  EXPECT_EQ(0, check(child(false, true, false), &et));  // IKE SA rekey
  EXPECT_EQ(0, check(child(true, true, true), &et));    // reply, prop #2
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_MISSING, check(child(false, false, false), &et));
  EXPECT_EQ(M6IKE_IKEV2_PL_KE, et);

  m6ike_ikev2_msg m;
  Bytes buf = child(true, true, false);
  ASSERT_GT(Parse(&m, buf), 0);
  m6ike_ikev2_sk_region r;
  ASSERT_EQ(0, m6ike_ikev2_sk_layout(&m, 0, 0, 1, &r));
  ASSERT_EQ(0, m6ike_ikev2_parse_inner(&m, buf.data() + r.plain_off,
                                       r.plain_len - 1));
  m6ike_ikev2_notify n;
  ASSERT_EQ(1, m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_REKEY_SA, &n));
  EXPECT_EQ(M6IKE_IKEV2_PROTO_ESP, n.proto);
  EXPECT_EQ(0x1234u, n.spi32);
  EXPECT_EQ("CREATE_CHILD_SA request mid=3 [SK{N(REKEY_SA) SA Ni KE TSi TSr}]",
            Fmt(m));
}

// ---------------------------------------------------------------------------
// RFC 4877 selectors and RFC 5026 / RFC 7296 configuration attributes

TEST(Ikev2Msg, MobilityHeaderTrafficSelectors) {
  Fixture fx;
  m6ike_ikev2_ts ts;
  m6ike_ikev2_ts_set_mh(&ts, &fx.hoa, 5);  // Binding Update
  EXPECT_EQ(M6IKE_IKEV2_TS_IPV6_ADDR_RANGE, ts.ts_type);
  EXPECT_EQ(135, ts.ip_proto);
  EXPECT_EQ(0x0500, ts.start_port);  // MH type in the high octet
  EXPECT_EQ(0x05ff, ts.end_port);
  uint8_t t = 0;
  EXPECT_EQ(1, m6ike_ikev2_ts_get_mh(&ts, &t));
  EXPECT_EQ(5, t);
  // The racoon2 form (start = end = type << 8) is recognised too.
  ts.end_port = 0x0500;
  EXPECT_EQ(1, m6ike_ikev2_ts_get_mh(&ts, &t));
  // Ranges over several types, low octets in use and other protocols are
  // not "one MH type".
  ts.end_port = 0x06ff;
  EXPECT_EQ(0, m6ike_ikev2_ts_get_mh(&ts, &t));
  ts.start_port = 0x0501;
  ts.end_port = 0x05ff;
  EXPECT_EQ(0, m6ike_ikev2_ts_get_mh(&ts, &t));
  m6ike_ikev2_ts_mh_ports(&ts, 6);
  ts.ip_proto = 6;
  EXPECT_EQ(0, m6ike_ikev2_ts_get_mh(&ts, &t));

  // On the wire: TSi { IPv6 range, proto 135, ports 0x0500..0x05ff, HoA }.
  m6ike_ikev2_ts_set_mh(&ts, &fx.hoa, 5);
  Bytes buf = Build(M6IKE_IKEV2_INFORMATIONAL, 0, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_ts(b, M6IKE_IKEV2_PL_TSI, &ts, 1);
  });
  Bytes want = Hex("00 00 0030 01 000000 08 87 0028 0500 05ff");
  want.insert(want.end(), fx.hoa.b, fx.hoa.b + 16);
  want.insert(want.end(), fx.hoa.b, fx.hoa.b + 16);
  EXPECT_EQ(want, Bytes(buf.begin() + 28, buf.end()));
  m6ike_ikev2_msg m;
  ASSERT_GT(Parse(&m, buf), 0);
  m6ike_ikev2_ts_payload tp;
  ASSERT_EQ(0, m6ike_ikev2_decode_ts(&m.pl[0], &tp));
  size_t pos = 0;
  m6ike_ikev2_ts out;
  ASSERT_EQ(1, m6ike_ikev2_ts_next(&tp, &pos, &out));
  EXPECT_EQ(1, m6ike_ikev2_ts_get_mh(&out, &t));
  EXPECT_EQ(5, t);

  // Prefix helper: 2001:db8:1::/48 -> [2001:db8:1::, 2001:db8:1:ffff:...].
  m6ike_ikev2_ts_set_prefix6(&ts, &fx.hoa, 48);
  m6ike_addr6 lo, hi;
  std::memcpy(lo.b, ts.start_addr, 16);
  std::memcpy(hi.b, ts.end_addr, 16);
  m6ike_addr6 want_lo = Addr("2001:db8:1::");
  EXPECT_TRUE(m6ike_addr6_equal(&lo, &want_lo));
  m6ike_addr6 want_hi = Addr("2001:db8:1:ffff:ffff:ffff:ffff:ffff");
  EXPECT_TRUE(m6ike_addr6_equal(&hi, &want_hi));
  EXPECT_EQ(0, ts.ip_proto);
  EXPECT_EQ(0, ts.start_port);
  EXPECT_EQ(0xffff, ts.end_port);
}

// IKE_AUTH response SK { ..., CP(CFG_REPLY) { INTERNAL_IP6_ADDRESS,
//   MIP6_HOME_PREFIX } } <--  (RFC 4877 dynamic home address)
TEST(Ikev2Msg, ConfigurationHomeAddressAndPrefix) {
  Fixture fx;
  uint8_t ip6[17], hp[21];
  m6ike_ikev2_cp_encode_ip6(ip6, &fx.hoa, 64);
  m6ike_addr6 pfx = Addr("2001:db8:1::");
  m6ike_ikev2_cp_encode_home_prefix(hp, 3600, &pfx, 64);
  m6ike_ikev2_cp_attr at[2] = {
      {M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS, 17, ip6},
      {M6IKE_IKEV2_CP_MIP6_HOME_PREFIX, 21, hp}};
  Bytes buf = Build(M6IKE_IKEV2_INFORMATIONAL, 0, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_cp(b, M6IKE_IKEV2_CFG_REPLY, at, 2);
  });
  // CP: len 4+4+(4+17)+(4+21) = 54; attributes 8 (len 17) and 16 (len 21).
  Bytes want = Hex("00 00 0036 02 000000 0008 0011");
  want.insert(want.end(), ip6, ip6 + 17);
  Bytes a2 = Hex("0010 0015 00000e10");
  want.insert(want.end(), a2.begin(), a2.end());
  want.insert(want.end(), pfx.b, pfx.b + 16);
  want.push_back(64);
  EXPECT_EQ(want, Bytes(buf.begin() + 28, buf.end()));

  m6ike_ikev2_msg m;
  ASSERT_GT(Parse(&m, buf), 0);
  m6ike_ikev2_cp cp;
  ASSERT_EQ(0, m6ike_ikev2_decode_cp(&m.pl[0], &cp));
  EXPECT_EQ(M6IKE_IKEV2_CFG_REPLY, cp.cfg_type);
  ASSERT_EQ(2u, cp.n_attrs);
  size_t pos = 0;
  m6ike_ikev2_cp_attr a;
  ASSERT_EQ(1, m6ike_ikev2_cp_next(&cp, &pos, &a));
  m6ike_addr6 addr;
  uint8_t plen;
  ASSERT_EQ(0, m6ike_ikev2_cp_decode_ip6(&a, &addr, &plen));
  EXPECT_TRUE(m6ike_addr6_equal(&fx.hoa, &addr));
  EXPECT_EQ(64, plen);
  uint32_t life = 0;
  EXPECT_EQ(M6IKE_ERR_IKEV2_CP,
            m6ike_ikev2_cp_decode_home_prefix(&a, &life, &addr, &plen));
  ASSERT_EQ(1, m6ike_ikev2_cp_next(&cp, &pos, &a));
  ASSERT_EQ(0, m6ike_ikev2_cp_decode_home_prefix(&a, &life, &addr, &plen));
  EXPECT_EQ(3600u, life);
  EXPECT_TRUE(m6ike_addr6_equal(&pfx, &addr));
  EXPECT_EQ(64, plen);
  EXPECT_EQ(M6IKE_ERR_IKEV2_CP, m6ike_ikev2_cp_decode_ip6(&a, &addr, &plen));
  EXPECT_EQ(0, m6ike_ikev2_cp_next(&cp, &pos, &a));
}

// ---------------------------------------------------------------------------
// Exchange table

TEST(Ikev2Msg, ExchangeTable) {
  EXPECT_TRUE(m6ike_ikev2_exchange_allows(34, 0, M6IKE_IKEV2_PL_KE));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(34, 0, M6IKE_IKEV2_PL_CERTREQ));
  EXPECT_TRUE(m6ike_ikev2_exchange_allows(34, 1, M6IKE_IKEV2_PL_CERTREQ));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(34, 0, M6IKE_IKEV2_PL_SK));
  EXPECT_TRUE(m6ike_ikev2_exchange_allows(35, 0, M6IKE_IKEV2_PL_IDI));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(35, 1, M6IKE_IKEV2_PL_IDI));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(35, 1, M6IKE_IKEV2_PL_CERTREQ));
  EXPECT_TRUE(m6ike_ikev2_exchange_allows(36, 1, M6IKE_IKEV2_PL_KE));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(36, 0, M6IKE_IKEV2_PL_AUTH));
  EXPECT_TRUE(m6ike_ikev2_exchange_allows(37, 0, M6IKE_IKEV2_PL_DELETE));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(37, 0, M6IKE_IKEV2_PL_SA));
  EXPECT_FALSE(m6ike_ikev2_exchange_allows(99, 0, M6IKE_IKEV2_PL_NOTIFY));

  m6ike_ikev2_msg m;
  uint8_t no[16] = {0};
  // IKE_SA_INIT request without KE: missing, named KE.
  Bytes b1 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_prop_spec p = {1, 0, nullptr, 3, kInitXf};
    m6ike_ikev2_add_sa(b, &p, 1, 1);
    m6ike_ikev2_add_nonce(b, no, 16);
  });
  ASSERT_GT(Parse(&m, b1), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_MISSING, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_KE, m.err_type);
  // IKE_SA_INIT response with only N(INVALID_KE_PAYLOAD): fine.
  Bytes b2 = Build(34, M6IKE_IKEV2_FLAG_R, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_notify_invalid_ke(b, 14);
  });
  ASSERT_GT(Parse(&m, b2), 0);
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  m6ike_ikev2_notify n;
  ASSERT_EQ(0, m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_INVALID_KE_PAYLOAD,
                                       &n));
  EXPECT_EQ(14, n.ke_group);
  EXPECT_EQ("IKE_SA_INIT response mid=0 [N(INVAL_KE)]", Fmt(m));
  // ... and with only N(COOKIE).
  Bytes b3 = Build(34, M6IKE_IKEV2_FLAG_R, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_COOKIE, no, 16);
  });
  ASSERT_GT(Parse(&m, b3), 0);
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  // A request with only a status notify is not complete.
  Bytes b4 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_COOKIE, no, 16);
  });
  ASSERT_GT(Parse(&m, b4), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_MISSING, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_SA, m.err_type);
  // Two KE payloads: repeated.
  Bytes b5 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    BuildInit(b);
    m6ike_ikev2_ke k = {31, no, 16};
    m6ike_ikev2_add_ke(b, &k);
  });
  ASSERT_GT(Parse(&m, b5), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_REPEATED, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_KE, m.err_type);
  // AUTH in IKE_SA_INIT: not allowed.
  Bytes b6 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    BuildInit(b);
    m6ike_ikev2_auth a = {2, no, 16};
    m6ike_ikev2_add_auth(b, &a);
  });
  ASSERT_GT(Parse(&m, b6), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_NOT_ALLOWED, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_AUTH, m.err_type);
  // Unknown non-critical payloads are ignored by the table.
  Bytes b7 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    BuildInit(b);
    m6ike_ikev2_add_raw(b, 200, 0, no, 3);
  });
  ASSERT_GT(Parse(&m, b7), 0);
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ("IKE_SA_INIT request mid=0 [SA KE Ni N(NAT_D_S) N(NAT_D_D) "
            "PL(200)]",
            Fmt(m));
  // An SK payload in IKE_SA_INIT.
  Bytes b8 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    BuildInit(b);
    m6ike_ikev2_sk_region r;
    m6ike_ikev2_sk_begin(b, 0);
    m6ike_ikev2_sk_end(b, 1, 0, &r);
  });
  ASSERT_GT(Parse(&m, b8), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_NOT_ALLOWED, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_SK, m.err_type);
  // An offer whose first proposal is not 1.
  Bytes b9 = Build(34, 8, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_prop_spec p = {1, 0, nullptr, 3, kInitXf};
    uint8_t kd[32] = {0};
    m6ike_ikev2_ke k = {31, kd, 32};
    m6ike_ikev2_add_sa(b, &p, 1, 2);
    m6ike_ikev2_add_ke(b, &k);
    m6ike_ikev2_add_nonce(b, no, 16);
  });
  ASSERT_GT(Parse(&m, b9), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PROPOSAL_NUM, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_SA, m.err_type);
  // A reply carrying two proposals.
  Bytes b10 = Build(34, M6IKE_IKEV2_FLAG_R, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_prop_spec p[2] = {{1, 0, nullptr, 3, kInitXf},
                                  {1, 0, nullptr, 3, kInitXf}};
    uint8_t kd[32] = {0};
    m6ike_ikev2_ke k = {31, kd, 32};
    m6ike_ikev2_add_sa(b, p, 2, 1);
    m6ike_ikev2_add_ke(b, &k);
    m6ike_ikev2_add_nonce(b, no, 16);
  });
  ASSERT_GT(Parse(&m, b10), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PROPOSAL, m6ike_ikev2_check_exchange(&m));
  // Unknown exchange.
  Bytes b11 = Build(40, 8, [&](m6ike_ikev2_builder *) {});
  ASSERT_GT(Parse(&m, b11), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_UNKNOWN_EXCHANGE, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ("EXCHANGE(40) request mid=0 []", Fmt(m));
  // IKE_AUTH with no SK, and with IDi outside SK.
  Bytes b12 = Build(35, 8, [&](m6ike_ikev2_builder *) {});
  ASSERT_GT(Parse(&m, b12), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_NOT_ENCRYPTED, m6ike_ikev2_check_exchange(&m));
  Bytes b13 = Build(35, 8, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_id id = {M6IKE_IKEV2_ID_KEY_ID, no, 4};
    m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDI, &id);
    m6ike_ikev2_sk_region r;
    m6ike_ikev2_sk_begin(b, 0);
    m6ike_ikev2_sk_end(b, 1, 0, &r);
  });
  ASSERT_GT(Parse(&m, b13), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_NOT_ENCRYPTED, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_IDI, m.err_type);
  // Empty INFORMATIONAL (liveness) is fine once its (empty) inner part is
  // parsed.
  Bytes b14 = Build(37, 8, [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_sk_region r;
    m6ike_ikev2_sk_begin(b, 0);
    m6ike_ikev2_sk_end(b, 1, 0, &r);
  });
  ASSERT_GT(Parse(&m, b14), 0);
  EXPECT_EQ(1, m6ike_ikev2_check_exchange(&m));
  ASSERT_EQ(0, m6ike_ikev2_parse_inner(&m, nullptr, 0));
  EXPECT_EQ(0, m6ike_ikev2_check_exchange(&m));
  EXPECT_EQ("INFORMATIONAL request mid=0 [SK{}]", Fmt(m));
}

// IKE_AUTH request/response inner sets, checked through parse_inner on
// hand-made plaintexts.
TEST(Ikev2Msg, IkeAuthTableForms) {
  uint8_t d[16] = {0};
  struct Case {
    bool resp;
    std::function<void(m6ike_ikev2_builder *)> f;
    int want;
    uint8_t et;
  };
  m6ike_ikev2_id id = {M6IKE_IKEV2_ID_KEY_ID, d, 4};
  m6ike_ikev2_auth au = {2, d, 16};
  uint8_t eap[4] = {1, 1, 0, 4};
  m6ike_ikev2_ts ts;
  m6ike_addr6 a = Addr("2001:db8::1");
  m6ike_ikev2_ts_set_prefix6(&ts, &a, 128);
  uint8_t spi[4] = {1, 2, 3, 4};
  m6ike_ikev2_prop_spec ps = {3, 4, spi, 1, kInitXf};
  auto sa_ts = [&](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_sa(b, &ps, 1, 1);
    m6ike_ikev2_add_ts(b, M6IKE_IKEV2_PL_TSI, &ts, 1);
    m6ike_ikev2_add_ts(b, M6IKE_IKEV2_PL_TSR, &ts, 1);
  };
  std::vector<Case> cases = {
      {false, [&](m6ike_ikev2_builder *b) {
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDI, &id);
         m6ike_ikev2_add_auth(b, &au);
         sa_ts(b);
       }, 0, 0},
      {false, [&](m6ike_ikev2_builder *b) {  // EAP start: IDi, no AUTH
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDI, &id);
         sa_ts(b);
       }, 0, 0},
      {false, [&](m6ike_ikev2_builder *b) { m6ike_ikev2_add_eap(b, eap, 4); },
       0, 0},
      {false, [&](m6ike_ikev2_builder *b) {  // childless: no SA/TS
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDI, &id);
         m6ike_ikev2_add_auth(b, &au);
       }, 0, 0},
      {false, [&](m6ike_ikev2_builder *b) {  // SA without TSi/TSr
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDI, &id);
         m6ike_ikev2_add_auth(b, &au);
         m6ike_ikev2_add_sa(b, &ps, 1, 1);
       }, M6IKE_ERR_IKEV2_PL_MISSING, M6IKE_IKEV2_PL_TSI},
      {false, [&](m6ike_ikev2_builder *b) {  // nothing identifying
         sa_ts(b);
       }, M6IKE_ERR_IKEV2_PL_MISSING, M6IKE_IKEV2_PL_IDI},
      {true, [&](m6ike_ikev2_builder *b) {
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDR, &id);
         m6ike_ikev2_add_auth(b, &au);
         sa_ts(b);
       }, 0, 0},
      {true, [&](m6ike_ikev2_builder *b) {  // IDi in a response
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDI, &id);
         m6ike_ikev2_add_auth(b, &au);
       }, M6IKE_ERR_IKEV2_PL_NOT_ALLOWED, M6IKE_IKEV2_PL_IDI},
      {true, [&](m6ike_ikev2_builder *b) {  // AUTHENTICATION_FAILED only
         m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_AUTHENTICATION_FAILED,
                                     nullptr, 0);
       }, 0, 0},
      {true, [&](m6ike_ikev2_builder *b) {  // two AUTH
         m6ike_ikev2_add_id(b, M6IKE_IKEV2_PL_IDR, &id);
         m6ike_ikev2_add_auth(b, &au);
         m6ike_ikev2_add_auth(b, &au);
       }, M6IKE_ERR_IKEV2_PL_REPEATED, M6IKE_IKEV2_PL_AUTH},
  };
  for (size_t i = 0; i < cases.size(); i++) {
    const Case &c = cases[i];
    Bytes buf = Build(35, c.resp ? M6IKE_IKEV2_FLAG_R : M6IKE_IKEV2_FLAG_I,
                      [&](m6ike_ikev2_builder *b) {
                        m6ike_ikev2_sk_begin(b, 0);
                        c.f(b);
                        m6ike_ikev2_sk_region r;
                        m6ike_ikev2_sk_end(b, 1, 0, &r);
                      });
    m6ike_ikev2_msg m;
    ASSERT_GT(Parse(&m, buf), 0) << i;
    m6ike_ikev2_sk_region r;
    ASSERT_EQ(0, m6ike_ikev2_sk_layout(&m, 0, 0, 1, &r)) << i;
    ASSERT_EQ(0, m6ike_ikev2_parse_inner(&m, buf.data() + r.plain_off,
                                         r.plain_len - 1))
        << i;
    EXPECT_EQ(c.want, m6ike_ikev2_check_exchange(&m)) << i;
    EXPECT_EQ(c.et, m.err_type) << i;
  }
}

// ---------------------------------------------------------------------------
// Every error code from crafted input

TEST(Ikev2Msg, MessageLevelErrors) {
  m6ike_ikev2_msg m;
  Bytes ref = ReferenceInit();
  // Major version 3: the header is still available for the answer.
  Bytes v3 = ref;
  v3[17] = 0x30;
  EXPECT_EQ(M6IKE_ERR_IKEV2_MAJOR_VERSION, Parse(&m, v3));
  EXPECT_EQ(0x0102030405060708ULL, m.hdr.ispi);
  EXPECT_EQ(3, m.hdr.major);
  EXPECT_EQ(M6IKE_IKEV2_N_INVALID_MAJOR_VERSION,
            m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_MAJOR_VERSION));
  v3[17] = 0x10;  // IKEv1
  EXPECT_EQ(M6IKE_ERR_IKEV2_MAJOR_VERSION, Parse(&m, v3));
  // A higher minor version is accepted (ignored).
  Bytes mn = ref;
  mn[17] = 0x21;
  EXPECT_EQ(200, Parse(&m, mn));
  EXPECT_EQ(1, m.hdr.minor);
  // Length below 28; length below the datagram (trailing octets), accepted
  // only with ALLOW_TRAILING.
  Bytes l = ref;
  l[27] = 20;
  l[26] = 0;
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSG_LENGTH, Parse(&m, l));
  Bytes t = ref;
  t.push_back(0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSG_LENGTH, Parse(&m, t));
  EXPECT_EQ(200, Parse(&m, t, M6IKE_IKEV2_PARSE_ALLOW_TRAILING));
  EXPECT_EQ(0, m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_MSG_LENGTH));
  Bytes tr = ref;
  tr[26] = 1;  // 456 > 200
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSG_TRUNCATED, Parse(&m, tr));
  EXPECT_EQ(M6IKE_ERR_IKEV2_HDR_TRUNCATED, Parse(&m, Bytes(ref.begin(),
                                                          ref.begin() + 27)));
  EXPECT_EQ(0, m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_HDR_TRUNCATED));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ikev2_parse(nullptr, ref.data(),
                                                          ref.size(), 0));
  // Chain errors.
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_TRUNCATED, Parse(&m, Wrap(43, Hex("00 00"))));
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_LENGTH, Parse(&m, Wrap(43, Hex("00 00 0003"))));
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_OVERRUN,
            Parse(&m, Wrap(43, Hex("00 00 0009 01020304"))));
  EXPECT_EQ(28u, m.err_offset);
  EXPECT_EQ(M6IKE_ERR_IKEV2_TRAILING,
            Parse(&m, Wrap(43, Hex("00 00 0005 01 ffffffff"))));
  EXPECT_EQ(33u, m.err_offset);
  // A chain that announces a next payload but the message ends.
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_TRUNCATED,
            Parse(&m, Wrap(43, Hex("2b 00 0004"))));
  // Unknown critical payload: type exposed; non-critical: kept and skipped.
  EXPECT_EQ(M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL,
            Parse(&m, Wrap(43, Hex("3c 00 0004 00 80 0005 aa"))));
  EXPECT_EQ(60, m.err_type);
  EXPECT_EQ(32u, m.err_offset);
  EXPECT_EQ(M6IKE_IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD,
            m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL));
  ASSERT_EQ(37, Parse(&m, Wrap(43, Hex("3c 00 0004 00 7f 0005 aa"))));
  ASSERT_EQ(2u, m.count);
  EXPECT_EQ(0, m.pl[1].known);
  EXPECT_EQ(0, m.pl[1].critical);
  // A known payload with the C bit set is accepted (§2.5).
  ASSERT_EQ(32, Parse(&m, Wrap(43, Hex("00 80 0004"))));
  EXPECT_EQ(1, m.pl[0].critical);
  // Too many payloads.
  Bytes many;
  for (int i = 0; i < M6IKE_IKEV2_MAX_PAYLOADS + 1; i++) {
    Bytes v = Hex(i == M6IKE_IKEV2_MAX_PAYLOADS ? "00 00 0004" : "2b 00 0004");
    many.insert(many.end(), v.begin(), v.end());
  }
  EXPECT_EQ(M6IKE_ERR_IKEV2_TOO_MANY_PAYLOADS, Parse(&m, Wrap(43, many)));
  many.resize(many.size() - 4);
  many[many.size() - 4] = 0;
  EXPECT_EQ(static_cast<int>(28 + many.size()), Parse(&m, Wrap(43, many)));
  EXPECT_EQ(static_cast<unsigned>(M6IKE_IKEV2_MAX_PAYLOADS), m.count);
  // SK not last.
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_NOT_LAST,
            Parse(&m, Wrap(46, Hex("00 00 0008 01020304 2b 00 0004"))));
  // SK nested: an inner SK.
  Bytes sk = Wrap(46, Hex("2e 00 0004"), 37);
  ASSERT_EQ(32, Parse(&m, sk));
  Bytes inner = Hex("00 00 0004");
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_NESTED,
            m6ike_ikev2_parse_inner(&m, inner.data(), inner.size()));
  EXPECT_EQ(1u, m.count);
  EXPECT_EQ(0, m.inner_parsed);
  // Inner chain errors leave no inner view behind.
  inner = Hex("00 00 0003");
  m.pl[0].next = 43;
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_LENGTH,
            m6ike_ikev2_parse_inner(&m, inner.data(), inner.size()));
  EXPECT_EQ(1u, m.count);
  // An unknown critical payload inside SK: the type is exposed too.
  inner = Hex("00 80 0004");
  m.pl[0].next = 99;
  EXPECT_EQ(M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL,
            m6ike_ikev2_parse_inner(&m, inner.data(), inner.size()));
  EXPECT_EQ(99, m.err_type);
  EXPECT_EQ(1u, m.count);
  // parse_inner with no SK.
  ASSERT_EQ(200, Parse(&m, ref));
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
            m6ike_ikev2_parse_inner(&m, inner.data(), inner.size()));
}

TEST(Ikev2Msg, SkLayoutAndPadding) {
  m6ike_ikev2_msg m;
  Bytes body(20, 0);
  Bytes chain = Hex("00 00 0018");
  chain.insert(chain.end(), body.begin(), body.end());
  Bytes msg = Wrap(46, chain, 37);
  ASSERT_EQ(52, Parse(&m, msg));
  m6ike_ikev2_sk_region r;
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_SHORT, m6ike_ikev2_sk_layout(&m, 16, 16, 16, &r));
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_SHORT, m6ike_ikev2_sk_layout(&m, 8, 12, 1, &r));
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_SHORT, m6ike_ikev2_sk_layout(&m, 8, 0, 16, &r));
  EXPECT_EQ(0, m6ike_ikev2_sk_layout(&m, 8, 4, 8, &r));
  EXPECT_EQ(40u, r.plain_off);
  EXPECT_EQ(8u, r.plain_len);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ikev2_sk_layout(&m, 8, 4, 0, &r));
  EXPECT_EQ(0, m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_SK_SHORT));
  Bytes ref = ReferenceInit();
  ASSERT_EQ(200, Parse(&m, ref));
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE, m6ike_ikev2_sk_layout(&m, 8, 4, 8, &r));
  size_t il;
  uint8_t p[3] = {0, 0, 5};
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_PADDING, m6ike_ikev2_sk_strip_padding(p, 3, &il));
  EXPECT_EQ(M6IKE_ERR_IKEV2_SK_PADDING, m6ike_ikev2_sk_strip_padding(p, 0, &il));
  p[2] = 2;
  EXPECT_EQ(0, m6ike_ikev2_sk_strip_padding(p, 3, &il));
  EXPECT_EQ(0u, il);
  EXPECT_EQ(M6IKE_IKEV2_N_INVALID_SYNTAX,
            m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_SK_PADDING));
}

struct BodyCase {
  uint8_t type;
  const char *hex;
  int want;
};

TEST(Ikev2Msg, PayloadBodyErrors) {
  const BodyCase cases[] = {
      // SA
      {33, "", M6IKE_ERR_IKEV2_PROPOSAL},
      {33, "00 00 0007 01 01 00 01", M6IKE_ERR_IKEV2_PROPOSAL},  // len < 8
      {33, "00 00 0014 01 01 00 01 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL},  // length past the SA
      {33, "00 00 000c 01 01 00 01 00 00 0004", M6IKE_ERR_IKEV2_TRANSFORM},
      {33, "02 00 0010 01 01 00 01 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL},  // "more" on the last proposal
      {33, "00 00 0010 01 00 00 01 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL},  // protocol 0
      {33, "00 00 0013 01 03 03 01 aabbcc 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL},  // ESP with SPI size 3
      {33, "00 00 0014 01 01 04 01 aabbccdd 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL},  // IKE with SPI size 4
      {33, "00 00 0010 01 01 00 02 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL},  // transform count 2, one present
      {33, "00 00 0008 01 01 00 00", M6IKE_ERR_IKEV2_PROPOSAL},  // none
      {33, "00 00 0010 00 01 00 01 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL_NUM},  // number 0
      {33, "02 00 0010 01 01 00 01 00 00 0008 01 00 000c"
           "00 00 0010 03 01 00 01 00 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_PROPOSAL_NUM},  // 1 then 3
      {33, "00 00 0010 01 01 00 01 00 00 0007 01 00 000c",
       M6IKE_ERR_IKEV2_TRANSFORM},  // transform length 7
      {33, "00 00 0010 01 01 00 01 03 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_TRANSFORM},  // "more" on the last transform
      {33, "00 00 0018 01 01 00 02 00 00 0008 01 00 000c 00 00 0008 02 00 0005",
       M6IKE_ERR_IKEV2_TRANSFORM},  // "last" on the first of two
      {33, "00 00 0010 01 01 00 01 05 00 0008 01 00 000c",
       M6IKE_ERR_IKEV2_TRANSFORM},  // marker 5
      {33, "00 00 0013 01 01 00 01 00 00 000b 01 00 000c 800e00",
       M6IKE_ERR_IKEV2_ATTRIBUTE},  // attribute cut
      {33, "00 00 0016 01 01 00 01 00 00 000e 01 00 000c 000e 0002 0100",
       M6IKE_ERR_IKEV2_ATTRIBUTE},  // Key Length as TLV
      {33, "00 00 0018 01 01 00 01 00 00 0010 01 00 000c 800e 0080 800e 0100",
       M6IKE_ERR_IKEV2_ATTRIBUTE},  // Key Length twice
      {33, "00 00 0014 01 01 00 01 00 00 000c 01 00 000c 0001 0009",
       M6IKE_ERR_IKEV2_ATTRIBUTE},  // TLV past the transform
      // KE, AUTH, ID, CERT
      {34, "001f00", M6IKE_ERR_IKEV2_BODY_SHORT},
      {34, "001f0000 0102", M6IKE_ERR_IKEV2_KE},  // X25519 with 2 octets
      {34, "000e0000", M6IKE_ERR_IKEV2_KE},       // MODP-2048, empty
      {39, "020000", M6IKE_ERR_IKEV2_BODY_SHORT},
      {35, "01000000 0a000001 00", M6IKE_ERR_IKEV2_ID},  // IPv4, 5 octets
      {36, "05000000 20010db8", M6IKE_ERR_IKEV2_ID},     // IPv6, 4 octets
      {35, "02000000", M6IKE_ERR_IKEV2_ID},              // empty FQDN
      {35, "010000", M6IKE_ERR_IKEV2_BODY_SHORT},
      {37, "", M6IKE_ERR_IKEV2_BODY_SHORT},
      {38, "04 0102030405060708090a0b0c0d0e0f10111213", M6IKE_ERR_IKEV2_CERT},
      // Nonce
      {40, "0102030405060708090a0b0c0d0e0f", M6IKE_ERR_IKEV2_NONCE},
      // Notify
      {41, "000040", M6IKE_ERR_IKEV2_BODY_SHORT},
      {41, "0308 4000 01020304", M6IKE_ERR_IKEV2_NOTIFY},  // SPI past body
      {41, "0000 4004 0102030405060708090a0b0c0d0e0f10111213",
       M6IKE_ERR_IKEV2_NOTIFY},                      // NAT_D of 19
      {41, "0000 0011 000e00", M6IKE_ERR_IKEV2_NOTIFY},  // INVALID_KE of 3
      {41, "0000 4006", M6IKE_ERR_IKEV2_NOTIFY},         // empty COOKIE
      {41, "0000 4011 01020304050607", M6IKE_ERR_IKEV2_NOTIFY},  // COOKIE2 7
      {41, "0000 400d 010203", M6IKE_ERR_IKEV2_NOTIFY},  // ADD_IP4 of 3
      {41, "0000 400e 01020304", M6IKE_ERR_IKEV2_NOTIFY},  // ADD_IP6 of 4
      {41, "0000 a001 00000001", M6IKE_ERR_IKEV2_NOTIFY},  // M6IKE_UPD of 4
      {41, "0300 4009", M6IKE_ERR_IKEV2_NOTIFY},  // REKEY_SA without SPI
      {41, "0104 4009 01020304", M6IKE_ERR_IKEV2_NOTIFY},  // REKEY_SA IKE
      // Delete
      {42, "010400 01 01020304", M6IKE_ERR_IKEV2_DELETE},  // IKE with SPI
      {42, "0304 0002 01020304", M6IKE_ERR_IKEV2_DELETE},  // 2 SPIs, 1 there
      {42, "0308 0001 0102030405060708", M6IKE_ERR_IKEV2_DELETE},  // size 8
      {42, "0004 0000", M6IKE_ERR_IKEV2_DELETE},                   // proto 0
      {42, "030400", M6IKE_ERR_IKEV2_BODY_SHORT},
      // TS
      {44, "00000000", M6IKE_ERR_IKEV2_TS},  // zero selectors
      {44, "01000000 07 00 0014 0000 ffff 00000000 ffffffff 00000000",
       M6IKE_ERR_IKEV2_TS},  // IPv4 selector length 20
      {44, "01000000 09 00 0010 0000 ffff 00000000 ffffffff",
       M6IKE_ERR_IKEV2_TS},  // unknown type
      {45, "02000000 07 00 0010 0000 ffff 00000000 ffffffff",
       M6IKE_ERR_IKEV2_TS},  // count 2, one present
      {45, "01000000 07 00 0010 0000 ffff 00000000 ffff",
       M6IKE_ERR_IKEV2_TS},  // cut
      {45, "01000000 07 00 0010", M6IKE_ERR_IKEV2_TS},
      // CP
      {47, "01000000 0008 0011 00", M6IKE_ERR_IKEV2_CP},  // value cut
      {47, "01000000 0008 0010 20010db8000000000000000000000001",
       M6IKE_ERR_IKEV2_CP},  // INTERNAL_IP6_ADDRESS of 16
      {47, "02000000 0010 0014 00000e10 20010db8000000000000000000000000",
       M6IKE_ERR_IKEV2_CP},  // MIP6_HOME_PREFIX of 20
      {47, "01000000 0001 0003 0a0000", M6IKE_ERR_IKEV2_CP},  // IP4 of 3
      {47, "01000000 00", M6IKE_ERR_IKEV2_CP},
      // EAP
      {48, "010100", M6IKE_ERR_IKEV2_EAP},
      {48, "01010005 01 02", M6IKE_ERR_IKEV2_EAP},
  };
  for (const auto &c : cases) {
    View v(c.type, Hex(c.hex));
    EXPECT_EQ(c.want, m6ike_ikev2_decode_payload(&v.pl))
        << (int)c.type << " " << c.hex;
    EXPECT_EQ(M6IKE_IKEV2_N_INVALID_SYNTAX, m6ike_ikev2_err_to_notify(c.want));
  }
  // And their valid neighbours.
  const BodyCase ok[] = {
      {40, "0102030405060708090a0b0c0d0e0f10", 0},
      {33, "00 00 0010 01 01 00 01 00 00 0008 01 00 000c", 0},
      {34, "7fff0000 01", 0},  // an unknown group: any length
      {41, "0000 4006 01", 0},
      {41, "0304 4009 01020304", 0},
      {42, "0100 0000", 0},
      {42, "0304 0000", 0},
      {47, "01000000 0008 0000 0010 0000", 0},
      {48, "01010004", 0},
      {38, "04", 0},
      {38, "0c 0102", 0},  // other encodings: any length
      {43, "", 0},
      {46, "", 0},
  };
  for (const auto &c : ok) {
    View v(c.type, Hex(c.hex));
    EXPECT_EQ(0, m6ike_ikev2_decode_payload(&v.pl)) << (int)c.type << c.hex;
  }
  // A 257-octet nonce.
  View big(40, Bytes(257, 1));
  EXPECT_EQ(M6IKE_ERR_IKEV2_NONCE, m6ike_ikev2_decode_payload(&big.pl));
  // Decoders called on the wrong view.
  View sa(33, Hex("00"));
  m6ike_ikev2_ke ke;
  m6ike_ikev2_id id;
  m6ike_ikev2_ts_payload tsp;
  m6ike_ikev2_blob bl;
  EXPECT_EQ(M6IKE_ERR_IKEV2_WRONG_TYPE, m6ike_ikev2_decode_ke(&sa.pl, &ke));
  EXPECT_EQ(M6IKE_ERR_IKEV2_WRONG_TYPE, m6ike_ikev2_decode_id(&sa.pl, &id));
  EXPECT_EQ(M6IKE_ERR_IKEV2_WRONG_TYPE, m6ike_ikev2_decode_ts(&sa.pl, &tsp));
  EXPECT_EQ(M6IKE_ERR_IKEV2_WRONG_TYPE, m6ike_ikev2_decode_eap(&sa.pl, &bl));
  EXPECT_EQ(0, m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_WRONG_TYPE));
  // decode_all names the failing payload.
  m6ike_ikev2_msg m;
  Bytes msg = Wrap(43, Hex("28 00 0004 00 00 0008 01020304"));
  ASSERT_GT(Parse(&m, msg), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_NONCE, m6ike_ikev2_decode_all(&m));
  EXPECT_EQ(M6IKE_IKEV2_PL_NONCE, m.err_type);
  EXPECT_EQ(32u, m.err_offset);
}

TEST(Ikev2Msg, BuilderErrors) {
  std::vector<uint8_t> buf(100000);
  m6ike_ikev2_builder b;
  m6ike_ikev2_hdr h = Hdr(37, 8);
  m6ike_ikev2_sk_region r;
  uint8_t d[4] = {0};
  // Adding after sk_end; sk_begin twice; finish with SK open.
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_GT(m6ike_ikev2_sk_begin(&b, 8), 0);
  ASSERT_EQ(0, m6ike_ikev2_sk_end(&b, 1, 16, &r));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_add_vendor(&b, d, 4));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_builder_finish(&b));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_GT(m6ike_ikev2_sk_begin(&b, 8), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_sk_begin(&b, 8));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_GT(m6ike_ikev2_sk_begin(&b, 8), 0);
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_builder_finish(&b));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_sk_end(&b, 1, 0, &r));
  // Transform without proposal; SA left open; payload inside an open SA;
  // SA without proposals.
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_EQ(0, m6ike_ikev2_sa_begin(&b));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_sa_transform(&b, 1, 12, 128));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_EQ(0, m6ike_ikev2_sa_begin(&b));
  ASSERT_EQ(0, m6ike_ikev2_sa_proposal(&b, 0, 1, nullptr, 0));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_add_vendor(&b, d, 4));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_EQ(0, m6ike_ikev2_sa_begin(&b));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_builder_finish(&b));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_EQ(0, m6ike_ikev2_sa_begin(&b));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_sa_end(&b));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_sa_attr(&b, nullptr));
  // Adding after finish.
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(28, m6ike_ikev2_builder_finish(&b));
  EXPECT_EQ(M6IKE_ERR_IKEV2_BUILDER_STATE, m6ike_ikev2_add_vendor(&b, d, 4));
  // Too long: a 65532-octet body is the most a payload holds.
  std::vector<uint8_t> big(65533, 0);
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(0, m6ike_ikev2_add_vendor(&b, big.data(), 65531));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(M6IKE_ERR_IKEV2_TOO_LONG,
            m6ike_ikev2_add_vendor(&b, big.data(), big.size()));
  EXPECT_EQ(M6IKE_ERR_IKEV2_TOO_LONG, m6ike_ikev2_builder_finish(&b));  // sticky
  std::vector<m6ike_ikev2_ts> many(256);
  for (auto &t : many) {
    m6ike_addr6 a = Addr("::1");
    m6ike_ikev2_ts_set_prefix6(&t, &a, 128);
  }
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(M6IKE_ERR_IKEV2_TOO_LONG,
            m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSI, many.data(), 256));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(M6IKE_ERR_IKEV2_TOO_LONG, m6ike_ikev2_sk_begin(&b, 256));
  // Invalid arguments.
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  m6ike_ikev2_id id = {1, d, 4};
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ikev2_add_id(&b, 44, &id));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ikev2_add_vendor(&b, nullptr, 4));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  m6ike_ikev2_ts bad;
  std::memset(&bad, 0, sizeof(bad));
  bad.ts_type = 9;
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_add_ts(&b, M6IKE_IKEV2_PL_TSI, &bad, 1));
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf.data(), buf.size(), &h));
  ASSERT_GT(m6ike_ikev2_sk_begin(&b, 0), 0);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ikev2_sk_end(&b, 0, 0, &r));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_builder_begin(nullptr, buf.data(), 10, &h));
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_ikev2_builder_begin(&b, buf.data(), 27, &h));
  EXPECT_EQ(0, m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_BUILDER_STATE));
  EXPECT_EQ(0, m6ike_ikev2_err_to_notify(M6IKE_ERR_IKEV2_TOO_LONG));
}

TEST(Ikev2Msg, IncrementalSaWithRawAttributes) {
  // SA { P1 ESP spi: ENCR AES_CBC keylen 128 + TLV attr 0x0101="xy" } -->
  Bytes buf = Build(37, 8, [](m6ike_ikev2_builder *b) {
    uint8_t spi[4] = {0xaa, 0xbb, 0xcc, 0xdd};
    m6ike_ikev2_sa_begin(b);
    m6ike_ikev2_sa_proposal(b, 0, M6IKE_IKEV2_PROTO_ESP, spi, 4);
    m6ike_ikev2_sa_transform(b, M6IKE_IKEV2_TRANS_ENCR,
                             M6IKE_IKEV2_ENCR_AES_CBC, 128);
    m6ike_ikev2_attr a = {0x101, 0, 0, reinterpret_cast<const uint8_t *>("xy"),
                          2};
    m6ike_ikev2_sa_attr(b, &a);
    m6ike_ikev2_sa_end(b);
  });
  Bytes want = Hex(
      "00 00 0022"                    // SA, len 34
      "00 00 001e 01 03 04 01 aabbccdd"  // proposal len 30
      "00 00 0012 01 00 000c 800e 0080 0101 0002 7879");
  EXPECT_EQ(want, Bytes(buf.begin() + 28, buf.end()));
  m6ike_ikev2_msg m;
  ASSERT_GT(Parse(&m, buf), 0);
  m6ike_ikev2_sa sa;
  ASSERT_EQ(0, m6ike_ikev2_decode_sa(&m.pl[0], &sa));
  size_t pp = 0, tp = 0, ap = 0;
  m6ike_ikev2_proposal p;
  m6ike_ikev2_transform t;
  m6ike_ikev2_attr a;
  ASSERT_EQ(1, m6ike_ikev2_sa_next_proposal(&sa, &pp, &p));
  ASSERT_EQ(1, m6ike_ikev2_proposal_next_transform(&p, &tp, &t));
  EXPECT_EQ(128, t.key_len);
  ASSERT_EQ(1, m6ike_ikev2_transform_next_attr(&t, &ap, &a));
  ASSERT_EQ(1, m6ike_ikev2_transform_next_attr(&t, &ap, &a));
  EXPECT_EQ(0x101, a.type);
  EXPECT_EQ(0, a.tv);
  EXPECT_EQ(Bytes({'x', 'y'}), Bytes(a.data, a.data + a.len));
}

TEST(Ikev2Msg, NamesAndStrings) {
  EXPECT_STREQ("IKE_AUTH", m6ike_ikev2_exchange_name(35));
  EXPECT_EQ(nullptr, m6ike_ikev2_exchange_name(33));
  EXPECT_STREQ("TSr", m6ike_ikev2_payload_name(45));
  EXPECT_EQ(nullptr, m6ike_ikev2_payload_name(49));
  EXPECT_STREQ("NAT_DETECTION_DESTINATION_IP", m6ike_ikev2_notify_name(16389));
  EXPECT_STREQ("M6IKE_SA_ADDRESS_UPDATE", m6ike_ikev2_notify_name(40961));
  EXPECT_STREQ("COOKIE2", m6ike_ikev2_notify_name(16401));
  EXPECT_STREQ("NO_NATS_ALLOWED", m6ike_ikev2_notify_name(16402));
  EXPECT_EQ(nullptr, m6ike_ikev2_notify_name(12345));
  for (int c = -600; c >= -635; c--) {
    const char *s = m6ike_ikev2_msg_strerror_(c);
    ASSERT_NE(nullptr, s) << c;
    EXPECT_STREQ(s, m6ike_strerror(c)) << c;
    EXPECT_NE(nullptr, std::strstr(s, "IKEv2")) << c;
  }
  EXPECT_EQ(nullptr, m6ike_ikev2_msg_strerror_(-636));
  EXPECT_EQ(nullptr, m6ike_ikev2_msg_strerror_(-500));
  // Truncated formatting stays NUL-terminated.
  m6ike_ikev2_msg m;
  Bytes ref = ReferenceInit();  // the views point into it
  ASSERT_EQ(200, Parse(&m, ref));
  char small[12];
  m6ike_ikev2_format(&m, small, sizeof(small));
  EXPECT_EQ(std::string("IKE_SA_INIT"), small);
  // Unknown notify types print by number.
  Bytes buf = Build(37, 8, [](m6ike_ikev2_builder *b) {
    m6ike_ikev2_add_notify_data(b, 40000, nullptr, 0);
  });
  ASSERT_GT(Parse(&m, buf), 0);
  EXPECT_EQ("INFORMATIONAL request mid=0 [N(40000)]", Fmt(m));
}

// The IKE header alone (the codec allocates nothing, so it has no
// failing-allocation test: no function of this unit takes an m6ike_mem).
TEST(Ikev2Msg, HeaderCodec) {
  m6ike_ikev2_hdr h = Hdr(36, M6IKE_IKEV2_FLAG_R | M6IKE_IKEV2_FLAG_I, 9);
  h.major = 2;
  h.minor = 3;
  h.next_payload = 46;
  h.length = 0x01020304;
  uint8_t b[28];
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_ikev2_hdr_encode(b, 27, &h));
  ASSERT_EQ(28, m6ike_ikev2_hdr_encode(b, 28, &h));
  EXPECT_EQ(Hex("0102030405060708 1112131415161718 2e 23 24 28 00000009 "
                "01020304"),
            Bytes(b, b + 28));
  m6ike_ikev2_hdr g;
  ASSERT_EQ(28, m6ike_ikev2_hdr_decode(&g, b, 28));
  EXPECT_EQ(h.ispi, g.ispi);
  EXPECT_EQ(h.rspi, g.rspi);
  EXPECT_EQ(46, g.next_payload);
  EXPECT_EQ(2, g.major);
  EXPECT_EQ(3, g.minor);
  EXPECT_EQ(36, g.exchange);
  EXPECT_EQ(0x28, g.flags);
  EXPECT_EQ(9u, g.msg_id);
  EXPECT_EQ(0x01020304u, g.length);
  EXPECT_EQ(M6IKE_ERR_IKEV2_HDR_TRUNCATED, m6ike_ikev2_hdr_decode(&g, b, 27));
}

}  // namespace
