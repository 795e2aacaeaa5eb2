/*
 * Fuzzes the binding unit as a state machine: the input is a script of
 * operations on one binding cache (HA role, K supported, at most 12
 * entries) and one binding update list.  The binding unit has no wire
 * decoder (it consumes decoded MH structs), so instead of a round trip the
 * target checks invariants after every step and abort()s on a violation:
 *  - every entry returned by iteration is found by lookup at its HoA;
 *  - get_expiry equals the minimum expiry over the entries;
 *  - no entry outlives handle_expiry(now);
 *  - count never exceeds max_entries;
 *  - an accepted BU is in the cache with the BU's seq and the BA's lifetime;
 *  - a BA's seq is the BU's, or the entry's for 135;
 *  - the BUL's expiry is never in the past after handle_expiry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/binding.h"

typedef struct {
  const uint8_t *p;
  size_t n;
} rd;

static uint8_t u8(rd *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}
static uint16_t u16(rd *r) { return (uint16_t)(u8(r) << 8 | u8(r)); }

static int fuzz_rand(uint8_t *d, size_t n, void *ud) {
  uint32_t *s = ud;
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    d[i] = (uint8_t)(*s >> 16);
  }
  return 0;
}

static m6ike_addr6 addr(uint8_t sel) {
  m6ike_addr6 a;
  memset(&a, 0, sizeof(a));
  switch (sel % 8) {
  case 0: /* multicast */
    a.b[0] = 0xff;
    a.b[15] = 1;
    break;
  case 1: /* off the home prefix */
    a.b[0] = 0x20;
    a.b[1] = 0x01;
    a.b[2] = 0x0d;
    a.b[3] = 0xb9;
    a.b[15] = sel;
    break;
  default: /* on 2001:db8:1::/64 */
    a.b[0] = 0x20;
    a.b[1] = 0x01;
    a.b[2] = 0x0d;
    a.b[3] = 0xb8;
    a.b[5] = 1;
    a.b[15] = (uint8_t)(sel % 24);
    break;
  }
  return a;
}

static void check_cache(const m6ike_bcache *bc, m6ike_tstamp now,
                        int after_expiry) {
  size_t n = m6ike_bcache_count(bc);
  if (n > 12) abort();
  m6ike_tstamp min = M6IKE_TSTAMP_UNSET;
  for (size_t i = 0; i < n; i++) {
    const m6ike_bcache_entry *e = m6ike_bcache_at(bc, i);
    if (!e || m6ike_bcache_lookup(bc, &e->hoa) != e) abort();
    if (e->expiry < min) min = e->expiry;
    if (after_expiry && e->expiry <= now) abort();
  }
  if (m6ike_bcache_get_expiry(bc) != min) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  uint32_t seed = 1;
  m6ike_bcache_config hc;
  memset(&hc, 0, sizeof(hc));
  hc.role = M6IKE_BCACHE_ROLE_HA;
  hc.home_prefixes[0].prefix = addr(2);
  hc.home_prefixes[0].plen = 64;
  hc.n_home_prefixes = 1;
  hc.max_entries = 12;
  hc.k_supported = 1;
  hc.max_lifetime = (uint16_t)(u8(&r) * 4);
  hc.cb.rand = fuzz_rand;
  hc.cb.user_data = &seed;
  m6ike_bcache *bc = NULL;
  if (m6ike_bcache_new(&bc, &hc, NULL) != 0) abort();

  m6ike_bul_config mc;
  memset(&mc, 0, sizeof(mc));
  mc.hoa = addr(2);
  mc.ha = addr(3);
  mc.lifetime = u16(&r);
  mc.flags = M6IKE_BU_FLAG_A | M6IKE_BU_FLAG_H;
  mc.has_initial_seq = 1;
  mc.initial_seq = u16(&r);
  mc.max_retransmissions = u8(&r) % 8;
  m6ike_bul *bul = NULL;
  if (m6ike_bul_new(&bul, &mc, NULL) != 0) abort();

  m6ike_tstamp now = 0;
  while (r.n) {
    uint8_t op = u8(&r);
    now += (m6ike_tstamp)(op >> 3) * 250 * M6IKE_MILLISECONDS;
    m6ike_mh_msg bu, ba;
    m6ike_addr6 hoa, coa, src, dst;
    switch (op & 7) {
    case 0:
    case 1: { /* a BU from a fuzzed MN */
      memset(&bu, 0, sizeof(bu));
      bu.type = (u8(&r) & 0x80) ? M6IKE_MH_BA : M6IKE_MH_BU;
      hoa = addr(u8(&r));
      coa = addr(u8(&r));
      bu.u.bu.seq = u16(&r);
      bu.u.bu.flags = (uint16_t)(u8(&r) << 8) & 0xf000u;
      bu.u.bu.lifetime = u16(&r) % 512;
      uint8_t o = u8(&r);
      bu.opts.has_nonce_idx = o & 1;
      bu.opts.has_bind_auth = (o >> 1) & 1;
      bu.opts.home_nonce_index = (uint16_t)(o >> 2);
      bu.opts.careof_nonce_index = (uint16_t)(o >> 4);
      const m6ike_bcache_entry *old = m6ike_bcache_lookup(bc, &hoa);
      uint16_t old_seq = old ? old->seq : 0;
      int rv = m6ike_bcache_process_bu(bc, &hoa, &coa, &bu, now, &ba);
      if (rv == 1 || rv == 0) {
        if (ba.type != M6IKE_MH_BA) abort();
        if (ba.u.ba.status == M6IKE_BA_SEQ_OUT_OF_WINDOW) {
          if (!old || ba.u.ba.seq != old_seq) abort();
        } else if (ba.u.ba.seq != bu.u.bu.seq) {
          abort();
        }
        const m6ike_bcache_entry *e = m6ike_bcache_lookup(bc, &hoa);
        if (ba.u.ba.status < 128 && bu.u.bu.lifetime &&
            !m6ike_addr6_equal(&hoa, &coa)) {
          if (!e || e->seq != bu.u.bu.seq || e->lifetime != ba.u.ba.lifetime)
            abort();
          if (ba.u.ba.lifetime > bu.u.bu.lifetime) abort();
        }
        if (ba.u.ba.status >= 128 && rv != 1) abort();
      }
      break;
    }
    case 2:
      m6ike_bcache_handle_expiry(bc, now);
      check_cache(bc, now, 1);
      break;
    case 3: {
      uint16_t idx;
      uint8_t nonce[8];
      if (m6ike_bcache_nonce_generate(bc, now, &idx, nonce) != 0) abort();
      if (m6ike_bcache_nonce_get(bc, idx, now, nonce) != 0) abort();
      break;
    }
    case 4:
      hoa = addr(u8(&r));
      m6ike_bcache_remove(bc, &hoa);
      if (m6ike_bcache_lookup(bc, &hoa)) abort();
      break;
    case 5:
      coa = addr(u8(&r));
      m6ike_bul_move(bul, &coa, now);
      break;
    case 6: /* MN -> HA -> MN over a perfect link */
      while (m6ike_bul_write_bu(bul, now, &bu, &src, &dst) == 1) {
        if (m6ike_bcache_process_bu(bc, &mc.hoa, &src, &bu, now, &ba) == 1 &&
            (u8(&r) & 1)) {
          m6ike_bul_read_ba(bul, &ba, now);
        }
      }
      if (m6ike_bul_get_expiry(bul) <= now &&
          m6ike_bul_get_expiry(bul) != M6IKE_TSTAMP_UNSET) {
        abort(); /* write_bu ran the timers and sent what was due */
      }
      break;
    case 7: /* a fuzzed BA to the MN */
      memset(&ba, 0, sizeof(ba));
      ba.type = M6IKE_MH_BA;
      ba.u.ba.status = u8(&r);
      ba.u.ba.seq = (u8(&r) & 1) ? m6ike_bul_get_seq(bul) : u16(&r);
      ba.u.ba.lifetime = u16(&r);
      ba.u.ba.flags = u8(&r);
      ba.opts.has_bra = u8(&r) & 1;
      ba.opts.refresh_interval = u16(&r);
      m6ike_bul_read_ba(bul, &ba, now);
      break;
    }
    check_cache(bc, now, 0);
  }
  m6ike_bul_del(bul);
  m6ike_bcache_del(bc);
  return 0;
}
