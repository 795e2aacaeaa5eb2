/*
 * Task IKE_CONFIG: the Configuration payload in IKE_AUTH (RFC 7296 §2.19),
 * used by RFC 4877 / RFC 5026 for a dynamically assigned home address and
 * home prefix.
 *
 *   Initiator                                Responder
 *   IKE_AUTH { SK{IDi, AUTH, CP(CFG_REQUEST){INTERNAL_IP6_ADDRESS(),
 *                  MIP6_HOME_PREFIX()}, SA, TSi, TSr} } -->
 *       <-- IKE_AUTH { SK{IDr, AUTH, CP(CFG_REPLY){INTERNAL_IP6_ADDRESS(a),
 *                          MIP6_HOME_PREFIX(p)}, SA, TSi(a), TSr} }
 */
#include <string.h>

#include "ikev2_int.h"

typedef struct config_task {
  ike_task base;
  uint8_t want; /* responder: what the request asked for */
} config_task;

static int build_i(ike_task *t, ike_sa *sa, ike_out *o) {
  m6ike_ikev2_cp_attr a[2];
  size_t n = 0;
  (void)t;
  memset(a, 0, sizeof a);
  if (sa->peer.cp_request & M6IKE_IKEV2_CP_WANT_ADDR) {
    a[n++].type = M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS;
  }
  if (sa->peer.cp_request & M6IKE_IKEV2_CP_WANT_HOME_PREFIX) {
    a[n++].type = M6IKE_IKEV2_CP_MIP6_HOME_PREFIX;
  }
  return n ? m6ike_ikev2_add_cp(&o->b, M6IKE_IKEV2_CFG_REQUEST, a, n) : 0;
}

static int process_i(ike_task *t, ike_sa *sa, ike_in *in) {
  const m6ike_ikev2_payload *pl = ike_find_pl(in->msg, M6IKE_IKEV2_PL_CP);
  m6ike_ikev2_cp cp;
  m6ike_ikev2_cp_attr a;
  size_t pos = 0;
  (void)t;
  if (pl == NULL || m6ike_ikev2_decode_cp(pl, &cp) < 0 ||
      cp.cfg_type != M6IKE_IKEV2_CFG_REPLY) {
    ike_log(sa->ike, M6IKE_IKEV2_LOG_INFO, sa->id,
            "IKE_AUTH: no CFG_REPLY to our CFG_REQUEST");
    return TASK_DONE;
  }
  while (m6ike_ikev2_cp_next(&cp, &pos, &a)) {
    if (a.type == M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS &&
        m6ike_ikev2_cp_decode_ip6(&a, &sa->cp_addr, &sa->cp_addr_plen) == 0) {
      sa->cp_got |= M6IKE_IKEV2_CP_WANT_ADDR;
    } else if (a.type == M6IKE_IKEV2_CP_MIP6_HOME_PREFIX &&
               m6ike_ikev2_cp_decode_home_prefix(
                   &a, &sa->cp_prefix_lifetime, &sa->cp_prefix,
                   &sa->cp_prefix_plen) == 0) {
      sa->cp_got |= M6IKE_IKEV2_CP_WANT_HOME_PREFIX;
    }
  }
  return TASK_DONE;
}

static int process_r(ike_task *t, ike_sa *sa, ike_in *in) {
  config_task *ct = (config_task *)t;
  const m6ike_ikev2_payload *pl = ike_find_pl(in->msg, M6IKE_IKEV2_PL_CP);
  m6ike_ikev2_cp cp;
  m6ike_ikev2_cp_attr a;
  size_t pos = 0;
  if (pl == NULL || m6ike_ikev2_decode_cp(pl, &cp) < 0 ||
      cp.cfg_type != M6IKE_IKEV2_CFG_REQUEST) {
    return TASK_DONE;
  }
  while (m6ike_ikev2_cp_next(&cp, &pos, &a)) {
    if (a.type == M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS &&
        !m6ike_addr6_is_unspecified(&sa->peer.cp_addr)) {
      ct->want |= M6IKE_IKEV2_CP_WANT_ADDR;
      sa->cp_got |= M6IKE_IKEV2_CP_WANT_ADDR;
      sa->cp_addr = sa->peer.cp_addr;
      sa->cp_addr_plen = sa->peer.cp_addr_plen;
    } else if (a.type == M6IKE_IKEV2_CP_MIP6_HOME_PREFIX &&
               !m6ike_addr6_is_unspecified(&sa->peer.cp_prefix)) {
      ct->want |= M6IKE_IKEV2_CP_WANT_HOME_PREFIX;
      sa->cp_got |= M6IKE_IKEV2_CP_WANT_HOME_PREFIX;
      sa->cp_prefix = sa->peer.cp_prefix;
      sa->cp_prefix_plen = sa->peer.cp_prefix_plen;
      sa->cp_prefix_lifetime = sa->peer.cp_prefix_lifetime;
    }
  }
  return TASK_DONE;
}

static int build_r(ike_task *t, ike_sa *sa, ike_out *o) {
  config_task *ct = (config_task *)t;
  uint8_t v6[17], hp[21];
  m6ike_ikev2_cp_attr a[2];
  size_t n = 0;
  if (ct->want & M6IKE_IKEV2_CP_WANT_ADDR) {
    m6ike_ikev2_cp_encode_ip6(v6, &sa->cp_addr, sa->cp_addr_plen);
    a[n].type = M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS;
    a[n].len = sizeof v6;
    a[n++].value = v6;
  }
  if (ct->want & M6IKE_IKEV2_CP_WANT_HOME_PREFIX) {
    m6ike_ikev2_cp_encode_home_prefix(hp, sa->cp_prefix_lifetime,
                                      &sa->cp_prefix, sa->cp_prefix_plen);
    a[n].type = M6IKE_IKEV2_CP_MIP6_HOME_PREFIX;
    a[n].len = sizeof hp;
    a[n++].value = hp;
  }
  return n ? m6ike_ikev2_add_cp(&o->b, M6IKE_IKEV2_CFG_REPLY, a, n) : 0;
}

static void destroy(ike_task *t, ike_sa *sa) { ike_free(sa->ike, t); }

static const ike_task_ops config_ops = {"IKE_CONFIG", build_i, process_i,
                                        process_r, build_r, destroy};

ike_task *task_ike_config_new(ike_sa *sa) {
  config_task *t = ike_alloc(sa->ike, sizeof *t);
  if (t == NULL) {
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->base.ops = &config_ops;
  t->base.exchange = M6IKE_IKEV2_IKE_AUTH;
  return &t->base;
}
