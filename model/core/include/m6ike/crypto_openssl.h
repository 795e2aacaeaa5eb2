/*
 * crypto_openssl: the OpenSSL 3 libcrypto backend of m6ike/crypto.h, in
 * its own static library m6ike_crypto_openssl (link it, and OpenSSL::Crypto
 * through it, only where real crypto is wanted; m6ike_core stays free of
 * OpenSSL).
 *
 * Every algorithm, group and scheme of m6ike/crypto.h is supported.  The
 * backend fetches its EVP algorithms once in m6ike_crypto_openssl_new and
 * keeps no global state of its own; OpenSSL's library initialisation is
 * its own business.  Allocations of our structs go through mem; OpenSSL's
 * objects use OpenSSL's allocator.
 */
#ifndef M6IKE_CRYPTO_OPENSSL_H
#define M6IKE_CRYPTO_OPENSSL_H

#include "m6ike/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates the backend; free it with m6ike_crypto_del().
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOMEM,
 * M6IKE_ERR_CRYPTO_UNSUPPORTED (the OpenSSL build lacks an algorithm). */
int m6ike_crypto_openssl_new(m6ike_crypto **c, const m6ike_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_CRYPTO_OPENSSL_H */
