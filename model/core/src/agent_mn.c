/* agent, mobile node side: the binding update list, the MSRD writer, the
 * schemes' sequences at a move (agent.h, SCHEMES), the handover record. */
#include <string.h>

#include "agent_int.h"

static int pair_present(const agent_pair *p) { return p->spi_out != 0; }

static int away(const m6ike_agent *a) {
  return a->have_coa && !m6ike_addr6_equal(&a->coa, &a->cfg.hoa);
}

/* Every SA the scheme needs at the current CoA is in the SAD. */
static int mn_sa_ready(const m6ike_agent *a) {
  m6ike_ipsec_sa_info i;
  if (!away(a) || !pair_present(&a->tr) || !pair_present(&a->tun)) {
    return 0;
  }
  return m6ike_ipsec_sa_get(a->ipsec, a->tr.spi_out, &a->cfg.ha, &i) == 0 &&
         m6ike_ipsec_sa_get(a->ipsec, a->tr.spi_in, &a->cfg.hoa, &i) == 0 &&
         m6ike_ipsec_sa_get(a->ipsec, a->tun.spi_in, &a->coa, &i) == 0 &&
         m6ike_ipsec_sa_get(a->ipsec, a->tun.spi_out, &a->cfg.ha, &i) == 0 &&
         m6ike_addr6_equal(&i.src, &a->coa);
}

static void ho_update_ike(m6ike_agent *a) {
  if (a->ike == NULL || !a->ho_valid) {
    return;
  }
  m6ike_ikev2_stats es;
  m6ike_ikev2_get_stats(a->ike, &es);
  uint64_t msgs = 0, bytes = 0;
  for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
    uint64_t x = es.msgs_out[i] + es.msgs_in[i];
    a->ho.ike_msgs_x[i] = (uint32_t)(x - a->ho_snap_x[i]);
    msgs += x;
    bytes += es.bytes_out[i] + es.bytes_in[i];
  }
  a->ho.ike_msgs = (uint32_t)(msgs - a->ho_snap_msgs);
  a->ho.ike_bytes = bytes - a->ho_snap_bytes;
}

static void ho_begin(m6ike_agent *a, const m6ike_addr6 *coa,
                     m6ike_tstamp now) {
  uint32_t index = a->ho_valid ? a->ho.index + 1 : 0;
  memset(&a->ho, 0, sizeof(a->ho));
  a->ho.index = index;
  a->ho.scheme = a->cfg.scheme;
  a->ho.old_coa = a->coa;
  a->ho.coa = *coa;
  a->ho.coa_set = now;
  a->ho.bu_sent = a->ho.ba_received = a->ho.sa_ready = M6IKE_TSTAMP_UNSET;
  a->ho.ba_status = -1;
  a->ho_valid = 1;
  a->ho_snap_msgs = a->ho_snap_bytes = 0;
  memset(a->ho_snap_x, 0, sizeof(a->ho_snap_x));
  if (a->ike != NULL) {
    m6ike_ikev2_stats es;
    m6ike_ikev2_get_stats(a->ike, &es);
    for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
      a->ho_snap_x[i] = es.msgs_out[i] + es.msgs_in[i];
      a->ho_snap_msgs += a->ho_snap_x[i];
      a->ho_snap_bytes += es.bytes_out[i] + es.bytes_in[i];
    }
  }
}

int m6ike_agent_get_handover(const m6ike_agent *a, m6ike_agent_handover *out) {
  if (a == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (a->cfg.role != M6IKE_AGENT_MN) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if (!a->ho_valid) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = a->ho;
  return 0;
}

/* ---- BU out, BA in ------------------------------------------------------------ */

static int send_bu(m6ike_agent *a, const m6ike_mh_msg *bu,
                   const m6ike_addr6 *src, const m6ike_addr6 *dst,
                   m6ike_tstamp now, int retx) {
  uint8_t pkt[256], out[256 + M6IKE_IPSEC_MAX_OVERHEAD];
  const m6ike_addr6 *hao =
      m6ike_addr6_equal(src, &a->cfg.hoa) ? NULL : &a->cfg.hoa;
  int n = m6ike_mh_build_packet(pkt, sizeof(pkt), src, dst, hao, NULL, bu);
  if (n < 0) {
    return n;
  }
  int m = m6ike_ipsec_output(a->ipsec, pkt, (size_t)n, out, sizeof(out), now);
  if (m < 0) {
    /* a stock MIPv6 daemon's BU with no usable SA: IPsec drops it and the
     * binding update list's timer sends it again */
    agent_logf(a, M6IKE_IKEV2_LOG_INFO, "BU seq %u dropped by IPsec: %s",
               (unsigned)bu->u.bu.seq, m6ike_strerror(m));
    agent_drop(a, m, &a->cfg.hoa);
    return 0;
  }
  int rc = agent_send_ip6(a, out, (size_t)m);
  if (rc < 0) {
    return rc;
  }
  a->st.esp_out++;
  a->st.bu_sent++;
  if (retx) {
    a->st.bu_retransmits++;
  }
  if (a->ho_valid) {
    if (a->ho.bu_sent == M6IKE_TSTAMP_UNSET) {
      a->ho.bu_sent = now;
    }
    a->ho.bu_count++;
  }
  agent_event(a, M6IKE_AGENT_EV_BU_SENT, a->mpi, &a->cfg.hoa, src, 0,
              bu->u.bu.seq, retx);
  return 0;
}

static void bul_event(m6ike_bul *bul, m6ike_bul_event ev,
                      const m6ike_mh_msg *msg, void *ud) {
  m6ike_agent *a = ud;
  (void)bul;
  switch (ev) {
  case M6IKE_BUL_EV_BU_SENT:
    a->bu_retx_flag = 0;
    break;
  case M6IKE_BUL_EV_RETRANSMIT:
    a->bu_retx_flag = 1;
    break;
  case M6IKE_BUL_EV_REGISTERED: {
    m6ike_msrd_change ch;
    memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_STATE;
    ch.state = M6IKE_MSRD_REGISTERED;
    (void)m6ike_msrd_update(a->writer, a->mpi, &ch, a->now);
    break;
  }
  case M6IKE_BUL_EV_DEREGISTERED: {
    m6ike_msrd_change ch;
    memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_STATE;
    ch.state = M6IKE_MSRD_HOME;
    (void)m6ike_msrd_update(a->writer, a->mpi, &ch, a->now);
    break;
  }
  case M6IKE_BUL_EV_GAVE_UP:
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "binding update: gave up");
    break;
  default:
    break;
  }
  (void)msg;
}

int agent_mn_on_mh(m6ike_agent *a, const uint8_t *pkt, size_t len,
                   m6ike_tstamp now) {
  m6ike_ip6_info info;
  m6ike_mh_msg msg;
  int rc = m6ike_mh_parse_packet(&info, &msg, pkt, len);
  if (rc < 0) {
    agent_drop(a, rc, NULL);
    return rc;
  }
  if (msg.type != M6IKE_MH_BA) {
    agent_drop(a, M6IKE_ERR_AGENT_NOT_HANDLED, NULL);
    return M6IKE_ERR_AGENT_NOT_HANDLED;
  }
  rc = m6ike_bul_read_ba(a->bul, &msg, now);
  if (rc < 0) {
    agent_drop(a, rc, &a->cfg.hoa);
    return rc;
  }
  a->st.ba_received++;
  a->ba_status_last = msg.u.ba.status;
  if (a->ho_valid && msg.u.ba.status != M6IKE_BA_SEQ_OUT_OF_WINDOW &&
      a->ho.ba_received == M6IKE_TSTAMP_UNSET) {
    a->ho.ba_received = now;
    a->ho.ba_status = msg.u.ba.status;
  }
  agent_event(a, M6IKE_AGENT_EV_BA_RECEIVED, a->mpi, &a->cfg.hoa, &a->coa, 0,
              msg.u.ba.seq, msg.u.ba.status);
  return 0;
}

/* ---- the key manager's view ----------------------------------------------------- */

void agent_mn_child_up(m6ike_agent *a, const m6ike_ikev2_child_info *c) {
  agent_pair *p = c->mode == M6IKE_IKEV2_MODE_TUNNEL ? &a->tun : &a->tr;
  p->spi_in = c->spi_in;
  p->spi_out = c->spi_out;
  p->local = c->local;
  p->remote = c->remote;
  p->reqid = c->reqid;
}

void agent_mn_child_down(m6ike_agent *a, const m6ike_ikev2_child_info *c) {
  agent_pair *p = c->mode == M6IKE_IKEV2_MODE_TUNNEL ? &a->tun : &a->tr;
  if (p->spi_in == c->spi_in) {
    memset(p, 0, sizeof(*p));
  }
}

void agent_mn_child_update(m6ike_agent *a, const m6ike_ikev2_child_info *c) {
  agent_pair *p = c->mode == M6IKE_IKEV2_MODE_TUNNEL ? &a->tun : &a->tr;
  if (p->spi_in != c->spi_in) {
    return;
  }
  if (agent_sa_move(a, c->spi_in, &p->local, &c->remote, &c->local,
                    &a->cfg.hoa) < 0 ||
      agent_sa_move(a, c->spi_out, &p->remote, &c->local, &c->remote,
                    &a->cfg.hoa) < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "moving CHILD_SA %u failed",
               (unsigned)c->child_id);
  }
  p->local = c->local;
  p->remote = c->remote;
}

/* ---- creation ----------------------------------------------------------------------- */

static void ts_host(m6ike_ikev2_ts *t, const m6ike_addr6 *x, uint8_t proto) {
  m6ike_ikev2_ts_set6(t, x, x, proto, 0, 65535);
}

static int install_static(m6ike_agent *a) {
  uint32_t spi[4];
  uint8_t keys[4 * (36 + 64)];
  size_t ek, ik;
  const m6ike_ikev2_algs *alg = &a->esp_algs[0];
  const m6ike_addr6 *hoa = &a->cfg.hoa, *ha = &a->cfg.ha;
  int rc = agent_static_keys(a, hoa, spi, keys, &ek, &ik);
  if (rc < 0) {
    return rc;
  }
  const uint8_t *k = keys;
#define KEYS(i) k + (i) * (ek + ik), ek, k + (i) * (ek + ik) + ek, ik
  /* order: transport MN->HA, HA->MN, tunnel MN->HA, HA->MN; the tunnel
   * pair starts at the HoA (at home) and follows the CoA */
  if ((rc = agent_sa_add(a, spi[0], hoa, ha, M6IKE_IPSEC_MODE_TRANSPORT,
                         REQID_MH, alg->encr, alg->integ, KEYS(0), alg->esn,
                         0, NULL)) < 0 ||
      (rc = agent_sa_add(a, spi[1], ha, hoa, M6IKE_IPSEC_MODE_TRANSPORT,
                         REQID_MH, alg->encr, alg->integ, KEYS(1), alg->esn,
                         1, hoa)) < 0 ||
      (rc = agent_sa_add(a, spi[2], hoa, ha, M6IKE_IPSEC_MODE_TUNNEL,
                         REQID_TUNNEL, alg->encr, alg->integ, KEYS(2),
                         alg->esn, 0, NULL)) < 0 ||
      (rc = agent_sa_add(a, spi[3], ha, hoa, M6IKE_IPSEC_MODE_TUNNEL,
                         REQID_TUNNEL, alg->encr, alg->integ, KEYS(3),
                         alg->esn, 1, hoa)) < 0) {
    memset(keys, 0, sizeof(keys));
    return rc;
  }
#undef KEYS
  memset(keys, 0, sizeof(keys));
  a->tr.spi_out = spi[0];
  a->tr.spi_in = spi[1];
  a->tr.local = *hoa;
  a->tr.remote = *ha;
  a->tr.reqid = REQID_MH;
  a->tun.spi_out = spi[2];
  a->tun.spi_in = spi[3];
  a->tun.local = *hoa;
  a->tun.remote = *ha;
  a->tun.reqid = REQID_TUNNEL;
  return 0;
}

int agent_mn_init(m6ike_agent *a) {
  int rc;
  a->retry_at = M6IKE_TSTAMP_UNSET;
  const m6ike_addr6 *hoa = &a->cfg.hoa, *ha = &a->cfg.ha;
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  m6ike_bul_config bc;
  memset(&bc, 0, sizeof(bc));
  bc.hoa = *hoa;
  bc.ha = *ha;
  bc.lifetime = a->cfg.lifetime;
  bc.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H |
             (a->cfg.scheme != M6IKE_SCHEME_STATIC ? M6IKE_BU_FLAG_K : 0);
  bc.initial_bindack_timeout_first_reg = a->cfg.bindack_timeout_first_reg;
  bc.initial_bindack_timeout = a->cfg.bindack_timeout;
  bc.max_bindack_timeout = a->cfg.bindack_max;
  bc.cb.user_data = a;
  bc.cb.rand = agent_rand;
  bc.cb.on_event = bul_event;
  if ((rc = m6ike_bul_new(&a->bul, &bc, &a->mem)) < 0) {
    return rc == M6IKE_ERR_BINDING_CFG_TIMEOUT ? M6IKE_ERR_AGENT_CONFIG : rc;
  }
  /* RFC 4877 §4.3 policies (agent.h, POLICIES) */
  if ((rc = agent_policy(a, M6IKE_IPSEC_DIR_OUTBOUND, hoa, 128, ha, 128,
                         M6IKE_IPPROTO_MH, M6IKE_MH_BU,
                         M6IKE_IPSEC_MODE_TRANSPORT, REQID_MH, NULL, NULL,
                         PRIO_MH, NULL)) < 0 ||
      (rc = agent_policy(a, M6IKE_IPSEC_DIR_INBOUND, ha, 128, hoa, 128,
                         M6IKE_IPPROTO_MH, M6IKE_MH_BA,
                         M6IKE_IPSEC_MODE_TRANSPORT, REQID_MH, NULL, NULL,
                         PRIO_MH, NULL)) < 0 ||
      (rc = agent_policy(a, M6IKE_IPSEC_DIR_OUTBOUND, hoa, 128, &any, 0,
                         M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                         REQID_TUNNEL, hoa, ha, PRIO_TUNNEL,
                         &a->pol_tun_out)) < 0 ||
      (rc = agent_policy(a, M6IKE_IPSEC_DIR_INBOUND, &any, 0, hoa, 128,
                         M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                         REQID_TUNNEL, ha, hoa, PRIO_TUNNEL,
                         &a->pol_tun_in)) < 0) {
    return rc;
  }
  if (a->cfg.scheme == M6IKE_SCHEME_STATIC) {
    return install_static(a);
  }
  /* what the key manager negotiates (RFC 4877): children[0] the transport
   * pair for the Mobility Header, HoA <-> HA; children[1] the tunnel pair
   * HoA <-> anything.  Addresses are explicit (a stock daemon's static
   * configuration); the MSRD supplies the CoA. */
  m6ike_ikev2_mobility_cfg mc;
  memset(&mc, 0, sizeof(mc));
  mc.peer.path.remote = *ha;
  mc.peer.local_id = a->local_id;
  if (mc.peer.local_id.type == 0) {
    mc.peer.local_id.type = M6IKE_IKEV2_ID_IPV6_ADDR;
    mc.peer.local_id.len = 16;
    memcpy(mc.peer.local_id.data, hoa->b, 16);
  }
  mc.peer.remote_id = a->remote_id;
  mc.peer.auth_method = M6IKE_IKEV2_AUTH_PSK;
  memcpy(mc.peer.psk, a->psk, a->cfg.psk_len);
  mc.peer.psk_len = a->cfg.psk_len;
  memcpy(mc.peer.ike, a->ike_algs, sizeof(mc.peer.ike));
  mc.peer.n_ike = a->n_ike;
  mc.peer.mobike = a->cfg.scheme == M6IKE_SCHEME_MOBIKE;
  m6ike_ikev2_child_cfg *tr = &mc.children[0], *tu = &mc.children[1];
  tr->mode = M6IKE_IKEV2_MODE_TRANSPORT;
  tr->reqid = REQID_MH;
  ts_host(&tr->ts_local[0], hoa, M6IKE_IPPROTO_MH);
  ts_host(&tr->ts_remote[0], ha, M6IKE_IPPROTO_MH);
  tr->n_ts_local = tr->n_ts_remote = 1;
  tu->mode = M6IKE_IKEV2_MODE_TUNNEL;
  tu->reqid = REQID_TUNNEL;
  ts_host(&tu->ts_local[0], hoa, 0);
  m6ike_ikev2_ts_set_prefix6(&tu->ts_remote[0], &any, 0);
  tu->n_ts_local = tu->n_ts_remote = 1;
  for (int i = 0; i < 2; i++) {
    memcpy(mc.children[i].esp, a->esp_algs, sizeof(a->esp_algs));
    mc.children[i].n_esp = a->n_esp;
  }
  mc.n_children = 2;
  rc = m6ike_ikev2_set_mobility(a->ike, &mc);
  memset(&mc, 0, sizeof(mc));
  return rc == M6IKE_ERR_IKEV2_BAD_CONFIG ? M6IKE_ERR_AGENT_CONFIG : rc;
}

/* ---- the move --------------------------------------------------------------------------- */

static int msrd_write(m6ike_agent *a, const m6ike_addr6 *coa,
                      m6ike_msrd_state state, m6ike_tstamp now) {
  if (a->mpi == 0) {
    m6ike_msrd_params p;
    memset(&p, 0, sizeof(p));
    p.hoa = a->cfg.hoa;
    p.coa = *coa;
    p.ha = a->cfg.ha;
    p.state = state;
    p.k_bit = a->cfg.scheme != M6IKE_SCHEME_STATIC;
    return m6ike_msrd_insert(a->writer, &p, now, &a->mpi);
  }
  m6ike_msrd_change ch;
  memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_STATE;
  ch.coa = *coa;
  ch.state = state;
  return m6ike_msrd_update(a->writer, a->mpi, &ch, now);
}

static void ike_op_begin(m6ike_agent *a, int kind) {
  a->ike_op = kind;
  a->ike_op_start = a->now;
  if (a->ike) {
    m6ike_ikev2_stats es;
    m6ike_ikev2_get_stats(a->ike, &es);
    a->ike_op_info_in = es.msgs_in[M6IKE_IKEV2_X_INFORMATIONAL];
  }
  agent_event(a, M6IKE_AGENT_EV_IKE_STARTED, a->mpi, &a->cfg.hoa, &a->coa, 0,
              0, kind);
}

/* the tunnel policies' endpoints follow the CoA */
static int move_policies(m6ike_agent *a, const m6ike_addr6 *coa) {
  /* X_SPDUPDATE on the mobility endpoint with the same selectors as at
   * creation (agent_mn_init): the kernel finds each policy by selector and
   * direction and moves its tunnel endpoints */
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  const m6ike_addr6 *hoa = &a->cfg.hoa, *ha = &a->cfg.ha;
  int rc = agent_policy(a, M6IKE_IPSEC_DIR_OUTBOUND, hoa, 128, &any, 0,
                        M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                        REQID_TUNNEL, coa, ha, PRIO_TUNNEL, NULL);
  if (rc == 0) {
    rc = agent_policy(a, M6IKE_IPSEC_DIR_INBOUND, &any, 0, hoa, 128,
                      M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                      REQID_TUNNEL, ha, coa, PRIO_TUNNEL, NULL);
  }
  return rc;
}

enum { OP_NONE = 0, OP_ENGINE = 1, OP_MIGRATE = 2, OP_MOBIKE = 3 };

int m6ike_agent_set_coa(m6ike_agent *a, const m6ike_addr6 *coa,
                        m6ike_tstamp now) {
  int rc;
  if (a == NULL || coa == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (a->cfg.role != M6IKE_AGENT_MN) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if (m6ike_addr6_is_unspecified(coa) || coa->b[0] == 0xff) {
    return M6IKE_ERR_BINDING_BAD_COA;
  }
  if (a->have_coa && m6ike_addr6_equal(coa, &a->coa)) {
    return 0;
  }
  if (!a->have_coa && m6ike_addr6_equal(coa, &a->cfg.hoa)) {
    return 0; /* starting at home: nothing to register */
  }
  a->now = now;
  m6ike_addr6 old = a->have_coa ? a->coa : a->cfg.hoa;
  ho_begin(a, coa, now);
  agent_event(a, M6IKE_AGENT_EV_COA_SET, a->mpi, &a->cfg.hoa, coa, 0, 0, 0);
  rc = m6ike_bul_move(a->bul, coa, now);
  if (rc < 0) {
    return rc;
  }
  a->have_coa = 1;
  a->coa = *coa;
  a->hold_bu = 0;
  a->resend_on_ready = 0;
  a->ike_op = OP_NONE;
  a->retry_at = M6IKE_TSTAMP_UNSET;
  a->retry_backoff = 0;
  int home = m6ike_addr6_equal(coa, &a->cfg.hoa);
  rc = msrd_write(a, coa,
                  home ? M6IKE_MSRD_DEREGISTERING : M6IKE_MSRD_REGISTERING,
                  now);
  if (rc < 0) {
    return rc == M6IKE_ERR_NOMEM ? rc : 0;
  }
  if (home) {
    return agent_mn_progress(a, now);
  }
  int first = !pair_present(&a->tr);
  const m6ike_addr6 *ha = &a->cfg.ha;
  switch (a->cfg.scheme) {
  case M6IKE_SCHEME_MSRD:
    /* MSRD updated above; ACQUIRE + Reference: bootstrap or direct update */
    move_policies(a, coa);
    a->hold_bu = first;
    ike_op_begin(a, OP_ENGINE);
    rc = agent_send_acquire(a, coa, ha, a->mpi);
    break;
  case M6IKE_SCHEME_RENEGOTIATE:
    /* the kernel's ACQUIRE for the tunnel template, no Reference; the BU
     * goes now, through the SPD (stock) */
    move_policies(a, coa);
    a->resend_on_ready = a->cfg.bu_on_sa_up;
    ike_op_begin(a, OP_ENGINE);
    rc = agent_send_acquire(a, coa, ha, 0);
    break;
  case M6IKE_SCHEME_MIGRATE:
  case M6IKE_SCHEME_MIGRATE_KMADDRESS:
  case M6IKE_SCHEME_MOBIKE:
    if (first) {
      /* bootstrap as a stock daemon would (no SA to move yet) */
      move_policies(a, coa);
      a->hold_bu = 1;
      ike_op_begin(a, OP_ENGINE);
      rc = agent_send_acquire(a, coa, ha, 0);
      break;
    }
    if (a->cfg.scheme == M6IKE_SCHEME_MOBIKE) {
      move_policies(a, coa);
      ike_op_begin(a, OP_MOBIKE);
      rc = a->ike_sa ? m6ike_ikev2_mobike_update(a->ike, a->ike_sa, coa, now)
                     : M6IKE_ERR_IKEV2_NO_SA;
      if (rc < 0) {
        agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "MOBIKE update: %s",
                   m6ike_strerror(rc));
        agent_event(a, M6IKE_AGENT_EV_IKE_COMPLETED, a->mpi, &a->cfg.hoa,
                    coa, 0, 0, rc);
        a->ike_op = OP_NONE;
        rc = rc == M6IKE_ERR_NOMEM ? rc : 0;
      }
      break;
    } else {
      /* X_MIGRATE for the outbound and the inbound tunnel policy: the
       * kernel moves policy and SAs, the key manager follows */
      m6ike_addr6 any;
      memset(&any, 0, sizeof(any));
      int km = a->cfg.scheme == M6IKE_SCHEME_MIGRATE_KMADDRESS;
      /* the old endpoint is where the tunnel SAs are now (after a visit
       * home that is the CoA before it, not the HoA) */
      if (pair_present(&a->tun)) {
        old = a->tun.local;
      }
      ike_op_begin(a, OP_MIGRATE);
      rc = agent_send_migrate(a, M6IKE_IPSEC_DIR_OUTBOUND, &a->cfg.hoa, 128,
                              &any, 0, REQID_TUNNEL, &old, ha, coa, ha, km);
      if (rc == 0) {
        rc = agent_send_migrate(a, M6IKE_IPSEC_DIR_INBOUND, &any, 0,
                                &a->cfg.hoa, 128, REQID_TUNNEL, &old, ha, coa,
                                ha, km);
      }
      move_policies(a, coa); /* in case the kernel found nothing to move */
      if (pair_present(&a->tun)) {
        a->tun.local = *coa;
      }
      agent_event(a, M6IKE_AGENT_EV_IKE_COMPLETED, a->mpi, &a->cfg.hoa, coa,
                  0, 0, rc);
      a->ike_op = OP_NONE;
      rc = 0;
    }
    break;
  case M6IKE_SCHEME_STATIC:
    move_policies(a, coa);
    rc = agent_sa_move(a, a->tun.spi_out, ha, coa, ha, &a->cfg.hoa);
    if (rc == 0) {
      rc = agent_sa_move(a, a->tun.spi_in, &a->tun.local, ha, coa,
                         &a->cfg.hoa);
    }
    a->tun.local = *coa;
    break;
  }
  if (rc < 0 && rc != M6IKE_ERR_NOMEM) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "move to the new CoA: %s",
               m6ike_strerror(rc));
    rc = 0;
  }
  if (rc < 0) {
    return rc;
  }
  rc = agent_ike_flush(a, now);
  int prc = agent_mn_progress(a, now);
  return rc < 0 ? rc : prc;
}

/* ---- after every call ------------------------------------------------------------------- */

/* A key-manager operation failed (retransmissions exhausted, refused) and
 * the SAs at the CoA are not there: ask again later, as a kernel does for
 * the next packet once its ACQUIRE hold-down is over (1 s, doubling to
 * 32 s). */
static void schedule_retry(m6ike_agent *a, m6ike_tstamp now) {
  a->retry_backoff = a->retry_backoff == 0 ? M6IKE_SECONDS
                     : a->retry_backoff >= 16 * M6IKE_SECONDS
                         ? 32 * M6IKE_SECONDS
                         : a->retry_backoff * 2;
  a->retry_at = now + a->retry_backoff;
  agent_logf(a, M6IKE_IKEV2_LOG_INFO, "SAs at the CoA missing: ACQUIRE again "
             "in %u ms", (unsigned)(a->retry_backoff / M6IKE_MILLISECONDS));
}

static void ike_op_end(m6ike_agent *a, int result, m6ike_tstamp now) {
  a->ike_op = OP_NONE;
  agent_event(a, M6IKE_AGENT_EV_IKE_COMPLETED, a->mpi, &a->cfg.hoa, &a->coa,
              0, 0, result);
  if (result != 0 && !mn_sa_ready(a) && away(a)) {
    schedule_retry(a, now);
  }
}

static void ike_op_check(m6ike_agent *a, m6ike_tstamp now) {
  if (a->ike_op == OP_NONE || a->ike == NULL) {
    return;
  }
  if (a->ike_op == OP_ENGINE) {
    m6ike_ikev2_handover h;
    if (m6ike_ikev2_get_handover(a->ike, &h) == 0 &&
        h.completed != M6IKE_TSTAMP_UNSET && h.started >= a->ike_op_start) {
      ike_op_end(a, h.result, now);
    }
  } else if (a->ike_op == OP_MOBIKE) {
    m6ike_ikev2_stats es;
    m6ike_ikev2_get_stats(a->ike, &es);
    if (es.msgs_in[M6IKE_IKEV2_X_INFORMATIONAL] > a->ike_op_info_in) {
      ike_op_end(a, 0, now);
    } else if (a->ike_sa == 0) {
      ike_op_end(a, M6IKE_ERR_IKEV2_TIMEOUT, now); /* the IKE SA died */
    }
  }
}

/* The retry: the ACQUIRE the scheme's bootstrap uses (with the Reference
 * for msrd, as the kernel's without it otherwise). */
static void retry(m6ike_agent *a, m6ike_tstamp now) {
  a->retry_at = M6IKE_TSTAMP_UNSET;
  if (!away(a) || mn_sa_ready(a) || a->cfg.scheme == M6IKE_SCHEME_STATIC) {
    return;
  }
  if (!pair_present(&a->tr)) {
    a->hold_bu = a->cfg.scheme != M6IKE_SCHEME_RENEGOTIATE;
  }
  ike_op_begin(a, OP_ENGINE);
  (void)agent_send_acquire(a, &a->coa, &a->cfg.ha,
                           a->cfg.scheme == M6IKE_SCHEME_MSRD ? a->mpi : 0);
  (void)agent_ike_flush(a, now);
}

int agent_mn_progress(m6ike_agent *a, m6ike_tstamp now) {
  int rc = 0;
  if (!a->have_coa) {
    return 0;
  }
  if (a->retry_at != M6IKE_TSTAMP_UNSET && a->retry_at <= now) {
    retry(a, now);
  }
  if (a->hold_bu && pair_present(&a->tr)) {
    a->hold_bu = 0;
  }
  if (!a->hold_bu) {
    m6ike_mh_msg bu;
    m6ike_addr6 src, dst;
    for (int i = 0; i < 4 && rc == 0; i++) {
      if (m6ike_bul_write_bu(a->bul, now, &bu, &src, &dst) != 1) {
        break;
      }
      a->last_bu = bu;
      a->last_bu_src = src;
      a->have_last_bu = 1;
      rc = send_bu(a, &bu, &src, &dst, now, a->bu_retx_flag);
    }
  }
  int ready = mn_sa_ready(a);
  if (ready && a->ho_valid && a->ho.sa_ready == M6IKE_TSTAMP_UNSET) {
    a->ho.sa_ready = now;
    agent_event(a, M6IKE_AGENT_EV_SA_READY, a->mpi, &a->cfg.hoa, &a->coa, 0,
                0, 0);
  }
  if (ready && a->resend_on_ready && a->have_last_bu &&
      m6ike_bul_get_state(a->bul) == M6IKE_BUL_REGISTERING) {
    /* bu_on_sa_up: the BU the SPD dropped goes again at once (same seq:
     * the HA never saw it) */
    a->resend_on_ready = 0;
    if (rc == 0) {
      rc = send_bu(a, &a->last_bu, &a->last_bu_src, &a->cfg.ha, now, 1);
    }
  }
  ike_op_check(a, now);
  if (ready) {
    a->retry_backoff = 0;
  }
  ho_update_ike(a);
  if (a->ho_valid) {
    a->ho.complete = a->ho.ba_received != M6IKE_TSTAMP_UNSET &&
                     (a->ho.sa_ready != M6IKE_TSTAMP_UNSET ||
                      m6ike_addr6_equal(&a->coa, &a->cfg.hoa));
  }
  return rc;
}

m6ike_tstamp agent_mn_expiry(const m6ike_agent *a) {
  m6ike_tstamp t = a->hold_bu ? M6IKE_TSTAMP_UNSET : m6ike_bul_get_expiry(a->bul);
  return a->retry_at < t ? a->retry_at : t;
}
