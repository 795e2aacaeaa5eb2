/*
 * libFuzzer target for the split's byte inputs (m6ike/mobility.h,
 * m6ike/keymgr.h): PF_KEY messages as they arrive on the mobility side's
 * and the key manager's endpoints (sa_notify copies with the private
 * SA-selector / SA-move extensions, replies, error replies, ACQUIRE,
 * X_MIGRATE) and MH packets after IPsec, handed to an MN and an HA pair
 * (scheme msrd, NULL crypto, fresh per input; the MN has moved to a CoA).
 *
 * Input: records {target, len16 (big-endian), bytes}:
 *   target % 6 == 0  MN mobility read_pfkey   1  HA mobility read_pfkey
 *                 2  MN keymgr read_pfkey     3  HA keymgr read_pfkey
 *                 4  MN mobility read_mh      5  HA mobility read_mh
 *   target & 0x80    the clock advances 1 s first and both objects' timers
 *                    run
 * What the objects send goes nowhere.  Invariants: no crash, no leak
 * (ASan), no fatal code, and the MN's handover record stays consistent
 * (bu_count counts the BUs that left).  (No round trip: these are state
 * machines; their codec, pfkey.c, has its own round-trip target.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/keymgr.h"
#include "m6ike/mobility.h"
#include "fuzz_records.h"

static uint64_t rng_state;
static unsigned ip6_sent;

static int frand(uint8_t *d, size_t n, void *ud) {
  (void)ud;
  for (size_t i = 0; i < n; i++) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    d[i] = (uint8_t)(rng_state >> 24);
  }
  return 0;
}

static int sink_ip6(const uint8_t *p, size_t n, void *ud) {
  (void)p;
  (void)n;
  (void)ud;
  ip6_sent++;
  return 0;
}

static int sink_pfkey_m(const uint8_t *m, size_t n, int k, void *ud) {
  (void)m;
  (void)n;
  (void)k;
  (void)ud;
  return 0;
}

static int sink_pfkey_k(const uint8_t *m, size_t n, void *ud) {
  (void)m;
  (void)n;
  (void)ud;
  return 0;
}

static int sink_udp(const m6ike_ikev2_path *p, const uint8_t *b, size_t n,
                    void *ud) {
  (void)p;
  (void)b;
  (void)n;
  (void)ud;
  return 0;
}

static void cfg_fill(m6ike_agent_config *c, m6ike_agent_role role) {
  static const char psk[] = "fuzz psk";
  m6ike_agent_config_default(c, role);
  m6ike_addr6_parse(&c->ha, "2001:db8:1::1");
  m6ike_addr6_parse(&c->home_prefix, "2001:db8:1::");
  m6ike_addr6_parse(&c->hoa, "2001:db8:1::100");
  c->psk = (const uint8_t *)psk;
  c->psk_len = sizeof(psk) - 1;
}

static void check(int rc) {
  if (rc != 0 && m6ike_err_is_fatal(rc)) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  m6ike_mobility *mob[2] = {NULL, NULL};
  m6ike_keymgr *km[2] = {NULL, NULL};
  m6ike_msrd_reader *rd[2] = {NULL, NULL};
  m6ike_tstamp now = 0;
  rng_state = 0x243f6a8885a308d3ull;
  ip6_sent = 0;
  m6ike_mobility_callbacks mc;
  memset(&mc, 0, sizeof(mc));
  mc.rand = frand;
  mc.send_ip6 = sink_ip6;
  mc.send_pfkey = sink_pfkey_m;
  m6ike_keymgr_callbacks kc;
  memset(&kc, 0, sizeof(kc));
  kc.rand = frand;
  kc.send_pfkey = sink_pfkey_k;
  kc.send_udp = sink_udp;
  for (int i = 0; i < 2; i++) {
    m6ike_agent_config c;
    cfg_fill(&c, i ? M6IKE_AGENT_HA : M6IKE_AGENT_MN);
    if (m6ike_mobility_new(&mob[i], &c, &mc, NULL) != 0 ||
        m6ike_msrd_reader_new(m6ike_mobility_msrd(mob[i]), &rd[i]) != 0 ||
        m6ike_keymgr_new(&km[i], &c, &kc, m6ike_crypto_null(), rd[i],
                         NULL) != 0 ||
        m6ike_keymgr_start(km[i], 0) != 0) {
      abort();
    }
  }
  m6ike_addr6 coa;
  m6ike_addr6_parse(&coa, "2001:db8:2::100");
  check(m6ike_mobility_set_coa(mob[0], &coa, 0));
  size_t off = 0, len;
  uint8_t t;
  const uint8_t *b;
  while (fuzz_next_record(data, size, &off, &t, &b, &len)) {
    if (t & 0x80) {
      now += M6IKE_SECONDS;
      for (int i = 0; i < 2; i++) {
        check(m6ike_mobility_handle_expiry(mob[i], now));
        check(m6ike_keymgr_handle_expiry(km[i], now));
      }
    }
    switch ((t & 0x7f) % 6) {
    case 0:
    case 1:
      check(m6ike_mobility_read_pfkey(mob[t % 2], b, len, now));
      break;
    case 2:
    case 3:
      check(m6ike_keymgr_read_pfkey(km[t % 2], b, len, now));
      break;
    default:
      if (len > 0) {
        check(m6ike_mobility_read_mh(mob[t % 2], b, len, now));
      }
      break;
    }
  }
  m6ike_agent_handover h;
  if (m6ike_mobility_get_handover(mob[0], &h) == 0 && h.bu_count > ip6_sent) {
    abort();
  }
  for (int i = 0; i < 2; i++) {
    m6ike_keymgr_del(km[i]);
    m6ike_msrd_reader_del(rd[i]);
    m6ike_mobility_del(mob[i]);
  }
  return 0;
}
