/*
 * crypto_null: the NULL backend of m6ike/crypto.h.
 *
 *        *** NOT CRYPTOGRAPHY -- tests and simulated sweeps only ***
 *
 * Everything is a deterministic keyed 64-bit mixing function ("nh" below),
 * stretched to the real algorithms' output sizes, so that messages, keys
 * and SAs have their real lengths and a state machine cannot tell the
 * difference -- except that nothing is secret: ciphertext equals
 * plaintext and anyone can compute every "key".  Tags and ICVs still
 * change with every input bit, so tests of corrupted packets behave as
 * with real crypto.
 */
#include <string.h>

#include "m6ike/crypto.h"
#include "mem.h"

/* ---- nh: a keyed 64-bit mixing function, stretched ---------------- */

typedef struct {
  uint64_t a, b, n;
} nh_state;

static uint64_t mix64(uint64_t z) { /* SplitMix64's finaliser */
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void nh_init(nh_state *s, uint64_t domain) {
  s->a = 0x9e3779b97f4a7c15ULL ^ mix64(domain);
  s->b = 0x6a09e667f3bcc908ULL + domain;
  s->n = 0;
}

static void nh_update(nh_state *s, const uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    s->a = (s->a ^ p[i]) * 0x100000001b3ULL; /* FNV-1a step */
    s->b = (s->b + s->a) * 0x9e3779b97f4a7c15ULL;
    s->b ^= s->b >> 29;
  }
  s->n += len;
}

static void nh_update_u64(nh_state *s, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) {
    b[i] = (uint8_t)(v >> (56 - 8 * i));
  }
  nh_update(s, b, 8);
}

static void nh_chunks(nh_state *s, const m6ike_crypto_chunk *in, size_t nin) {
  for (size_t i = 0; i < nin; i++) {
    nh_update(s, in[i].ptr, in[i].len);
  }
}

static void nh_final(const nh_state *s, uint8_t *out, size_t len) {
  uint64_t a = mix64(s->a ^ s->n), b = mix64(s->b + s->n);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = mix64(a + (i / 8 + 1) * 0x9e3779b97f4a7c15ULL) ^ b;
    for (size_t j = 0; j < 8 && i + j < len; j++) {
      out[i + j] = (uint8_t)(v >> (56 - 8 * j));
    }
  }
}

/* ---- backend ------------------------------------------------------ */

static const m6ike_mem *null_mem(void *impl) {
  return impl != NULL ? (const m6ike_mem *)impl : m6ike_mem_default();
}

static void null_backend_del(m6ike_crypto *c) {
  if (c->impl != NULL) { /* made by m6ike_crypto_null_new */
    m6ike_free((const m6ike_mem *)c->impl, c);
  }
}

static int null_prf(void *impl, uint16_t prf, const uint8_t *key,
                    size_t keylen, const m6ike_crypto_chunk *in, size_t nin,
                    uint8_t *out) {
  (void)impl;
  nh_state s;
  nh_init(&s, 0x5052460000000000ULL | prf); /* "PRF" */
  nh_update_u64(&s, keylen);
  nh_update(&s, key, keylen);
  nh_chunks(&s, in, nin);
  nh_final(&s, out, (size_t)m6ike_crypto_prf_len(prf));
  return 0;
}

static int null_hash(void *impl, uint16_t hash, const m6ike_crypto_chunk *in,
                     size_t nin, uint8_t *out) {
  (void)impl;
  nh_state s;
  nh_init(&s, 0x4841534800000000ULL | hash); /* "HASH" */
  nh_chunks(&s, in, nin);
  nh_final(&s, out, (size_t)m6ike_crypto_hash_len(hash));
  return 0;
}

/* ---- cipher: copy, with a keyed checksum tag for AEAD ------------- */

typedef struct {
  m6ike_crypto_cipher pub;
  const m6ike_mem *mem;
  size_t keylen;
  uint8_t key[36];
} null_cipher;

static const m6ike_crypto_ops null_ops;

static int null_cipher_new(void *impl, m6ike_crypto_cipher **ctx,
                           uint16_t encr, unsigned key_bits,
                           const uint8_t *key, size_t keylen) {
  const m6ike_mem *mem = null_mem(impl);
  null_cipher *x = m6ike_calloc(mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  x->pub.ops = &null_ops;
  x->pub.encr = encr;
  x->pub.key_bits = (uint16_t)key_bits;
  x->mem = mem;
  x->keylen = keylen;
  if (keylen > 0) {
    memcpy(x->key, key, keylen);
  }
  *ctx = &x->pub;
  return 0;
}

static void null_tag(const null_cipher *x, const uint8_t *iv, size_t ivlen,
                     const uint8_t *aad, size_t aadlen, const uint8_t *data,
                     size_t len, uint8_t *tag) {
  nh_state s;
  nh_init(&s, 0x4743000000000000ULL | x->pub.encr); /* "GC" */
  nh_update(&s, x->key, x->keylen);
  nh_update(&s, iv, ivlen);
  nh_update_u64(&s, aadlen);
  nh_update(&s, aad, aadlen);
  nh_update(&s, data, len);
  nh_final(&s, tag, 16);
}

static int null_encrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, uint8_t *out,
                        uint8_t *tag) {
  null_cipher *x = (null_cipher *)ctx;
  if (len > 0 && out != in) {
    memcpy(out, in, len);
  }
  if (ctx->encr == M6IKE_ENCR_AES_GCM_16) {
    null_tag(x, iv, ivlen, aad, aadlen, out, len, tag);
  }
  return 0;
}

static int null_decrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, const uint8_t *tag,
                        uint8_t *out) {
  null_cipher *x = (null_cipher *)ctx;
  if (ctx->encr == M6IKE_ENCR_AES_GCM_16) {
    uint8_t mine[16];
    null_tag(x, iv, ivlen, aad, aadlen, in, len, mine);
    if (!m6ike_crypto_memeq(mine, tag, 16)) {
      return M6IKE_ERR_CRYPTO_AUTH;
    }
  }
  if (len > 0 && out != in) {
    memcpy(out, in, len);
  }
  return 0;
}

static void null_cipher_del(m6ike_crypto_cipher *ctx) {
  null_cipher *x = (null_cipher *)ctx;
  memset(x->key, 0, sizeof(x->key));
  m6ike_free(x->mem, x);
}

/* ---- integ: keyed checksum ---------------------------------------- */

typedef struct {
  m6ike_crypto_integ pub;
  const m6ike_mem *mem;
  size_t keylen;
  uint8_t key[64];
} null_integ;

static int null_integ_new(void *impl, m6ike_crypto_integ **ctx,
                          uint16_t integ, const uint8_t *key, size_t keylen) {
  const m6ike_mem *mem = null_mem(impl);
  null_integ *x = m6ike_calloc(mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  x->pub.ops = &null_ops;
  x->pub.integ = integ;
  x->mem = mem;
  x->keylen = keylen;
  memcpy(x->key, key, keylen);
  *ctx = &x->pub;
  return 0;
}

static int null_integ_compute(m6ike_crypto_integ *ctx,
                              const m6ike_crypto_chunk *in, size_t nin,
                              uint8_t *icv) {
  null_integ *x = (null_integ *)ctx;
  nh_state s;
  nh_init(&s, 0x494e544700000000ULL | ctx->integ); /* "INTG" */
  nh_update(&s, x->key, x->keylen);
  nh_chunks(&s, in, nin);
  nh_final(&s, icv, (size_t)m6ike_crypto_integ_icv_len(ctx->integ));
  return 0;
}

static void null_integ_del(m6ike_crypto_integ *ctx) {
  null_integ *x = (null_integ *)ctx;
  memset(x->key, 0, sizeof(x->key));
  m6ike_free(x->mem, x);
}

/* ---- DH: public = H(private), shared = H(sorted publics) ---------- */

typedef struct {
  m6ike_crypto_dh pub;
  const m6ike_mem *mem;
  size_t publen;
  uint8_t priv[32];
  uint8_t pubval[M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN];
} null_dh;

static int null_dh_new(void *impl, m6ike_crypto_dh **dh, uint16_t group,
                       m6ike_rand_cb rand, void *rand_user_data) {
  const m6ike_mem *mem = null_mem(impl);
  null_dh *x = m6ike_calloc(mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  if (rand(x->priv, sizeof(x->priv), rand_user_data) != 0) {
    m6ike_free(mem, x);
    return M6IKE_ERR_RANDOM;
  }
  x->pub.ops = &null_ops;
  x->pub.group = group;
  x->mem = mem;
  x->publen = (size_t)m6ike_crypto_dh_public_len(group);
  nh_state s;
  nh_init(&s, 0x4448505500000000ULL | group); /* "DHPU" */
  nh_update(&s, x->priv, sizeof(x->priv));
  nh_final(&s, x->pubval, x->publen);
  *dh = &x->pub;
  return 0;
}

static int null_dh_public(m6ike_crypto_dh *dh, uint8_t *out) {
  null_dh *x = (null_dh *)dh;
  memcpy(out, x->pubval, x->publen);
  return 0;
}

static int null_dh_shared(m6ike_crypto_dh *dh, const uint8_t *peer,
                          size_t peerlen, uint8_t *out) {
  null_dh *x = (null_dh *)dh;
  uint8_t any = 0;
  for (size_t i = 0; i < peerlen; i++) {
    any |= peer[i];
  }
  if (any == 0) {
    return M6IKE_ERR_CRYPTO_DH_PUBLIC;
  }
  int mine_first = memcmp(x->pubval, peer, peerlen) <= 0;
  nh_state s;
  nh_init(&s, 0x4448534800000000ULL | dh->group); /* "DHSH" */
  nh_update(&s, mine_first ? x->pubval : peer, peerlen);
  nh_update(&s, mine_first ? peer : x->pubval, peerlen);
  nh_final(&s, out, (size_t)m6ike_crypto_dh_shared_len(dh->group));
  return 0;
}

static void null_dh_del(m6ike_crypto_dh *dh) {
  null_dh *x = (null_dh *)dh;
  memset(x->priv, 0, sizeof(x->priv));
  m6ike_free(x->mem, x);
}

/* Signatures and certificates are left NULL: the wrappers report
 * M6IKE_ERR_CRYPTO_UNSUPPORTED. */
static const m6ike_crypto_ops null_ops = {
    .name = "null",
    .backend_del = null_backend_del,
    .prf = null_prf,
    .hash = null_hash,
    .cipher_new = null_cipher_new,
    .cipher_encrypt = null_encrypt,
    .cipher_decrypt = null_decrypt,
    .cipher_del = null_cipher_del,
    .integ_new = null_integ_new,
    .integ_compute = null_integ_compute,
    .integ_del = null_integ_del,
    .dh_new = null_dh_new,
    .dh_public = null_dh_public,
    .dh_shared = null_dh_shared,
    .dh_del = null_dh_del,
};

static const m6ike_crypto null_const = {&null_ops, NULL};

const m6ike_crypto *m6ike_crypto_null(void) { return &null_const; }

int m6ike_crypto_null_new(m6ike_crypto **c, const m6ike_mem *mem) {
  if (c == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  mem = m6ike_mem_or_default(mem);
  m6ike_crypto *x = m6ike_malloc(mem, sizeof(*x));
  if (x == NULL) {
    *c = NULL;
    return M6IKE_ERR_NOMEM;
  }
  x->ops = &null_ops;
  x->impl = (void *)(uintptr_t)mem; /* const-cast: impl is the allocator */
  *c = x;
  return 0;
}
