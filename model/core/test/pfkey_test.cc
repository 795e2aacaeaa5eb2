// PF_KEY v2 codec: layouts against hand-built bytes, round trips, and every
// decode error by crafted input.
#include "m6ike/pfkey.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

bool LittleEndian() {
  uint16_t x = 1;
  uint8_t b;
  std::memcpy(&b, &x, 1);
  return b == 1;
}

// Hex of 16 address octets.
std::string AddrHex(const char *text) {
  m6ike_addr6 a = Addr(text);
  static const char *d = "0123456789abcdef";
  std::string s;
  for (uint8_t v : a.b) {
    s += d[v >> 4];
    s += d[v & 15];
  }
  return s;
}

// A Linux sockaddr_in6 by hand, little-endian host: family 10 (0a00),
// port 0, flowinfo 0, addr, scope_id 0 = 28 octets.
std::string Sin6Hex(const char *text) {
  return "0a00 0000 00000000 " + AddrHex(text) + " 00000000";
}

m6ike_pfkey_sockaddr SA6(const char *text, uint16_t port = 0) {
  m6ike_addr6 a = Addr(text);
  return m6ike_pfkey_sockaddr6(&a, port);
}

const char *kHoA = "2001:db8:1::5";
const char *kHA = "2001:db8:1::1";
const char *kOldCoA = "2001:db8:3::5";
const char *kNewCoA = "2001:db8:2::5";

// The reference X_MIGRATE: MN moves from kOldCoA to kNewCoA; the selector is
// HoA -> HA, protocol MH (135); one ESP tunnel bundle; KMADDRESS names the
// addresses IKE should use (new CoA -> HA).
Bytes BuildMigrate() {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_X_MIGRATE,
                            M6IKE_SADB_SATYPE_ESP, 1, 0);
  auto nc = SA6(kNewCoA), ha = SA6(kHA), hoa = SA6(kHoA), oc = SA6(kOldCoA);
  m6ike_pfkey_add_kmaddress(&b, &nc, &ha);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
  m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC,
                         M6IKE_IPSEC_DIR_OUTBOUND, 0, 0);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, 1, &oc, &ha);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, 1, &nc, &ha);
  int n = m6ike_pfkey_builder_finish(&b);
  EXPECT_GT(n, 0);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

m6ike_pfkey_comb Comb() {
  m6ike_pfkey_comb c;
  std::memset(&c, 0, sizeof(c));
  c.auth = M6IKE_SADB_AALG_SHA1HMAC;
  c.encrypt = M6IKE_SADB_X_EALG_AESCBC;
  c.auth_minbits = 160;
  c.auth_maxbits = 160;
  c.encrypt_minbits = 128;
  c.encrypt_maxbits = 256;
  c.hard_addtime = 800;
  c.soft_addtime = 500;
  return c;
}

Bytes BuildAcquire(bool with_ref, uint32_t mpi = 42) {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_ACQUIRE,
                            M6IKE_SADB_SATYPE_ESP, 5, 0);
  auto hoa = SA6(kHoA), ha = SA6(kHA);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
  m6ike_pfkey_comb c = Comb();
  m6ike_pfkey_add_proposal(&b, 32, &c, 1);
  if (with_ref) m6ike_pfkey_add_reference(&b, mpi);
  int n = m6ike_pfkey_builder_finish(&b);
  EXPECT_GT(n, 0);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes BuildRegisterReply() {
  Bytes buf(256);
  m6ike_pfkey_alg auth[2] = {{M6IKE_SADB_AALG_SHA1HMAC, 0, 160, 160},
                             {M6IKE_SADB_X_AALG_SHA2_256HMAC, 0, 256, 256}};
  m6ike_pfkey_alg enc[1] = {{M6IKE_SADB_X_EALG_AESCBC, 16, 128, 256}};
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_REGISTER,
                            M6IKE_SADB_SATYPE_ESP, 7, 1234);
  m6ike_pfkey_add_supported(&b, M6IKE_SADB_EXT_SUPPORTED_AUTH, auth, 2);
  m6ike_pfkey_add_supported(&b, M6IKE_SADB_EXT_SUPPORTED_ENCRYPT, enc, 1);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

Bytes BuildSpdAdd() {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_X_SPDADD,
                            M6IKE_SADB_SATYPE_UNSPEC, 9, 77);
  auto hoa = SA6(kHoA), ha = SA6(kHA), coa = SA6(kNewCoA);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &hoa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &ha);
  m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC,
                         M6IKE_IPSEC_DIR_OUTBOUND, 0, 0);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_UNIQUE, 7, &coa, &ha);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

const uint8_t kAuthKey[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                              11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
const uint8_t kEncKey[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                             0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

Bytes BuildUpdate() {
  Bytes buf(512);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_UPDATE,
                            M6IKE_SADB_SATYPE_ESP, 3, 99);
  m6ike_pfkey_sa sa = {0xcbbf32e1u, 0, M6IKE_SADB_SASTATE_MATURE,
                       M6IKE_SADB_AALG_SHA1HMAC, M6IKE_SADB_X_EALG_AESCBC, 0};
  m6ike_pfkey_add_sa(&b, &sa);
  m6ike_pfkey_lifetime hard = {0, 1200000, 800, 0};
  m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_HARD, &hard);
  auto coa = SA6(kNewCoA), ha = SA6(kHA);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &coa);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &ha);
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_AUTH, 160, kAuthKey);
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT, 128, kEncKey);
  int n = m6ike_pfkey_builder_finish(&b);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

// A message carrying every extension kind once (not a meaningful PF_KEY
// exchange: a codec exercise).
Bytes BuildEverything() {
  Bytes buf(2048);
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf.data(), buf.size(), M6IKE_SADB_GET,
                            M6IKE_SADB_SATYPE_ESP, 11, 12);
  m6ike_pfkey_sa sa = {0x01020304u, 4, 1, 3, 12, 1};
  m6ike_pfkey_add_sa(&b, &sa);
  m6ike_pfkey_lifetime lt = {1, 2, 3, 4};
  m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_CURRENT, &lt);
  m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_HARD, &lt);
  m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_SOFT, &lt);
  const uint8_t v4a[4] = {192, 0, 2, 1}, v4b[4] = {198, 51, 100, 7};
  auto s4 = m6ike_pfkey_sockaddr4(v4a, 500), d4 = m6ike_pfkey_sockaddr4(v4b, 4500);
  auto p6 = SA6("fe80::1", 0);
  p6.scope_id = 3;
  p6.flowinfo = 0x12345;
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 17, 32, &s4);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 17, 24, &d4);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_PROXY, 0, 64, &p6);
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_AUTH, 5, kAuthKey);
  m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT, 0, nullptr);
  const uint8_t fq[] = "mn.example";
  m6ike_pfkey_add_ident(&b, M6IKE_SADB_EXT_IDENTITY_SRC, 2, 0, fq, 10);
  m6ike_pfkey_add_ident(&b, M6IKE_SADB_EXT_IDENTITY_DST, 1, 77, nullptr, 0);
  uint8_t maps[24] = {0xff, 1, 2};
  m6ike_pfkey_sens sens = {5, 1, 2, 3, 1, maps};
  m6ike_pfkey_add_sens(&b, &sens);
  m6ike_pfkey_comb c[2] = {Comb(), Comb()};
  c[1].encrypt = M6IKE_SADB_EALG_3DESCBC;
  m6ike_pfkey_add_proposal(&b, 64, c, 2);
  m6ike_pfkey_alg al = {3, 0, 160, 160};
  m6ike_pfkey_add_supported(&b, M6IKE_SADB_EXT_SUPPORTED_AUTH, &al, 1);
  m6ike_pfkey_add_supported(&b, M6IKE_SADB_EXT_SUPPORTED_ENCRYPT, nullptr, 0);
  m6ike_pfkey_add_spirange(&b, 0x100, 0xffffffffu);
  const uint8_t priv[3] = {9, 8, 7};
  m6ike_pfkey_add_kmprivate(&b, priv, 3);
  m6ike_pfkey_add_policy(&b, 2, 1, 5, 6);
  m6ike_pfkey_add_ipsecrequest(&b, 51, 1, 2, 0, nullptr, nullptr);
  m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 3, 9, &s4, &d4);
  m6ike_pfkey_add_sa2(&b, 2, 17, 9);
  m6ike_pfkey_add_nat_t_type(&b, 2);
  m6ike_pfkey_add_nat_t_port(&b, M6IKE_SADB_X_EXT_NAT_T_SPORT, 4500);
  m6ike_pfkey_add_nat_t_port(&b, M6IKE_SADB_X_EXT_NAT_T_DPORT, 4501);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_X_EXT_NAT_T_OA, 0, 32, &s4);
  const uint8_t ctx[5] = {'s', 'y', 's', '_', 'u'};
  m6ike_pfkey_add_sec_ctx(&b, 1, 1, ctx, 5);
  auto l6 = SA6(kNewCoA, 500), r6 = SA6(kHA, 500);
  m6ike_pfkey_add_kmaddress(&b, &l6, &r6);
  m6ike_pfkey_filter f;
  std::memset(&f, 0, sizeof(f));
  f.saddr[0] = 10;
  f.daddr[0] = 11;
  f.family = 2;
  f.splen = 8;
  f.dplen = 16;
  m6ike_pfkey_add_filter(&b, &f);
  m6ike_pfkey_add_reference(&b, 0xdeadbeefu);
  int n = m6ike_pfkey_builder_finish(&b);
  EXPECT_GT(n, 0) << m6ike_strerror(n);
  buf.resize(n > 0 ? n : 0);
  return buf;
}

int Decode(const Bytes &v, unsigned flags = M6IKE_PFKEY_DEC_STRICT,
           m6ike_pfkey_msg *out = nullptr) {
  // Exact-size heap copy so ASan flags any read past the end.
  std::vector<uint8_t> *copy = new std::vector<uint8_t>(v);
  m6ike_pfkey_msg m;
  int rc = m6ike_pfkey_decode(&m, copy->empty() ? reinterpret_cast<const uint8_t *>("") : copy->data(), copy->size(), flags);
  if (out) *out = m;
  delete copy;
  if (out) out->buf = v.data();
  return rc;
}

void Put16(Bytes &v, size_t off, uint16_t x) { std::memcpy(&v[off], &x, 2); }

}  // namespace

// ---- layouts against hand-built bytes --------------------------------------

TEST(PfkeyLayout, Migrate320Bytes) {
  if (!LittleEndian()) GTEST_SKIP() << "hand-built bytes are little-endian";
  Bytes got = BuildMigrate();
  ASSERT_EQ(got.size(), 320u);
  Bytes want = Hex(
      // sadb_msg: v2, X_MIGRATE(24), errno 0, ESP, len 40, res, seq 1, pid 0
      "02 18 00 03 2800 0000 01000000 00000000"
      // X_KMADDRESS: len 8 (64 octets), type 25, reserved, local, remote
      "0800 1900 00000000" + Sin6Hex(kNewCoA) + Sin6Hex(kHA) +
      // ADDRESS_SRC: len 5, type 5, proto MH 135, prefix 128, res, HoA, pad
      "0500 0500 87 80 0000" + Sin6Hex(kHoA) + "00000000"
      // ADDRESS_DST
      "0500 0600 87 80 0000" + Sin6Hex(kHA) + "00000000"
      // X_POLICY: len 20 (160), type 18, IPSEC(2), dir out(2), res, id, prio
      "1400 1200 0200 02 00 00000000 00000000"
      // old ipsecrequest: len 72 octets, ESP, tunnel, require, res, reqid 1
      "4800 3200 02 02 0000 01000000 00000000" +
      Sin6Hex(kOldCoA) + Sin6Hex(kHA) +
      // new ipsecrequest
      "4800 3200 02 02 0000 01000000 00000000" + Sin6Hex(kNewCoA) +
      Sin6Hex(kHA));
  ASSERT_EQ(want.size(), 320u);
  EXPECT_EQ(got, want);
}

TEST(PfkeyLayout, AcquireWithAndWithoutReference) {
  if (!LittleEndian()) GTEST_SKIP();
  std::string comb =
      // auth SHA1(3), enc AES(12), flags 0, auth 160/160, enc 128/256, res
      "03 0c 0000 a000 a000 8000 0001 00000000"
      // soft/hard allocations
      "00000000 00000000"
      // soft/hard bytes
      "0000000000000000 0000000000000000"
      // soft addtime 500, hard addtime 800
      "f401000000000000 2003000000000000"
      // soft/hard usetime
      "0000000000000000 0000000000000000";
  std::string body =
      "0500 0500 87 80 0000" + Sin6Hex(kHoA) + "00000000" +
      "0500 0600 87 80 0000" + Sin6Hex(kHA) + "00000000" +
      // PROPOSAL: len 10 (80), type 13, replay 32, reserved
      "0a00 0d00 20 000000" + comb;
  Bytes want = Hex("02 06 00 03 1600 0000 05000000 00000000" + body);
  ASSERT_EQ(want.size(), 176u);
  EXPECT_EQ(BuildAcquire(false), want);
  // With the Reference: 16 more octets, type 96 (0x60), MPI 42.
  Bytes want_ref = Hex("02 06 00 03 1800 0000 05000000 00000000" + body +
                       "0200 6000 2a000000 00000000 00000000");
  ASSERT_EQ(want_ref.size(), 192u);
  EXPECT_EQ(BuildAcquire(true), want_ref);
}

TEST(PfkeyLayout, RegisterReplyWithSupportedAlgs) {
  if (!LittleEndian()) GTEST_SKIP();
  Bytes want = Hex(
      "02 07 00 03 0700 0000 07000000 d2040000"
      // SUPPORTED_AUTH: len 3, type 14, reserved, 2 algs
      "0300 0e00 00000000"
      "03 00 a000 a000 0000"
      "05 00 0001 0001 0000"
      // SUPPORTED_ENCRYPT: len 2, type 15, reserved, AES ivlen 16
      "0200 0f00 00000000"
      "0c 10 8000 0001 0000");
  EXPECT_EQ(BuildRegisterReply(), want);
}

TEST(PfkeyLayout, SpdAddTunnelRequest) {
  if (!LittleEndian()) GTEST_SKIP();
  Bytes want = Hex(
      "02 0e 00 00 1700 0000 09000000 4d000000"
      "0500 0500 ff 80 0000" + Sin6Hex(kHoA) + "00000000" +
      "0500 0600 ff 80 0000" + Sin6Hex(kHA) + "00000000" +
      // X_POLICY len 11 (88): 16 + one request of 72
      "0b00 1200 0200 02 00 00000000 00000000"
      "4800 3200 02 03 0000 07000000 00000000" + Sin6Hex(kNewCoA) +
      Sin6Hex(kHA));
  ASSERT_EQ(want.size(), 184u);
  EXPECT_EQ(BuildSpdAdd(), want);
}

TEST(PfkeyLayout, UpdateWithKeys) {
  if (!LittleEndian()) GTEST_SKIP();
  Bytes want = Hex(
      "02 02 00 03 1900 0000 03000000 63000000"
      // SA: spi in network order, replay 0, mature, SHA1, AES, flags
      "0200 0100 cbbf32e1 00 01 03 0c 00000000"
      // LIFETIME_HARD: allocations 0, bytes 1200000, addtime 800, usetime 0
      "0400 0300 00000000 804f120000000000 2003000000000000 0000000000000000"
      "0500 0500 ff 80 0000" + Sin6Hex(kNewCoA) + "00000000" +
      "0500 0600 ff 80 0000" + Sin6Hex(kHA) + "00000000" +
      // KEY_AUTH: len 4 (32), 160 bits, 20 octets + 4 pad
      "0400 0800 a000 0000 0102030405060708090a0b0c0d0e0f1011121314 00000000"
      // KEY_ENCRYPT: len 3 (24), 128 bits
      "0300 0900 8000 0000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  ASSERT_EQ(want.size(), 200u);
  EXPECT_EQ(BuildUpdate(), want);
}

// ---- decode and round trips --------------------------------------------------

TEST(PfkeyDecode, MigrateFields) {
  Bytes v = BuildMigrate();
  m6ike_pfkey_msg m;
  ASSERT_EQ(Decode(v, 0, &m), 320);
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_X_MIGRATE);
  EXPECT_EQ(m.hdr.len, 40);
  EXPECT_EQ(m.n_ext, 4u);
  m6ike_pfkey_kmaddress km;
  ASSERT_EQ(m6ike_pfkey_get_kmaddress(&m, &km), 0);
  EXPECT_EQ(0, std::memcmp(km.local.addr, Addr(kNewCoA).b, 16));
  EXPECT_EQ(0, std::memcmp(km.remote.addr, Addr(kHA).b, 16));
  m6ike_pfkey_policy pol;
  ASSERT_EQ(m6ike_pfkey_get_policy(&m, &pol), 0);
  EXPECT_EQ(pol.n_requests, 2u);
  EXPECT_EQ(pol.dir, M6IKE_IPSEC_DIR_OUTBOUND);
  m6ike_pfkey_ipsecrequest o, n;
  ASSERT_EQ(m6ike_pfkey_policy_request(&pol, 0, &o), 0);
  ASSERT_EQ(m6ike_pfkey_policy_request(&pol, 1, &n), 0);
  EXPECT_EQ(m6ike_pfkey_policy_request(&pol, 2, &n), M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(o.len, 72);
  EXPECT_TRUE(o.has_addrs);
  EXPECT_EQ(o.proto, M6IKE_IPPROTO_ESP);
  EXPECT_EQ(o.mode, M6IKE_IPSEC_MODE_TUNNEL);
  EXPECT_EQ(o.reqid, 1u);
  EXPECT_EQ(0, std::memcmp(o.src.addr, Addr(kOldCoA).b, 16));
  EXPECT_EQ(0, std::memcmp(n.src.addr, Addr(kNewCoA).b, 16));
  m6ike_pfkey_address src;
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_SRC, &src), 0);
  EXPECT_EQ(src.proto, 135);
  EXPECT_EQ(src.prefixlen, 128);
  EXPECT_EQ(m6ike_pfkey_check_required(&m), 0);
  m6ike_pfkey_sa sa;
  EXPECT_EQ(m6ike_pfkey_get_sa(&m, &sa), M6IKE_ERR_NOT_FOUND);
}

TEST(PfkeyDecode, AcquireReferenceAndLegacyKeyManager) {
  Bytes v = BuildAcquire(true, 42);
  m6ike_pfkey_msg m;
  ASSERT_EQ(Decode(v, 0, &m), 192);
  m6ike_pfkey_reference r;
  ASSERT_EQ(m6ike_pfkey_get_reference(&m, &r), 0);
  EXPECT_EQ(r.mpi, 42u);
  EXPECT_TRUE(m6ike_pfkey_has(&m, M6IKE_SADB_X_EXT_M6IKE_REFERENCE));
  m6ike_pfkey_prop p;
  ASSERT_EQ(m6ike_pfkey_get_prop(&m, &p), 0);
  ASSERT_EQ(p.n_combs, 1u);
  m6ike_pfkey_comb c;
  ASSERT_EQ(m6ike_pfkey_prop_comb(&p, 0, &c), 0);
  EXPECT_EQ(c.hard_addtime, 800u);
  EXPECT_EQ(c.encrypt_maxbits, 256);
  EXPECT_EQ(m6ike_pfkey_prop_comb(&p, 1, &c), M6IKE_ERR_NOT_FOUND);
  // A key manager that does not know the Reference: a strict one rejects
  // the unknown type, a lenient one (Linux-like) skips it and still sees
  // every RFC 2367 extension of the ACQUIRE.
  EXPECT_EQ(Decode(v, M6IKE_PFKEY_DEC_LEGACY), M6IKE_ERR_PFKEY_UNKNOWN_EXT);
  ASSERT_EQ(Decode(v, M6IKE_PFKEY_DEC_LEGACY | M6IKE_PFKEY_DEC_LENIENT, &m),
            192);
  EXPECT_EQ(m.n_skipped, 1u);
  EXPECT_FALSE(m6ike_pfkey_has(&m, M6IKE_SADB_X_EXT_M6IKE_REFERENCE));
  EXPECT_EQ(m6ike_pfkey_get_reference(&m, &r), M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_pfkey_check_required(&m), 0);
  m6ike_pfkey_address dst;
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_DST, &dst), 0);
  EXPECT_EQ(0, std::memcmp(dst.sa.addr, Addr(kHA).b, 16));
  // ... and re-encoding what it understood gives the plain ACQUIRE.
  Bytes out(512);
  int n = m6ike_pfkey_rebuild(&m, out.data(), out.size());
  ASSERT_GT(n, 0);
  out.resize(n);
  EXPECT_EQ(out, BuildAcquire(false));
}

TEST(PfkeyDecode, RoundTripsAreByteExact) {
  for (const Bytes &v : {BuildMigrate(), BuildAcquire(false), BuildAcquire(true),
                         BuildRegisterReply(), BuildSpdAdd(), BuildUpdate(),
                         BuildEverything()}) {
    m6ike_pfkey_msg m;
    ASSERT_EQ(Decode(v, 0, &m), (int)v.size());
    Bytes out(v.size());
    ASSERT_EQ(m6ike_pfkey_rebuild(&m, out.data(), out.size()), (int)v.size());
    EXPECT_EQ(out, v);
    // One octet less room: NOBUF, never an overrun.
    if (v.size() > 16) {
      Bytes small(v.size() - 1);
      EXPECT_EQ(m6ike_pfkey_rebuild(&m, small.data(), small.size()),
                M6IKE_ERR_NOBUF);
    }
  }
}

TEST(PfkeyDecode, EverythingGetters) {
  Bytes v = BuildEverything();
  m6ike_pfkey_msg m;
  ASSERT_GT(Decode(v, 0, &m), 0);
  EXPECT_EQ(m.n_ext, (unsigned)M6IKE_SADB_EXT_MAX + 1);
  m6ike_pfkey_sa sa;
  ASSERT_EQ(m6ike_pfkey_get_sa(&m, &sa), 0);
  EXPECT_EQ(sa.spi, 0x01020304u);
  EXPECT_EQ(v[16 + 4], 0x01);  // SPI in network order
  m6ike_pfkey_address a;
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_SRC, &a), 0);
  EXPECT_EQ(a.sa.family, M6IKE_PFKEY_AF_INET);
  EXPECT_EQ(a.sa.port, 500);
  EXPECT_EQ(a.sa.addr[0], 192);
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_PROXY, &a), 0);
  EXPECT_EQ(a.sa.scope_id, 3u);
  EXPECT_EQ(a.sa.flowinfo, 0x12345u);
  EXPECT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_SA, &a),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_pfkey_key k;
  ASSERT_EQ(m6ike_pfkey_get_key(&m, M6IKE_SADB_EXT_KEY_AUTH, &k), 0);
  EXPECT_EQ(k.bits, 5);
  EXPECT_EQ(k.data[0], 1);
  m6ike_pfkey_ident id;
  ASSERT_EQ(m6ike_pfkey_get_ident(&m, M6IKE_SADB_EXT_IDENTITY_SRC, &id), 0);
  EXPECT_EQ(std::string((const char *)id.str, 10), "mn.example");
  EXPECT_EQ(id.str_len, 16u);
  m6ike_pfkey_sens s;
  ASSERT_EQ(m6ike_pfkey_get_sens(&m, &s), 0);
  EXPECT_EQ(s.integ_len, 1);
  EXPECT_EQ(s.bitmaps[0], 0xff);
  m6ike_pfkey_supported sup;
  ASSERT_EQ(m6ike_pfkey_get_supported(&m, M6IKE_SADB_EXT_SUPPORTED_ENCRYPT, &sup),
            0);
  EXPECT_EQ(sup.n_algs, 0u);
  m6ike_pfkey_spirange sr;
  ASSERT_EQ(m6ike_pfkey_get_spirange(&m, &sr), 0);
  EXPECT_EQ(sr.max, 0xffffffffu);
  m6ike_pfkey_kmprivate kp;
  ASSERT_EQ(m6ike_pfkey_get_kmprivate(&m, &kp), 0);
  EXPECT_EQ(kp.data_len, 8u);
  m6ike_pfkey_policy pol;
  ASSERT_EQ(m6ike_pfkey_get_policy(&m, &pol), 0);
  m6ike_pfkey_ipsecrequest rq;
  ASSERT_EQ(m6ike_pfkey_policy_request(&pol, 0, &rq), 0);
  EXPECT_FALSE(rq.has_addrs);
  EXPECT_EQ(rq.len, 16);
  ASSERT_EQ(m6ike_pfkey_policy_request(&pol, 1, &rq), 0);
  EXPECT_EQ(rq.len, 48);  // 16 + align8(2 * 16)
  EXPECT_EQ(rq.dst.port, 4500);
  m6ike_pfkey_sa2 sa2;
  ASSERT_EQ(m6ike_pfkey_get_sa2(&m, &sa2), 0);
  EXPECT_EQ(sa2.reqid, 9u);
  uint8_t nt;
  ASSERT_EQ(m6ike_pfkey_get_nat_t_type(&m, &nt), 0);
  EXPECT_EQ(nt, 2);
  uint16_t port;
  ASSERT_EQ(m6ike_pfkey_get_nat_t_port(&m, M6IKE_SADB_X_EXT_NAT_T_DPORT, &port), 0);
  EXPECT_EQ(port, 4501);
  m6ike_pfkey_sec_ctx sc;
  ASSERT_EQ(m6ike_pfkey_get_sec_ctx(&m, &sc), 0);
  EXPECT_EQ(sc.ctx_len, 5);
  m6ike_pfkey_filter f;
  ASSERT_EQ(m6ike_pfkey_get_filter(&m, &f), 0);
  EXPECT_EQ(f.dplen, 16);
  m6ike_pfkey_reference r;
  ASSERT_EQ(m6ike_pfkey_get_reference(&m, &r), 0);
  EXPECT_EQ(r.mpi, 0xdeadbeefu);
}

// ---- every decode error -----------------------------------------------------

TEST(PfkeyDecodeErrors, HeaderLevel) {
  Bytes v = BuildAcquire(true);
  EXPECT_EQ(Decode(Bytes(v.begin(), v.begin() + 8)), M6IKE_ERR_PFKEY_TRUNCATED);
  EXPECT_EQ(Decode(Bytes()), M6IKE_ERR_PFKEY_TRUNCATED);
  Bytes t(v.begin(), v.end() - 8);  // sadb_msg_len says 8 more
  EXPECT_EQ(Decode(t), M6IKE_ERR_PFKEY_TRUNCATED);
  Bytes o = v;
  o.insert(o.end(), 8, 0);
  EXPECT_EQ(Decode(o), M6IKE_ERR_PFKEY_OVERLONG);
  Bytes mis = v;
  mis.push_back(0);
  EXPECT_EQ(Decode(mis), M6IKE_ERR_PFKEY_MISALIGNED);
  Bytes ver = v;
  ver[0] = 1;
  EXPECT_EQ(Decode(ver), M6IKE_ERR_PFKEY_VERSION);
  Bytes ty = v;
  ty[1] = 0;
  EXPECT_EQ(Decode(ty), M6IKE_ERR_PFKEY_MSG_TYPE);
  ty[1] = 25;
  EXPECT_EQ(Decode(ty), M6IKE_ERR_PFKEY_MSG_TYPE);
  Bytes ml = v;
  Put16(ml, 4, 1);
  EXPECT_EQ(Decode(ml), M6IKE_ERR_PFKEY_MSG_LEN);
  Bytes rs = v;
  rs[6] = 1;
  EXPECT_EQ(Decode(rs), M6IKE_ERR_PFKEY_RESERVED_FIELD);
  m6ike_pfkey_msg m;
  EXPECT_EQ(m6ike_pfkey_decode(&m, nullptr, 16, 0), M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_pfkey_decode(nullptr, v.data(), v.size(), 0),
            M6IKE_ERR_INVALID_ARGUMENT);
}

// Offsets in BuildAcquire(true): SRC 16, DST 56, PROPOSAL 96, REF 176.
TEST(PfkeyDecodeErrors, ExtensionLevel) {
  Bytes v = BuildAcquire(true);
  Bytes z = v;
  Put16(z, 16, 0);
  EXPECT_EQ(Decode(z), M6IKE_ERR_PFKEY_EXT_SHORT);
  Bytes over = v;
  Put16(over, 176, 3);  // Reference claims 24 octets, 16 remain
  EXPECT_EQ(Decode(over), M6IKE_ERR_PFKEY_EXT_OVERRUN);
  Bytes res = v;
  Put16(res, 176 + 2, 0);
  EXPECT_EQ(Decode(res), M6IKE_ERR_PFKEY_RESERVED_EXT);
  Bytes unk = v;
  Put16(unk, 176 + 2, 27);
  EXPECT_EQ(Decode(unk), M6IKE_ERR_PFKEY_UNKNOWN_EXT);
  m6ike_pfkey_msg m;
  EXPECT_EQ(Decode(unk, M6IKE_PFKEY_DEC_LENIENT, &m), 192);
  EXPECT_EQ(m.n_skipped, 1u);
  Bytes dup = v;
  Put16(dup, 56 + 2, M6IKE_SADB_EXT_ADDRESS_SRC);
  EXPECT_EQ(Decode(dup), M6IKE_ERR_PFKEY_DUPLICATE);
  Bytes dupref = v;  // turn the proposal's first 16 octets into a Reference
  Put16(dupref, 96, 2);
  Put16(dupref, 96 + 2, M6IKE_SADB_X_EXT_M6IKE_REFERENCE);
  Put16(dupref, 112, 8);  // rest of the old proposal: a KMPRIVATE of 64
  Put16(dupref, 112 + 2, M6IKE_SADB_X_EXT_KMPRIVATE);
  EXPECT_EQ(Decode(dupref), M6IKE_ERR_PFKEY_DUPLICATE);
  Bytes ref2 = BuildAcquire(false);  // append a 24-octet Reference
  Bytes ext24 = Hex("0300 6000 2a000000 00000000 000000000000000000000000");
  ref2.insert(ref2.end(), ext24.begin(), ext24.end());
  Put16(ref2, 4, (uint16_t)(ref2.size() / 8));
  EXPECT_EQ(Decode(ref2), M6IKE_ERR_PFKEY_REFERENCE);
  Bytes ref1 = BuildAcquire(false);
  Bytes ext8 = Hex("0100 6000 2a000000");
  ref1.insert(ref1.end(), ext8.begin(), ext8.end());
  Put16(ref1, 4, (uint16_t)(ref1.size() / 8));
  EXPECT_EQ(Decode(ref1), M6IKE_ERR_PFKEY_REFERENCE);
  // ... but a legacy lenient KM skips even a malformed Reference.
  EXPECT_GT(Decode(ref1, M6IKE_PFKEY_DEC_LEGACY | M6IKE_PFKEY_DEC_LENIENT), 0);
  Bytes prop = v;
  Put16(prop, 96, 9);  // 72 octets: 8 + 64, not a whole comb
  Put16(prop, 168, 1);  // the orphan 8 octets become a KMPRIVATE
  Put16(prop, 168 + 2, M6IKE_SADB_X_EXT_KMPRIVATE);
  EXPECT_EQ(Decode(prop), M6IKE_ERR_PFKEY_INCONSISTENT);
}

TEST(PfkeyDecodeErrors, FixedSizeAndAddresses) {
  Bytes u = BuildUpdate();  // SA 16, LIFETIME_HARD 32, SRC 64, DST 104,
                            // KEY_AUTH 144, KEY_ENCRYPT 176
  Bytes sa = u;
  Put16(sa, 16, 1);
  EXPECT_EQ(Decode(sa), M6IKE_ERR_PFKEY_EXT_SHORT);
  // SA grows to 24 octets by eating the lifetime's first 8; the lifetime's
  // remaining 24 become a KMPRIVATE.
  Bytes sal = u;
  Put16(sal, 16, 3);
  Put16(sal, 40, 3);
  Put16(sal, 42, M6IKE_SADB_X_EXT_KMPRIVATE);
  EXPECT_EQ(Decode(sal), M6IKE_ERR_PFKEY_EXT_LONG);
  Bytes fam = u;
  Put16(fam, 64 + 8, 7);  // sockaddr family 7
  EXPECT_EQ(Decode(fam), M6IKE_ERR_PFKEY_ADDRESS);
  Bytes f4 = u;
  Put16(f4, 64 + 8, M6IKE_PFKEY_AF_INET);  // v4 sockaddr in a 40-octet ext
  EXPECT_EQ(Decode(f4), M6IKE_ERR_PFKEY_ADDRESS);
  Bytes pl = u;
  pl[64 + 5] = 129;
  EXPECT_EQ(Decode(pl), M6IKE_ERR_PFKEY_ADDRESS);
  Bytes key = u;
  Put16(key, 144 + 4, 200);  // 200 bits need 25 octets, 24 present
  EXPECT_EQ(Decode(key), M6IKE_ERR_PFKEY_INCONSISTENT);
  Bytes key2 = u;
  Put16(key2, 144 + 4, 64);  // 64 bits need only 8: extension too long
  EXPECT_EQ(Decode(key2), M6IKE_ERR_PFKEY_INCONSISTENT);
  // An address ext of 8 octets: no room for a sockaddr.
  Bytes a8 = Hex("02 06 00 03 0300 0000 00000000 00000000 0100 0500 00 00 0000");
  EXPECT_EQ(Decode(a8), M6IKE_ERR_PFKEY_ADDRESS);
}

TEST(PfkeyDecodeErrors, PolicyAndKmaddress) {
  Bytes v = BuildMigrate();  // KMADDRESS 16, SRC 80, DST 120, POLICY 160,
                             // req0 176, req1 248
  Bytes l = v;
  Put16(l, 176, 8);
  EXPECT_EQ(Decode(l), M6IKE_ERR_PFKEY_IPSECREQUEST);
  Bytes mis = v;
  Put16(mis, 176, 68);
  EXPECT_EQ(Decode(mis), M6IKE_ERR_PFKEY_MISALIGNED);
  Bytes big = v;
  Put16(big, 248, 80);  // past the end of the policy
  EXPECT_EQ(Decode(big), M6IKE_ERR_PFKEY_IPSECREQUEST);
  Bytes fam = v;
  Put16(fam, 176 + 16 + 28, M6IKE_PFKEY_AF_INET);  // dst family differs
  EXPECT_EQ(Decode(fam), M6IKE_ERR_PFKEY_IPSECREQUEST);
  Bytes r64 = v;  // request of 64 octets + 8 octets of trailing garbage
  Put16(r64, 248, 64);
  EXPECT_EQ(Decode(r64), M6IKE_ERR_PFKEY_IPSECREQUEST);
  Bytes km = v;
  Put16(km, 16 + 8 + 28, M6IKE_PFKEY_AF_INET);
  EXPECT_EQ(Decode(km), M6IKE_ERR_PFKEY_ADDRESS);
  Bytes sens = Hex("02 05 00 03 0400 0000 00000000 00000000"
                   "0200 0c00 00000000 00 01 00 00 00000000");
  EXPECT_EQ(Decode(sens), M6IKE_ERR_PFKEY_INCONSISTENT);
  Bytes ctx = Hex("02 05 00 03 0300 0000 00000000 00000000"
                  "0100 1800 01 01 0900");
  EXPECT_EQ(Decode(ctx), M6IKE_ERR_PFKEY_INCONSISTENT);
}

TEST(PfkeyDecodeErrors, EveryTruncationFailsWithoutOverrun) {
  for (const Bytes &v : {BuildMigrate(), BuildAcquire(true), BuildUpdate(),
                         BuildEverything(), BuildSpdAdd(),
                         BuildRegisterReply()}) {
    for (size_t n = 0; n < v.size(); n++) {
      Bytes t(v.begin(), v.begin() + n);
      EXPECT_LT(Decode(t), 0) << n;
      EXPECT_LT(Decode(t, M6IKE_PFKEY_DEC_LENIENT), 0) << n;
      // Also with sadb_msg_len patched to the cut: an extension overruns
      // or is cut mid-way, never read past the buffer.
      if (n >= 16 && n % 8 == 0) {
        Put16(t, 4, (uint16_t)(n / 8));
        int rc = Decode(t, M6IKE_PFKEY_DEC_LENIENT);
        EXPECT_TRUE(rc == (int)n || rc < 0);
      }
    }
  }
}

// ---- builder ---------------------------------------------------------------------

TEST(PfkeyBuilder, NobufAtEveryCapacityIsSticky) {
  Bytes full = BuildMigrate();
  for (size_t cap = 0; cap < full.size(); cap++) {
    Bytes buf(cap + 1);
    m6ike_pfkey_builder b;
    m6ike_pfkey_builder_begin(&b, buf.data(), cap, M6IKE_SADB_X_MIGRATE, 3, 1,
                              0);
    auto nc = SA6(kNewCoA), ha = SA6(kHA);
    m6ike_pfkey_add_kmaddress(&b, &nc, &ha);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 135, 128, &nc);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 135, 128, &ha);
    m6ike_pfkey_add_policy(&b, 2, 2, 0, 0);
    m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 2, 1, &nc, &ha);
    m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 2, 1, &nc, &ha);
    EXPECT_EQ(m6ike_pfkey_builder_finish(&b), M6IKE_ERR_NOBUF) << cap;
    EXPECT_LE(b.len, cap);
  }
}

TEST(PfkeyBuilder, StateAndArgumentErrors) {
  uint8_t buf[256];
  m6ike_pfkey_builder b;
  auto ha = SA6(kHA);
  ASSERT_EQ(m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0), 0);
  EXPECT_EQ(m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 2, 0, &ha, &ha),
            M6IKE_ERR_PFKEY_BUILDER_STATE);
  EXPECT_EQ(m6ike_pfkey_builder_finish(&b), M6IKE_ERR_PFKEY_BUILDER_STATE);

  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0);
  EXPECT_EQ(m6ike_pfkey_add_reference(&b, 1), 0);
  EXPECT_EQ(m6ike_pfkey_add_reference(&b, 2), M6IKE_ERR_PFKEY_DUPLICATE);

  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0);
  EXPECT_EQ(m6ike_pfkey_builder_finish(&b), 16);
  EXPECT_EQ(m6ike_pfkey_add_reference(&b, 1), M6IKE_ERR_PFKEY_BUILDER_STATE);

  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0);
  EXPECT_EQ(m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_SA, 0, 0, &ha),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0);
  EXPECT_EQ(m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 129, &ha),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0);
  m6ike_pfkey_sockaddr bad = ha;
  bad.family = 99;
  EXPECT_EQ(m6ike_pfkey_add_kmaddress(&b, &bad, &bad),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), 6, 3, 0, 0);
  m6ike_pfkey_add_policy(&b, 2, 2, 0, 0);
  EXPECT_EQ(m6ike_pfkey_add_ipsecrequest(&b, 50, 2, 2, 0, &ha, nullptr),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_pfkey_builder_begin(&b, nullptr, 10, 6, 3, 0, 0),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_pfkey_builder_begin(&b, buf, 8, 6, 3, 0, 0),
            M6IKE_ERR_NOBUF);
}

// ---- names, format, strerror --------------------------------------------------

TEST(PfkeyFormat, AcquireLine) {
  Bytes v = BuildAcquire(true, 42);
  m6ike_pfkey_msg m;
  ASSERT_GT(Decode(v, 0, &m), 0);
  char line[256];
  int n = m6ike_pfkey_format(&m, line, sizeof(line));
  EXPECT_EQ(std::string(line),
            "ACQUIRE satype=esp seq=5 pid=0 src=2001:db8:1::5/128 "
            "dst=2001:db8:1::1/128 ref.mpi=42");
  EXPECT_EQ(n, (int)std::strlen(line));
  char tiny[8];
  EXPECT_EQ(m6ike_pfkey_format(&m, tiny, sizeof(tiny)), n);
  EXPECT_EQ(std::string(tiny), "ACQUIRE");
  Bytes mg = BuildMigrate();
  ASSERT_GT(Decode(mg, 0, &m), 0);
  m6ike_pfkey_format(&m, line, sizeof(line));
  EXPECT_NE(std::string(line).find("X_MIGRATE"), std::string::npos);
  EXPECT_NE(std::string(line).find("km=2001:db8:2::5->2001:db8:1::1"),
            std::string::npos);
  EXPECT_NE(std::string(line).find("reqs=2"), std::string::npos);
  EXPECT_STREQ(m6ike_pfkey_ext_type_name(96), "X_M6IKE_REFERENCE");
  EXPECT_STREQ(m6ike_pfkey_ext_type_name(25), "X_KMADDRESS");
  EXPECT_STREQ(m6ike_pfkey_msg_type_name(24), "X_MIGRATE");
  EXPECT_STREQ(m6ike_pfkey_msg_type_name(99), "?");
  EXPECT_STREQ(m6ike_pfkey_satype_name(3), "esp");
}

TEST(PfkeyErrors, EveryCodeHasItsOwnString) {
  std::set<std::string> seen;
  for (int c = -501; c >= -520; c--) {
    const char *s = m6ike_pfkey_strerror_(c);
    ASSERT_NE(s, nullptr) << c;
    EXPECT_STREQ(m6ike_strerror(c), s);
    EXPECT_TRUE(seen.insert(s).second) << c;
  }
  for (int c = -550; c >= -561; c--) {
    const char *s = m6ike_pfkey_strerror_(c);
    ASSERT_NE(s, nullptr) << c;
    EXPECT_TRUE(seen.insert(s).second) << c;
  }
  EXPECT_EQ(m6ike_pfkey_strerror_(-100), nullptr);
  EXPECT_EQ(m6ike_pfkey_strerror_(-540), nullptr);
}

TEST(PfkeyReference, TypeCollidesWithNoKnownExtension) {
  // Highest extension numbers found in the public headers (see pfkey.h).
  EXPECT_GT(M6IKE_SADB_X_EXT_M6IKE_REFERENCE, 26);  // Linux
  EXPECT_GT(M6IKE_SADB_X_EXT_M6IKE_REFERENCE, 31);  // FreeBSD
  EXPECT_GT(M6IKE_SADB_X_EXT_M6IKE_REFERENCE, 40);  // OpenBSD
  EXPECT_GE(M6IKE_SADB_X_EXT_M6IKE_REFERENCE, 64);
  EXPECT_EQ(M6IKE_PFKEY_REFERENCE_LEN, 16);
}
