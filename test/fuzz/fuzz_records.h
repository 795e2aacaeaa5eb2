/*
 * fuzz_records.h: the record framing of the fuzz targets that feed several
 * inputs from one buffer (agent_fuzz, split_fuzz): records
 * {tag, len16 (big-endian), bytes}, a short last record taking what is left.
 */
#ifndef MIP6IKE_FUZZ_RECORDS_H
#define MIP6IKE_FUZZ_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* The record at *off in data[0..size): its tag in *tag, its bytes in
 * *rec / *len; advances *off past it.  0 when no whole header is left. */
static inline int fuzz_next_record(const uint8_t *data, size_t size,
                                   size_t *off, uint8_t *tag,
                                   const uint8_t **rec, size_t *len) {
  if (*off + 3 > size) {
    return 0;
  }
  *tag = data[*off];
  size_t n = (size_t)data[*off + 1] << 8 | data[*off + 2];
  *off += 3;
  if (n > size - *off) {
    n = size - *off;
  }
  *rec = data + *off;
  *len = n;
  *off += n;
  return 1;
}

#endif
