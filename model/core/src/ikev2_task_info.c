/*
 * INFORMATIONAL tasks (RFC 7296 §1.4, §1.4.1, §2.4):
 *
 *   CHILD_DELETE   Initiator                       Responder
 *                  SK{D(ESP, our inbound SPIs)} -->
 *                            <-- SK{D(ESP, its inbound SPIs of the pairs)}
 *   IKE_DELETE     SK{D(IKE)}                   -->
 *                                               <-- SK{}
 *   IKE_DPD        SK{}                         -->   (liveness check)
 *                                               <-- SK{}
 */
#include <string.h>

#include "bytes.h"
#include "ikev2_int.h"

#define DEL_MAX 32

/* ---- CHILD_DELETE --------------------------------------------------------- */

typedef struct del_task {
  ike_task base;
  uint32_t spi[DEL_MAX]; /* our inbound SPIs of the pairs */
  size_t n;
} del_task;

static int add_esp_delete(ike_out *o, const uint32_t *spi, size_t n) {
  uint8_t raw[4 * DEL_MAX];
  m6ike_ikev2_delete d;
  for (size_t i = 0; i < n; i++) {
    m6ike_put_u32be(raw + 4 * i, spi[i]);
  }
  d.proto = M6IKE_IKEV2_PROTO_ESP;
  d.spi_size = 4;
  d.num_spi = (uint16_t)n;
  d.spis = raw;
  return m6ike_ikev2_add_delete(&o->b, &d);
}

static int del_build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  del_task *dt = (del_task *)t;
  (void)sa;
  return add_esp_delete(o, dt->spi, dt->n);
}

static int del_process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  del_task *dt = (del_task *)t;
  (void)in;
  /* The pairs are gone once the peer answered (whatever it listed). */
  for (size_t i = 0; i < dt->n; i++) {
    child_sa *c = ike_sa_find_child_spi_in(sa, dt->spi[i]);
    if (c) {
      ike_sa_remove_child(sa, c, 0);
    }
  }
  return TASK_DONE;
}

static int del_process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  del_task *dt = (del_task *)t;
  m6ike_ikev2_msg *m = in->msg;
  for (unsigned i = 0; i < m->count; i++) {
    m6ike_ikev2_delete d;
    if (m->pl[i].type != M6IKE_IKEV2_PL_DELETE ||
        m6ike_ikev2_decode_delete(&m->pl[i], &d) < 0 ||
        d.proto != M6IKE_IKEV2_PROTO_ESP) {
      continue;
    }
    for (unsigned k = 0; k < d.num_spi; k++) {
      child_sa *c =
          ike_sa_find_child_spi_out(sa, m6ike_ikev2_delete_spi32(&d, k));
      if (c == NULL) {
        continue; /* already gone (e.g. simultaneous delete) */
      }
      if (dt->n < DEL_MAX) {
        dt->spi[dt->n++] = c->info.spi_in;
      }
      ike_sa_remove_child(sa, c, 0);
    }
  }
  return TASK_DONE;
}

static int del_build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  del_task *dt = (del_task *)t;
  (void)sa;
  return dt->n ? add_esp_delete(o, dt->spi, dt->n) : 0;
}

static void plain_destroy(ike_task *t, ike_sa *sa) { ike_free(sa->ike, t); }

static const ike_task_ops del_ops = {"CHILD_DELETE", del_build_i,
                                     del_process_i, del_process_r,
                                     del_build_r, plain_destroy};

ike_task *task_child_delete_new(ike_sa *sa, const uint32_t *spi_in,
                                size_t n) {
  del_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &del_ops;
  t->base.exchange = M6IKE_IKEV2_INFORMATIONAL;
  for (size_t i = 0; i < n && i < DEL_MAX; i++) {
    t->spi[t->n++] = spi_in[i];
  }
  return &t->base;
}

/* ---- IKE_DELETE ------------------------------------------------------------ */

static int ikedel_build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  m6ike_ikev2_delete d;
  (void)t;
  (void)sa;
  memset(&d, 0, sizeof d);
  d.proto = M6IKE_IKEV2_PROTO_IKE;
  return m6ike_ikev2_add_delete(&o->b, &d);
}

static int ikedel_process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  (void)t;
  (void)in;
  ike_sa_kill(sa, 0);
  return TASK_DONE;
}

static int ikedel_process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  (void)t;
  (void)in;
  /* RFC 7296 §1.4.1: answer (empty), then the SA and its children go. */
  ike_sa_kill(sa, 0);
  return TASK_DONE;
}

static int nothing_build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  (void)t;
  (void)sa;
  (void)o;
  return 0;
}

static const ike_task_ops ikedel_ops = {"IKE_DELETE", ikedel_build_i,
                                        ikedel_process_i, ikedel_process_r,
                                        nothing_build_r, plain_destroy};

ike_task *task_ike_delete_new(ike_sa *sa) {
  ike_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->ops = &ikedel_ops;
  t->exchange = M6IKE_IKEV2_INFORMATIONAL;
  return t;
}

/* ---- IKE_DPD ------------------------------------------------------------- */

static int dpd_build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  (void)t;
  (void)sa;
  (void)o;
  return 0;
}

static int dpd_process(ike_task *t, ike_sa *sa, ike_in *in) {
  (void)t;
  (void)sa;
  (void)in;
  return TASK_DONE;
}

static const ike_task_ops dpd_ops = {"IKE_DPD", dpd_build_i, dpd_process,
                                     dpd_process, nothing_build_r,
                                     plain_destroy};

ike_task *task_ike_dpd_new(ike_sa *sa) {
  ike_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->ops = &dpd_ops;
  t->exchange = M6IKE_IKEV2_INFORMATIONAL;
  return t;
}

/* ---- INVALID_SPI (RFC 7296 §1.5, §3.10.1) --------------------------------
 *
 *   SK{N(INVALID_SPI, data = the unknown ESP SPI)} -->
 *                                         <-- SK{}
 * The receiver drops the pair whose outbound SPI that is: the peer does
 * not know it (reason M6IKE_ERR_IKEV2_PEER_ERROR).
 */

typedef struct invspi_task {
  ike_task base;
  uint32_t spi;
} invspi_task;

static int invspi_build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  invspi_task *it = (invspi_task *)t;
  uint8_t d[4];
  (void)sa;
  m6ike_put_u32be(d, it->spi);
  return m6ike_ikev2_add_notify_data(&o->b, M6IKE_IKEV2_N_INVALID_SPI, d, 4);
}

static int invspi_process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  m6ike_ikev2_msg *m = in->msg;
  (void)t;
  for (unsigned i = 0; i < m->count; i++) {
    m6ike_ikev2_notify n;
    uint32_t spi;
    child_sa *c;
    if (m->pl[i].type != M6IKE_IKEV2_PL_NOTIFY ||
        m6ike_ikev2_decode_notify(&m->pl[i], &n) < 0 ||
        n.type != M6IKE_IKEV2_N_INVALID_SPI || n.len != 4) {
      continue;
    }
    m6ike_get_u32be(n.data, &spi);
    c = ike_sa_find_child_spi_out(sa, spi);
    if (c) {
      ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
              "INVALID_SPI %08x: the peer lost this CHILD_SA, dropping it",
              (unsigned)spi);
      ike_sa_remove_child(sa, c, M6IKE_ERR_IKEV2_PEER_ERROR);
    }
  }
  return TASK_DONE;
}

static const ike_task_ops invspi_ops = {"INVALID_SPI", invspi_build_i,
                                        dpd_process, invspi_process_r,
                                        nothing_build_r, plain_destroy};

ike_task *task_invalid_spi_new(ike_sa *sa, uint32_t spi) {
  invspi_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &invspi_ops;
  t->base.exchange = M6IKE_IKEV2_INFORMATIONAL;
  t->spi = spi;
  return &t->base;
}
