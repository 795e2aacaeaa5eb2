// The ipsec unit: SPD/SAD, ESP framing (NULL crypto backend: ciphers copy,
// integrity is a keyed checksum, so layouts are visible and corruption is
// still detected), anti-replay, lifetimes -> EXPIRE, the PF_KEY kernel side,
// MIGRATE, direct update, failing allocations, malformed input.
#include "m6ike/ipsec.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "m6ike/crypto.h"
#include "m6ike/crypto_openssl.h"
#include "m6ike/mh.h"
#include "m6ike/pfkey_bus.h"
#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

const char *kMnHoa = "2001:db8:1::5";
const char *kHa = "2001:db8:1::1";
const char *kCoa1 = "2001:db8:2::5";
const char *kCoa2 = "2001:db8:3::5";
const char *kCn = "2001:db8:9::9";

// Deterministic "random" bytes: 0xa0, 0xa1, ... (CBC IVs, GETSPI).
struct Rng {
  uint8_t next = 0xa0;
  bool fail = false;
  static int Cb(uint8_t *d, size_t n, void *ud) {
    auto *r = static_cast<Rng *>(ud);
    if (r->fail) return 1;
    for (size_t i = 0; i < n; i++) d[i] = r->next++;
    return 0;
  }
};

// A pointer to a parsed address that lives until the test binary exits.
const m6ike_addr6 *AddrP(const char *t) {
  static std::vector<std::unique_ptr<m6ike_addr6>> keep;
  keep.emplace_back(new m6ike_addr6(Addr(t)));
  return keep.back().get();
}

Bytes Key(size_t n, uint8_t base) {
  Bytes k(n);
  for (size_t i = 0; i < n; i++) k[i] = static_cast<uint8_t>(base + i);
  return k;
}

// IPv6 | UDP(sport, dport) | n payload octets.
Bytes Udp(const char *src, const char *dst, uint16_t sport, uint16_t dport,
          size_t n, uint8_t tc = 0) {
  Bytes p(40 + 8 + n);
  p[0] = static_cast<uint8_t>(0x60 | tc >> 4);
  p[1] = static_cast<uint8_t>(tc << 4);
  size_t pl = 8 + n;
  p[4] = static_cast<uint8_t>(pl >> 8);
  p[5] = static_cast<uint8_t>(pl);
  p[6] = 17;
  p[7] = 64;
  m6ike_addr6 s = Addr(src), d = Addr(dst);
  std::memcpy(&p[8], s.b, 16);
  std::memcpy(&p[24], d.b, 16);
  p[40] = static_cast<uint8_t>(sport >> 8);
  p[41] = static_cast<uint8_t>(sport);
  p[42] = static_cast<uint8_t>(dport >> 8);
  p[43] = static_cast<uint8_t>(dport);
  p[44] = static_cast<uint8_t>(pl >> 8);
  p[45] = static_cast<uint8_t>(pl);
  for (size_t i = 0; i < n; i++) p[48 + i] = static_cast<uint8_t>(i * 7);
  return p;
}

m6ike_mh_msg Mh(uint8_t type) {
  m6ike_mh_msg m;
  std::memset(&m, 0, sizeof(m));
  m.type = type;
  m.payload_proto = M6IKE_IPPROTO_NONE;
  if (type == M6IKE_MH_BU) {
    m.u.bu.seq = 7;
    m.u.bu.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H | M6IKE_BU_FLAG_K;
    m.u.bu.lifetime = 100;
  }
  if (type == M6IKE_MH_BA) {
    m.u.ba.seq = 7;
    m.u.ba.lifetime = 100;
  }
  return m;
}

// MN (CoA, HAO=HoA) -> HA: IPv6 | DstOpt(HAO) | MH(type).
Bytes MnToHa(uint8_t type, const char *coa = kCoa1) {
  Bytes b(256);
  m6ike_addr6 s = Addr(coa), d = Addr(kHa), h = Addr(kMnHoa);
  m6ike_mh_msg m = Mh(type);
  int n = m6ike_mh_build_packet(b.data(), b.size(), &s, &d, &h, nullptr, &m);
  EXPECT_GT(n, 0);
  b.resize(n > 0 ? n : 0);
  return b;
}

// HA -> MN's CoA via RH2(HoA): IPv6 | RH2 | MH(BA).
Bytes HaToMnBa(const char *coa = kCoa1) {
  Bytes b(256);
  m6ike_addr6 s = Addr(kHa), d = Addr(coa), h = Addr(kMnHoa);
  m6ike_mh_msg m = Mh(M6IKE_MH_BA);
  int n = m6ike_mh_build_packet(b.data(), b.size(), &s, &d, nullptr, &h, &m);
  EXPECT_GT(n, 0);
  b.resize(n > 0 ? n : 0);
  return b;
}

struct Xform {
  const char *name;
  uint16_t enc, integ;
  size_t enc_key, auth_key;
  size_t iv, icv, block;
};
const Xform kXforms[] = {
    {"aes128gcm16", M6IKE_ENCR_AES_GCM_16, M6IKE_INTEG_NONE, 20, 0, 8, 16, 4},
    {"aes256gcm16", M6IKE_ENCR_AES_GCM_16, M6IKE_INTEG_NONE, 36, 0, 8, 16, 4},
    {"aes128-sha256", M6IKE_ENCR_AES_CBC, M6IKE_INTEG_HMAC_SHA2_256_128, 16,
     32, 16, 16, 16},
    {"3des-sha1", M6IKE_ENCR_3DES, M6IKE_INTEG_HMAC_SHA1_96, 24, 20, 8, 12, 8},
    {"null-sha256", M6IKE_ENCR_NULL, M6IKE_INTEG_HMAC_SHA2_256_128, 0, 32, 0,
     16, 4},
};

// Keys live here so params can point at them.
struct SaSpec {
  m6ike_ipsec_sa_params p;
  Bytes ek, ak;
  SaSpec(const Xform &x, uint32_t spi, const char *src, const char *dst,
         uint8_t mode, uint32_t reqid) {
    std::memset(&p, 0, sizeof(p));
    ek = Key(x.enc_key, 0x10);
    ak = Key(x.auth_key, 0x40);
    p.spi = spi;
    p.src = Addr(src);
    p.dst = Addr(dst);
    p.mode = mode;
    p.reqid = reqid;
    p.enc_alg = x.enc;
    p.auth_alg = x.integ;
    p.enc_key = ek.empty() ? nullptr : ek.data();
    p.enc_key_len = ek.size();
    p.auth_key = ak.empty() ? nullptr : ak.data();
    p.auth_key_len = ak.size();
  }
};

m6ike_ipsec_policy Protect(uint8_t dir, const m6ike_ipsec_selector &sel,
                           uint8_t mode, uint32_t reqid,
                           const char *tsrc = nullptr,
                           const char *tdst = nullptr, uint32_t prio = 100) {
  m6ike_ipsec_policy p;
  std::memset(&p, 0, sizeof(p));
  p.dir = dir;
  p.priority = prio;
  p.action = M6IKE_IPSEC_ACTION_PROTECT;
  p.sel = sel;
  p.mode = mode;
  p.level = M6IKE_IPSEC_LEVEL_REQUIRE;
  p.reqid = reqid;
  if (tsrc) p.tun_src = Addr(tsrc);
  if (tdst) p.tun_dst = Addr(tdst);
  return p;
}

m6ike_ipsec_policy Simple(uint8_t dir, const m6ike_ipsec_selector &sel,
                          uint8_t action, uint32_t prio = 100) {
  m6ike_ipsec_policy p;
  std::memset(&p, 0, sizeof(p));
  p.dir = dir;
  p.priority = prio;
  p.action = action;
  p.sel = sel;
  return p;
}

m6ike_ipsec_selector Host(const char *s, const char *d, uint8_t proto) {
  m6ike_ipsec_selector sel;
  m6ike_addr6 a = Addr(s), b = Addr(d);
  m6ike_ipsec_selector_host(&sel, &a, &b, proto);
  return sel;
}

m6ike_ipsec_selector MhSel(const char *s, const char *d, uint8_t type) {
  m6ike_ipsec_selector sel = Host(s, d, M6IKE_IPPROTO_MH);
  sel.mh_type_lo = sel.mh_type_hi = type;
  return sel;
}

// One node's ipsec object, optionally on a PF_KEY bus with a KM endpoint
// registered for ESP and a mobility endpoint.
struct Node {
  Rng rng;
  m6ike_ipsec_config cfg;
  m6ike_ipsec *x = nullptr;
  m6ike_pfkey_bus *bus = nullptr;
  m6ike_pfkey_ep km = 0, mob = 0;
  explicit Node(bool with_bus = false, uint32_t window = 0,
                const m6ike_mem *mem = nullptr) {
    std::memset(&cfg, 0, sizeof(cfg));
    cfg.crypto = m6ike_crypto_null();
    cfg.rand = Rng::Cb;
    cfg.rand_user_data = &rng;
    cfg.replay_window = window;
    EXPECT_EQ(m6ike_ipsec_new(&x, &cfg, mem), 0);
    if (with_bus) {
      m6ike_pfkey_bus_config bc;
      std::memset(&bc, 0, sizeof(bc));
      m6ike_ipsec_kernel_cbs(x, &bc.kernel);
      EXPECT_EQ(m6ike_pfkey_bus_new(&bus, &bc, mem), 0);
      m6ike_ipsec_set_bus(x, bus);
      EXPECT_EQ(m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0,
                                     nullptr, nullptr, &km),
                0);
      EXPECT_EQ(m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_MOBILITY, 0,
                                     nullptr, nullptr, &mob),
                0);
      Bytes reg = Hdr(M6IKE_SADB_REGISTER, M6IKE_SADB_SATYPE_ESP, 1);
      EXPECT_EQ(m6ike_pfkey_bus_send(bus, km, reg.data(), reg.size(), 0), 1);
      Recv(); // the REGISTER reply
    }
  }
  ~Node() {
    m6ike_pfkey_bus_del(bus);
    m6ike_ipsec_del(x);
  }
  static Bytes Hdr(uint8_t type, uint8_t satype, uint32_t seq) {
    Bytes b(16);
    m6ike_pfkey_builder bl;
    m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), type, satype, seq, 0);
    m6ike_pfkey_builder_finish(&bl);
    return b;
  }
  Bytes Recv(m6ike_pfkey_ep ep = 0) {
    Bytes b(4096);
    int n = m6ike_pfkey_bus_recv(bus, ep ? ep : km, b.data(), b.size());
    b.resize(n > 0 ? n : 0);
    return b;
  }
  int Send(const Bytes &m, m6ike_pfkey_ep ep = 0) {
    return m6ike_pfkey_bus_send(bus, ep ? ep : km, m.data(), m.size(), 0);
  }
  m6ike_ipsec_stats Stats() const {
    m6ike_ipsec_stats s;
    m6ike_ipsec_get_stats(x, &s);
    return s;
  }
  int Out(const Bytes &pkt, Bytes *out, m6ike_tstamp now = 0) {
    out->assign(pkt.size() + M6IKE_IPSEC_MAX_OVERHEAD + 64, 0);
    int n = m6ike_ipsec_output(x, pkt.data(), pkt.size(), out->data(),
                               out->size(), now);
    out->resize(n > 0 ? n : 0);
    return n;
  }
  int In(const Bytes &pkt, Bytes *out, m6ike_tstamp now = 0) {
    out->assign(pkt.size() + 64, 0);
    int n = m6ike_ipsec_input(x, pkt.data(), pkt.size(), out->data(),
                              out->size(), now);
    out->resize(n > 0 ? n : 0);
    return n;
  }
};

m6ike_pfkey_msg Decode(const Bytes &b) {
  m6ike_pfkey_msg m;
  EXPECT_EQ(m6ike_pfkey_decode(&m, b.data(), b.size(),
                               M6IKE_PFKEY_DEC_STRICT),
            static_cast<int>(b.size()));
  return m;
}

// ---------------------------------------------------------------------------

TEST(Ipsec, ErrorStrings) {
  for (int c = -701; c >= -728; c--) {
    if (c == -720) {
      EXPECT_EQ(m6ike_ipsec_strerror_(c), nullptr); // unused
      continue;
    }
    ASSERT_NE(m6ike_ipsec_strerror_(c), nullptr) << c;
    EXPECT_STREQ(m6ike_strerror(c), m6ike_ipsec_strerror_(c));
  }
  EXPECT_EQ(m6ike_ipsec_strerror_(-700), nullptr);
  EXPECT_EQ(m6ike_ipsec_strerror_(-729), nullptr);
  EXPECT_EQ(m6ike_ipsec_strerror_(-101), nullptr);
}

TEST(Ipsec, NewArguments) {
  m6ike_ipsec *x;
  EXPECT_EQ(m6ike_ipsec_new(nullptr, nullptr, nullptr),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_ipsec_config c;
  std::memset(&c, 0, sizeof(c));
  c.replay_window = 16;
  EXPECT_EQ(m6ike_ipsec_new(&x, &c, nullptr), M6IKE_ERR_IPSEC_REPLAY_WINDOW);
  c.replay_window = 4097;
  EXPECT_EQ(m6ike_ipsec_new(&x, &c, nullptr), M6IKE_ERR_IPSEC_REPLAY_WINDOW);
  c.replay_window = 0;
  c.spi_min = 5000;
  c.spi_max = 4000;
  EXPECT_EQ(m6ike_ipsec_new(&x, &c, nullptr), M6IKE_ERR_INVALID_ARGUMENT);
  ASSERT_EQ(m6ike_ipsec_new(&x, nullptr, nullptr), 0);
  // SPD-only object: no crypto for SAs.
  SaSpec s(kXforms[0], 0x1000, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  EXPECT_EQ(m6ike_ipsec_sa_add(x, &s.p, 0), M6IKE_ERR_IPSEC_NO_CRYPTO);
  m6ike_ipsec_del(x);
  m6ike_ipsec_del(nullptr);
}

// ---- SPD ------------------------------------------------------------------

TEST(IpsecSpd, PolicyValidation) {
  Node n;
  m6ike_ipsec_selector any;
  m6ike_ipsec_selector_any(&any);
  auto p = Simple(M6IKE_IPSEC_DIR_OUTBOUND, any, M6IKE_IPSEC_ACTION_BYPASS);
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, nullptr, nullptr),
            M6IKE_ERR_INVALID_ARGUMENT);
  auto bad = p;
  bad.sel.src_plen = 129;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &bad, nullptr),
            M6IKE_ERR_IPSEC_SELECTOR);
  bad = p;
  bad.sel.sport_lo = 10;
  bad.sel.sport_hi = 5;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &bad, nullptr),
            M6IKE_ERR_IPSEC_SELECTOR);
  bad = p; // ports need TCP/UDP/SCTP/ICMPv6
  bad.sel.dport_lo = bad.sel.dport_hi = 53;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &bad, nullptr),
            M6IKE_ERR_IPSEC_SELECTOR);
  bad = p; // MH types need MH
  bad.sel.mh_type_lo = bad.sel.mh_type_hi = 5;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &bad, nullptr),
            M6IKE_ERR_IPSEC_SELECTOR);
  bad = p;
  bad.dir = 9;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &bad, nullptr),
            M6IKE_ERR_IPSEC_SELECTOR);
  bad = p;
  bad.action = 9;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &bad, nullptr),
            M6IKE_ERR_IPSEC_ACTION);
  auto pr = Protect(M6IKE_IPSEC_DIR_OUTBOUND, any, M6IKE_IPSEC_MODE_TUNNEL, 1);
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &pr, nullptr), M6IKE_ERR_IPSEC_TUNNEL);
  pr = Protect(M6IKE_IPSEC_DIR_OUTBOUND, any, M6IKE_IPSEC_MODE_TRANSPORT, 1,
               kCoa1, kHa);
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &pr, nullptr), M6IKE_ERR_IPSEC_TUNNEL);
  pr.mode = 7;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &pr, nullptr), M6IKE_ERR_IPSEC_MODE);
  uint32_t id = 0;
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &p, &id), 0);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &p, nullptr), M6IKE_ERR_EXISTS);
  EXPECT_EQ(m6ike_ipsec_policy_count(n.x), 1u);
  // Same selector, other direction: a different policy.
  p.dir = M6IKE_IPSEC_DIR_INBOUND;
  EXPECT_EQ(m6ike_ipsec_policy_add(n.x, &p, nullptr), 0);
  EXPECT_EQ(m6ike_ipsec_policy_count(n.x), 2u);
}

TEST(IpsecSpd, OrderedLookupUpdateDelete) {
  Node n;
  // prio 50: UDP to port 53 DISCARD; prio 100: all UDP BYPASS; prio 100
  // added later: anything PROTECT (never reached for UDP).
  m6ike_ipsec_selector dns = Host(kCoa1, kCn, 17);
  dns.dst_plen = 0;
  dns.dport_lo = dns.dport_hi = 53;
  m6ike_ipsec_selector udp = Host(kCoa1, kCn, 17);
  m6ike_ipsec_selector any;
  m6ike_ipsec_selector_any(&any);
  uint32_t id_bypass, id_dns, id_any;
  auto bp = Simple(M6IKE_IPSEC_DIR_OUTBOUND, udp, M6IKE_IPSEC_ACTION_BYPASS);
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &bp, &id_bypass), 0);
  auto pa = Protect(M6IKE_IPSEC_DIR_OUTBOUND, any, M6IKE_IPSEC_MODE_TUNNEL, 9,
                    kCoa1, kHa, 100);
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &pa, &id_any), 0);
  auto dp =
      Simple(M6IKE_IPSEC_DIR_OUTBOUND, dns, M6IKE_IPSEC_ACTION_DISCARD, 50);
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &dp, &id_dns), 0);

  m6ike_ipsec_policy got;
  Bytes q = Udp(kCoa1, kCn, 1000, 53, 10);
  ASSERT_EQ(m6ike_ipsec_policy_lookup(n.x, M6IKE_IPSEC_DIR_OUTBOUND, q.data(),
                                      q.size(), &got),
            0);
  EXPECT_EQ(got.id, id_dns);
  Bytes u = Udp(kCoa1, kCn, 1000, 80, 10);
  ASSERT_EQ(m6ike_ipsec_policy_lookup(n.x, M6IKE_IPSEC_DIR_OUTBOUND, u.data(),
                                      u.size(), &got),
            0);
  EXPECT_EQ(got.id, id_bypass); // same priority: insertion order
  Bytes other = Udp(kCoa2, kCn, 1000, 80, 10);
  ASSERT_EQ(m6ike_ipsec_policy_lookup(n.x, M6IKE_IPSEC_DIR_OUTBOUND,
                                      other.data(), other.size(), &got),
            0);
  EXPECT_EQ(got.id, id_any);
  EXPECT_EQ(m6ike_ipsec_policy_lookup(n.x, M6IKE_IPSEC_DIR_INBOUND, u.data(),
                                      u.size(), &got),
            M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_ipsec_policy_lookup(n.x, M6IKE_IPSEC_DIR_OUTBOUND, u.data(),
                                      20, &got),
            M6IKE_ERR_IP6_TRUNCATED);

  // Update: raise the BYPASS policy's priority number past the PROTECT one.
  bp.priority = 200;
  uint32_t id2;
  ASSERT_EQ(m6ike_ipsec_policy_update(n.x, &bp, &id2), 0);
  EXPECT_EQ(id2, id_bypass);
  ASSERT_EQ(m6ike_ipsec_policy_lookup(n.x, M6IKE_IPSEC_DIR_OUTBOUND, u.data(),
                                      u.size(), &got),
            0);
  EXPECT_EQ(got.id, id_any);
  ASSERT_EQ(m6ike_ipsec_policy_find(n.x, M6IKE_IPSEC_DIR_OUTBOUND, &udp, &got),
            0);
  EXPECT_EQ(got.priority, 200u);
  // foreach in lookup order
  std::vector<uint32_t> ids;
  m6ike_ipsec_policy_foreach(
      n.x,
      [](const m6ike_ipsec_policy *p, void *ud) {
        static_cast<std::vector<uint32_t> *>(ud)->push_back(p->id);
        return 0;
      },
      &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{id_dns, id_any, id_bypass}));
  EXPECT_EQ(m6ike_ipsec_policy_delete(n.x, id_any), 0);
  EXPECT_EQ(m6ike_ipsec_policy_delete(n.x, id_any), M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_ipsec_policy_get(n.x, id_any, &got), M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_ipsec_policy_get(n.x, id_dns, &got), 0);
  m6ike_ipsec_policy_flush(n.x);
  EXPECT_EQ(m6ike_ipsec_policy_count(n.x), 0u);
}

// RFC 4877 §4.3: the MN protects BU (type 5) to the HA and expects BA
// (type 6) protected; other MH types (HoTI, BRR, ...) are bypassed.
TEST(IpsecSpd, MobilityHeaderTypeSelectors) {
  Node mn, ha;
  m6ike_ipsec_selector rest;
  m6ike_ipsec_selector_any(&rest);
  auto bu = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                    MhSel(kMnHoa, kHa, M6IKE_MH_BU),
                    M6IKE_IPSEC_MODE_TRANSPORT, 1, nullptr, nullptr, 10);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &bu, nullptr), 0);
  auto rest_p =
      Simple(M6IKE_IPSEC_DIR_OUTBOUND, rest, M6IKE_IPSEC_ACTION_BYPASS, 1000);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &rest_p, nullptr), 0);
  auto in_bu = Protect(M6IKE_IPSEC_DIR_INBOUND,
                       MhSel(kMnHoa, kHa, M6IKE_MH_BU),
                       M6IKE_IPSEC_MODE_TRANSPORT, 1, nullptr, nullptr, 10);
  ASSERT_EQ(m6ike_ipsec_policy_add(ha.x, &in_bu, nullptr), 0);

  SaSpec s(kXforms[0], 0x2001, kMnHoa, kHa, M6IKE_IPSEC_MODE_TRANSPORT, 1);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);

  Bytes out, back;
  // BU: protected (its effective source is the HoA in the HAO).
  Bytes bu_pkt = MnToHa(M6IKE_MH_BU);
  ASSERT_GT(mn.Out(bu_pkt, &out), 0);
  EXPECT_GT(out.size(), bu_pkt.size());
  ASSERT_EQ(ha.In(out, &back), static_cast<int>(bu_pkt.size()));
  EXPECT_EQ(back, bu_pkt);
  // HoTI (type 1) and BRR (type 0): bypass, unchanged.
  for (uint8_t t : {M6IKE_MH_HOTI, M6IKE_MH_BRR}) {
    Bytes other = MnToHa(t);
    ASSERT_EQ(mn.Out(other, &out), static_cast<int>(other.size()));
    EXPECT_EQ(out, other);
    // ... and the HA lets a plaintext HoTI in (no inbound policy for it),
    ASSERT_EQ(ha.In(other, &back), static_cast<int>(other.size()));
  }
  // ... but a plaintext BU violates its inbound PROTECT policy.
  EXPECT_EQ(ha.In(bu_pkt, &back), M6IKE_ERR_IPSEC_POLICY);
  EXPECT_EQ(ha.Stats().dropped_policy, 1u);
  EXPECT_EQ(mn.Stats().bypass_out, 2u);
  EXPECT_EQ(mn.Stats().packets_out, 1u);
}

TEST(IpsecSpd, BypassDiscardAcquire) {
  Node n(true);
  m6ike_ipsec_selector to_cn = Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY);
  m6ike_ipsec_selector to_ha = Host(kMnHoa, kHa, 17);
  m6ike_ipsec_selector any;
  m6ike_ipsec_selector_any(&any);
  auto dis =
      Simple(M6IKE_IPSEC_DIR_OUTBOUND, to_ha, M6IKE_IPSEC_ACTION_DISCARD, 5);
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &dis, nullptr), 0);
  uint32_t pid;
  auto pr = Protect(M6IKE_IPSEC_DIR_OUTBOUND, to_cn, M6IKE_IPSEC_MODE_TUNNEL,
                    42, kCoa1, kHa, 10);
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &pr, &pid), 0);
  Bytes out;
  // No policy: bypass (copied).
  Bytes free_pkt = Udp(kCoa1, kHa, 1, 2, 3);
  EXPECT_EQ(n.Out(free_pkt, &out), static_cast<int>(free_pkt.size()));
  EXPECT_EQ(out, free_pkt);
  // DISCARD
  EXPECT_EQ(n.Out(Udp(kMnHoa, kHa, 1, 2, 3), &out), M6IKE_ERR_IPSEC_DISCARD);
  // PROTECT, no SA:
  //   kernel -- ACQUIRE {SRC=CoA, DST=HA, X_POLICY, PROPOSAL} --> KM
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 3);
  EXPECT_EQ(n.Out(p, &out, 0), M6IKE_ERR_IPSEC_ACQUIRE);
  Bytes acq = n.Recv();
  ASSERT_FALSE(acq.empty());
  m6ike_pfkey_msg m = Decode(acq);
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_ACQUIRE);
  EXPECT_EQ(m.hdr.satype, M6IKE_SADB_SATYPE_ESP);
  EXPECT_FALSE(m6ike_pfkey_has(&m, M6IKE_SADB_X_EXT_M6IKE_REFERENCE));
  m6ike_pfkey_address a;
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_SRC, &a), 0);
  EXPECT_EQ(0, std::memcmp(a.sa.addr, Addr(kCoa1).b, 16));
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_DST, &a), 0);
  EXPECT_EQ(0, std::memcmp(a.sa.addr, Addr(kHa).b, 16));
  m6ike_pfkey_policy pol;
  ASSERT_EQ(m6ike_pfkey_get_policy(&m, &pol), 0);
  EXPECT_EQ(pol.id, pid);
  m6ike_pfkey_ipsecrequest r;
  ASSERT_EQ(m6ike_pfkey_policy_request(&pol, 0, &r), 0);
  EXPECT_EQ(r.reqid, 42u);
  EXPECT_EQ(r.mode, M6IKE_IPSEC_MODE_TUNNEL);
  m6ike_pfkey_prop prop;
  ASSERT_EQ(m6ike_pfkey_get_prop(&m, &prop), 0);
  EXPECT_EQ(prop.n_combs, 4u);
  // Held down: no second ACQUIRE within 30 s, one after.
  EXPECT_EQ(n.Out(p, &out, 29 * M6IKE_SECONDS), M6IKE_ERR_IPSEC_ACQUIRE);
  EXPECT_TRUE(n.Recv().empty());
  EXPECT_EQ(n.Out(p, &out, 30 * M6IKE_SECONDS), M6IKE_ERR_IPSEC_ACQUIRE);
  EXPECT_FALSE(n.Recv().empty());
  auto st = n.Stats();
  EXPECT_EQ(st.acquires, 2u);
  EXPECT_EQ(st.dropped_no_sa, 3u);
  EXPECT_EQ(st.dropped_policy, 1u);
  EXPECT_EQ(st.bypass_out, 1u);
  // Level USE: passes in the clear while there is no SA.
  pr.level = M6IKE_IPSEC_LEVEL_USE;
  ASSERT_EQ(m6ike_ipsec_policy_update(n.x, &pr, nullptr), 0);
  EXPECT_EQ(n.Out(p, &out, 31 * M6IKE_SECONDS), static_cast<int>(p.size()));
  // Small output buffer.
  Bytes small(10);
  EXPECT_EQ(m6ike_ipsec_output(n.x, free_pkt.data(), free_pkt.size(),
                               small.data(), small.size(), 0),
            M6IKE_ERR_NOBUF);
  // Fragments are refused.
  Bytes frag = Udp(kCoa1, kHa, 1, 2, 0);
  frag.resize(48);
  frag[6] = M6IKE_IPPROTO_FRAGMENT;
  frag[40] = 17;
  frag[4] = 0;
  frag[5] = 8;
  EXPECT_EQ(n.Out(frag, &out), M6IKE_ERR_IPSEC_FRAGMENT);
}

// ---- ESP ------------------------------------------------------------------

class EspXform : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

// MN -- ESP(transport|tunnel, transform, ESN?) --> HA, 20 packets of several
// sizes, and back the other way for tunnel mode.
TEST_P(EspXform, RoundTrip) {
  const Xform &xf = kXforms[std::get<0>(GetParam())];
  uint8_t mode = std::get<1>(GetParam()) ? M6IKE_IPSEC_MODE_TUNNEL
                                         : M6IKE_IPSEC_MODE_TRANSPORT;
  bool esn = std::get<2>(GetParam());
  Node mn, ha;
  const char *src = mode == M6IKE_IPSEC_MODE_TUNNEL ? kCoa1 : kMnHoa;
  SaSpec s(xf, 0x3000, src, kHa, mode, 7);
  s.p.esn = esn;
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
  m6ike_ipsec_selector sel = Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY);
  if (mode == M6IKE_IPSEC_MODE_TRANSPORT) sel = Host(kMnHoa, kHa, 17);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND, sel, mode, 7,
                     mode == M6IKE_IPSEC_MODE_TUNNEL ? kCoa1 : nullptr,
                     mode == M6IKE_IPSEC_MODE_TUNNEL ? kHa : nullptr);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  pol.dir = M6IKE_IPSEC_DIR_INBOUND;
  ASSERT_EQ(m6ike_ipsec_policy_add(ha.x, &pol, nullptr), 0);
  size_t total = 0;
  for (size_t i = 0; i < 20; i++) {
    size_t n = i * 37 % 300;
    Bytes p = Udp(kMnHoa, mode == M6IKE_IPSEC_MODE_TUNNEL ? kCn : kHa, 5000,
                  6000, n);
    Bytes out, back;
    int len = mn.Out(p, &out, i);
    ASSERT_GT(len, 0) << xf.name << " " << i;
    // size: headers + ESP header + IV + padded + ICV
    size_t body = mode == M6IKE_IPSEC_MODE_TUNNEL ? p.size() : p.size() - 40;
    size_t padded = (body + 2 + xf.block - 1) / xf.block * xf.block;
    EXPECT_EQ(out.size(), 40 + 8 + xf.iv + padded + xf.icv);
    EXPECT_EQ(out[6], M6IKE_IPPROTO_ESP);
    ASSERT_EQ(ha.In(out, &back, i), static_cast<int>(p.size()));
    EXPECT_EQ(back, p);
    total += p.size();
  }
  m6ike_ipsec_sa_info info;
  ASSERT_EQ(m6ike_ipsec_sa_get(mn.x, 0x3000, nullptr, &info), 0);
  EXPECT_EQ(info.seq_out, 20u);
  EXPECT_EQ(info.stats.packets, 20u);
  EXPECT_EQ(info.stats.bytes, total);
  ASSERT_EQ(m6ike_ipsec_sa_get(ha.x, 0x3000, nullptr, &info), 0);
  EXPECT_EQ(info.replay_top, 20u);
  EXPECT_EQ(ha.Stats().packets_in, 20u);
  EXPECT_EQ(ha.Stats().bytes_in, total);
  EXPECT_EQ(mn.Stats().packets_out, 20u);
}

INSTANTIATE_TEST_SUITE_P(
    All, EspXform,
    ::testing::Combine(::testing::Range(0, 5), ::testing::Values(0, 1),
                       ::testing::Values(0, 1)),
    [](const ::testing::TestParamInfo<std::tuple<int, int, int>> &i) {
      std::string n = kXforms[std::get<0>(i.param)].name;
      for (auto &c : n)
        if (c == '-') c = '_';
      return n + (std::get<1>(i.param) ? "_tunnel" : "_transport") +
             (std::get<2>(i.param) ? "_esn" : "");
    });

TEST(IpsecEsp, AlgorithmChecks) {
  Node n;
  SaSpec s(kXforms[3], 0x100, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  auto p = s.p;
  p.spi = 255; // reserved
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, nullptr, 0), M6IKE_ERR_INVALID_ARGUMENT);
  p = s.p;
  p.enc_key_len = 16;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_KEY_LENGTH);
  p = s.p;
  p.auth_key_len = 16;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_KEY_LENGTH);
  p = s.p;
  p.auth_alg = M6IKE_INTEG_NONE; // CBC without integrity
  p.auth_key_len = 0;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_ALGORITHM);
  p.enc_alg = M6IKE_ENCR_NULL; // NULL + NONE: RFC 4303 §3.2
  p.enc_key_len = 0;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_ALGORITHM);
  SaSpec g(kXforms[0], 0x100, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  p = g.p;
  p.auth_alg = M6IKE_INTEG_HMAC_SHA1_96; // GCM takes no separate integrity
  p.auth_key = s.ak.data();
  p.auth_key_len = 20;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_ALGORITHM);
  p = g.p;
  p.enc_key_len = 16; // salt missing
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_KEY_LENGTH);
  p = g.p;
  p.enc_alg = 99;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_ALGORITHM);
  p = g.p;
  p.auth_alg = 99;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_ALGORITHM);
  p = g.p;
  p.mode = 0;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_MODE);
  p = g.p;
  p.replay_window = 16;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_REPLAY_WINDOW);
  p.no_replay = 1; // window ignored
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), 0);
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_EXISTS);
  p = g.p;
  p.has_sel = 1;
  m6ike_ipsec_selector_any(&p.sel);
  p.sel.dst_plen = 200;
  p.spi = 0x101;
  EXPECT_EQ(m6ike_ipsec_sa_add(n.x, &p, 0), M6IKE_ERR_IPSEC_SELECTOR);
  EXPECT_EQ(m6ike_ipsec_sa_count(n.x), 1u);
}

// Hand-checked layout of one 3DES-CBC / HMAC-SHA1-96 tunnel packet
// (NULL backend: the "ciphertext" is the plaintext):
//   0   IPv6 header: payload length, NH 50, hop limit 64, CoA -> HA
//   40  SPI 0x00004000 | Seq 1
//   48  IV: 8 octets from the rand callback (a0 a1 ... a7)
//   56  inner IPv6 packet (40 + 8 + 5 = 53 octets)
//   109 padding 01 02 03 04 05 | pad length 5 | next header 41
//   (53 + 5 + 2 = 60 = 8 * 7.5? no: 53 + 2 = 55 -> 56, pad 1) -- see below
//   ICV: 12 octets over SPI .. next header
TEST(IpsecEsp, HandCheckedLayout) {
  Node mn;
  SaSpec s(kXforms[3], 0x4000, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 1, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 5, 0xb8); // 53 octets, DSCP EF
  Bytes out;
  ASSERT_GT(mn.Out(p, &out), 0);
  // 53 + pad + 2 must be a multiple of 8: pad = 1 (56).
  const size_t pad = 1, icv = 12, iv = 8;
  ASSERT_EQ(out.size(), 40 + 8 + iv + 53 + pad + 2 + icv);
  EXPECT_EQ(out[0], 0x6b); // version 6, traffic class 0xb8 copied
  EXPECT_EQ(out[1], 0x80);
  EXPECT_EQ(out[2], 0);
  EXPECT_EQ(out[3], 0);
  EXPECT_EQ((out[4] << 8 | out[5]), static_cast<int>(out.size() - 40));
  EXPECT_EQ(out[6], 50);
  EXPECT_EQ(out[7], 64);
  EXPECT_EQ(0, std::memcmp(&out[8], Addr(kCoa1).b, 16));
  EXPECT_EQ(0, std::memcmp(&out[24], Addr(kHa).b, 16));
  EXPECT_EQ(Bytes(out.begin() + 40, out.begin() + 56),
            Hex("00004000 00000001 a0a1a2a3a4a5a6a7"));
  EXPECT_EQ(Bytes(out.begin() + 56, out.begin() + 56 + 53), p);
  EXPECT_EQ(out[109], 1);   // padding 1
  EXPECT_EQ(out[110], pad); // pad length
  EXPECT_EQ(out[111], 41);  // next header: IPv6
  // ICV = integrity over SPI .. next header, truncated to 12.
  m6ike_crypto_integ *ic;
  ASSERT_EQ(m6ike_crypto_integ_new(&ic, m6ike_crypto_null(),
                                   M6IKE_INTEG_HMAC_SHA1_96, s.ak.data(),
                                   s.ak.size()),
            0);
  uint8_t want[12];
  ASSERT_EQ(m6ike_crypto_integ_compute(ic, &out[40], 112 - 40, want), 0);
  m6ike_crypto_integ_del(ic);
  EXPECT_EQ(Bytes(out.begin() + 112, out.end()), Bytes(want, want + 12));

  // AES-GCM: the IV is the 64-bit sequence number; 4-octet alignment.
  Node m2;
  SaSpec g(kXforms[0], 0x4001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  ASSERT_EQ(m6ike_ipsec_sa_add(m2.x, &g.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_policy_add(m2.x, &pol, nullptr), 0);
  ASSERT_GT(m2.Out(p, &out), 0);
  ASSERT_GT(m2.Out(p, &out), 0);
  EXPECT_EQ(Bytes(out.begin() + 40, out.begin() + 56),
            Hex("00004001 00000002 0000000000000002"));
  // 53 + 2 -> 56: one padding octet
  EXPECT_EQ(out.size(), 40 + 8 + 8 + 56 + 16u);
  EXPECT_EQ(out[56 + 53], 1);
  EXPECT_EQ(out[56 + 54], 1);
  EXPECT_EQ(out[56 + 55], 41);
}

// RFC 4877: BU = IPv6 | DstOpt(HAO) | ESP | MH; BA = IPv6 | RH2 | ESP | MH.
TEST(IpsecEsp, TransportKeepsHaoAndRh2Outside) {
  Node mn, ha;
  SaSpec up(kXforms[2], 0x5001, kMnHoa, kHa, M6IKE_IPSEC_MODE_TRANSPORT, 1);
  SaSpec down(kXforms[2], 0x5002, kHa, kMnHoa, M6IKE_IPSEC_MODE_TRANSPORT, 1);
  for (Node *n : {&mn, &ha}) {
    ASSERT_EQ(m6ike_ipsec_sa_add(n->x, &up.p, 0), 0);
    ASSERT_EQ(m6ike_ipsec_sa_add(n->x, &down.p, 0), 0);
  }
  auto p = Protect(M6IKE_IPSEC_DIR_OUTBOUND, MhSel(kMnHoa, kHa, M6IKE_MH_BU),
                   M6IKE_IPSEC_MODE_TRANSPORT, 1);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &p, nullptr), 0);
  p = Protect(M6IKE_IPSEC_DIR_OUTBOUND, MhSel(kHa, kMnHoa, M6IKE_MH_BA),
              M6IKE_IPSEC_MODE_TRANSPORT, 1);
  ASSERT_EQ(m6ike_ipsec_policy_add(ha.x, &p, nullptr), 0);

  Bytes bu = MnToHa(M6IKE_MH_BU), out, back;
  ASSERT_GT(mn.Out(bu, &out), 0);
  EXPECT_EQ(out[6], M6IKE_IPPROTO_DSTOPTS);
  EXPECT_EQ(out[40], M6IKE_IPPROTO_ESP); // DstOpt's next header
  EXPECT_EQ(Bytes(out.begin() + 40 + 2, out.begin() + 64),
            Bytes(bu.begin() + 40 + 2, bu.begin() + 64)); // HAO intact
  EXPECT_EQ(Bytes(out.begin() + 64, out.begin() + 68), Hex("00005001"));
  ASSERT_EQ(ha.In(out, &back), static_cast<int>(bu.size()));
  EXPECT_EQ(back, bu);
  m6ike_ip6_info info;
  m6ike_mh_msg msg;
  ASSERT_EQ(m6ike_mh_parse_packet(&info, &msg, back.data(), back.size()), 0);
  EXPECT_EQ(msg.type, M6IKE_MH_BU);

  Bytes ba = HaToMnBa();
  ASSERT_GT(ha.Out(ba, &out), 0);
  EXPECT_EQ(out[6], M6IKE_IPPROTO_ROUTING);
  EXPECT_EQ(out[40], M6IKE_IPPROTO_ESP);
  EXPECT_EQ(Bytes(out.begin() + 64, out.begin() + 68), Hex("00005002"));
  // The MN finds the SA by the final destination (the HoA in the RH2).
  ASSERT_EQ(mn.In(out, &back), static_cast<int>(ba.size()));
  EXPECT_EQ(back, ba);

  // A Destination Options header without HAO before the upper layer goes
  // inside ESP.
  Bytes plain = Udp(kMnHoa, kHa, 7, 8, 4);
  Bytes d(plain.begin(), plain.begin() + 40);
  d[6] = M6IKE_IPPROTO_DSTOPTS;
  Bytes opt = {17, 0, 1, 4, 0, 0, 0, 0}; // NH UDP, PadN(4)
  d.insert(d.end(), opt.begin(), opt.end());
  d.insert(d.end(), plain.begin() + 40, plain.end());
  d[5] = static_cast<uint8_t>(d.size() - 40);
  auto up2 = Protect(M6IKE_IPSEC_DIR_OUTBOUND, Host(kMnHoa, kHa, 17),
                     M6IKE_IPSEC_MODE_TRANSPORT, 1);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &up2, nullptr), 0);
  ASSERT_GT(mn.Out(d, &out), 0);
  EXPECT_EQ(out[6], M6IKE_IPPROTO_ESP);
  EXPECT_EQ(Bytes(out.begin() + 40, out.begin() + 44), Hex("00005001"));
  ASSERT_EQ(ha.In(out, &back), static_cast<int>(d.size()));
  EXPECT_EQ(back, d);
}

TEST(IpsecEsp, TunnelOuterInner) {
  Node mn, ha;
  SaSpec s(kXforms[0], 0x6001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 3);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
  auto p = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                   Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                   M6IKE_IPSEC_MODE_TUNNEL, 3, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &p, nullptr), 0);
  Bytes in = Udp(kMnHoa, kCn, 9, 9, 100), out, back;
  ASSERT_GT(mn.Out(in, &out), 0);
  EXPECT_EQ(0, std::memcmp(&out[8], Addr(kCoa1).b, 16));
  EXPECT_EQ(0, std::memcmp(&out[24], Addr(kHa).b, 16));
  EXPECT_EQ(out[6], M6IKE_IPPROTO_ESP);
  // NULL backend: inner packet visible after SPI, Seq, IV.
  EXPECT_EQ(Bytes(out.begin() + 56, out.begin() + 56 + in.size()), in);
  ASSERT_EQ(ha.In(out, &back), static_cast<int>(in.size()));
  EXPECT_EQ(back, in);
  // The HA's inbound tunnel policy must name the SA's endpoints and reqid.
  auto ip = Protect(M6IKE_IPSEC_DIR_INBOUND,
                    Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                    M6IKE_IPSEC_MODE_TUNNEL, 4, kCoa1, kHa);
  uint32_t id;
  ASSERT_EQ(m6ike_ipsec_policy_add(ha.x, &ip, &id), 0);
  ASSERT_GT(mn.Out(in, &out), 0);
  EXPECT_EQ(ha.In(out, &back), M6IKE_ERR_IPSEC_POLICY); // reqid 4 != 3
  ip.reqid = 3;
  ASSERT_EQ(m6ike_ipsec_policy_update(ha.x, &ip, nullptr), 0);
  ASSERT_GT(mn.Out(in, &out), 0);
  EXPECT_EQ(ha.In(out, &back), static_cast<int>(in.size()));
  // Unknown SPI: dropped, counted.
  out[40] ^= 0x80;
  EXPECT_EQ(ha.In(out, &back), M6IKE_ERR_IPSEC_NO_SA);
  EXPECT_EQ(ha.Stats().dropped_no_sa, 1u);
  EXPECT_EQ(ha.Stats().dropped_policy, 1u);
}

// A sender that writes any ESP packet for a NULL-encryption / HMAC-SHA256
// SA (the NULL backend makes encryption a copy for CBC transforms too).
struct Crafter {
  Bytes ak;
  uint32_t spi;
  m6ike_crypto_integ *ic = nullptr;
  Crafter(const Bytes &key, uint32_t s) : ak(key), spi(s) {
    EXPECT_EQ(m6ike_crypto_integ_new(&ic, m6ike_crypto_null(),
                                     M6IKE_INTEG_HMAC_SHA2_256_128, ak.data(),
                                     ak.size()),
              0);
  }
  ~Crafter() { m6ike_crypto_integ_del(ic); }
  // Tunnel packet CoA->HA carrying `inner` (or raw trailer control).
  Bytes Make(uint64_t seq, bool esn, const Bytes &inner, int padlen = -1,
             uint8_t nh = 41, bool bad_pad_byte = false) {
    size_t pl = padlen >= 0 ? static_cast<size_t>(padlen)
                            : (4 - (inner.size() + 2) % 4) % 4;
    Bytes p(40);
    p[0] = 0x60;
    p[6] = 50;
    p[7] = 64;
    std::memcpy(&p[8], Addr(kCoa1).b, 16);
    std::memcpy(&p[24], Addr(kHa).b, 16);
    Bytes esp = {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16),
                 static_cast<uint8_t>(spi >> 8), static_cast<uint8_t>(spi),
                 static_cast<uint8_t>(seq >> 24), static_cast<uint8_t>(seq >> 16),
                 static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq)};
    esp.insert(esp.end(), inner.begin(), inner.end());
    for (size_t i = 0; i < pl; i++) esp.push_back(static_cast<uint8_t>(i + 1));
    if (bad_pad_byte && pl) esp[esp.size() - 1] = 0xee;
    esp.push_back(static_cast<uint8_t>(pl));
    esp.push_back(nh);
    uint8_t hi[4] = {static_cast<uint8_t>(seq >> 56),
                     static_cast<uint8_t>(seq >> 48),
                     static_cast<uint8_t>(seq >> 40),
                     static_cast<uint8_t>(seq >> 32)};
    m6ike_crypto_chunk ch[2] = {{esp.data(), esp.size()}, {hi, 4}};
    uint8_t icv[16];
    EXPECT_EQ(m6ike_crypto_integ_computev(ic, ch, esn ? 2 : 1, icv), 0);
    esp.insert(esp.end(), icv, icv + 16);
    p.insert(p.end(), esp.begin(), esp.end());
    p[4] = static_cast<uint8_t>((p.size() - 40) >> 8);
    p[5] = static_cast<uint8_t>(p.size() - 40);
    return p;
  }
};

struct ReplayFix {
  Node ha{false, 64};
  SaSpec s{kXforms[4], 0x7001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1};
  Bytes inner = Udp(kMnHoa, kCn, 1, 2, 8);
  std::unique_ptr<Crafter> c;
  explicit ReplayFix(bool esn = false, uint32_t window = 0) {
    s.p.esn = esn;
    s.p.replay_window = window;
    EXPECT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
    c.reset(new Crafter(s.ak, 0x7001));
  }
  int In(uint64_t seq, bool esn = false) {
    Bytes out;
    return ha.In(c->Make(seq, esn, inner), &out);
  }
};

TEST(IpsecReplay, WindowEdges) {
  ReplayFix f; // window 64 (node default)
  const int ok = static_cast<int>(f.inner.size());
  EXPECT_EQ(f.In(0), M6IKE_ERR_IPSEC_REPLAY); // 0 is never valid
  EXPECT_EQ(f.In(100), ok);
  EXPECT_EQ(f.In(100), M6IKE_ERR_IPSEC_REPLAY); // duplicate
  EXPECT_EQ(f.In(37), ok);                      // 100 - 64 + 1: left edge
  EXPECT_EQ(f.In(36), M6IKE_ERR_IPSEC_REPLAY);  // left of the window
  EXPECT_EQ(f.In(99), ok);                      // out of order, inside
  EXPECT_EQ(f.In(99), M6IKE_ERR_IPSEC_REPLAY);
  EXPECT_EQ(f.In(164), ok); // slides by 64: 100 now at the left edge
  EXPECT_EQ(f.In(100), M6IKE_ERR_IPSEC_REPLAY);
  EXPECT_EQ(f.In(101), ok);
  EXPECT_EQ(f.In(1000), ok); // a jump past the whole bitmap clears it
  EXPECT_EQ(f.In(937), ok);
  EXPECT_EQ(f.In(936), M6IKE_ERR_IPSEC_REPLAY);
  auto st = f.ha.Stats();
  EXPECT_EQ(st.dropped_replay, 6u);
  EXPECT_EQ(st.packets_in, 7u);
  m6ike_ipsec_sa_info info;
  ASSERT_EQ(m6ike_ipsec_sa_get(f.ha.x, 0x7001, nullptr, &info), 0);
  EXPECT_EQ(info.stats.dropped_replay, 6u);
  EXPECT_EQ(info.replay_window, 64u);
  EXPECT_EQ(info.replay_top, 1000u);
}

TEST(IpsecReplay, LargeWindowAndDisabled) {
  ReplayFix f(false, 1000);
  const int ok = static_cast<int>(f.inner.size());
  EXPECT_EQ(f.In(2000), ok);
  EXPECT_EQ(f.In(1001), ok);
  EXPECT_EQ(f.In(1000), M6IKE_ERR_IPSEC_REPLAY);
  for (uint64_t s = 1002; s < 2000; s += 97) EXPECT_EQ(f.In(s), ok);
  for (uint64_t s = 1002; s < 2000; s += 97)
    EXPECT_EQ(f.In(s), M6IKE_ERR_IPSEC_REPLAY);

  Node n;
  SaSpec s(kXforms[4], 0x7002, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  s.p.no_replay = 1;
  ASSERT_EQ(m6ike_ipsec_sa_add(n.x, &s.p, 0), 0);
  Crafter c(s.ak, 0x7002);
  Bytes out, inner = Udp(kMnHoa, kCn, 1, 2, 8);
  EXPECT_EQ(n.In(c.Make(5, false, inner), &out), static_cast<int>(inner.size()));
  EXPECT_EQ(n.In(c.Make(5, false, inner), &out), static_cast<int>(inner.size()));
}

// RFC 4303 Appendix A2.2: the receiver infers the high 32 bits; they are
// part of the ICV.
TEST(IpsecReplay, EsnWrap) {
  ReplayFix f(true, 128);
  const int ok = static_cast<int>(f.inner.size());
  const uint64_t base = 0xfffffff0ull;
  EXPECT_EQ(f.In(base, true), ok);
  // low 5 < window bottom: inferred as the next sub-space (hi 1)
  EXPECT_EQ(f.In((1ull << 32) | 5, true), ok);
  // a packet whose ICV was made with hi 0 but low 6: receiver infers hi 1
  Bytes out;
  Bytes wrong = f.c->Make(6, true, f.inner);
  EXPECT_EQ(f.ha.In(wrong, &out), M6IKE_ERR_IPSEC_BAD_ICV);
  // window now spans two sub-spaces: low 0xfffffff8 -> hi 0, not seen yet
  EXPECT_EQ(f.In(0xfffffff8ull, true), ok);
  EXPECT_EQ(f.In(0xfffffff8ull, true), M6IKE_ERR_IPSEC_REPLAY);
  EXPECT_EQ(f.In(base, true), M6IKE_ERR_IPSEC_REPLAY);
  EXPECT_EQ(f.In((1ull << 32) | 5, true), M6IKE_ERR_IPSEC_REPLAY);
  // Far left of the window in sub-space 0: Appendix A2.2 infers the next
  // sub-space (1:ffff0000, right of the window), so it fails the ICV.
  EXPECT_EQ(f.In(0xffff0000ull, true), M6IKE_ERR_IPSEC_BAD_ICV);
  m6ike_ipsec_sa_info info;
  ASSERT_EQ(m6ike_ipsec_sa_get(f.ha.x, 0x7001, nullptr, &info), 0);
  EXPECT_EQ(info.replay_top, (1ull << 32) | 5);
  EXPECT_EQ(f.ha.Stats().dropped_icv, 2u);
  EXPECT_EQ(f.ha.Stats().dropped_replay, 3u);

  // Sender side: without ESN the counter stops at 2^32 - 1; with ESN it
  // goes on (and the receiver follows).
  Node mn, ha2;
  SaSpec s(kXforms[0], 0x7003, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  s.p.seq_out = 0xfffffffeull;
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 1, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  EXPECT_GT(mn.Out(f.inner, &out), 0);
  EXPECT_EQ(mn.Out(f.inner, &out), M6IKE_ERR_IPSEC_SEQ_OVERFLOW);
  EXPECT_EQ(mn.Stats().dropped_expired, 1u);
  ASSERT_EQ(m6ike_ipsec_sa_delete(mn.x, 0x7003, &s.p.dst), 0);
  s.p.esn = 1;
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  SaSpec r = s;
  r.p.seq_out = 0;
  r.p.enc_key = r.ek.data();
  ASSERT_EQ(m6ike_ipsec_sa_add(ha2.x, &r.p, 0), 0);
  for (int i = 0; i < 4; i++) {
    Bytes back;
    ASSERT_GT(mn.Out(f.inner, &out), 0) << i;
    EXPECT_EQ(ha2.In(out, &back), ok) << i;
  }
  ASSERT_EQ(m6ike_ipsec_sa_get(mn.x, 0x7003, nullptr, &info), 0);
  EXPECT_EQ(info.seq_out, 0x100000002ull);
  ASSERT_EQ(m6ike_ipsec_sa_get(ha2.x, 0x7003, nullptr, &info), 0);
  EXPECT_EQ(info.replay_top, 0x100000002ull);
}

TEST(IpsecEsp, BadIcvPaddingTrailer) {
  ReplayFix f;
  Bytes out;
  const int ok = static_cast<int>(f.inner.size());
  Bytes good = f.c->Make(1, false, f.inner);
  for (size_t i = 40; i < good.size(); i++) {
    if (i >= 40 && i < 44) continue; // SPI: another SA
    Bytes bad = good;
    bad[i] ^= 0x01;
    int rc = f.ha.In(bad, &out);
    EXPECT_TRUE(rc == M6IKE_ERR_IPSEC_BAD_ICV ||
                (i < 48 && rc == M6IKE_ERR_IPSEC_REPLAY))
        << i << " " << rc;
  }
  EXPECT_EQ(f.ha.In(good, &out), ok); // state untouched by the failures
  // Authentic but malformed trailers.
  EXPECT_EQ(f.ha.In(f.c->Make(2, false, f.inner, 6, 41, true), &out),
            M6IKE_ERR_IPSEC_BAD_PADDING);
  Bytes tiny = {1, 2}; // "inner packet" of 2 octets
  EXPECT_EQ(f.ha.In(f.c->Make(3, false, tiny, 0, 41), &out),
            M6IKE_ERR_IPSEC_NOT_IPV6);
  EXPECT_EQ(f.ha.In(f.c->Make(4, false, f.inner, -1, 59), &out),
            M6IKE_ERR_IPSEC_DUMMY);
  EXPECT_EQ(f.ha.In(f.c->Make(5, false, f.inner, -1, 17), &out),
            M6IKE_ERR_IPSEC_NEXT_HEADER);
  // ciphertext length not a multiple of 4
  EXPECT_EQ(f.ha.In(f.c->Make(6, false, f.inner, 1), &out),
            M6IKE_ERR_IPSEC_BAD_LENGTH);
  // inner packet followed by TFC padding (RFC 4303 §2.7): accepted
  Bytes tfc = f.inner;
  tfc.insert(tfc.end(), 10, 0);
  Bytes back;
  EXPECT_EQ(f.ha.In(f.c->Make(7, false, tfc), &back), ok);
  EXPECT_EQ(back, f.inner);
  auto st = f.ha.Stats();
  EXPECT_GE(st.dropped_icv, 30u);
  EXPECT_EQ(st.dummy_in, 1u);
  EXPECT_EQ(st.dropped_malformed, 4u);
}

TEST(IpsecEsp, PadLengthBeyondPayload) {
  ReplayFix f;
  Bytes out;
  // Two payload octets, then Pad Length rewritten to 200 and re-sealed.
  Bytes p = f.c->Make(1, false, Bytes{1, 2}, 0, 41);
  // Trailer is at [48 + 2], [48 + 3]; set pad length 200, re-seal.
  size_t esp = 40;
  p[esp + 8 + 2] = 200;
  Crafter &c = *f.c;
  m6ike_crypto_chunk ch = {&p[esp], p.size() - esp - 16};
  ASSERT_EQ(m6ike_crypto_integ_computev(c.ic, &ch, 1, &p[p.size() - 16]), 0);
  EXPECT_EQ(f.ha.In(p, &out), M6IKE_ERR_IPSEC_BAD_PADDING);
}

// Every prefix of a valid ESP packet: as received (walk errors) and with the
// IPv6 Payload Length fixed up to the prefix (ESP errors).  Nothing crashes,
// every drop is counted, the SA still works afterwards.
TEST(IpsecEsp, EveryPrefix) {
  for (const Xform &xf : kXforms) {
    Node mn, ha;
    SaSpec s(xf, 0x8001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
    ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
    ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
    auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                       Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                       M6IKE_IPSEC_MODE_TUNNEL, 1, kCoa1, kHa);
    ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
    Bytes in = Udp(kMnHoa, kCn, 1, 2, 33), pkt, back;
    ASSERT_GT(mn.Out(in, &pkt), 0);
    uint64_t drops = 0;
    EXPECT_EQ(m6ike_ipsec_input(ha.x, nullptr, 0, back.data(), 0, 0),
              M6IKE_ERR_INVALID_ARGUMENT); // not a drop
    back.resize(pkt.size() + 64);
    for (size_t n = 1; n < pkt.size(); n++) {
      Bytes p(pkt.begin(), pkt.begin() + n);
      int rc = ha.In(p, &back);
      EXPECT_LT(rc, 0) << n;
      drops++;
      if (n >= 40) {
        p[4] = static_cast<uint8_t>((n - 40) >> 8);
        p[5] = static_cast<uint8_t>(n - 40);
        rc = ha.In(p, &back);
        EXPECT_LT(rc, 0) << n;
        EXPECT_NE(rc, M6IKE_ERR_IPSEC_REPLAY) << n;
        drops++;
      }
    }
    auto st = ha.Stats();
    EXPECT_EQ(st.dropped_malformed + st.dropped_icv + st.dropped_no_sa +
                  st.dropped_replay + st.dummy_in,
              drops)
        << xf.name;
    EXPECT_EQ(st.packets_in, 0u);
    EXPECT_EQ(ha.In(pkt, &back), static_cast<int>(in.size())) << xf.name;
  }
}

TEST(IpsecEsp, InputArgumentsAndBuffers) {
  Node n;
  Bytes out(100), p = Udp(kCoa1, kHa, 1, 2, 3);
  EXPECT_EQ(m6ike_ipsec_input(nullptr, p.data(), p.size(), out.data(), 100, 0),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_ipsec_input(n.x, nullptr, 0, out.data(), 100, 0),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_ipsec_output(n.x, p.data(), p.size(), nullptr, 100, 0),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_ipsec_input(n.x, p.data(), p.size(), out.data(), 10, 0),
            M6IKE_ERR_NOBUF);
  // plaintext with an inbound DISCARD policy
  m6ike_ipsec_selector any;
  m6ike_ipsec_selector_any(&any);
  auto d = Simple(M6IKE_IPSEC_DIR_INBOUND, any, M6IKE_IPSEC_ACTION_DISCARD);
  ASSERT_EQ(m6ike_ipsec_policy_add(n.x, &d, nullptr), 0);
  EXPECT_EQ(m6ike_ipsec_input(n.x, p.data(), p.size(), out.data(), 100, 0),
            M6IKE_ERR_IPSEC_DISCARD);
}

// ---- lifetimes --------------------------------------------------------------

struct LifeFix {
  Node mn{true};
  SaSpec s{kXforms[0], 0x9001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 5};
  Bytes pkt = Udp(kMnHoa, kCn, 1, 2, 60); // 108 octets
  LifeFix() {
    auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                       Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                       M6IKE_IPSEC_MODE_TUNNEL, 5, kCoa1, kHa);
    EXPECT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  }
  // The next EXPIRE on the KM: 'S'oft, 'H'ard, or 0 if none.
  char NextExpire(uint32_t *spi = nullptr) {
    Bytes b = mn.Recv();
    if (b.empty()) return 0;
    m6ike_pfkey_msg m = Decode(b);
    EXPECT_EQ(m.hdr.type, M6IKE_SADB_EXPIRE);
    m6ike_pfkey_sa sa;
    EXPECT_EQ(m6ike_pfkey_get_sa(&m, &sa), 0);
    if (spi) *spi = sa.spi;
    EXPECT_TRUE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_LIFETIME_CURRENT));
    EXPECT_TRUE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_ADDRESS_SRC));
    EXPECT_TRUE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_ADDRESS_DST));
    bool h = m6ike_pfkey_has(&m, M6IKE_SADB_EXT_LIFETIME_HARD);
    bool so = m6ike_pfkey_has(&m, M6IKE_SADB_EXT_LIFETIME_SOFT);
    EXPECT_NE(h, so);
    return h ? 'H' : 'S';
  }
};

// kernel -- EXPIRE{soft} --> KM (SA DYING, still used)
// kernel -- EXPIRE{hard} --> KM (SA deleted)
TEST(IpsecLifetime, BytesSoftThenHard) {
  LifeFix f;
  f.s.p.soft.bytes = 250;
  f.s.p.hard.bytes = 400;
  ASSERT_EQ(m6ike_ipsec_sa_add(f.mn.x, &f.s.p, 0), 0);
  Bytes out;
  ASSERT_GT(f.mn.Out(f.pkt, &out), 0); // 108
  ASSERT_GT(f.mn.Out(f.pkt, &out), 0); // 216
  EXPECT_EQ(f.NextExpire(), 0);
  ASSERT_GT(f.mn.Out(f.pkt, &out), 0); // 324: soft
  uint32_t spi;
  EXPECT_EQ(f.NextExpire(&spi), 'S');
  EXPECT_EQ(spi, 0x9001u);
  m6ike_ipsec_sa_info info;
  ASSERT_EQ(m6ike_ipsec_sa_get(f.mn.x, 0x9001, nullptr, &info), 0);
  EXPECT_EQ(info.state, M6IKE_SADB_SASTATE_DYING);
  ASSERT_GT(f.mn.Out(f.pkt, &out), 0); // 432: hard, deleted after this one
  EXPECT_EQ(f.NextExpire(), 'H');
  EXPECT_EQ(f.NextExpire(), 0);
  EXPECT_EQ(m6ike_ipsec_sa_get(f.mn.x, 0x9001, nullptr, &info),
            M6IKE_ERR_NOT_FOUND);
  // Next packet: no SA -> ACQUIRE
  EXPECT_EQ(f.mn.Out(f.pkt, &out), M6IKE_ERR_IPSEC_ACQUIRE);
  auto st = f.mn.Stats();
  EXPECT_EQ(st.expires_soft, 1u);
  EXPECT_EQ(st.expires_hard, 1u);
}

TEST(IpsecLifetime, InboundHardLimitDrops) {
  Node mn, ha(true);
  SaSpec s(kXforms[0], 0x9002, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 5);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  s.p.hard.bytes = 100;
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 5, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 60), a, b, back;
  ASSERT_GT(mn.Out(p, &a), 0);
  ASSERT_GT(mn.Out(p, &b), 0);
  // 108 >= 100: this packet is delivered, then the SA dies (hard EXPIRE).
  EXPECT_EQ(ha.In(a, &back), static_cast<int>(p.size()));
  EXPECT_EQ(ha.In(b, &back), M6IKE_ERR_IPSEC_NO_SA);
  EXPECT_EQ(ha.Stats().expires_hard, 1u);
}

TEST(IpsecLifetime, TimesThroughHandleExpiry) {
  LifeFix f;
  const m6ike_tstamp t0 = 1000 * M6IKE_SECONDS;
  f.s.p.soft.addtime = 10;
  f.s.p.hard.addtime = 20;
  f.s.p.soft.usetime = 5;
  ASSERT_EQ(m6ike_ipsec_sa_add(f.mn.x, &f.s.p, t0), 0);
  EXPECT_EQ(m6ike_ipsec_get_expiry(f.mn.x), t0 + 10 * M6IKE_SECONDS);
  Bytes out;
  ASSERT_GT(f.mn.Out(f.pkt, &out, t0 + 2 * M6IKE_SECONDS), 0); // first use
  EXPECT_EQ(m6ike_ipsec_get_expiry(f.mn.x), t0 + 7 * M6IKE_SECONDS);
  EXPECT_EQ(m6ike_ipsec_handle_expiry(f.mn.x, t0 + 6 * M6IKE_SECONDS), 0);
  EXPECT_EQ(f.NextExpire(), 0);
  EXPECT_EQ(m6ike_ipsec_handle_expiry(f.mn.x, t0 + 7 * M6IKE_SECONDS), 1);
  EXPECT_EQ(f.NextExpire(), 'S');
  EXPECT_EQ(m6ike_ipsec_handle_expiry(f.mn.x, t0 + 15 * M6IKE_SECONDS), 0);
  EXPECT_EQ(m6ike_ipsec_get_expiry(f.mn.x), t0 + 20 * M6IKE_SECONDS);
  EXPECT_EQ(m6ike_ipsec_handle_expiry(f.mn.x, t0 + 20 * M6IKE_SECONDS), 1);
  EXPECT_EQ(f.NextExpire(), 'H');
  EXPECT_EQ(m6ike_ipsec_sa_count(f.mn.x), 0u);
  EXPECT_EQ(m6ike_ipsec_get_expiry(f.mn.x), M6IKE_TSTAMP_UNSET);
  EXPECT_EQ(m6ike_ipsec_handle_expiry(nullptr, 0), M6IKE_ERR_INVALID_ARGUMENT);
}

// ---- PF_KEY ----------------------------------------------------------------

m6ike_pfkey_sockaddr SA6(const char *t, uint16_t port = 0) {
  m6ike_addr6 a = Addr(t);
  return m6ike_pfkey_sockaddr6(&a, port);
}

Bytes GetspiMsg(uint32_t lo, uint32_t hi, uint32_t reqid, uint32_t seq = 9) {
  Bytes b(256);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), M6IKE_SADB_GETSPI,
                            M6IKE_SADB_SATYPE_ESP, seq, 0);
  auto s = SA6(kHa), d = SA6(kCoa1);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &s);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &d);
  m6ike_pfkey_add_spirange(&bl, lo, hi);
  m6ike_pfkey_add_sa2(&bl, M6IKE_IPSEC_MODE_TUNNEL, 0, reqid);
  b.resize(m6ike_pfkey_builder_finish(&bl));
  return b;
}

// UPDATE/ADD for an AES-GCM-128 (or given) tunnel SA HA -> CoA.
Bytes SaMsg(uint8_t type, uint32_t spi, uint8_t ealg = 20, uint8_t aalg = 0,
            size_t ekey = 20, size_t akey = 0, uint8_t satype = 3,
            const char *src = kHa, const char *dst = kCoa1,
            uint64_t soft_bytes = 0) {
  Bytes b(512);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), type, satype, 10, 0);
  m6ike_pfkey_sa sa = {spi, 32, M6IKE_SADB_SASTATE_MATURE, aalg, ealg, 0};
  m6ike_pfkey_add_sa(&bl, &sa);
  if (soft_bytes) {
    m6ike_pfkey_lifetime lt = {0, soft_bytes, 0, 0};
    m6ike_pfkey_add_lifetime(&bl, M6IKE_SADB_EXT_LIFETIME_SOFT, &lt);
  }
  auto s = SA6(src), d = SA6(dst);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &s);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &d);
  Bytes ek = Key(ekey, 0x10), ak = Key(akey, 0x40);
  if (akey) m6ike_pfkey_add_key(&bl, M6IKE_SADB_EXT_KEY_AUTH, akey * 8, ak.data());
  if (ekey) m6ike_pfkey_add_key(&bl, M6IKE_SADB_EXT_KEY_ENCRYPT, ekey * 8, ek.data());
  m6ike_pfkey_add_sa2(&bl, M6IKE_IPSEC_MODE_TUNNEL, 0, 77);
  int n = m6ike_pfkey_builder_finish(&bl);
  EXPECT_GT(n, 0);
  b.resize(n > 0 ? n : 0);
  return b;
}

Bytes SaKeyMsg(uint8_t type, uint32_t spi, const char *dst = kCoa1) {
  Bytes b(256);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), type,
                            M6IKE_SADB_SATYPE_ESP, 11, 0);
  m6ike_pfkey_sa sa = {spi, 0, 0, 0, 0, 0};
  m6ike_pfkey_add_sa(&bl, &sa);
  auto s = SA6(kHa), d = SA6(dst);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &s);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &d);
  b.resize(m6ike_pfkey_builder_finish(&bl));
  return b;
}

uint8_t ErrnoOf(const Bytes &reply) {
  return reply.size() >= 16 ? reply[2] : 0xff;
}

// KM -- GETSPI{range, SA2(tunnel, reqid 77)} --> kernel
// kernel -- GETSPI{SA(spi, LARVAL)} --> KM
// KM -- UPDATE{SA(spi), keys} --> kernel;  kernel -- UPDATE --> KM
// KM -- ADD / GET / DUMP / DELETE / FLUSH --> kernel
TEST(IpsecPfkey, SaManagement) {
  Node n(true);
  ASSERT_EQ(n.Send(GetspiMsg(0x1000, 0x1fff, 77)), 1);
  m6ike_pfkey_msg m;
  Bytes r = n.Recv();
  m = Decode(r);
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_GETSPI);
  EXPECT_EQ(m.hdr.seq, 9u);
  m6ike_pfkey_sa sa;
  ASSERT_EQ(m6ike_pfkey_get_sa(&m, &sa), 0);
  EXPECT_GE(sa.spi, 0x1000u);
  EXPECT_LE(sa.spi, 0x1fffu);
  EXPECT_EQ(sa.state, M6IKE_SADB_SASTATE_LARVAL);
  uint32_t spi = sa.spi;
  m6ike_ipsec_sa_info info;
  ASSERT_EQ(m6ike_ipsec_sa_get(n.x, spi, nullptr, &info), 0);
  EXPECT_EQ(info.state, M6IKE_SADB_SASTATE_LARVAL);
  EXPECT_EQ(info.reqid, 77u);
  EXPECT_EQ(info.mode, M6IKE_IPSEC_MODE_TUNNEL);
  // Larval SAs take no traffic and print no Wireshark line.
  char line[8];
  m6ike_addr6 coa = Addr(kCoa1);
  EXPECT_EQ(m6ike_ipsec_sa_format_wireshark(n.x, spi, &coa, line, 8),
            M6IKE_ERR_IPSEC_LARVAL);
  // UPDATE: mature
  ASSERT_EQ(n.Send(SaMsg(M6IKE_SADB_UPDATE, spi)), 1);
  m = Decode(r = n.Recv());
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_UPDATE);
  EXPECT_FALSE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_KEY_ENCRYPT));
  ASSERT_EQ(m6ike_ipsec_sa_get(n.x, spi, nullptr, &info), 0);
  EXPECT_EQ(info.state, M6IKE_SADB_SASTATE_MATURE);
  EXPECT_EQ(info.enc_alg, M6IKE_ENCR_AES_GCM_16);
  EXPECT_EQ(info.replay_window, 128u); // max(32, the default)
  // UPDATE of an unknown SA: ESRCH
  EXPECT_EQ(n.Send(SaMsg(M6IKE_SADB_UPDATE, 0x5555)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 3);
  // ADD a 3DES/SHA1 SA; twice: EEXIST
  ASSERT_EQ(n.Send(SaMsg(M6IKE_SADB_ADD, 0x6000, 3, 3, 24, 20)), 1);
  n.Recv();
  EXPECT_EQ(n.Send(SaMsg(M6IKE_SADB_ADD, 0x6000, 3, 3, 24, 20)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 17);
  // bad algorithm / key / satype
  EXPECT_EQ(n.Send(SaMsg(M6IKE_SADB_ADD, 0x6001, 3, 9, 24, 20)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 22);
  EXPECT_EQ(n.Send(SaMsg(M6IKE_SADB_ADD, 0x6001, 3, 3, 16, 20)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 22);
  EXPECT_EQ(n.Send(SaMsg(M6IKE_SADB_ADD, 0x6001, 3, 3, 24, 20,
                         M6IKE_SADB_SATYPE_AH)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 95);
  // GET: keys included
  ASSERT_EQ(n.Send(SaKeyMsg(M6IKE_SADB_GET, 0x6000)), 1);
  m = Decode(r = n.Recv());
  m6ike_pfkey_key k;
  ASSERT_EQ(m6ike_pfkey_get_key(&m, M6IKE_SADB_EXT_KEY_ENCRYPT, &k), 0);
  EXPECT_EQ(k.bits, 192);
  EXPECT_EQ(Bytes(k.data, k.data + 24), Key(24, 0x10));
  ASSERT_EQ(m6ike_pfkey_get_key(&m, M6IKE_SADB_EXT_KEY_AUTH, &k), 0);
  EXPECT_EQ(k.bits, 160);
  m6ike_pfkey_sa2 sa2;
  ASSERT_EQ(m6ike_pfkey_get_sa2(&m, &sa2), 0);
  EXPECT_EQ(sa2.reqid, 77u);
  ASSERT_EQ(m6ike_pfkey_get_sa(&m, &sa), 0);
  EXPECT_EQ(sa.auth, M6IKE_SADB_AALG_SHA1HMAC);
  EXPECT_EQ(sa.encrypt, M6IKE_SADB_EALG_3DESCBC);
  EXPECT_EQ(n.Send(SaKeyMsg(M6IKE_SADB_GET, 0x6000, kCoa2)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 3);
  // DUMP: two messages, seq 1 then 0
  ASSERT_EQ(n.Send(Node::Hdr(M6IKE_SADB_DUMP, M6IKE_SADB_SATYPE_ESP, 3)), 2);
  std::vector<uint32_t> seqs;
  for (int i = 0; i < 2; i++) {
    m = Decode(r = n.Recv());
    EXPECT_EQ(m.hdr.type, M6IKE_SADB_DUMP);
    seqs.push_back(m.hdr.seq);
  }
  EXPECT_EQ(seqs, (std::vector<uint32_t>{1, 0}));
  // DELETE
  ASSERT_EQ(n.Send(SaKeyMsg(M6IKE_SADB_DELETE, 0x6000)), 1);
  m = Decode(r = n.Recv());
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_DELETE);
  EXPECT_EQ(m6ike_ipsec_sa_count(n.x), 1u);
  EXPECT_EQ(n.Send(SaKeyMsg(M6IKE_SADB_DELETE, 0x6000)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 3);
  // FLUSH, then DUMP: ENOENT
  ASSERT_EQ(n.Send(Node::Hdr(M6IKE_SADB_FLUSH, M6IKE_SADB_SATYPE_UNSPEC, 4)),
            1);
  n.Recv();
  EXPECT_EQ(m6ike_ipsec_sa_count(n.x), 0u);
  EXPECT_EQ(n.Send(Node::Hdr(M6IKE_SADB_DUMP, M6IKE_SADB_SATYPE_ESP, 3)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 2);
  // GETSPI with a one-SPI range that is taken: ENOENT
  ASSERT_EQ(n.Send(GetspiMsg(0x3000, 0x3000, 1)), 1);
  n.Recv();
  EXPECT_EQ(n.Send(GetspiMsg(0x3000, 0x3000, 1)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 2);
  // ... and the random callback failing: EAGAIN
  n.rng.fail = true;
  EXPECT_EQ(n.Send(GetspiMsg(0x3000, 0x4000, 1)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 11);
  n.rng.fail = false;
  // Larval SAs die after larval_timeout (30 s), without EXPIRE.
  EXPECT_EQ(m6ike_ipsec_get_expiry(n.x), 30 * M6IKE_SECONDS);
  EXPECT_EQ(m6ike_ipsec_handle_expiry(n.x, 30 * M6IKE_SECONDS), 0);
  EXPECT_EQ(m6ike_ipsec_sa_count(n.x), 0u);
  EXPECT_TRUE(n.Recv().empty());
}

// The SA installed through PF_KEY carries traffic, and its soft byte
// lifetime comes back as an EXPIRE.
TEST(IpsecPfkey, InstalledSaCarriesTraffic) {
  Node ha(true), mn;
  ASSERT_EQ(ha.Send(SaMsg(M6IKE_SADB_ADD, 0x6100, 20, 0, 20, 0, 3, kHa, kCoa1,
                          100)),
            1);
  ha.Recv();
  SaSpec s(kXforms[0], 0x6100, kHa, kCoa1, M6IKE_IPSEC_MODE_TUNNEL, 77);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kCn, kMnHoa, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 77, kHa, kCoa1);
  ASSERT_EQ(m6ike_ipsec_policy_add(ha.x, &pol, nullptr), 0);
  Bytes p = Udp(kCn, kMnHoa, 1, 2, 100), out, back;
  ASSERT_GT(ha.Out(p, &out), 0);
  ASSERT_EQ(mn.In(out, &back), static_cast<int>(p.size()));
  EXPECT_EQ(back, p);
  Bytes keep1 = ha.Recv();
  m6ike_pfkey_msg m = Decode(keep1);
  EXPECT_EQ(m.hdr.type, M6IKE_SADB_EXPIRE);
  EXPECT_TRUE(m6ike_pfkey_has(&m, M6IKE_SADB_EXT_LIFETIME_SOFT));
}

Bytes SpdMsg(uint8_t type, uint8_t dir, uint16_t ptype, uint8_t proto,
             uint16_t sport, const char *tsrc, const char *tdst,
             uint32_t id = 0, uint32_t reqid = 5, uint8_t mode = 2,
             uint16_t req_proto = 50) {
  Bytes b(512);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), type, 0, 12, 0);
  auto s = SA6(kMnHoa, sport), d = SA6(kHa);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_SRC, proto, 128, &s);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_DST, proto, 128, &d);
  m6ike_pfkey_add_policy(&bl, ptype, dir, id, 1000);
  if (ptype == M6IKE_IPSEC_POLICY_IPSEC) {
    auto ts = SA6(tsrc ? tsrc : "::"), td = SA6(tdst ? tdst : "::");
    m6ike_pfkey_add_ipsecrequest(&bl, req_proto, mode,
                                 M6IKE_IPSEC_LEVEL_REQUIRE, reqid,
                                 tsrc ? &ts : nullptr, tdst ? &td : nullptr);
  }
  b.resize(m6ike_pfkey_builder_finish(&bl));
  return b;
}

Bytes PolicyIdMsg(uint8_t type, uint32_t id) {
  Bytes b(64);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), type, 0, 13, 0);
  m6ike_pfkey_add_policy(&bl, M6IKE_IPSEC_POLICY_IPSEC,
                         M6IKE_IPSEC_DIR_OUTBOUND, id, 0);
  b.resize(m6ike_pfkey_builder_finish(&bl));
  return b;
}

// KM -- X_SPDADD / X_SPDUPDATE / X_SPDGET / X_SPDDUMP / X_SPDDELETE(2) /
//       X_SPDFLUSH --> kernel
TEST(IpsecPfkey, SpdManagement) {
  Node n(true);
  // out: MH BU (sport = MH type 5) from HoA to HA, transport, reqid 5
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_OUTBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 135, 5, nullptr, nullptr,
                          0, 5, M6IKE_IPSEC_MODE_TRANSPORT)),
            1);
  Bytes keep2 = n.Recv();
  m6ike_pfkey_msg m = Decode(keep2);
  m6ike_pfkey_policy pol;
  ASSERT_EQ(m6ike_pfkey_get_policy(&m, &pol), 0);
  uint32_t id = pol.id;
  EXPECT_NE(id, 0u);
  m6ike_ipsec_policy p;
  ASSERT_EQ(m6ike_ipsec_policy_get(n.x, id, &p), 0);
  EXPECT_EQ(p.sel.proto, M6IKE_IPPROTO_MH);
  EXPECT_EQ(p.sel.mh_type_lo, 5);
  EXPECT_EQ(p.sel.mh_type_hi, 5);
  EXPECT_EQ(p.action, M6IKE_IPSEC_ACTION_PROTECT);
  EXPECT_EQ(p.reqid, 5u);
  // Outbound BU now needs an SA: ACQUIRE; a HoTI passes.
  Bytes out;
  m6ike_ipsec_selector rest;
  m6ike_ipsec_selector_any(&rest);
  EXPECT_EQ(n.Out(MnToHa(M6IKE_MH_BU), &out), M6IKE_ERR_IPSEC_ACQUIRE);
  EXPECT_EQ(Decode(n.Recv()).hdr.type, M6IKE_SADB_ACQUIRE);
  EXPECT_GT(n.Out(MnToHa(M6IKE_MH_HOTI), &out), 0);
  // SPDADD again: EEXIST; SPDUPDATE: same id, tunnel now
  EXPECT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_OUTBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 135, 5, nullptr, nullptr,
                          0, 5, M6IKE_IPSEC_MODE_TRANSPORT)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 17);
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDUPDATE, M6IKE_IPSEC_DIR_OUTBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 135, 5, kCoa1, kHa)),
            1);
  n.Recv();
  ASSERT_EQ(m6ike_ipsec_policy_get(n.x, id, &p), 0);
  EXPECT_EQ(p.mode, M6IKE_IPSEC_MODE_TUNNEL);
  EXPECT_TRUE(m6ike_addr6_equal(&p.tun_src, AddrP(kCoa1)));
  // In: DISCARD any; fwd: NONE (bypass)
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_INBOUND,
                          M6IKE_IPSEC_POLICY_DISCARD, 255, 0, nullptr,
                          nullptr)),
            1);
  n.Recv();
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_FWD,
                          M6IKE_IPSEC_POLICY_NONE, 255, 0, nullptr, nullptr)),
            1);
  n.Recv();
  EXPECT_EQ(m6ike_ipsec_policy_count(n.x), 3u);
  // Unsupported: AH request, ENTRUST, bad direction
  EXPECT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_INBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 17, 0, kCoa1, kHa, 0, 5,
                          2, 51)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 95);
  EXPECT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_INBOUND,
                          M6IKE_IPSEC_POLICY_ENTRUST, 17, 0, nullptr,
                          nullptr)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 95);
  EXPECT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, 7, M6IKE_IPSEC_POLICY_NONE, 17,
                          0, nullptr, nullptr)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 22);
  // SPDGET by id
  ASSERT_EQ(n.Send(PolicyIdMsg(M6IKE_SADB_X_SPDGET, id)), 1);
  Bytes keep3 = n.Recv();
  m = Decode(keep3);
  ASSERT_EQ(m6ike_pfkey_get_policy(&m, &pol), 0);
  EXPECT_EQ(pol.id, id);
  EXPECT_EQ(pol.dir, M6IKE_IPSEC_DIR_OUTBOUND);
  m6ike_pfkey_ipsecrequest rq;
  ASSERT_EQ(m6ike_pfkey_policy_request(&pol, 0, &rq), 0);
  EXPECT_TRUE(rq.has_addrs);
  m6ike_pfkey_address a;
  ASSERT_EQ(m6ike_pfkey_get_address(&m, M6IKE_SADB_EXT_ADDRESS_SRC, &a), 0);
  EXPECT_EQ(a.proto, 135);
  EXPECT_EQ(a.sa.port, 5); // the MH type
  EXPECT_EQ(n.Send(PolicyIdMsg(M6IKE_SADB_X_SPDGET, 999)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 2);
  // SPDDUMP: 3 messages, seq 2, 1, 0
  ASSERT_EQ(n.Send(Node::Hdr(M6IKE_SADB_X_SPDDUMP, 0, 1)), 3);
  for (uint32_t want : {2u, 1u, 0u}) EXPECT_EQ(Decode(n.Recv()).hdr.seq, want);
  // SPDDELETE by selector, SPDDELETE2 by id
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDDELETE, M6IKE_IPSEC_DIR_INBOUND,
                          M6IKE_IPSEC_POLICY_DISCARD, 255, 0, nullptr,
                          nullptr)),
            1);
  n.Recv();
  EXPECT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDDELETE, M6IKE_IPSEC_DIR_INBOUND,
                          M6IKE_IPSEC_POLICY_DISCARD, 255, 0, nullptr,
                          nullptr)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 2);
  ASSERT_EQ(n.Send(PolicyIdMsg(M6IKE_SADB_X_SPDDELETE2, id)), 1);
  n.Recv();
  EXPECT_EQ(m6ike_ipsec_policy_count(n.x), 1u);
  ASSERT_EQ(n.Send(Node::Hdr(M6IKE_SADB_X_SPDFLUSH, 0, 1)), 1);
  n.Recv();
  EXPECT_EQ(m6ike_ipsec_policy_count(n.x), 0u);
  EXPECT_EQ(n.Send(Node::Hdr(M6IKE_SADB_X_SPDDUMP, 0, 1)),
            M6IKE_ERR_PFKEY_BUS_HANDLER);
  EXPECT_EQ(ErrnoOf(n.Recv()), 2);
}

// Seed 003: the MN moves from CoA1 to CoA2.
// MIPv6 -- X_MIGRATE{sel HoA->HA, (CoA1,HA)->(CoA2,HA) tunnel [, KMADDRESS]}
//       --> kernel (policy + SAs updated) --> broadcast to KMs
Bytes MigrateMsg(uint8_t dir, const char *os, const char *od, const char *ns,
                 const char *nd, bool kmaddress, uint8_t proto = 255) {
  Bytes b(512);
  m6ike_pfkey_builder bl;
  m6ike_pfkey_builder_begin(&bl, b.data(), b.size(), M6IKE_SADB_X_MIGRATE, 0,
                            20, 0);
  auto s = SA6(kMnHoa), d = SA6(kCn);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_SRC, proto, 128, &s);
  m6ike_pfkey_add_address(&bl, M6IKE_SADB_EXT_ADDRESS_DST, proto, 128, &d);
  if (kmaddress) {
    auto l = SA6(ns), r = SA6(nd);
    m6ike_pfkey_add_kmaddress(&bl, &l, &r);
  }
  m6ike_pfkey_add_policy(&bl, M6IKE_IPSEC_POLICY_IPSEC, dir, 0, 0);
  auto a = SA6(os), bb = SA6(od), c = SA6(ns), e = SA6(nd);
  m6ike_pfkey_add_ipsecrequest(&bl, 50, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, 0, &a, &bb);
  m6ike_pfkey_add_ipsecrequest(&bl, 50, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, 0, &c, &e);
  b.resize(m6ike_pfkey_builder_finish(&bl));
  return b;
}

// The mobility side over its own endpoint, with the ipsec unit as the
// kernel (issue 5's split: the MIPv6 daemon moves its tunnel policy itself,
// never touches keys):
// MIPv6 -- X_SPDADD(out HoA -> HA, tunnel CoA1 -> HA) --> kernel  ok
// MIPv6 -- X_SPDUPDATE(same selector, tunnel CoA2 -> HA) --> kernel  ok
// MIPv6 -- ADD{SA, keys} --> kernel  refused EPERM, the SAD unchanged
// MIPv6 -- X_SPDDELETE --> kernel  ok
TEST(IpsecPfkey, MobilityEndpointMovesPoliciesButCannotAddKeys) {
  Node n(true);
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDADD, M6IKE_IPSEC_DIR_OUTBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 255, 0, kCoa1, kHa),
                   n.mob),
            1);
  Bytes reply = n.Recv(n.mob);  // the decoded message points into it
  m6ike_pfkey_msg m = Decode(reply);
  m6ike_pfkey_policy pol;
  ASSERT_EQ(m6ike_pfkey_get_policy(&m, &pol), 0);
  m6ike_ipsec_policy p;
  ASSERT_EQ(m6ike_ipsec_policy_get(n.x, pol.id, &p), 0);
  EXPECT_TRUE(m6ike_addr6_equal(&p.tun_src, AddrP(kCoa1)));
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDUPDATE, M6IKE_IPSEC_DIR_OUTBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 255, 0, kCoa2, kHa),
                   n.mob),
            1);
  n.Recv(n.mob);
  ASSERT_EQ(m6ike_ipsec_policy_get(n.x, pol.id, &p), 0);
  EXPECT_TRUE(m6ike_addr6_equal(&p.tun_src, AddrP(kCoa2)));
  // a key operation from the mobility side never reaches the SAD
  size_t sas = m6ike_ipsec_sa_count(n.x);
  EXPECT_EQ(n.Send(SaMsg(M6IKE_SADB_ADD, 0x7100), n.mob),
            M6IKE_ERR_PFKEY_BUS_ROLE);
  EXPECT_EQ(ErrnoOf(n.Recv(n.mob)), M6IKE_PFKEY_EPERM);
  EXPECT_EQ(n.Send(GetspiMsg(0x100, 0x1000, 9), n.mob),
            M6IKE_ERR_PFKEY_BUS_ROLE);
  EXPECT_EQ(ErrnoOf(n.Recv(n.mob)), M6IKE_PFKEY_EPERM);
  EXPECT_EQ(sas, m6ike_ipsec_sa_count(n.x));
  m6ike_addr6 coa1 = Addr(kCoa1);
  m6ike_ipsec_sa_info info;
  EXPECT_NE(0, m6ike_ipsec_sa_get(n.x, 0x7100, &coa1, &info));
  ASSERT_EQ(n.Send(SpdMsg(M6IKE_SADB_X_SPDDELETE, M6IKE_IPSEC_DIR_OUTBOUND,
                          M6IKE_IPSEC_POLICY_IPSEC, 255, 0, kCoa2, kHa),
                   n.mob),
            1);
  n.Recv(n.mob);
  EXPECT_NE(0, m6ike_ipsec_policy_get(n.x, pol.id, &p));
}

TEST(IpsecPfkey, MigrateUpdatesSpdAndSad) {
  for (bool kma : {false, true}) {
    Node mn(true), ha;
    SaSpec s(kXforms[0], 0xa001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 9);
    ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
    ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
    uint32_t id;
    auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                       Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                       M6IKE_IPSEC_MODE_TUNNEL, 9, kCoa1, kHa);
    ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, &id), 0);
    Bytes p = Udp(kMnHoa, kCn, 1, 2, 10), out, back;
    for (int i = 0; i < 3; i++) {
      ASSERT_GT(mn.Out(p, &out), 0);
      ASSERT_GT(ha.In(out, &back), 0);
    }
    // Wrong selector: ENOENT, nothing moves.
    EXPECT_EQ(mn.Send(MigrateMsg(M6IKE_IPSEC_DIR_OUTBOUND, kCoa1, kHa, kCoa2,
                                 kHa, kma, 17),
                      mn.mob),
              M6IKE_ERR_PFKEY_BUS_HANDLER);
    EXPECT_EQ(ErrnoOf(mn.Recv(mn.mob)), 2);
    // The real one: KMs get the broadcast.
    ASSERT_EQ(mn.Send(MigrateMsg(M6IKE_IPSEC_DIR_OUTBOUND, kCoa1, kHa, kCoa2,
                                 kHa, kma),
                      mn.mob),
              1);
    Bytes keep4 = mn.Recv();
    m6ike_pfkey_msg m = Decode(keep4);
    EXPECT_EQ(m.hdr.type, M6IKE_SADB_X_MIGRATE);
    EXPECT_EQ(m6ike_pfkey_has(&m, M6IKE_SADB_X_EXT_KMADDRESS), kma);
    m6ike_ipsec_policy got;
    ASSERT_EQ(m6ike_ipsec_policy_get(mn.x, id, &got), 0);
    EXPECT_TRUE(m6ike_addr6_equal(&got.tun_src, AddrP(kCoa2)));
    m6ike_ipsec_sa_info info;
    ASSERT_EQ(m6ike_ipsec_sa_get(mn.x, 0xa001, nullptr, &info), 0);
    EXPECT_TRUE(m6ike_addr6_equal(&info.src, AddrP(kCoa2)));
    EXPECT_EQ(info.seq_out, 3u); // state kept
    // The next packet leaves from CoA2 with Seq 4 and the HA (after its own
    // direct update) accepts it.
    ASSERT_GT(mn.Out(p, &out), 0);
    EXPECT_EQ(0, std::memcmp(&out[8], Addr(kCoa2).b, 16));
    EXPECT_EQ(Bytes(out.begin() + 44, out.begin() + 48), Hex("00000004"));
    ASSERT_EQ(m6ike_ipsec_sa_update_addresses(ha.x, 0xa001, AddrP(kCoa2),
                                              AddrP(kHa)),
              0);
    EXPECT_EQ(ha.In(out, &back), static_cast<int>(p.size()));
  }
}

// The main paper's handover: endpoints changed in place on both sides;
// counters and the replay window survive, so a replayed pre-handover packet
// is still refused.
TEST(IpsecDirectUpdate, KeepsSequenceAndReplayState) {
  Node mn, ha;
  SaSpec s(kXforms[3], 0xb001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 2);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
  uint32_t id, hid;
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 2, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, &id), 0);
  pol.dir = M6IKE_IPSEC_DIR_INBOUND;
  ASSERT_EQ(m6ike_ipsec_policy_add(ha.x, &pol, &hid), 0);
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 10), old_pkt, out, back;
  for (int i = 0; i < 5; i++) {
    ASSERT_GT(mn.Out(p, &old_pkt), 0);
    ASSERT_GT(ha.In(old_pkt, &back), 0);
  }
  m6ike_addr6 c2 = Addr(kCoa2), h = Addr(kHa);
  ASSERT_EQ(m6ike_ipsec_sa_update_addresses(mn.x, 0xb001, &c2, &h), 0);
  ASSERT_EQ(m6ike_ipsec_policy_update_tunnel(mn.x, id, &c2, &h), 0);
  // Before the HA updates, a packet from the new CoA is still accepted: an
  // inbound SA is found by (SPI, destination) and the outer source is not
  // a selector (RFC 4301 §4.1; Linux's xfrm does the same).
  ASSERT_GT(mn.Out(p, &out), 0);
  EXPECT_EQ(0, std::memcmp(&out[8], c2.b, 16));
  EXPECT_EQ(ha.In(out, &back), static_cast<int>(p.size()));
  ASSERT_EQ(m6ike_ipsec_sa_update_addresses_at(ha.x, 0xb001, &h, &c2, &h), 0);
  ASSERT_EQ(m6ike_ipsec_policy_update_tunnel(ha.x, hid, &c2, &h), 0);
  ASSERT_GT(mn.Out(p, &out), 0);
  EXPECT_EQ(Bytes(out.begin() + 44, out.begin() + 48), Hex("00000007"));
  EXPECT_EQ(ha.In(out, &back), static_cast<int>(p.size()));
  EXPECT_EQ(ha.In(old_pkt, &back), M6IKE_ERR_IPSEC_REPLAY);
  m6ike_ipsec_sa_info info;
  ASSERT_EQ(m6ike_ipsec_sa_get(ha.x, 0xb001, &h, &info), 0);
  EXPECT_EQ(info.replay_top, 7u);
  EXPECT_EQ(info.stats.packets, 7u);
  // Errors
  EXPECT_EQ(m6ike_ipsec_sa_update_addresses(mn.x, 0xdead, &c2, &h),
            M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_ipsec_sa_update_addresses(mn.x, 0xb001, nullptr, &h),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_ipsec_policy_update_tunnel(mn.x, 999, &c2, &h),
            M6IKE_ERR_NOT_FOUND);
  m6ike_addr6 zero;
  std::memset(&zero, 0, sizeof(zero));
  EXPECT_EQ(m6ike_ipsec_policy_update_tunnel(mn.x, id, &zero, &h),
            M6IKE_ERR_IPSEC_TUNNEL);
  // Same SPI towards two destinations: ambiguous without old_dst; moving
  // one onto the other's (spi, dst): EXISTS.
  SaSpec s2(kXforms[3], 0xb001, kHa, kCoa1, M6IKE_IPSEC_MODE_TUNNEL, 2);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s2.p, 0), 0);
  EXPECT_EQ(m6ike_ipsec_sa_update_addresses(mn.x, 0xb001, &c2, &h),
            M6IKE_ERR_IPSEC_AMBIGUOUS);
  EXPECT_EQ(m6ike_ipsec_sa_get(mn.x, 0xb001, nullptr, &info),
            M6IKE_ERR_IPSEC_AMBIGUOUS);
  m6ike_addr6 c1 = Addr(kCoa1);
  EXPECT_EQ(m6ike_ipsec_sa_update_addresses_at(mn.x, 0xb001, &c1, &h, &h),
            M6IKE_ERR_EXISTS);
}

// ---- memory -----------------------------------------------------------------

TEST(IpsecMem, FailingAllocations) {
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    bool done = false;
    {
      m6ike_ipsec_config cfg;
      std::memset(&cfg, 0, sizeof(cfg));
      Rng rng;
      m6ike_crypto *nc = nullptr;
      int rc = m6ike_crypto_null_new(&nc, &fm.mem);
      cfg.crypto = nc;
      cfg.rand = Rng::Cb;
      cfg.rand_user_data = &rng;
      m6ike_ipsec *x = nullptr;
      if (rc == 0) rc = m6ike_ipsec_new(&x, &cfg, &fm.mem);
      // 100 SAs (the tables grow), 20 policies, a GETSPI through the bus.
      for (uint32_t i = 0; rc == 0 && i < 100; i++) {
        SaSpec s(kXforms[i % 5], 0x1000 + i, kCoa1, kHa,
                 M6IKE_IPSEC_MODE_TUNNEL, i);
        rc = m6ike_ipsec_sa_add(x, &s.p, 0);
      }
      for (uint32_t i = 0; rc == 0 && i < 20; i++) {
        auto p = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                         Host(kMnHoa, kCn, static_cast<uint8_t>(i)),
                         M6IKE_IPSEC_MODE_TUNNEL, i, kCoa1, kHa);
        rc = m6ike_ipsec_policy_add(x, &p, nullptr);
      }
      m6ike_pfkey_bus *bus = nullptr;
      m6ike_pfkey_ep km = 0;
      if (rc == 0) {
        m6ike_pfkey_bus_config bc;
        std::memset(&bc, 0, sizeof(bc));
        m6ike_ipsec_kernel_cbs(x, &bc.kernel);
        rc = m6ike_pfkey_bus_new(&bus, &bc, &fm.mem);
      }
      if (rc == 0)
        rc = m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0,
                                  nullptr, nullptr, &km);
      if (rc == 0) {
        Bytes g = GetspiMsg(0x9000, 0x9fff, 1);
        rc = m6ike_pfkey_bus_send(bus, km, g.data(), g.size(), 0);
        if (rc < 0) {
          // refused cleanly: no larval SA left behind
          EXPECT_EQ(m6ike_ipsec_sa_count(x), 100u);
        } else {
          EXPECT_EQ(m6ike_ipsec_sa_count(x), 101u);
          rc = 0;
        }
      }
      if (rc == 0) {
        Bytes out(512), in = Udp(kMnHoa, kCn, 1, 2, 10);
        in[6] = 3; // proto 3: the policy with reqid 3 (3DES/SHA1 SA)
        int n = m6ike_ipsec_output(x, in.data(), in.size(), out.data(),
                                   out.size(), 0);
        EXPECT_GT(n, 0);
        done = true;
      } else {
        EXPECT_TRUE(rc == M6IKE_ERR_NOMEM ||
                    rc == M6IKE_ERR_PFKEY_BUS_HANDLER)
            << rc;
      }
      m6ike_pfkey_bus_del(bus);
      m6ike_ipsec_del(x);
      m6ike_crypto_del(nc);
    }
    EXPECT_EQ(fm.live, 0) << "fail at " << fail;
    if (done && fm.calls < fail) break;
    ASSERT_LT(fail, 2000u);
  }
}

// ---- Wireshark ----------------------------------------------------------------

TEST(IpsecWireshark, EspSaLine) {
  Node n;
  SaSpec g(kXforms[0], 0xc0ffee, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  SaSpec t(kXforms[3], 0x1234, kHa, kCoa1, M6IKE_IPSEC_MODE_TUNNEL, 1);
  SaSpec nl(kXforms[4], 0x1235, kHa, kCoa1, M6IKE_IPSEC_MODE_TUNNEL, 1);
  ASSERT_EQ(m6ike_ipsec_sa_add(n.x, &g.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(n.x, &t.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(n.x, &nl.p, 0), 0);
  char buf[512];
  int len = m6ike_ipsec_sa_format_wireshark(n.x, 0xc0ffee, nullptr, buf,
                                            sizeof(buf));
  EXPECT_EQ(std::string(buf),
            "\"IPv6\",\"2001:db8:2::5\",\"2001:db8:1::1\",\"0x00c0ffee\","
            "\"AES-GCM with 16 octet ICV [RFC4106]\","
            "\"0x101112131415161718191a1b1c1d1e1f20212223\",\"NULL\",\"\"\n");
  EXPECT_EQ(len, static_cast<int>(std::strlen(buf)));
  m6ike_ipsec_sa_format_wireshark(n.x, 0x1234, nullptr, buf, sizeof(buf));
  EXPECT_EQ(std::string(buf),
            "\"IPv6\",\"2001:db8:1::1\",\"2001:db8:2::5\",\"0x00001234\","
            "\"TripleDES-CBC [RFC2451]\","
            "\"0x1011121314151617"
            "18191a1b1c1d1e1f2021222324252627\","
            "\"HMAC-SHA-1-96 [RFC2404]\","
            "\"0x404142434445464748494a4b4c4d4e4f50515253\"\n");
  m6ike_ipsec_sa_format_wireshark(n.x, 0x1235, nullptr, buf, sizeof(buf));
  EXPECT_NE(std::string(buf).find("\"NULL\",\"\",\"HMAC-SHA-256-128 [RFC4868]\""),
            std::string::npos);
  // snprintf semantics: the needed length with a short buffer
  char small[10];
  EXPECT_EQ(m6ike_ipsec_sa_format_wireshark(n.x, 0xc0ffee, nullptr, small,
                                            sizeof(small)),
            len);
  EXPECT_EQ(std::strlen(small), 9u);
  EXPECT_EQ(m6ike_ipsec_sa_format_wireshark(n.x, 0x9999, nullptr, buf, 10),
            M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_ipsec_sa_format_wireshark(nullptr, 1, nullptr, buf, 10),
            M6IKE_ERR_INVALID_ARGUMENT);
}

// ---- real transforms (OpenSSL backend) ---------------------------------------

struct OsslNode : Node {
  m6ike_crypto *c = nullptr;
  OsslNode() {
    EXPECT_EQ(m6ike_crypto_openssl_new(&c, nullptr), 0);
    m6ike_ipsec_del(x);
    cfg.crypto = c;
    EXPECT_EQ(m6ike_ipsec_new(&x, &cfg, nullptr), 0);
  }
  ~OsslNode() {
    m6ike_ipsec_del(x);
    x = nullptr;
    m6ike_crypto_del(c);
  }
};

TEST(IpsecOpenssl, RoundTripsPerTransformAndMode) {
  for (const Xform &xf : kXforms) {
    for (uint8_t mode : {M6IKE_IPSEC_MODE_TRANSPORT, M6IKE_IPSEC_MODE_TUNNEL}) {
      for (int esn = 0; esn < 2; esn++) {
        OsslNode mn, ha;
        const bool tun = mode == M6IKE_IPSEC_MODE_TUNNEL;
        SaSpec s(xf, 0xd001, tun ? kCoa1 : kMnHoa, kHa, mode, 1);
        s.p.esn = esn;
        ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0) << xf.name;
        ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0) << xf.name;
        auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                           Host(kMnHoa, tun ? kCn : kHa, 17), mode, 1,
                           tun ? kCoa1 : nullptr, tun ? kHa : nullptr);
        ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
        for (size_t n : {0, 1, 15, 16, 17, 100, 1400}) {
          Bytes p = Udp(kMnHoa, tun ? kCn : kHa, 1, 2, n), out, back;
          ASSERT_GT(mn.Out(p, &out), 0) << xf.name << " " << n;
          if (xf.enc != M6IKE_ENCR_NULL) {
            // really encrypted: the payload does not appear in clear
            std::string hay(out.begin(), out.end());
            std::string needle(p.end() - std::min<size_t>(n, 16), p.end());
            if (n >= 16) {
              EXPECT_EQ(hay.find(needle), std::string::npos);
            }
          }
          Bytes bad = out;
          bad[bad.size() - 1] ^= 1;
          EXPECT_EQ(ha.In(bad, &back), M6IKE_ERR_IPSEC_BAD_ICV);
          ASSERT_EQ(ha.In(out, &back), static_cast<int>(p.size()))
              << xf.name << " " << n;
          EXPECT_EQ(back, p);
        }
      }
    }
  }
}

// AES-GCM ESP as RFC 4106 defines it, checked with OpenSSL's EVP directly:
// nonce = salt (last 4 key octets) | IV (8, here the sequence number),
// AAD = SPI | Seq (| Seq hi before it with ESN), tag = the 16-octet ICV.
TEST(IpsecOpenssl, GcmLayoutMatchesRfc4106) {
  OsslNode mn;
  SaSpec s(kXforms[0], 0xd101, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 1, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 21), out;
  ASSERT_GT(mn.Out(p, &out), 0);
  const uint8_t *esp = &out[40];
  size_t ct_len = out.size() - 40 - 8 - 8 - 16;
  uint8_t nonce[12];
  std::memcpy(nonce, &s.ek[16], 4);
  std::memcpy(nonce + 4, esp + 8, 8);
  EXPECT_EQ(Bytes(esp + 8, esp + 16), Hex("0000000000000001"));
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr,
                               nullptr), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr), 1);
  ASSERT_EQ(EVP_DecryptInit_ex(ctx, nullptr, nullptr, s.ek.data(), nonce), 1);
  int l = 0;
  ASSERT_EQ(EVP_DecryptUpdate(ctx, nullptr, &l, esp, 8), 1); // AAD
  Bytes pt(ct_len);
  ASSERT_EQ(EVP_DecryptUpdate(ctx, pt.data(), &l, esp + 16, (int)ct_len), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                const_cast<uint8_t *>(esp + 16 + ct_len)),
            1);
  int fl = 0;
  EXPECT_EQ(EVP_DecryptFinal_ex(ctx, pt.data() + l, &fl), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(Bytes(pt.begin(), pt.begin() + p.size()), p);
  // 69 + 1 + 2 = 72 octets: padding 01, pad length 1, next header 41
  EXPECT_EQ(ct_len, 72u);
  EXPECT_EQ(Bytes(pt.end() - 3, pt.end()), Hex("01 01 29"));
}

// 3DES-CBC + HMAC-SHA1-96 (the main paper's testbed), checked with OpenSSL:
// ICV = first 12 octets of HMAC-SHA1 over SPI .. Next Header, then CBC
// with the IV that precedes the ciphertext.
TEST(IpsecOpenssl, TripleDesHmacSha1Layout) {
  OsslNode mn;
  SaSpec s(kXforms[3], 0xd201, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 1, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 5), out;
  ASSERT_GT(mn.Out(p, &out), 0);
  const uint8_t *esp = &out[40];
  size_t esp_len = out.size() - 40, ct_len = esp_len - 8 - 8 - 12;
  EXPECT_EQ(ct_len, 56u);
  uint8_t mac[20];
  unsigned ml = 0;
  HMAC(EVP_sha1(), s.ak.data(), (int)s.ak.size(), esp, esp_len - 12, mac,
       &ml);
  EXPECT_EQ(Bytes(esp + esp_len - 12, esp + esp_len), Bytes(mac, mac + 12));
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_DecryptInit_ex(ctx, EVP_des_ede3_cbc(), nullptr, s.ek.data(),
                               esp + 8),
            1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  Bytes pt(ct_len);
  int l = 0, fl = 0;
  ASSERT_EQ(EVP_DecryptUpdate(ctx, pt.data(), &l, esp + 16, (int)ct_len), 1);
  ASSERT_EQ(EVP_DecryptFinal_ex(ctx, pt.data() + l, &fl), 1);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(Bytes(pt.begin(), pt.begin() + 53), p);
  EXPECT_EQ(Bytes(pt.end() - 3, pt.end()), Hex("01 01 29"));
}

// ---- backend failures, larval SAs, hard time limits on the data path ------

// The NULL backend with switchable failures: objects it makes dispatch to
// these ops.
m6ike_crypto_ops g_fail_ops;
bool g_fail_new, g_fail_encrypt, g_fail_integ;

int FailCipherNew(void *impl, m6ike_crypto_cipher **ctx, uint16_t encr,
                  unsigned key_bits, const uint8_t *key, size_t keylen) {
  if (g_fail_new) return M6IKE_ERR_CRYPTO_CIPHER_FAILED;
  int rc = m6ike_crypto_null()->ops->cipher_new(impl, ctx, encr, key_bits,
                                                key, keylen);
  if (rc == 0) (*ctx)->ops = &g_fail_ops;
  return rc;
}
int FailEncrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv, size_t ivlen,
                const uint8_t *aad, size_t aadlen, const uint8_t *in,
                size_t len, uint8_t *out, uint8_t *tag) {
  if (g_fail_encrypt) return M6IKE_ERR_CRYPTO_CIPHER_FAILED;
  return m6ike_crypto_null()->ops->cipher_encrypt(ctx, iv, ivlen, aad, aadlen,
                                                  in, len, out, tag);
}
int FailIntegNew(void *impl, m6ike_crypto_integ **ctx, uint16_t integ,
                 const uint8_t *key, size_t keylen) {
  int rc = m6ike_crypto_null()->ops->integ_new(impl, ctx, integ, key, keylen);
  if (rc == 0) (*ctx)->ops = &g_fail_ops;
  return rc;
}
int FailIntegCompute(m6ike_crypto_integ *ctx, const m6ike_crypto_chunk *in,
                     size_t nin, uint8_t *icv) {
  if (g_fail_integ) return M6IKE_ERR_CRYPTO_INTEG_FAILED;
  return m6ike_crypto_null()->ops->integ_compute(ctx, in, nin, icv);
}

TEST(IpsecEsp, BackendFailures) {
  g_fail_ops = *m6ike_crypto_null()->ops;
  g_fail_ops.cipher_new = FailCipherNew;
  g_fail_ops.cipher_encrypt = FailEncrypt;
  g_fail_ops.integ_new = FailIntegNew;
  g_fail_ops.integ_compute = FailIntegCompute;
  m6ike_crypto fc = {&g_fail_ops, m6ike_crypto_null()->impl};
  g_fail_new = g_fail_encrypt = g_fail_integ = false;
  Node mn, ha;
  for (Node *n : {&mn, &ha}) {
    m6ike_ipsec_del(n->x);
    n->cfg.crypto = &fc;
    ASSERT_EQ(m6ike_ipsec_new(&n->x, &n->cfg, nullptr), 0);
  }
  SaSpec s(kXforms[3], 0xe001, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 1);
  g_fail_new = true;
  EXPECT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), M6IKE_ERR_IPSEC_CRYPTO);
  g_fail_new = false;
  ASSERT_EQ(m6ike_ipsec_sa_add(mn.x, &s.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
  auto pol = Protect(M6IKE_IPSEC_DIR_OUTBOUND,
                     Host(kMnHoa, kCn, M6IKE_IPSEC_PROTO_ANY),
                     M6IKE_IPSEC_MODE_TUNNEL, 1, kCoa1, kHa);
  ASSERT_EQ(m6ike_ipsec_policy_add(mn.x, &pol, nullptr), 0);
  Bytes p = Udp(kMnHoa, kCn, 1, 2, 10), out, back;
  g_fail_encrypt = true;
  EXPECT_EQ(mn.Out(p, &out), M6IKE_ERR_IPSEC_CRYPTO);
  g_fail_encrypt = false;
  mn.rng.fail = true; // CBC IV
  EXPECT_EQ(mn.Out(p, &out), M6IKE_ERR_RANDOM);
  mn.rng.fail = false;
  ASSERT_GT(mn.Out(p, &out), 0);
  g_fail_integ = true;
  EXPECT_EQ(ha.In(out, &back), M6IKE_ERR_IPSEC_CRYPTO);
  g_fail_integ = false;
  EXPECT_EQ(ha.In(out, &back), static_cast<int>(p.size()));
  EXPECT_EQ(mn.Stats().dropped_malformed, 2u);
  EXPECT_EQ(ha.Stats().dropped_malformed, 1u);
  // No rand callback: CBC cannot make IVs.
  Node nr;
  m6ike_ipsec_del(nr.x);
  nr.cfg.rand = nullptr;
  ASSERT_EQ(m6ike_ipsec_new(&nr.x, &nr.cfg, nullptr), 0);
  ASSERT_EQ(m6ike_ipsec_sa_add(nr.x, &s.p, 0), 0);
  ASSERT_EQ(m6ike_ipsec_policy_add(nr.x, &pol, nullptr), 0);
  EXPECT_EQ(nr.Out(p, &out), M6IKE_ERR_IPSEC_NO_CRYPTO);
}

TEST(IpsecEsp, LarvalSaTakesNoTraffic) {
  Node n(true);
  ASSERT_EQ(n.Send(GetspiMsg(0x1000, 0x1000, 1)), 1); // HA -> CoA1, larval
  n.Recv();
  Bytes p(40 + 8 + 20, 0);
  p[0] = 0x60;
  p[5] = 28;
  p[6] = 50;
  std::memcpy(&p[8], Addr(kHa).b, 16);
  std::memcpy(&p[24], Addr(kCoa1).b, 16);
  p[42] = 0x10; // SPI 0x1000
  p[47] = 1;
  Bytes out;
  EXPECT_EQ(n.In(p, &out), M6IKE_ERR_IPSEC_LARVAL);
  EXPECT_EQ(n.Stats().dropped_no_sa, 1u);
}

// A packet after the hard add time, before the host called handle_expiry:
// EXPIRE{hard} and the SA is gone.
TEST(IpsecLifetime, HardTimeOnTheDataPath) {
  LifeFix f;
  f.s.p.hard.addtime = 10;
  ASSERT_EQ(m6ike_ipsec_sa_add(f.mn.x, &f.s.p, 0), 0);
  Bytes out;
  ASSERT_GT(f.mn.Out(f.pkt, &out, 9 * M6IKE_SECONDS), 0);
  EXPECT_EQ(f.mn.Out(f.pkt, &out, 10 * M6IKE_SECONDS),
            M6IKE_ERR_IPSEC_EXPIRED);
  EXPECT_EQ(f.NextExpire(), 'H');
  EXPECT_EQ(m6ike_ipsec_sa_count(f.mn.x), 0u);
  EXPECT_EQ(f.mn.Stats().dropped_expired, 1u);
  // Inbound as well.
  Node ha(true);
  SaSpec s(kXforms[0], 0x9003, kCoa1, kHa, M6IKE_IPSEC_MODE_TUNNEL, 5);
  ASSERT_EQ(m6ike_ipsec_sa_add(f.mn.x, &s.p, 0), 0);
  s.p.hard.usetime = 5;
  ASSERT_EQ(m6ike_ipsec_sa_add(ha.x, &s.p, 0), 0);
  Bytes a, b, back;
  ASSERT_GT(f.mn.Out(f.pkt, &a, 20 * M6IKE_SECONDS), 0);
  ASSERT_GT(f.mn.Out(f.pkt, &b, 20 * M6IKE_SECONDS), 0);
  EXPECT_GT(ha.In(a, &back, 20 * M6IKE_SECONDS), 0); // first use at 20 s
  EXPECT_EQ(ha.In(b, &back, 25 * M6IKE_SECONDS), M6IKE_ERR_IPSEC_EXPIRED);
  EXPECT_EQ(ha.Stats().expires_hard, 1u);
}

}  // namespace
