/*
 * mip6ike core: definitions shared by every unit.
 *
 * The core is sans-I/O: it never reads a clock, never opens a socket and
 * keeps no global state.  Callers pass the current time in as a
 * m6ike_tstamp (nanoseconds, M6IKE_TSTAMP_UNSET when unknown), obtain
 * randomness through an m6ike_rand_cb, and may replace the allocator with
 * an m6ike_mem.
 *
 * Errors are negative ints.  Each unit owns a range of codes:
 *   -100..-149 common          -500..-599 pfkey and the pfkey bus
 *   -150..-199 agent (-170..-179 its mobility side, -180..-189 its key
 *              manager: mobility.h, keymgr.h)
 *   -200..-299 mh              -600..-699 ikev2
 *   -300..-399 binding         -700..-799 ipsec / esp
 *   -400..-499 msrd            -800..-849 cxtp
 *                              -850..-899 crypto backends
 * Codes at or below M6IKE_ERR_FATAL mean the object that returned them must
 * not be used again except to free it.
 */
#ifndef M6IKE_COMMON_H
#define M6IKE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Time in nanoseconds since an arbitrary epoch chosen by the host. */
typedef uint64_t m6ike_tstamp;
#define M6IKE_TSTAMP_UNSET UINT64_MAX
#define M6IKE_NANOSECONDS ((m6ike_tstamp)1ULL)
#define M6IKE_MICROSECONDS ((m6ike_tstamp)1000ULL)
#define M6IKE_MILLISECONDS ((m6ike_tstamp)1000000ULL)
#define M6IKE_SECONDS ((m6ike_tstamp)1000000000ULL)

/* Common error codes. */
enum {
  M6IKE_ERR_INVALID_ARGUMENT = -101, /* a caller-supplied argument is wrong */
  M6IKE_ERR_NOBUF = -102,            /* the output buffer is too small */
  M6IKE_ERR_NOT_FOUND = -103,        /* no such entry */
  M6IKE_ERR_EXISTS = -104,           /* the entry exists already */
  M6IKE_ERR_INVALID_STATE = -105,    /* not allowed in the object's state */
  M6IKE_ERR_PERMISSION = -106,       /* the handle may not do this */
  M6IKE_ERR_LIMIT = -107,            /* a configured limit was reached */
  M6IKE_ERR_FATAL = -900,            /* threshold: <= this is fatal */
  M6IKE_ERR_NOMEM = -901,            /* an allocation failed */
  M6IKE_ERR_CALLBACK_FAILURE = -902, /* a user callback reported failure */
  M6IKE_ERR_RANDOM = -903            /* the random callback failed */
};

/* Returns a static English description of any m6ike error code. */
const char *m6ike_strerror(int code);

/* Non-zero if code is fatal (code <= M6IKE_ERR_FATAL). */
int m6ike_err_is_fatal(int code);

/*
 * Memory hooks.  Every object constructor takes a const m6ike_mem *; NULL
 * selects m6ike_mem_default().  The struct must outlive the objects using it.
 */
typedef struct m6ike_mem {
  void *user_data;
  void *(*malloc)(size_t size, void *user_data);
  void (*free)(void *ptr, void *user_data);
  void *(*calloc)(size_t nmemb, size_t size, void *user_data);
  void *(*realloc)(void *ptr, size_t size, void *user_data);
} m6ike_mem;

/* The libc allocator (a constant object: no mutable global state). */
const m6ike_mem *m6ike_mem_default(void);

/*
 * Randomness: fill dest with len random bytes.  Return 0 on success, any
 * non-zero value on failure (reported as M6IKE_ERR_RANDOM).
 */
typedef int (*m6ike_rand_cb)(uint8_t *dest, size_t len, void *user_data);

/* An IPv6 address in network byte order. */
typedef struct m6ike_addr6 {
  uint8_t b[16];
} m6ike_addr6;

#define M6IKE_ADDR6_STRLEN 46

/* Parses textual IPv6 (RFC 4291 / RFC 5952 forms).  0 or
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_addr6_parse(m6ike_addr6 *dest, const char *text);

/* Formats in RFC 5952 canonical form into buf (>= M6IKE_ADDR6_STRLEN).
 * Returns buf. */
char *m6ike_addr6_format(const m6ike_addr6 *a, char *buf);

int m6ike_addr6_equal(const m6ike_addr6 *a, const m6ike_addr6 *b);
int m6ike_addr6_is_unspecified(const m6ike_addr6 *a);
/* Non-zero if the first plen bits of a and b are equal (plen 0..128). */
int m6ike_addr6_prefix_match(const m6ike_addr6 *a, const m6ike_addr6 *b,
                             unsigned plen);

/* Library version string, e.g. "0.1.0". */
const char *m6ike_version(void);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_COMMON_H */
