// Tests of the binding unit: the binding cache (HA/CN, RFC 6275 §9.5,
// §10.3) and the mobile node's binding update list (§11.7, §11.8).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "m6ike/binding.h"
#include "test_util.h"
#include "vlink.h"

namespace {

constexpr m6ike_tstamp S = M6IKE_SECONDS;
constexpr m6ike_tstamp MS = M6IKE_MILLISECONDS;

m6ike_mh_msg MakeBu(uint16_t seq, uint16_t flags, uint16_t lifetime) {
  m6ike_mh_msg m;
  std::memset(&m, 0, sizeof m);
  m.type = M6IKE_MH_BU;
  m.payload_proto = M6IKE_IPPROTO_NONE;
  m.u.bu.seq = seq;
  m.u.bu.flags = flags;
  m.u.bu.lifetime = lifetime;
  return m;
}

constexpr uint16_t AH = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H;

// What the HA's callbacks answer, and what they saw.
struct Policy {
  bool served = true, admin = true, dad_fails = false, auth_ok = true;
  int rand_fail = 0;
  uint8_t rand_byte = 0;
  std::vector<std::pair<m6ike_bcache_entry, m6ike_bcache_event>> events;
};

m6ike_bcache_callbacks PolicyCallbacks(Policy *p) {
  m6ike_bcache_callbacks cb{};
  cb.user_data = p;
  cb.is_served = [](const m6ike_addr6 *, void *ud) -> int {
    return static_cast<Policy *>(ud)->served;
  };
  cb.admin_allowed = [](const m6ike_addr6 *, const m6ike_addr6 *,
                        void *ud) -> int {
    return static_cast<Policy *>(ud)->admin;
  };
  cb.dad = [](const m6ike_addr6 *, void *ud) -> int {
    return static_cast<Policy *>(ud)->dad_fails;
  };
  cb.verify_auth = [](const m6ike_addr6 *, const m6ike_addr6 *,
                      const m6ike_mh_msg *, void *ud) -> int {
    return static_cast<Policy *>(ud)->auth_ok ? 0 : -1;
  };
  cb.on_change = [](const m6ike_bcache_entry *e, m6ike_bcache_event ev,
                    void *ud) {
    static_cast<Policy *>(ud)->events.push_back({*e, ev});
  };
  cb.rand = [](uint8_t *d, size_t n, void *ud) -> int {
    auto *p = static_cast<Policy *>(ud);
    if (p->rand_fail) return -1;
    for (size_t i = 0; i < n; i++) d[i] = p->rand_byte++;
    return 0;
  };
  return cb;
}

m6ike_bcache_config HaConfig(Policy *p) {
  m6ike_bcache_config c{};
  c.role = M6IKE_BCACHE_ROLE_HA;
  c.home_prefixes[0].prefix = Addr("2001:db8:1::");
  c.home_prefixes[0].plen = 64;
  c.home_prefixes[1].prefix = Addr("2001:db8:2::");
  c.home_prefixes[1].plen = 48;
  c.n_home_prefixes = 2;
  c.k_supported = 1;
  if (p) c.cb = PolicyCallbacks(p);
  return c;
}

struct BcacheTest : ::testing::Test {
  Policy pol;
  m6ike_bcache *bc = nullptr;
  m6ike_addr6 hoa = Addr("2001:db8:1::100");
  m6ike_addr6 coa = Addr("2001:db8:99::5");
  m6ike_mh_msg ba{};

  void Make(const m6ike_bcache_config &c) {
    if (bc) m6ike_bcache_del(bc);
    bc = nullptr;
    ASSERT_EQ(0, m6ike_bcache_new(&bc, &c, nullptr));
  }
  void SetUp() override { Make(HaConfig(&pol)); }
  void TearDown() override { m6ike_bcache_del(bc); }
  int Bu(const m6ike_mh_msg &bu, m6ike_tstamp now = 0,
         const m6ike_addr6 *h = nullptr, const m6ike_addr6 *c = nullptr) {
    return m6ike_bcache_process_bu(bc, h ? h : &hoa, c ? c : &coa, &bu, now,
                                   &ba);
  }
  uint8_t Status() const { return ba.u.ba.status; }
};

}  // namespace

// ---- every BA status ---------------------------------------------------

// MN --- BU(seq 7, A H K, 100 units) ---> HA
// MN <-- BA(0, seq 7, 100 units, K, BRA 50) --- HA
TEST_F(BcacheTest, Status0AcceptsHomeRegistration) {
  ASSERT_EQ(1, Bu(MakeBu(7, AH | M6IKE_BU_FLAG_K, 100), 5 * S));
  EXPECT_EQ(M6IKE_MH_BA, ba.type);
  EXPECT_EQ(M6IKE_IPPROTO_NONE, ba.payload_proto);
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  EXPECT_EQ(7, ba.u.ba.seq);
  EXPECT_EQ(100, ba.u.ba.lifetime);
  EXPECT_EQ(M6IKE_BA_FLAG_K, ba.u.ba.flags);
  EXPECT_TRUE(ba.opts.has_bra);
  EXPECT_EQ(50, ba.opts.refresh_interval);
  const m6ike_bcache_entry *e = m6ike_bcache_lookup(bc, &hoa);
  ASSERT_NE(nullptr, e);
  EXPECT_TRUE(m6ike_addr6_equal(&coa, &e->coa));
  EXPECT_EQ(7, e->seq);
  EXPECT_EQ(100, e->lifetime);
  EXPECT_EQ(1, e->home_reg);
  EXPECT_EQ(1, e->k);
  EXPECT_EQ(5 * S, e->registered_at);
  EXPECT_EQ(5 * S + 400 * S, e->expiry);
  ASSERT_EQ(1u, pol.events.size());
  EXPECT_EQ(M6IKE_BCACHE_ADDED, pol.events[0].second);
  // A second BU from a new CoA updates the entry.
  m6ike_addr6 coa2 = Addr("2001:db8:98::1");
  ASSERT_EQ(1, Bu(MakeBu(8, AH, 100), 9 * S, nullptr, &coa2));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  e = m6ike_bcache_lookup(bc, &hoa);
  EXPECT_TRUE(m6ike_addr6_equal(&coa2, &e->coa));
  EXPECT_EQ(5 * S, e->registered_at);
  EXPECT_EQ(9 * S, e->updated_at);
  EXPECT_EQ(0, e->k);
  ASSERT_EQ(2u, pol.events.size());
  EXPECT_EQ(M6IKE_BCACHE_UPDATED, pol.events[1].second);
  EXPECT_EQ(1u, m6ike_bcache_count(bc));
}

TEST_F(BcacheTest, Status1WhenPrefixDiscoveryNeeded) {
  m6ike_bcache_config c = HaConfig(&pol);
  c.prefix_discovery_needed = 1;
  Make(c);
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(M6IKE_BA_ACCEPTED_PREFIX_DISCOVERY, Status());
  EXPECT_NE(nullptr, m6ike_bcache_lookup(bc, &hoa));
}

TEST_F(BcacheTest, Status128ForCareOfAddressNotUnicastRoutable) {
  for (const char *bad : {"ff02::1", "fe80::1", "::1", "::"}) {
    m6ike_addr6 c = Addr(bad);
    ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, nullptr, &c)) << bad;
    EXPECT_EQ(M6IKE_BA_REASON_UNSPECIFIED, Status()) << bad;
  }
  EXPECT_EQ(0u, m6ike_bcache_count(bc));
}

TEST_F(BcacheTest, Status129AdministrativelyProhibited) {
  pol.admin = false;
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(M6IKE_BA_ADMIN_PROHIBITED, Status());
  EXPECT_EQ(1, ba.u.ba.seq);
  EXPECT_EQ(0, ba.u.ba.lifetime);
  EXPECT_FALSE(ba.opts.has_bra);
  EXPECT_EQ(nullptr, m6ike_bcache_lookup(bc, &hoa));
}

TEST_F(BcacheTest, Status130WhenFull) {
  m6ike_bcache_config c = HaConfig(&pol);
  c.max_entries = 2;
  Make(c);
  m6ike_addr6 h1 = Addr("2001:db8:1::1"), h2 = Addr("2001:db8:1::2"),
              h3 = Addr("2001:db8:1::3");
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &h1));
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &h2));
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &h3));
  EXPECT_EQ(M6IKE_BA_INSUFFICIENT_RESOURCES, Status());
  // An existing entry may still be updated.
  ASSERT_EQ(1, Bu(MakeBu(2, AH, 10), 0, &h2));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
}

TEST(Bcache, Status130WhenAllocationFails) {
  FailingMem fm;
  m6ike_bcache_config c = HaConfig(nullptr);
  m6ike_bcache *bc = nullptr;
  ASSERT_EQ(0, m6ike_bcache_new(&bc, &c, &fm.mem));
  fm.reset(1);  // the next allocation (the first BU's) fails
  m6ike_addr6 hoa = Addr("2001:db8:1::1"), coa = Addr("2001:db8:9::1");
  m6ike_mh_msg bu = MakeBu(1, AH, 10), ba;
  ASSERT_EQ(1, m6ike_bcache_process_bu(bc, &hoa, &coa, &bu, 0, &ba));
  EXPECT_EQ(M6IKE_BA_INSUFFICIENT_RESOURCES, ba.u.ba.status);
  EXPECT_EQ(0u, m6ike_bcache_count(bc));
  ASSERT_EQ(1, m6ike_bcache_process_bu(bc, &hoa, &coa, &bu, 0, &ba));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, ba.u.ba.status);
  m6ike_bcache_del(bc);
  EXPECT_EQ(0, fm.live);
}

TEST_F(BcacheTest, Status131FromCorrespondentOrDisabledHa) {
  m6ike_bcache_config c = HaConfig(&pol);
  c.role = M6IKE_BCACHE_ROLE_CN;
  Make(c);
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(M6IKE_BA_HOME_REG_NOT_SUPPORTED, Status());
  c = HaConfig(&pol);
  c.home_reg_disabled = 1;
  Make(c);
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(M6IKE_BA_HOME_REG_NOT_SUPPORTED, Status());
}

TEST_F(BcacheTest, Status132ForHoaOffTheHomePrefixes) {
  m6ike_addr6 off = Addr("2001:db8:3::1");
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &off));
  EXPECT_EQ(M6IKE_BA_NOT_HOME_SUBNET, Status());
  m6ike_addr6 on48 = Addr("2001:db8:2:77::1");  // second prefix, /48
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &on48));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
}

TEST_F(BcacheTest, Status133WhenNotServedOrDeregisteringUnknownHoa) {
  pol.served = false;
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(M6IKE_BA_NOT_HA_FOR_THIS_MN, Status());
  pol.served = true;
  // RFC 6275 §10.3.2: a home de-registration without an entry.
  ASSERT_EQ(1, Bu(MakeBu(2, AH, 0)));
  EXPECT_EQ(M6IKE_BA_NOT_HA_FOR_THIS_MN, Status());
}

TEST_F(BcacheTest, Status134WhenDadFailsForNewEntryOnly) {
  pol.dad_fails = true;
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(M6IKE_BA_DAD_FAILED, Status());
  EXPECT_EQ(nullptr, m6ike_bcache_lookup(bc, &hoa));
  pol.dad_fails = false;
  ASSERT_EQ(1, Bu(MakeBu(2, AH, 10)));
  pol.dad_fails = true;  // an existing binding is not re-checked
  ASSERT_EQ(1, Bu(MakeBu(3, AH, 10)));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
}

TEST_F(BcacheTest, Status135SequenceOutOfWindowCarriesLastAccepted) {
  ASSERT_EQ(1, Bu(MakeBu(10, AH, 10)));
  // MN --- BU(seq 9) ---> HA;  MN <-- BA(135, seq 10) --- HA
  ASSERT_EQ(1, Bu(MakeBu(9, AH, 10)));
  EXPECT_EQ(M6IKE_BA_SEQ_OUT_OF_WINDOW, Status());
  EXPECT_EQ(10, ba.u.ba.seq);
  ASSERT_EQ(1, Bu(MakeBu(10, AH, 10)));  // a duplicate is not newer
  EXPECT_EQ(M6IKE_BA_SEQ_OUT_OF_WINDOW, Status());
  // Sent without A, a 135 is still answered (§9.5.4).
  ASSERT_EQ(1, Bu(MakeBu(9, M6IKE_BU_FLAG_H, 10)));
  EXPECT_EQ(M6IKE_BA_SEQ_OUT_OF_WINDOW, Status());
  EXPECT_EQ(10, m6ike_bcache_lookup(bc, &hoa)->seq);
}

TEST_F(BcacheTest, SequenceComparedModulo65536) {
  ASSERT_EQ(1, Bu(MakeBu(65535, AH, 10)));
  ASSERT_EQ(1, Bu(MakeBu(0, AH, 10)));  // wraps: 0 is newer than 65535
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  ASSERT_EQ(1, Bu(MakeBu(32767, AH, 10)));  // 0 + 32767: newest in window
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  ASSERT_EQ(1, Bu(MakeBu(65535, AH, 10)));  // 32767 + 32768: outside
  EXPECT_EQ(M6IKE_BA_SEQ_OUT_OF_WINDOW, Status());
  EXPECT_EQ(32767, ba.u.ba.seq);
  ASSERT_EQ(1, Bu(MakeBu(65534, AH, 10)));  // 32767 + 32767: inside
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  EXPECT_TRUE(m6ike_seq_newer(0, 65535));
  EXPECT_FALSE(m6ike_seq_newer(9, 10));
  EXPECT_FALSE(m6ike_seq_newer(15 + 32768, 15));
  EXPECT_TRUE(m6ike_seq_newer(15 + 32767, 15));
  EXPECT_FALSE(m6ike_seq_newer(5, 5));
}

// A correspondent node with return-routability nonces.
struct CnTest : BcacheTest {
  uint16_t hidx = 0, cidx = 0;
  void SetUp() override {
    m6ike_bcache_config c = HaConfig(&pol);
    c.role = M6IKE_BCACHE_ROLE_CN;
    c.n_home_prefixes = 0;
    Make(c);
    uint8_t n[8];
    ASSERT_EQ(0, m6ike_bcache_nonce_generate(bc, 0, &hidx, n));
    ASSERT_EQ(0, m6ike_bcache_nonce_generate(bc, 100 * S, &cidx, n));
  }
  m6ike_mh_msg RoBu(uint16_t seq, uint16_t flags, uint16_t life, uint16_t h,
                    uint16_t c) {
    m6ike_mh_msg m = MakeBu(seq, flags, life);
    m.opts.has_nonce_idx = 1;
    m.opts.has_bind_auth = 1;
    m.opts.home_nonce_index = h;
    m.opts.careof_nonce_index = c;
    return m;
  }
};

TEST_F(CnTest, AcceptsWithValidNoncesWithoutAckSendsNothing) {
  EXPECT_EQ(0, Bu(RoBu(1, 0, 10, hidx, cidx), 200 * S));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  EXPECT_FALSE(ba.opts.has_bra);
  const m6ike_bcache_entry *e = m6ike_bcache_lookup(bc, &hoa);
  ASSERT_NE(nullptr, e);
  EXPECT_EQ(0, e->home_reg);
  EXPECT_EQ(1, Bu(RoBu(2, M6IKE_BU_FLAG_A, 10, hidx, cidx), 200 * S));
}

TEST_F(CnTest, Status136137138ForExpiredNonces) {
  // home nonce made at 0, care-of nonce at 100 s; both live 240 s.
  ASSERT_EQ(1, Bu(RoBu(1, 0, 10, hidx, cidx), 250 * S));
  EXPECT_EQ(M6IKE_BA_EXPIRED_HOME_NONCE, Status());
  ASSERT_EQ(1, Bu(RoBu(1, 0, 10, hidx, 999), 10 * S));
  EXPECT_EQ(M6IKE_BA_EXPIRED_COA_NONCE, Status());
  ASSERT_EQ(1, Bu(RoBu(1, 0, 10, hidx, cidx), 340 * S));
  EXPECT_EQ(M6IKE_BA_EXPIRED_NONCES, Status());
  EXPECT_EQ(0u, m6ike_bcache_count(bc));
  uint8_t n[8];
  EXPECT_EQ(0, m6ike_bcache_nonce_get(bc, cidx, 339 * S, n));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_bcache_nonce_get(bc, cidx, 340 * S, n));
}

TEST_F(CnTest, NonceRingForgetsOldIndices) {
  uint8_t n[8];
  uint16_t idx = 0;
  for (int i = 0; i < 40; i++) {
    ASSERT_EQ(0, m6ike_bcache_nonce_generate(bc, 101 * S, &idx, n));
  }
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_bcache_nonce_get(bc, hidx, 102 * S, n));
  EXPECT_EQ(0, m6ike_bcache_nonce_get(bc, idx, 102 * S, n));
  pol.rand_fail = 1;
  EXPECT_EQ(M6IKE_ERR_RANDOM, m6ike_bcache_nonce_generate(bc, 0, &idx, n));
}

TEST_F(CnTest, MissingOptionsOrBadAuthenticatorAreDiscarded) {
  m6ike_mh_msg m = RoBu(1, M6IKE_BU_FLAG_A, 10, hidx, cidx);
  m.opts.has_nonce_idx = 0;
  EXPECT_EQ(M6IKE_ERR_BINDING_DISCARD, Bu(m, S));
  m = RoBu(1, M6IKE_BU_FLAG_A, 10, hidx, cidx);
  m.opts.has_bind_auth = 0;
  EXPECT_EQ(M6IKE_ERR_BINDING_DISCARD, Bu(m, S));
  pol.auth_ok = false;
  EXPECT_EQ(M6IKE_ERR_BINDING_DISCARD,
            Bu(RoBu(1, M6IKE_BU_FLAG_A, 10, hidx, cidx), 150 * S));
  EXPECT_EQ(0u, m6ike_bcache_count(bc));
}

TEST_F(CnTest, DeregistrationNeedsOnlyHomeNonceAndAcceptsUnknownHoa) {
  // §9.5.3: no entry, still accepted with 0.
  EXPECT_EQ(1, Bu(RoBu(1, M6IKE_BU_FLAG_A, 0, hidx, 999), 150 * S));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  EXPECT_EQ(0, Bu(RoBu(2, 0, 10, hidx, cidx), 150 * S));
  ASSERT_EQ(1u, m6ike_bcache_count(bc));
  EXPECT_EQ(0, Bu(RoBu(3, 0, 10, hidx, 999), 150 * S, nullptr, &hoa));
  EXPECT_EQ(0u, m6ike_bcache_count(bc));
  EXPECT_EQ(M6IKE_BCACHE_REMOVED, pol.events.back().second);
}

TEST_F(CnTest, CorrespondentLifetimeCappedAt420s) {
  EXPECT_EQ(1, Bu(RoBu(1, M6IKE_BU_FLAG_A, 1000, hidx, cidx), 150 * S));
  EXPECT_EQ(105, ba.u.ba.lifetime);
}

TEST_F(BcacheTest, Status139ForRegistrationTypeChange) {
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  m6ike_mh_msg ro = MakeBu(2, M6IKE_BU_FLAG_A, 10);
  ro.opts.has_nonce_idx = ro.opts.has_bind_auth = 1;
  uint16_t idx;
  uint8_t n[8];
  ASSERT_EQ(0, m6ike_bcache_nonce_generate(bc, 0, &idx, n));
  ro.opts.home_nonce_index = ro.opts.careof_nonce_index = idx;
  ASSERT_EQ(1, Bu(ro));
  EXPECT_EQ(M6IKE_BA_REG_TYPE_CHANGE_DISALLOWED, Status());
  // The other way round: a correspondent entry, then a home BU.
  m6ike_addr6 h2 = Addr("2001:db8:1::200");
  ASSERT_EQ(1, Bu(ro, 0, &h2));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  ASSERT_EQ(1, Bu(MakeBu(3, AH, 10), 0, &h2));
  EXPECT_EQ(M6IKE_BA_REG_TYPE_CHANGE_DISALLOWED, Status());
}

// ---- de-registration, lifetimes, K, expiry ------------------------------

// MN --- BU(lifetime 0) ---> HA ; MN <-- BA(0, lifetime 0) --- HA
TEST_F(BcacheTest, DeregistrationRemovesEntry) {
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  ASSERT_EQ(1, Bu(MakeBu(2, AH, 0)));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  EXPECT_EQ(0, ba.u.ba.lifetime);
  EXPECT_EQ(nullptr, m6ike_bcache_lookup(bc, &hoa));
  EXPECT_EQ(M6IKE_BCACHE_REMOVED, pol.events.back().second);
  // CoA == HoA (returned home) with a non-zero lifetime removes too.
  ASSERT_EQ(1, Bu(MakeBu(3, AH, 10)));
  ASSERT_EQ(1, Bu(MakeBu(4, AH, 10), 0, nullptr, &hoa));
  EXPECT_EQ(M6IKE_BA_ACCEPTED, Status());
  EXPECT_EQ(0u, m6ike_bcache_count(bc));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_bcache_get_expiry(bc));
}

TEST_F(BcacheTest, LifetimeCappedByPolicy) {
  m6ike_bcache_config c = HaConfig(&pol);
  c.max_lifetime = 30;
  Make(c);
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 1000), 2 * S));
  EXPECT_EQ(30, ba.u.ba.lifetime);
  EXPECT_EQ(15, ba.opts.refresh_interval);
  EXPECT_EQ(2 * S + 120 * S, m6ike_bcache_lookup(bc, &hoa)->expiry);
  ASSERT_EQ(1, Bu(MakeBu(2, AH, 20), 2 * S));
  EXPECT_EQ(20, ba.u.ba.lifetime);
  ASSERT_EQ(1, Bu(MakeBu(3, AH, 1), 2 * S));
  EXPECT_EQ(1, ba.opts.refresh_interval);  // never 0
}

TEST_F(BcacheTest, KBitEchoedOnlyWhenSupportedAndRequested) {
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10)));
  EXPECT_EQ(0, ba.u.ba.flags);
  ASSERT_EQ(1, Bu(MakeBu(2, AH | M6IKE_BU_FLAG_K, 10)));
  EXPECT_EQ(M6IKE_BA_FLAG_K, ba.u.ba.flags);
  m6ike_bcache_config c = HaConfig(&pol);
  c.k_supported = 0;
  Make(c);
  ASSERT_EQ(1, Bu(MakeBu(1, AH | M6IKE_BU_FLAG_K, 10)));
  EXPECT_EQ(0, ba.u.ba.flags);
  EXPECT_EQ(0, m6ike_bcache_lookup(bc, &hoa)->k);
}

TEST_F(BcacheTest, ExpiryEarliestFirstAndHandled) {
  m6ike_addr6 h1 = Addr("2001:db8:1::1"), h2 = Addr("2001:db8:1::2"),
              h3 = Addr("2001:db8:1::3");
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &h1));      // expires 40 s
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 5), 0, &h2));       // 20 s
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 20), 0, &h3));      // 80 s
  EXPECT_EQ(20 * S, m6ike_bcache_get_expiry(bc));
  ASSERT_EQ(1, Bu(MakeBu(2, AH, 25), 0, &h2));      // h2 now 100 s
  EXPECT_EQ(40 * S, m6ike_bcache_get_expiry(bc));
  pol.events.clear();
  EXPECT_EQ(0u, m6ike_bcache_handle_expiry(bc, 40 * S - 1));
  EXPECT_EQ(1u, m6ike_bcache_handle_expiry(bc, 40 * S));
  ASSERT_EQ(1u, pol.events.size());
  EXPECT_EQ(M6IKE_BCACHE_EXPIRED, pol.events[0].second);
  EXPECT_TRUE(m6ike_addr6_equal(&h1, &pol.events[0].first.hoa));
  EXPECT_EQ(80 * S, m6ike_bcache_get_expiry(bc));
  EXPECT_EQ(2u, m6ike_bcache_handle_expiry(bc, 1000 * S));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_bcache_get_expiry(bc));
}

TEST_F(BcacheTest, RemoveAndIterate) {
  m6ike_addr6 h1 = Addr("2001:db8:1::1"), h2 = Addr("2001:db8:1::2");
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &h1));
  ASSERT_EQ(1, Bu(MakeBu(1, AH, 10), 0, &h2));
  EXPECT_EQ(2u, m6ike_bcache_count(bc));
  EXPECT_NE(nullptr, m6ike_bcache_at(bc, 1));
  EXPECT_EQ(nullptr, m6ike_bcache_at(bc, 2));
  EXPECT_EQ(0, m6ike_bcache_remove(bc, &h1));
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_bcache_remove(bc, &h1));
  EXPECT_EQ(M6IKE_BCACHE_REMOVED, pol.events.back().second);
  ASSERT_EQ(1u, m6ike_bcache_count(bc));
  EXPECT_TRUE(m6ike_addr6_equal(&h2, &m6ike_bcache_at(bc, 0)->hoa));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bcache_remove(bc, nullptr));
}

TEST_F(BcacheTest, BadInputs) {
  m6ike_mh_msg bu = MakeBu(1, AH, 10);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_bcache_process_bu(nullptr, &hoa, &coa, &bu, 0, &ba));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_bcache_process_bu(bc, &hoa, &coa, &bu, 0, nullptr));
  bu.type = M6IKE_MH_BA;
  EXPECT_EQ(M6IKE_ERR_BINDING_NOT_BU, Bu(bu));
  m6ike_addr6 ll = Addr("fe80::1");
  EXPECT_EQ(M6IKE_ERR_BINDING_DISCARD, Bu(MakeBu(1, AH, 10), 0, &ll));
  EXPECT_EQ(nullptr, m6ike_bcache_lookup(bc, nullptr));
}

TEST(Bcache, ConfigErrors) {
  m6ike_bcache *bc = nullptr;
  m6ike_bcache_config c = HaConfig(nullptr);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bcache_new(nullptr, &c, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bcache_new(&bc, nullptr, nullptr));
  c.role = static_cast<m6ike_bcache_role>(7);
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_ROLE, m6ike_bcache_new(&bc, &c, nullptr));
  c = HaConfig(nullptr);
  c.n_home_prefixes = 5;
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_PREFIX, m6ike_bcache_new(&bc, &c, nullptr));
  c.n_home_prefixes = 0;
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_PREFIX, m6ike_bcache_new(&bc, &c, nullptr));
  c = HaConfig(nullptr);
  c.home_prefixes[1].plen = 129;
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_PREFIX, m6ike_bcache_new(&bc, &c, nullptr));
  c.home_prefixes[1].plen = 0;
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_PREFIX, m6ike_bcache_new(&bc, &c, nullptr));
  EXPECT_EQ(nullptr, bc);
  c = HaConfig(nullptr);
  uint16_t idx;
  uint8_t n[8];
  ASSERT_EQ(0, m6ike_bcache_new(&bc, &c, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_bcache_nonce_generate(bc, 0, &idx, n));  // no rand
  m6ike_bcache_del(bc);
}

// Hash table and heap against a std::map model through inserts, updates,
// removals and expiries at 20,000 entries.
TEST(Bcache, ManyEntriesAgreeWithModel) {
  m6ike_bcache_config c = HaConfig(nullptr);
  c.home_prefixes[0].plen = 16;
  m6ike_bcache *bc = nullptr;
  ASSERT_EQ(0, m6ike_bcache_new(&bc, &c, nullptr));
  std::mt19937 rng(42);
  std::map<std::vector<uint8_t>, m6ike_tstamp> model;  // hoa -> expiry
  m6ike_addr6 coa = Addr("2001:db9::1");
  m6ike_mh_msg ba;
  auto hoa_of = [](uint32_t i) {
    m6ike_addr6 a = Addr("2001:db8::");
    std::memcpy(a.b + 12, &i, 4);
    return a;
  };
  std::map<uint32_t, uint16_t> seqs;
  m6ike_tstamp now = 0;
  for (int step = 0; step < 60000; step++) {
    uint32_t i = rng() % 20000;
    m6ike_addr6 h = hoa_of(i);
    std::vector<uint8_t> key(h.b, h.b + 16);
    uint16_t life = static_cast<uint16_t>(rng() % 50);
    uint16_t seq = ++seqs[i];
    m6ike_mh_msg bu = MakeBu(seq, AH, life);
    ASSERT_EQ(1, m6ike_bcache_process_bu(bc, &h, &coa, &bu, now, &ba));
    if (life == 0) {
      if (model.count(key)) {
        EXPECT_EQ(M6IKE_BA_ACCEPTED, ba.u.ba.status);
        model.erase(key);
      } else {
        EXPECT_EQ(M6IKE_BA_NOT_HA_FOR_THIS_MN, ba.u.ba.status);
      }
    } else {
      ASSERT_EQ(M6IKE_BA_ACCEPTED, ba.u.ba.status);
      model[key] = now + life * 4 * S;
    }
    if (step % 1000 == 999) {
      now += 3 * S;
      m6ike_bcache_handle_expiry(bc, now);
      for (auto it = model.begin(); it != model.end();) {
        it = it->second <= now ? model.erase(it) : std::next(it);
      }
      ASSERT_EQ(model.size(), m6ike_bcache_count(bc));
      m6ike_tstamp earliest = M6IKE_TSTAMP_UNSET;
      for (auto &kv : model) earliest = std::min(earliest, kv.second);
      ASSERT_EQ(earliest, m6ike_bcache_get_expiry(bc));
      for (auto &kv : model) {
        m6ike_addr6 a;
        std::memcpy(a.b, kv.first.data(), 16);
        const m6ike_bcache_entry *e = m6ike_bcache_lookup(bc, &a);
        ASSERT_NE(nullptr, e);
        ASSERT_EQ(kv.second, e->expiry);
      }
    }
  }
  m6ike_bcache_del(bc);
}

// Fails the 1st, 2nd, ... allocation of creating a cache and accepting
// 1000 home registrations; nothing leaks and every BU gets an answer.
TEST(Bcache, FailingAllocationsCreatePlus1000Bus) {
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    m6ike_bcache_config c = HaConfig(nullptr);
    c.home_prefixes[0].plen = 16;
    m6ike_bcache *bc = nullptr;
    int rv = m6ike_bcache_new(&bc, &c, &fm.mem);
    if (rv != 0) {
      EXPECT_EQ(M6IKE_ERR_NOMEM, rv);
      EXPECT_EQ(0, fm.live);
      continue;
    }
    size_t accepted = 0;
    m6ike_addr6 coa = Addr("2001:db9::1");
    for (uint32_t i = 0; i < 1000; i++) {
      m6ike_addr6 h = Addr("2001:db8::");
      std::memcpy(h.b + 12, &i, 4);
      m6ike_mh_msg bu = MakeBu(1, AH, 10), ba;
      ASSERT_EQ(1, m6ike_bcache_process_bu(bc, &h, &coa, &bu, 0, &ba));
      if (ba.u.ba.status == M6IKE_BA_ACCEPTED) {
        accepted++;
        ASSERT_NE(nullptr, m6ike_bcache_lookup(bc, &h));
      } else {
        ASSERT_EQ(M6IKE_BA_INSUFFICIENT_RESOURCES, ba.u.ba.status);
        ASSERT_EQ(nullptr, m6ike_bcache_lookup(bc, &h));
      }
    }
    EXPECT_EQ(accepted, m6ike_bcache_count(bc));
    m6ike_bcache_del(bc);
    EXPECT_EQ(0, fm.live) << "fail at " << fail;
    if (fm.calls < fail) {
      EXPECT_EQ(1000u, accepted);
      EXPECT_GT(fail, 5u);
      break;
    }
  }
}

TEST(Binding, StrerrorNamesEveryCode) {
  for (int code : {M6IKE_ERR_BINDING_NOT_BU, M6IKE_ERR_BINDING_DISCARD,
                   M6IKE_ERR_BINDING_NOT_BA, M6IKE_ERR_BINDING_BA_NO_MATCH,
                   M6IKE_ERR_BINDING_BAD_COA, M6IKE_ERR_BINDING_CFG_ROLE,
                   M6IKE_ERR_BINDING_CFG_PREFIX, M6IKE_ERR_BINDING_CFG_HOA,
                   M6IKE_ERR_BINDING_CFG_HA, M6IKE_ERR_BINDING_CFG_TIMEOUT,
                   M6IKE_ERR_BINDING_CFG_REFRESH}) {
    const char *s = m6ike_strerror(code);
    ASSERT_NE(nullptr, s);
    EXPECT_EQ(0, std::strncmp(s, "binding: ", 9)) << code << " " << s;
    EXPECT_STREQ(s, m6ike_binding_strerror_(code));
  }
  EXPECT_EQ(nullptr, m6ike_binding_strerror_(-399));
  EXPECT_EQ(nullptr, m6ike_binding_strerror_(-101));
}

// ==== Binding update list =================================================

namespace {

struct BulRec {
  std::vector<std::pair<m6ike_bul_event, m6ike_tstamp>> events;
  m6ike_tstamp now = 0;
  int rand_fail = 0;
};

m6ike_bul_config MnConfig(BulRec *r) {
  m6ike_bul_config c{};
  c.hoa = Addr("2001:db8:1::100");
  c.ha = Addr("2001:db8:1::1");
  c.lifetime = 100;  // 400 s
  c.flags = AH;
  c.has_initial_seq = 1;
  c.initial_seq = 99;
  c.cb.user_data = r;
  c.cb.rand = [](uint8_t *d, size_t n, void *ud) -> int {
    if (static_cast<BulRec *>(ud)->rand_fail) return 1;
    for (size_t i = 0; i < n; i++) d[i] = static_cast<uint8_t>(0xa0 + i);
    return 0;
  };
  c.cb.on_event = [](m6ike_bul *, m6ike_bul_event ev, const m6ike_mh_msg *,
                     void *ud) {
    auto *r = static_cast<BulRec *>(ud);
    r->events.push_back({ev, r->now});
  };
  return c;
}

m6ike_mh_msg MakeBa(uint8_t status, uint16_t seq, uint16_t life,
                    uint16_t bra = 0) {
  m6ike_mh_msg m;
  std::memset(&m, 0, sizeof m);
  m.type = M6IKE_MH_BA;
  m.u.ba.status = status;
  m.u.ba.seq = seq;
  m.u.ba.lifetime = life;
  if (bra) {
    m.opts.has_bra = 1;
    m.opts.refresh_interval = bra;
  }
  return m;
}

struct BulTest : ::testing::Test {
  BulRec rec;
  m6ike_bul *bul = nullptr;
  m6ike_addr6 coa1 = Addr("2001:db8:99::5"), coa2 = Addr("2001:db8:98::7");
  m6ike_mh_msg bu{};
  m6ike_addr6 src{}, dst{};
  void Make(const m6ike_bul_config &c) {
    if (bul) m6ike_bul_del(bul);
    bul = nullptr;
    ASSERT_EQ(0, m6ike_bul_new(&bul, &c, nullptr));
  }
  void SetUp() override { Make(MnConfig(&rec)); }
  void TearDown() override { m6ike_bul_del(bul); }
  int Write(m6ike_tstamp now) {
    rec.now = now;
    return m6ike_bul_write_bu(bul, now, &bu, &src, &dst);
  }
  // Runs the MN alone with no answers from t0 until `until`, returning the
  // times a BU was sent.
  std::vector<m6ike_tstamp> SendTimes(m6ike_tstamp t0, m6ike_tstamp until) {
    std::vector<m6ike_tstamp> out;
    m6ike_tstamp t = t0;
    while (t <= until) {
      if (Write(t) == 1) out.push_back(t);
      t = m6ike_bul_get_expiry(bul);
      if (t == M6IKE_TSTAMP_UNSET) break;
    }
    return out;
  }
  void Register(m6ike_tstamp t, const m6ike_addr6 &coa, uint16_t bra = 0) {
    ASSERT_EQ(1, m6ike_bul_move(bul, &coa, t));
    ASSERT_EQ(1, Write(t));
    m6ike_mh_msg ba = MakeBa(0, bu.u.bu.seq, bu.u.bu.lifetime, bra);
    ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, t));
    ASSERT_EQ(M6IKE_BUL_REGISTERED, m6ike_bul_get_state(bul));
  }
};

}  // namespace

// MN --- BU ---> (lost) at 0, 1.5, 4.5, 10.5, 22.5, 46.5, 78.5, 110.5 s:
// gaps 1.5, 3, 6, 12, 24, then 32 s (MAX_BINDACK_TIMEOUT) for ever.
TEST_F(BulTest, FirstHomeRegistrationRetransmissionTimes) {
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_bul_get_expiry(bul));
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  EXPECT_EQ(0u, m6ike_bul_get_expiry(bul));
  auto times = SendTimes(0, 110500 * MS);
  std::vector<m6ike_tstamp> want = {0,         1500 * MS,  4500 * MS,
                                    10500 * MS, 22500 * MS, 46500 * MS,
                                    78500 * MS, 110500 * MS};
  EXPECT_EQ(want, times);
  EXPECT_EQ(7u, m6ike_bul_get_retransmissions(bul));
  EXPECT_EQ(32 * S, m6ike_bul_get_timeout(bul));
  EXPECT_EQ(142500 * MS, m6ike_bul_get_expiry(bul));
  // Each BU carries a new sequence number, the last one 100 + 7.
  EXPECT_EQ(107, m6ike_bul_get_seq(bul));
  EXPECT_EQ(107, bu.u.bu.seq);
  EXPECT_EQ(AH, bu.u.bu.flags);
  EXPECT_EQ(100, bu.u.bu.lifetime);
  EXPECT_TRUE(m6ike_addr6_equal(&coa1, &src));
  m6ike_addr6 ha = Addr("2001:db8:1::1");
  EXPECT_TRUE(m6ike_addr6_equal(&ha, &dst));
  ASSERT_EQ(8u, rec.events.size());
  EXPECT_EQ(M6IKE_BUL_EV_BU_SENT, rec.events[0].first);
  for (size_t i = 1; i < 8; i++) {
    EXPECT_EQ(M6IKE_BUL_EV_RETRANSMIT, rec.events[i].first);
  }
  EXPECT_EQ(M6IKE_BUL_REGISTERING, m6ike_bul_get_state(bul));
  // Not due between deadlines.
  EXPECT_EQ(0, Write(120 * S));
}

TEST_F(BulTest, LaterRegistrationStartsAtOneSecond) {
  Register(0, coa1);
  rec.events.clear();
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa2, 50 * S));
  EXPECT_EQ(M6IKE_BUL_REGISTERING, m6ike_bul_get_state(bul));
  auto times = SendTimes(50 * S, 65 * S);
  std::vector<m6ike_tstamp> want = {50 * S, 51 * S, 53 * S, 57 * S, 65 * S};
  EXPECT_EQ(want, times);
  EXPECT_TRUE(m6ike_addr6_equal(&coa2, &src));
  EXPECT_TRUE(m6ike_addr6_equal(&coa2, m6ike_bul_get_coa(bul)));
  // The same CoA again changes nothing.
  EXPECT_EQ(0, m6ike_bul_move(bul, &coa2, 66 * S));
}

TEST_F(BulTest, TimersConfigurable) {
  m6ike_bul_config c = MnConfig(&rec);
  c.initial_bindack_timeout_first_reg = 1 * S;
  c.max_bindack_timeout = 4 * S;
  Make(c);
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  auto times = SendTimes(0, 15 * S);
  std::vector<m6ike_tstamp> want = {0, 1 * S, 3 * S, 7 * S, 11 * S, 15 * S};
  EXPECT_EQ(want, times);
}

TEST_F(BulTest, GivesUpAfterMaxRetransmissions) {
  m6ike_bul_config c = MnConfig(&rec);
  c.max_retransmissions = 2;
  Make(c);
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  auto times = SendTimes(0, 100 * S);
  std::vector<m6ike_tstamp> want = {0, 1500 * MS, 4500 * MS};
  EXPECT_EQ(want, times);
  EXPECT_EQ(M6IKE_BUL_EV_GAVE_UP, rec.events.back().first);
  EXPECT_EQ(10500 * MS, rec.events.back().second);
  EXPECT_EQ(M6IKE_BUL_IDLE, m6ike_bul_get_state(bul));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_bul_get_expiry(bul));
}

// MN --- BU(seq 100) ---> HA; MN <-- BA(0, 100 units, BRA 50) --- HA
// 200 s later: MN --- BU(seq 101) ---> HA (refresh)
TEST_F(BulTest, RefreshAtBindingRefreshAdvice) {
  Register(10 * S, coa1, 50);
  EXPECT_EQ(100, m6ike_bul_get_granted_lifetime(bul));
  EXPECT_EQ(410 * S, m6ike_bul_get_binding_expiry(bul));
  EXPECT_EQ(210 * S, m6ike_bul_get_expiry(bul));
  EXPECT_EQ(0, Write(210 * S - 1));
  ASSERT_EQ(1, Write(210 * S));
  EXPECT_EQ(101, bu.u.bu.seq);
  EXPECT_TRUE(m6ike_addr6_equal(&coa1, &src));
  EXPECT_EQ(M6IKE_BUL_REGISTERED, m6ike_bul_get_state(bul));
  // Refreshes start at InitialBindackTimeout.
  EXPECT_EQ(211 * S, m6ike_bul_get_expiry(bul));
  m6ike_mh_msg ba = MakeBa(0, 101, 100);
  rec.events.clear();
  ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, 210 * S));
  ASSERT_EQ(1u, rec.events.size());  // BA_ACCEPTED, no new REGISTERED
  EXPECT_EQ(M6IKE_BUL_EV_BA_ACCEPTED, rec.events[0].first);
  // Without a BRA: 90 % of 400 s after the BU was sent.
  EXPECT_EQ(210 * S + 360 * S, m6ike_bul_get_expiry(bul));
}

TEST_F(BulTest, UnrefreshedBindingExpires) {
  Register(0, coa1);  // no BRA: refresh at 360 s, expiry 400 s
  EXPECT_EQ(360 * S, m6ike_bul_get_expiry(bul));
  auto times = SendTimes(360 * S, 400 * S);
  std::vector<m6ike_tstamp> want = {360 * S, 361 * S, 363 * S, 367 * S,
                                    375 * S, 391 * S};
  EXPECT_EQ(want, times);
  rec.now = 400 * S;
  m6ike_bul_handle_expiry(bul, 400 * S);
  EXPECT_EQ(M6IKE_BUL_EV_EXPIRED, rec.events.back().first);
  EXPECT_EQ(M6IKE_BUL_REGISTERING, m6ike_bul_get_state(bul));
}

// MN --- BU(seq 100) ---> HA; MN <-- BA(135, seq 500) --- HA;
// MN --- BU(seq 501) ---> HA at once.
TEST_F(BulTest, SequenceResyncOn135) {
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  ASSERT_EQ(1, Write(0));
  m6ike_mh_msg ba = MakeBa(M6IKE_BA_SEQ_OUT_OF_WINDOW, 500, 0);
  rec.now = 100 * MS;
  ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, 100 * MS));
  EXPECT_EQ(M6IKE_BUL_EV_SEQ_RESYNC, rec.events.back().first);
  EXPECT_EQ(100 * MS, m6ike_bul_get_expiry(bul));
  ASSERT_EQ(1, Write(100 * MS));
  EXPECT_EQ(501, bu.u.bu.seq);
  EXPECT_EQ(M6IKE_BUL_EV_BU_SENT, rec.events.back().first);
  ba = MakeBa(0, 501, 100);
  ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, 200 * MS));
  EXPECT_EQ(M6IKE_BUL_REGISTERED, m6ike_bul_get_state(bul));
  EXPECT_EQ(0, m6ike_bul_get_last_status(bul));
}

// MN returns home: MN --- BU(lifetime 0, src HoA) ---> HA;
// MN <-- BA(0) --- HA; DEREGISTERED.
TEST_F(BulTest, ReturnHomeDeregisters) {
  Register(0, coa1);
  m6ike_addr6 hoa = Addr("2001:db8:1::100");
  ASSERT_EQ(1, m6ike_bul_move(bul, &hoa, 20 * S));
  EXPECT_EQ(M6IKE_BUL_DEREGISTERING, m6ike_bul_get_state(bul));
  ASSERT_EQ(1, Write(20 * S));
  EXPECT_EQ(0, bu.u.bu.lifetime);
  EXPECT_TRUE(m6ike_addr6_equal(&hoa, &src));
  EXPECT_EQ(21 * S, m6ike_bul_get_expiry(bul));  // 1 s, not 1.5 s
  m6ike_mh_msg ba = MakeBa(0, bu.u.bu.seq, 0);
  ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, 20 * S));
  EXPECT_EQ(M6IKE_BUL_IDLE, m6ike_bul_get_state(bul));
  EXPECT_EQ(M6IKE_BUL_EV_DEREGISTERED, rec.events.back().first);
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_bul_get_expiry(bul));
  // At home and idle: nothing to do; the next move is a first registration.
  EXPECT_EQ(0, m6ike_bul_move(bul, &hoa, 30 * S));
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa2, 40 * S));
  ASSERT_EQ(1, Write(40 * S));
  EXPECT_EQ(41500 * MS, m6ike_bul_get_expiry(bul));
}

TEST_F(BulTest, RejectionStopsRetransmission) {
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  ASSERT_EQ(1, Write(0));
  m6ike_mh_msg ba = MakeBa(M6IKE_BA_NOT_HOME_SUBNET, bu.u.bu.seq, 0);
  ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, 0));
  EXPECT_EQ(M6IKE_BUL_EV_BA_REJECTED, rec.events.back().first);
  EXPECT_EQ(M6IKE_BUL_IDLE, m6ike_bul_get_state(bul));
  EXPECT_EQ(132, m6ike_bul_get_last_status(bul));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_bul_get_expiry(bul));
}

TEST_F(BulTest, MismatchedOrStrayAcksIgnored) {
  m6ike_mh_msg ba = MakeBa(0, 100, 100);
  EXPECT_EQ(M6IKE_ERR_BINDING_BA_NO_MATCH, m6ike_bul_read_ba(bul, &ba, 0));
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  ASSERT_EQ(1, Write(0));
  ba = MakeBa(0, 99, 100);  // an older seq
  EXPECT_EQ(M6IKE_ERR_BINDING_BA_NO_MATCH, m6ike_bul_read_ba(bul, &ba, 0));
  EXPECT_EQ(1500 * MS, m6ike_bul_get_expiry(bul));  // still waiting
  ba.type = M6IKE_MH_BU;
  EXPECT_EQ(M6IKE_ERR_BINDING_NOT_BA, m6ike_bul_read_ba(bul, &ba, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bul_read_ba(bul, nullptr, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_bul_write_bu(bul, 0, nullptr, &src, &dst));
  m6ike_addr6 mc = Addr("ff02::1"), un = Addr("::");
  EXPECT_EQ(M6IKE_ERR_BINDING_BAD_COA, m6ike_bul_move(bul, &mc, 0));
  EXPECT_EQ(M6IKE_ERR_BINDING_BAD_COA, m6ike_bul_move(bul, &un, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bul_move(bul, nullptr, 0));
}

TEST_F(BulTest, KEchoRecorded) {
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa1, 0));
  ASSERT_EQ(1, Write(0));
  m6ike_mh_msg ba = MakeBa(0, bu.u.bu.seq, 100);
  ba.u.ba.flags = M6IKE_BA_FLAG_K;
  ASSERT_EQ(0, m6ike_bul_read_ba(bul, &ba, 0));
  EXPECT_EQ(1, m6ike_bul_ha_k(bul));
}

TEST(Bul, ConfigErrorsAndRandomSeq) {
  BulRec rec;
  m6ike_bul *bul = nullptr;
  m6ike_bul_config c = MnConfig(&rec);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bul_new(nullptr, &c, nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_bul_new(&bul, nullptr, nullptr));
  c.hoa = Addr("::");
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_HOA, m6ike_bul_new(&bul, &c, nullptr));
  c = MnConfig(&rec);
  c.ha = Addr("ff05::2");
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_HA, m6ike_bul_new(&bul, &c, nullptr));
  c = MnConfig(&rec);
  c.initial_bindack_timeout = 40 * S;
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_TIMEOUT, m6ike_bul_new(&bul, &c, nullptr));
  c = MnConfig(&rec);
  c.refresh_percent = 100;
  EXPECT_EQ(M6IKE_ERR_BINDING_CFG_REFRESH, m6ike_bul_new(&bul, &c, nullptr));
  c = MnConfig(&rec);
  c.has_initial_seq = 0;
  rec.rand_fail = 1;
  EXPECT_EQ(M6IKE_ERR_RANDOM, m6ike_bul_new(&bul, &c, nullptr));
  c.cb.rand = nullptr;
  EXPECT_EQ(M6IKE_ERR_RANDOM, m6ike_bul_new(&bul, &c, nullptr));
  EXPECT_EQ(nullptr, bul);
  c = MnConfig(&rec);
  c.has_initial_seq = 0;
  c.lifetime = 0;
  rec.rand_fail = 0;
  ASSERT_EQ(0, m6ike_bul_new(&bul, &c, nullptr));
  EXPECT_EQ(0xa0a1, m6ike_bul_get_seq(bul));
  m6ike_addr6 coa = Addr("2001:db8:99::1"), src, dst;
  m6ike_mh_msg bu;
  ASSERT_EQ(1, m6ike_bul_move(bul, &coa, 0));
  ASSERT_EQ(1, m6ike_bul_write_bu(bul, 0, &bu, &src, &dst));
  EXPECT_EQ(0xa0a2, bu.u.bu.seq);
  EXPECT_EQ(105, bu.u.bu.lifetime);  // default 420 s
  m6ike_bul_del(bul);
  FailingMem fm;
  fm.reset(1);
  c = MnConfig(&rec);
  EXPECT_EQ(M6IKE_ERR_NOMEM, m6ike_bul_new(&bul, &c, &fm.mem));
  EXPECT_EQ(0, fm.live);
}

// ==== MN <-> HA end to end over a lossy virtual link =======================

namespace {

// What travels on the link: a decoded MH message and its addresses.
struct Wire {
  m6ike_addr6 src, dst;
  m6ike_mh_msg msg;
};

struct Net {
  m6ike_vlink *link = nullptr;  // AB: MN -> HA, BA: HA -> MN
  m6ike_bcache *ha = nullptr;
  m6ike_bul *mn = nullptr;
  BulRec rec;
  Policy pol;
  std::vector<std::pair<m6ike_tstamp, Wire>> log;  // arrivals

  // Runs every component until `until`, stepping to each next event.
  void Run(m6ike_tstamp from, m6ike_tstamp until) {
    m6ike_tstamp now = from;
    while (now <= until) {
      rec.now = now;
      Wire w;
      while (m6ike_bul_write_bu(mn, now, &w.msg, &w.src, &w.dst) == 1) {
        m6ike_vlink_send(link, M6IKE_VLINK_AB,
                         reinterpret_cast<uint8_t *>(&w), sizeof w, now);
      }
      m6ike_bcache_handle_expiry(ha, now);
      int dir;
      uint8_t buf[sizeof(Wire)];
      while (m6ike_vlink_recv(link, now, &dir, nullptr, buf, sizeof buf) > 0) {
        std::memcpy(&w, buf, sizeof w);
        log.push_back({now, w});
        if (dir == M6IKE_VLINK_AB) {
          // HA: the HoA is the MN's (from the Home Address option).
          Wire r;
          m6ike_addr6 hoa = Addr("2001:db8:1::100");
          if (m6ike_bcache_process_bu(ha, &hoa, &w.src, &w.msg, now,
                                      &r.msg) == 1) {
            r.src = w.dst;
            r.dst = w.src;
            m6ike_vlink_send(link, M6IKE_VLINK_BA,
                             reinterpret_cast<uint8_t *>(&r), sizeof r, now);
          }
        } else {
          m6ike_bul_read_ba(mn, &w.msg, now);
        }
      }
      m6ike_tstamp next = std::min({m6ike_bul_get_expiry(mn),
                                    m6ike_vlink_next_arrival(link),
                                    m6ike_bcache_get_expiry(ha)});
      if (next == M6IKE_TSTAMP_UNSET) break;
      now = std::max(next, now + 1);
    }
  }
};

}  // namespace

// MN --- BU(100) ---> HA           t = 0      arrives 0.010
// MN  x- BA(0,100) -- HA           (lost)
// MN --- BU(101) ---> HA           t = 1.5    arrives 1.510 (retransmit)
// MN <-- BA(0,101) -- HA           arrives 1.520: REGISTERED
// ... handover at 100 s, refresh, return home at 320 s.
TEST(BindingEndToEnd, LostAckRetransmittedAtOnePointFiveSeconds) {
  Net n;
  m6ike_vlink_params p{};
  p.delay = 10 * MS;
  ASSERT_EQ(0, m6ike_vlink_new(&n.link, &p, nullptr));
  m6ike_bcache_config hc = HaConfig(&n.pol);
  ASSERT_EQ(0, m6ike_bcache_new(&n.ha, &hc, nullptr));
  m6ike_bul_config mc = MnConfig(&n.rec);
  mc.flags |= M6IKE_BU_FLAG_K;
  ASSERT_EQ(0, m6ike_bul_new(&n.mn, &mc, nullptr));
  m6ike_addr6 hoa = Addr("2001:db8:1::100"), coa1 = Addr("2001:db8:99::5"),
              coa2 = Addr("2001:db8:98::7");

  m6ike_vlink_drop_next(n.link, M6IKE_VLINK_BA, 1);
  ASSERT_EQ(1, m6ike_bul_move(n.mn, &coa1, 0));
  n.Run(0, 5 * S);
  ASSERT_EQ(3u, n.log.size());
  EXPECT_EQ(10 * MS, n.log[0].first);
  EXPECT_EQ(100, n.log[0].second.msg.u.bu.seq);
  EXPECT_EQ(1510 * MS, n.log[1].first);
  EXPECT_EQ(101, n.log[1].second.msg.u.bu.seq);
  EXPECT_EQ(1520 * MS, n.log[2].first);
  EXPECT_EQ(M6IKE_MH_BA, n.log[2].second.msg.type);
  EXPECT_EQ(0, n.log[2].second.msg.u.ba.status);
  EXPECT_EQ(M6IKE_BUL_REGISTERED, m6ike_bul_get_state(n.mn));
  EXPECT_EQ(1u, m6ike_bul_get_retransmissions(n.mn));
  EXPECT_EQ(1, m6ike_bul_ha_k(n.mn));
  const m6ike_bcache_entry *e = m6ike_bcache_lookup(n.ha, &hoa);
  ASSERT_NE(nullptr, e);
  EXPECT_TRUE(m6ike_addr6_equal(&coa1, &e->coa));
  EXPECT_EQ(101, e->seq);
  EXPECT_EQ(1, e->k);
  // The binding was sent at 1.5 s for 400 s; BRA 200 s from 1.52 s.
  EXPECT_EQ(1500 * MS + 400 * S, m6ike_bul_get_binding_expiry(n.mn));

  // Handover at 100 s: one round trip.
  n.log.clear();
  ASSERT_EQ(1, m6ike_bul_move(n.mn, &coa2, 100 * S));
  n.Run(100 * S, 150 * S);
  ASSERT_EQ(2u, n.log.size());
  EXPECT_EQ(100020 * MS, n.log[1].first);
  EXPECT_TRUE(m6ike_addr6_equal(&coa2, &m6ike_bcache_lookup(n.ha, &hoa)->coa));

  // Refresh at 100.02 + 200 s (BRA), then return home at 320 s.
  n.log.clear();
  n.Run(150 * S, 319 * S);
  ASSERT_EQ(2u, n.log.size());
  EXPECT_EQ(300030 * MS, n.log[0].first);
  EXPECT_EQ(103, n.log[0].second.msg.u.bu.seq);
  n.log.clear();
  ASSERT_EQ(1, m6ike_bul_move(n.mn, &hoa, 320 * S));
  n.Run(320 * S, 330 * S);
  ASSERT_EQ(2u, n.log.size());
  EXPECT_EQ(0, n.log[0].second.msg.u.bu.lifetime);
  EXPECT_EQ(M6IKE_BUL_IDLE, m6ike_bul_get_state(n.mn));
  EXPECT_EQ(0u, m6ike_bcache_count(n.ha));

  m6ike_bul_del(n.mn);
  m6ike_bcache_del(n.ha);
  m6ike_vlink_del(n.link);
}
