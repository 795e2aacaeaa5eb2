/*
 * libFuzzer target: the scenario parser (scenario/src/scenario.c through
 * Debian's libinih).  The first octet picks the input's role: even, a
 * scenario file; odd, a --set override on top of the defaults.  Whatever
 * loads must dump (m6ike_scenario_format) to text that loads again and
 * dumps to the same text; the rules and both hosts' arguments run on it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/scenario.h"

static int count_arg(const char *arg, void *ud) {
  size_t *n = ud;
  *n += strlen(arg) + 1;
  return 0;
}

static char dump1[16384], dump2[16384];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  m6ike_scenario *sc, *again;
  m6ike_scenario_err err;
  if (m6ike_scenario_new(&sc, NULL) != 0) abort();
  int rc;
  if (data[0] & 1) {
    char *s = malloc(size);
    if (!s) abort();
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    rc = m6ike_scenario_set(sc, s, &err);
    free(s);
  } else {
    rc = m6ike_scenario_load_string(sc, "fuzz", (const char *)data + 1,
                                    size - 1, &err);
  }
  if (rc != 0) {
    if (rc > 0 || err.code != rc || !err.msg[0] ||
        !memchr(err.msg, '\0', sizeof(err.msg))) {
      abort(); /* every failure explains itself */
    }
    m6ike_scenario_del(sc);
    return 0;
  }
  int n1 = m6ike_scenario_format(sc, dump1, sizeof(dump1));
  if (n1 < 0) abort();
  if (m6ike_scenario_new(&again, NULL) != 0) abort();
  if (m6ike_scenario_load_string(again, "dump", dump1, (size_t)n1, &err) != 0) {
    abort(); /* the dump must load */
  }
  int n2 = m6ike_scenario_format(again, dump2, sizeof(dump2));
  if (n1 != n2 || memcmp(dump1, dump2, (size_t)n1) != 0) abort();
  size_t len = 0;
  int c1 = m6ike_scenario_check(sc, &err);
  int c2 = m6ike_scenario_check(again, &err);
  if ((c1 == 0) != (c2 == 0)) abort();
  m6ike_scenario_args(sc, M6IKE_SCENARIO_HOST_NS3, count_arg, &len, &err);
  m6ike_scenario_args(sc, M6IKE_SCENARIO_HOST_EMU, count_arg, &len, &err);
  for (size_t d = 0; d < m6ike_scenario_sweep_count(sc); d++) {
    const char *key;
    size_t nv;
    if (m6ike_scenario_sweep_dim(sc, d, &key, &nv) != 0 || nv == 0) abort();
    for (size_t j = 0; j < nv; j++) {
      const char *v = m6ike_scenario_sweep_value(sc, d, j);
      char set[600];
      if (!v) abort();
      /* Every sweep value is a valid --set of its key. */
      snprintf(set, sizeof(set), "%s=%s", key, v);
      if (m6ike_scenario_set(again, set, &err) != 0) abort();
    }
  }
  m6ike_scenario_del(again);
  m6ike_scenario_del(sc);
  return 0;
}
