/* crypto_meter: a counting m6ike_crypto over a base backend
 * (m6ike/crypto_meter.h). */
#include "m6ike/crypto_meter.h"

#include <string.h>

#include "mem.h"

static const m6ike_crypto_ops meter_ops;

typedef struct {
  m6ike_crypto_cipher hdr;
  m6ike_crypto_meter *m;
  m6ike_crypto_cipher *in;
} w_cipher;
typedef struct {
  m6ike_crypto_integ hdr;
  m6ike_crypto_meter *m;
  m6ike_crypto_integ *in;
} w_integ;
typedef struct {
  m6ike_crypto_dh hdr;
  m6ike_crypto_meter *m;
  m6ike_crypto_dh *in;
} w_dh;
typedef struct {
  m6ike_crypto_privkey hdr;
  m6ike_crypto_meter *m;
  m6ike_crypto_privkey *in;
} w_key;
typedef struct {
  m6ike_crypto_cert hdr;
  m6ike_crypto_meter *m;
  m6ike_crypto_cert *in;
} w_cert;

static size_t chunks_len(const m6ike_crypto_chunk *in, size_t nin) {
  size_t n = 0;
  for (size_t i = 0; i < nin; i++) {
    n += in[i].len;
  }
  return n;
}

static int counted(m6ike_crypto_meter *m, int rc) {
  if (rc < 0) {
    m->counts.failures++;
  }
  return rc;
}

static const m6ike_crypto_ops *bops(const m6ike_crypto_meter *m) {
  return m->base->ops;
}

static void dh_count(m6ike_crypto_meter *m, uint16_t group, int derive) {
  if (derive) {
    m->counts.dh_derive++;
  } else {
    m->counts.dh_keygen++;
  }
  for (int i = 0; i < M6IKE_CRYPTO_METER_GROUPS; i++) {
    if (m->counts.dh[i].group == 0) {
      m->counts.dh[i].group = group;
    }
    if (m->counts.dh[i].group == group) {
      if (derive) {
        m->counts.dh[i].derive++;
      } else {
        m->counts.dh[i].keygen++;
      }
      return;
    }
  }
}

static m6ike_crypto_cert *unwrap_cert(m6ike_crypto_cert *c) {
  if (c != NULL && c->ops == &meter_ops) {
    return ((w_cert *)c)->in;
  }
  return c;
}

/* ---- operations ---------------------------------------------------------- */

static void m_backend_del(m6ike_crypto *c) { (void)c; }

static int m_prf(void *impl, uint16_t prf, const uint8_t *key, size_t keylen,
                 const m6ike_crypto_chunk *in, size_t nin, uint8_t *out) {
  m6ike_crypto_meter *m = impl;
  m->counts.prf_calls++;
  m->counts.prf_bytes += chunks_len(in, nin);
  if (bops(m)->prf == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return counted(m, bops(m)->prf(m->base->impl, prf, key, keylen, in, nin,
                                 out));
}

static int m_hash(void *impl, uint16_t hash, const m6ike_crypto_chunk *in,
                  size_t nin, uint8_t *out) {
  m6ike_crypto_meter *m = impl;
  m->counts.hash_calls++;
  m->counts.hash_bytes += chunks_len(in, nin);
  if (bops(m)->hash == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return counted(m, bops(m)->hash(m->base->impl, hash, in, nin, out));
}

static int m_cipher_new(void *impl, m6ike_crypto_cipher **ctx, uint16_t encr,
                        unsigned key_bits, const uint8_t *key, size_t keylen) {
  m6ike_crypto_meter *m = impl;
  m6ike_crypto_cipher *in = NULL;
  if (bops(m)->cipher_new == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  int rc = bops(m)->cipher_new(m->base->impl, &in, encr, key_bits, key,
                               keylen);
  if (rc < 0) {
    return counted(m, rc);
  }
  w_cipher *w = m6ike_calloc(m->mem, 1, sizeof(*w));
  if (w == NULL) {
    in->ops->cipher_del(in);
    return M6IKE_ERR_NOMEM;
  }
  w->hdr.ops = &meter_ops;
  w->hdr.encr = in->encr;
  w->hdr.key_bits = in->key_bits;
  w->m = m;
  w->in = in;
  m->counts.cipher_keys++;
  *ctx = &w->hdr;
  return 0;
}

static int m_encrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                     size_t ivlen, const uint8_t *aad, size_t aadlen,
                     const uint8_t *in, size_t len, uint8_t *out,
                     uint8_t *tag) {
  w_cipher *w = (w_cipher *)ctx;
  w->m->counts.cipher_calls++;
  w->m->counts.cipher_bytes += len;
  return counted(w->m, w->in->ops->cipher_encrypt(w->in, iv, ivlen, aad,
                                                  aadlen, in, len, out, tag));
}

static int m_decrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                     size_t ivlen, const uint8_t *aad, size_t aadlen,
                     const uint8_t *in, size_t len, const uint8_t *tag,
                     uint8_t *out) {
  w_cipher *w = (w_cipher *)ctx;
  w->m->counts.cipher_calls++;
  w->m->counts.cipher_bytes += len;
  return counted(w->m, w->in->ops->cipher_decrypt(w->in, iv, ivlen, aad,
                                                  aadlen, in, len, tag, out));
}

static void m_cipher_del(m6ike_crypto_cipher *ctx) {
  w_cipher *w = (w_cipher *)ctx;
  w->in->ops->cipher_del(w->in);
  m6ike_free(w->m->mem, w);
}

static int m_integ_new(void *impl, m6ike_crypto_integ **ctx, uint16_t integ,
                       const uint8_t *key, size_t keylen) {
  m6ike_crypto_meter *m = impl;
  m6ike_crypto_integ *in = NULL;
  if (bops(m)->integ_new == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  int rc = bops(m)->integ_new(m->base->impl, &in, integ, key, keylen);
  if (rc < 0) {
    return counted(m, rc);
  }
  w_integ *w = m6ike_calloc(m->mem, 1, sizeof(*w));
  if (w == NULL) {
    in->ops->integ_del(in);
    return M6IKE_ERR_NOMEM;
  }
  w->hdr.ops = &meter_ops;
  w->hdr.integ = in->integ;
  w->m = m;
  w->in = in;
  m->counts.mac_keys++;
  *ctx = &w->hdr;
  return 0;
}

static int m_integ_compute(m6ike_crypto_integ *ctx,
                           const m6ike_crypto_chunk *in, size_t nin,
                           uint8_t *icv) {
  w_integ *w = (w_integ *)ctx;
  w->m->counts.mac_calls++;
  w->m->counts.mac_bytes += chunks_len(in, nin);
  return counted(w->m, w->in->ops->integ_compute(w->in, in, nin, icv));
}

static void m_integ_del(m6ike_crypto_integ *ctx) {
  w_integ *w = (w_integ *)ctx;
  w->in->ops->integ_del(w->in);
  m6ike_free(w->m->mem, w);
}

static int m_dh_new(void *impl, m6ike_crypto_dh **dh, uint16_t group,
                    m6ike_rand_cb rand, void *rand_user_data) {
  m6ike_crypto_meter *m = impl;
  m6ike_crypto_dh *in = NULL;
  if (bops(m)->dh_new == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  int rc = bops(m)->dh_new(m->base->impl, &in, group, rand, rand_user_data);
  if (rc < 0) {
    return counted(m, rc);
  }
  w_dh *w = m6ike_calloc(m->mem, 1, sizeof(*w));
  if (w == NULL) {
    in->ops->dh_del(in);
    return M6IKE_ERR_NOMEM;
  }
  w->hdr.ops = &meter_ops;
  w->hdr.group = in->group;
  w->m = m;
  w->in = in;
  dh_count(m, group, 0);
  *dh = &w->hdr;
  return 0;
}

static int m_dh_public(m6ike_crypto_dh *dh, uint8_t *out) {
  w_dh *w = (w_dh *)dh;
  return counted(w->m, w->in->ops->dh_public(w->in, out));
}

static int m_dh_shared(m6ike_crypto_dh *dh, const uint8_t *peer,
                       size_t peerlen, uint8_t *out) {
  w_dh *w = (w_dh *)dh;
  dh_count(w->m, w->hdr.group, 1);
  return counted(w->m, w->in->ops->dh_shared(w->in, peer, peerlen, out));
}

static void m_dh_del(m6ike_crypto_dh *dh) {
  w_dh *w = (w_dh *)dh;
  w->in->ops->dh_del(w->in);
  m6ike_free(w->m->mem, w);
}

static int m_privkey_load(void *impl, m6ike_crypto_privkey **key,
                          const uint8_t *data, size_t len) {
  m6ike_crypto_meter *m = impl;
  m6ike_crypto_privkey *in = NULL;
  if (bops(m)->privkey_load == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  int rc = bops(m)->privkey_load(m->base->impl, &in, data, len);
  if (rc < 0) {
    return counted(m, rc);
  }
  w_key *w = m6ike_calloc(m->mem, 1, sizeof(*w));
  if (w == NULL) {
    in->ops->privkey_del(in);
    return M6IKE_ERR_NOMEM;
  }
  w->hdr.ops = &meter_ops;
  w->hdr.type = in->type;
  w->m = m;
  w->in = in;
  *key = &w->hdr;
  return 0;
}

static int m_sign(m6ike_crypto_privkey *key, m6ike_sig_scheme scheme,
                  const m6ike_crypto_chunk *in, size_t nin, uint8_t *sig,
                  size_t *siglen) {
  w_key *w = (w_key *)key;
  w->m->counts.sign++;
  if (w->in->ops->sign == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return counted(w->m,
                 w->in->ops->sign(w->in, scheme, in, nin, sig, siglen));
}

static size_t m_privkey_sig_len(m6ike_crypto_privkey *key) {
  w_key *w = (w_key *)key;
  return w->in->ops->privkey_sig_len ? w->in->ops->privkey_sig_len(w->in)
                                     : 0;
}

static int m_privkey_matches(m6ike_crypto_privkey *key,
                             m6ike_crypto_cert *cert) {
  w_key *w = (w_key *)key;
  if (w->in->ops->privkey_matches == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return w->in->ops->privkey_matches(w->in, unwrap_cert(cert));
}

static void m_privkey_del(m6ike_crypto_privkey *key) {
  w_key *w = (w_key *)key;
  w->in->ops->privkey_del(w->in);
  m6ike_free(w->m->mem, w);
}

static int m_cert_load(void *impl, m6ike_crypto_cert **cert,
                       const uint8_t *data, size_t len) {
  m6ike_crypto_meter *m = impl;
  m6ike_crypto_cert *in = NULL;
  if (bops(m)->cert_load == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  int rc = bops(m)->cert_load(m->base->impl, &in, data, len);
  if (rc < 0) {
    return counted(m, rc);
  }
  w_cert *w = m6ike_calloc(m->mem, 1, sizeof(*w));
  if (w == NULL) {
    in->ops->cert_del(in);
    return M6IKE_ERR_NOMEM;
  }
  w->hdr.ops = &meter_ops;
  w->m = m;
  w->in = in;
  *cert = &w->hdr;
  return 0;
}

static int m_cert_der(m6ike_crypto_cert *cert, const uint8_t **der,
                      size_t *len) {
  w_cert *w = (w_cert *)cert;
  return w->in->ops->cert_der(w->in, der, len);
}

static int m_cert_subject(m6ike_crypto_cert *cert, const uint8_t **der,
                          size_t *len) {
  w_cert *w = (w_cert *)cert;
  return w->in->ops->cert_subject(w->in, der, len);
}

static int m_cert_san(m6ike_crypto_cert *cert, size_t index, int *id_type,
                      const uint8_t **data, size_t *len) {
  w_cert *w = (w_cert *)cert;
  return w->in->ops->cert_san(w->in, index, id_type, data, len);
}

static int m_cert_verify(m6ike_crypto_cert *cert, m6ike_sig_scheme scheme,
                         const m6ike_crypto_chunk *in, size_t nin,
                         const uint8_t *sig, size_t siglen) {
  w_cert *w = (w_cert *)cert;
  w->m->counts.verify++;
  return counted(w->m, w->in->ops->cert_verify(w->in, scheme, in, nin, sig,
                                               siglen));
}

static int m_cert_verify_chain(void *impl, m6ike_crypto_cert *cert,
                               m6ike_crypto_cert *const *trusted,
                               size_t ntrusted,
                               m6ike_crypto_cert *const *untrusted,
                               size_t nuntrusted, int64_t unix_time) {
  (void)impl;
  w_cert *w = (w_cert *)cert;
  m6ike_crypto_cert *t[M6IKE_CRYPTO_METER_MAX_CHAIN];
  m6ike_crypto_cert *u[M6IKE_CRYPTO_METER_MAX_CHAIN];
  if (ntrusted > M6IKE_CRYPTO_METER_MAX_CHAIN ||
      nuntrusted > M6IKE_CRYPTO_METER_MAX_CHAIN) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  for (size_t i = 0; i < ntrusted; i++) {
    t[i] = unwrap_cert(trusted[i]);
  }
  for (size_t i = 0; i < nuntrusted; i++) {
    u[i] = unwrap_cert(untrusted[i]);
  }
  w->m->counts.verify_chain++;
  if (w->in->ops->cert_verify_chain == NULL) {
    return M6IKE_ERR_CRYPTO_UNSUPPORTED;
  }
  return counted(w->m, w->in->ops->cert_verify_chain(
                           NULL, w->in, t, ntrusted, u, nuntrusted,
                           unix_time));
}

static void m_cert_del(m6ike_crypto_cert *cert) {
  w_cert *w = (w_cert *)cert;
  w->in->ops->cert_del(w->in);
  m6ike_free(w->m->mem, w);
}

static const m6ike_crypto_ops meter_ops = {
    .name = "meter",
    .backend_del = m_backend_del,
    .prf = m_prf,
    .hash = m_hash,
    .cipher_new = m_cipher_new,
    .cipher_encrypt = m_encrypt,
    .cipher_decrypt = m_decrypt,
    .cipher_del = m_cipher_del,
    .integ_new = m_integ_new,
    .integ_compute = m_integ_compute,
    .integ_del = m_integ_del,
    .dh_new = m_dh_new,
    .dh_public = m_dh_public,
    .dh_shared = m_dh_shared,
    .dh_del = m_dh_del,
    .privkey_load = m_privkey_load,
    .sign = m_sign,
    .privkey_sig_len = m_privkey_sig_len,
    .privkey_matches = m_privkey_matches,
    .privkey_del = m_privkey_del,
    .cert_load = m_cert_load,
    .cert_der = m_cert_der,
    .cert_subject = m_cert_subject,
    .cert_san = m_cert_san,
    .cert_verify = m_cert_verify,
    .cert_verify_chain = m_cert_verify_chain,
    .cert_del = m_cert_del,
};

const m6ike_crypto *m6ike_crypto_meter_init(m6ike_crypto_meter *meter,
                                            const m6ike_crypto *base,
                                            const m6ike_mem *mem) {
  if (meter == NULL || base == NULL || base->ops == NULL) {
    return NULL;
  }
  memset(meter, 0, sizeof(*meter));
  meter->crypto.ops = &meter_ops;
  meter->crypto.impl = meter;
  meter->base = base;
  meter->mem = m6ike_mem_or_default(mem);
  return &meter->crypto;
}

void m6ike_crypto_meter_reset(m6ike_crypto_meter *meter) {
  if (meter != NULL) {
    memset(&meter->counts, 0, sizeof(meter->counts));
  }
}
