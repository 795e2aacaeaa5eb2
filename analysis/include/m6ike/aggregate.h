/*
 * aggregate: statistics over the runs' summary.csv files (issue 4's output
 * contract) for analysis/mip6ike-aggregate.
 *
 * Rows are grouped by scheme, host and rate_kbps, plus any extra grouping
 * columns: a contract column (handover, seed) or a tag, a name=value pair
 * the caller attaches to every row of one input (a sweep's varied
 * parameter, e.g. delay_ms=10).  For each group and each numeric column
 * (l2_s ... ike_bytes) it keeps the values present (an empty cell is a
 * missing value: traffic that never resumed, a scheme without IKE) and
 * gives n, mean, sample standard deviation and the 95 % confidence
 * half-width t(0.975, n-1) x sd / sqrt(n) (Student's t, GSL).  With n = 1
 * the deviation and the half-width are NaN, with n = 0 everything is.
 *
 * Inputs are checked strictly: the header must be the contract's, every
 * row must have its 15 cells, numbers must be decimal and finite, times
 * and counts non-negative.  A bad row is reported as
 * "FILE:LINE: column: why" and the whole input is refused (nothing of it
 * is kept).  Error codes -1050..-1099.
 */
#ifndef M6IKE_AGGREGATE_H
#define M6IKE_AGGREGATE_H

#include <stddef.h>
#include <stdio.h>

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  M6IKE_AGG_ERR_HEADER = -1051, /* not the contract's header */
  M6IKE_AGG_ERR_ROW = -1052,    /* wrong number of cells, quoting */
  M6IKE_AGG_ERR_VALUE = -1053,  /* a cell that is not what its column holds */
  M6IKE_AGG_ERR_IO = -1054,     /* cannot read the input / write the table */
  M6IKE_AGG_ERR_TAG = -1055,    /* a tag not name=value, or a --by column
                                   neither in the contract nor tagged */
  M6IKE_AGG_ERR_EMPTY = -1056   /* no rows at all */
};

/* The contract (issue 4 section 3). */
#define M6IKE_AGG_SUMMARY_HEADER                                            \
  "scheme,host,rate_kbps,seed,handover,l2_s,movement_detected_s,"          \
  "coa_ready_s,bu_sent_s,ba_received_s,sa_ready_s,traffic_resumed_s,"      \
  "recovery_s,ike_msgs,ike_bytes"
#define M6IKE_AGG_COLUMNS 15
#define M6IKE_AGG_STATS 10 /* numeric columns: l2_s .. ike_bytes */

typedef struct m6ike_agg m6ike_agg;

typedef struct m6ike_agg_err {
  int code;
  int line; /* 0 = none */
  char msg[512]; /* "FILE:LINE: column: why" */
} m6ike_agg_err;

typedef struct m6ike_agg_stat {
  size_t n;
  double mean, sd, ci95, min, max; /* NaN where undefined */
} m6ike_agg_stat;

/* by[0..nby): extra grouping columns, in order.  Returns 0,
 * M6IKE_AGG_ERR_TAG (a name that is a statistics column or a fixed
 * grouping column, or repeated), M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_NOMEM. */
int m6ike_agg_new(m6ike_agg **out, const char *const *by, size_t nby,
                  const m6ike_mem *mem, m6ike_agg_err *err);
void m6ike_agg_del(m6ike_agg *a);

/* Adds the rows of one summary.csv text; tags[0..ntags) are "name=value".
 * Returns the number of rows added or M6IKE_AGG_ERR_HEADER, _ROW, _VALUE,
 * _TAG, M6IKE_ERR_NOMEM, M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_agg_add_csv(m6ike_agg *a, const char *name, const char *text,
                      size_t len, const char *const *tags, size_t ntags,
                      m6ike_agg_err *err);

/* As add_csv for a file, or for a run directory's summary.csv.  Also
 * M6IKE_AGG_ERR_IO. */
int m6ike_agg_add_path(m6ike_agg *a, const char *path,
                       const char *const *tags, size_t ntags,
                       m6ike_agg_err *err);

/* Groups, sorted (scheme, host, rate numerically, then the extra
 * columns: numerically where both are numbers). */
size_t m6ike_agg_group_count(const m6ike_agg *a);
/* Grouping value of group g for column col ("scheme", "rate_kbps", an
 * extra column), NULL if there is none. */
const char *m6ike_agg_group_value(const m6ike_agg *a, size_t g,
                                  const char *col);
/* Statistics of group g's column col ("recovery_s").  Returns 0,
 * M6IKE_ERR_NOT_FOUND. */
int m6ike_agg_stat_of(const m6ike_agg *a, size_t g, const char *col,
                      m6ike_agg_stat *out);

/* Statistics of values[0..n) (NaNs skipped): what each group gets. */
void m6ike_agg_compute(const double *values, size_t n, m6ike_agg_stat *out);

/* table.csv: header "scheme,host,rate_kbps[,extra...],column,n,mean,sd,
 * ci95,min,max", one row per group and numeric column; NaN as "nan".
 * Returns 0, M6IKE_AGG_ERR_EMPTY, M6IKE_AGG_ERR_IO. */
int m6ike_agg_write(const m6ike_agg *a, FILE *f, m6ike_agg_err *err);

const char *m6ike_agg_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_AGGREGATE_H */
