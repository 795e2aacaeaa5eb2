/*
 * crypto_meter: an m6ike_crypto backend that forwards every operation to a
 * base backend and counts what it did, so that a host can charge simulated
 * processing time per operation (ns-3's "fixed" processing-time mode) or
 * report the cryptographic work of an exchange.
 *
 *   m6ike_crypto_meter meter;
 *   const m6ike_crypto *c = m6ike_crypto_meter_init(&meter, base, NULL);
 *   ... hand c to m6ike_agent_new / m6ike_ikev2_new / m6ike_ipsec ...
 *   meter.counts.dh_keygen ...  (m6ike_crypto_meter_reset() zeroes them)
 *
 * Keyed objects (cipher, integrity, DH, private keys, certificates) made
 * through the meter are small wrappers (allocated through mem) around the
 * base's objects, so their operations are counted too.  The meter struct
 * is the caller's; it must outlive every object made through it and the
 * base must outlive the meter.  No global state.  Chains passed to
 * cert_verify_chain are limited to M6IKE_CRYPTO_METER_MAX_CHAIN
 * certificates per list (more: M6IKE_ERR_CRYPTO_UNSUPPORTED).
 */
#ifndef M6IKE_CRYPTO_METER_H
#define M6IKE_CRYPTO_METER_H

#include "m6ike/common.h"
#include "m6ike/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define M6IKE_CRYPTO_METER_GROUPS 4 /* distinct DH groups tracked */
#define M6IKE_CRYPTO_METER_MAX_CHAIN 16

typedef struct m6ike_crypto_meter_counts {
  /* DH: key generations (dh_new + its public value) and derivations
   * (dh_shared), in total and per group (slots filled in order of first
   * use; group 0 = unused slot; further groups count in the totals only) */
  uint64_t dh_keygen, dh_derive;
  struct {
    uint16_t group;
    uint64_t keygen, derive;
  } dh[M6IKE_CRYPTO_METER_GROUPS];
  uint64_t sign, verify;          /* signatures made / checked */
  uint64_t verify_chain;          /* certificate chain validations */
  uint64_t cipher_calls;          /* encrypt + decrypt calls */
  uint64_t cipher_bytes;          /* their input octets */
  uint64_t cipher_keys;           /* cipher contexts created */
  uint64_t mac_calls, mac_bytes;  /* integ_compute calls / input octets */
  uint64_t mac_keys;              /* integrity contexts created */
  uint64_t prf_calls, prf_bytes;  /* prf calls (prf+ counts each block) */
  uint64_t hash_calls, hash_bytes;
  uint64_t failures;              /* forwarded calls that returned < 0 */
} m6ike_crypto_meter_counts;

typedef struct m6ike_crypto_meter {
  m6ike_crypto crypto;        /* what m6ike_crypto_meter_init returns */
  const m6ike_crypto *base;
  const m6ike_mem *mem;
  m6ike_crypto_meter_counts counts;
} m6ike_crypto_meter;

/* Sets meter up over base (required) with mem for its wrappers (NULL =
 * default) and zeroes the counts.  Returns &meter->crypto, or NULL if
 * meter or base is NULL. */
const m6ike_crypto *m6ike_crypto_meter_init(m6ike_crypto_meter *meter,
                                            const m6ike_crypto *base,
                                            const m6ike_mem *mem);
/* Zeroes the counts (the DH group slots too). */
void m6ike_crypto_meter_reset(m6ike_crypto_meter *meter);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_CRYPTO_METER_H */
