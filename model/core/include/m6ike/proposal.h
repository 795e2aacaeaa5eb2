/*
 * proposal: IKE and ESP proposals written in strongSwan's syntax, so that
 * researchers can configure mip6ike as they configure charon:
 *
 *   IKE:  aes128-sha256-x25519        aes128gcm16-prfsha256-x25519
 *         3des-sha1-modp2048          aes256-sha256-ecp256
 *   ESP:  aes128gcm16                 aes128-sha256        3des-sha1
 *         null-sha256                 aes128gcm16-x25519 (PFS)  ...-esn
 *
 * Several proposals are separated by commas ("aes128gcm16,aes128-sha256").
 * Tokens:
 *   encryption  aes128 aes192 aes256 (CBC), aes128gcm16 aes192gcm16
 *               aes256gcm16 (also aesNNNgcm), 3des, null
 *   integrity   sha1 (HMAC-SHA1-96), sha256 (HMAC-SHA2-256-128),
 *               sha384, sha512
 *   PRF         prfsha1 prfsha256 prfsha384 prfsha512; in an IKE proposal
 *               without one, the PRF follows the integrity algorithm
 *               (sha256 -> prfsha256), as charon does
 *   DH          modp2048, ecp256, x25519 (= curve25519)
 *   ESN         esn, noesn (ESP only; default noesn)
 * An AEAD cipher takes no integrity algorithm; an IKE proposal with one
 * needs an explicit PRF.  An IKE proposal needs a DH group; in an ESP one
 * a group means PFS on rekeying.
 */
#ifndef M6IKE_PROPOSAL_H
#define M6IKE_PROPOSAL_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  M6IKE_ERR_PROPOSAL_TOKEN = -121,    /* unknown algorithm token */
  M6IKE_ERR_PROPOSAL_DUP = -122,      /* two algorithms of one kind */
  M6IKE_ERR_PROPOSAL_MISSING = -123,  /* encryption, PRF or DH missing */
  M6IKE_ERR_PROPOSAL_CONFLICT = -124, /* AEAD with integrity, ESN in IKE */
  M6IKE_ERR_PROPOSAL_TOO_MANY = -125  /* more than M6IKE_PROPOSAL_MAX */
};

typedef enum m6ike_proposal_kind {
  M6IKE_PROPOSAL_IKE = 1,
  M6IKE_PROPOSAL_ESP = 3 /* IKEv2 protocol ID */
} m6ike_proposal_kind;

/* One proposal as IKEv2 transform IDs (m6ike/crypto.h); 0 = absent. */
typedef struct m6ike_proposal {
  uint16_t encr;      /* M6IKE_ENCR_* */
  uint16_t encr_bits; /* key length attribute: 128/192/256, 0 for 3DES/NULL */
  uint16_t integ;     /* M6IKE_INTEG_*; 0 with AEAD */
  uint16_t prf;       /* M6IKE_PRF_*; IKE only */
  uint16_t dh;        /* M6IKE_DH_*; ESP: PFS group or 0 */
  uint8_t esn;        /* ESP: 1 = extended sequence numbers */
} m6ike_proposal;

#define M6IKE_PROPOSAL_MAX 8

typedef struct m6ike_proposal_list {
  m6ike_proposal p[M6IKE_PROPOSAL_MAX];
  size_t n;
} m6ike_proposal_list;

/*
 * Parses text into *out.  Returns 0 or a negative code:
 * M6IKE_ERR_INVALID_ARGUMENT (NULL or empty text, an empty proposal),
 * M6IKE_ERR_PROPOSAL_TOKEN, _DUP, _MISSING, _CONFLICT, _TOO_MANY.  On
 * error, if errbuf is not NULL, a message naming the offending token and
 * why is written there (e.g. "'aes129': unknown algorithm").
 */
int m6ike_proposal_parse(m6ike_proposal_list *out, m6ike_proposal_kind kind,
                         const char *text, char *errbuf, size_t errcap);

/* Writes one proposal back in strongSwan syntax ("aes128-sha256-x25519").
 * Returns the length, or M6IKE_ERR_NOBUF / M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_proposal_format(const m6ike_proposal *p, m6ike_proposal_kind kind,
                          char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_PROPOSAL_H */
