/*
 * mip6ike-aggregate: statistics over runs' summary.csv files.
 *
 *   mip6ike-aggregate [-o table.csv|-] [--by COLUMN ...]
 *                     [--tag NAME=VALUE ...] INPUT ...
 *
 * INPUT is a summary.csv or a run directory holding one.  Rows are grouped
 * by scheme, host and rate_kbps and by each --by column (a summary.csv
 * column such as handover, or a tag); a --tag applies to the inputs after
 * it (a later --tag of the same name replaces it).  Writes table.csv (-o,
 * default ./table.csv; - = stdout): per group and numeric column n, mean,
 * sd, the 95 % Student-t half-width ci95, min, max (m6ike/aggregate.h).
 * Bad input: "FILE:LINE: column: why" on stderr, exit 2.
 */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/aggregate.h"

static const char *PROG = "mip6ike-aggregate";

static int usage(FILE *f, int status) {
  fprintf(f,
          "usage: %s [-o table.csv|-] [--by COLUMN ...] [--tag NAME=VALUE "
          "...] INPUT ...\n"
          "  INPUT: a summary.csv or a run directory holding one\n",
          PROG);
  return status;
}

int main(int argc, char **argv) {
  gsl_set_error_handler_off();
  const char *outpath = "table.csv";
  const char **by = calloc((size_t)argc + 1, sizeof(*by));
  const char **tags = calloc((size_t)argc + 1, sizeof(*tags));
  size_t nby = 0, ninputs = 0;
  if (!by || !tags) {
    free(by), free(tags);
    return 1;
  }
  /* First pass: options that apply to the whole run. */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      free(by), free(tags);
      return usage(stdout, 0);
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--by") == 0 ||
               strcmp(a, "--tag") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", PROG, a);
        free(by), free(tags);
        return 2;
      }
      if (a[1] == 'o') outpath = argv[i + 1];
      if (strcmp(a, "--by") == 0) by[nby++] = argv[i + 1];
      i++;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "%s: unknown option '%s'\n", PROG, a);
      free(by), free(tags);
      return usage(stderr, 2);
    } else {
      ninputs++;
    }
  }
  if (!ninputs) {
    fprintf(stderr, "%s: no INPUT (summary.csv files or run directories)\n",
            PROG);
    free(by), free(tags);
    return usage(stderr, 2);
  }
  m6ike_agg *agg;
  m6ike_agg_err err = {0, 0, ""};
  if (m6ike_agg_new(&agg, by, nby, NULL, &err) != 0) {
    fprintf(stderr, "%s: %s\n", PROG, err.msg);
    free(by), free(tags);
    return 2;
  }
  size_t ntags = 0;
  int status = 0;
  for (int i = 1; i < argc && status == 0; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-o") == 0 || strcmp(a, "--by") == 0) {
      i++;
    } else if (strcmp(a, "--tag") == 0) {
      const char *t = argv[++i];
      const char *eq = strchr(t, '=');
      size_t kl = eq ? (size_t)(eq - t) : strlen(t);
      size_t j;
      for (j = 0; j < ntags; j++) {
        if (strncmp(tags[j], t, kl) == 0 && tags[j][kl] == '=') break;
      }
      tags[j] = t;
      if (j == ntags) ntags++;
    } else if (m6ike_agg_add_path(agg, a, tags, ntags, &err) < 0) {
      fprintf(stderr, "%s\n", err.msg);
      status = 2;
    }
  }
  if (status == 0) {
    FILE *f = strcmp(outpath, "-") == 0 ? stdout : fopen(outpath, "w");
    if (!f) {
      fprintf(stderr, "%s: cannot write %s\n", PROG, outpath);
      status = 1;
    } else {
      if (m6ike_agg_write(agg, f, &err) != 0) {
        fprintf(stderr, "%s: %s\n", PROG, err.msg);
        status = err.code == M6IKE_AGG_ERR_EMPTY ? 2 : 1;
      }
      if (f != stdout && fclose(f) != 0) status = 1;
    }
  }
  m6ike_agg_del(agg);
  free(by);
  free(tags);
  return status;
}
