/*
 * Fuzz target for m6ike_addr6_parse / m6ike_addr6_format: the self-test of
 * the fuzz machinery, on the one text decoder the common unit has.
 *
 * Input: the bytes are the text (NUL-terminated copy).  Whatever parses
 * must format to a canonical string that parses back to the same address
 * and formats to the same string again; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, data, size);
  text[size] = '\0';

  m6ike_addr6 a, b;
  int rc = m6ike_addr6_parse(&a, text);
  if (rc != 0 && rc != M6IKE_ERR_INVALID_ARGUMENT) {
    abort(); /* the only documented failure code */
  }
  if (rc == 0) {
    char s1[M6IKE_ADDR6_STRLEN], s2[M6IKE_ADDR6_STRLEN];
    m6ike_addr6_format(&a, s1);
    if (s1[0] == '\0' || m6ike_addr6_parse(&b, s1) != 0 ||
        !m6ike_addr6_equal(&a, &b)) {
      abort();
    }
    m6ike_addr6_format(&b, s2);
    if (strcmp(s1, s2) != 0) {
      abort();
    }
    /* Prefix matching of an address with itself holds at every length and
     * is refused beyond 128 bits. */
    unsigned plen = size ? data[0] : 0;
    if (m6ike_addr6_prefix_match(&a, &b, plen) != (plen <= 128)) {
      abort();
    }
  }
  free(text);
  return 0;
}
