// ikev2 engine: IKE_AUTH with RSA and ECDSA signatures and X.509
// certificates (RFC 7296 §2.15, RFC 4754, RFC 7427) through the OpenSSL
// backend, with the test PKI under test/data.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "ikev2_harness.h"
#include "m6ike/crypto_openssl.h"

namespace {

std::vector<uint8_t> ReadFile(const std::string &name) {
  std::ifstream f(std::string(M6IKE_TEST_DATA_DIR) + "/" + name,
                  std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

struct Pki {
  m6ike_crypto *cr = nullptr;
  m6ike_crypto_cert *ca = nullptr, *other_ca = nullptr, *rsa = nullptr,
                    *ecdsa = nullptr, *rogue = nullptr;
  m6ike_crypto_privkey *rsa_key = nullptr, *ecdsa_key = nullptr,
                       *rogue_key = nullptr;
  Pki() {
    EXPECT_EQ(0, m6ike_crypto_openssl_new(&cr, nullptr));
    Cert(&ca, "ca.pem");
    Cert(&other_ca, "other_ca.pem");
    Cert(&rsa, "rsa.pem");
    Cert(&ecdsa, "ecdsa.pem");
    Cert(&rogue, "rogue.pem");
    Key(&rsa_key, "rsa.key");
    Key(&ecdsa_key, "ecdsa.key");
    Key(&rogue_key, "rogue.key");
  }
  void Cert(m6ike_crypto_cert **c, const char *f) {
    auto d = ReadFile(f);
    ASSERT_EQ(0, m6ike_crypto_cert_load(c, cr, d.data(), d.size())) << f;
  }
  void Key(m6ike_crypto_privkey **k, const char *f) {
    auto d = ReadFile(f);
    ASSERT_EQ(0, m6ike_crypto_privkey_load(k, cr, d.data(), d.size())) << f;
  }
  ~Pki() {
    for (auto *c : {ca, other_ca, rsa, ecdsa, rogue}) m6ike_crypto_cert_del(c);
    for (auto *k : {rsa_key, ecdsa_key, rogue_key}) m6ike_crypto_privkey_del(k);
    m6ike_crypto_del(cr);
  }
};

struct CertSetup {
  Cfgs s;
  m6ike_crypto_cert *cas[1];
  explicit CertSetup(Pki &k) {
    cas[0] = k.ca;
    s.mn.local_id = Fqdn("mn.example.org");
    s.mn.remote_id = Fqdn("ha.example.org");
    s.ha.local_id = Fqdn("ha.example.org");
    s.ha.remote_id.type = 0; // any identity the CA vouches for
    s.mn.auth_method = M6IKE_IKEV2_AUTH_DIGITAL_SIG;
    s.mn.sig_scheme = M6IKE_SIG_ECDSA_SHA256_DER;
    s.mn.key = k.ecdsa_key;
    s.mn.cert = k.ecdsa;
    s.ha.auth_method = M6IKE_IKEV2_AUTH_RSA_SIG;
    s.ha.key = k.rsa_key;
    s.ha.cert = k.rsa;
    for (auto *p : {&s.mn, &s.ha}) {
      p->cas = cas;
      p->n_cas = 1;
      p->psk_len = 0;
    }
  }
};

TEST(Ikev2Cert, EcdsaRfc7427AndRsaPkcs1) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  Start(p, c.s);
  p.RunFor(2 * kSec);
  /* IKE_AUTH { SK{IDi, CERT, AUTH(14, ecdsa-with-SHA256), SA, TSi, TSr} }
   *   <-- IKE_AUTH { SK{IDr, CERT, AUTH(1, RSA PKCS#1), SA, TSi, TSr} } */
  EXPECT_EQ("A:IKE_SA_INIT> B:IKE_SA_INIT< A:IKE_AUTH> B:IKE_AUTH<",
            p.Diagram());
  ASSERT_EQ(1u, p.a.ike_up.size());
  ASSERT_EQ(1u, p.b.ike_up.size());
  EXPECT_EQ(0, std::memcmp("mn.example.org", p.b.ike_up[0].remote_id.data,
                           14));
  ASSERT_EQ(1u, p.a.up.size());
  ExpectChildPair(p.a.up[0], p.b.up[0]);
  EXPECT_GT(p.wire[2].len, 500u); // a certificate travels
}

TEST(Ikev2Cert, EcdsaP256Method9) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  c.s.mn.auth_method = M6IKE_IKEV2_AUTH_ECDSA_256;
  c.s.ha.auth_method = M6IKE_IKEV2_AUTH_DIGITAL_SIG;
  c.s.ha.sig_scheme = M6IKE_SIG_RSA_PKCS1_SHA256;
  Start(p, c.s);
  p.RunFor(2 * kSec);
  EXPECT_EQ(1u, p.a.up.size());
  EXPECT_EQ(1u, p.b.ike_up.size());
}

TEST(Ikev2Cert, UntrustedCertificateFails) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  c.s.mn.key = k.rogue_key; // DNS:mn.example.org, but from other_ca
  c.s.mn.cert = k.rogue;
  Start(p, c.s);
  p.RunFor(2 * kSec);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_AUTH, p.a.ike_down[0].second);
  EXPECT_TRUE(p.b.HasLog("certificate not trusted"));
}

TEST(Ikev2Cert, IdentityNotInCertificateFails) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  c.s.mn.local_id = Fqdn("somebody.example.org");
  Start(p, c.s);
  p.RunFor(2 * kSec);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_TRUE(p.b.HasLog("identity not in the certificate"));
}

TEST(Ikev2Cert, ResponderSignatureCheckedByInitiator) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  m6ike_crypto_cert *other[1] = {k.other_ca};
  c.s.mn.cas = other; // the MN does not trust the HA's CA
  Start(p, c.s);
  p.RunFor(2 * kSec);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_EQ(M6IKE_ERR_IKEV2_AUTH, p.a.ike_down[0].second);
  EXPECT_TRUE(p.a.HasLog("certificate not trusted"));
  EXPECT_TRUE(p.a.up.empty());
}

TEST(Ikev2Cert, PskWhereSignatureRequiredFails) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  c.s.mn.auth_method = M6IKE_IKEV2_AUTH_PSK;
  c.s.mn.psk_len = 3;
  std::memcpy(c.s.mn.psk, "abc", 3);
  Start(p, c.s);
  p.RunFor(2 * kSec);
  ASSERT_EQ(1u, p.a.ike_down.size());
  EXPECT_TRUE(p.b.HasLog("a signature is required"));
}

TEST(Ikev2Cert, ConfigChecks) {
  Pki k;
  IkePair p(k.cr);
  CertSetup c(k);
  auto bad = c.s.mn;
  bad.key = nullptr;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(p.a.ike, &bad, nullptr, 0, nullptr));
  bad = c.s.mn;
  bad.sig_scheme = 99;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_initiate(p.a.ike, &bad, nullptr, 0, nullptr));
  bad = c.s.mn;
  bad.cas = nullptr;
  EXPECT_EQ(M6IKE_ERR_IKEV2_BAD_CONFIG,
            m6ike_ikev2_add_peer(p.b.ike, &bad, nullptr, 0));
}

} // namespace
