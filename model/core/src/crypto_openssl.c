/*
 * crypto_openssl: the OpenSSL 3 libcrypto backend of m6ike/crypto.h.
 *
 * Built as its own static library (m6ike_crypto_openssl) so m6ike_core
 * never links OpenSSL.  Only OpenSSL 3.0 APIs that are not deprecated are
 * used: EVP_MAC (HMAC), EVP_MD, EVP_CIPHER_CTX, EVP_PKEY (X25519, EC, DH),
 * EC_GROUP/EC_POINT and BIGNUM for deriving a public value from a given
 * private key (OpenSSL's EVP_PKEY_fromdata does not do that in 3.0), and
 * the X509 verification API.
 *
 * State.  The backend fetches its algorithms once and keeps a few reusable
 * contexts (one HMAC context per digest for prf, one digest context); they
 * live in the backend object, not in globals, which is why one backend
 * must be used by one thread at a time.  Cipher and integrity objects keep
 * their keyed OpenSSL contexts and only re-initialise the IV per packet.
 *
 * OpenSSL's error queue (thread-local, OpenSSL's) is cleared whenever an
 * OpenSSL call fails, so failures do not leak into unrelated callers.
 */
#include "m6ike/crypto_openssl.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mem.h"

/* ---- backend ------------------------------------------------------ */

enum { N_MD = 4 }; /* SHA-1, SHA-256, SHA-384, SHA-512 */

typedef struct {
  m6ike_crypto pub;
  const m6ike_mem *mem;
  EVP_MD *md[N_MD];
  EVP_MAC *hmac;
  EVP_MAC_CTX *prf_ctx[N_MD]; /* reusable, digest set, re-keyed per call */
  EVP_MD_CTX *hash_ctx;
  EVP_CIPHER *aes_cbc[3], *aes_gcm[3], *des3;
  EC_GROUP *p256;
  BIGNUM *modp_p;         /* RFC 3526 2048-bit prime */
  BIGNUM *modp_p_minus_1; /* for the peer range check */
  BIGNUM *modp_g;
  BN_MONT_CTX *modp_mont;
} ossl_backend;

static const m6ike_crypto_ops ossl_ops;

static int fail(int code) {
  ERR_clear_error();
  return code;
}

/* Index into md[] for an RFC 7427 hash number (1..4). */
static EVP_MD *md_for_hash(ossl_backend *b, uint16_t hash) {
  return (hash >= 1 && hash <= N_MD) ? b->md[hash - 1] : NULL;
}

static int hash_for_prf(uint16_t prf) {
  switch (prf) {
  case M6IKE_PRF_HMAC_SHA1:
    return M6IKE_HASH_SHA1;
  case M6IKE_PRF_HMAC_SHA2_256:
    return M6IKE_HASH_SHA2_256;
  case M6IKE_PRF_HMAC_SHA2_384:
    return M6IKE_HASH_SHA2_384;
  case M6IKE_PRF_HMAC_SHA2_512:
    return M6IKE_HASH_SHA2_512;
  default:
    return 0;
  }
}

static int hash_for_integ(uint16_t integ) {
  switch (integ) {
  case M6IKE_INTEG_HMAC_SHA1_96:
    return M6IKE_HASH_SHA1;
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    return M6IKE_HASH_SHA2_256;
  case M6IKE_INTEG_HMAC_SHA2_384_192:
    return M6IKE_HASH_SHA2_384;
  case M6IKE_INTEG_HMAC_SHA2_512_256:
    return M6IKE_HASH_SHA2_512;
  default:
    return 0;
  }
}

static const char *const md_names[N_MD] = {"SHA1", "SHA256", "SHA384",
                                           "SHA512"};

static void ossl_backend_del(m6ike_crypto *c) {
  ossl_backend *b = (ossl_backend *)c;
  for (int i = 0; i < N_MD; i++) {
    EVP_MAC_CTX_free(b->prf_ctx[i]);
    EVP_MD_free(b->md[i]);
  }
  EVP_MAC_free(b->hmac);
  EVP_MD_CTX_free(b->hash_ctx);
  for (int i = 0; i < 3; i++) {
    EVP_CIPHER_free(b->aes_cbc[i]);
    EVP_CIPHER_free(b->aes_gcm[i]);
  }
  EVP_CIPHER_free(b->des3);
  EC_GROUP_free(b->p256);
  BN_free(b->modp_p);
  BN_free(b->modp_p_minus_1);
  BN_free(b->modp_g);
  BN_MONT_CTX_free(b->modp_mont);
  m6ike_free(b->mem, b);
}

/* Sets up an HMAC context with its digest (no key yet). */
static EVP_MAC_CTX *hmac_ctx_new(ossl_backend *b, int hash) {
  EVP_MAC_CTX *m = EVP_MAC_CTX_new(b->hmac);
  if (m == NULL) {
    return NULL;
  }
  OSSL_PARAM params[2] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                       (char *)md_names[hash - 1], 0),
      OSSL_PARAM_construct_end()};
  if (!EVP_MAC_CTX_set_params(m, params)) {
    EVP_MAC_CTX_free(m);
    return NULL;
  }
  return m;
}

int m6ike_crypto_openssl_new(m6ike_crypto **c, const m6ike_mem *mem) {
  if (c == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *c = NULL;
  mem = m6ike_mem_or_default(mem);
  ossl_backend *b = m6ike_calloc(mem, 1, sizeof(*b));
  if (b == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  b->pub.ops = &ossl_ops;
  b->pub.impl = b;
  b->mem = mem;
  static const char *const cbc[3] = {"AES-128-CBC", "AES-192-CBC",
                                     "AES-256-CBC"};
  static const char *const gcm[3] = {"AES-128-GCM", "AES-192-GCM",
                                     "AES-256-GCM"};
  int ok = 1;
  b->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  ok = ok && b->hmac != NULL;
  for (int i = 0; ok && i < N_MD; i++) {
    b->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
    b->prf_ctx[i] = b->md[i] ? hmac_ctx_new(b, i + 1) : NULL;
    ok = b->md[i] != NULL && b->prf_ctx[i] != NULL;
  }
  for (int i = 0; ok && i < 3; i++) {
    b->aes_cbc[i] = EVP_CIPHER_fetch(NULL, cbc[i], NULL);
    b->aes_gcm[i] = EVP_CIPHER_fetch(NULL, gcm[i], NULL);
    ok = b->aes_cbc[i] != NULL && b->aes_gcm[i] != NULL;
  }
  if (ok) {
    b->des3 = EVP_CIPHER_fetch(NULL, "DES-EDE3-CBC", NULL);
    b->hash_ctx = EVP_MD_CTX_new();
    b->p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    b->modp_p = BN_get_rfc3526_prime_2048(NULL);
    b->modp_p_minus_1 = BN_new();
    b->modp_g = BN_new();
    b->modp_mont = BN_MONT_CTX_new();
    BN_CTX *bn = BN_CTX_new();
    ok = b->des3 && b->hash_ctx && b->p256 && b->modp_p &&
         b->modp_p_minus_1 && b->modp_g && b->modp_mont && bn &&
         BN_sub(b->modp_p_minus_1, b->modp_p, BN_value_one()) &&
         BN_set_word(b->modp_g, 2) &&
         BN_MONT_CTX_set(b->modp_mont, b->modp_p, bn);
    BN_CTX_free(bn);
  }
  if (!ok) {
    ossl_backend_del(&b->pub);
    return fail(M6IKE_ERR_CRYPTO_UNSUPPORTED);
  }
  *c = &b->pub;
  return 0;
}

/* ---- prf and hash ------------------------------------------------- */

static const uint8_t empty_key[1] = {0};

static int ossl_prf(void *impl, uint16_t prf, const uint8_t *key,
                    size_t keylen, const m6ike_crypto_chunk *in, size_t nin,
                    uint8_t *out) {
  ossl_backend *b = impl;
  int h = hash_for_prf(prf);
  EVP_MAC_CTX *m = b->prf_ctx[h - 1];
  /* A NULL key would mean "keep the previous key": pass a real pointer
   * even for an empty key. */
  if (!EVP_MAC_init(m, keylen ? key : empty_key, keylen, NULL)) {
    return fail(M6IKE_ERR_CRYPTO_PRF_FAILED);
  }
  for (size_t i = 0; i < nin; i++) {
    if (in[i].len > 0 && !EVP_MAC_update(m, in[i].ptr, in[i].len)) {
      return fail(M6IKE_ERR_CRYPTO_PRF_FAILED);
    }
  }
  size_t outl = 0;
  if (!EVP_MAC_final(m, out, &outl, (size_t)m6ike_crypto_prf_len(prf))) {
    return fail(M6IKE_ERR_CRYPTO_PRF_FAILED);
  }
  return 0;
}

static int ossl_hash(void *impl, uint16_t hash, const m6ike_crypto_chunk *in,
                     size_t nin, uint8_t *out) {
  ossl_backend *b = impl;
  if (!EVP_DigestInit_ex2(b->hash_ctx, md_for_hash(b, hash), NULL)) {
    return fail(M6IKE_ERR_CRYPTO_HASH_FAILED);
  }
  for (size_t i = 0; i < nin; i++) {
    if (in[i].len > 0 &&
        !EVP_DigestUpdate(b->hash_ctx, in[i].ptr, in[i].len)) {
      return fail(M6IKE_ERR_CRYPTO_HASH_FAILED);
    }
  }
  if (!EVP_DigestFinal_ex(b->hash_ctx, out, NULL)) {
    return fail(M6IKE_ERR_CRYPTO_HASH_FAILED);
  }
  return 0;
}

/* ---- cipher ------------------------------------------------------- */

typedef struct {
  m6ike_crypto_cipher pub;
  const m6ike_mem *mem;
  EVP_CIPHER_CTX *enc, *dec; /* keyed once; NULL for ENCR_NULL */
  uint8_t salt[4];           /* AES-GCM */
} ossl_cipher;

static void ossl_cipher_del(m6ike_crypto_cipher *ctx) {
  ossl_cipher *x = (ossl_cipher *)ctx;
  EVP_CIPHER_CTX_free(x->enc); /* clears key material */
  EVP_CIPHER_CTX_free(x->dec);
  memset(x->salt, 0, sizeof(x->salt));
  m6ike_free(x->mem, x);
}

static int ossl_cipher_new(void *impl, m6ike_crypto_cipher **ctx,
                           uint16_t encr, unsigned key_bits,
                           const uint8_t *key, size_t keylen) {
  ossl_backend *b = impl;
  const EVP_CIPHER *ciph = NULL;
  int ki = key_bits == 128 ? 0 : key_bits == 192 ? 1 : 2;
  switch (encr) {
  case M6IKE_ENCR_3DES:
    ciph = b->des3;
    break;
  case M6IKE_ENCR_AES_CBC:
    ciph = b->aes_cbc[ki];
    break;
  case M6IKE_ENCR_AES_GCM_16:
    ciph = b->aes_gcm[ki];
    break;
  case M6IKE_ENCR_NULL:
    break;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  ossl_cipher *x = m6ike_calloc(b->mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  x->pub.ops = &ossl_ops;
  x->pub.encr = encr;
  x->pub.key_bits = (uint16_t)key_bits;
  x->mem = b->mem;
  if (ciph != NULL) {
    size_t klen = keylen;
    if (encr == M6IKE_ENCR_AES_GCM_16) {
      klen -= 4;
      memcpy(x->salt, key + klen, 4);
    }
    if ((size_t)EVP_CIPHER_get_key_length(ciph) != klen) {
      ossl_cipher_del(&x->pub);
      return M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH;
    }
    x->enc = EVP_CIPHER_CTX_new();
    x->dec = EVP_CIPHER_CTX_new();
    if (x->enc == NULL || x->dec == NULL) {
      ossl_cipher_del(&x->pub);
      return fail(M6IKE_ERR_NOMEM);
    }
    if (!EVP_EncryptInit_ex2(x->enc, ciph, key, NULL, NULL) ||
        !EVP_DecryptInit_ex2(x->dec, ciph, key, NULL, NULL) ||
        !EVP_CIPHER_CTX_set_padding(x->enc, 0) ||
        !EVP_CIPHER_CTX_set_padding(x->dec, 0)) {
      ossl_cipher_del(&x->pub);
      return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
    }
  }
  *ctx = &x->pub;
  return 0;
}

/* The full IV/nonce OpenSSL wants: GCM salt || iv (12), CBC the iv. */
static const uint8_t *full_iv(const ossl_cipher *x, const uint8_t *iv,
                              size_t ivlen, uint8_t nonce[12]) {
  if (x->pub.encr != M6IKE_ENCR_AES_GCM_16) {
    return iv;
  }
  memcpy(nonce, x->salt, 4);
  memcpy(nonce + 4, iv, ivlen);
  return nonce;
}

static int ossl_encrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, uint8_t *out,
                        uint8_t *tag) {
  ossl_cipher *x = (ossl_cipher *)ctx;
  if (x->enc == NULL) { /* ENCR_NULL */
    if (len > 0 && out != in) {
      memcpy(out, in, len);
    }
    return 0;
  }
  uint8_t nonce[12];
  int outl = 0;
  int gcm = ctx->encr == M6IKE_ENCR_AES_GCM_16;
  if (len > (size_t)INT32_MAX || aadlen > (size_t)INT32_MAX) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!EVP_EncryptInit_ex2(x->enc, NULL, NULL, full_iv(x, iv, ivlen, nonce),
                           NULL)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  if (gcm && aadlen > 0 &&
      !EVP_EncryptUpdate(x->enc, NULL, &outl, aad, (int)aadlen)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  if (len > 0 && !EVP_EncryptUpdate(x->enc, out, &outl, in, (int)len)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  int fin = 0;
  uint8_t none[16]; /* Final writes nothing (no padding); out may be NULL */
  if (!EVP_EncryptFinal_ex(x->enc, len > 0 ? out + outl : none, &fin)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  if (gcm &&
      !EVP_CIPHER_CTX_ctrl(x->enc, EVP_CTRL_AEAD_GET_TAG, 16, tag)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  return 0;
}

static int ossl_decrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, const uint8_t *tag,
                        uint8_t *out) {
  ossl_cipher *x = (ossl_cipher *)ctx;
  if (x->dec == NULL) { /* ENCR_NULL */
    if (len > 0 && out != in) {
      memcpy(out, in, len);
    }
    return 0;
  }
  uint8_t nonce[12];
  int outl = 0;
  int gcm = ctx->encr == M6IKE_ENCR_AES_GCM_16;
  if (len > (size_t)INT32_MAX || aadlen > (size_t)INT32_MAX) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!EVP_DecryptInit_ex2(x->dec, NULL, NULL, full_iv(x, iv, ivlen, nonce),
                           NULL)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  if (gcm) {
    uint8_t t[16];
    memcpy(t, tag, 16);
    if (!EVP_CIPHER_CTX_ctrl(x->dec, EVP_CTRL_AEAD_SET_TAG, 16, t) ||
        (aadlen > 0 &&
         !EVP_DecryptUpdate(x->dec, NULL, &outl, aad, (int)aadlen))) {
      return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
    }
  }
  if (len > 0 && !EVP_DecryptUpdate(x->dec, out, &outl, in, (int)len)) {
    return fail(M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  int fin = 0;
  uint8_t none[16]; /* Final writes nothing (no padding); out may be NULL */
  if (!EVP_DecryptFinal_ex(x->dec, len > 0 ? out + outl : none, &fin)) {
    /* For GCM the only way Final fails on valid lengths is a bad tag. */
    return fail(gcm ? M6IKE_ERR_CRYPTO_AUTH : M6IKE_ERR_CRYPTO_CIPHER_FAILED);
  }
  return 0;
}

/* ---- integ -------------------------------------------------------- */

typedef struct {
  m6ike_crypto_integ pub;
  const m6ike_mem *mem;
  EVP_MAC_CTX *mac; /* keyed once; re-initialised with the same key */
  size_t full;      /* untruncated HMAC length */
} ossl_integ;

static void ossl_integ_del(m6ike_crypto_integ *ctx) {
  ossl_integ *x = (ossl_integ *)ctx;
  EVP_MAC_CTX_free(x->mac);
  m6ike_free(x->mem, x);
}

static int ossl_integ_new(void *impl, m6ike_crypto_integ **ctx,
                          uint16_t integ, const uint8_t *key, size_t keylen) {
  ossl_backend *b = impl;
  int h = hash_for_integ(integ);
  if (h == 0) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  ossl_integ *x = m6ike_calloc(b->mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  x->pub.ops = &ossl_ops;
  x->pub.integ = integ;
  x->mem = b->mem;
  x->full = (size_t)m6ike_crypto_hash_len((uint16_t)h);
  x->mac = hmac_ctx_new(b, h);
  if (x->mac == NULL) {
    ossl_integ_del(&x->pub);
    return fail(M6IKE_ERR_NOMEM);
  }
  if (!EVP_MAC_init(x->mac, key, keylen, NULL)) {
    ossl_integ_del(&x->pub);
    return fail(M6IKE_ERR_CRYPTO_INTEG_FAILED);
  }
  *ctx = &x->pub;
  return 0;
}

static int ossl_integ_compute(m6ike_crypto_integ *ctx,
                              const m6ike_crypto_chunk *in, size_t nin,
                              uint8_t *icv) {
  ossl_integ *x = (ossl_integ *)ctx;
  uint8_t full[M6IKE_CRYPTO_MAX_HASH_LEN];
  size_t outl = 0;
  /* NULL key: HMAC restarts with the key set in ossl_integ_new. */
  if (!EVP_MAC_init(x->mac, NULL, 0, NULL)) {
    return fail(M6IKE_ERR_CRYPTO_INTEG_FAILED);
  }
  for (size_t i = 0; i < nin; i++) {
    if (in[i].len > 0 && !EVP_MAC_update(x->mac, in[i].ptr, in[i].len)) {
      return fail(M6IKE_ERR_CRYPTO_INTEG_FAILED);
    }
  }
  if (!EVP_MAC_final(x->mac, full, &outl, sizeof(full)) || outl != x->full) {
    return fail(M6IKE_ERR_CRYPTO_INTEG_FAILED);
  }
  memcpy(icv, full, (size_t)m6ike_crypto_integ_icv_len(ctx->integ));
  memset(full, 0, sizeof(full));
  return 0;
}

/* ---- DH ----------------------------------------------------------- */

typedef struct {
  m6ike_crypto_dh pub;
  ossl_backend *b;
  EVP_PKEY *key;
  uint8_t pubval[M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN];
  size_t publen;
} ossl_dh;

static void ossl_dh_del(m6ike_crypto_dh *dh) {
  ossl_dh *x = (ossl_dh *)dh;
  EVP_PKEY_free(x->key);
  m6ike_free(x->b->mem, x);
}

/* An EVP_PKEY of type `type` ("EC", "DH") from params built by bld. */
static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld,
                               int selection) {
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
  EVP_PKEY *k = NULL;
  if (params == NULL || pc == NULL || EVP_PKEY_fromdata_init(pc) <= 0 ||
      EVP_PKEY_fromdata(pc, &k, selection, params) <= 0) {
    k = NULL;
  }
  EVP_PKEY_CTX_free(pc);
  OSSL_PARAM_free(params);
  return k;
}

/* P-256 key pair from 32 random octets; *redraw set if out of range. */
static int ecp_keypair(ossl_dh *x, const uint8_t priv[32], int *redraw) {
  ossl_backend *b = x->b;
  int rv = M6IKE_ERR_CRYPTO_DH_FAILED;
  BIGNUM *d = BN_secure_new();
  EC_POINT *q = EC_POINT_new(b->p256);
  BN_CTX *bn = BN_CTX_new();
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  uint8_t pt[65];
  *redraw = 0;
  if (d == NULL || q == NULL || bn == NULL || bld == NULL ||
      BN_bin2bn(priv, 32, d) == NULL) {
    rv = M6IKE_ERR_NOMEM;
    goto out;
  }
  if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(b->p256)) >= 0) {
    *redraw = 1;
    rv = 0;
    goto out;
  }
  BN_set_flags(d, BN_FLG_CONSTTIME);
  if (!EC_POINT_mul(b->p256, q, d, NULL, NULL, bn) ||
      EC_POINT_point2oct(b->p256, q, POINT_CONVERSION_UNCOMPRESSED, pt,
                         sizeof(pt), bn) != sizeof(pt)) {
    goto out;
  }
  if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                       "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                        sizeof(pt))) {
    rv = M6IKE_ERR_NOMEM;
    goto out;
  }
  x->key = pkey_fromdata("EC", bld, EVP_PKEY_KEYPAIR);
  if (x->key != NULL) {
    memcpy(x->pubval, pt + 1, 64); /* x || y without the 0x04 */
    rv = 0;
  }
out:
  OSSL_PARAM_BLD_free(bld);
  BN_CTX_free(bn);
  EC_POINT_free(q);
  BN_clear_free(d);
  return rv;
}

/* MODP-2048 key pair with a 256-bit exponent; *redraw set if x < 2. */
static int modp_keypair(ossl_dh *x, const uint8_t priv[32], int *redraw) {
  ossl_backend *b = x->b;
  int rv = M6IKE_ERR_CRYPTO_DH_FAILED;
  BIGNUM *e = BN_secure_new();
  BIGNUM *y = BN_new();
  BN_CTX *bn = BN_CTX_new();
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  *redraw = 0;
  if (e == NULL || y == NULL || bn == NULL || bld == NULL ||
      BN_bin2bn(priv, 32, e) == NULL) {
    rv = M6IKE_ERR_NOMEM;
    goto out;
  }
  if (BN_num_bits(e) < 2) {
    *redraw = 1;
    rv = 0;
    goto out;
  }
  BN_set_flags(e, BN_FLG_CONSTTIME);
  if (!BN_mod_exp_mont_consttime(y, b->modp_g, e, b->modp_p, bn,
                                 b->modp_mont) ||
      BN_bn2binpad(y, x->pubval, 256) != 256) {
    goto out;
  }
  if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                       "modp_2048", 0) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, e) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y)) {
    rv = M6IKE_ERR_NOMEM;
    goto out;
  }
  x->key = pkey_fromdata("DH", bld, EVP_PKEY_KEYPAIR);
  rv = x->key != NULL ? 0 : M6IKE_ERR_CRYPTO_DH_FAILED;
out:
  OSSL_PARAM_BLD_free(bld);
  BN_CTX_free(bn);
  BN_free(y);
  BN_clear_free(e);
  return rv;
}

static int ossl_dh_new(void *impl, m6ike_crypto_dh **dh, uint16_t group,
                       m6ike_rand_cb rand, void *rand_user_data) {
  ossl_backend *b = impl;
  ossl_dh *x = m6ike_calloc(b->mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  x->pub.ops = &ossl_ops;
  x->pub.group = group;
  x->b = b;
  x->publen = (size_t)m6ike_crypto_dh_public_len(group);
  uint8_t priv[32];
  int rv = M6IKE_ERR_CRYPTO_DH_FAILED;
  for (int draw = 0; draw < 64; draw++) {
    int redraw = 0;
    if (rand(priv, sizeof(priv), rand_user_data) != 0) {
      rv = M6IKE_ERR_RANDOM;
      break;
    }
    if (group == M6IKE_DH_CURVE25519) {
      x->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
      size_t l = 32;
      rv = (x->key != NULL &&
            EVP_PKEY_get_raw_public_key(x->key, x->pubval, &l) && l == 32)
               ? 0
               : M6IKE_ERR_CRYPTO_DH_FAILED;
    } else if (group == M6IKE_DH_ECP_256) {
      rv = ecp_keypair(x, priv, &redraw);
    } else if (group == M6IKE_DH_MODP_2048) {
      rv = modp_keypair(x, priv, &redraw);
    } else {
      rv = M6IKE_ERR_CRYPTO_UNSUPPORTED;
    }
    if (rv < 0 || !redraw) {
      break;
    }
    rv = M6IKE_ERR_CRYPTO_DH_FAILED; /* 64 draws all out of range */
  }
  memset(priv, 0, sizeof(priv));
  if (rv < 0) {
    ossl_dh_del(&x->pub);
    return fail(rv);
  }
  *dh = &x->pub;
  return 0;
}

static int ossl_dh_public(m6ike_crypto_dh *dh, uint8_t *out) {
  ossl_dh *x = (ossl_dh *)dh;
  memcpy(out, x->pubval, x->publen);
  return 0;
}

/* The peer's public value as an EVP_PKEY, or NULL with *rv set. */
static EVP_PKEY *peer_key(ossl_dh *x, const uint8_t *peer, size_t peerlen,
                          int *rv) {
  ossl_backend *b = x->b;
  EVP_PKEY *k = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  BIGNUM *y = NULL;
  *rv = M6IKE_ERR_CRYPTO_DH_PUBLIC;
  switch (x->pub.group) {
  case M6IKE_DH_CURVE25519:
    k = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, peerlen);
    if (k == NULL) {
      *rv = M6IKE_ERR_NOMEM;
    }
    return k;
  case M6IKE_DH_ECP_256: {
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, peer, 64);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                          sizeof(pt))) {
      *rv = M6IKE_ERR_NOMEM;
      break;
    }
    /* Import decodes the point and fails if it is not on the curve. */
    k = pkey_fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY);
    break;
  }
  case M6IKE_DH_MODP_2048:
    y = BN_bin2bn(peer, (int)peerlen, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (y == NULL || bld == NULL) {
      *rv = M6IKE_ERR_NOMEM;
      break;
    }
    /* RFC 6989 §2.1: 1 < y < p-1 for the safe-prime MODP groups. */
    if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, b->modp_p_minus_1) >= 0) {
      break;
    }
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         "modp_2048", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y)) {
      *rv = M6IKE_ERR_NOMEM;
      break;
    }
    k = pkey_fromdata("DH", bld, EVP_PKEY_PUBLIC_KEY);
    break;
  default:
    *rv = M6IKE_ERR_CRYPTO_UNSUPPORTED;
    break;
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(y);
  return k;
}

static int ossl_dh_shared(m6ike_crypto_dh *dh, const uint8_t *peer,
                          size_t peerlen, uint8_t *out) {
  ossl_dh *x = (ossl_dh *)dh;
  int rv;
  EVP_PKEY *pk = peer_key(x, peer, peerlen, &rv);
  if (pk == NULL) {
    return fail(rv);
  }
  size_t want = (size_t)m6ike_crypto_dh_shared_len(dh->group);
  size_t outl = want;
  EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(NULL, x->key, NULL);
  rv = 0;
  if (dc == NULL || EVP_PKEY_derive_init(dc) <= 0) {
    rv = M6IKE_ERR_CRYPTO_DH_FAILED;
  } else if (dh->group == M6IKE_DH_MODP_2048 &&
             EVP_PKEY_CTX_set_dh_pad(dc, 1) <= 0) {
    rv = M6IKE_ERR_CRYPTO_DH_FAILED;
  } else if (EVP_PKEY_derive_set_peer_ex(dc, pk, 0) <= 0) {
    /* No full public-key check here (it costs a scalar multiplication
     * or a 2048-bit modexp): the EC import above already refused points
     * off the curve, which suffices for P-256 (cofactor 1, RFC 6989
     * §2.3), and for the safe-prime MODP group the range check 1 < y <
     * p-1 done in peer_key suffices (RFC 6989 §2.2). */
    rv = M6IKE_ERR_CRYPTO_DH_PUBLIC;
  } else if (EVP_PKEY_derive(dc, out, &outl) <= 0) {
    /* X25519 fails only when the result is all zero (small-order
     * peer point); DH and EC when the peer value is unusable. */
    rv = dh->group == M6IKE_DH_CURVE25519 ? M6IKE_ERR_CRYPTO_DH_ZERO
         : dh->group == M6IKE_DH_MODP_2048 ? M6IKE_ERR_CRYPTO_DH_PUBLIC
                                           : M6IKE_ERR_CRYPTO_DH_FAILED;
  } else if (outl != want) {
    rv = M6IKE_ERR_CRYPTO_DH_FAILED;
  }
  EVP_PKEY_CTX_free(dc);
  EVP_PKEY_free(pk);
  if (rv < 0) {
    memset(out, 0, want);
    return fail(rv);
  }
  return 0;
}

/* ---- private keys and signatures ---------------------------------- */

typedef struct {
  m6ike_crypto_privkey pub;
  ossl_backend *b;
  EVP_PKEY *key;
} ossl_privkey;

typedef struct {
  m6ike_crypto_cert pub;
  ossl_backend *b;
  X509 *x;
  uint8_t *der; /* OPENSSL_malloc'ed by i2d */
  size_t derlen;
  uint8_t *subject;
  size_t subjectlen;
  GENERAL_NAMES *sans; /* NULL if none */
} ossl_cert;

/* M6IKE_KEY_* of a public or private key, or 0 if unsupported. */
static int key_type(EVP_PKEY *k) {
  if (EVP_PKEY_is_a(k, "RSA")) {
    return M6IKE_KEY_RSA;
  }
  if (EVP_PKEY_is_a(k, "EC")) {
    char name[64];
    size_t l = 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                       sizeof(name), &l) &&
        strcmp(name, "prime256v1") == 0) {
      return M6IKE_KEY_ECDSA_P256;
    }
    return M6IKE_KEY_ECDSA_OTHER;
  }
  return 0;
}

static BIO *mem_bio(const uint8_t *data, size_t len) {
  return len > (size_t)INT32_MAX ? NULL : BIO_new_mem_buf(data, (int)len);
}

static int ossl_privkey_load(void *impl, m6ike_crypto_privkey **key,
                             const uint8_t *data, size_t len) {
  ossl_backend *b = impl;
  EVP_PKEY *k = NULL;
  BIO *bio = mem_bio(data, len);
  if (bio == NULL) {
    return fail(M6IKE_ERR_NOMEM);
  }
  k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (k == NULL && len <= (size_t)INT32_MAX) {
    const unsigned char *p = data;
    k = d2i_AutoPrivateKey(NULL, &p, (long)len);
  }
  if (k == NULL || key_type(k) == 0) {
    EVP_PKEY_free(k);
    return fail(M6IKE_ERR_CRYPTO_KEY_PARSE);
  }
  ossl_privkey *x = m6ike_calloc(b->mem, 1, sizeof(*x));
  if (x == NULL) {
    EVP_PKEY_free(k);
    return M6IKE_ERR_NOMEM;
  }
  x->pub.ops = &ossl_ops;
  x->pub.type = key_type(k);
  x->b = b;
  x->key = k;
  *key = &x->pub;
  ERR_clear_error(); /* the PEM attempt may have queued errors */
  return 0;
}

static void ossl_privkey_del(m6ike_crypto_privkey *key) {
  ossl_privkey *x = (ossl_privkey *)key;
  EVP_PKEY_free(x->key);
  m6ike_free(x->b->mem, x);
}

static size_t ossl_privkey_sig_len(m6ike_crypto_privkey *key) {
  ossl_privkey *x = (ossl_privkey *)key;
  int n = EVP_PKEY_get_size(x->key);
  return n > 0 ? (size_t)n : 0;
}

static int ossl_privkey_matches(m6ike_crypto_privkey *key,
                                m6ike_crypto_cert *cert) {
  ossl_privkey *k = (ossl_privkey *)key;
  ossl_cert *c = (ossl_cert *)cert;
  EVP_PKEY *pk = X509_get0_pubkey(c->x);
  int rv = (pk != NULL && EVP_PKEY_eq(k->key, pk) == 1)
               ? 0
               : M6IKE_ERR_CRYPTO_KEY_MISMATCH;
  ERR_clear_error();
  return rv;
}

static const char *scheme_md(m6ike_sig_scheme scheme) {
  int h = m6ike_sig_scheme_hash(scheme);
  return (h >= 1 && h <= N_MD) ? md_names[h - 1] : NULL;
}

static int ossl_sign(m6ike_crypto_privkey *key, m6ike_sig_scheme scheme,
                     const m6ike_crypto_chunk *in, size_t nin, uint8_t *sig,
                     size_t *siglen) {
  ossl_privkey *x = (ossl_privkey *)key;
  const char *md = scheme_md(scheme);
  int rv = M6IKE_ERR_CRYPTO_SIGN_FAILED;
  uint8_t der[M6IKE_CRYPTO_MAX_SIG_LEN];
  size_t derlen = sizeof(der);
  ECDSA_SIG *es = NULL;
  EVP_MD_CTX *mc = EVP_MD_CTX_new();
  if (mc == NULL) {
    return fail(M6IKE_ERR_NOMEM);
  }
  if (md == NULL ||
      EVP_DigestSignInit_ex(mc, NULL, md, NULL, NULL, x->key, NULL) <= 0) {
    goto out;
  }
  for (size_t i = 0; i < nin; i++) {
    if (in[i].len > 0 &&
        EVP_DigestSignUpdate(mc, in[i].ptr, in[i].len) <= 0) {
      goto out;
    }
  }
  if (scheme != M6IKE_SIG_ECDSA_P256_SHA256) {
    size_t cap = *siglen;
    if (EVP_DigestSignFinal(mc, NULL, &cap) <= 0) {
      goto out;
    }
    if (cap > *siglen) {
      rv = M6IKE_ERR_NOBUF;
      goto out;
    }
    cap = *siglen;
    if (EVP_DigestSignFinal(mc, sig, &cap) <= 0) {
      goto out;
    }
    *siglen = cap;
    rv = 0;
    goto out;
  }
  /* RFC 4754: r || s, each 32 octets big-endian. */
  if (EVP_DigestSignFinal(mc, der, &derlen) <= 0) {
    goto out;
  }
  const unsigned char *p = der;
  es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
  if (es == NULL || *siglen < 64 ||
      BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) != 32) {
    goto out;
  }
  *siglen = 64;
  rv = 0;
out:
  ECDSA_SIG_free(es);
  EVP_MD_CTX_free(mc);
  return rv < 0 ? fail(rv) : 0;
}

/* ---- certificates ------------------------------------------------- */

static void ossl_cert_del(m6ike_crypto_cert *cert) {
  ossl_cert *c = (ossl_cert *)cert;
  GENERAL_NAMES_free(c->sans);
  OPENSSL_free(c->der);
  OPENSSL_free(c->subject);
  X509_free(c->x);
  m6ike_free(c->b->mem, c);
}

static int ossl_cert_load(void *impl, m6ike_crypto_cert **cert,
                          const uint8_t *data, size_t len) {
  ossl_backend *b = impl;
  X509 *x509 = NULL;
  BIO *bio = mem_bio(data, len);
  if (bio == NULL) {
    return fail(M6IKE_ERR_NOMEM);
  }
  x509 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (x509 == NULL) {
    const unsigned char *p = data;
    x509 = d2i_X509(NULL, &p, (long)len);
  }
  if (x509 == NULL) {
    return fail(M6IKE_ERR_CRYPTO_CERT_PARSE);
  }
  ERR_clear_error();
  ossl_cert *c = m6ike_calloc(b->mem, 1, sizeof(*c));
  if (c == NULL) {
    X509_free(x509);
    return M6IKE_ERR_NOMEM;
  }
  c->pub.ops = &ossl_ops;
  c->b = b;
  c->x = x509;
  int n = i2d_X509(x509, &c->der);
  int m = i2d_X509_NAME(X509_get_subject_name(x509), &c->subject);
  if (n <= 0 || m <= 0) {
    ossl_cert_del(&c->pub);
    return fail(M6IKE_ERR_CRYPTO_CERT_FAILED);
  }
  c->derlen = (size_t)n;
  c->subjectlen = (size_t)m;
  int crit = 0;
  c->sans = X509_get_ext_d2i(x509, NID_subject_alt_name, &crit, NULL);
  if (c->sans == NULL && crit != -1) {
    /* crit -1: no extension; otherwise it could not be decoded. */
    ossl_cert_del(&c->pub);
    return fail(M6IKE_ERR_CRYPTO_CERT_PARSE);
  }
  ERR_clear_error();
  *cert = &c->pub;
  return 0;
}

static int ossl_cert_der(m6ike_crypto_cert *cert, const uint8_t **der,
                         size_t *len) {
  ossl_cert *c = (ossl_cert *)cert;
  *der = c->der;
  *len = c->derlen;
  return 0;
}

static int ossl_cert_subject(m6ike_crypto_cert *cert, const uint8_t **der,
                             size_t *len) {
  ossl_cert *c = (ossl_cert *)cert;
  *der = c->subject;
  *len = c->subjectlen;
  return 0;
}

static int ossl_cert_san(m6ike_crypto_cert *cert, size_t index, int *id_type,
                         const uint8_t **data, size_t *len) {
  ossl_cert *c = (ossl_cert *)cert;
  int n = c->sans ? sk_GENERAL_NAME_num(c->sans) : 0;
  size_t seen = 0;
  for (int i = 0; i < n; i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(c->sans, i);
    const ASN1_STRING *s = NULL;
    int t = 0;
    switch (g->type) {
    case GEN_DNS:
      s = g->d.dNSName;
      t = M6IKE_ID_FQDN;
      break;
    case GEN_EMAIL:
      s = g->d.rfc822Name;
      t = M6IKE_ID_RFC822_ADDR;
      break;
    case GEN_IPADD:
      s = g->d.iPAddress;
      t = ASN1_STRING_length(s) == 4    ? M6IKE_ID_IPV4_ADDR
          : ASN1_STRING_length(s) == 16 ? M6IKE_ID_IPV6_ADDR
                                        : 0;
      break;
    default:
      break;
    }
    if (t == 0 || s == NULL) {
      continue;
    }
    if (seen++ == index) {
      *id_type = t;
      *data = ASN1_STRING_get0_data(s);
      *len = (size_t)ASN1_STRING_length(s);
      return 0;
    }
  }
  return M6IKE_ERR_NOT_FOUND;
}

static int ossl_cert_verify(m6ike_crypto_cert *cert, m6ike_sig_scheme scheme,
                            const m6ike_crypto_chunk *in, size_t nin,
                            const uint8_t *sig, size_t siglen) {
  ossl_cert *c = (ossl_cert *)cert;
  EVP_PKEY *pk = X509_get0_pubkey(c->x);
  if (pk == NULL) {
    return fail(M6IKE_ERR_CRYPTO_VERIFY_FAILED);
  }
  int type = key_type(pk);
  switch (scheme) {
  case M6IKE_SIG_RSA_PKCS1_SHA1:
  case M6IKE_SIG_RSA_PKCS1_SHA256:
  case M6IKE_SIG_RSA_PKCS1_SHA384:
  case M6IKE_SIG_RSA_PKCS1_SHA512:
    if (type != M6IKE_KEY_RSA) {
      return M6IKE_ERR_CRYPTO_KEY_MISMATCH;
    }
    break;
  case M6IKE_SIG_ECDSA_P256_SHA256:
    if (type != M6IKE_KEY_ECDSA_P256) {
      return M6IKE_ERR_CRYPTO_KEY_MISMATCH;
    }
    break;
  default:
    if (type != M6IKE_KEY_ECDSA_P256 && type != M6IKE_KEY_ECDSA_OTHER) {
      return M6IKE_ERR_CRYPTO_KEY_MISMATCH;
    }
    break;
  }
  uint8_t der[80];
  if (scheme == M6IKE_SIG_ECDSA_P256_SHA256) {
    /* RFC 4754 r || s -> DER Ecdsa-Sig-Value for OpenSSL. */
    if (siglen != 64) {
      return M6IKE_ERR_CRYPTO_BAD_SIGNATURE;
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
      ECDSA_SIG_free(es);
      BN_free(r);
      BN_free(s);
      return fail(M6IKE_ERR_NOMEM);
    }
    unsigned char *p = der;
    int n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > sizeof(der) || i2d_ECDSA_SIG(es, &p) != n) {
      ECDSA_SIG_free(es);
      return fail(M6IKE_ERR_CRYPTO_VERIFY_FAILED);
    }
    ECDSA_SIG_free(es);
    sig = der;
    siglen = (size_t)n;
  }
  EVP_MD_CTX *mc = EVP_MD_CTX_new();
  if (mc == NULL) {
    return fail(M6IKE_ERR_NOMEM);
  }
  int rv = M6IKE_ERR_CRYPTO_VERIFY_FAILED;
  if (EVP_DigestVerifyInit_ex(mc, NULL, scheme_md(scheme), NULL, NULL, pk,
                              NULL) <= 0) {
    goto out;
  }
  for (size_t i = 0; i < nin; i++) {
    if (in[i].len > 0 &&
        EVP_DigestVerifyUpdate(mc, in[i].ptr, in[i].len) <= 0) {
      goto out;
    }
  }
  /* 1 = good; 0 = bad; < 0 = malformed signature (also bad). */
  rv = EVP_DigestVerifyFinal(mc, sig, siglen) == 1
           ? 0
           : M6IKE_ERR_CRYPTO_BAD_SIGNATURE;
out:
  EVP_MD_CTX_free(mc);
  ERR_clear_error();
  return rv;
}

static int ossl_cert_verify_chain(void *impl, m6ike_crypto_cert *cert,
                                  m6ike_crypto_cert *const *trusted,
                                  size_t ntrusted,
                                  m6ike_crypto_cert *const *untrusted,
                                  size_t nuntrusted, int64_t unix_time) {
  (void)impl;
  ossl_cert *c = (ossl_cert *)cert;
  int rv = M6IKE_ERR_NOMEM;
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  STACK_OF(X509) *chain = sk_X509_new_null();
  if (store == NULL || ctx == NULL || chain == NULL) {
    goto out;
  }
  for (size_t i = 0; i < ntrusted; i++) {
    if (!X509_STORE_add_cert(store, ((ossl_cert *)trusted[i])->x)) {
      goto out;
    }
  }
  for (size_t i = 0; i < nuntrusted; i++) {
    if (!sk_X509_push(chain, ((ossl_cert *)untrusted[i])->x)) {
      goto out;
    }
  }
  if (!X509_STORE_CTX_init(ctx, store, c->x, chain)) {
    goto out;
  }
  X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
  /* A trusted intermediate is an anchor too, as in strongSwan. */
  X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
  if (unix_time == M6IKE_CRYPTO_TIME_ANY) {
    X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_NO_CHECK_TIME);
  } else {
    X509_VERIFY_PARAM_set_time(vp, (time_t)unix_time);
  }
  int ok = X509_verify_cert(ctx);
  if (ok == 1) {
    rv = 0;
  } else {
    int e = X509_STORE_CTX_get_error(ctx);
    rv = (e == X509_V_ERR_CERT_HAS_EXPIRED ||
          e == X509_V_ERR_CERT_NOT_YET_VALID)
             ? M6IKE_ERR_CRYPTO_CERT_TIME
         : ok < 0 ? M6IKE_ERR_CRYPTO_VERIFY_FAILED
                  : M6IKE_ERR_CRYPTO_CERT_UNTRUSTED;
  }
out:
  sk_X509_free(chain); /* the certs belong to their handles */
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  ERR_clear_error();
  return rv;
}

static const m6ike_crypto_ops ossl_ops = {
    .name = "openssl",
    .backend_del = ossl_backend_del,
    .prf = ossl_prf,
    .hash = ossl_hash,
    .cipher_new = ossl_cipher_new,
    .cipher_encrypt = ossl_encrypt,
    .cipher_decrypt = ossl_decrypt,
    .cipher_del = ossl_cipher_del,
    .integ_new = ossl_integ_new,
    .integ_compute = ossl_integ_compute,
    .integ_del = ossl_integ_del,
    .dh_new = ossl_dh_new,
    .dh_public = ossl_dh_public,
    .dh_shared = ossl_dh_shared,
    .dh_del = ossl_dh_del,
    .privkey_load = ossl_privkey_load,
    .sign = ossl_sign,
    .privkey_sig_len = ossl_privkey_sig_len,
    .privkey_matches = ossl_privkey_matches,
    .privkey_del = ossl_privkey_del,
    .cert_load = ossl_cert_load,
    .cert_der = ossl_cert_der,
    .cert_subject = ossl_cert_subject,
    .cert_san = ossl_cert_san,
    .cert_verify = ossl_cert_verify,
    .cert_verify_chain = ossl_cert_verify_chain,
    .cert_del = ossl_cert_del,
};
