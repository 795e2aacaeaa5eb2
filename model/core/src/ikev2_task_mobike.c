/*
 * Task MOBIKE: UPDATE_SA_ADDRESSES (RFC 4555 §3.5, §3.8, §3.9).
 *
 *   Initiator (new address)                        Responder
 *   INFORMATIONAL { SK{N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP),
 *                      N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2)
 *                      [, N(NO_NATS_ALLOWED)]} } -->
 *          <-- INFORMATIONAL { SK{N(NAT_DETECTION_*), N(COOKIE2)} }
 *          <-- INFORMATIONAL { SK{N(UNEXPECTED_NAT_DETECTED)} }
 *
 * The responder moves the IKE SA and its tunnel-mode CHILD_SAs to the
 * request's source address.  NO_NATS_ALLOWED carries the addresses and
 * ports the sender used; if they differ from what arrived, a NAT is in the
 * way and the responder refuses.
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

#define COOKIE2_LEN 16
#define NO_NATS_LEN 36

typedef struct mobike_task {
  ike_task base;
  uint8_t cookie2[64];
  size_t cookie2_len;
  int refused; /* responder: NO_NATS_ALLOWED check failed */
} mobike_task;

static void no_nats_data(const m6ike_ikev2_path *p, uint8_t out[NO_NATS_LEN]) {
  memcpy(out, p->local.b, 16);
  memcpy(out + 16, p->remote.b, 16);
  m6ike_put_u16be(out + 32, p->local_port);
  m6ike_put_u16be(out + 34, p->remote_port);
}

static int build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  mobike_task *mt = (mobike_task *)t;
  int rc;
  if ((rc = ike_random(sa->ike, mt->cookie2, COOKIE2_LEN)) != 0) {
    return rc;
  }
  mt->cookie2_len = COOKIE2_LEN;
  m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_UPDATE_SA_ADDRESSES, NULL,
                              0);
  if ((rc = ike_add_natd(sa, &o->b, sa->spi_r, &sa->path)) < 0) {
    return rc;
  }
  m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_COOKIE2, mt->cookie2,
                              mt->cookie2_len);
  if (sa->peer.no_nats) {
    uint8_t d[NO_NATS_LEN];
    no_nats_data(&sa->path, d);
    return m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_NO_NATS_ALLOWED,
                                       d, sizeof d);
  }
  return 0;
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  mobike_task *mt = (mobike_task *)t;
  m6ike_ikev2_notify n;
  uint16_t err = ike_error_notify(in->msg, &n);
  if (err != 0) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "UPDATE_SA_ADDRESSES refused (notify %u)", (unsigned)err);
    return TASK_DONE;
  }
  if (m6ike_ikev2_find_notify(in->msg, M6IKE_IKEV2_N_COOKIE2, &n) < 0 ||
      n.len != mt->cookie2_len ||
      !m6ike_crypto_memeq(n.data, mt->cookie2, mt->cookie2_len)) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "UPDATE_SA_ADDRESSES: response without our COOKIE2, ignored");
    return TASK_DONE;
  }
  ike_check_natd(sa, in->msg, in->path, sa->spi_r);
  return TASK_DONE;
}

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  mobike_task *mt = (mobike_task *)t;
  m6ike_ikev2_notify n;
  if (!sa->mobike) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
            "UPDATE_SA_ADDRESSES without MOBIKE: ignored");
    return TASK_DONE;
  }
  if (m6ike_ikev2_find_notify(in->msg, M6IKE_IKEV2_N_COOKIE2, &n) >= 0 &&
      n.len <= sizeof mt->cookie2) {
    memcpy(mt->cookie2, n.data, n.len);
    mt->cookie2_len = n.len;
  }
  if (m6ike_ikev2_find_notify(in->msg, M6IKE_IKEV2_N_NO_NATS_ALLOWED, &n) >=
      0) {
    /* the sender's local is our remote */
    m6ike_ikev2_path seen = {in->path->remote, in->path->local,
                             in->path->remote_port, in->path->local_port};
    uint8_t d[NO_NATS_LEN];
    no_nats_data(&seen, d);
    if (n.len != NO_NATS_LEN || memcmp(n.data, d, NO_NATS_LEN) != 0) {
      mt->refused = 1;
      ike_log(sa->ike, M6IKE_IKEV2_LOG_ERROR, sa->id,
              "UPDATE_SA_ADDRESSES: NO_NATS_ALLOWED but addresses changed "
              "on the way");
      return TASK_DONE;
    }
  }
  ike_check_natd(sa, in->msg, in->path, sa->spi_r);
  sa->path.remote = in->path->remote;
  sa->path.remote_port = in->path->remote_port;
  ike_move_children(sa, &in->path->remote, 0);
  sa->ike->stats.mobike_updates++;
  return TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  mobike_task *mt = (mobike_task *)t;
  int rc;
  if (mt->refused) {
    return m6ike_ikev2_add_notify_data(
        &o->b, M6IKE_IKEV2_N_UNEXPECTED_NAT_DETECTED, NULL, 0);
  }
  if (!sa->mobike) {
    return 0;
  }
  if ((rc = ike_add_natd(sa, &o->b, sa->spi_r, &sa->path)) < 0) {
    return rc;
  }
  if (mt->cookie2_len) {
    return m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_COOKIE2,
                                       mt->cookie2, mt->cookie2_len);
  }
  return 0;
}

static void destroy(ike_task *t, ike_sa *sa) { ike_free(sa->ike, t); }

static const ike_task_ops mobike_ops = {"MOBIKE", build_i, process_i,
                                        process_r, build_r, destroy};

ike_task *task_mobike_new(ike_sa *sa) {
  mobike_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &mobike_ops;
  t->base.exchange = M6IKE_IKEV2_INFORMATIONAL;
  return &t->base;
}
