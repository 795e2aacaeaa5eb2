/*
 * Internal byte-order helpers.  Each put_* writes at p and returns the
 * advanced pointer; each get_* reads from p into *dest and returns the
 * advanced pointer.  Callers check lengths before calling.
 */
#ifndef M6IKE_BYTES_H
#define M6IKE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint8_t *m6ike_put_u8(uint8_t *p, uint8_t v) {
  *p = v;
  return p + 1;
}
static inline uint8_t *m6ike_put_u16be(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return p + 2;
}
static inline uint8_t *m6ike_put_u32be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}
static inline uint8_t *m6ike_put_u64be(uint8_t *p, uint64_t v) {
  p = m6ike_put_u32be(p, (uint32_t)(v >> 32));
  return m6ike_put_u32be(p, (uint32_t)v);
}
static inline uint8_t *m6ike_put_bytes(uint8_t *p, const void *src, size_t n) {
  if (n) {
    memcpy(p, src, n);
  }
  return p + n;
}
static inline uint8_t *m6ike_put_zero(uint8_t *p, size_t n) {
  if (n) {
    memset(p, 0, n);
  }
  return p + n;
}
static inline const uint8_t *m6ike_get_u8(const uint8_t *p, uint8_t *dest) {
  *dest = *p;
  return p + 1;
}
static inline const uint8_t *m6ike_get_u16be(const uint8_t *p,
                                             uint16_t *dest) {
  *dest = (uint16_t)((uint16_t)p[0] << 8 | p[1]);
  return p + 2;
}
static inline const uint8_t *m6ike_get_u32be(const uint8_t *p,
                                             uint32_t *dest) {
  *dest = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
          (uint32_t)p[3];
  return p + 4;
}
static inline const uint8_t *m6ike_get_u64be(const uint8_t *p,
                                             uint64_t *dest) {
  uint32_t hi, lo;
  p = m6ike_get_u32be(p, &hi);
  p = m6ike_get_u32be(p, &lo);
  *dest = (uint64_t)hi << 32 | lo;
  return p;
}
static inline const uint8_t *m6ike_get_bytes(const uint8_t *p, void *dest,
                                             size_t n) {
  if (n) {
    memcpy(dest, p, n);
  }
  return p + n;
}

/* Host-order helpers, for PF_KEY (RFC 2367 uses host byte order). */
static inline uint8_t *m6ike_put_u16h(uint8_t *p, uint16_t v) {
  memcpy(p, &v, 2);
  return p + 2;
}
static inline uint8_t *m6ike_put_u32h(uint8_t *p, uint32_t v) {
  memcpy(p, &v, 4);
  return p + 4;
}
static inline uint8_t *m6ike_put_u64h(uint8_t *p, uint64_t v) {
  memcpy(p, &v, 8);
  return p + 8;
}
static inline const uint8_t *m6ike_get_u16h(const uint8_t *p, uint16_t *d) {
  memcpy(d, p, 2);
  return p + 2;
}
static inline const uint8_t *m6ike_get_u32h(const uint8_t *p, uint32_t *d) {
  memcpy(d, p, 4);
  return p + 4;
}
static inline const uint8_t *m6ike_get_u64h(const uint8_t *p, uint64_t *d) {
  memcpy(d, p, 8);
  return p + 8;
}

#endif /* M6IKE_BYTES_H */
