/* agent: the composite MIPv6 node (m6ike/agent.h): m6ike_mobility (the
 * mobility side), m6ike_keymgr (the key manager) and m6ike_ipsec (the
 * "kernel") on one m6ike_pfkey_bus, talking only through PF_KEY messages
 * and the MSRD, as the three processes of the Linux runtime do; plus the
 * data path (ESP in and out, the tunnel) and the helpers mobility.c and
 * keymgr.c share with it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "m6ike/keymgr.h"
#include "m6ike/mobility.h"
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
    /* the parts' sub-ranges */
    if (code <= -170 && code >= -179) {
      return m6ike_mobility_strerror_(code);
    }
    if (code <= -180 && code >= -189) {
      return m6ike_keymgr_strerror_(code);
    }
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


/* ---- the composition --------------------------------------------------------- */

static void agent_logf(m6ike_agent *a, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  agent_vlog_(a->cbs.log, a->cbs.user_data, level, fmt, ap);
  va_end(ap);
}

static void agent_event(m6ike_agent *a, m6ike_agent_event_kind kind,
                        const m6ike_addr6 *hoa, int status) {
  agent_event_emit_(a->cbs.event, a->cbs.user_data, kind, a->now, 0, hoa,
                    NULL, 0, 0, status);
}

static void agent_drop(m6ike_agent *a, int reason, const m6ike_addr6 *hoa) {
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
  agent_event(a, M6IKE_AGENT_EV_DROP, hoa, reason);
}

static int agent_send_ip6(m6ike_agent *a, const uint8_t *pkt, size_t len) {
  if (a->cbs.send_ip6 == NULL ||
      a->cbs.send_ip6(pkt, len, a->cbs.user_data) != 0) {
    a->st.drop_send++;
    return M6IKE_ERR_AGENT_SEND;
  }
  return 0;
}

/* Delivers what the bus queued for the two endpoints to their owners until
 * nothing moves (the kernel already handled every message when it was
 * sent: the callbacks below send synchronously), then gives the mobility
 * side the key manager's IKE counts for its handover record. */
static void pump(m6ike_agent *a) {
  uint8_t buf[AGENT_PFKEY_BUF];
  if (a->pumping) {
    return;
  }
  a->pumping = 1;
  for (int moved = 1; moved;) {
    int n;
    moved = 0;
    while ((n = m6ike_pfkey_bus_recv(a->bus, a->ep_mob, buf, sizeof(buf))) >
           0) {
      (void)m6ike_mobility_read_pfkey(a->mob, buf, (size_t)n, a->now);
      moved = 1;
    }
    while ((n = m6ike_pfkey_bus_recv(a->bus, a->ep_km, buf, sizeof(buf))) >
           0) {
      (void)m6ike_keymgr_read_pfkey(a->km, buf, (size_t)n, a->now);
      moved = 1;
    }
  }
  uint64_t x[M6IKE_IKEV2_X_COUNT], bytes;
  m6ike_keymgr_ike_counts(a->km, x, &bytes);
  m6ike_mobility_set_ike_counts(a->mob, x, bytes);
  a->pumping = 0;
}

/* mobility -> IPsec -> host */
static int mob_send_ip6(const uint8_t *pkt, size_t len, void *ud) {
  m6ike_agent *a = ud;
  uint8_t out[256 + M6IKE_IPSEC_MAX_OVERHEAD];
  int n = m6ike_ipsec_output(a->ipsec, pkt, len, out, sizeof(out), a->now);
  if (n < 0) {
    return n; /* IPsec's drop */
  }
  return agent_send_ip6(a, out, (size_t)n) < 0 ? 1 : 0;
}

/* mobility -> its endpoint (the kernel's own ACQUIRE: from the bus) */
static int mob_send_pfkey(const uint8_t *msg, size_t len, int as_kernel,
                          void *ud) {
  m6ike_agent *a = ud;
  int rc = as_kernel ? m6ike_pfkey_bus_acquire(a->bus, msg, len, a->now)
                     : m6ike_pfkey_bus_send(a->bus, a->ep_mob, msg, len,
                                            a->now);
  if (rc < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "PF_KEY %s refused: %s",
               m6ike_pfkey_msg_type_name(msg[1]), m6ike_strerror(rc));
    /* a refusal is the kernel's answer, not a failure to send it; a
     * failed allocation is */
    return rc == M6IKE_ERR_NOMEM ? 1 : 0;
  }
  return 0;
}

static int km_send_pfkey(const uint8_t *msg, size_t len, void *ud) {
  m6ike_agent *a = ud;
  int rc = m6ike_pfkey_bus_send(a->bus, a->ep_km, msg, len, a->now);
  if (rc < 0) {
    agent_logf(a, M6IKE_IKEV2_LOG_ERROR, "PF_KEY %s refused: %s",
               m6ike_pfkey_msg_type_name(msg[1]), m6ike_strerror(rc));
    return rc == M6IKE_ERR_NOMEM ? 1 : 0;
  }
  return 0;
}

static int km_send_udp(const m6ike_ikev2_path *path, const uint8_t *buf,
                       size_t len, void *ud) {
  m6ike_agent *a = ud;
  if (a->cbs.send_udp == NULL ||
      a->cbs.send_udp(path, buf, len, a->cbs.user_data) != 0) {
    a->st.drop_send++;
    return 1;
  }
  return 0;
}

static void fwd_event(const m6ike_agent_event *ev, void *ud) {
  m6ike_agent *a = ud;
  if (a->cbs.event != NULL) {
    a->cbs.event(ev, a->cbs.user_data);
  }
}

static void fwd_log(int level, const char *msg, void *ud) {
  m6ike_agent *a = ud;
  if (a->cbs.log != NULL) {
    a->cbs.log(level, msg, a->cbs.user_data);
  }
}

static void fwd_keylog(int kind, const char *line, void *ud) {
  m6ike_agent *a = ud;
  if (a->cbs.keylog != NULL) {
    a->cbs.keylog(kind, line, a->cbs.user_data);
  }
}

int agent_rand(uint8_t *dest, size_t len, void *ud) {
  m6ike_agent *a = ud;
  return a->cbs.rand(dest, len, a->cbs.user_data);
}

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


void m6ike_agent_del(m6ike_agent *a) {
  if (a == NULL) {
    return;
  }
  m6ike_keymgr_del(a->km);
  m6ike_msrd_reader_del(a->reader);
  m6ike_mobility_del(a->mob);
  m6ike_pfkey_bus_del(a->bus);
  m6ike_ipsec_del(a->ipsec);
  m6ike_free(a->base_mem, a);
}

static int build(m6ike_agent *a, const m6ike_agent_config *cfg) {
  int rc;
  int mn = cfg->role == M6IKE_AGENT_MN;
  /* the "kernel": SPD, SAD, ESP.  No bus for its own ACQUIREs: the
   * mobility side issues the kernel's tunnel-template ACQUIRE (see
   * mobility.h send_pfkey). */
  m6ike_ipsec_config ic;
  memset(&ic, 0, sizeof(ic));
  ic.crypto = a->crypto;
  ic.rand = agent_rand;
  ic.rand_user_data = a;
  ic.replay_window = cfg->replay_window;
  ic.hop_limit = cfg->hop_limit;
  if ((rc = m6ike_ipsec_new(&a->ipsec, &ic, &a->mem)) < 0) {
    return rc;
  }
  /* the PF_KEY bus: kernel = the ipsec object; SA copies to the mobility
   * side (sa_notify) */
  m6ike_pfkey_bus_config bc;
  memset(&bc, 0, sizeof(bc));
  bc.queue_limit = mn ? 8 : 64;
  bc.sa_notify = 1;
  m6ike_ipsec_kernel_cbs(a->ipsec, &bc.kernel);
  if ((rc = m6ike_pfkey_bus_new(&a->bus, &bc, &a->mem)) < 0 ||
      (rc = m6ike_pfkey_bus_open(a->bus, M6IKE_PFKEY_ROLE_KEY_MANAGER, 0,
                                 NULL, NULL, &a->ep_km)) < 0 ||
      (rc = m6ike_pfkey_bus_open(a->bus, M6IKE_PFKEY_ROLE_MOBILITY, 0, NULL,
                                 NULL, &a->ep_mob)) < 0) {
    return rc;
  }
  /* the mobility side, sole writer of the MSRD */
  m6ike_mobility_callbacks mc;
  memset(&mc, 0, sizeof(mc));
  mc.user_data = a;
  mc.rand = agent_rand;
  mc.send_ip6 = mob_send_ip6;
  mc.send_pfkey = mob_send_pfkey;
  mc.event = fwd_event;
  mc.log = fwd_log;
  if ((rc = m6ike_mobility_new(&a->mob, cfg, &mc, &a->mem)) < 0) {
    return rc;
  }
  pump(a);
  /* the key manager, reading the MSRD */
  if ((rc = m6ike_msrd_reader_new(m6ike_mobility_msrd(a->mob),
                                  &a->reader)) < 0) {
    return rc;
  }
  m6ike_keymgr_callbacks kc;
  memset(&kc, 0, sizeof(kc));
  kc.user_data = a;
  kc.rand = agent_rand;
  kc.send_pfkey = km_send_pfkey;
  kc.send_udp = km_send_udp;
  kc.log = fwd_log;
  kc.keylog = fwd_keylog;
  if ((rc = m6ike_keymgr_new(&a->km, cfg, &kc, a->crypto, a->reader,
                             &a->mem)) < 0 ||
      (rc = m6ike_keymgr_start(a->km, 0)) < 0) {
    return rc == M6IKE_ERR_KEYMGR_SEND ? M6IKE_ERR_NOMEM : rc;
  }
  pump(a);
  return 0;
}

int m6ike_agent_new(m6ike_agent **pa, const m6ike_agent_config *cfg,
                    const m6ike_agent_callbacks *cbs,
                    const m6ike_crypto *crypto, const m6ike_mem *mem) {
  if (pa == NULL || cfg == NULL || cbs == NULL || cbs->rand == NULL ||
      crypto == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pa = NULL;
  agent_parsed pp;
  int rc = agent_config_check(cfg, &pp);
  memset(&pp, 0, sizeof(pp));
  if (rc < 0) {
    return rc;
  }
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
  a->cfg.psk = NULL; /* the parts keep what they need */
  a->cfg.ike_proposal = a->cfg.esp_proposal = NULL;
  a->cfg.local_id = a->cfg.remote_id = NULL;
  a->cbs = *cbs;
  a->crypto = crypto;
  rc = build(a, cfg);
  if (rc < 0) {
    m6ike_agent_del(a);
    return rc;
  }
  *pa = a;
  return 0;
}

/* ---- entry points ------------------------------------------------------------ */

int m6ike_agent_set_coa(m6ike_agent *a, const m6ike_addr6 *coa,
                        m6ike_tstamp now) {
  if (a == NULL || coa == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  pump(a); /* the IKE counts at the move */
  int rc = m6ike_mobility_set_coa(a->mob, coa, now);
  pump(a);
  int krc = m6ike_keymgr_poll_msrd(a->km, now);
  pump(a);
  if (rc == M6IKE_ERR_MOBILITY_SEND) {
    rc = M6IKE_ERR_NOMEM; /* only a failed allocation refuses a send here */
  }
  if (rc == 0 && krc == M6IKE_ERR_AGENT_SEND) {
    rc = krc;
  }
  return rc;
}

int m6ike_agent_add_mn(m6ike_agent *a, const m6ike_addr6 *hoa,
                       m6ike_tstamp now) {
  if (a == NULL || hoa == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (a->cfg.role != M6IKE_AGENT_HA) {
    return M6IKE_ERR_AGENT_ROLE;
  }
  a->now = now;
  int rc = m6ike_keymgr_add_mn(a->km, hoa, now);
  if (rc == 0) {
    rc = m6ike_mobility_add_mn(a->mob, hoa, now);
  }
  pump(a);
  if (rc == M6IKE_ERR_KEYMGR_SEND || rc == M6IKE_ERR_MOBILITY_SEND) {
    rc = M6IKE_ERR_NOMEM;
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
    agent_event(a, M6IKE_AGENT_EV_DROP, &src, M6IKE_ERR_IPSEC_POLICY);
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
    pump(a);
    return n;
  }
  a->st.esp_in++;
  if (tunnel) {
    a->st.tunnel_in++;
    if (a->cbs.deliver_ip6 != NULL &&
        a->cbs.deliver_ip6(out, (size_t)n, a->cbs.user_data) != 0) {
      a->st.drop_send++;
      return M6IKE_ERR_AGENT_SEND;
    }
    pump(a);
    return 0;
  }
  rc = m6ike_mobility_read_mh(a->mob, out, (size_t)n, now);
  if (rc == M6IKE_ERR_MOBILITY_IGNORED) {
    rc = M6IKE_ERR_AGENT_NOT_HANDLED;
  }
  pump(a);
  return rc;
}

int m6ike_agent_read_udp(m6ike_agent *a, const m6ike_ikev2_path *path,
                         const uint8_t *buf, size_t len, m6ike_tstamp now) {
  if (a == NULL || path == NULL || (buf == NULL && len > 0)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  int rc = m6ike_keymgr_read_udp(a->km, path, buf, len, now);
  if (rc == M6IKE_ERR_AGENT_NOT_HANDLED) {
    agent_drop(a, rc, NULL);
    return rc;
  }
  if (rc < 0 && rc != M6IKE_ERR_AGENT_SEND) {
    a->st.ike_dropped++;
  }
  pump(a);
  return rc;
}

int m6ike_agent_write_tunnel(m6ike_agent *a, const uint8_t *pkt, size_t len,
                             m6ike_tstamp now) {
  uint8_t out[AGENT_BUF];
  m6ike_addr6 src, dst, coa;
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
    if (mobility_coa_(a->mob, &coa) == 0 ||
        m6ike_addr6_equal(&coa, &a->cfg.hoa) ||
        !m6ike_addr6_equal(&src, &a->cfg.hoa)) {
      agent_drop(a, M6IKE_ERR_AGENT_NO_BINDING, &src);
      return M6IKE_ERR_AGENT_NO_BINDING;
    }
  } else if (!m6ike_mobility_lookup(a->mob, &dst, NULL)) {
    agent_drop(a, M6IKE_ERR_AGENT_NO_BINDING, &dst);
    return M6IKE_ERR_AGENT_NO_BINDING;
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
  return a ? m6ike_mobility_lookup(a->mob, hoa, coa) : 0;
}

m6ike_tstamp m6ike_agent_get_expiry(const m6ike_agent *a) {
  if (a == NULL) {
    return M6IKE_TSTAMP_UNSET;
  }
  /* The ipsec object's timers (SA lifetimes, larval SAs) are not used:
   * no lifetimes, no larval SAs are installed, and the ipsec unit finds
   * its deadline by walking every SA. */
  m6ike_tstamp t = m6ike_mobility_get_expiry(a->mob);
  m6ike_tstamp u = m6ike_keymgr_get_expiry(a->km);
  return u < t ? u : t;
}

int m6ike_agent_handle_expiry(m6ike_agent *a, m6ike_tstamp now) {
  if (a == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  a->now = now;
  int krc = m6ike_keymgr_handle_expiry(a->km, now);
  pump(a);
  int rc = m6ike_mobility_handle_expiry(a->mob, now);
  pump(a);
  if (rc == M6IKE_ERR_MOBILITY_SEND) {
    rc = M6IKE_ERR_NOMEM;
  }
  return rc < 0 ? rc : krc == M6IKE_ERR_AGENT_SEND ? krc : 0;
}

int m6ike_agent_get_handover(const m6ike_agent *a, m6ike_agent_handover *out) {
  if (a == NULL || out == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return m6ike_mobility_get_handover(a->mob, out);
}

void m6ike_agent_get_stats(const m6ike_agent *a, m6ike_agent_stats *st) {
  if (a == NULL || st == NULL) {
    return;
  }
  m6ike_agent_stats ms;
  m6ike_mobility_get_stats(a->mob, &ms);
  *st = a->st;
  st->bu_sent = ms.bu_sent;
  st->bu_retransmits = ms.bu_retransmits;
  st->ba_received = ms.ba_received;
  st->bu_received = ms.bu_received;
  st->ba_sent = ms.ba_sent;
  st->bindings = ms.bindings;
  st->esp_out += ms.esp_out;
  st->sa_installed = ms.sa_installed;
  st->sa_updated = ms.sa_updated;
  st->sa_deleted = ms.sa_deleted;
  st->drop_malformed += ms.drop_malformed;
  st->drop_not_handled += ms.drop_not_handled;
  st->drop_no_sa += ms.drop_no_sa;
  st->drop_esp += ms.drop_esp;
  st->drop_send += ms.drop_send;
  const m6ike_ikev2 *ike = m6ike_keymgr_ikev2(a->km);
  if (ike) {
    m6ike_ikev2_stats es;
    m6ike_ikev2_get_stats(ike, &es);
    for (int i = 0; i < M6IKE_IKEV2_X_COUNT; i++) {
      st->ike_msgs_out[i] = es.msgs_out[i];
      st->ike_bytes_out[i] = es.bytes_out[i];
      st->ike_msgs_in[i] = es.msgs_in[i];
      st->ike_bytes_in[i] = es.bytes_in[i];
    }
  }
}

const m6ike_ipsec *m6ike_agent_ipsec(const m6ike_agent *a) {
  return a ? a->ipsec : NULL;
}

const m6ike_ikev2 *m6ike_agent_ikev2(const m6ike_agent *a) {
  return a ? m6ike_keymgr_ikev2(a->km) : NULL;
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
