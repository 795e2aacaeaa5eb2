/*
 * ikev2 key schedule (RFC 7296 §2.13-§2.17), the Encrypted payload (§3.14,
 * RFC 5282 for AES-GCM), the PSK AUTH value (§2.15) and the Wireshark key
 * log.  Every primitive comes from the m6ike_crypto interface.
 */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

static int is_aead(uint16_t encr) {
  return m6ike_crypto_encr_is_aead(encr) == 1;
}

void ike_keys_clear(ike_sa *sa) {
  m6ike_crypto_cipher_del(sa->c_out);
  m6ike_crypto_cipher_del(sa->c_in);
  m6ike_crypto_integ_del(sa->i_out);
  m6ike_crypto_integ_del(sa->i_in);
  sa->c_out = sa->c_in = NULL;
  sa->i_out = sa->i_in = NULL;
  memset(&sa->k, 0, sizeof sa->k);
  sa->have_keys = 0;
}

static void hex(char *out, const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[p[i] >> 4];
    out[2 * i + 1] = d[p[i] & 15];
  }
  out[2 * n] = 0;
}

/* Wireshark's names in the ikev2_decryption_table UAT. */
static const char *ws_encr_name(uint16_t encr, unsigned bits) {
  switch (encr) {
  case M6IKE_ENCR_3DES:
    return "3DES [RFC2451]";
  case M6IKE_ENCR_NULL:
    return "NULL [RFC2410]";
  case M6IKE_ENCR_AES_CBC:
    return bits == 256   ? "AES-CBC-256 [RFC3602]"
           : bits == 192 ? "AES-CBC-192 [RFC3602]"
                         : "AES-CBC-128 [RFC3602]";
  case M6IKE_ENCR_AES_GCM_16:
    return bits == 256   ? "AES-GCM-256 with 16 octet ICV [RFC5282]"
           : bits == 192 ? "AES-GCM-192 with 16 octet ICV [RFC5282]"
                         : "AES-GCM-128 with 16 octet ICV [RFC5282]";
  default:
    return "?";
  }
}

static const char *ws_integ_name(uint16_t integ) {
  switch (integ) {
  case M6IKE_INTEG_HMAC_SHA1_96:
    return "HMAC_SHA1_96 [RFC2404]";
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    return "HMAC_SHA2_256_128 [RFC4868]";
  case M6IKE_INTEG_HMAC_SHA2_384_192:
    return "HMAC_SHA2_384_192 [RFC4868]";
  case M6IKE_INTEG_HMAC_SHA2_512_256:
    return "HMAC_SHA2_512_256 [RFC4868]";
  default:
    return "NONE [RFC4306]";
  }
}

static void keylog(ike_sa *sa) {
  m6ike_ikev2 *ike = sa->ike;
  char line[800], a[140], b[140], c[140], d[140];
  uint8_t spi[16];
  char spis[40];
  if (ike->cbs.keylog == NULL) {
    return;
  }
  m6ike_put_u64be(spi, sa->spi_i);
  m6ike_put_u64be(spi + 8, sa->spi_r);
  hex(spis, spi, 16);
  hex(a, sa->k.sk_ei, sa->k.encr_len);
  hex(b, sa->k.sk_er, sa->k.encr_len);
  hex(c, sa->k.sk_ai, sa->k.integ_len);
  hex(d, sa->k.sk_ar, sa->k.integ_len);
  snprintf(line, sizeof line,
           "%.16s,%.16s,%s,%s,\"%s\",%s,%s,\"%s\"",
           spis, spis + 16, a, b,
           ws_encr_name(sa->alg.encr, sa->alg.encr_keylen), c, d,
           ws_integ_name(sa->alg.integ));
  ike->cbs.keylog(sa->id, line, ike->cbs.user_data);
}

int ike_keys_derive(ike_sa *sa, const uint8_t *shared, size_t shared_len) {
  return ike_keys_derive_rekey(sa, shared, shared_len, 0, NULL, 0);
}

int ike_keys_derive_rekey(ike_sa *sa, const uint8_t *shared,
                          size_t shared_len, uint16_t old_prf,
                          const uint8_t *old_skd, size_t old_skd_len) {
  m6ike_ikev2 *ike = sa->ike;
  const m6ike_crypto *cr = ike->crypto;
  uint8_t nonces[128 + 16], skeyseed[M6IKE_CRYPTO_MAX_PRF_LEN];
  uint8_t km[3 * 64 + 2 * 64 + 2 * 40];
  size_t nn = sa->ni_len + sa->nr_len, total, off = 0;
  int prf_len = m6ike_crypto_prf_len(sa->alg.prf);
  int integ_len = sa->alg.integ ? m6ike_crypto_integ_key_len(sa->alg.integ)
                                : 0;
  int encr_len = m6ike_crypto_encr_key_len(sa->alg.encr, sa->alg.encr_keylen);
  int rc;
  if (prf_len <= 0 || integ_len < 0 || encr_len <= 0 || encr_len > 40 ||
      integ_len > 64) {
    return M6IKE_ERR_IKEV2_UNSUPPORTED;
  }
  ike_keys_clear(sa);
  memcpy(nonces, sa->ni, sa->ni_len);
  memcpy(nonces + sa->ni_len, sa->nr, sa->nr_len);
  if (old_skd) {
    /* Rekey (RFC 7296 §2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni |
     * Nr), with the old IKE SA's PRF (as strongSwan does). */
    m6ike_crypto_chunk ch[2];
    ch[0].ptr = shared;
    ch[0].len = shared_len;
    ch[1].ptr = nonces;
    ch[1].len = nn;
    rc = m6ike_crypto_prfv(cr, old_prf, old_skd, old_skd_len, ch, 2,
                           skeyseed);
  } else {
    /* SKEYSEED = prf(Ni | Nr, g^ir) */
    rc = m6ike_crypto_prf(cr, sa->alg.prf, nonces, nn, shared, shared_len,
                          skeyseed);
  }
  if (rc < 0) {
    return ike_crypto_err(rc);
  }
  /* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
   *   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
  m6ike_put_u64be(nonces + nn, sa->spi_i);
  m6ike_put_u64be(nonces + nn + 8, sa->spi_r);
  total = 3 * (size_t)prf_len + 2 * (size_t)integ_len + 2 * (size_t)encr_len;
  rc = m6ike_prf_plus(cr, sa->alg.prf, skeyseed, (size_t)prf_len, nonces,
                      nn + 16, km, total);
  memset(skeyseed, 0, sizeof skeyseed);
  if (rc < 0) {
    return ike_crypto_err(rc);
  }
  sa->k.prf_len = (size_t)prf_len;
  sa->k.integ_len = (size_t)integ_len;
  sa->k.encr_len = (size_t)encr_len;
  memcpy(sa->k.sk_d, km + off, (size_t)prf_len), off += (size_t)prf_len;
  memcpy(sa->k.sk_ai, km + off, (size_t)integ_len), off += (size_t)integ_len;
  memcpy(sa->k.sk_ar, km + off, (size_t)integ_len), off += (size_t)integ_len;
  memcpy(sa->k.sk_ei, km + off, (size_t)encr_len), off += (size_t)encr_len;
  memcpy(sa->k.sk_er, km + off, (size_t)encr_len), off += (size_t)encr_len;
  memcpy(sa->k.sk_pi, km + off, (size_t)prf_len), off += (size_t)prf_len;
  memcpy(sa->k.sk_pr, km + off, (size_t)prf_len);
  memset(km, 0, sizeof km);

  rc = m6ike_crypto_cipher_new(&sa->c_out, cr, sa->alg.encr,
                               sa->alg.encr_keylen,
                               sa->initiator ? sa->k.sk_ei : sa->k.sk_er,
                               (size_t)encr_len);
  if (rc == 0) {
    rc = m6ike_crypto_cipher_new(&sa->c_in, cr, sa->alg.encr,
                                 sa->alg.encr_keylen,
                                 sa->initiator ? sa->k.sk_er : sa->k.sk_ei,
                                 (size_t)encr_len);
  }
  if (rc == 0 && integ_len > 0) {
    rc = m6ike_crypto_integ_new(&sa->i_out, cr, sa->alg.integ,
                                sa->initiator ? sa->k.sk_ai : sa->k.sk_ar,
                                (size_t)integ_len);
    if (rc == 0) {
      rc = m6ike_crypto_integ_new(&sa->i_in, cr, sa->alg.integ,
                                  sa->initiator ? sa->k.sk_ar : sa->k.sk_ai,
                                  (size_t)integ_len);
    }
  }
  if (rc < 0) {
    ike_keys_clear(sa);
    return ike_crypto_err(rc);
  }
  sa->have_keys = 1;
  keylog(sa);
  return 0;
}

int ike_sk_begin(ike_sa *sa, m6ike_ikev2_builder *b) {
  int iv = m6ike_crypto_encr_iv_len(sa->alg.encr);
  int rc;
  if (iv < 0) {
    return M6IKE_ERR_IKEV2_UNSUPPORTED;
  }
  rc = m6ike_ikev2_sk_begin(b, (size_t)iv);
  return rc < 0 ? rc : 0;
}

int ike_sk_end(ike_sa *sa, m6ike_ikev2_builder *b, m6ike_ikev2_sk_region *r) {
  int blk = m6ike_crypto_encr_block_len(sa->alg.encr);
  int icv = is_aead(sa->alg.encr) ? m6ike_crypto_encr_icv_len(sa->alg.encr)
                                  : m6ike_crypto_integ_icv_len(sa->alg.integ);
  if (blk <= 0 || icv < 0) {
    return M6IKE_ERR_IKEV2_UNSUPPORTED;
  }
  return m6ike_ikev2_sk_end(b, (size_t)blk, (size_t)icv, r);
}

int ike_sk_protect(ike_sa *sa, uint8_t *buf, size_t len,
                   const m6ike_ikev2_sk_region *r) {
  uint8_t *iv = buf + r->iv_off;
  int rc;
  (void)len;
  if (sa->c_out == NULL) {
    return M6IKE_ERR_IKEV2_UNEXPECTED;
  }
  if (is_aead(sa->alg.encr)) {
    /* RFC 5282 §3.1: the IV must never repeat under a key: a counter. */
    uint8_t ctr[8];
    sa->iv_counter++;
    m6ike_put_u64be(ctr, sa->iv_counter);
    memcpy(iv, ctr + (8 - (r->iv_len < 8 ? r->iv_len : 8)),
           r->iv_len < 8 ? r->iv_len : 8);
    rc = m6ike_crypto_cipher_encrypt(sa->c_out, iv, r->iv_len, buf, r->iv_off,
                                     buf + r->plain_off, r->plain_len,
                                     buf + r->plain_off, buf + r->icv_off);
  } else {
    /* CBC: an unpredictable IV (RFC 7296 §3.14). */
    rc = ike_random(sa->ike, iv, r->iv_len);
    if (rc != 0) {
      return rc;
    }
    rc = m6ike_crypto_cipher_encrypt(sa->c_out, iv, r->iv_len, NULL, 0,
                                     buf + r->plain_off, r->plain_len,
                                     buf + r->plain_off, NULL);
    if (rc == 0) {
      rc = m6ike_crypto_integ_compute(sa->i_out, buf, r->icv_off,
                                      buf + r->icv_off);
    }
  }
  return rc < 0 ? ike_crypto_err(rc) : 0;
}

int ike_sk_unprotect(ike_sa *sa, m6ike_ikev2_msg *msg, uint8_t *plain) {
  m6ike_ikev2_sk_region r;
  int aead = is_aead(sa->alg.encr);
  int iv = m6ike_crypto_encr_iv_len(sa->alg.encr);
  int blk = m6ike_crypto_encr_block_len(sa->alg.encr);
  int icv = aead ? m6ike_crypto_encr_icv_len(sa->alg.encr)
                 : m6ike_crypto_integ_icv_len(sa->alg.integ);
  size_t inner;
  int rc;
  if (sa->c_in == NULL || iv < 0 || blk <= 0 || icv < 0) {
    return M6IKE_ERR_IKEV2_UNEXPECTED;
  }
  rc = m6ike_ikev2_sk_layout(msg, (size_t)iv, (size_t)icv, (size_t)blk, &r);
  if (rc < 0) {
    return M6IKE_ERR_IKEV2_INTEGRITY;
  }
  if (aead) {
    rc = m6ike_crypto_cipher_decrypt(sa->c_in, msg->buf + r.iv_off, r.iv_len,
                                     msg->buf, r.iv_off,
                                     msg->buf + r.plain_off, r.plain_len,
                                     msg->buf + r.icv_off, plain);
  } else {
    rc = m6ike_crypto_integ_verify(sa->i_in, msg->buf, r.icv_off,
                                   msg->buf + r.icv_off, r.icv_len);
    if (rc == 0) {
      rc = m6ike_crypto_cipher_decrypt(sa->c_in, msg->buf + r.iv_off,
                                       r.iv_len, NULL, 0,
                                       msg->buf + r.plain_off, r.plain_len,
                                       NULL, plain);
    }
  }
  if (rc < 0) {
    return rc == M6IKE_ERR_CRYPTO_AUTH ? M6IKE_ERR_IKEV2_INTEGRITY
                                       : ike_crypto_err(rc);
  }
  if (m6ike_ikev2_sk_strip_padding(plain, r.plain_len, &inner) < 0) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  rc = m6ike_ikev2_parse_inner(msg, plain, inner);
  return rc < 0 ? rc : 0;
}

int ike_signed_octets(ike_sa *sa, int initiator_side, const uint8_t *id_body,
                      size_t id_len, uint8_t *maced,
                      m6ike_crypto_chunk ch[3]) {
  int rc;
  if (!sa->have_keys || !sa->init_req || !sa->init_resp) {
    return M6IKE_ERR_IKEV2_UNEXPECTED;
  }
  rc = m6ike_crypto_prf(sa->ike->crypto, sa->alg.prf,
                        initiator_side ? sa->k.sk_pi : sa->k.sk_pr,
                        sa->k.prf_len, id_body, id_len, maced);
  if (rc < 0) {
    return ike_crypto_err(rc);
  }
  ch[0].ptr = initiator_side ? sa->init_req : sa->init_resp;
  ch[0].len = initiator_side ? sa->init_req_len : sa->init_resp_len;
  ch[1].ptr = initiator_side ? sa->nr : sa->ni;
  ch[1].len = initiator_side ? sa->nr_len : sa->ni_len;
  ch[2].ptr = maced;
  ch[2].len = sa->k.prf_len;
  return 0;
}

int ike_auth_psk(ike_sa *sa, int initiator_side, const uint8_t *id_body,
                 size_t id_len, uint8_t *out, size_t *out_len) {
  static const char pad[] = "Key Pad for IKEv2";
  const m6ike_crypto *cr = sa->ike->crypto;
  uint8_t key[M6IKE_CRYPTO_MAX_PRF_LEN], maced[M6IKE_CRYPTO_MAX_PRF_LEN];
  m6ike_crypto_chunk ch[3];
  size_t pl = sa->k.prf_len;
  int rc;
  if (!sa->have_keys || !sa->init_req || !sa->init_resp) {
    return M6IKE_ERR_IKEV2_UNEXPECTED;
  }
  /* MACedIDFor{I,R} = prf(SK_p{i,r}, RestOf{Init,Resp}IDPayload) */
  rc = m6ike_crypto_prf(cr, sa->alg.prf,
                        initiator_side ? sa->k.sk_pi : sa->k.sk_pr, pl,
                        id_body, id_len, maced);
  if (rc == 0) {
    rc = m6ike_crypto_prf(cr, sa->alg.prf, sa->peer.psk, sa->peer.psk_len,
                          (const uint8_t *)pad, sizeof pad - 1, key);
  }
  if (rc < 0) {
    return ike_crypto_err(rc);
  }
  /* {Initiator,Responder}SignedOctets = RealMessage{1,2} | Nonce{R,I}Data
   *                                    | MACedIDFor{I,R} */
  ch[0].ptr = initiator_side ? sa->init_req : sa->init_resp;
  ch[0].len = initiator_side ? sa->init_req_len : sa->init_resp_len;
  ch[1].ptr = initiator_side ? sa->nr : sa->ni;
  ch[1].len = initiator_side ? sa->nr_len : sa->ni_len;
  ch[2].ptr = maced;
  ch[2].len = pl;
  rc = m6ike_crypto_prfv(cr, sa->alg.prf, key, pl, ch, 3, out);
  memset(key, 0, sizeof key);
  if (rc < 0) {
    return ike_crypto_err(rc);
  }
  *out_len = pl;
  return 0;
}

int ike_child_keys(ike_sa *sa, child_sa *c, int we_initiated,
                   const uint8_t *ni, size_t ni_len,
                   const uint8_t *nr, size_t nr_len, const uint8_t *g_ir,
                   size_t g_ir_len) {
  uint8_t seed[M6IKE_CRYPTO_MAX_DH_SHARED_LEN + 2 * 256];
  uint8_t km[2 * (M6IKE_IKEV2_KEY_MAX + M6IKE_IKEV2_KEY_MAX)];
  m6ike_ikev2_child_info *in = &c->info;
  int el = m6ike_crypto_encr_key_len(in->alg.encr, in->alg.encr_keylen);
  int il = in->alg.integ ? m6ike_crypto_integ_key_len(in->alg.integ) : 0;
  size_t n = 0, e, i;
  uint8_t *ie, *ii, *re, *ri;
  int rc;
  if (el < 0 || il < 0 || el > M6IKE_IKEV2_KEY_MAX ||
      il > M6IKE_IKEV2_KEY_MAX || g_ir_len > M6IKE_CRYPTO_MAX_DH_SHARED_LEN ||
      ni_len > 256 || nr_len > 256) {
    return M6IKE_ERR_IKEV2_UNSUPPORTED;
  }
  e = (size_t)el;
  i = (size_t)il;
  /* KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
  if (g_ir_len) {
    memcpy(seed, g_ir, g_ir_len);
    n = g_ir_len;
  }
  memcpy(seed + n, ni, ni_len);
  n += ni_len;
  memcpy(seed + n, nr, nr_len);
  n += nr_len;
  rc = m6ike_prf_plus(sa->ike->crypto, sa->alg.prf, sa->k.sk_d, sa->k.prf_len,
                      seed, n, km, 2 * (e + i));
  memset(seed, 0, sizeof seed);
  if (rc < 0) {
    return ike_crypto_err(rc);
  }
  /* initiator-to-responder keys first, encryption before integrity */
  ie = km;
  ii = km + e;
  re = km + e + i;
  ri = km + 2 * e + i;
  in->enc_len = e;
  in->integ_len = i;
  memcpy(in->enc_out, we_initiated ? ie : re, e);
  memcpy(in->enc_in, we_initiated ? re : ie, e);
  memcpy(in->integ_out, we_initiated ? ii : ri, i);
  memcpy(in->integ_in, we_initiated ? ri : ii, i);
  memset(km, 0, sizeof km);
  return 0;
}

int ike_nat_hash(ike_sa *sa, uint64_t spi_r, const m6ike_addr6 *addr,
                 uint16_t port, uint8_t out[20]) {
  uint8_t spis[16], p[2];
  m6ike_crypto_chunk ch[3];
  int rc;
  m6ike_put_u64be(spis, sa->spi_i);
  m6ike_put_u64be(spis + 8, spi_r);
  m6ike_put_u16be(p, port);
  ch[0].ptr = spis;
  ch[0].len = 16;
  ch[1].ptr = addr->b;
  ch[1].len = 16;
  ch[2].ptr = p;
  ch[2].len = 2;
  rc = m6ike_crypto_hash(sa->ike->crypto, M6IKE_HASH_SHA1, ch, 3, out);
  return rc < 0 ? ike_crypto_err(rc) : 0;
}
