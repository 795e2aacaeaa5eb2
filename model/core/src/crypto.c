/*
 * crypto: the backend-independent part of m6ike/crypto.h -- size helpers,
 * argument checks in front of the backend's ops, prf+ (RFC 7296 §2.13),
 * RFC 7427 AlgorithmIdentifiers and error strings.
 */
#include "m6ike/crypto.h"

#include <string.h>

/* ---- error strings ------------------------------------------------ */

const char *m6ike_crypto_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_CRYPTO_UNSUPPORTED:
    return "crypto: algorithm, group or scheme unknown or not supported by "
           "the backend";
  case M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH:
    return "crypto: key length is wrong for the algorithm";
  case M6IKE_ERR_CRYPTO_BAD_IV_LENGTH:
    return "crypto: iv length is wrong for the algorithm";
  case M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH:
    return "crypto: data length is not a multiple of the cipher block size";
  case M6IKE_ERR_CRYPTO_AUTH:
    return "crypto: integrity check value / AEAD tag does not verify";
  case M6IKE_ERR_CRYPTO_DH_PUBLIC:
    return "crypto: peer DH public value invalid (length, range or not on "
           "the curve)";
  case M6IKE_ERR_CRYPTO_DH_ZERO:
    return "crypto: X25519 shared secret is all zero (small-order peer "
           "point)";
  case M6IKE_ERR_CRYPTO_BAD_SIGNATURE:
    return "crypto: signature does not verify";
  case M6IKE_ERR_CRYPTO_KEY_PARSE:
    return "crypto: private key could not be parsed (PEM/DER RSA or EC)";
  case M6IKE_ERR_CRYPTO_CERT_PARSE:
    return "crypto: certificate could not be parsed (PEM/DER X.509)";
  case M6IKE_ERR_CRYPTO_CERT_UNTRUSTED:
    return "crypto: certificate does not chain to a trusted CA";
  case M6IKE_ERR_CRYPTO_CERT_TIME:
    return "crypto: certificate expired or not yet valid";
  case M6IKE_ERR_CRYPTO_KEY_MISMATCH:
    return "crypto: signature scheme does not fit the key type, or the "
           "private key does not match the certificate";
  case M6IKE_ERR_CRYPTO_ID_MISMATCH:
    return "crypto: identity is neither the certificate's subject nor one "
           "of its subjectAltNames";
  case M6IKE_ERR_CRYPTO_BAD_ALGID:
    return "crypto: unknown RFC 7427 signature AlgorithmIdentifier";
  case M6IKE_ERR_CRYPTO_PRF_PLUS_LENGTH:
    return "crypto: prf+ output longer than 255 prf blocks";
  case M6IKE_ERR_CRYPTO_PRF_FAILED:
    return "crypto: backend failed computing prf (HMAC)";
  case M6IKE_ERR_CRYPTO_HASH_FAILED:
    return "crypto: backend failed computing a hash";
  case M6IKE_ERR_CRYPTO_CIPHER_FAILED:
    return "crypto: backend cipher operation failed";
  case M6IKE_ERR_CRYPTO_INTEG_FAILED:
    return "crypto: backend failed computing the integrity ICV";
  case M6IKE_ERR_CRYPTO_DH_FAILED:
    return "crypto: backend DH key generation or derivation failed";
  case M6IKE_ERR_CRYPTO_SIGN_FAILED:
    return "crypto: backend failed to sign";
  case M6IKE_ERR_CRYPTO_VERIFY_FAILED:
    return "crypto: backend could not run a signature or chain verification";
  case M6IKE_ERR_CRYPTO_CERT_FAILED:
    return "crypto: backend could not read a certificate field";
  default:
    return NULL;
  }
}

/* ---- size helpers ------------------------------------------------- */

int m6ike_crypto_encr_key_len(uint16_t encr, unsigned key_bits) {
  switch (encr) {
  case M6IKE_ENCR_3DES:
    return key_bits == 0 ? 24 : M6IKE_ERR_CRYPTO_UNSUPPORTED;
  case M6IKE_ENCR_NULL:
    return key_bits == 0 ? 0 : M6IKE_ERR_CRYPTO_UNSUPPORTED;
  case M6IKE_ENCR_AES_CBC:
  case M6IKE_ENCR_AES_GCM_16:
    if (key_bits != 128 && key_bits != 192 && key_bits != 256) {
      return M6IKE_ERR_CRYPTO_UNSUPPORTED;
    }
    return (int)(key_bits / 8) + (encr == M6IKE_ENCR_AES_GCM_16 ? 4 : 0);
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_encr_iv_len(uint16_t encr) {
  switch (encr) {
  case M6IKE_ENCR_3DES:
    return 8;
  case M6IKE_ENCR_NULL:
    return 0;
  case M6IKE_ENCR_AES_CBC:
    return 16;
  case M6IKE_ENCR_AES_GCM_16:
    return 8;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_encr_block_len(uint16_t encr) {
  switch (encr) {
  case M6IKE_ENCR_3DES:
    return 8;
  case M6IKE_ENCR_AES_CBC:
    return 16;
  case M6IKE_ENCR_NULL:
  case M6IKE_ENCR_AES_GCM_16:
    return 1;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_encr_icv_len(uint16_t encr) {
  switch (encr) {
  case M6IKE_ENCR_3DES:
  case M6IKE_ENCR_NULL:
  case M6IKE_ENCR_AES_CBC:
    return 0;
  case M6IKE_ENCR_AES_GCM_16:
    return 16;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_encr_is_aead(uint16_t encr) {
  int n = m6ike_crypto_encr_icv_len(encr);
  return n < 0 ? n : n > 0;
}

int m6ike_crypto_prf_len(uint16_t prf) {
  switch (prf) {
  case M6IKE_PRF_HMAC_SHA1:
    return 20;
  case M6IKE_PRF_HMAC_SHA2_256:
    return 32;
  case M6IKE_PRF_HMAC_SHA2_384:
    return 48;
  case M6IKE_PRF_HMAC_SHA2_512:
    return 64;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_integ_key_len(uint16_t integ) {
  switch (integ) {
  case M6IKE_INTEG_NONE:
    return 0;
  case M6IKE_INTEG_HMAC_SHA1_96:
    return 20;
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    return 32;
  case M6IKE_INTEG_HMAC_SHA2_384_192:
    return 48;
  case M6IKE_INTEG_HMAC_SHA2_512_256:
    return 64;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_integ_icv_len(uint16_t integ) {
  switch (integ) {
  case M6IKE_INTEG_NONE:
    return 0;
  case M6IKE_INTEG_HMAC_SHA1_96:
    return 12;
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    return 16;
  case M6IKE_INTEG_HMAC_SHA2_384_192:
    return 24;
  case M6IKE_INTEG_HMAC_SHA2_512_256:
    return 32;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_hash_len(uint16_t hash) {
  switch (hash) {
  case M6IKE_HASH_SHA1:
    return 20;
  case M6IKE_HASH_SHA2_256:
    return 32;
  case M6IKE_HASH_SHA2_384:
    return 48;
  case M6IKE_HASH_SHA2_512:
    return 64;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_dh_public_len(uint16_t group) {
  switch (group) {
  case M6IKE_DH_MODP_2048:
    return 256;
  case M6IKE_DH_ECP_256:
    return 64;
  case M6IKE_DH_CURVE25519:
    return 32;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_dh_shared_len(uint16_t group) {
  switch (group) {
  case M6IKE_DH_MODP_2048:
    return 256;
  case M6IKE_DH_ECP_256:
  case M6IKE_DH_CURVE25519:
    return 32;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

/* ---- backend ------------------------------------------------------ */

void m6ike_crypto_del(m6ike_crypto *c) {
  if (c != NULL && c->ops != NULL && c->ops->backend_del != NULL) {
    c->ops->backend_del(c);
  }
}

const char *m6ike_crypto_name(const m6ike_crypto *c) {
  return (c != NULL && c->ops != NULL && c->ops->name != NULL) ? c->ops->name
                                                               : "";
}

int m6ike_crypto_memeq(const uint8_t *a, const uint8_t *b, size_t len) {
  volatile uint8_t acc = 0;
  for (size_t i = 0; i < len; i++) {
    acc = (uint8_t)(acc | (a[i] ^ b[i]));
  }
  return acc == 0;
}

static int chunks_ok(const m6ike_crypto_chunk *in, size_t nin) {
  if (nin > 0 && in == NULL) {
    return 0;
  }
  for (size_t i = 0; i < nin; i++) {
    if (in[i].len > 0 && in[i].ptr == NULL) {
      return 0;
    }
  }
  return 1;
}

static int buf_ok(const void *p, size_t len) { return len == 0 || p != NULL; }

/* ---- prf, prf+, hash ---------------------------------------------- */

int m6ike_crypto_prfv(const m6ike_crypto *c, uint16_t prf,
                      const uint8_t *key, size_t keylen,
                      const m6ike_crypto_chunk *in, size_t nin,
                      uint8_t *out) {
  if (c == NULL || c->ops == NULL || !buf_ok(key, keylen) ||
      !chunks_ok(in, nin) || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_prf_len(prf);
  if (n < 0) {
    return n;
  }
  if (c->ops->prf == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->prf(c->impl, prf, key, keylen, in, nin, out);
}

int m6ike_crypto_prf(const m6ike_crypto *c, uint16_t prf, const uint8_t *key,
                     size_t keylen, const uint8_t *data, size_t len,
                     uint8_t *out) {
  m6ike_crypto_chunk ch = {data, len};
  if (!buf_ok(data, len)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return m6ike_crypto_prfv(c, prf, key, keylen, &ch, 1, out);
}

int m6ike_prf_plus(const m6ike_crypto *c, uint16_t prf, const uint8_t *key,
                   size_t keylen, const uint8_t *seed, size_t seedlen,
                   uint8_t *out, size_t outlen) {
  if (c == NULL || !buf_ok(key, keylen) || !buf_ok(seed, seedlen) ||
      !buf_ok(out, outlen)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_prf_len(prf);
  if (n < 0) {
    return n;
  }
  size_t blk = (size_t)n;
  if (outlen > 255 * blk) {
    return M6IKE_ERR_CRYPTO_PRF_PLUS_LENGTH;
  }
  uint8_t t[M6IKE_CRYPTO_MAX_PRF_LEN];
  size_t tlen = 0; /* T0 is empty */
  size_t done = 0;
  int rv = 0;
  for (unsigned i = 1; done < outlen; i++) {
    uint8_t ctr = (uint8_t)i;
    m6ike_crypto_chunk ch[3] = {{t, tlen}, {seed, seedlen}, {&ctr, 1}};
    rv = m6ike_crypto_prfv(c, prf, key, keylen, ch, 3, t);
    if (rv < 0) {
      break;
    }
    tlen = blk;
    size_t take = outlen - done < blk ? outlen - done : blk;
    memcpy(out + done, t, take);
    done += take;
  }
  memset(t, 0, sizeof(t));
  if (rv < 0 && outlen > 0) {
    memset(out, 0, outlen);
  }
  return rv < 0 ? rv : 0;
}

int m6ike_crypto_hash(const m6ike_crypto *c, uint16_t hash,
                      const m6ike_crypto_chunk *in, size_t nin,
                      uint8_t *out) {
  if (c == NULL || c->ops == NULL || !chunks_ok(in, nin) || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_hash_len(hash);
  if (n < 0) {
    return n;
  }
  if (c->ops->hash == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->hash(c->impl, hash, in, nin, out);
}

/* ---- cipher ------------------------------------------------------- */

int m6ike_crypto_cipher_new(m6ike_crypto_cipher **ctx, const m6ike_crypto *c,
                            uint16_t encr, unsigned key_bits,
                            const uint8_t *key, size_t keylen) {
  if (ctx == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *ctx = NULL;
  if (c == NULL || c->ops == NULL || !buf_ok(key, keylen)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_encr_key_len(encr, key_bits);
  if (n < 0) {
    return n;
  }
  if ((size_t)n != keylen) {
    return M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH;
  }
  if (c->ops->cipher_new == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->cipher_new(c->impl, ctx, encr, key_bits, key, keylen);
}

static int cipher_check(const m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, const uint8_t *out,
                        const uint8_t *tag) {
  if (ctx == NULL || ctx->ops == NULL || !buf_ok(in, len) ||
      !buf_ok(out, len)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (in != out && in != NULL && out != NULL &&
      ((in < out && in + len > out) || (out < in && out + len > in))) {
    return M6IKE_ERR_INVALID_ARGUMENT; /* partial overlap */
  }
  int ivn = m6ike_crypto_encr_iv_len(ctx->encr);
  if (ivn < 0) {
    return ivn;
  }
  if ((size_t)ivn != ivlen) {
    return M6IKE_ERR_CRYPTO_BAD_IV_LENGTH;
  }
  if (!buf_ok(iv, ivlen)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (m6ike_crypto_encr_is_aead(ctx->encr) == 1) {
    if (tag == NULL || !buf_ok(aad, aadlen)) {
      return M6IKE_ERR_INVALID_ARGUMENT;
    }
  }
  int blk = m6ike_crypto_encr_block_len(ctx->encr);
  if (blk > 1 && len % (size_t)blk != 0) {
    return M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH;
  }
  return 0;
}

int m6ike_crypto_cipher_encrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                                size_t ivlen, const uint8_t *aad,
                                size_t aadlen, const uint8_t *in, size_t len,
                                uint8_t *out, uint8_t *tag) {
  int rv = cipher_check(ctx, iv, ivlen, aad, aadlen, in, len, out, tag);
  if (rv < 0) {
    return rv;
  }
  return ctx->ops->cipher_encrypt(ctx, iv, ivlen, aad, aadlen, in, len, out,
                                  tag);
}

int m6ike_crypto_cipher_decrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                                size_t ivlen, const uint8_t *aad,
                                size_t aadlen, const uint8_t *in, size_t len,
                                const uint8_t *tag, uint8_t *out) {
  int rv = cipher_check(ctx, iv, ivlen, aad, aadlen, in, len, out, tag);
  if (rv < 0) {
    return rv;
  }
  return ctx->ops->cipher_decrypt(ctx, iv, ivlen, aad, aadlen, in, len, tag,
                                  out);
}

void m6ike_crypto_cipher_del(m6ike_crypto_cipher *ctx) {
  if (ctx != NULL && ctx->ops != NULL && ctx->ops->cipher_del != NULL) {
    ctx->ops->cipher_del(ctx);
  }
}

/* ---- integrity ---------------------------------------------------- */

int m6ike_crypto_integ_new(m6ike_crypto_integ **ctx, const m6ike_crypto *c,
                           uint16_t integ, const uint8_t *key,
                           size_t keylen) {
  if (ctx == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *ctx = NULL;
  if (c == NULL || c->ops == NULL || !buf_ok(key, keylen)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_integ_key_len(integ);
  if (n < 0 || integ == M6IKE_INTEG_NONE) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  if ((size_t)n != keylen) {
    return M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH;
  }
  if (c->ops->integ_new == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->integ_new(c->impl, ctx, integ, key, keylen);
}

int m6ike_crypto_integ_computev(m6ike_crypto_integ *ctx,
                                const m6ike_crypto_chunk *in, size_t nin,
                                uint8_t *icv) {
  if (ctx == NULL || ctx->ops == NULL || !chunks_ok(in, nin) || icv == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return ctx->ops->integ_compute(ctx, in, nin, icv);
}

int m6ike_crypto_integ_compute(m6ike_crypto_integ *ctx, const uint8_t *data,
                               size_t len, uint8_t *icv) {
  m6ike_crypto_chunk ch = {data, len};
  return m6ike_crypto_integ_computev(ctx, &ch, 1, icv);
}

int m6ike_crypto_integ_verifyv(m6ike_crypto_integ *ctx,
                               const m6ike_crypto_chunk *in, size_t nin,
                               const uint8_t *icv, size_t icvlen) {
  if (ctx == NULL || ctx->ops == NULL || icv == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_integ_icv_len(ctx->integ);
  if (n <= 0 || (size_t)n != icvlen) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  uint8_t mine[M6IKE_CRYPTO_MAX_ICV_LEN];
  int rv = m6ike_crypto_integ_computev(ctx, in, nin, mine);
  if (rv < 0) {
    return rv;
  }
  return m6ike_crypto_memeq(mine, icv, icvlen) ? 0 : M6IKE_ERR_CRYPTO_AUTH;
}

int m6ike_crypto_integ_verify(m6ike_crypto_integ *ctx, const uint8_t *data,
                              size_t len, const uint8_t *icv, size_t icvlen) {
  m6ike_crypto_chunk ch = {data, len};
  return m6ike_crypto_integ_verifyv(ctx, &ch, 1, icv, icvlen);
}

void m6ike_crypto_integ_del(m6ike_crypto_integ *ctx) {
  if (ctx != NULL && ctx->ops != NULL && ctx->ops->integ_del != NULL) {
    ctx->ops->integ_del(ctx);
  }
}

/* ---- DH ----------------------------------------------------------- */

int m6ike_crypto_dh_new(m6ike_crypto_dh **dh, const m6ike_crypto *c,
                        uint16_t group, m6ike_rand_cb rand,
                        void *rand_user_data) {
  if (dh == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *dh = NULL;
  if (c == NULL || c->ops == NULL || rand == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_dh_public_len(group);
  if (n < 0) {
    return n;
  }
  if (c->ops->dh_new == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->dh_new(c->impl, dh, group, rand, rand_user_data);
}

int m6ike_crypto_dh_public(m6ike_crypto_dh *dh, uint8_t *out, size_t outlen) {
  if (dh == NULL || dh->ops == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = m6ike_crypto_dh_public_len(dh->group);
  if (n < 0) {
    return n;
  }
  if (outlen < (size_t)n) {
    return M6IKE_ERR_NOBUF;
  }
  int rv = dh->ops->dh_public(dh, out);
  return rv < 0 ? rv : n;
}

int m6ike_crypto_dh_shared(m6ike_crypto_dh *dh, const uint8_t *peer,
                           size_t peerlen, uint8_t *out, size_t outlen) {
  if (dh == NULL || dh->ops == NULL || out == NULL || !buf_ok(peer, peerlen)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int pn = m6ike_crypto_dh_public_len(dh->group);
  int sn = m6ike_crypto_dh_shared_len(dh->group);
  if (pn < 0 || sn < 0) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  if (outlen < (size_t)sn) {
    return M6IKE_ERR_NOBUF;
  }
  if (peerlen != (size_t)pn) {
    return M6IKE_ERR_CRYPTO_DH_PUBLIC;
  }
  int rv = dh->ops->dh_shared(dh, peer, peerlen, out);
  return rv < 0 ? rv : sn;
}

void m6ike_crypto_dh_del(m6ike_crypto_dh *dh) {
  if (dh != NULL && dh->ops != NULL && dh->ops->dh_del != NULL) {
    dh->ops->dh_del(dh);
  }
}

/* ---- signatures --------------------------------------------------- */

int m6ike_crypto_privkey_load(m6ike_crypto_privkey **key,
                              const m6ike_crypto *c, const uint8_t *data,
                              size_t len) {
  if (key == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *key = NULL;
  if (c == NULL || c->ops == NULL || data == NULL || len == 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (c->ops->privkey_load == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->privkey_load(c->impl, key, data, len);
}

int m6ike_crypto_privkey_type(const m6ike_crypto_privkey *key) {
  return key == NULL ? M6IKE_ERR_INVALID_ARGUMENT : key->type;
}

size_t m6ike_crypto_privkey_sig_len(m6ike_crypto_privkey *key) {
  if (key == NULL || key->ops == NULL || key->ops->privkey_sig_len == NULL) {
    return 0;
  }
  return key->ops->privkey_sig_len(key);
}

/* 0 if scheme is known and fits a key of type `type`. */
static int scheme_fits(m6ike_sig_scheme scheme, int type) {
  switch (scheme) {
  case M6IKE_SIG_RSA_PKCS1_SHA1:
  case M6IKE_SIG_RSA_PKCS1_SHA256:
  case M6IKE_SIG_RSA_PKCS1_SHA384:
  case M6IKE_SIG_RSA_PKCS1_SHA512:
    return type == M6IKE_KEY_RSA ? 0 : M6IKE_ERR_CRYPTO_KEY_MISMATCH;
  case M6IKE_SIG_ECDSA_P256_SHA256:
    return type == M6IKE_KEY_ECDSA_P256 ? 0 : M6IKE_ERR_CRYPTO_KEY_MISMATCH;
  case M6IKE_SIG_ECDSA_SHA256_DER:
  case M6IKE_SIG_ECDSA_SHA384_DER:
  case M6IKE_SIG_ECDSA_SHA512_DER:
    return (type == M6IKE_KEY_ECDSA_P256 || type == M6IKE_KEY_ECDSA_OTHER)
               ? 0
               : M6IKE_ERR_CRYPTO_KEY_MISMATCH;
  default:
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
}

int m6ike_crypto_sign(m6ike_crypto_privkey *key, m6ike_sig_scheme scheme,
                      const m6ike_crypto_chunk *in, size_t nin, uint8_t *sig,
                      size_t *siglen) {
  if (key == NULL || key->ops == NULL || !chunks_ok(in, nin) || sig == NULL ||
      siglen == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int rv = scheme_fits(scheme, key->type);
  if (rv < 0) {
    return rv;
  }
  if (*siglen < m6ike_crypto_privkey_sig_len(key)) {
    return M6IKE_ERR_NOBUF;
  }
  return key->ops->sign(key, scheme, in, nin, sig, siglen);
}

int m6ike_crypto_privkey_matches(m6ike_crypto_privkey *key,
                                 m6ike_crypto_cert *cert) {
  if (key == NULL || key->ops == NULL || cert == NULL ||
      cert->ops != key->ops) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return key->ops->privkey_matches(key, cert);
}

void m6ike_crypto_privkey_del(m6ike_crypto_privkey *key) {
  if (key != NULL && key->ops != NULL && key->ops->privkey_del != NULL) {
    key->ops->privkey_del(key);
  }
}

/* ---- certificates ------------------------------------------------- */

int m6ike_crypto_cert_load(m6ike_crypto_cert **cert, const m6ike_crypto *c,
                           const uint8_t *data, size_t len) {
  if (cert == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *cert = NULL;
  if (c == NULL || c->ops == NULL || data == NULL || len == 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (c->ops->cert_load == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return c->ops->cert_load(c->impl, cert, data, len);
}

int m6ike_crypto_cert_der(m6ike_crypto_cert *cert, const uint8_t **der,
                          size_t *len) {
  if (cert == NULL || cert->ops == NULL || der == NULL || len == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return cert->ops->cert_der(cert, der, len);
}

int m6ike_crypto_cert_subject(m6ike_crypto_cert *cert, const uint8_t **der,
                              size_t *len) {
  if (cert == NULL || cert->ops == NULL || der == NULL || len == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return cert->ops->cert_subject(cert, der, len);
}

int m6ike_crypto_cert_san(m6ike_crypto_cert *cert, size_t index,
                          int *id_type, const uint8_t **data, size_t *len) {
  if (cert == NULL || cert->ops == NULL || id_type == NULL || data == NULL ||
      len == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return cert->ops->cert_san(cert, index, id_type, data, len);
}

static int ascii_caseeq(const uint8_t *a, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = (uint8_t)(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = (uint8_t)(y - 'A' + 'a');
    }
    if (x != y) {
      return 0;
    }
  }
  return 1;
}

int m6ike_crypto_cert_has_id(m6ike_crypto_cert *cert, int id_type,
                             const uint8_t *data, size_t len) {
  if (cert == NULL || cert->ops == NULL || !buf_ok(data, len)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const uint8_t *p;
  size_t plen;
  int rv;
  if (id_type == M6IKE_ID_DER_ASN1_DN) {
    rv = m6ike_crypto_cert_subject(cert, &p, &plen);
    if (rv < 0) {
      return rv;
    }
    return (plen == len && (len == 0 || memcmp(p, data, len) == 0))
               ? 0
               : M6IKE_ERR_CRYPTO_ID_MISMATCH;
  }
  for (size_t i = 0;; i++) {
    int t;
    rv = m6ike_crypto_cert_san(cert, i, &t, &p, &plen);
    if (rv == M6IKE_ERR_NOT_FOUND) {
      return M6IKE_ERR_CRYPTO_ID_MISMATCH;
    }
    if (rv < 0) {
      return rv;
    }
    if (t != id_type || plen != len) {
      continue;
    }
    if (t == M6IKE_ID_FQDN || t == M6IKE_ID_RFC822_ADDR
            ? ascii_caseeq(p, data, len)
            : (len == 0 || memcmp(p, data, len) == 0)) {
      return 0;
    }
  }
}

int m6ike_crypto_cert_verify(m6ike_crypto_cert *cert, m6ike_sig_scheme scheme,
                             const m6ike_crypto_chunk *in, size_t nin,
                             const uint8_t *sig, size_t siglen) {
  if (cert == NULL || cert->ops == NULL || !chunks_ok(in, nin) ||
      !buf_ok(sig, siglen)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (m6ike_sig_scheme_hash(scheme) < 0) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  if (siglen == 0) {
    return M6IKE_ERR_CRYPTO_BAD_SIGNATURE; /* e.g. an empty AUTH payload */
  }
  return cert->ops->cert_verify(cert, scheme, in, nin, sig, siglen);
}

int m6ike_crypto_cert_verify_chain(m6ike_crypto_cert *cert,
                                   m6ike_crypto_cert *const *trusted,
                                   size_t ntrusted,
                                   m6ike_crypto_cert *const *untrusted,
                                   size_t nuntrusted, int64_t unix_time) {
  if (cert == NULL || cert->ops == NULL || trusted == NULL || ntrusted == 0 ||
      (nuntrusted > 0 && untrusted == NULL)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < ntrusted; i++) {
    if (trusted[i] == NULL || trusted[i]->ops != cert->ops) {
      return M6IKE_ERR_INVALID_ARGUMENT;
    }
  }
  for (size_t i = 0; i < nuntrusted; i++) {
    if (untrusted[i] == NULL || untrusted[i]->ops != cert->ops) {
      return M6IKE_ERR_INVALID_ARGUMENT;
    }
  }
  if (cert->ops->cert_verify_chain == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  /* The backend's impl is not reachable from a cert; backends that need
   * it keep it in their cert struct. */
  return cert->ops->cert_verify_chain(NULL, cert, trusted, ntrusted,
                                      untrusted, nuntrusted, unix_time);
}

void m6ike_crypto_cert_del(m6ike_crypto_cert *cert) {
  if (cert != NULL && cert->ops != NULL && cert->ops->cert_del != NULL) {
    cert->ops->cert_del(cert);
  }
}

/* ---- RFC 7427 AlgorithmIdentifiers -------------------------------- */

/* DER of AlgorithmIdentifier SEQUENCE { OID, [NULL] }.  RSA: PKCS#1 OIDs
 * 1.2.840.113549.1.1.{11,12,13} with NULL parameters; ECDSA: ANSI X9.62
 * OIDs 1.2.840.10045.4.3.{2,3,4} without parameters. */
static const uint8_t algid_rsa_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
                                           0x86, 0x48, 0x86, 0xf7, 0x0d,
                                           0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t algid_rsa_sha384[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
                                           0x86, 0x48, 0x86, 0xf7, 0x0d,
                                           0x01, 0x01, 0x0c, 0x05, 0x00};
static const uint8_t algid_rsa_sha512[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
                                           0x86, 0x48, 0x86, 0xf7, 0x0d,
                                           0x01, 0x01, 0x0d, 0x05, 0x00};
static const uint8_t algid_ecdsa_sha256[] = {0x30, 0x0a, 0x06, 0x08,
                                             0x2a, 0x86, 0x48, 0xce,
                                             0x3d, 0x04, 0x03, 0x02};
static const uint8_t algid_ecdsa_sha384[] = {0x30, 0x0a, 0x06, 0x08,
                                             0x2a, 0x86, 0x48, 0xce,
                                             0x3d, 0x04, 0x03, 0x03};
static const uint8_t algid_ecdsa_sha512[] = {0x30, 0x0a, 0x06, 0x08,
                                             0x2a, 0x86, 0x48, 0xce,
                                             0x3d, 0x04, 0x03, 0x04};

typedef struct {
  m6ike_sig_scheme scheme;
  int hash;
  const uint8_t *der; /* NULL: no RFC 7427 encoding (methods 1 and 9) */
  size_t len;
} scheme_info;

#define ALGID(a) a, sizeof(a)
static const scheme_info schemes[] = {
    {M6IKE_SIG_RSA_PKCS1_SHA1, M6IKE_HASH_SHA1, NULL, 0},
    {M6IKE_SIG_RSA_PKCS1_SHA256, M6IKE_HASH_SHA2_256, ALGID(algid_rsa_sha256)},
    {M6IKE_SIG_RSA_PKCS1_SHA384, M6IKE_HASH_SHA2_384, ALGID(algid_rsa_sha384)},
    {M6IKE_SIG_RSA_PKCS1_SHA512, M6IKE_HASH_SHA2_512, ALGID(algid_rsa_sha512)},
    {M6IKE_SIG_ECDSA_P256_SHA256, M6IKE_HASH_SHA2_256, NULL, 0},
    {M6IKE_SIG_ECDSA_SHA256_DER, M6IKE_HASH_SHA2_256,
     ALGID(algid_ecdsa_sha256)},
    {M6IKE_SIG_ECDSA_SHA384_DER, M6IKE_HASH_SHA2_384,
     ALGID(algid_ecdsa_sha384)},
    {M6IKE_SIG_ECDSA_SHA512_DER, M6IKE_HASH_SHA2_512,
     ALGID(algid_ecdsa_sha512)},
};
#undef ALGID

static const scheme_info *scheme_find(m6ike_sig_scheme s) {
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    if (schemes[i].scheme == s) {
      return &schemes[i];
    }
  }
  return NULL;
}

int m6ike_sig_scheme_algid(m6ike_sig_scheme scheme, const uint8_t **der,
                           size_t *len) {
  if (der == NULL || len == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const scheme_info *si = scheme_find(scheme);
  if (si == NULL || si->der == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  *der = si->der;
  *len = si->len;
  return 0;
}

int m6ike_sig_scheme_from_algid(const uint8_t *der, size_t len) {
  if (der == NULL && len > 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    if (schemes[i].der != NULL && schemes[i].len == len &&
        memcmp(schemes[i].der, der, len) == 0) {
      return (int)schemes[i].scheme;
    }
  }
  /* sha1WithRSAEncryption is deliberately absent: RFC 8247 deprecates
   * SHA-1 signatures, and method 1 covers peers that still need them. */
  return M6IKE_ERR_CRYPTO_BAD_ALGID;
}

int m6ike_sig_scheme_hash(m6ike_sig_scheme scheme) {
  const scheme_info *si = scheme_find(scheme);
  return si == NULL ? M6IKE_ERR_CRYPTO_UNSUPPORTED : si->hash;
}
