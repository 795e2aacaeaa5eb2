/* agent: the composite MIPv6 node (m6ike/agent.h): creation and wiring,
 * the data path shared by both roles, the key manager's callbacks, and
 * the helpers agent_mn.c and agent_ha.c use. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "m6ike/proposal.h"
#include "mem.h"

/* ---- errors, schemes ----------------------------------------------------- */

const char *m6ike_agent_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_AGENT_ROLE:
    return "agent: config.role is not MN or HA, or the call is not for "
           "this role";
  case M6IKE_ERR_AGENT_SCHEME:
    return "agent: unknown scheme (msrd, renegotiate, migrate, "
           "migrate-kmaddress, mobike, static)";
  case M6IKE_ERR_AGENT_ADDRESS:
    return "agent: config.ha, hoa or home_prefix unusable (unspecified, "
           "multicast, HoA off the home prefix, bad prefix length)";
  case M6IKE_ERR_AGENT_PROPOSAL:
    return "agent: config.ike_proposal or esp_proposal does not parse";
  case M6IKE_ERR_AGENT_IDENTITY:
    return "agent: config.local_id or remote_id empty or too long";
  case M6IKE_ERR_AGENT_PSK:
    return "agent: config.psk missing or longer than 128 octets";
  case M6IKE_ERR_AGENT_CONFIG:
    return "agent: a config field is out of range";
  case M6IKE_ERR_AGENT_MALFORMED:
    return "agent: packet not IPv6, truncated or its headers unparsable";
  case M6IKE_ERR_AGENT_NOT_HANDLED:
    return "agent: packet neither Mobility Header nor ESP, or a message "
           "this node ignores";
  case M6IKE_ERR_AGENT_NO_BINDING:
    return "agent: no binding for this home address (or the MN is at home)";
  case M6IKE_ERR_AGENT_SEND:
    return "agent: the host's send callback failed";
  case M6IKE_ERR_AGENT_STATE:
    return "agent: not possible in the current state";
  default:
    return NULL;
  }
}

static const char *const scheme_names[] = {
    NULL, "msrd", "renegotiate", "migrate", "migrate-kmaddress", "mobike",
    "static"};

int m6ike_scheme_parse(const char *name, m6ike_scheme *out) {
  if (name == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (int i = 1; i <= (int)M6IKE_SCHEME_STATIC; i++) {
    if (strcmp(name, scheme_names[i]) == 0) {
      *out = (m6ike_scheme)i;
      return 0;
    }
  }
  return M6IKE_ERR_AGENT_SCHEME;
}

const char *m6ike_scheme_name(m6ike_scheme s) {
  if ((int)s < 1 || (int)s > (int)M6IKE_SCHEME_STATIC) {
    return "?";
  }
  return scheme_names[s];
}

void m6ike_agent_config_default(m6ike_agent_config *cfg,
                                m6ike_agent_role role) {
  if (cfg == NULL) {
    return;
  }
  memset(cfg, 0, sizeof(*cfg));
  cfg->role = role;
  cfg->scheme = M6IKE_SCHEME_MSRD;
  cfg->lifetime = role == M6IKE_AGENT_MN ? 105 : 0;
  cfg->home_plen = 64;
  cfg->ike_proposal = "aes128-sha256-x25519";
  cfg->esp_proposal = "aes128gcm16";
  cfg->keylog_esp = 1;
}

/* ---- the counting allocator ------------------------------------------------ */

/* Each block carries its size in a header so that frees can be counted. */
typedef union {
  size_t n;
  max_align_t align;
} mem_hdr;

static void *am_malloc(size_t n, void *ud) {
  m6ike_agent *a = ud;
  if (n > SIZE_MAX - sizeof(mem_hdr)) {
    return NULL;
  }
  mem_hdr *h = m6ike_malloc(a->base_mem, n + sizeof(mem_hdr));
  if (h == NULL) {
    return NULL;
  }
  h->n = n;
  a->mem_bytes += n;
  return h + 1;
}

static void am_free(void *p, void *ud) {
  m6ike_agent *a = ud;
  if (p == NULL) {
    return;
  }
  mem_hdr *h = (mem_hdr *)p - 1;
  a->mem_bytes -= h->n;
  m6ike_free(a->base_mem, h);
}

static void *am_calloc(size_t nmemb, size_t size, void *ud) {
  if (size != 0 && nmemb > SIZE_MAX / size) {
    return NULL;
  }
  void *p = am_malloc(nmemb * size, ud);
  if (p != NULL) {
    memset(p, 0, nmemb * size);
  }
  return p;
}

static void *am_realloc(void *p, size_t n, void *ud) {
  m6ike_agent *a = ud;
  if (p == NULL) {
    return am_malloc(n, ud);
  }
  if (n > SIZE_MAX - sizeof(mem_hdr)) {
    return NULL;
  }
  mem_hdr *h = (mem_hdr *)p - 1;
  size_t old = h->n;
  mem_hdr *nh = m6ike_realloc(a->base_mem, h, n + sizeof(mem_hdr));
  if (nh == NULL) {
    return NULL;
  }
  nh->n = n;
  a->mem_bytes = a->mem_bytes - old + n;
  return nh + 1;
}

size_t m6ike_agent_memory_usage(const m6ike_agent *a) {
  return a ? a->mem_bytes + sizeof(*a) : 0;
}

/* ---- small helpers ----------------------------------------------------------- */

void agent_event(m6ike_agent *a, m6ike_agent_event_kind kind, uint32_t mpi,
                 const m6ike_addr6 *hoa, const m6ike_addr6 *coa, uint32_t spi,
                 uint16_t seq, int status) {
  if (a->cbs.event == NULL) {
    return;
  }
  m6ike_agent_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.kind = kind;
  ev.time = a->now;
  ev.mpi = mpi;
  if (hoa) {
    ev.hoa = *hoa;
  }
  if (coa) {
    ev.coa = *coa;
  }
  ev.spi = spi;
  ev.seq = seq;
  ev.status = status;
  a->cbs.event(&ev, a->cbs.user_data);
}

void agent_logf(m6ike_agent *a, int level, const char *fmt, ...) {
  if (a->cbs.log == NULL) {
    return;
  }
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  a->cbs.log(level, buf, a->cbs.user_data);
}

int agent_send_ip6(m6ike_agent *a, const uint8_t *pkt, size_t len) {
  if (a->cbs.send_ip6 == NULL ||
      a->cbs.send_ip6(pkt, len, a->cbs.user_data) != 0) {
    a->st.drop_send++;
    return M6IKE_ERR_AGENT_SEND;
  }
  return 0;
}

void agent_drop(m6ike_agent *a, int reason, const m6ike_addr6 *hoa) {
  if (reason == M6IKE_ERR_AGENT_MALFORMED ||
      (reason <= -200 && reason > -400)) {
    a->st.drop_malformed++;
  } else if (reason == M6IKE_ERR_AGENT_NOT_HANDLED) {
    a->st.drop_not_handled++;
  } else if (reason == M6IKE_ERR_IPSEC_ACQUIRE ||
             reason == M6IKE_ERR_IPSEC_NO_SA) {
    a->st.drop_no_sa++;
  } else if (reason <= -700 && reason > -800) {
    a->st.drop_esp++;
  } else if (reason == M6IKE_ERR_AGENT_NO_BINDING) {
    a->st.drop_no_binding++;
  }
  agent_event(a, M6IKE_AGENT_EV_DROP, 0, hoa, NULL, 0, 0, reason);
}

int agent_ike_flush(m6ike_agent *a, m6ike_tstamp now) {
  uint8_t buf[AGENT_IKE_BUF];
  m6ike_ikev2_path path;
  int rc = 0;
  if (a->ike == NULL) {
    return 0;
  }
  for (;;) {
    int n = m6ike_ikev2_write_pkt(a->ike, &path, buf, sizeof(buf), now);
    if (n <= 0) {
      break;
    }
    if (a->cbs.send_udp == NULL ||
        a->cbs.send_udp(&path, buf, (size_t)n, a->cbs.user_data) != 0) {
      a->st.drop_send++;
      rc = M6IKE_ERR_AGENT_SEND;
    }
  }
  return rc;
}

void agent_keylog_sa(m6ike_agent *a, uint32_t spi, const m6ike_addr6 *dst) {
  char line[512];
  if (a->cbs.keylog == NULL || !a->cfg.keylog_esp) {
    return;
  }
  int n = m6ike_ipsec_sa_format_wireshark(a->ipsec, spi, dst, line,
                                          sizeof(line));
  if (n <= 0 || (size_t)n >= sizeof(line)) {
    return;
  }
  if (line[n - 1] == '\n') {
    line[n - 1] = '\0';
  }
  a->cbs.keylog(1, line, a->cbs.user_data);
}

int agent_sa_add(m6ike_agent *a, uint32_t spi, const m6ike_addr6 *src,
                 const m6ike_addr6 *dst, uint8_t mode, uint32_t reqid,
                 uint16_t encr, uint16_t integ, const uint8_t *ek, size_t eklen,
                 const uint8_t *ik, size_t iklen, int esn, int in,
                 const m6ike_addr6 *hoa) {
  m6ike_ipsec_sa_params p;
  memset(&p, 0, sizeof(p));
  if (in && hoa != NULL) {
    /* what may come out of an inbound SA: the Mobility Header between
     * this HoA and the HA (transport), or the HoA's own traffic (tunnel):
     * an MN cannot use its SAs to speak for another MN's HoA */
    int ha = a->cfg.role == M6IKE_AGENT_HA;
    m6ike_ipsec_selector_any(&p.sel);
    p.has_sel = 1;
    if (mode == M6IKE_IPSEC_MODE_TRANSPORT) {
      m6ike_ipsec_selector_host(&p.sel, ha ? hoa : &a->cfg.ha,
                                ha ? &a->cfg.ha : hoa, M6IKE_IPPROTO_MH);
    } else if (ha) {
      p.sel.src = *hoa;
      p.sel.src_plen = 128;
    } else {
      p.sel.dst = *hoa;
      p.sel.dst_plen = 128;
    }
  }
  p.spi = spi;
  p.src = *src;
  p.dst = *dst;
  p.mode = mode;
  p.reqid = reqid;
  p.enc_alg = encr;
  p.auth_alg = integ;
  p.enc_key = ek;
  p.enc_key_len = eklen;
  p.auth_key = ik;
  p.auth_key_len = iklen;
  p.esn = esn;
  int rc = m6ike_ipsec_sa_add(a->ipsec, &p, a->now);
  if (rc < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "installing SA %08x: %s",
               (unsigned)spi, m6ike_strerror(rc));
    return rc;
  }
  a->st.sa_installed++;
  agent_keylog_sa(a, spi, dst);
  agent_event(a, M6IKE_AGENT_EV_SA_INSTALLED, 0, NULL, in ? src : dst, spi, 0,
              0);
  return 0;
}

int agent_sa_move(m6ike_agent *a, uint32_t spi, const m6ike_addr6 *old_dst,
                  const m6ike_addr6 *src, const m6ike_addr6 *dst,
                  const m6ike_addr6 *hoa) {
  m6ike_ipsec_sa_info info;
  int rc = 0;
  if (m6ike_ipsec_sa_get(a->ipsec, spi, dst, &info) == 0 &&
      m6ike_addr6_equal(&info.src, src)) {
    /* already there: moved by X_MIGRATE inside the ipsec unit */
  } else {
    rc = m6ike_ipsec_sa_update_addresses_at(a->ipsec, spi, old_dst, src, dst);
    if (rc < 0) {
      return rc;
    }
  }
  a->st.sa_updated++;
  agent_keylog_sa(a, spi, dst);
  agent_event(a, M6IKE_AGENT_EV_SA_UPDATED, 0, hoa, NULL, spi, 0, 0);
  return 0;
}

/* The mobility side's policy management: X_SPDADD / X_SPDUPDATE on its
 * own PF_KEY endpoint (pfkey_bus.h lets the MOBILITY role manage policies,
 * never keys), handled by the ipsec unit as the kernel; *id (may be NULL)
 * = the policy id from the kernel's reply.  Returns 0, M6IKE_ERR_NOMEM
 * (the kernel's ENOMEM/ENOBUFS), or the bus's refusal code. */
int agent_spd(m6ike_agent *a, uint8_t type, const m6ike_ipsec_policy *p,
              uint32_t *id) {
  uint8_t msg[512];
  int n = m6ike_ipsec_policy_pfkey(p, type, 0, 0, msg, sizeof(msg));
  if (n < 0) {
    return n;
  }
  int rc = m6ike_pfkey_bus_send(a->bus, a->ep_mob, msg, (size_t)n, a->now);
  uint8_t buf[512];
  uint32_t got = 0;
  int err = 0;
  while (m6ike_pfkey_bus_pending(a->bus, a->ep_mob) > 0) {
    int m = m6ike_pfkey_bus_recv(a->bus, a->ep_mob, buf, sizeof(buf));
    if (m <= 0) {
      break;
    }
    if (m == 16 && buf[2] != 0) {
      err = buf[2]; /* an error reply: errno */
      continue;
    }
    m6ike_pfkey_msg r;
    m6ike_pfkey_policy pol;
    if (m6ike_pfkey_decode(&r, buf, (size_t)m, M6IKE_PFKEY_DEC_LENIENT) > 0 &&
        r.hdr.type == type && m6ike_pfkey_get_policy(&r, &pol) == 0) {
      got = pol.id;
    }
  }
  if (rc < 0) {
    if (rc == M6IKE_ERR_NOMEM || err == 12 || err == M6IKE_PFKEY_ENOBUFS) {
      return M6IKE_ERR_NOMEM;
    }
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "X_SPD message refused: %s (errno %d)",
               m6ike_strerror(rc), err);
    return rc;
  }
  if (id) {
    *id = got;
  }
  return 0;
}

int agent_policy(m6ike_agent *a, uint8_t dir, const m6ike_addr6 *src,
                 uint8_t splen, const m6ike_addr6 *dst, uint8_t dplen,
                 uint8_t proto, int mh_type, uint8_t mode, uint32_t reqid,
                 const m6ike_addr6 *tsrc, const m6ike_addr6 *tdst,
                 uint32_t prio, uint32_t *id) {
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
  return agent_spd(a, M6IKE_SADB_X_SPDUPDATE, &p, id);
}

/* Sends on the mobility endpoint and discards whatever comes back to it
 * (error replies); the key manager then reads its own endpoint. */
int agent_pfkey_send(m6ike_agent *a, const uint8_t *msg, size_t len) {
  uint8_t buf[512];
  int rc = m6ike_pfkey_bus_send(a->bus, a->ep_mob, msg, len, a->now);
  while (m6ike_pfkey_bus_pending(a->bus, a->ep_mob) > 0) {
    if (m6ike_pfkey_bus_recv(a->bus, a->ep_mob, buf, sizeof(buf)) <= 0) {
      break;
    }
  }
  if (rc < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "PF_KEY message refused: %s",
               m6ike_strerror(rc));
    return rc;
  }
  if (a->ike != NULL) {
    int n = m6ike_ikev2_process_pfkey(a->ike, a->now);
    if (n < 0) {
      agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "key manager: %s",
                 m6ike_strerror(n));
    }
  }
  return 0;
}

/* SADB_ACQUIRE for the tunnel template (src -> dst): with mpi != 0 from the
 * mobility side with the Reference extension (the paper), else as the
 * kernel (m6ike_pfkey_bus_acquire) without it, as a stock system does. */
int agent_send_acquire(m6ike_agent *a, const m6ike_addr6 *src,
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
                            M6IKE_SADB_SATYPE_ESP, ++a->pfkey_seq, 0);
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
  if (mpi != 0) {
    /* the paper's mobility side, with the MPI */
    return agent_pfkey_send(a, buf, (size_t)len);
  }
  /* a stock kernel's ACQUIRE for the tunnel policy's template (it knows
   * no MPI) */
  int rc = m6ike_pfkey_bus_acquire(a->bus, buf, (size_t)len, a->now);
  if (rc < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "kernel ACQUIRE refused: %s",
               m6ike_strerror(rc));
    return rc;
  }
  if (a->ike != NULL) {
    int n = m6ike_ikev2_process_pfkey(a->ike, a->now);
    if (n < 0) {
      agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "key manager: %s",
                 m6ike_strerror(n));
    }
  }
  return 0;
}

/* SADB_X_MIGRATE for the policy (ssel/splen -> dsel/dplen, dir): the tunnel
 * endpoints (old_local, old_remote) -> (new_local, new_remote) in both
 * directions, and KMADDRESS (new_local, new_remote) if asked. */
int agent_send_migrate(m6ike_agent *a, uint8_t dir,
                       const m6ike_addr6 *ssel, uint8_t splen,
                       const m6ike_addr6 *dsel, uint8_t dplen, uint32_t reqid,
                       const m6ike_addr6 *old_local,
                       const m6ike_addr6 *old_remote,
                       const m6ike_addr6 *new_local,
                       const m6ike_addr6 *new_remote, int kmaddress) {
  uint8_t buf[1024];
  m6ike_pfkey_builder b;
  m6ike_pfkey_sockaddr s = m6ike_pfkey_sockaddr6(ssel, 0);
  m6ike_pfkey_sockaddr d = m6ike_pfkey_sockaddr6(dsel, 0);
  m6ike_pfkey_sockaddr ol = m6ike_pfkey_sockaddr6(old_local, 0);
  m6ike_pfkey_sockaddr orr = m6ike_pfkey_sockaddr6(old_remote, 0);
  m6ike_pfkey_sockaddr nl = m6ike_pfkey_sockaddr6(new_local, 0);
  m6ike_pfkey_sockaddr nr = m6ike_pfkey_sockaddr6(new_remote, 0);
  m6ike_pfkey_builder_begin(&b, buf, sizeof(buf), M6IKE_SADB_X_MIGRATE, 0,
                            ++a->pfkey_seq, 0);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_SRC, 255, splen, &s);
  m6ike_pfkey_add_address(&b, M6IKE_SADB_EXT_ADDRESS_DST, 255, dplen, &d);
  m6ike_pfkey_add_policy(&b, M6IKE_IPSEC_POLICY_IPSEC, dir, 0, 0);
  /* outbound SAs: local -> remote; inbound SAs: remote -> local */
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &ol, &orr);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &nl, &nr);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &orr, &ol);
  m6ike_pfkey_add_ipsecrequest(&b, M6IKE_IPPROTO_ESP, M6IKE_IPSEC_MODE_TUNNEL,
                               M6IKE_IPSEC_LEVEL_REQUIRE, reqid, &nr, &nl);
  if (kmaddress) {
    m6ike_pfkey_sockaddr kl = m6ike_pfkey_sockaddr6(new_local, 500);
    m6ike_pfkey_sockaddr kr = m6ike_pfkey_sockaddr6(new_remote, 500);
    m6ike_pfkey_add_kmaddress(&b, &kl, &kr);
  }
  int len = m6ike_pfkey_builder_finish(&b);
  if (len < 0) {
    return len;
  }
  return agent_pfkey_send(a, buf, (size_t)len);
}

/* The static scheme's keys (agent.h): prf+(PSK, "mip6ike static keys" |
 * HoA) -> 4 SPIs, then (encryption key, integrity key) for the transport
 * SA MN->HA, HA->MN, the tunnel SA MN->HA, HA->MN.  keys gets 4 * (ek +
 * ik) octets (at most 4 * (36 + 64)). */
int agent_static_keys_(const m6ike_crypto *crypto,
                       const m6ike_ikev2_algs *alg, const uint8_t *psk,
                       size_t psk_len, const m6ike_addr6 *hoa,
                       uint32_t spi[4], uint8_t *keys, size_t *ek_len,
                       size_t *ik_len) {
  static const char label[] = "mip6ike static keys";
  uint8_t seed[sizeof(label) - 1 + 16];
  uint8_t out[16 + 4 * (36 + 64)];
  int ek = m6ike_crypto_encr_key_len(alg->encr, alg->encr_keylen);
  int ik = alg->integ ? m6ike_crypto_integ_key_len(alg->integ) : 0;
  if (ek < 0 || ik < 0 || ek > 36 || ik > 64) {
    return M6IKE_ERR_AGENT_PROPOSAL;
  }
  memcpy(seed, label, sizeof(label) - 1);
  memcpy(seed + sizeof(label) - 1, hoa->b, 16);
  size_t total = 16 + 4 * (size_t)(ek + ik);
  int rc = m6ike_prf_plus(crypto, M6IKE_PRF_HMAC_SHA2_256, psk, psk_len, seed,
                          sizeof(seed), out, total);
  if (rc < 0) {
    return rc;
  }
  for (int i = 0; i < 4; i++) {
    spi[i] = ((uint32_t)out[4 * i] << 24 | (uint32_t)out[4 * i + 1] << 16 |
              (uint32_t)out[4 * i + 2] << 8 | (uint32_t)out[4 * i + 3]) |
             0x100u;
  }
  memcpy(keys, out + 16, total - 16);
  *ek_len = (size_t)ek;
  *ik_len = (size_t)ik;
  memset(out, 0, sizeof(out));
  return 0;
}

int agent_static_keys(m6ike_agent *a, const m6ike_addr6 *hoa,
                      uint32_t spi[4], uint8_t *keys, size_t *ek_len,
                      size_t *ik_len) {
  return agent_static_keys_(a->crypto, &a->esp_algs[0], a->psk,
                            a->cfg.psk_len, hoa, spi, keys, ek_len, ik_len);
}

/* Effective addresses (HAO / RH2 applied), the upper protocol and, for
 * ESP, the SPI.  0 or M6IKE_ERR_AGENT_MALFORMED. */
int agent_ip6_effective(const uint8_t *pkt, size_t len, m6ike_addr6 *src,
                        m6ike_addr6 *dst, uint8_t *proto, uint32_t *spi) {
  m6ike_ip6_info info;
  if (m6ike_ip6_walk(&info, pkt, len) != 0 || info.is_fragment) {
    return M6IKE_ERR_AGENT_MALFORMED;
  }
  *src = info.has_hao ? info.hao : info.src;
  *dst = info.has_rh2 && info.rh2_segments_left == 1 ? info.rh2_addr
                                                      : info.dst;
  *proto = info.upper_proto;
  if (spi != NULL) {
    *spi = 0;
    if (info.upper_proto == M6IKE_IPPROTO_ESP) {
      if (info.upper_len < 8) {
        return M6IKE_ERR_AGENT_MALFORMED;
      }
      const uint8_t *p = pkt + info.upper_off;
      *spi = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
             (uint32_t)p[2] << 8 | (uint32_t)p[3];
    }
  }
  return 0;
}

/* ---- the key manager's callbacks ------------------------------------------ */

static void cb_log(int level, uint32_t sa_id, const char *msg, void *ud) {
  m6ike_agent *a = ud;
  agent_logf(a, level, "ike[%u]: %s", (unsigned)sa_id, msg);
}

static void cb_ike_up(const m6ike_ikev2_ike_info *info, void *ud) {
  m6ike_agent *a = ud;
  if (a->cfg.role == M6IKE_AGENT_MN && info->initiator) {
    a->ike_sa = info->sa_id;
  }
}

static void cb_ike_down(uint32_t sa_id, int reason, void *ud) {
  m6ike_agent *a = ud;
  if (a->cfg.role == M6IKE_AGENT_MN && a->ike_sa == sa_id) {
    a->ike_sa = 0;
  }
  agent_logf(a, M6IKE_IKEV2_LOG_INFO, "IKE SA %u down: %s", (unsigned)sa_id,
             reason ? m6ike_strerror(reason) : "deleted");
}

static int cb_child_up(const m6ike_ikev2_child_info *c, void *ud) {
  m6ike_agent *a = ud;
  if (a->cfg.role == M6IKE_AGENT_HA) {
    return agent_ha_child_up(a, c);
  }
  int rc = agent_sa_add(a, c->spi_in, &c->remote, &c->local,
                        c->mode == M6IKE_IKEV2_MODE_TUNNEL
                            ? M6IKE_IPSEC_MODE_TUNNEL
                            : M6IKE_IPSEC_MODE_TRANSPORT,
                        c->reqid, c->alg.encr, c->alg.integ, c->enc_in,
                        c->enc_len, c->integ_in, c->integ_len, c->alg.esn, 1,
                        &a->cfg.hoa);
  if (rc == 0) {
    rc = agent_sa_add(a, c->spi_out, &c->local, &c->remote,
                      c->mode == M6IKE_IKEV2_MODE_TUNNEL
                          ? M6IKE_IPSEC_MODE_TUNNEL
                          : M6IKE_IPSEC_MODE_TRANSPORT,
                      c->reqid, c->alg.encr, c->alg.integ, c->enc_out,
                      c->enc_len, c->integ_out, c->integ_len, c->alg.esn, 0,
                      NULL);
    if (rc < 0) {
      m6ike_ipsec_sa_delete(a->ipsec, c->spi_in, &c->local);
    }
  }
  if (rc < 0) {
    return -1; /* the engine deletes the CHILD_SA */
  }
  agent_mn_child_up(a, c);
  return 0;
}

static void cb_child_down(const m6ike_ikev2_child_info *c, int reason,
                          void *ud) {
  m6ike_agent *a = ud;
  (void)reason;
  if (m6ike_ipsec_sa_delete(a->ipsec, c->spi_in, &c->local) == 0) {
    a->st.sa_deleted++;
  }
  if (a->cfg.role == M6IKE_AGENT_HA) {
    agent_ha_child_down(a, c);
    return;
  }
  if (m6ike_ipsec_sa_delete(a->ipsec, c->spi_out, &c->remote) == 0) {
    a->st.sa_deleted++;
  }
  agent_mn_child_down(a, c);
}

static int cb_child_update(const m6ike_ikev2_child_info *c, void *ud) {
  m6ike_agent *a = ud;
  if (a->cfg.role == M6IKE_AGENT_HA) {
    agent_ha_child_update(a, c);
  } else {
    agent_mn_child_update(a, c);
  }
  return 0;
}

static void cb_keylog(uint32_t sa_id, const char *line, void *ud) {
  m6ike_agent *a = ud;
  (void)sa_id;
  if (a->cbs.keylog != NULL) {
    a->cbs.keylog(0, line, a->cbs.user_data);
  }
}

/* ---- creation -------------------------------------------------------------- */

static int unicast(const m6ike_addr6 *x) {
  return !m6ike_addr6_is_unspecified(x) && x->b[0] != 0xff;
}

static int parse_ident(m6ike_ikev2_ident *id, const char *text) {
  m6ike_addr6 addr;
  memset(id, 0, sizeof(*id));
  if (text == NULL || strcmp(text, "%any") == 0) {
    return 0;
  }
  if (m6ike_addr6_parse(&addr, text) == 0) {
    id->type = M6IKE_IKEV2_ID_IPV6_ADDR;
    id->len = 16;
    memcpy(id->data, addr.b, 16);
    return 0;
  }
  if (strncmp(text, "fqdn:", 5) == 0) {
    text += 5;
    id->type = M6IKE_IKEV2_ID_FQDN;
  } else if (strncmp(text, "email:", 6) == 0) {
    text += 6;
    id->type = M6IKE_IKEV2_ID_RFC822_ADDR;
  } else if (text[0] == '@') {
    text++;
    id->type = M6IKE_IKEV2_ID_FQDN;
  } else {
    id->type = strchr(text, '@') ? M6IKE_IKEV2_ID_RFC822_ADDR
                                 : M6IKE_IKEV2_ID_FQDN;
  }
  size_t len = strlen(text);
  if (len == 0 || len > M6IKE_IKEV2_ID_MAX) {
    return M6IKE_ERR_AGENT_IDENTITY;
  }
  id->len = (uint8_t)len;
  memcpy(id->data, text, len);
  return 0;
}

static int parse_props(m6ike_ikev2_algs *out, size_t *n,
                       m6ike_proposal_kind kind, const char *text) {
  m6ike_proposal_list l;
  char err[128];
  if (text == NULL ||
      m6ike_proposal_parse(&l, kind, text, err, sizeof(err)) < 0 ||
      l.n == 0 || l.n > M6IKE_IKEV2_MAX_PROPOSALS) {
    return M6IKE_ERR_AGENT_PROPOSAL;
  }
  for (size_t i = 0; i < l.n; i++) {
    memset(&out[i], 0, sizeof(out[i]));
    out[i].encr = l.p[i].encr;
    out[i].encr_keylen = l.p[i].encr_bits;
    out[i].prf = l.p[i].prf;
    out[i].integ = l.p[i].integ;
    out[i].dh = l.p[i].dh;
    out[i].esn = l.p[i].esn;
  }
  *n = l.n;
  return 0;
}

int agent_config_check(const m6ike_agent_config *cfg, agent_parsed *a) {
  int rc;
  if (cfg->role != M6IKE_AGENT_MN && cfg->role != M6IKE_AGENT_HA) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  if ((int)cfg->scheme < 1 || (int)cfg->scheme > (int)M6IKE_SCHEME_STATIC) {
    return M6IKE_ERR_AGENT_SCHEME;
  }
  if (!unicast(&cfg->ha) || cfg->home_plen == 0 || cfg->home_plen > 128 ||
      !m6ike_addr6_prefix_match(&cfg->ha, &cfg->home_prefix, cfg->home_plen)) {
    return M6IKE_ERR_AGENT_ADDRESS;
  }
  if (cfg->role == M6IKE_AGENT_MN &&
      (!unicast(&cfg->hoa) ||
       !m6ike_addr6_prefix_match(&cfg->hoa, &cfg->home_prefix,
                                 cfg->home_plen) ||
       m6ike_addr6_equal(&cfg->hoa, &cfg->ha))) {
    return M6IKE_ERR_AGENT_ADDRESS;
  }
  if (cfg->psk == NULL || cfg->psk_len == 0 ||
      cfg->psk_len > M6IKE_IKEV2_PSK_MAX) {
    return M6IKE_ERR_AGENT_PSK;
  }
  if (cfg->role == M6IKE_AGENT_MN && cfg->lifetime == 0) {
    return M6IKE_ERR_AGENT_CONFIG;
  }
  if (cfg->bindack_timeout_first_reg > 0 && cfg->bindack_max > 0 &&
      cfg->bindack_timeout_first_reg > cfg->bindack_max) {
    return M6IKE_ERR_AGENT_CONFIG;
  }
  if (cfg->bindack_timeout > 0 && cfg->bindack_max > 0 &&
      cfg->bindack_timeout > cfg->bindack_max) {
    return M6IKE_ERR_AGENT_CONFIG;
  }
  if (cfg->replay_window != 0 &&
      (cfg->replay_window < M6IKE_IPSEC_MIN_REPLAY_WINDOW ||
       cfg->replay_window > M6IKE_IPSEC_MAX_REPLAY_WINDOW)) {
    return M6IKE_ERR_AGENT_CONFIG;
  }
  if ((rc = parse_props(a->ike_algs, &a->n_ike, M6IKE_PROPOSAL_IKE,
                        cfg->ike_proposal)) < 0 ||
      (rc = parse_props(a->esp_algs, &a->n_esp, M6IKE_PROPOSAL_ESP,
                        cfg->esp_proposal)) < 0) {
    return rc;
  }
  if (cfg->scheme == M6IKE_SCHEME_STATIC &&
      m6ike_crypto_encr_key_len(a->esp_algs[0].encr,
                                a->esp_algs[0].encr_keylen) < 0) {
    return M6IKE_ERR_AGENT_PROPOSAL;
  }
  if ((rc = parse_ident(&a->local_id, cfg->local_id)) < 0 ||
      (rc = parse_ident(&a->remote_id, cfg->remote_id)) < 0) {
    return rc;
  }
  return 0;
}

static int check_config(m6ike_agent *a, const m6ike_agent_config *cfg) {
  agent_parsed p;
  memset(&p, 0, sizeof(p));
  int rc = agent_config_check(cfg, &p);
  if (rc < 0) {
    return rc;
  }
  memcpy(a->ike_algs, p.ike_algs, sizeof(a->ike_algs));
  a->n_ike = p.n_ike;
  memcpy(a->esp_algs, p.esp_algs, sizeof(a->esp_algs));
  a->n_esp = p.n_esp;
  a->local_id = p.local_id;
  a->remote_id = p.remote_id;
  return 0;
}

void m6ike_agent_del(m6ike_agent *a) {
  if (a == NULL) {
    return;
  }
  m6ike_ikev2_del(a->ike);
  m6ike_bul_del(a->bul);
  m6ike_bcache_del(a->bc);
  agent_ha_free(a);
  m6ike_pfkey_bus_del(a->bus);
  m6ike_ipsec_del(a->ipsec);
  m6ike_msrd_del(a->db);
  const m6ike_mem *mem = a->base_mem;
  memset(a->psk, 0, sizeof(a->psk));
  m6ike_free(mem, a);
}

/* The units' rand callbacks get their own user_data (the agent): forward
 * to the host's. */
int agent_rand(uint8_t *dest, size_t len, void *ud) {
  m6ike_agent *a = ud;
  return a->cbs.rand(dest, len, a->cbs.user_data);
}

static int build_core(m6ike_agent *a) {
  int rc;
  int mn = a->cfg.role == M6IKE_AGENT_MN;
  /* the "kernel": SPD, SAD, ESP.  No bus for ACQUIREs: see agent.h (the
   * agent issues the kernel's tunnel-template ACQUIRE itself). */
  m6ike_ipsec_config ic;
  memset(&ic, 0, sizeof(ic));
  ic.crypto = a->crypto;
  ic.rand = agent_rand;
  ic.rand_user_data = a;
  ic.replay_window = a->cfg.replay_window;
  ic.hop_limit = a->cfg.hop_limit;
  if ((rc = m6ike_ipsec_new(&a->ipsec, &ic, &a->mem)) < 0) {
    return rc;
  }
  /* the PF_KEY bus: kernel = the ipsec object */
  m6ike_pfkey_bus_config bc;
  memset(&bc, 0, sizeof(bc));
  bc.queue_limit = mn ? 8 : 64;
  m6ike_ipsec_kernel_cbs(a->ipsec, &bc.kernel);
  if ((rc = m6ike_pfkey_bus_new(&a->bus, &bc, &a->mem)) < 0 ||
      (rc = m6ike_pfkey_bus_open(a->bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0,
                                 NULL, NULL, &a->ep_km)) < 0 ||
      (rc = m6ike_pfkey_bus_open(a->bus, M6IKE_PFKEY_ROLE_MOBILITY, 0, NULL,
                                 NULL, &a->ep_mob)) < 0) {
    return rc;
  }
  /* the MSRD, written only by the mobility side */
  m6ike_msrd_config mc;
  m6ike_msrd_config_default(&mc, mn ? M6IKE_MSRD_ROLE_MN
                                    : M6IKE_MSRD_ROLE_HA);
  mc.rand = agent_rand;
  mc.rand_user_data = a;
  if (!mn) {
    mc.initial_capacity = a->cfg.expected_mns;
    mc.max_entries = a->cfg.max_mns;
  }
  if ((rc = m6ike_msrd_new(&a->db, &a->writer, &mc, &a->mem)) < 0 ||
      (rc = m6ike_msrd_reader_new(a->db, &a->reader)) < 0) {
    return rc;
  }
  if (a->cfg.scheme == M6IKE_SCHEME_STATIC) {
    return 0;
  }
  /* the key manager */
  m6ike_ikev2_config ec;
  m6ike_ikev2_config_default(&ec);
  if (a->cfg.ike_retrans_timeout) {
    ec.retrans_timeout = a->cfg.ike_retrans_timeout;
  }
  if (a->cfg.ike_retrans_tries) {
    ec.retrans_tries = a->cfg.ike_retrans_tries;
  }
  if (mn) {
    /* a small node: PSK messages are a few hundred octets */
    ec.max_ike_sas = 8;
    ec.out_queue_limit = 16;
    ec.max_msg = 2048;
    ec.max_msg_in = 2048;
    ec.hash_bits = 4;
  } else {
    if (a->cfg.max_mns) {
      ec.max_ike_sas = a->cfg.max_mns * 2;
    }
    unsigned bits = 10;
    while (bits < 16 && ((size_t)1 << bits) < a->cfg.expected_mns) {
      bits++;
    }
    ec.hash_bits = bits;
  }
  m6ike_ikev2_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  cb.user_data = a;
  cb.rand = agent_rand;
  cb.log = cb_log;
  cb.ike_sa_up = cb_ike_up;
  cb.ike_sa_down = cb_ike_down;
  cb.child_sa_up = cb_child_up;
  cb.child_sa_down = cb_child_down;
  cb.child_sa_update = cb_child_update;
  cb.keylog = cb_keylog;
  if ((rc = m6ike_ikev2_new(&a->ike, &ec, &cb, a->crypto, &a->mem)) < 0) {
    return rc == M6IKE_ERR_IKEV2_BAD_CONFIG ? M6IKE_ERR_AGENT_CONFIG : rc;
  }
  if ((rc = m6ike_ikev2_attach_pfkey(a->ike, a->bus, a->ep_km, a->reader)) <
      0) {
    return rc;
  }
  /* the REGISTER reply */
  rc = m6ike_ikev2_process_pfkey(a->ike, 0);
  return rc < 0 ? rc : 0;
}

int m6ike_agent_new(m6ike_agent **pa, const m6ike_agent_config *cfg,
                    const m6ike_agent_callbacks *cbs,
                    const m6ike_crypto *crypto, const m6ike_mem *mem) {
  if (pa == NULL || cfg == NULL || cbs == NULL || cbs->rand == NULL ||
      crypto == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pa = NULL;
  mem = m6ike_mem_or_default(mem);
  m6ike_agent *a = m6ike_calloc(mem, 1, sizeof(*a));
  if (a == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  a->base_mem = mem;
  a->mem.user_data = a;
  a->mem.malloc = am_malloc;
  a->mem.free = am_free;
  a->mem.calloc = am_calloc;
  a->mem.realloc = am_realloc;
  a->cfg = *cfg;
  a->cbs = *cbs;
  a->crypto = crypto;
  a->ba_status_last = -1;
  int rc = check_config(a, cfg);
  if (rc < 0) {
    m6ike_free(mem, a);
    return rc;
  }
  memcpy(a->psk, cfg->psk, cfg->psk_len);
  a->cfg.psk = a->psk;
  a->cfg.ike_proposal = NULL; /* parsed; the caller's strings are not kept */
  a->cfg.esp_proposal = NULL;
  a->cfg.local_id = NULL;
  a->cfg.remote_id = NULL;
  rc = build_core(a);
  if (rc == 0) {
    rc = cfg->role == M6IKE_AGENT_MN ? agent_mn_init(a) : agent_ha_init(a);
  }
  if (rc < 0) {
    m6ike_agent_del(a);
    return rc;
  }
  *pa = a;
  return 0;
}

/* ---- entry points ------------------------------------------------------------ */

static int finish(m6ike_agent *a, int rc, m6ike_tstamp now) {
  int frc = agent_ike_flush(a, now);
  if (a->cfg.role == M6IKE_AGENT_MN) {
    int mrc = agent_mn_progress(a, now);
    if (rc == 0 && mrc < 0) {
      rc = mrc;
    }
  }
  if (rc == 0 && frc < 0) {
    rc = frc;
  }
  return rc;
}

int m6ike_agent_read_ip6(m6ike_agent *a, const uint8_t *pkt, size_t len,
                         m6ike_tstamp now) {
  uint8_t out[AGENT_BUF];
  m6ike_addr6 src, dst;
  uint8_t proto;
  uint32_t spi;
  int rc;
  if (a == NULL || (pkt == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  if (agent_ip6_effective(pkt, len, &src, &dst, &proto, &spi) < 0) {
    agent_drop(a, M6IKE_ERR_AGENT_MALFORMED, NULL);
    return M6IKE_ERR_AGENT_MALFORMED;
  }
  if (proto == M6IKE_IPPROTO_MH) {
    /* RFC 4877 §4.3: BU/BA must come under ESP */
    a->st.drop_unprotected++;
    agent_event(a, M6IKE_AGENT_EV_DROP, 0, &src, NULL, 0, 0,
                M6IKE_ERR_IPSEC_POLICY);
    return M6IKE_ERR_IPSEC_POLICY;
  }
  if (proto != M6IKE_IPPROTO_ESP) {
    agent_drop(a, M6IKE_ERR_AGENT_NOT_HANDLED, NULL);
    return M6IKE_ERR_AGENT_NOT_HANDLED;
  }
  m6ike_ipsec_sa_info sa;
  int tunnel = 0;
  if (m6ike_ipsec_sa_get(a->ipsec, spi, &dst, &sa) == 0) {
    tunnel = sa.mode == M6IKE_IPSEC_MODE_TUNNEL;
  }
  int n = m6ike_ipsec_input(a->ipsec, pkt, len, out, sizeof(out), now);
  if (n < 0) {
    agent_drop(a, n, NULL);
    return finish(a, n, now);
  }
  a->st.esp_in++;
  if (tunnel) {
    a->st.tunnel_in++;
    if (a->cbs.deliver_ip6 != NULL &&
        a->cbs.deliver_ip6(out, (size_t)n, a->cbs.user_data) != 0) {
      a->st.drop_send++;
      return M6IKE_ERR_AGENT_SEND;
    }
    return finish(a, 0, now);
  }
  if (a->cfg.role == M6IKE_AGENT_MN) {
    rc = agent_mn_on_mh(a, out, (size_t)n, now);
  } else {
    rc = agent_ha_on_mh(a, out, (size_t)n, now);
  }
  return finish(a, rc, now);
}

int m6ike_agent_read_udp(m6ike_agent *a, const m6ike_ikev2_path *path,
                         const uint8_t *buf, size_t len, m6ike_tstamp now) {
  if (a == NULL || path == NULL || (buf == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  if (a->ike == NULL) {
    agent_drop(a, M6IKE_ERR_AGENT_NOT_HANDLED, NULL);
    return M6IKE_ERR_AGENT_NOT_HANDLED;
  }
  int rc = m6ike_ikev2_read_pkt(a->ike, path, buf, len, now);
  if (rc < 0) {
    a->st.ike_dropped++;
  }
  return finish(a, rc, now);
}

int m6ike_agent_write_tunnel(m6ike_agent *a, const uint8_t *pkt, size_t len,
                             m6ike_tstamp now) {
  uint8_t out[AGENT_BUF];
  m6ike_addr6 src, dst;
  uint8_t proto;
  if (a == NULL || (pkt == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  if (len > AGENT_MAX_PKT ||
      agent_ip6_effective(pkt, len, &src, &dst, &proto, NULL) < 0) {
    agent_drop(a, M6IKE_ERR_AGENT_MALFORMED, NULL);
    return M6IKE_ERR_AGENT_MALFORMED;
  }
  if (a->cfg.role == M6IKE_AGENT_MN) {
    if (!a->have_coa || m6ike_addr6_equal(&a->coa, &a->cfg.hoa) ||
        !m6ike_addr6_equal(&src, &a->cfg.hoa)) {
      agent_drop(a, M6IKE_ERR_AGENT_NO_BINDING, &src);
      return M6IKE_ERR_AGENT_NO_BINDING;
    }
  } else {
    const agent_mn_rec *r = agent_ha_find(a, &dst);
    if (r == NULL || !r->registered) {
      agent_drop(a, M6IKE_ERR_AGENT_NO_BINDING, &dst);
      return M6IKE_ERR_AGENT_NO_BINDING;
    }
  }
  int n = m6ike_ipsec_output(a->ipsec, pkt, len, out, sizeof(out), now);
  if (n < 0) {
    agent_drop(a, n, a->cfg.role == M6IKE_AGENT_MN ? &src : &dst);
    return n;
  }
  a->st.tunnel_out++;
  a->st.esp_out++;
  return agent_send_ip6(a, out, (size_t)n);
}

int m6ike_agent_lookup(const m6ike_agent *a, const m6ike_addr6 *hoa,
                       m6ike_addr6 *coa) {
  if (a == NULL || hoa == NULL) {
    return 0;
  }
  if (a->cfg.role == M6IKE_AGENT_MN) {
    if (!m6ike_addr6_equal(hoa, &a->cfg.hoa) || !a->have_coa ||
        m6ike_addr6_equal(&a->coa, &a->cfg.hoa) ||
        m6ike_bul_get_state(a->bul) != M6IKE_BUL_REGISTERED) {
      return 0;
    }
    if (coa) {
      *coa = a->coa;
    }
    return 1;
  }
  const agent_mn_rec *r = agent_ha_find(a, hoa);
  if (r == NULL || !r->registered) {
    return 0;
  }
  if (coa) {
    *coa = r->coa;
  }
  return 1;
}

static m6ike_tstamp tmin(m6ike_tstamp x, m6ike_tstamp y) {
  return x < y ? x : y;
}

m6ike_tstamp m6ike_agent_get_expiry(const m6ike_agent *a) {
  if (a == NULL) {
    return M6IKE_TSTAMP_UNSET;
  }
  /* The ipsec object's timers (SA lifetimes, larval SAs) are not used:
   * the agent installs no lifetimes and no larval SAs, and the ipsec unit
   * finds its deadline by walking every SA (O(SAs) per call on an HA). */
  m6ike_tstamp t = m6ike_msrd_get_expiry(a->db);
  if (a->ike) {
    t = tmin(t, m6ike_ikev2_get_expiry(a->ike));
  }
  if (a->cfg.role == M6IKE_AGENT_MN) {
    t = tmin(t, agent_mn_expiry(a));
  } else {
    t = tmin(t, m6ike_bcache_get_expiry(a->bc));
  }
  return t;
}

int m6ike_agent_handle_expiry(m6ike_agent *a, m6ike_tstamp now) {
  if (a == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  if (a->ike) {
    m6ike_ikev2_handle_expiry(a->ike, now);
  }
  if (a->cfg.role == M6IKE_AGENT_HA) {
    m6ike_bcache_handle_expiry(a->bc, now);
  }
  (void)m6ike_msrd_expire(a->writer, now);
  return finish(a, 0, now);
}

void m6ike_agent_get_stats(const m6ike_agent *a, m6ike_agent_stats *st) {
  if (a == NULL || st == NULL) {
    return;
  }
  *st = a->st;
  if (a->ike) {
    m6ike_ikev2_stats es;
    m6ike_ikev2_get_stats(a->ike, &es);
    for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
      st->ike_msgs_out[i] = es.msgs_out[i];
      st->ike_bytes_out[i] = es.bytes_out[i];
      st->ike_msgs_in[i] = es.msgs_in[i];
      st->ike_bytes_in[i] = es.bytes_in[i];
    }
  }
  if (a->cfg.role == M6IKE_AGENT_HA) {
    st->bindings = m6ike_bcache_count(a->bc);
  }
}

const m6ike_ipsec *m6ike_agent_ipsec(const m6ike_agent *a) {
  return a ? a->ipsec : NULL;
}

const m6ike_ikev2 *m6ike_agent_ikev2(const m6ike_agent *a) {
  return a ? a->ike : NULL;
}

m6ike_msrd_reader *m6ike_agent_msrd_reader(m6ike_agent *a) {
  return a ? a->reader : NULL;
}

m6ike_pfkey_bus *m6ike_agent_pfkey_bus(m6ike_agent *a) {
  return a ? a->bus : NULL;
}

void m6ike_agent_pfkey_endpoints(const m6ike_agent *a, m6ike_pfkey_ep *km,
                                 m6ike_pfkey_ep *mobility) {
  if (km) *km = a ? a->ep_km : 0;
  if (mobility) *mobility = a ? a->ep_mob : 0;
}
