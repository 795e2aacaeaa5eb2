/*
 * Task IKE_REKEY: rekeying the IKE SA (RFC 7296 §1.3.2, §2.18).
 *
 *   Initiator                                   Responder
 *   CREATE_CHILD_SA { SK{SA(IKE, SPIi'), Ni, KEi} } -->
 *                  <-- CREATE_CHILD_SA { SK{SA(IKE, SPIr'), Nr, KEr} }
 *                  <-- CREATE_CHILD_SA { SK{N(INVALID_KE_PAYLOAD(g))} }
 *   (both: new IKE SA with SKEYSEED = prf(SK_d old, g^ir | Ni | Nr); the
 *    CHILD_SAs move to it)
 *   INFORMATIONAL { SK{D(IKE)} } on the old SA -->
 *                                      <-- INFORMATIONAL { SK{} }
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

#define NONCE_LEN 32
#define MAX_RETRIES 3

typedef struct rekey_task {
  ike_task base;
  uint64_t new_spi; /* our SPI of the new IKE SA */
  uint8_t nonce[NONCE_LEN];
  uint8_t peer_nonce[256];
  size_t peer_nonce_len;
  m6ike_crypto_dh *dh;
  uint16_t group;
  unsigned retries;
  /* responder */
  m6ike_ikev2_algs alg;
  uint8_t prop_num;
  ike_sa *ns;
} rekey_task;

static int new_dh(ike_sa *sa, rekey_task *rt, uint16_t group) {
  int rc;
  m6ike_crypto_dh_del(rt->dh);
  rt->dh = NULL;
  rc = m6ike_crypto_dh_new(&rt->dh, sa->ike->crypto, group, sa->ike->cbs.rand,
                           sa->ike->cbs.user_data);
  if (rc < 0) {
    rt->dh = NULL;
    return ike_crypto_err(rc);
  }
  rt->group = group;
  return 0;
}

static int add_ke(rekey_task *rt, ike_out *o) {
  uint8_t pub[M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN];
  m6ike_ikev2_ke ke;
  int n = m6ike_crypto_dh_public(rt->dh, pub, sizeof pub);
  if (n < 0) {
    return ike_crypto_err(n);
  }
  ke.group = rt->group;
  ke.data = pub;
  ke.len = (size_t)n;
  return m6ike_ikev2_add_ke(&o->b, &ke);
}

static int shared(rekey_task *rt, const m6ike_ikev2_msg *m, uint8_t *out,
                  size_t *len) {
  m6ike_ikev2_ke ke;
  const m6ike_ikev2_payload *kp = ike_find_pl(m, M6IKE_IKEV2_PL_KE);
  int n;
  if (kp == NULL || m6ike_ikev2_decode_ke(kp, &ke) < 0 ||
      ke.group != rt->group) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  n = m6ike_crypto_dh_shared(rt->dh, ke.data, ke.len, out,
                             M6IKE_CRYPTO_MAX_DH_SHARED_LEN);
  if (n < 0) {
    return ike_crypto_err(n);
  }
  *len = (size_t)n;
  return 0;
}

static int read_nonce(rekey_task *rt, const m6ike_ikev2_msg *m) {
  m6ike_ikev2_blob b;
  if (m6ike_ikev2_decode_nonce(ike_find_pl(m, M6IKE_IKEV2_PL_NONCE), &b) < 0 ||
      b.len > sizeof rt->peer_nonce) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  memcpy(rt->peer_nonce, b.data, b.len);
  rt->peer_nonce_len = b.len;
  return 0;
}

/* ---- initiator ---------------------------------------------------------- */

static int build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  rekey_task *rt = (rekey_task *)t;
  uint8_t spi[8];
  int rc;
  if (rt->new_spi == 0 && (rc = ike_new_ike_spi(sa->ike, &rt->new_spi)) != 0) {
    return rc;
  }
  if ((rc = ike_random(sa->ike, rt->nonce, NONCE_LEN)) != 0) {
    return rc;
  }
  if (rt->group == 0) {
    rt->group = sa->alg.dh;
  }
  if ((rc = new_dh(sa, rt, rt->group)) < 0) {
    return rc;
  }
  m6ike_put_u64be(spi, rt->new_spi);
  ike_add_sa_offer(&o->b, M6IKE_IKEV2_PROTO_IKE, sa->peer.ike, sa->peer.n_ike,
                   spi, 8);
  m6ike_ikev2_add_nonce(&o->b, rt->nonce, NONCE_LEN);
  return add_ke(rt, o);
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  rekey_task *rt = (rekey_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  m6ike_ikev2_notify n;
  m6ike_ikev2_algs alg;
  uint8_t spi[8], spi_size, g[M6IKE_CRYPTO_MAX_DH_SHARED_LEN];
  size_t glen = 0;
  uint64_t peer_spi;
  ike_sa *ns;
  ike_task *del;
  int rc;
  uint16_t err = ike_error_notify(m, &n);
  if (err == M6IKE_IKEV2_N_INVALID_KE_PAYLOAD && ++rt->retries <= MAX_RETRIES &&
      ike_offered_group(sa, n.ke_group) && n.ke_group != rt->group) {
    rt->group = n.ke_group;
    return TASK_RETRY;
  }
  if (err != 0 || ike_find_pl(m, M6IKE_IKEV2_PL_SA) == NULL) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "IKE SA rekey refused (notify %u); the SA stays", (unsigned)err);
    return TASK_DONE;
  }
  rc = ike_check_choice(ike_find_pl(m, M6IKE_IKEV2_PL_SA),
                        M6IKE_IKEV2_PROTO_IKE, sa->peer.ike, sa->peer.n_ike,
                        &alg, spi, &spi_size);
  if (rc < 0 || spi_size != 8 || alg.dh != rt->group ||
      read_nonce(rt, m) < 0 || shared(rt, m, g, &glen) < 0) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "IKE SA rekey: unacceptable reply; the SA stays");
    return TASK_DONE;
  }
  m6ike_get_u64be(spi, &peer_spi);
  rc = ike_sa_rekeyed(sa, 1, rt->new_spi, peer_spi, &alg, rt->nonce,
                      NONCE_LEN, rt->peer_nonce, rt->peer_nonce_len, g, glen,
                      &ns);
  memset(g, 0, sizeof g);
  if (rc < 0) {
    return rc;
  }
  /* The rekey initiator deletes the old IKE SA. */
  del = task_ike_delete_new(sa);
  if (del == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  ike_sa_queue_task(sa, del);
  return TASK_DONE;
}

/* ---- responder ---------------------------------------------------------- */

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  rekey_task *rt = (rekey_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  m6ike_ikev2_ke ke;
  uint8_t spi[8], spi_size, g[M6IKE_CRYPTO_MAX_DH_SHARED_LEN];
  size_t glen = 0;
  uint64_t peer_spi;
  int rc;
  if (m6ike_ikev2_decode_ke(ike_find_pl(m, M6IKE_IKEV2_PL_KE), &ke) < 0 ||
      read_nonce(rt, m) < 0) {
    in->err_notify = M6IKE_IKEV2_N_INVALID_SYNTAX;
    in->err = M6IKE_ERR_IKEV2_SYNTAX;
    return TASK_DONE;
  }
  rc = ike_choose_proposal(ike_find_pl(m, M6IKE_IKEV2_PL_SA),
                           M6IKE_IKEV2_PROTO_IKE, sa->peer.ike,
                           sa->peer.n_ike, ke.group, &rt->alg, &rt->prop_num,
                           spi, &spi_size);
  if (rc == M6IKE_ERR_IKEV2_INVALID_KE) {
    in->err_notify = M6IKE_IKEV2_N_INVALID_KE_PAYLOAD;
    m6ike_put_u16be(in->err_data, rt->alg.dh);
    in->err_len = 2;
    in->err = M6IKE_ERR_IKEV2_INVALID_KE; /* the IKE SA stays */
    return TASK_DONE;
  }
  if (rc < 0 || spi_size != 8) {
    in->err_notify = M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN;
    in->err = M6IKE_ERR_IKEV2_NO_PROPOSAL;
    return TASK_DONE;
  }
  m6ike_get_u64be(spi, &peer_spi);
  if ((rc = ike_new_ike_spi(sa->ike, &rt->new_spi)) != 0 ||
      (rc = ike_random(sa->ike, rt->nonce, NONCE_LEN)) != 0 ||
      (rc = new_dh(sa, rt, ke.group)) < 0) {
    return rc;
  }
  rc = shared(rt, m, g, &glen);
  if (rc == M6IKE_ERR_IKEV2_SYNTAX || rc == M6IKE_ERR_IKEV2_BAD_KE) {
    in->err_notify = M6IKE_IKEV2_N_INVALID_SYNTAX;
    return TASK_DONE;
  }
  if (rc < 0) {
    return rc;
  }
  rc = ike_sa_rekeyed(sa, 0, peer_spi, rt->new_spi, &rt->alg,
                      rt->peer_nonce, rt->peer_nonce_len, rt->nonce,
                      NONCE_LEN, g, glen, &rt->ns);
  memset(g, 0, sizeof g);
  return rc < 0 ? rc : TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  rekey_task *rt = (rekey_task *)t;
  uint8_t spi[8];
  (void)sa;
  m6ike_put_u64be(spi, rt->new_spi);
  ike_add_sa_choice(&o->b, M6IKE_IKEV2_PROTO_IKE, rt->prop_num, &rt->alg, spi,
                    8);
  m6ike_ikev2_add_nonce(&o->b, rt->nonce, NONCE_LEN);
  return add_ke(rt, o);
}

static void destroy(ike_task *t, ike_sa *sa) {
  rekey_task *rt = (rekey_task *)t;
  m6ike_crypto_dh_del(rt->dh);
  memset(rt, 0, sizeof *rt);
  ike_free(sa->ike, rt);
}

static const ike_task_ops rekey_ops = {"IKE_REKEY", build_i, process_i,
                                       process_r, build_r, destroy};

ike_task *task_ike_rekey_new(ike_sa *sa) {
  rekey_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &rekey_ops;
  t->base.exchange = M6IKE_IKEV2_CREATE_CHILD_SA;
  return &t->base;
}
