/*
 * Task CHILD_CREATE: one CHILD_SA pair, inside IKE_AUTH (RFC 7296 §1.2) or
 * with CREATE_CHILD_SA (§1.3.1), also to rekey a CHILD_SA (§1.3.3, §2.8).
 *
 *   In IKE_AUTH (after IDi/AUTH, IDr/AUTH of the IKE_AUTH task):
 *   [N(USE_TRANSPORT_MODE),] SA, TSi, TSr -->
 *                  <-- [N(USE_TRANSPORT_MODE),] SA, TSi, TSr
 *                  <-- N(NO_PROPOSAL_CHOSEN | TS_UNACCEPTABLE)
 *
 *   CREATE_CHILD_SA:
 *   SK{[N(REKEY_SA),] [N(USE_TRANSPORT_MODE),] SA, Ni, [KEi,] TSi, TSr} -->
 *            <-- SK{[N(USE_TRANSPORT_MODE),] SA, Nr, [KEr,] TSi, TSr}
 *            <-- SK{N(INVALID_KE_PAYLOAD(group))}   (initiator retries)
 *            <-- SK{N(NO_PROPOSAL_CHOSEN | TS_UNACCEPTABLE |
 *                     CHILD_SA_NOT_FOUND)}
 *
 * A failed CHILD_SA does not fail the IKE SA.  Inside IKE_AUTH no KE is
 * exchanged: DH transforms are neither sent nor honoured, and the keys
 * come from the IKE SA's nonces.  With CREATE_CHILD_SA the exchange's own
 * nonces are used, and g^ir when a KE was exchanged (PFS).  The initiator
 * of a rekey deletes the old pair once the new one is installed.
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

#define NONCE_LEN 32
#define MAX_RETRIES 3

typedef struct child_task {
  ike_task base;
  m6ike_ikev2_child_cfg cfg; /* initiator: what we ask for */
  uint32_t rekey_spi_in;     /* initiator: the pair being rekeyed, 0 none */
  uint32_t spi_in;
  uint8_t ni[NONCE_LEN], nr[256];
  size_t nr_len;
  uint8_t peer_nonce[256];
  size_t peer_nonce_len;
  m6ike_crypto_dh *dh;
  uint16_t group; /* KE group we send (initiator) / chose (responder) */
  unsigned retries;
  /* responder */
  child_sa *c;     /* installed, reported in build_r */
  uint8_t prop_num;
  uint16_t err_notify; /* the CHILD_SA's failure, 0 = none */
  uint8_t err_data[2];
  size_t err_len;
} child_task;

static int in_ike_auth(const child_task *ct) {
  return ct->base.exchange == M6IKE_IKEV2_IKE_AUTH;
}

/* The proposals as sent: without DH in IKE_AUTH or without PFS. */
static void our_props(const child_task *ct, m6ike_ikev2_algs *out) {
  for (size_t i = 0; i < ct->cfg.n_esp; i++) {
    out[i] = ct->cfg.esp[i];
    if (in_ike_auth(ct)) {
      out[i].dh = 0;
    }
  }
}

static int new_dh(ike_sa *sa, child_task *ct, uint16_t group) {
  int rc;
  m6ike_crypto_dh_del(ct->dh);
  ct->dh = NULL;
  rc = m6ike_crypto_dh_new(&ct->dh, sa->ike->crypto, group, sa->ike->cbs.rand,
                           sa->ike->cbs.user_data);
  if (rc < 0) {
    ct->dh = NULL;
    return ike_crypto_err(rc);
  }
  ct->group = group;
  return 0;
}

static int add_ke(child_task *ct, ike_out *o) {
  uint8_t pub[M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN];
  m6ike_ikev2_ke ke;
  int n = m6ike_crypto_dh_public(ct->dh, pub, sizeof pub);
  if (n < 0) {
    return ike_crypto_err(n);
  }
  ke.group = ct->group;
  ke.data = pub;
  ke.len = (size_t)n;
  return m6ike_ikev2_add_ke(&o->b, &ke);
}

static int shared_secret(child_task *ct, const m6ike_ikev2_msg *m,
                         uint8_t *out, size_t *len) {
  m6ike_ikev2_ke ke;
  const m6ike_ikev2_payload *kp = ike_find_pl(m, M6IKE_IKEV2_PL_KE);
  int n;
  *len = 0;
  if (ct->dh == NULL) {
    return kp ? M6IKE_ERR_IKEV2_SYNTAX : 0;
  }
  if (kp == NULL || m6ike_ikev2_decode_ke(kp, &ke) < 0 ||
      ke.group != ct->group) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  n = m6ike_crypto_dh_shared(ct->dh, ke.data, ke.len, out,
                             M6IKE_CRYPTO_MAX_DH_SHARED_LEN);
  if (n < 0) {
    return ike_crypto_err(n);
  }
  *len = (size_t)n;
  return 0;
}

/* ---- initiator ---------------------------------------------------------- */

static int build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  child_task *ct = (child_task *)t;
  m6ike_ikev2_algs props[M6IKE_IKEV2_MAX_PROPOSALS];
  uint8_t spi[4];
  int rc;
  if (ct->spi_in == 0 && (rc = ike_new_esp_spi(sa->ike, &ct->spi_in)) != 0) {
    return rc;
  }
  m6ike_put_u32be(spi, ct->spi_in);
  our_props(ct, props);
  if (!in_ike_auth(ct)) {
    if ((rc = ike_random(sa->ike, ct->ni, NONCE_LEN)) != 0) {
      return rc;
    }
    if (ct->group == 0) {
      ct->group = props[0].dh;
    }
    if (ct->group && (rc = new_dh(sa, ct, ct->group)) < 0) {
      return rc;
    }
    if (ct->rekey_spi_in) {
      m6ike_ikev2_add_notify_rekey_sa(&o->b, M6IKE_IKEV2_PROTO_ESP,
                                      ct->rekey_spi_in);
    }
  }
  if (ct->cfg.mode == M6IKE_IKEV2_MODE_TRANSPORT) {
    m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, NULL,
                                0);
  }
  ike_add_sa_offer(&o->b, M6IKE_IKEV2_PROTO_ESP, props, ct->cfg.n_esp, spi, 4);
  if (!in_ike_auth(ct)) {
    m6ike_ikev2_add_nonce(&o->b, ct->ni, NONCE_LEN);
    if (ct->dh && (rc = add_ke(ct, o)) < 0) {
      return rc;
    }
  }
  m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSI, ct->cfg.ts_local,
                     ct->cfg.n_ts_local);
  return m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSR, ct->cfg.ts_remote,
                            ct->cfg.n_ts_remote);
}

static int child_failed(ike_sa *sa, const char *why, unsigned what) {
  ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id, "CHILD_SA failed: %s %u",
          why, what);
  sa->ike->stats.child_sas_failed++;
  return TASK_DONE; /* the IKE SA stays */
}

static int offered_group(const child_task *ct, uint16_t g) {
  for (size_t i = 0; i < ct->cfg.n_esp; i++) {
    if (ct->cfg.esp[i].dh == g) {
      return 1;
    }
  }
  return 0;
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  child_task *ct = (child_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  m6ike_ikev2_algs props[M6IKE_IKEV2_MAX_PROPOSALS];
  m6ike_ikev2_notify n;
  m6ike_ikev2_blob nonce;
  const m6ike_ikev2_payload *sap = ike_find_pl(m, M6IKE_IKEV2_PL_SA);
  uint8_t spi[8], spi_size, g_ir[M6IKE_CRYPTO_MAX_DH_SHARED_LEN];
  size_t g_len = 0;
  child_sa *c;
  int rc, nl, nr;
  uint16_t err = ike_error_notify(m, &n);
  if (sa->dead) {
    return TASK_DONE;
  }
  if (err == M6IKE_IKEV2_N_INVALID_KE_PAYLOAD && !in_ike_auth(ct) &&
      ++ct->retries <= MAX_RETRIES && offered_group(ct, n.ke_group) &&
      n.ke_group != ct->group) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
            "CREATE_CHILD_SA: peer wants DH group %u, retrying",
            (unsigned)n.ke_group);
    ct->group = n.ke_group;
    return TASK_RETRY;
  }
  if (sap == NULL) {
    return child_failed(sa, "responder's notify", err);
  }
  if (!in_ike_auth(ct)) {
    if (m6ike_ikev2_decode_nonce(ike_find_pl(m, M6IKE_IKEV2_PL_NONCE),
                                 &nonce) < 0) {
      return child_failed(sa, "no Nr", 0);
    }
    memcpy(ct->nr, nonce.data, nonce.len);
    ct->nr_len = nonce.len;
    rc = shared_secret(ct, m, g_ir, &g_len);
    if (rc < 0) {
      return child_failed(sa, "KEr", (unsigned)-rc);
    }
  }
  c = ike_alloc(sa->ike, sizeof *c);
  if (c == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  memset(c, 0, sizeof *c);
  our_props(ct, props);
  if (!in_ike_auth(ct) && ct->dh == NULL) {
    for (size_t i = 0; i < ct->cfg.n_esp; i++) props[i].dh = 0;
  }
  rc = ike_check_choice(sap, M6IKE_IKEV2_PROTO_ESP, props, ct->cfg.n_esp,
                        &c->info.alg, spi, &spi_size);
  nl = ike_read_ts(ike_find_pl(m, M6IKE_IKEV2_PL_TSI), c->info.ts_local,
                   M6IKE_IKEV2_MAX_TS);
  nr = ike_read_ts(ike_find_pl(m, M6IKE_IKEV2_PL_TSR), c->info.ts_remote,
                   M6IKE_IKEV2_MAX_TS);
  if (rc < 0 || spi_size != 4 || nl <= 0 || nr <= 0 ||
      (ct->dh && c->info.alg.dh != ct->group) ||
      !ike_ts_subset(c->info.ts_local, (size_t)nl, ct->cfg.ts_local,
                     ct->cfg.n_ts_local) ||
      !ike_ts_subset(c->info.ts_remote, (size_t)nr, ct->cfg.ts_remote,
                     ct->cfg.n_ts_remote)) {
    ike_free(sa->ike, c);
    return child_failed(sa, "reply not acceptable, code",
                        (unsigned)(rc < 0 ? -rc : 0));
  }
  c->info.n_ts_local = (size_t)nl;
  c->info.n_ts_remote = (size_t)nr;
  c->info.spi_in = ct->spi_in;
  m6ike_get_u32be(spi, &c->info.spi_out);
  c->info.reqid = ct->cfg.reqid;
  c->cfg = ct->cfg;
  c->info.mode = (ct->cfg.mode == M6IKE_IKEV2_MODE_TRANSPORT &&
                  m6ike_ikev2_find_notify(
                      m, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, &n) >= 0)
                     ? M6IKE_IKEV2_MODE_TRANSPORT
                     : M6IKE_IKEV2_MODE_TUNNEL;
  if (c->info.mode != ct->cfg.mode) {
    ike_free(sa->ike, c);
    return child_failed(sa, "mode refused", ct->cfg.mode);
  }
  if (in_ike_auth(ct)) {
    rc = ike_child_keys(sa, c, 1, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
                        NULL, 0);
  } else {
    rc = ike_child_keys(sa, c, 1, ct->ni, NONCE_LEN, ct->nr, ct->nr_len, g_ir,
                        g_len);
  }
  memset(g_ir, 0, sizeof g_ir);
  if (rc < 0) {
    ike_free(sa->ike, c);
    return rc;
  }
  rc = ike_sa_add_child(sa, c); /* frees c on failure */
  if (rc < 0) {
    return child_failed(sa, "child_sa_up refused, code", (unsigned)-rc);
  }
  if (ct->rekey_spi_in) {
    /* RFC 7296 §2.8: the rekey initiator deletes the old pair. */
    child_sa *old = ike_sa_find_child_spi_in(sa, ct->rekey_spi_in);
    if (old) {
      ike_task *d = task_child_delete_new(sa, &old->info.spi_in, 1);
      if (d == NULL) {
        return M6IKE_ERR_IKEV2_SA_NOMEM;
      }
      old->rekeyed = 1;
      ike_sa_queue_task(sa, d);
    }
  }
  return TASK_DONE;
}

/* ---- responder ---------------------------------------------------------- */

static void child_error(child_task *ct, uint16_t type) {
  ct->err_notify = type;
}

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  child_task *ct = (child_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  const m6ike_ikev2_payload *sap = ike_find_pl(m, M6IKE_IKEV2_PL_SA);
  m6ike_ikev2_ts tsi[M6IKE_IKEV2_MAX_TS], tsr[M6IKE_IKEV2_MAX_TS];
  m6ike_ikev2_notify n;
  m6ike_ikev2_blob nonce;
  m6ike_ikev2_ke ke;
  const m6ike_ikev2_child_cfg *cc = NULL;
  /* Responder SAs: the matched peer's policies; SAs we initiated: the
   * policy of their first CHILD_SA (a peer may add pairs to either). */
  const m6ike_ikev2_child_cfg *list =
      sa->pe ? sa->pe->children
             : sa->has_first_child ? &sa->first_child : NULL;
  size_t nlist = sa->pe ? sa->pe->n_children : sa->has_first_child ? 1 : 0;
  child_sa *old = NULL;
  uint8_t spi[8], spi_size, g_ir[M6IKE_CRYPTO_MAX_DH_SHARED_LEN];
  size_t g_len = 0;
  uint16_t want_dh = IKE_DH_IGNORE;
  int ni, nr, rc;
  uint8_t mode;
  child_sa *c;
  if (sap == NULL) {
    return TASK_DONE; /* IKE_AUTH without a CHILD_SA */
  }
  if (!in_ike_auth(ct)) {
    if (m6ike_ikev2_find_notify(m, M6IKE_IKEV2_N_REKEY_SA, &n) >= 0) {
      old = ike_sa_find_child_spi_out(sa, n.spi32);
      if (old == NULL) {
        child_error(ct, M6IKE_IKEV2_N_CHILD_SA_NOT_FOUND);
        return child_failed(sa, "REKEY_SA for an unknown SPI", n.spi32);
      }
      list = &old->cfg; /* a rekey keeps the pair's policy */
      nlist = 1;
    }
    if (m6ike_ikev2_decode_nonce(ike_find_pl(m, M6IKE_IKEV2_PL_NONCE),
                                 &nonce) < 0 ||
        nonce.len > sizeof ct->peer_nonce) {
      child_error(ct, M6IKE_IKEV2_N_INVALID_SYNTAX);
      return child_failed(sa, "Ni missing", 0);
    }
    memcpy(ct->peer_nonce, nonce.data, nonce.len);
    ct->peer_nonce_len = nonce.len;
    want_dh = 0;
    if (ike_find_pl(m, M6IKE_IKEV2_PL_KE)) {
      if (m6ike_ikev2_decode_ke(ike_find_pl(m, M6IKE_IKEV2_PL_KE), &ke) < 0) {
        child_error(ct, M6IKE_IKEV2_N_INVALID_SYNTAX);
        return child_failed(sa, "KEi malformed", 0);
      }
      want_dh = ke.group;
    }
  }
  ni = ike_read_ts(ike_find_pl(m, M6IKE_IKEV2_PL_TSI), tsi,
                   M6IKE_IKEV2_MAX_TS);
  nr = ike_read_ts(ike_find_pl(m, M6IKE_IKEV2_PL_TSR), tsr,
                   M6IKE_IKEV2_MAX_TS);
  mode = m6ike_ikev2_find_notify(m, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, &n) >= 0
             ? M6IKE_IKEV2_MODE_TRANSPORT
             : M6IKE_IKEV2_MODE_TUNNEL;
  c = ike_alloc(sa->ike, sizeof *c);
  if (c == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  memset(c, 0, sizeof *c);
  /* The first child policy whose selectors overlap the proposed ones. */
  for (size_t i = 0; i < nlist && ni > 0 && nr > 0; i++) {
    const m6ike_ikev2_child_cfg *x = &list[i];
    if (x->mode != mode) {
      continue;
    }
    size_t a = ike_narrow_ts(tsi, (size_t)ni, x->ts_remote, x->n_ts_remote,
                             c->info.ts_remote, M6IKE_IKEV2_MAX_TS);
    size_t b = ike_narrow_ts(tsr, (size_t)nr, x->ts_local, x->n_ts_local,
                             c->info.ts_local, M6IKE_IKEV2_MAX_TS);
    if (a && b) {
      cc = x;
      c->info.n_ts_remote = a;
      c->info.n_ts_local = b;
      break;
    }
  }
  if (cc && in_ike_auth(ct) && (sa->cp_got & M6IKE_IKEV2_CP_WANT_ADDR)) {
    /* The address we just assigned is the peer's side (RFC 7296 §2.19). */
    m6ike_ikev2_ts one;
    size_t k;
    m6ike_ikev2_ts_set6(&one, &sa->cp_addr, &sa->cp_addr, 0, 0, 65535);
    k = ike_narrow_ts(c->info.ts_remote, c->info.n_ts_remote, &one, 1,
                      tsi, M6IKE_IKEV2_MAX_TS);
    memcpy(c->info.ts_remote, tsi, k * sizeof tsi[0]);
    c->info.n_ts_remote = k;
    if (k == 0) {
      cc = NULL;
    }
  }
  if (cc == NULL) {
    ike_free(sa->ike, c);
    child_error(ct, M6IKE_IKEV2_N_TS_UNACCEPTABLE);
    return child_failed(sa, "no policy for the proposed selectors", 0);
  }
  rc = ike_choose_proposal(sap, M6IKE_IKEV2_PROTO_ESP, cc->esp, cc->n_esp,
                           want_dh, &c->info.alg, &ct->prop_num, spi,
                           &spi_size);
  if (rc == M6IKE_ERR_IKEV2_INVALID_KE) {
    child_error(ct, M6IKE_IKEV2_N_INVALID_KE_PAYLOAD);
    m6ike_put_u16be(ct->err_data, c->info.alg.dh);
    ct->err_len = 2;
    ike_free(sa->ike, c);
    return child_failed(sa, "asking for DH group", ct->err_data[1]);
  }
  if (rc < 0 || spi_size != 4 || mode != cc->mode) {
    ike_free(sa->ike, c);
    child_error(ct, M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN);
    return child_failed(sa, "no acceptable ESP proposal or mode", cc->mode);
  }
  if ((rc = ike_new_esp_spi(sa->ike, &ct->spi_in)) != 0) {
    ike_free(sa->ike, c);
    return rc;
  }
  c->info.spi_in = ct->spi_in;
  m6ike_get_u32be(spi, &c->info.spi_out);
  c->info.mode = mode;
  c->info.reqid = cc->reqid;
  c->cfg = *cc;
  if (in_ike_auth(ct)) {
    rc = ike_child_keys(sa, c, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
                        NULL, 0);
  } else {
    rc = ike_random(sa->ike, ct->nr, NONCE_LEN);
    ct->nr_len = NONCE_LEN;
    if (rc == 0 && c->info.alg.dh) {
      rc = new_dh(sa, ct, c->info.alg.dh);
      if (rc == 0) {
        rc = shared_secret(ct, m, g_ir, &g_len);
      }
    }
    if (rc == 0) {
      rc = ike_child_keys(sa, c, 0, ct->peer_nonce, ct->peer_nonce_len,
                          ct->nr, ct->nr_len, g_ir, g_len);
    }
    memset(g_ir, 0, sizeof g_ir);
  }
  if (rc < 0) {
    ike_free(sa->ike, c);
    if (rc == M6IKE_ERR_IKEV2_SYNTAX || rc == M6IKE_ERR_IKEV2_BAD_KE) {
      child_error(ct, M6IKE_IKEV2_N_INVALID_SYNTAX);
      return child_failed(sa, "KEi", 0);
    }
    return rc;
  }
  ct->c = c;
  rc = ike_sa_add_child(sa, c);
  if (rc < 0) {
    ct->c = NULL;
    child_error(ct, M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN);
    return child_failed(sa, "child_sa_up refused, code", (unsigned)-rc);
  }
  if (old) {
    old->rekeyed = 1; /* the initiator deletes it */
  }
  return TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  child_task *ct = (child_task *)t;
  uint8_t spi[4];
  int rc;
  (void)sa;
  if (ct->err_notify) {
    return m6ike_ikev2_add_notify_data(&o->b, ct->err_notify,
                                       ct->err_len ? ct->err_data : NULL,
                                       ct->err_len);
  }
  if (ct->c == NULL) {
    return 0;
  }
  m6ike_put_u32be(spi, ct->spi_in);
  if (ct->c->info.mode == M6IKE_IKEV2_MODE_TRANSPORT) {
    m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, NULL,
                                0);
  }
  ike_add_sa_choice(&o->b, M6IKE_IKEV2_PROTO_ESP, ct->prop_num,
                    &ct->c->info.alg, spi, 4);
  if (!in_ike_auth(ct)) {
    m6ike_ikev2_add_nonce(&o->b, ct->nr, ct->nr_len);
    if (ct->dh && (rc = add_ke(ct, o)) < 0) {
      return rc;
    }
  }
  m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSI, ct->c->info.ts_remote,
                     ct->c->info.n_ts_remote);
  return m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSR, ct->c->info.ts_local,
                            ct->c->info.n_ts_local);
}

static void destroy(ike_task *t, ike_sa *sa) {
  child_task *ct = (child_task *)t;
  m6ike_crypto_dh_del(ct->dh);
  memset(ct, 0, sizeof *ct);
  ike_free(sa->ike, ct);
}

static const ike_task_ops child_ops = {"CHILD_CREATE", build_i, process_i,
                                       process_r, build_r, destroy};

ike_task *task_child_create_new(ike_sa *sa, const m6ike_ikev2_child_cfg *cc,
                                uint8_t exchange) {
  child_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &child_ops;
  t->base.exchange = exchange;
  if (cc) {
    t->cfg = *cc;
  }
  return &t->base;
}

ike_task *task_child_rekey_new(ike_sa *sa, const child_sa *old) {
  ike_task *t = task_child_create_new(sa, &old->cfg,
                                      M6IKE_IKEV2_CREATE_CHILD_SA);
  if (t) {
    child_task *ct = (child_task *)t;
    ct->rekey_spi_in = old->info.spi_in;
    /* Ask for the selectors the pair has now. */
    memcpy(ct->cfg.ts_local, old->info.ts_local, sizeof ct->cfg.ts_local);
    ct->cfg.n_ts_local = old->info.n_ts_local;
    memcpy(ct->cfg.ts_remote, old->info.ts_remote, sizeof ct->cfg.ts_remote);
    ct->cfg.n_ts_remote = old->info.n_ts_remote;
  }
  return t;
}
