/* pfkey_bus: the kernel side of PF_KEY (routing, checks, queues). */
#include "m6ike/pfkey_bus.h"

#include <string.h>

#include "bytes.h"
#include "mem.h"

#define DEFAULT_QUEUE_LIMIT 128

const char *m6ike_pfkey_bus_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_PFKEY_BUS_ROLE:
    return "pfkey bus: the sender's role may not send this message type "
           "(KMs may not send ACQUIRE/MIGRATE/EXPIRE; the mobility side may "
           "not manage SAs or register)";
  case M6IKE_ERR_PFKEY_BUS_NO_HANDLER:
    return "pfkey bus: SA/SP management message but no kernel handler is "
           "configured";
  case M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI:
    return "pfkey bus: the Reference extension's MPI was refused by "
           "mpi_valid";
  case M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT:
    return "pfkey bus: no such open endpoint";
  case M6IKE_ERR_PFKEY_BUS_QUEUE_FULL:
    return "pfkey bus: the recipient's queue is full";
  case M6IKE_ERR_PFKEY_BUS_NO_KM:
    return "pfkey bus: no key manager registered for the ACQUIRE's satype";
  case M6IKE_ERR_PFKEY_BUS_SATYPE:
    return "pfkey bus: sadb_msg_satype invalid for this message";
  case M6IKE_ERR_PFKEY_BUS_REGISTERED:
    return "pfkey bus: endpoint already registered for this satype";
  case M6IKE_ERR_PFKEY_BUS_HANDLER:
    return "pfkey bus: the kernel handler or migrate callback returned an "
           "errno";
  case M6IKE_ERR_PFKEY_BUS_MIGRATE:
    return "pfkey bus: X_MIGRATE policy must hold (old, new) ipsecrequest "
           "pairs of equal proto and mode carrying tunnel endpoints";
  case M6IKE_ERR_PFKEY_BUS_UNSUPPORTED:
    return "pfkey bus: message type not handled by the bus";
  case M6IKE_ERR_PFKEY_BUS_NOT_IN_HANDLER:
    return "pfkey bus: reply() called outside the kernel handler of that "
           "endpoint";
  default:
    return NULL;
  }
}

typedef struct qmsg {
  struct qmsg *next;
  size_t len;
  uint8_t data[];
} qmsg;

typedef struct endpoint {
  int open;
  m6ike_pfkey_role role;
  uint32_t pid;
  uint32_t registered; /* bit s: registered for satype s */
  m6ike_pfkey_notify_cb notify;
  void *user_data;
  qmsg *head, *tail;
  size_t n;
} endpoint;

struct m6ike_pfkey_bus {
  const m6ike_mem *mem;
  m6ike_pfkey_bus_config cfg;
  m6ike_pfkey_alg *auth, *enc; /* copies */
  endpoint *eps;
  size_t n_eps, cap_eps;
  size_t qlimit;
  m6ike_pfkey_bus_stats st;
  m6ike_pfkey_ep in_handler; /* endpoint whose request is being handled */
  size_t replies;            /* replies queued during that handler */
  m6ike_pfkey_monitor_cb monitor;
  void *monitor_ud;
};

void m6ike_pfkey_bus_set_monitor(m6ike_pfkey_bus *bus,
                                 m6ike_pfkey_monitor_cb fn, void *user_data) {
  if (bus != NULL) {
    bus->monitor = fn;
    bus->monitor_ud = user_data;
  }
}

static endpoint *ep_get(const m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep) {
  if (bus == NULL || ep == 0 || ep > bus->n_eps || !bus->eps[ep - 1].open) {
    return NULL;
  }
  return &bus->eps[ep - 1];
}

static m6ike_pfkey_alg *copy_algs(const m6ike_mem *mem,
                                  const m6ike_pfkey_alg *a, size_t n,
                                  int *err) {
  if (n == 0) {
    return NULL;
  }
  if (a == NULL || n > 65535) {
    *err = M6IKE_ERR_INVALID_ARGUMENT;
    return NULL;
  }
  m6ike_pfkey_alg *c = m6ike_malloc(mem, n * sizeof(*c));
  if (c == NULL) {
    *err = M6IKE_ERR_NOMEM;
    return NULL;
  }
  memcpy(c, a, n * sizeof(*c));
  return c;
}

int m6ike_pfkey_bus_new(m6ike_pfkey_bus **pbus,
                        const m6ike_pfkey_bus_config *cfg,
                        const m6ike_mem *mem) {
  if (pbus == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  *pbus = NULL;
  mem = m6ike_mem_or_default(mem);
  m6ike_pfkey_bus *bus = m6ike_calloc(mem, 1, sizeof(*bus));
  if (bus == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  bus->mem = mem;
  if (cfg) {
    bus->cfg = *cfg;
  }
  int err = 0;
  bus->auth = copy_algs(mem, bus->cfg.auth_algs, bus->cfg.n_auth, &err);
  if (err == 0) {
    bus->enc = copy_algs(mem, bus->cfg.enc_algs, bus->cfg.n_enc, &err);
  }
  if (err) {
    m6ike_pfkey_bus_del(bus);
    return err;
  }
  bus->cfg.auth_algs = bus->auth;
  bus->cfg.enc_algs = bus->enc;
  bus->qlimit = bus->cfg.queue_limit ? bus->cfg.queue_limit
                                     : DEFAULT_QUEUE_LIMIT;
  *pbus = bus;
  return 0;
}

static void queue_free(const m6ike_mem *mem, endpoint *e) {
  qmsg *q = e->head;
  while (q) {
    qmsg *next = q->next;
    m6ike_free(mem, q);
    q = next;
  }
  e->head = e->tail = NULL;
  e->n = 0;
}

void m6ike_pfkey_bus_del(m6ike_pfkey_bus *bus) {
  if (bus == NULL) {
    return;
  }
  const m6ike_mem *mem = bus->mem;
  for (size_t i = 0; i < bus->n_eps; i++) {
    queue_free(mem, &bus->eps[i]);
  }
  m6ike_free(mem, bus->eps);
  m6ike_free(mem, bus->auth);
  m6ike_free(mem, bus->enc);
  m6ike_free(mem, bus);
}

int m6ike_pfkey_bus_open(m6ike_pfkey_bus *bus, m6ike_pfkey_role role,
                         uint32_t pid, m6ike_pfkey_notify_cb notify,
                         void *user_data, m6ike_pfkey_ep *ep) {
  if (bus == NULL || ep == NULL ||
      (role != M6IKE_PFKEY_ROLE_KEY_MANAGER &&
       role != M6IKE_PFKEY_ROLE_MOBILITY) ||
      bus->n_eps >= UINT32_MAX - 1) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (bus->n_eps == bus->cap_eps) {
    size_t cap = bus->cap_eps ? bus->cap_eps * 2 : 4;
    endpoint *eps = m6ike_realloc(bus->mem, bus->eps, cap * sizeof(*eps));
    if (eps == NULL) {
      return M6IKE_ERR_NOMEM;
    }
    bus->eps = eps;
    bus->cap_eps = cap;
  }
  endpoint *e = &bus->eps[bus->n_eps++];
  memset(e, 0, sizeof(*e));
  e->open = 1;
  e->role = role;
  e->pid = pid ? pid : (uint32_t)bus->n_eps;
  e->notify = notify;
  e->user_data = user_data;
  *ep = (m6ike_pfkey_ep)bus->n_eps;
  return 0;
}

int m6ike_pfkey_bus_close(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep) {
  endpoint *e = ep_get(bus, ep);
  if (e == NULL) {
    return M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT;
  }
  queue_free(bus->mem, e);
  e->open = 0;
  e->registered = 0;
  return 0;
}

/* Queues a copy of data for ep.  0, _QUEUE_FULL or M6IKE_ERR_NOMEM. */
static int enqueue(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep,
                   const uint8_t *data, size_t len) {
  endpoint *e = &bus->eps[ep - 1];
  if (e->n >= bus->qlimit) {
    return M6IKE_ERR_PFKEY_BUS_QUEUE_FULL;
  }
  qmsg *q = m6ike_malloc(bus->mem, sizeof(*q) + len);
  if (q == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  q->next = NULL;
  q->len = len;
  memcpy(q->data, data, len);
  if (bus->monitor) {
    bus->monitor(0, ep, data, len, bus->monitor_ud);
  }
  if (e->tail) {
    e->tail->next = q;
  } else {
    e->head = q;
  }
  e->tail = q;
  e->n++;
  bus->st.delivered++;
  if (e->notify) {
    e->notify(ep, e->n, e->user_data);
  }
  return 0;
}

static uint8_t errno_for(int code) {
  switch (code) {
  case M6IKE_ERR_PFKEY_BUS_ROLE:
  case M6IKE_ERR_PFKEY_ERRNO:
    return M6IKE_PFKEY_EPERM;
  case M6IKE_ERR_PFKEY_BUS_NO_HANDLER:
  case M6IKE_ERR_PFKEY_BUS_UNSUPPORTED:
    return M6IKE_PFKEY_EOPNOTSUPP;
  case M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI:
    return M6IKE_PFKEY_ENOENT;
  case M6IKE_ERR_PFKEY_BUS_NO_KM:
    return M6IKE_PFKEY_ESRCH;
  case M6IKE_ERR_PFKEY_BUS_REGISTERED:
    return M6IKE_PFKEY_EEXIST;
  case M6IKE_ERR_PFKEY_BUS_QUEUE_FULL:
  case M6IKE_ERR_NOMEM:
    return M6IKE_PFKEY_ENOBUFS;
  default:
    return M6IKE_PFKEY_EINVAL;
  }
}

/* Refuses a message: stats, and an error reply to the sender (if any). */
static int refuse(m6ike_pfkey_bus *bus, m6ike_pfkey_ep from,
                  const uint8_t *raw, size_t len, int code, uint8_t err) {
  bus->st.refused++;
  switch (code) {
  case M6IKE_ERR_PFKEY_BUS_ROLE:
  case M6IKE_ERR_PFKEY_ERRNO:
    bus->st.refused_role++;
    break;
  case M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI:
    bus->st.refused_mpi++;
    break;
  case M6IKE_ERR_PFKEY_BUS_NO_HANDLER:
    bus->st.refused_no_handler++;
    break;
  case M6IKE_ERR_PFKEY_BUS_NO_KM:
    bus->st.refused_no_km++;
    break;
  default:
    if (code <= -501 && code >= -549) {
      bus->st.refused_decode++;
    }
    break;
  }
  if (from == 0) {
    return code;
  }
  uint8_t h[M6IKE_PFKEY_HDR_LEN];
  memset(h, 0, sizeof(h));
  if (len >= M6IKE_PFKEY_HDR_LEN) {
    memcpy(h, raw, sizeof(h));
  }
  h[0] = M6IKE_PF_KEY_V2;
  h[2] = err ? err : errno_for(code);
  m6ike_put_u16h(h + 4, 2);
  m6ike_put_u16h(h + 6, 0);
  if (enqueue(bus, from, h, sizeof(h)) == 0) {
    bus->st.error_replies++;
  } else {
    bus->st.dropped_full++;
  }
  return code;
}

/* Queues raw to every open KM matching satype (0 = every KM). */
static int broadcast(m6ike_pfkey_bus *bus, uint8_t satype, const uint8_t *raw,
                     size_t len) {
  int n = 0;
  for (size_t i = 0; i < bus->n_eps; i++) {
    endpoint *e = &bus->eps[i];
    if (!e->open || e->role != M6IKE_PFKEY_ROLE_KEY_MANAGER) {
      continue;
    }
    if (satype && !(e->registered & (1u << satype))) {
      continue;
    }
    int rc = enqueue(bus, (m6ike_pfkey_ep)(i + 1), raw, len);
    if (rc == M6IKE_ERR_NOMEM) {
      return rc;
    }
    if (rc < 0) {
      bus->st.dropped_full++;
    } else {
      n++;
    }
  }
  return n;
}

static size_t registered_kms(const m6ike_pfkey_bus *bus, uint8_t satype) {
  size_t n = 0;
  for (size_t i = 0; i < bus->n_eps; i++) {
    const endpoint *e = &bus->eps[i];
    if (e->open && e->role == M6IKE_PFKEY_ROLE_KEY_MANAGER &&
        (e->registered & (1u << satype))) {
      n++;
    }
  }
  return n;
}

static int acquire_satype_ok(uint8_t s) {
  return s == M6IKE_SADB_SATYPE_AH || s == M6IKE_SADB_SATYPE_ESP ||
         s == M6IKE_SADB_X_SATYPE_IPCOMP;
}

static int do_acquire(m6ike_pfkey_bus *bus, m6ike_pfkey_ep from,
                      const m6ike_pfkey_msg *m, const uint8_t *raw,
                      size_t len) {
  int rc = m6ike_pfkey_check_required(m);
  if (rc < 0) {
    return refuse(bus, from, raw, len, rc, 0);
  }
  if (!acquire_satype_ok(m->hdr.satype)) {
    return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_SATYPE, 0);
  }
  m6ike_pfkey_reference ref;
  if (m6ike_pfkey_get_reference(m, &ref) == 0 && bus->cfg.mpi_valid &&
      !bus->cfg.mpi_valid(ref.mpi, bus->cfg.mpi_user_data)) {
    return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI, 0);
  }
  if (registered_kms(bus, m->hdr.satype) == 0) {
    return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_NO_KM, 0);
  }
  rc = broadcast(bus, m->hdr.satype, raw, len);
  if (rc >= 0) {
    bus->st.sent++;
  }
  return rc;
}

static int migrate_policy_ok(const m6ike_pfkey_msg *m) {
  m6ike_pfkey_policy pol;
  if (m6ike_pfkey_get_policy(m, &pol) != 0 || pol.n_requests == 0 ||
      pol.n_requests % 2 != 0) {
    return 0;
  }
  for (size_t i = 0; i < pol.n_requests; i += 2) {
    m6ike_pfkey_ipsecrequest o, n;
    m6ike_pfkey_policy_request(&pol, i, &o);
    m6ike_pfkey_policy_request(&pol, i + 1, &n);
    if (!o.has_addrs || !n.has_addrs || o.proto != n.proto ||
        o.mode != n.mode) {
      return 0;
    }
  }
  return 1;
}

static int do_migrate(m6ike_pfkey_bus *bus, m6ike_pfkey_ep from,
                      const m6ike_pfkey_msg *m, const uint8_t *raw, size_t len,
                      m6ike_tstamp now) {
  int rc = m6ike_pfkey_check_required(m);
  if (rc < 0) {
    return refuse(bus, from, raw, len, rc, 0);
  }
  if (!migrate_policy_ok(m)) {
    return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_MIGRATE, 0);
  }
  if (bus->cfg.kernel.migrate) {
    int e = bus->cfg.kernel.migrate(m, now, bus->cfg.kernel.user_data);
    if (e != 0) {
      return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_HANDLER,
                    (uint8_t)(e > 0 && e < 256 ? e : M6IKE_PFKEY_EINVAL));
    }
  }
  rc = broadcast(bus, 0, raw, len);
  if (rc >= 0) {
    bus->st.sent++;
  }
  return rc;
}

static int do_register(m6ike_pfkey_bus *bus, m6ike_pfkey_ep from, endpoint *e,
                       const m6ike_pfkey_msg *m, const uint8_t *raw,
                       size_t len) {
  uint8_t s = m->hdr.satype;
  if (s > M6IKE_SADB_SATYPE_MAX) {
    return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_SATYPE, 0);
  }
  if (s != 0 && (e->registered & (1u << s))) {
    return refuse(bus, from, raw, len, M6IKE_ERR_PFKEY_BUS_REGISTERED, 0);
  }
  size_t n_enc = s == M6IKE_SADB_SATYPE_AH ? 0 : bus->cfg.n_enc;
  size_t cap = M6IKE_PFKEY_HDR_LEN + 16 + 8 * (bus->cfg.n_auth + n_enc);
  uint8_t *buf = m6ike_malloc(bus->mem, cap);
  if (buf == NULL) {
    return M6IKE_ERR_NOMEM;
  }
  m6ike_pfkey_builder b;
  m6ike_pfkey_builder_begin(&b, buf, cap, M6IKE_SADB_REGISTER, s, m->hdr.seq,
                            m->hdr.pid);
  if (bus->cfg.n_auth) {
    m6ike_pfkey_add_supported(&b, M6IKE_SADB_EXT_SUPPORTED_AUTH, bus->auth,
                              bus->cfg.n_auth);
  }
  if (n_enc) {
    m6ike_pfkey_add_supported(&b, M6IKE_SADB_EXT_SUPPORTED_ENCRYPT, bus->enc,
                              n_enc);
  }
  int rl = m6ike_pfkey_builder_finish(&b);
  int rc = rl < 0 ? rl : enqueue(bus, from, buf, (size_t)rl);
  m6ike_free(bus->mem, buf);
  if (rc == M6IKE_ERR_NOMEM) {
    return rc;
  }
  if (rc < 0) {
    return refuse(bus, from, raw, len, rc, 0);
  }
  if (s != 0) {
    e->registered |= 1u << s;
  }
  bus->st.sent++;
  return 1;
}

static int is_sa_management(uint8_t type) {
  switch (type) {
  case M6IKE_SADB_GETSPI:
  case M6IKE_SADB_UPDATE:
  case M6IKE_SADB_ADD:
  case M6IKE_SADB_DELETE:
  case M6IKE_SADB_GET:
  case M6IKE_SADB_FLUSH:
  case M6IKE_SADB_DUMP:
  case M6IKE_SADB_X_SPDUPDATE:
  case M6IKE_SADB_X_SPDADD:
  case M6IKE_SADB_X_SPDDELETE:
  case M6IKE_SADB_X_SPDGET:
  case M6IKE_SADB_X_SPDDUMP:
  case M6IKE_SADB_X_SPDFLUSH:
  case M6IKE_SADB_X_SPDDELETE2:
    return 1;
  default:
    return 0;
  }
}

/* What the MOBILITY role may send to the kernel handler: its own tunnel
 * policies, never keys (see the header). */
static int is_mobility_policy(uint8_t type) {
  return type == M6IKE_SADB_X_SPDADD || type == M6IKE_SADB_X_SPDUPDATE ||
         type == M6IKE_SADB_X_SPDDELETE;
}

/* sa_notify: a copy of a KM's accepted ADD/UPDATE/DELETE, with the key
 * extensions cut out, to every open MOBILITY endpoint.  Best effort, like
 * a broadcast: a full queue or a failed allocation drops that copy (counted
 * in dropped_full). */
static void notify_mobility(m6ike_pfkey_bus *bus, const uint8_t *raw,
                            size_t len) {
  uint8_t *c = m6ike_malloc(bus->mem, len);
  if (c == NULL) {
    bus->st.dropped_full++;
    return;
  }
  memcpy(c, raw, 16);
  size_t o = 16, n = 16;
  while (o + 4 <= len) { /* the message decoded: the walk stays inside */
    uint16_t el, et;
    memcpy(&el, raw + o, 2);
    memcpy(&et, raw + o + 2, 2);
    size_t ext = (size_t)el * 8;
    if (ext == 0 || ext > len - o) {
      break;
    }
    if (et != M6IKE_SADB_EXT_KEY_AUTH && et != M6IKE_SADB_EXT_KEY_ENCRYPT) {
      memcpy(c + n, raw + o, ext);
      n += ext;
    }
    o += ext;
  }
  uint16_t units = (uint16_t)(n / 8);
  memcpy(c + 4, &units, 2);
  for (size_t i = 0; i < bus->n_eps; i++) {
    const endpoint *e = &bus->eps[i];
    if (e->open && e->role == M6IKE_PFKEY_ROLE_MOBILITY) {
      if (enqueue(bus, (m6ike_pfkey_ep)(i + 1), c, n) == 0) {
        bus->st.sa_notified++;
      } else {
        bus->st.dropped_full++;
      }
    }
  }
  m6ike_free(bus->mem, c);
}

int m6ike_pfkey_bus_send(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep,
                         const uint8_t *raw, size_t len, m6ike_tstamp now) {
  if (bus == NULL || raw == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  endpoint *e = ep_get(bus, ep);
  if (e == NULL) {
    return M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT;
  }
  if (bus->monitor) {
    bus->monitor(ep, 0, raw, len, bus->monitor_ud);
  }
  m6ike_pfkey_msg m;
  int rc = m6ike_pfkey_decode(&m, raw, len, M6IKE_PFKEY_DEC_LENIENT);
  if (rc < 0) {
    return refuse(bus, ep, raw, len, rc, 0);
  }
  if (m.hdr.msg_errno != 0) {
    return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_ERRNO, 0);
  }
  const int km = e->role == M6IKE_PFKEY_ROLE_KEY_MANAGER;
  const int mob = e->role == M6IKE_PFKEY_ROLE_MOBILITY;
  uint8_t t = m.hdr.type;
  if (t == M6IKE_SADB_REGISTER) {
    if (!km) {
      return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_ROLE, 0);
    }
    return do_register(bus, ep, e, &m, raw, len);
  }
  if (t == M6IKE_SADB_ACQUIRE) {
    if (!mob) {
      return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_ROLE, 0);
    }
    return do_acquire(bus, ep, &m, raw, len);
  }
  if (t == M6IKE_SADB_X_MIGRATE) {
    if (!mob) {
      return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_ROLE, 0);
    }
    return do_migrate(bus, ep, &m, raw, len, now);
  }
  if (t == M6IKE_SADB_EXPIRE) {
    return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_ROLE, 0);
  }
  if (!is_sa_management(t)) {
    return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_UNSUPPORTED, 0);
  }
  if (!km && !(mob && is_mobility_policy(t))) {
    return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_ROLE, 0);
  }
  if (bus->cfg.kernel.handle == NULL) {
    return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_NO_HANDLER, 0);
  }
  bus->in_handler = ep;
  bus->replies = 0;
  int err = bus->cfg.kernel.handle(bus, ep, &m, raw, len, now,
                                   bus->cfg.kernel.user_data);
  bus->in_handler = 0;
  if (err != 0) {
    return refuse(bus, ep, raw, len, M6IKE_ERR_PFKEY_BUS_HANDLER,
                  (uint8_t)(err > 0 && err < 256 ? err : M6IKE_PFKEY_EINVAL));
  }
  bus->st.sent++;
  int replies = (int)bus->replies;
  if (bus->cfg.sa_notify && km &&
      (t == M6IKE_SADB_ADD || t == M6IKE_SADB_UPDATE ||
       t == M6IKE_SADB_DELETE)) {
    notify_mobility(bus, raw, len);
  }
  return replies;
}

int m6ike_pfkey_bus_reply(m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                          const uint8_t *raw, size_t len) {
  if (bus == NULL || raw == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (to == 0 || bus->in_handler != to) {
    return M6IKE_ERR_PFKEY_BUS_NOT_IN_HANDLER;
  }
  m6ike_pfkey_msg m;
  int rc = m6ike_pfkey_decode(&m, raw, len, M6IKE_PFKEY_DEC_LENIENT);
  if (rc < 0) {
    return rc;
  }
  rc = enqueue(bus, to, raw, len);
  if (rc == 0) {
    bus->replies++;
  }
  return rc;
}

int m6ike_pfkey_bus_acquire(m6ike_pfkey_bus *bus, const uint8_t *raw,
                            size_t len, m6ike_tstamp now) {
  (void)now;
  if (bus == NULL || raw == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_pfkey_msg m;
  int rc = m6ike_pfkey_decode(&m, raw, len, M6IKE_PFKEY_DEC_LENIENT);
  if (rc < 0) {
    return refuse(bus, 0, raw, len, rc, 0);
  }
  if (m.hdr.type != M6IKE_SADB_ACQUIRE) {
    return refuse(bus, 0, raw, len, M6IKE_ERR_PFKEY_BUS_UNSUPPORTED, 0);
  }
  rc = do_acquire(bus, 0, &m, raw, len);
  if (rc >= 0) {
    bus->st.kernel_acquires++;
  }
  return rc;
}

int m6ike_pfkey_bus_expire(m6ike_pfkey_bus *bus, const uint8_t *raw,
                           size_t len, m6ike_tstamp now) {
  (void)now;
  if (bus == NULL || raw == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  m6ike_pfkey_msg m;
  int rc = m6ike_pfkey_decode(&m, raw, len, M6IKE_PFKEY_DEC_LENIENT);
  if (rc < 0) {
    return refuse(bus, 0, raw, len, rc, 0);
  }
  if (m.hdr.type != M6IKE_SADB_EXPIRE) {
    return refuse(bus, 0, raw, len, M6IKE_ERR_PFKEY_BUS_UNSUPPORTED, 0);
  }
  if (m6ike_pfkey_check_required(&m) < 0 ||
      (!m6ike_pfkey_has(&m, M6IKE_SADB_EXT_LIFETIME_HARD) &&
       !m6ike_pfkey_has(&m, M6IKE_SADB_EXT_LIFETIME_SOFT))) {
    return refuse(bus, 0, raw, len, M6IKE_ERR_PFKEY_MISSING_EXT, 0);
  }
  if (m.hdr.satype == 0 || m.hdr.satype > M6IKE_SADB_SATYPE_MAX) {
    return refuse(bus, 0, raw, len, M6IKE_ERR_PFKEY_BUS_SATYPE, 0);
  }
  rc = broadcast(bus, m.hdr.satype, raw, len);
  if (rc >= 0) {
    bus->st.kernel_expires++;
  }
  return rc;
}

int m6ike_pfkey_bus_recv(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep, uint8_t *buf,
                         size_t cap) {
  if (bus == NULL || (buf == NULL && cap)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  endpoint *e = ep_get(bus, ep);
  if (e == NULL) {
    return M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT;
  }
  qmsg *q = e->head;
  if (q == NULL) {
    return 0;
  }
  if (q->len > cap) {
    return M6IKE_ERR_NOBUF;
  }
  memcpy(buf, q->data, q->len);
  int n = (int)q->len;
  e->head = q->next;
  if (e->head == NULL) {
    e->tail = NULL;
  }
  e->n--;
  m6ike_free(bus->mem, q);
  return n;
}

size_t m6ike_pfkey_bus_pending(const m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep) {
  const endpoint *e = ep_get(bus, ep);
  return e ? e->n : 0;
}

int m6ike_pfkey_bus_registered(const m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep,
                               uint8_t satype) {
  const endpoint *e = ep_get(bus, ep);
  return e && satype <= M6IKE_SADB_SATYPE_MAX &&
         (e->registered & (1u << satype)) != 0;
}

void m6ike_pfkey_bus_get_stats(const m6ike_pfkey_bus *bus,
                               m6ike_pfkey_bus_stats *stats) {
  if (stats == NULL) {
    return;
  }
  if (bus == NULL) {
    memset(stats, 0, sizeof(*stats));
    return;
  }
  *stats = bus->st;
}
