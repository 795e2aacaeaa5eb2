/*
 * The main paper's mechanism in the IKEv2 engine (Xu et al., §III.C-E):
 * the key manager registers on the PF_KEY bus, and an SADB_ACQUIRE that
 * carries the Reference extension (the MPI) makes it read the MSRD and
 * either bootstrap an IKE SA per RFC 4877 (CoA as IKE endpoint, HoA in
 * TSi) or update the tunnel SAs' endpoints in place and tell the HA with
 * one authenticated INFORMATIONAL:
 *
 *   Mobile node                                 Home agent
 *   (ACQUIRE + Reference, CoA changed: SAs moved locally, no DH, no keys)
 *   INFORMATIONAL { SK{N(M6IKE_SA_ADDRESS_UPDATE(MPI, CoA))} } -->
 *                         (HA moves its IKE SA and tunnel SAs to CoA)
 *                                   <-- INFORMATIONAL { SK{} }
 *
 * Without the Reference the engine behaves as a stock daemon: a full new
 * IKE SA with its CHILD_SAs (Table I's baseline).
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

/* ---- handover record ------------------------------------------------------- */

static void snapshot(const m6ike_ikev2 *ike, uint64_t msgs[], uint64_t *bytes) {
  *bytes = 0;
  for (int x = 0; x < M6IKE_IKEV2_X_COUNT; x++) {
    msgs[x] = ike->stats.msgs_out[x] + ike->stats.msgs_in[x];
    *bytes += ike->stats.bytes_out[x] + ike->stats.bytes_in[x];
  }
}

static void ho_begin(m6ike_ikev2 *ike, m6ike_ikev2_ho_kind kind, uint32_t mpi,
                     m6ike_tstamp now) {
  /* A previous operation still running is superseded. */
  for (ike_sa *s = ike->all; s; s = s->next) {
    s->ho_pending = 0;
  }
  memset(&ike->ho, 0, sizeof ike->ho);
  ike->ho.kind = kind;
  ike->ho.mpi = mpi;
  ike->ho.started = now;
  ike->ho.completed = M6IKE_TSTAMP_UNSET;
  ike->have_ho = 1;
  snapshot(ike, ike->ho_snap_msgs, &ike->ho_snap_bytes);
}

void ike_ho_finish(m6ike_ikev2 *ike, ike_sa *sa, int result,
                   m6ike_tstamp now) {
  uint64_t msgs[M6IKE_IKEV2_X_COUNT], bytes;
  if (sa) {
    sa->ho_pending = 0;
  }
  if (!ike->have_ho || ike->ho.completed != M6IKE_TSTAMP_UNSET) {
    return;
  }
  snapshot(ike, msgs, &bytes);
  for (int x = 0; x < M6IKE_IKEV2_X_COUNT; x++) {
    ike->ho.msgs[x] = (uint32_t)(msgs[x] - ike->ho_snap_msgs[x]);
  }
  ike->ho.bytes = bytes - ike->ho_snap_bytes;
  ike->ho.result = result;
  ike->ho.completed = now == M6IKE_TSTAMP_UNSET ? ike->ho.started : now;
  ike_log(ike, result ? M6IKE_IKEV2_LOG_ERROR : M6IKE_IKEV2_LOG_INFO,
          sa ? sa->id : 0,
          "handover (%s) done: %u IKE_SA_INIT, %u IKE_AUTH, %u "
          "CREATE_CHILD_SA, %u INFORMATIONAL messages, result %d",
          ike->ho.kind == M6IKE_IKEV2_HO_DIRECT_UPDATE ? "direct update"
          : ike->ho.kind == M6IKE_IKEV2_HO_BOOTSTRAP   ? "bootstrap"
                                                       : "renegotiation",
          (unsigned)ike->ho.msgs[0], (unsigned)ike->ho.msgs[1],
          (unsigned)ike->ho.msgs[2], (unsigned)ike->ho.msgs[3], result);
}

void ike_ho_check(ike_sa *sa, m6ike_tstamp now) {
  if (sa->ho_pending && !sa->dead &&
      sa->state == M6IKE_IKEV2_SA_ESTABLISHED && sa->active == NULL &&
      sa->queued == NULL) {
    ike_ho_finish(sa->ike, sa, 0, now);
  }
}

int m6ike_ikev2_get_handover(const m6ike_ikev2 *ike,
                             m6ike_ikev2_handover *out) {
  if (ike == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!ike->have_ho) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = ike->ho;
  return 0;
}

/* ---- moving CHILD_SAs -------------------------------------------------------- */

void ike_move_children(ike_sa *sa, const m6ike_addr6 *addr, int local) {
  m6ike_ikev2 *ike = sa->ike;
  for (child_sa *c = sa->children; c; c = c->next) {
    if (c->info.mode != M6IKE_IKEV2_MODE_TUNNEL) {
      continue; /* transport pairs are HoA <-> HA: unchanged */
    }
    if (local) {
      c->info.local = *addr;
    } else {
      c->info.remote = *addr;
    }
    if (ike->cbs.child_sa_update &&
        ike->cbs.child_sa_update(&c->info, ike->cbs.user_data) != 0) {
      ike_log(ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
              "child_sa_update refused for CHILD_SA %u",
              (unsigned)c->info.child_id);
    }
  }
}

/* ---- the M6IKE_SA_ADDRESS_UPDATE task ---------------------------------------- */

typedef struct upd_task {
  ike_task base;
  uint32_t mpi;
  m6ike_addr6 coa;
} upd_task;

static int upd_build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  upd_task *u = (upd_task *)t;
  (void)sa;
  return m6ike_ikev2_add_notify_m6ike_update(&o->b, u->mpi, &u->coa);
}

static int upd_process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  m6ike_ikev2_notify n;
  (void)t;
  if (ike_error_notify(in->msg, &n) != 0) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "the peer refused the address update (notify %u)",
            (unsigned)n.type);
    return M6IKE_ERR_IKEV2_PEER_ERROR;
  }
  return TASK_DONE;
}

static int addr_usable(const m6ike_addr6 *a) {
  return !m6ike_addr6_is_unspecified(a) && a->b[0] != 0xff;
}

static int upd_process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  m6ike_ikev2_notify n;
  (void)t;
  if (m6ike_ikev2_find_notify(in->msg, M6IKE_IKEV2_N_M6IKE_SA_ADDRESS_UPDATE,
                              &n) < 0 ||
      !addr_usable(&n.addr6)) {
    in->err_notify = M6IKE_IKEV2_N_INVALID_SYNTAX;
    in->err = M6IKE_ERR_IKEV2_SYNTAX;
    return TASK_DONE;
  }
  {
    char a[M6IKE_ADDR6_STRLEN];
    ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
            "M6IKE_SA_ADDRESS_UPDATE mpi %u: peer now at %s",
            (unsigned)n.mpi, m6ike_addr6_format(&n.addr6, a));
  }
  /* The notify is authenticated by the IKE SA (it is inside SK) and the
   * request came from the new address. */
  sa->path.remote = n.addr6;
  ike_move_children(sa, &n.addr6, 0);
  sa->ike->stats.peer_updates++;
  return TASK_DONE;
}

static int upd_build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  (void)t;
  (void)sa;
  (void)o;
  return 0;
}

static void upd_destroy(ike_task *t, ike_sa *sa) { ike_free(sa->ike, t); }

static const ike_task_ops upd_ops = {"M6IKE_UPDATE", upd_build_i,
                                     upd_process_i, upd_process_r,
                                     upd_build_r, upd_destroy};

ike_task *task_m6ike_update_new(ike_sa *sa, uint32_t mpi,
                                const m6ike_addr6 *coa) {
  upd_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &upd_ops;
  t->base.exchange = M6IKE_IKEV2_INFORMATIONAL;
  t->mpi = mpi;
  if (coa) {
    t->coa = *coa;
  }
  return &t->base;
}

ike_task *task_m6ike_update_responder_new(ike_sa *sa) {
  return task_m6ike_update_new(sa, 0, NULL);
}

/* ---- attachment ------------------------------------------------------------------ */

int m6ike_ikev2_attach_pfkey(m6ike_ikev2 *ike, m6ike_pfkey_bus *bus,
                             m6ike_pfkey_ep ep,
                             const m6ike_msrd_reader *msrd) {
  uint8_t buf[M6IKE_PFKEY_HDR_LEN];
  m6ike_pfkey_builder b;
  int len, rc;
  if (ike == NULL || bus == NULL || ep == 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (ike->attached) {
    return M6IKE_ERR_INVALID_STATE;
  }
  m6ike_pfkey_builder_begin(&b, buf, sizeof buf, M6IKE_SADB_REGISTER,
                            M6IKE_SADB_SATYPE_ESP, ++ike->pfkey_seq, 0);
  len = m6ike_pfkey_builder_finish(&b);
  if (len < 0) {
    return len;
  }
  rc = m6ike_pfkey_bus_send(bus, ep, buf, (size_t)len, 0);
  if (rc < 0) {
    return rc;
  }
  ike->bus = bus;
  ike->ep = ep;
  ike->msrd = msrd;
  ike->attached = 1;
  return 0;
}

int m6ike_ikev2_set_mobility(m6ike_ikev2 *ike,
                             const m6ike_ikev2_mobility_cfg *mc) {
  int rc;
  if (ike == NULL || mc == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (mc->n_children == 0 || mc->n_children > M6IKE_IKEV2_MAX_MOBILE_CHILDREN) {
    return M6IKE_ERR_IKEV2_BAD_CONFIG;
  }
  if ((rc = ike_check_peer(&mc->peer)) != 0) {
    return rc;
  }
  for (size_t i = 0; i < mc->n_children; i++) {
    if ((rc = ike_check_child(&mc->children[i])) != 0) {
      return rc;
    }
  }
  ike->mob = *mc;
  ike->have_mob = 1;
  return 0;
}

/* ---- ACQUIRE handling ------------------------------------------------------------ */

static int placeholder(const m6ike_ikev2_ts *t) {
  static const uint8_t zero[16];
  return memcmp(t->start_addr, zero, 16) == 0 &&
         memcmp(t->end_addr, zero, 16) == 0;
}

/* The mobility config's children with HoA / HA filled in. */
static int fill_children(const m6ike_ikev2 *ike, const m6ike_addr6 *hoa,
                         const m6ike_addr6 *ha, m6ike_ikev2_child_cfg *out) {
  for (size_t i = 0; i < ike->mob.n_children; i++) {
    out[i] = ike->mob.children[i];
    for (size_t k = 0; k < out[i].n_ts_local; k++) {
      if (placeholder(&out[i].ts_local[k])) {
        if (m6ike_addr6_is_unspecified(hoa)) {
          return M6IKE_ERR_IKEV2_NOT_READY;
        }
        memcpy(out[i].ts_local[k].start_addr, hoa->b, 16);
        memcpy(out[i].ts_local[k].end_addr, hoa->b, 16);
      }
    }
    for (size_t k = 0; k < out[i].n_ts_remote; k++) {
      if (placeholder(&out[i].ts_remote[k])) {
        memcpy(out[i].ts_remote[k].start_addr, ha->b, 16);
        memcpy(out[i].ts_remote[k].end_addr, ha->b, 16);
      }
    }
  }
  return 0;
}

static ike_sa *find_by_mpi(m6ike_ikev2 *ike, uint32_t mpi) {
  for (ike_sa *s = ike->all; s; s = s->next) {
    if (!s->dead && s->initiator && s->mpi == mpi) {
      return s;
    }
  }
  return NULL;
}

static int start_sa(m6ike_ikev2 *ike, const m6ike_addr6 *local,
                    const m6ike_addr6 *remote, const m6ike_addr6 *hoa,
                    int initial_contact, m6ike_tstamp now, ike_sa **out) {
  m6ike_ikev2_child_cfg ch[M6IKE_IKEV2_MAX_MOBILE_CHILDREN];
  m6ike_ikev2_peer_cfg pc = ike->mob.peer;
  int rc = fill_children(ike, hoa, remote, ch);
  if (rc != 0) {
    return rc;
  }
  pc.path.local = *local;
  pc.path.remote = *remote;
  pc.initial_contact = (uint8_t)(initial_contact || pc.initial_contact);
  rc = ike_initiate_sa(ike, &pc, ch, ike->mob.n_children, now, out);
  if (rc == 0) {
    (*out)->hoa = *hoa;
  }
  return rc;
}

static int with_reference(m6ike_ikev2 *ike, uint32_t mpi, m6ike_tstamp now) {
  m6ike_msrd_entry e;
  ike_sa *sa;
  int rc;
  char a[M6IKE_ADDR6_STRLEN];
  ike->stats.acquires_ref++;
  if (ike->msrd == NULL ||
      m6ike_msrd_lookup_mpi(ike->msrd, mpi, &e, NULL) != 0 ||
      m6ike_addr6_is_unspecified(&e.coa) ||
      m6ike_addr6_is_unspecified(&e.ha)) {
    ike_log(ike, M6IKE_IKEV2_LOG_ERROR, 0,
            "ACQUIRE: MPI %u not in the MSRD (or no CoA/HA yet)",
            (unsigned)mpi);
    return M6IKE_ERR_NOT_FOUND;
  }
  sa = find_by_mpi(ike, mpi);
  if (sa && sa->state != M6IKE_IKEV2_SA_ESTABLISHED &&
      !m6ike_addr6_equal(&sa->path.local, &e.coa)) {
    /* Still connecting from an address that is gone: start again. */
    ike_sa_kill(sa, M6IKE_ERR_IKEV2_DELETED);
    sa = NULL;
  }
  if (sa == NULL) {
    ho_begin(ike, M6IKE_IKEV2_HO_BOOTSTRAP, mpi, now);
    ike_log(ike, M6IKE_IKEV2_LOG_INFO, 0,
            "ACQUIRE mpi %u: bootstrap from CoA %s (RFC 4877)", (unsigned)mpi,
            m6ike_addr6_format(&e.coa, a));
    rc = start_sa(ike, &e.coa, &e.ha, &e.hoa, 0, now, &sa);
    if (rc != 0) {
      ike_ho_finish(ike, NULL, rc, now);
      return rc;
    }
    sa->mpi = mpi;
    sa->ho_pending = 1;
    ike->ho.sa_id = sa->id;
    ike->stats.bootstraps++;
    return 0;
  }
  if (m6ike_addr6_equal(&sa->path.local, &e.coa)) {
    return 0; /* nothing moved */
  }
  ho_begin(ike, M6IKE_IKEV2_HO_DIRECT_UPDATE, mpi, now);
  ike->ho.sa_id = sa->id;
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
          "ACQUIRE mpi %u: direct update to CoA %s", (unsigned)mpi,
          m6ike_addr6_format(&e.coa, a));
  sa->path.local = e.coa;
  ike_move_children(sa, &e.coa, 1);
  sa->ho_pending = 1;
  ike->stats.direct_updates++;
  {
    ike_task *t = task_m6ike_update_new(sa, mpi, &e.coa);
    if (t == NULL) {
      ike_ho_finish(ike, sa, M6IKE_ERR_IKEV2_SA_NOMEM, now);
      return M6IKE_ERR_IKEV2_SA_NOMEM;
    }
    ike_sa_queue_task(sa, t);
  }
  return 1; /* the caller starts the exchange */
}

static int without_reference(m6ike_ikev2 *ike, const m6ike_pfkey_msg *msg,
                             m6ike_tstamp now) {
  m6ike_pfkey_address src, dst;
  m6ike_addr6 local, remote, hoa;
  ike_sa *sa;
  int rc;
  if (m6ike_pfkey_get_address(msg, M6IKE_SADB_EXT_ADDRESS_SRC, &src) != 0 ||
      m6ike_pfkey_get_address(msg, M6IKE_SADB_EXT_ADDRESS_DST, &dst) != 0 ||
      src.sa.family != M6IKE_PFKEY_AF_INET6 ||
      dst.sa.family != M6IKE_PFKEY_AF_INET6) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memcpy(local.b, src.sa.addr, 16);
  memcpy(remote.b, dst.sa.addr, 16);
  memset(&hoa, 0, sizeof hoa);
  /* A stock daemon: IKE SAs to this peer from another address are stale;
   * its static configuration names the HoA (kept from the old SA). */
  for (ike_sa *s = ike->all; s; s = s->next) {
    if (!s->dead && s->initiator &&
        m6ike_addr6_equal(&s->path.remote, &remote)) {
      if (m6ike_addr6_equal(&s->path.local, &local) &&
          s->state == M6IKE_IKEV2_SA_ESTABLISHED) {
        return 0; /* still valid: nothing to do */
      }
      if (!m6ike_addr6_is_unspecified(&s->hoa)) {
        hoa = s->hoa;
      }
      ike_sa_kill(s, M6IKE_ERR_IKEV2_DELETED);
    }
  }
  ho_begin(ike, M6IKE_IKEV2_HO_RENEGOTIATE, 0, now);
  rc = start_sa(ike, &local, &remote, &hoa, 1, now, &sa);
  if (rc != 0) {
    ike_ho_finish(ike, NULL, rc, now);
    return rc;
  }
  sa->ho_pending = 1;
  ike->ho.sa_id = sa->id;
  ike->stats.renegotiations++;
  return 0;
}

/* ---- PF_KEY MIGRATE (seed 003) and MIGRATE + KMADDRESS (seed 002) ------- */

static int sockaddr6(const m6ike_pfkey_sockaddr *sa, m6ike_addr6 *out) {
  if (sa->family != M6IKE_PFKEY_AF_INET6) {
    return 0;
  }
  memcpy(out->b, sa->addr, 16);
  return 1;
}

/*
 * The kernel already moved its SAs and policies; the key manager brings its
 * own image up to date: every tunnel-mode CHILD_SA whose endpoints are an
 * (old) pair of the X_POLICY gets the (new) pair (child_sa_update).  With
 * KMADDRESS the IKE SA owning them moves to the KMADDRESS addresses; without
 * it nothing tells the key manager where its IKE SA should go, so the IKE
 * SA stays on the old addresses (the ambiguity of seed 002).
 */
static int handle_migrate(m6ike_ikev2 *ike, const m6ike_pfkey_msg *msg,
                          m6ike_tstamp now) {
  m6ike_pfkey_policy pol;
  m6ike_pfkey_kmaddress km;
  int have_km = m6ike_pfkey_get_kmaddress(msg, &km) == 0;
  m6ike_addr6 km_local, km_remote;
  int moved = 0;
  (void)now;
  memset(&km_local, 0, sizeof km_local);
  memset(&km_remote, 0, sizeof km_remote);
  ike->stats.migrates++;
  if (m6ike_pfkey_get_policy(msg, &pol) != 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (have_km && !(sockaddr6(&km.local, &km_local) &&
                   sockaddr6(&km.remote, &km_remote))) {
    have_km = 0;
  }
  for (size_t i = 0; i + 1 < pol.n_requests; i += 2) {
    m6ike_pfkey_ipsecrequest o, n;
    m6ike_addr6 os, od, ns, nd;
    if (m6ike_pfkey_policy_request(&pol, i, &o) != 0 ||
        m6ike_pfkey_policy_request(&pol, i + 1, &n) != 0 || !o.has_addrs ||
        !n.has_addrs || !sockaddr6(&o.src, &os) || !sockaddr6(&o.dst, &od) ||
        !sockaddr6(&n.src, &ns) || !sockaddr6(&n.dst, &nd)) {
      continue;
    }
    for (ike_sa *sa = ike->all; sa; sa = sa->next) {
      int hit = 0;
      if (sa->dead) {
        continue;
      }
      for (child_sa *c = sa->children; c; c = c->next) {
        if (c->info.mode != M6IKE_IKEV2_MODE_TUNNEL ||
            (o.reqid && c->info.reqid && o.reqid != c->info.reqid) ||
            !m6ike_addr6_equal(&c->info.local, &os) ||
            !m6ike_addr6_equal(&c->info.remote, &od)) {
          continue;
        }
        c->info.local = ns;
        c->info.remote = nd;
        hit = 1;
        moved++;
        if (ike->cbs.child_sa_update) {
          ike->cbs.child_sa_update(&c->info, ike->cbs.user_data);
        }
      }
      if (!hit) {
        continue;
      }
      if (have_km) {
        sa->path.local = km_local;
        sa->path.remote = km_remote;
        ike->stats.migrate_ike_moved++;
        ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
                "MIGRATE + KMADDRESS: CHILD_SAs and the IKE SA moved");
      } else {
        ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
                "MIGRATE without KMADDRESS: CHILD_SAs moved, the IKE SA "
                "stays on its old addresses");
      }
    }
  }
  return moved;
}

/* One message: 1 if acted on (an ACQUIRE served, a MIGRATE applied), 0 if
 * not, M6IKE_ERR_IKEV2_NOT_READY for an ACQUIRE without a mobility config.
 * buf may be ike->plain. */
static int handle_one(m6ike_ikev2 *ike, const uint8_t *buf, size_t n,
                      m6ike_tstamp now) {
  m6ike_pfkey_msg msg;
  m6ike_pfkey_reference ref;
  int rc;
  if (m6ike_pfkey_decode(&msg, buf, n, M6IKE_PFKEY_DEC_LENIENT) < 0 ||
      msg.hdr.msg_errno != 0) {
    return 0;
  }
  if (msg.hdr.type == M6IKE_SADB_X_MIGRATE) {
    handle_migrate(ike, &msg, now);
    return 1;
  }
  if (msg.hdr.type != M6IKE_SADB_ACQUIRE) {
    return 0; /* REGISTER replies, EXPIRE: not handled */
  }
  ike->stats.acquires++;
  if (!ike->have_mob) {
    ike_log(ike, M6IKE_IKEV2_LOG_ERROR, 0, "ACQUIRE without a mobility "
                                           "config");
    return M6IKE_ERR_IKEV2_NOT_READY;
  }
  if (m6ike_pfkey_get_reference(&msg, &ref) == 0) {
    rc = with_reference(ike, ref.mpi, now);
    if (rc == 1) {
      ike_sa *sa = NULL;
      for (ike_sa *s = ike->all; s; s = s->next) {
        if (s->id == ike->ho.sa_id) sa = s;
      }
      if (sa) {
        ike_start_queued(ike, sa, now);
      }
      rc = 0;
    }
  } else {
    rc = without_reference(ike, &msg, now);
  }
  return rc == 0 ? 1 : 0;
}

int m6ike_ikev2_process_pfkey(m6ike_ikev2 *ike, m6ike_tstamp now) {
  int n, acted = 0;
  if (ike == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!ike->attached || ike->bus == NULL) {
    return M6IKE_ERR_IKEV2_NOT_READY;
  }
  while ((n = m6ike_pfkey_bus_recv(ike->bus, ike->ep, ike->plain,
                                   ike->cfg.max_msg_in)) >
         0) {
    int rc = handle_one(ike, ike->plain, (size_t)n, now);
    if (rc < 0) {
      return rc;
    }
    acted += rc;
  }
  ike_start_queued(ike, NULL, now); /* deletes what was killed */
  return acted;
}

int m6ike_ikev2_attach_msrd(m6ike_ikev2 *ike, const m6ike_msrd_reader *msrd) {
  if (ike == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (ike->attached) {
    return M6IKE_ERR_INVALID_STATE;
  }
  ike->bus = NULL;
  ike->ep = 0;
  ike->msrd = msrd;
  ike->attached = 1;
  return 0;
}

int m6ike_ikev2_handle_pfkey(m6ike_ikev2 *ike, const uint8_t *msg,
                             size_t len, m6ike_tstamp now) {
  if (ike == NULL || msg == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!ike->attached) {
    return M6IKE_ERR_IKEV2_NOT_READY;
  }
  int rc = handle_one(ike, msg, len, now);
  ike_start_queued(ike, NULL, now);
  return rc;
}
