/* ipsec: SPD, SAD, ESP (RFC 4303) transport/tunnel over IPv6, anti-replay,
 * lifetimes, direct address update, Wireshark esp_sa lines.  The PF_KEY
 * kernel side is in ipsec_pfkey.c. */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ipsec_internal.h"
#include "mem.h"

#define DEFAULT_TIMEOUT (30 * M6IKE_SECONDS)
#define INITIAL_TAB 64
#define ESP_HDR 8

const char *m6ike_ipsec_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_IPSEC_TRUNCATED:
    return "ipsec: ESP packet shorter than SPI + Sequence Number + IV + "
           "Pad Length + Next Header + ICV";
  case M6IKE_ERR_IPSEC_NO_SA:
    return "ipsec: no SA for the ESP packet's SPI and destination address";
  case M6IKE_ERR_IPSEC_ACQUIRE:
    return "ipsec: outbound PROTECT policy has no SA; ACQUIRE sent to the "
           "key managers (or one is pending)";
  case M6IKE_ERR_IPSEC_DISCARD:
    return "ipsec: a DISCARD policy matched the packet";
  case M6IKE_ERR_IPSEC_BAD_ICV:
    return "ipsec: ESP integrity check value does not verify";
  case M6IKE_ERR_IPSEC_REPLAY:
    return "ipsec: ESP sequence number replayed, left of the anti-replay "
           "window, or zero";
  case M6IKE_ERR_IPSEC_BAD_PADDING:
    return "ipsec: ESP Pad Length exceeds the payload or the Padding bytes "
           "are not 1, 2, 3, ...";
  case M6IKE_ERR_IPSEC_BAD_LENGTH:
    return "ipsec: ESP ciphertext length not a multiple of the cipher block "
           "size (or of 4), or the packet would exceed 65535 octets";
  case M6IKE_ERR_IPSEC_POLICY:
    return "ipsec: inbound packet does not match the SA's selector or the "
           "inbound SPD entry (wrong SA, or plaintext where PROTECT is "
           "required)";
  case M6IKE_ERR_IPSEC_NEXT_HEADER:
    return "ipsec: ESP Next Header wrong for the SA's mode (tunnel mode "
           "needs 41, IPv6)";
  case M6IKE_ERR_IPSEC_DUMMY:
    return "ipsec: ESP Next Header 59: dummy packet discarded (RFC 4303 "
           "2.6)";
  case M6IKE_ERR_IPSEC_SEQ_OVERFLOW:
    return "ipsec: outbound sequence number would cycle; the SA must be "
           "rekeyed";
  case M6IKE_ERR_IPSEC_EXPIRED:
    return "ipsec: SA hard lifetime reached; SA deleted";
  case M6IKE_ERR_IPSEC_ALGORITHM:
    return "ipsec: unsupported encryption/integrity algorithm or "
           "combination (NULL encryption needs integrity; GCM takes none)";
  case M6IKE_ERR_IPSEC_KEY_LENGTH:
    return "ipsec: key length wrong for the algorithm";
  case M6IKE_ERR_IPSEC_SELECTOR:
    return "ipsec: selector invalid (prefix length > 128, range low > high, "
           "ports without TCP/UDP/SCTP/ICMPv6, MH types without MH, or "
           "bad direction)";
  case M6IKE_ERR_IPSEC_LARVAL:
    return "ipsec: SA is larval (SPI reserved by GETSPI, no keys yet)";
  case M6IKE_ERR_IPSEC_FRAGMENT:
    return "ipsec: IPv6 fragment: reassembly is not modelled";
  case M6IKE_ERR_IPSEC_CRYPTO:
    return "ipsec: the crypto backend failed";
  case M6IKE_ERR_IPSEC_AMBIGUOUS:
    return "ipsec: several SAs use this SPI; name the destination";
  case M6IKE_ERR_IPSEC_REPLAY_WINDOW:
    return "ipsec: anti-replay window size outside 32..4096";
  case M6IKE_ERR_IPSEC_TUNNEL:
    return "ipsec: tunnel mode needs tunnel endpoints (transport mode takes "
           "none)";
  case M6IKE_ERR_IPSEC_NO_CRYPTO:
    return "ipsec: no crypto backend (or rand callback) configured";
  case M6IKE_ERR_IPSEC_SATYPE:
    return "ipsec: only ESP is implemented (not AH or IPComp)";
  case M6IKE_ERR_IPSEC_MODE:
    return "ipsec: mode must be transport or tunnel";
  case M6IKE_ERR_IPSEC_NOT_IPV6:
    return "ipsec: packet or address is not IPv6";
  case M6IKE_ERR_IPSEC_ACTION:
    return "ipsec: policy action/type or request list unsupported";
  default:
    return NULL;
  }
}

/* ------------------------------------------------------------------ */
/* Selectors                                                           */
/* ------------------------------------------------------------------ */

static int has_ports(uint8_t proto) {
  return proto == 6 || proto == 17 || proto == 132 ||
         proto == M6IKE_IPPROTO_ICMPV6;
}

void m6ike_ipsec_selector_any(m6ike_ipsec_selector *sel) {
  if (sel == NULL) {
    return;
  }
  memset(sel, 0, sizeof(*sel));
  sel->proto = M6IKE_IPSEC_PROTO_ANY;
  sel->sport_hi = 0xffff;
  sel->dport_hi = 0xffff;
  sel->mh_type_hi = 0xff;
}

void m6ike_ipsec_selector_host(m6ike_ipsec_selector *sel,
                               const m6ike_addr6 *src, const m6ike_addr6 *dst,
                               uint8_t proto) {
  m6ike_ipsec_selector_any(sel);
  if (sel == NULL) {
    return;
  }
  if (src) {
    sel->src = *src;
    sel->src_plen = 128;
  }
  if (dst) {
    sel->dst = *dst;
    sel->dst_plen = 128;
  }
  sel->proto = proto;
}

int m6ike_ipsec_selector_check_(const m6ike_ipsec_selector *s) {
  if (s->src_plen > 128 || s->dst_plen > 128 || s->sport_lo > s->sport_hi ||
      s->dport_lo > s->dport_hi || s->mh_type_lo > s->mh_type_hi) {
    return M6IKE_ERR_IPSEC_SELECTOR;
  }
  int ports_full = s->sport_lo == 0 && s->sport_hi == 0xffff &&
                   s->dport_lo == 0 && s->dport_hi == 0xffff;
  int mh_full = s->mh_type_lo == 0 && s->mh_type_hi == 0xff;
  if (!ports_full && !has_ports(s->proto)) {
    return M6IKE_ERR_IPSEC_SELECTOR;
  }
  if (!mh_full && s->proto != M6IKE_IPPROTO_MH) {
    return M6IKE_ERR_IPSEC_SELECTOR;
  }
  return 0;
}

static void mask_addr(m6ike_addr6 *a, unsigned plen) {
  for (unsigned i = 0; i < 16; i++) {
    unsigned bits = plen > i * 8 ? plen - i * 8 : 0;
    if (bits >= 8) {
      continue;
    }
    a->b[i] &= (uint8_t)(0xff00u >> bits);
  }
}

void m6ike_ipsec_selector_norm_(m6ike_ipsec_selector *s) {
  mask_addr(&s->src, s->src_plen);
  mask_addr(&s->dst, s->dst_plen);
}

int m6ike_ipsec_selector_equal_(const m6ike_ipsec_selector *a,
                                const m6ike_ipsec_selector *b) {
  m6ike_ipsec_selector x = *a, y = *b;
  m6ike_ipsec_selector_norm_(&x);
  m6ike_ipsec_selector_norm_(&y);
  return x.src_plen == y.src_plen && x.dst_plen == y.dst_plen &&
         x.proto == y.proto && x.sport_lo == y.sport_lo &&
         x.sport_hi == y.sport_hi && x.dport_lo == y.dport_lo &&
         x.dport_hi == y.dport_hi && x.mh_type_lo == y.mh_type_lo &&
         x.mh_type_hi == y.mh_type_hi &&
         m6ike_addr6_equal(&x.src, &y.src) &&
         m6ike_addr6_equal(&x.dst, &y.dst);
}

/* What selectors are matched against. */
typedef struct flow {
  m6ike_addr6 src, dst; /* effective (HAO / RH2 applied) */
  uint8_t proto;
  uint8_t ports_ok, mh_ok;
  uint16_t sport, dport;
  uint8_t mh_type;
} flow;

static void flow_from_info(flow *f, const m6ike_ip6_info *info,
                           const uint8_t *pkt) {
  m6ike_ip6_pseudo_addrs(info, &f->src, &f->dst);
  f->proto = info->upper_proto;
  f->ports_ok = 0;
  f->mh_ok = 0;
  f->sport = f->dport = 0;
  f->mh_type = 0;
  const uint8_t *u = pkt + info->upper_off;
  if (info->is_fragment) {
    return; /* OPAQUE */
  }
  if (f->proto == M6IKE_IPPROTO_ICMPV6) {
    if (info->upper_len >= 2) {
      f->ports_ok = 1;
      f->sport = u[0];
      f->dport = u[1];
    }
  } else if (has_ports(f->proto)) {
    if (info->upper_len >= 4) {
      f->ports_ok = 1;
      m6ike_get_u16be(u, &f->sport);
      m6ike_get_u16be(u + 2, &f->dport);
    }
  } else if (f->proto == M6IKE_IPPROTO_MH) {
    if (info->upper_len >= 3) {
      f->mh_ok = 1;
      f->mh_type = u[2];
    }
  }
}

static int sel_match(const m6ike_ipsec_selector *s, const flow *f) {
  if (!m6ike_addr6_prefix_match(&s->src, &f->src, s->src_plen) ||
      !m6ike_addr6_prefix_match(&s->dst, &f->dst, s->dst_plen)) {
    return 0;
  }
  if (s->proto == M6IKE_IPSEC_PROTO_ANY) {
    return 1;
  }
  if (s->proto != f->proto) {
    return 0;
  }
  if (has_ports(s->proto)) {
    int full = s->sport_lo == 0 && s->sport_hi == 0xffff &&
               s->dport_lo == 0 && s->dport_hi == 0xffff;
    if (!full) {
      if (!f->ports_ok || f->sport < s->sport_lo || f->sport > s->sport_hi ||
          f->dport < s->dport_lo || f->dport > s->dport_hi) {
        return 0;
      }
    }
  } else if (s->proto == M6IKE_IPPROTO_MH) {
    if (!(s->mh_type_lo == 0 && s->mh_type_hi == 0xff)) {
      if (!f->mh_ok || f->mh_type < s->mh_type_lo ||
          f->mh_type > s->mh_type_hi) {
        return 0;
      }
    }
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* Object                                                              */
/* ------------------------------------------------------------------ */

int m6ike_ipsec_new(m6ike_ipsec **pipsec, const m6ike_ipsec_config *cfg,
                    const m6ike_mem *mem) {
  if (pipsec == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pipsec = NULL;
  mem = m6ike_mem_or_default(mem);
  if (cfg && cfg->replay_window != 0 &&
      (cfg->replay_window < M6IKE_IPSEC_MIN_REPLAY_WINDOW ||
       cfg->replay_window > M6IKE_IPSEC_MAX_REPLAY_WINDOW)) {
    return M6IKE_ERR_IPSEC_REPLAY_WINDOW;
  }
  if (cfg && cfg->spi_max != 0 && cfg->spi_min > cfg->spi_max) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_ipsec *x = m6ike_calloc(mem, 1, sizeof(*x));
  if (x == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  x->mem = mem;
  if (cfg) {
    x->cfg = *cfg;
    x->has_cfg = 1;
  }
  if (x->cfg.replay_window == 0) {
    x->cfg.replay_window = M6IKE_IPSEC_DEFAULT_REPLAY_WINDOW;
  }
  if (x->cfg.hop_limit == 0) {
    x->cfg.hop_limit = 64;
  }
  if (x->cfg.acquire_timeout == 0) {
    x->cfg.acquire_timeout = DEFAULT_TIMEOUT;
  }
  if (x->cfg.larval_timeout == 0) {
    x->cfg.larval_timeout = DEFAULT_TIMEOUT;
  }
  if (x->cfg.spi_min == 0 && x->cfg.spi_max == 0) {
    x->cfg.spi_max = 0xffffffffu;
  }
  if (x->cfg.spi_min < 256) {
    x->cfg.spi_min = 256;
  }
  x->tab_size = INITIAL_TAB;
  x->spi_tab = m6ike_calloc(mem, x->tab_size, sizeof(ipsec_sa *));
  x->reqid_tab = m6ike_calloc(mem, x->tab_size, sizeof(ipsec_sa *));
  if (x->spi_tab == NULL || x->reqid_tab == NULL) {
    m6ike_free(mem, x->spi_tab);
    m6ike_free(mem, x->reqid_tab);
    m6ike_free(mem, x);
    return M6IKE_ERR_NOMEM;
  }
  x->next_pol_id = 1;
  *pipsec = x;
  return 0;
}

static void sa_free(m6ike_ipsec *x, ipsec_sa *sa) {
  m6ike_crypto_cipher_del(sa->cipher);
  m6ike_crypto_integ_del(sa->integ_ctx);
  /* wipe the keys (volatile so the stores stay) */
  volatile uint8_t *k = (volatile uint8_t *)sa->enc_key;
  for (size_t i = 0; k && i < (size_t)sa->enc_key_len + sa->auth_key_len;
       i++) {
    k[i] = 0;
  }
  m6ike_free(x->mem, sa);
}

void m6ike_ipsec_del(m6ike_ipsec *x) {
  if (x == NULL) {
    return;
  }
  m6ike_ipsec_sa_flush(x);
  for (int i = 0; i < 3; i++) {
    m6ike_free(x->mem, x->pols[i].v);
  }
  m6ike_free(x->mem, x->spi_tab);
  m6ike_free(x->mem, x->reqid_tab);
  m6ike_free(x->mem, x);
}

void m6ike_ipsec_set_bus(m6ike_ipsec *x, m6ike_pfkey_bus *bus) {
  if (x) {
    x->bus = bus;
  }
}

void m6ike_ipsec_get_stats(const m6ike_ipsec *x, m6ike_ipsec_stats *st) {
  if (x && st) {
    *st = x->st;
  }
}

/* ------------------------------------------------------------------ */
/* SPD                                                                 */
/* ------------------------------------------------------------------ */

int m6ike_ipsec_pol_index_(uint8_t dir) {
  switch (dir) {
  case M6IKE_IPSEC_DIR_INBOUND:
    return 0;
  case M6IKE_IPSEC_DIR_OUTBOUND:
    return 1;
  case M6IKE_IPSEC_DIR_FWD:
    return 2;
  default:
    return -1;
  }
}

static int policy_check(const m6ike_ipsec_policy *p) {
  if (m6ike_ipsec_pol_index_(p->dir) < 0) {
    return M6IKE_ERR_IPSEC_SELECTOR;
  }
  int rc = m6ike_ipsec_selector_check_(&p->sel);
  if (rc < 0) {
    return rc;
  }
  switch (p->action) {
  case M6IKE_IPSEC_ACTION_BYPASS:
  case M6IKE_IPSEC_ACTION_DISCARD:
    return 0;
  case M6IKE_IPSEC_ACTION_PROTECT:
    break;
  default:
    return M6IKE_ERR_IPSEC_ACTION;
  }
  int tun_set = !m6ike_addr6_is_unspecified(&p->tun_src) ||
                !m6ike_addr6_is_unspecified(&p->tun_dst);
  if (p->mode == M6IKE_IPSEC_MODE_TUNNEL) {
    if (m6ike_addr6_is_unspecified(&p->tun_src) ||
        m6ike_addr6_is_unspecified(&p->tun_dst)) {
      return M6IKE_ERR_IPSEC_TUNNEL;
    }
  } else if (p->mode == M6IKE_IPSEC_MODE_TRANSPORT) {
    if (tun_set) {
      return M6IKE_ERR_IPSEC_TUNNEL;
    }
  } else {
    return M6IKE_ERR_IPSEC_MODE;
  }
  return 0;
}

static ipsec_pol *pol_by_id(const m6ike_ipsec *x, uint32_t id,
                            pol_list **list, size_t *idx) {
  for (int d = 0; d < 3; d++) {
    pol_list *l = (pol_list *)&x->pols[d];
    for (size_t i = 0; i < l->n; i++) {
      if (l->v[i].p.id == id) {
        if (list) {
          *list = l;
        }
        if (idx) {
          *idx = i;
        }
        return &l->v[i];
      }
    }
  }
  return NULL;
}

static ipsec_pol *pol_by_sel(const m6ike_ipsec *x, uint8_t dir,
                             const m6ike_ipsec_selector *sel, size_t *idx) {
  int d = m6ike_ipsec_pol_index_(dir);
  if (d < 0) {
    return NULL;
  }
  const pol_list *l = &x->pols[d];
  /* stored selectors are normalised (policy_put): normalise sel once */
  m6ike_ipsec_selector n = *sel;
  m6ike_ipsec_selector_norm_(&n);
  for (size_t i = 0; i < l->n; i++) {
    const m6ike_ipsec_selector *v = &l->v[i].p.sel;
    if (v->src_plen == n.src_plen && v->dst_plen == n.dst_plen &&
        v->proto == n.proto && v->sport_lo == n.sport_lo &&
        v->sport_hi == n.sport_hi && v->dport_lo == n.dport_lo &&
        v->dport_hi == n.dport_hi && v->mh_type_lo == n.mh_type_lo &&
        v->mh_type_hi == n.mh_type_hi && m6ike_addr6_equal(&v->src, &n.src) &&
        m6ike_addr6_equal(&v->dst, &n.dst)) {
      if (idx) {
        *idx = i;
      }
      return &l->v[i];
    }
  }
  return NULL;
}

/* Inserts e (order set) into l keeping (priority, order) ascending. */
static int pol_insert(m6ike_ipsec *x, pol_list *l, const ipsec_pol *e) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 8;
    ipsec_pol *v = m6ike_realloc(x->mem, l->v, nc * sizeof(*v));
    if (v == NULL) {
      return M6IKE_ERR_NOMEM;
    }
    l->v = v;
    l->cap = nc;
  }
  size_t i = l->n;
  while (i > 0 && (l->v[i - 1].p.priority > e->p.priority ||
                   (l->v[i - 1].p.priority == e->p.priority &&
                    l->v[i - 1].order > e->order))) {
    i--;
  }
  memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
  l->v[i] = *e;
  l->n++;
  return 0;
}

static int policy_put(m6ike_ipsec *x, const m6ike_ipsec_policy *pol,
                      uint32_t *id, int replace) {
  if (x == NULL || pol == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int rc = policy_check(pol);
  if (rc < 0) {
    return rc;
  }
  int d = m6ike_ipsec_pol_index_(pol->dir);
  pol_list *l = &x->pols[d];
  size_t idx;
  ipsec_pol *old = pol_by_sel(x, pol->dir, &pol->sel, &idx);
  ipsec_pol e;
  memset(&e, 0, sizeof(e));
  e.p = *pol;
  m6ike_ipsec_selector_norm_(&e.p.sel);
  e.acq_until = M6IKE_TSTAMP_UNSET;
  if (old) {
    if (!replace) {
      return M6IKE_ERR_EXISTS;
    }
    e.p.id = old->p.id;
    e.order = old->order;
    if (old->p.priority == e.p.priority) {
      *old = e;
    } else {
      /* remove and re-insert (cannot fail: capacity is there) */
      memmove(&l->v[idx], &l->v[idx + 1], (l->n - idx - 1) * sizeof(*l->v));
      l->n--;
      rc = pol_insert(x, l, &e);
      if (rc < 0) {
        return rc;
      }
    }
  } else {
    e.p.id = x->next_pol_id;
    e.order = ++x->pol_order;
    rc = pol_insert(x, l, &e);
    if (rc < 0) {
      return rc;
    }
    if (++x->next_pol_id == 0) {
      x->next_pol_id = 1;
    }
  }
  if (id) {
    *id = e.p.id;
  }
  return 0;
}

int m6ike_ipsec_policy_add(m6ike_ipsec *x, const m6ike_ipsec_policy *pol,
                           uint32_t *id) {
  return policy_put(x, pol, id, 0);
}

int m6ike_ipsec_policy_update(m6ike_ipsec *x, const m6ike_ipsec_policy *pol,
                              uint32_t *id) {
  return policy_put(x, pol, id, 1);
}

int m6ike_ipsec_policy_delete(m6ike_ipsec *x, uint32_t id) {
  if (x == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  pol_list *l;
  size_t i;
  if (pol_by_id(x, id, &l, &i) == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
  l->n--;
  return 0;
}

int m6ike_ipsec_policy_get(const m6ike_ipsec *x, uint32_t id,
                           m6ike_ipsec_policy *out) {
  if (x == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const ipsec_pol *e = pol_by_id(x, id, NULL, NULL);
  if (e == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = e->p;
  return 0;
}

int m6ike_ipsec_policy_find(const m6ike_ipsec *x, uint8_t dir,
                            const m6ike_ipsec_selector *sel,
                            m6ike_ipsec_policy *out) {
  if (x == NULL || sel == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  const ipsec_pol *e = pol_by_sel(x, dir, sel, NULL);
  if (e == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = e->p;
  return 0;
}

static ipsec_pol *spd_lookup(const m6ike_ipsec *x, int d, const flow *f) {
  const pol_list *l = &x->pols[d];
  for (size_t i = 0; i < l->n; i++) {
    if (sel_match(&l->v[i].p.sel, f)) {
      return &l->v[i];
    }
  }
  return NULL;
}

int m6ike_ipsec_policy_lookup(const m6ike_ipsec *x, uint8_t dir,
                              const uint8_t *pkt, size_t len,
                              m6ike_ipsec_policy *out) {
  int d = m6ike_ipsec_pol_index_(dir);
  if (x == NULL || out == NULL || pkt == NULL || d < 0) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_ip6_info info;
  int rc = m6ike_ip6_walk(&info, pkt, len);
  if (rc < 0) {
    return rc;
  }
  flow f;
  flow_from_info(&f, &info, pkt);
  const ipsec_pol *e = spd_lookup(x, d, &f);
  if (e == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  *out = e->p;
  return 0;
}

int m6ike_ipsec_policy_update_tunnel(m6ike_ipsec *x, uint32_t id,
                                     const m6ike_addr6 *new_src,
                                     const m6ike_addr6 *new_dst) {
  if (x == NULL || new_src == NULL || new_dst == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  ipsec_pol *e = pol_by_id(x, id, NULL, NULL);
  if (e == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  if (e->p.action != M6IKE_IPSEC_ACTION_PROTECT ||
      e->p.mode != M6IKE_IPSEC_MODE_TUNNEL ||
      m6ike_addr6_is_unspecified(new_src) ||
      m6ike_addr6_is_unspecified(new_dst)) {
    return M6IKE_ERR_IPSEC_TUNNEL;
  }
  e->p.tun_src = *new_src;
  e->p.tun_dst = *new_dst;
  e->acq_until = M6IKE_TSTAMP_UNSET;
  return 0;
}

size_t m6ike_ipsec_policy_count(const m6ike_ipsec *x) {
  return x ? x->pols[0].n + x->pols[1].n + x->pols[2].n : 0;
}

void m6ike_ipsec_policy_flush(m6ike_ipsec *x) {
  if (x) {
    for (int d = 0; d < 3; d++) {
      x->pols[d].n = 0;
    }
  }
}

int m6ike_ipsec_policy_foreach(const m6ike_ipsec *x,
                               int (*fn)(const m6ike_ipsec_policy *pol,
                                         void *user_data),
                               void *user_data) {
  if (x == NULL || fn == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (int d = 0; d < 3; d++) {
    for (size_t i = 0; i < x->pols[d].n; i++) {
      int rc = fn(&x->pols[d].v[i].p, user_data);
      if (rc != 0) {
        return rc;
      }
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* SAD                                                                 */
/* ------------------------------------------------------------------ */

static size_t hash32(uint32_t v, size_t size) {
  v ^= v >> 16;
  v *= 0x7feb352dU;
  v ^= v >> 15;
  v *= 0x846ca68bU;
  v ^= v >> 16;
  return v & (size - 1);
}

ipsec_sa *m6ike_ipsec_sa_find_(const m6ike_ipsec *x, uint32_t spi,
                               const m6ike_addr6 *dst) {
  for (ipsec_sa *s = x->spi_tab[hash32(spi, x->tab_size)]; s;
       s = s->next_spi) {
    if (s->spi == spi && m6ike_addr6_equal(&s->dst, dst)) {
      return s;
    }
  }
  return NULL;
}

/* The SA with this SPI (dst NULL: unique one).  *ambiguous set if several. */
static ipsec_sa *sa_by_spi(const m6ike_ipsec *x, uint32_t spi,
                           const m6ike_addr6 *dst, int *ambiguous) {
  *ambiguous = 0;
  if (dst) {
    return m6ike_ipsec_sa_find_(x, spi, dst);
  }
  ipsec_sa *found = NULL;
  for (ipsec_sa *s = x->spi_tab[hash32(spi, x->tab_size)]; s;
       s = s->next_spi) {
    if (s->spi == spi) {
      if (found) {
        *ambiguous = 1;
        return NULL;
      }
      found = s;
    }
  }
  return found;
}

static void sa_link(m6ike_ipsec *x, ipsec_sa *sa) {
  size_t h = hash32(sa->spi, x->tab_size);
  sa->next_spi = x->spi_tab[h];
  x->spi_tab[h] = sa;
  h = hash32(sa->reqid, x->tab_size);
  sa->next_reqid = x->reqid_tab[h];
  x->reqid_tab[h] = sa;
}

static void sa_unlink(m6ike_ipsec *x, ipsec_sa *sa) {
  ipsec_sa **pp = &x->spi_tab[hash32(sa->spi, x->tab_size)];
  while (*pp && *pp != sa) {
    pp = &(*pp)->next_spi;
  }
  if (*pp) {
    *pp = sa->next_spi;
  }
  pp = &x->reqid_tab[hash32(sa->reqid, x->tab_size)];
  while (*pp && *pp != sa) {
    pp = &(*pp)->next_reqid;
  }
  if (*pp) {
    *pp = sa->next_reqid;
  }
}

/* Doubles the tables when the load passes 1.  Failure is harmless. */
static void sad_grow(m6ike_ipsec *x) {
  if (x->n_sa < x->tab_size) {
    return;
  }
  size_t ns = x->tab_size * 2;
  ipsec_sa **a = m6ike_calloc(x->mem, ns, sizeof(ipsec_sa *));
  ipsec_sa **b = m6ike_calloc(x->mem, ns, sizeof(ipsec_sa *));
  if (a == NULL || b == NULL) {
    m6ike_free(x->mem, a);
    m6ike_free(x->mem, b);
    return;
  }
  for (size_t i = 0; i < x->tab_size; i++) {
    ipsec_sa *s = x->spi_tab[i];
    while (s) {
      ipsec_sa *n = s->next_spi;
      size_t h = hash32(s->spi, ns);
      s->next_spi = a[h];
      a[h] = s;
      h = hash32(s->reqid, ns);
      s->next_reqid = b[h];
      b[h] = s;
      s = n;
    }
  }
  m6ike_free(x->mem, x->spi_tab);
  m6ike_free(x->mem, x->reqid_tab);
  x->spi_tab = a;
  x->reqid_tab = b;
  x->tab_size = ns;
}

int m6ike_ipsec_integ_from_sadb_(uint8_t aalg) {
  switch (aalg) {
  case M6IKE_SADB_AALG_NONE:
    return M6IKE_INTEG_NONE;
  case M6IKE_SADB_AALG_SHA1HMAC:
    return M6IKE_INTEG_HMAC_SHA1_96;
  case M6IKE_SADB_X_AALG_SHA2_256HMAC:
    return M6IKE_INTEG_HMAC_SHA2_256_128;
  default:
    return -1;
  }
}

int m6ike_ipsec_integ_to_sadb_(uint16_t integ) {
  switch (integ) {
  case M6IKE_INTEG_NONE:
    return M6IKE_SADB_AALG_NONE;
  case M6IKE_INTEG_HMAC_SHA1_96:
    return M6IKE_SADB_AALG_SHA1HMAC;
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    return M6IKE_SADB_X_AALG_SHA2_256HMAC;
  default:
    return -1;
  }
}

/* Checks the algorithms and key lengths; sets *key_bits. */
static int check_algs(const m6ike_ipsec_sa_params *p, uint16_t *key_bits) {
  *key_bits = 0;
  switch (p->enc_alg) {
  case M6IKE_ENCR_NULL:
  case M6IKE_ENCR_3DES:
    break;
  case M6IKE_ENCR_AES_CBC:
    if (p->enc_key_len != 16 && p->enc_key_len != 24 &&
        p->enc_key_len != 32) {
      return M6IKE_ERR_IPSEC_KEY_LENGTH;
    }
    *key_bits = (uint16_t)(p->enc_key_len * 8);
    break;
  case M6IKE_ENCR_AES_GCM_16:
    if (p->enc_key_len != 20 && p->enc_key_len != 28 &&
        p->enc_key_len != 36) {
      return M6IKE_ERR_IPSEC_KEY_LENGTH;
    }
    *key_bits = (uint16_t)((p->enc_key_len - 4) * 8);
    break;
  default:
    return M6IKE_ERR_IPSEC_ALGORITHM;
  }
  int aead = p->enc_alg == M6IKE_ENCR_AES_GCM_16;
  switch (p->auth_alg) {
  case M6IKE_INTEG_NONE:
    /* Integrity only through an AEAD: RFC 4303 §3.2 forbids NULL+NONE and
     * RFC 8221 §5 restricts AUTH_NONE to combined-mode ciphers. */
    if (!aead) {
      return M6IKE_ERR_IPSEC_ALGORITHM;
    }
    if (p->auth_key_len != 0) {
      return M6IKE_ERR_IPSEC_KEY_LENGTH;
    }
    break;
  case M6IKE_INTEG_HMAC_SHA1_96:
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    if (aead) {
      return M6IKE_ERR_IPSEC_ALGORITHM;
    }
    if ((int)p->auth_key_len != m6ike_crypto_integ_key_len(p->auth_alg)) {
      return M6IKE_ERR_IPSEC_KEY_LENGTH;
    }
    break;
  default:
    return M6IKE_ERR_IPSEC_ALGORITHM;
  }
  int kl = m6ike_crypto_encr_key_len(p->enc_alg, *key_bits);
  if (kl < 0 || (size_t)kl != p->enc_key_len) {
    return M6IKE_ERR_IPSEC_KEY_LENGTH;
  }
  if ((p->enc_key_len && p->enc_key == NULL) ||
      (p->auth_key_len && p->auth_key == NULL)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return 0;
}

static int check_params(const m6ike_ipsec *x, const m6ike_ipsec_sa_params *p,
                        int larval, uint16_t *key_bits, uint32_t *window) {
  if (p->spi < 256) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (p->mode != M6IKE_IPSEC_MODE_TRANSPORT &&
      p->mode != M6IKE_IPSEC_MODE_TUNNEL) {
    return M6IKE_ERR_IPSEC_MODE;
  }
  if (p->has_sel) {
    int rc = m6ike_ipsec_selector_check_(&p->sel);
    if (rc < 0) {
      return rc;
    }
  }
  *window = p->replay_window ? p->replay_window : x->cfg.replay_window;
  if (!p->no_replay && (*window < M6IKE_IPSEC_MIN_REPLAY_WINDOW ||
                        *window > M6IKE_IPSEC_MAX_REPLAY_WINDOW)) {
    return M6IKE_ERR_IPSEC_REPLAY_WINDOW;
  }
  if (larval) {
    *key_bits = 0;
    return 0;
  }
  int rc = check_algs(p, key_bits);
  if (rc < 0) {
    return rc;
  }
  if (x->cfg.crypto == NULL) {
    return M6IKE_ERR_IPSEC_NO_CRYPTO;
  }
  return 0;
}

static int map_crypto_err(int rc) {
  if (rc == M6IKE_ERR_NOMEM) {
    return rc;
  }
  if (rc == M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH) {
    return M6IKE_ERR_IPSEC_KEY_LENGTH;
  }
  if (rc == M6IKE_ERR_CRYPTO_UNSUPPORTED) {
    return M6IKE_ERR_IPSEC_ALGORITHM;
  }
  return M6IKE_ERR_IPSEC_CRYPTO;
}

/* Builds a new SA block from p (not linked). */
static int sa_build(m6ike_ipsec *x, const m6ike_ipsec_sa_params *p,
                    int larval, uint8_t pfkey_replay, m6ike_tstamp now,
                    ipsec_sa **out) {
  uint16_t key_bits;
  uint32_t window;
  int rc = check_params(x, p, larval, &key_bits, &window);
  if (rc < 0) {
    return rc;
  }
  uint32_t nwords = p->no_replay ? 0 : (window + 63) / 64;
  size_t klen = larval ? 0 : p->enc_key_len + p->auth_key_len;
  size_t sz = sizeof(ipsec_sa) + (size_t)nwords * 8 + klen;
  ipsec_sa *sa = m6ike_calloc(x->mem, 1, sz);
  if (sa == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  sa->spi = p->spi;
  sa->reqid = p->reqid;
  sa->src = p->src;
  sa->dst = p->dst;
  sa->mode = p->mode;
  sa->state = larval ? M6IKE_SADB_SASTATE_LARVAL : M6IKE_SADB_SASTATE_MATURE;
  sa->esn = p->esn ? 1 : 0;
  sa->no_replay = p->no_replay ? 1 : 0;
  sa->window = p->no_replay ? 0 : window;
  sa->nwords = nwords;
  sa->bitmap = (uint64_t *)(void *)(sa + 1);
  sa->pfkey_replay = pfkey_replay;
  sa->has_sel = p->has_sel ? 1 : 0;
  if (p->has_sel) {
    sa->sel = p->sel;
    m6ike_ipsec_selector_norm_(&sa->sel);
  }
  sa->soft = p->soft;
  sa->hard = p->hard;
  sa->seq_out = p->seq_out;
  sa->add_time = now;
  sa->use_time = M6IKE_TSTAMP_UNSET;
  sa->order = ++x->sa_order;
  if (!larval) {
    sa->enc = p->enc_alg;
    sa->integ = p->auth_alg;
    sa->key_bits = key_bits;
    sa->enc_key = (uint8_t *)(sa->bitmap + nwords);
    sa->auth_key = sa->enc_key + p->enc_key_len;
    sa->enc_key_len = (uint16_t)p->enc_key_len;
    sa->auth_key_len = (uint16_t)p->auth_key_len;
    m6ike_put_bytes(sa->enc_key, p->enc_key, p->enc_key_len);
    m6ike_put_bytes(sa->auth_key, p->auth_key, p->auth_key_len);
    sa->iv_len = (uint8_t)m6ike_crypto_encr_iv_len(sa->enc);
    sa->aead = (uint8_t)m6ike_crypto_encr_is_aead(sa->enc);
    int blk = m6ike_crypto_encr_block_len(sa->enc);
    sa->block = (uint8_t)(blk < 4 ? 4 : blk);
    sa->icv_len = (uint8_t)(sa->aead ? m6ike_crypto_encr_icv_len(sa->enc)
                                     : m6ike_crypto_integ_icv_len(sa->integ));
    static const uint8_t no_key[1] = {0};
    rc = m6ike_crypto_cipher_new(&sa->cipher, x->cfg.crypto, sa->enc,
                                 key_bits,
                                 p->enc_key_len ? sa->enc_key : no_key,
                                 p->enc_key_len);
    if (rc == 0 && !sa->aead) {
      rc = m6ike_crypto_integ_new(&sa->integ_ctx, x->cfg.crypto, sa->integ,
                                  sa->auth_key, sa->auth_key_len);
    }
    if (rc < 0) {
      sa_free(x, sa);
      return map_crypto_err(rc);
    }
  }
  *out = sa;
  return 0;
}

int m6ike_ipsec_sa_insert_(m6ike_ipsec *x, const m6ike_ipsec_sa_params *p,
                           int larval, uint8_t pfkey_replay, m6ike_tstamp now,
                           ipsec_sa **out) {
  if (m6ike_ipsec_sa_find_(x, p->spi, &p->dst)) {
    return M6IKE_ERR_EXISTS;
  }
  ipsec_sa *sa;
  int rc = sa_build(x, p, larval, pfkey_replay, now, &sa);
  if (rc < 0) {
    return rc;
  }
  sa_link(x, sa);
  x->n_sa++;
  sad_grow(x);
  if (out) {
    *out = sa;
  }
  return 0;
}

int m6ike_ipsec_sa_mature_(m6ike_ipsec *x, ipsec_sa *larval,
                           const m6ike_ipsec_sa_params *p,
                           uint8_t pfkey_replay, m6ike_tstamp now) {
  ipsec_sa *sa;
  int rc = sa_build(x, p, 0, pfkey_replay, now, &sa);
  if (rc < 0) {
    return rc;
  }
  m6ike_ipsec_sa_remove_(x, larval);
  sa_link(x, sa);
  x->n_sa++;
  return 0;
}

void m6ike_ipsec_sa_remove_(m6ike_ipsec *x, ipsec_sa *sa) {
  sa_unlink(x, sa);
  x->n_sa--;
  sa_free(x, sa);
}

int m6ike_ipsec_sa_add(m6ike_ipsec *x, const m6ike_ipsec_sa_params *p,
                       m6ike_tstamp now) {
  if (x == NULL || p == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return m6ike_ipsec_sa_insert_(x, p, 0, 0, now, NULL);
}

int m6ike_ipsec_sa_delete(m6ike_ipsec *x, uint32_t spi,
                          const m6ike_addr6 *dst) {
  if (x == NULL || dst == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  ipsec_sa *sa = m6ike_ipsec_sa_find_(x, spi, dst);
  if (sa == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  m6ike_ipsec_sa_remove_(x, sa);
  return 0;
}

int m6ike_ipsec_sa_get(const m6ike_ipsec *x, uint32_t spi,
                       const m6ike_addr6 *dst, m6ike_ipsec_sa_info *out) {
  if (x == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int amb;
  const ipsec_sa *sa = sa_by_spi(x, spi, dst, &amb);
  if (amb) {
    return M6IKE_ERR_IPSEC_AMBIGUOUS;
  }
  if (sa == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  memset(out, 0, sizeof(*out));
  out->spi = sa->spi;
  out->reqid = sa->reqid;
  out->src = sa->src;
  out->dst = sa->dst;
  out->mode = sa->mode;
  out->state = sa->state;
  out->enc_alg = sa->enc;
  out->auth_alg = sa->integ;
  out->esn = sa->esn;
  out->no_replay = sa->no_replay;
  out->replay_window = sa->window;
  out->seq_out = sa->seq_out;
  out->replay_top = sa->replay_top;
  out->add_time = sa->add_time;
  out->use_time = sa->use_time;
  out->soft = sa->soft;
  out->hard = sa->hard;
  out->stats = sa->st;
  return 0;
}

size_t m6ike_ipsec_sa_count(const m6ike_ipsec *x) {
  return x ? x->n_sa : 0;
}

void m6ike_ipsec_sa_flush(m6ike_ipsec *x) {
  if (x == NULL) {
    return;
  }
  for (size_t i = 0; i < x->tab_size; i++) {
    ipsec_sa *s = x->spi_tab[i];
    while (s) {
      ipsec_sa *n = s->next_spi;
      sa_free(x, s);
      s = n;
    }
    x->spi_tab[i] = NULL;
    x->reqid_tab[i] = NULL;
  }
  x->n_sa = 0;
}

int m6ike_ipsec_sa_move_(m6ike_ipsec *x, ipsec_sa *sa, const m6ike_addr6 *src,
                         const m6ike_addr6 *dst) {
  if (!m6ike_addr6_equal(&sa->dst, dst)) {
    ipsec_sa *other = m6ike_ipsec_sa_find_(x, sa->spi, dst);
    if (other && other != sa) {
      return M6IKE_ERR_EXISTS;
    }
  }
  sa->src = *src;
  sa->dst = *dst;
  return 0;
}

int m6ike_ipsec_sa_update_addresses_at(m6ike_ipsec *x, uint32_t spi,
                                       const m6ike_addr6 *old_dst,
                                       const m6ike_addr6 *new_src,
                                       const m6ike_addr6 *new_dst) {
  if (x == NULL || new_src == NULL || new_dst == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int amb;
  ipsec_sa *sa = sa_by_spi(x, spi, old_dst, &amb);
  if (amb) {
    return M6IKE_ERR_IPSEC_AMBIGUOUS;
  }
  if (sa == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  return m6ike_ipsec_sa_move_(x, sa, new_src, new_dst);
}

int m6ike_ipsec_sa_update_addresses(m6ike_ipsec *x, uint32_t spi,
                                    const m6ike_addr6 *new_src,
                                    const m6ike_addr6 *new_dst) {
  return m6ike_ipsec_sa_update_addresses_at(x, spi, NULL, new_src, new_dst);
}

/* ------------------------------------------------------------------ */
/* Lifetimes and PF_KEY notifications                                  */
/* ------------------------------------------------------------------ */

static uint64_t secs(m6ike_tstamp t) {
  return t == M6IKE_TSTAMP_UNSET ? 0 : t / M6IKE_SECONDS;
}

static m6ike_tstamp deadline(m6ike_tstamp base, uint64_t s) {
  if (s == 0 || base == M6IKE_TSTAMP_UNSET) {
    return M6IKE_TSTAMP_UNSET;
  }
  if (s > (UINT64_MAX - 1 - base) / M6IKE_SECONDS) {
    return M6IKE_TSTAMP_UNSET - 1;
  }
  return base + s * M6IKE_SECONDS;
}

static m6ike_tstamp tmin(m6ike_tstamp a, m6ike_tstamp b) {
  return a < b ? a : b;
}

/* EXPIRE for sa: SA, SA2, LIFETIME_CURRENT, the fired lifetime, ADDRESS_SRC,
 * ADDRESS_DST (Linux af_key's layout for expire notifications). */
static void send_expire(m6ike_ipsec *x, const ipsec_sa *sa, int hard,
                        m6ike_tstamp now) {
  if (hard) {
    x->st.expires_hard++;
  } else {
    x->st.expires_soft++;
  }
  if (x->bus == NULL) {
    return;
  }
  uint8_t buf[256];
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_EXPIRE,
                            M6IKE_SADB_SATYPE_ESP, 0, 0);
  int aalg = m6ike_ipsec_integ_to_sadb_(sa->integ);
  m6ike_pfkey_sa s = {sa->spi, sa->pfkey_replay,
                      hard ? M6IKE_SADB_SASTATE_DEAD
                           : M6IKE_SADB_SASTATE_DYING,
                      (uint8_t)(aalg < 0 ? 0 : aalg), (uint8_t)sa->enc, 0};
  m6ike_pfkey_add_sa(&b, &s);
  m6ike_pfkey_lifetime cur = {0, sa->st.bytes, secs(sa->add_time),
                              secs(sa->use_time)};
  m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_CURRENT, &cur);
  const m6ike_ipsec_lifetime *l = hard ? &sa->hard : &sa->soft;
  m6ike_pfkey_lifetime lt = {0, l->bytes, l->addtime, l->usetime};
  m6ike_pfkey_add_lifetime(&b,
                           hard ? M6IKE_SADB_EXT_LIFETIME_HARD
                                : M6IKE_SADB_EXT_LIFETIME_SOFT,
                           &lt);
  m6ike_pfkey_sockaddr src = m6ike_pfkey_sockaddr6(&sa->src, 0);
  m6ike_pfkey_sockaddr dst = m6ike_pfkey_sockaddr6(&sa->dst, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &src);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &dst);
  m6ike_pfkey_add_sa2(&b, sa->mode, 0, sa->reqid);
  int n = m6ike_pfkey_builder_finish(&b);
  if (n > 0) {
    (void)m6ike_pfkey_bus_expire(x->bus, buf, (size_t)n, now);
  }
}

/* After bytes were added or time passed: soft byte/time limits.  Returns
 * 1 if a hard limit is reached (caller deletes). */
static int lifetime_check(m6ike_ipsec *x, ipsec_sa *sa, m6ike_tstamp now,
                          int *sent) {
  if (sa->state == M6IKE_SADB_SASTATE_LARVAL) {
    return 0;
  }
  int hard = (sa->hard.bytes && sa->st.bytes >= sa->hard.bytes) ||
             now >= deadline(sa->add_time, sa->hard.addtime) ||
             now >= deadline(sa->use_time, sa->hard.usetime);
  if (hard) {
    send_expire(x, sa, 1, now);
    if (sent) {
      (*sent)++;
    }
    return 1;
  }
  if (!sa->soft_fired &&
      ((sa->soft.bytes && sa->st.bytes >= sa->soft.bytes) ||
       now >= deadline(sa->add_time, sa->soft.addtime) ||
       now >= deadline(sa->use_time, sa->soft.usetime))) {
    sa->soft_fired = 1;
    sa->state = M6IKE_SADB_SASTATE_DYING;
    send_expire(x, sa, 0, now);
    if (sent) {
      (*sent)++;
    }
  }
  return 0;
}

m6ike_tstamp m6ike_ipsec_get_expiry(const m6ike_ipsec *x) {
  m6ike_tstamp t = M6IKE_TSTAMP_UNSET;
  if (x == NULL) {
    return t;
  }
  for (size_t i = 0; i < x->tab_size; i++) {
    for (const ipsec_sa *s = x->spi_tab[i]; s; s = s->next_spi) {
      if (s->state == M6IKE_SADB_SASTATE_LARVAL) {
        if (s->add_time <= M6IKE_TSTAMP_UNSET - 1 - x->cfg.larval_timeout) {
          t = tmin(t, s->add_time + x->cfg.larval_timeout);
        }
        continue;
      }
      t = tmin(t, deadline(s->add_time, s->hard.addtime));
      t = tmin(t, deadline(s->use_time, s->hard.usetime));
      if (!s->soft_fired) {
        t = tmin(t, deadline(s->add_time, s->soft.addtime));
        t = tmin(t, deadline(s->use_time, s->soft.usetime));
      }
    }
  }
  return t;
}

int m6ike_ipsec_handle_expiry(m6ike_ipsec *x, m6ike_tstamp now) {
  if (x == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int sent = 0;
  for (size_t i = 0; i < x->tab_size; i++) {
    ipsec_sa *s = x->spi_tab[i];
    while (s) {
      ipsec_sa *n = s->next_spi;
      if (s->state == M6IKE_SADB_SASTATE_LARVAL) {
        if (now >= s->add_time &&
            now - s->add_time >= x->cfg.larval_timeout) {
          m6ike_ipsec_sa_remove_(x, s);
        }
      } else if (lifetime_check(x, s, now, &sent)) {
        m6ike_ipsec_sa_remove_(x, s);
      }
      s = n;
    }
  }
  return sent;
}

/* ACQUIRE for an outbound PROTECT policy without an SA (Linux af_key's
 * pfkey_send_acquire layout: ADDRESS_SRC, ADDRESS_DST, X_POLICY with the
 * template, PROPOSAL with the combinations this unit supports). */
static void send_acquire(m6ike_ipsec *x, ipsec_pol *e, const flow *f,
                         m6ike_tstamp now) {
  if (e->acq_until != M6IKE_TSTAMP_UNSET && now < e->acq_until) {
    return;
  }
  e->acq_until = now + x->cfg.acquire_timeout;
  x->st.acquires++;
  if (x->bus == NULL) {
    return;
  }
  const m6ike_ipsec_policy *p = &e->p;
  int tun = p->mode == M6IKE_IPSEC_MODE_TUNNEL;
  m6ike_pfkey_sockaddr src =
      m6ike_pfkey_sockaddr6(tun ? &p->tun_src : &f->src, 0);
  m6ike_pfkey_sockaddr dst =
      m6ike_pfkey_sockaddr6(tun ? &p->tun_dst : &f->dst, 0);
  uint8_t buf[768];
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_ACQUIRE,
                            M6IKE_SADB_SATYPE_ESP, ++x->acq_seq, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &src);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &dst);
  m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC,
                         M6IKE_IPSEC_DIR_OUTBOUND, p->id, p->priority);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, p->mode,
                               p->level ? p->level : M6IKE_IPSEC_LEVEL_REQUIRE,
                               p->reqid, tun ? &src : NULL,
                               tun ? &dst : NULL);
  static const struct {
    uint8_t auth, enc;
    uint16_t amin, amax, emin, emax;
  } combs[] = {
      {0, M6IKE_SADB_X_EALG_AES_GCM_ICV16, 0, 0, 160, 288},
      {M6IKE_SADB_X_AALG_SHA2_256HMAC, M6IKE_SADB_X_EALG_AESCBC, 256, 256,
       128, 256},
      {M6IKE_SADB_AALG_SHA1HMAC, M6IKE_SADB_EALG_3DESCBC, 160, 160, 192, 192},
      {M6IKE_SADB_X_AALG_SHA2_256HMAC, M6IKE_SADB_EALG_NULL, 256, 256, 0, 0},
  };
  m6ike_pfkey_comb c[4];
  memset(c, 0, sizeof(c));
  for (size_t i = 0; i < 4; i++) {
    c[i].auth = combs[i].auth;
    c[i].encrypt = combs[i].enc;
    c[i].auth_minbits = combs[i].amin;
    c[i].auth_maxbits = combs[i].amax;
    c[i].encrypt_minbits = combs[i].emin;
    c[i].encrypt_maxbits = combs[i].emax;
  }
  uint8_t replay = (uint8_t)(x->cfg.replay_window > 255
                                 ? 255
                                 : x->cfg.replay_window);
  m6ike_pfkey_add_proposal(&b, replay, c, 4);
  int n = m6ike_pfkey_builder_finish(&b);
  if (n > 0) {
    (void)m6ike_pfkey_bus_acquire(x->bus, buf, (size_t)n, now);
  }
}

/* ------------------------------------------------------------------ */
/* Anti-replay (RFC 4303 §3.4.3, Appendix A)                           */
/* ------------------------------------------------------------------ */

/* The full 64-bit sequence number for the low 32 bits received
 * (Appendix A2.2), or the 32-bit value without ESN. */
static uint64_t infer_seq(const ipsec_sa *sa, uint32_t seql) {
  if (!sa->esn) {
    return seql;
  }
  uint32_t w = sa->no_replay ? 1u << 31 : sa->window;
  uint32_t tl = (uint32_t)sa->replay_top;
  uint32_t th = (uint32_t)(sa->replay_top >> 32);
  if (tl >= w - 1) {
    /* window within one sub-space */
    if (seql >= tl - w + 1) {
      return (uint64_t)th << 32 | seql;
    }
    return (uint64_t)(th + 1) << 32 | seql;
  }
  /* window spans two sub-spaces */
  if (seql >= tl - w + 1) { /* unsigned wrap: the upper part of th - 1 */
    if (th == 0) {
      return seql; /* no earlier sub-space: treat as th (will be too old or
                      valid in 0) */
    }
    return (uint64_t)(th - 1) << 32 | seql;
  }
  return (uint64_t)th << 32 | seql;
}

/* 0 if seq may be accepted (before ICV), else M6IKE_ERR_IPSEC_REPLAY. */
static int replay_check(const ipsec_sa *sa, uint64_t seq) {
  if (seq == 0) {
    return M6IKE_ERR_IPSEC_REPLAY;
  }
  if (sa->no_replay || seq > sa->replay_top) {
    return 0;
  }
  if (sa->replay_top - seq >= sa->window) {
    return M6IKE_ERR_IPSEC_REPLAY;
  }
  uint64_t bits = (uint64_t)sa->nwords * 64;
  uint64_t i = seq % bits;
  if (sa->bitmap[i / 64] >> (i % 64) & 1) {
    return M6IKE_ERR_IPSEC_REPLAY;
  }
  return 0;
}

static void replay_advance(ipsec_sa *sa, uint64_t seq) {
  if (sa->no_replay) {
    if (seq > sa->replay_top) {
      sa->replay_top = seq;
    }
    return;
  }
  uint64_t bits = (uint64_t)sa->nwords * 64;
  if (seq > sa->replay_top) {
    uint64_t diff = seq - sa->replay_top;
    if (diff >= bits) {
      memset(sa->bitmap, 0, (size_t)sa->nwords * 8);
    } else {
      for (uint64_t s = sa->replay_top + 1; s < seq; s++) {
        uint64_t i = s % bits;
        sa->bitmap[i / 64] &= ~((uint64_t)1 << (i % 64));
      }
    }
    sa->replay_top = seq;
  }
  uint64_t i = seq % bits;
  sa->bitmap[i / 64] |= (uint64_t)1 << (i % 64);
}

/* ------------------------------------------------------------------ */
/* ESP output                                                          */
/* ------------------------------------------------------------------ */

/* Transport mode: where ESP goes.  Keeps Hop-by-Hop, Routing, and the
 * Destination Options that precede a Routing header or carry a Home
 * Address option outside.  *nh_pos: offset of the Next Header field that
 * will say 50; *nh: the value it had. */
static int esp_split(const uint8_t *pkt, size_t end, size_t *split,
                     size_t *nh_pos, uint8_t *nh) {
  size_t off = M6IKE_IP6_HDR_LEN, pos = 6;
  uint8_t cur = pkt[6];
  for (;;) {
    if (cur == M6IKE_IPPROTO_FRAGMENT) {
      return M6IKE_ERR_IPSEC_FRAGMENT;
    }
    if (cur != M6IKE_IPPROTO_HOPOPTS && cur != M6IKE_IPPROTO_ROUTING &&
        cur != M6IKE_IPPROTO_DSTOPTS) {
      break;
    }
    if (off + 2 > end) {
      return M6IKE_ERR_IP6_TRUNCATED;
    }
    size_t hl = ((size_t)pkt[off + 1] + 1) * 8;
    if (off + hl > end) {
      return M6IKE_ERR_IP6_TRUNCATED;
    }
    if (cur == M6IKE_IPPROTO_DSTOPTS) {
      int keep = pkt[off] == M6IKE_IPPROTO_ROUTING;
      for (size_t o = off + 2; !keep && o < off + hl;) {
        uint8_t t = pkt[o];
        if (t == 0) {
          o++;
          continue;
        }
        if (o + 2 > off + hl) {
          break;
        }
        if (t == M6IKE_IP6OPT_HOME_ADDRESS) {
          keep = 1;
        }
        o += 2 + (size_t)pkt[o + 1];
      }
      if (!keep) {
        break;
      }
    }
    pos = off;
    cur = pkt[off];
    off += hl;
  }
  *split = off;
  *nh_pos = pos;
  *nh = cur;
  return 0;
}

/* Encrypts (and authenticates) the ESP at esp (header written), whose
 * plaintext is at esp + 8 + iv_len, plen octets (padded). */
static int esp_seal(m6ike_ipsec *x, ipsec_sa *sa, uint8_t *esp, size_t plen) {
  uint8_t *iv = esp + ESP_HDR;
  uint8_t *pt = iv + sa->iv_len;
  uint8_t *icv = pt + plen;
  uint8_t hi[4];
  m6ike_put_u32be(hi, (uint32_t)(sa->seq_out >> 32));
  int rc;
  if (sa->aead) {
    /* RFC 4106 §3.1: the IV is unique per packet; the sequence number is. */
    m6ike_put_u64be(iv, sa->seq_out);
    uint8_t aad[12];
    size_t alen;
    memcpy(aad, esp, 4);
    if (sa->esn) {
      memcpy(aad + 4, hi, 4);
      memcpy(aad + 8, esp + 4, 4);
      alen = 12;
    } else {
      memcpy(aad + 4, esp + 4, 4);
      alen = 8;
    }
    rc = m6ike_crypto_cipher_encrypt(sa->cipher, iv, sa->iv_len, aad, alen,
                                     pt, plen, pt, icv);
    return rc < 0 ? M6IKE_ERR_IPSEC_CRYPTO : 0;
  }
  if (sa->iv_len) {
    if (x->cfg.rand == NULL) {
      return M6IKE_ERR_IPSEC_NO_CRYPTO;
    }
    if (x->cfg.rand(iv, sa->iv_len, x->cfg.rand_user_data) != 0) {
      return M6IKE_ERR_RANDOM;
    }
  }
  rc = m6ike_crypto_cipher_encrypt(sa->cipher, iv, sa->iv_len, NULL, 0, pt,
                                   plen, pt, NULL);
  if (rc < 0) {
    return M6IKE_ERR_IPSEC_CRYPTO;
  }
  m6ike_crypto_chunk ch[2] = {{esp, ESP_HDR + sa->iv_len + plen},
                              {hi, 4}};
  rc = m6ike_crypto_integ_computev(sa->integ_ctx, ch, sa->esn ? 2 : 1, icv);
  return rc < 0 ? M6IKE_ERR_IPSEC_CRYPTO : 0;
}

static int esp_encap(m6ike_ipsec *x, ipsec_sa *sa, const uint8_t *pkt,
                     size_t end, uint8_t *out, size_t cap) {
  size_t hdrs, nh_pos = 0;
  uint8_t inner_nh;
  const uint8_t *payload;
  size_t plen;
  if (sa->mode == M6IKE_IPSEC_MODE_TRANSPORT) {
    int rc = esp_split(pkt, end, &hdrs, &nh_pos, &inner_nh);
    if (rc < 0) {
      return rc;
    }
    payload = pkt + hdrs;
    plen = end - hdrs;
  } else {
    hdrs = M6IKE_IP6_HDR_LEN;
    inner_nh = M6IKE_IPPROTO_IPV6;
    payload = pkt;
    plen = end;
  }
  size_t padded = (plen + 2 + sa->block - 1) / sa->block * sa->block;
  size_t padlen = padded - plen - 2;
  size_t total = hdrs + ESP_HDR + sa->iv_len + padded + sa->icv_len;
  if (total - M6IKE_IP6_HDR_LEN > 0xffff) {
    return M6IKE_ERR_IPSEC_BAD_LENGTH;
  }
  if (total > cap) {
    return M6IKE_ERR_NOBUF;
  }
  if (!sa->esn && sa->seq_out >= 0xffffffffu) {
    return M6IKE_ERR_IPSEC_SEQ_OVERFLOW;
  }
  if (sa->esn && sa->seq_out == UINT64_MAX) {
    return M6IKE_ERR_IPSEC_SEQ_OVERFLOW;
  }
  if (sa->mode == M6IKE_IPSEC_MODE_TRANSPORT) {
    memcpy(out, pkt, hdrs);
    out[nh_pos] = M6IKE_IPPROTO_ESP;
  } else {
    /* version 6, traffic class from the inner header, flow label 0 */
    uint8_t tc = (uint8_t)((pkt[0] & 0x0f) << 4 | pkt[1] >> 4);
    out[0] = (uint8_t)(0x60 | tc >> 4);
    out[1] = (uint8_t)(tc << 4);
    out[2] = 0;
    out[3] = 0;
    out[6] = M6IKE_IPPROTO_ESP;
    out[7] = x->cfg.hop_limit;
    memcpy(out + 8, sa->src.b, 16);
    memcpy(out + 24, sa->dst.b, 16);
  }
  m6ike_put_u16be(out + 4, (uint16_t)(total - M6IKE_IP6_HDR_LEN));
  uint8_t *esp = out + hdrs;
  uint64_t seq = sa->seq_out + 1;
  m6ike_put_u32be(esp, sa->spi);
  m6ike_put_u32be(esp + 4, (uint32_t)seq);
  uint8_t *pt = esp + ESP_HDR + sa->iv_len;
  memcpy(pt, payload, plen);
  for (size_t i = 0; i < padlen; i++) {
    pt[plen + i] = (uint8_t)(i + 1);
  }
  pt[plen + padlen] = (uint8_t)padlen;
  pt[plen + padlen + 1] = inner_nh;
  sa->seq_out = seq;
  int rc = esp_seal(x, sa, esp, padded);
  if (rc < 0) {
    return rc;
  }
  return (int)total;
}

/* Can s carry flow f out under policy p (endpoints src -> dst)? */
static int sa_usable_out(const ipsec_sa *s, const m6ike_ipsec_policy *p,
                         const m6ike_addr6 *src, const m6ike_addr6 *dst,
                         const flow *f) {
  return s->mode == p->mode &&
         (s->state == M6IKE_SADB_SASTATE_MATURE ||
          s->state == M6IKE_SADB_SASTATE_DYING) &&
         m6ike_addr6_equal(&s->dst, dst) && m6ike_addr6_equal(&s->src, src) &&
         (!s->has_sel || sel_match(&s->sel, f));
}

/* Outbound preference: MATURE over DYING, then the newest. */
static int sa_better(const ipsec_sa *s, const ipsec_sa *best) {
  return best == NULL || (best->state != s->state
                              ? s->state == M6IKE_SADB_SASTATE_MATURE
                              : s->order > best->order);
}

/* The SA a PROTECT policy uses for flow f, or NULL. */
static ipsec_sa *sa_for_policy(const m6ike_ipsec *x, const ipsec_pol *e,
                               const flow *f) {
  const m6ike_ipsec_policy *p = &e->p;
  const m6ike_addr6 *src, *dst;
  if (p->mode == M6IKE_IPSEC_MODE_TUNNEL) {
    src = &p->tun_src;
    dst = &p->tun_dst;
  } else {
    src = &f->src;
    dst = &f->dst;
  }
  ipsec_sa *best = NULL;
  if (p->reqid != 0) {
    for (ipsec_sa *s = x->reqid_tab[hash32(p->reqid, x->tab_size)]; s;
         s = s->next_reqid) {
      if (s->reqid == p->reqid && sa_usable_out(s, p, src, dst, f) &&
          sa_better(s, best)) {
        best = s;
      }
    }
    return best;
  }
  for (size_t i = 0; i < x->tab_size; i++) {
    for (ipsec_sa *s = x->spi_tab[i]; s; s = s->next_spi) {
      if (sa_usable_out(s, p, src, dst, f) && sa_better(s, best)) {
        best = s;
      }
    }
  }
  return best;
}

static int copy_out(const uint8_t *pkt, size_t len, uint8_t *out,
                    size_t cap) {
  if (len > cap) {
    return M6IKE_ERR_NOBUF;
  }
  memmove(out, pkt, len);
  return (int)len;
}

/* Accounts a processed packet; returns 1 if the SA hit a hard limit. */
static int account(m6ike_ipsec *x, ipsec_sa *sa, size_t bytes,
                   m6ike_tstamp now) {
  sa->st.packets++;
  sa->st.bytes += bytes;
  if (sa->use_time == M6IKE_TSTAMP_UNSET) {
    sa->use_time = now;
  }
  return lifetime_check(x, sa, now, NULL);
}

/* Before using an SA: a hard limit already reached (bytes, or a time the
 * host has not yet passed to handle_expiry) deletes it. */
static int hard_reached(m6ike_ipsec *x, ipsec_sa *sa, m6ike_tstamp now) {
  if ((sa->hard.bytes && sa->st.bytes >= sa->hard.bytes) ||
      now >= deadline(sa->add_time, sa->hard.addtime) ||
      now >= deadline(sa->use_time, sa->hard.usetime)) {
    send_expire(x, sa, 1, now);
    m6ike_ipsec_sa_remove_(x, sa);
    x->st.dropped_expired++;
    return 1;
  }
  return 0;
}

int m6ike_ipsec_output(m6ike_ipsec *x, const uint8_t *pkt, size_t len,
                       uint8_t *out, size_t cap, m6ike_tstamp now) {
  if (x == NULL || pkt == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_ip6_info info;
  int rc = m6ike_ip6_walk(&info, pkt, len);
  if (rc < 0) {
    x->st.dropped_malformed++;
    return rc;
  }
  if (info.is_fragment) {
    x->st.dropped_malformed++;
    return M6IKE_ERR_IPSEC_FRAGMENT;
  }
  flow f;
  flow_from_info(&f, &info, pkt);
  ipsec_pol *e = spd_lookup(x, 1, &f);
  size_t end = M6IKE_IP6_HDR_LEN + (size_t)info.payload_len;
  if (e == NULL || e->p.action == M6IKE_IPSEC_ACTION_BYPASS) {
    rc = copy_out(pkt, end, out, cap);
    if (rc >= 0) {
      x->st.bypass_out++;
    }
    return rc;
  }
  if (e->p.action == M6IKE_IPSEC_ACTION_DISCARD) {
    x->st.dropped_policy++;
    return M6IKE_ERR_IPSEC_DISCARD;
  }
  ipsec_sa *sa = sa_for_policy(x, e, &f);
  if (sa && hard_reached(x, sa, now)) {
    return M6IKE_ERR_IPSEC_EXPIRED;
  }
  if (sa == NULL) {
    send_acquire(x, e, &f, now);
    if (e->p.level == M6IKE_IPSEC_LEVEL_USE) {
      rc = copy_out(pkt, end, out, cap);
      if (rc >= 0) {
        x->st.bypass_out++;
      }
      return rc;
    }
    x->st.dropped_no_sa++;
    return M6IKE_ERR_IPSEC_ACQUIRE;
  }
  rc = esp_encap(x, sa, pkt, end, out, cap);
  if (rc < 0) {
    if (rc == M6IKE_ERR_IPSEC_SEQ_OVERFLOW) {
      x->st.dropped_expired++;
    } else if (rc != M6IKE_ERR_NOBUF) {
      sa->st.dropped_other++;
      x->st.dropped_malformed++;
    }
    return rc;
  }
  x->st.packets_out++;
  x->st.bytes_out += end;
  if (account(x, sa, end, now)) {
    m6ike_ipsec_sa_remove_(x, sa);
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* ESP input                                                           */
/* ------------------------------------------------------------------ */

/* Offset of the Next Header field that names the header at target. */
static size_t nh_pos_before(const uint8_t *pkt, size_t target) {
  size_t off = M6IKE_IP6_HDR_LEN, pos = 6;
  uint8_t cur = pkt[6];
  while (off < target) {
    size_t hl;
    if (cur == M6IKE_IPPROTO_FRAGMENT) {
      hl = 8;
    } else if (cur == M6IKE_IPPROTO_AH) {
      hl = ((size_t)pkt[off + 1] + 2) * 4;
    } else {
      hl = ((size_t)pkt[off + 1] + 1) * 8;
    }
    pos = off;
    cur = pkt[off];
    off += hl;
  }
  return pos;
}

/* Inbound SPD check of a (decapsulated or plaintext) packet.  sa NULL for
 * plaintext.  0 to accept, else a code (counted by the caller). */
static int inbound_policy(const m6ike_ipsec *x, const ipsec_sa *sa,
                          const flow *f) {
  const ipsec_pol *e = spd_lookup(x, 0, f);
  if (e == NULL) {
    e = spd_lookup(x, 2, f);
  }
  if (sa == NULL) {
    if (e == NULL || e->p.action == M6IKE_IPSEC_ACTION_BYPASS) {
      return 0;
    }
    if (e->p.action == M6IKE_IPSEC_ACTION_DISCARD) {
      return M6IKE_ERR_IPSEC_DISCARD;
    }
    return e->p.level == M6IKE_IPSEC_LEVEL_USE ? 0 : M6IKE_ERR_IPSEC_POLICY;
  }
  if (sa->has_sel && !sel_match(&sa->sel, f)) {
    return M6IKE_ERR_IPSEC_POLICY;
  }
  if (e == NULL) {
    return 0;
  }
  if (e->p.action == M6IKE_IPSEC_ACTION_DISCARD) {
    return M6IKE_ERR_IPSEC_DISCARD;
  }
  if (e->p.action == M6IKE_IPSEC_ACTION_BYPASS) {
    return 0; /* protected more than required */
  }
  if (e->p.mode != sa->mode || (e->p.reqid != 0 && e->p.reqid != sa->reqid)) {
    return M6IKE_ERR_IPSEC_POLICY;
  }
  if (sa->mode == M6IKE_IPSEC_MODE_TUNNEL &&
      (!m6ike_addr6_equal(&e->p.tun_src, &sa->src) ||
       !m6ike_addr6_equal(&e->p.tun_dst, &sa->dst))) {
    return M6IKE_ERR_IPSEC_POLICY;
  }
  return 0;
}

static int drop_in(m6ike_ipsec *x, ipsec_sa *sa, int rc) {
  switch (rc) {
  case M6IKE_ERR_IPSEC_BAD_ICV:
    x->st.dropped_icv++;
    if (sa) {
      sa->st.dropped_icv++;
    }
    break;
  case M6IKE_ERR_IPSEC_REPLAY:
    x->st.dropped_replay++;
    if (sa) {
      sa->st.dropped_replay++;
    }
    break;
  case M6IKE_ERR_IPSEC_NO_SA:
  case M6IKE_ERR_IPSEC_LARVAL:
    x->st.dropped_no_sa++;
    break;
  case M6IKE_ERR_IPSEC_POLICY:
  case M6IKE_ERR_IPSEC_DISCARD:
    x->st.dropped_policy++;
    if (sa) {
      sa->st.dropped_other++;
    }
    break;
  case M6IKE_ERR_IPSEC_DUMMY:
    x->st.dummy_in++;
    break;
  case M6IKE_ERR_NOBUF:
    break; /* the caller's buffer: not a drop */
  default:
    x->st.dropped_malformed++;
    if (sa) {
      sa->st.dropped_other++;
    }
    break;
  }
  return rc;
}

/* Decrypts and verifies; plaintext (ct_len octets) to pt. */
static int esp_open(ipsec_sa *sa, const uint8_t *esp, size_t ct_len,
                    uint64_t seq, uint8_t *pt) {
  const uint8_t *iv = esp + ESP_HDR;
  const uint8_t *ct = iv + sa->iv_len;
  const uint8_t *icv = ct + ct_len;
  uint8_t hi[4];
  m6ike_put_u32be(hi, (uint32_t)(seq >> 32));
  int rc;
  if (sa->aead) {
    uint8_t aad[12];
    size_t alen;
    memcpy(aad, esp, 4);
    if (sa->esn) {
      memcpy(aad + 4, hi, 4);
      memcpy(aad + 8, esp + 4, 4);
      alen = 12;
    } else {
      memcpy(aad + 4, esp + 4, 4);
      alen = 8;
    }
    rc = m6ike_crypto_cipher_decrypt(sa->cipher, iv, sa->iv_len, aad, alen,
                                     ct, ct_len, icv, pt);
    if (rc == M6IKE_ERR_CRYPTO_AUTH) {
      return M6IKE_ERR_IPSEC_BAD_ICV;
    }
    return rc < 0 ? M6IKE_ERR_IPSEC_CRYPTO : 0;
  }
  m6ike_crypto_chunk ch[2] = {{esp, ESP_HDR + sa->iv_len + ct_len}, {hi, 4}};
  rc = m6ike_crypto_integ_verifyv(sa->integ_ctx, ch, sa->esn ? 2 : 1, icv,
                                  sa->icv_len);
  if (rc == M6IKE_ERR_CRYPTO_AUTH) {
    return M6IKE_ERR_IPSEC_BAD_ICV;
  }
  if (rc < 0) {
    return M6IKE_ERR_IPSEC_CRYPTO;
  }
  rc = m6ike_crypto_cipher_decrypt(sa->cipher, iv, sa->iv_len, NULL, 0, ct,
                                   ct_len, NULL, pt);
  return rc < 0 ? M6IKE_ERR_IPSEC_CRYPTO : 0;
}

static int esp_input(m6ike_ipsec *x, const uint8_t *pkt, size_t end,
                     const m6ike_ip6_info *info, uint8_t *out, size_t cap,
                     m6ike_tstamp now) {
  size_t esp_off = info->upper_off;
  const uint8_t *esp = pkt + esp_off;
  size_t esp_len = end - esp_off;
  if (esp_len < ESP_HDR) {
    return drop_in(x, NULL, M6IKE_ERR_IPSEC_TRUNCATED);
  }
  uint32_t spi, seql;
  m6ike_get_u32be(esp, &spi);
  m6ike_get_u32be(esp + 4, &seql);
  m6ike_addr6 psrc, pdst;
  m6ike_ip6_pseudo_addrs(info, &psrc, &pdst);
  ipsec_sa *sa = m6ike_ipsec_sa_find_(x, spi, &pdst);
  if (sa == NULL) {
    return drop_in(x, NULL, M6IKE_ERR_IPSEC_NO_SA);
  }
  if (sa->state == M6IKE_SADB_SASTATE_LARVAL) {
    return drop_in(x, NULL, M6IKE_ERR_IPSEC_LARVAL);
  }
  if (hard_reached(x, sa, now)) {
    return M6IKE_ERR_IPSEC_EXPIRED;
  }
  size_t fixed = ESP_HDR + (size_t)sa->iv_len + sa->icv_len;
  if (esp_len < fixed + 4) {
    return drop_in(x, sa, M6IKE_ERR_IPSEC_TRUNCATED);
  }
  size_t ct_len = esp_len - fixed;
  if (ct_len % sa->block != 0) {
    return drop_in(x, sa, M6IKE_ERR_IPSEC_BAD_LENGTH);
  }
  uint64_t seq = infer_seq(sa, seql);
  int rc = replay_check(sa, seq);
  if (rc < 0) {
    return drop_in(x, sa, rc);
  }
  int tunnel = sa->mode == M6IKE_IPSEC_MODE_TUNNEL;
  size_t hdrs = tunnel ? 0 : esp_off;
  if (cap < hdrs + ct_len) {
    return drop_in(x, sa, M6IKE_ERR_NOBUF);
  }
  uint8_t *pt = out + hdrs;
  rc = esp_open(sa, esp, ct_len, seq, pt);
  if (rc < 0) {
    return drop_in(x, sa, rc);
  }
  replay_advance(sa, seq);
  uint8_t padlen = pt[ct_len - 2], nh = pt[ct_len - 1];
  if ((size_t)padlen + 2 > ct_len) {
    return drop_in(x, sa, M6IKE_ERR_IPSEC_BAD_PADDING);
  }
  size_t dlen = ct_len - 2 - padlen;
  for (size_t i = 0; i < padlen; i++) {
    if (pt[dlen + i] != (uint8_t)(i + 1)) {
      return drop_in(x, sa, M6IKE_ERR_IPSEC_BAD_PADDING);
    }
  }
  if (nh == M6IKE_IPPROTO_NONE) {
    return drop_in(x, sa, M6IKE_ERR_IPSEC_DUMMY);
  }
  size_t total;
  if (tunnel) {
    if (nh != M6IKE_IPPROTO_IPV6) {
      return drop_in(x, sa, M6IKE_ERR_IPSEC_NEXT_HEADER);
    }
    if (dlen < M6IKE_IP6_HDR_LEN || pt[0] >> 4 != 6) {
      return drop_in(x, sa, M6IKE_ERR_IPSEC_NOT_IPV6);
    }
    uint16_t ipl;
    m6ike_get_u16be(pt + 4, &ipl);
    if ((size_t)ipl + M6IKE_IP6_HDR_LEN > dlen) {
      return drop_in(x, sa, M6IKE_ERR_IPSEC_NOT_IPV6);
    }
    total = (size_t)ipl + M6IKE_IP6_HDR_LEN; /* the rest: TFC padding */
  } else {
    memcpy(out, pkt, esp_off);
    out[nh_pos_before(pkt, esp_off)] = nh;
    total = esp_off + dlen;
    if (total - M6IKE_IP6_HDR_LEN > 0xffff) {
      return drop_in(x, sa, M6IKE_ERR_IPSEC_BAD_LENGTH);
    }
    m6ike_put_u16be(out + 4, (uint16_t)(total - M6IKE_IP6_HDR_LEN));
  }
  m6ike_ip6_info inner;
  rc = m6ike_ip6_walk(&inner, out, total);
  if (rc < 0) {
    return drop_in(x, sa, rc);
  }
  flow f;
  flow_from_info(&f, &inner, out);
  rc = inbound_policy(x, sa, &f);
  if (rc < 0) {
    return drop_in(x, sa, rc);
  }
  x->st.packets_in++;
  x->st.bytes_in += total;
  if (account(x, sa, total, now)) {
    m6ike_ipsec_sa_remove_(x, sa);
  }
  return (int)total;
}

int m6ike_ipsec_input(m6ike_ipsec *x, const uint8_t *pkt, size_t len,
                      uint8_t *out, size_t cap, m6ike_tstamp now) {
  if (x == NULL || pkt == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_ip6_info info;
  int rc = m6ike_ip6_walk(&info, pkt, len);
  if (rc < 0) {
    return drop_in(x, NULL, rc);
  }
  if (info.is_fragment) {
    return drop_in(x, NULL, M6IKE_ERR_IPSEC_FRAGMENT);
  }
  size_t end = M6IKE_IP6_HDR_LEN + (size_t)info.payload_len;
  if (info.upper_proto == M6IKE_IPPROTO_ESP) {
    return esp_input(x, pkt, end, &info, out, cap, now);
  }
  flow f;
  flow_from_info(&f, &info, pkt);
  rc = inbound_policy(x, NULL, &f);
  if (rc < 0) {
    return drop_in(x, NULL, rc);
  }
  rc = copy_out(pkt, end, out, cap);
  if (rc >= 0) {
    x->st.bypass_in++;
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* Wireshark                                                           */
/* ------------------------------------------------------------------ */

static const char *ws_encr(uint16_t enc) {
  switch (enc) {
  case M6IKE_ENCR_NULL:
    return "NULL";
  case M6IKE_ENCR_3DES:
    return "TripleDES-CBC [RFC2451]";
  case M6IKE_ENCR_AES_CBC:
    return "AES-CBC [RFC3602]";
  case M6IKE_ENCR_AES_GCM_16:
    return "AES-GCM with 16 octet ICV [RFC4106]";
  default:
    return "NULL";
  }
}

static const char *ws_auth(uint16_t integ) {
  switch (integ) {
  case M6IKE_INTEG_HMAC_SHA1_96:
    return "HMAC-SHA-1-96 [RFC2404]";
  case M6IKE_INTEG_HMAC_SHA2_256_128:
    return "HMAC-SHA-256-128 [RFC4868]";
  default:
    return "NULL";
  }
}

/* "0x" + hex, or "" for an empty key, into dst (cap >= 2*len + 3). */
static void hexkey(char *dst, const uint8_t *k, size_t len) {
  static const char hx[] = "0123456789abcdef";
  if (len == 0) {
    dst[0] = 0;
    return;
  }
  *dst++ = '0';
  *dst++ = 'x';
  for (size_t i = 0; i < len; i++) {
    *dst++ = hx[k[i] >> 4];
    *dst++ = hx[k[i] & 15];
  }
  *dst = 0;
}

/* One esp_sa line (see m6ike_ipsec_sa_format_wireshark). */
static int format_ws(const m6ike_addr6 *src, const m6ike_addr6 *dst,
                     uint32_t spi, unsigned enc, const uint8_t *enc_key,
                     size_t enc_key_len, unsigned integ,
                     const uint8_t *auth_key, size_t auth_key_len, char *buf,
                     size_t cap) {
  char s[M6IKE_ADDR6_STRLEN], d[M6IKE_ADDR6_STRLEN];
  char ek[2 * 40 + 3], ak[2 * 64 + 3];
  hexkey(ek, enc_key, enc_key_len);
  hexkey(ak, auth_key, auth_key_len);
  int n = snprintf(buf, cap,
                   "\"IPv6\",\"%s\",\"%s\",\"0x%08x\",\"%s\",\"%s\",\"%s\","
                   "\"%s\"\n",
                   m6ike_addr6_format(src, s), m6ike_addr6_format(dst, d),
                   (unsigned)spi, ws_encr(enc), ek, ws_auth(integ), ak);
  return n < 0 ? M6IKE_ERR_INVALID_ARGUMENT : n;
}

int m6ike_ipsec_sa_format_wireshark(const m6ike_ipsec *x, uint32_t spi,
                                    const m6ike_addr6 *dst, char *buf,
                                    size_t cap) {
  if (x == NULL || (buf == NULL && cap > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int amb;
  const ipsec_sa *sa = sa_by_spi(x, spi, dst, &amb);
  if (amb) {
    return M6IKE_ERR_IPSEC_AMBIGUOUS;
  }
  if (sa == NULL) {
    return M6IKE_ERR_NOT_FOUND;
  }
  if (sa->state == M6IKE_SADB_SASTATE_LARVAL) {
    return M6IKE_ERR_IPSEC_LARVAL;
  }
  return format_ws(&sa->src, &sa->dst, sa->spi, sa->enc, sa->enc_key,
                   sa->enc_key_len, sa->integ, sa->auth_key, sa->auth_key_len,
                   buf, cap);
}

int m6ike_ipsec_sa_params_format_wireshark(const m6ike_ipsec_sa_params *p,
                                           char *buf, size_t cap) {
  if (p == NULL || (buf == NULL && cap > 0) || p->enc_key_len > 40 ||
      p->auth_key_len > 64 || (p->enc_key == NULL && p->enc_key_len > 0) ||
      (p->auth_key == NULL && p->auth_key_len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return format_ws(&p->src, &p->dst, p->spi, p->enc_alg, p->enc_key,
                   p->enc_key_len, p->auth_alg, p->auth_key, p->auth_key_len,
                   buf, cap);
}
