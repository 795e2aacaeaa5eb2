/* ipsec_pfkey: the kernel side of the PF_KEY bus for the ipsec unit:
 * SA and SP management messages from key managers, and X_MIGRATE from the
 * mobility side.  Replies follow Linux af_key's layouts. */
#include <string.h>

#include "ipsec_internal.h"

/* Linux errno values the handler returns (the bus writes them into error
 * replies). */
enum {
  E_NOENT = 2,
  E_SRCH = 3,
  E_AGAIN = 11,
  E_NOMEM = 12,
  E_EXIST = 17,
  E_INVAL = 22,
  E_OPNOTSUPP = 95
};

#define MSG_CAP 640

static int errno_of(int rc) {
  switch (rc) {
  case M6IKE_ERR_NOMEM:
    return E_NOMEM;
  case M6IKE_ERR_EXISTS:
    return E_EXIST;
  case M6IKE_ERR_NOT_FOUND:
    return E_SRCH;
  case M6IKE_ERR_IPSEC_SATYPE:
  case M6IKE_ERR_IPSEC_ACTION:
    return E_OPNOTSUPP;
  default:
    return E_INVAL;
  }
}

static int addr_of(const m6ike_pfkey_msg *m, unsigned ext,
                   m6ike_pfkey_address *a, m6ike_addr6 *out) {
  if (m6ike_pfkey_get_address(m, ext, a) != 0) {
    return M6IKE_ERR_PFKEY_MISSING_EXT;
  }
  if (a->sa.family != M6IKE_PFKEY_AF_INET6) {
    return M6IKE_ERR_IPSEC_NOT_IPV6;
  }
  memcpy(out->b, a->sa.addr, 16);
  return 0;
}

static int sockaddr_to6(const m6ike_pfkey_sockaddr *s, m6ike_addr6 *out) {
  if (s->family != M6IKE_PFKEY_AF_INET6) {
    return M6IKE_ERR_IPSEC_NOT_IPV6;
  }
  memcpy(out->b, s->addr, 16);
  return 0;
}

/* Selector from a pair of address extensions (SPD messages, MIGRATE, and
 * transport SAs).  Proto 0 or 255 = any.  Ports: TCP/UDP/SCTP ports,
 * ICMPv6 type (src) and code (dst), MH type (src port), 0 = any. */
static void sel_from(m6ike_ipsec_selector *sel, const m6ike_pfkey_address *s,
                     const m6ike_addr6 *sa, const m6ike_pfkey_address *d,
                     const m6ike_addr6 *da) {
  m6ike_ipsec_selector_any(sel);
  sel->src = *sa;
  sel->dst = *da;
  sel->src_plen = s->prefixlen;
  sel->dst_plen = d->prefixlen;
  uint8_t proto = s->proto ? s->proto : d->proto;
  sel->proto = proto == 0 ? M6IKE_IPSEC_PROTO_ANY : proto;
  if (sel->proto == M6IKE_IPPROTO_MH) {
    if (s->sa.port != 0) {
      sel->mh_type_lo = sel->mh_type_hi = (uint8_t)s->sa.port;
    }
  } else if (sel->proto == 6 || sel->proto == 17 || sel->proto == 132 ||
             sel->proto == M6IKE_IPPROTO_ICMPV6) {
    if (s->sa.port != 0) {
      sel->sport_lo = sel->sport_hi = s->sa.port;
    }
    if (d->sa.port != 0) {
      sel->dport_lo = sel->dport_hi = d->sa.port;
    }
  }
  m6ike_ipsec_selector_norm_(sel);
}

static void add_sel_addrs(m6ike_pfkey_builder *b,
                          const m6ike_ipsec_selector *sel) {
  uint16_t sport = 0, dport = 0;
  uint8_t proto = sel->proto;
  if (proto == M6IKE_IPPROTO_MH) {
    sport = sel->mh_type_lo == sel->mh_type_hi ? sel->mh_type_lo : 0;
  } else {
    sport = sel->sport_lo == sel->sport_hi ? sel->sport_lo : 0;
    dport = sel->dport_lo == sel->dport_hi ? sel->dport_lo : 0;
  }
  m6ike_pfkey_sockaddr s = m6ike_pfkey_sockaddr6(&sel->src, sport);
  m6ike_pfkey_sockaddr d = m6ike_pfkey_sockaddr6(&sel->dst, dport);
  m6ike_pfkey_add_address(b, M6IKE_SADB_EXT_ADDRESS_SRC, proto,
                          sel->src_plen, &s);
  m6ike_pfkey_add_address(b, M6IKE_SADB_EXT_ADDRESS_DST, proto,
                          sel->dst_plen, &d);
}

/* ---- SA messages ----------------------------------------------------- */

static int sa_msg(const m6ike_ipsec *x, const ipsec_sa *sa, uint8_t type,
                  uint32_t seq, uint32_t pid, int keys, uint8_t *buf,
                  size_t cap) {
  (void)x;
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, cap, type, M6IKE_SADB_SATYPE_ESP, seq,
                            pid);
  int aalg = m6ike_ipsec_integ_to_sadb_(sa->integ);
  m6ike_pfkey_sa s = {sa->spi, sa->pfkey_replay, sa->state,
                      (uint8_t)(aalg < 0 ? 0 : aalg), (uint8_t)sa->enc, 0};
  m6ike_pfkey_add_sa(&b, &s);
  if (sa->state != M6IKE_SADB_SASTATE_LARVAL) {
    m6ike_pfkey_lifetime cur = {
        0, sa->st.bytes,
        sa->add_time == M6IKE_TSTAMP_UNSET ? 0 : sa->add_time / M6IKE_SECONDS,
        sa->use_time == M6IKE_TSTAMP_UNSET ? 0
                                           : sa->use_time / M6IKE_SECONDS};
    m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_CURRENT, &cur);
    m6ike_pfkey_lifetime h = {0, sa->hard.bytes, sa->hard.addtime,
                              sa->hard.usetime};
    m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_HARD, &h);
    m6ike_pfkey_lifetime so = {0, sa->soft.bytes, sa->soft.addtime,
                               sa->soft.usetime};
    m6ike_pfkey_add_lifetime(&b, M6IKE_SADB_EXT_LIFETIME_SOFT, &so);
  }
  m6ike_pfkey_sockaddr src = m6ike_pfkey_sockaddr6(&sa->src, 0);
  m6ike_pfkey_sockaddr dst = m6ike_pfkey_sockaddr6(&sa->dst, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 0, 128, &src);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 0, 128, &dst);
  if (keys && sa->state != M6IKE_SADB_SASTATE_LARVAL) {
    if (sa->auth_key_len) {
      m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_AUTH,
                          (uint16_t)(sa->auth_key_len * 8), sa->auth_key);
    }
    if (sa->enc_key_len) {
      m6ike_pfkey_add_key(&b, M6IKE_SADB_EXT_KEY_ENCRYPT,
                          (uint16_t)(sa->enc_key_len * 8), sa->enc_key);
    }
  }
  m6ike_pfkey_add_sa2(&b, sa->mode, 0, sa->reqid);
  return m6ike_pfkey_builder_finish(&b);
}

static int reply_sa(m6ike_ipsec *x, m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                    const ipsec_sa *sa, const m6ike_pfkey_hdr *h, int keys) {
  uint8_t buf[MSG_CAP];
  int n = sa_msg(x, sa, h->type, h->seq, h->pid, keys, buf, sizeof(buf));
  if (n < 0) {
    return E_INVAL;
  }
  return m6ike_pfkey_bus_reply(bus, to, buf, (size_t)n) < 0 ? E_NOMEM : 0;
}

static int reply_hdr(m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                     const m6ike_pfkey_hdr *h) {
  uint8_t buf[16];
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), h->type, h->satype, h->seq,
                            h->pid);
  int n = m6ike_pfkey_builder_finish(&b);
  if (n < 0) {
    return E_INVAL;
  }
  return m6ike_pfkey_bus_reply(bus, to, buf, (size_t)n) < 0 ? E_NOMEM : 0;
}

/* SA params of an ADD/UPDATE message.  Keys point into the message. */
static int sa_params_of(const m6ike_ipsec *x, const m6ike_pfkey_msg *m,
                        m6ike_ipsec_sa_params *p, uint8_t *replay) {
  memset(p, 0, sizeof(*p));
  if (m->hdr.satype != M6IKE_SADB_SATYPE_ESP) {
    return M6IKE_ERR_IPSEC_SATYPE;
  }
  m6ike_pfkey_sa s;
  m6ike_pfkey_address as, ad;
  if (m6ike_pfkey_get_sa(m, &s) != 0) {
    return M6IKE_ERR_PFKEY_MISSING_EXT;
  }
  int rc = addr_of(m, M6IKE_SADB_EXT_ADDRESS_SRC, &as, &p->src);
  if (rc == 0) {
    rc = addr_of(m, M6IKE_SADB_EXT_ADDRESS_DST, &ad, &p->dst);
  }
  if (rc < 0) {
    return rc;
  }
  p->spi = s.spi;
  p->enc_alg = s.encrypt;
  int integ = m6ike_ipsec_integ_from_sadb_(s.auth);
  if (integ < 0) {
    return M6IKE_ERR_IPSEC_ALGORITHM;
  }
  p->auth_alg = (uint16_t)integ;
  m6ike_pfkey_key k;
  if (m6ike_pfkey_get_key(m, M6IKE_SADB_EXT_KEY_ENCRYPT, &k) == 0) {
    if (k.bits % 8) {
      return M6IKE_ERR_IPSEC_KEY_LENGTH;
    }
    p->enc_key = k.data;
    p->enc_key_len = k.bits / 8;
  }
  if (m6ike_pfkey_get_key(m, M6IKE_SADB_EXT_KEY_AUTH, &k) == 0) {
    if (k.bits % 8) {
      return M6IKE_ERR_IPSEC_KEY_LENGTH;
    }
    p->auth_key = k.data;
    p->auth_key_len = k.bits / 8;
  }
  m6ike_pfkey_sa2 sa2;
  p->mode = M6IKE_IPSEC_MODE_TRANSPORT;
  if (m6ike_pfkey_get_sa2(m, &sa2) == 0) {
    if (sa2.mode == M6IKE_IPSEC_MODE_TUNNEL) {
      p->mode = M6IKE_IPSEC_MODE_TUNNEL;
    } else if (sa2.mode != M6IKE_IPSEC_MODE_ANY &&
               sa2.mode != M6IKE_IPSEC_MODE_TRANSPORT) {
      return M6IKE_ERR_IPSEC_MODE;
    }
    p->reqid = sa2.reqid;
  }
  *replay = s.replay;
  if (s.replay == 0) {
    p->no_replay = 1;
  } else {
    p->replay_window =
        s.replay > x->cfg.replay_window ? s.replay : x->cfg.replay_window;
  }
  if (p->mode == M6IKE_IPSEC_MODE_TRANSPORT) {
    p->has_sel = 1;
    sel_from(&p->sel, &as, &p->src, &ad, &p->dst);
  }
  /* the private SA-selector extension (pfkey.h, type 97): the inner
   * selector and ESN, which RFC 2367 cannot say */
  m6ike_pfkey_sa_sel xs;
  if (m6ike_pfkey_get_sa_sel(m, &xs) == 0) {
    p->esn = (xs.flags & M6IKE_PFKEY_SA_SEL_ESN) != 0;
    if (xs.flags & M6IKE_PFKEY_SA_SEL_SELECTOR) {
      p->has_sel = 1;
      memcpy(p->sel.src.b, xs.src, 16);
      memcpy(p->sel.dst.b, xs.dst, 16);
      p->sel.src_plen = xs.src_plen;
      p->sel.dst_plen = xs.dst_plen;
      p->sel.proto = xs.proto;
      p->sel.sport_lo = xs.sport_lo;
      p->sel.sport_hi = xs.sport_hi;
      p->sel.dport_lo = xs.dport_lo;
      p->sel.dport_hi = xs.dport_hi;
      p->sel.mh_type_lo = xs.mh_type_lo;
      p->sel.mh_type_hi = xs.mh_type_hi;
    }
  }
  m6ike_pfkey_lifetime lt;
  if (m6ike_pfkey_get_lifetime(m, M6IKE_SADB_EXT_LIFETIME_HARD, &lt) == 0) {
    p->hard.bytes = lt.bytes;
    p->hard.addtime = lt.addtime;
    p->hard.usetime = lt.usetime;
  }
  if (m6ike_pfkey_get_lifetime(m, M6IKE_SADB_EXT_LIFETIME_SOFT, &lt) == 0) {
    p->soft.bytes = lt.bytes;
    p->soft.addtime = lt.addtime;
    p->soft.usetime = lt.usetime;
  }
  return 0;
}

static int find_sa_of(const m6ike_ipsec *x, const m6ike_pfkey_msg *m,
                      ipsec_sa **out) {
  m6ike_pfkey_sa s;
  m6ike_pfkey_address ad;
  m6ike_addr6 dst;
  if (m->hdr.satype != M6IKE_SADB_SATYPE_ESP) {
    return M6IKE_ERR_IPSEC_SATYPE;
  }
  if (m6ike_pfkey_get_sa(m, &s) != 0) {
    return M6IKE_ERR_PFKEY_MISSING_EXT;
  }
  int rc = addr_of(m, M6IKE_SADB_EXT_ADDRESS_DST, &ad, &dst);
  if (rc < 0) {
    return rc;
  }
  *out = m6ike_ipsec_sa_find_(x, s.spi, &dst);
  return *out ? 0 : M6IKE_ERR_NOT_FOUND;
}

static int rand32(const m6ike_ipsec *x, uint32_t *v) {
  uint8_t b[4];
  if (x->cfg.rand == NULL || x->cfg.rand(b, 4, x->cfg.rand_user_data) != 0) {
    return M6IKE_ERR_RANDOM;
  }
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
       b[3];
  return 0;
}

static int do_getspi(m6ike_ipsec *x, m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                     const m6ike_pfkey_msg *m, m6ike_tstamp now) {
  if (m->hdr.satype != M6IKE_SADB_SATYPE_ESP) {
    return E_OPNOTSUPP;
  }
  m6ike_ipsec_sa_params p;
  memset(&p, 0, sizeof(p));
  m6ike_pfkey_address as, ad;
  if (addr_of(m, M6IKE_SADB_EXT_ADDRESS_SRC, &as, &p.src) < 0 ||
      addr_of(m, M6IKE_SADB_EXT_ADDRESS_DST, &ad, &p.dst) < 0) {
    return E_INVAL;
  }
  uint32_t lo = x->cfg.spi_min, hi = x->cfg.spi_max;
  m6ike_pfkey_spirange r;
  if (m6ike_pfkey_get_spirange(m, &r) == 0) {
    lo = r.min < 256 ? 256 : r.min;
    hi = r.max;
  }
  if (lo > hi) {
    return E_INVAL;
  }
  p.mode = M6IKE_IPSEC_MODE_TRANSPORT;
  m6ike_pfkey_sa2 sa2;
  if (m6ike_pfkey_get_sa2(m, &sa2) == 0) {
    if (sa2.mode == M6IKE_IPSEC_MODE_TUNNEL) {
      p.mode = M6IKE_IPSEC_MODE_TUNNEL;
    }
    p.reqid = sa2.reqid;
  }
  uint64_t span = (uint64_t)hi - lo + 1;
  uint32_t spi = 0;
  int found = 0;
  if (span == 1) {
    spi = lo;
    found = m6ike_ipsec_sa_find_(x, spi, &p.dst) == NULL;
  } else {
    /* random draws, then a bounded linear probe from the last draw */
    for (int i = 0; i < 16 && !found; i++) {
      uint32_t v;
      if (rand32(x, &v) < 0) {
        return E_AGAIN;
      }
      spi = (uint32_t)(lo + v % span);
      found = m6ike_ipsec_sa_find_(x, spi, &p.dst) == NULL;
    }
    for (uint64_t i = 0; i < span && i < 65536 && !found; i++) {
      spi = (uint32_t)(lo + ((uint64_t)spi - lo + 1) % span);
      found = m6ike_ipsec_sa_find_(x, spi, &p.dst) == NULL;
    }
  }
  if (!found) {
    return E_NOENT;
  }
  p.spi = spi;
  ipsec_sa *sa;
  int rc = m6ike_ipsec_sa_insert_(x, &p, 1, 0, now, &sa);
  if (rc < 0) {
    return errno_of(rc);
  }
  rc = reply_sa(x, bus, to, sa, &m->hdr, 0);
  if (rc != 0) {
    m6ike_ipsec_sa_remove_(x, sa);
  }
  return rc;
}

static int do_add_update(m6ike_ipsec *x, m6ike_pfkey_bus *bus,
                         m6ike_pfkey_ep to, const m6ike_pfkey_msg *m,
                         m6ike_tstamp now) {
  m6ike_ipsec_sa_params p;
  uint8_t replay;
  int rc = sa_params_of(x, m, &p, &replay);
  if (rc < 0) {
    return errno_of(rc);
  }
  ipsec_sa *sa = m6ike_ipsec_sa_find_(x, p.spi, &p.dst);
  m6ike_pfkey_sa_move mv;
  if (m->hdr.type == M6IKE_SADB_UPDATE &&
      m6ike_pfkey_get_sa_move(m, &mv) == 0) {
    /* the private SA-move extension (pfkey.h, type 98): a MATURE SA to new
     * outer addresses in place; already there (X_MIGRATE moved it): no
     * change */
    m6ike_addr6 ns, nd;
    memcpy(ns.b, mv.new_src, 16);
    memcpy(nd.b, mv.new_dst, 16);
    ipsec_sa *there = m6ike_ipsec_sa_find_(x, p.spi, &nd);
    if (there != NULL && m6ike_addr6_equal(&there->src, &ns)) {
      return reply_sa(x, bus, to, there, &m->hdr, 0);
    }
    if (sa == NULL) {
      return E_SRCH;
    }
    if (sa->state == M6IKE_SADB_SASTATE_LARVAL) {
      return E_INVAL;
    }
    rc = m6ike_ipsec_sa_update_addresses_at(x, p.spi, &p.dst, &ns, &nd);
    if (rc < 0) {
      return errno_of(rc);
    }
    sa = m6ike_ipsec_sa_find_(x, p.spi, &nd);
    if (sa == NULL) {
      return E_SRCH;
    }
    return reply_sa(x, bus, to, sa, &m->hdr, 0);
  }
  if (m->hdr.type == M6IKE_SADB_ADD) {
    if (sa) {
      return E_EXIST;
    }
    rc = m6ike_ipsec_sa_insert_(x, &p, 0, replay, now, &sa);
    if (rc < 0) {
      return errno_of(rc);
    }
  } else {
    if (sa == NULL) {
      return E_SRCH;
    }
    if (sa->state == M6IKE_SADB_SASTATE_LARVAL) {
      if (!m6ike_pfkey_has(m, M6IKE_SADB_X_EXT_SA2)) {
        p.mode = sa->mode;
        p.reqid = sa->reqid;
        if (p.mode == M6IKE_IPSEC_MODE_TUNNEL) {
          p.has_sel = 0;
        }
      }
      rc = m6ike_ipsec_sa_mature_(x, sa, &p, replay, now);
      if (rc < 0) {
        return errno_of(rc);
      }
      sa = m6ike_ipsec_sa_find_(x, p.spi, &p.dst);
    } else {
      /* a MATURE/DYING SA: new lifetimes only */
      if (m6ike_pfkey_has(m, M6IKE_SADB_EXT_LIFETIME_HARD)) {
        sa->hard = p.hard;
      }
      if (m6ike_pfkey_has(m, M6IKE_SADB_EXT_LIFETIME_SOFT)) {
        sa->soft = p.soft;
      }
    }
  }
  return reply_sa(x, bus, to, sa, &m->hdr, 0);
}

static int do_delete_get(m6ike_ipsec *x, m6ike_pfkey_bus *bus,
                         m6ike_pfkey_ep to, const m6ike_pfkey_msg *m) {
  ipsec_sa *sa;
  int rc = find_sa_of(x, m, &sa);
  if (rc < 0) {
    return errno_of(rc);
  }
  if (m->hdr.type == M6IKE_SADB_GET) {
    return reply_sa(x, bus, to, sa, &m->hdr, 1);
  }
  rc = reply_sa(x, bus, to, sa, &m->hdr, 0);
  m6ike_ipsec_sa_remove_(x, sa);
  return rc;
}

static int do_dump(m6ike_ipsec *x, m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                   const m6ike_pfkey_msg *m) {
  if (m->hdr.satype != M6IKE_SADB_SATYPE_UNSPEC &&
      m->hdr.satype != M6IKE_SADB_SATYPE_ESP) {
    return E_NOENT;
  }
  if (x->n_sa == 0) {
    return E_NOENT;
  }
  /* Linux numbers the dump messages down to 0 in sadb_msg_seq. */
  uint32_t left = (uint32_t)x->n_sa;
  for (size_t i = 0; i < x->tab_size; i++) {
    for (const ipsec_sa *s = x->spi_tab[i]; s; s = s->next_spi) {
      uint8_t buf[MSG_CAP];
      int n = sa_msg(x, s, M6IKE_SADB_DUMP, --left, m->hdr.pid, 1, buf,
                     sizeof(buf));
      if (n < 0 || m6ike_pfkey_bus_reply(bus, to, buf, (size_t)n) < 0) {
        return E_NOMEM;
      }
    }
  }
  return 0;
}

/* ---- SPD messages ---------------------------------------------------- */

static int policy_of(const m6ike_pfkey_msg *m, m6ike_ipsec_policy *p) {
  memset(p, 0, sizeof(*p));
  m6ike_pfkey_address as, ad;
  m6ike_addr6 s, d;
  int rc = addr_of(m, M6IKE_SADB_EXT_ADDRESS_SRC, &as, &s);
  if (rc == 0) {
    rc = addr_of(m, M6IKE_SADB_EXT_ADDRESS_DST, &ad, &d);
  }
  if (rc < 0) {
    return rc;
  }
  sel_from(&p->sel, &as, &s, &ad, &d);
  m6ike_pfkey_policy pol;
  if (m6ike_pfkey_get_policy(m, &pol) != 0) {
    return M6IKE_ERR_PFKEY_MISSING_EXT;
  }
  p->dir = pol.dir;
  p->priority = pol.priority;
  if (m6ike_ipsec_pol_index_(pol.dir) < 0) {
    return M6IKE_ERR_IPSEC_SELECTOR;
  }
  switch (pol.type) {
  case M6IKE_IPSEC_POLICY_DISCARD:
    p->action = M6IKE_IPSEC_ACTION_DISCARD;
    return 0;
  case M6IKE_IPSEC_POLICY_NONE:
  case M6IKE_IPSEC_POLICY_BYPASS:
    p->action = M6IKE_IPSEC_ACTION_BYPASS;
    return 0;
  case M6IKE_IPSEC_POLICY_IPSEC:
    break;
  default:
    return M6IKE_ERR_IPSEC_ACTION;
  }
  p->action = M6IKE_IPSEC_ACTION_PROTECT;
  if (pol.n_requests != 1) {
    /* none is meaningless; bundles (AH+ESP, IPComp) are not modelled */
    return pol.n_requests == 0 ? M6IKE_ERR_INVALID_ARGUMENT
                               : M6IKE_ERR_IPSEC_ACTION;
  }
  m6ike_pfkey_ipsecrequest r;
  m6ike_pfkey_policy_request(&pol, 0, &r);
  if (r.proto != M6IKE_IPPROTO_ESP) {
    return M6IKE_ERR_IPSEC_SATYPE;
  }
  p->mode = r.mode;
  p->level = r.level;
  p->reqid = r.reqid;
  if (r.has_addrs) {
    if (sockaddr_to6(&r.src, &p->tun_src) < 0 ||
        sockaddr_to6(&r.dst, &p->tun_dst) < 0) {
      return M6IKE_ERR_IPSEC_NOT_IPV6;
    }
  }
  return 0;
}

static int pol_msg(const m6ike_ipsec_policy *p, uint8_t type, uint32_t seq,
                   uint32_t pid, uint8_t *buf, size_t cap) {
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, cap, type, M6IKE_SADB_SATYPE_UNSPEC, seq,
                            pid);
  add_sel_addrs(&b, &p->sel);
  uint16_t t = p->action == M6IKE_IPSEC_ACTION_PROTECT
                   ? M6IKE_IPSEC_POLICY_IPSEC
                   : p->action == M6IKE_IPSEC_ACTION_DISCARD
                         ? M6IKE_IPSEC_POLICY_DISCARD
                         : M6IKE_IPSEC_POLICY_NONE;
  m6ike_pfkey_add_policy(&b, t, p->dir, p->id, p->priority);
  if (p->action == M6IKE_IPSEC_ACTION_PROTECT) {
    int tun = p->mode == M6IKE_IPSEC_MODE_TUNNEL;
    m6ike_pfkey_sockaddr s = m6ike_pfkey_sockaddr6(&p->tun_src, 0);
    m6ike_pfkey_sockaddr d = m6ike_pfkey_sockaddr6(&p->tun_dst, 0);
    m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, p->mode, p->level,
                                 p->reqid, tun ? &s : NULL, tun ? &d : NULL);
  }
  return m6ike_pfkey_builder_finish(&b);
}

static int reply_pol(m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                     const m6ike_ipsec_policy *p, const m6ike_pfkey_hdr *h,
                     uint8_t type, uint32_t seq) {
  uint8_t buf[MSG_CAP];
  int n = pol_msg(p, type, seq, h->pid, buf, sizeof(buf));
  if (n < 0) {
    return E_INVAL;
  }
  return m6ike_pfkey_bus_reply(bus, to, buf, (size_t)n) < 0 ? E_NOMEM : 0;
}

static int do_spd(m6ike_ipsec *x, m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                  const m6ike_pfkey_msg *m) {
  m6ike_ipsec_policy p;
  int rc;
  switch (m->hdr.type) {
  case M6IKE_SADB_X_SPDADD:
  case M6IKE_SADB_X_SPDUPDATE: {
    rc = policy_of(m, &p);
    if (rc == 0) {
      rc = m->hdr.type == M6IKE_SADB_X_SPDADD
               ? m6ike_ipsec_policy_add(x, &p, &p.id)
               : m6ike_ipsec_policy_update(x, &p, &p.id);
    }
    if (rc < 0) {
      return errno_of(rc);
    }
    m6ike_ipsec_policy_get(x, p.id, &p);
    return reply_pol(bus, to, &p, &m->hdr, m->hdr.type, m->hdr.seq);
  }
  case M6IKE_SADB_X_SPDDELETE: {
    rc = policy_of(m, &p);
    if (rc < 0 && rc != M6IKE_ERR_IPSEC_ACTION &&
        rc != M6IKE_ERR_INVALID_ARGUMENT) {
      return errno_of(rc);
    }
    m6ike_ipsec_policy found;
    if (m6ike_ipsec_policy_find(x, p.dir, &p.sel, &found) != 0) {
      return E_NOENT;
    }
    m6ike_ipsec_policy_delete(x, found.id);
    return reply_pol(bus, to, &found, &m->hdr, m->hdr.type, m->hdr.seq);
  }
  case M6IKE_SADB_X_SPDDELETE2:
  case M6IKE_SADB_X_SPDGET: {
    m6ike_pfkey_policy pol;
    if (m6ike_pfkey_get_policy(m, &pol) != 0) {
      return E_INVAL;
    }
    if (m6ike_ipsec_policy_get(x, pol.id, &p) != 0) {
      return E_NOENT;
    }
    if (m->hdr.type == M6IKE_SADB_X_SPDDELETE2) {
      m6ike_ipsec_policy_delete(x, pol.id);
    }
    return reply_pol(bus, to, &p, &m->hdr, m->hdr.type, m->hdr.seq);
  }
  case M6IKE_SADB_X_SPDDUMP: {
    size_t n = m6ike_ipsec_policy_count(x);
    if (n == 0) {
      return E_NOENT;
    }
    uint32_t left = (uint32_t)n;
    for (int d = 0; d < 3; d++) {
      for (size_t i = 0; i < x->pols[d].n; i++) {
        rc = reply_pol(bus, to, &x->pols[d].v[i].p, &m->hdr,
                       M6IKE_SADB_X_SPDDUMP, --left);
        if (rc != 0) {
          return rc;
        }
      }
    }
    return 0;
  }
  case M6IKE_SADB_X_SPDFLUSH:
    m6ike_ipsec_policy_flush(x);
    return reply_hdr(bus, to, &m->hdr);
  default:
    return E_OPNOTSUPP;
  }
}

static int handle(m6ike_pfkey_bus *bus, m6ike_pfkey_ep from,
                  const m6ike_pfkey_msg *msg, const uint8_t *raw, size_t len,
                  m6ike_tstamp now, void *user_data) {
  (void)raw;
  (void)len;
  m6ike_ipsec *x = user_data;
  if (m6ike_pfkey_check_required(msg) < 0) {
    return E_INVAL;
  }
  switch (msg->hdr.type) {
  case M6IKE_SADB_GETSPI:
    return do_getspi(x, bus, from, msg, now);
  case M6IKE_SADB_UPDATE:
  case M6IKE_SADB_ADD:
    return do_add_update(x, bus, from, msg, now);
  case M6IKE_SADB_DELETE:
  case M6IKE_SADB_GET:
    return do_delete_get(x, bus, from, msg);
  case M6IKE_SADB_FLUSH:
    if (msg->hdr.satype != M6IKE_SADB_SATYPE_UNSPEC &&
        msg->hdr.satype != M6IKE_SADB_SATYPE_ESP) {
      return reply_hdr(bus, from, &msg->hdr); /* nothing of that type */
    }
    m6ike_ipsec_sa_flush(x);
    return reply_hdr(bus, from, &msg->hdr);
  case M6IKE_SADB_DUMP:
    return do_dump(x, bus, from, msg);
  default:
    return do_spd(x, bus, from, msg);
  }
}

/* ---- X_MIGRATE (seed 003; KMADDRESS is the IKE daemon's business) ---- */

static int migrate(const m6ike_pfkey_msg *m, m6ike_tstamp now,
                   void *user_data) {
  (void)now;
  m6ike_ipsec *x = user_data;
  m6ike_pfkey_address as, ad;
  m6ike_addr6 s, d;
  if (addr_of(m, M6IKE_SADB_EXT_ADDRESS_SRC, &as, &s) < 0 ||
      addr_of(m, M6IKE_SADB_EXT_ADDRESS_DST, &ad, &d) < 0) {
    return E_INVAL;
  }
  m6ike_ipsec_selector sel;
  sel_from(&sel, &as, &s, &ad, &d);
  m6ike_pfkey_policy pol;
  if (m6ike_pfkey_get_policy(m, &pol) != 0 || pol.n_requests % 2 != 0) {
    return E_INVAL;
  }
  int d_idx = m6ike_ipsec_pol_index_(pol.dir);
  if (d_idx < 0) {
    return E_INVAL;
  }
  ipsec_pol *e = NULL;
  for (size_t i = 0; i < x->pols[d_idx].n; i++) {
    if (m6ike_ipsec_selector_equal_(&x->pols[d_idx].v[i].p.sel, &sel)) {
      e = &x->pols[d_idx].v[i];
      break;
    }
  }
  if (e == NULL) {
    return E_NOENT; /* as Linux's xfrm_migrate: no policy, nothing moves */
  }
  /* Check every pair first so a bad message changes nothing. */
  for (size_t i = 0; i < pol.n_requests; i += 2) {
    m6ike_pfkey_ipsecrequest o, n;
    m6ike_pfkey_policy_request(&pol, i, &o);
    m6ike_pfkey_policy_request(&pol, i + 1, &n);
    m6ike_addr6 a;
    if (sockaddr_to6(&o.src, &a) < 0 || sockaddr_to6(&o.dst, &a) < 0 ||
        sockaddr_to6(&n.src, &a) < 0 || sockaddr_to6(&n.dst, &a) < 0) {
      return E_INVAL;
    }
  }
  for (size_t i = 0; i < pol.n_requests; i += 2) {
    m6ike_pfkey_ipsecrequest o, n;
    m6ike_pfkey_policy_request(&pol, i, &o);
    m6ike_pfkey_policy_request(&pol, i + 1, &n);
    m6ike_addr6 os, od, ns, nd;
    sockaddr_to6(&o.src, &os);
    sockaddr_to6(&o.dst, &od);
    sockaddr_to6(&n.src, &ns);
    sockaddr_to6(&n.dst, &nd);
    m6ike_ipsec_policy *p = &e->p;
    if (p->action == M6IKE_IPSEC_ACTION_PROTECT && p->mode == o.mode &&
        o.mode == M6IKE_IPSEC_MODE_TUNNEL &&
        (o.reqid == 0 || p->reqid == 0 || o.reqid == p->reqid) &&
        m6ike_addr6_equal(&p->tun_src, &os) &&
        m6ike_addr6_equal(&p->tun_dst, &od)) {
      p->tun_src = ns;
      p->tun_dst = nd;
      e->acq_until = M6IKE_TSTAMP_UNSET;
    }
    /* the SAs between the old endpoints */
    for (size_t b = 0; b < x->tab_size; b++) {
      for (ipsec_sa *sa = x->spi_tab[b]; sa; sa = sa->next_spi) {
        if (sa->mode == o.mode && (o.reqid == 0 || sa->reqid == o.reqid) &&
            m6ike_addr6_equal(&sa->src, &os) &&
            m6ike_addr6_equal(&sa->dst, &od)) {
          if (m6ike_ipsec_sa_move_(x, sa, &ns, &nd) < 0) {
            return E_EXIST;
          }
        }
      }
    }
  }
  return 0;
}

void m6ike_ipsec_kernel_cbs(m6ike_ipsec *x, m6ike_pfkey_kernel_cbs *cbs) {
  if (cbs == NULL) {
    return;
  }
  cbs->user_data = x;
  cbs->handle = handle;
  cbs->migrate = migrate;
}

int m6ike_ipsec_policy_pfkey(const m6ike_ipsec_policy *p, uint8_t type,
                             uint32_t seq, uint32_t pid, uint8_t *buf,
                             size_t cap) {
  if (p == NULL || buf == NULL ||
      (type != M6IKE_SADB_X_SPDADD && type != M6IKE_SADB_X_SPDUPDATE &&
       type != M6IKE_SADB_X_SPDDELETE)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  int n = pol_msg(p, type, seq, pid, buf, cap);
  return n < 0 ? M6IKE_ERR_NOBUF : n;
}
