/* Internal: the ipsec unit's databases, shared by ipsec.c (SPD, SAD, ESP,
 * lifetimes) and ipsec_pfkey.c (the PF_KEY kernel side). */
#ifndef M6IKE_IPSEC_INTERNAL_H
#define M6IKE_IPSEC_INTERNAL_H

#include "m6ike/ipsec.h"
#include "m6ike/mh.h"

/* One SA.  Allocated in one block: the struct, the replay bitmap
 * (nwords u64), then the keys (enc_key_len + auth_key_len octets). */
typedef struct ipsec_sa {
  struct ipsec_sa *next_spi;   /* chain in the SPI hash */
  struct ipsec_sa *next_reqid; /* chain in the reqid hash */
  uint32_t spi, reqid;
  m6ike_addr6 src, dst;
  uint8_t mode, state;
  uint16_t enc, integ; /* M6IKE_ENCR_*, M6IKE_INTEG_* */
  uint16_t key_bits;
  uint8_t esn, no_replay, has_sel, soft_fired;
  uint8_t iv_len, icv_len, block, aead;
  uint8_t pfkey_replay; /* sadb_sa_replay as given (PF_KEY dumps) */
  m6ike_ipsec_selector sel;
  m6ike_crypto_cipher *cipher;
  m6ike_crypto_integ *integ_ctx;
  uint8_t *enc_key, *auth_key; /* inside the block */
  uint16_t enc_key_len, auth_key_len;
  uint64_t seq_out;
  uint64_t replay_top;
  uint32_t window, nwords;
  uint64_t *bitmap; /* inside the block; ring of nwords*64 bits */
  m6ike_ipsec_lifetime soft, hard;
  m6ike_tstamp add_time, use_time;
  uint64_t order; /* insertion counter (prefer newest) */
  m6ike_ipsec_sa_stats st;
} ipsec_sa;

typedef struct ipsec_pol {
  m6ike_ipsec_policy p;
  uint64_t order;
  m6ike_tstamp acq_until; /* no new ACQUIRE before (UNSET = none) */
} ipsec_pol;

typedef struct pol_list {
  ipsec_pol *v;
  size_t n, cap;
} pol_list;

struct m6ike_ipsec {
  const m6ike_mem *mem;
  m6ike_ipsec_config cfg;
  int has_cfg;
  m6ike_pfkey_bus *bus;
  /* SAD */
  ipsec_sa **spi_tab, **reqid_tab;
  size_t tab_size; /* power of two */
  size_t n_sa;
  uint64_t sa_order;
  /* SPD: index 0 in, 1 out, 2 fwd */
  pol_list pols[3];
  uint32_t next_pol_id;
  uint64_t pol_order;
  uint32_t acq_seq;
  m6ike_ipsec_stats st;
};

/* ---- shared between ipsec.c and ipsec_pfkey.c ---- */

int m6ike_ipsec_pol_index_(uint8_t dir); /* 0..2 or -1 */
ipsec_sa *m6ike_ipsec_sa_find_(const m6ike_ipsec *ipsec, uint32_t spi,
                               const m6ike_addr6 *dst);
/* Validated add of an SA; larval when p is NULL-keyed and larval != 0. */
int m6ike_ipsec_sa_insert_(m6ike_ipsec *ipsec,
                           const m6ike_ipsec_sa_params *p, int larval,
                           uint8_t pfkey_replay, m6ike_tstamp now,
                           ipsec_sa **out);
/* Replace a larval SA by a mature one with the same (spi, dst). */
int m6ike_ipsec_sa_mature_(m6ike_ipsec *ipsec, ipsec_sa *larval,
                           const m6ike_ipsec_sa_params *p,
                           uint8_t pfkey_replay, m6ike_tstamp now);
void m6ike_ipsec_sa_remove_(m6ike_ipsec *ipsec, ipsec_sa *sa);
/* Move an SA to new endpoints in place (rehash not needed: by SPI).
 * 0 or M6IKE_ERR_EXISTS. */
int m6ike_ipsec_sa_move_(m6ike_ipsec *ipsec, ipsec_sa *sa,
                         const m6ike_addr6 *src, const m6ike_addr6 *dst);
int m6ike_ipsec_selector_check_(const m6ike_ipsec_selector *sel);
void m6ike_ipsec_selector_norm_(m6ike_ipsec_selector *sel);
int m6ike_ipsec_selector_equal_(const m6ike_ipsec_selector *a,
                                const m6ike_ipsec_selector *b);
/* PF_KEY <-> IKEv2 integrity numbers; -1 if unknown. */
int m6ike_ipsec_integ_from_sadb_(uint8_t aalg);
int m6ike_ipsec_integ_to_sadb_(uint16_t integ);

#endif /* M6IKE_IPSEC_INTERNAL_H */
