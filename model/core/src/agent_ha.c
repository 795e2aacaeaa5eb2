/* agent, home agent side: the binding cache, the MSRD writer, the per-MN
 * table (HoA -> tunnel policies and SAs, O(1) by hash), the IKE responder's
 * CHILD_SAs, and what each scheme does when a BU moves a binding. */
#include <string.h>

#include "agent_int.h"
#include "mem.h"

/* ---- the per-MN table ------------------------------------------------------- */

static uint64_t addr_hash(const m6ike_agent *a, const m6ike_addr6 *x) {
  uint64_t h = a->hash_seed ^ 0x9e3779b97f4a7c15ull;
  for (int w = 0; w < 2; w++) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
      v = v << 8 | x->b[8 * w + i];
    }
    h ^= v;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

agent_mn_rec *agent_ha_find(const m6ike_agent *a, const m6ike_addr6 *hoa) {
  if (a->idx_cap == 0) {
    return NULL;
  }
  size_t mask = a->idx_cap - 1;
  for (size_t i = (size_t)addr_hash(a, hoa) & mask;; i = (i + 1) & mask) {
    uint32_t v = a->idx[i];
    if (v == 0) {
      return NULL;
    }
    if (m6ike_addr6_equal(&a->recs[v - 1].hoa, hoa)) {
      return &a->recs[v - 1];
    }
  }
}

static int idx_grow(m6ike_agent *a) {
  size_t ncap = a->idx_cap ? a->idx_cap * 2 : 16;
  uint32_t *n = m6ike_calloc(&a->mem, ncap, sizeof(*n));
  if (n == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  for (size_t r = 0; r < a->n_recs; r++) {
    size_t i = (size_t)addr_hash(a, &a->recs[r].hoa) & (ncap - 1);
    while (n[i] != 0) {
      i = (i + 1) & (ncap - 1);
    }
    n[i] = (uint32_t)(r + 1);
  }
  m6ike_free(&a->mem, a->idx);
  a->idx = n;
  a->idx_cap = ncap;
  return 0;
}

/* Finds or creates the record of hoa.  The pointer is valid until the next
 * call that creates one. */
int agent_ha_get(m6ike_agent *a, const m6ike_addr6 *hoa, agent_mn_rec **out) {
  agent_mn_rec *r = agent_ha_find(a, hoa);
  if (r != NULL) {
    *out = r;
    return 0;
  }
  if (a->cfg.max_mns && a->n_recs >= a->cfg.max_mns) {
    return M6IKE_ERR_LIMIT;
  }
  if ((a->n_recs + 1) * 2 > a->idx_cap) {
    int rc = idx_grow(a);
    if (rc < 0) {
      return rc;
    }
  }
  if (a->n_recs == a->cap_recs) {
    size_t ncap = a->cap_recs ? a->cap_recs * 2 : 4;
    agent_mn_rec *n = m6ike_realloc(&a->mem, a->recs, ncap * sizeof(*n));
    if (n == NULL) {
      return M6IKE_ERR_NOMEM;
    }
    a->recs = n;
    a->cap_recs = ncap;
  }
  r = &a->recs[a->n_recs];
  memset(r, 0, sizeof(*r));
  r->hoa = *hoa;
  r->reqid = REQID_HA_BASE + (uint32_t)a->n_recs;
  size_t mask = a->idx_cap - 1;
  size_t i = (size_t)addr_hash(a, hoa) & mask;
  while (a->idx[i] != 0) {
    i = (i + 1) & mask;
  }
  a->idx[i] = (uint32_t)(++a->n_recs);
  *out = r;
  return 0;
}

void agent_ha_free(m6ike_agent *a) {
  m6ike_free(&a->mem, a->recs);
  m6ike_free(&a->mem, a->idx);
  a->recs = NULL;
  a->idx = NULL;
  a->n_recs = a->cap_recs = a->idx_cap = 0;
}

/* ---- tunnel policies ------------------------------------------------------------- */

static int tunnel_policies(m6ike_agent *a, agent_mn_rec *r,
                           const m6ike_addr6 *coa) {
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  const m6ike_addr6 *ha = &a->cfg.ha;
  /* X_SPDUPDATE on the mobility endpoint: created the first time, the
   * tunnel endpoints moved afterwards (the kernel finds them by selector) */
  int rc = agent_policy(a, M6IKE_IPSEC_DIR_OUTBOUND, &any, 0, &r->hoa, 128,
                        M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                        r->reqid, ha, coa, PRIO_TUNNEL, &r->pol_out);
  if (rc == 0) {
    rc = agent_policy(a, M6IKE_IPSEC_DIR_INBOUND, &r->hoa, 128, &any, 0,
                      M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                      r->reqid, coa, ha, PRIO_TUNNEL, &r->pol_in);
  }
  return rc;
}

/* The MN's own BA policy (HA -> HoA, MH type 6) with its reqid. */
static int ba_policy(m6ike_agent *a, agent_mn_rec *r) {
  if (r->pol_ba != 0) {
    return 0;
  }
  return agent_policy(a, M6IKE_IPSEC_DIR_OUTBOUND, &a->cfg.ha, 128, &r->hoa,
                      128, M6IKE_IPPROTO_MH, M6IKE_MH_BA,
                      M6IKE_IPSEC_MODE_TRANSPORT, r->reqid, NULL, NULL,
                      PRIO_MH, &r->pol_ba);
}

/* ---- the IKE responder's CHILD_SAs --------------------------------------------- */

static int child_hoa(const m6ike_ikev2_child_info *c, m6ike_addr6 *hoa) {
  if (c->mode == M6IKE_IKEV2_MODE_TRANSPORT) {
    *hoa = c->remote;
    return 0;
  }
  if (c->n_ts_remote == 0) {
    return -1;
  }
  memcpy(hoa->b, c->ts_remote[0].start_addr, 16);
  return 0;
}

int agent_ha_child_up(m6ike_agent *a, const m6ike_ikev2_child_info *c) {
  m6ike_addr6 hoa;
  agent_mn_rec *r;
  int tun = c->mode == M6IKE_IKEV2_MODE_TUNNEL;
  if (child_hoa(c, &hoa) < 0 || agent_ha_get(a, &hoa, &r) < 0) {
    return -1;
  }
  uint32_t reqid = r->reqid;
  uint8_t mode = tun ? M6IKE_IPSEC_MODE_TUNNEL : M6IKE_IPSEC_MODE_TRANSPORT;
  int rc = agent_sa_add(a, c->spi_in, &c->remote, &c->local, mode, reqid,
                        c->alg.encr, c->alg.integ, c->enc_in, c->enc_len,
                        c->integ_in, c->integ_len, c->alg.esn, 1, &hoa);
  if (rc < 0) {
    return -1;
  }
  rc = agent_sa_add(a, c->spi_out, &c->local, &c->remote, mode, reqid,
                    c->alg.encr, c->alg.integ, c->enc_out, c->enc_len,
                    c->integ_out, c->integ_len, c->alg.esn, 0, NULL);
  if (rc == 0) {
    rc = tun ? tunnel_policies(a, r, &c->remote) : ba_policy(a, r);
    if (rc < 0) {
      m6ike_ipsec_sa_delete(a->ipsec, c->spi_out, &c->remote);
    }
  }
  if (rc < 0) {
    m6ike_ipsec_sa_delete(a->ipsec, c->spi_in, &c->local);
    return -1;
  }
  agent_pair *p = tun ? &r->tun : &r->tr;
  p->spi_in = c->spi_in;
  p->spi_out = c->spi_out;
  p->local = c->local;
  p->remote = c->remote;
  p->reqid = reqid;
  return 0;
}

void agent_ha_child_down(m6ike_agent *a, const m6ike_ikev2_child_info *c) {
  m6ike_addr6 hoa;
  if (m6ike_ipsec_sa_delete(a->ipsec, c->spi_out, &c->remote) == 0) {
    a->st.sa_deleted++;
  }
  if (child_hoa(c, &hoa) < 0) {
    return;
  }
  agent_mn_rec *r = agent_ha_find(a, &hoa);
  if (r == NULL) {
    return;
  }
  agent_pair *p = c->mode == M6IKE_IKEV2_MODE_TUNNEL ? &r->tun : &r->tr;
  if (p->spi_in == c->spi_in) {
    memset(p, 0, sizeof(*p));
  }
}

void agent_ha_child_update(m6ike_agent *a, const m6ike_ikev2_child_info *c) {
  m6ike_addr6 hoa;
  if (c->mode != M6IKE_IKEV2_MODE_TUNNEL || child_hoa(c, &hoa) < 0) {
    return;
  }
  agent_mn_rec *r = agent_ha_find(a, &hoa);
  if (r == NULL || r->tun.spi_in != c->spi_in) {
    return;
  }
  if (agent_sa_move(a, c->spi_in, &r->tun.local, &c->remote, &c->local,
                    &hoa) < 0 ||
      agent_sa_move(a, c->spi_out, &r->tun.remote, &c->local, &c->remote,
                    &hoa) < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "moving CHILD_SA %u failed",
               (unsigned)c->child_id);
  }
  r->tun.local = c->local;
  r->tun.remote = c->remote;
  tunnel_policies(a, r, &c->remote);
}

/* ---- binding updates ---------------------------------------------------------------- */

static void bc_change(const m6ike_bcache_entry *e, m6ike_bcache_event ev,
                      void *ud) {
  m6ike_agent *a = ud;
  if (ev != M6IKE_BCACHE_REMOVED && ev != M6IKE_BCACHE_EXPIRED) {
    return;
  }
  agent_mn_rec *r = agent_ha_find(a, &e->hoa);
  if (r == NULL) {
    return;
  }
  r->registered = 0;
  if (r->mpi != 0) {
    (void)m6ike_msrd_remove(a->writer, r->mpi, a->now);
    r->mpi = 0;
  }
}

static int msrd_write(m6ike_agent *a, agent_mn_rec *r, const m6ike_mh_msg *bu,
                      const m6ike_mh_msg *ba, const m6ike_addr6 *coa,
                      m6ike_tstamp now) {
  m6ike_msrd_state st = m6ike_addr6_equal(coa, &r->hoa) || ba->u.ba.lifetime == 0
                            ? M6IKE_MSRD_HOME
                            : M6IKE_MSRD_REGISTERED;
  if (r->mpi != 0) {
    m6ike_msrd_change ch;
    memset(&ch, 0, sizeof(ch));
    ch.mask = M6IKE_MSRD_SET_ALL;
    ch.coa = *coa;
    ch.state = st;
    ch.lifetime = (uint32_t)ba->u.ba.lifetime * M6IKE_MH_LIFETIME_UNIT_S;
    ch.seq = bu->u.bu.seq;
    ch.k_bit = (bu->u.bu.flags & M6IKE_BU_FLAG_K) != 0;
    int rc = m6ike_msrd_update(a->writer, r->mpi, &ch, now);
    if (rc != M6IKE_ERR_NOT_FOUND) {
      return rc;
    }
    r->mpi = 0; /* expired meanwhile: insert again */
  }
  if (st == M6IKE_MSRD_HOME) {
    return 0;
  }
  m6ike_msrd_params p;
  memset(&p, 0, sizeof(p));
  p.hoa = r->hoa;
  p.coa = *coa;
  p.ha = a->cfg.ha;
  p.lifetime = (uint32_t)ba->u.ba.lifetime * M6IKE_MH_LIFETIME_UNIT_S;
  p.state = st;
  p.seq = bu->u.bu.seq;
  p.k_bit = (bu->u.bu.flags & M6IKE_BU_FLAG_K) != 0;
  return m6ike_msrd_insert(a->writer, &p, now, &r->mpi);
}

/* What the scheme's mobility side does on the HA when a binding moves. */
static void ha_move(m6ike_agent *a, agent_mn_rec *r, const m6ike_addr6 *coa) {
  const m6ike_addr6 *ha = &a->cfg.ha;
  if (r->tun.spi_out == 0 || m6ike_addr6_equal(&r->tun.remote, coa)) {
    if (r->pol_out != 0) {
      tunnel_policies(a, r, coa);
    }
    return;
  }
  m6ike_addr6 old = r->tun.remote;
  switch (a->cfg.scheme) {
  case M6IKE_SCHEME_MIGRATE:
  case M6IKE_SCHEME_MIGRATE_KMADDRESS: {
    m6ike_addr6 any;
    memset(&any, 0, sizeof(any));
    int km = a->cfg.scheme == M6IKE_SCHEME_MIGRATE_KMADDRESS;
    agent_send_migrate(a, M6IKE_IPSEC_DIR_OUTBOUND, &any, 0, &r->hoa, 128,
                       r->reqid, ha, &old, ha, coa, km);
    agent_send_migrate(a, M6IKE_IPSEC_DIR_INBOUND, &r->hoa, 128, &any, 0,
                       r->reqid, ha, &old, ha, coa, km);
    /* the engine's child_sa_update (r->tun.remote) may have run */
    r = agent_ha_find(a, &r->hoa);
    if (r == NULL) {
      return;
    }
    r->tun.remote = *coa;
    tunnel_policies(a, r, coa);
    break;
  }
  case M6IKE_SCHEME_STATIC:
    agent_sa_move(a, r->tun.spi_out, &old, ha, coa, &r->hoa);
    agent_sa_move(a, r->tun.spi_in, ha, coa, ha, &r->hoa);
    r->tun.remote = *coa;
    tunnel_policies(a, r, coa);
    break;
  default:
    /* msrd, mobike: the key manager moves the SAs (INFORMATIONAL);
     * renegotiate: new SAs come with the new CoA.  The tunnel policy
     * follows the binding now. */
    tunnel_policies(a, r, coa);
    break;
  }
}

int agent_ha_on_mh(m6ike_agent *a, const uint8_t *pkt, size_t len,
                   m6ike_tstamp now) {
  m6ike_ip6_info info;
  m6ike_mh_msg bu, ba;
  uint8_t out[256], enc[256 + M6IKE_IPSEC_MAX_OVERHEAD];
  int rc = m6ike_mh_parse_packet(&info, &bu, pkt, len);
  if (rc < 0) {
    agent_drop(a, rc, NULL);
    return rc;
  }
  if (bu.type != M6IKE_MH_BU) {
    agent_drop(a, M6IKE_ERR_AGENT_NOT_HANDLED, NULL);
    return M6IKE_ERR_AGENT_NOT_HANDLED;
  }
  m6ike_addr6 hoa = info.has_hao ? info.hao : info.src;
  m6ike_addr6 coa = bu.opts.has_alt_coa ? bu.opts.alt_coa : info.src;
  a->st.bu_received++;
  int send = m6ike_bcache_process_bu(a->bc, &hoa, &coa, &bu, now, &ba);
  if (send < 0) {
    agent_drop(a, send, &hoa);
    return send;
  }
  if (ba.u.ba.status < 128) {
    agent_mn_rec *r;
    rc = agent_ha_get(a, &hoa, &r);
    if (rc == M6IKE_ERR_NOMEM) {
      return rc;
    }
    if (rc == 0) {
      int registered =
          !m6ike_addr6_equal(&coa, &hoa) && ba.u.ba.lifetime != 0;
      if (msrd_write(a, r, &bu, &ba, &coa, now) == M6IKE_ERR_NOMEM) {
        return M6IKE_ERR_NOMEM;
      }
      if (registered) {
        ha_move(a, r, &coa);
        r = agent_ha_find(a, &hoa);
      }
      if (r != NULL) {
        r->coa = coa;
        r->registered = (uint8_t)registered;
      }
    }
  }
  agent_event(a, M6IKE_AGENT_EV_BINDING_UPDATED, 0, &hoa, &coa, 0,
              ba.u.ba.seq, ba.u.ba.status);
  if (send != 1) {
    return 0;
  }
  /* BA: HA -> CoA with a Type 2 Routing Header (HoA), under ESP */
  int away = !m6ike_addr6_equal(&coa, &hoa);
  int n = m6ike_mh_build_packet(out, sizeof(out), &a->cfg.ha,
                                away ? &coa : &hoa, NULL, away ? &hoa : NULL,
                                &ba);
  if (n < 0) {
    return n;
  }
  int m = m6ike_ipsec_output(a->ipsec, out, (size_t)n, enc, sizeof(enc), now);
  if (m < 0) {
    agent_drop(a, m, &hoa);
    return m;
  }
  rc = agent_send_ip6(a, enc, (size_t)m);
  if (rc == 0) {
    a->st.esp_out++;
    a->st.ba_sent++;
  }
  return rc;
}

/* ---- provisioning ---------------------------------------------------------------------- */

int m6ike_agent_add_mn(m6ike_agent *a, const m6ike_addr6 *hoa,
                       m6ike_tstamp now) {
  if (a == NULL || hoa == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (a->cfg.role != M6IKE_AGENT_HA) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if (m6ike_addr6_is_unspecified(hoa) || hoa->b[0] == 0xff ||
      !m6ike_addr6_prefix_match(hoa, &a->cfg.home_prefix, a->cfg.home_plen) ||
      m6ike_addr6_equal(hoa, &a->cfg.ha)) {
    return M6IKE_ERR_AGENT_ADDRESS;
  }
  if (a->cfg.scheme != M6IKE_SCHEME_STATIC) {
    return 0;
  }
  a->now = now;
  agent_mn_rec *r = agent_ha_find(a, hoa);
  if (r != NULL && r->provisioned) {
    return M6IKE_ERR_AGENT_STATE;
  }
  uint32_t spi[4];
  uint8_t keys[4 * (36 + 64)];
  size_t ek, ik;
  int rc = agent_static_keys(a, hoa, spi, keys, &ek, &ik);
  if (rc < 0) {
    return rc;
  }
  if ((rc = agent_ha_get(a, hoa, &r)) < 0) {
    memset(keys, 0, sizeof(keys));
    return rc;
  }
  const m6ike_ikev2_algs *alg = &a->esp_algs[0];
  const m6ike_addr6 *ha = &a->cfg.ha;
  const uint8_t *k = keys;
#define KEYS(i) k + (i) * (ek + ik), ek, k + (i) * (ek + ik) + ek, ik
  int n = 0;
  if ((rc = agent_sa_add(a, spi[0], hoa, ha, M6IKE_IPSEC_MODE_TRANSPORT,
                         r->reqid, alg->encr, alg->integ, KEYS(0), alg->esn,
                         1, hoa)) == 0 &&
      ++n &&
      (rc = agent_sa_add(a, spi[1], ha, hoa, M6IKE_IPSEC_MODE_TRANSPORT,
                         r->reqid, alg->encr, alg->integ, KEYS(1), alg->esn,
                         0, NULL)) == 0 &&
      ++n &&
      (rc = agent_sa_add(a, spi[2], hoa, ha, M6IKE_IPSEC_MODE_TUNNEL,
                         r->reqid, alg->encr, alg->integ, KEYS(2), alg->esn,
                         1, hoa)) == 0 &&
      ++n &&
      (rc = agent_sa_add(a, spi[3], ha, hoa, M6IKE_IPSEC_MODE_TUNNEL,
                         r->reqid, alg->encr, alg->integ, KEYS(3), alg->esn,
                         0, NULL)) == 0 &&
      ++n && (rc = ba_policy(a, r)) == 0) {
    rc = tunnel_policies(a, r, hoa);
  }
#undef KEYS
  memset(keys, 0, sizeof(keys));
  if (rc < 0) {
    static const int in_dst[4] = {1, 0, 1, 0};
    for (int i = 0; i < n; i++) {
      m6ike_ipsec_sa_delete(a->ipsec, spi[i], in_dst[i] ? ha : hoa);
    }
    return rc;
  }
  r->tr.spi_in = spi[0];
  r->tr.spi_out = spi[1];
  r->tr.local = *ha;
  r->tr.remote = *hoa;
  r->tr.reqid = r->reqid;
  r->tun.spi_in = spi[2];
  r->tun.spi_out = spi[3];
  r->tun.local = *ha;
  r->tun.remote = *hoa;
  r->tun.reqid = r->reqid;
  r->provisioned = 1;
  return 0;
}

/* ---- creation ------------------------------------------------------------------------------ */

int agent_ha_init(m6ike_agent *a) {
  int rc;
  const m6ike_addr6 *ha = &a->cfg.ha, *pfx = &a->cfg.home_prefix;
  uint8_t plen = a->cfg.home_plen;
  uint8_t seed[8];
  if (a->cbs.rand(seed, sizeof(seed), a->cbs.user_data) != 0) {
    return M6IKE_ERR_RANDOM;
  }
  for (int i = 0; i < 8; i++) {
    a->hash_seed = a->hash_seed << 8 | seed[i];
  }
  m6ike_bcache_config bc;
  memset(&bc, 0, sizeof(bc));
  bc.role = M6IKE_BCACHE_ROLE_HA;
  bc.home_prefixes[0].prefix = *pfx;
  bc.home_prefixes[0].plen = plen;
  bc.n_home_prefixes = 1;
  bc.max_entries = a->cfg.max_mns;
  bc.max_lifetime = a->cfg.lifetime;
  bc.k_supported = a->cfg.scheme != M6IKE_SCHEME_STATIC;
  bc.cb.user_data = a;
  bc.cb.on_change = bc_change;
  bc.cb.rand = agent_rand;
  if ((rc = m6ike_bcache_new(&a->bc, &bc, &a->mem)) < 0) {
    return rc;
  }
  size_t want = a->cfg.expected_mns;
  while (a->idx_cap < want * 2 && want > 0) {
    if ((rc = idx_grow(a)) < 0) {
      return rc;
    }
  }
  /* BU in: any MN of the home prefix (the SA's selector names its HoA);
   * BA out: each MN's own policy (ba_policy), and for a BA no MN policy
   * covers, DISCARD: a BA never leaves in clear */
  if ((rc = agent_policy(a, M6IKE_IPSEC_DIR_INBOUND, pfx, plen, ha, 128,
                         M6IKE_IPPROTO_MH, M6IKE_MH_BU,
                         M6IKE_IPSEC_MODE_TRANSPORT, 0, NULL, NULL, PRIO_MH,
                         NULL)) < 0) {
    return rc;
  }
  m6ike_ipsec_policy d;
  memset(&d, 0, sizeof(d));
  d.priority = PRIO_MH + 1;
  d.dir = M6IKE_IPSEC_DIR_OUTBOUND;
  d.action = M6IKE_IPSEC_ACTION_DISCARD;
  m6ike_ipsec_selector_any(&d.sel);
  d.sel.src = *ha;
  d.sel.src_plen = 128;
  d.sel.dst = *pfx;
  d.sel.dst_plen = plen;
  d.sel.proto = M6IKE_IPPROTO_MH;
  d.sel.mh_type_lo = d.sel.mh_type_hi = M6IKE_MH_BA;
  if ((rc = agent_spd(a, M6IKE_SADB_X_SPDADD, &d, NULL)) < 0) {
    return rc;
  }
  if (a->ike == NULL) {
    return 0;
  }
  /* the IKE responder: any MN with the PSK; CHILD_SAs narrowed to the
   * home prefix (RFC 4877) */
  m6ike_ikev2_peer_cfg pc;
  memset(&pc, 0, sizeof(pc));
  pc.path.local = *ha;
  pc.local_id = a->local_id;
  if (pc.local_id.type == 0) {
    pc.local_id.type = M6IKE_IKEV2_ID_IPV6_ADDR;
    pc.local_id.len = 16;
    memcpy(pc.local_id.data, ha->b, 16);
  }
  pc.remote_id = a->remote_id;
  pc.auth_method = M6IKE_IKEV2_AUTH_PSK;
  memcpy(pc.psk, a->psk, a->cfg.psk_len);
  pc.psk_len = a->cfg.psk_len;
  memcpy(pc.ike, a->ike_algs, sizeof(pc.ike));
  pc.n_ike = a->n_ike;
  pc.mobike = a->cfg.scheme == M6IKE_SCHEME_MOBIKE;
  m6ike_ikev2_child_cfg ch[2];
  memset(ch, 0, sizeof(ch));
  ch[0].mode = M6IKE_IKEV2_MODE_TRANSPORT;
  ch[0].reqid = REQID_MH;
  m6ike_ikev2_ts_set6(&ch[0].ts_local[0], ha, ha, M6IKE_IPPROTO_MH, 0, 65535);
  m6ike_ikev2_ts_set_prefix6(&ch[0].ts_remote[0], pfx, plen);
  ch[0].ts_remote[0].ip_proto = M6IKE_IPPROTO_MH;
  ch[1].mode = M6IKE_IKEV2_MODE_TUNNEL;
  ch[1].reqid = REQID_TUNNEL;
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  m6ike_ikev2_ts_set_prefix6(&ch[1].ts_local[0], &any, 0);
  m6ike_ikev2_ts_set_prefix6(&ch[1].ts_remote[0], pfx, plen);
  for (int i = 0; i < 2; i++) {
    ch[i].n_ts_local = ch[i].n_ts_remote = 1;
    memcpy(ch[i].esp, a->esp_algs, sizeof(a->esp_algs));
    ch[i].n_esp = a->n_esp;
  }
  rc = m6ike_ikev2_add_peer(a->ike, &pc, ch, 2);
  memset(&pc, 0, sizeof(pc));
  return rc == M6IKE_ERR_IKEV2_BAD_CONFIG ? M6IKE_ERR_AGENT_CONFIG : rc;
}
