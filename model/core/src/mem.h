/* Internal: allocation through an m6ike_mem. */
#ifndef M6IKE_MEM_H
#define M6IKE_MEM_H

#include "m6ike/common.h"

static inline const m6ike_mem *m6ike_mem_or_default(const m6ike_mem *mem) {
  return mem ? mem : m6ike_mem_default();
}
static inline void *m6ike_malloc(const m6ike_mem *mem, size_t n) {
  return mem->malloc(n, mem->user_data);
}
static inline void *m6ike_calloc(const m6ike_mem *mem, size_t nmemb,
                                 size_t size) {
  return mem->calloc(nmemb, size, mem->user_data);
}
static inline void *m6ike_realloc(const m6ike_mem *mem, void *p, size_t n) {
  return mem->realloc(p, n, mem->user_data);
}
static inline void m6ike_free(const m6ike_mem *mem, void *p) {
  mem->free(p, mem->user_data);
}

#endif /* M6IKE_MEM_H */
