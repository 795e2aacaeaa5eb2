// ikev2 engine: CREATE_CHILD_SA and INFORMATIONAL on an established IKE SA.
#include <gtest/gtest.h>

#include "ikev2_harness.h"
#include "m6ike/crypto_openssl.h"

namespace {

// An established IKE SA with its first CHILD_SA; returns the MN's SA id.
uint32_t Establish(IkePair &p, Cfgs &s) {
  uint32_t id = Start(p, s);
  p.RunFor(2 * kSec);
  EXPECT_EQ(1u, p.a.up.size());
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  return id;
}

TEST(Ikev2Exchange, CreateChildWithoutPfs) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  size_t w = p.wire.size();
  auto cc = s.mn_child;
  cc.mode = M6IKE_IKEV2_MODE_TUNNEL;
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &cc, p.now));
  p.RunFor(2 * kSec);
  /* CREATE_CHILD_SA { SK{SA, Ni, TSi, TSr} } -->
   *        <-- CREATE_CHILD_SA { SK{SA, Nr, TSi, TSr} } */
  EXPECT_EQ("A:CREATE_CHILD_SA> B:CREATE_CHILD_SA<", p.Diagram(w));
  EXPECT_EQ(2u, p.wire[w].mid); // after IKE_SA_INIT (0) and IKE_AUTH (1)
  ASSERT_EQ(2u, p.a.up.size());
  ASSERT_EQ(2u, p.b.up.size());
  ExpectChildPair(p.a.up[1], p.b.up[1]);
  EXPECT_NE(p.a.up[0].spi_in, p.a.up[1].spi_in);
  EXPECT_NE(0, std::memcmp(p.a.up[0].enc_in, p.a.up[1].enc_in,
                           p.a.up[0].enc_len));
  EXPECT_EQ(0, p.a.up[1].alg.dh);
  EXPECT_EQ(2u, m6ike_ikev2_child_count(p.a.ike, id));
  m6ike_ikev2_child_info ci;
  ASSERT_EQ(0, m6ike_ikev2_get_child_info(p.a.ike, p.a.up[1].child_id, &ci));
  EXPECT_EQ(p.a.up[1].spi_in, ci.spi_in);
}

TEST(Ikev2Exchange, CreateChildWithPfsOpenSsl) {
  m6ike_crypto *cr = nullptr;
  ASSERT_EQ(0, m6ike_crypto_openssl_new(&cr, nullptr));
  {
    IkePair p(cr);
    Cfgs s;
    s.mn_child.esp[0].dh = M6IKE_DH_CURVE25519;
    s.ha_child.esp[0].dh = M6IKE_DH_CURVE25519;
    uint32_t id = Establish(p, s);
    // In IKE_AUTH the DH transform is not negotiated.
    EXPECT_EQ(0, p.a.up[0].alg.dh);
    size_t w = p.wire.size();
    ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now));
    p.RunFor(2 * kSec);
    /* CREATE_CHILD_SA { SK{SA, Ni, KEi, TSi, TSr} } -->
     *     <-- CREATE_CHILD_SA { SK{SA, Nr, KEr, TSi, TSr} } */
    EXPECT_EQ("A:CREATE_CHILD_SA> B:CREATE_CHILD_SA<", p.Diagram(w));
    ASSERT_EQ(2u, p.a.up.size());
    ASSERT_EQ(2u, p.b.up.size());
    EXPECT_EQ(M6IKE_DH_CURVE25519, p.a.up[1].alg.dh);
    EXPECT_EQ(M6IKE_DH_CURVE25519, p.b.up[1].alg.dh);
    ExpectChildPair(p.a.up[1], p.b.up[1]);
    // With a KE the request is larger by the 32-octet X25519 value.
    EXPECT_GT(p.wire[w].len, 100u);
  }
  m6ike_crypto_del(cr);
}

// INVALID_KE_PAYLOAD inside CREATE_CHILD_SA: a new exchange with the group
// the responder named.
TEST(Ikev2Exchange, CreateChildInvalidKeRetry) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn_child.esp[0].dh = M6IKE_DH_CURVE25519;
  s.mn_child.esp[1] = s.mn_child.esp[0];
  s.mn_child.esp[1].dh = M6IKE_DH_ECP_256;
  s.mn_child.n_esp = 2;
  s.ha_child.esp[0].dh = M6IKE_DH_ECP_256;
  uint32_t id = Establish(p, s);
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now));
  p.RunFor(2 * kSec);
  /* CREATE_CHILD_SA { SK{SA, Ni, KEi(31), TSi, TSr} } -->
   *     <-- CREATE_CHILD_SA { SK{N(INVALID_KE_PAYLOAD(19))} }
   * CREATE_CHILD_SA { SK{SA, Ni, KEi(19), TSi, TSr} } -->  (mid + 1)
   *     <-- CREATE_CHILD_SA { SK{SA, Nr, KEr, TSi, TSr} } */
  EXPECT_EQ("A:CREATE_CHILD_SA> B:CREATE_CHILD_SA< A:CREATE_CHILD_SA> "
            "B:CREATE_CHILD_SA<",
            p.Diagram(w));
  EXPECT_EQ(p.wire[w].mid + 1, p.wire[w + 2].mid);
  ASSERT_EQ(2u, p.a.up.size());
  EXPECT_EQ(M6IKE_DH_ECP_256, p.a.up[1].alg.dh);
  ExpectChildPair(p.a.up[1], p.b.up[1]);
}

TEST(Ikev2Exchange, CreateChildTsUnacceptable) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  auto cc = s.mn_child;
  cc.ts_local[0] = Prefix("2001:db8:77::1", 128);
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &cc, p.now));
  p.RunFor(2 * kSec);
  EXPECT_EQ(1u, p.a.up.size());
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  EXPECT_TRUE(p.a.HasLog("CHILD_SA failed: responder's notify 38"));
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.a.ike, &st);
  EXPECT_EQ(1u, st.child_sas_failed);
}

TEST(Ikev2Exchange, RekeyChildThenOldDeleted) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn_child.esp[0].dh = s.ha_child.esp[0].dh = M6IKE_DH_MODP_2048;
  uint32_t id = Establish(p, s);
  m6ike_ikev2_child_info old_a = p.a.up[0], old_b = p.b.up[0];
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_rekey_child(p.a.ike, old_a.child_id, p.now));
  p.RunFor(2 * kSec);
  /* CREATE_CHILD_SA { SK{N(REKEY_SA), SA, Ni, KEi, TSi, TSr} } -->
   *     <-- CREATE_CHILD_SA { SK{SA, Nr, KEr, TSi, TSr} }
   * INFORMATIONAL { SK{D(ESP, old SPI)} } -->
   *     <-- INFORMATIONAL { SK{D(ESP, old SPI)} } */
  EXPECT_EQ("A:CREATE_CHILD_SA> B:CREATE_CHILD_SA< A:INFORMATIONAL> "
            "B:INFORMATIONAL<",
            p.Diagram(w));
  ASSERT_EQ(2u, p.a.up.size());
  ASSERT_EQ(2u, p.b.up.size());
  ExpectChildPair(p.a.up[1], p.b.up[1]);
  EXPECT_EQ(M6IKE_DH_MODP_2048, p.a.up[1].alg.dh);
  EXPECT_NE(old_a.spi_in, p.a.up[1].spi_in);
  // Same selectors and policy.
  EXPECT_EQ(0, std::memcmp(old_a.ts_local, p.a.up[1].ts_local,
                           sizeof old_a.ts_local));
  EXPECT_EQ(old_b.reqid, p.b.up[1].reqid);
  ASSERT_EQ(1u, p.a.down.size());
  ASSERT_EQ(1u, p.b.down.size());
  EXPECT_EQ(old_a.spi_in, p.a.down[0].spi_in);
  EXPECT_EQ(old_b.spi_in, p.b.down[0].spi_in);
  EXPECT_EQ(0, p.a.down_reasons[0]);
  EXPECT_EQ(1u, m6ike_ikev2_child_count(p.a.ike, id));
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_SA,
            m6ike_ikev2_rekey_child(p.a.ike, old_a.child_id, p.now));
}

// The responder rekeys (CHILD_SAs belong to both ends).
TEST(Ikev2Exchange, ResponderRekeysAndDeletes) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  Establish(p, s);
  uint32_t child_b = p.b.up[0].child_id;
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_rekey_child(p.b.ike, child_b, p.now));
  p.RunFor(2 * kSec);
  EXPECT_EQ("B:CREATE_CHILD_SA> A:CREATE_CHILD_SA< B:INFORMATIONAL> "
            "A:INFORMATIONAL<",
            p.Diagram(w));
  // The responder's own message IDs start at 0.
  EXPECT_EQ(0u, p.wire[w].mid);
  EXPECT_EQ(1u, p.wire[w + 2].mid);
  ASSERT_EQ(2u, p.b.up.size());
  ExpectChildPair(p.a.up[1], p.b.up[1]);
  EXPECT_EQ(1u, p.a.down.size());
  uint32_t new_b = p.b.up[1].child_id;
  w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_delete_child(p.b.ike, new_b, p.now));
  p.RunFor(2 * kSec);
  EXPECT_EQ("B:INFORMATIONAL> A:INFORMATIONAL<", p.Diagram(w));
  EXPECT_EQ(2u, p.a.down.size());
  EXPECT_EQ(2u, p.b.down.size());
}

// The responder adds a CHILD_SA to an IKE SA the initiator made (charon
// does it with `swanctl --initiate --child` on an existing IKE SA): the
// initiator takes the policy of its first CHILD_SA, also after that pair
// was deleted and after an IKE SA rekey.  (It used to answer
// TS_UNACCEPTABLE: it had no responder policy for SAs it initiated.)
TEST(Ikev2Exchange, ResponderCreatesChildOnInitiatorsSa) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  uint32_t sa_b = p.b.ike_up[0].sa_id;
  auto cc = ChildCfg(M6IKE_IKEV2_MODE_TUNNEL, Prefix("::", 0),
                     Prefix(kHoA, 128)); // B's view of A's policy
  ASSERT_EQ(0, m6ike_ikev2_delete_child(p.a.ike, p.a.up[0].child_id, p.now));
  p.RunFor(2 * kSec);
  ASSERT_EQ(0u, m6ike_ikev2_child_count(p.a.ike, id));
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.b.ike, sa_b, &cc, p.now));
  p.RunFor(2 * kSec);
  /*     <-- CREATE_CHILD_SA { SK{SA, Ni, TSi, TSr} }
   * CREATE_CHILD_SA { SK{SA, Nr, TSi, TSr} } --> */
  EXPECT_EQ("B:CREATE_CHILD_SA> A:CREATE_CHILD_SA<", p.Diagram(w));
  ASSERT_EQ(2u, p.a.up.size());
  ASSERT_EQ(2u, p.b.up.size());
  ExpectChildPair(p.a.up[1], p.b.up[1]);
  EXPECT_EQ(s.mn_child.reqid, p.a.up[1].reqid);
  EXPECT_EQ(1u, m6ike_ikev2_child_count(p.a.ike, id));
  // After an IKE SA rekey the new SA keeps the policy.
  ASSERT_EQ(0, m6ike_ikev2_rekey_ike(p.a.ike, id, p.now));
  p.RunFor(2 * kSec);
  ASSERT_EQ(2u, p.b.ike_up.size());
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.b.ike, p.b.ike_up[1].sa_id, &cc,
                                        p.now));
  p.RunFor(2 * kSec);
  ASSERT_EQ(3u, p.a.up.size());
  ExpectChildPair(p.a.up[2], p.b.up[2]);
  EXPECT_FALSE(p.a.HasLog("CHILD_SA failed: no policy for the proposed "
                          "selectors"));
}

TEST(Ikev2Exchange, RekeyUnknownChildGetsChildSaNotFound) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  Establish(p, s);
  uint32_t child_a = p.a.up[0].child_id;
  // B forgets the pair behind A's back (delete seen by B only).
  p.drop = [](const Wire &w) {
    return w.exchange == M6IKE_IKEV2_INFORMATIONAL && w.response;
  };
  ASSERT_EQ(0, m6ike_ikev2_delete_child(p.a.ike, child_a, p.now));
  p.RunFor(50 * kMs);
  p.drop = nullptr;
  EXPECT_EQ(1u, p.b.down.size());
  EXPECT_EQ(0u, p.a.down.size());
  p.RunFor(5 * kSec); // A's retransmission is answered from B's cache
  EXPECT_EQ(1u, p.a.down.size());
}

TEST(Ikev2Exchange, DeleteChild) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_delete_child(p.a.ike, p.a.up[0].child_id, p.now));
  p.RunFor(2 * kSec);
  /* INFORMATIONAL { SK{D(ESP, SPI_A)} } -->
   *       <-- INFORMATIONAL { SK{D(ESP, SPI_B)} } */
  EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", p.Diagram(w));
  ASSERT_EQ(1u, p.a.down.size());
  ASSERT_EQ(1u, p.b.down.size());
  EXPECT_EQ(p.a.down[0].spi_in, p.b.down[0].spi_out);
  EXPECT_EQ(0u, m6ike_ikev2_child_count(p.a.ike, id));
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  // The response names B's SPI of the pair.
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.b.ike, &st);
  EXPECT_EQ(1u, st.msgs_in[M6IKE_IKEV2_X_INFORMATIONAL]);
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_SA,
            m6ike_ikev2_delete_child(p.a.ike, 12345, p.now));
}

TEST(Ikev2Exchange, DeleteIkeSaTakesChildren) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now));
  p.RunFor(kSec);
  ASSERT_EQ(2u, p.b.up.size());
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_delete_ike(p.a.ike, id, p.now));
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  p.RunFor(2 * kSec);
  /* INFORMATIONAL { SK{D(IKE)} } -->  <-- INFORMATIONAL { SK{} } */
  EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", p.Diagram(w));
  EXPECT_EQ(0u, m6ike_ikev2_count(p.a.ike));
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
  EXPECT_EQ(2u, p.a.down.size());
  EXPECT_EQ(2u, p.b.down.size());
  ASSERT_EQ(1u, p.a.ike_down.size());
  ASSERT_EQ(1u, p.b.ike_down.size());
  EXPECT_EQ(0, p.a.ike_down[0].second);
  EXPECT_EQ(0, p.b.ike_down[0].second);
  // A late retransmission of the delete finds no SA: INVALID_IKE_SPI.
  m6ike_ikev2_path pb{Addr(kHA), Addr(kCoA1), 500, 500};
  EXPECT_EQ(M6IKE_ERR_IKEV2_UNKNOWN_SPI,
            m6ike_ikev2_read_pkt(p.b.ike, &pb, p.wire[w].bytes.data(),
                                 p.wire[w].bytes.size(), p.now));
}

TEST(Ikev2Exchange, ResponderDeletesIkeSa) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  Establish(p, s);
  ASSERT_EQ(0, m6ike_ikev2_delete_ike(p.b.ike, p.b.ike_up[0].sa_id, p.now));
  p.RunFor(2 * kSec);
  EXPECT_EQ(0u, m6ike_ikev2_count(p.a.ike));
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
  EXPECT_EQ(1u, p.a.down.size());
}

// The HA lost a pair (e.g. restarted its ESP): the MN's packets arrive with
// an SPI it does not know, and it tells the MN.
TEST(Ikev2Exchange, InvalidSpiDropsThePair) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  Establish(p, s);
  uint32_t unknown_at_b = p.a.up[0].spi_out; // what A sends to B
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_report_invalid_spi(p.b.ike, p.b.ike_up[0].sa_id,
                                              unknown_at_b, p.now));
  p.RunFor(kSec);
  /* INFORMATIONAL { SK{N(INVALID_SPI(spi))} } -->  <-- INFORMATIONAL {} */
  EXPECT_EQ("B:INFORMATIONAL> A:INFORMATIONAL<", p.Diagram(w));
  ASSERT_EQ(1u, p.a.down.size());
  EXPECT_EQ(unknown_at_b, p.a.down[0].spi_out);
  EXPECT_EQ(M6IKE_ERR_IKEV2_PEER_ERROR, p.a.down_reasons[0]);
  // An SPI that names nothing changes nothing.
  ASSERT_EQ(0, m6ike_ikev2_report_invalid_spi(p.b.ike, p.b.ike_up[0].sa_id,
                                              0x1234, p.now));
  p.RunFor(kSec);
  EXPECT_EQ(1u, p.a.down.size());
}

TEST(Ikev2Exchange, LivenessCheck) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_liveness(p.a.ike, id, p.now));
  p.RunFor(2 * kSec);
  /* INFORMATIONAL { SK{} } -->  <-- INFORMATIONAL { SK{} } */
  EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", p.Diagram(w));
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  // The peer disappears: the check times out and the SA goes.
  p.drop = [](const Wire &) { return true; };
  w = p.wire.size();
  m6ike_tstamp t0 = p.now;
  ASSERT_EQ(0, m6ike_ikev2_liveness(p.a.ike, id, p.now));
  p.RunFor(60 * kSec);
  EXPECT_EQ(6u, p.wire.size() - w);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_TIMEOUT, p.a.ike_down[0].second);
  EXPECT_EQ(1u, p.a.down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_TIMEOUT, p.a.down_reasons[0]);
  EXPECT_EQ(t0 + 15500 * kMs, p.wire.back().t);
}

// Several requests queued at once run one after the other (window 1).
TEST(Ikev2Exchange, QueuedRequestsRunInOrder) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Establish(p, s);
  size_t w = p.wire.size();
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now));
  ASSERT_EQ(0, m6ike_ikev2_liveness(p.a.ike, id, p.now));
  ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now));
  p.RunFor(2 * kSec);
  EXPECT_EQ("A:CREATE_CHILD_SA> B:CREATE_CHILD_SA< A:INFORMATIONAL> "
            "B:INFORMATIONAL< A:CREATE_CHILD_SA> B:CREATE_CHILD_SA<",
            p.Diagram(w));
  for (size_t i = 0; i < 6; i++) {
    EXPECT_EQ(2u + i / 2, p.wire[w + i].mid);
  }
  EXPECT_EQ(3u, p.a.up.size());
}

TEST(Ikev2Exchange, OperationsNeedAnEstablishedSa) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Start(p, s);
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
            m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now));
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE, m6ike_ikev2_liveness(p.a.ike, id, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE, m6ike_ikev2_delete_ike(p.a.ike, id, 0));
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_SA, m6ike_ikev2_delete_ike(p.a.ike, 77, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child,
                                     M6IKE_TSTAMP_UNSET));
  p.RunFor(kSec);
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_create_child(p.a.ike, id, nullptr, p.now));
  auto bad = s.mn_child;
  bad.n_esp = 0;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_create_child(p.a.ike, id, &bad, p.now));
  ASSERT_EQ(0, m6ike_ikev2_delete_ike(p.a.ike, id, p.now));
  p.RunFor(5 * kMs); // request in flight, not yet answered
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
}

TEST(Ikev2Exchange, FailingAllocationsOverRekeyAndDelete) {
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    m6ike_crypto *cr = nullptr;
    ASSERT_EQ(0, m6ike_crypto_null_new(&cr, &fm.mem));
    bool done;
    {
      IkePair p(cr, nullptr, &fm.mem);
      ASSERT_TRUE(p.Ok());
      Cfgs s;
      s.mn_child.esp[0].dh = s.ha_child.esp[0].dh = M6IKE_DH_CURVE25519;
      uint32_t id = Establish(p, s);
      fm.reset(fail); // fail from here on: the handshake is not the subject
      int rc = m6ike_ikev2_rekey_child(p.a.ike, p.a.up[0].child_id, p.now);
      if (rc == 0) {
        p.RunFor(30 * kSec);
        m6ike_ikev2_create_child(p.a.ike, id, &s.mn_child, p.now);
        p.RunFor(30 * kSec);
        m6ike_ikev2_rekey_ike(p.a.ike, id, p.now);
        p.RunFor(30 * kSec);
        m6ike_ikev2_delete_ike(p.a.ike, p.a.ike_up.back().sa_id, p.now);
        m6ike_ikev2_delete_ike(p.a.ike, id, p.now);
        p.RunFor(30 * kSec);
      } else {
        EXPECT_EQ(M6IKE_ERR_IKEV2_SA_NOMEM, rc);
      }
      done = fm.calls < fail;
      if (done) {
        EXPECT_EQ(0u, m6ike_ikev2_count(p.a.ike));
        EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
        EXPECT_EQ(p.a.up.size(), p.a.down.size());
        EXPECT_EQ(p.b.up.size(), p.b.down.size());
      }
    }
    m6ike_crypto_del(cr);
    EXPECT_EQ(0, fm.live) << "leak with allocation " << fail << " failing";
    if (done) break;
    ASSERT_LT(fail, 2000u);
  }
}

TEST(Ikev2Exchange, RekeyIkeSaMovesChildren) {
  for (int side = 0; side < 2; side++) {
    IkePair p(m6ike_crypto_null());
    Cfgs s;
    uint32_t id = Establish(p, s);
    IkeNode &ini = side ? p.b : p.a, &res = side ? p.a : p.b;
    uint32_t old_i = ini.ike_up[0].sa_id, old_r = res.ike_up[0].sa_id;
    size_t w = p.wire.size();
    ASSERT_EQ(0, m6ike_ikev2_rekey_ike(ini.ike, old_i, p.now));
    p.RunFor(2 * kSec);
    /* CREATE_CHILD_SA { SK{SA(IKE, SPIi'), Ni, KEi} } -->
     *       <-- CREATE_CHILD_SA { SK{SA(IKE, SPIr'), Nr, KEr} }
     * INFORMATIONAL { SK{D(IKE)} } (old SA) -->
     *       <-- INFORMATIONAL { SK{} } */
    std::string x = side ? "B:CREATE_CHILD_SA> A:CREATE_CHILD_SA< "
                           "B:INFORMATIONAL> A:INFORMATIONAL<"
                         : "A:CREATE_CHILD_SA> B:CREATE_CHILD_SA< "
                           "A:INFORMATIONAL> B:INFORMATIONAL<";
    EXPECT_EQ(x, p.Diagram(w));
    ASSERT_EQ(2u, ini.ike_up.size());
    ASSERT_EQ(2u, res.ike_up.size());
    const auto &ni = ini.ike_up[1], &nr = res.ike_up[1];
    EXPECT_EQ(1, ni.initiator); // the rekey initiator is the new initiator
    EXPECT_EQ(0, nr.initiator);
    EXPECT_EQ(ni.spi_i, nr.spi_i);
    EXPECT_EQ(ni.spi_r, nr.spi_r);
    EXPECT_NE(ini.ike_up[0].spi_i, ni.spi_i);
    // New keys: a new key-log line, the same on both sides.
    ASSERT_EQ(2u, ini.keylog.size());
    EXPECT_EQ(ini.keylog[1], res.keylog[1]);
    EXPECT_NE(ini.keylog[0], ini.keylog[1]);
    // The old SAs are gone (reason 0), the CHILD_SA survives untouched.
    ASSERT_EQ(1u, ini.ike_down.size());
    EXPECT_EQ(old_i, ini.ike_down[0].first);
    EXPECT_EQ(0, ini.ike_down[0].second);
    ASSERT_EQ(1u, res.ike_down.size());
    EXPECT_EQ(old_r, res.ike_down[0].first);
    EXPECT_TRUE(p.a.down.empty());
    EXPECT_TRUE(p.b.down.empty());
    EXPECT_EQ(1u, m6ike_ikev2_count(p.a.ike));
    EXPECT_EQ(1u, m6ike_ikev2_child_count(ini.ike, ni.sa_id));
    m6ike_ikev2_child_info ci;
    ASSERT_EQ(0, m6ike_ikev2_get_child_info(ini.ike, ini.up[0].child_id, &ci));
    EXPECT_EQ(ni.sa_id, ci.sa_id);
    EXPECT_EQ(M6IKE_ERR_IKEV2_NO_SA, m6ike_ikev2_get_state(p.a.ike, id));
    // The new SA works: a CHILD_SA rekey and a liveness check over it,
    // with message IDs starting at 0.
    w = p.wire.size();
    ASSERT_EQ(0, m6ike_ikev2_rekey_child(ini.ike, ini.up[0].child_id, p.now));
    p.RunFor(2 * kSec);
    EXPECT_EQ(0u, p.wire[w].mid);
    EXPECT_EQ(2u, ini.up.size());
    ExpectChildPair(side ? p.a.up[1] : p.a.up[1], p.b.up[1]);
    ASSERT_EQ(0, m6ike_ikev2_liveness(res.ike, nr.sa_id, p.now));
    p.RunFor(2 * kSec);
    EXPECT_EQ(1u, m6ike_ikev2_count(p.b.ike));
  }
}

TEST(Ikev2Exchange, RekeyIkeSaOpenSsl) {
  m6ike_crypto *cr = nullptr;
  ASSERT_EQ(0, m6ike_crypto_openssl_new(&cr, nullptr));
  {
    IkePair p(cr);
    Cfgs s;
    s.mn.ike[0] = s.ha.ike[0] =
        Algs(M6IKE_ENCR_AES_CBC, 128, M6IKE_PRF_HMAC_SHA2_256,
             M6IKE_INTEG_HMAC_SHA2_256_128, M6IKE_DH_ECP_256);
    uint32_t id = Establish(p, s);
    ASSERT_EQ(0, m6ike_ikev2_rekey_ike(p.a.ike, id, p.now));
    p.RunFor(2 * kSec);
    ASSERT_EQ(2u, p.a.ike_up.size());
    ASSERT_EQ(0, m6ike_ikev2_create_child(p.a.ike, p.a.ike_up[1].sa_id,
                                          &s.mn_child, p.now));
    p.RunFor(2 * kSec);
    ASSERT_EQ(2u, p.a.up.size());
    ExpectChildPair(p.a.up[1], p.b.up[1]);
  }
  m6ike_crypto_del(cr);
}

bool Eq(const m6ike_addr6 &a, const char *t) {
  m6ike_addr6 b = Addr(t);
  return m6ike_addr6_equal(&a, &b) != 0;
}

TEST(Ikev2Mobike, UpdateSaAddresses) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.mobike = s.ha.mobike = 1;
  s.mn.no_nats = 1;
  uint32_t id = Establish(p, s);
  m6ike_ikev2_ike_info ia;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.a.ike, id, &ia));
  EXPECT_EQ(1, ia.mobike);
  EXPECT_EQ(1, p.b.ike_up[0].mobike);
  size_t n = p.wire.size();
  m6ike_addr6 coa2 = Addr(kCoA2);
  ASSERT_EQ(0, m6ike_ikev2_mobike_update(p.a.ike, id, &coa2, p.now));
  ASSERT_EQ(1u, p.a.updated.size()); // moved at once
  p.RunFor(kSec);
  /* INFORMATIONAL { SK{N(UPDATE_SA_ADDRESSES), N(NAT_D_S), N(NAT_D_D),
   *                    N(COOKIE2), N(NO_NATS_ALLOWED)} }  CoA2 --> HA
   *       <-- INFORMATIONAL { SK{N(NAT_D_S), N(NAT_D_D), N(COOKIE2)} } */
  EXPECT_EQ("A:INFORMATIONAL> B:INFORMATIONAL<", p.Diagram(n));
  EXPECT_TRUE(Eq(p.wire[n].path.local, kCoA2));
  EXPECT_TRUE(Eq(p.wire[n + 1].path.remote, kCoA2));
  ASSERT_EQ(1u, p.b.updated.size());
  EXPECT_TRUE(Eq(p.b.updated[0].remote, kCoA2));
  EXPECT_EQ(p.b.up[0].spi_in, p.b.updated[0].spi_in);
  m6ike_ikev2_ike_info ib;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.b.ike, p.b.ike_up[0].sa_id, &ib));
  EXPECT_TRUE(Eq(ib.path.remote, kCoA2));
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.b.ike, &st);
  EXPECT_EQ(1u, st.mobike_updates);
  EXPECT_FALSE(p.a.HasLog("COOKIE2"));
  // Only the original initiator moves the SA.
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
            m6ike_ikev2_mobike_update(p.b.ike, ib.sa_id, &coa2, p.now));
}

TEST(Ikev2Mobike, NoNatsAllowedRefusesANat) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.mobike = s.ha.mobike = 1;
  s.mn.no_nats = 1;
  uint32_t id = Establish(p, s);
  // From CoA2 on, a NAT66 rewrites it.
  p.rewrite = [](int dir, m6ike_ikev2_path &path) {
    m6ike_addr6 pub = Addr("2001:db8:99::1"), priv = Addr(kCoA2);
    if (dir == M6IKE_VLINK_AB && m6ike_addr6_equal(&path.remote, &priv))
      path.remote = pub;
    if (dir == M6IKE_VLINK_BA && m6ike_addr6_equal(&path.local, &pub))
      path.local = priv;
  };
  m6ike_addr6 coa2 = Addr(kCoA2);
  ASSERT_EQ(0, m6ike_ikev2_mobike_update(p.a.ike, id, &coa2, p.now));
  p.RunFor(kSec);
  EXPECT_TRUE(p.b.updated.empty());
  EXPECT_TRUE(p.b.HasLog("NO_NATS_ALLOWED"));
  EXPECT_TRUE(p.a.HasLog("UPDATE_SA_ADDRESSES refused (notify 41)"));
}

TEST(Ikev2Mobike, NotNegotiated) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.mobike = 1; // the HA does not support it
  uint32_t id = Establish(p, s);
  m6ike_ikev2_ike_info ia;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.a.ike, id, &ia));
  EXPECT_EQ(0, ia.mobike);
  m6ike_addr6 coa2 = Addr(kCoA2);
  EXPECT_EQ(M6IKE_ERR_INVALID_STATE,
            m6ike_ikev2_mobike_update(p.a.ike, id, &coa2, p.now));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_mobike_update(p.a.ike, id, nullptr, p.now));
}

// A responder forgets an SA that never authenticates (half_open_timeout).
TEST(Ikev2Exchange, HalfOpenSaExpires) {
  m6ike_ikev2_config cfg;
  m6ike_ikev2_config_default(&cfg);
  cfg.half_open_timeout = 5 * kSec;
  IkePair p(m6ike_crypto_null(), &cfg);
  Cfgs s;
  p.drop = [](const Wire &w) { return w.exchange == M6IKE_IKEV2_IKE_AUTH; };
  Start(p, s);
  p.RunFor(kSec);
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.b.ike, &st);
  EXPECT_EQ(1u, st.half_open);
  EXPECT_EQ(1u, m6ike_ikev2_count(p.b.ike));
  // deadline: IKE_SA_INIT arrived at 10 ms, + 5 s
  EXPECT_EQ(10 * kMs + 5 * kSec, m6ike_ikev2_get_expiry(p.b.ike));
  p.RunFor(5 * kSec);
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
  m6ike_ikev2_get_stats(p.b.ike, &st);
  EXPECT_EQ(0u, st.half_open);
  EXPECT_TRUE(p.b.ike_down.empty()); // never reported up, never down
  // An initiator needs somewhere to send.
  auto nowhere = s.mn;
  nowhere.path.remote = Addr("::");
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(p.a.ike, &nowhere, nullptr, p.now, nullptr));
}

// Above the half-open threshold the responder answers IKE_SA_INIT with a
// stateless COOKIE; the initiator repeats the request with it.
TEST(Ikev2Exchange, CookieAboveHalfOpenThreshold) {
  m6ike_ikev2_config cfg;
  m6ike_ikev2_config_default(&cfg);
  cfg.cookie_threshold = 1;
  IkePair p(m6ike_crypto_null(), &cfg);
  Cfgs s;
  ASSERT_EQ(0, m6ike_ikev2_add_peer(p.b.ike, &s.ha, &s.ha_child, 1));
  // A first SA stays half-open at B: its IKE_AUTH request is lost.
  p.drop = [](const Wire &w) {
    return w.exchange == M6IKE_IKEV2_IKE_AUTH && !w.response;
  };
  ASSERT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &s.mn, nullptr, 0, nullptr));
  p.RunFor(100 * kMs);
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.b.ike, &st);
  ASSERT_EQ(1u, st.half_open);
  p.drop = nullptr;
  size_t n = p.wire.size();
  uint32_t id = 0;
  ASSERT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &s.mn, &s.mn_child, p.now, &id));
  p.RunFor(300 * kMs);
  /* IKE_SA_INIT { SA, KEi, Ni } -->
   *                       <-- IKE_SA_INIT { N(COOKIE) }     (no state)
   * IKE_SA_INIT { N(COOKIE), SA, KEi, Ni } -->
   *                       <-- IKE_SA_INIT { SA, KEr, Nr }
   * IKE_AUTH ... */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_SA_INIT> B:IKE_SA_INIT< "
            "A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram(n));
  m6ike_ikev2_msg m;
  ASSERT_GT(m6ike_ikev2_parse(&m, p.wire[n + 1].bytes.data(),
                              p.wire[n + 1].bytes.size(), 0),
            0);
  m6ike_ikev2_notify cookie;
  ASSERT_GE(m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_COOKIE, &cookie), 0);
  EXPECT_EQ(0u, m.hdr.rspi);
  // The retry starts with the COOKIE notify (RFC 7296 §2.6).
  ASSERT_GT(m6ike_ikev2_parse(&m, p.wire[n + 2].bytes.data(),
                              p.wire[n + 2].bytes.size(), 0),
            0);
  EXPECT_EQ(M6IKE_IKEV2_PL_NOTIFY, m.pl[0].type);
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  EXPECT_EQ(1u, p.a.up.size());
  // A request with a wrong cookie gets a fresh COOKIE and creates nothing.
  std::vector<uint8_t> bad = p.wire[n + 2].bytes;
  size_t before = m6ike_ikev2_count(p.b.ike);
  // corrupt the cookie value (notify body starts 28 + 4 + 4 octets in)
  bad[28 + 8 + 3] ^= 1;
  bad[4] ^= 1; // another initiator SPI, so it is not a retransmission
  m6ike_ikev2_path pb{Addr(kHA), Addr(kCoA1), 500, 500};
  EXPECT_EQ(M6IKE_ERR_IKEV2_COOKIE,
            m6ike_ikev2_read_pkt(p.b.ike, &pb, bad.data(), bad.size(),
                                 p.now));
  EXPECT_EQ(before, m6ike_ikev2_count(p.b.ike));
}

TEST(Ikev2Exchange, NatDetection) {
  for (int nat = 0; nat < 2; nat++) {
    IkePair p(m6ike_crypto_null());
    Cfgs s;
    if (nat) {
      // A NAT66 rewrites the MN's CoA1 to a public address and back.
      p.rewrite = [](int dir, m6ike_ikev2_path &path) {
        m6ike_addr6 pub = Addr("2001:db8:99::1"), priv = Addr(kCoA1);
        if (dir == M6IKE_VLINK_AB && m6ike_addr6_equal(&path.remote, &priv))
          path.remote = pub;
        if (dir == M6IKE_VLINK_BA && m6ike_addr6_equal(&path.local, &pub))
          path.local = priv;
      };
    }
    uint32_t id = Start(p, s);
    p.RunFor(kSec);
    ASSERT_EQ(1u, p.a.up.size());
    m6ike_ikev2_ike_info a, b;
    ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.a.ike, id, &a));
    ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.b.ike, p.b.ike_up[0].sa_id, &b));
    EXPECT_EQ(nat, a.nat_local);
    EXPECT_EQ(0, a.nat_remote);
    EXPECT_EQ(0, b.nat_local);
    EXPECT_EQ(nat, b.nat_remote);
    // Both IKE_SA_INIT messages carry the two NAT detection notifies.
    for (int i = 0; i < 2; i++) {
      m6ike_ikev2_msg m;
      m6ike_ikev2_notify n;
      ASSERT_GT(m6ike_ikev2_parse(&m, p.wire[i].bytes.data(),
                                  p.wire[i].bytes.size(), 0),
                0);
      EXPECT_GE(m6ike_ikev2_find_notify(
                    &m, M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP, &n),
                0);
      EXPECT_GE(m6ike_ikev2_find_notify(
                    &m, M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP, &n),
                0);
    }
  }
}

} // namespace
