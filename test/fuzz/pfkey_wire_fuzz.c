/*
 * libFuzzer target for the PF_KEY-over-Unix-socket framing (pfkey_wire).
 * The input is one direction of a kernel-side connection: first as a
 * stream (split at a point chosen by the first octet, to exercise partial
 * reads), then as seqpacket records (the whole input one record).  Every
 * HELLO decoded is re-encoded and must give the same 16 octets and decode
 * to the same struct; every message framed must frame again to the same
 * length on its own, must not run past the input, and, if it decodes as
 * PF_KEY, must have been framed at exactly its decoded length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/pfkey.h"
#include "m6ike/pfkey_wire.h"

static void check_hello(const m6ike_pfkey_wire_hello *h, const uint8_t *raw) {
  uint8_t b[M6IKE_PFKEY_WIRE_HELLO_LEN];
  if (m6ike_pfkey_wire_hello_encode(h, b, sizeof(b)) !=
      M6IKE_PFKEY_WIRE_HELLO_LEN) {
    abort();
  }
  if (memcmp(b, raw, sizeof(b)) != 0) {
    abort();
  }
  m6ike_pfkey_wire_hello h2;
  if (m6ike_pfkey_wire_hello_decode(&h2, b, sizeof(b)) !=
          M6IKE_PFKEY_WIRE_HELLO_LEN ||
      h2.role != h->role || h2.pid != h->pid) {
    abort();
  }
}

static void check_msg(const uint8_t *m, size_t ml) {
  if (m6ike_pfkey_wire_frame(m, ml, 0) != (int)ml) {
    abort();
  }
  m6ike_pfkey_msg pm;
  int rc = m6ike_pfkey_decode(&pm, m, ml, M6IKE_PFKEY_DEC_LENIENT);
  if (rc >= 0 && (size_t)rc != ml) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* stream, delivered in two pieces */
  m6ike_pfkey_wire_decoder d;
  if (m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_STREAM, 1, 4096)) {
    abort();
  }
  size_t cut = size ? (size_t)data[0] % (size + 1) : 0;
  size_t avail = cut, off = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (;;) {
      m6ike_pfkey_wire_kind k;
      const uint8_t *m;
      size_t ml;
      int rc = m6ike_pfkey_wire_decode(&d, data + off, avail - off, &k, &m,
                                       &ml);
      if (rc < 0) {
        break;
      }
      if ((size_t)rc > avail - off) {
        abort();
      }
      if (k == M6IKE_PFKEY_WIRE_HELLO) {
        if (rc != M6IKE_PFKEY_WIRE_HELLO_LEN) {
          abort();
        }
        check_hello(&d.hello, data + off);
      } else {
        if (m != data + off || ml != (size_t)rc) {
          abort();
        }
        check_msg(m, ml);
      }
      off += (size_t)rc;
    }
    avail = size;
    if (d.failed) {
      break;
    }
  }
  /* seqpacket: the whole input is one record */
  for (int hello = 0; hello < 2; hello++) {
    if (m6ike_pfkey_wire_decoder_init(&d, M6IKE_PFKEY_WIRE_SEQPACKET, hello,
                                      0)) {
      abort();
    }
    m6ike_pfkey_wire_kind k;
    const uint8_t *m;
    size_t ml;
    int rc = m6ike_pfkey_wire_decode(&d, data, size, &k, &m, &ml);
    if (rc >= 0) {
      if ((size_t)rc != size) {
        abort();
      }
      if (k == M6IKE_PFKEY_WIRE_HELLO) {
        check_hello(&d.hello, data);
      } else {
        check_msg(m, ml);
      }
    } else if (rc == M6IKE_ERR_PFKEY_WIRE_INCOMPLETE) {
      abort(); /* seqpacket never says incomplete */
    }
  }
  return 0;
}
