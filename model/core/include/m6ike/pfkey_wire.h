/*
 * pfkey_wire: framing of PF_KEY over a Unix-domain socket, sans-I/O.
 *
 * Issue 5 runs the mobility side, the key manager and the IPsec "kernel"
 * as separate processes; the kernel process hosts the m6ike_pfkey_bus and
 * each accepted connection becomes one bus endpoint.  A real PF_KEY socket
 * knows its peer from the socket itself; a Unix-domain connection does not,
 * so the connection starts with a HELLO naming the role the endpoint wants
 * (the kernel side may also check the peer's credentials, SO_PEERCRED, and
 * refuse a role the peer's uid may not have: that is the host's policy, not
 * the codec's).  After the HELLO, each direction carries whole RFC 2367
 * messages, unchanged: the sadb_msg header's own length field
 * (sadb_msg_len, 8-octet units) frames them, so no extra length prefix is
 * needed and the bytes are exactly what m6ike_pfkey_* build and decode.
 *
 * HELLO (16 octets, client -> kernel only, first thing on the connection;
 * integers in network order, unlike the sadb messages that follow, which are
 * in host order as RFC 2367 says):
 *   +---------------+---------------+---------------+---------------+
 *   |      'M'      |      '6'      |      'P'      |      'K'      |
 *   +---------------+---------------+---------------+---------------+
 *   | version (= 1) |     role      |        flags (= 0)            |
 *   +---------------+---------------+---------------+---------------+
 *   |     pid: the sadb_msg_pid the endpoint uses (0 = its handle)  |
 *   +---------------+---------------+---------------+---------------+
 *   |                        reserved (= 0)                         |
 *   +---------------+---------------+---------------+---------------+
 *   role: M6IKE_PFKEY_ROLE_KEY_MANAGER (1) or M6IKE_PFKEY_ROLE_MOBILITY
 *   (2), as m6ike_pfkey_bus_open() takes it.  The first byte of a sadb_msg
 *   is its version (2), never 'M' (0x4d): a peer that skips the HELLO is
 *   told apart at once (M6IKE_ERR_PFKEY_WIRE_HELLO_MAGIC).
 *
 * MODES.  STREAM (SOCK_STREAM): the bytes arrive in arbitrary pieces; the
 * decoder says INCOMPLETE until a whole HELLO / message is in the buffer,
 * and the host keeps the unconsumed tail.  SEQPACKET (SOCK_SEQPACKET): each
 * record must hold exactly one HELLO or one message; a record whose size is
 * not the framed size is refused (M6IKE_ERR_PFKEY_WIRE_RECORD).
 *
 * The codec checks the framing only (version, length bounds); the message's
 * contents are checked by whoever consumes it (m6ike_pfkey_decode, the
 * bus).  After any error other than INCOMPLETE the decoder is failed: every
 * later call returns M6IKE_ERR_PFKEY_WIRE_FAILED, because the stream can no
 * longer be resynchronised (the host closes the connection).
 */
#ifndef M6IKE_PFKEY_WIRE_H
#define M6IKE_PFKEY_WIRE_H

#include "m6ike/common.h"
#include "m6ike/pfkey_bus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (-530..-549, inside the pfkey range; strings through
 * m6ike_pfkey_strerror_). */
enum {
  M6IKE_ERR_PFKEY_WIRE_INCOMPLETE = -530,  /* stream: need more bytes (not
                                              fatal: keep them, read more) */
  M6IKE_ERR_PFKEY_WIRE_HELLO_MAGIC = -531, /* HELLO does not start "M6PK" */
  M6IKE_ERR_PFKEY_WIRE_HELLO_VERSION = -532, /* HELLO version != 1 */
  M6IKE_ERR_PFKEY_WIRE_HELLO_ROLE = -533,  /* HELLO role not 1 or 2 */
  M6IKE_ERR_PFKEY_WIRE_HELLO_RESERVED = -534, /* HELLO flags/reserved != 0 */
  M6IKE_ERR_PFKEY_WIRE_MSG_VERSION = -535, /* sadb_msg_version != 2 */
  M6IKE_ERR_PFKEY_WIRE_MSG_SHORT = -536,   /* sadb_msg_len < 2 (16 octets) */
  M6IKE_ERR_PFKEY_WIRE_MSG_LONG = -537,    /* sadb_msg_len*8 > max_msg */
  M6IKE_ERR_PFKEY_WIRE_RECORD = -538,      /* seqpacket record size is not
                                              the HELLO's / sadb_msg_len*8 */
  M6IKE_ERR_PFKEY_WIRE_FAILED = -539       /* decoder failed earlier */
};

/* Strings for -530..-549, NULL otherwise. */
const char *m6ike_pfkey_wire_strerror_(int code);

#define M6IKE_PFKEY_WIRE_HELLO_LEN 16
#define M6IKE_PFKEY_WIRE_VERSION 1
/* Default bound on one message (Linux's af_key never builds one near this;
 * the sadb_msg_len field allows 524280). */
#define M6IKE_PFKEY_WIRE_MAX_MSG 65536u

typedef struct m6ike_pfkey_wire_hello {
  m6ike_pfkey_role role;
  uint32_t pid;
} m6ike_pfkey_wire_hello;

/* Writes the 16-octet HELLO.  Returns 16, M6IKE_ERR_INVALID_ARGUMENT (NULL,
 * role not KEY_MANAGER/MOBILITY), M6IKE_ERR_NOBUF (cap < 16). */
int m6ike_pfkey_wire_hello_encode(const m6ike_pfkey_wire_hello *h,
                                  uint8_t *buf, size_t cap);

/* Reads a HELLO from the start of buf.  Returns 16 (bytes consumed),
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_PFKEY_WIRE_INCOMPLETE (len < 16),
 * _HELLO_MAGIC, _HELLO_VERSION, _HELLO_ROLE, _HELLO_RESERVED. */
int m6ike_pfkey_wire_hello_decode(m6ike_pfkey_wire_hello *h,
                                  const uint8_t *buf, size_t len);

/* Frames one sadb message at the start of buf: returns its length
 * (sadb_msg_len * 8) when buf holds all of it (buf may hold more: the next
 * message), M6IKE_ERR_PFKEY_WIRE_INCOMPLETE if not yet,
 * M6IKE_ERR_PFKEY_WIRE_MSG_VERSION, _MSG_SHORT, _MSG_LONG (max_msg 0 =
 * M6IKE_PFKEY_WIRE_MAX_MSG), M6IKE_ERR_INVALID_ARGUMENT.  The version and
 * length are checked as soon as the first 8 octets are there, so a bad
 * header is refused before the host waits for a body that never comes. */
int m6ike_pfkey_wire_frame(const uint8_t *buf, size_t len, size_t max_msg);

typedef enum m6ike_pfkey_wire_mode {
  M6IKE_PFKEY_WIRE_STREAM = 1,
  M6IKE_PFKEY_WIRE_SEQPACKET = 2
} m6ike_pfkey_wire_mode;

/* Decoder of one direction of one connection.  expect_hello: 1 on the
 * kernel side (the client's direction starts with a HELLO), 0 on the
 * client side (the kernel sends sadb messages only).  Plain struct, no
 * allocation; fields are private to the codec except hello (valid once
 * have_hello) and msgs (messages framed so far). */
typedef struct m6ike_pfkey_wire_decoder {
  m6ike_pfkey_wire_mode mode;
  size_t max_msg;
  int expect_hello;
  int have_hello;
  int failed; /* the code of the error that failed it, 0 if none */
  m6ike_pfkey_wire_hello hello;
  uint64_t msgs;
} m6ike_pfkey_wire_decoder;

/* mode STREAM or SEQPACKET; max_msg 0 = the default.  0 or
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_pfkey_wire_decoder_init(m6ike_pfkey_wire_decoder *d,
                                  m6ike_pfkey_wire_mode mode,
                                  int expect_hello, size_t max_msg);

typedef enum m6ike_pfkey_wire_kind {
  M6IKE_PFKEY_WIRE_HELLO = 1, /* d->hello is set */
  M6IKE_PFKEY_WIRE_MSG = 2    /* *msg / *msg_len: one whole sadb message */
} m6ike_pfkey_wire_kind;

/*
 * Next item from buf (stream: the bytes received and not yet consumed;
 * seqpacket: one record).  On success returns the bytes consumed (> 0) and
 * sets *kind, and for a message *msg (pointing into buf) and *msg_len.
 * Returns M6IKE_ERR_PFKEY_WIRE_INCOMPLETE (stream only: nothing consumed),
 * M6IKE_ERR_INVALID_ARGUMENT, any HELLO or frame code above,
 * M6IKE_ERR_PFKEY_WIRE_RECORD (seqpacket), M6IKE_ERR_PFKEY_WIRE_FAILED.
 */
int m6ike_pfkey_wire_decode(m6ike_pfkey_wire_decoder *d, const uint8_t *buf,
                            size_t len, m6ike_pfkey_wire_kind *kind,
                            const uint8_t **msg, size_t *msg_len);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_PFKEY_WIRE_H */
