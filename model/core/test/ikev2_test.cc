// ikev2 engine: IKE_SA_INIT + IKE_AUTH end to end in virtual time.
#include <gtest/gtest.h>

#include <memory>

#include "ikev2_harness.h"
#include "m6ike/crypto_openssl.h"

namespace {

void HandshakeWith(const m6ike_crypto *cr, m6ike_ikev2_algs ike,
                   m6ike_ikev2_algs esp) {
  IkePair p(cr);
  ASSERT_TRUE(p.Ok());
  Cfgs s;
  s.mn.ike[0] = s.ha.ike[0] = ike;
  s.mn_child.esp[0] = s.ha_child.esp[0] = esp;
  uint32_t id = Start(p, s);
  EXPECT_EQ(M6IKE_IKEV2_SA_CONNECTING, m6ike_ikev2_get_state(p.a.ike, id));
  p.RunFor(5 * kSec);
  /* IKE_SA_INIT { SA, KEi, Ni }            --> */
  /*             <-- IKE_SA_INIT { SA, KEr, Nr } */
  /* IKE_AUTH { SK{IDi, AUTH, SA, TSi, TSr} } --> */
  /*    <-- IKE_AUTH { SK{IDr, AUTH, SA, TSi, TSr} } */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  ASSERT_EQ(1u, p.a.ike_up.size());
  ASSERT_EQ(1u, p.b.ike_up.size());
  EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
  EXPECT_EQ(p.a.ike_up[0].spi_i, p.b.ike_up[0].spi_i);
  EXPECT_EQ(p.a.ike_up[0].spi_r, p.b.ike_up[0].spi_r);
  EXPECT_EQ(1, p.a.ike_up[0].initiator);
  EXPECT_EQ(0, p.b.ike_up[0].initiator);
  EXPECT_EQ(ike.dh, p.a.ike_up[0].alg.dh);
  EXPECT_EQ(ike.encr, p.b.ike_up[0].alg.encr);
  ASSERT_EQ(1u, p.a.up.size());
  ASSERT_EQ(1u, p.b.up.size());
  ExpectChildPair(p.a.up[0], p.b.up[0]);
  EXPECT_EQ(esp.encr, p.a.up[0].alg.encr);
  EXPECT_EQ(static_cast<size_t>(m6ike_crypto_encr_key_len(esp.encr,
                                                          esp.encr_keylen)),
            p.a.up[0].enc_len);
  // The HA narrowed TSi (::/0 is not what it allows) to the HoA.
  ASSERT_EQ(1u, p.a.up[0].n_ts_local);
  EXPECT_EQ(0, std::memcmp(p.a.up[0].ts_local[0].start_addr,
                           Addr(kHoA).b, 16));
  EXPECT_EQ(0, std::memcmp(p.a.up[0].ts_local[0].end_addr, Addr(kHoA).b, 16));
  EXPECT_EQ(7u, p.b.up[0].reqid);
  // The same Wireshark key-log line on both sides.
  ASSERT_EQ(1u, p.a.keylog.size());
  ASSERT_EQ(1u, p.b.keylog.size());
  EXPECT_EQ(p.a.keylog[0], p.b.keylog[0]);
  EXPECT_TRUE(p.a.down.empty());
  EXPECT_TRUE(p.a.ike_down.empty());
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.a.ike, &st);
  EXPECT_EQ(1u, st.msgs_out[M6IKE_IKEV2_X_IKE_SA_INIT]);
  EXPECT_EQ(1u, st.msgs_out[M6IKE_IKEV2_X_IKE_AUTH]);
  EXPECT_EQ(1u, st.msgs_in[M6IKE_IKEV2_X_IKE_AUTH]);
  EXPECT_EQ(0u, st.retransmits);
  EXPECT_EQ(p.wire[0].len, st.bytes_out[M6IKE_IKEV2_X_IKE_SA_INIT]);
  m6ike_ikev2_get_stats(p.b.ike, &st);
  EXPECT_EQ(0u, st.half_open);
  EXPECT_EQ(1u, st.ike_sas_up);
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_ikev2_get_expiry(p.a.ike));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_ikev2_get_expiry(p.b.ike));
}

TEST(Ikev2, HandshakeNullCryptoGcmX25519) {
  HandshakeWith(m6ike_crypto_null(),
                Algs(M6IKE_ENCR_AES_GCM_16, 128, M6IKE_PRF_HMAC_SHA2_256, 0,
                     M6IKE_DH_CURVE25519),
                Algs(M6IKE_ENCR_AES_GCM_16, 128, 0, 0, 0));
}

TEST(Ikev2, HandshakeNullCryptoCbcHmacModp2048) {
  HandshakeWith(m6ike_crypto_null(),
                Algs(M6IKE_ENCR_AES_CBC, 256, M6IKE_PRF_HMAC_SHA1,
                     M6IKE_INTEG_HMAC_SHA2_256_128, M6IKE_DH_MODP_2048),
                Algs(M6IKE_ENCR_3DES, 0, 0, M6IKE_INTEG_HMAC_SHA1_96, 0));
}

TEST(Ikev2, HandshakeNullCryptoEcp256) {
  HandshakeWith(m6ike_crypto_null(),
                Algs(M6IKE_ENCR_AES_GCM_16, 256, M6IKE_PRF_HMAC_SHA2_256, 0,
                     M6IKE_DH_ECP_256),
                Algs(M6IKE_ENCR_AES_CBC, 128, 0,
                     M6IKE_INTEG_HMAC_SHA2_256_128, 0, 1));
}

struct OpenSsl {
  m6ike_crypto *c = nullptr;
  OpenSsl() { EXPECT_EQ(0, m6ike_crypto_openssl_new(&c, nullptr)); }
  ~OpenSsl() { m6ike_crypto_del(c); }
};

TEST(Ikev2, HandshakeOpenSslGcmX25519) {
  OpenSsl o;
  HandshakeWith(o.c,
                Algs(M6IKE_ENCR_AES_GCM_16, 128, M6IKE_PRF_HMAC_SHA2_256, 0,
                     M6IKE_DH_CURVE25519),
                Algs(M6IKE_ENCR_AES_GCM_16, 128, 0, 0, 0));
}

TEST(Ikev2, HandshakeOpenSslCbcModp2048) {
  OpenSsl o;
  HandshakeWith(o.c,
                Algs(M6IKE_ENCR_AES_CBC, 128, M6IKE_PRF_HMAC_SHA2_256,
                     M6IKE_INTEG_HMAC_SHA2_256_128, M6IKE_DH_MODP_2048),
                Algs(M6IKE_ENCR_AES_CBC, 128, 0,
                     M6IKE_INTEG_HMAC_SHA2_256_128, 0));
}

TEST(Ikev2, HandshakeOpenSslEcp256Sha1) {
  OpenSsl o;
  HandshakeWith(o.c,
                Algs(M6IKE_ENCR_AES_CBC, 256, M6IKE_PRF_HMAC_SHA1,
                     M6IKE_INTEG_HMAC_SHA1_96, M6IKE_DH_ECP_256),
                Algs(M6IKE_ENCR_3DES, 0, 0, M6IKE_INTEG_HMAC_SHA1_96, 0));
}

// The key-log line has Wireshark's ikev2_decryption_table layout.
TEST(Ikev2, KeylogFormat) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  uint32_t id = Start(p, s);
  p.RunFor(kSec);
  ASSERT_EQ(1u, p.a.keylog.size());
  m6ike_ikev2_ike_info info;
  ASSERT_EQ(0, m6ike_ikev2_get_ike_info(p.a.ike, id, &info));
  char spis[40];
  snprintf(spis, sizeof spis, "%016llx,%016llx,",
           static_cast<unsigned long long>(info.spi_i),
           static_cast<unsigned long long>(info.spi_r));
  const std::string &l = p.a.keylog[0];
  EXPECT_EQ(0u, l.find(spis)) << l;
  EXPECT_NE(std::string::npos,
            l.find("\"AES-GCM-128 with 16 octet ICV [RFC5282]\"")) << l;
  EXPECT_NE(std::string::npos, l.find("\"NONE [RFC4306]\"")) << l;
  // Hex fields unquoted (tshark 4.0 rejects quoted ones), the two
  // algorithm names quoted; SK_e* are 20 octets (key + salt) = 40 hex
  // digits; no integrity keys with an AEAD.
  size_t q = 0, commas = 0;
  for (char c : l) {
    q += c == '"';
    commas += c == ',';
  }
  EXPECT_EQ(4u, q);
  EXPECT_EQ(7u, commas);
  EXPECT_EQ(',', l[34 + 40]) << l;
  EXPECT_NE(std::string::npos, l.find("\",,,\"NONE")) << l;
}

// Retransmission: 0.5 s doubling, 5 retransmissions, then give up.
TEST(Ikev2, RetransmissionTimingAndGiveUp) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  p.drop = [](const Wire &w) { return w.dir == M6IKE_VLINK_AB; };
  uint32_t id = Start(p, s);
  p.RunFor(60 * kSec);
  std::vector<m6ike_tstamp> sent;
  for (auto &w : p.wire) sent.push_back(w.t);
  std::vector<m6ike_tstamp> want = {0,          500 * kMs,  1500 * kMs,
                                    3500 * kMs, 7500 * kMs, 15500 * kMs};
  EXPECT_EQ(want, sent);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(id, p.a.ike_down[0].first);
  EXPECT_EQ(M6IKE_ERR_IKEV2_TIMEOUT, p.a.ike_down[0].second);
  EXPECT_EQ(0u, m6ike_ikev2_count(p.a.ike));
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_SA, m6ike_ikev2_get_state(p.a.ike, id));
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.a.ike, &st);
  EXPECT_EQ(5u, st.retransmits);
  EXPECT_EQ(1u, st.ike_sas_failed);
}

TEST(Ikev2, RetransmissionConfigurable) {
  m6ike_ikev2_config cfg;
  m6ike_ikev2_config_default(&cfg);
  cfg.retrans_timeout = 100 * kMs;
  cfg.retrans_max = 300 * kMs;
  cfg.retrans_tries = 3;
  IkePair p(m6ike_crypto_null(), &cfg);
  Cfgs s;
  p.drop = [](const Wire &w) { return w.dir == M6IKE_VLINK_AB; };
  Start(p, s);
  p.RunFor(10 * kSec);
  std::vector<m6ike_tstamp> sent;
  for (auto &w : p.wire) sent.push_back(w.t);
  // 0, +100, +200, +300 (capped), give up 300 later.
  std::vector<m6ike_tstamp> want = {0, 100 * kMs, 300 * kMs, 600 * kMs};
  EXPECT_EQ(want, sent);
  ASSERT_EQ(1u, p.a.ike_down.size());
}

// A lost IKE_AUTH response: the initiator retransmits, the responder
// answers the duplicate from its cache (no second CHILD_SA).
TEST(Ikev2, LostResponseAnsweredFromCache) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  int dropped = 0;
  p.drop = [&](const Wire &w) {
    if (w.exchange == M6IKE_IKEV2_IKE_AUTH && w.response && dropped == 0) {
      dropped++;
      return true;
    }
    return false;
  };
  Start(p, s);
  p.RunFor(5 * kSec);
  /* IKE_AUTH request -->; <-- response (lost); request again after 0.5 s;
   * <-- the cached response */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH<(lost) "
            "A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  EXPECT_EQ(p.wire[3].bytes, p.wire[5].bytes); // identical retransmission
  EXPECT_EQ(p.wire[2].bytes, p.wire[4].bytes);
  EXPECT_EQ(p.wire[2].t + 500 * kMs, p.wire[4].t);
  EXPECT_EQ(1u, p.a.up.size());
  EXPECT_EQ(1u, p.b.up.size());
  m6ike_ikev2_stats st;
  m6ike_ikev2_get_stats(p.b.ike, &st);
  EXPECT_EQ(1u, st.dup_requests);
  m6ike_ikev2_get_stats(p.a.ike, &st);
  EXPECT_EQ(1u, st.retransmits);
}

// A lost IKE_SA_INIT response: the retransmitted request gets the same
// response (no second responder SA).
TEST(Ikev2, LostInitResponse) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  int dropped = 0;
  p.drop = [&](const Wire &w) {
    return w.exchange == M6IKE_IKEV2_IKE_SA_INIT && w.response &&
           dropped++ == 0;
  };
  Start(p, s);
  p.RunFor(5 * kSec);
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT<(lost) A:IKE_SA_INIT> "
            "B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  EXPECT_EQ(1u, m6ike_ikev2_count(p.b.ike));
  EXPECT_EQ(1u, p.b.ike_up.size());
}

TEST(Ikev2, WrongPskAuthenticationFailed) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.ha.psk[0] ^= 1;
  uint32_t id = Start(p, s);
  p.RunFor(5 * kSec);
  /* IKE_AUTH { SK{IDi, AUTH, ...} } -->
   *   <-- IKE_AUTH { SK{N(AUTHENTICATION_FAILED)} } */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(id, p.a.ike_down[0].first);
  EXPECT_EQ(M6IKE_ERR_IKEV2_AUTH, p.a.ike_down[0].second);
  EXPECT_TRUE(p.a.HasLog("AUTHENTICATION_FAILED"));
  EXPECT_TRUE(p.b.HasLog("does not verify"));
  EXPECT_TRUE(p.a.up.empty());
  EXPECT_TRUE(p.b.up.empty());
  EXPECT_TRUE(p.b.ike_up.empty());
  EXPECT_EQ(0u, m6ike_ikev2_count(p.a.ike));
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
  // The response is small: one encrypted notify.
  EXPECT_LT(p.wire[3].len, 100u);
}

TEST(Ikev2, UnknownIdentityAuthenticationFailed) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.local_id = Fqdn("stranger.example");
  Start(p, s);
  p.RunFor(5 * kSec);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_AUTH, p.a.ike_down[0].second);
  EXPECT_TRUE(p.b.HasLog("no peer configuration"));
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
}

// The responder's identity is not the one the initiator expects.
TEST(Ikev2, InitiatorRejectsResponderIdentity) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.remote_id = Fqdn("other-ha.example");
  Start(p, s);
  p.RunFor(5 * kSec);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_AUTH, p.a.ike_down[0].second);
  EXPECT_TRUE(p.a.up.empty());
}

// INVALID_KE_PAYLOAD names the wanted group; the initiator retries.
TEST(Ikev2, InvalidKeThenSuccess) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn.ike[0] = Algs(M6IKE_ENCR_AES_GCM_16, 128, M6IKE_PRF_HMAC_SHA2_256, 0,
                     M6IKE_DH_CURVE25519);
  s.mn.ike[1] = Algs(M6IKE_ENCR_AES_GCM_16, 128, M6IKE_PRF_HMAC_SHA2_256, 0,
                     M6IKE_DH_ECP_256);
  s.mn.n_ike = 2;
  s.ha.ike[0] = s.mn.ike[1];
  Start(p, s);
  p.RunFor(5 * kSec);
  /* IKE_SA_INIT { SA, KEi(31), Ni } -->
   *   <-- IKE_SA_INIT { N(INVALID_KE_PAYLOAD(19)) }
   * IKE_SA_INIT { SA, KEi(19), Ni } -->
   *   <-- IKE_SA_INIT { SA, KEr(19), Nr } ... */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_SA_INIT> B:IKE_SA_INIT< "
            "A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  m6ike_ikev2_msg m;
  ASSERT_GT(m6ike_ikev2_parse(&m, p.wire[1].bytes.data(),
                              p.wire[1].bytes.size(), 0),
            0);
  m6ike_ikev2_notify n;
  ASSERT_GE(m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_INVALID_KE_PAYLOAD, &n),
            0);
  EXPECT_EQ(M6IKE_DH_ECP_256, n.ke_group);
  EXPECT_EQ(0u, m.hdr.rspi); // no responder state
  EXPECT_EQ(0u, p.wire[2].mid);
  ASSERT_EQ(1u, p.a.ike_up.size());
  EXPECT_EQ(M6IKE_DH_ECP_256, p.a.ike_up[0].alg.dh);
  EXPECT_EQ(1u, p.a.up.size());
  EXPECT_EQ(1u, m6ike_ikev2_count(p.b.ike));
}

// A group the initiator did not offer: it gives up.
TEST(Ikev2, InvalidKeUnofferedGroupFails) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.ha.ike[0].dh = M6IKE_DH_ECP_256;
  Start(p, s);
  p.RunFor(5 * kSec);
  // The HA has no proposal with the offered group and nothing else
  // matches: NO_PROPOSAL_CHOSEN.
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_PROPOSAL, p.a.ike_down[0].second);
}

TEST(Ikev2, NoProposalChosen) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.ha.ike[0] = Algs(M6IKE_ENCR_AES_CBC, 128, M6IKE_PRF_HMAC_SHA2_256,
                     M6IKE_INTEG_HMAC_SHA2_256_128, M6IKE_DH_CURVE25519);
  Start(p, s);
  p.RunFor(5 * kSec);
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT<", p.Diagram());
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_PROPOSAL, p.a.ike_down[0].second);
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
}

// The CHILD_SA fails (no ESP proposal in common, or selectors outside the
// policy) but the IKE SA stays up (RFC 7296 §1.2).
TEST(Ikev2, ChildFailureKeepsIkeSa) {
  {
    IkePair p(m6ike_crypto_null());
    Cfgs s;
    s.ha_child.esp[0] = Algs(M6IKE_ENCR_3DES, 0, 0, M6IKE_INTEG_HMAC_SHA1_96,
                             0);
    uint32_t id = Start(p, s);
    p.RunFor(5 * kSec);
    EXPECT_EQ(1u, p.a.ike_up.size());
    EXPECT_TRUE(p.a.up.empty());
    EXPECT_TRUE(p.b.up.empty());
    EXPECT_EQ(M6IKE_IKEV2_SA_ESTABLISHED, m6ike_ikev2_get_state(p.a.ike, id));
    EXPECT_TRUE(p.a.HasLog("CHILD_SA failed"));
  }
  {
    IkePair p(m6ike_crypto_null());
    Cfgs s;
    s.ha_child.ts_remote[0] = Prefix("2001:db8:99::", 64);
    Start(p, s);
    p.RunFor(5 * kSec);
    EXPECT_EQ(1u, p.a.ike_up.size());
    EXPECT_TRUE(p.a.up.empty());
    EXPECT_TRUE(p.b.HasLog("no policy for the proposed selectors"));
  }
  {
    // transport requested, tunnel configured: refused
    IkePair p(m6ike_crypto_null());
    Cfgs s;
    s.mn_child.mode = M6IKE_IKEV2_MODE_TRANSPORT;
    Start(p, s);
    p.RunFor(5 * kSec);
    EXPECT_EQ(1u, p.a.ike_up.size());
    EXPECT_TRUE(p.a.up.empty());
  }
  {
    // the responder's child_sa_up callback refuses
    IkePair p(m6ike_crypto_null());
    Cfgs s;
    p.b.refuse_child = 1;
    Start(p, s);
    p.RunFor(5 * kSec);
    EXPECT_EQ(1u, p.a.ike_up.size());
    EXPECT_TRUE(p.a.up.empty());
  }
}

TEST(Ikev2, TransportModeChild) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  s.mn_child.mode = s.ha_child.mode = M6IKE_IKEV2_MODE_TRANSPORT;
  Start(p, s);
  p.RunFor(5 * kSec);
  ASSERT_EQ(1u, p.a.up.size());
  ASSERT_EQ(1u, p.b.up.size());
  EXPECT_EQ(M6IKE_IKEV2_MODE_TRANSPORT, p.a.up[0].mode);
  EXPECT_EQ(M6IKE_IKEV2_MODE_TRANSPORT, p.b.up[0].mode);
}

TEST(Ikev2, IkeSaOnlyWithoutChild) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  ASSERT_EQ(0, m6ike_ikev2_add_peer(p.b.ike, &s.ha, &s.ha_child, 1));
  ASSERT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &s.mn, nullptr, 0, nullptr));
  p.RunFor(5 * kSec);
  EXPECT_EQ(1u, p.a.ike_up.size());
  EXPECT_EQ(1u, p.b.ike_up.size());
  EXPECT_TRUE(p.a.up.empty());
  EXPECT_TRUE(p.b.up.empty());
}

// Malformed IKE_SA_INIT request (no KE): INVALID_SYNTAX, no state.
TEST(Ikev2, InvalidSyntaxForMissingKe) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  ASSERT_EQ(0, m6ike_ikev2_add_peer(p.b.ike, &s.ha, &s.ha_child, 1));
  uint8_t buf[512], nonce[32] = {1};
  m6ike_ikev2_hdr h{};
  h.ispi = 0x1122334455667788ULL;
  h.exchange = M6IKE_IKEV2_IKE_SA_INIT;
  h.flags = M6IKE_IKEV2_FLAG_I;
  m6ike_ikev2_builder b;
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf, sizeof buf, &h));
  m6ike_ikev2_xform_spec xf[3] = {
      {M6IKE_IKEV2_TRANS_ENCR, M6IKE_ENCR_AES_GCM_16, 128},
      {M6IKE_IKEV2_TRANS_PRF, M6IKE_PRF_HMAC_SHA2_256, -1},
      {M6IKE_IKEV2_TRANS_DH, M6IKE_DH_CURVE25519, -1}};
  m6ike_ikev2_prop_spec ps{M6IKE_IKEV2_PROTO_IKE, 0, nullptr, 3, xf};
  m6ike_ikev2_add_sa(&b, &ps, 1, 1);
  m6ike_ikev2_add_nonce(&b, nonce, sizeof nonce);
  int len = m6ike_ikev2_builder_finish(&b);
  ASSERT_GT(len, 0);
  m6ike_ikev2_path path{Addr(kHA), Addr(kCoA1), 500, 500};
  EXPECT_EQ(M6IKE_ERR_IKEV2_PL_MISSING,
            m6ike_ikev2_read_pkt(p.b.ike, &path, buf, len, 0));
  EXPECT_EQ(0u, m6ike_ikev2_count(p.b.ike));
  m6ike_ikev2_path out;
  uint8_t rsp[512];
  int n = m6ike_ikev2_write_pkt(p.b.ike, &out, rsp, sizeof rsp, 0);
  ASSERT_GT(n, 0);
  m6ike_ikev2_msg m;
  ASSERT_EQ(n, m6ike_ikev2_parse(&m, rsp, n, 0));
  EXPECT_TRUE(m.hdr.flags & M6IKE_IKEV2_FLAG_R);
  EXPECT_FALSE(m.hdr.flags & M6IKE_IKEV2_FLAG_I);
  EXPECT_EQ(h.ispi, m.hdr.ispi);
  m6ike_ikev2_notify nt;
  EXPECT_GE(m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_INVALID_SYNTAX, &nt), 0);
  EXPECT_TRUE(m6ike_addr6_equal(&out.remote, &path.remote));
  // Truncated datagrams are dropped silently.
  EXPECT_EQ(M6IKE_ERR_IKEV2_SHORT,
            m6ike_ikev2_read_pkt(p.b.ike, &path, buf, 10, 0));
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSG_TRUNCATED,
            m6ike_ikev2_read_pkt(p.b.ike, &path, buf, 40, 0));
  EXPECT_EQ(0, m6ike_ikev2_write_pkt(p.b.ike, &out, rsp, sizeof rsp, 0));
}

// A request for an IKE SA nobody has: unprotected INVALID_IKE_SPI
// (RFC 7296 §2.21.4); a response for none: dropped silently.
TEST(Ikev2, UnknownSpiGetsInvalidIkeSpi) {
  IkePair p(m6ike_crypto_null());
  uint8_t buf[128], body[40] = {0};
  m6ike_ikev2_hdr h{};
  h.ispi = 0xaaULL;
  h.rspi = 0xbbULL;
  h.exchange = M6IKE_IKEV2_INFORMATIONAL;
  h.flags = M6IKE_IKEV2_FLAG_I;
  h.msg_id = 3;
  m6ike_ikev2_builder b;
  m6ike_ikev2_sk_region r;
  ASSERT_EQ(0, m6ike_ikev2_builder_begin(&b, buf, sizeof buf, &h));
  ASSERT_GT(m6ike_ikev2_sk_begin(&b, 8), 0);
  m6ike_ikev2_add_notify_data(&b, M6IKE_IKEV2_N_INITIAL_CONTACT, body, 0);
  ASSERT_EQ(0, m6ike_ikev2_sk_end(&b, 1, 16, &r));
  int len = m6ike_ikev2_builder_finish(&b);
  ASSERT_GT(len, 0);
  m6ike_ikev2_path path{Addr(kHA), Addr(kCoA1), 500, 500};
  EXPECT_EQ(M6IKE_ERR_IKEV2_UNKNOWN_SPI,
            m6ike_ikev2_read_pkt(p.b.ike, &path, buf, len, 0));
  uint8_t rsp[256];
  m6ike_ikev2_path out;
  int n = m6ike_ikev2_write_pkt(p.b.ike, &out, rsp, sizeof rsp, 0);
  ASSERT_GT(n, 0);
  m6ike_ikev2_msg m;
  ASSERT_EQ(n, m6ike_ikev2_parse(&m, rsp, n, 0));
  EXPECT_EQ(3u, m.hdr.msg_id);
  EXPECT_EQ(M6IKE_IKEV2_INFORMATIONAL, m.hdr.exchange);
  EXPECT_TRUE(m.hdr.flags & M6IKE_IKEV2_FLAG_R);
  m6ike_ikev2_notify nt;
  EXPECT_GE(m6ike_ikev2_find_notify(&m, M6IKE_IKEV2_N_INVALID_IKE_SPI, &nt),
            0);
  // The same as a response: no answer.
  buf[19] |= M6IKE_IKEV2_FLAG_R;
  EXPECT_EQ(M6IKE_ERR_IKEV2_UNKNOWN_SPI,
            m6ike_ikev2_read_pkt(p.b.ike, &path, buf, len, 0));
  EXPECT_EQ(0, m6ike_ikev2_write_pkt(p.b.ike, &out, rsp, sizeof rsp, 0));
}

// Tampered SK payloads fail the ICV and are dropped (no answer); the
// exchange then completes through retransmission.
TEST(Ikev2, TamperedMessageDroppedThenRetransmitted) {
  for (auto cr_is_null : {true, false}) {
    OpenSsl o;
    IkePair p(cr_is_null ? m6ike_crypto_null() : o.c);
    Cfgs s;
    if (!cr_is_null) {
      s.mn.ike[0] = s.ha.ike[0] =
          Algs(M6IKE_ENCR_AES_CBC, 128, M6IKE_PRF_HMAC_SHA2_256,
               M6IKE_INTEG_HMAC_SHA2_256_128, M6IKE_DH_CURVE25519);
    }
    ASSERT_EQ(0, m6ike_ikev2_add_peer(p.b.ike, &s.ha, &s.ha_child, 1));
    ASSERT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &s.mn, &s.mn_child, 0,
                                      nullptr));
    p.RunFor(15 * kMs); // IKE_SA_INIT request at B, response queued
    p.RunFor(10 * kMs); // response at A, IKE_AUTH request sent
    ASSERT_EQ(3u, p.wire.size());
    std::vector<uint8_t> bad = p.wire[2].bytes;
    bad[bad.size() - 20] ^= 0x40;
    m6ike_ikev2_path path{Addr(kHA), Addr(kCoA1), 500, 500};
    EXPECT_EQ(M6IKE_ERR_IKEV2_INTEGRITY,
              m6ike_ikev2_read_pkt(p.b.ike, &path, bad.data(), bad.size(),
                                   p.now));
    m6ike_ikev2_stats st;
    m6ike_ikev2_get_stats(p.b.ike, &st);
    EXPECT_EQ(1u, st.integrity_fail);
    p.RunFor(5 * kSec);
    EXPECT_EQ(1u, p.a.up.size());
    EXPECT_EQ(1u, p.b.up.size());
  }
}

// Responses that nobody asked for and requests outside the window are
// dropped.
TEST(Ikev2, MessageIdWindow) {
  IkePair p(m6ike_crypto_null());
  Cfgs s;
  Start(p, s);
  p.RunFor(5 * kSec);
  ASSERT_EQ(4u, p.wire.size());
  m6ike_ikev2_path pa{Addr(kCoA1), Addr(kHA), 500, 500};
  m6ike_ikev2_path pb{Addr(kHA), Addr(kCoA1), 500, 500};
  // An old IKE_AUTH response again at A: no request in flight.
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSGID,
            m6ike_ikev2_read_pkt(p.a.ike, &pa, p.wire[3].bytes.data(),
                                 p.wire[3].bytes.size(), p.now));
  // The IKE_AUTH request again at B: answered from the cache.
  EXPECT_EQ(0, m6ike_ikev2_read_pkt(p.b.ike, &pb, p.wire[2].bytes.data(),
                                    p.wire[2].bytes.size(), p.now));
  uint8_t rsp[2048];
  m6ike_ikev2_path out;
  int n = m6ike_ikev2_write_pkt(p.b.ike, &out, rsp, sizeof rsp, p.now);
  ASSERT_EQ(static_cast<int>(p.wire[3].len), n);
  EXPECT_EQ(0, std::memcmp(rsp, p.wire[3].bytes.data(), n));
  // The IKE_SA_INIT request again (mid 0, now two behind): dropped.
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSGID,
            m6ike_ikev2_read_pkt(p.b.ike, &pb, p.wire[0].bytes.data(),
                                 p.wire[0].bytes.size(), p.now));
  // A request from the future (mid 5): dropped.
  std::vector<uint8_t> fut = p.wire[2].bytes;
  fut[23] = 5;
  EXPECT_EQ(M6IKE_ERR_IKEV2_MSGID,
            m6ike_ikev2_read_pkt(p.b.ike, &pb, fut.data(), fut.size(),
                                 p.now));
}

TEST(Ikev2, FailingAllocationsOverAWholeHandshake) {
  size_t runs = 0;
  for (size_t fail = 1;; fail++) {
    FailingMem fm;
    fm.reset(fail);
    bool completed = false;
    m6ike_crypto *cr = nullptr;
    if (m6ike_crypto_null_new(&cr, &fm.mem) != 0) {
      EXPECT_EQ(0, fm.live);
      continue;
    }
    {
      // The crypto objects (DH, ciphers) allocate through fm too.
      IkePair p(cr, nullptr, &fm.mem);
      Cfgs s;
      if (p.Ok() && m6ike_ikev2_add_peer(p.b.ike, &s.ha, &s.ha_child, 1) == 0) {
        int rc =
            m6ike_ikev2_initiate(p.a.ike, &s.mn, &s.mn_child, 0, nullptr);
        if (rc == 0) {
          p.RunFor(60 * kSec);
          completed = p.a.up.size() == 1 && p.b.up.size() == 1;
        } else {
          EXPECT_EQ(M6IKE_ERR_IKEV2_SA_NOMEM, rc);
        }
      }
      // Either the handshake completed (a failure cost a retransmission
      // at most) or both sides cleaned up.
      if (!completed && p.Ok()) {
        EXPECT_LE(p.a.up.size(), 1u);
      }
    }
    m6ike_crypto_del(cr);
    EXPECT_EQ(0, fm.live) << "leak with allocation " << fail << " failing";
    runs++;
    if (fm.calls < fail) {
      EXPECT_TRUE(completed);
      break;
    }
    ASSERT_LT(fail, 2000u);
  }
  EXPECT_GT(runs, 30u);
  RecordProperty("failing_allocation_runs", static_cast<int>(runs));
}

TEST(Ikev2, ConfigAndArgumentErrors) {
  IkeNode n;
  auto cb = n.Callbacks();
  m6ike_ikev2 *ike = nullptr;
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_new(nullptr, nullptr, &cb, m6ike_crypto_null(),
                            nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_new(&ike, nullptr, nullptr, m6ike_crypto_null(),
                            nullptr));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_new(&ike, nullptr, &cb, nullptr, nullptr));
  m6ike_ikev2_config cfg;
  m6ike_ikev2_config_default(&cfg);
  cfg.max_msg = 100;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_new(&ike, &cfg, &cb, m6ike_crypto_null(), nullptr));
  ASSERT_EQ(0, m6ike_ikev2_new(&ike, nullptr, &cb, m6ike_crypto_null(),
                               nullptr));
  Cfgs s;
  auto bad = s.mn;
  bad.n_ike = 0;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(ike, &bad, nullptr, 0, nullptr));
  bad = s.mn;
  bad.ike[0].prf = 99;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(ike, &bad, nullptr, 0, nullptr));
  bad = s.mn;
  bad.ike[0].integ = M6IKE_INTEG_HMAC_SHA1_96; // with an AEAD
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(ike, &bad, nullptr, 0, nullptr));
  bad = s.mn;
  bad.psk_len = 0;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG, m6ike_ikev2_add_peer(ike, &bad,
                                                             nullptr, 0));
  auto badc = s.mn_child;
  badc.mode = 9;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(ike, &s.mn, &badc, 0, nullptr));
  badc = s.mn_child;
  badc.esp[0] = Algs(M6IKE_ENCR_AES_CBC, 128, 0, 0, 0); // no integrity
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_add_peer(ike, &s.ha, &badc, 1));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_initiate(ike, &s.mn, nullptr, M6IKE_TSTAMP_UNSET,
                                 nullptr));
  m6ike_ikev2_path path{};
  uint8_t b[4];
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_read_pkt(ike, nullptr, b, 4, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT,
            m6ike_ikev2_write_pkt(ike, nullptr, b, 4, 0));
  EXPECT_EQ(0, m6ike_ikev2_write_pkt(ike, &path, b, 4, 0));
  ASSERT_EQ(0, m6ike_ikev2_initiate(ike, &s.mn, nullptr, 0, nullptr));
  EXPECT_EQ(M6IKE_ERR_NOBUF, m6ike_ikev2_write_pkt(ike, &path, b, 4, 0));
  EXPECT_EQ(M6IKE_ERR_INVALID_ARGUMENT, m6ike_ikev2_handle_expiry(nullptr, 0));
  m6ike_ikev2_ike_info info;
  EXPECT_EQ(M6IKE_ERR_IKEV2_NO_SA, m6ike_ikev2_get_ike_info(ike, 999, &info));
  EXPECT_EQ(M6IKE_TSTAMP_UNSET, m6ike_ikev2_get_expiry(nullptr));
  m6ike_ikev2_del(ike);
  m6ike_ikev2_del(nullptr);
}

TEST(Ikev2, MaxIkeSasLimit) {
  m6ike_ikev2_config cfg;
  m6ike_ikev2_config_default(&cfg);
  cfg.max_ike_sas = 1;
  IkePair p(m6ike_crypto_null(), &cfg);
  Cfgs s;
  ASSERT_EQ(0, m6ike_ikev2_initiate(p.a.ike, &s.mn, nullptr, 0, nullptr));
  EXPECT_EQ(M6IKE_ERR_IKEV2_LIMIT,
            m6ike_ikev2_initiate(p.a.ike, &s.mn, nullptr, 0, nullptr));
}

TEST(Ikev2, ErrorStringsAndNotifyMap) {
  for (int c = -650; c >= -675; c--) {
    const char *s = m6ike_strerror(c);
    ASSERT_NE(nullptr, s);
    EXPECT_EQ(0, std::strncmp(s, "ikev2:", 6)) << c << " " << s;
  }
  EXPECT_EQ(nullptr, m6ike_ikev2_strerror_(-649));
  EXPECT_EQ(nullptr, m6ike_ikev2_strerror_(-676));
  EXPECT_EQ(M6IKE_IKEV2_N_AUTHENTICATION_FAILED,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_AUTH));
  EXPECT_EQ(M6IKE_IKEV2_N_INVALID_KE_PAYLOAD,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_INVALID_KE));
  EXPECT_EQ(M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_NO_PROPOSAL));
  EXPECT_EQ(M6IKE_IKEV2_N_TS_UNACCEPTABLE,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_TS_UNACCEPTABLE));
  EXPECT_EQ(M6IKE_IKEV2_N_INVALID_SYNTAX,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_SYNTAX));
  EXPECT_EQ(M6IKE_IKEV2_N_INVALID_IKE_SPI,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_UNKNOWN_SPI));
  EXPECT_EQ(0, m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_TIMEOUT));
  EXPECT_EQ(M6IKE_IKEV2_N_INVALID_SYNTAX,
            m6ike_ikev2_error_notify(M6IKE_ERR_IKEV2_PL_MISSING));
}

} // namespace

// max_msg_in bounds what read_pkt accepts (and the decryption buffer);
// hash_bits sizes the SPI tables.  Out-of-range values are refused.
TEST(Ikev2, ConfigMaxMsgInAndHashBits) {
  m6ike_ikev2_callbacks cb{};
  cb.rand = [](uint8_t *d, size_t n, void *) {
    std::memset(d, 7, n);
    return 0;
  };
  m6ike_ikev2_config c;
  m6ike_ikev2_config_default(&c);
  EXPECT_EQ(65535u, c.max_msg_in);
  EXPECT_EQ(10u, c.hash_bits);
  m6ike_ikev2 *ike = nullptr;
  for (auto edit : {+[](m6ike_ikev2_config *x) { x->max_msg_in = 1000; },
                    +[](m6ike_ikev2_config *x) { x->max_msg_in = 70000; },
                    +[](m6ike_ikev2_config *x) { x->hash_bits = 3; },
                    +[](m6ike_ikev2_config *x) { x->hash_bits = 21; }}) {
    m6ike_ikev2_config_default(&c);
    edit(&c);
    EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
              m6ike_ikev2_new(&ike, &c, &cb, m6ike_crypto_null(), nullptr));
  }
  m6ike_ikev2_config_default(&c);
  c.max_msg_in = 1280;
  c.hash_bits = 4;
  ASSERT_EQ(0, m6ike_ikev2_new(&ike, &c, &cb, m6ike_crypto_null(), nullptr));
  std::vector<uint8_t> big(1281, 0);
  m6ike_ikev2_path p{};
  EXPECT_EQ(M6IKE_ERR_IKEV2_LIMIT,
            m6ike_ikev2_read_pkt(ike, &p, big.data(), big.size(), 0));
  EXPECT_EQ(M6IKE_ERR_IKEV2_SHORT,
            m6ike_ikev2_read_pkt(ike, &p, big.data(), 10, 0));
  m6ike_ikev2_del(ike);
  // a small-table engine still completes a handshake
  IkePair pair(m6ike_crypto_null(), &c);
  ASSERT_TRUE(pair.Ok());
  Cfgs s;
  Start(pair, s);
  pair.RunFor(2 * kSec);
  EXPECT_EQ(1u, pair.a.up.size());
}
