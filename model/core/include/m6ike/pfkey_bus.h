/*
 * pfkey_bus: the kernel side of PF_KEY, sans-I/O.
 *
 * Endpoints stand for PF_KEY sockets and are opened with a role:
 *   KEY_MANAGER  an IKE daemon: registers per SA type, receives ACQUIRE,
 *                EXPIRE and MIGRATE, manages SAs/SPs through the kernel
 *                handler;
 *   MOBILITY     the MIPv6 daemon: originates ACQUIRE (with the paper's
 *                Reference extension) and X_MIGRATE, and manages security
 *                POLICIES (X_SPDADD, X_SPDUPDATE, X_SPDDELETE: e.g. the
 *                tunnel policies' endpoints that follow the CoA); may NOT
 *                touch keys (main paper §II/§IV: the MIPv6 daemon is an SA
 *                consumer, key management belongs to IKE).  Why policies:
 *                that is how MIPv6 daemons work in practice -- UMIP
 *                installs its RFC 4877 policies itself (through XFRM, the
 *                Linux equivalent of these messages), because only the
 *                mobility side knows when the CoA and thus the tunnel
 *                endpoints change; leaving them to the key manager would
 *                need a second channel from the MIPv6 daemon to IKE;
 * and the bus itself is the KERNEL originator (m6ike_pfkey_bus_acquire()
 * for a policy miss, m6ike_pfkey_bus_expire()).
 *
 * Routing of m6ike_pfkey_bus_send(bus, ep, msg, len, now):
 *   every message      decoded LENIENT (unknown extensions are skipped, as
 *                      Linux's af_key does); a decode error refuses it;
 *                      sadb_msg_errno set by a sender refuses it;
 *   REGISTER (KM)      satype 1..9 recorded (twice: refused, EEXIST); the
 *                      reply, carrying SUPPORTED_AUTH/ENCRYPT from the
 *                      config, is queued to that KM only; satype UNSPEC
 *                      only returns the list;
 *   ACQUIRE (MOBILITY) ADDRESS_SRC, ADDRESS_DST, PROPOSAL required; satype
 *                      must be AH, ESP or IPCOMP; a Reference, if present,
 *                      is checked by the mpi_valid callback if configured;
 *                      then broadcast to every KM registered for the
 *                      satype (verbatim); none registered: refused;
 *   X_MIGRATE (MOB.)   ADDRESS_SRC, ADDRESS_DST, X_POLICY with one or more
 *                      (old, new) ipsecrequest pairs carrying tunnel
 *                      endpoints; KMADDRESS optional; handed to the
 *                      kernel's migrate callback (if any, first, as Linux
 *                      updates its own state before telling the KMs), then
 *                      broadcast to every KM endpoint (registered or not,
 *                      as Linux does);
 *   GETSPI UPDATE ADD DELETE GET FLUSH DUMP X_SPDUPDATE X_SPDADD
 *   X_SPDDELETE X_SPDGET X_SPDDUMP X_SPDFLUSH X_SPDDELETE2 (KM; MOBILITY
 *   for X_SPDADD, X_SPDUPDATE and X_SPDDELETE only)
 *                      handed to the kernel handler, which answers with
 *                      m6ike_pfkey_bus_reply(); no handler: refused;
 *                      with config.sa_notify, an ADD / UPDATE / DELETE the
 *                      handler accepted from a KM is then copied to every
 *                      open MOBILITY endpoint with its KEY_AUTH and
 *                      KEY_ENCRYPT extensions removed (Linux's af_key
 *                      broadcasts these to every PF_KEY socket; a mobility
 *                      daemon learns "the SA is up, send the BU now" from
 *                      them without ever seeing a key);
 *   anything else, and any of the above from the wrong role: refused.
 *   EXPIRE is originated only by the kernel side.
 *
 * A refused message returns a negative code to the sender, counts in the
 * stats, and (as Linux's pfkey_error() does) an error reply is queued to
 * the sender: the sender's 16-octet sadb_msg header with sadb_msg_len = 2
 * and sadb_msg_errno set.  Errno mapping (Linux numbers):
 *   decode errors, missing ext, bad satype, bad MIGRATE   EINVAL  22
 *   wrong role for the message, errno set by sender       EPERM    1
 *   no kernel handler / unsupported message type          EOPNOTSUPP 95
 *   Reference MPI refused by mpi_valid                    ENOENT   2
 *   no KM registered for the ACQUIRE's satype             ESRCH    3
 *   already registered for the satype                     EEXIST  17
 *   a recipient queue full (direct replies)               ENOBUFS 105
 *   kernel handler/migrate callback failure               its errno
 * If the sender's own queue is full the error reply is dropped (counted).
 *
 * Delivery: each endpoint has a FIFO queue (limit from the config); a
 * broadcast skips full queues and counts the drop, like a full socket
 * receive buffer.  m6ike_pfkey_bus_recv() pops the next message; an
 * optional per-endpoint notify callback runs whenever one is queued.
 * Callbacks must not re-enter the bus, except the kernel handler which
 * calls m6ike_pfkey_bus_reply().
 *
 * No global state; all memory through the m6ike_mem given to _new().
 */
#ifndef M6IKE_PFKEY_BUS_H
#define M6IKE_PFKEY_BUS_H

#include "m6ike/common.h"
#include "m6ike/pfkey.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bus error codes (-550..-599; strings through m6ike_pfkey_strerror_). */
enum {
  M6IKE_ERR_PFKEY_BUS_ROLE = -550,        /* sender's role may not send it */
  M6IKE_ERR_PFKEY_BUS_NO_HANDLER = -551,  /* no kernel handler configured */
  M6IKE_ERR_PFKEY_BUS_UNKNOWN_MPI = -552, /* mpi_valid refused the MPI */
  M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT = -553, /* no such (open) endpoint */
  M6IKE_ERR_PFKEY_BUS_QUEUE_FULL = -554,  /* recipient queue full */
  M6IKE_ERR_PFKEY_BUS_NO_KM = -555,       /* no KM registered for satype */
  M6IKE_ERR_PFKEY_BUS_SATYPE = -556,      /* satype invalid for the msg */
  M6IKE_ERR_PFKEY_BUS_REGISTERED = -557,  /* already registered */
  M6IKE_ERR_PFKEY_BUS_HANDLER = -558,     /* handler/callback returned errno */
  M6IKE_ERR_PFKEY_BUS_MIGRATE = -559,     /* X_MIGRATE policy malformed */
  M6IKE_ERR_PFKEY_BUS_UNSUPPORTED = -560, /* message type not routed */
  M6IKE_ERR_PFKEY_BUS_NOT_IN_HANDLER = -561 /* reply() outside a handler */
};

/* Strings for -550..-599; NULL otherwise. */
const char *m6ike_pfkey_bus_strerror_(int code);

/* Linux errno values written into error replies. */
enum {
  M6IKE_PFKEY_EPERM = 1,
  M6IKE_PFKEY_ENOENT = 2,
  M6IKE_PFKEY_ESRCH = 3,
  M6IKE_PFKEY_EEXIST = 17,
  M6IKE_PFKEY_EINVAL = 22,
  M6IKE_PFKEY_EOPNOTSUPP = 95,
  M6IKE_PFKEY_ENOBUFS = 105
};

typedef enum m6ike_pfkey_role {
  M6IKE_PFKEY_ROLE_KEY_MANAGER = 1,
  M6IKE_PFKEY_ROLE_MOBILITY = 2
} m6ike_pfkey_role;

typedef struct m6ike_pfkey_bus m6ike_pfkey_bus;
/* Endpoint handle: 1, 2, ... in opening order; 0 is never valid. */
typedef uint32_t m6ike_pfkey_ep;

/*
 * The kernel side the IPsec unit will implement.  Each callback returns 0
 * or a positive Linux errno (reported to the sender in an error reply and
 * as M6IKE_ERR_PFKEY_BUS_HANDLER from send()).
 *   handle:  an SA/SP management message from a KM; answer with zero or
 *            more m6ike_pfkey_bus_reply(bus, from, ...) calls (several for
 *            DUMP).  raw/len are the message bytes, msg their decoding.
 *   migrate: an X_MIGRATE from the mobility side, before the broadcast.
 */
typedef struct m6ike_pfkey_kernel_cbs {
  void *user_data;
  int (*handle)(m6ike_pfkey_bus *bus, m6ike_pfkey_ep from,
                const m6ike_pfkey_msg *msg, const uint8_t *raw, size_t len,
                m6ike_tstamp now, void *user_data);
  int (*migrate)(const m6ike_pfkey_msg *msg, m6ike_tstamp now,
                 void *user_data);
} m6ike_pfkey_kernel_cbs;

typedef struct m6ike_pfkey_bus_config {
  const m6ike_pfkey_alg *auth_algs; /* REGISTER reply, copied at _new() */
  size_t n_auth;
  const m6ike_pfkey_alg *enc_algs;
  size_t n_enc;
  size_t queue_limit; /* messages per endpoint; 0 = 128 */
  /* Optional: non-zero if mpi names a live MSRD entry (paper §IV: the
   * kernel checks the Reference before forwarding it). */
  int (*mpi_valid)(uint32_t mpi, void *user_data);
  void *mpi_user_data;
  m6ike_pfkey_kernel_cbs kernel; /* all-NULL = no IPsec unit yet */
  /* Non-zero: copy accepted ADD/UPDATE/DELETE (keys removed) to MOBILITY
   * endpoints (see Routing).  0 (default) = no such copies. */
  int sa_notify;
} m6ike_pfkey_bus_config;

typedef struct m6ike_pfkey_bus_stats {
  uint64_t sent;           /* send() calls accepted */
  uint64_t refused;        /* send() calls refused, all reasons */
  uint64_t refused_decode; /* ... of which malformed */
  uint64_t refused_role;   /* ... of which wrong role / errno set */
  uint64_t refused_mpi;    /* ... of which unknown MPI */
  uint64_t refused_no_handler;
  uint64_t refused_no_km;
  uint64_t delivered;      /* messages queued to endpoints */
  uint64_t dropped_full;   /* broadcast copies / error replies dropped */
  uint64_t error_replies;  /* error replies queued */
  uint64_t kernel_acquires;
  uint64_t kernel_expires;
  uint64_t sa_notified;    /* sa_notify copies queued */
} m6ike_pfkey_bus_stats;

/* Called after a message was queued for ep (queued = queue length). */
typedef void (*m6ike_pfkey_notify_cb)(m6ike_pfkey_ep ep, size_t queued,
                                      void *user_data);

/* Creates a bus.  cfg may be NULL (no algs, no callbacks).  0,
 * M6IKE_ERR_INVALID_ARGUMENT or M6IKE_ERR_NOMEM. */
int m6ike_pfkey_bus_new(m6ike_pfkey_bus **pbus,
                        const m6ike_pfkey_bus_config *cfg,
                        const m6ike_mem *mem);
/* Frees the bus, its endpoints and every queued message.  NULL is a no-op. */
void m6ike_pfkey_bus_del(m6ike_pfkey_bus *bus);

/* Opens an endpoint; pid is the sadb_msg_pid the endpoint uses (0 = its
 * handle).  0, M6IKE_ERR_INVALID_ARGUMENT or M6IKE_ERR_NOMEM. */
int m6ike_pfkey_bus_open(m6ike_pfkey_bus *bus, m6ike_pfkey_role role,
                         uint32_t pid, m6ike_pfkey_notify_cb notify,
                         void *user_data, m6ike_pfkey_ep *ep);
/* Closes an endpoint, dropping its queue and registrations.  0 or
 * M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT. */
int m6ike_pfkey_bus_close(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep);

/*
 * A message from an endpoint to the kernel side.  Returns the number of
 * endpoints the message (or its reply) was queued to (>= 0), or:
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT, any
 * m6ike_pfkey_decode() code, M6IKE_ERR_PFKEY_ERRNO, _MISSING_EXT,
 * _BUS_ROLE, _BUS_SATYPE, _BUS_REGISTERED, _BUS_UNKNOWN_MPI, _BUS_NO_KM,
 * _BUS_MIGRATE, _BUS_NO_HANDLER, _BUS_HANDLER, _BUS_UNSUPPORTED,
 * _BUS_QUEUE_FULL (the REGISTER reply could not be queued),
 * M6IKE_ERR_NOMEM (some copies may have been queued).
 */
int m6ike_pfkey_bus_send(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep,
                         const uint8_t *msg, size_t len, m6ike_tstamp now);

/*
 * Kernel-originated ACQUIRE (e.g. an outbound policy miss, optionally with
 * the Reference the kernel found in the MSRD).  Same checks and broadcast
 * as an ACQUIRE from the mobility side.  Returns the number of KMs reached
 * or the codes of send() (no error reply: there is no sender).
 */
int m6ike_pfkey_bus_acquire(m6ike_pfkey_bus *bus, const uint8_t *msg,
                            size_t len, m6ike_tstamp now);
/* Kernel-originated EXPIRE (SA and a lifetime required), broadcast to KMs
 * registered for its satype.  Count of KMs reached or a send() code. */
int m6ike_pfkey_bus_expire(m6ike_pfkey_bus *bus, const uint8_t *msg,
                           size_t len, m6ike_tstamp now);

/* From inside kernel.handle only: queue a reply to the sender.  0,
 * M6IKE_ERR_PFKEY_BUS_NOT_IN_HANDLER, a decode code, _BUS_QUEUE_FULL,
 * M6IKE_ERR_NOMEM. */
int m6ike_pfkey_bus_reply(m6ike_pfkey_bus *bus, m6ike_pfkey_ep to,
                          const uint8_t *msg, size_t len);

/*
 * Monitor: called with every message an endpoint sends (from = the sender,
 * to = 0: to the kernel side; refused ones included) and every message
 * queued to an endpoint (from = 0: the kernel side, replies, broadcasts and
 * error replies included; to = the recipient) -- what a PF_KEY socket in
 * promiscuous mode (SADB_X_PROMISC) would see, for debugging, tests and a
 * host's message log.  Must not re-enter the bus.  fn NULL turns it off.
 * bus NULL: no-op.
 */
typedef void (*m6ike_pfkey_monitor_cb)(m6ike_pfkey_ep from, m6ike_pfkey_ep to,
                                       const uint8_t *msg, size_t len,
                                       void *user_data);
void m6ike_pfkey_bus_set_monitor(m6ike_pfkey_bus *bus,
                                 m6ike_pfkey_monitor_cb fn, void *user_data);

/* Pops the next message for ep into buf.  Returns its length, 0 if none,
 * M6IKE_ERR_NOBUF (cap too small; the message stays queued),
 * M6IKE_ERR_PFKEY_BUS_NO_ENDPOINT or M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_pfkey_bus_recv(m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep, uint8_t *buf,
                         size_t cap);
/* Queue length of ep (0 for an unknown endpoint). */
size_t m6ike_pfkey_bus_pending(const m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep);
/* Non-zero if ep is a KM registered for satype. */
int m6ike_pfkey_bus_registered(const m6ike_pfkey_bus *bus, m6ike_pfkey_ep ep,
                               uint8_t satype);
void m6ike_pfkey_bus_get_stats(const m6ike_pfkey_bus *bus,
                               m6ike_pfkey_bus_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_PFKEY_BUS_H */
