/*
 * Task CHILD_CREATE: one CHILD_SA pair (RFC 7296 §1.2 inside IKE_AUTH,
 * §1.3.1 in CREATE_CHILD_SA).
 *
 *   Initiator                              Responder
 *   [N(USE_TRANSPORT_MODE),] SA, TSi, TSr -->          (in IKE_AUTH)
 *                  <-- [N(USE_TRANSPORT_MODE),] SA, TSi, TSr
 *                  <-- N(NO_PROPOSAL_CHOSEN | TS_UNACCEPTABLE)
 *
 * A failed CHILD_SA does not fail the IKE SA (RFC 7296 §1.2).  Inside
 * IKE_AUTH no KE is exchanged: DH transforms are neither sent nor
 * honoured, and the keys come from the IKE SA's nonces.
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

typedef struct child_task {
  ike_task base;
  m6ike_ikev2_child_cfg cfg; /* initiator: what we ask for */
  uint32_t spi_in;
  /* responder */
  child_sa *c;              /* installed, reported in build_r */
  uint8_t prop_num;
  uint16_t err_notify;      /* the CHILD_SA's failure, 0 = none */
} child_task;

static void strip_dh(const m6ike_ikev2_algs *in, size_t n,
                     m6ike_ikev2_algs *out) {
  for (size_t i = 0; i < n; i++) {
    out[i] = in[i];
    out[i].dh = 0;
  }
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
  strip_dh(ct->cfg.esp, ct->cfg.n_esp, props);
  if (ct->cfg.mode == M6IKE_IKEV2_MODE_TRANSPORT) {
    m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, NULL,
                                0);
  }
  ike_add_sa_offer(&o->b, M6IKE_IKEV2_PROTO_ESP, props, ct->cfg.n_esp, spi, 4);
  m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSI, ct->cfg.ts_local,
                     ct->cfg.n_ts_local);
  return m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSR, ct->cfg.ts_remote,
                            ct->cfg.n_ts_remote);
}

static int child_failed(ike_sa *sa, const char *why, unsigned what) {
  ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id, "CHILD_SA failed: %s %u",
          why, what);
  return TASK_DONE; /* the IKE SA stays */
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  child_task *ct = (child_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  m6ike_ikev2_algs props[M6IKE_IKEV2_MAX_PROPOSALS];
  m6ike_ikev2_notify n;
  const m6ike_ikev2_payload *sap = ike_find_pl(m, M6IKE_IKEV2_PL_SA);
  uint8_t spi[8], spi_size;
  child_sa *c;
  int rc, nl, nr;
  uint16_t err = ike_error_notify(m, &n);
  if (sa->dead) {
    return TASK_DONE;
  }
  if (sap == NULL) {
    return child_failed(sa, "responder's notify", err);
  }
  c = ike_alloc(sa->ike, sizeof *c);
  if (c == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  memset(c, 0, sizeof *c);
  strip_dh(ct->cfg.esp, ct->cfg.n_esp, props);
  rc = ike_check_choice(sap, M6IKE_IKEV2_PROTO_ESP, props, ct->cfg.n_esp,
                        &c->info.alg, spi, &spi_size);
  nl = ike_read_ts(ike_find_pl(m, M6IKE_IKEV2_PL_TSI), c->info.ts_local,
                   M6IKE_IKEV2_MAX_TS);
  nr = ike_read_ts(ike_find_pl(m, M6IKE_IKEV2_PL_TSR), c->info.ts_remote,
                   M6IKE_IKEV2_MAX_TS);
  if (rc < 0 || spi_size != 4 || nl <= 0 || nr <= 0 ||
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
  c->info.mode = (ct->cfg.mode == M6IKE_IKEV2_MODE_TRANSPORT &&
                  m6ike_ikev2_find_notify(
                      m, M6IKE_IKEV2_N_USE_TRANSPORT_MODE, &n) >= 0)
                     ? M6IKE_IKEV2_MODE_TRANSPORT
                     : M6IKE_IKEV2_MODE_TUNNEL;
  if (c->info.mode != ct->cfg.mode) {
    ike_free(sa->ike, c);
    return child_failed(sa, "mode refused", ct->cfg.mode);
  }
  rc = ike_child_keys(sa, c, 1, sa->ni, sa->ni_len, sa->nr, sa->nr_len, NULL,
                      0);
  if (rc < 0) {
    ike_free(sa->ike, c);
    return rc;
  }
  rc = ike_sa_add_child(sa, c); /* frees c on failure */
  if (rc < 0) {
    return child_failed(sa, "child_sa_up refused, code", (unsigned)-rc);
  }
  return TASK_DONE;
}

/* ---- responder ---------------------------------------------------------- */

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  child_task *ct = (child_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  const m6ike_ikev2_payload *sap = ike_find_pl(m, M6IKE_IKEV2_PL_SA);
  m6ike_ikev2_ts tsi[M6IKE_IKEV2_MAX_TS], tsr[M6IKE_IKEV2_MAX_TS];
  m6ike_ikev2_notify n;
  const m6ike_ikev2_child_cfg *cc = NULL;
  uint8_t spi[8], spi_size;
  int ni, nr, rc;
  uint8_t mode;
  child_sa *c;
  if (sap == NULL) {
    return TASK_DONE; /* IKE SA only */
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
  for (size_t i = 0; sa->pe && i < sa->pe->n_children && ni > 0 && nr > 0;
       i++) {
    const m6ike_ikev2_child_cfg *x = &sa->pe->children[i];
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
  if (cc == NULL) {
    ike_free(sa->ike, c);
    ct->err_notify = M6IKE_IKEV2_N_TS_UNACCEPTABLE;
    return child_failed(sa, "no policy for the proposed selectors", 0);
  }
  rc = ike_choose_proposal(sap, M6IKE_IKEV2_PROTO_ESP, cc->esp, cc->n_esp,
                           IKE_DH_IGNORE, &c->info.alg, &ct->prop_num, spi,
                           &spi_size);
  if (rc < 0 || spi_size != 4 || mode != cc->mode) {
    ike_free(sa->ike, c);
    ct->err_notify = M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN;
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
  rc = ike_child_keys(sa, c, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len, NULL,
                      0);
  if (rc < 0) {
    ike_free(sa->ike, c);
    return rc;
  }
  ct->cfg = *cc;
  ct->c = c;
  rc = ike_sa_add_child(sa, c);
  if (rc < 0) {
    ct->c = NULL;
    ct->err_notify = M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN;
    return child_failed(sa, "child_sa_up refused, code", (unsigned)-rc);
  }
  return TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  child_task *ct = (child_task *)t;
  uint8_t spi[4];
  (void)sa;
  if (ct->err_notify) {
    return m6ike_ikev2_add_notify_data(&o->b, ct->err_notify, NULL, 0);
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
  m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSI, ct->c->info.ts_remote,
                     ct->c->info.n_ts_remote);
  return m6ike_ikev2_add_ts(&o->b, M6IKE_IKEV2_PL_TSR, ct->c->info.ts_local,
                            ct->c->info.n_ts_local);
}

static void destroy(ike_task *t, ike_sa *sa) { ike_free(sa->ike, t); }

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
