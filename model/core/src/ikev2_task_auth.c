/*
 * Task IKE_AUTH: identities and PSK authentication (RFC 7296 §1.2, §2.15).
 *
 *   Initiator                         Responder
 *   HDR, SK{IDi, AUTH, ...}       -->
 *                                 <-- HDR, SK{IDr, AUTH, ...}
 *                                 <-- HDR, SK{N(AUTHENTICATION_FAILED)}
 *
 * The CHILD_SA payloads (SA, TSi, TSr) of the same messages belong to the
 * CHILD_CREATE task that runs in the same exchange.
 */
#include <string.h>

#include "ikev2_int.h"

#define AUTH_MAX (M6IKE_CRYPTO_MAX_SIG_LEN + 64)

typedef struct auth_task {
  ike_task base;
  uint8_t auth[AUTH_MAX]; /* responder: our AUTH value */
  size_t auth_len;
} auth_task;

static int is_sig_method(uint8_t m) {
  return m == M6IKE_IKEV2_AUTH_RSA_SIG || m == M6IKE_IKEV2_AUTH_ECDSA_256 ||
         m == M6IKE_IKEV2_AUTH_DIGITAL_SIG;
}

/* Our AUTH data (RFC 7296 §2.15, RFC 4754, RFC 7427 §3). */
static int make_auth(ike_sa *sa, int initiator_side, const uint8_t *body,
                     size_t blen, uint8_t *out, size_t *out_len) {
  const m6ike_ikev2_peer_cfg *pc = &sa->peer;
  uint8_t maced[M6IKE_CRYPTO_MAX_PRF_LEN];
  m6ike_crypto_chunk ch[3];
  m6ike_sig_scheme scheme;
  size_t off = 0, siglen;
  int rc;
  if (pc->auth_method == M6IKE_IKEV2_AUTH_PSK) {
    return ike_auth_psk(sa, initiator_side, body, blen, out, out_len);
  }
  rc = ike_signed_octets(sa, initiator_side, body, blen, maced, ch);
  if (rc < 0) {
    return rc;
  }
  scheme = pc->auth_method == M6IKE_IKEV2_AUTH_RSA_SIG
               ? M6IKE_SIG_RSA_PKCS1_SHA1
           : pc->auth_method == M6IKE_IKEV2_AUTH_ECDSA_256
               ? M6IKE_SIG_ECDSA_P256_SHA256
               : (m6ike_sig_scheme)pc->sig_scheme;
  if (pc->auth_method == M6IKE_IKEV2_AUTH_DIGITAL_SIG) {
    const uint8_t *der;
    size_t dlen;
    if (m6ike_sig_scheme_algid(scheme, &der, &dlen) != 0 || dlen > 255) {
      return M6IKE_ERR_IKEV2_UNSUPPORTED;
    }
    out[0] = (uint8_t)dlen;
    memcpy(out + 1, der, dlen);
    off = 1 + dlen;
  }
  siglen = AUTH_MAX - off;
  rc = m6ike_crypto_sign(pc->key, scheme, ch, 3, out + off, &siglen);
  if (rc < 0) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id, "signing AUTH: %s",
            m6ike_strerror(rc));
    return ike_crypto_err(rc);
  }
  *out_len = off + siglen;
  return 0;
}

/* Checks a signature AUTH against the peer's certificate (CERT payload),
 * which must chain to one of our CAs and hold the peer's identity. */
static int verify_sig(ike_sa *sa, const m6ike_ikev2_msg *m,
                      const m6ike_ikev2_payload *idp,
                      const m6ike_ikev2_id *id, const m6ike_ikev2_auth *a,
                      int peer_is_initiator) {
  const m6ike_ikev2_peer_cfg *pc = &sa->peer;
  const m6ike_ikev2_payload *cp = ike_find_pl(m, M6IKE_IKEV2_PL_CERT);
  m6ike_ikev2_cert c;
  m6ike_crypto_cert *cert = NULL;
  uint8_t maced[M6IKE_CRYPTO_MAX_PRF_LEN];
  m6ike_crypto_chunk ch[3];
  const uint8_t *sig = a->data;
  size_t siglen = a->len;
  int scheme, rc;
  const char *why = NULL;
  if (!is_sig_method(a->method)) {
    why = "a signature is required";
  } else if (cp == NULL || m6ike_ikev2_decode_cert(cp, &c) < 0 ||
             c.encoding != M6IKE_IKEV2_CERT_X509_SIG) {
    why = "no X.509 CERT payload";
  } else if (m6ike_crypto_cert_load(&cert, sa->ike->crypto, c.data, c.len) !=
             0) {
    cert = NULL;
    why = "CERT does not parse";
  } else if (m6ike_crypto_cert_verify_chain(
                 cert, pc->cas, pc->n_cas, NULL, 0,
                 pc->cert_time ? pc->cert_time : M6IKE_CRYPTO_TIME_ANY) !=
             0) {
    why = "certificate not trusted";
  } else if (m6ike_crypto_cert_has_id(cert, id->id_type, id->data, id->len) !=
             0) {
    why = "identity not in the certificate";
  }
  if (why == NULL) {
    if (a->method == M6IKE_IKEV2_AUTH_RSA_SIG) {
      scheme = M6IKE_SIG_RSA_PKCS1_SHA1;
    } else if (a->method == M6IKE_IKEV2_AUTH_ECDSA_256) {
      scheme = M6IKE_SIG_ECDSA_P256_SHA256;
    } else if (a->len < 1 || (size_t)a->data[0] + 1 > a->len ||
               (scheme = m6ike_sig_scheme_from_algid(a->data + 1,
                                                     a->data[0])) < 0) {
      scheme = -1;
      why = "unknown RFC 7427 AlgorithmIdentifier";
    } else {
      sig = a->data + 1 + a->data[0];
      siglen = a->len - 1 - a->data[0];
    }
    if (why == NULL) {
      rc = ike_signed_octets(sa, peer_is_initiator, idp->body, idp->body_len,
                             maced, ch);
      if (rc < 0) {
        m6ike_crypto_cert_del(cert);
        return rc;
      }
      if (m6ike_crypto_cert_verify(cert, (m6ike_sig_scheme)scheme, ch, 3,
                                   sig, siglen) != 0) {
        why = "signature does not verify";
      }
    }
  }
  m6ike_crypto_cert_del(cert);
  if (why) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id, "IKE_AUTH: %s", why);
    return M6IKE_ERR_IKEV2_AUTH;
  }
  return 0;
}

/* RestOfIDPayload: type, 3 reserved octets, data. */
static size_t id_body(const m6ike_ikev2_ident *id, uint8_t *out) {
  out[0] = id->type;
  out[1] = out[2] = out[3] = 0;
  memcpy(out + 4, id->data, id->len);
  return 4u + id->len;
}

static int add_id_and_auth(ike_sa *sa, ike_out *o, uint8_t pl_type,
                           const uint8_t *auth, size_t auth_len) {
  m6ike_ikev2_id id;
  m6ike_ikev2_auth a;
  id.id_type = sa->peer.local_id.type;
  id.data = sa->peer.local_id.data;
  id.len = sa->peer.local_id.len;
  m6ike_ikev2_add_id(&o->b, pl_type, &id);
  if (sa->peer.auth_method != M6IKE_IKEV2_AUTH_PSK) {
    m6ike_ikev2_cert c;
    const uint8_t *der;
    size_t len;
    if (m6ike_crypto_cert_der(sa->peer.cert, &der, &len) == 0) {
      c.encoding = M6IKE_IKEV2_CERT_X509_SIG;
      c.data = der;
      c.len = len;
      m6ike_ikev2_add_cert(&o->b, &c);
    }
  }
  a.method = sa->peer.auth_method;
  a.data = auth;
  a.len = auth_len;
  return m6ike_ikev2_add_auth(&o->b, &a);
}

/* Checks the peer's ID against the configured one (type 0 = any) and its
 * AUTH value; records the identity. */
static int verify_peer(ike_sa *sa, const m6ike_ikev2_msg *m, uint8_t id_type,
                       int peer_is_initiator) {
  const m6ike_ikev2_payload *idp = ike_find_pl(m, id_type);
  const m6ike_ikev2_payload *ap = ike_find_pl(m, M6IKE_IKEV2_PL_AUTH);
  m6ike_ikev2_id id;
  m6ike_ikev2_auth a;
  uint8_t want[M6IKE_CRYPTO_MAX_PRF_LEN];
  size_t want_len;
  int rc;
  if (idp == NULL || ap == NULL || m6ike_ikev2_decode_id(idp, &id) < 0 ||
      m6ike_ikev2_decode_auth(ap, &a) < 0) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  if (sa->peer.remote_id.type != 0 &&
      (id.id_type != sa->peer.remote_id.type ||
       id.len != sa->peer.remote_id.len ||
       memcmp(id.data, sa->peer.remote_id.data, id.len) != 0)) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "IKE_AUTH: peer identity is not the configured one");
    return M6IKE_ERR_IKEV2_AUTH;
  }
  if (sa->peer.n_cas > 0) {
    rc = verify_sig(sa, m, idp, &id, &a, peer_is_initiator);
    if (rc < 0) {
      return rc;
    }
  } else {
    if (a.method != M6IKE_IKEV2_AUTH_PSK) {
      ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
              "IKE_AUTH: auth method %u but no CA configured",
              (unsigned)a.method);
      return M6IKE_ERR_IKEV2_AUTH;
    }
    rc = ike_auth_psk(sa, peer_is_initiator, idp->body, idp->body_len, want,
                      &want_len);
    if (rc < 0) {
      return rc;
    }
    if (a.len != want_len || !m6ike_crypto_memeq(a.data, want, want_len)) {
      ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
              "IKE_AUTH: AUTH payload does not verify (wrong PSK?)");
      return M6IKE_ERR_IKEV2_AUTH;
    }
  }
  if (id.len <= M6IKE_IKEV2_ID_MAX) {
    sa->peer.remote_id.type = id.id_type;
    sa->peer.remote_id.len = (uint8_t)id.len;
    memcpy(sa->peer.remote_id.data, id.data, id.len);
  }
  return 0;
}

/* ---- initiator ---------------------------------------------------------- */

static int build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  auth_task *at = (auth_task *)t;
  uint8_t body[4 + M6IKE_IKEV2_ID_MAX];
  size_t blen = id_body(&sa->peer.local_id, body), alen;
  uint8_t *auth = at->auth;
  int rc = make_auth(sa, 1, body, blen, auth, &alen);
  if (rc < 0) {
    return rc;
  }
  rc = add_id_and_auth(sa, o, M6IKE_IKEV2_PL_IDI, auth, alen);
  if (sa->peer.mobike) {
    rc = m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_MOBIKE_SUPPORTED,
                                     NULL, 0);
  }
  if (sa->peer.initial_contact) {
    rc = m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_INITIAL_CONTACT,
                                     NULL, 0);
  }
  return rc;
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  m6ike_ikev2_notify n;
  uint16_t err = ike_error_notify(in->msg, &n);
  int rc;
  (void)t;
  if (err == M6IKE_IKEV2_N_AUTHENTICATION_FAILED) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "IKE_AUTH: responder says AUTHENTICATION_FAILED");
    return M6IKE_ERR_IKEV2_AUTH;
  }
  if (err != 0 && ike_find_pl(in->msg, M6IKE_IKEV2_PL_AUTH) == NULL) {
    return err == M6IKE_IKEV2_N_INVALID_SYNTAX ? M6IKE_ERR_IKEV2_SYNTAX
                                               : M6IKE_ERR_IKEV2_PEER_ERROR;
  }
  rc = verify_peer(sa, in->msg, M6IKE_IKEV2_PL_IDR, 0);
  if (rc < 0) {
    return rc;
  }
  sa->mobike = (uint8_t)(sa->peer.mobike &&
                         m6ike_ikev2_find_notify(
                             in->msg, M6IKE_IKEV2_N_MOBIKE_SUPPORTED, &n) >= 0);
  ike_sa_established(sa);
  return TASK_DONE;
}

/* ---- responder ---------------------------------------------------------- */

static const peer_entry *match_id(const m6ike_ikev2 *ike,
                                  const m6ike_ikev2_path *path,
                                  const m6ike_ikev2_msg *m) {
  m6ike_ikev2_id id;
  const m6ike_ikev2_payload *idp = ike_find_pl(m, M6IKE_IKEV2_PL_IDI);
  if (idp == NULL || m6ike_ikev2_decode_id(idp, &id) < 0) {
    return NULL;
  }
  for (const peer_entry *p = ike->peers; p; p = p->next) {
    const m6ike_ikev2_ident *r = &p->pc.remote_id;
    if ((r->type == 0 || (r->type == id.id_type && r->len == id.len &&
                          memcmp(r->data, id.data, id.len) == 0)) &&
        (m6ike_addr6_is_unspecified(&p->pc.path.local) ||
         m6ike_addr6_equal(&p->pc.path.local, &path->local)) &&
        (m6ike_addr6_is_unspecified(&p->pc.path.remote) ||
         m6ike_addr6_equal(&p->pc.path.remote, &path->remote))) {
      return p;
    }
  }
  return NULL;
}

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  auth_task *at = (auth_task *)t;
  const peer_entry *pe = match_id(sa->ike, in->path, in->msg);
  uint8_t body[4 + M6IKE_IKEV2_ID_MAX];
  size_t blen;
  int rc;
  if (pe == NULL) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "IKE_AUTH: no peer configuration for this IDi");
    in->err_notify = M6IKE_IKEV2_N_AUTHENTICATION_FAILED;
    in->err = M6IKE_ERR_IKEV2_NO_PEER;
    return TASK_DONE;
  }
  sa->pe = pe;
  sa->peer = pe->pc;
  rc = verify_peer(sa, in->msg, M6IKE_IKEV2_PL_IDI, 1);
  if (rc == M6IKE_ERR_IKEV2_AUTH || rc == M6IKE_ERR_IKEV2_SYNTAX) {
    in->err_notify = rc == M6IKE_ERR_IKEV2_AUTH
                         ? M6IKE_IKEV2_N_AUTHENTICATION_FAILED
                         : M6IKE_IKEV2_N_INVALID_SYNTAX;
    in->err = rc;
    return TASK_DONE;
  }
  if (rc < 0) {
    return rc;
  }
  blen = id_body(&sa->peer.local_id, body);
  rc = make_auth(sa, 0, body, blen, at->auth, &at->auth_len);
  if (rc < 0) {
    return rc;
  }
  {
    m6ike_ikev2_notify n;
    sa->peer_mobike = (uint8_t)(m6ike_ikev2_find_notify(
                                    in->msg, M6IKE_IKEV2_N_MOBIKE_SUPPORTED,
                                    &n) >= 0);
    sa->mobike = (uint8_t)(sa->peer_mobike && sa->peer.mobike);
  }
  ike_sa_established(sa);
  {
    m6ike_ikev2_notify n;
    if (m6ike_ikev2_find_notify(in->msg, M6IKE_IKEV2_N_INITIAL_CONTACT, &n) >=
        0) {
      ike_initial_contact(sa);
    }
  }
  return TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  auth_task *at = (auth_task *)t;
  int rc = add_id_and_auth(sa, o, M6IKE_IKEV2_PL_IDR, at->auth, at->auth_len);
  if (sa->mobike) {
    rc = m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_MOBIKE_SUPPORTED,
                                     NULL, 0);
  }
  return rc;
}

static void destroy(ike_task *t, ike_sa *sa) {
  memset(t, 0, sizeof(auth_task));
  ike_free(sa->ike, t);
}

static const ike_task_ops auth_ops = {"IKE_AUTH", build_i, process_i,
                                      process_r, build_r, destroy};

ike_task *task_ike_auth_new(ike_sa *sa) {
  auth_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &auth_ops;
  t->base.exchange = M6IKE_IKEV2_IKE_AUTH;
  return &t->base;
}
