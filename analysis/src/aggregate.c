/*
 * aggregate: groups summary.csv rows and computes n, mean, sd and the 95 %
 * Student-t confidence half-width (m6ike/aggregate.h).
 */
#include "m6ike/aggregate.h"

#include <errno.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const COLS[M6IKE_AGG_COLUMNS] = {
    "scheme",     "host",          "rate_kbps",          "seed",
    "handover",   "l2_s",          "movement_detected_s", "coa_ready_s",
    "bu_sent_s",  "ba_received_s", "sa_ready_s",         "traffic_resumed_s",
    "recovery_s", "ike_msgs",      "ike_bytes"};
#define FIRST_STAT 5 /* COLS[5..14] are the statistics columns */
#define MAX_BY 8
#define MAX_TAGS 16
#define CELL_MAX 64

typedef struct group {
  char key[3 + MAX_BY][CELL_MAX]; /* scheme, host, rate, extras */
  double *v[M6IKE_AGG_STATS];     /* values, NaN = missing */
  size_t n, cap;
} group;

struct m6ike_agg {
  const m6ike_mem *mem;
  size_t nby;
  char by[MAX_BY][CELL_MAX];
  group **g;
  size_t ng, capg;
};

static int fail(m6ike_agg_err *err, int code, int line, const char *fmt,
                ...) {
  if (err) {
    va_list ap;
    err->code = code;
    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
  }
  return code;
}

const char *m6ike_agg_strerror(int code) {
  switch (code) {
  case M6IKE_AGG_ERR_HEADER: return "aggregate: not the summary.csv header";
  case M6IKE_AGG_ERR_ROW: return "aggregate: malformed row";
  case M6IKE_AGG_ERR_VALUE: return "aggregate: bad value";
  case M6IKE_AGG_ERR_IO: return "aggregate: input/output error";
  case M6IKE_AGG_ERR_TAG: return "aggregate: bad tag or grouping column";
  case M6IKE_AGG_ERR_EMPTY: return "aggregate: no rows";
  default: return NULL;
  }
}

static int col_index(const char *name) {
  for (int i = 0; i < M6IKE_AGG_COLUMNS; i++) {
    if (strcmp(COLS[i], name) == 0) return i;
  }
  return -1;
}

static int name_ok(const char *s) {
  if (!*s || strlen(s) >= CELL_MAX) return 0;
  for (; *s; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.')) {
      return 0;
    }
  }
  return 1;
}

int m6ike_agg_new(m6ike_agg **out, const char *const *by, size_t nby,
                  const m6ike_mem *mem, m6ike_agg_err *err) {
  if (!out || (nby && !by)) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0, "aggregate: bad arguments");
  }
  *out = NULL;
  if (nby > MAX_BY) {
    return fail(err, M6IKE_AGG_ERR_TAG, 0, "--by: at most %d columns",
                MAX_BY);
  }
  for (size_t i = 0; i < nby; i++) {
    int c = by[i] ? col_index(by[i]) : -1;
    if (!by[i] || !name_ok(by[i])) {
      return fail(err, M6IKE_AGG_ERR_TAG, 0,
                  "--by %s: a column name is A-Z a-z 0-9 _ - . (1..63)",
                  by[i] ? by[i] : "(null)");
    }
    if (c >= 0 && (c < 3 || c >= FIRST_STAT)) {
      return fail(err, M6IKE_AGG_ERR_TAG, 0,
                  "--by %s: %s", by[i],
                  c < 3 ? "rows are always grouped by it"
                        : "a statistics column cannot group rows");
    }
    for (size_t j = 0; j < i; j++) {
      if (strcmp(by[i], by[j]) == 0) {
        return fail(err, M6IKE_AGG_ERR_TAG, 0, "--by %s: given twice", by[i]);
      }
    }
  }
  if (!mem) mem = m6ike_mem_default();
  m6ike_agg *a = mem->calloc(1, sizeof(*a), mem->user_data);
  if (!a) return fail(err, M6IKE_ERR_NOMEM, 0, "aggregate: out of memory");
  a->mem = mem;
  a->nby = nby;
  for (size_t i = 0; i < nby; i++) {
    snprintf(a->by[i], CELL_MAX, "%s", by[i]);
  }
  *out = a;
  return 0;
}

static void group_free(const m6ike_mem *mem, group *g) {
  if (!g) return;
  for (int c = 0; c < M6IKE_AGG_STATS; c++) mem->free(g->v[c], mem->user_data);
  mem->free(g, mem->user_data);
}

void m6ike_agg_del(m6ike_agg *a) {
  if (!a) return;
  for (size_t i = 0; i < a->ng; i++) group_free(a->mem, a->g[i]);
  a->mem->free(a->g, a->mem->user_data);
  a->mem->free(a, a->mem->user_data);
}

/* ---------------------------------------------------------------- parsing */

/* Decimal, finite (no hex, inf, nan). */
static int parse_num(const char *s, double *out) {
  int digits = 0;
  if (!*s) return -1;
  for (const char *p = s; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      digits++;
    } else if (!strchr(".eE+-", *p)) {
      return -1;
    }
  }
  if (!digits) return -1;
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (*end || errno == ERANGE || !isfinite(d)) return -1;
  *out = d;
  return 0;
}

static int parse_count(const char *s, double *out) {
  if (!*s || strlen(s) > 18) return -1;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
  }
  *out = (double)strtoull(s, NULL, 10);
  return 0;
}

/* A parsed row before it joins a group. */
typedef struct row {
  char key[3 + MAX_BY][CELL_MAX];
  double v[M6IKE_AGG_STATS];
} row;

static void canon_num(double d, char *buf) {
  snprintf(buf, CELL_MAX, "%.15g", d);
}

/* Splits line (NUL-terminated, modified) into cells. */
static int split(char *line, char **cells, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == max) return max + 1;
    cells[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return n;
}

static int parse_row(const m6ike_agg *a, const char *name, int line,
                     char *text, char tags[][2][CELL_MAX], size_t ntags,
                     row *r, m6ike_agg_err *err) {
  if (strchr(text, '"')) {
    return fail(err, M6IKE_AGG_ERR_ROW, line,
                "%s:%d: quoted cells are not part of the summary.csv "
                "contract",
                name, line);
  }
  char *cells[M6IKE_AGG_COLUMNS + 1];
  int n = split(text, cells, M6IKE_AGG_COLUMNS);
  if (n != M6IKE_AGG_COLUMNS) {
    return fail(err, M6IKE_AGG_ERR_ROW, line,
                "%s:%d: %s%d cells, the header has %d", name, line,
                n > M6IKE_AGG_COLUMNS ? "more than " : "", n > M6IKE_AGG_COLUMNS ? M6IKE_AGG_COLUMNS : n,
                M6IKE_AGG_COLUMNS);
  }
  memset(r, 0, sizeof(*r));
  /* scheme, host: names */
  for (int c = 0; c < 2; c++) {
    if (!name_ok(cells[c])) {
      return fail(err, M6IKE_AGG_ERR_VALUE, line,
                  "%s:%d: %s: '%.40s' is not a name (A-Z a-z 0-9 _ - .)",
                  name, line, COLS[c], cells[c]);
    }
    snprintf(r->key[c], CELL_MAX, "%s", cells[c]);
  }
  double d;
  if (parse_num(cells[2], &d) != 0 || !(d > 0)) {
    return fail(err, M6IKE_AGG_ERR_VALUE, line,
                "%s:%d: rate_kbps: '%.40s' is not a positive number", name,
                line, cells[2]);
  }
  canon_num(d, r->key[2]);
  for (int c = 3; c < 5; c++) {
    if (parse_count(cells[c], &d) != 0) {
      return fail(err, M6IKE_AGG_ERR_VALUE, line,
                  "%s:%d: %s: '%.40s' is not a whole number >= 0", name,
                  line, COLS[c], cells[c]);
    }
  }
  for (int c = FIRST_STAT; c < M6IKE_AGG_COLUMNS; c++) {
    double *v = &r->v[c - FIRST_STAT];
    if (!cells[c][0]) {
      *v = NAN; /* missing */
      continue;
    }
    int counts = c >= M6IKE_AGG_COLUMNS - 2;
    if ((counts ? parse_count(cells[c], v) : parse_num(cells[c], v)) != 0 ||
        *v < 0) {
      return fail(err, M6IKE_AGG_ERR_VALUE, line,
                  "%s:%d: %s: '%.40s' is not %s", name, line, COLS[c],
                  cells[c],
                  counts ? "a whole number >= 0"
                         : "a number of seconds >= 0 (or empty)");
    }
  }
  for (size_t b = 0; b < a->nby; b++) {
    int c = col_index(a->by[b]);
    const char *val = NULL;
    if (c >= 0) {
      val = cells[c];
    } else {
      for (size_t t = 0; t < ntags; t++) {
        if (strcmp(tags[t][0], a->by[b]) == 0) val = tags[t][1];
      }
    }
    if (!val) {
      return fail(err, M6IKE_AGG_ERR_TAG, 0,
                  "%s: --by %s: not a summary.csv column and no tag %s=... "
                  "for this input",
                  name, a->by[b], a->by[b]);
    }
    if (c >= 0) {
      canon_num(strtod(val, NULL), r->key[3 + b]);
    } else {
      snprintf(r->key[3 + b], CELL_MAX, "%s", val);
    }
  }
  return 0;
}

static int key_cmp(const char *x, const char *y) {
  double dx, dy;
  if (parse_num(x, &dx) == 0 && parse_num(y, &dy) == 0) {
    return dx < dy ? -1 : dx > dy;
  }
  return strcmp(x, y);
}

/* Finds or inserts (sorted) the group of r; NULL when out of memory. */
static group *group_of(m6ike_agg *a, const row *r) {
  size_t nk = 3 + a->nby, at = a->ng;
  for (size_t i = 0; i < a->ng; i++) {
    int c = 0;
    for (size_t k = 0; k < nk && !c; k++) {
      c = k == 2 || k >= 3 ? key_cmp(r->key[k], a->g[i]->key[k])
                           : strcmp(r->key[k], a->g[i]->key[k]);
    }
    if (c == 0) return a->g[i];
    if (c < 0) {
      at = i;
      break;
    }
  }
  if (a->ng == a->capg) {
    size_t cap = a->capg ? 2 * a->capg : 8;
    group **g = a->mem->realloc(a->g, cap * sizeof(*g), a->mem->user_data);
    if (!g) return NULL;
    a->g = g;
    a->capg = cap;
  }
  group *g = a->mem->calloc(1, sizeof(*g), a->mem->user_data);
  if (!g) return NULL;
  memcpy(g->key, r->key, sizeof(g->key));
  memmove(a->g + at + 1, a->g + at, (a->ng - at) * sizeof(*a->g));
  a->g[at] = g;
  a->ng++;
  return g;
}

static int group_add(const m6ike_mem *mem, group *g, const row *r) {
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 16;
    for (int c = 0; c < M6IKE_AGG_STATS; c++) {
      double *v = mem->realloc(g->v[c], cap * sizeof(double), mem->user_data);
      if (!v) return -1;
      g->v[c] = v;
    }
    g->cap = cap;
  }
  for (int c = 0; c < M6IKE_AGG_STATS; c++) g->v[c][g->n] = r->v[c];
  g->n++;
  return 0;
}

int m6ike_agg_add_csv(m6ike_agg *a, const char *name, const char *text,
                      size_t len, const char *const *tags, size_t ntags,
                      m6ike_agg_err *err) {
  if (!a || (!text && len) || (ntags && !tags)) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0, "aggregate: bad arguments");
  }
  if (!name) name = "<csv>";
  char tagkv[MAX_TAGS][2][CELL_MAX];
  if (ntags > MAX_TAGS) {
    return fail(err, M6IKE_AGG_ERR_TAG, 0, "%s: more than %d tags", name,
                MAX_TAGS);
  }
  for (size_t t = 0; t < ntags; t++) {
    const char *eq = tags[t] ? strchr(tags[t], '=') : NULL;
    size_t kl = eq ? (size_t)(eq - tags[t]) : 0;
    if (!eq || kl == 0 || kl >= CELL_MAX || strlen(eq + 1) >= CELL_MAX) {
      return fail(err, M6IKE_AGG_ERR_TAG, 0,
                  "--tag %.80s: expected name=value (each under %d octets)",
                  tags[t] ? tags[t] : "(null)", CELL_MAX);
    }
    memcpy(tagkv[t][0], tags[t], kl);
    tagkv[t][0][kl] = '\0';
    snprintf(tagkv[t][1], CELL_MAX, "%s", eq + 1);
    if (!name_ok(tagkv[t][0]) || col_index(tagkv[t][0]) >= 0 ||
        (eq[1] && !name_ok(eq + 1))) {
      return fail(err, M6IKE_AGG_ERR_TAG, 0,
                  "--tag %.80s: name and value are A-Z a-z 0-9 _ - . and "
                  "the name is not a summary.csv column",
                  tags[t]);
    }
  }
  /* Parse everything first: a bad row refuses the whole input. */
  row *rows = NULL;
  size_t nrows = 0, caprows = 0;
  char linebuf[1024];
  size_t pos = 0;
  int line = 0, rc = 0;
  while (pos < len && rc == 0) {
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - start) : len - pos;
    pos += n + (nl ? 1 : 0);
    line++;
    if (n && start[n - 1] == '\r') n--;
    if (memchr(start, '\0', n)) {
      rc = fail(err, M6IKE_AGG_ERR_ROW, line, "%s:%d: NUL octet", name, line);
      break;
    }
    if (n >= sizeof(linebuf)) {
      rc = fail(err, M6IKE_AGG_ERR_ROW, line,
                "%s:%d: line longer than %zu octets", name, line,
                sizeof(linebuf) - 1);
      break;
    }
    memcpy(linebuf, start, n);
    linebuf[n] = '\0';
    if (line == 1) {
      if (strcmp(linebuf, M6IKE_AGG_SUMMARY_HEADER) != 0) {
        rc = fail(err, M6IKE_AGG_ERR_HEADER, 1,
                  "%s:1: header: expected the summary.csv contract '%s'",
                  name, M6IKE_AGG_SUMMARY_HEADER);
      }
      continue;
    }
    if (n == 0) continue;
    if (nrows == caprows) {
      size_t cap = caprows ? 2 * caprows : 16;
      row *rr = a->mem->realloc(rows, cap * sizeof(*rr), a->mem->user_data);
      if (!rr) {
        rc = fail(err, M6IKE_ERR_NOMEM, 0, "%s: out of memory", name);
        break;
      }
      rows = rr;
      caprows = cap;
    }
    rc = parse_row(a, name, line, linebuf, tagkv, ntags, &rows[nrows], err);
    if (rc == 0) nrows++;
  }
  if (rc == 0 && line == 0) {
    rc = fail(err, M6IKE_AGG_ERR_HEADER, 1, "%s:1: header: the file is empty",
              name);
  }
  for (size_t i = 0; rc == 0 && i < nrows; i++) {
    group *g = group_of(a, &rows[i]);
    if (!g || group_add(a->mem, g, &rows[i]) != 0) {
      rc = fail(err, M6IKE_ERR_NOMEM, 0, "%s: out of memory", name);
    }
  }
  a->mem->free(rows, a->mem->user_data);
  return rc ? rc : (int)nrows;
}

int m6ike_agg_add_path(m6ike_agg *a, const char *path,
                       const char *const *tags, size_t ntags,
                       m6ike_agg_err *err) {
  if (!a || !path) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0, "aggregate: bad arguments");
  }
  char file[4096];
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(file, sizeof(file), "%s/summary.csv", path); /* a run dir */
  } else {
    snprintf(file, sizeof(file), "%s", path);
  }
  FILE *f = fopen(file, "rb");
  if (!f) {
    return fail(err, M6IKE_AGG_ERR_IO, 0, "%s: cannot open: %s", file,
                strerror(errno));
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = a->mem->malloc(cap, a->mem->user_data);
  int rc = 0;
  while (buf) {
    len += fread(buf + len, 1, cap - len, f);
    if (len < cap) break;
    char *nb = a->mem->realloc(buf, cap * 2, a->mem->user_data);
    if (!nb) {
      a->mem->free(buf, a->mem->user_data);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  if (!buf) {
    rc = fail(err, M6IKE_ERR_NOMEM, 0, "%s: out of memory", file);
  } else if (ferror(f)) {
    rc = fail(err, M6IKE_AGG_ERR_IO, 0, "%s: read error", file);
  } else {
    rc = m6ike_agg_add_csv(a, file, buf, len, tags, ntags, err);
  }
  fclose(f);
  a->mem->free(buf, a->mem->user_data);
  return rc;
}

/* ---------------------------------------------------------------- stats */

void m6ike_agg_compute(const double *values, size_t n, m6ike_agg_stat *out) {
  double buf[64], *v = buf;
  double *heap = NULL;
  if (n > 64) {
    heap = malloc(n * sizeof(double));
    v = heap;
  }
  size_t k = 0;
  out->min = out->max = NAN;
  for (size_t i = 0; v && i < n; i++) {
    if (isnan(values[i])) continue;
    v[k++] = values[i];
    if (k == 1 || values[i] < out->min) out->min = values[i];
    if (k == 1 || values[i] > out->max) out->max = values[i];
  }
  out->n = k;
  out->mean = k ? gsl_stats_mean(v, 1, k) : NAN;
  if (k >= 2) {
    out->sd = gsl_stats_sd_m(v, 1, k, out->mean);
    out->ci95 = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * out->sd /
                sqrt((double)k);
  } else {
    out->sd = out->ci95 = NAN;
  }
  free(heap);
}

size_t m6ike_agg_group_count(const m6ike_agg *a) { return a ? a->ng : 0; }

const char *m6ike_agg_group_value(const m6ike_agg *a, size_t g,
                                  const char *col) {
  if (!a || g >= a->ng || !col) return NULL;
  for (int c = 0; c < 3; c++) {
    if (strcmp(col, COLS[c]) == 0) return a->g[g]->key[c];
  }
  for (size_t b = 0; b < a->nby; b++) {
    if (strcmp(col, a->by[b]) == 0) return a->g[g]->key[3 + b];
  }
  return NULL;
}

int m6ike_agg_stat_of(const m6ike_agg *a, size_t g, const char *col,
                      m6ike_agg_stat *out) {
  int c = col ? col_index(col) : -1;
  if (!a || g >= a->ng || c < FIRST_STAT || !out) return M6IKE_ERR_NOT_FOUND;
  m6ike_agg_compute(a->g[g]->v[c - FIRST_STAT], a->g[g]->n, out);
  return 0;
}

static void put_num(FILE *f, double d) {
  if (isnan(d)) {
    fputs(",nan", f);
  } else {
    fprintf(f, ",%.9g", d);
  }
}

int m6ike_agg_write(const m6ike_agg *a, FILE *f, m6ike_agg_err *err) {
  if (!a || !f) return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0, "bad args");
  if (a->ng == 0) {
    return fail(err, M6IKE_AGG_ERR_EMPTY, 0,
                "aggregate: no rows in the inputs (nothing to write)");
  }
  fputs("scheme,host,rate_kbps", f);
  for (size_t b = 0; b < a->nby; b++) fprintf(f, ",%s", a->by[b]);
  fputs(",column,n,mean,sd,ci95,min,max\n", f);
  for (size_t g = 0; g < a->ng; g++) {
    for (int c = FIRST_STAT; c < M6IKE_AGG_COLUMNS; c++) {
      m6ike_agg_stat s;
      m6ike_agg_compute(a->g[g]->v[c - FIRST_STAT], a->g[g]->n, &s);
      for (size_t k = 0; k < 3 + a->nby; k++) {
        fprintf(f, "%s%s", k ? "," : "", a->g[g]->key[k]);
      }
      fprintf(f, ",%s,%zu", COLS[c], s.n);
      put_num(f, s.mean);
      put_num(f, s.sd);
      put_num(f, s.ci95);
      put_num(f, s.min);
      put_num(f, s.max);
      fputc('\n', f);
    }
  }
  if (fflush(f) != 0 || ferror(f)) {
    return fail(err, M6IKE_AGG_ERR_IO, 0, "aggregate: write error: %s",
                strerror(errno));
  }
  return 0;
}
