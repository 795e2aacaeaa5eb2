/*
 * mip6ike-scenario: reads a scenario file (doc/SCENARIOS.md) and prints it
 * resolved, one value, its sweep, or a host's command line for it.
 *
 *   mip6ike-scenario FILE [--set section.key=value ...]
 *                    [--dump | --get section.key | --sweep | --args ns3|emu
 *                     | --keys | --check]
 *
 * --dump (the default) prints every key as INI; --get one resolved value;
 * --sweep one line per sweep dimension, "section.key v1 v2 ..."; --args
 * one argument per line (ns3: the example name, then its options, for
 * `./mip6ike sim`; emu: the handover runner's arguments); --keys the
 * schema ("section.key<TAB>type<TAB>default<TAB>help"); --check nothing.
 * FILE "-" reads standard input; "--defaults" stands for no file.
 * Errors: one line "FILE:LINE: key: why" (or "--set key: why") on
 * stderr, exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/scenario.h"

static const char *PROG = "mip6ike-scenario";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s FILE|--defaults|- [--set section.key=value ...]\n"
          "       [--dump | --get section.key | --sweep | --args ns3|emu |"
          " --keys | --check]\n",
          PROG);
}

static int bad(const char *msg) {
  fprintf(stderr, "%s: %s\n", PROG, msg);
  return 2;
}

/* Collects the arguments: printed only when all of them could be made. */
typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int add_arg(const char *arg, void *ud) {
  buf *b = ud;
  size_t n = strlen(arg);
  if (b->len + n + 2 > b->cap) {
    size_t cap = (b->cap + n + 2) * 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, arg, n);
  b->len += n;
  b->p[b->len++] = '\n';
  b->p[b->len] = '\0';
  return 0;
}

static const char *type_name(m6ike_scenario_type t) {
  switch (t) {
  case M6IKE_SCENARIO_INT: return "int";
  case M6IKE_SCENARIO_DOUBLE: return "number";
  case M6IKE_SCENARIO_BOOL: return "bool";
  default: return "string";
  }
}

int main(int argc, char **argv) {
  const char *file = NULL;
  int have_file = 0;
  const char *mode = "dump", *get = NULL, *host = NULL;
  const char **sets = calloc((size_t)argc + 1, sizeof(*sets));
  size_t nsets = 0;
  if (!sets) return bad("out of memory");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--set") == 0) {
      if (i + 1 >= argc) return free(sets), bad("--set needs section.key=value");
      sets[nsets++] = argv[++i];
    } else if (strncmp(a, "--set=", 6) == 0) {
      sets[nsets++] = a + 6;
    } else if (strcmp(a, "--dump") == 0 || strcmp(a, "--sweep") == 0 ||
               strcmp(a, "--keys") == 0 || strcmp(a, "--check") == 0) {
      mode = a + 2;
    } else if (strcmp(a, "--get") == 0) {
      if (i + 1 >= argc) return free(sets), bad("--get needs section.key");
      mode = "get";
      get = argv[++i];
    } else if (strcmp(a, "--args") == 0) {
      if (i + 1 >= argc) return free(sets), bad("--args needs ns3 or emu");
      mode = "args";
      host = argv[++i];
      if (strcmp(host, "ns3") != 0 && strcmp(host, "emu") != 0) {
        fprintf(stderr, "%s: --args: unknown host '%s' (ns3 or emu)\n", PROG,
                host);
        free(sets);
        return 2;
      }
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      free(sets);
      return 0;
    } else if (strcmp(a, "--defaults") == 0 && !have_file) {
      have_file = 1;
    } else if ((a[0] != '-' || strcmp(a, "-") == 0) && !have_file) {
      file = a;
      have_file = 1;
    } else {
      fprintf(stderr, "%s: unknown argument '%s' (see --help)\n", PROG, a);
      free(sets);
      return 2;
    }
  }
  if (strcmp(mode, "keys") == 0) {
    for (size_t i = 0; i < m6ike_scenario_key_count(); i++) {
      m6ike_scenario_key_info k;
      m6ike_scenario_key_at(i, &k);
      printf("%s\t%s\t%s\t%s\n", k.name,
             k.choices ? k.choices : type_name(k.type), k.dflt, k.help);
    }
    free(sets);
    return 0;
  }
  if (!have_file) {
    usage(stderr);
    free(sets);
    return 2;
  }
  m6ike_scenario *sc = NULL;
  m6ike_scenario_err err = {0, 0, ""};
  int rc;
  if (file && strcmp(file, "-") == 0) {
    /* Standard input: read it whole, then as a string named "-". */
    size_t cap = M6IKE_SCENARIO_FILE_MAX + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
      free(sets);
      return bad("out of memory");
    }
    n = fread(buf, 1, cap, stdin);
    rc = m6ike_scenario_new(&sc, NULL);
    if (rc == 0) rc = m6ike_scenario_load_string(sc, "-", buf, n, &err);
    for (size_t i = 0; rc == 0 && i < nsets; i++) {
      rc = m6ike_scenario_set(sc, sets[i], &err);
    }
    if (rc == 0) rc = m6ike_scenario_check(sc, &err);
    free(buf);
  } else {
    rc = m6ike_scenario_open(&sc, file, sets, nsets, NULL, &err);
  }
  free(sets);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err.msg[0] ? err.msg : "error");
    m6ike_scenario_del(sc);
    return 2;
  }
  int status = 0;
  if (strcmp(mode, "dump") == 0) {
    static char buf[65536];
    int n = m6ike_scenario_format(sc, buf, sizeof(buf));
    if (n < 0) {
      status = bad("--dump: the scenario does not fit the buffer");
    } else {
      fputs(buf, stdout);
    }
  } else if (strcmp(mode, "get") == 0) {
    char buf[M6IKE_SCENARIO_VALUE_MAX + 1];
    if (m6ike_scenario_get_text(sc, get, buf, sizeof(buf)) < 0) {
      fprintf(stderr, "%s: --get %s: unknown key (see --keys)\n", PROG, get);
      status = 2;
    } else {
      puts(buf);
    }
  } else if (strcmp(mode, "sweep") == 0) {
    for (size_t d = 0; d < m6ike_scenario_sweep_count(sc); d++) {
      const char *key;
      size_t nv;
      m6ike_scenario_sweep_dim(sc, d, &key, &nv);
      fputs(key, stdout);
      for (size_t j = 0; j < nv; j++) {
        printf(" %s", m6ike_scenario_sweep_value(sc, d, j));
      }
      putchar('\n');
    }
  } else if (strcmp(mode, "args") == 0) {
    buf args = {NULL, 0, 0};
    rc = m6ike_scenario_args(sc,
                             strcmp(host, "ns3") == 0
                                 ? M6IKE_SCENARIO_HOST_NS3
                                 : M6IKE_SCENARIO_HOST_EMU,
                             add_arg, &args, &err);
    if (rc != 0) {
      fprintf(stderr, "%s\n", err.msg);
      status = 2;
    } else if (args.p) {
      fputs(args.p, stdout);
    }
    free(args.p);
  }
  m6ike_scenario_del(sc);
  if (fflush(stdout) != 0) status = status ? status : 1;
  return status;
}
