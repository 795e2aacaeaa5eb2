/*
 * crypto: the narrow interface between the mip6ike core and a
 * cryptographic library.
 *
 * The core (ikev2, ipsec) never calls a crypto library directly.  It holds
 * a `const m6ike_crypto *` -- a table of function pointers and the
 * backend's private state -- and calls the wrappers below, which check
 * their arguments before dispatching, so every backend sees only valid
 * lengths and known algorithms.
 *
 * Backends:
 *   m6ike_crypto_null()          in the core, no crypto library: a
 *                                deterministic, NON-CRYPTOGRAPHIC stand-in
 *                                for state-machine tests and large
 *                                simulated sweeps (see crypto_null below).
 *   m6ike_crypto_openssl_new()   OpenSSL 3 libcrypto, in the separate
 *                                static library m6ike_crypto_openssl
 *                                (m6ike/crypto_openssl.h).
 *
 * Algorithms are named by their IKEv2 transform IDs (RFC 7296 §3.3.2, IANA
 * "IKEv2 Transform Type N Transform IDs"), so the ikev2 unit can put them
 * on the wire as they are and the ipsec unit uses the same numbers.
 *
 * Keyed objects (cipher, integ, DH) are created once -- per SA, per
 * exchange -- and reused, because setting a key up costs more than
 * processing one packet.  Each such object is a public header struct that
 * the backend embeds as the first member of its own private struct; the
 * header names the backend's ops, so the wrappers need only the object.
 *
 * Threads: a backend and the objects it created must be used by one thread
 * at a time (create one backend per thread if needed).  No backend keeps
 * global mutable state; randomness comes only from the m6ike_rand_cb given
 * to m6ike_crypto_dh_new(), so a run is reproducible from its seed.
 *
 * In-place operation: for every encrypt/decrypt below `out` may equal `in`
 * (exactly; partial overlap is not allowed).
 */
#ifndef M6IKE_CRYPTO_H
#define M6IKE_CRYPTO_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of this unit (-850..-899); see also the common codes
 * (M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOBUF, M6IKE_ERR_NOT_FOUND,
 * M6IKE_ERR_NOMEM, M6IKE_ERR_RANDOM). */
enum {
  M6IKE_ERR_CRYPTO_UNSUPPORTED = -851,    /* algorithm/group/scheme unknown
                                             or not offered by the backend */
  M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH = -852, /* key length wrong for the alg */
  M6IKE_ERR_CRYPTO_BAD_IV_LENGTH = -853,  /* IV length wrong for the alg */
  M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH = -854, /* not a multiple of the block */
  M6IKE_ERR_CRYPTO_AUTH = -855,     /* ICV / AEAD tag does not verify */
  M6IKE_ERR_CRYPTO_DH_PUBLIC = -856, /* peer DH public value invalid: wrong
                                        length, out of range, not on curve */
  M6IKE_ERR_CRYPTO_DH_ZERO = -857,  /* X25519 shared secret all zero (small-
                                       order peer point, RFC 7748 §6.1) */
  M6IKE_ERR_CRYPTO_BAD_SIGNATURE = -858, /* signature does not verify */
  M6IKE_ERR_CRYPTO_KEY_PARSE = -859,  /* private key is not PEM/DER we read */
  M6IKE_ERR_CRYPTO_CERT_PARSE = -860, /* certificate is not PEM/DER X.509 */
  M6IKE_ERR_CRYPTO_CERT_UNTRUSTED = -861, /* no valid chain to a trusted CA */
  M6IKE_ERR_CRYPTO_CERT_TIME = -862, /* certificate expired / not yet valid */
  M6IKE_ERR_CRYPTO_KEY_MISMATCH = -863, /* scheme does not fit the key type,
                                           or key does not match the cert */
  M6IKE_ERR_CRYPTO_ID_MISMATCH = -864, /* identity not in the certificate */
  M6IKE_ERR_CRYPTO_BAD_ALGID = -865,   /* RFC 7427 AlgorithmIdentifier
                                          unknown */
  M6IKE_ERR_CRYPTO_PRF_PLUS_LENGTH = -866, /* prf+ asked for > 255 blocks */
  /* Unexpected failures inside the backend library, by operation. */
  M6IKE_ERR_CRYPTO_PRF_FAILED = -870,
  M6IKE_ERR_CRYPTO_HASH_FAILED = -871,
  M6IKE_ERR_CRYPTO_CIPHER_FAILED = -872,
  M6IKE_ERR_CRYPTO_INTEG_FAILED = -873,
  M6IKE_ERR_CRYPTO_DH_FAILED = -874,
  M6IKE_ERR_CRYPTO_SIGN_FAILED = -875,
  M6IKE_ERR_CRYPTO_VERIFY_FAILED = -876, /* could not run the verification
                                            (not: signature wrong) */
  M6IKE_ERR_CRYPTO_CERT_FAILED = -877    /* could not read cert fields */
};

/* Error text for this unit's codes, NULL for codes it does not own. */
const char *m6ike_crypto_strerror_(int code);

/* ------------------------------------------------------------------ */
/* Algorithm identifiers (IKEv2 transform IDs)                         */
/* ------------------------------------------------------------------ */

/* Transform type 1, encryption.  Key length in bits is a separate
 * attribute (RFC 7296 §3.3.5): AES 128/192/256; 3DES and NULL take 0. */
enum {
  M6IKE_ENCR_3DES = 3,
  M6IKE_ENCR_NULL = 11,
  M6IKE_ENCR_AES_CBC = 12,
  M6IKE_ENCR_AES_GCM_16 = 20 /* AEAD, 16-octet ICV (RFC 4106, RFC 5282) */
};

/* Transform type 2, pseudo-random function. */
enum {
  M6IKE_PRF_HMAC_SHA1 = 2,
  M6IKE_PRF_HMAC_SHA2_256 = 5,
  M6IKE_PRF_HMAC_SHA2_384 = 6,
  M6IKE_PRF_HMAC_SHA2_512 = 7
};

/* Transform type 3, integrity. */
enum {
  M6IKE_INTEG_NONE = 0,
  M6IKE_INTEG_HMAC_SHA1_96 = 2,
  M6IKE_INTEG_HMAC_SHA2_256_128 = 12, /* RFC 4868 */
  M6IKE_INTEG_HMAC_SHA2_384_192 = 13,
  M6IKE_INTEG_HMAC_SHA2_512_256 = 14
};

/* Transform type 4, Diffie-Hellman group. */
enum {
  M6IKE_DH_MODP_2048 = 14,  /* RFC 3526 group 14 */
  M6IKE_DH_ECP_256 = 19,    /* RFC 5903 P-256 */
  M6IKE_DH_CURVE25519 = 31  /* RFC 8031 X25519 */
};

/* Hash algorithms, numbered as RFC 7427's SIGNATURE_HASH_ALGORITHMS. */
enum {
  M6IKE_HASH_SHA1 = 1,
  M6IKE_HASH_SHA2_256 = 2,
  M6IKE_HASH_SHA2_384 = 3,
  M6IKE_HASH_SHA2_512 = 4
};

/*
 * Signature schemes for IKE_AUTH (RFC 7296 §3.8, RFC 4754, RFC 7427).
 *   RSA_PKCS1_SHA1       auth method 1 (RSA Digital Signature): PKCS#1 v1.5
 *                        with SHA-1.
 *   RSA_PKCS1_SHA256..512 auth method 14 (RFC 7427) with
 *                        sha{256,384,512}WithRSAEncryption.
 *   ECDSA_P256_SHA256    auth method 9 (RFC 4754): P-256 key, SHA-256,
 *                        signature = r || s, 32 octets each, big-endian.
 *   ECDSA_SHA256..512_DER auth method 14 with ecdsa-with-SHA{256,384,512}:
 *                        signature = DER Ecdsa-Sig-Value (RFC 7427 §3 /
 *                        RFC 3279), any EC key.
 */
typedef enum m6ike_sig_scheme {
  M6IKE_SIG_RSA_PKCS1_SHA1 = 1,
  M6IKE_SIG_RSA_PKCS1_SHA256 = 2,
  M6IKE_SIG_RSA_PKCS1_SHA384 = 3,
  M6IKE_SIG_RSA_PKCS1_SHA512 = 4,
  M6IKE_SIG_ECDSA_P256_SHA256 = 5,
  M6IKE_SIG_ECDSA_SHA256_DER = 6,
  M6IKE_SIG_ECDSA_SHA384_DER = 7,
  M6IKE_SIG_ECDSA_SHA512_DER = 8
} m6ike_sig_scheme;

/* Private key types reported by m6ike_crypto_privkey_type(). */
enum {
  M6IKE_KEY_RSA = 1,
  M6IKE_KEY_ECDSA_P256 = 2,
  M6IKE_KEY_ECDSA_OTHER = 3 /* EC key on another curve (P-384, ...) */
};

/* IKEv2 identification types (RFC 7296 §3.5) used for certificate
 * identities. */
enum {
  M6IKE_ID_IPV4_ADDR = 1,
  M6IKE_ID_FQDN = 2,
  M6IKE_ID_RFC822_ADDR = 3,
  M6IKE_ID_IPV6_ADDR = 5,
  M6IKE_ID_DER_ASN1_DN = 9
};

/* Size helpers.  Each returns a length in octets (>= 0) or
 * M6IKE_ERR_CRYPTO_UNSUPPORTED for an unknown algorithm / key length. */

/* Keying material octets for an encryption transform: AES-CBC key_bits/8;
 * AES-GCM key_bits/8 + 4 (the salt, RFC 4106 §8.1 / RFC 5282 §7.1); 3DES
 * 24; NULL 0.  key_bits: 128/192/256 for AES, 0 for 3DES and NULL. */
int m6ike_crypto_encr_key_len(uint16_t encr, unsigned key_bits);
/* IV octets on the wire: 3DES 8, AES-CBC 16, AES-GCM 8, NULL 0. */
int m6ike_crypto_encr_iv_len(uint16_t encr);
/* Cipher block size for padding: 3DES 8, AES-CBC 16, AES-GCM 1, NULL 1
 * (callers add their own alignment, e.g. ESP's 4 octets). */
int m6ike_crypto_encr_block_len(uint16_t encr);
/* AEAD tag octets: AES-GCM-16 16, others 0. */
int m6ike_crypto_encr_icv_len(uint16_t encr);
/* 1 for AEAD transforms (AES-GCM), 0 for others, or UNSUPPORTED. */
int m6ike_crypto_encr_is_aead(uint16_t encr);

/* PRF output octets (= preferred key length, RFC 7296 §2.14). */
int m6ike_crypto_prf_len(uint16_t prf);
/* Integrity key octets: 0, 20, 32, 48, 64. */
int m6ike_crypto_integ_key_len(uint16_t integ);
/* Integrity ICV octets after truncation: 0, 12, 16, 24, 32. */
int m6ike_crypto_integ_icv_len(uint16_t integ);
/* Hash output octets: 20, 32, 48, 64. */
int m6ike_crypto_hash_len(uint16_t hash);
/* DH public value octets on the wire (RFC 7296 §3.4 / RFC 5903 §7 /
 * RFC 8031 §3): MODP-2048 256 (big-endian, left-padded with zeros),
 * ECP-256 64 (x || y), Curve25519 32. */
int m6ike_crypto_dh_public_len(uint16_t group);
/* DH shared secret octets: MODP-2048 256 (left-padded), ECP-256 32 (x
 * only, RFC 5903 §7), Curve25519 32. */
int m6ike_crypto_dh_shared_len(uint16_t group);

/* Largest values of the helpers above, for stack buffers. */
#define M6IKE_CRYPTO_MAX_PRF_LEN 64
#define M6IKE_CRYPTO_MAX_HASH_LEN 64
#define M6IKE_CRYPTO_MAX_ICV_LEN 32
#define M6IKE_CRYPTO_MAX_IV_LEN 16
#define M6IKE_CRYPTO_MAX_DH_PUBLIC_LEN 256
#define M6IKE_CRYPTO_MAX_DH_SHARED_LEN 256
#define M6IKE_CRYPTO_MAX_SIG_LEN 1024 /* RSA up to 8192 bits */

/* ------------------------------------------------------------------ */
/* The backend interface                                               */
/* ------------------------------------------------------------------ */

/* A piece of input: functions taking a list of chunks process their
 * concatenation, so callers need not copy (e.g. prf(K, T | S | n),
 * RFC 7296 §2.15 signed octets, ESP ICV over payload || ESN high bits). */
typedef struct m6ike_crypto_chunk {
  const uint8_t *ptr;
  size_t len;
} m6ike_crypto_chunk;

struct m6ike_crypto_ops;
struct m6ike_crypto;

/* Keyed objects: public headers, embedded first in the backend's structs.
 * The fields are set by the backend and read-only for everyone else. */
typedef struct m6ike_crypto_cipher {
  const struct m6ike_crypto_ops *ops;
  uint16_t encr;     /* M6IKE_ENCR_* */
  uint16_t key_bits; /* as given to m6ike_crypto_cipher_new */
} m6ike_crypto_cipher;

typedef struct m6ike_crypto_integ {
  const struct m6ike_crypto_ops *ops;
  uint16_t integ; /* M6IKE_INTEG_* */
} m6ike_crypto_integ;

typedef struct m6ike_crypto_dh {
  const struct m6ike_crypto_ops *ops;
  uint16_t group; /* M6IKE_DH_* */
} m6ike_crypto_dh;

typedef struct m6ike_crypto_privkey {
  const struct m6ike_crypto_ops *ops;
  int type; /* M6IKE_KEY_* */
} m6ike_crypto_privkey;

typedef struct m6ike_crypto_cert {
  const struct m6ike_crypto_ops *ops;
} m6ike_crypto_cert;

/*
 * The operations a backend provides.  The wrappers below validate
 * arguments (algorithm known, lengths right, pointers non-NULL) before
 * calling these, so a backend may assume them.  `impl` is
 * m6ike_crypto.impl.  A backend that lacks a feature returns
 * M6IKE_ERR_CRYPTO_UNSUPPORTED (or leaves the pointer NULL, which the
 * wrappers report the same way).  cert_verify_chain is called with impl
 * NULL (a cert does not lead back to its backend's impl); backends that
 * need it keep a pointer in their cert struct.
 */
typedef struct m6ike_crypto_ops {
  const char *name; /* "openssl", "null" */
  /* Frees the backend itself (m6ike_crypto_del). */
  void (*backend_del)(struct m6ike_crypto *c);

  int (*prf)(void *impl, uint16_t prf, const uint8_t *key, size_t keylen,
             const m6ike_crypto_chunk *in, size_t nin, uint8_t *out);
  int (*hash)(void *impl, uint16_t hash, const m6ike_crypto_chunk *in,
              size_t nin, uint8_t *out);

  int (*cipher_new)(void *impl, m6ike_crypto_cipher **ctx, uint16_t encr,
                    unsigned key_bits, const uint8_t *key, size_t keylen);
  int (*cipher_encrypt)(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, uint8_t *out,
                        uint8_t *tag);
  int (*cipher_decrypt)(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                        size_t ivlen, const uint8_t *aad, size_t aadlen,
                        const uint8_t *in, size_t len, const uint8_t *tag,
                        uint8_t *out);
  void (*cipher_del)(m6ike_crypto_cipher *ctx);

  int (*integ_new)(void *impl, m6ike_crypto_integ **ctx, uint16_t integ,
                   const uint8_t *key, size_t keylen);
  /* Writes the truncated ICV (m6ike_crypto_integ_icv_len octets). */
  int (*integ_compute)(m6ike_crypto_integ *ctx, const m6ike_crypto_chunk *in,
                       size_t nin, uint8_t *icv);
  void (*integ_del)(m6ike_crypto_integ *ctx);

  int (*dh_new)(void *impl, m6ike_crypto_dh **dh, uint16_t group,
                m6ike_rand_cb rand, void *rand_user_data);
  int (*dh_public)(m6ike_crypto_dh *dh, uint8_t *out);
  int (*dh_shared)(m6ike_crypto_dh *dh, const uint8_t *peer, size_t peerlen,
                   uint8_t *out);
  void (*dh_del)(m6ike_crypto_dh *dh);

  int (*privkey_load)(void *impl, m6ike_crypto_privkey **key,
                      const uint8_t *data, size_t len);
  int (*sign)(m6ike_crypto_privkey *key, m6ike_sig_scheme scheme,
              const m6ike_crypto_chunk *in, size_t nin, uint8_t *sig,
              size_t *siglen);
  /* Largest signature the key makes, in octets. */
  size_t (*privkey_sig_len)(m6ike_crypto_privkey *key);
  /* 0 if the key is the private half of the cert's public key, else
   * M6IKE_ERR_CRYPTO_KEY_MISMATCH. */
  int (*privkey_matches)(m6ike_crypto_privkey *key, m6ike_crypto_cert *cert);
  void (*privkey_del)(m6ike_crypto_privkey *key);

  int (*cert_load)(void *impl, m6ike_crypto_cert **cert, const uint8_t *data,
                   size_t len);
  int (*cert_der)(m6ike_crypto_cert *cert, const uint8_t **der,
                  size_t *len);
  int (*cert_subject)(m6ike_crypto_cert *cert, const uint8_t **der,
                      size_t *len);
  int (*cert_san)(m6ike_crypto_cert *cert, size_t index, int *id_type,
                  const uint8_t **data, size_t *len);
  int (*cert_verify)(m6ike_crypto_cert *cert, m6ike_sig_scheme scheme,
                     const m6ike_crypto_chunk *in, size_t nin,
                     const uint8_t *sig, size_t siglen);
  int (*cert_verify_chain)(void *impl, m6ike_crypto_cert *cert,
                           m6ike_crypto_cert *const *trusted, size_t ntrusted,
                           m6ike_crypto_cert *const *untrusted,
                           size_t nuntrusted, int64_t unix_time);
  void (*cert_del)(m6ike_crypto_cert *cert);
} m6ike_crypto_ops;

/* A backend: its operations and private state. */
typedef struct m6ike_crypto {
  const m6ike_crypto_ops *ops;
  void *impl;
} m6ike_crypto;

/* Frees a backend made by a *_new function (not m6ike_crypto_null()'s
 * constant object, for which this does nothing).  NULL is ignored.  Free
 * every object it created first. */
void m6ike_crypto_del(m6ike_crypto *c);

/* The backend's name ("openssl", "null"). */
const char *m6ike_crypto_name(const m6ike_crypto *c);

/* ------------------------------------------------------------------ */
/* The NULL backend                                                    */
/* ------------------------------------------------------------------ */

/*
 * NOT CRYPTOGRAPHY.  For state-machine tests and large simulated sweeps
 * only, where real ciphers and DH would dominate the run time.
 *  - prf/hash: a keyed 64-bit mixing function stretched to the real
 *    output length; deterministic; different keys/inputs give different
 *    outputs in practice.
 *  - cipher: copies (ciphertext = plaintext); AES-GCM's tag is a keyed
 *    checksum of key, IV, AAD and data, so corruption is still detected
 *    (M6IKE_ERR_CRYPTO_AUTH).  Key, IV and block lengths are checked as
 *    for the real algorithms.
 *  - integ: the same keyed checksum, truncated to the real ICV length.
 *  - DH: private = 32 octets from the random callback; public =
 *    H(private) stretched to the real public length; shared =
 *    H(min(pub_a, pub_b) || max(pub_a, pub_b)), so both ends agree.  A
 *    peer value of the wrong length or all zero gives
 *    M6IKE_ERR_CRYPTO_DH_PUBLIC.
 *  - signatures and certificates: M6IKE_ERR_CRYPTO_UNSUPPORTED.
 * m6ike_crypto_null() is a constant object using the default allocator;
 * m6ike_crypto_null_new() makes one whose objects allocate through mem.
 */
const m6ike_crypto *m6ike_crypto_null(void);
/* 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOMEM. */
int m6ike_crypto_null_new(m6ike_crypto **c, const m6ike_mem *mem);

/* ------------------------------------------------------------------ */
/* Wrappers                                                            */
/* ------------------------------------------------------------------ */

/* prf(key, data) (RFC 7296 §2.13) into out (m6ike_crypto_prf_len octets).
 * Any key length (HMAC hashes long keys).
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_PRF_FAILED, M6IKE_ERR_NOMEM. */
int m6ike_crypto_prf(const m6ike_crypto *c, uint16_t prf, const uint8_t *key,
                     size_t keylen, const uint8_t *data, size_t len,
                     uint8_t *out);
/* The same over the concatenation of nin chunks. */
int m6ike_crypto_prfv(const m6ike_crypto *c, uint16_t prf,
                      const uint8_t *key, size_t keylen,
                      const m6ike_crypto_chunk *in, size_t nin, uint8_t *out);

/* prf+ (RFC 7296 §2.13): out = T1 | T2 | ... truncated to outlen, where
 * T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n).  Implemented in the
 * core on top of the backend's prf, no allocation.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_PRF_PLUS_LENGTH (outlen > 255 * prf_len),
 * M6IKE_ERR_CRYPTO_PRF_FAILED, M6IKE_ERR_NOMEM. */
int m6ike_prf_plus(const m6ike_crypto *c, uint16_t prf, const uint8_t *key,
                   size_t keylen, const uint8_t *seed, size_t seedlen,
                   uint8_t *out, size_t outlen);

/* Hash (SHA-1 for NAT detection, RFC 7296 §2.23; others for RFC 7427).
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_HASH_FAILED, M6IKE_ERR_NOMEM. */
int m6ike_crypto_hash(const m6ike_crypto *c, uint16_t hash,
                      const m6ike_crypto_chunk *in, size_t nin, uint8_t *out);

/* Constant-time comparison: 1 if equal, 0 otherwise. */
int m6ike_crypto_memeq(const uint8_t *a, const uint8_t *b, size_t len);

/* --- Encryption ---------------------------------------------------- */

/* Keyed cipher context.  key is m6ike_crypto_encr_key_len(encr, key_bits)
 * octets; for AES-GCM its last 4 octets are the salt, and the nonce is
 * salt || IV (RFC 4106 §4, RFC 5282 §4).
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH, M6IKE_ERR_CRYPTO_CIPHER_FAILED,
 * M6IKE_ERR_NOMEM. */
int m6ike_crypto_cipher_new(m6ike_crypto_cipher **ctx, const m6ike_crypto *c,
                            uint16_t encr, unsigned key_bits,
                            const uint8_t *key, size_t keylen);
/* Encrypts len octets of in into out.  ivlen must be
 * m6ike_crypto_encr_iv_len(encr).  CBC modes: len a multiple of the block
 * size (the caller pads; no padding is added), aad and tag ignored (may be
 * NULL).  AES-GCM: aad authenticated (may be NULL when aadlen is 0), the
 * 16-octet tag written to tag.  NULL: copies.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_BAD_IV_LENGTH,
 * M6IKE_ERR_CRYPTO_BAD_DATA_LENGTH, M6IKE_ERR_CRYPTO_CIPHER_FAILED. */
int m6ike_crypto_cipher_encrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                                size_t ivlen, const uint8_t *aad,
                                size_t aadlen, const uint8_t *in, size_t len,
                                uint8_t *out, uint8_t *tag);
/* Decrypts; for AES-GCM verifies the tag: on a bad tag returns
 * M6IKE_ERR_CRYPTO_AUTH and out's content is unspecified (callers drop
 * it).  Same other codes as encrypt. */
int m6ike_crypto_cipher_decrypt(m6ike_crypto_cipher *ctx, const uint8_t *iv,
                                size_t ivlen, const uint8_t *aad,
                                size_t aadlen, const uint8_t *in, size_t len,
                                const uint8_t *tag, uint8_t *out);
/* NULL is ignored.  Wipes the key. */
void m6ike_crypto_cipher_del(m6ike_crypto_cipher *ctx);

/* --- Integrity ----------------------------------------------------- */

/* Keyed integrity context; keylen must be m6ike_crypto_integ_key_len.
 * M6IKE_INTEG_NONE has no context (UNSUPPORTED).
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_BAD_KEY_LENGTH, M6IKE_ERR_CRYPTO_INTEG_FAILED,
 * M6IKE_ERR_NOMEM. */
int m6ike_crypto_integ_new(m6ike_crypto_integ **ctx, const m6ike_crypto *c,
                           uint16_t integ, const uint8_t *key, size_t keylen);
/* Writes the truncated ICV (m6ike_crypto_integ_icv_len octets) of data.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_INTEG_FAILED. */
int m6ike_crypto_integ_compute(m6ike_crypto_integ *ctx, const uint8_t *data,
                               size_t len, uint8_t *icv);
int m6ike_crypto_integ_computev(m6ike_crypto_integ *ctx,
                                const m6ike_crypto_chunk *in, size_t nin,
                                uint8_t *icv);
/* Recomputes and compares in constant time; icvlen must be the ICV length.
 * 0, M6IKE_ERR_CRYPTO_AUTH, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_CRYPTO_INTEG_FAILED. */
int m6ike_crypto_integ_verify(m6ike_crypto_integ *ctx, const uint8_t *data,
                              size_t len, const uint8_t *icv, size_t icvlen);
int m6ike_crypto_integ_verifyv(m6ike_crypto_integ *ctx,
                               const m6ike_crypto_chunk *in, size_t nin,
                               const uint8_t *icv, size_t icvlen);
/* NULL is ignored.  Wipes the key. */
void m6ike_crypto_integ_del(m6ike_crypto_integ *ctx);

/* --- Diffie-Hellman ------------------------------------------------ */

/*
 * A fresh key pair for group.  The private key is made from the random
 * callback's bytes only, so a run is reproducible from its seed:
 *   Curve25519: 32 octets, used as the X25519 scalar (clamped by X25519).
 *   ECP-256: 32 octets big-endian; redrawn while 0 or >= the group order
 *            (at most 64 draws, then M6IKE_ERR_CRYPTO_DH_FAILED).
 *   MODP-2048: 32 octets big-endian as the exponent (256 bits, as for the
 *            112-bit strength of the group); redrawn while < 2.
 * Tests inject RFC vectors' private keys through the callback.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_RANDOM, M6IKE_ERR_CRYPTO_DH_FAILED, M6IKE_ERR_NOMEM. */
int m6ike_crypto_dh_new(m6ike_crypto_dh **dh, const m6ike_crypto *c,
                        uint16_t group, m6ike_rand_cb rand,
                        void *rand_user_data);
/* Writes the public value in wire format (m6ike_crypto_dh_public_len
 * octets; outlen must be at least that).  Returns the length written, or
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOBUF, M6IKE_ERR_CRYPTO_DH_FAILED.
 */
int m6ike_crypto_dh_public(m6ike_crypto_dh *dh, uint8_t *out, size_t outlen);
/* Computes the shared secret with the peer's public value (wire format)
 * into out (m6ike_crypto_dh_shared_len octets; outlen at least that).
 * Validates the peer value as RFC 6989 asks: length; MODP 1 < y < p-1
 * (sufficient for the safe-prime group 14, §2.2); ECP point on the curve
 * (sufficient for P-256, cofactor 1); X25519 all-zero result.  Returns the length written, or M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_NOBUF, M6IKE_ERR_CRYPTO_DH_PUBLIC, M6IKE_ERR_CRYPTO_DH_ZERO
 * (X25519 all-zero result), M6IKE_ERR_CRYPTO_DH_FAILED, M6IKE_ERR_NOMEM.
 * May be called more than once. */
int m6ike_crypto_dh_shared(m6ike_crypto_dh *dh, const uint8_t *peer,
                           size_t peerlen, uint8_t *out, size_t outlen);
/* NULL is ignored.  Wipes the private key. */
void m6ike_crypto_dh_del(m6ike_crypto_dh *dh);

/* --- Signatures and certificates ----------------------------------- */

/* Loads a private key (RSA or EC), PEM or DER, unencrypted.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_KEY_PARSE (also for key types other than RSA/EC),
 * M6IKE_ERR_NOMEM. */
int m6ike_crypto_privkey_load(m6ike_crypto_privkey **key,
                              const m6ike_crypto *c, const uint8_t *data,
                              size_t len);
/* M6IKE_KEY_* of a loaded key. */
int m6ike_crypto_privkey_type(const m6ike_crypto_privkey *key);
/* Signature buffer capacity the key needs for any of its schemes, in
 * octets: RSA the modulus size; EC the largest DER Ecdsa-Sig-Value (72 for
 * P-256), which also covers the 64-octet raw r || s. */
size_t m6ike_crypto_privkey_sig_len(m6ike_crypto_privkey *key);
/* Signs the concatenation of in[] with scheme.  *siglen: capacity of sig
 * on entry (at least m6ike_crypto_privkey_sig_len), signature length on
 * return.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOBUF,
 * M6IKE_ERR_CRYPTO_UNSUPPORTED, M6IKE_ERR_CRYPTO_KEY_MISMATCH (scheme is
 * for another key type, or ECDSA_P256_SHA256 with a non-P-256 key),
 * M6IKE_ERR_CRYPTO_SIGN_FAILED, M6IKE_ERR_NOMEM. */
int m6ike_crypto_sign(m6ike_crypto_privkey *key, m6ike_sig_scheme scheme,
                      const m6ike_crypto_chunk *in, size_t nin, uint8_t *sig,
                      size_t *siglen);
/* 0 if key belongs to cert, M6IKE_ERR_CRYPTO_KEY_MISMATCH otherwise;
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_crypto_privkey_matches(m6ike_crypto_privkey *key,
                                 m6ike_crypto_cert *cert);
/* NULL is ignored. */
void m6ike_crypto_privkey_del(m6ike_crypto_privkey *key);

/* Loads one X.509 certificate, PEM (the first in the text) or DER.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_CERT_PARSE, M6IKE_ERR_NOMEM. */
int m6ike_crypto_cert_load(m6ike_crypto_cert **cert, const m6ike_crypto *c,
                           const uint8_t *data, size_t len);
/* The DER encoding (for a CERT payload, encoding 4).  The pointer stays
 * valid until the cert is freed.  0, M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_crypto_cert_der(m6ike_crypto_cert *cert, const uint8_t **der,
                          size_t *len);
/* The subject Name, DER (for ID_DER_ASN1_DN).  Valid until freed.
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_CRYPTO_CERT_FAILED. */
int m6ike_crypto_cert_subject(m6ike_crypto_cert *cert, const uint8_t **der,
                              size_t *len);
/* The index-th subjectAltName the core can use as an IKE identity:
 * dNSName (M6IKE_ID_FQDN), rfc822Name (M6IKE_ID_RFC822_ADDR), iPAddress
 * (M6IKE_ID_IPV4_ADDR, 4 octets / M6IKE_ID_IPV6_ADDR, 16 octets); other
 * name forms are skipped.  Valid until freed.
 * 0, M6IKE_ERR_NOT_FOUND (index past the last), M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_crypto_cert_san(m6ike_crypto_cert *cert, size_t index,
                          int *id_type, const uint8_t **data, size_t *len);
/* 0 if the identity (IKEv2 ID type and data as in an ID payload) is the
 * cert's subject (DER_ASN1_DN, octet-equal) or one of its subjectAltNames
 * (FQDN and RFC822 compared case-insensitively), else
 * M6IKE_ERR_CRYPTO_ID_MISMATCH; M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_CRYPTO_CERT_FAILED. */
int m6ike_crypto_cert_has_id(m6ike_crypto_cert *cert, int id_type,
                             const uint8_t *data, size_t len);
/* Verifies sig over the concatenation of in[] with the cert's public key.
 * A malformed, truncated or empty (siglen 0) signature is
 * M6IKE_ERR_CRYPTO_BAD_SIGNATURE.
 * 0, M6IKE_ERR_CRYPTO_BAD_SIGNATURE, M6IKE_ERR_CRYPTO_KEY_MISMATCH,
 * M6IKE_ERR_CRYPTO_UNSUPPORTED, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_CRYPTO_VERIFY_FAILED, M6IKE_ERR_NOMEM. */
int m6ike_crypto_cert_verify(m6ike_crypto_cert *cert, m6ike_sig_scheme scheme,
                             const m6ike_crypto_chunk *in, size_t nin,
                             const uint8_t *sig, size_t siglen);
/* Verifies that cert chains, through untrusted intermediates, to one of
 * the trusted CA certs.  unix_time: seconds since 1970 at which validity
 * periods are checked, or M6IKE_CRYPTO_TIME_ANY not to check them (the
 * core has no clock; the host passes its wall-clock time).
 * 0, M6IKE_ERR_CRYPTO_CERT_UNTRUSTED, M6IKE_ERR_CRYPTO_CERT_TIME,
 * M6IKE_ERR_INVALID_ARGUMENT (no trusted certs), M6IKE_ERR_CRYPTO_UNSUPPORTED,
 * M6IKE_ERR_CRYPTO_VERIFY_FAILED, M6IKE_ERR_NOMEM. */
#define M6IKE_CRYPTO_TIME_ANY INT64_MIN
int m6ike_crypto_cert_verify_chain(m6ike_crypto_cert *cert,
                                   m6ike_crypto_cert *const *trusted,
                                   size_t ntrusted,
                                   m6ike_crypto_cert *const *untrusted,
                                   size_t nuntrusted, int64_t unix_time);
/* NULL is ignored. */
void m6ike_crypto_cert_del(m6ike_crypto_cert *cert);

/* RFC 7427 §3: the DER AlgorithmIdentifier that precedes the signature in
 * an AUTH payload with method 14.  0 with *der and *len set, or
 * M6IKE_ERR_CRYPTO_UNSUPPORTED (ECDSA_P256_SHA256 and RSA_PKCS1_SHA1 are
 * methods 9 and 1, without one). */
int m6ike_sig_scheme_algid(m6ike_sig_scheme scheme, const uint8_t **der,
                           size_t *len);
/* The reverse: the scheme for a received AlgorithmIdentifier of exactly
 * len octets.  Scheme (> 0), M6IKE_ERR_CRYPTO_BAD_ALGID,
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_sig_scheme_from_algid(const uint8_t *der, size_t len);
/* The RFC 7427 hash (M6IKE_HASH_*) a scheme uses, or UNSUPPORTED. */
int m6ike_sig_scheme_hash(m6ike_sig_scheme scheme);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_CRYPTO_H */
