/* keymgr: the key-management side of a node (m6ike/keymgr.h): the IKEv2
 * engine, the MSRD reader and SA management as PF_KEY bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "hoa_table.h"
#include "ipsec_internal.h"
#include "m6ike/keymgr.h"
#include "mem.h"

const char *m6ike_keymgr_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_KEYMGR_PFKEY:
    return "keymgr: the PF_KEY bytes read do not decode";
  case M6IKE_ERR_KEYMGR_REFUSED:
    return "keymgr: the kernel refused one of our PF_KEY messages";
  case M6IKE_ERR_KEYMGR_SEND:
    return "keymgr: the host's send_pfkey callback failed";
  case M6IKE_ERR_KEYMGR_IGNORED:
    return "keymgr: a PF_KEY message the key manager does not act on";
  case M6IKE_ERR_KEYMGR_NOT_STARTED:
    return "keymgr: m6ike_keymgr_start() has not been called";
  default:
    return NULL;
  }
}

/* One CHILD_SA pair as installed (for UPDATE and DELETE). */
typedef struct km_child {
  uint32_t child_id;
  uint32_t spi_in, spi_out;
  m6ike_addr6 local, remote, hoa;
  uint8_t mode; /* M6IKE_IPSEC_MODE_* */
  uint32_t reqid;
  uint16_t encr, integ;
  int esn;
} km_child;

/* HA: a mobile node seen by the key manager (index = reqid offset). */
typedef struct km_mn {
  m6ike_addr6 hoa;
  uint8_t provisioned; /* static: add_mn done */
} km_mn;

struct m6ike_keymgr {
  m6ike_agent_config cfg;
  m6ike_keymgr_callbacks cbs;
  const m6ike_crypto *crypto;
  const m6ike_mem *mem;
  agent_parsed pp;
  uint8_t psk[M6IKE_IKEV2_PSK_MAX];
  const m6ike_msrd_reader *msrd;
  m6ike_ikev2 *ike; /* NULL: static scheme */
  int started;
  uint32_t seq;
  uint32_t ike_sa; /* MN: the IKE SA to the HA */
  uint32_t epoch_mpi; /* MN: the MSRD entry's MPI at the last ACQUIRE (a
                         new one = the mobility side registers anew) */
  m6ike_tstamp now;
  km_child *ch;
  size_t n_ch, cap_ch;
  uint32_t *cidx; /* child_id -> ch index + 1, open addressing */
  size_t cidx_cap;
  hoa_table mns; /* of km_mn */
  m6ike_keymgr_stats st;
};

static void km_logf(m6ike_keymgr *k, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  agent_vlog_(k->cbs.log, k->cbs.user_data, level, fmt, ap);
  va_end(ap);
}

static int km_rand(uint8_t *d, size_t n, void *ud) {
  m6ike_keymgr *k = ud;
  return k->cbs.rand(d, n, k->cbs.user_data);
}

static int send_pfkey(m6ike_keymgr *k, const uint8_t *msg, size_t len) {
  if (k->cbs.send_pfkey == NULL ||
      k->cbs.send_pfkey(msg, len, k->cbs.user_data) != 0) {
    return M6IKE_ERR_KEYMGR_SEND;
  }
  return 0;
}

static int flush(m6ike_keymgr *k, m6ike_tstamp now) {
  uint8_t buf[AGENT_IKE_BUF];
  m6ike_ikev2_path path;
  int rc = 0;
  if (k->ike == NULL) {
    return 0;
  }
  for (;;) {
    int n = m6ike_ikev2_write_pkt(k->ike, &path, buf, sizeof(buf), now);
    if (n <= 0) {
      break;
    }
    if (k->cbs.send_udp == NULL ||
        k->cbs.send_udp(&path, buf, (size_t)n, k->cbs.user_data) != 0) {
      k->st.udp_send_failed++;
      rc = M6IKE_ERR_AGENT_SEND;
    }
  }
  return rc;
}

/* ---- the SA messages ------------------------------------------------------ */

/* What may come out of an inbound SA (agent.h POLICIES): transport, the
 * Mobility Header between the HoA and the HA; tunnel, the HoA's own
 * traffic. */
static void inbound_sel(const m6ike_keymgr *k, uint8_t mode,
                        const m6ike_addr6 *hoa, m6ike_ipsec_selector *s) {
  int ha = k->cfg.role == M6IKE_AGENT_HA;
  m6ike_ipsec_selector_any(s);
  if (mode == M6IKE_IPSEC_MODE_TRANSPORT) {
    m6ike_ipsec_selector_host(s, ha ? hoa : &k->cfg.ha, ha ? &k->cfg.ha : hoa,
                              M6IKE_IPPROTO_MH);
  } else if (ha) {
    s->src = *hoa;
    s->src_plen = 128;
  } else {
    s->dst = *hoa;
    s->dst_plen = 128;
  }
}

/* ADD / UPDATE (+ move) / DELETE for one SA.  sel: the SA-selector
 * extension's selector (NULL: none unless esn); ek/ik: keys (ADD only). */
static int sa_msg(m6ike_keymgr *k, uint8_t type, uint32_t spi,
                  const m6ike_addr6 *src, const m6ike_addr6 *dst,
                  uint8_t mode, uint32_t reqid, uint16_t encr, uint16_t integ,
                  const uint8_t *ek, size_t eklen, const uint8_t *ik,
                  size_t iklen, int esn, const m6ike_ipsec_selector *sel,
                  const m6ike_addr6 *new_src, const m6ike_addr6 *new_dst) {
  uint8_t buf[512];
  m6ike_pfkey_builder b;
  int aalg = m6ike_ipsec_integ_to_sadb_(integ);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), type, M6IKE_SADB_SATYPE_ESP,
                            ++k->seq, 0);
  m6ike_pfkey_sa s = {spi, 32, M6IKE_SADB_SASTATE_MATURE,
                      (uint8_t)(aalg < 0 ? 0 : aalg), (uint8_t)encr, 0};
  m6ike_pfkey_sockaddr ss = m6ike_pfkey_sockaddr6(src, 0);
  m6ike_pfkey_sockaddr ds = m6ike_pfkey_sockaddr6(dst, 0);
  m6ike_pfkey_add_sa(&b, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC,
                          M6IKE_IPSEC_ULPROTO_ANY, 128, &ss);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST,
                          M6IKE_IPSEC_ULPROTO_ANY, 128, &ds);
  if (type == M6IKE_SADB_ADD) {
    if (iklen > 0) {
      m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_AUTH, (uint16_t)(iklen * 8),
                          ik);
    }
    if (eklen > 0) {
      m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT,
                          (uint16_t)(eklen * 8), ek);
    }
  }
  m6ike_pfkey_add_sa2(&b, mode, 0, reqid);
  if (sel != NULL || esn) {
    m6ike_pfkey_sa_sel x;
    memset(&x, 0, sizeof(x));
    x.flags = esn ? M6IKE_PFKEY_SA_SEL_ESN : 0;
    if (sel != NULL) {
      x.flags |= M6IKE_PFKEY_SA_SEL_SELECTOR;
      x.proto = sel->proto;
      x.src_plen = sel->src_plen;
      x.dst_plen = sel->dst_plen;
      x.mh_type_lo = sel->mh_type_lo;
      x.mh_type_hi = sel->mh_type_hi;
      x.sport_lo = sel->sport_lo;
      x.sport_hi = sel->sport_hi;
      x.dport_lo = sel->dport_lo;
      x.dport_hi = sel->dport_hi;
      memcpy(x.src, sel->src.b, 16);
      memcpy(x.dst, sel->dst.b, 16);
    }
    m6ike_pfkey_add_sa_sel(&b, &x);
  }
  if (new_src != NULL) {
    m6ike_pfkey_sa_move mv;
    memcpy(mv.new_src, new_src->b, 16);
    memcpy(mv.new_dst, new_dst->b, 16);
    m6ike_pfkey_add_sa_move(&b, &mv);
  }
  int n = m6ike_pfkey_builder_finish(&b);
  int rc = n < 0 ? n : send_pfkey(k, buf, (size_t)n);
  memset(buf, 0, sizeof(buf));
  return rc;
}

static void keylog_sa(m6ike_keymgr *k, uint32_t spi, const m6ike_addr6 *src,
                      const m6ike_addr6 *dst, uint16_t encr, uint16_t integ,
                      const uint8_t *ek, size_t eklen, const uint8_t *ik,
                      size_t iklen) {
  char line[512];
  if (k->cbs.keylog == NULL || !k->cfg.keylog_esp) {
    return;
  }
  m6ike_ipsec_sa_params p;
  memset(&p, 0, sizeof(p));
  p.spi = spi;
  p.src = *src;
  p.dst = *dst;
  p.enc_alg = encr;
  p.auth_alg = integ;
  p.enc_key = ek;
  p.enc_key_len = eklen;
  p.auth_key = ik;
  p.auth_key_len = iklen;
  int n = m6ike_ipsec_sa_params_format_wireshark(&p, line, sizeof(line));
  if (n <= 0 || (size_t)n >= sizeof(line)) {
    return;
  }
  if (line[n - 1] == '\n') {
    line[n - 1] = '\0';
  }
  k->cbs.keylog(1, line, k->cbs.user_data);
}

/* ADD of one SA (in: with the HoA selector) and its key-log line. */
static int add_sa(m6ike_keymgr *k, uint32_t spi, const m6ike_addr6 *src,
                  const m6ike_addr6 *dst, uint8_t mode, uint32_t reqid,
                  uint16_t encr, uint16_t integ, const uint8_t *ek,
                  size_t eklen, const uint8_t *ik, size_t iklen, int esn,
                  const m6ike_addr6 *in_hoa) {
  m6ike_ipsec_selector sel;
  if (in_hoa != NULL) {
    inbound_sel(k, mode, in_hoa, &sel);
  }
  int rc = sa_msg(k, M6IKE_SADB_ADD, spi, src, dst, mode, reqid, encr, integ,
                  ek, eklen, ik, iklen, esn, in_hoa ? &sel : NULL, NULL,
                  NULL);
  if (rc < 0) {
    km_logf(k, M6IKE_IKEV2_LOG_ERROR, "ADD of SA %08x: %s", (unsigned)spi,
            m6ike_strerror(rc));
    return rc;
  }
  k->st.sa_added++;
  keylog_sa(k, spi, src, dst, encr, integ, ek, eklen, ik, iklen);
  return 0;
}

/* ---- HA: the MN table ------------------------------------------------------- */

/* The MN table is a hoa_table; the CHILD_SA table an open-addressing
 * hash of indexes (+1, 0 = empty), at most half full. */
static size_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return (size_t)x;
}

static int cidx_grow(m6ike_keymgr *k) {
  size_t ncap = k->cidx_cap ? k->cidx_cap * 2 : 16;
  uint32_t *n = m6ike_calloc(k->mem, ncap, sizeof(*n));
  if (n == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  for (size_t r = 0; r < k->n_ch; r++) {
    size_t i = mix(k->ch[r].child_id) & (ncap - 1);
    while (n[i] != 0) {
      i = (i + 1) & (ncap - 1);
    }
    n[i] = (uint32_t)(r + 1);
  }
  m6ike_free(k->mem, k->cidx);
  k->cidx = n;
  k->cidx_cap = ncap;
  return 0;
}

/* The slot of child_id in cidx, or cidx_cap if absent. */
static size_t child_slot(const m6ike_keymgr *k, uint32_t child_id) {
  if (k->cidx_cap == 0) {
    return 0;
  }
  size_t mask = k->cidx_cap - 1;
  for (size_t i = mix(child_id) & mask; k->cidx[i] != 0; i = (i + 1) & mask) {
    if (k->ch[k->cidx[i] - 1].child_id == child_id) {
      return i;
    }
  }
  return k->cidx_cap;
}

static km_child *child_find(m6ike_keymgr *k, uint32_t child_id) {
  size_t s = child_slot(k, child_id);
  return s < k->cidx_cap ? &k->ch[k->cidx[s] - 1] : NULL;
}

/* Room for one more child (array and index).  0 or M6IKE_ERR_NOMEM. */
static int child_reserve(m6ike_keymgr *k) {
  if ((k->n_ch + 1) * 2 > k->cidx_cap) {
    int rc = cidx_grow(k);
    if (rc < 0) {
      return rc;
    }
  }
  if (k->n_ch == k->cap_ch) {
    size_t ncap = k->cap_ch ? k->cap_ch * 2 : 4;
    km_child *n = m6ike_realloc(k->mem, k->ch, ncap * sizeof(*n));
    if (n == NULL) {
      return M6IKE_ERR_NOMEM;
    }
    k->ch = n;
    k->cap_ch = ncap;
  }
  return 0;
}

/* Appends *x (room reserved). */
static void child_insert(m6ike_keymgr *k, const km_child *x) {
  k->ch[k->n_ch] = *x;
  size_t mask = k->cidx_cap - 1;
  size_t i = mix(x->child_id) & mask;
  while (k->cidx[i] != 0) {
    i = (i + 1) & mask;
  }
  k->cidx[i] = (uint32_t)(++k->n_ch);
}

/* Removes the child (backward-shift deletion in the index, the last
 * array element moved into its place). */
static void child_remove(m6ike_keymgr *k, uint32_t child_id) {
  size_t s = child_slot(k, child_id);
  if (s >= k->cidx_cap) {
    return;
  }
  size_t mask = k->cidx_cap - 1;
  size_t idx = k->cidx[s] - 1;
  k->cidx[s] = 0;
  for (size_t j = (s + 1) & mask; k->cidx[j] != 0; j = (j + 1) & mask) {
    size_t h = mix(k->ch[k->cidx[j] - 1].child_id) & mask;
    int movable = j > s ? (h <= s || h > j) : (h <= s && h > j);
    if (movable) {
      k->cidx[s] = k->cidx[j];
      k->cidx[j] = 0;
      s = j;
    }
  }
  size_t last = k->n_ch - 1;
  if (idx != last) {
    size_t ls = child_slot(k, k->ch[last].child_id);
    k->ch[idx] = k->ch[last];
    k->cidx[ls] = (uint32_t)(idx + 1);
  }
  k->n_ch--;
}

/* ---- the engine's callbacks ---------------------------------------------------- */

static void cb_log(int level, uint32_t sa_id, const char *msg, void *ud) {
  km_logf(ud, level, "ike[%u]: %s", (unsigned)sa_id, msg);
}

static void cb_ike_up(const m6ike_ikev2_ike_info *info, void *ud) {
  m6ike_keymgr *k = ud;
  if (k->cfg.role == M6IKE_AGENT_MN && info->initiator) {
    k->ike_sa = info->sa_id;
  }
}

static void cb_ike_down(uint32_t sa_id, int reason, void *ud) {
  m6ike_keymgr *k = ud;
  if (k->ike_sa == sa_id) {
    k->ike_sa = 0;
  }
  km_logf(k, M6IKE_IKEV2_LOG_INFO, "IKE SA %u down: %s", (unsigned)sa_id,
          reason ? m6ike_strerror(reason) : "deleted");
}

static int child_hoa(const m6ike_keymgr *k, const m6ike_ikev2_child_info *c,
                     m6ike_addr6 *hoa) {
  if (k->cfg.role == M6IKE_AGENT_MN) {
    *hoa = k->cfg.hoa;
    return 0;
  }
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

static int cb_child_up(const m6ike_ikev2_child_info *c, void *ud) {
  m6ike_keymgr *k = ud;
  m6ike_addr6 hoa;
  uint32_t reqid = c->reqid;
  if (child_hoa(k, c, &hoa) < 0) {
    return -1;
  }
  if (k->cfg.role == M6IKE_AGENT_HA) {
    size_t i;
    if (hoa_table_get(&k->mns, &hoa, &i) < 0) {
      return -1;
    }
    reqid = REQID_HA_BASE + (uint32_t)i;
  }
  if (child_reserve(k) < 0) {
    return -1;
  }
  uint8_t mode = c->mode == M6IKE_IKEV2_MODE_TUNNEL ? M6IKE_IPSEC_MODE_TUNNEL
                                                     : M6IKE_IPSEC_MODE_TRANSPORT;
  if (add_sa(k, c->spi_in, &c->remote, &c->local, mode, reqid, c->alg.encr,
             c->alg.integ, c->enc_in, c->enc_len, c->integ_in, c->integ_len,
             c->alg.esn, &hoa) < 0) {
    return -1;
  }
  if (add_sa(k, c->spi_out, &c->local, &c->remote, mode, reqid, c->alg.encr,
             c->alg.integ, c->enc_out, c->enc_len, c->integ_out, c->integ_len,
             c->alg.esn, NULL) < 0) {
    (void)sa_msg(k, M6IKE_SADB_DELETE, c->spi_in, &c->remote, &c->local, mode,
                 reqid, c->alg.encr, c->alg.integ, NULL, 0, NULL, 0, 0, NULL,
                 NULL, NULL);
    return -1;
  }
  km_child x;
  memset(&x, 0, sizeof(x));
  x.child_id = c->child_id;
  x.spi_in = c->spi_in;
  x.spi_out = c->spi_out;
  x.local = c->local;
  x.remote = c->remote;
  x.hoa = hoa;
  x.mode = mode;
  x.reqid = reqid;
  x.encr = c->alg.encr;
  x.integ = c->alg.integ;
  x.esn = c->alg.esn;
  child_insert(k, &x);
  return 0;
}

static void cb_child_down(const m6ike_ikev2_child_info *c, int reason,
                          void *ud) {
  m6ike_keymgr *k = ud;
  (void)reason;
  km_child *x = child_find(k, c->child_id);
  if (x == NULL) {
    return;
  }
  m6ike_ipsec_selector sel;
  inbound_sel(k, x->mode, &x->hoa, &sel);
  if (sa_msg(k, M6IKE_SADB_DELETE, x->spi_in, &x->remote, &x->local, x->mode,
             x->reqid, x->encr, x->integ, NULL, 0, NULL, 0, 0, &sel, NULL,
             NULL) == 0) {
    k->st.sa_deleted++;
  }
  if (sa_msg(k, M6IKE_SADB_DELETE, x->spi_out, &x->local, &x->remote,
             x->mode, x->reqid, x->encr, x->integ, NULL, 0, NULL, 0, 0, NULL,
             NULL, NULL) == 0) {
    k->st.sa_deleted++;
  }
  child_remove(k, c->child_id);
}

static int cb_child_update(const m6ike_ikev2_child_info *c, void *ud) {
  m6ike_keymgr *k = ud;
  km_child *x = child_find(k, c->child_id);
  if (x == NULL) {
    return 0;
  }
  m6ike_ipsec_selector sel;
  inbound_sel(k, x->mode, &x->hoa, &sel);
  int rc = sa_msg(k, M6IKE_SADB_UPDATE, x->spi_in, &x->remote, &x->local,
                  x->mode, x->reqid, x->encr, x->integ, NULL, 0, NULL, 0,
                  x->esn, &sel, &c->remote, &c->local);
  if (rc == 0) {
    k->st.sa_updated++;
    keylog_sa(k, x->spi_in, &c->remote, &c->local, x->encr, x->integ,
              c->enc_in, c->enc_len, c->integ_in, c->integ_len);
    rc = sa_msg(k, M6IKE_SADB_UPDATE, x->spi_out, &x->local, &x->remote,
                x->mode, x->reqid, x->encr, x->integ, NULL, 0, NULL, 0,
                x->esn, NULL, &c->local, &c->remote);
  }
  if (rc == 0) {
    k->st.sa_updated++;
    keylog_sa(k, x->spi_out, &c->local, &c->remote, x->encr, x->integ,
              c->enc_out, c->enc_len, c->integ_out, c->integ_len);
  } else {
    km_logf(k, M6IKE_IKEV2_LOG_ERROR, "moving CHILD_SA %u: %s",
            (unsigned)c->child_id, m6ike_strerror(rc));
  }
  x->local = c->local;
  x->remote = c->remote;
  return 0;
}

static void cb_keylog(uint32_t sa_id, const char *line, void *ud) {
  m6ike_keymgr *k = ud;
  (void)sa_id;
  if (k->cbs.keylog != NULL) {
    k->cbs.keylog(0, line, k->cbs.user_data);
  }
}

/* ---- creation -------------------------------------------------------------------- */

static void ts_host(m6ike_ikev2_ts *t, const m6ike_addr6 *x, uint8_t proto) {
  m6ike_ikev2_ts_set6(t, x, x, proto, 0, 65535);
}

/* MN: what the engine negotiates (RFC 4877: the MH transport pair, then
 * the tunnel pair). */
static int mn_mobility(m6ike_keymgr *k) {
  const m6ike_addr6 *hoa = &k->cfg.hoa, *ha = &k->cfg.ha;
  m6ike_addr6 any;
  memset(&any, 0, sizeof(any));
  m6ike_ikev2_mobility_cfg mc;
  memset(&mc, 0, sizeof(mc));
  mc.peer.path.remote = *ha;
  mc.peer.local_id = k->pp.local_id;
  if (mc.peer.local_id.type == 0) {
    mc.peer.local_id.type = M6IKE_IKEV2_ID_IPV6_ADDR;
    mc.peer.local_id.len = 16;
    memcpy(mc.peer.local_id.data, hoa->b, 16);
  }
  mc.peer.remote_id = k->pp.remote_id;
  mc.peer.auth_method = M6IKE_IKEV2_AUTH_PSK;
  memcpy(mc.peer.psk, k->psk, k->cfg.psk_len);
  mc.peer.psk_len = k->cfg.psk_len;
  memcpy(mc.peer.ike, k->pp.ike_algs, sizeof(mc.peer.ike));
  mc.peer.n_ike = k->pp.n_ike;
  mc.peer.mobike = k->cfg.scheme == M6IKE_SCHEME_MOBIKE;
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
    memcpy(mc.children[i].esp, k->pp.esp_algs, sizeof(k->pp.esp_algs));
    mc.children[i].n_esp = k->pp.n_esp;
  }
  mc.n_children = 2;
  int rc = m6ike_ikev2_set_mobility(k->ike, &mc);
  memset(&mc, 0, sizeof(mc));
  return rc == M6IKE_ERR_IKEV2_BAD_CONFIG ? M6IKE_ERR_AGENT_CONFIG : rc;
}

/* HA: the responder's peer: any MN with the PSK, CHILD_SAs narrowed to
 * the home prefix. */
static int ha_peer(m6ike_keymgr *k) {
  const m6ike_addr6 *ha = &k->cfg.ha, *pfx = &k->cfg.home_prefix;
  uint8_t plen = k->cfg.home_plen;
  m6ike_ikev2_peer_cfg pc;
  memset(&pc, 0, sizeof(pc));
  pc.path.local = *ha;
  pc.local_id = k->pp.local_id;
  if (pc.local_id.type == 0) {
    pc.local_id.type = M6IKE_IKEV2_ID_IPV6_ADDR;
    pc.local_id.len = 16;
    memcpy(pc.local_id.data, ha->b, 16);
  }
  pc.remote_id = k->pp.remote_id;
  pc.auth_method = M6IKE_IKEV2_AUTH_PSK;
  memcpy(pc.psk, k->psk, k->cfg.psk_len);
  pc.psk_len = k->cfg.psk_len;
  memcpy(pc.ike, k->pp.ike_algs, sizeof(pc.ike));
  pc.n_ike = k->pp.n_ike;
  pc.mobike = k->cfg.scheme == M6IKE_SCHEME_MOBIKE;
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
    memcpy(ch[i].esp, k->pp.esp_algs, sizeof(k->pp.esp_algs));
    ch[i].n_esp = k->pp.n_esp;
  }
  int rc = m6ike_ikev2_add_peer(k->ike, &pc, ch, 2);
  memset(&pc, 0, sizeof(pc));
  return rc == M6IKE_ERR_IKEV2_BAD_CONFIG ? M6IKE_ERR_AGENT_CONFIG : rc;
}

void m6ike_keymgr_del(m6ike_keymgr *k) {
  if (k == NULL) {
    return;
  }
  m6ike_ikev2_del(k->ike);
  m6ike_free(k->mem, k->ch);
  m6ike_free(k->mem, k->cidx);
  hoa_table_fini(&k->mns);
  const m6ike_mem *mem = k->mem;
  memset(k->psk, 0, sizeof(k->psk));
  m6ike_free(mem, k);
}

int m6ike_keymgr_new(m6ike_keymgr **pk, const m6ike_agent_config *cfg,
                     const m6ike_keymgr_callbacks *cbs,
                     const m6ike_crypto *crypto,
                     const m6ike_msrd_reader *msrd, const m6ike_mem *mem) {
  if (pk == NULL || cfg == NULL || cbs == NULL || cbs->rand == NULL ||
      crypto == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pk = NULL;
  agent_parsed pp;
  memset(&pp, 0, sizeof(pp));
  int rc = agent_config_check(cfg, &pp);
  if (rc < 0) {
    return rc;
  }
  mem = m6ike_mem_or_default(mem);
  m6ike_keymgr *k = m6ike_calloc(mem, 1, sizeof(*k));
  if (k == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  k->mem = mem;
  k->cfg = *cfg;
  k->cbs = *cbs;
  k->crypto = crypto;
  k->msrd = msrd;
  k->pp = pp;
  /* bucket positions only: no output depends on the seed */
  hoa_table_init(&k->mns, sizeof(km_mn), offsetof(km_mn, hoa), cfg->max_mns,
                 (uint64_t)(uintptr_t)k ^ 0x9e3779b97f4a7c15ull, mem);
  memcpy(k->psk, cfg->psk, cfg->psk_len);
  k->cfg.psk = k->psk;
  k->cfg.ike_proposal = k->cfg.esp_proposal = NULL;
  k->cfg.local_id = k->cfg.remote_id = NULL;
  if (cfg->scheme != M6IKE_SCHEME_STATIC) {
    int mn = cfg->role == M6IKE_AGENT_MN;
    m6ike_ikev2_config ec;
    m6ike_ikev2_config_default(&ec);
    if (cfg->ike_retrans_timeout) {
      ec.retrans_timeout = cfg->ike_retrans_timeout;
    }
    ec.liveness_idle = (m6ike_tstamp)cfg->liveness_s * M6IKE_SECONDS;
    if (cfg->ike_retrans_tries) {
      ec.retrans_tries = cfg->ike_retrans_tries;
    }
    if (mn) {
      ec.max_ike_sas = 8;
      ec.out_queue_limit = 16;
      ec.max_msg = 2048;
      ec.max_msg_in = 2048;
      ec.hash_bits = 4;
    } else {
      if (cfg->max_mns) {
        ec.max_ike_sas = cfg->max_mns * 2;
      }
      unsigned bits = 10;
      while (bits < 16 && ((size_t)1 << bits) < cfg->expected_mns) {
        bits++;
      }
      ec.hash_bits = bits;
    }
    m6ike_ikev2_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.user_data = k;
    cb.rand = km_rand;
    cb.log = cb_log;
    cb.ike_sa_up = cb_ike_up;
    cb.ike_sa_down = cb_ike_down;
    cb.child_sa_up = cb_child_up;
    cb.child_sa_down = cb_child_down;
    cb.child_sa_update = cb_child_update;
    cb.keylog = cb_keylog;
    rc = m6ike_ikev2_new(&k->ike, &ec, &cb, crypto, mem);
    if (rc == M6IKE_ERR_IKEV2_BAD_CONFIG) {
      rc = M6IKE_ERR_AGENT_CONFIG;
    }
    if (rc == 0) {
      rc = m6ike_ikev2_attach_msrd(k->ike, msrd);
    }
    if (rc == 0) {
      rc = mn ? mn_mobility(k) : ha_peer(k);
    }
  }
  if (rc < 0) {
    m6ike_keymgr_del(k);
    return rc;
  }
  *pk = k;
  return 0;
}

/* The four manual SAs of hoa (agent.h STATIC); index: HA reqid offset. */
static int add_static(m6ike_keymgr *k, const m6ike_addr6 *hoa,
                      uint32_t reqid_tr, uint32_t reqid_tun) {
  uint32_t spi[4];
  uint8_t keys[4 * (36 + 64)];
  size_t ek, ik;
  const m6ike_ikev2_algs *alg = &k->pp.esp_algs[0];
  const m6ike_addr6 *ha = &k->cfg.ha;
  int mn = k->cfg.role == M6IKE_AGENT_MN;
  int rc = agent_static_keys_(k->crypto, alg, k->psk, k->cfg.psk_len, hoa,
                              spi, keys, &ek, &ik);
  if (rc < 0) {
    return rc;
  }
  const uint8_t *kk = keys;
#define KEYS(i) kk + (i) * (ek + ik), ek, kk + (i) * (ek + ik) + ek, ik
  /* order: transport MN->HA, HA->MN, tunnel MN->HA, HA->MN; inbound ones
   * carry the HoA selector */
  if ((rc = add_sa(k, spi[0], hoa, ha, M6IKE_IPSEC_MODE_TRANSPORT, reqid_tr,
                   alg->encr, alg->integ, KEYS(0), alg->esn,
                   mn ? NULL : hoa)) == 0 &&
      (rc = add_sa(k, spi[1], ha, hoa, M6IKE_IPSEC_MODE_TRANSPORT, reqid_tr,
                   alg->encr, alg->integ, KEYS(1), alg->esn,
                   mn ? hoa : NULL)) == 0 &&
      (rc = add_sa(k, spi[2], hoa, ha, M6IKE_IPSEC_MODE_TUNNEL, reqid_tun,
                   alg->encr, alg->integ, KEYS(2), alg->esn,
                   mn ? NULL : hoa)) == 0) {
    rc = add_sa(k, spi[3], ha, hoa, M6IKE_IPSEC_MODE_TUNNEL, reqid_tun,
                alg->encr, alg->integ, KEYS(3), alg->esn, mn ? hoa : NULL);
  }
#undef KEYS
  memset(keys, 0, sizeof(keys));
  return rc;
}

int m6ike_keymgr_start(m6ike_keymgr *k, m6ike_tstamp now) {
  if (k == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (k->started) {
    return M6IKE_ERR_INVALID_STATE;
  }
  k->now = now;
  k->started = 1;
  if (k->ike == NULL) {
    return k->cfg.role == M6IKE_AGENT_MN
               ? add_static(k, &k->cfg.hoa, REQID_MH, REQID_TUNNEL)
               : 0;
  }
  uint8_t buf[M6IKE_PFKEY_HDR_LEN];
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_REGISTER,
                            M6IKE_SADB_SATYPE_ESP, ++k->seq, 0);
  int n = m6ike_pfkey_builder_finish(&b);
  return n < 0 ? n : send_pfkey(k, buf, (size_t)n);
}

int m6ike_keymgr_add_mn(m6ike_keymgr *k, const m6ike_addr6 *hoa,
                        m6ike_tstamp now) {
  if (k == NULL || hoa == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int bad = agent_add_mn_check_(&k->cfg, hoa);
  if (bad < 0) {
    return bad;
  }
  if (k->cfg.scheme != M6IKE_SCHEME_STATIC) {
    return 0;
  }
  if (!k->started) {
    return M6IKE_ERR_KEYMGR_NOT_STARTED;
  }
  k->now = now;
  size_t i;
  int rc = hoa_table_get(&k->mns, hoa, &i);
  if (rc < 0) {
    return rc;
  }
  km_mn *mn = hoa_table_at(&k->mns, i);
  if (mn->provisioned) {
    return M6IKE_ERR_AGENT_STATE;
  }
  uint32_t reqid = REQID_HA_BASE + (uint32_t)i;
  rc = add_static(k, hoa, reqid, reqid);
  if (rc == 0) {
    mn->provisioned = 1;
  }
  return rc;
}

/* Static scheme: the mobility side moved the tunnel SAs with X_MIGRATE;
 * the key manager writes the esp_sa lines for their new addresses (it can
 * derive the keys again: agent.h STATIC). */
static int static_migrated(m6ike_keymgr *k, const m6ike_pfkey_msg *msg) {
  m6ike_pfkey_policy pol;
  m6ike_pfkey_ipsecrequest rq;
  m6ike_pfkey_address ad;
  if (k->cbs.keylog == NULL || !k->cfg.keylog_esp ||
      m6ike_pfkey_get_policy(msg, &pol) != 0 ||
      pol.dir != M6IKE_IPSEC_DIR_OUTBOUND ||
      m6ike_pfkey_policy_request(&pol, 1, &rq) != 0 || !rq.has_addrs ||
      rq.src.family != M6IKE_PFKEY_AF_INET6 ||
      m6ike_pfkey_get_address(msg, M6IKE_SADB_EXT_ADDRESS_DST, &ad) != 0) {
    return 0;
  }
  int mn = k->cfg.role == M6IKE_AGENT_MN;
  m6ike_addr6 hoa = k->cfg.hoa, coa;
  if (!mn) {
    memcpy(hoa.b, ad.sa.addr, 16);
  }
  memcpy(coa.b, mn ? rq.src.addr : rq.dst.addr, 16);
  uint32_t spi[4];
  uint8_t keys[4 * (36 + 64)];
  size_t ek, ik;
  const m6ike_ikev2_algs *alg = &k->pp.esp_algs[0];
  const m6ike_addr6 *ha = &k->cfg.ha;
  if (agent_static_keys_(k->crypto, alg, k->psk, k->cfg.psk_len, &hoa, spi,
                         keys, &ek, &ik) < 0) {
    return 0;
  }
  const uint8_t *kk = keys;
#define KEYS(i) kk + (i) * (ek + ik), ek, kk + (i) * (ek + ik) + ek, ik
  for (int j = 0; j < 2; j++) {
    /* MN: its outbound (2) then inbound (3); HA: outbound (3), inbound (2) */
    int i = mn ? 2 + j : 3 - j;
    keylog_sa(k, spi[i], i == 2 ? &coa : ha, i == 2 ? ha : &coa, alg->encr,
              alg->integ, KEYS(i));
  }
#undef KEYS
  memset(keys, 0, sizeof(keys));
  return 0;
}

/* ---- entry points ------------------------------------------------------------------ */

/* MN, before an ACQUIRE goes to the engine: the MSRD entry of our HoA
 * carries another MPI than at the last ACQUIRE -> the mobility side
 * started a new registration (HA LOST, agent.h): forget the IKE SAs to
 * the HA (their SAs are DELETEd) so that the engine bootstraps anew. */
static void new_epoch(m6ike_keymgr *k, m6ike_tstamp now) {
  m6ike_msrd_entry e;
  if (k->cfg.role != M6IKE_AGENT_MN || k->msrd == NULL ||
      m6ike_msrd_lookup_hoa(k->msrd, &k->cfg.hoa, &e, NULL) != 0) {
    return;
  }
  if (k->epoch_mpi != 0 && k->epoch_mpi != e.mpi) {
    int n = m6ike_ikev2_forget_peer(k->ike, &k->cfg.ha, now);
    km_logf(k, M6IKE_IKEV2_LOG_INFO,
            "MSRD entry renewed (MPI %u, was %u): %d IKE SA(s) to the HA "
            "forgotten, bootstrapping anew",
            (unsigned)e.mpi, (unsigned)k->epoch_mpi, n);
    k->st.epochs++;
  }
  k->epoch_mpi = e.mpi;
}

int m6ike_keymgr_read_pfkey(m6ike_keymgr *k, const uint8_t *msg, size_t len,
                            m6ike_tstamp now) {
  m6ike_pfkey_msg m;
  if (k == NULL || msg == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!k->started) {
    return M6IKE_ERR_KEYMGR_NOT_STARTED;
  }
  k->now = now;
  if (len >= M6IKE_PFKEY_HDR_LEN && msg[0] == M6IKE_PF_KEY_V2 && msg[2] != 0) {
    /* an error reply: the header only (pfkey_bus.h) */
    k->st.refused++;
    km_logf(k, M6IKE_IKEV2_LOG_ERROR, "kernel refused our %s (seq %u): "
            "errno %u", m6ike_pfkey_msg_type_name(msg[1]),
            (unsigned)(msg[8] | msg[9] << 8 | msg[10] << 16 |
                       (uint32_t)msg[11] << 24),
            (unsigned)msg[2]);
    return M6IKE_ERR_KEYMGR_REFUSED;
  }
  if (m6ike_pfkey_decode(&m, msg, len, M6IKE_PFKEY_DEC_LENIENT) < 0) {
    return M6IKE_ERR_KEYMGR_PFKEY;
  }
  switch (m.hdr.type) {
  case M6IKE_SADB_ACQUIRE:
  case M6IKE_SADB_X_MIGRATE: {
    if (k->ike == NULL) {
      return m.hdr.type == M6IKE_SADB_X_MIGRATE ? static_migrated(k, &m)
                                                : M6IKE_ERR_KEYMGR_IGNORED;
    }
    if (m.hdr.type == M6IKE_SADB_ACQUIRE) {
      k->st.acquires++;
      new_epoch(k, now);
    } else {
      k->st.migrates++;
    }
    int rc = m6ike_ikev2_handle_pfkey(k->ike, msg, len, now);
    int frc = flush(k, now);
    return rc < 0 ? rc : frc;
  }
  case M6IKE_SADB_REGISTER:
  case M6IKE_SADB_ADD:
  case M6IKE_SADB_UPDATE:
  case M6IKE_SADB_DELETE:
    return 0; /* the kernel's replies to ours */
  default:
    return M6IKE_ERR_KEYMGR_IGNORED;
  }
}

int m6ike_keymgr_read_udp(m6ike_keymgr *k, const m6ike_ikev2_path *path,
                          const uint8_t *buf, size_t len, m6ike_tstamp now) {
  if (k == NULL || path == NULL || (buf == NULL && len > 0) ||
      now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (k->ike == NULL) {
    return M6IKE_ERR_AGENT_NOT_HANDLED;
  }
  k->now = now;
  int rc = m6ike_ikev2_read_pkt(k->ike, path, buf, len, now);
  int frc = flush(k, now);
  return rc < 0 ? rc : frc;
}

int m6ike_keymgr_poll_msrd(m6ike_keymgr *k, m6ike_tstamp now) {
  if (k == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (k->ike == NULL || k->msrd == NULL || k->cfg.role != M6IKE_AGENT_MN ||
      k->cfg.scheme != M6IKE_SCHEME_MOBIKE || k->ike_sa == 0) {
    return 0;
  }
  m6ike_msrd_entry e;
  m6ike_ikev2_ike_info info;
  if (m6ike_msrd_lookup_hoa(k->msrd, &k->cfg.hoa, &e, NULL) != 0 ||
      m6ike_addr6_is_unspecified(&e.coa) ||
      m6ike_addr6_equal(&e.coa, &k->cfg.hoa) ||
      m6ike_ikev2_get_ike_info(k->ike, k->ike_sa, &info) != 0 ||
      m6ike_addr6_equal(&info.path.local, &e.coa)) {
    return 0;
  }
  k->now = now;
  int rc = m6ike_ikev2_mobike_update(k->ike, k->ike_sa, &e.coa, now);
  if (rc < 0) {
    km_logf(k, M6IKE_IKEV2_LOG_ERROR, "MOBIKE update: %s", m6ike_strerror(rc));
  }
  int frc = flush(k, now);
  return rc < 0 ? rc : frc;
}

m6ike_tstamp m6ike_keymgr_get_expiry(const m6ike_keymgr *k) {
  return k && k->ike ? m6ike_ikev2_get_expiry(k->ike) : M6IKE_TSTAMP_UNSET;
}

int m6ike_keymgr_handle_expiry(m6ike_keymgr *k, m6ike_tstamp now) {
  if (k == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (k->ike == NULL) {
    return 0;
  }
  k->now = now;
  m6ike_ikev2_handle_expiry(k->ike, now);
  return flush(k, now);
}

void m6ike_keymgr_ike_counts(const m6ike_keymgr *k,
                             uint64_t msgs_x[M6IKE_IKEV2_X_COUNT],
                             uint64_t *bytes) {
  uint64_t b = 0;
  m6ike_ikev2_stats es;
  if (k != NULL && k->ike != NULL) {
    m6ike_ikev2_get_stats(k->ike, &es);
  } else {
    memset(&es, 0, sizeof(es));
  }
  for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
    if (msgs_x) {
      msgs_x[i] = es.msgs_out[i] + es.msgs_in[i];
    }
    b += es.bytes_out[i] + es.bytes_in[i];
  }
  if (bytes) {
    *bytes = b;
  }
}

void m6ike_keymgr_get_stats(const m6ike_keymgr *k, m6ike_keymgr_stats *st) {
  if (st == NULL) {
    return;
  }
  if (k == NULL) {
    memset(st, 0, sizeof(*st));
    return;
  }
  *st = k->st;
}

const m6ike_ikev2 *m6ike_keymgr_ikev2(const m6ike_keymgr *k) {
  return k ? k->ike : NULL;
}
