/* pfkey_wire: PF_KEY over a Unix-domain socket (see m6ike/pfkey_wire.h). */
#include "m6ike/pfkey_wire.h"

#include <string.h>

#include "bytes.h"
#include "m6ike/pfkey.h"

static const uint8_t hello_magic[4] = {'M', '6', 'P', 'K'};

const char *m6ike_pfkey_wire_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_PFKEY_WIRE_INCOMPLETE:
    return "pfkey_wire: incomplete HELLO or sadb message (read more bytes)";
  case M6IKE_ERR_PFKEY_WIRE_HELLO_MAGIC:
    return "pfkey_wire: connection does not start with the \"M6PK\" HELLO";
  case M6IKE_ERR_PFKEY_WIRE_HELLO_VERSION:
    return "pfkey_wire: HELLO version is not 1";
  case M6IKE_ERR_PFKEY_WIRE_HELLO_ROLE:
    return "pfkey_wire: HELLO role is neither KEY_MANAGER (1) nor "
           "MOBILITY (2)";
  case M6IKE_ERR_PFKEY_WIRE_HELLO_RESERVED:
    return "pfkey_wire: HELLO flags or reserved field not zero";
  case M6IKE_ERR_PFKEY_WIRE_MSG_VERSION:
    return "pfkey_wire: sadb_msg_version is not PF_KEY_V2";
  case M6IKE_ERR_PFKEY_WIRE_MSG_SHORT:
    return "pfkey_wire: sadb_msg_len is less than 2 (16 octets)";
  case M6IKE_ERR_PFKEY_WIRE_MSG_LONG:
    return "pfkey_wire: sadb_msg_len*8 exceeds the connection's max_msg";
  case M6IKE_ERR_PFKEY_WIRE_RECORD:
    return "pfkey_wire: seqpacket record size differs from the HELLO's or "
           "sadb_msg_len*8";
  case M6IKE_ERR_PFKEY_WIRE_FAILED:
    return "pfkey_wire: decoder failed earlier; close the connection";
  default:
    return NULL;
  }
}

int m6ike_pfkey_wire_hello_encode(const m6ike_pfkey_wire_hello *h,
                                  uint8_t *buf, size_t cap) {
  if (!h || !buf ||
      (h->role != M6IKE_PFKEY_ROLE_KEY_MANAGER &&
       h->role != M6IKE_PFKEY_ROLE_MOBILITY)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (cap < M6IKE_PFKEY_WIRE_HELLO_LEN) {
    return M6IKE_ERR_NOBUF;
  }
  uint8_t *p = buf;
  memcpy(p, hello_magic, 4);
  p += 4;
  p = m6ike_put_u8(p, M6IKE_PFKEY_WIRE_VERSION);
  p = m6ike_put_u8(p, (uint8_t)h->role);
  p = m6ike_put_u16be(p, 0);
  p = m6ike_put_u32be(p, h->pid);
  m6ike_put_u32be(p, 0);
  return M6IKE_PFKEY_WIRE_HELLO_LEN;
}

int m6ike_pfkey_wire_hello_decode(m6ike_pfkey_wire_hello *h,
                                  const uint8_t *buf, size_t len) {
  if (!h || (!buf && len)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  /* the magic is checked on whatever part of it has arrived, so a peer
   * that starts with a sadb message is refused on its first octet */
  size_t m = len < 4 ? len : 4;
  if (memcmp(buf ? buf : hello_magic, hello_magic, m) != 0) {
    return M6IKE_ERR_PFKEY_WIRE_HELLO_MAGIC;
  }
  if (len < M6IKE_PFKEY_WIRE_HELLO_LEN) {
    return M6IKE_ERR_PFKEY_WIRE_INCOMPLETE;
  }
  uint8_t version, role;
  uint16_t flags;
  uint32_t pid, reserved;
  const uint8_t *p = buf + 4;
  p = m6ike_get_u8(p, &version);
  p = m6ike_get_u8(p, &role);
  p = m6ike_get_u16be(p, &flags);
  p = m6ike_get_u32be(p, &pid);
  m6ike_get_u32be(p, &reserved);
  if (version != M6IKE_PFKEY_WIRE_VERSION) {
    return M6IKE_ERR_PFKEY_WIRE_HELLO_VERSION;
  }
  if (role != M6IKE_PFKEY_ROLE_KEY_MANAGER &&
      role != M6IKE_PFKEY_ROLE_MOBILITY) {
    return M6IKE_ERR_PFKEY_WIRE_HELLO_ROLE;
  }
  if (flags != 0 || reserved != 0) {
    return M6IKE_ERR_PFKEY_WIRE_HELLO_RESERVED;
  }
  h->role = (m6ike_pfkey_role)role;
  h->pid = pid;
  return M6IKE_PFKEY_WIRE_HELLO_LEN;
}

int m6ike_pfkey_wire_frame(const uint8_t *buf, size_t len, size_t max_msg) {
  if (!buf && len) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (max_msg == 0) {
    max_msg = M6IKE_PFKEY_WIRE_MAX_MSG;
  }
  if (len >= 1 && buf[0] != M6IKE_PF_KEY_V2) {
    return M6IKE_ERR_PFKEY_WIRE_MSG_VERSION;
  }
  if (len < 8) {
    return M6IKE_ERR_PFKEY_WIRE_INCOMPLETE;
  }
  uint16_t units;
  m6ike_get_u16h(buf + 4, &units); /* sadb_msg_len, host order */
  if (units < 2) {
    return M6IKE_ERR_PFKEY_WIRE_MSG_SHORT;
  }
  size_t n = (size_t)units * 8;
  if (n > max_msg) {
    return M6IKE_ERR_PFKEY_WIRE_MSG_LONG;
  }
  if (len < n) {
    return M6IKE_ERR_PFKEY_WIRE_INCOMPLETE;
  }
  return (int)n;
}

int m6ike_pfkey_wire_decoder_init(m6ike_pfkey_wire_decoder *d,
                                  m6ike_pfkey_wire_mode mode,
                                  int expect_hello, size_t max_msg) {
  if (!d || (mode != M6IKE_PFKEY_WIRE_STREAM &&
             mode != M6IKE_PFKEY_WIRE_SEQPACKET)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(d, 0, sizeof(*d));
  d->mode = mode;
  d->max_msg = max_msg ? max_msg : M6IKE_PFKEY_WIRE_MAX_MSG;
  d->expect_hello = expect_hello ? 1 : 0;
  return 0;
}

static int fail(m6ike_pfkey_wire_decoder *d, int rc) {
  if (rc != M6IKE_ERR_PFKEY_WIRE_INCOMPLETE) {
    d->failed = rc;
  }
  return rc;
}

int m6ike_pfkey_wire_decode(m6ike_pfkey_wire_decoder *d, const uint8_t *buf,
                            size_t len, m6ike_pfkey_wire_kind *kind,
                            const uint8_t **msg, size_t *msg_len) {
  if (!d || !kind || !msg || !msg_len || (!buf && len) ||
      (d->mode != M6IKE_PFKEY_WIRE_STREAM &&
       d->mode != M6IKE_PFKEY_WIRE_SEQPACKET)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  if (d->failed) {
    return M6IKE_ERR_PFKEY_WIRE_FAILED;
  }
  int seq = d->mode == M6IKE_PFKEY_WIRE_SEQPACKET;
  if (d->expect_hello && !d->have_hello) {
    m6ike_pfkey_wire_hello h;
    int rc = m6ike_pfkey_wire_hello_decode(&h, buf, len);
    if (rc == M6IKE_ERR_PFKEY_WIRE_INCOMPLETE && seq) {
      rc = M6IKE_ERR_PFKEY_WIRE_RECORD;
    }
    if (rc < 0) {
      return fail(d, rc);
    }
    if (seq && len != (size_t)rc) {
      return fail(d, M6IKE_ERR_PFKEY_WIRE_RECORD);
    }
    d->hello = h;
    d->have_hello = 1;
    *kind = M6IKE_PFKEY_WIRE_HELLO;
    *msg = NULL;
    *msg_len = 0;
    return rc;
  }
  int n = m6ike_pfkey_wire_frame(buf, len, d->max_msg);
  if (n == M6IKE_ERR_PFKEY_WIRE_INCOMPLETE && seq) {
    n = M6IKE_ERR_PFKEY_WIRE_RECORD;
  }
  if (n < 0) {
    return fail(d, n);
  }
  if (seq && len != (size_t)n) {
    return fail(d, M6IKE_ERR_PFKEY_WIRE_RECORD);
  }
  d->msgs++;
  *kind = M6IKE_PFKEY_WIRE_MSG;
  *msg = buf;
  *msg_len = (size_t)n;
  return n;
}
