/* mip6ike core: error strings, default allocator, IPv6 address helpers. */
#include "m6ike/common.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/proposal.h"
#include "units.h"

static const char *common_strerror(int code) {
  switch (code) {
  case 0:
    return "success";
  case M6IKE_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case M6IKE_ERR_NOBUF:
    return "output buffer too small";
  case M6IKE_ERR_NOT_FOUND:
    return "not found";
  case M6IKE_ERR_EXISTS:
    return "already exists";
  case M6IKE_ERR_INVALID_STATE:
    return "not allowed in the current state";
  case M6IKE_ERR_PERMISSION:
    return "operation not permitted for this handle";
  case M6IKE_ERR_LIMIT:
    return "configured limit reached";
  case M6IKE_ERR_PROPOSAL_TOKEN:
    return "proposal: unknown algorithm";
  case M6IKE_ERR_PROPOSAL_DUP:
    return "proposal: two algorithms of one kind";
  case M6IKE_ERR_PROPOSAL_MISSING:
    return "proposal: encryption, integrity, PRF or DH group missing";
  case M6IKE_ERR_PROPOSAL_CONFLICT:
    return "proposal: algorithms that do not go together";
  case M6IKE_ERR_PROPOSAL_TOO_MANY:
    return "proposal: more than 8 proposals";
  case M6IKE_ERR_NOMEM:
    return "out of memory";
  case M6IKE_ERR_CALLBACK_FAILURE:
    return "a callback reported failure";
  case M6IKE_ERR_RANDOM:
    return "the random callback failed";
  default:
    return NULL;
  }
}

const char *m6ike_strerror(int code) {
  const char *s = common_strerror(code);
  if (s == NULL) {
    s = m6ike_unit_strerror(code);
  }
  return s ? s : "unknown error";
}

int m6ike_err_is_fatal(int code) { return code <= M6IKE_ERR_FATAL; }

static void *default_malloc(size_t size, void *user_data) {
  (void)user_data;
  return malloc(size);
}
static void default_free(void *ptr, void *user_data) {
  (void)user_data;
  free(ptr);
}
static void *default_calloc(size_t nmemb, size_t size, void *user_data) {
  (void)user_data;
  return calloc(nmemb, size);
}
static void *default_realloc(void *ptr, size_t size, void *user_data) {
  (void)user_data;
  return realloc(ptr, size);
}

static const m6ike_mem mem_default = {NULL, default_malloc, default_free,
                                      default_calloc, default_realloc};

const m6ike_mem *m6ike_mem_default(void) { return &mem_default; }

int m6ike_addr6_parse(m6ike_addr6 *dest, const char *text) {
  if (dest == NULL || text == NULL ||
      inet_pton(AF_INET6, text, dest->b) != 1) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  return 0;
}

char *m6ike_addr6_format(const m6ike_addr6 *a, char *buf) {
  if (inet_ntop(AF_INET6, a->b, buf, M6IKE_ADDR6_STRLEN) == NULL) {
    buf[0] = '\0';
  }
  return buf;
}

int m6ike_addr6_equal(const m6ike_addr6 *a, const m6ike_addr6 *b) {
  return memcmp(a->b, b->b, 16) == 0;
}

int m6ike_addr6_is_unspecified(const m6ike_addr6 *a) {
  static const uint8_t zero[16];
  return memcmp(a->b, zero, 16) == 0;
}

int m6ike_addr6_prefix_match(const m6ike_addr6 *a, const m6ike_addr6 *b,
                             unsigned plen) {
  unsigned full = plen / 8, rest = plen % 8;
  if (plen > 128) {
    return 0;
  }
  if (memcmp(a->b, b->b, full) != 0) {
    return 0;
  }
  if (rest) {
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a->b[full] & mask) == (b->b[full] & mask);
  }
  return 1;
}

const char *m6ike_version(void) { return M6IKE_VERSION_STRING; }
