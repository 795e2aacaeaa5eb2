// Tests of the crypto interface (m6ike/crypto.h): the OpenSSL backend
// against published vectors (RFC 4231, RFC 2202, RFC 4868, RFC 7748,
// RFC 5903, NIST SP 800-38A/D), prf+ against an independent computation,
// signatures and certificates with the test PKI in test/data, every error
// code, the NULL backend, and failing allocations.
#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "m6ike/crypto.h"
#include "m6ike/crypto_openssl.h"
#include "test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes Str(const char *s) { return Bytes(s, s + std::strlen(s)); }
Bytes Rep(uint8_t v, size_t n) { return Bytes(n, v); }

Bytes ReadFile(const std::string &name) {
  std::ifstream f(std::string(M6IKE_TEST_DATA_DIR) + "/" + name,
                  std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return Bytes(s.begin(), s.end());
}

// A random callback that hands out scripted bytes (RFC private keys), then
// fails.
struct Script {
  Bytes bytes;
  size_t pos = 0;
  static int Cb(uint8_t *dest, size_t len, void *ud) {
    auto *s = static_cast<Script *>(ud);
    if (s->pos + len > s->bytes.size()) return -1;
    std::memcpy(dest, s->bytes.data() + s->pos, len);
    s->pos += len;
    return 0;
  }
};

// A deterministic non-secret generator for tests that need fresh keys.
struct Counter {
  uint64_t x = 0x12345678;
  static int Cb(uint8_t *dest, size_t len, void *ud) {
    auto *c = static_cast<Counter *>(ud);
    for (size_t i = 0; i < len; i++) {
      c->x ^= c->x << 13;
      c->x ^= c->x >> 7;
      c->x ^= c->x << 17;
      dest[i] = static_cast<uint8_t>(c->x);
    }
    return 0;
  }
};

class CryptoOpenSSL : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(m6ike_crypto_openssl_new(&c_, nullptr), 0); }
  void TearDown() override { m6ike_crypto_del(c_); }
  m6ike_crypto *c_ = nullptr;

  Bytes Prf(uint16_t alg, const Bytes &key, const Bytes &data) {
    Bytes out(static_cast<size_t>(m6ike_crypto_prf_len(alg)));
    EXPECT_EQ(m6ike_crypto_prf(c_, alg, key.data(), key.size(), data.data(),
                               data.size(), out.data()),
              0);
    return out;
  }
  Bytes Icv(uint16_t alg, const Bytes &key, const Bytes &data) {
    m6ike_crypto_integ *ig = nullptr;
    EXPECT_EQ(m6ike_crypto_integ_new(&ig, c_, alg, key.data(), key.size()), 0);
    Bytes out(static_cast<size_t>(m6ike_crypto_integ_icv_len(alg)));
    EXPECT_EQ(m6ike_crypto_integ_compute(ig, data.data(), data.size(),
                                         out.data()),
              0);
    EXPECT_EQ(m6ike_crypto_integ_verify(ig, data.data(), data.size(),
                                        out.data(), out.size()),
              0);
    m6ike_crypto_integ_del(ig);
    return out;
  }
  // DH with a scripted private key; returns the public value.
  m6ike_crypto_dh *Dh(uint16_t group, const Bytes &priv) {
    Script s{priv};
    m6ike_crypto_dh *dh = nullptr;
    EXPECT_EQ(m6ike_crypto_dh_new(&dh, c_, group, Script::Cb, &s), 0);
    return dh;
  }
  Bytes Public(m6ike_crypto_dh *dh) {
    Bytes out(M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN);
    int n = m6ike_crypto_dh_public(dh, out.data(), out.size());
    EXPECT_GT(n, 0);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }
  int Shared(m6ike_crypto_dh *dh, const Bytes &peer, Bytes *out) {
    out->assign(M6IKE_CRYPTO_MAX_DH_SHARED_LEN, 0);
    int n = m6ike_crypto_dh_shared(dh, peer.data(), peer.size(), out->data(),
                                   out->size());
    out->resize(n > 0 ? static_cast<size_t>(n) : 0);
    return n;
  }
  m6ike_crypto_cert *Cert(const std::string &file) {
    Bytes d = ReadFile(file);
    m6ike_crypto_cert *cert = nullptr;
    EXPECT_EQ(m6ike_crypto_cert_load(&cert, c_, d.data(), d.size()), 0) << file;
    return cert;
  }
  m6ike_crypto_privkey *Key(const std::string &file) {
    Bytes d = ReadFile(file);
    m6ike_crypto_privkey *k = nullptr;
    EXPECT_EQ(m6ike_crypto_privkey_load(&k, c_, d.data(), d.size()), 0) << file;
    return k;
  }
};

// ---- sizes -----------------------------------------------------------

TEST(CryptoSizes, TransformTables) {
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_AES_GCM_16, 128), 20);
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_AES_GCM_16, 256), 36);
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_AES_CBC, 256), 32);
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_3DES, 0), 24);
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_NULL, 0), 0);
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_AES_CBC, 100),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_encr_key_len(M6IKE_ENCR_3DES, 192),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_encr_key_len(99, 0), M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_encr_iv_len(M6IKE_ENCR_AES_GCM_16), 8);
  EXPECT_EQ(m6ike_crypto_encr_iv_len(M6IKE_ENCR_AES_CBC), 16);
  EXPECT_EQ(m6ike_crypto_encr_iv_len(M6IKE_ENCR_3DES), 8);
  EXPECT_EQ(m6ike_crypto_encr_block_len(M6IKE_ENCR_3DES), 8);
  EXPECT_EQ(m6ike_crypto_encr_block_len(M6IKE_ENCR_AES_GCM_16), 1);
  EXPECT_EQ(m6ike_crypto_encr_icv_len(M6IKE_ENCR_AES_GCM_16), 16);
  EXPECT_EQ(m6ike_crypto_encr_is_aead(M6IKE_ENCR_AES_GCM_16), 1);
  EXPECT_EQ(m6ike_crypto_encr_is_aead(M6IKE_ENCR_AES_CBC), 0);
  EXPECT_EQ(m6ike_crypto_encr_is_aead(7), M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_prf_len(M6IKE_PRF_HMAC_SHA1), 20);
  EXPECT_EQ(m6ike_crypto_prf_len(M6IKE_PRF_HMAC_SHA2_256), 32);
  EXPECT_EQ(m6ike_crypto_prf_len(1), M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_integ_key_len(M6IKE_INTEG_HMAC_SHA1_96), 20);
  EXPECT_EQ(m6ike_crypto_integ_icv_len(M6IKE_INTEG_HMAC_SHA1_96), 12);
  EXPECT_EQ(m6ike_crypto_integ_icv_len(M6IKE_INTEG_HMAC_SHA2_256_128), 16);
  EXPECT_EQ(m6ike_crypto_integ_icv_len(M6IKE_INTEG_NONE), 0);
  EXPECT_EQ(m6ike_crypto_integ_icv_len(3), M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_dh_public_len(M6IKE_DH_MODP_2048), 256);
  EXPECT_EQ(m6ike_crypto_dh_public_len(M6IKE_DH_ECP_256), 64);
  EXPECT_EQ(m6ike_crypto_dh_public_len(M6IKE_DH_CURVE25519), 32);
  EXPECT_EQ(m6ike_crypto_dh_shared_len(M6IKE_DH_ECP_256), 32);
  EXPECT_EQ(m6ike_crypto_dh_shared_len(2), M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_hash_len(M6IKE_HASH_SHA1), 20);
  EXPECT_EQ(m6ike_crypto_hash_len(9), M6IKE_ERR_CRYPTO_UNSUPPORTED);
}

TEST(CryptoErrors, EveryCodeHasText) {
  for (int code = -851; code >= -877; code--) {
    const char *own = m6ike_crypto_strerror_(code);
    if (own == nullptr) continue; // gap in the numbering
    EXPECT_NE(std::strstr(own, "crypto"), nullptr) << code;
    EXPECT_STREQ(m6ike_strerror(code), own) << code;
  }
  EXPECT_NE(m6ike_crypto_strerror_(M6IKE_ERR_CRYPTO_DH_ZERO), nullptr);
  EXPECT_NE(m6ike_crypto_strerror_(M6IKE_ERR_CRYPTO_CERT_FAILED), nullptr);
  EXPECT_EQ(m6ike_crypto_strerror_(-401), nullptr);
  EXPECT_EQ(m6ike_crypto_strerror_(-899), nullptr);
}

TEST(CryptoMemeq, ConstantTimeCompare) {
  uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
  EXPECT_EQ(m6ike_crypto_memeq(a, b, 4), 1);
  b[3] = 5;
  EXPECT_EQ(m6ike_crypto_memeq(a, b, 4), 0);
  EXPECT_EQ(m6ike_crypto_memeq(a, b, 3), 1);
}

// ---- HMAC / prf ------------------------------------------------------

TEST_F(CryptoOpenSSL, Rfc4231HmacSha256) {
  struct V {
    Bytes key, data;
    const char *out;
  } v[] = {
      {Rep(0x0b, 20), Str("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {Str("Jefe"), Str("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {Rep(0xaa, 20), Rep(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       Rep(0xcd, 50),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {Rep(0xaa, 131),
       Str("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Rep(0xaa, 131),
       Str("This is a test using a larger than block-size key and a larger "
           "than block-size data. The key needs to be hashed before being "
           "used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto &t : v) {
    EXPECT_EQ(Prf(M6IKE_PRF_HMAC_SHA2_256, t.key, t.data), Hex(t.out));
  }
  // RFC 4231 case 5: truncation to 128 bits is the INTEG form.
}

TEST_F(CryptoOpenSSL, Rfc2202HmacSha1AndSha1_96) {
  struct V {
    Bytes key, data;
    const char *out;
  } v[] = {
      {Rep(0x0b, 20), Str("Hi There"),
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {Str("Jefe"), Str("what do ya want for nothing?"),
       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {Rep(0xaa, 20), Rep(0xdd, 50),
       "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       Rep(0xcd, 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
      {Rep(0xaa, 80),
       Str("Test Using Larger Than Block-Size Key - Hash Key First"),
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
      {Rep(0xaa, 80),
       Str("Test Using Larger Than Block-Size Key and Larger Than One "
           "Block-Size Data"),
       "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
  };
  for (const auto &t : v) {
    Bytes full = Hex(t.out);
    EXPECT_EQ(Prf(M6IKE_PRF_HMAC_SHA1, t.key, t.data), full);
    if (t.key.size() == 20) { // RFC 2404: HMAC-SHA1-96 = first 12 octets
      EXPECT_EQ(Icv(M6IKE_INTEG_HMAC_SHA1_96, t.key, t.data),
                Bytes(full.begin(), full.begin() + 12));
    }
  }
}

TEST_F(CryptoOpenSSL, Rfc4868HmacSha256_128) {
  // RFC 4868 §2.7.2.1 test cases AUTH256-1 and AUTH256-2 (32-octet keys).
  EXPECT_EQ(Icv(M6IKE_INTEG_HMAC_SHA2_256_128, Rep(0x0b, 32), Str("Hi There")),
            Hex("198a607eb44bfbc69903a0f1cf2bbdc5"));
  EXPECT_EQ(Icv(M6IKE_INTEG_HMAC_SHA2_256_128,
                Str("JefeJefeJefeJefeJefeJefeJefeJefe"),
                Str("what do ya want for nothing?")),
            Hex("167f928588c5cc2eef8e3093caa0e87c"));
  // The PRF form is the untruncated value.
  EXPECT_EQ(Prf(M6IKE_PRF_HMAC_SHA2_256, Rep(0x0b, 32), Str("Hi There")),
            Hex("198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b6"
                "8cf7"));
}

TEST_F(CryptoOpenSSL, PrfEmptyKeyAndChunks) {
  // HMAC-SHA256 with an empty key over an empty message (well known).
  EXPECT_EQ(Prf(M6IKE_PRF_HMAC_SHA2_256, Bytes(), Bytes()),
            Hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292"
                "c5ad"));
  // Empty key right after a non-empty one is not "keep the previous key".
  (void)Prf(M6IKE_PRF_HMAC_SHA2_256, Str("Jefe"), Str("x"));
  EXPECT_EQ(Prf(M6IKE_PRF_HMAC_SHA2_256, Bytes(), Bytes()),
            Hex("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292"
                "c5ad"));
  // Chunked input equals the concatenation.
  Bytes whole = Str("what do ya want for nothing?");
  m6ike_crypto_chunk ch[3] = {
      {whole.data(), 4}, {nullptr, 0}, {whole.data() + 4, whole.size() - 4}};
  uint8_t out[32];
  Bytes key = Str("Jefe");
  ASSERT_EQ(m6ike_crypto_prfv(c_, M6IKE_PRF_HMAC_SHA2_256, key.data(),
                              key.size(), ch, 3, out),
            0);
  EXPECT_EQ(Bytes(out, out + 32), Hex("5bdcc146bf60754e6a042426089575c75a003f"
                                      "089d2739839dec58b964ec3843"));
  EXPECT_EQ(m6ike_crypto_prf(c_, 3, key.data(), key.size(), whole.data(),
                             whole.size(), out),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_prf(c_, M6IKE_PRF_HMAC_SHA1, key.data(), key.size(),
                             whole.data(), whole.size(), nullptr),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_crypto_prf(nullptr, M6IKE_PRF_HMAC_SHA1, key.data(),
                             key.size(), whole.data(), whole.size(), out),
            M6IKE_ERR_INVALID_ARGUMENT);
}

// prf+ computed independently with OpenSSL's one-shot HMAC().
Bytes RefPrfPlus(const EVP_MD *md, const Bytes &key, const Bytes &seed,
                 size_t len) {
  Bytes out, t;
  for (unsigned i = 1; out.size() < len; i++) {
    Bytes in = t;
    in.insert(in.end(), seed.begin(), seed.end());
    in.push_back(static_cast<uint8_t>(i));
    uint8_t buf[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()), in.data(), in.size(),
         buf, &n);
    t.assign(buf, buf + n);
    out.insert(out.end(), t.begin(), t.end());
  }
  out.resize(len);
  return out;
}

TEST_F(CryptoOpenSSL, PrfPlusMatchesIndependentComputation) {
  // SKEYSEED-like inputs: K = 32 octets, S = Ni | Nr | SPIi | SPIr.
  Bytes key = Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"
                  "1e1f");
  Bytes seed = Rep(0x5a, 32 + 32 + 16);
  for (size_t len : {0u, 1u, 32u, 33u, 200u, 255u * 32u}) {
    Bytes out(len);
    ASSERT_EQ(m6ike_prf_plus(c_, M6IKE_PRF_HMAC_SHA2_256, key.data(),
                             key.size(), seed.data(), seed.size(), out.data(),
                             out.size()),
              0)
        << len;
    EXPECT_EQ(out, RefPrfPlus(EVP_sha256(), key, seed, len)) << len;
  }
  Bytes out(7 * 20 + 3);
  ASSERT_EQ(m6ike_prf_plus(c_, M6IKE_PRF_HMAC_SHA1, key.data(), key.size(),
                           seed.data(), seed.size(), out.data(), out.size()),
            0);
  EXPECT_EQ(out, RefPrfPlus(EVP_sha1(), key, seed, out.size()));
  // T1 = prf(K, S | 0x01) exactly (RFC 7296 §2.13).
  Bytes s1 = seed;
  s1.push_back(1);
  Bytes t1 = Prf(M6IKE_PRF_HMAC_SHA2_256, key, s1);
  Bytes first(32);
  ASSERT_EQ(m6ike_prf_plus(c_, M6IKE_PRF_HMAC_SHA2_256, key.data(),
                           key.size(), seed.data(), seed.size(), first.data(),
                           32),
            0);
  EXPECT_EQ(first, t1);
  Bytes big(255 * 32 + 1);
  EXPECT_EQ(m6ike_prf_plus(c_, M6IKE_PRF_HMAC_SHA2_256, key.data(),
                           key.size(), seed.data(), seed.size(), big.data(),
                           big.size()),
            M6IKE_ERR_CRYPTO_PRF_PLUS_LENGTH);
  EXPECT_EQ(m6ike_prf_plus(c_, 99, key.data(), key.size(), seed.data(),
                           seed.size(), big.data(), 10),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
}

TEST_F(CryptoOpenSSL, HashSha1AndSha256) {
  Bytes abc = Str("abc");
  m6ike_crypto_chunk ch = {abc.data(), abc.size()};
  uint8_t out[64];
  ASSERT_EQ(m6ike_crypto_hash(c_, M6IKE_HASH_SHA1, &ch, 1, out), 0);
  EXPECT_EQ(Bytes(out, out + 20),
            Hex("a9993e364706816aba3e25717850c26c9cd0d89d"));
  ASSERT_EQ(m6ike_crypto_hash(c_, M6IKE_HASH_SHA2_256, &ch, 1, out), 0);
  EXPECT_EQ(Bytes(out, out + 32),
            Hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200"
                "15ad"));
  EXPECT_EQ(m6ike_crypto_hash(c_, 0, &ch, 1, out),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
}

// ---- integrity -------------------------------------------------------

TEST_F(CryptoOpenSSL, IntegVerifyAndErrors) {
  Bytes key = Rep(0x0b, 20), data = Str("Hi There");
  m6ike_crypto_integ *ig = nullptr;
  EXPECT_EQ(m6ike_crypto_integ_new(&ig, c_, M6IKE_INTEG_HMAC_SHA1_96,
                                   key.data(), 19),
            M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH);
  EXPECT_EQ(ig, nullptr);
  EXPECT_EQ(m6ike_crypto_integ_new(&ig, c_, M6IKE_INTEG_NONE, nullptr, 0),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_integ_new(&ig, c_, 4, key.data(), 20),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  ASSERT_EQ(m6ike_crypto_integ_new(&ig, c_, M6IKE_INTEG_HMAC_SHA1_96,
                                   key.data(), key.size()),
            0);
  Bytes icv = Hex("b617318655057264e28bc0b6");
  // Repeated use of one keyed context gives the same answer each time.
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(m6ike_crypto_integ_verify(ig, data.data(), data.size(),
                                        icv.data(), icv.size()),
              0);
  }
  // Chunked: ESP payload || ESN high-order bits.
  m6ike_crypto_chunk ch[2] = {{data.data(), 3}, {data.data() + 3, 5}};
  EXPECT_EQ(m6ike_crypto_integ_verifyv(ig, ch, 2, icv.data(), icv.size()), 0);
  icv[11] ^= 1;
  EXPECT_EQ(m6ike_crypto_integ_verify(ig, data.data(), data.size(),
                                      icv.data(), icv.size()),
            M6IKE_ERR_CRYPTO_AUTH);
  EXPECT_EQ(m6ike_crypto_integ_verify(ig, data.data(), data.size(),
                                      icv.data(), 11),
            M6IKE_ERR_INVALID_ARGUMENT);
  data[0] ^= 1;
  icv[11] ^= 1;
  EXPECT_EQ(m6ike_crypto_integ_verify(ig, data.data(), data.size(),
                                      icv.data(), icv.size()),
            M6IKE_ERR_CRYPTO_AUTH);
  m6ike_crypto_integ_del(ig);
  m6ike_crypto_integ_del(nullptr);
}

// ---- ciphers ---------------------------------------------------------

TEST_F(CryptoOpenSSL, AesGcmMcGrewViegaVectors) {
  // GCM spec test cases 3 and 4 (AES-128); nonce = salt (cafebabe) || IV.
  Bytes key = Hex("feffe9928665731c6d6a8f9467308308 cafebabe");
  Bytes iv = Hex("facedbaddecaf888");
  Bytes p = Hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
  Bytes c3 = Hex(
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985");
  m6ike_crypto_cipher *gcm = nullptr;
  ASSERT_EQ(m6ike_crypto_cipher_new(&gcm, c_, M6IKE_ENCR_AES_GCM_16, 128,
                                    key.data(), key.size()),
            0);
  Bytes out(p.size());
  uint8_t tag[16];
  ASSERT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), iv.size(), nullptr, 0,
                                        p.data(), p.size(), out.data(), tag),
            0);
  EXPECT_EQ(out, c3);
  EXPECT_EQ(Bytes(tag, tag + 16), Hex("4d5c2af327cd64a62cf35abd2ba6fab4"));

  Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes p4(p.begin(), p.begin() + 60);
  out.assign(60, 0);
  ASSERT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), iv.size(), aad.data(),
                                        aad.size(), p4.data(), p4.size(),
                                        out.data(), tag),
            0);
  EXPECT_EQ(out, Bytes(c3.begin(), c3.begin() + 60));
  EXPECT_EQ(Bytes(tag, tag + 16), Hex("5bc94fbc3221a5db94fae95ae7121a47"));

  // Decrypt in place.
  Bytes buf = out;
  ASSERT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), iv.size(), aad.data(),
                                        aad.size(), buf.data(), buf.size(),
                                        tag, buf.data()),
            0);
  EXPECT_EQ(buf, p4);
  // A flipped bit in ciphertext, AAD or tag: M6IKE_ERR_CRYPTO_AUTH.
  buf = out;
  buf[7] ^= 0x80;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), iv.size(), aad.data(),
                                        aad.size(), buf.data(), buf.size(),
                                        tag, buf.data()),
            M6IKE_ERR_CRYPTO_AUTH);
  buf = out;
  aad[0] ^= 1;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), iv.size(), aad.data(),
                                        aad.size(), buf.data(), buf.size(),
                                        tag, buf.data()),
            M6IKE_ERR_CRYPTO_AUTH);
  aad[0] ^= 1;
  tag[15] ^= 1;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), iv.size(), aad.data(),
                                        aad.size(), buf.data(), buf.size(),
                                        tag, buf.data()),
            M6IKE_ERR_CRYPTO_AUTH);
  // And the context still works after a failure.
  tag[15] ^= 1;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), iv.size(), aad.data(),
                                        aad.size(), buf.data(), buf.size(),
                                        tag, buf.data()),
            0);
  // Wrong IV length; missing tag.
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), 12, nullptr, 0,
                                        p.data(), p.size(), out.data(), tag),
            M6IKE_ERR_CRYPTO_BAD_IV_LENGTH);
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), 8, nullptr, 0,
                                        p.data(), 16, out.data(), nullptr),
            M6IKE_ERR_INVALID_ARGUMENT);
  // Partial overlap of in and out is refused.
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), 8, nullptr, 0,
                                        p.data(), 16, p.data() + 1, tag),
            M6IKE_ERR_INVALID_ARGUMENT);
  m6ike_crypto_cipher_del(gcm);
}

TEST_F(CryptoOpenSSL, AesGcm256RoundTripEmptyPayload) {
  Bytes key = Rep(0x42, 36), iv = Rep(1, 8), aad = Str("SPI|SEQ");
  m6ike_crypto_cipher *gcm = nullptr;
  ASSERT_EQ(m6ike_crypto_cipher_new(&gcm, c_, M6IKE_ENCR_AES_GCM_16, 256,
                                    key.data(), key.size()),
            0);
  uint8_t tag[16];
  ASSERT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), nullptr, 0, nullptr, tag),
            0);
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), nullptr, 0, tag, nullptr),
            0);
  tag[0] ^= 1;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), nullptr, 0, tag, nullptr),
            M6IKE_ERR_CRYPTO_AUTH);
  m6ike_crypto_cipher_del(gcm);
  EXPECT_EQ(m6ike_crypto_cipher_new(&gcm, c_, M6IKE_ENCR_AES_GCM_16, 256,
                                    key.data(), 32),
            M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH);
  EXPECT_EQ(gcm, nullptr);
}

TEST_F(CryptoOpenSSL, AesCbcSp800_38aVector) {
  // NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, blocks 1-2.
  Bytes key = Hex("2b7e151628aed2a6abf7158809cf4f3c");
  Bytes iv = Hex("000102030405060708090a0b0c0d0e0f");
  Bytes p = Hex("6bc1bee22e409f96e93d7e117393172a"
                "ae2d8a571e03ac9c9eb76fac45af8e51");
  Bytes c = Hex("7649abac8119b246cee98e9b12e9197d"
                "5086cb9b507219ee95db113a917678b2");
  m6ike_crypto_cipher *cbc = nullptr;
  ASSERT_EQ(m6ike_crypto_cipher_new(&cbc, c_, M6IKE_ENCR_AES_CBC, 128,
                                    key.data(), key.size()),
            0);
  EXPECT_EQ(cbc->encr, M6IKE_ENCR_AES_CBC);
  EXPECT_EQ(cbc->key_bits, 128);
  Bytes out(p.size());
  for (int round = 0; round < 2; round++) { // context reuse
    ASSERT_EQ(m6ike_crypto_cipher_encrypt(cbc, iv.data(), iv.size(), nullptr,
                                          0, p.data(), p.size(), out.data(),
                                          nullptr),
              0);
    EXPECT_EQ(out, c);
    ASSERT_EQ(m6ike_crypto_cipher_decrypt(cbc, iv.data(), iv.size(), nullptr,
                                          0, out.data(), out.size(), nullptr,
                                          out.data()),
              0);
    EXPECT_EQ(out, p);
  }
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(cbc, iv.data(), iv.size(), nullptr, 0,
                                        p.data(), 17, out.data(), nullptr),
            M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH);
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(cbc, iv.data(), 8, nullptr, 0,
                                        p.data(), 16, out.data(), nullptr),
            M6IKE_ERR_CRYPTO_BAD_IV_LENGTH);
  m6ike_crypto_cipher_del(cbc);
}

TEST_F(CryptoOpenSSL, TripleDesMatchesOpenSslAndRoundTrips) {
  Bytes key = Hex("0123456789abcdef23456789abcdef01456789abcdef0123");
  Bytes iv = Hex("1234567890abcdef");
  Bytes p(64);
  for (size_t i = 0; i < p.size(); i++) p[i] = static_cast<uint8_t>(i * 7);
  m6ike_crypto_cipher *des = nullptr;
  ASSERT_EQ(m6ike_crypto_cipher_new(&des, c_, M6IKE_ENCR_3DES, 0, key.data(),
                                    key.size()),
            0);
  Bytes out(p.size());
  ASSERT_EQ(m6ike_crypto_cipher_encrypt(des, iv.data(), 8, nullptr, 0,
                                        p.data(), p.size(), out.data(),
                                        nullptr),
            0);
  // Independent: OpenSSL's EVP DES-EDE3-CBC without padding.
  EVP_CIPHER_CTX *ref = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(ref, EVP_des_ede3_cbc(), nullptr, key.data(),
                               iv.data()),
            1);
  EVP_CIPHER_CTX_set_padding(ref, 0);
  Bytes want(p.size());
  int n = 0;
  ASSERT_EQ(EVP_EncryptUpdate(ref, want.data(), &n, p.data(),
                              static_cast<int>(p.size())),
            1);
  EVP_CIPHER_CTX_free(ref);
  EXPECT_EQ(out, want);
  EXPECT_NE(out, p);
  ASSERT_EQ(m6ike_crypto_cipher_decrypt(des, iv.data(), 8, nullptr, 0,
                                        out.data(), out.size(), nullptr,
                                        out.data()),
            0);
  EXPECT_EQ(out, p);
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(des, iv.data(), 8, nullptr, 0,
                                        p.data(), 12, out.data(), nullptr),
            M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH);
  m6ike_crypto_cipher_del(des);
  EXPECT_EQ(m6ike_crypto_cipher_new(&des, c_, M6IKE_ENCR_3DES, 0, key.data(),
                                    16),
            M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH);
  EXPECT_EQ(m6ike_crypto_cipher_new(&des, c_, 2 /* ENCR_DES */, 0,
                                    key.data(), 8),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
}

TEST_F(CryptoOpenSSL, EncrNullCopies) {
  m6ike_crypto_cipher *nc = nullptr;
  ASSERT_EQ(m6ike_crypto_cipher_new(&nc, c_, M6IKE_ENCR_NULL, 0, nullptr, 0),
            0);
  Bytes p = Str("plain"), out(p.size());
  ASSERT_EQ(m6ike_crypto_cipher_encrypt(nc, nullptr, 0, nullptr, 0, p.data(),
                                        p.size(), out.data(), nullptr),
            0);
  EXPECT_EQ(out, p);
  m6ike_crypto_cipher_del(nc);
}

// ---- Diffie-Hellman --------------------------------------------------

TEST_F(CryptoOpenSSL, Rfc7748X25519) {
  // §5.2, first vector: scalar (as private key) times u-coordinate.
  m6ike_crypto_dh *dh = Dh(M6IKE_DH_CURVE25519,
                           Hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a"
                               "18506a2244ba449ac4"));
  ASSERT_NE(dh, nullptr);
  Bytes k;
  ASSERT_EQ(Shared(dh, Hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b"
                           "10a903a6d0ab1c4c"),
                   &k),
            32);
  EXPECT_EQ(k, Hex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b40755"
                   "77a28552"));
  m6ike_crypto_dh_del(dh);

  // §6.1 Alice and Bob.
  /* Alice -> KE(alice_pub) -> Bob;  Bob -> KE(bob_pub) -> Alice */
  m6ike_crypto_dh *a = Dh(M6IKE_DH_CURVE25519,
                          Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc099"
                              "2ab177fba51db92c2a"));
  m6ike_crypto_dh *b = Dh(M6IKE_DH_CURVE25519,
                          Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6"
                              "fd1c2f8b27ff88e0eb"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Bytes pa = Public(a), pb = Public(b);
  EXPECT_EQ(pa, Hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98e"
                    "aa9b4e6a"));
  EXPECT_EQ(pb, Hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e14"
                    "6f882b4f"));
  Bytes ka, kb;
  ASSERT_EQ(Shared(a, pb, &ka), 32);
  ASSERT_EQ(Shared(b, pa, &kb), 32);
  Bytes want = Hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c"
                   "1e161742");
  EXPECT_EQ(ka, want);
  EXPECT_EQ(kb, want);

  // Small-order peer points give an all-zero secret: rejected.
  EXPECT_EQ(Shared(a, Bytes(32, 0), &ka), M6IKE_ERR_CRYPTO_DH_ZERO);
  Bytes one(32, 0);
  one[0] = 1;
  EXPECT_EQ(Shared(a, one, &ka), M6IKE_ERR_CRYPTO_DH_ZERO);
  // Wrong length.
  EXPECT_EQ(Shared(a, Bytes(31, 9), &ka), M6IKE_ERR_CRYPTO_DH_PUBLIC);
  // Small output buffer.
  uint8_t small[16];
  EXPECT_EQ(m6ike_crypto_dh_public(a, small, sizeof(small)), M6IKE_ERR_NOBUF);
  EXPECT_EQ(m6ike_crypto_dh_shared(a, pb.data(), pb.size(), small,
                                   sizeof(small)),
            M6IKE_ERR_NOBUF);
  m6ike_crypto_dh_del(a);
  m6ike_crypto_dh_del(b);
}

TEST_F(CryptoOpenSSL, Rfc5903Ecp256) {
  // RFC 5903 §8.1.
  /* Initiator KEi(gi) --> ; <-- KEr(gr) Responder */
  m6ike_crypto_dh *i = Dh(M6IKE_DH_ECP_256,
                          Hex("C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 "
                              "AFE84049 C62A9C57 862D1433"));
  m6ike_crypto_dh *r = Dh(M6IKE_DH_ECP_256,
                          Hex("C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F "
                              "06BF9BE0 B283AB46 476BEE53"));
  ASSERT_NE(i, nullptr);
  ASSERT_NE(r, nullptr);
  Bytes gi = Public(i), gr = Public(r);
  EXPECT_EQ(gi, Hex("DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF "
                    "945D0C37 72581180"
                    "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 "
                    "389E0577 B8990BB3"));
  EXPECT_EQ(gr, Hex("D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C "
                    "736FC755 4494BF63"
                    "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 "
                    "53E74F33 039872AB"));
  Bytes ki, kr;
  ASSERT_EQ(Shared(i, gr, &ki), 32);
  ASSERT_EQ(Shared(r, gi, &kr), 32);
  Bytes girx = Hex("D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 "
                   "812464D0 4B9442DE");
  EXPECT_EQ(ki, girx);
  EXPECT_EQ(kr, girx);
  // A point off the curve, and the all-zero value.
  Bytes bad = gr;
  bad[63] ^= 1;
  EXPECT_EQ(Shared(i, bad, &ki), M6IKE_ERR_CRYPTO_DH_PUBLIC);
  EXPECT_EQ(Shared(i, Bytes(64, 0), &ki), M6IKE_ERR_CRYPTO_DH_PUBLIC);
  EXPECT_EQ(Shared(i, Bytes(65, 4), &ki), M6IKE_ERR_CRYPTO_DH_PUBLIC);
  m6ike_crypto_dh_del(i);
  m6ike_crypto_dh_del(r);
}

TEST_F(CryptoOpenSSL, Ecp256PrivateKeyRedrawnWhenOutOfRange) {
  // First draw = 0xff..ff (>= n), second = RFC 5903's i.
  Bytes script = Rep(0xff, 32);
  Bytes i = Hex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D"
                "1433");
  script.insert(script.end(), i.begin(), i.end());
  m6ike_crypto_dh *dh = Dh(M6IKE_DH_ECP_256, script);
  ASSERT_NE(dh, nullptr);
  EXPECT_EQ(Public(dh)[0], 0xDA);
  m6ike_crypto_dh_del(dh);
  // Only out-of-range draws until the script runs dry: M6IKE_ERR_RANDOM.
  Script s{Rep(0, 64)};
  EXPECT_EQ(m6ike_crypto_dh_new(&dh, c_, M6IKE_DH_ECP_256, Script::Cb, &s),
            M6IKE_ERR_RANDOM);
  EXPECT_EQ(dh, nullptr);
}

TEST_F(CryptoOpenSSL, Modp2048TwoPartyAndPeerValidation) {
  Counter rng;
  m6ike_crypto_dh *a = nullptr, *b = nullptr;
  ASSERT_EQ(m6ike_crypto_dh_new(&a, c_, M6IKE_DH_MODP_2048, Counter::Cb, &rng),
            0);
  ASSERT_EQ(m6ike_crypto_dh_new(&b, c_, M6IKE_DH_MODP_2048, Counter::Cb, &rng),
            0);
  Bytes pa = Public(a), pb = Public(b);
  ASSERT_EQ(pa.size(), 256u);
  EXPECT_NE(pa, pb);
  Bytes ka, kb;
  ASSERT_EQ(Shared(a, pb, &ka), 256);
  ASSERT_EQ(Shared(b, pa, &kb), 256);
  EXPECT_EQ(ka, kb);
  // Independent check of a's public value: 2^x mod p with x = a's draw.
  Counter again;
  uint8_t x[32];
  Counter::Cb(x, 32, &again);
  BN_CTX *bn = BN_CTX_new();
  BIGNUM *p = BN_get_rfc3526_prime_2048(nullptr), *e = BN_bin2bn(x, 32, nullptr),
         *g = BN_new(), *y = BN_new();
  BN_set_word(g, 2);
  BN_mod_exp(y, g, e, p, bn);
  Bytes want(256);
  BN_bn2binpad(y, want.data(), 256);
  EXPECT_EQ(pa, want);
  // Invalid peer values: 0, 1, p-1, p, 2^2048-1, wrong length.
  Bytes pbytes(256), pm1(256);
  BN_bn2binpad(p, pbytes.data(), 256);
  BN_sub_word(p, 1);
  BN_bn2binpad(p, pm1.data(), 256);
  // p-2 is in range but outside the prime-order subgroup (p = 7 mod 8
  // makes -2 a non-residue).  RFC 6989 §2.2: for safe-prime MODP groups
  // the range check suffices (at most one bit of an ephemeral exponent
  // leaks), so it is accepted -- no costly y^q test.
  BN_sub_word(p, 1);
  Bytes pm2(256);
  BN_bn2binpad(p, pm2.data(), 256);
  EXPECT_EQ(Shared(a, pm2, &ka), 256);
  Bytes one(256, 0);
  one[255] = 1;
  for (const Bytes &bad : {Bytes(256, 0), one, pm1, pbytes, Bytes(256, 0xff),
                           Bytes(255, 7)}) {
    EXPECT_EQ(Shared(a, bad, &ka), M6IKE_ERR_CRYPTO_DH_PUBLIC);
  }
  BN_free(p);
  BN_free(e);
  BN_free(g);
  BN_free(y);
  BN_CTX_free(bn);
  m6ike_crypto_dh_del(a);
  m6ike_crypto_dh_del(b);
}

TEST_F(CryptoOpenSSL, DhArgumentErrors) {
  m6ike_crypto_dh *dh = nullptr;
  Counter rng;
  EXPECT_EQ(m6ike_crypto_dh_new(&dh, c_, 2, Counter::Cb, &rng),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_dh_new(&dh, c_, M6IKE_DH_CURVE25519, nullptr, &rng),
            M6IKE_ERR_INVALID_ARGUMENT);
  Script empty;
  EXPECT_EQ(m6ike_crypto_dh_new(&dh, c_, M6IKE_DH_CURVE25519, Script::Cb,
                                &empty),
            M6IKE_ERR_RANDOM);
  EXPECT_EQ(dh, nullptr);
  m6ike_crypto_dh_del(nullptr);
}

// ---- signatures and certificates ------------------------------------

const int64_t kYear2100 = 4102444800; // inside the test PKI's validity
const int64_t kYear2023 = 1700000000; // before it

TEST_F(CryptoOpenSSL, SignVerifyEverySchemeRoundTrip) {
  m6ike_crypto_privkey *rsa = Key("rsa.key"), *ec = Key("ecdsa.key"),
                       *p384 = Key("p384.key");
  m6ike_crypto_cert *rsac = Cert("rsa.pem"), *ecc = Cert("ecdsa.pem"),
                    *p384c = Cert("p384.pem");
  ASSERT_TRUE(rsa && ec && p384 && rsac && ecc && p384c);
  EXPECT_EQ(m6ike_crypto_privkey_type(rsa), M6IKE_KEY_RSA);
  EXPECT_EQ(m6ike_crypto_privkey_type(ec), M6IKE_KEY_ECDSA_P256);
  EXPECT_EQ(m6ike_crypto_privkey_type(p384), M6IKE_KEY_ECDSA_OTHER);
  EXPECT_EQ(m6ike_crypto_privkey_sig_len(rsa), 256u);

  // InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI.
  Bytes msg = Str("IKE_SA_INIT request"), nr = Rep(0x4e, 32),
        mac = Rep(0x1d, 32);
  m6ike_crypto_chunk in[3] = {{msg.data(), msg.size()},
                              {nr.data(), nr.size()},
                              {mac.data(), mac.size()}};
  struct Case {
    m6ike_crypto_privkey *key;
    m6ike_crypto_cert *cert;
    m6ike_sig_scheme scheme;
  } cases[] = {
      {rsa, rsac, M6IKE_SIG_RSA_PKCS1_SHA1},
      {rsa, rsac, M6IKE_SIG_RSA_PKCS1_SHA256},
      {rsa, rsac, M6IKE_SIG_RSA_PKCS1_SHA384},
      {rsa, rsac, M6IKE_SIG_RSA_PKCS1_SHA512},
      {ec, ecc, M6IKE_SIG_ECDSA_P256_SHA256},
      {ec, ecc, M6IKE_SIG_ECDSA_SHA256_DER},
      {ec, ecc, M6IKE_SIG_ECDSA_SHA512_DER},
      {p384, p384c, M6IKE_SIG_ECDSA_SHA384_DER},
  };
  for (const auto &t : cases) {
    SCOPED_TRACE(t.scheme);
    uint8_t sig[M6IKE_CRYPTO_MAX_SIG_LEN];
    size_t siglen = sizeof(sig);
    ASSERT_EQ(m6ike_crypto_sign(t.key, t.scheme, in, 3, sig, &siglen), 0);
    if (t.scheme == M6IKE_SIG_ECDSA_P256_SHA256) {
      EXPECT_EQ(siglen, 64u); // RFC 4754 r || s
    } else if (t.key == rsa) {
      EXPECT_EQ(siglen, 256u);
    } else {
      EXPECT_EQ(sig[0], 0x30); // DER SEQUENCE
    }
    EXPECT_EQ(m6ike_crypto_cert_verify(t.cert, t.scheme, in, 3, sig, siglen),
              0);
    // Any change of data or signature: BAD_SIGNATURE.
    sig[siglen / 2] ^= 0x01;
    EXPECT_EQ(m6ike_crypto_cert_verify(t.cert, t.scheme, in, 3, sig, siglen),
              M6IKE_ERR_CRYPTO_BAD_SIGNATURE);
    sig[siglen / 2] ^= 0x01;
    EXPECT_EQ(m6ike_crypto_cert_verify(t.cert, t.scheme, in, 2, sig, siglen),
              M6IKE_ERR_CRYPTO_BAD_SIGNATURE);
    EXPECT_EQ(m6ike_crypto_cert_verify(t.cert, t.scheme, in, 3, sig,
                                       siglen - 1),
              M6IKE_ERR_CRYPTO_BAD_SIGNATURE);
    EXPECT_EQ(m6ike_crypto_cert_verify(t.cert, t.scheme, in, 3, sig, 0),
              M6IKE_ERR_CRYPTO_BAD_SIGNATURE);
    uint8_t longer[M6IKE_CRYPTO_MAX_SIG_LEN + 1];
    std::memcpy(longer, sig, siglen);
    longer[siglen] = 0;
    EXPECT_EQ(m6ike_crypto_cert_verify(t.cert, t.scheme, in, 3, longer,
                                       siglen + 1),
              M6IKE_ERR_CRYPTO_BAD_SIGNATURE);
  }
  // The signature of another key does not verify.
  uint8_t sig[M6IKE_CRYPTO_MAX_SIG_LEN];
  size_t siglen = sizeof(sig);
  m6ike_crypto_privkey *rogue = Key("rogue.key");
  ASSERT_EQ(m6ike_crypto_sign(rogue, M6IKE_SIG_ECDSA_P256_SHA256, in, 3, sig,
                              &siglen),
            0);
  EXPECT_EQ(m6ike_crypto_cert_verify(ecc, M6IKE_SIG_ECDSA_P256_SHA256, in, 3,
                                     sig, siglen),
            M6IKE_ERR_CRYPTO_BAD_SIGNATURE);
  // Scheme / key type mismatches.
  siglen = sizeof(sig);
  EXPECT_EQ(m6ike_crypto_sign(ec, M6IKE_SIG_RSA_PKCS1_SHA256, in, 3, sig,
                              &siglen),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_sign(rsa, M6IKE_SIG_ECDSA_SHA256_DER, in, 3, sig,
                              &siglen),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_sign(p384, M6IKE_SIG_ECDSA_P256_SHA256, in, 3, sig,
                              &siglen),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_sign(rsa, static_cast<m6ike_sig_scheme>(42), in, 3,
                              sig, &siglen),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_crypto_cert_verify(ecc, M6IKE_SIG_RSA_PKCS1_SHA256, in, 3,
                                     sig, 64),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_cert_verify(p384c, M6IKE_SIG_ECDSA_P256_SHA256, in,
                                     3, sig, 64),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_cert_verify(rsac, M6IKE_SIG_ECDSA_SHA256_DER, in, 3,
                                     sig, 64),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_cert_verify(rsac, static_cast<m6ike_sig_scheme>(0),
                                     in, 3, sig, 64),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  // Too small a signature buffer.
  siglen = 100;
  EXPECT_EQ(m6ike_crypto_sign(rsa, M6IKE_SIG_RSA_PKCS1_SHA256, in, 3, sig,
                              &siglen),
            M6IKE_ERR_NOBUF);
  // Key <-> certificate.
  EXPECT_EQ(m6ike_crypto_privkey_matches(rsa, rsac), 0);
  EXPECT_EQ(m6ike_crypto_privkey_matches(ec, ecc), 0);
  EXPECT_EQ(m6ike_crypto_privkey_matches(rsa, ecc),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  EXPECT_EQ(m6ike_crypto_privkey_matches(rogue, ecc),
            M6IKE_ERR_CRYPTO_KEY_MISMATCH);
  for (auto *k : {rsa, ec, p384, rogue}) m6ike_crypto_privkey_del(k);
  for (auto *c : {rsac, ecc, p384c}) m6ike_crypto_cert_del(c);
}

TEST_F(CryptoOpenSSL, LoadPemDerAndGarbage) {
  Bytes der = ReadFile("ecdsa.der"), kder = ReadFile("ecdsa.key.der");
  m6ike_crypto_cert *cd = nullptr, *cp = Cert("ecdsa.pem");
  ASSERT_EQ(m6ike_crypto_cert_load(&cd, c_, der.data(), der.size()), 0);
  const uint8_t *d1, *d2;
  size_t l1, l2;
  ASSERT_EQ(m6ike_crypto_cert_der(cd, &d1, &l1), 0);
  ASSERT_EQ(m6ike_crypto_cert_der(cp, &d2, &l2), 0);
  EXPECT_EQ(Bytes(d1, d1 + l1), der);
  EXPECT_EQ(Bytes(d2, d2 + l2), der);
  m6ike_crypto_privkey *kd = nullptr;
  ASSERT_EQ(m6ike_crypto_privkey_load(&kd, c_, kder.data(), kder.size()), 0);
  EXPECT_EQ(m6ike_crypto_privkey_matches(kd, cd), 0);

  Bytes junk = Str("-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                   "CERTIFICATE-----\n");
  m6ike_crypto_cert *cj = nullptr;
  EXPECT_EQ(m6ike_crypto_cert_load(&cj, c_, junk.data(), junk.size()),
            M6IKE_ERR_CRYPTO_CERT_PARSE);
  EXPECT_EQ(m6ike_crypto_cert_load(&cj, c_, der.data(), der.size() - 1),
            M6IKE_ERR_CRYPTO_CERT_PARSE);
  EXPECT_EQ(cj, nullptr);
  m6ike_crypto_privkey *kj = nullptr;
  EXPECT_EQ(m6ike_crypto_privkey_load(&kj, c_, junk.data(), junk.size()),
            M6IKE_ERR_CRYPTO_KEY_PARSE);
  Bytes certpem = ReadFile("ecdsa.pem"); // a cert is not a private key
  EXPECT_EQ(m6ike_crypto_privkey_load(&kj, c_, certpem.data(), certpem.size()),
            M6IKE_ERR_CRYPTO_KEY_PARSE);
  EXPECT_EQ(m6ike_crypto_privkey_load(&kj, c_, nullptr, 0),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(kj, nullptr);
  m6ike_crypto_privkey_del(kd);
  m6ike_crypto_cert_del(cd);
  m6ike_crypto_cert_del(cp);
}

TEST_F(CryptoOpenSSL, ChainVerification) {
  m6ike_crypto_cert *ca = Cert("ca.pem"), *other = Cert("other_ca.pem"),
                    *rsa = Cert("rsa.pem"), *ec = Cert("ecdsa.pem"),
                    *rogue = Cert("rogue.pem");
  m6ike_crypto_cert *trusted[] = {ca};
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rsa, trusted, 1, nullptr, 0,
                                           kYear2100),
            0);
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(ec, trusted, 1, nullptr, 0,
                                           M6IKE_CRYPTO_TIME_ANY),
            0);
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rogue, trusted, 1, nullptr, 0,
                                           kYear2100),
            M6IKE_ERR_CRYPTO_CERT_UNTRUSTED);
  // The rogue's issuer offered as an untrusted intermediate does not help.
  m6ike_crypto_cert *untrusted[] = {other};
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rogue, trusted, 1, untrusted, 1,
                                           kYear2100),
            M6IKE_ERR_CRYPTO_CERT_UNTRUSTED);
  m6ike_crypto_cert *trusted2[] = {other, ca};
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rogue, trusted2, 2, nullptr, 0,
                                           kYear2100),
            0);
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rsa, trusted, 1, nullptr, 0,
                                           kYear2023),
            M6IKE_ERR_CRYPTO_CERT_TIME);
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rsa, trusted, 1, nullptr, 0,
                                           kYear2100 + 200LL * 365 * 86400),
            M6IKE_ERR_CRYPTO_CERT_TIME);
  EXPECT_EQ(m6ike_crypto_cert_verify_chain(rsa, trusted, 0, nullptr, 0,
                                           kYear2100),
            M6IKE_ERR_INVALID_ARGUMENT);
  for (auto *c : {ca, other, rsa, ec, rogue}) m6ike_crypto_cert_del(c);
}

TEST_F(CryptoOpenSSL, CertificateIdentities) {
  m6ike_crypto_cert *rsa = Cert("rsa.pem"), *ca = Cert("ca.pem");
  // subjectAltNames in order, as IKEv2 ID types.
  int type;
  const uint8_t *d;
  size_t len;
  ASSERT_EQ(m6ike_crypto_cert_san(rsa, 0, &type, &d, &len), 0);
  EXPECT_EQ(type, M6IKE_ID_FQDN);
  EXPECT_EQ(std::string(d, d + len), "ha.example.org");
  ASSERT_EQ(m6ike_crypto_cert_san(rsa, 1, &type, &d, &len), 0);
  EXPECT_EQ(type, M6IKE_ID_RFC822_ADDR);
  EXPECT_EQ(std::string(d, d + len), "ha@example.org");
  ASSERT_EQ(m6ike_crypto_cert_san(rsa, 2, &type, &d, &len), 0);
  EXPECT_EQ(type, M6IKE_ID_IPV6_ADDR);
  m6ike_addr6 ha = Addr("2001:db8::1");
  EXPECT_EQ(Bytes(d, d + len), Bytes(ha.b, ha.b + 16));
  ASSERT_EQ(m6ike_crypto_cert_san(rsa, 3, &type, &d, &len), 0);
  EXPECT_EQ(type, M6IKE_ID_IPV4_ADDR);
  EXPECT_EQ(Bytes(d, d + len), Hex("c0000201"));
  EXPECT_EQ(m6ike_crypto_cert_san(rsa, 4, &type, &d, &len),
            M6IKE_ERR_NOT_FOUND);
  EXPECT_EQ(m6ike_crypto_cert_san(ca, 0, &type, &d, &len),
            M6IKE_ERR_NOT_FOUND);

  Bytes fqdn = Str("HA.Example.ORG"), mail = Str("ha@example.org");
  EXPECT_EQ(m6ike_crypto_cert_has_id(rsa, M6IKE_ID_FQDN, fqdn.data(),
                                     fqdn.size()),
            0);
  EXPECT_EQ(m6ike_crypto_cert_has_id(rsa, M6IKE_ID_RFC822_ADDR, mail.data(),
                                     mail.size()),
            0);
  EXPECT_EQ(m6ike_crypto_cert_has_id(rsa, M6IKE_ID_IPV4_ADDR,
                                     Hex("c0000201").data(), 4),
            0);
  Bytes other = Str("mn.example.org");
  EXPECT_EQ(m6ike_crypto_cert_has_id(rsa, M6IKE_ID_FQDN, other.data(),
                                     other.size()),
            M6IKE_ERR_CRYPTO_ID_MISMATCH);
  EXPECT_EQ(m6ike_crypto_cert_has_id(rsa, M6IKE_ID_RFC822_ADDR, fqdn.data(),
                                     fqdn.size()),
            M6IKE_ERR_CRYPTO_ID_MISMATCH);
  // Subject DN: the DER Name, compared octet for octet; independent
  // encoding through OpenSSL's X509 API.
  ASSERT_EQ(m6ike_crypto_cert_subject(rsa, &d, &len), 0);
  Bytes pem = ReadFile("rsa.pem");
  BIO *bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509 *x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  ASSERT_NE(x, nullptr);
  unsigned char *want = nullptr;
  int wl = i2d_X509_NAME(X509_get_subject_name(x), &want);
  EXPECT_EQ(Bytes(d, d + len), Bytes(want, want + wl));
  EXPECT_EQ(m6ike_crypto_cert_has_id(rsa, M6IKE_ID_DER_ASN1_DN, want,
                                     static_cast<size_t>(wl)),
            0);
  EXPECT_EQ(m6ike_crypto_cert_has_id(ca, M6IKE_ID_DER_ASN1_DN, want,
                                     static_cast<size_t>(wl)),
            M6IKE_ERR_CRYPTO_ID_MISMATCH);
  OPENSSL_free(want);
  X509_free(x);
  BIO_free(bio);
  m6ike_crypto_cert_del(rsa);
  m6ike_crypto_cert_del(ca);
}

TEST(CryptoAlgId, Rfc7427AlgorithmIdentifiersMatchOpenSsl) {
  struct {
    m6ike_sig_scheme scheme;
    int nid;
    int ptype;
  } v[] = {
      {M6IKE_SIG_RSA_PKCS1_SHA256, NID_sha256WithRSAEncryption, V_ASN1_NULL},
      {M6IKE_SIG_RSA_PKCS1_SHA384, NID_sha384WithRSAEncryption, V_ASN1_NULL},
      {M6IKE_SIG_RSA_PKCS1_SHA512, NID_sha512WithRSAEncryption, V_ASN1_NULL},
      {M6IKE_SIG_ECDSA_SHA256_DER, NID_ecdsa_with_SHA256, V_ASN1_UNDEF},
      {M6IKE_SIG_ECDSA_SHA384_DER, NID_ecdsa_with_SHA384, V_ASN1_UNDEF},
      {M6IKE_SIG_ECDSA_SHA512_DER, NID_ecdsa_with_SHA512, V_ASN1_UNDEF},
  };
  for (const auto &t : v) {
    X509_ALGOR *a = X509_ALGOR_new();
    X509_ALGOR_set0(a, OBJ_nid2obj(t.nid), t.ptype, nullptr);
    unsigned char *want = nullptr;
    int wl = i2d_X509_ALGOR(a, &want);
    const uint8_t *der;
    size_t len;
    ASSERT_EQ(m6ike_sig_scheme_algid(t.scheme, &der, &len), 0);
    EXPECT_EQ(Bytes(der, der + len), Bytes(want, want + wl)) << t.scheme;
    EXPECT_EQ(m6ike_sig_scheme_from_algid(der, len), t.scheme);
    OPENSSL_free(want);
    X509_ALGOR_free(a);
  }
  const uint8_t *der;
  size_t len;
  EXPECT_EQ(m6ike_sig_scheme_algid(M6IKE_SIG_ECDSA_P256_SHA256, &der, &len),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  EXPECT_EQ(m6ike_sig_scheme_algid(M6IKE_SIG_RSA_PKCS1_SHA1, &der, &len),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  Bytes sha1rsa = Hex("300d06092a864886f70d0101050500");
  EXPECT_EQ(m6ike_sig_scheme_from_algid(sha1rsa.data(), sha1rsa.size()),
            M6IKE_ERR_CRYPTO_BAD_ALGID);
  ASSERT_EQ(m6ike_sig_scheme_algid(M6IKE_SIG_ECDSA_SHA256_DER, &der, &len), 0);
  EXPECT_EQ(m6ike_sig_scheme_from_algid(der, len - 1),
            M6IKE_ERR_CRYPTO_BAD_ALGID);
  EXPECT_EQ(m6ike_sig_scheme_from_algid(nullptr, 3),
            M6IKE_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m6ike_sig_scheme_hash(M6IKE_SIG_ECDSA_P256_SHA256),
            M6IKE_HASH_SHA2_256);
  EXPECT_EQ(m6ike_sig_scheme_hash(M6IKE_SIG_RSA_PKCS1_SHA1), M6IKE_HASH_SHA1);
}

// ---- NULL backend ----------------------------------------------------

TEST(CryptoNull, PrfDeterministicAndKeyed) {
  const m6ike_crypto *c = m6ike_crypto_null();
  EXPECT_STREQ(m6ike_crypto_name(c), "null");
  Bytes k1 = Str("key1"), k2 = Str("key2"), d = Str("data");
  uint8_t a[32], b[32], e[32];
  ASSERT_EQ(m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, k1.data(), k1.size(),
                             d.data(), d.size(), a),
            0);
  ASSERT_EQ(m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, k1.data(), k1.size(),
                             d.data(), d.size(), b),
            0);
  ASSERT_EQ(m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, k2.data(), k2.size(),
                             d.data(), d.size(), e),
            0);
  EXPECT_EQ(0, std::memcmp(a, b, 32));
  EXPECT_NE(0, std::memcmp(a, e, 32));
  // Not HMAC: the null backend must never be mistaken for crypto.
  EXPECT_NE(Bytes(a, a + 32), Bytes(32, 0));
  Bytes out(100);
  ASSERT_EQ(m6ike_prf_plus(c, M6IKE_PRF_HMAC_SHA1, k1.data(), k1.size(),
                           d.data(), d.size(), out.data(), out.size()),
            0);
  EXPECT_NE(Bytes(out.begin(), out.begin() + 20),
            Bytes(out.begin() + 20, out.begin() + 40));
  m6ike_crypto_chunk ch = {d.data(), d.size()};
  EXPECT_EQ(m6ike_crypto_hash(c, M6IKE_HASH_SHA1, &ch, 1, a), 0);
  m6ike_crypto_del(const_cast<m6ike_crypto *>(c)); // no-op on the constant
  EXPECT_STREQ(m6ike_crypto_name(m6ike_crypto_null()), "null");
}

TEST(CryptoNull, CipherCopiesAndTagDetectsCorruption) {
  const m6ike_crypto *c = m6ike_crypto_null();
  Bytes key(20, 3), iv(8, 1), aad = Str("hdr"), p = Str("payload!");
  m6ike_crypto_cipher *gcm = nullptr;
  ASSERT_EQ(m6ike_crypto_cipher_new(&gcm, c, M6IKE_ENCR_AES_GCM_16, 128,
                                    key.data(), key.size()),
            0);
  Bytes out(p.size());
  uint8_t tag[16];
  ASSERT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), p.data(), p.size(),
                                        out.data(), tag),
            0);
  EXPECT_EQ(out, p); // copy
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), out.data(), out.size(),
                                        tag, out.data()),
            0);
  out[0] ^= 1;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), out.data(), out.size(),
                                        tag, out.data()),
            M6IKE_ERR_CRYPTO_AUTH);
  out[0] ^= 1;
  iv[0] ^= 1;
  EXPECT_EQ(m6ike_crypto_cipher_decrypt(gcm, iv.data(), 8, aad.data(),
                                        aad.size(), out.data(), out.size(),
                                        tag, out.data()),
            M6IKE_ERR_CRYPTO_AUTH);
  // Lengths are checked as for the real algorithm.
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(gcm, iv.data(), 16, nullptr, 0,
                                        p.data(), p.size(), out.data(), tag),
            M6IKE_ERR_CRYPTO_BAD_IV_LENGTH);
  m6ike_crypto_cipher_del(gcm);
  m6ike_crypto_cipher *cbc = nullptr;
  Bytes k16(16, 1), iv16(16, 2);
  ASSERT_EQ(m6ike_crypto_cipher_new(&cbc, c, M6IKE_ENCR_AES_CBC, 128,
                                    k16.data(), k16.size()),
            0);
  EXPECT_EQ(m6ike_crypto_cipher_encrypt(cbc, iv16.data(), 16, nullptr, 0,
                                        p.data(), p.size(), out.data(),
                                        nullptr),
            M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH);
  m6ike_crypto_cipher_del(cbc);
  EXPECT_EQ(m6ike_crypto_cipher_new(&cbc, c, M6IKE_ENCR_AES_CBC, 128,
                                    k16.data(), 15),
            M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH);
}

TEST(CryptoNull, IntegAndDh) {
  const m6ike_crypto *c = m6ike_crypto_null();
  Bytes key(32, 9), d = Str("ESP packet");
  m6ike_crypto_integ *ig = nullptr;
  ASSERT_EQ(m6ike_crypto_integ_new(&ig, c, M6IKE_INTEG_HMAC_SHA2_256_128,
                                   key.data(), key.size()),
            0);
  uint8_t icv[16];
  ASSERT_EQ(m6ike_crypto_integ_compute(ig, d.data(), d.size(), icv), 0);
  EXPECT_EQ(m6ike_crypto_integ_verify(ig, d.data(), d.size(), icv, 16), 0);
  d[3] ^= 4;
  EXPECT_EQ(m6ike_crypto_integ_verify(ig, d.data(), d.size(), icv, 16),
            M6IKE_ERR_CRYPTO_AUTH);
  m6ike_crypto_integ_del(ig);

  /* KEi --> ; <-- KEr: both ends derive the same (non-secret) value */
  Counter rng;
  for (uint16_t g :
       {M6IKE_DH_MODP_2048, M6IKE_DH_ECP_256, M6IKE_DH_CURVE25519}) {
    m6ike_crypto_dh *a = nullptr, *b = nullptr;
    ASSERT_EQ(m6ike_crypto_dh_new(&a, c, g, Counter::Cb, &rng), 0);
    ASSERT_EQ(m6ike_crypto_dh_new(&b, c, g, Counter::Cb, &rng), 0);
    uint8_t pa[256], pb[256], ka[256], kb[256];
    int n = m6ike_crypto_dh_public(a, pa, sizeof(pa));
    ASSERT_EQ(n, m6ike_crypto_dh_public_len(g));
    ASSERT_EQ(m6ike_crypto_dh_public(b, pb, sizeof(pb)), n);
    EXPECT_NE(0, std::memcmp(pa, pb, static_cast<size_t>(n)));
    int s = m6ike_crypto_dh_shared(a, pb, static_cast<size_t>(n), ka,
                                   sizeof(ka));
    ASSERT_EQ(s, m6ike_crypto_dh_shared_len(g));
    ASSERT_EQ(m6ike_crypto_dh_shared(b, pa, static_cast<size_t>(n), kb,
                                     sizeof(kb)),
              s);
    EXPECT_EQ(0, std::memcmp(ka, kb, static_cast<size_t>(s)));
    uint8_t zero[256] = {0};
    EXPECT_EQ(m6ike_crypto_dh_shared(a, zero, static_cast<size_t>(n), ka,
                                     sizeof(ka)),
              M6IKE_ERR_CRYPTO_DH_PUBLIC);
    EXPECT_EQ(m6ike_crypto_dh_shared(a, pb, static_cast<size_t>(n) - 1, ka,
                                     sizeof(ka)),
              M6IKE_ERR_CRYPTO_DH_PUBLIC);
    m6ike_crypto_dh_del(a);
    m6ike_crypto_dh_del(b);
  }
  // Reproducible from the seed: same draws, same public value.
  Counter r1, r2;
  m6ike_crypto_dh *x = nullptr, *y = nullptr;
  ASSERT_EQ(m6ike_crypto_dh_new(&x, c, M6IKE_DH_CURVE25519, Counter::Cb, &r1),
            0);
  ASSERT_EQ(m6ike_crypto_dh_new(&y, c, M6IKE_DH_CURVE25519, Counter::Cb, &r2),
            0);
  uint8_t px[32], py[32];
  m6ike_crypto_dh_public(x, px, 32);
  m6ike_crypto_dh_public(y, py, 32);
  EXPECT_EQ(0, std::memcmp(px, py, 32));
  m6ike_crypto_dh_del(x);
  m6ike_crypto_dh_del(y);
}

TEST(CryptoNull, SignaturesUnsupported) {
  const m6ike_crypto *c = m6ike_crypto_null();
  Bytes pem = Str("-----BEGIN PRIVATE KEY-----");
  m6ike_crypto_privkey *k = nullptr;
  EXPECT_EQ(m6ike_crypto_privkey_load(&k, c, pem.data(), pem.size()),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
  m6ike_crypto_cert *cert = nullptr;
  EXPECT_EQ(m6ike_crypto_cert_load(&cert, c, pem.data(), pem.size()),
            M6IKE_ERR_CRYPTO_UNSUPPORTED);
}

// ---- failing allocations --------------------------------------------

// Runs op with the 1st, 2nd, ... allocation failing until it succeeds;
// every failure must be M6IKE_ERR_NOMEM and leave nothing allocated (beyond
// what was live before, e.g. the backend itself).
template <typename Op, typename Undo>
void EveryAllocationFails(FailingMem &fm, Op op, Undo undo) {
  const long base = fm.live;
  for (size_t n = 1; n < 50; n++) {
    fm.reset(n);
    int rv = op();
    if (fm.calls < n) { // no allocation was failed: done
      ASSERT_EQ(rv, 0);
      EXPECT_GT(n, 1u) << "op allocates nothing through mem";
      undo();
      EXPECT_EQ(fm.live, base);
      return;
    }
    EXPECT_EQ(rv, M6IKE_ERR_NOMEM) << "failing allocation " << n;
    EXPECT_EQ(fm.live, base) << "failing allocation " << n;
  }
  FAIL() << "did not succeed within 50 allocations";
}

TEST(CryptoFailingMem, OpenSslBackendAndObjects) {
  FailingMem fm;
  m6ike_crypto *c = nullptr;
  EveryAllocationFails(
      fm, [&] { return m6ike_crypto_openssl_new(&c, &fm.mem); },
      [&] { m6ike_crypto_del(c); });
  fm.reset(0);
  ASSERT_EQ(m6ike_crypto_openssl_new(&c, &fm.mem), 0);
  Bytes key(20, 1);
  m6ike_crypto_cipher *ci = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_cipher_new(&ci, c, M6IKE_ENCR_AES_GCM_16, 128,
                                       key.data(), key.size());
      },
      [&] { m6ike_crypto_cipher_del(ci); });
  m6ike_crypto_integ *ig = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_integ_new(&ig, c, M6IKE_INTEG_HMAC_SHA1_96,
                                      key.data(), key.size());
      },
      [&] { m6ike_crypto_integ_del(ig); });
  Counter rng;
  m6ike_crypto_dh *dh = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_dh_new(&dh, c, M6IKE_DH_CURVE25519, Counter::Cb,
                                   &rng);
      },
      [&] { m6ike_crypto_dh_del(dh); });
  Bytes kpem = ReadFile("ecdsa.key"), cpem = ReadFile("ecdsa.pem");
  m6ike_crypto_privkey *pk = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_privkey_load(&pk, c, kpem.data(), kpem.size());
      },
      [&] { m6ike_crypto_privkey_del(pk); });
  m6ike_crypto_cert *cert = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_cert_load(&cert, c, cpem.data(), cpem.size());
      },
      [&] { m6ike_crypto_cert_del(cert); });
  fm.reset(0);
  m6ike_crypto_del(c);
  EXPECT_EQ(fm.live, 0);
}

TEST(CryptoFailingMem, NullBackendAndObjects) {
  FailingMem fm;
  m6ike_crypto *c = nullptr;
  EveryAllocationFails(
      fm, [&] { return m6ike_crypto_null_new(&c, &fm.mem); },
      [&] { m6ike_crypto_del(c); });
  fm.reset(0);
  ASSERT_EQ(m6ike_crypto_null_new(&c, &fm.mem), 0);
  Bytes key(24, 1);
  m6ike_crypto_cipher *ci = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_cipher_new(&ci, c, M6IKE_ENCR_3DES, 0, key.data(),
                                       key.size());
      },
      [&] { m6ike_crypto_cipher_del(ci); });
  m6ike_crypto_integ *ig = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_integ_new(&ig, c, M6IKE_INTEG_HMAC_SHA1_96,
                                      key.data(), 20);
      },
      [&] { m6ike_crypto_integ_del(ig); });
  Counter rng;
  m6ike_crypto_dh *dh = nullptr;
  EveryAllocationFails(
      fm,
      [&] {
        return m6ike_crypto_dh_new(&dh, c, M6IKE_DH_MODP_2048, Counter::Cb,
                                   &rng);
      },
      [&] { m6ike_crypto_dh_del(dh); });
  fm.reset(0);
  m6ike_crypto_del(c);
  EXPECT_EQ(fm.live, 0);
}

} // namespace
