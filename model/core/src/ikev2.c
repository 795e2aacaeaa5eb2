/*
 * ikev2: the engine (see m6ike/ikev2.h and ikev2_int.h): IKE SA tables,
 * the output queue, message IDs and retransmissions, and the exchange
 * machinery that runs the tasks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"
#include "mem.h"


typedef struct out_pkt {
  struct out_pkt *next;
  m6ike_ikev2_path path;
  size_t len;
  uint8_t data[];
} out_pkt;

/* ---- errors ---------------------------------------------------------- */

const char *m6ike_ikev2_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_IKEV2_BAD_CONFIG:
    return "ikev2: configuration field out of range (proposal count, "
           "transform, identity, psk_len, mode or selector count)";
  case M6IKE_ERR_IKEV2_NO_SA:
    return "ikev2: no IKE SA or CHILD_SA with that id";
  case M6IKE_ERR_IKEV2_SHORT:
    return "ikev2: datagram shorter than an IKE header";
  case M6IKE_ERR_IKEV2_UNKNOWN_SPI:
    return "ikev2: no IKE SA for the message's IKE SPIs";
  case M6IKE_ERR_IKEV2_MSGID:
    return "ikev2: message ID outside the window, or a response to no "
           "request";
  case M6IKE_ERR_IKEV2_INTEGRITY:
    return "ikev2: SK payload failed its integrity check or is malformed";
  case M6IKE_ERR_IKEV2_NO_PROPOSAL:
    return "ikev2: no acceptable proposal (NO_PROPOSAL_CHOSEN)";
  case M6IKE_ERR_IKEV2_AUTH:
    return "ikev2: authentication failed (AUTHENTICATION_FAILED)";
  case M6IKE_ERR_IKEV2_INVALID_KE:
    return "ikev2: KE payload of the wrong DH group (INVALID_KE_PAYLOAD)";
  case M6IKE_ERR_IKEV2_TS_UNACCEPTABLE:
    return "ikev2: traffic selectors unacceptable (TS_UNACCEPTABLE)";
  case M6IKE_ERR_IKEV2_SYNTAX:
    return "ikev2: required payload missing or inconsistent "
           "(INVALID_SYNTAX)";
  case M6IKE_ERR_IKEV2_TIMEOUT:
    return "ikev2: no response after every retransmission";
  case M6IKE_ERR_IKEV2_CRYPTO:
    return "ikev2: the crypto backend failed";
  case M6IKE_ERR_IKEV2_UNSUPPORTED:
    return "ikev2: transform or DH group not supported";
  case M6IKE_ERR_IKEV2_SA_NOMEM:
    return "ikev2: out of memory; the IKE SA concerned was deleted";
  case M6IKE_ERR_IKEV2_LIMIT:
    return "ikev2: max_ike_sas or the output queue limit reached";
  case M6IKE_ERR_IKEV2_COOKIE:
    return "ikev2: IKE_SA_INIT answered with a COOKIE";
  case M6IKE_ERR_IKEV2_NO_PEER:
    return "ikev2: no peer configuration matches the initiator's identity";
  case M6IKE_ERR_IKEV2_PEER_ERROR:
    return "ikev2: the peer reported an error notify";
  case M6IKE_ERR_IKEV2_BAD_KE:
    return "ikev2: the peer's DH public value was rejected";
  case M6IKE_ERR_IKEV2_DELETED:
    return "ikev2: SA deleted";
  case M6IKE_ERR_IKEV2_UNEXPECTED:
    return "ikev2: message not valid in the SA's state";
  case M6IKE_ERR_IKEV2_CALLBACK:
    return "ikev2: a callback reported failure";
  case M6IKE_ERR_IKEV2_CHILD_FAILED:
    return "ikev2: the CHILD_SA could not be established";
  case M6IKE_ERR_IKEV2_BUSY:
    return "ikev2: the SA is being deleted";
  case M6IKE_ERR_IKEV2_NOT_READY:
    return "ikev2: a required component is not attached";
  default:
    return NULL;
  }
}

uint16_t m6ike_ikev2_error_notify(int code) {
  switch (code) {
  case M6IKE_ERR_IKEV2_NO_PROPOSAL:
    return M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN;
  case M6IKE_ERR_IKEV2_AUTH:
  case M6IKE_ERR_IKEV2_NO_PEER:
    return M6IKE_IKEV2_N_AUTHENTICATION_FAILED;
  case M6IKE_ERR_IKEV2_INVALID_KE:
    return M6IKE_IKEV2_N_INVALID_KE_PAYLOAD;
  case M6IKE_ERR_IKEV2_TS_UNACCEPTABLE:
    return M6IKE_IKEV2_N_TS_UNACCEPTABLE;
  case M6IKE_ERR_IKEV2_SYNTAX:
  case M6IKE_ERR_IKEV2_BAD_KE:
    return M6IKE_IKEV2_N_INVALID_SYNTAX;
  case M6IKE_ERR_IKEV2_UNKNOWN_SPI:
    return M6IKE_IKEV2_N_INVALID_IKE_SPI;
  case M6IKE_ERR_IKEV2_COOKIE:
    return M6IKE_IKEV2_N_COOKIE;
  case M6IKE_ERR_IKEV2_LIMIT:
  case M6IKE_ERR_IKEV2_CALLBACK:
    return M6IKE_IKEV2_N_TEMPORARY_FAILURE;
  default:
    if (code <= -600 && code >= -649) {
      return m6ike_ikev2_err_to_notify(code);
    }
    return 0;
  }
}

int ike_crypto_err(int code) {
  switch (code) {
  case M6IKE_ERR_NOMEM:
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  case M6IKE_ERR_RANDOM:
    return M6IKE_ERR_RANDOM;
  case M6IKE_ERR_CRYPTO_UNSUPPORTED:
  case M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH:
    return M6IKE_ERR_IKEV2_UNSUPPORTED;
  case M6IKE_ERR_CRYPTO_AUTH:
    return M6IKE_ERR_IKEV2_INTEGRITY;
  case M6IKE_ERR_CRYPTO_DH_PUBLIC:
  case M6IKE_ERR_CRYPTO_DH_ZERO:
    return M6IKE_ERR_IKEV2_BAD_KE;
  default:
    return M6IKE_ERR_IKEV2_CRYPTO;
  }
}

/* ---- small services ------------------------------------------------------ */

uint16_t ike_error_notify(const m6ike_ikev2_msg *msg, m6ike_ikev2_notify *n) {
  for (unsigned i = 0; i < msg->count; i++) {
    if (msg->pl[i].type == M6IKE_IKEV2_PL_NOTIFY &&
        m6ike_ikev2_decode_notify(&msg->pl[i], n) == 0 &&
        n->type < M6IKE_IKEV2_N_STATUS_MIN) {
      return n->type;
    }
  }
  return 0;
}

const m6ike_ikev2_payload *ike_find_pl(const m6ike_ikev2_msg *msg,
                                       uint8_t type) {
  int i = m6ike_ikev2_find(msg, type, 0);
  return i < 0 ? NULL : &msg->pl[i];
}

void ike_log(m6ike_ikev2 *ike, int level, uint32_t sa_id, const char *fmt,
             ...) {
  char line[256];
  va_list ap;
  if (ike->cbs.log == NULL) {
    return;
  }
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  ike->cbs.log(level, sa_id, line, ike->cbs.user_data);
}

int ike_random(m6ike_ikev2 *ike, void *dest, size_t len) {
  return ike->cbs.rand((uint8_t *)dest, len, ike->cbs.user_data) == 0
             ? 0
             : M6IKE_ERR_RANDOM;
}

void *ike_alloc(m6ike_ikev2 *ike, size_t n) { return m6ike_malloc(ike->mem, n); }
void ike_free(m6ike_ikev2 *ike, void *p) { m6ike_free(ike->mem, p); }

/* A random source that keeps giving unusable values is broken: give up
 * after this many draws rather than loop. */
#define SPI_DRAWS 16

int ike_new_esp_spi(m6ike_ikev2 *ike, uint32_t *spi) {
  uint8_t b[4];
  for (int i = 0; i < SPI_DRAWS; i++) {
    int rc = ike_random(ike, b, 4);
    if (rc != 0) {
      return rc;
    }
    m6ike_get_u32be(b, spi);
    if (*spi >= 256) {
      return 0;
    }
  }
  return M6IKE_ERR_RANDOM;
}

static uint32_t hash_spi_(uint64_t spi, uint32_t mask) {
  spi ^= spi >> 33;
  spi *= 0xff51afd7ed558ccdULL;
  spi ^= spi >> 33;
  return (uint32_t)spi & mask;
}
#define hash_spi(spi) hash_spi_((spi), ike->hash_mask)

static uint64_t local_spi(const ike_sa *sa) {
  return sa->initiator ? sa->spi_i : sa->spi_r;
}

static ike_sa *find_local(const m6ike_ikev2 *ike, uint64_t spi) {
  ike_sa *s = ike->by_local[hash_spi(spi)];
  while (s && local_spi(s) != spi) {
    s = s->hnext_local;
  }
  return s;
}

static ike_sa *find_init(const m6ike_ikev2 *ike, uint64_t spi_i,
                         const m6ike_addr6 *remote) {
  for (ike_sa *s = ike->by_init[hash_spi(spi_i)]; s; s = s->hnext_init) {
    if (s->spi_i == spi_i && m6ike_addr6_equal(&s->path.remote, remote)) {
      return s;
    }
  }
  return NULL;
}

static ike_sa *find_id(const m6ike_ikev2 *ike, uint32_t id) {
  for (ike_sa *s = ike->all; s; s = s->next) {
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
}

static void hash_remove(ike_sa **bucket, ike_sa *sa, int init) {
  ike_sa **pp = bucket;
  while (*pp && *pp != sa) {
    pp = init ? &(*pp)->hnext_init : &(*pp)->hnext_local;
  }
  if (*pp) {
    *pp = init ? sa->hnext_init : sa->hnext_local;
  }
}

/* ---- output queue ---------------------------------------------------------- */

/* Queues a copy.  A failure is like a lost datagram (retransmission or the
 * peer's retransmission recovers); it is logged, not returned. */
static void enqueue(m6ike_ikev2 *ike, const m6ike_ikev2_path *path,
                    const uint8_t *data, size_t len) {
  out_pkt *p;
  if (ike->out_count >= ike->cfg.out_queue_limit) {
    ike_log(ike, M6IKE_IKEV2_LOG_ERROR, 0, "output queue full: dropped");
    return;
  }
  p = ike_alloc(ike, sizeof *p + len);
  if (p == NULL) {
    ike_log(ike, M6IKE_IKEV2_LOG_ERROR, 0, "no memory to queue a datagram");
    return;
  }
  p->next = NULL;
  p->path = *path;
  p->len = len;
  memcpy(p->data, data, len);
  if (ike->out_tail) {
    ike->out_tail->next = p;
  } else {
    ike->out_head = p;
  }
  ike->out_tail = p;
  ike->out_count++;
}

int m6ike_ikev2_write_pkt(m6ike_ikev2 *ike, m6ike_ikev2_path *out,
                          uint8_t *buf, size_t cap, m6ike_tstamp now) {
  out_pkt *p;
  unsigned x;
  (void)now;
  if (ike == NULL || out == NULL || buf == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  p = ike->out_head;
  if (p == NULL) {
    return 0;
  }
  if (p->len > cap) {
    return M6IKE_ERR_NOBUF;
  }
  memcpy(buf, p->data, p->len);
  *out = p->path;
  ike->out_head = p->next;
  if (ike->out_head == NULL) {
    ike->out_tail = NULL;
  }
  ike->out_count--;
  x = p->len > 18 ? (unsigned)p->data[18] - M6IKE_IKEV2_IKE_SA_INIT : 99u;
  if (x < M6IKE_IKEV2_X_COUNT) {
    ike->stats.msgs_out[x]++;
    ike->stats.bytes_out[x] += p->len;
  }
  {
    int len = (int)p->len;
    ike_free(ike, p);
    return len;
  }
}

/* ---- configuration ------------------------------------------------------- */

void m6ike_ikev2_config_default(m6ike_ikev2_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->retrans_timeout = 500 * M6IKE_MILLISECONDS;
  cfg->retrans_max = 32 * M6IKE_SECONDS;
  cfg->retrans_tries = 5;
  cfg->max_ike_sas = 65536;
  cfg->cookie_threshold = 0;
  cfg->half_open_timeout = 30 * M6IKE_SECONDS;
  cfg->max_msg = 8192;
  cfg->out_queue_limit = 256;
  cfg->max_msg_in = 65535;
  cfg->hash_bits = IKE_HASH_BITS;
}

static int check_algs(const m6ike_ikev2_algs *a, size_t n, int ike) {
  if (n == 0 || n > M6IKE_IKEV2_MAX_PROPOSALS) {
    return M6IKE_ERR_IKEV2_BAD_CONFIG;
  }
  for (size_t i = 0; i < n; i++) {
    int aead = m6ike_crypto_encr_is_aead(a[i].encr);
    if (aead < 0 || m6ike_crypto_encr_key_len(a[i].encr, a[i].encr_keylen) <
                        0) {
      return M6IKE_ERR_IKEV2_BAD_CONFIG;
    }
    if (a[i].integ != 0 ? (aead || m6ike_crypto_integ_key_len(a[i].integ) <= 0)
                        : !aead) {
      return M6IKE_ERR_IKEV2_BAD_CONFIG;
    }
    if (ike && (a[i].encr == M6IKE_ENCR_NULL ||
                m6ike_crypto_prf_len(a[i].prf) <= 0 ||
                m6ike_crypto_dh_public_len(a[i].dh) <= 0)) {
      return M6IKE_ERR_IKEV2_BAD_CONFIG;
    }
    if (!ike && a[i].dh != 0 && m6ike_crypto_dh_public_len(a[i].dh) <= 0) {
      return M6IKE_ERR_IKEV2_BAD_CONFIG;
    }
    if (a[i].esn > 1) {
      return M6IKE_ERR_IKEV2_BAD_CONFIG;
    }
  }
  return 0;
}

int ike_check_peer(const m6ike_ikev2_peer_cfg *pc) {
  int psk = pc->auth_method == M6IKE_IKEV2_AUTH_PSK;
  int sig = pc->auth_method == M6IKE_IKEV2_AUTH_RSA_SIG ||
            pc->auth_method == M6IKE_IKEV2_AUTH_ECDSA_256 ||
            pc->auth_method == M6IKE_IKEV2_AUTH_DIGITAL_SIG;
  if (!(psk || sig) || (sig && (pc->key == NULL || pc->cert == NULL)) ||
      (pc->auth_method == M6IKE_IKEV2_AUTH_DIGITAL_SIG &&
       m6ike_sig_scheme_hash((m6ike_sig_scheme)pc->sig_scheme) < 0) ||
      (pc->n_cas && pc->cas == NULL) ||
      ((psk || pc->n_cas == 0) && pc->psk_len == 0) ||
      pc->psk_len > M6IKE_IKEV2_PSK_MAX || pc->local_id.type == 0 ||
      pc->local_id.len == 0 || pc->local_id.len > M6IKE_IKEV2_ID_MAX ||
      pc->remote_id.len > M6IKE_IKEV2_ID_MAX) {
    return M6IKE_ERR_IKEV2_BAD_CONFIG;
  }
  return check_algs(pc->ike, pc->n_ike, 1);
}

int ike_check_child(const m6ike_ikev2_child_cfg *cc) {
  if ((cc->mode != M6IKE_IKEV2_MODE_TRANSPORT &&
       cc->mode != M6IKE_IKEV2_MODE_TUNNEL) ||
      cc->n_ts_local == 0 || cc->n_ts_local > M6IKE_IKEV2_MAX_TS ||
      cc->n_ts_remote == 0 || cc->n_ts_remote > M6IKE_IKEV2_MAX_TS) {
    return M6IKE_ERR_IKEV2_BAD_CONFIG;
  }
  return check_algs(cc->esp, cc->n_esp, 0);
}

/* ---- the engine ---------------------------------------------------------- */

int m6ike_ikev2_new(m6ike_ikev2 **pike, const m6ike_ikev2_config *cfg,
                    const m6ike_ikev2_callbacks *cbs,
                    const m6ike_crypto *crypto, const m6ike_mem *mem) {
  m6ike_ikev2 *ike;
  m6ike_ikev2_config c;
  if (pike == NULL || cbs == NULL || cbs->rand == NULL || crypto == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pike = NULL;
  m6ike_ikev2_config_default(&c);
  if (cfg) {
    if (cfg->retrans_timeout) c.retrans_timeout = cfg->retrans_timeout;
    if (cfg->retrans_max) c.retrans_max = cfg->retrans_max;
    if (cfg->retrans_tries) c.retrans_tries = cfg->retrans_tries;
    if (cfg->max_ike_sas) c.max_ike_sas = cfg->max_ike_sas;
    c.cookie_threshold = cfg->cookie_threshold;
    if (cfg->half_open_timeout) c.half_open_timeout = cfg->half_open_timeout;
    if (cfg->max_msg) c.max_msg = cfg->max_msg;
    if (cfg->out_queue_limit) c.out_queue_limit = cfg->out_queue_limit;
    if (cfg->max_msg_in) c.max_msg_in = cfg->max_msg_in;
    if (cfg->hash_bits) c.hash_bits = cfg->hash_bits;
    c.liveness_idle = cfg->liveness_idle;
  }
  if (c.max_msg < 1280 || c.max_msg > 65535 || c.max_msg_in < 1280 ||
      c.max_msg_in > 65535 || c.hash_bits < 4 || c.hash_bits > 20 ||
      c.retrans_max < c.retrans_timeout) {
    return M6IKE_ERR_IKEV2_BAD_CONFIG;
  }
  mem = m6ike_mem_or_default(mem);
  ike = m6ike_calloc(mem, 1, sizeof *ike);
  if (ike == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  ike->mem = mem;
  ike->crypto = crypto;
  ike->cfg = c;
  ike->cbs = *cbs;
  ike->next_sa_id = 1;
  ike->next_child_id = 1;
  ike->hash_mask = (1u << c.hash_bits) - 1;
  ike->by_local = m6ike_calloc(mem, (size_t)ike->hash_mask + 1,
                               sizeof(ike_sa *));
  ike->by_init = m6ike_calloc(mem, (size_t)ike->hash_mask + 1,
                              sizeof(ike_sa *));
  ike->scratch = m6ike_malloc(mem, c.max_msg);
  ike->plain = m6ike_malloc(mem, c.max_msg_in);
  if (!ike->by_local || !ike->by_init || !ike->scratch || !ike->plain) {
    m6ike_ikev2_del(ike);
    return M6IKE_ERR_NOMEM;
  }
  *pike = ike;
  return 0;
}

static void task_list_free(ike_sa *sa, ike_task *t) {
  while (t) {
    ike_task *n = t->next;
    t->ops->destroy(t, sa);
    t = n;
  }
}

/* Frees an SA; callbacks only if report. */
static void sa_free(ike_sa *sa, int report) {
  m6ike_ikev2 *ike = sa->ike;
  child_sa *c = sa->children;
  while (c) {
    child_sa *n = c->next;
    if (report && c->installed && ike->cbs.child_sa_down) {
      ike->cbs.child_sa_down(&c->info, sa->dead_reason, ike->cbs.user_data);
    }
    memset(c, 0, sizeof *c);
    ike_free(ike, c);
    c = n;
  }
  sa->children = NULL;
  if (report && ike->cbs.ike_sa_down && (sa->initiator || sa->up_reported)) {
    ike->cbs.ike_sa_down(sa->id, sa->dead_reason, ike->cbs.user_data);
  }
  if (report && sa->ho_pending) {
    ike_ho_finish(ike, sa, sa->dead_reason ? sa->dead_reason
                                           : M6IKE_ERR_IKEV2_DELETED,
                  M6IKE_TSTAMP_UNSET);
  }
  if (report && !sa->up_reported && sa->state == M6IKE_IKEV2_SA_CONNECTING &&
      sa->dead_reason != 0) {
    ike->stats.ike_sas_failed++;
  }
  task_list_free(sa, sa->active);
  task_list_free(sa, sa->queued);
  m6ike_crypto_dh_del(sa->dh);
  ike_keys_clear(sa);
  ike_free(ike, sa->init_req);
  ike_free(ike, sa->init_resp);
  ike_free(ike, sa->req);
  ike_free(ike, sa->resp);
  if (sa->half_open) {
    ike->stats.half_open--;
  }
  if (sa->dead) {
    ike->n_dead--;
  }
  memset(sa, 0, sizeof *sa);
  ike_free(ike, sa);
}

static void sa_unlink(ike_sa *sa) {
  m6ike_ikev2 *ike = sa->ike;
  hash_remove(&ike->by_local[hash_spi(local_spi(sa))], sa, 0);
  if (!sa->initiator) {
    hash_remove(&ike->by_init[hash_spi(sa->spi_i)], sa, 1);
  }
  if (sa->prev) {
    sa->prev->next = sa->next;
  } else {
    ike->all = sa->next;
  }
  if (sa->next) {
    sa->next->prev = sa->prev;
  }
  ike->n_sas--;
}

void m6ike_ikev2_del(m6ike_ikev2 *ike) {
  if (ike == NULL) {
    return;
  }
  while (ike->all) {
    ike_sa *sa = ike->all;
    sa_unlink(sa);
    sa_free(sa, 0);
  }
  while (ike->out_head) {
    out_pkt *p = ike->out_head;
    ike->out_head = p->next;
    ike_free(ike, p);
  }
  while (ike->peers) {
    peer_entry *p = ike->peers;
    ike->peers = p->next;
    memset(p, 0, sizeof *p);
    ike_free(ike, p);
  }
  ike_free(ike, ike->by_local);
  ike_free(ike, ike->by_init);
  ike_free(ike, ike->scratch);
  ike_free(ike, ike->plain);
  m6ike_free(ike->mem, ike);
}

int m6ike_ikev2_add_peer(m6ike_ikev2 *ike, const m6ike_ikev2_peer_cfg *pc,
                         const m6ike_ikev2_child_cfg *children,
                         size_t n_children) {
  peer_entry *p, **pp;
  int rc;
  if (ike == NULL || pc == NULL || (n_children && children == NULL)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if ((rc = ike_check_peer(pc)) != 0) {
    return rc;
  }
  for (size_t i = 0; i < n_children; i++) {
    if ((rc = ike_check_child(&children[i])) != 0) {
      return rc;
    }
  }
  p = ike_alloc(ike, sizeof *p + n_children * sizeof(m6ike_ikev2_child_cfg));
  if (p == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  p->next = NULL;
  p->pc = *pc;
  p->n_children = n_children;
  if (n_children) {
    memcpy(p->children, children, n_children * sizeof *children);
  }
  for (pp = &ike->peers; *pp; pp = &(*pp)->next) {
  }
  *pp = p;
  return 0;
}

/* ---- SA life cycle ----------------------------------------------------------- */

int ike_new_ike_spi(m6ike_ikev2 *ike, uint64_t *spi) {
  uint8_t b[8];
  for (int i = 0; i < SPI_DRAWS; i++) {
    int rc = ike_random(ike, b, 8);
    if (rc != 0) {
      return rc;
    }
    m6ike_get_u64be(b, spi);
    if (*spi != 0 && find_local(ike, *spi) == NULL) {
      return 0;
    }
  }
  return M6IKE_ERR_RANDOM;
}

static ike_sa *sa_new(m6ike_ikev2 *ike, int initiator) {
  ike_sa *sa = m6ike_calloc(ike->mem, 1, sizeof *sa);
  if (sa == NULL) {
    return NULL;
  }
  sa->ike = ike;
  sa->initiator = initiator;
  sa->state = M6IKE_IKEV2_SA_CONNECTING;
  sa->deadline = M6IKE_TSTAMP_UNSET;
  sa->retrans_at = M6IKE_TSTAMP_UNSET;
  return sa;
}

/* Links an SA into the tables (local SPI set). */
static void sa_link(ike_sa *sa) {
  m6ike_ikev2 *ike = sa->ike;
  uint32_t h = hash_spi(local_spi(sa));
  sa->id = ike->next_sa_id++;
  if (ike->next_sa_id == 0) {
    ike->next_sa_id = 1;
  }
  sa->hnext_local = ike->by_local[h];
  ike->by_local[h] = sa;
  if (!sa->initiator) {
    h = hash_spi(sa->spi_i);
    sa->hnext_init = ike->by_init[h];
    ike->by_init[h] = sa;
  }
  sa->next = ike->all;
  if (ike->all) {
    ike->all->prev = sa;
  }
  ike->all = sa;
  ike->n_sas++;
}

void ike_sa_kill(ike_sa *sa, int reason) {
  if (!sa->dead) {
    sa->dead = 1;
    sa->ike->n_dead++;
    sa->dead_reason = reason;
    ike_log(sa->ike, reason ? M6IKE_IKEV2_LOG_ERROR : M6IKE_IKEV2_LOG_INFO,
            sa->id, "IKE SA deleted: %s",
            reason ? m6ike_strerror(reason) : "orderly");
  }
}

static void sweep(m6ike_ikev2 *ike) {
  ike_sa *sa = ike->all;
  while (sa && ike->n_dead) {
    ike_sa *n = sa->next;
    if (sa->dead) {
      sa_unlink(sa);
      sa_free(sa, 1);
      /* callbacks may not re-enter, so n is still valid */
    }
    sa = n;
  }
}

void ike_sa_queue_task(ike_sa *sa, ike_task *t) {
  ike_task **pp = &sa->queued;
  while (*pp) {
    pp = &(*pp)->next;
  }
  t->next = NULL;
  *pp = t;
}

void ike_sa_established(ike_sa *sa) {
  m6ike_ikev2 *ike = sa->ike;
  if (sa->up_reported) {
    return;
  }
  sa->up_reported = 1;
  sa->state = M6IKE_IKEV2_SA_ESTABLISHED;
  sa->deadline = M6IKE_TSTAMP_UNSET;
  if (sa->half_open) {
    sa->half_open = 0;
    ike->stats.half_open--;
  }
  ike->stats.ike_sas_up++;
  /* RFC 7296 §2.15: the IKE_SA_INIT messages are no longer needed. */
  ike_free(ike, sa->init_req);
  ike_free(ike, sa->init_resp);
  sa->init_req = sa->init_resp = NULL;
  m6ike_crypto_dh_del(sa->dh);
  sa->dh = NULL;
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
          "IKE SA established %016llx_i %016llx_r",
          (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
  if (ike->cbs.ike_sa_up) {
    m6ike_ikev2_ike_info info;
    m6ike_ikev2_get_ike_info(ike, sa->id, &info);
    ike->cbs.ike_sa_up(&info, ike->cbs.user_data);
  }
}

int ike_sa_add_child(ike_sa *sa, child_sa *c) {
  m6ike_ikev2 *ike = sa->ike;
  c->info.sa_id = sa->id;
  c->info.child_id = ike->next_child_id++;
  if (ike->next_child_id == 0) {
    ike->next_child_id = 1;
  }
  c->info.local = sa->path.local;
  c->info.remote = sa->path.remote;
  if (c->info.mode != M6IKE_IKEV2_MODE_TUNNEL) {
    /* transport mode: the selectors' addresses are the SA's */
    if (c->info.n_ts_local && c->info.n_ts_remote) {
      memcpy(c->info.local.b, c->info.ts_local[0].start_addr, 16);
      memcpy(c->info.remote.b, c->info.ts_remote[0].start_addr, 16);
    }
  }
  if (ike->cbs.child_sa_up &&
      ike->cbs.child_sa_up(&c->info, ike->cbs.user_data) != 0) {
    memset(c, 0, sizeof *c);
    ike_free(ike, c);
    return M6IKE_ERR_IKEV2_CALLBACK;
  }
  c->installed = 1;
  c->next = sa->children;
  sa->children = c;
  ike->stats.child_sas_up++;
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
          "CHILD_SA %u established spi in %08x out %08x",
          (unsigned)c->info.child_id, (unsigned)c->info.spi_in,
          (unsigned)c->info.spi_out);
  return 0;
}

child_sa *ike_sa_find_child_spi_in(ike_sa *sa, uint32_t spi) {
  for (child_sa *c = sa->children; c; c = c->next) {
    if (c->info.spi_in == spi) {
      return c;
    }
  }
  return NULL;
}

child_sa *ike_sa_find_child_spi_out(ike_sa *sa, uint32_t spi) {
  for (child_sa *c = sa->children; c; c = c->next) {
    if (c->info.spi_out == spi) {
      return c;
    }
  }
  return NULL;
}

void ike_sa_remove_child(ike_sa *sa, child_sa *c, int reason) {
  m6ike_ikev2 *ike = sa->ike;
  child_sa **pp = &sa->children;
  while (*pp && *pp != c) {
    pp = &(*pp)->next;
  }
  if (*pp == NULL) {
    return;
  }
  *pp = c->next;
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
          "CHILD_SA %u deleted spi in %08x out %08x",
          (unsigned)c->info.child_id, (unsigned)c->info.spi_in,
          (unsigned)c->info.spi_out);
  if (c->installed && ike->cbs.child_sa_down) {
    ike->cbs.child_sa_down(&c->info, reason, ike->cbs.user_data);
  }
  memset(c, 0, sizeof *c);
  ike_free(ike, c);
}

static child_sa *find_child(const m6ike_ikev2 *ike, uint32_t child_id,
                            ike_sa **owner) {
  for (ike_sa *sa = ike->all; sa; sa = sa->next) {
    for (child_sa *c = sa->children; c; c = c->next) {
      if (c->info.child_id == child_id) {
        *owner = sa;
        return c;
      }
    }
  }
  return NULL;
}

/* ---- building and sending messages ---------------------------------------- */

static int is_encrypted(uint8_t exchange) {
  return exchange != M6IKE_IKEV2_IKE_SA_INIT;
}

static void make_hdr(const ike_sa *sa, m6ike_ikev2_hdr *h, uint8_t exchange,
                     int response, uint32_t mid) {
  memset(h, 0, sizeof *h);
  h->ispi = sa->spi_i;
  h->rspi = sa->spi_r;
  h->major = M6IKE_IKEV2_MAJOR;
  h->exchange = exchange;
  h->flags = (uint8_t)((sa->initiator ? M6IKE_IKEV2_FLAG_I : 0) |
                       (response ? M6IKE_IKEV2_FLAG_R : 0));
  h->msg_id = mid;
}

static uint8_t *dup_bytes(m6ike_ikev2 *ike, const uint8_t *p, size_t n) {
  uint8_t *q = ike_alloc(ike, n ? n : 1);
  if (q) {
    memcpy(q, p, n);
  }
  return q;
}

/* Builds the request of sa->active into sa->req and queues it. */
static int send_request(ike_sa *sa, m6ike_tstamp now) {
  m6ike_ikev2 *ike = sa->ike;
  m6ike_ikev2_hdr h;
  m6ike_ikev2_sk_region r;
  ike_out o;
  int rc, len, enc = is_encrypted(sa->active_exchange);
  make_hdr(sa, &h, sa->active_exchange, 0, sa->mid_out);
  o.now = now;
  m6ike_ikev2_builder_begin(&o.b, ike->scratch, ike->cfg.max_msg, &h);
  if (enc && (rc = ike_sk_begin(sa, &o.b)) < 0) {
    return rc;
  }
  for (ike_task *t = sa->active; t; t = t->next) {
    if ((rc = t->ops->build_i(t, sa, &o)) < 0) {
      return rc;
    }
  }
  if (enc && (rc = ike_sk_end(sa, &o.b, &r)) < 0) {
    return rc;
  }
  len = m6ike_ikev2_builder_finish(&o.b);
  if (len < 0) {
    ike_log(ike, M6IKE_IKEV2_LOG_ERROR, sa->id, "building request: %s",
            m6ike_strerror(len));
    return len == M6IKE_ERR_NOBUF ? M6IKE_ERR_IKEV2_LIMIT : len;
  }
  if (enc && (rc = ike_sk_protect(sa, ike->scratch, (size_t)len, &r)) < 0) {
    return rc;
  }
  ike_free(ike, sa->req);
  sa->req = dup_bytes(ike, ike->scratch, (size_t)len);
  if (sa->req == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  sa->req_len = (size_t)len;
  if (sa->active_exchange == M6IKE_IKEV2_IKE_SA_INIT) {
    ike_free(ike, sa->init_req);
    sa->init_req = dup_bytes(ike, ike->scratch, (size_t)len);
    if (sa->init_req == NULL) {
      return M6IKE_ERR_IKEV2_SA_NOMEM;
    }
    sa->init_req_len = (size_t)len;
  }
  sa->rto = ike->cfg.retrans_timeout;
  sa->retrans_count = 0;
  sa->retrans_at = now + sa->rto;
  enqueue(ike, &sa->path, sa->req, sa->req_len);
  return 0;
}

/* Starts the next queued exchange if none is in flight. */
static int start_next(ike_sa *sa, m6ike_tstamp now) {
  ike_task **pp, *t;
  uint8_t x;
  int rc;
  if (sa->dead || sa->active || sa->queued == NULL) {
    return 0;
  }
  /* The first queued task and the following ones of the same exchange. */
  x = sa->queued->exchange;
  pp = &sa->active;
  while ((t = sa->queued) != NULL && t->exchange == x) {
    sa->queued = t->next;
    t->next = NULL;
    *pp = t;
    pp = &t->next;
    if (x == M6IKE_IKEV2_IKE_SA_INIT) {
      break; /* IKE_SA_INIT is one task */
    }
  }
  sa->active_exchange = x;
  rc = send_request(sa, now);
  if (rc < 0) {
    ike_sa_kill(sa, rc == M6IKE_ERR_NOMEM ? M6IKE_ERR_IKEV2_SA_NOMEM : rc);
  }
  return rc;
}

/* Responder: builds the response to request mid, caches and queues it. */
static int send_response(ike_sa *sa, uint8_t exchange, uint32_t mid,
                         ike_task *tasks, ike_in *in, m6ike_tstamp now) {
  m6ike_ikev2 *ike = sa->ike;
  m6ike_ikev2_hdr h;
  m6ike_ikev2_sk_region r;
  ike_out o;
  int rc, len, enc = is_encrypted(exchange) && sa->c_out != NULL;
  make_hdr(sa, &h, exchange, 1, mid);
  o.now = now;
  m6ike_ikev2_builder_begin(&o.b, ike->scratch, ike->cfg.max_msg, &h);
  if (enc && (rc = ike_sk_begin(sa, &o.b)) < 0) {
    return rc;
  }
  if (in->err_notify) {
    m6ike_ikev2_add_notify_data(&o.b, in->err_notify,
                                in->err_len ? in->err_data : NULL, in->err_len);
  } else {
    for (ike_task *t = tasks; t; t = t->next) {
      if ((rc = t->ops->build_r(t, sa, &o)) < 0) {
        return rc;
      }
    }
  }
  if (enc && (rc = ike_sk_end(sa, &o.b, &r)) < 0) {
    return rc;
  }
  len = m6ike_ikev2_builder_finish(&o.b);
  if (len < 0) {
    return len == M6IKE_ERR_NOBUF ? M6IKE_ERR_IKEV2_LIMIT : len;
  }
  if (enc && (rc = ike_sk_protect(sa, ike->scratch, (size_t)len, &r)) < 0) {
    return rc;
  }
  ike_free(ike, sa->resp);
  sa->resp = dup_bytes(ike, ike->scratch, (size_t)len);
  if (sa->resp == NULL) {
    sa->have_resp = 0;
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  sa->resp_len = (size_t)len;
  sa->have_resp = 1;
  sa->mid_in = mid + 1;
  /* RFC 7296 §2.11: to where the request came from */
  enqueue(ike, in->path ? in->path : &sa->path, sa->resp, sa->resp_len);
  return 0;
}

/* A response outside any SA: header copied from the request. */
static void send_stateless(m6ike_ikev2 *ike, const m6ike_ikev2_path *path,
                           const m6ike_ikev2_hdr *req, uint16_t type,
                           const uint8_t *data, size_t len) {
  m6ike_ikev2_hdr h = *req;
  m6ike_ikev2_builder b;
  int n;
  h.flags = M6IKE_IKEV2_FLAG_R |
            ((req->flags & M6IKE_IKEV2_FLAG_I) ? 0 : M6IKE_IKEV2_FLAG_I);
  h.major = M6IKE_IKEV2_MAJOR;
  h.minor = 0;
  m6ike_ikev2_builder_begin(&b, ike->scratch, ike->cfg.max_msg, &h);
  m6ike_ikev2_add_notify_data(&b, type, data, len);
  n = m6ike_ikev2_builder_finish(&b);
  if (n > 0) {
    enqueue(ike, path, ike->scratch, (size_t)n);
  }
}

/* ---- initiate ------------------------------------------------------------------ */

int ike_initiate_sa(m6ike_ikev2 *ike, const m6ike_ikev2_peer_cfg *pc,
                    const m6ike_ikev2_child_cfg *children, size_t n,
                    m6ike_tstamp now, ike_sa **out) {
  ike_sa *sa;
  ike_task *t;
  int rc;
  if (ike->n_sas >= ike->cfg.max_ike_sas) {
    return M6IKE_ERR_IKEV2_LIMIT;
  }
  sa = sa_new(ike, 1);
  if (sa == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  sa->peer = *pc;
  if (n > 0) {
    /* The policy for CHILD_SAs the peer creates on this SA later. */
    sa->first_child = children[0];
    sa->has_first_child = 1;
  }
  sa->path = pc->path;
  if (sa->path.remote_port == 0) sa->path.remote_port = 500;
  if (sa->path.local_port == 0) sa->path.local_port = 500;
  if ((rc = ike_new_ike_spi(ike, &sa->spi_i)) != 0) {
    sa_free(sa, 0);
    return rc;
  }
  for (size_t i = 0; i < n + 2; i++) {
    if (i == 0) {
      t = task_ike_init_new(sa);
    } else if (i == 1) {
      t = task_ike_auth_new(sa);
      if (t && pc->cp_request) {
        ike_task *cfg = task_ike_config_new(sa);
        if (cfg == NULL) {
          t->ops->destroy(t, sa);
          t = NULL;
        } else {
          ike_sa_queue_task(sa, t);
          t = cfg;
        }
      }
    } else {
      t = task_child_create_new(sa, &children[i - 2],
                                i == 2 ? M6IKE_IKEV2_IKE_AUTH
                                       : M6IKE_IKEV2_CREATE_CHILD_SA);
    }
    if (t == NULL) {
      sa_free(sa, 0);
      return M6IKE_ERR_IKEV2_SA_NOMEM;
    }
    ike_sa_queue_task(sa, t);
  }
  sa_link(sa);
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id, "initiating IKE SA %016llx_i",
          (unsigned long long)sa->spi_i);
  rc = start_next(sa, now);
  if (rc < 0) {
    /* Not reported through ike_sa_down: the caller gets the code. */
    sa_unlink(sa);
    sa_free(sa, 0);
    return rc == M6IKE_ERR_NOMEM ? M6IKE_ERR_IKEV2_SA_NOMEM : rc;
  }
  *out = sa;
  return 0;
}

int m6ike_ikev2_initiate(m6ike_ikev2 *ike, const m6ike_ikev2_peer_cfg *pc,
                         const m6ike_ikev2_child_cfg *cc, m6ike_tstamp now,
                         uint32_t *sa_id) {
  ike_sa *sa;
  int rc;
  if (ike == NULL || pc == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if ((rc = ike_check_peer(pc)) != 0 ||
      (cc && (rc = ike_check_child(cc)) != 0)) {
    return rc;
  }
  if (m6ike_addr6_is_unspecified(&pc->path.remote)) {
    return M6IKE_ERR_IKEV2_BAD_CONFIG; /* nowhere to send IKE_SA_INIT */
  }
  rc = ike_initiate_sa(ike, pc, cc, cc ? 1 : 0, now, &sa);
  if (rc == 0 && sa_id) {
    *sa_id = sa->id;
  }
  return rc;
}

int ike_sa_rekeyed(ike_sa *old, int initiator, uint64_t spi_i,
                   uint64_t spi_r, const m6ike_ikev2_algs *alg,
                   const uint8_t *ni, size_t ni_len, const uint8_t *nr,
                   size_t nr_len, const uint8_t *g_ir, size_t g_len,
                   ike_sa **out) {
  m6ike_ikev2 *ike = old->ike;
  ike_sa *ns;
  int rc;
  if (ni_len > sizeof old->ni || nr_len > sizeof old->nr) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  ns = sa_new(ike, initiator);
  if (ns == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  ns->spi_i = spi_i;
  ns->spi_r = spi_r;
  ns->peer = old->peer;
  ns->pe = old->pe;
  ns->first_child = old->first_child;
  ns->has_first_child = old->has_first_child;
  ns->path = old->path;
  ns->alg = *alg;
  ns->mpi = old->mpi;
  ns->hoa = old->hoa;
  memcpy(ns->ni, ni, ni_len);
  ns->ni_len = ni_len;
  memcpy(ns->nr, nr, nr_len);
  ns->nr_len = nr_len;
  rc = ike_keys_derive_rekey(ns, g_ir, g_len, old->alg.prf, old->k.sk_d,
                             old->k.prf_len);
  if (rc < 0) {
    sa_free(ns, 0);
    return rc;
  }
  ns->children = old->children;
  old->children = NULL;
  sa_link(ns);
  for (child_sa *c = ns->children; c; c = c->next) {
    c->info.sa_id = ns->id;
  }
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, old->id, "IKE SA rekeyed as IKE SA %u",
          (unsigned)ns->id);
  ike_sa_established(ns);
  *out = ns;
  return 0;
}

void ike_initial_contact(ike_sa *sa) {
  for (ike_sa *s = sa->ike->all; s; s = s->next) {
    if (s != sa && !s->dead && s->state == M6IKE_IKEV2_SA_ESTABLISHED &&
        s->peer.remote_id.type == sa->peer.remote_id.type &&
        s->peer.remote_id.len == sa->peer.remote_id.len &&
        memcmp(s->peer.remote_id.data, sa->peer.remote_id.data,
               s->peer.remote_id.len) == 0) {
      ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, s->id,
              "INITIAL_CONTACT on IKE SA %u: dropping this one",
              (unsigned)sa->id);
      ike_sa_kill(s, M6IKE_ERR_IKEV2_DELETED);
    }
  }
}

void ike_start_queued(m6ike_ikev2 *ike, ike_sa *sa, m6ike_tstamp now) {
  if (sa) {
    start_next(sa, now);
  }
  sweep(ike);
}

/* ---- requests the host asks for ------------------------------------------- */

static int run_user_task(ike_sa *sa, ike_task *t, m6ike_tstamp now) {
  m6ike_ikev2 *ike = sa->ike;
  int rc;
  if (t == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  ike_sa_queue_task(sa, t);
  rc = start_next(sa, now);
  sweep(ike);
  return rc < 0 ? (rc == M6IKE_ERR_NOMEM ? M6IKE_ERR_IKEV2_SA_NOMEM : rc) : 0;
}

static int usable_sa(m6ike_ikev2 *ike, uint32_t sa_id, m6ike_tstamp now,
                     ike_sa **out) {
  ike_sa *sa;
  if (ike == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  sa = find_id(ike, sa_id);
  if (sa == NULL) {
    return M6IKE_ERR_IKEV2_NO_SA;
  }
  if (sa->dead) {
    return M6IKE_ERR_IKEV2_BUSY;
  }
  if (sa->state != M6IKE_IKEV2_SA_ESTABLISHED) {
    return M6IKE_ERR_INVALID_STATE;
  }
  *out = sa;
  return 0;
}

int m6ike_ikev2_create_child(m6ike_ikev2 *ike, uint32_t sa_id,
                             const m6ike_ikev2_child_cfg *cc,
                             m6ike_tstamp now) {
  ike_sa *sa;
  int rc = usable_sa(ike, sa_id, now, &sa);
  if (rc != 0) {
    return rc;
  }
  if (cc == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if ((rc = ike_check_child(cc)) != 0) {
    return rc;
  }
  return run_user_task(
      sa, task_child_create_new(sa, cc, M6IKE_IKEV2_CREATE_CHILD_SA), now);
}

static int child_op(m6ike_ikev2 *ike, uint32_t child_id, m6ike_tstamp now,
                    ike_sa **psa, child_sa **pc) {
  int rc;
  if (ike == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pc = find_child(ike, child_id, psa);
  if (*pc == NULL) {
    return M6IKE_ERR_IKEV2_NO_SA;
  }
  rc = usable_sa(ike, (*psa)->id, now, psa);
  if (rc == 0 && (*pc)->rekeyed) {
    rc = M6IKE_ERR_IKEV2_BUSY;
  }
  return rc;
}

int m6ike_ikev2_rekey_child(m6ike_ikev2 *ike, uint32_t child_id,
                            m6ike_tstamp now) {
  ike_sa *sa;
  child_sa *c;
  int rc = child_op(ike, child_id, now, &sa, &c);
  if (rc != 0) {
    return rc;
  }
  return run_user_task(sa, task_child_rekey_new(sa, c), now);
}

int m6ike_ikev2_delete_child(m6ike_ikev2 *ike, uint32_t child_id,
                             m6ike_tstamp now) {
  ike_sa *sa;
  child_sa *c;
  int rc = child_op(ike, child_id, now, &sa, &c);
  if (rc != 0) {
    return rc;
  }
  c->rekeyed = 1; /* no further operations on it */
  return run_user_task(sa, task_child_delete_new(sa, &c->info.spi_in, 1),
                       now);
}

int m6ike_ikev2_delete_ike(m6ike_ikev2 *ike, uint32_t sa_id,
                           m6ike_tstamp now) {
  ike_sa *sa;
  int rc = usable_sa(ike, sa_id, now, &sa);
  if (rc != 0) {
    return rc;
  }
  return run_user_task(sa, task_ike_delete_new(sa), now);
}

int m6ike_ikev2_mobike_update(m6ike_ikev2 *ike, uint32_t sa_id,
                              const m6ike_addr6 *local, m6ike_tstamp now) {
  ike_sa *sa;
  int rc = usable_sa(ike, sa_id, now, &sa);
  if (rc != 0) {
    return rc;
  }
  if (local == NULL || m6ike_addr6_is_unspecified(local)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (!sa->mobike || !sa->initiator) {
    return M6IKE_ERR_INVALID_STATE;
  }
  sa->path.local = *local;
  ike_move_children(sa, local, 1);
  return run_user_task(sa, task_mobike_new(sa), now);
}

int m6ike_ikev2_rekey_ike(m6ike_ikev2 *ike, uint32_t sa_id,
                          m6ike_tstamp now) {
  ike_sa *sa;
  int rc = usable_sa(ike, sa_id, now, &sa);
  if (rc != 0) {
    return rc;
  }
  return run_user_task(sa, task_ike_rekey_new(sa), now);
}

int m6ike_ikev2_liveness(m6ike_ikev2 *ike, uint32_t sa_id, m6ike_tstamp now) {
  ike_sa *sa;
  int rc = usable_sa(ike, sa_id, now, &sa);
  if (rc != 0) {
    return rc;
  }
  return run_user_task(sa, task_ike_dpd_new(sa), now);
}

int m6ike_ikev2_forget_peer(m6ike_ikev2 *ike, const m6ike_addr6 *remote,
                            m6ike_tstamp now) {
  int n = 0;
  if (ike == NULL || remote == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (ike_sa *sa = ike->all; sa; sa = sa->next) {
    if (!sa->dead && m6ike_addr6_equal(&sa->path.remote, remote)) {
      ike_sa_kill(sa, M6IKE_ERR_IKEV2_DELETED);
      n++;
    }
  }
  sweep(ike);
  return n;
}

int m6ike_ikev2_report_invalid_spi(m6ike_ikev2 *ike, uint32_t sa_id,
                                   uint32_t spi, m6ike_tstamp now) {
  ike_sa *sa;
  int rc = usable_sa(ike, sa_id, now, &sa);
  if (rc != 0) {
    return rc;
  }
  return run_user_task(sa, task_invalid_spi_new(sa, spi), now);
}

int m6ike_ikev2_get_child_info(const m6ike_ikev2 *ike, uint32_t child_id,
                               m6ike_ikev2_child_info *info) {
  ike_sa *sa;
  child_sa *c;
  if (ike == NULL || info == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  c = find_child(ike, child_id, &sa);
  if (c == NULL) {
    return M6IKE_ERR_IKEV2_NO_SA;
  }
  *info = c->info;
  return 0;
}

size_t m6ike_ikev2_child_count(const m6ike_ikev2 *ike, uint32_t sa_id) {
  const ike_sa *sa = ike ? find_id(ike, sa_id) : NULL;
  size_t n = 0;
  for (const child_sa *c = sa ? sa->children : NULL; c; c = c->next) {
    n++;
  }
  return n;
}

/* ---- receiving --------------------------------------------------------------- */

/* Decrypts (if needed) and validates a message of sa. */
static int open_msg(m6ike_ikev2 *ike, ike_sa *sa, m6ike_ikev2_msg *msg) {
  int rc;
  if (is_encrypted(msg->hdr.exchange)) {
    if (sa == NULL || sa->c_in == NULL) {
      return M6IKE_ERR_IKEV2_UNEXPECTED;
    }
    if (msg->sk < 0) {
      return M6IKE_ERR_IKEV2_SYNTAX;
    }
    rc = ike_sk_unprotect(sa, msg, ike->plain);
    if (rc < 0) {
      if (rc == M6IKE_ERR_IKEV2_INTEGRITY) {
        ike->stats.integrity_fail++;
      }
      return rc;
    }
  }
  rc = m6ike_ikev2_decode_all(msg);
  if (rc < 0) {
    return rc;
  }
  rc = m6ike_ikev2_check_exchange(msg);
  return rc < 0 ? rc : 0;
}

/* Creates the responder tasks for a request.  Returns the list, or NULL
 * with *err set (NOMEM, UNEXPECTED). */
static ike_task *responder_tasks(ike_sa *sa, const m6ike_ikev2_msg *msg,
                                 int *err) {
  ike_task *a = NULL, *b = NULL, *c = NULL;
  *err = 0;
  switch (msg->hdr.exchange) {
  case M6IKE_IKEV2_IKE_SA_INIT:
    a = task_ike_init_new(sa);
    break;
  case M6IKE_IKEV2_IKE_AUTH:
    if (sa->state != M6IKE_IKEV2_SA_CONNECTING || sa->initiator) {
      *err = M6IKE_ERR_IKEV2_UNEXPECTED;
      return NULL;
    }
    a = task_ike_auth_new(sa);
    b = task_ike_config_new(sa);
    c = task_child_create_new(sa, NULL, M6IKE_IKEV2_IKE_AUTH);
    if (!a || !b || !c) {
      if (a) a->ops->destroy(a, sa);
      if (b) b->ops->destroy(b, sa);
      if (c) c->ops->destroy(c, sa);
      a = NULL;
    }
    if (a) {
      a->next = b;
      b->next = c;
    }
    break;
  case M6IKE_IKEV2_CREATE_CHILD_SA:
    if (sa->state != M6IKE_IKEV2_SA_ESTABLISHED) {
      *err = M6IKE_ERR_IKEV2_UNEXPECTED;
      return NULL;
    }
    {
      const m6ike_ikev2_payload *sap = ike_find_pl(msg, M6IKE_IKEV2_PL_SA);
      m6ike_ikev2_sa sap_d;
      m6ike_ikev2_proposal p0;
      size_t pos = 0;
      if (sap && m6ike_ikev2_decode_sa(sap, &sap_d) == 0 &&
          m6ike_ikev2_sa_next_proposal(&sap_d, &pos, &p0) &&
          p0.proto == M6IKE_IKEV2_PROTO_IKE) {
        a = task_ike_rekey_new(sa);
        break;
      }
    }
    a = task_child_create_new(sa, NULL, M6IKE_IKEV2_CREATE_CHILD_SA);
    break;
  case M6IKE_IKEV2_INFORMATIONAL: {
    int del_ike = 0, del_esp = 0;
    if (sa->state != M6IKE_IKEV2_SA_ESTABLISHED) {
      *err = M6IKE_ERR_IKEV2_UNEXPECTED;
      return NULL;
    }
    for (unsigned i = 0; i < msg->count; i++) {
      m6ike_ikev2_delete d;
      if (msg->pl[i].type == M6IKE_IKEV2_PL_DELETE &&
          m6ike_ikev2_decode_delete(&msg->pl[i], &d) == 0) {
        del_ike |= d.proto == M6IKE_IKEV2_PROTO_IKE;
        del_esp |= d.proto == M6IKE_IKEV2_PROTO_ESP;
      }
    }
    m6ike_ikev2_notify n;
    if (m6ike_ikev2_find_notify(msg, M6IKE_IKEV2_N_M6IKE_SA_ADDRESS_UPDATE,
                                &n) >= 0) {
      a = task_m6ike_update_responder_new(sa);
    } else if (m6ike_ikev2_find_notify(msg, M6IKE_IKEV2_N_UPDATE_SA_ADDRESSES,
                                       &n) >= 0) {
      a = task_mobike_new(sa);
    } else if (del_ike) {
      a = task_ike_delete_new(sa);
    } else if (m6ike_ikev2_find_notify(msg, M6IKE_IKEV2_N_INVALID_SPI, &n) >=
               0) {
      a = task_invalid_spi_new(sa, 0);
    } else if (del_esp) {
      a = task_child_delete_new(sa, NULL, 0);
    } else {
      a = task_ike_dpd_new(sa);
    }
    break;
  }
  default:
    *err = M6IKE_ERR_IKEV2_UNEXPECTED;
    return NULL;
  }
  if (a == NULL) {
    *err = M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  return a;
}

/* Runs the responder side of one request on sa. */
static int handle_request(ike_sa *sa, m6ike_ikev2_msg *msg,
                          const m6ike_ikev2_path *path, m6ike_tstamp now) {
  ike_in in;
  ike_task *tasks;
  int rc = 0, err;
  memset(&in, 0, sizeof in);
  in.msg = msg;
  in.path = path;
  in.now = now;
  tasks = responder_tasks(sa, msg, &err);
  if (tasks == NULL) {
    return err;
  }
  for (ike_task *t = tasks; t; t = t->next) {
    rc = t->ops->process_r(t, sa, &in);
    if (rc < 0 || in.err_notify) {
      break;
    }
  }
  if (rc < 0 && !in.err_notify) {
    uint16_t n = m6ike_ikev2_error_notify(rc);
    if (n == 0 && rc != M6IKE_ERR_IKEV2_SA_NOMEM && rc != M6IKE_ERR_RANDOM) {
      n = M6IKE_IKEV2_N_INVALID_SYNTAX;
    }
    in.err_notify = n;
    in.err = rc;
  }
  if (in.err_notify && in.err == 0) {
    in.err = M6IKE_ERR_IKEV2_SYNTAX;
  }
  if (in.err_notify && msg->hdr.exchange == M6IKE_IKEV2_IKE_SA_INIT) {
    sa->spi_r = 0; /* a stateless error response (the SA is dropped) */
  }
  if (!(in.err == M6IKE_ERR_IKEV2_SA_NOMEM || in.err == M6IKE_ERR_RANDOM)) {
    int src = send_response(sa, msg->hdr.exchange, msg->hdr.msg_id, tasks,
                            &in, now);
    if (src < 0 && in.err == 0) {
      in.err = src;
    }
  }
  task_list_free(sa, tasks);
  return in.err;
}

/* Initiator side: the response to our request in flight. */
static int handle_response(ike_sa *sa, m6ike_ikev2_msg *msg,
                           const m6ike_ikev2_path *path, m6ike_tstamp now) {
  ike_in in;
  ike_task **pp;
  int rc = 0, retry = 0;
  memset(&in, 0, sizeof in);
  in.msg = msg;
  in.path = path;
  in.now = now;
  for (pp = &sa->active; *pp;) {
    ike_task *t = *pp;
    rc = t->ops->process_i(t, sa, &in);
    if (rc < 0) {
      ike_sa_kill(sa, rc);
      return rc;
    }
    if (rc == TASK_RETRY) {
      retry = 1;
      pp = &t->next;
    } else if (rc == TASK_NEED_MORE) {
      pp = &t->next;
    } else {
      *pp = t->next;
      t->ops->destroy(t, sa);
    }
  }
  ike_free(sa->ike, sa->req);
  sa->req = NULL;
  sa->retrans_at = M6IKE_TSTAMP_UNSET;
  if (retry) {
    if (sa->active_exchange != M6IKE_IKEV2_IKE_SA_INIT) {
      sa->mid_out++; /* a new exchange with the same tasks */
    }
    rc = send_request(sa, now);
    if (rc < 0) {
      ike_sa_kill(sa, rc);
    }
    return rc;
  }
  /* Tasks that need more go back to the front of the queue. */
  if (sa->active) {
    ike_task *last = sa->active;
    while (last->next) last = last->next;
    last->next = sa->queued;
    sa->queued = sa->active;
    sa->active = NULL;
  }
  sa->mid_out++;
  rc = start_next(sa, now);
  ike_ho_check(sa, now);
  return rc < 0 ? rc : 0;
}

/* RFC 7296 §2.6: cookie = version (1 octet, 0) | prf(secret, Ni | IPi |
 * SPIi).  The secret is not rotated (a long-running daemon should). */
static int make_cookie(m6ike_ikev2 *ike, const m6ike_ikev2_blob *ni,
                       const m6ike_addr6 *ipi, uint64_t spi_i,
                       uint8_t out[33]) {
  uint8_t spi[8];
  m6ike_crypto_chunk ch[3];
  int rc;
  if (!ike->have_cookie_secret) {
    if ((rc = ike_random(ike, ike->cookie_secret, 32)) != 0) {
      return rc;
    }
    ike->have_cookie_secret = 1;
  }
  m6ike_put_u64be(spi, spi_i);
  ch[0].ptr = ni->data;
  ch[0].len = ni->len;
  ch[1].ptr = ipi->b;
  ch[1].len = 16;
  ch[2].ptr = spi;
  ch[2].len = 8;
  out[0] = 0;
  rc = m6ike_crypto_prfv(ike->crypto, M6IKE_PRF_HMAC_SHA2_256,
                         ike->cookie_secret, 32, ch, 3, out + 1);
  return rc < 0 ? ike_crypto_err(rc) : 0;
}

/* Above the half-open threshold an IKE_SA_INIT request needs a valid
 * COOKIE; without one it gets a stateless N(COOKIE).  0 = go on. */
static int check_cookie(m6ike_ikev2 *ike, const m6ike_ikev2_msg *msg,
                        const m6ike_ikev2_path *path) {
  m6ike_ikev2_blob ni;
  m6ike_ikev2_notify n;
  uint8_t want[33];
  const m6ike_ikev2_payload *np;
  int rc;
  if (ike->cfg.cookie_threshold == 0 ||
      ike->stats.half_open < ike->cfg.cookie_threshold) {
    return 0;
  }
  np = ike_find_pl(msg, M6IKE_IKEV2_PL_NONCE);
  if (np == NULL || m6ike_ikev2_decode_nonce(np, &ni) < 0) {
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  if ((rc = make_cookie(ike, &ni, &path->remote, msg->hdr.ispi, want)) < 0) {
    return rc;
  }
  if (m6ike_ikev2_find_notify(msg, M6IKE_IKEV2_N_COOKIE, &n) >= 0 &&
      n.len == sizeof want && m6ike_crypto_memeq(n.data, want, sizeof want)) {
    return 0;
  }
  {
    m6ike_ikev2_hdr h = msg->hdr;
    h.rspi = 0;
    send_stateless(ike, path, &h, M6IKE_IKEV2_N_COOKIE, want, sizeof want);
  }
  ike_log(ike, M6IKE_IKEV2_LOG_INFO, 0,
          "%u half-open SAs: IKE_SA_INIT answered with a COOKIE",
          (unsigned)ike->stats.half_open);
  return M6IKE_ERR_IKEV2_COOKIE;
}

/* A new IKE_SA_INIT request. */
static int new_responder_sa(m6ike_ikev2 *ike, m6ike_ikev2_msg *msg,
                            const m6ike_ikev2_path *path, m6ike_tstamp now) {
  ike_sa *sa;
  int rc;
  if (msg->hdr.msg_id != 0) {
    return M6IKE_ERR_IKEV2_MSGID;
  }
  if (ike->n_sas >= ike->cfg.max_ike_sas) {
    return M6IKE_ERR_IKEV2_LIMIT;
  }
  sa = sa_new(ike, 0);
  if (sa == NULL) {
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  sa->spi_i = msg->hdr.ispi;
  sa->path = *path;
  if ((rc = ike_new_ike_spi(ike, &sa->spi_r)) != 0) {
    sa_free(sa, 0);
    return rc;
  }
  rc = handle_request(sa, msg, path, now);
  if (rc < 0) {
    sa_free(sa, 0); /* the error response, if any, is queued */
    return rc;
  }
  sa->init_resp = dup_bytes(ike, sa->resp, sa->resp_len);
  sa->init_req = dup_bytes(ike, msg->buf, msg->len);
  if (!sa->init_resp || !sa->init_req) {
    sa_free(sa, 0);
    return M6IKE_ERR_IKEV2_SA_NOMEM;
  }
  sa->init_resp_len = sa->resp_len;
  sa->init_req_len = msg->len;
  sa->half_open = 1;
  ike->stats.half_open++;
  sa->deadline = now + ike->cfg.half_open_timeout;
  sa_link(sa);
  return 0;
}

int m6ike_ikev2_read_pkt(m6ike_ikev2 *ike, const m6ike_ikev2_path *path,
                         const uint8_t *data, size_t len, m6ike_tstamp now) {
  m6ike_ikev2_msg *msg;
  m6ike_ikev2_msg msgbuf;
  ike_sa *sa;
  int rc, response, from_initiator;
  unsigned x;
  if (ike == NULL || path == NULL || data == NULL ||
      now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (len > ike->cfg.max_msg_in) {
    ike->stats.dropped++;
    return M6IKE_ERR_IKEV2_LIMIT;
  }
  msg = &msgbuf;
  rc = m6ike_ikev2_parse(msg, data, len, 0);
  if (rc < 0) {
    ike->stats.dropped++;
    if (rc == M6IKE_ERR_IKEV2_HDR_TRUNCATED) {
      return M6IKE_ERR_IKEV2_SHORT;
    }
    /* Unauthenticated: only an IKE_SA_INIT request gets an answer. */
    if (msg->hdr.exchange == M6IKE_IKEV2_IKE_SA_INIT &&
        !(msg->hdr.flags & M6IKE_IKEV2_FLAG_R) && msg->hdr.rspi == 0) {
      uint16_t n = m6ike_ikev2_err_to_notify(rc);
      if (n == M6IKE_IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD) {
        send_stateless(ike, path, &msg->hdr, n, &msg->err_type, 1);
      } else if (n) {
        send_stateless(ike, path, &msg->hdr, n, NULL, 0);
      }
    }
    return rc;
  }
  response = (msg->hdr.flags & M6IKE_IKEV2_FLAG_R) != 0;
  from_initiator = (msg->hdr.flags & M6IKE_IKEV2_FLAG_I) != 0;
  x = (unsigned)msg->hdr.exchange - M6IKE_IKEV2_IKE_SA_INIT;
  if (x >= M6IKE_IKEV2_X_COUNT) {
    ike->stats.dropped++;
    return M6IKE_ERR_IKEV2_UNKNOWN_EXCHANGE;
  }

  if (msg->hdr.exchange == M6IKE_IKEV2_IKE_SA_INIT && !response) {
    if (!from_initiator || msg->hdr.rspi != 0) {
      ike->stats.dropped++;
      return M6IKE_ERR_IKEV2_UNEXPECTED;
    }
    sa = find_init(ike, msg->hdr.ispi, &path->remote);
    if (sa) {
      if (msg->hdr.msg_id == 0 && sa->have_resp && sa->mid_in == 1 &&
          sa->init_req && sa->init_req_len == len &&
          memcmp(sa->init_req, data, len) == 0) {
        ike->stats.dup_requests++;
        enqueue(ike, &sa->path, sa->resp, sa->resp_len);
        return 0;
      }
      ike->stats.dropped++;
      return M6IKE_ERR_IKEV2_MSGID;
    }
    rc = open_msg(ike, NULL, msg);
    if (rc < 0) {
      uint16_t n = m6ike_ikev2_err_to_notify(rc);
      ike->stats.dropped++;
      if (n) {
        send_stateless(ike, path, &msg->hdr, n, NULL, 0);
      }
      return rc;
    }
    rc = check_cookie(ike, msg, path);
    if (rc < 0) {
      ike->stats.dropped++;
      return rc;
    }
    ike->stats.msgs_in[x]++;
    ike->stats.bytes_in[x] += len;
    rc = new_responder_sa(ike, msg, path, now);
    if (rc < 0) {
      ike->stats.dropped++;
    }
    return rc;
  }

  sa = find_local(ike, from_initiator ? msg->hdr.rspi : msg->hdr.ispi);
  if (sa && (sa->initiator == from_initiator ||
             (msg->hdr.exchange != M6IKE_IKEV2_IKE_SA_INIT &&
              (from_initiator ? sa->spi_i != msg->hdr.ispi
                              : sa->spi_r != msg->hdr.rspi)))) {
    sa = NULL;
  }
  if (sa == NULL || sa->dead) {
    ike->stats.dropped++;
    if (!response && msg->hdr.exchange != M6IKE_IKEV2_IKE_SA_INIT) {
      /* RFC 7296 §2.21.4: unprotected INVALID_IKE_SPI, as a response. */
      send_stateless(ike, path, &msg->hdr, M6IKE_IKEV2_N_INVALID_IKE_SPI,
                     NULL, 0);
    }
    return M6IKE_ERR_IKEV2_UNKNOWN_SPI;
  }

  if (response) {
    if (sa->active == NULL || msg->hdr.msg_id != sa->mid_out ||
        msg->hdr.exchange != sa->active_exchange) {
      ike->stats.dropped++;
      return M6IKE_ERR_IKEV2_MSGID;
    }
    if (msg->hdr.exchange == M6IKE_IKEV2_IKE_SA_INIT && sa->spi_r == 0 &&
        msg->hdr.rspi != 0) {
      /* learnt below by the init task (the SA is found by our SPI) */
    }
    rc = open_msg(ike, sa, msg);
    if (rc < 0) {
      ike->stats.dropped++;
      if (rc != M6IKE_ERR_IKEV2_INTEGRITY) {
        ike_sa_kill(sa, M6IKE_ERR_IKEV2_SYNTAX);
        sweep(ike);
      }
      return rc;
    }
    ike->stats.msgs_in[x]++;
    ike->stats.bytes_in[x] += len;
    sa->last_rx = now;
    rc = handle_response(sa, msg, path, now);
    sweep(ike);
    return rc;
  }

  /* A request on an existing SA. */
  if (sa->have_resp && msg->hdr.msg_id + 1 == sa->mid_in) {
    ike->stats.dup_requests++;
    enqueue(ike, path, sa->resp, sa->resp_len);
    return 0;
  }
  if (msg->hdr.msg_id != sa->mid_in) {
    ike->stats.dropped++;
    return M6IKE_ERR_IKEV2_MSGID;
  }
  rc = open_msg(ike, sa, msg);
  if (rc >= 0 && (sa->nat_local || sa->nat_remote) &&
      (path->local_port != sa->path.local_port ||
       path->remote_port != sa->path.remote_port)) {
    /* RFC 7296 §2.23: behind a NAT, answer where the latest authenticated
     * request came from (the initiator floated to port 4500). */
    sa->path.local_port = path->local_port;
    sa->path.remote_port = path->remote_port;
  }
  if (rc < 0) {
    ike->stats.dropped++;
    if (rc == M6IKE_ERR_IKEV2_INTEGRITY || rc == M6IKE_ERR_IKEV2_UNEXPECTED) {
      return rc;
    }
    /* Authentic but malformed: INVALID_SYNTAX, protected (§2.21.2). */
    {
      ike_in in;
      memset(&in, 0, sizeof in);
      in.err_notify = M6IKE_IKEV2_N_INVALID_SYNTAX;
      send_response(sa, msg->hdr.exchange, msg->hdr.msg_id, NULL, &in, now);
    }
    if (msg->hdr.exchange == M6IKE_IKEV2_IKE_AUTH) {
      ike_sa_kill(sa, M6IKE_ERR_IKEV2_SYNTAX);
      sweep(ike);
    }
    return M6IKE_ERR_IKEV2_SYNTAX;
  }
  ike->stats.msgs_in[x]++;
  ike->stats.bytes_in[x] += len;
  sa->last_rx = now;
  rc = handle_request(sa, msg, path, now);
  if (rc < 0) {
    ike->stats.dropped++;
    if (msg->hdr.exchange == M6IKE_IKEV2_IKE_AUTH) {
      ike_sa_kill(sa, rc);
    }
  } else {
    start_next(sa, now);
  }
  sweep(ike);
  return rc;
}

/* ---- timers ------------------------------------------------------------------ */

/* When the liveness check of sa is due (RFC 7296 §1.4: only when nothing
 * was heard for cfg.liveness_idle and no request of ours is pending),
 * UNSET if never. */
static m6ike_tstamp liveness_due(const m6ike_ikev2 *ike, const ike_sa *sa) {
  if (ike->cfg.liveness_idle == 0 || sa->dead ||
      sa->state != M6IKE_IKEV2_SA_ESTABLISHED || sa->req || sa->active ||
      sa->queued || sa->last_rx == 0) {
    return M6IKE_TSTAMP_UNSET;
  }
  return sa->last_rx + ike->cfg.liveness_idle;
}

m6ike_tstamp m6ike_ikev2_get_expiry(const m6ike_ikev2 *ike) {
  m6ike_tstamp t = M6IKE_TSTAMP_UNSET;
  if (ike == NULL) {
    return t;
  }
  for (const ike_sa *sa = ike->all; sa; sa = sa->next) {
    if (sa->req && sa->retrans_at < t) {
      t = sa->retrans_at;
    }
    if (sa->deadline < t) {
      t = sa->deadline;
    }
    if (liveness_due(ike, sa) < t) {
      t = liveness_due(ike, sa);
    }
  }
  return t;
}

int m6ike_ikev2_handle_expiry(m6ike_ikev2 *ike, m6ike_tstamp now) {
  if (ike == NULL || now == M6IKE_TSTAMP_UNSET) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  for (ike_sa *sa = ike->all; sa; sa = sa->next) {
    if (sa->dead) {
      continue;
    }
    if (sa->deadline <= now) {
      ike_sa_kill(sa, M6IKE_ERR_IKEV2_TIMEOUT);
      continue;
    }
    if (sa->req && sa->retrans_at <= now) {
      if (sa->retrans_count >= ike->cfg.retrans_tries) {
        ike_sa_kill(sa, M6IKE_ERR_IKEV2_TIMEOUT);
        continue;
      }
      sa->retrans_count++;
      ike->stats.retransmits++;
      sa->rto *= 2;
      if (sa->rto > ike->cfg.retrans_max) {
        sa->rto = ike->cfg.retrans_max;
      }
      sa->retrans_at = now + sa->rto;
      ike_log(ike, M6IKE_IKEV2_LOG_DEBUG, sa->id, "retransmit %u of mid %u",
              sa->retrans_count, (unsigned)sa->mid_out);
      enqueue(ike, &sa->path, sa->req, sa->req_len);
      continue;
    }
    if (liveness_due(ike, sa) <= now) {
      ike_task *t = task_ike_dpd_new(sa);
      ike_log(ike, M6IKE_IKEV2_LOG_INFO, sa->id,
              "liveness check: nothing received for %llu ms",
              (unsigned long long)((now - sa->last_rx) / 1000000u));
      if (t == NULL) {
        ike_sa_kill(sa, M6IKE_ERR_IKEV2_SA_NOMEM);
        continue;
      }
      ike->stats.liveness_checks++;
      ike_sa_queue_task(sa, t);
      (void)start_next(sa, now); /* a failure kills the SA */
    }
  }
  sweep(ike);
  return 0;
}

/* ---- accessors ----------------------------------------------------------------- */

int m6ike_ikev2_get_ike_info(const m6ike_ikev2 *ike, uint32_t sa_id,
                             m6ike_ikev2_ike_info *info) {
  const ike_sa *sa;
  if (ike == NULL || info == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  sa = find_id(ike, sa_id);
  if (sa == NULL) {
    return M6IKE_ERR_IKEV2_NO_SA;
  }
  memset(info, 0, sizeof *info);
  info->sa_id = sa->id;
  info->initiator = sa->initiator;
  info->spi_i = sa->spi_i;
  info->spi_r = sa->spi_r;
  info->path = sa->path;
  info->alg = sa->alg;
  info->local_id = sa->peer.local_id;
  info->remote_id = sa->peer.remote_id;
  info->nat_local = sa->nat_local;
  info->nat_remote = sa->nat_remote;
  info->mobike = sa->mobike;
  info->cp_got = sa->cp_got;
  info->cp_addr = sa->cp_addr;
  info->cp_addr_plen = sa->cp_addr_plen;
  info->cp_prefix = sa->cp_prefix;
  info->cp_prefix_plen = sa->cp_prefix_plen;
  info->cp_prefix_lifetime = sa->cp_prefix_lifetime;
  return 0;
}

int m6ike_ikev2_get_state(const m6ike_ikev2 *ike, uint32_t sa_id) {
  const ike_sa *sa = ike ? find_id(ike, sa_id) : NULL;
  if (sa == NULL) {
    return M6IKE_ERR_IKEV2_NO_SA;
  }
  return sa->dead ? M6IKE_IKEV2_SA_DELETING : (int)sa->state;
}

size_t m6ike_ikev2_count(const m6ike_ikev2 *ike) {
  return ike ? ike->n_sas : 0;
}

void m6ike_ikev2_get_stats(const m6ike_ikev2 *ike, m6ike_ikev2_stats *st) {
  if (st == NULL) {
    return;
  }
  if (ike == NULL) {
    memset(st, 0, sizeof *st);
    return;
  }
  *st = ike->stats;
}
