// crypto_meter: every call reaches the base backend and is counted.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "m6ike/crypto_meter.h"
#include "m6ike/crypto_openssl.h"
#include "test_util.h"

namespace {

int Rand(uint8_t *d, size_t n, void *) {
  for (size_t i = 0; i < n; i++) d[i] = static_cast<uint8_t>(i * 37 + 11);
  return 0;
}

void Exercise(const m6ike_crypto *c) {
  uint8_t key[36] = {1, 2, 3}, out[64], iv[8] = {}, tag[16], buf[64] = {};
  ASSERT_EQ(0, m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, key, 16, buf, 10,
                                out));
  m6ike_crypto_cipher *ci = nullptr;
  ASSERT_EQ(0, m6ike_crypto_cipher_new(&ci, c, M6IKE_ENCR_AES_GCM_16, 128,
                                       key, 20));
  ASSERT_EQ(0, m6ike_crypto_cipher_encrypt(ci, iv, 8, nullptr, 0, buf, 32, out, tag));
  ASSERT_EQ(0, m6ike_crypto_cipher_decrypt(ci, iv, 8, nullptr, 0, out, 32, tag, buf));
  m6ike_crypto_cipher_del(ci);
  m6ike_crypto_integ *ig = nullptr;
  ASSERT_EQ(0, m6ike_crypto_integ_new(&ig, c, M6IKE_INTEG_HMAC_SHA2_256_128,
                                      key, 32));
  m6ike_crypto_chunk ch = {buf, 48};
  ASSERT_EQ(0, m6ike_crypto_integ_computev(ig, &ch, 1, out));
  m6ike_crypto_integ_del(ig);
  m6ike_crypto_dh *a = nullptr, *b = nullptr;
  ASSERT_EQ(0, m6ike_crypto_dh_new(&a, c, M6IKE_DH_CURVE25519, Rand, nullptr));
  ASSERT_EQ(0, m6ike_crypto_dh_new(&b, c, M6IKE_DH_CURVE25519, Rand, nullptr));
  uint8_t pa[32], pb[32], s1[32], s2[32];
  ASSERT_EQ(32, m6ike_crypto_dh_public(a, pa, 32));
  ASSERT_EQ(32, m6ike_crypto_dh_public(b, pb, 32));
  ASSERT_EQ(32, m6ike_crypto_dh_shared(a, pb, 32, s1, 32));
  ASSERT_EQ(32, m6ike_crypto_dh_shared(b, pa, 32, s2, 32));
  EXPECT_EQ(0, std::memcmp(s1, s2, 32));
  m6ike_crypto_dh_del(a);
  m6ike_crypto_dh_del(b);
}

TEST(CryptoMeter, CountsAndForwards) {
  for (int real = 0; real < 2; real++) {
    m6ike_crypto *base = nullptr;
    if (real) {
      ASSERT_EQ(0, m6ike_crypto_openssl_new(&base, nullptr));
    }
    FailingMem fm;
    m6ike_crypto_meter m;
    const m6ike_crypto *c = m6ike_crypto_meter_init(
        &m, real ? base : m6ike_crypto_null(), &fm.mem);
    ASSERT_NE(nullptr, c);
    EXPECT_STREQ("meter", m6ike_crypto_name(c));
    Exercise(c);
    EXPECT_EQ(1u, m.counts.prf_calls);
    EXPECT_EQ(10u, m.counts.prf_bytes);
    EXPECT_EQ(1u, m.counts.cipher_keys);
    EXPECT_EQ(2u, m.counts.cipher_calls);
    EXPECT_EQ(64u, m.counts.cipher_bytes);
    EXPECT_EQ(1u, m.counts.mac_calls);
    EXPECT_EQ(48u, m.counts.mac_bytes);
    EXPECT_EQ(2u, m.counts.dh_keygen);
    EXPECT_EQ(2u, m.counts.dh_derive);
    EXPECT_EQ(M6IKE_DH_CURVE25519, m.counts.dh[0].group);
    EXPECT_EQ(2u, m.counts.dh[0].keygen);
    EXPECT_EQ(0u, m.counts.dh[1].group);
    EXPECT_EQ(0u, m.counts.failures);
    EXPECT_EQ(0, fm.live);
    // a failure is forwarded and counted
    uint8_t key[16] = {}, out[32];
    m6ike_crypto_cipher *ci = nullptr;
    EXPECT_LT(m6ike_crypto_cipher_new(&ci, c, M6IKE_ENCR_AES_CBC, 128, key, 15),
              0);
    (void)out;
    m6ike_crypto_meter_reset(&m);
    EXPECT_EQ(0u, m.counts.prf_calls);
    // wrapper allocation failure: the base object is freed
    fm.reset(1);
    EXPECT_EQ(M6IKE_ERR_NOMEM, m6ike_crypto_cipher_new(
                                   &ci, c, M6IKE_ENCR_AES_CBC, 128, key, 16));
    EXPECT_EQ(0, fm.live);
    m6ike_crypto_del(base);
  }
  m6ike_crypto_meter m;
  EXPECT_EQ(nullptr, m6ike_crypto_meter_init(&m, nullptr, nullptr));
  EXPECT_EQ(nullptr, m6ike_crypto_meter_init(nullptr, m6ike_crypto_null(),
                                             nullptr));
}

std::vector<uint8_t> ReadFile(const std::string &name) {
  std::ifstream f(std::string(M6IKE_TEST_DATA_DIR) + "/" + name,
                  std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Keys and certificates made through the meter are wrapped too: signatures,
// verifications and chain checks are counted, and the base sees its own
// objects (privkey_matches and chains unwrap them).
TEST(CryptoMeter, SignaturesAndCertificates) {
  m6ike_crypto *base = nullptr;
  ASSERT_EQ(0, m6ike_crypto_openssl_new(&base, nullptr));
  FailingMem fm;
  m6ike_crypto_meter m;
  const m6ike_crypto *c = m6ike_crypto_meter_init(&m, base, &fm.mem);
  auto kd = ReadFile("ecdsa.key"), cd = ReadFile("ecdsa.pem"),
       cad = ReadFile("ca.pem");
  ASSERT_FALSE(kd.empty());
  m6ike_crypto_privkey *key = nullptr;
  m6ike_crypto_cert *cert = nullptr, *ca = nullptr;
  ASSERT_EQ(0, m6ike_crypto_privkey_load(&key, c, kd.data(), kd.size()));
  ASSERT_EQ(0, m6ike_crypto_cert_load(&cert, c, cd.data(), cd.size()));
  ASSERT_EQ(0, m6ike_crypto_cert_load(&ca, c, cad.data(), cad.size()));
  EXPECT_EQ(0, m6ike_crypto_privkey_matches(key, cert));
  uint8_t msg[20] = {1, 2, 3}, sig[256];
  m6ike_crypto_chunk in = {msg, sizeof msg};
  size_t siglen = sizeof sig;
  ASSERT_EQ(0, m6ike_crypto_sign(key, M6IKE_SIG_ECDSA_P256_SHA256, &in, 1,
                                 sig, &siglen));
  EXPECT_EQ(0, m6ike_crypto_cert_verify(cert, M6IKE_SIG_ECDSA_P256_SHA256,
                                        &in, 1, sig, siglen));
  msg[0] ^= 1;
  EXPECT_NE(0, m6ike_crypto_cert_verify(cert, M6IKE_SIG_ECDSA_P256_SHA256,
                                        &in, 1, sig, siglen));
  EXPECT_EQ(0, m6ike_crypto_cert_verify_chain(cert, &ca, 1, nullptr, 0,
                                              M6IKE_CRYPTO_TIME_ANY));
  EXPECT_EQ(1u, m.counts.sign);
  EXPECT_EQ(2u, m.counts.verify);
  EXPECT_EQ(1u, m.counts.verify_chain);
  EXPECT_EQ(1u, m.counts.failures);  // the corrupted message
  m6ike_crypto_privkey_del(key);
  m6ike_crypto_cert_del(cert);
  m6ike_crypto_cert_del(ca);
  EXPECT_EQ(0, fm.live);
  m6ike_crypto_del(base);
}

}  // namespace
