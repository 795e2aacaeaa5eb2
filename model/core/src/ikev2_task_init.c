/*
 * Task IKE_INIT: the IKE_SA_INIT exchange (RFC 7296 §1.2, §2.6, §2.7).
 *
 *   Initiator                         Responder
 *   HDR, [N(COOKIE),] SA, KEi, Ni -->
 *                                 <-- HDR, SA, KEr, Nr
 *                                 <-- HDR, N(INVALID_KE_PAYLOAD(group))
 *                                     (initiator retries with group)
 *
 * Both sides derive SKEYSEED and the seven SK_* keys once they have both
 * nonces, both SPIs and g^ir.
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

#define NONCE_LEN 32
#define MAX_RETRIES 3

typedef struct init_task {
  ike_task base;
  uint16_t group;  /* initiator: the KE group to send */
  unsigned retries;
  uint8_t prop_num; /* responder: the chosen proposal's number */
} init_task;

static int make_dh(ike_sa *sa, uint16_t group) {
  int rc;
  if (sa->dh && sa->dh_group == group) {
    return 0;
  }
  m6ike_crypto_dh_del(sa->dh);
  sa->dh = NULL;
  rc = m6ike_crypto_dh_new(&sa->dh, sa->ike->crypto, group, sa->ike->cbs.rand,
                           sa->ike->cbs.user_data);
  if (rc < 0) {
    sa->dh = NULL;
    return ike_crypto_err(rc);
  }
  sa->dh_group = group;
  return 0;
}

/* N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) for the
 * path we send on. */
int ike_add_natd(ike_sa *sa, m6ike_ikev2_builder *b, uint64_t spi_r,
                    const m6ike_ikev2_path *path) {
  uint8_t h[20];
  int rc = ike_nat_hash(sa, spi_r, &path->local, path->local_port, h);
  if (rc < 0) {
    return rc;
  }
  m6ike_ikev2_add_notify_data(b, M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP, h, 20);
  rc = ike_nat_hash(sa, spi_r, &path->remote, path->remote_port, h);
  if (rc < 0) {
    return rc;
  }
  return m6ike_ikev2_add_notify_data(
      b, M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP, h, 20);
}

/* Compares the peer's NAT detection data with the datagram's addresses
 * (RFC 7296 §2.23).  Absent notifies: no NAT assumed. */
int ike_check_natd(ike_sa *sa, const m6ike_ikev2_msg *m,
                      const m6ike_ikev2_path *path, uint64_t spi_r) {
  m6ike_ikev2_notify n;
  uint8_t h[20];
  int rc;
  if (m6ike_ikev2_find_notify(m, M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP, &n) >=
      0) {
    int match = 0;
    rc = ike_nat_hash(sa, spi_r, &path->remote, path->remote_port, h);
    if (rc < 0) {
      return rc;
    }
    /* several source notifies may be sent: any match is enough */
    for (unsigned i = 0; i < m->count; i++) {
      if (m->pl[i].type == M6IKE_IKEV2_PL_NOTIFY &&
          m6ike_ikev2_decode_notify(&m->pl[i], &n) == 0 &&
          n.type == M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP && n.len == 20 &&
          memcmp(n.data, h, 20) == 0) {
        match = 1;
      }
    }
    sa->nat_remote = (uint8_t)!match;
  }
  if (m6ike_ikev2_find_notify(m, M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP,
                              &n) >= 0) {
    rc = ike_nat_hash(sa, spi_r, &path->local, path->local_port, h);
    if (rc < 0) {
      return rc;
    }
    sa->nat_local = (uint8_t)!(n.len == 20 && memcmp(n.data, h, 20) == 0);
  }
  if (sa->nat_local || sa->nat_remote) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
            "NAT detected (%s%s)", sa->nat_local ? "in front of us " : "",
            sa->nat_remote ? "in front of the peer" : "");
  }
  return 0;
}

static int add_ke(ike_sa *sa, m6ike_ikev2_builder *b) {
  uint8_t pub[M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN];
  m6ike_ikev2_ke ke;
  int n = m6ike_crypto_dh_public(sa->dh, pub, sizeof pub);
  if (n < 0) {
    return ike_crypto_err(n);
  }
  ke.group = sa->dh_group;
  ke.data = pub;
  ke.len = (size_t)n;
  return m6ike_ikev2_add_ke(b, &ke);
}

/* g^ir from the peer's KE payload, then the key schedule. */
static int finish_keys(ike_sa *sa, const m6ike_ikev2_ke *ke) {
  uint8_t shared[M6IKE_CRYPTO_MAX_DH_SHARED_LEN];
  int n = m6ike_crypto_dh_shared(sa->dh, ke->data, ke->len, shared,
                                 sizeof shared);
  int rc;
  if (n < 0) {
    return ike_crypto_err(n);
  }
  rc = ike_keys_derive(sa, shared, (size_t)n);
  memset(shared, 0, sizeof shared);
  return rc;
}

/* After NAT detection IKE moves to port 4500 (RFC 7296 §2.23); charon
 * with kernel-libipsec fakes a NAT to force this and UDP-encapsulated ESP. */
#define NATT_PORT 4500

/* ---- initiator ---------------------------------------------------------- */

static int build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  init_task *it = (init_task *)t;
  int rc;
  if (it->group == 0) {
    it->group = sa->peer.ike[0].dh;
  }
  if ((rc = make_dh(sa, it->group)) < 0) {
    return rc;
  }
  if (sa->ni_len == 0) {
    if ((rc = ike_random(sa->ike, sa->ni, NONCE_LEN)) != 0) {
      return rc;
    }
    sa->ni_len = NONCE_LEN;
  }
  if (sa->cookie_len) {
    m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_COOKIE, sa->cookie,
                                sa->cookie_len);
  }
  ike_add_sa_offer(&o->b, M6IKE_IKEV2_PROTO_IKE, sa->peer.ike, sa->peer.n_ike,
                   NULL, 0);
  if ((rc = add_ke(sa, &o->b)) < 0) {
    return rc;
  }
  m6ike_ikev2_add_nonce(&o->b, sa->ni, sa->ni_len);
  return ike_add_natd(sa, &o->b, 0, &sa->path);
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  init_task *it = (init_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  m6ike_ikev2_notify n;
  m6ike_ikev2_ke ke;
  m6ike_ikev2_blob nonce;
  const m6ike_ikev2_payload *pl;
  uint8_t spi[8], spi_size;
  uint16_t err;
  int rc;
  if (m6ike_ikev2_find_notify(m, M6IKE_IKEV2_N_COOKIE, &n) >= 0) {
    if (++it->retries > MAX_RETRIES || n.len > sizeof sa->cookie) {
      return M6IKE_ERR_IKEV2_COOKIE;
    }
    memcpy(sa->cookie, n.data, n.len);
    sa->cookie_len = n.len;
    ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
            "IKE_SA_INIT: retrying with a COOKIE");
    return TASK_RETRY;
  }
  err = ike_error_notify(m, &n);
  if (err == M6IKE_IKEV2_N_INVALID_KE_PAYLOAD) {
    if (++it->retries > MAX_RETRIES || !ike_offered_group(sa, n.ke_group) ||
        n.ke_group == it->group) {
      return M6IKE_ERR_IKEV2_INVALID_KE;
    }
    ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
            "IKE_SA_INIT: responder wants DH group %u, retrying",
            (unsigned)n.ke_group);
    it->group = n.ke_group;
    return TASK_RETRY;
  }
  if (err == M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN) {
    return M6IKE_ERR_IKEV2_NO_PROPOSAL;
  }
  if (err != 0) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "IKE_SA_INIT: peer error notify %u", (unsigned)err);
    return M6IKE_ERR_IKEV2_PEER_ERROR;
  }
  if (m->hdr.rspi == 0 || (pl = ike_find_pl(m, M6IKE_IKEV2_PL_SA)) == NULL) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  rc = ike_check_choice(pl, M6IKE_IKEV2_PROTO_IKE, sa->peer.ike,
                        sa->peer.n_ike, &sa->alg, spi, &spi_size);
  if (rc < 0) {
    return rc == M6IKE_ERR_IKEV2_NO_PROPOSAL ? rc : M6IKE_ERR_IKEV2_SYNTAX;
  }
  if (m6ike_ikev2_decode_ke(ike_find_pl(m, M6IKE_IKEV2_PL_KE), &ke) < 0 ||
      ke.group != it->group || sa->alg.dh != it->group ||
      m6ike_ikev2_decode_nonce(ike_find_pl(m, M6IKE_IKEV2_PL_NONCE),
                               &nonce) < 0 ||
      nonce.len > sizeof sa->nr) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  memcpy(sa->nr, nonce.data, nonce.len);
  sa->nr_len = nonce.len;
  sa->spi_r = m->hdr.rspi;
  if ((rc = ike_check_natd(sa, m, in->path, sa->spi_r)) < 0) {
    return rc;
  }
  if ((sa->nat_local || sa->nat_remote) && sa->path.local_port != NATT_PORT) {
    sa->path.local_port = NATT_PORT;
    sa->path.remote_port = NATT_PORT;
  }
  sa->init_resp = ike_alloc(sa->ike, m->len);
  if (sa->init_resp == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  memcpy(sa->init_resp, m->buf, m->len);
  sa->init_resp_len = m->len;
  rc = finish_keys(sa, &ke);
  return rc < 0 ? rc : TASK_DONE;
}

/* ---- responder ---------------------------------------------------------- */

/* The responder's IKE proposals: the first peer policy whose addresses fit
 * (the identity is only known in IKE_AUTH). */
static const peer_entry *match_addr(const m6ike_ikev2 *ike,
                                    const m6ike_ikev2_path *path) {
  for (const peer_entry *p = ike->peers; p; p = p->next) {
    if ((m6ike_addr6_is_unspecified(&p->pc.path.local) ||
         m6ike_addr6_equal(&p->pc.path.local, &path->local)) &&
        (m6ike_addr6_is_unspecified(&p->pc.path.remote) ||
         m6ike_addr6_equal(&p->pc.path.remote, &path->remote))) {
      return p;
    }
  }
  return NULL;
}

static void set_error(ike_in *in, uint16_t type, int err) {
  if (in->err_notify == 0) {
    in->err_notify = type;
    in->err = err;
  }
}

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  init_task *it = (init_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  const peer_entry *pe = match_addr(sa->ike, in->path);
  m6ike_ikev2_ke ke;
  m6ike_ikev2_blob nonce;
  uint8_t spi[8], spi_size;
  int rc;
  if (m6ike_ikev2_decode_ke(ike_find_pl(m, M6IKE_IKEV2_PL_KE), &ke) < 0 ||
      m6ike_ikev2_decode_nonce(ike_find_pl(m, M6IKE_IKEV2_PL_NONCE),
                               &nonce) < 0 ||
      nonce.len > sizeof sa->ni) {
    set_error(in, M6IKE_IKEV2_N_INVALID_SYNTAX, M6IKE_ERR_IKEV2_SYNTAX);
    return TASK_DONE;
  }
  if (pe == NULL) {
    set_error(in, M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN,
              M6IKE_ERR_IKEV2_NO_PROPOSAL);
    return TASK_DONE;
  }
  rc = ike_choose_proposal(ike_find_pl(m, M6IKE_IKEV2_PL_SA),
                           M6IKE_IKEV2_PROTO_IKE, pe->pc.ike, pe->pc.n_ike,
                           ke.group, &sa->alg, &it->prop_num, spi, &spi_size);
  if (rc == M6IKE_ERR_IKEV2_INVALID_KE) {
    set_error(in, M6IKE_IKEV2_N_INVALID_KE_PAYLOAD, rc);
    m6ike_put_u16be(in->err_data, sa->alg.dh);
    in->err_len = 2;
    return TASK_DONE;
  }
  if (rc < 0) {
    set_error(in, rc == M6IKE_ERR_IKEV2_NO_PROPOSAL
                      ? M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN
                      : M6IKE_IKEV2_N_INVALID_SYNTAX,
              rc == M6IKE_ERR_IKEV2_NO_PROPOSAL ? rc : M6IKE_ERR_IKEV2_SYNTAX);
    return TASK_DONE;
  }
  sa->pe = pe;
  sa->peer = pe->pc;
  if ((rc = ike_check_natd(sa, m, in->path, 0)) < 0) {
    return rc;
  }
  memcpy(sa->ni, nonce.data, nonce.len);
  sa->ni_len = nonce.len;
  if ((rc = make_dh(sa, sa->alg.dh)) < 0) {
    return rc;
  }
  if ((rc = ike_random(sa->ike, sa->nr, NONCE_LEN)) != 0) {
    return rc;
  }
  sa->nr_len = NONCE_LEN;
  rc = finish_keys(sa, &ke);
  if (rc == M6IKE_ERR_IKEV2_BAD_KE) {
    set_error(in, M6IKE_IKEV2_N_INVALID_SYNTAX, rc);
    return TASK_DONE;
  }
  return rc < 0 ? rc : TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  init_task *it = (init_task *)t;
  int rc;
  ike_add_sa_choice(&o->b, M6IKE_IKEV2_PROTO_IKE, it->prop_num, &sa->alg,
                    NULL, 0);
  if ((rc = add_ke(sa, &o->b)) < 0) {
    return rc;
  }
  m6ike_ikev2_add_nonce(&o->b, sa->nr, sa->nr_len);
  return ike_add_natd(sa, &o->b, sa->spi_r, &sa->path);
}

static void destroy(ike_task *t, ike_sa *sa) { ike_free(sa->ike, t); }

static const ike_task_ops init_ops = {"IKE_INIT", build_i, process_i,
                                      process_r, build_r, destroy};

ike_task *task_ike_init_new(ike_sa *sa) {
  init_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &init_ops;
  t->base.exchange = M6IKE_IKEV2_IKE_SA_INIT;
  return &t->base;
}
