/* mobility: the mobility side of a node (m6ike/mobility.h): binding update
 * list or binding cache, the MSRD writer, the schemes' sequences, all
 * actions on IPsec and the key manager as PF_KEY bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "hoa_table.h"
#include "m6ike/mobility.h"
#include "mem.h"

const char *m6ike_mobility_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_MOBILITY_PFKEY:
    return "mobility: the PF_KEY bytes read do not decode";
  case M6IKE_ERR_MOBILITY_REFUSED:
    return "mobility: the kernel refused one of our PF_KEY messages";
  case M6IKE_ERR_MOBILITY_SEND:
    return "mobility: the host's send_pfkey callback failed";
  case M6IKE_ERR_MOBILITY_IGNORED:
    return "mobility: message valid but not for this node or role";
  default:
    return NULL;
  }
}

/* One SA pair as the notifications told us (SPIs host order, 0 = none). */
typedef struct mob_pair {
  uint32_t spi_in, spi_out;
  m6ike_addr6 in_src, in_dst, out_src, out_dst;
  uint32_t reqid;
} mob_pair;

/* HA: one mobile node. */
typedef struct mob_rec {
  m6ike_addr6 hoa;
  m6ike_addr6 coa; /* registered CoA */
  uint32_t mpi;
  uint32_t reqid; /* from the key manager's ADD (SA2), 0 until then */
  uint8_t pol_tun, pol_ba, provisioned, registered;
  mob_pair tr, tun;
} mob_rec;

enum { OP_NONE = 0, OP_ENGINE = 1, OP_MIGRATE = 2, OP_MOBIKE = 3 };

struct m6ike_mobility {
  m6ike_agent_config cfg;
  m6ike_mobility_callbacks cbs;
  const m6ike_mem *mem;
  m6ike_msrd *db;
  m6ike_msrd_writer *writer;
  m6ike_tstamp now;
  uint32_t seq;
  m6ike_agent_stats st;
  uint64_t ike_x[M6IKE_IKEV2_X_COUNT], ike_bytes;
  /* MN */
  m6ike_bul *bul;
  m6ike_addr6 coa;
  int have_coa;
  uint32_t mpi;
  mob_pair tr, tun;
  int hold_bu, bu_retx_flag;
  /* set_coa asked the key manager (ACQUIRE, MOBIKE): the BU waits until the
   * next entry point, so that it follows what the key manager does with
   * the request (as the composite agent's synchronous call does) */
  m6ike_tstamp kick;
  m6ike_mh_msg last_bu;
  m6ike_addr6 last_bu_src;
  int have_last_bu, resend_on_ready;
  int ike_op;
  m6ike_tstamp retry_at, retry_backoff, give_up;
  int ho_valid;
  m6ike_agent_handover ho;
  /* HA LOST (cfg.ha_lost_after): a refresh of the registered binding is
   * out, its retransmissions so far, and a pending declaration (checked at
   * the end of mn_progress; status as the event's) */
  int refreshing;
  unsigned refresh_retx;
  int ha_lost_due, ha_lost_status;
  uint64_t snap_x[M6IKE_IKEV2_X_COUNT], snap_bytes;
  /* HA */
  m6ike_bcache *bc;
  hoa_table recs; /* of mob_rec */
};

/* ---- helpers ----------------------------------------------------------------- */

static void mob_event(m6ike_mobility *m, m6ike_agent_event_kind kind,
                      uint32_t mpi, const m6ike_addr6 *hoa,
                      const m6ike_addr6 *coa, uint32_t spi, uint16_t seq,
                      int status) {
  agent_event_emit_(m->cbs.event, m->cbs.user_data, kind, m->now, mpi, hoa,
                    coa, spi, seq, status);
}

static void mob_logf(m6ike_mobility *m, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  agent_vlog_(m->cbs.log, m->cbs.user_data, level, fmt, ap);
  va_end(ap);
}

static void mob_drop(m6ike_mobility *m, int reason, const m6ike_addr6 *hoa) {
  if (reason <= -200 && reason > -400) {
    m->st.drop_malformed++;
  } else if (reason == M6IKE_ERR_MOBILITY_IGNORED) {
    m->st.drop_not_handled++;
  } else if (reason == M6IKE_ERR_IPSEC_ACQUIRE ||
             reason == M6IKE_ERR_IPSEC_NO_SA) {
    m->st.drop_no_sa++;
  } else if (reason <= -700 && reason > -800) {
    m->st.drop_esp++;
  }
  mob_event(m, M6IKE_AGENT_EV_DROP, 0, hoa, NULL, 0, 0, reason);
}

static int mob_rand(uint8_t *d, size_t n, void *ud) {
  m6ike_mobility *m = ud;
  return m->cbs.rand(d, n, m->cbs.user_data);
}

static int pfkey_out(m6ike_mobility *m, const uint8_t *msg, size_t len,
                     int as_kernel) {
  if (m->cbs.send_pfkey == NULL ||
      m->cbs.send_pfkey(msg, len, as_kernel, m->cbs.user_data) != 0) {
    mob_logf(m, M6IKE_IKEV2_LOG_ERROR, "PF_KEY %s not sent",
             m6ike_pfkey_msg_type_name(msg[1]));
    return M6IKE_ERR_MOBILITY_SEND;
  }
  return 0;
}

/* A plaintext packet to IPsec: 0 left, < 0 IPsec's drop (reported),
 * M6IKE_ERR_AGENT_SEND. *left = 1 if it left. */
static int ip6_out(m6ike_mobility *m, const uint8_t *pkt, size_t len,
                   const m6ike_addr6 *hoa, int *left) {
  *left = 0;
  if (m->cbs.send_ip6 == NULL) {
    m->st.drop_send++;
    return M6IKE_ERR_AGENT_SEND;
  }
  int rc = m->cbs.send_ip6(pkt, len, m->cbs.user_data);
  if (rc > 0) {
    m->st.drop_send++;
    return M6IKE_ERR_AGENT_SEND;
  }
  if (rc < 0) {
    mob_drop(m, rc, hoa);
    return rc;
  }
  *left = 1;
  return 0;
}

static int spd(m6ike_mobility *m, uint8_t type, const m6ike_ipsec_policy *p) {
  uint8_t msg[512];
  int n = m6ike_ipsec_policy_pfkey(p, type, ++m->seq, 0, msg, sizeof(msg));
  if (n < 0) {
    return n;
  }
  return pfkey_out(m, msg, (size_t)n, 0);
}

static int policy(m6ike_mobility *m, uint8_t dir, const m6ike_addr6 *src,
                  uint8_t splen, const m6ike_addr6 *dst, uint8_t dplen,
                  uint8_t proto, int mh_type, uint8_t mode, uint32_t reqid,
                  const m6ike_addr6 *tsrc, const m6ike_addr6 *tdst,
                  uint32_t prio) {
  m6ike_ipsec_policy p;
  memset(&p, 0, sizeof(p));
  p.priority = prio;
  p.dir = dir;
  p.action = M6IKE_IPSEC_ACTION_PROTECT;
  m6ike_ipsec_selector_any(&p.sel);
  p.sel.src = *src;
  p.sel.src_plen = splen;
  p.sel.dst = *dst;
  p.sel.dst_plen = dplen;
  p.sel.proto = proto;
  if (mh_type >= 0) {
    p.sel.mh_type_lo = p.sel.mh_type_hi = (uint8_t)mh_type;
  }
  p.mode = mode;
  p.level = M6IKE_IPSEC_LEVEL_REQUIRE;
  p.reqid = reqid;
  if (mode == M6IKE_IPSEC_MODE_TUNNEL) {
    p.tun_src = *tsrc;
    p.tun_dst = *tdst;
  }
  return spd(m, M6IKE_SADB_X_SPDUPDATE, &p);
}

/* SADB_ACQUIRE for the tunnel template src -> dst; mpi != 0: ours, with
 * the Reference; else as the kernel's. */
static int send_acquire(m6ike_mobility *m, const m6ike_addr6 *src,
                        const m6ike_addr6 *dst, uint32_t mpi) {
  uint8_t buf[512];
  m6ike_pfkey_builder b;
  m6ike_pfkey_sockaddr ss = m6ike_pfkey_sockaddr6(src, 0);
  m6ike_pfkey_sockaddr ds = m6ike_pfkey_sockaddr6(dst, 0);
  m6ike_pfkey_comb comb;
  memset(&comb, 0, sizeof(comb));
  comb.encrypt = M6IKE_SADB_X_EALG_AES_GCM_ICV16;
  comb.encrypt_minbits = 128;
  comb.encrypt_maxbits = 256;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ACQUIRE,
                            M6IKE_SADB_SATYPE_ESP, ++m->seq, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, 128, &ss);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, 128, &ds);
  m6ike_pfkey_add_proposal(&b, 64, &comb, 1);
  if (mpi != 0) {
    m6ike_pfkey_add_reference(&b, mpi);
  }
  int len = m6ike_pfkey_builder_finish(&b);
  if (len < 0) {
    return len;
  }
  return pfkey_out(m, buf, (size_t)len, mpi == 0);
}

/* SADB_X_MIGRATE (agent.c agent_send_migrate's message). */
static int send_migrate(m6ike_mobility *m, uint8_t dir,
                        const m6ike_addr6 *ssel, uint8_t splen,
                        const m6ike_addr6 *dsel, uint8_t dplen, uint32_t reqid,
                        const m6ike_addr6 *ol_, const m6ike_addr6 *or_,
                        const m6ike_addr6 *nl_, const m6ike_addr6 *nr_,
                        int kmaddress) {
  uint8_t buf[1024];
  m6ike_pfkey_builder b;
  m6ike_pfkey_sockaddr s = m6ike_pfkey_sockaddr6(ssel, 0);
  m6ike_pfkey_sockaddr d = m6ike_pfkey_sockaddr6(dsel, 0);
  m6ike_pfkey_sockaddr ol = m6ike_pfkey_sockaddr6(ol_, 0);
  m6ike_pfkey_sockaddr orr = m6ike_pfkey_sockaddr6(or_, 0);
  m6ike_pfkey_sockaddr nl = m6ike_pfkey_sockaddr6(nl_, 0);
  m6ike_pfkey_sockaddr nr = m6ike_pfkey_sockaddr6(nr_, 0);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_X_MIGRATE, 0,
                            ++m->seq, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, splen, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, dplen, &d);
  m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC, dir, 0, 0);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &ol, &orr);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &nl, &nr);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &orr, &ol);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &nr, &nl);
  if (kmaddress) {
    m6ike_pfkey_sockaddr kl = m6ike_pfkey_sockaddr6(nl_, 500);
    m6ike_pfkey_sockaddr kr = m6ike_pfkey_sockaddr6(nr_, 500);
    m6ike_pfkey_add_kmaddress(&b, &kl, &kr);
  }
  int len = m6ike_pfkey_builder_finish(&b);
  if (len < 0) {
    return len;
  }
  return pfkey_out(m, buf, (size_t)len, 0);
}

/* ---- HA: the per-MN table (HoA -> record, open addressing) ---------------------- */

static mob_rec *rec_find(const m6ike_mobility *m, const m6ike_addr6 *hoa) {
  return hoa_table_find(&m->recs, hoa);
}

static int rec_get(m6ike_mobility *m, const m6ike_addr6 *hoa, mob_rec **out) {
  size_t i;
  int rc = hoa_table_get(&m->recs, hoa, &i);
  *out = rc == 0 ? hoa_table_at(&m->recs, i) : NULL;
  return rc;
}

static int tunnel_policies(m6ike_mobility *m, mob_rec *r,
                           const m6ike_addr6 *coa) {
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  const m6ike_addr6 *ha = &m->cfg.ha;
  int rc = policy(m, M6IKE_IPSEC_DIR_OUTBOUND, &any, 0, &r->hoa, 128,
                  M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL, r->reqid,
                  ha, coa, PRIO_TUNNEL);
  if (rc == 0) {
    rc = policy(m, M6IKE_IPSEC_DIR_INBOUND, &r->hoa, 128, &any, 0,
                M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL, r->reqid,
                coa, ha, PRIO_TUNNEL);
  }
  if (rc == 0) {
    r->pol_tun = 1;
  }
  return rc;
}

static int ba_policy(m6ike_mobility *m, mob_rec *r) {
  if (r->pol_ba) {
    return 0;
  }
  int rc = policy(m, M6IKE_IPSEC_DIR_OUTBOUND, &m->cfg.ha, 128, &r->hoa, 128,
                  M6IKE_IPPROTO_MH, M6IKE_MH_BA, M6IKE_IPSEC_MODE_TRANSPORT,
                  r->reqid, NULL, NULL, PRIO_MH);
  if (rc == 0) {
    r->pol_ba = 1;
  }
  return rc;
}

/* RFC 6275 §10.4.1: the tunnel follows the registered binding's CoA once
 * there is one; before, the SA's address. */
static const m6ike_addr6 *policy_coa(const mob_rec *r,
                                     const m6ike_addr6 *sa_remote) {
  return r->registered ? &r->coa : sa_remote;
}

/* ---- the SA notifications ------------------------------------------------------- */

typedef struct sa_note {
  uint8_t type;
  uint32_t spi;
  m6ike_addr6 src, dst;
  uint8_t mode;
  uint32_t reqid;
  int has_sel, has_move;
  m6ike_pfkey_sa_sel sel;
  m6ike_addr6 new_src, new_dst;
} sa_note;

static int sa_note_of(const m6ike_pfkey_msg *msg, sa_note *n) {
  m6ike_pfkey_sa sa;
  m6ike_pfkey_address a;
  m6ike_pfkey_sa2 sa2;
  m6ike_pfkey_sa_move mv;
  memset(n, 0, sizeof(*n));
  n->type = msg->hdr.type;
  if (m6ike_pfkey_get_sa(msg, &sa) != 0 ||
      m6ike_pfkey_get_address(msg, M6IKE_SADB_EXT_ADDRESS_DST, &a) != 0 ||
      a.sa.family != M6IKE_PFKEY_AF_INET6) {
    return M6IKE_ERR_MOBILITY_IGNORED;
  }
  n->spi = sa.spi;
  memcpy(n->dst.b, a.sa.addr, 16);
  if (m6ike_pfkey_get_address(msg, M6IKE_SADB_EXT_ADDRESS_SRC, &a) == 0 &&
      a.sa.family == M6IKE_PFKEY_AF_INET6) {
    memcpy(n->src.b, a.sa.addr, 16);
  }
  n->mode = M6IKE_IPSEC_MODE_TRANSPORT;
  if (m6ike_pfkey_get_sa2(msg, &sa2) == 0) {
    n->mode = sa2.mode == M6IKE_IPSEC_MODE_TUNNEL ? M6IKE_IPSEC_MODE_TUNNEL
                                                  : M6IKE_IPSEC_MODE_TRANSPORT;
    n->reqid = sa2.reqid;
  }
  n->has_sel = m6ike_pfkey_get_sa_sel(msg, &n->sel) == 0 &&
               (n->sel.flags & M6IKE_PFKEY_SA_SEL_SELECTOR);
  if (m6ike_pfkey_get_sa_move(msg, &mv) == 0) {
    n->has_move = 1;
    memcpy(n->new_src.b, mv.new_src, 16);
    memcpy(n->new_dst.b, mv.new_dst, 16);
  }
  return 0;
}

static void mn_note(m6ike_mobility *m, const sa_note *n) {
  /* outbound SAs of the MN go to the HA (transport and tunnel) */
  int out = m6ike_addr6_equal(&n->dst, &m->cfg.ha);
  mob_pair *p = n->mode == M6IKE_IPSEC_MODE_TUNNEL ? &m->tun : &m->tr;
  switch (n->type) {
  case M6IKE_SADB_ADD:
    if (out) {
      p->spi_out = n->spi;
      p->out_src = n->src;
      p->out_dst = n->dst;
    } else {
      p->spi_in = n->spi;
      p->in_src = n->src;
      p->in_dst = n->dst;
    }
    p->reqid = n->reqid;
    m->st.sa_installed++;
    mob_event(m, M6IKE_AGENT_EV_SA_INSTALLED, 0, NULL, out ? &n->dst : &n->src,
              n->spi, 0, 0);
    break;
  case M6IKE_SADB_UPDATE:
    if (!n->has_move) {
      break;
    }
    for (int i = 0; i < 2; i++) {
      mob_pair *q = i ? &m->tun : &m->tr;
      if (q->spi_in == n->spi && m6ike_addr6_equal(&q->in_dst, &n->dst)) {
        q->in_src = n->new_src;
        q->in_dst = n->new_dst;
      } else if (q->spi_out == n->spi &&
                 m6ike_addr6_equal(&q->out_dst, &n->dst)) {
        q->out_src = n->new_src;
        q->out_dst = n->new_dst;
      } else {
        continue;
      }
      m->st.sa_updated++;
      mob_event(m, M6IKE_AGENT_EV_SA_UPDATED, 0, &m->cfg.hoa, NULL, n->spi, 0,
                0);
    }
    break;
  case M6IKE_SADB_DELETE: {
    int hit = 0;
    for (int i = 0; i < 2; i++) {
      mob_pair *q = i ? &m->tun : &m->tr;
      if (q->spi_in == n->spi && m6ike_addr6_equal(&q->in_dst, &n->dst)) {
        q->spi_in = 0;
        m->st.sa_deleted++;
        hit = 1;
      } else if (q->spi_out == n->spi &&
                 m6ike_addr6_equal(&q->out_dst, &n->dst)) {
        q->spi_out = 0;
        m->st.sa_deleted++;
        hit = 1;
      }
    }
    /* HA LOST: every SA to the HA gone (e.g. the key manager's liveness
     * check) while a binding is registered and no key-manager operation
     * of ours is under way */
    if (hit && m->cfg.ha_lost_after && m->ike_op == OP_NONE &&
        m6ike_bul_get_state(m->bul) == M6IKE_BUL_REGISTERED &&
        !m6ike_addr6_equal(&m->coa, &m->cfg.hoa) && m->tr.spi_in == 0 &&
        m->tr.spi_out == 0 && m->tun.spi_in == 0 && m->tun.spi_out == 0) {
      m->ha_lost_due = 1;
      m->ha_lost_status = 0;
    }
    break;
  }
  default:
    break;
  }
}

/* HA: inbound SAs name their HoA in the SA-selector extension; outbound
 * ones are only reported. */
static int ha_note(m6ike_mobility *m, const sa_note *n) {
  int in = m6ike_addr6_equal(&n->dst, &m->cfg.ha);
  if (n->type == M6IKE_SADB_ADD) {
    m->st.sa_installed++;
    mob_event(m, M6IKE_AGENT_EV_SA_INSTALLED, 0, NULL, in ? &n->src : &n->dst,
              n->spi, 0, 0);
  }
  if (!in || !n->has_sel) {
    return 0;
  }
  m6ike_addr6 hoa;
  memcpy(hoa.b, n->sel.src, 16);
  int tun = n->mode == M6IKE_IPSEC_MODE_TUNNEL;
  mob_rec *r;
  if (n->type == M6IKE_SADB_ADD) {
    int rc = rec_get(m, &hoa, &r);
    if (rc < 0) {
      return rc;
    }
    r->reqid = n->reqid;
    mob_pair *p = tun ? &r->tun : &r->tr;
    p->spi_in = n->spi;
    p->in_src = n->src;
    p->in_dst = n->dst;
    p->reqid = n->reqid;
    /* the MN's own policies, created with its SAs */
    return tun ? tunnel_policies(m, r, policy_coa(r, &n->src))
               : ba_policy(m, r);
  }
  r = rec_find(m, &hoa);
  if (r == NULL) {
    return 0;
  }
  mob_pair *p = tun ? &r->tun : &r->tr;
  if (p->spi_in != n->spi) {
    return 0;
  }
  if (n->type == M6IKE_SADB_DELETE) {
    memset(p, 0, sizeof(*p));
    m->st.sa_deleted++;
    return 0;
  }
  if (n->type == M6IKE_SADB_UPDATE && n->has_move) {
    p->in_src = n->new_src;
    p->in_dst = n->new_dst;
    m->st.sa_updated++;
    mob_event(m, M6IKE_AGENT_EV_SA_UPDATED, 0, &hoa, NULL, n->spi, 0, 0);
    if (tun) {
      return tunnel_policies(m, r, policy_coa(r, &n->new_src));
    }
  }
  return 0;
}

/* ---- MN -------------------------------------------------------------------------- */

static int pair_present(const mob_pair *p) {
  return p->spi_in != 0 && p->spi_out != 0;
}

static int away(const m6ike_mobility *m) {
  return m->have_coa && !m6ike_addr6_equal(&m->coa, &m->cfg.hoa);
}

static int mn_sa_ready(const m6ike_mobility *m) {
  return away(m) && pair_present(&m->tr) && pair_present(&m->tun) &&
         m6ike_addr6_equal(&m->tun.in_dst, &m->coa) &&
         m6ike_addr6_equal(&m->tun.out_src, &m->coa);
}

static void ho_update_ike(m6ike_mobility *m) {
  if (!m->ho_valid) {
    return;
  }
  uint64_t msgs = 0, snap = 0;
  for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
    m->ho.ike_msgs_x[i] = (uint32_t)(m->ike_x[i] - m->snap_x[i]);
    msgs += m->ike_x[i];
    snap += m->snap_x[i];
  }
  m->ho.ike_msgs = (uint32_t)(msgs - snap);
  m->ho.ike_bytes = m->ike_bytes - m->snap_bytes;
}

static void ho_begin(m6ike_mobility *m, const m6ike_addr6 *coa,
                     m6ike_tstamp now) {
  uint32_t index = m->ho_valid ? m->ho.index + 1 : 0;
  memset(&m->ho, 0, sizeof(m->ho));
  m->ho.index = index;
  m->ho.scheme = m->cfg.scheme;
  m->ho.old_coa = m->coa;
  m->ho.coa = *coa;
  m->ho.coa_set = now;
  m->ho.bu_sent = m->ho.ba_received = m->ho.sa_ready = M6IKE_TSTAMP_UNSET;
  m->ho.ba_status = -1;
  m->ho_valid = 1;
  memcpy(m->snap_x, m->ike_x, sizeof(m->snap_x));
  m->snap_bytes = m->ike_bytes;
}

static int send_bu(m6ike_mobility *m, const m6ike_mh_msg *bu,
                   const m6ike_addr6 *src, const m6ike_addr6 *dst,
                   m6ike_tstamp now, int retx) {
  uint8_t pkt[256];
  const m6ike_addr6 *hao =
      m6ike_addr6_equal(src, &m->cfg.hoa) ? NULL : &m->cfg.hoa;
  int n = m6ike_mh_build_packet(pkt, sizeof(pkt), src, dst, hao, NULL, bu);
  if (n < 0) {
    return n;
  }
  int left;
  int rc = ip6_out(m, pkt, (size_t)n, &m->cfg.hoa, &left);
  if (!left) {
    if (rc < 0 && rc != M6IKE_ERR_AGENT_SEND) {
      /* IPsec dropped it (no SA): the list's timer sends it again */
      mob_logf(m, M6IKE_IKEV2_LOG_INFO, "BU seq %u dropped by IPsec: %s",
               (unsigned)bu->u.bu.seq, m6ike_strerror(rc));
      return 0;
    }
    return rc;
  }
  m->st.esp_out++;
  m->st.bu_sent++;
  if (retx) {
    m->st.bu_retransmits++;
  }
  if (m->ho_valid) {
    if (m->ho.bu_sent == M6IKE_TSTAMP_UNSET) {
      m->ho.bu_sent = now;
    }
    m->ho.bu_count++;
  }
  mob_event(m, M6IKE_AGENT_EV_BU_SENT, m->mpi, &m->cfg.hoa, src, 0,
            bu->u.bu.seq, retx);
  return 0;
}

static void bul_event(m6ike_bul *bul, m6ike_bul_event ev,
                      const m6ike_mh_msg *msg, void *ud) {
  m6ike_mobility *m = ud;
  (void)bul;
  (void)msg;
  m6ike_msrd_change ch;
  memset(&ch, 0, sizeof(ch));
  switch (ev) {
  case M6IKE_BUL_EV_BU_SENT:
    m->bu_retx_flag = 0;
    if (m6ike_bul_get_state(bul) == M6IKE_BUL_REGISTERED) {
      m->refreshing = 1; /* a refresh: a binding exists at the HA */
      m->refresh_retx = 0;
    }
    break;
  case M6IKE_BUL_EV_RETRANSMIT:
    m->bu_retx_flag = 1;
    if (m->refreshing && m->cfg.ha_lost_after &&
        ++m->refresh_retx >= m->cfg.ha_lost_after) {
      m->ha_lost_due = 1;
      m->ha_lost_status = (int)m->refresh_retx;
    }
    break;
  case M6IKE_BUL_EV_BA_ACCEPTED:
  case M6IKE_BUL_EV_BA_REJECTED:
  case M6IKE_BUL_EV_SEQ_RESYNC:
    m->refreshing = 0; /* the HA answered */
    m->refresh_retx = 0;
    break;
  case M6IKE_BUL_EV_REGISTERED:
    ch.mask = M6IKE_MSRD_SET_STATE;
    ch.state = M6IKE_MSRD_REGISTERED;
    (void)m6ike_msrd_update(m->writer, m->mpi, &ch, m->now);
    break;
  case M6IKE_BUL_EV_DEREGISTERED:
    ch.mask = M6IKE_MSRD_SET_STATE;
    ch.state = M6IKE_MSRD_HOME;
    (void)m6ike_msrd_update(m->writer, m->mpi, &ch, m->now);
    break;
  case M6IKE_BUL_EV_GAVE_UP:
    mob_logf(m, M6IKE_IKEV2_LOG_ERROR, "binding update: gave up");
    break;
  default:
    break;
  }
}

static void ike_op_begin(m6ike_mobility *m, int kind) {
  m->ike_op = kind;
  if (kind == OP_ENGINE || kind == OP_MOBIKE) {
    m->retry_at = m->now + m->give_up +
                  (m->retry_backoff ? m->retry_backoff : M6IKE_SECONDS);
  }
  mob_event(m, M6IKE_AGENT_EV_IKE_STARTED, m->mpi, &m->cfg.hoa, &m->coa, 0, 0,
            kind);
}

static void ike_op_end(m6ike_mobility *m, int result) {
  m->ike_op = OP_NONE;
  mob_event(m, M6IKE_AGENT_EV_IKE_COMPLETED, m->mpi, &m->cfg.hoa, &m->coa, 0,
            0, result);
}

static void retry(m6ike_mobility *m, m6ike_tstamp now) {
  (void)now;
  m->retry_at = M6IKE_TSTAMP_UNSET;
  if (!away(m) || mn_sa_ready(m) || m->cfg.scheme == M6IKE_SCHEME_STATIC) {
    return;
  }
  if (m->ike_op != OP_NONE) {
    ike_op_end(m, M6IKE_ERR_IKEV2_TIMEOUT);
  }
  m->retry_backoff = m->retry_backoff == 0 ? 2 * M6IKE_SECONDS
                     : m->retry_backoff >= 16 * M6IKE_SECONDS
                         ? 32 * M6IKE_SECONDS
                         : m->retry_backoff * 2;
  if (!pair_present(&m->tr)) {
    m->hold_bu = m->cfg.scheme != M6IKE_SCHEME_RENEGOTIATE;
  }
  ike_op_begin(m, OP_ENGINE);
  (void)send_acquire(m, &m->coa, &m->cfg.ha,
                     m->cfg.scheme == M6IKE_SCHEME_MSRD ? m->mpi : 0);
}

static int ha_lost(m6ike_mobility *m, m6ike_tstamp now);

static int mn_progress(m6ike_mobility *m, m6ike_tstamp now) {
  int rc = 0;
  if (!m->have_coa) {
    return 0;
  }
  if (m->retry_at != M6IKE_TSTAMP_UNSET && m->retry_at <= now) {
    retry(m, now);
  }
  if (m->hold_bu && pair_present(&m->tr)) {
    m->hold_bu = 0;
  }
  if (!m->hold_bu && m->kick == M6IKE_TSTAMP_UNSET) {
    m6ike_mh_msg bu;
    m6ike_addr6 src, dst;
    for (int i = 0; i < 4 && rc == 0; i++) {
      if (m6ike_bul_write_bu(m->bul, now, &bu, &src, &dst) != 1) {
        break;
      }
      m->last_bu = bu;
      m->last_bu_src = src;
      m->have_last_bu = 1;
      rc = send_bu(m, &bu, &src, &dst, now, m->bu_retx_flag);
    }
  }
  int ready = mn_sa_ready(m);
  if (ready && m->ho_valid && m->ho.sa_ready == M6IKE_TSTAMP_UNSET) {
    m->ho.sa_ready = now;
    mob_event(m, M6IKE_AGENT_EV_SA_READY, m->mpi, &m->cfg.hoa, &m->coa, 0, 0,
              0);
  }
  if (ready && m->resend_on_ready && m->have_last_bu &&
      m6ike_bul_get_state(m->bul) == M6IKE_BUL_REGISTERING) {
    m->resend_on_ready = 0;
    if (rc == 0) {
      rc = send_bu(m, &m->last_bu, &m->last_bu_src, &m->cfg.ha, now, 1);
    }
  }
  if (ready) {
    if (m->ike_op != OP_NONE) {
      ike_op_end(m, 0);
    }
    m->retry_at = M6IKE_TSTAMP_UNSET;
    m->retry_backoff = 0;
  }
  ho_update_ike(m);
  if (m->ho_valid) {
    m->ho.complete = m->ho.ba_received != M6IKE_TSTAMP_UNSET &&
                     (m->ho.sa_ready != M6IKE_TSTAMP_UNSET ||
                      m6ike_addr6_equal(&m->coa, &m->cfg.hoa));
  }
  if (m->ha_lost_due) {
    int lrc = ha_lost(m, now);
    return rc < 0 ? rc : lrc;
  }
  return rc;
}

static int move_policies(m6ike_mobility *m, const m6ike_addr6 *coa) {
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  const m6ike_addr6 *hoa = &m->cfg.hoa, *ha = &m->cfg.ha;
  int rc = policy(m, M6IKE_IPSEC_DIR_OUTBOUND, hoa, 128, &any, 0,
                  M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                  REQID_TUNNEL, coa, ha, PRIO_TUNNEL);
  if (rc == 0) {
    rc = policy(m, M6IKE_IPSEC_DIR_INBOUND, &any, 0, hoa, 128,
                M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                REQID_TUNNEL, ha, coa, PRIO_TUNNEL);
  }
  return rc;
}

static int msrd_write_mn(m6ike_mobility *m, const m6ike_addr6 *coa,
                         m6ike_msrd_state state, m6ike_tstamp now) {
  if (m->mpi == 0) {
    m6ike_msrd_params p;
    memset(&p, 0, sizeof(p));
    p.hoa = m->cfg.hoa;
    p.coa = *coa;
    p.ha = m->cfg.ha;
    p.state = state;
    p.k_bit = m->cfg.scheme != M6IKE_SCHEME_STATIC;
    return m6ike_msrd_insert(m->writer, &p, now, &m->mpi);
  }
  m6ike_msrd_change ch;
  memset(&ch, 0, sizeof(ch));
  ch.mask = M6IKE_MSRD_SET_COA | M6IKE_MSRD_SET_STATE;
  ch.coa = *coa;
  ch.state = state;
  return m6ike_msrd_update(m->writer, m->mpi, &ch, now);
}

int m6ike_mobility_set_coa(m6ike_mobility *m, const m6ike_addr6 *coa,
                           m6ike_tstamp now) {
  int rc;
  if (m == NULL || coa == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (m->cfg.role != M6IKE_AGENT_MN) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if (m6ike_addr6_is_unspecified(coa) || coa->b[0] == 0xff) {
    return M6IKE_ERR_BINDING_BAD_COA;
  }
  if (m->have_coa && m6ike_addr6_equal(coa, &m->coa)) {
    return 0;
  }
  if (!m->have_coa && m6ike_addr6_equal(coa, &m->cfg.hoa)) {
    return 0;
  }
  m->now = now;
  ho_begin(m, coa, now);
  mob_event(m, M6IKE_AGENT_EV_COA_SET, m->mpi, &m->cfg.hoa, coa, 0, 0, 0);
  rc = m6ike_bul_move(m->bul, coa, now);
  if (rc < 0) {
    return rc;
  }
  m->have_coa = 1;
  m->coa = *coa;
  m->refreshing = 0;
  m->refresh_retx = 0;
  m->ha_lost_due = 0;
  m->hold_bu = 0;
  m->kick = M6IKE_TSTAMP_UNSET;
  m->resend_on_ready = 0;
  m->ike_op = OP_NONE;
  m->retry_at = M6IKE_TSTAMP_UNSET;
  m->retry_backoff = 0;
  int home = m6ike_addr6_equal(coa, &m->cfg.hoa);
  rc = msrd_write_mn(m, coa,
                     home ? M6IKE_MSRD_DEREGISTERING : M6IKE_MSRD_REGISTERING,
                     now);
  if (rc < 0) {
    return rc == M6IKE_ERR_NOMEM ? rc : 0;
  }
  if (home) {
    return mn_progress(m, now);
  }
  int first = !pair_present(&m->tr);
  const m6ike_addr6 *ha = &m->cfg.ha;
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  switch (m->cfg.scheme) {
  case M6IKE_SCHEME_MSRD:
    rc = move_policies(m, coa);
    m->hold_bu = first;
    ike_op_begin(m, OP_ENGINE);
    if (rc == 0) {
      rc = send_acquire(m, coa, ha, m->mpi);
    }
    break;
  case M6IKE_SCHEME_RENEGOTIATE:
    rc = move_policies(m, coa);
    m->resend_on_ready = m->cfg.bu_on_sa_up;
    ike_op_begin(m, OP_ENGINE);
    if (rc == 0) {
      rc = send_acquire(m, coa, ha, 0);
    }
    break;
  case M6IKE_SCHEME_MIGRATE:
  case M6IKE_SCHEME_MIGRATE_KMADDRESS:
  case M6IKE_SCHEME_MOBIKE:
    if (first) {
      rc = move_policies(m, coa);
      m->hold_bu = 1;
      ike_op_begin(m, OP_ENGINE);
      if (rc == 0) {
        rc = send_acquire(m, coa, ha, 0);
      }
      break;
    }
    if (m->cfg.scheme == M6IKE_SCHEME_MOBIKE) {
      /* the key manager moves the IKE SA and the tunnel SAs when it sees
       * the MSRD's new CoA (m6ike_keymgr_poll_msrd) */
      rc = move_policies(m, coa);
      ike_op_begin(m, OP_MOBIKE);
      break;
    }
    /* fall through: X_MIGRATE as for static */
    /* FALLTHROUGH */
  case M6IKE_SCHEME_STATIC: {
    int km = m->cfg.scheme == M6IKE_SCHEME_MIGRATE_KMADDRESS;
    m6ike_addr6 old = pair_present(&m->tun) ? m->tun.out_src : m->cfg.hoa;
    if (m->cfg.scheme != M6IKE_SCHEME_STATIC) {
      ike_op_begin(m, OP_MIGRATE);
    }
    rc = send_migrate(m, M6IKE_IPSEC_DIR_OUTBOUND, &m->cfg.hoa, 128, &any, 0,
                      REQID_TUNNEL, &old, ha, coa, ha, km);
    if (rc == 0) {
      rc = send_migrate(m, M6IKE_IPSEC_DIR_INBOUND, &any, 0, &m->cfg.hoa, 128,
                        REQID_TUNNEL, &old, ha, coa, ha, km);
    }
    if (rc == 0) {
      rc = move_policies(m, coa);
    }
    if (pair_present(&m->tun)) {
      /* the kernel moved both tunnel SAs with the policy */
      m->tun.out_src = *coa;
      m->tun.in_dst = *coa;
      m->st.sa_updated += 2;
      mob_event(m, M6IKE_AGENT_EV_SA_UPDATED, 0, &m->cfg.hoa, NULL,
                m->tun.spi_out, 0, 0);
      mob_event(m, M6IKE_AGENT_EV_SA_UPDATED, 0, &m->cfg.hoa, NULL,
                m->tun.spi_in, 0, 0);
    }
    if (m->cfg.scheme != M6IKE_SCHEME_STATIC) {
      ike_op_end(m, rc);
    }
    break;
  }
  }
  if (rc < 0 && rc != M6IKE_ERR_NOMEM && rc != M6IKE_ERR_MOBILITY_SEND) {
    mob_logf(m, M6IKE_IKEV2_LOG_ERROR, "move to the new CoA: %s",
             m6ike_strerror(rc));
    rc = 0;
  }
  if (m->ike_op == OP_ENGINE || m->ike_op == OP_MOBIKE) {
    m->kick = now;
  }
  int prc = mn_progress(m, now);
  return rc < 0 ? rc : prc;
}

/* HA LOST (agent.h): a new first registration from the current CoA, with
 * a new MSRD entry (new MPI: the key manager forgets its IKE SAs to the
 * HA and bootstraps, keymgr.h) and the SAs we knew of forgotten (their
 * DELETE copies, if they come, no longer match). */
static int ha_lost(m6ike_mobility *m, m6ike_tstamp now) {
  m6ike_addr6 coa = m->coa;
  char a[M6IKE_ADDR6_STRLEN];
  int status = m->ha_lost_status;
  m->ha_lost_due = 0;
  m->refreshing = 0;
  m->refresh_retx = 0;
  if (!away(m)) {
    return 0;
  }
  mob_logf(m, M6IKE_IKEV2_LOG_ERROR,
           "home agent lost (%s): registering anew from %s",
           status ? "refresh unanswered" : "every SA deleted",
           m6ike_addr6_format(&coa, a));
  mob_event(m, M6IKE_AGENT_EV_HA_LOST, m->mpi, &m->cfg.hoa, &coa, 0, 0,
            status);
  m6ike_bul_forget(m->bul);
  if (m->cfg.scheme == M6IKE_SCHEME_STATIC) {
    /* manual keys: nothing to renegotiate, only the binding */
    ho_begin(m, &coa, now);
    int rc = m6ike_bul_move(m->bul, &coa, now);
    return rc < 0 ? rc : mn_progress(m, now);
  }
  if (m->mpi != 0) {
    (void)m6ike_msrd_remove(m->writer, m->mpi, now);
    m->mpi = 0;
  }
  memset(&m->tr, 0, sizeof(m->tr));
  memset(&m->tun, 0, sizeof(m->tun));
  m->have_coa = 0;
  return m6ike_mobility_set_coa(m, &coa, now);
}

static int mn_on_mh(m6ike_mobility *m, const uint8_t *pkt, size_t len,
                    m6ike_tstamp now) {
  m6ike_ip6_info info;
  m6ike_mh_msg msg;
  int rc = m6ike_mh_parse_packet(&info, &msg, pkt, len);
  if (rc < 0) {
    mob_drop(m, rc, NULL);
    return rc;
  }
  if (msg.type != M6IKE_MH_BA) {
    mob_drop(m, M6IKE_ERR_MOBILITY_IGNORED, NULL);
    return M6IKE_ERR_MOBILITY_IGNORED;
  }
  rc = m6ike_bul_read_ba(m->bul, &msg, now);
  if (rc < 0) {
    mob_drop(m, rc, &m->cfg.hoa);
    return rc;
  }
  m->st.ba_received++;
  if (m->ho_valid && msg.u.ba.status != M6IKE_BA_SEQ_OUT_OF_WINDOW &&
      m->ho.ba_received == M6IKE_TSTAMP_UNSET) {
    m->ho.ba_received = now;
    m->ho.ba_status = msg.u.ba.status;
  }
  mob_event(m, M6IKE_AGENT_EV_BA_RECEIVED, m->mpi, &m->cfg.hoa, &m->coa, 0,
            msg.u.ba.seq, msg.u.ba.status);
  return 0;
}

/* ---- HA ----------------------------------------------------------------------------- */

static void bc_change(const m6ike_bcache_entry *e, m6ike_bcache_event ev,
                      void *ud) {
  m6ike_mobility *m = ud;
  if (ev != M6IKE_BCACHE_REMOVED && ev != M6IKE_BCACHE_EXPIRED) {
    return;
  }
  mob_rec *r = rec_find(m, &e->hoa);
  if (r == NULL) {
    return;
  }
  r->registered = 0;
  if (r->mpi != 0) {
    (void)m6ike_msrd_remove(m->writer, r->mpi, m->now);
    r->mpi = 0;
  }
}

static int msrd_write_ha(m6ike_mobility *m, mob_rec *r, const m6ike_mh_msg *bu,
                         const m6ike_mh_msg *ba, const m6ike_addr6 *coa,
                         m6ike_tstamp now) {
  m6ike_msrd_state st =
      m6ike_addr6_equal(coa, &r->hoa) || ba->u.ba.lifetime == 0
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
    int rc = m6ike_msrd_update(m->writer, r->mpi, &ch, now);
    if (rc != M6IKE_ERR_NOT_FOUND) {
      return rc;
    }
    r->mpi = 0;
  }
  if (st == M6IKE_MSRD_HOME) {
    return 0;
  }
  m6ike_msrd_params p;
  memset(&p, 0, sizeof(p));
  p.hoa = r->hoa;
  p.coa = *coa;
  p.ha = m->cfg.ha;
  p.lifetime = (uint32_t)ba->u.ba.lifetime * M6IKE_MH_LIFETIME_UNIT_S;
  p.state = st;
  p.seq = bu->u.bu.seq;
  p.k_bit = (bu->u.bu.flags & M6IKE_BU_FLAG_K) != 0;
  return m6ike_msrd_insert(m->writer, &p, now, &r->mpi);
}

/* What the scheme's mobility side does on the HA when a binding moves. */
static void ha_move(m6ike_mobility *m, mob_rec *r, const m6ike_addr6 *coa) {
  const m6ike_addr6 *ha = &m->cfg.ha;
  if (r->tun.spi_in == 0 || m6ike_addr6_equal(&r->tun.in_src, coa)) {
    if (r->pol_tun) {
      tunnel_policies(m, r, coa);
    }
    return;
  }
  m6ike_addr6 old = r->tun.in_src;
  switch (m->cfg.scheme) {
  case M6IKE_SCHEME_MIGRATE:
  case M6IKE_SCHEME_MIGRATE_KMADDRESS:
  case M6IKE_SCHEME_STATIC: {
    m6ike_addr6 any;
    memset(&any, 0, sizeof(any));
    int km = m->cfg.scheme == M6IKE_SCHEME_MIGRATE_KMADDRESS;
    send_migrate(m, M6IKE_IPSEC_DIR_OUTBOUND, &any, 0, &r->hoa, 128, r->reqid,
                 ha, &old, ha, coa, km);
    send_migrate(m, M6IKE_IPSEC_DIR_INBOUND, &r->hoa, 128, &any, 0, r->reqid,
                 ha, &old, ha, coa, km);
    r->tun.in_src = *coa;
    tunnel_policies(m, r, coa);
    break;
  }
  default:
    /* msrd, mobike: the key manager moves the SAs; renegotiate: new SAs
     * come with the new CoA.  The tunnel policy follows the binding. */
    tunnel_policies(m, r, coa);
    break;
  }
}

static int ha_on_mh(m6ike_mobility *m, const uint8_t *pkt, size_t len,
                    m6ike_tstamp now) {
  m6ike_ip6_info info;
  m6ike_mh_msg bu, ba;
  uint8_t out[256];
  int rc = m6ike_mh_parse_packet(&info, &bu, pkt, len);
  if (rc < 0) {
    mob_drop(m, rc, NULL);
    return rc;
  }
  if (bu.type != M6IKE_MH_BU) {
    mob_drop(m, M6IKE_ERR_MOBILITY_IGNORED, NULL);
    return M6IKE_ERR_MOBILITY_IGNORED;
  }
  m6ike_addr6 hoa = info.has_hao ? info.hao : info.src;
  m6ike_addr6 coa = bu.opts.has_alt_coa ? bu.opts.alt_coa : info.src;
  m->st.bu_received++;
  int send = m6ike_bcache_process_bu(m->bc, &hoa, &coa, &bu, now, &ba);
  if (send < 0) {
    mob_drop(m, send, &hoa);
    return send;
  }
  if (ba.u.ba.status < 128) {
    mob_rec *r;
    rc = rec_get(m, &hoa, &r);
    if (rc == M6IKE_ERR_NOMEM) {
      return rc;
    }
    if (rc == 0) {
      int registered = !m6ike_addr6_equal(&coa, &hoa) && ba.u.ba.lifetime != 0;
      if (msrd_write_ha(m, r, &bu, &ba, &coa, now) == M6IKE_ERR_NOMEM) {
        return M6IKE_ERR_NOMEM;
      }
      if (registered) {
        ha_move(m, r, &coa);
      }
      r->coa = coa;
      r->registered = (uint8_t)registered;
    }
  }
  mob_event(m, M6IKE_AGENT_EV_BINDING_UPDATED, 0, &hoa, &coa, 0, ba.u.ba.seq,
            ba.u.ba.status);
  if (send != 1) {
    return 0;
  }
  int is_away = !m6ike_addr6_equal(&coa, &hoa);
  int n = m6ike_mh_build_packet(out, sizeof(out), &m->cfg.ha,
                                is_away ? &coa : &hoa, NULL,
                                is_away ? &hoa : NULL, &ba);
  if (n < 0) {
    return n;
  }
  int left;
  rc = ip6_out(m, out, (size_t)n, &hoa, &left);
  if (left) {
    m->st.esp_out++;
    m->st.ba_sent++;
  }
  return rc;
}

/* ---- creation ------------------------------------------------------------------------- */

static int mn_init(m6ike_mobility *m) {
  const m6ike_addr6 *hoa = &m->cfg.hoa, *ha = &m->cfg.ha;
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  m6ike_bul_config bc;
  memset(&bc, 0, sizeof(bc));
  bc.hoa = *hoa;
  bc.ha = *ha;
  bc.lifetime = m->cfg.lifetime;
  bc.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H |
             (m->cfg.scheme != M6IKE_SCHEME_STATIC ? M6IKE_BU_FLAG_K : 0);
  bc.initial_bindack_timeout_first_reg = m->cfg.bindack_timeout_first_reg;
  bc.initial_bindack_timeout = m->cfg.bindack_timeout;
  bc.max_bindack_timeout = m->cfg.bindack_max;
  bc.cb.user_data = m;
  bc.cb.rand = mob_rand;
  bc.cb.on_event = bul_event;
  int rc = m6ike_bul_new(&m->bul, &bc, m->mem);
  if (rc < 0) {
    return rc == M6IKE_ERR_BINDING_CFG_TIMEOUT ? M6IKE_ERR_AGENT_CONFIG : rc;
  }
  if ((rc = policy(m, M6IKE_IPSEC_DIR_OUTBOUND, hoa, 128, ha, 128,
                   M6IKE_IPPROTO_MH, M6IKE_MH_BU, M6IKE_IPSEC_MODE_TRANSPORT,
                   REQID_MH, NULL, NULL, PRIO_MH)) < 0 ||
      (rc = policy(m, M6IKE_IPSEC_DIR_INBOUND, ha, 128, hoa, 128,
                   M6IKE_IPPROTO_MH, M6IKE_MH_BA, M6IKE_IPSEC_MODE_TRANSPORT,
                   REQID_MH, NULL, NULL, PRIO_MH)) < 0 ||
      (rc = policy(m, M6IKE_IPSEC_DIR_OUTBOUND, hoa, 128, &any, 0,
                   M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                   REQID_TUNNEL, hoa, ha, PRIO_TUNNEL)) < 0 ||
      (rc = policy(m, M6IKE_IPSEC_DIR_INBOUND, &any, 0, hoa, 128,
                   M6IKE_IPSEC_PROTO_ANY, -1, M6IKE_IPSEC_MODE_TUNNEL,
                   REQID_TUNNEL, ha, hoa, PRIO_TUNNEL)) < 0) {
    return rc;
  }
  /* how long the key manager may take before it has given up: its
   * retransmissions (m6ike_ikev2_config), each timeout doubling to 32 s */
  m6ike_tstamp t = m->cfg.ike_retrans_timeout ? m->cfg.ike_retrans_timeout
                                              : 500 * M6IKE_MILLISECONDS;
  unsigned tries = m->cfg.ike_retrans_tries ? m->cfg.ike_retrans_tries : 5;
  m->give_up = 0;
  for (unsigned i = 0; i <= tries; i++) {
    m->give_up += t;
    t = t >= 16 * M6IKE_SECONDS ? 32 * M6IKE_SECONDS : 2 * t;
  }
  return 0;
}

static int ha_init(m6ike_mobility *m) {
  const m6ike_addr6 *ha = &m->cfg.ha, *pfx = &m->cfg.home_prefix;
  uint8_t plen = m->cfg.home_plen;
  uint8_t seed[8];
  if (m->cbs.rand(seed, sizeof(seed), m->cbs.user_data) != 0) {
    return M6IKE_ERR_RANDOM;
  }
  for (int i = 0; i < 8; i++) {
    m->recs.seed = m->recs.seed << 8 | seed[i];
  }
  m6ike_bcache_config bc;
  memset(&bc, 0, sizeof(bc));
  bc.role = M6IKE_BCACHE_ROLE_HA;
  bc.home_prefixes[0].prefix = *pfx;
  bc.home_prefixes[0].plen = plen;
  bc.n_home_prefixes = 1;
  bc.max_entries = m->cfg.max_mns;
  bc.max_lifetime = m->cfg.lifetime;
  bc.k_supported = m->cfg.scheme != M6IKE_SCHEME_STATIC;
  bc.cb.user_data = m;
  bc.cb.on_change = bc_change;
  bc.cb.rand = mob_rand;
  int rc = m6ike_bcache_new(&m->bc, &bc, m->mem);
  if (rc < 0) {
    return rc;
  }
  size_t want = m->cfg.expected_mns;
  if ((rc = hoa_table_reserve(&m->recs, want)) < 0) {
    return rc;
  }
  if ((rc = policy(m, M6IKE_IPSEC_DIR_INBOUND, pfx, plen, ha, 128,
                   M6IKE_IPPROTO_MH, M6IKE_MH_BU, M6IKE_IPSEC_MODE_TRANSPORT,
                   0, NULL, NULL, PRIO_MH)) < 0) {
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
  return spd(m, M6IKE_SADB_X_SPDADD, &d);
}

void m6ike_mobility_del(m6ike_mobility *m) {
  if (m == NULL) {
    return;
  }
  m6ike_bul_del(m->bul);
  m6ike_bcache_del(m->bc);
  hoa_table_fini(&m->recs);
  m6ike_msrd_del(m->db);
  m6ike_free(m->mem, m);
}

static int mobility_new(m6ike_mobility **pm, const m6ike_agent_config *cfg,
                        const m6ike_mobility_callbacks *cbs, void *region,
                        size_t region_size, const m6ike_mem *mem) {
  if (pm == NULL || cfg == NULL || cbs == NULL || cbs->rand == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pm = NULL;
  agent_parsed pp;
  memset(&pp, 0, sizeof(pp));
  int rc = agent_config_check(cfg, &pp);
  if (rc < 0) {
    return rc;
  }
  memset(&pp, 0, sizeof(pp));
  mem = m6ike_mem_or_default(mem);
  m6ike_mobility *m = m6ike_calloc(mem, 1, sizeof(*m));
  if (m == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  m->mem = mem;
  hoa_table_init(&m->recs, sizeof(mob_rec), offsetof(mob_rec, hoa),
                 cfg->max_mns, 0, mem);
  m->cfg = *cfg;
  m->cfg.psk = NULL; /* not used here: not kept */
  m->cfg.psk_len = 0;
  m->cfg.ike_proposal = m->cfg.esp_proposal = NULL;
  m->cfg.local_id = m->cfg.remote_id = NULL;
  m->cbs = *cbs;
  m->retry_at = M6IKE_TSTAMP_UNSET;
  m->kick = M6IKE_TSTAMP_UNSET;
  int mn = cfg->role == M6IKE_AGENT_MN;
  m6ike_msrd_config mc;
  m6ike_msrd_config_default(&mc, mn ? M6IKE_MSRD_ROLE_MN : M6IKE_MSRD_ROLE_HA);
  mc.rand = mob_rand;
  mc.rand_user_data = m;
  if (!mn) {
    mc.initial_capacity = cfg->expected_mns;
    mc.max_entries = cfg->max_mns;
  }
  rc = region ? m6ike_msrd_new_in(region, region_size, &m->db, &m->writer,
                                  &mc, mem)
              : m6ike_msrd_new(&m->db, &m->writer, &mc, mem);
  if (rc == 0) {
    rc = mn ? mn_init(m) : ha_init(m);
  }
  if (rc < 0) {
    m6ike_mobility_del(m);
    return rc;
  }
  *pm = m;
  return 0;
}

int m6ike_mobility_new(m6ike_mobility **pm, const m6ike_agent_config *cfg,
                       const m6ike_mobility_callbacks *cbs,
                       const m6ike_mem *mem) {
  return mobility_new(pm, cfg, cbs, NULL, 0, mem);
}

int m6ike_mobility_new_in(m6ike_mobility **pm, const m6ike_agent_config *cfg,
                          const m6ike_mobility_callbacks *cbs, void *region,
                          size_t region_size, const m6ike_mem *mem) {
  if (region == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return mobility_new(pm, cfg, cbs, region, region_size, mem);
}

m6ike_msrd *m6ike_mobility_msrd(m6ike_mobility *m) { return m ? m->db : NULL; }

int mobility_coa_(const m6ike_mobility *m, m6ike_addr6 *coa) {
  if (m == NULL || !m->have_coa) {
    return 0;
  }
  *coa = m->coa;
  return 1;
}

int m6ike_mobility_add_mn(m6ike_mobility *m, const m6ike_addr6 *hoa,
                          m6ike_tstamp now) {
  if (m == NULL || hoa == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int bad = agent_add_mn_check_(&m->cfg, hoa);
  if (bad < 0) {
    return bad;
  }
  if (m->cfg.scheme != M6IKE_SCHEME_STATIC) {
    return 0;
  }
  m->now = now;
  mob_rec *r = rec_find(m, hoa);
  if (r != NULL && r->provisioned) {
    return M6IKE_ERR_AGENT_STATE;
  }
  int rc = rec_get(m, hoa, &r);
  if (rc < 0) {
    return rc;
  }
  /* its policies follow from the key manager's ADDs (the reqid is the key
   * manager's, in their SA2) */
  r->provisioned = 1;
  return 0;
}

/* ---- entry points ------------------------------------------------------------------------ */

int m6ike_mobility_read_mh(m6ike_mobility *m, const uint8_t *pkt, size_t len,
                           m6ike_tstamp now) {
  if (m == NULL || pkt == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m->now = now;
  if (m->cfg.role == M6IKE_AGENT_HA) {
    return ha_on_mh(m, pkt, len, now);
  }
  int rc = mn_on_mh(m, pkt, len, now);
  m->kick = M6IKE_TSTAMP_UNSET;
  int prc = mn_progress(m, now);
  return rc < 0 ? rc : prc;
}

int m6ike_mobility_read_pfkey(m6ike_mobility *m, const uint8_t *msg,
                              size_t len, m6ike_tstamp now) {
  m6ike_pfkey_msg pm;
  sa_note n;
  if (m == NULL || msg == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m->now = now;
  if (len >= M6IKE_PFKEY_HDR_LEN && msg[0] == M6IKE_PF_KEY_V2 && msg[2] != 0) {
    mob_logf(m, M6IKE_IKEV2_LOG_ERROR, "kernel refused our %s: errno %u",
             m6ike_pfkey_msg_type_name(msg[1]), (unsigned)msg[2]);
    return M6IKE_ERR_MOBILITY_REFUSED;
  }
  if (m6ike_pfkey_decode(&pm, msg, len, M6IKE_PFKEY_DEC_LENIENT) < 0) {
    return M6IKE_ERR_MOBILITY_PFKEY;
  }
  int rc;
  switch (pm.hdr.type) {
  case M6IKE_SADB_ADD:
  case M6IKE_SADB_UPDATE:
  case M6IKE_SADB_DELETE:
    if (pm.hdr.satype != M6IKE_SADB_SATYPE_ESP) {
      return M6IKE_ERR_MOBILITY_IGNORED;
    }
    rc = sa_note_of(&pm, &n);
    if (rc < 0) {
      return rc;
    }
    if (m->cfg.role == M6IKE_AGENT_HA) {
      return ha_note(m, &n);
    }
    mn_note(m, &n);
    m->kick = M6IKE_TSTAMP_UNSET;
    return mn_progress(m, now);
  case M6IKE_SADB_X_SPDADD:
  case M6IKE_SADB_X_SPDUPDATE:
  case M6IKE_SADB_X_SPDDELETE:
  case M6IKE_SADB_X_MIGRATE:
    return 0; /* the kernel's replies to ours */
  default:
    return M6IKE_ERR_MOBILITY_IGNORED;
  }
}

void m6ike_mobility_set_ike_counts(m6ike_mobility *m,
                                   const uint64_t msgs_x[M6IKE_IKEV2_X_COUNT],
                                   uint64_t bytes) {
  if (m == NULL || msgs_x == NULL) {
    return;
  }
  memcpy(m->ike_x, msgs_x, sizeof(m->ike_x));
  m->ike_bytes = bytes;
  ho_update_ike(m);
}

m6ike_tstamp m6ike_mobility_get_expiry(const m6ike_mobility *m) {
  if (m == NULL) {
    return M6IKE_TSTAMP_UNSET;
  }
  m6ike_tstamp t = m6ike_msrd_get_expiry(m->db);
  m6ike_tstamp u;
  if (m->cfg.role == M6IKE_AGENT_MN) {
    u = m->hold_bu ? M6IKE_TSTAMP_UNSET : m6ike_bul_get_expiry(m->bul);
    if (m->retry_at < u) {
      u = m->retry_at;
    }
    if (m->kick < u) {
      u = m->kick;
    }
  } else {
    u = m6ike_bcache_get_expiry(m->bc);
  }
  return u < t ? u : t;
}

int m6ike_mobility_handle_expiry(m6ike_mobility *m, m6ike_tstamp now) {
  if (m == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m->now = now;
  if (m->cfg.role == M6IKE_AGENT_HA) {
    m6ike_bcache_handle_expiry(m->bc, now);
  }
  (void)m6ike_msrd_expire(m->writer, now);
  if (m->kick != M6IKE_TSTAMP_UNSET && m->kick <= now) {
    m->kick = M6IKE_TSTAMP_UNSET;
  }
  return m->cfg.role == M6IKE_AGENT_MN ? mn_progress(m, now) : 0;
}

int m6ike_mobility_get_handover(const m6ike_mobility *m,
                                m6ike_agent_handover *out) {
  if (m == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (m->cfg.role != M6IKE_AGENT_MN) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if (!m->ho_valid) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = m->ho;
  return 0;
}

int m6ike_mobility_lookup(const m6ike_mobility *m, const m6ike_addr6 *hoa,
                          m6ike_addr6 *coa) {
  if (m == NULL || hoa == NULL) {
    return 0;
  }
  if (m->cfg.role == M6IKE_AGENT_MN) {
    if (!m6ike_addr6_equal(hoa, &m->cfg.hoa) || !away(m) ||
        m6ike_bul_get_state(m->bul) != M6IKE_BUL_REGISTERED) {
      return 0;
    }
    if (coa) {
      *coa = m->coa;
    }
    return 1;
  }
  const mob_rec *r = rec_find(m, hoa);
  if (r == NULL || !r->registered) {
    return 0;
  }
  if (coa) {
    *coa = r->coa;
  }
  return 1;
}

void m6ike_mobility_get_stats(const m6ike_mobility *m, m6ike_agent_stats *st) {
  if (st == NULL) {
    return;
  }
  memset(st, 0, sizeof(*st));
  if (m == NULL) {
    return;
  }
  *st = m->st;
  if (m->cfg.role == M6IKE_AGENT_HA) {
    st->bindings = m6ike_bcache_count(m->bc);
  }
}
