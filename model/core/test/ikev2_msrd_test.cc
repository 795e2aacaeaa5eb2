// ikev2 engine: the main paper's mechanism.  The MN's mobility side writes
// its binding into the MSRD and sends SADB_ACQUIRE (with or without the
// Reference extension) on the PF_KEY bus; the MN's IKEv2 engine, attached
// to the bus as key manager, bootstraps (RFC 4877), updates the tunnel SAs
// directly at handover, or renegotiates (the baseline of Table I).
#include <gtest/gtest.h>

#include "ikev2_harness.h"
#include "m6ike/msrd.h"
#include "m6ike/pfkey.h"
#include "m6ike/pfkey_bus.h"
#include "m6ike/crypto_openssl.h"

namespace {

m6ike_ikev2_ts Sel(const char *a, const char *b, uint8_t proto) {
  m6ike_ikev2_ts t{};
  m6ike_addr6 x = Addr(a), y = Addr(b);
  m6ike_ikev2_ts_set6(&t, &x, &y, proto, 0, 65535);
  return t;
}

m6ike_ikev2_ts PrefixProto(const char *a, unsigned plen, uint8_t proto) {
  m6ike_ikev2_ts t = Prefix(a, plen);
  t.ip_proto = proto;
  return t;
}

// The MN side: MSRD (MN role), PF_KEY bus with a mobility endpoint and the
// engine's key-manager endpoint.
struct MnStack {
  m6ike_msrd *db = nullptr;
  m6ike_msrd_writer *writer = nullptr;
  m6ike_msrd_reader *reader = nullptr;
  m6ike_pfkey_bus *bus = nullptr;
  m6ike_pfkey_ep km = 0, mob = 0;
  uint32_t mpi = 0;
  uint32_t seq = 0;

  explicit MnStack(const m6ike_mem *mem = nullptr) {
    m6ike_msrd_config c;
    m6ike_msrd_config_default(&c, M6IKE_MSRD_ROLE_MN);
    c.mpi_start = 42;
    ok = m6ike_msrd_new(&db, &writer, &c, mem) == 0 &&
         m6ike_msrd_reader_new(db, &reader) == 0 &&
         m6ike_pfkey_bus_new(&bus, nullptr, mem) == 0 &&
         m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0, nullptr,
                              nullptr, &km) == 0 &&
         m6ike_pfkey_bus_open(bus, M6IKE_PFKEY_ROLE_MOBILITY, 0, nullptr,
                              nullptr, &mob) == 0;
  }
  ~MnStack() {
    m6ike_pfkey_bus_del(bus);
    m6ike_msrd_del(db);
  }
  bool ok = false;

  int Insert(const char *coa, m6ike_tstamp now) {
    m6ike_msrd_params p{};
    p.hoa = Addr(kHoA);
    p.coa = Addr(coa);
    p.ha = Addr(kHA);
    p.lifetime = 420;
    p.state = M6IKE_MSRD_REGISTERING;
    return m6ike_msrd_insert(writer, &p, now, &mpi);
  }
  int Move(const char *coa, m6ike_tstamp now) {
    m6ike_msrd_change ch{};
    ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_STATE;
    ch.coa = Addr(coa);
    ch.state = M6IKE_MSRD_REGISTERING;
    return m6ike_msrd_update(writer, mpi, &ch, now);
  }
  // SADB_ACQUIRE from the mobility side: tunnel endpoints CoA -> HA, with
  // the Reference (MPI) or without it.
  int Acquire(const char *coa, bool reference, m6ike_tstamp now) {
    uint8_t buf[512];
    m6ike_pfkey_builder b;
    m6ike_addr6 s = Addr(coa), d = Addr(kHA);
    m6ike_pfkey_sockaddr ss = m6ike_pfkey_sockaddr6(&s, 0);
    m6ike_pfkey_sockaddr ds = m6ike_pfkey_sockaddr6(&d, 0);
    m6ike_pfkey_comb comb{};
    comb.encrypt = M6IKE_SADB_X_EALG_AESCBC;
    comb.auth = M6IKE_SADB_X_AALG_SHA2_256HMAC;
    m6ike_pfkey_builder_begin(&b, buf, sizeof buf, M6IKE_SADB_ACQUIRE,
                              M6IKE_SADB_SATYPE_ESP, ++seq, 0);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &ss);
    m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &ds);
    m6ike_pfkey_add_proposal(&b, 64, &comb, 1);
    if (reference) m6ike_pfkey_add_reference(&b, mpi);
    int len = m6ike_pfkey_builder_finish(&b);
    if (len < 0) return len;
    return m6ike_pfkey_bus_send(bus, mob, buf, static_cast<size_t>(len), now);
  }
};

// RFC 4877 policies.  MN: a transport pair for the Mobility Header between
// HoA and HA, and a tunnel pair HoA <-> anything (placeholders :: are
// filled from the MSRD).  HA: the same with its own addresses.
m6ike_ikev2_mobility_cfg MnMobility() {
  m6ike_ikev2_mobility_cfg mc{};
  mc.peer = PeerCfg("mn.example", "ha.example", "::", "::", "correct horse");
  mc.children[0] = ChildCfg(M6IKE_IKEV2_MODE_TRANSPORT, Sel("::", "::", 135),
                            Sel("::", "::", 135));
  mc.children[0].reqid = 1;
  mc.children[1] = ChildCfg(M6IKE_IKEV2_MODE_TUNNEL, Sel("::", "::", 0),
                            Prefix("::", 0));
  mc.children[1].reqid = 2;
  mc.n_children = 2;
  return mc;
}

void AddHaPolicy(m6ike_ikev2 *ha) {
  m6ike_ikev2_peer_cfg pc =
      PeerCfg("ha.example", "mn.example", kHA, "::", "correct horse");
  m6ike_ikev2_child_cfg ch[2];
  ch[0] = ChildCfg(M6IKE_IKEV2_MODE_TRANSPORT, Sel(kHA, kHA, 135),
                   PrefixProto("2001:db8:1::", 64, 135));
  ch[1] = ChildCfg(M6IKE_IKEV2_MODE_TUNNEL, Prefix("::", 0),
                   Prefix("2001:db8:1::", 64));
  ASSERT_EQ(0, m6ike_ikev2_add_peer(ha, &pc, ch, 2));
}

struct World {
  IkePair p;
  MnStack mn;
  explicit World(const m6ike_crypto *cr = m6ike_crypto_null(),
                 const m6ike_mem *mem = nullptr)
      : p(cr, nullptr, mem), mn(mem) {}
  bool Setup() {
    if (!p.Ok() || !mn.ok) return false;
    auto mc = MnMobility();
    if (m6ike_ikev2_attach_pfkey(p.a.ike, mn.bus, mn.km, mn.reader) != 0)
      return false;
    if (m6ike_ikev2_set_mobility(p.a.ike, &mc) != 0) return false;
    AddHaPolicy(p.b.ike);
    return true;
  }
  // The mobility side signals; the host runs the key manager.
  int Signal(const char *coa, bool reference) {
    int rc = mn.Acquire(coa, reference, p.now);
    if (rc < 0) return rc;
    return m6ike_ikev2_process_pfkey(p.a.ike, p.now);
  }
  void Bootstrap() {
    ASSERT_EQ(0, mn.Insert(kCoA1, p.now));
    ASSERT_EQ(1, Signal(kCoA1, true));
    p.RunFor(2 * kSec);
    ASSERT_EQ(2u, p.a.up.size());
    ASSERT_EQ(2u, p.b.up.size());
  }
};

bool Eq(const m6ike_addr6 &a, const char *text) {
  m6ike_addr6 b = Addr(text);
  return m6ike_addr6_equal(&a, &b) != 0;
}

bool AddrIs(const uint8_t *a, const char *text) {
  return std::memcmp(a, Addr(text).b, 16) == 0;
}

TEST(Ikev2Msrd, BootstrapFromCoaWithHoaInTsi) {
  World w;
  ASSERT_TRUE(w.Setup());
  ASSERT_EQ(0, w.mn.Insert(kCoA1, 0));
  EXPECT_EQ(1, w.Signal(kCoA1, true));
  w.p.RunFor(2 * kSec);
  /* IKE_SA_INIT { SA, KEi, Ni }        CoA1 --> HA
   *                          <-- IKE_SA_INIT { SA, KEr, Nr }
   * IKE_AUTH { SK{IDi, AUTH, N(USE_TRANSPORT_MODE), SA,
   *               TSi(HoA, MH), TSr(HA, MH)} } -->
   *                          <-- IKE_AUTH { SK{IDr, AUTH, N(UTM), SA, TSi,
   *                                           TSr} }
   * CREATE_CHILD_SA { SK{SA, Ni, TSi(HoA), TSr(::/0)} } -->  (tunnel)
   *                          <-- CREATE_CHILD_SA { SK{SA, Nr, TSi, TSr} } */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH< "
            "A:CREATE_CHILD_SA> B:CREATE_CHILD_SA<",
            w.p.Diagram());
  EXPECT_TRUE(Eq(w.p.wire[0].path.local, kCoA1));
  EXPECT_TRUE(Eq(w.p.wire[0].path.remote, kHA));
  ASSERT_EQ(2u, w.p.a.up.size());
  ASSERT_EQ(2u, w.p.b.up.size());
  const auto &tr = w.p.a.up[0], &tu = w.p.a.up[1];
  // Transport pair for BU/BA: HoA <-> HA, Mobility Header only.
  EXPECT_EQ(M6IKE_IKEV2_MODE_TRANSPORT, tr.mode);
  EXPECT_EQ(135, tr.ts_local[0].ip_proto);
  EXPECT_TRUE(AddrIs(tr.ts_local[0].start_addr, kHoA));
  EXPECT_TRUE(AddrIs(tr.ts_remote[0].start_addr, kHA));
  EXPECT_TRUE(Eq(tr.local, kHoA));
  EXPECT_TRUE(Eq(tr.remote, kHA));
  EXPECT_EQ(1u, tr.reqid);
  // Tunnel pair: CoA <-> HA outer, HoA inside.
  EXPECT_EQ(M6IKE_IKEV2_MODE_TUNNEL, tu.mode);
  EXPECT_TRUE(AddrIs(tu.ts_local[0].start_addr, kHoA));
  EXPECT_TRUE(AddrIs(tu.ts_local[0].end_addr, kHoA));
  EXPECT_TRUE(Eq(tu.local, kCoA1));
  EXPECT_TRUE(Eq(tu.remote, kHA));
  // The HA sees the same: transport HA <-> HoA, tunnel HA <-> CoA1.
  EXPECT_TRUE(Eq(w.p.b.up[0].remote, kHoA));
  EXPECT_TRUE(Eq(w.p.b.up[1].remote, kCoA1));
  ExpectChildPair(w.p.a.up[1], w.p.b.up[1]);
  m6ike_ikev2_handover ho;
  ASSERT_EQ(0, m6ike_ikev2_get_handover(w.p.a.ike, &ho));
  EXPECT_EQ(M6IKE_IKEV2_HO_BOOTSTRAP, ho.kind);
  EXPECT_EQ(w.mn.mpi, ho.mpi);
  EXPECT_EQ(0, ho.result);
  EXPECT_NE(M6IKE_TSTAMP_UNSET, ho.completed);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_IKE_SA_INIT]);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_IKE_AUTH]);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_CREATE_CHILD_SA]);
  EXPECT_EQ(0u, ho.msgs[M6IKE_IKEV2_X_INFORMATIONAL]);
  // The same ACQUIRE again (CoA unchanged): nothing to do.
  size_t n = w.p.wire.size();
  EXPECT_EQ(1, w.Signal(kCoA1, true));
  w.p.RunFor(kSec);
  EXPECT_EQ(n, w.p.wire.size());
}

TEST(Ikev2Msrd, HandoverDirectUpdateOneInformationalPair) {
  World w;
  ASSERT_TRUE(w.Setup());
  w.Bootstrap();
  m6ike_ikev2_child_info before_a = w.p.a.up[1], before_b = w.p.b.up[1];
  size_t n = w.p.wire.size();
  m6ike_tstamp t0 = w.p.now;
  ASSERT_EQ(0, w.mn.Move(kCoA2, w.p.now));
  EXPECT_EQ(1, w.Signal(kCoA2, true));
  // The MN's tunnel SAs moved at once, before any message.
  ASSERT_EQ(1u, w.p.a.updated.size());
  EXPECT_TRUE(Eq(w.p.a.updated[0].local, kCoA2));
  w.p.RunFor(2 * kSec);
  /* (ACQUIRE + Reference: tunnel SAs CoA1 -> CoA2 in place, no DH)
   * INFORMATIONAL { SK{N(M6IKE_SA_ADDRESS_UPDATE(MPI, CoA2))} }
   *                                           CoA2 --> HA
   *                                  <-- INFORMATIONAL { SK{} } */
  EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", w.p.Diagram(n));
  EXPECT_TRUE(Eq(w.p.wire[n].path.local, kCoA2));
  EXPECT_TRUE(Eq(w.p.wire[n + 1].path.remote, kCoA2));
  // The notify is inside SK: the wire does not show the CoA in clear?  (The
  // NULL backend copies; the message is authenticated either way.)
  m6ike_ikev2_msg m;
  ASSERT_GT(m6ike_ikev2_parse(&m, w.p.wire[n].bytes.data(),
                              w.p.wire[n].bytes.size(), 0),
            0);
  EXPECT_GE(m.sk, 0);
  // Same SPIs and keys, new endpoints, on both sides; transport unchanged.
  ASSERT_EQ(1u, w.p.a.updated.size());
  ASSERT_EQ(1u, w.p.b.updated.size());
  const auto &ua = w.p.a.updated[0], &ub = w.p.b.updated[0];
  EXPECT_EQ(before_a.spi_in, ua.spi_in);
  EXPECT_EQ(before_a.spi_out, ua.spi_out);
  EXPECT_EQ(0, std::memcmp(before_a.enc_out, ua.enc_out, ua.enc_len));
  EXPECT_EQ(before_b.spi_in, ub.spi_in);
  EXPECT_TRUE(Eq(ub.remote, kCoA2));
  EXPECT_TRUE(Eq(ub.local, kHA));
  EXPECT_EQ(2u, w.p.a.up.size()); // nothing new
  EXPECT_EQ(2u, w.p.b.up.size());
  EXPECT_TRUE(w.p.a.down.empty());
  EXPECT_TRUE(w.p.b.down.empty());
  m6ike_ikev2_ike_info hb;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(w.p.b.ike, w.p.b.ike_up[0].sa_id, &hb));
  EXPECT_TRUE(Eq(hb.path.remote, kCoA2));
  m6ike_ikev2_handover ho;
  ASSERT_EQ(0, m6ike_ikev2_get_handover(w.p.a.ike, &ho));
  EXPECT_EQ(M6IKE_IKEV2_HO_DIRECT_UPDATE, ho.kind);
  EXPECT_EQ(0, ho.result);
  EXPECT_EQ(0u, ho.msgs[M6IKE_IKEV2_X_IKE_SA_INIT]);
  EXPECT_EQ(0u, ho.msgs[M6IKE_IKEV2_X_IKE_AUTH]);
  EXPECT_EQ(0u, ho.msgs[M6IKE_IKEV2_X_CREATE_CHILD_SA]);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_INFORMATIONAL]);
  EXPECT_EQ(w.p.wire[n].len + w.p.wire[n + 1].len, ho.bytes);
  EXPECT_EQ(t0 + 20 * kMs, ho.completed); // one round trip
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(w.p.b.ike, &st);
  EXPECT_EQ(1u, st.peer_updates);
  m6ike_ikev2_get_stats(w.p.a.ike, &st);
  EXPECT_EQ(1u, st.direct_updates);
  EXPECT_EQ(2u, st.acquires_ref);
  // The HA now reaches the MN at CoA2 (its IKE SA moved too).
  n = w.p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_liveness(w.p.b.ike, w.p.b.ike_up[0].sa_id,
                                    w.p.now));
  w.p.RunFor(kSec);
  EXPECT_EQ("B:INFORMATIONAL> A:INFORMATIONAL<", w.p.Diagram(n));
  EXPECT_TRUE(Eq(w.p.wire[n].path.remote, kCoA2));
}

TEST(Ikev2Msrd, HandoverWithoutReferenceRenegotiates) {
  World w;
  ASSERT_TRUE(w.Setup());
  w.Bootstrap();
  uint32_t old_b = w.p.b.ike_up[0].sa_id;
  size_t n = w.p.wire.size();
  ASSERT_EQ(0, w.mn.Move(kCoA2, w.p.now));
  EXPECT_EQ(1, w.Signal(kCoA2, false)); // a stock key manager
  w.p.RunFor(2 * kSec);
  /* A whole new IKE SA from CoA2 (INITIAL_CONTACT in IKE_AUTH), the
   * transport pair in IKE_AUTH and the tunnel pair with CREATE_CHILD_SA;
   * the HA drops the old IKE SA on INITIAL_CONTACT. */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH< "
            "A:CREATE_CHILD_SA> B:CREATE_CHILD_SA<",
            w.p.Diagram(n));
  EXPECT_TRUE(Eq(w.p.wire[n].path.local, kCoA2));
  ASSERT_EQ(4u, w.p.a.up.size());
  ASSERT_EQ(4u, w.p.b.up.size());
  EXPECT_EQ(2u, w.p.a.down.size());
  EXPECT_EQ(2u, w.p.b.down.size());
  ASSERT_EQ(1u, w.p.b.ike_down.size());
  EXPECT_EQ(old_b, w.p.b.ike_down[0].first);
  EXPECT_EQ(M6IKE_ERR_IKEV2_DELETED, w.p.b.ike_down[0].second);
  EXPECT_EQ(1u, m6ike_ikev2_count(w.p.a.ike));
  EXPECT_EQ(1u, m6ike_ikev2_count(w.p.b.ike));
  // New SPIs and keys; the HoA is still in TSi (static configuration).
  EXPECT_NE(w.p.a.up[1].spi_in, w.p.a.up[3].spi_in);
  EXPECT_TRUE(AddrIs(w.p.a.up[3].ts_local[0].start_addr, kHoA));
  EXPECT_TRUE(Eq(w.p.a.up[3].local, kCoA2));
  EXPECT_TRUE(w.p.a.updated.empty());
  m6ike_ikev2_handover ho;
  ASSERT_EQ(0, m6ike_ikev2_get_handover(w.p.a.ike, &ho));
  EXPECT_EQ(M6IKE_IKEV2_HO_RENEGOTIATE, ho.kind);
  EXPECT_EQ(0, ho.result);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_IKE_SA_INIT]);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_IKE_AUTH]);
  EXPECT_EQ(2u, ho.msgs[M6IKE_IKEV2_X_CREATE_CHILD_SA]);
  EXPECT_EQ(0u, ho.msgs[M6IKE_IKEV2_X_INFORMATIONAL]);
  EXPECT_EQ(3 * 20 * kMs, ho.completed - ho.started); // three round trips
}

// Table I in messages and bytes: the direct update against the baseline.
TEST(Ikev2Msrd, DirectUpdateCostsLessThanRenegotiation) {
  m6ike_ikev2_handover direct{}, reneg{};
  for (int ref = 0; ref < 2; ref++) {
    World w;
    ASSERT_TRUE(w.Setup());
    w.Bootstrap();
    ASSERT_EQ(0, w.mn.Move(kCoA2, w.p.now));
    EXPECT_EQ(1, w.Signal(kCoA2, ref == 1));
    w.p.RunFor(2 * kSec);
    ASSERT_EQ(0, m6ike_ikev2_get_handover(w.p.a.ike, ref ? &direct : &reneg));
  }
  uint32_t md = 0, mr = 0;
  for (int x = 0; x < M6IKE_IKEV2_X_COUNT; x++) {
    md += direct.msgs[x];
    mr += reneg.msgs[x];
  }
  EXPECT_EQ(2u, md);
  EXPECT_EQ(6u, mr);
  EXPECT_LT(direct.bytes * 4, reneg.bytes);
  EXPECT_LT(direct.completed - direct.started,
            reneg.completed - reneg.started);
}

// The update request is lost once: retransmitted from the new CoA.
TEST(Ikev2Msrd, LostUpdateIsRetransmitted) {
  World w;
  ASSERT_TRUE(w.Setup());
  w.Bootstrap();
  int drops = 0;
  w.p.drop = [&](const Wire &x) {
    return x.exchange == M6IKE_IKEV2_INFORMATIONAL && !x.response &&
           drops++ == 0;
  };
  size_t n = w.p.wire.size();
  ASSERT_EQ(0, w.mn.Move(kCoA2, w.p.now));
  w.Signal(kCoA2, true);
  w.p.RunFor(3 * kSec);
  EXPECT_EQ("A:INFORMATIONAL>(lost) A:INFORMATIONAL> B:INFORMATIONAL<",
            w.p.Diagram(n));
  EXPECT_EQ(1u, w.p.b.updated.size());
  m6ike_ikev2_handover ho;
  ASSERT_EQ(0, m6ike_ikev2_get_handover(w.p.a.ike, &ho));
  EXPECT_EQ(0, ho.result);
  EXPECT_EQ(3u, ho.msgs[M6IKE_IKEV2_X_INFORMATIONAL]);
}

// Two handovers in a row, then back: each is one INFORMATIONAL pair.
TEST(Ikev2Msrd, RepeatedHandovers) {
  World w;
  ASSERT_TRUE(w.Setup());
  w.Bootstrap();
  const char *coas[] = {kCoA2, "2001:db8:4::100", kCoA1};
  for (const char *c : coas) {
    size_t n = w.p.wire.size();
    ASSERT_EQ(0, w.mn.Move(c, w.p.now));
    EXPECT_EQ(1, w.Signal(c, true));
    w.p.RunFor(kSec);
    EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", w.p.Diagram(n)) << c;
    EXPECT_TRUE(Eq(w.p.b.updated.back().remote, c));
  }
  EXPECT_EQ(3u, w.p.b.updated.size());
  EXPECT_EQ(2u, w.p.b.up.size());
}

TEST(Ikev2Msrd, Refusals) {
  World w;
  ASSERT_TRUE(w.Setup());
  // Unknown MPI (no entry yet): nothing happens.
  w.mn.mpi = 99;
  EXPECT_EQ(0, w.Signal(kCoA1, true));
  EXPECT_TRUE(w.p.wire.empty());
  m6ike_ikev2_handover ho;
  EXPECT_EQ(M6IKE_ERR_NOT_FOUND, m6ike_ikev2_get_handover(w.p.a.ike, &ho));
  EXPECT_TRUE(w.p.a.HasLog("not in the MSRD"));
  // Attached twice; not attached; no mobility config.
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
            m6ike_ikev2_attach_pfkey(w.p.a.ike, w.mn.bus, w.mn.km, nullptr));
  EXPECT_EQ(M6IKE_ERR_IKEV2_NOT_READY,
            m6ike_ikev2_process_pfkey(w.p.b.ike, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_attach_pfkey(w.p.b.ike, nullptr, 1, nullptr));
  m6ike_ikev2_mobility_cfg mc = MnMobility();
  mc.n_children = 0;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_set_mobility(w.p.a.ike, &mc));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_get_handover(w.p.a.ike, nullptr));
}

TEST(Ikev2Msrd, BootstrapOpenSsl) {
  m6ike_crypto *cr = nullptr;
  ASSERT_EQ(0, m6ike_crypto_openssl_new(&cr, nullptr));
  {
    World w(cr);
    ASSERT_TRUE(w.Setup());
    w.Bootstrap();
    ASSERT_EQ(0, w.mn.Move(kCoA2, w.p.now));
    EXPECT_EQ(1, w.Signal(kCoA2, true));
    w.p.RunFor(kSec);
    EXPECT_EQ(1u, w.p.b.updated.size());
    ExpectChildPair(w.p.a.up[1], w.p.b.up[1]);
  }
  m6ike_crypto_del(cr);
}

TEST(Ikev2Msrd, FailingAllocationsOverBootstrapAndHandover) {
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    m6ike_crypto *cr = nullptr;
    ASSERT_EQ(0, m6ike_crypto_null_new(&cr, &fm.mem));
    bool done;
    {
      World w(cr, &fm.mem);
      ASSERT_TRUE(w.Setup());
      ASSERT_EQ(0, w.mn.Insert(kCoA1, 0));
      fm.reset(fail);
      w.Signal(kCoA1, true);
      w.p.RunFor(40 * kSec);
      w.mn.Move(kCoA2, w.p.now);
      w.Signal(kCoA2, true);
      w.p.RunFor(40 * kSec);
      done = fm.calls < fail;
      if (done) {
        EXPECT_EQ(1u, w.p.b.updated.size());
      }
    }
    m6ike_crypto_del(cr);
    EXPECT_EQ(0, fm.live) << "leak with allocation " << fail << " failing";
    if (done) break;
    ASSERT_LT(fail, 3000u);
  }
}

// SADB_X_MIGRATE from a mobility daemon (seeds 002/003): src/dst selector,
// X_POLICY with the (old, new) tunnel endpoints, KMADDRESS if asked.
int SendMigrate(m6ike_pfkey_bus *bus, m6ike_pfkey_ep mob, const char *os,
                const char *od, const char *ns, const char *nd, uint32_t reqid,
                const char *km_local, const char *km_remote) {
  uint8_t buf[1024];
  m6ike_pfkey_builder b;
  m6ike_addr6 a[6] = {Addr(kHoA), Addr("::"), Addr(os), Addr(od), Addr(ns),
                      Addr(nd)};
  m6ike_pfkey_sockaddr sa[6];
  for (int i = 0; i < 6; i++) sa[i] = m6ike_pfkey_sockaddr6(&a[i], 0);
  m6ike_pfkey_builder_begin(&b, buf, sizeof buf, M6IKE_SADB_X_MIGRATE, 0, 1,
                            0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &sa[0]);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 0, &sa[1]);
  m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC,
                         M6IKE_IPSEC_DIR_OUTBOUND, 0, 0);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &sa[2],
                               &sa[3]);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &sa[4],
                               &sa[5]);
  if (km_local) {
    m6ike_addr6 l = Addr(km_local), r = Addr(km_remote);
    m6ike_pfkey_sockaddr ls = m6ike_pfkey_sockaddr6(&l, 500);
    m6ike_pfkey_sockaddr rs = m6ike_pfkey_sockaddr6(&r, 500);
    m6ike_pfkey_add_kmaddress(&b, &ls, &rs);
  }
  int len = m6ike_pfkey_builder_finish(&b);
  if (len < 0) return len;
  return m6ike_pfkey_bus_send(bus, mob, buf, static_cast<size_t>(len), 0);
}

void MigrateBothSides(bool kmaddress) {
  World w;
  ASSERT_TRUE(w.Setup());
  w.Bootstrap();
  // The HA's own PF_KEY bus, its engine attached as key manager.
  m6ike_pfkey_bus *hbus = nullptr;
  m6ike_pfkey_ep hkm = 0, hmob = 0;
  ASSERT_EQ(0, m6ike_pfkey_bus_new(&hbus, nullptr, nullptr));
  ASSERT_EQ(0, m6ike_pfkey_bus_open(hbus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0,
                                    nullptr, nullptr, &hkm));
  ASSERT_EQ(0, m6ike_pfkey_bus_open(hbus, M6IKE_PFKEY_ROLE_MOBILITY, 0,
                                    nullptr, nullptr, &hmob));
  ASSERT_EQ(0, m6ike_ikev2_attach_pfkey(w.p.b.ike, hbus, hkm, nullptr));
  size_t n = w.p.wire.size();
  // MN and HA mobility daemons both migrate (after the BU/BA).
  ASSERT_GT(SendMigrate(w.mn.bus, w.mn.mob, kCoA1, kHA, kCoA2, kHA, 2,
                        kmaddress ? kCoA2 : nullptr, kHA),
            0);
  ASSERT_GT(SendMigrate(hbus, hmob, kHA, kCoA1, kHA, kCoA2, 7,
                        kmaddress ? kHA : nullptr, kCoA2),
            0);
  EXPECT_EQ(1, m6ike_ikev2_process_pfkey(w.p.a.ike, w.p.now));
  EXPECT_EQ(1, m6ike_ikev2_process_pfkey(w.p.b.ike, w.p.now));
  w.p.RunFor(kSec);
  // No IKE message at all; both images follow the kernels.
  EXPECT_EQ(n, w.p.wire.size());
  ASSERT_EQ(1u, w.p.a.updated.size());
  ASSERT_EQ(1u, w.p.b.updated.size());
  EXPECT_TRUE(Eq(w.p.a.updated[0].local, kCoA2));
  EXPECT_TRUE(Eq(w.p.b.updated[0].remote, kCoA2));
  EXPECT_EQ(w.p.a.up[1].spi_in, w.p.a.updated[0].spi_in);
  m6ike_ikev2_ike_info ia, ib;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(w.p.a.ike, w.p.a.ike_up[0].sa_id,
                                        &ia));
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(w.p.b.ike, w.p.b.ike_up[0].sa_id,
                                        &ib));
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(w.p.a.ike, &st);
  EXPECT_EQ(1u, st.migrates);
  EXPECT_EQ(kmaddress ? 1u : 0u, st.migrate_ike_moved);
  // CoA1 is gone: whatever is sent from or to it is lost.
  w.p.drop = [](const Wire &x) {
    return Eq(x.path.local, kCoA1) || Eq(x.path.remote, kCoA1);
  };
  n = w.p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_liveness(w.p.a.ike, ia.sa_id, w.p.now));
  w.p.RunFor(60 * kSec);
  if (kmaddress) {
    EXPECT_TRUE(Eq(ia.path.local, kCoA2));
    EXPECT_TRUE(Eq(ib.path.remote, kCoA2));
    EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", w.p.Diagram(n));
    EXPECT_TRUE(w.p.a.ike_down.empty());
  } else {
    /* Without KMADDRESS the IKE SA still uses CoA1: the liveness check is
     * lost six times and the IKE SA, with the CHILD_SAs just migrated,
     * is deleted. */
    EXPECT_TRUE(Eq(ia.path.local, kCoA1));
    EXPECT_TRUE(Eq(ib.path.remote, kCoA1));
    EXPECT_EQ(6u, w.p.wire.size() - n);
    ASSERT_EQ(1u, w.p.a.ike_down.size());
    EXPECT_EQ(M6IKE_ERR_IKEV2_TIMEOUT, w.p.a.ike_down[0].second);
    EXPECT_EQ(2u, w.p.a.down.size());
    EXPECT_TRUE(w.p.a.HasLog("without KMADDRESS"));
  }
  m6ike_pfkey_bus_del(hbus);
}

TEST(Ikev2Migrate, WithKmaddressTheIkeSaMoves) { MigrateBothSides(true); }
TEST(Ikev2Migrate, WithoutKmaddressTheIkeSaStays) { MigrateBothSides(false); }

// RFC 4877 details: an RFC 822 identity, MH-type selectors (BU out, BA
// in), and a dynamic home address and prefix through the CP payload.
TEST(Ikev2Rfc4877, Rfc822IdentityAndMhTypeSelectors) {
  IkePair p(m6ike_crypto_null());
  ASSERT_TRUE(p.Ok());
  m6ike_ikev2_peer_cfg mn =
      PeerCfg("x", "ha.example", kCoA1, kHA, "correct horse");
  m6ike_ikev2_peer_cfg ha =
      PeerCfg("ha.example", "x", kHA, "::", "correct horse");
  const char *email = "alice@home.example";
  mn.local_id.type = ha.remote_id.type = M6IKE_IKEV2_ID_RFC822_ADDR;
  mn.local_id.len = ha.remote_id.len = static_cast<uint8_t>(strlen(email));
  std::memcpy(mn.local_id.data, email, mn.local_id.len);
  std::memcpy(ha.remote_id.data, email, mn.local_id.len);
  // MN: BU (MH type 5) from HoA to HA; HA: anything MH from the home
  // prefix to it.
  m6ike_ikev2_child_cfg mc{}, hc{};
  m6ike_addr6 hoa = Addr(kHoA), haa = Addr(kHA);
  mc = ChildCfg(M6IKE_IKEV2_MODE_TRANSPORT, Prefix("::", 0), Prefix("::", 0));
  m6ike_ikev2_ts_set_mh(&mc.ts_local[0], &hoa, 5);
  m6ike_ikev2_ts_set6(&mc.ts_remote[0], &haa, &haa, 135, 0, 65535);
  hc = ChildCfg(M6IKE_IKEV2_MODE_TRANSPORT, Sel(kHA, kHA, 135),
                PrefixProto("2001:db8:1::", 64, 135));
  ASSERT_EQ(0, m6ike_ikev2_add_peer(p.b.ike, &ha, &hc, 1));
  ASSERT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &mn, &mc, 0, nullptr));
  p.RunFor(kSec);
  ASSERT_EQ(1u, p.b.up.size());
  ASSERT_EQ(1u, p.b.ike_up.size());
  EXPECT_EQ(M6IKE_IKEV2_ID_RFC822_ADDR, p.b.ike_up[0].remote_id.type);
  uint8_t t = 0;
  // The HA's view: the peer's side is the HoA with MH type BU only.
  EXPECT_TRUE(m6ike_ikev2_ts_get_mh(&p.b.up[0].ts_remote[0], &t));
  EXPECT_EQ(5, t);
  EXPECT_TRUE(AddrIs(p.b.up[0].ts_remote[0].start_addr, kHoA));
  EXPECT_EQ(M6IKE_IKEV2_MODE_TRANSPORT, p.b.up[0].mode);
}

TEST(Ikev2Rfc4877, DynamicHomeAddressThroughCp) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.cp_request = M6IKE_IKEV2_CP_WANT_ADDR | M6IKE_IKEV2_CP_WANT_HOME_PREFIX;
  s.mn_child.ts_local[0] = Prefix("::", 0); // HoA not known yet
  s.ha.cp_addr = Addr("2001:db8:1::77");
  s.ha.cp_addr_plen = 64;
  s.ha.cp_prefix = Addr("2001:db8:1::");
  s.ha.cp_prefix_plen = 64;
  s.ha.cp_prefix_lifetime = 3600;
  uint32_t id = Start(p, s);
  p.RunFor(kSec);
  /* IKE_AUTH { SK{IDi, AUTH, CP(CFG_REQUEST){INTERNAL_IP6_ADDRESS,
   *                MIP6_HOME_PREFIX}, SA, TSi(::/0), TSr} } -->
   *   <-- IKE_AUTH { SK{IDr, AUTH, CP(CFG_REPLY){2001:db8:1::77/64,
   *                    2001:db8:1::/64 3600 s}, SA, TSi(::77), TSr} } */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  m6ike_ikev2_ike_info info;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.a.ike, id, &info));
  EXPECT_EQ(M6IKE_IKEV2_CP_WANT_ADDR | M6IKE_IKEV2_CP_WANT_HOME_PREFIX,
            info.cp_got);
  EXPECT_TRUE(Eq(info.cp_addr, "2001:db8:1::77"));
  EXPECT_EQ(64, info.cp_addr_plen);
  EXPECT_TRUE(Eq(info.cp_prefix, "2001:db8:1::"));
  EXPECT_EQ(64, info.cp_prefix_plen);
  EXPECT_EQ(3600u, info.cp_prefix_lifetime);
  ASSERT_EQ(1u, p.a.up.size());
  // TSi narrowed to the assigned address.
  EXPECT_TRUE(AddrIs(p.a.up[0].ts_local[0].start_addr, "2001:db8:1::77"));
  EXPECT_TRUE(AddrIs(p.a.up[0].ts_local[0].end_addr, "2001:db8:1::77"));
  // Without a CP request nothing is assigned.
  IkePair q(m6ike_crypto_null());
  Cfgs s2;
  s2.ha.cp_addr = Addr("2001:db8:1::77");
  uint32_t id2 = Start(q, s2);
  q.RunFor(kSec);
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(q.a.ike, id2, &info));
  EXPECT_EQ(0, info.cp_got);
  EXPECT_TRUE(AddrIs(q.a.up[0].ts_local[0].start_addr, kHoA));
}

} // namespace
