/*
 * Crypto benchmarks (OpenSSL backend through m6ike/crypto.h): DH key
 * generation and agreement, the crypto of a whole IKEv2 IKE_SA_INIT +
 * IKE_AUTH handshake on both ends (an upper bound on handshakes/s), and
 * ESP-style packet protection throughput, and the IKE_AUTH signatures
 * (sign with the private key, verify with the certificate's public key).
 * One thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "m6ike/crypto.h"
#include "m6ike/crypto_openssl.h"
#include "bench_sig_keys.h"

#define MIN_NS 300000000ull /* run each figure for at least 0.3 s */

static int xorshift_rand(uint8_t *dest, size_t len, void *ud) {
  uint64_t *x = ud;
  for (size_t i = 0; i < len; i++) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    dest[i] = (uint8_t)*x;
  }
  return 0;
}

_Noreturn static void die(const char *what, int rv) {
  fprintf(stderr, "bench_crypto: %s: %s\n", what, m6ike_strerror(rv));
  exit(1);
}

/* One DH party: key generation; then agreement with peer. */
static void dh_pair(const m6ike_crypto *c, uint16_t group, uint64_t *seed,
                    uint64_t *acc) {
  m6ike_crypto_dh *a = NULL, *b = NULL;
  uint8_t pa[256], pb[256], k[256];
  int rv;
  if ((rv = m6ike_crypto_dh_new(&a, c, group, xorshift_rand, seed)) < 0 ||
      (rv = m6ike_crypto_dh_new(&b, c, group, xorshift_rand, seed)) < 0) {
    die("dh_new", rv);
  }
  int n = m6ike_crypto_dh_public(a, pa, sizeof pa);
  m6ike_crypto_dh_public(b, pb, sizeof pb);
  if ((rv = m6ike_crypto_dh_shared(a, pb, (size_t)n, k, sizeof k)) < 0 ||
      (rv = m6ike_crypto_dh_shared(b, pa, (size_t)n, k, sizeof k)) < 0) {
    die("dh_shared", rv);
  }
  *acc += k[0];
  m6ike_crypto_dh_del(a);
  m6ike_crypto_dh_del(b);
}

/* Key generation + agreement for one party, ops/s (each pair is 2). */
static void bench_dh(const m6ike_crypto *c, uint16_t group, const char *what) {
  uint64_t seed = 0x9e3779b97f4a7c15ull, acc = 0, ops = 0;
  uint64_t t0 = m6ike_bench_now_ns(), t;
  do {
    dh_pair(c, group, &seed, &acc);
    ops += 2;
    t = m6ike_bench_now_ns();
  } while (t - t0 < MIN_NS);
  m6ike_bench_sink(acc);
  M6IKE_BENCH_LINE(what, (double)ops * 1e9 / (double)(t - t0), "ops/s");
}

/*
 * The crypto one end does in IKE_SA_INIT + IKE_AUTH with PSK and IKE
 * proposal aes128-sha256-<group>, ESP aes128gcm16 (RFC 7296 §2.14-2.17,
 * §2.23):
 *   - DH key generation and agreement;
 *   - 4 SHA-1 NAT_DETECTION hashes (2 sent, 2 checked);
 *   - SKEYSEED = prf(Ni | Nr, g^ir); prf+ for SK_d, SK_ai/ar, SK_ei/er,
 *     SK_pi/pr (32 + 2*32 + 2*16 + 2*32 = 192 octets);
 *   - keying the SK payload: 2 AES-CBC-128 and 2 HMAC-SHA2-256-128
 *     contexts; encrypt+ICV of its IKE_AUTH message, ICV-check+decrypt of
 *     the peer's (~300 octets each);
 *   - AUTH: own = prf(prf(PSK, "Key Pad for IKEv2"), octets | Nx |
 *     prf(SK_p, ID')), and the same to check the peer's (6 prf);
 *   - CHILD_SA KEYMAT = prf+(SK_d, Ni | Nr), 2 * 20 octets, and the two
 *     ESP GCM contexts.
 */
static void ike_end(const m6ike_crypto *c, m6ike_crypto_dh *mine,
                    const uint8_t *peer_pub, size_t publen, uint64_t *acc) {
  uint8_t g_ir[256], nonces[64], seed[64 + 16], skeyseed[32], keys[192];
  uint8_t natd[20], pad[32], macid[32], auth[32], keymat[40];
  uint8_t msg_init[400], msg_auth[304], icv[16], tag[16];
  int rv;
  memset(nonces, 0x11, sizeof nonces);
  memset(msg_init, 0x22, sizeof msg_init);
  memset(msg_auth, 0x33, sizeof msg_auth);
  int k = m6ike_crypto_dh_shared(mine, peer_pub, publen, g_ir, sizeof g_ir);
  if (k < 0) {
    die("dh_shared", k);
  }
  for (int i = 0; i < 4; i++) {
    m6ike_crypto_chunk ch[3] = {{nonces, 16}, {g_ir, 16}, {seed, 2}};
    m6ike_crypto_hash(c, M6IKE_HASH_SHA1, ch, 3, natd);
  }
  if ((rv = m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, nonces, 64, g_ir,
                             (size_t)k, skeyseed)) < 0) {
    die("prf", rv);
  }
  memcpy(seed, nonces, 64);
  memset(seed + 64, 0x44, 16); /* SPIi | SPIr */
  if ((rv = m6ike_prf_plus(c, M6IKE_PRF_HMAC_SHA2_256, skeyseed, 32, seed,
                           sizeof seed, keys, sizeof keys)) < 0) {
    die("prf+", rv);
  }
  /* SK payload protection, both directions. */
  m6ike_crypto_cipher *ei = NULL, *er = NULL;
  m6ike_crypto_integ *ai = NULL, *ar = NULL;
  if ((rv = m6ike_crypto_integ_new(&ai, c, M6IKE_INTEG_HMAC_SHA2_256_128,
                                   keys + 32, 32)) < 0 ||
      (rv = m6ike_crypto_integ_new(&ar, c, M6IKE_INTEG_HMAC_SHA2_256_128,
                                   keys + 64, 32)) < 0 ||
      (rv = m6ike_crypto_cipher_new(&ei, c, M6IKE_ENCR_AES_CBC, 128,
                                    keys + 96, 16)) < 0 ||
      (rv = m6ike_crypto_cipher_new(&er, c, M6IKE_ENCR_AES_CBC, 128,
                                    keys + 112, 16)) < 0) {
    die("sk contexts", rv);
  }
  m6ike_crypto_cipher_encrypt(ei, nonces, 16, NULL, 0, msg_auth + 16, 288,
                              msg_auth + 16, NULL);
  m6ike_crypto_integ_compute(ai, msg_auth, sizeof msg_auth, icv);
  m6ike_crypto_integ_compute(ar, msg_auth, sizeof msg_auth, icv);
  m6ike_crypto_cipher_decrypt(er, nonces, 16, NULL, 0, msg_auth + 16, 288,
                              NULL, msg_auth + 16);
  /* AUTH, own and peer's. */
  for (int side = 0; side < 2; side++) {
    static const char keypad[] = "Key Pad for IKEv2";
    uint8_t psk[16];
    memset(psk, 0x55, sizeof psk);
    m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, keys + 128 + 32 * side, 32,
                     msg_auth, 40, macid);
    m6ike_crypto_prf(c, M6IKE_PRF_HMAC_SHA2_256, psk, sizeof psk,
                     (const uint8_t *)keypad, sizeof keypad - 1, pad);
    m6ike_crypto_chunk oct[3] = {
        {msg_init, sizeof msg_init}, {nonces, 32}, {macid, 32}};
    m6ike_crypto_prfv(c, M6IKE_PRF_HMAC_SHA2_256, pad, 32, oct, 3, auth);
  }
  /* CHILD_SA keys and ESP contexts. */
  m6ike_prf_plus(c, M6IKE_PRF_HMAC_SHA2_256, keys, 32, nonces, 64, keymat,
                 sizeof keymat);
  m6ike_crypto_cipher *ci = NULL, *cr = NULL;
  if ((rv = m6ike_crypto_cipher_new(&ci, c, M6IKE_ENCR_AES_GCM_16, 128,
                                    keymat, 20)) < 0 ||
      (rv = m6ike_crypto_cipher_new(&cr, c, M6IKE_ENCR_AES_GCM_16, 128,
                                    keymat + 20, 20)) < 0) {
    die("child contexts", rv);
  }
  m6ike_crypto_cipher_encrypt(ci, nonces, 8, NULL, 0, msg_auth, 16, msg_auth,
                              tag);
  *acc += auth[0] + icv[0] + natd[0] + tag[0];
  m6ike_crypto_cipher_del(ci);
  m6ike_crypto_cipher_del(cr);
  m6ike_crypto_cipher_del(ei);
  m6ike_crypto_cipher_del(er);
  m6ike_crypto_integ_del(ai);
  m6ike_crypto_integ_del(ar);
}

static void bench_handshake(const m6ike_crypto *c, uint16_t group,
                            const char *what) {
  uint64_t seed = 12345, acc = 0, n = 0;
  uint64_t t0 = m6ike_bench_now_ns(), t;
  do {
    m6ike_crypto_dh *i = NULL, *r = NULL;
    uint8_t gi[256], gr[256];
    int rv;
    if ((rv = m6ike_crypto_dh_new(&i, c, group, xorshift_rand, &seed)) < 0 ||
        (rv = m6ike_crypto_dh_new(&r, c, group, xorshift_rand, &seed)) < 0) {
      die("dh_new", rv);
    }
    int len = m6ike_crypto_dh_public(i, gi, sizeof gi);
    m6ike_crypto_dh_public(r, gr, sizeof gr);
    ike_end(c, i, gr, (size_t)len, &acc);
    ike_end(c, r, gi, (size_t)len, &acc);
    m6ike_crypto_dh_del(i);
    m6ike_crypto_dh_del(r);
    n++;
    t = m6ike_bench_now_ns();
  } while (t - t0 < MIN_NS);
  m6ike_bench_sink(acc);
  M6IKE_BENCH_LINE(what, (double)n * 1e9 / (double)(t - t0), "handshakes/s");
}

/* ESP-style protection of one packet of `len` octets: AEAD, or cipher +
 * separate ICV.  Reports MB/s of payload (10^6 octets). */
static void bench_esp(const m6ike_crypto *c, uint16_t encr, unsigned bits,
                      uint16_t integ, size_t len, const char *what) {
  uint8_t key[64], iv[16], aad[8], tag[16], icv[32];
  uint8_t *buf = calloc(1, len + 64);
  memset(key, 0x5a, sizeof key);
  memset(iv, 0xa5, sizeof iv);
  memset(aad, 1, sizeof aad);
  int klen = m6ike_crypto_encr_key_len(encr, bits);
  int ivlen = m6ike_crypto_encr_iv_len(encr);
  m6ike_crypto_cipher *ci = NULL;
  m6ike_crypto_integ *ig = NULL;
  int rv = m6ike_crypto_cipher_new(&ci, c, encr, bits, key, (size_t)klen);
  if (rv < 0 || buf == NULL) {
    die("cipher_new", rv);
  }
  if (integ != M6IKE_INTEG_NONE &&
      (rv = m6ike_crypto_integ_new(&ig, c, integ, key,
                                   (size_t)m6ike_crypto_integ_key_len(
                                       integ))) < 0) {
    die("integ_new", rv);
  }
  /* CBC modes: the ESP trailer pads to the block; round down here. */
  len -= len % (size_t)m6ike_crypto_encr_block_len(encr);
  uint64_t n = 0, t0 = m6ike_bench_now_ns(), t;
  do {
    for (int j = 0; j < 256; j++) {
      iv[0] = (uint8_t)n;
      if ((rv = m6ike_crypto_cipher_encrypt(ci, iv, (size_t)ivlen, aad,
                                            sizeof aad, buf, len, buf,
                                            tag)) < 0) {
        die("encrypt", rv);
      }
      if (ig != NULL) {
        m6ike_crypto_integ_compute(ig, buf, len, icv);
      }
      n++;
    }
    t = m6ike_bench_now_ns();
  } while (t - t0 < MIN_NS);
  m6ike_bench_sink(buf[0] + tag[0] + icv[0]);
  M6IKE_BENCH_LINE(what, (double)n * (double)len * 1e3 / (double)(t - t0),
                   "MB/s");
  m6ike_crypto_integ_del(ig);
  m6ike_crypto_cipher_del(ci);
  free(buf);
}

/*
 * One IKE_AUTH signature (RFC 7296 §2.15) with scheme: sign the signed
 * octets with the private key, then verify them with the certificate, as
 * the engine does (ikev2_task_auth.c).  The signed octets: a ~400-octet
 * IKE_SA_INIT message, a 32-octet nonce and a 32-octet prf output.
 * Prints "<name> sign" and "<name> verify" in microseconds per operation.
 */
static void bench_sig(const m6ike_crypto *c, const char *key_pem,
                      const char *cert_pem, m6ike_sig_scheme scheme,
                      const char *name) {
  m6ike_crypto_privkey *key = NULL;
  m6ike_crypto_cert *cert = NULL;
  uint8_t msg[400], nonce[32], maced[32], sig[M6IKE_CRYPTO_MAX_SIG_LEN];
  m6ike_crypto_chunk in[3] = {
      {msg, sizeof msg}, {nonce, sizeof nonce}, {maced, sizeof maced}};
  char what[64];
  size_t siglen = sizeof sig;
  int rv;
  memset(msg, 0x22, sizeof msg);
  memset(nonce, 0x11, sizeof nonce);
  memset(maced, 0x33, sizeof maced);
  if ((rv = m6ike_crypto_privkey_load(&key, c, (const uint8_t *)key_pem,
                                      strlen(key_pem))) < 0) {
    die("privkey_load", rv);
  }
  if ((rv = m6ike_crypto_cert_load(&cert, c, (const uint8_t *)cert_pem,
                                   strlen(cert_pem))) < 0) {
    die("cert_load", rv);
  }
  uint64_t n = 0, acc = 0, t0 = m6ike_bench_now_ns(), t;
  do {
    msg[0] = (uint8_t)n++;
    siglen = sizeof sig;
    if ((rv = m6ike_crypto_sign(key, scheme, in, 3, sig, &siglen)) < 0) {
      die("sign", rv);
    }
    acc += sig[0];
    t = m6ike_bench_now_ns();
  } while (t - t0 < MIN_NS);
  snprintf(what, sizeof what, "%s sign", name);
  M6IKE_BENCH_LINE(what, (double)(t - t0) / 1e3 / (double)n, "us/op");
  n = 0;
  t0 = m6ike_bench_now_ns();
  do {
    /* the last signature is over the last msg[0] */
    if ((rv = m6ike_crypto_cert_verify(cert, scheme, in, 3, sig, siglen)) !=
        0) {
      die("cert_verify", rv);
    }
    n++;
    t = m6ike_bench_now_ns();
  } while (t - t0 < MIN_NS);
  snprintf(what, sizeof what, "%s verify", name);
  M6IKE_BENCH_LINE(what, (double)(t - t0) / 1e3 / (double)n, "us/op");
  m6ike_bench_sink(acc);
  m6ike_crypto_cert_del(cert);
  m6ike_crypto_privkey_del(key);
}

void m6ike_bench_crypto(void) {
  m6ike_crypto *c = NULL;
  int rv = m6ike_crypto_openssl_new(&c, NULL);
  if (rv < 0) {
    die("openssl_new", rv);
  }
  bench_dh(c, M6IKE_DH_CURVE25519, "X25519 keygen+shared (one party)");
  bench_dh(c, M6IKE_DH_ECP_256, "ECP-256 keygen+shared (one party)");
  bench_dh(c, M6IKE_DH_MODP_2048, "MODP-2048 keygen+shared (one party)");
  bench_handshake(c, M6IKE_DH_CURVE25519,
                  "IKE crypto per X25519+PSK handshake (both ends)");
  bench_handshake(c, M6IKE_DH_MODP_2048,
                  "IKE crypto per MODP-2048+PSK handshake (both)");
  static const size_t sizes[] = {64, 512, 1400};
  char what[64];
  for (size_t i = 0; i < 3; i++) {
    snprintf(what, sizeof what, "AES-GCM-128 encrypt %zu B", sizes[i]);
    bench_esp(c, M6IKE_ENCR_AES_GCM_16, 128, M6IKE_INTEG_NONE, sizes[i],
              what);
  }
  for (size_t i = 0; i < 3; i++) {
    snprintf(what, sizeof what, "3DES-CBC + HMAC-SHA1-96 %zu B", sizes[i]);
    bench_esp(c, M6IKE_ENCR_3DES, 0, M6IKE_INTEG_HMAC_SHA1_96, sizes[i],
              what);
  }
  for (size_t i = 0; i < 3; i++) {
    snprintf(what, sizeof what, "AES-CBC-128 + HMAC-SHA2-256-128 %zu B",
             sizes[i]);
    bench_esp(c, M6IKE_ENCR_AES_CBC, 128, M6IKE_INTEG_HMAC_SHA2_256_128,
              sizes[i], what);
  }
  /* IKE_AUTH signatures: auth method 1 (RSA, PKCS#1 v1.5 with SHA-1) and
   * 9 (ECDSA P-256 with SHA-256), the engine's two fixed schemes. */
  bench_sig(c, BENCH_RSA1024_KEY, BENCH_RSA1024_CERT,
            M6IKE_SIG_RSA_PKCS1_SHA1, "RSA-1024 PKCS#1 v1.5 SHA-1");
  bench_sig(c, BENCH_RSA2048_KEY, BENCH_RSA2048_CERT,
            M6IKE_SIG_RSA_PKCS1_SHA1, "RSA-2048 PKCS#1 v1.5 SHA-1");
  bench_sig(c, BENCH_RSA2048_KEY, BENCH_RSA2048_CERT,
            M6IKE_SIG_RSA_PKCS1_SHA256, "RSA-2048 PKCS#1 v1.5 SHA-256");
  bench_sig(c, BENCH_P256_KEY, BENCH_P256_CERT, M6IKE_SIG_ECDSA_P256_SHA256,
            "ECDSA P-256 SHA-256");
  m6ike_crypto_del(c);
  /* The NULL backend, for comparison (simulated sweeps). */
  bench_handshake(m6ike_crypto_null(), M6IKE_DH_CURVE25519,
                  "NULL backend: handshake crypto (both ends)");
}
