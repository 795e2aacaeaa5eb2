/*
 * scenario: the INI scenario format (m6ike/scenario.h, doc/SCENARIOS.md).
 *
 * The schema is the table KEYS below: one row per key with its type,
 * default and range.  Every value is kept twice: its canonical text (what
 * --dump writes and get_string returns) and, for numbers, the number.
 * Files are parsed by libinih through ini_parse_stream with our own line
 * reader, which counts lines (Debian's libinih is built without
 * INI_HANDLER_LINENO), refuses NUL octets and lines longer than inih's
 * buffer (inih would silently split them), and checks section headers
 * (inih calls no handler for an empty section).
 */
#include "m6ike/scenario.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m6ike/proposal.h"

/* ---------------------------------------------------------------- schema */

/* The longest line libinih reads whole (its INI_MAX_LINE 200, less the
 * newline and the NUL). */
#define SCENARIO_LINE_MAX 198

typedef enum kind {
  K_INT,
  K_DBL,
  K_BOOL,
  K_ENUM,
  K_ID,   /* [A-Za-z0-9._-]{1,64} */
  K_TEXT, /* printable ASCII without ';', may be empty */
  K_PATH, /* [A-Za-z0-9._/+@%=,:-]*, may be empty */
  K_IKE,  /* strongSwan IKE proposal (m6ike/proposal.h) */
  K_ESP,  /* strongSwan ESP proposal */
  K_DHGROUPS /* "<group>:<number><ns|us|ms|s>,..." or empty */
} kind;

typedef struct keydef {
  const char *section;
  const char *key;
  kind k;
  const char *dflt;
  const char *choices; /* K_ENUM: "a|b|c" */
  double min, max;     /* K_INT, K_DBL */
  int min_open;        /* K_DBL: min itself excluded */
  int max_open;        /* K_DBL: max itself excluded */
  const char *help;
} keydef;

#define SCHEMES "msrd|renegotiate|migrate|migrate-kmaddress|mobike|static"

/* Keep in step with doc/SCENARIOS.md (its key table lists these rows). */
static const keydef KEYS[] = {
    /* [experiment] */
    {"experiment", "name", K_ID, "mip6ike", NULL, 0, 0, 0, 0,
     "name of the experiment (run directories, plots)"},
    {"experiment", "description", K_TEXT, "", NULL, 0, 0, 0, 0,
     "one line saying what it reproduces"},
    {"experiment", "example", K_ENUM, "handover", "handover|bootstrap|scale",
     0, 0, 0, 0, "ns-3 example run (./mip6ike sim NAME)"},
    {"experiment", "scheme", K_ENUM, "msrd", SCHEMES, 0, 0, 0, 0,
     "how MIPv6 and IKEv2 work together"},
    {"experiment", "seeds", K_INT, "1", NULL, 1, 100000, 0, 0,
     "runs per combination (RngRun rng_run .. rng_run+seeds-1)"},
    {"experiment", "rng_run", K_INT, "1", NULL, 1, 2147483647.0, 0, 0,
     "first ns-3 RngRun"},
    {"experiment", "duration_s", K_DBL, "0", NULL, 0, 1e6, 0, 0,
     "simulated time, s; 0 = the example's (last handover + spacing)"},
    /* [topology] */
    {"topology", "shape", K_ENUM, "fig6", "fig6|fig6-scaled", 0, 0, 0, 0,
     "fig6: the paper's testbed; fig6-scaled: pairs of access networks"},
    {"topology", "networks", K_INT, "3", NULL, 3, 100001, 0, 0,
     "networks: home + access networks"},
    {"topology", "access_routers", K_INT, "2", NULL, 2, 100000, 0, 0,
     "access routers (one per access network)"},
    {"topology", "l2", K_ENUM, "csma", "csma|wifi", 0, 0, 0, 0,
     "access links: csma (link switch) or wifi (two APs)"},
    {"topology", "l2_gap_s", K_DBL, "0.05", NULL, 0.001, 60, 0, 0,
     "csma: time without a link during the switch, s"},
    {"topology", "backbone_rate_mbps", K_DBL, "100", NULL, 0, 1e6, 1, 0,
     "rate of the HA - access router links, Mbit/s"},
    {"topology", "backbone_delay_ms", K_DBL, "2", NULL, 0, 10000, 0, 0,
     "one-way delay of each HA - access router link, ms"},
    {"topology", "backbone_loss", K_DBL, "0", NULL, 0, 1, 0, 1,
     "packet loss probability on the backbone links, 0..1"},
    {"topology", "access_rate_mbps", K_DBL, "100", NULL, 0, 1e6, 1, 0,
     "rate of the MN's access links, Mbit/s"},
    {"topology", "access_delay_ms", K_DBL, "0.001", NULL, 0, 10000, 0, 0,
     "propagation delay of the access LANs, ms"},
    {"topology", "access_loss", K_DBL, "0", NULL, 0, 1, 0, 1,
     "packet loss probability on the MN's access links, 0..1"},
    /* [ra] */
    {"ra", "min_interval_ms", K_DBL, "30", NULL, 30, 1800000, 0, 0,
     "access routers' MinRtrAdvInterval, ms (RFC 6275 7.5: >= 30)"},
    {"ra", "max_interval_ms", K_DBL, "70", NULL, 70, 1800000, 0, 0,
     "access routers' MaxRtrAdvInterval, ms (RFC 6275 7.5: >= 70)"},
    /* [mn] */
    {"mn", "count", K_INT, "1", NULL, 1, 100000, 0, 0, "mobile nodes"},
    {"mn", "per_network", K_INT, "25", NULL, 1, 100000, 0, 0,
     "scale: MNs starting on each access network"},
    {"mn", "start_spread_s", K_DBL, "0", NULL, 0, 3600, 0, 0,
     "scale: the MNs' links come up over this many seconds"},
    {"mn", "dad", K_ENUM, "off", "on|off|optimistic", 0, 0, 0, 0,
     "DAD of a new CoA (the paper avoided it)"},
    {"mn", "dad_retrans_ms", K_DBL, "1000", NULL, 1, 60000, 0, 0,
     "RFC 4861 RetransTimer: the DAD wait, ms"},
    {"mn", "handover_at_s", K_DBL, "5", NULL, 0, 1e6, 1, 0,
     "first L2 handover, s (scale: after the MN's link came up)"},
    {"mn", "handovers", K_INT, "1", NULL, 1, 10000, 0, 0,
     "handovers per MN (back and forth)"},
    {"mn", "handover_spacing_s", K_DBL, "5", NULL, 0, 1e6, 1, 0,
     "time between handovers, s"},
    /* [crypto] */
    {"crypto", "ike_proposal", K_IKE, "aes128-sha256-x25519", NULL, 0, 0, 0, 0,
     "IKE SA proposal, strongSwan syntax"},
    {"crypto", "esp_proposal", K_ESP, "aes128gcm16", NULL, 0, 0, 0, 0,
     "ESP proposal, strongSwan syntax"},
    {"crypto", "null_cipher", K_BOOL, "false", NULL, 0, 0, 0, 0,
     "NULL crypto backend instead of OpenSSL (large sweeps)"},
    /* [processing] */
    {"processing", "profile", K_ENUM, "fixed", "fixed|measured|xu2008|modern",
     0, 0, 0, 0, "processing-time model or a named set of costs"},
    {"processing", "cpu_speed_factor", K_DBL, "1", NULL, 0, 1e6, 0, 0,
     "measured: simulated time = CPU time x this"},
    {"processing", "dh_cost_us", K_DBL, "50", NULL, 0, 1e9, 0, 0,
     "one DH key generation or derivation, us"},
    {"processing", "dh_cost_per_group", K_DHGROUPS, "", NULL, 0, 0, 0, 0,
     "per-group DH costs: <IANA group>:<time>[,...], e.g. 14:1500us"},
    {"processing", "sign_cost_us", K_DBL, "1000", NULL, 0, 1e9, 0, 0,
     "one signature, us"},
    {"processing", "verify_cost_us", K_DBL, "50", NULL, 0, 1e9, 0, 0,
     "one signature or chain check, us"},
    {"processing", "cipher_ns_per_byte", K_DBL, "1", NULL, 0, 1e6, 0, 0,
     "per octet encrypted or decrypted, ns"},
    {"processing", "mac_ns_per_byte", K_DBL, "1", NULL, 0, 1e6, 0, 0,
     "per octet of integrity check, ns"},
    {"processing", "message_cost_us", K_DBL, "10", NULL, 0, 1e9, 0, 0,
     "per packet handled by the core, us"},
    /* [traffic] */
    {"traffic", "rate_kbps", K_DBL, "100", NULL, 0, 1e7, 1, 0,
     "CBR payload rate CN -> MN's HoA, kbit/s"},
    {"traffic", "packet_size", K_INT, "512", NULL, 12, 1400, 0, 0,
     "CBR UDP payload, octets"},
    {"traffic", "start_s", K_DBL, "1", NULL, 0, 1e6, 0, 0, "CBR start, s"},
    /* [output] */
    {"output", "dir", K_PATH, "", NULL, 0, 0, 0, 0,
     "run directory; empty = the driver's choice"},
    {"output", "pcap", K_BOOL, "true", NULL, 0, 0, 0, 0,
     "a pcap per device"},
    {"output", "verbose", K_BOOL, "true", NULL, 0, 0, 0, 0,
     "print the event timeline"},
};

#define NKEYS (sizeof(KEYS) / sizeof(KEYS[0]))

static const char *const SECTIONS[] = {"experiment", "topology", "ra",
                                       "mn",         "crypto",   "processing",
                                       "traffic",    "output",   "sweep"};
#define NSECTIONS (sizeof(SECTIONS) / sizeof(SECTIONS[0]))

/* Named processing profiles: the costs they give the keys not set
 * explicitly.  xu2008: the 2007 testbed (a Linux 2.6.16 PC running
 * OpenIKEv2 0.92, 3DES/HMAC-SHA1, Fig. 7); modern: this machine's
 * measured costs (./mip6ike bench).  Each value's source:
 * doc/CALIBRATION.md. */
typedef struct preset {
  const char *profile, *key, *value;
} preset;

/* Must equal examples/mip6ike-profile.h; sources: doc/CALIBRATION.md. */
static const preset PRESETS[] = {
    {"xu2008", "dh_cost_us", "108000"},     /* Fig. 7: 216 ms IKE_SA_INIT / 2 */
    {"xu2008", "dh_cost_per_group", "14:108000us"}, /* the assumed MODP-2048 */
    {"xu2008", "sign_cost_us", "140"},      /* RSA-1024 here x 2.1 (3DES+SHA-1) */
    {"xu2008", "verify_cost_us", "15"},     /* the same scaling */
    {"xu2008", "cipher_ns_per_byte", "53"}, /* 3DES-CBC 18.93 MB/s, P4 2.8 GHz */
    {"xu2008", "mac_ns_per_byte", "9"},     /* SHA-1 117.9 MB/s, same CPU */
    {"xu2008", "message_cost_us", "40"},    /* Fig. 7 NS->NA 83 us / 2 */
    {"modern", "dh_cost_us", "55"},         /* ./mip6ike bench: ECP-256 / 2 */
    /* openssl speed: MODP-2048, ECP-256, X25519 keygen+derive, halved */
    {"modern", "dh_cost_per_group", "14:253us,19:55us,31:53us"},
    {"modern", "sign_cost_us", "230"},      /* bench: RSA-2048 PKCS#1 v1.5 */
    {"modern", "verify_cost_us", "16"},     /* the same key's verification */
    {"modern", "cipher_ns_per_byte", "1"},  /* AES-GCM-128 0.58 ns/octet */
    {"modern", "mac_ns_per_byte", "1"},
    {"modern", "message_cost_us", "2"},     /* agent handover msrd bench */
};

/* ---------------------------------------------------------------- state */

typedef struct val {
  int set;  /* by a file or an override */
  int line; /* its line (0: override) */
  int64_t i;
  double d;
  char s[M6IKE_SCENARIO_VALUE_MAX + 1]; /* canonical text */
} val;

typedef struct sweep_dim {
  size_t key;                                /* index in KEYS */
  int line;                                  /* in its file, 0 = --set */
  char name[64];                             /* "section.key" */
  size_t n;                                  /* values */
  uint16_t off[M6IKE_SCENARIO_SWEEP_VALUES]; /* into text */
  char text[2 * (M6IKE_SCENARIO_VALUE_MAX + 1)]; /* NUL-separated values */
} sweep_dim;

struct m6ike_scenario {
  const m6ike_mem *mem;
  char source[128]; /* the last file loaded (rule messages) */
  val v[NKEYS];
  size_t nsweep;
  sweep_dim sweep[M6IKE_SCENARIO_SWEEP_MAX];
};

/* ---------------------------------------------------------------- errors */

static int fail(m6ike_scenario_err *err, int code, int line, const char *fmt,
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

const char *m6ike_scenario_strerror(int code) {
  switch (code) {
  case M6IKE_SCENARIO_ERR_SYNTAX: return "scenario: syntax error";
  case M6IKE_SCENARIO_ERR_SECTION: return "scenario: unknown section";
  case M6IKE_SCENARIO_ERR_KEY: return "scenario: unknown key";
  case M6IKE_SCENARIO_ERR_VALUE: return "scenario: bad value";
  case M6IKE_SCENARIO_ERR_DUP: return "scenario: key given twice";
  case M6IKE_SCENARIO_ERR_RULE: return "scenario: inconsistent keys";
  case M6IKE_SCENARIO_ERR_IO: return "scenario: cannot read the file";
  case M6IKE_SCENARIO_ERR_TOO_LONG: return "scenario: too long";
  case M6IKE_SCENARIO_ERR_TYPE: return "scenario: key of another type";
  case M6IKE_SCENARIO_ERR_HOST: return "scenario: the host cannot express it";
  default: return NULL;
  }
}

/* ---------------------------------------------------------------- lookup */

static int find_key2(const char *section, size_t slen, const char *key) {
  for (size_t i = 0; i < NKEYS; i++) {
    if (strlen(KEYS[i].section) == slen &&
        memcmp(KEYS[i].section, section, slen) == 0 &&
        strcmp(KEYS[i].key, key) == 0) {
      return (int)i;
    }
  }
  return -1;
}

/* "section.key" -> index, or -1. */
static int find_key(const char *full) {
  const char *dot = full ? strchr(full, '.') : NULL;
  if (!dot) return -1;
  return find_key2(full, (size_t)(dot - full), dot + 1);
}

static int known_section(const char *s, size_t len) {
  for (size_t i = 0; i < NSECTIONS; i++) {
    if (strlen(SECTIONS[i]) == len && memcmp(SECTIONS[i], s, len) == 0) {
      return 1;
    }
  }
  return 0;
}

static void full_name(size_t i, char *buf, size_t cap) {
  snprintf(buf, cap, "%s.%s", KEYS[i].section, KEYS[i].key);
}

/* ---------------------------------------------------------------- values */

static int choice_ok(const char *choices, const char *s) {
  size_t n = strlen(s);
  const char *p = choices;
  while (*p) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && memcmp(p, s, n) == 0) return 1;
    if (!bar) break;
    p = bar + 1;
  }
  return 0;
}

static int all_chars(const char *s, const char *extra) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || (c && strchr(extra, c))) {
      continue;
    }
    return 0;
  }
  return 1;
}

/* Shortest text that reads back as d. */
static void fmt_double(double d, char *buf, size_t cap) {
  if (d == floor(d) && fabs(d) < 1e15) { /* whole numbers without 'e' */
    snprintf(buf, cap, "%.0f", d);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) return;
  }
}

/* Parses a decimal number (no hex, inf, nan). */
static int parse_double(const char *s, double *out) {
  int digits = 0;
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

static int parse_int(const char *s, int64_t *out) {
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  if (!*p) return -1;
  for (const char *q = p; *q; q++) {
    if (*q < '0' || *q > '9') return -1;
  }
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (*end || errno == ERANGE) return -1;
  *out = (int64_t)v;
  return 0;
}

static int parse_dhgroups(const char *s, char *why, size_t whycap) {
  const char *p = s;
  while (*p) {
    char *end;
    if (*p < '0' || *p > '9') {
      snprintf(why, whycap, "expected <group>:<time> items, e.g. 14:1500us");
      return -1;
    }
    errno = 0;
    long g = strtol(p, &end, 10);
    if (errno || g < 1 || g > 65535 || *end != ':') {
      snprintf(why, whycap, "group must be 1..65535 followed by ':'");
      return -1;
    }
    p = end + 1;
    const char *num = p;
    while ((*p >= '0' && *p <= '9') || *p == '.') p++;
    if (p == num) {
      snprintf(why, whycap, "group %ld: missing time", g);
      return -1;
    }
    const char *unit = p;
    while (*p >= 'a' && *p <= 'z') p++;
    size_t ul = (size_t)(p - unit);
    if (!((ul == 2 && (!memcmp(unit, "ns", 2) || !memcmp(unit, "us", 2) ||
                       !memcmp(unit, "ms", 2))) ||
          (ul == 1 && *unit == 's'))) {
      snprintf(why, whycap, "group %ld: time unit must be ns, us, ms or s", g);
      return -1;
    }
    if (*p == ',') {
      p++;
      if (!*p) {
        snprintf(why, whycap, "empty item after ','");
        return -1;
      }
    } else if (*p) {
      snprintf(why, whycap, "unexpected '%c' after group %ld's time", *p, g);
      return -1;
    }
  }
  return 0;
}

/* Checks text against key i and fills *out (canonical text, number).
 * Returns 0 or -1 with why. */
static int parse_value(size_t i, const char *text, val *out, char *why,
                       size_t whycap) {
  const keydef *kd = &KEYS[i];
  if (strlen(text) > M6IKE_SCENARIO_VALUE_MAX) {
    snprintf(why, whycap, "value longer than %d octets",
             M6IKE_SCENARIO_VALUE_MAX);
    return -1;
  }
  for (const char *p = text; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c > 0x7e) {
      snprintf(why, whycap, "control or non-ASCII octet 0x%02x in the value",
               c);
      return -1;
    }
  }
  if (kd->k != K_TEXT && kd->k != K_PATH && kd->k != K_DHGROUPS && !*text) {
    snprintf(why, whycap, "empty value");
    return -1;
  }
  memset(out, 0, sizeof(*out));
  switch (kd->k) {
  case K_INT: {
    int64_t v;
    if (parse_int(text, &v) != 0) {
      snprintf(why, whycap, "'%s' is not a whole number", text);
      return -1;
    }
    if ((double)v < kd->min || (double)v > kd->max) {
      snprintf(why, whycap, "%lld is out of range %.0f..%.0f", (long long)v,
               kd->min, kd->max);
      return -1;
    }
    out->i = v;
    out->d = (double)v;
    snprintf(out->s, sizeof(out->s), "%lld", (long long)v);
    return 0;
  }
  case K_DBL: {
    double d;
    if (parse_double(text, &d) != 0) {
      snprintf(why, whycap, "'%s' is not a decimal number", text);
      return -1;
    }
    if (d < kd->min || d > kd->max || (kd->min_open && d == kd->min) ||
        (kd->max_open && d == kd->max)) {
      snprintf(why, whycap, "%s is out of range %s%g..%g%s", text,
               kd->min_open ? "(" : "[", kd->min, kd->max,
               kd->max_open ? ")" : "]");
      return -1;
    }
    if (d == 0) d = 0; /* -0 */
    out->d = d;
    fmt_double(d, out->s, sizeof(out->s));
    return 0;
  }
  case K_BOOL: {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t j = 0; j < 4; j++) {
      if (strcmp(text, yes[j]) == 0 || strcmp(text, no[j]) == 0) {
        out->i = strcmp(text, yes[j]) == 0;
        snprintf(out->s, sizeof(out->s), "%s", out->i ? "true" : "false");
        return 0;
      }
    }
    snprintf(why, whycap, "'%s' is not a boolean (true/false, yes/no, on/off, "
                          "1/0)",
             text);
    return -1;
  }
  case K_ENUM:
    if (!choice_ok(kd->choices, text)) {
      snprintf(why, whycap, "'%s' is not one of %s", text, kd->choices);
      return -1;
    }
    break;
  case K_ID:
    if (strlen(text) > 64 || !all_chars(text, "._-")) {
      snprintf(why, whycap,
               "'%s': up to 64 of A-Z a-z 0-9 . _ - (it names directories)",
               text);
      return -1;
    }
    break;
  case K_TEXT:
    if (strchr(text, ';')) {
      snprintf(why, whycap, "';' starts a comment: not allowed in a value");
      return -1;
    }
    break;
  case K_PATH:
    if (!all_chars(text, "._/+@%=,:-")) {
      snprintf(why, whycap,
               "'%s': a path of A-Z a-z 0-9 . _ / + @ %% = , : - only", text);
      return -1;
    }
    break;
  case K_IKE:
  case K_ESP: {
    m6ike_proposal_list pl;
    char perr[160] = "";
    int rc = m6ike_proposal_parse(
        &pl, kd->k == K_IKE ? M6IKE_PROPOSAL_IKE : M6IKE_PROPOSAL_ESP, text,
        perr, sizeof(perr));
    if (rc != 0) {
      snprintf(why, whycap, "%s proposal '%s': %s",
               kd->k == K_IKE ? "IKE" : "ESP", text,
               perr[0] ? perr : "invalid");
      return -1;
    }
    break;
  }
  case K_DHGROUPS:
    if (parse_dhgroups(text, why, whycap) != 0) return -1;
    break;
  }
  snprintf(out->s, sizeof(out->s), "%s", text);
  return 0;
}

/* ---------------------------------------------------------------- sweep */

static sweep_dim *sweep_find(m6ike_scenario *sc, size_t key) {
  for (size_t d = 0; d < sc->nsweep; d++) {
    if (sc->sweep[d].key == key) return &sc->sweep[d];
  }
  return NULL;
}

/* Parses "v1, v2, ..." for key into dim.  Returns 0 or -1 with why. */
static int parse_sweep(size_t key, const char *text, sweep_dim *dim,
                       char *why, size_t whycap) {
  memset(dim, 0, sizeof(*dim));
  dim->key = key;
  full_name(key, dim->name, sizeof(dim->name));
  size_t used = 0;
  const char *p = text;
  if (!*p) {
    snprintf(why, whycap, "no values (expected v1, v2, ...)");
    return -1;
  }
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && (*p == ' ' || *p == '\t')) p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
    char item[M6IKE_SCENARIO_VALUE_MAX + 1];
    if (len > M6IKE_SCENARIO_VALUE_MAX) {
      snprintf(why, whycap, "value %zu longer than %d octets", dim->n + 1,
               M6IKE_SCENARIO_VALUE_MAX);
      return -1;
    }
    memcpy(item, p, len);
    item[len] = 0;
    if (!len) {
      snprintf(why, whycap, "value %zu is empty", dim->n + 1);
      return -1;
    }
    if (dim->n == M6IKE_SCENARIO_SWEEP_VALUES) {
      snprintf(why, whycap, "more than %d values", M6IKE_SCENARIO_SWEEP_VALUES);
      return -1;
    }
    val v;
    char vwhy[300];
    if (parse_value(key, item, &v, vwhy, sizeof(vwhy)) != 0) {
      snprintf(why, whycap, "value %zu: %s", dim->n + 1, vwhy);
      return -1;
    }
    for (size_t j = 0; j < dim->n; j++) {
      if (strcmp(dim->text + dim->off[j], v.s) == 0) {
        snprintf(why, whycap, "value %s given twice", v.s);
        return -1;
      }
    }
    size_t vl = strlen(v.s);
    if (used + vl + 1 > sizeof(dim->text)) {
      snprintf(why, whycap, "values longer than %zu octets in all",
               sizeof(dim->text) - 1);
      return -1;
    }
    dim->off[dim->n++] = (uint16_t)used;
    memcpy(dim->text + used, v.s, vl + 1);
    used += vl + 1;
    if (!comma) break;
    p = comma + 1;
  }
  /* m6ike_scenario_format writes "name = v1, v2, ..." on one line. */
  size_t line = strlen(dim->name) + 3;
  for (size_t j = 0; j < dim->n; j++) {
    line += strlen(dim->text + dim->off[j]) + (j ? 2 : 0);
  }
  if (line > SCENARIO_LINE_MAX) {
    snprintf(why, whycap,
             "values too long: written out as \"%s = v1, v2, ...\" the line "
             "would exceed %d octets",
             dim->name, SCENARIO_LINE_MAX);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- objects */

int m6ike_scenario_new(m6ike_scenario **out, const m6ike_mem *mem) {
  if (!out) return M6IKE_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!mem) mem = m6ike_mem_default();
  m6ike_scenario *sc = mem->calloc(1, sizeof(*sc), mem->user_data);
  if (!sc) return M6IKE_ERR_NOMEM;
  sc->mem = mem;
  for (size_t i = 0; i < NKEYS; i++) {
    char why[300];
    if (parse_value(i, KEYS[i].dflt, &sc->v[i], why, sizeof(why)) != 0) {
      /* A default outside its own range: a bug in the table. */
      abort();
    }
  }
  *out = sc;
  return 0;
}

void m6ike_scenario_del(m6ike_scenario *sc) {
  if (sc) sc->mem->free(sc, sc->mem->user_data);
}

/* ---------------------------------------------------------------- loading */

typedef struct ctx {
  m6ike_scenario *sc;
  const char *name;
  const char *text;
  size_t len, pos;
  int line;
  int indented;      /* the current line starts with blank space */
  int stop;          /* reader: end of input after an error */
  int last_key;      /* index of the previous handler call's key, -1 */
  int last_sweep;    /* the previous call was a [sweep] key of this index */
  int seen[NKEYS];   /* line where each key was given, 0 = not yet */
  int err_line;      /* our first error, 0 = none */
  m6ike_scenario_err e;
} ctx;

static int ctx_fail(ctx *c, int code, const char *fmt, ...) {
  if (c->err_line) return 0;
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  fail(&c->e, code, c->line, "%s:%d: %s", c->name, c->line, what);
  c->err_line = c->line;
  return 0;
}

static char *reader(char *str, int num, void *stream) {
  ctx *c = stream;
  if (c->stop || c->pos >= c->len || num < 2) return NULL;
  const char *start = c->text + c->pos;
  size_t rest = c->len - c->pos;
  const char *nl = memchr(start, '\n', rest);
  size_t n = nl ? (size_t)(nl - start) + 1 : rest;
  c->line++;
  if (memchr(start, '\0', n)) {
    ctx_fail(c, M6IKE_SCENARIO_ERR_SYNTAX, "NUL octet in the line");
    c->stop = 1;
    return NULL;
  }
  if (n > (size_t)num - 1) {
    ctx_fail(c, M6IKE_SCENARIO_ERR_TOO_LONG,
             "line longer than %d octets", num - 2);
    c->stop = 1;
    return NULL;
  }
  memcpy(str, start, n);
  str[n] = '\0';
  c->pos += n;
  c->indented = n > 0 && (str[0] == ' ' || str[0] == '\t');
  /* A section header: check its name here, since inih calls no handler
   * for a section without keys. */
  const char *p = str;
  while (*p == ' ' || *p == '\t') p++;
  if (c->line == 1 && (unsigned char)p[0] == 0xEF &&
      (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) {
    p += 3; /* inih skips a UTF-8 BOM */
  }
  if (*p == '[') {
    const char *close = strchr(p, ']');
    if (close && !known_section(p + 1, (size_t)(close - p - 1))) {
      int len = (int)(close - p - 1);
      ctx_fail(c, M6IKE_SCENARIO_ERR_SECTION,
               "[%.*s]: unknown section (known: experiment, topology, ra, "
               "mn, crypto, processing, traffic, output, sweep)",
               len > 64 ? 64 : len, p + 1);
      c->stop = 1;
      return NULL;
    }
  }
  return str;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value) {
  ctx *c = user;
  if (c->err_line) return 0;
  m6ike_scenario *sc = c->sc;
  if (!*section) {
    return ctx_fail(c, M6IKE_SCENARIO_ERR_SECTION,
                    "%s: key outside a section (put a [section] line above)",
                    name);
  }
  if (strcmp(section, "sweep") == 0) {
    int k = find_key(name);
    if (k < 0) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_KEY,
                      "sweep.%s: not a section.key of the scenario", name);
    }
    if (c->indented && c->last_sweep == k) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_SYNTAX,
                      "sweep.%s: indented line continues the value above "
                      "(remove the indentation)",
                      name);
    }
    if (sweep_find(sc, (size_t)k)) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_DUP,
                      "sweep.%s: dimension given twice", name);
    }
    if (sc->nsweep == M6IKE_SCENARIO_SWEEP_MAX) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_TOO_LONG,
                      "sweep.%s: more than %d dimensions", name,
                      M6IKE_SCENARIO_SWEEP_MAX);
    }
    char why[400];
    if (parse_sweep((size_t)k, value, &sc->sweep[sc->nsweep], why,
                    sizeof(why)) != 0) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_VALUE, "sweep.%s: %s", name, why);
    }
    sc->sweep[sc->nsweep].line = c->line;
    sc->nsweep++;
    c->last_sweep = k;
    c->last_key = -1;
    return 1;
  }
  c->last_sweep = -1;
  int k = find_key2(section, strlen(section), name);
  if (k < 0) {
    if (!known_section(section, strlen(section))) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_SECTION, "[%s]: unknown section",
                      section);
    }
    return ctx_fail(c, M6IKE_SCENARIO_ERR_KEY, "%s.%s: unknown key", section,
                    name);
  }
  if (c->seen[k]) {
    if (c->indented && c->last_key == k) {
      return ctx_fail(c, M6IKE_SCENARIO_ERR_SYNTAX,
                      "%s.%s: indented line continues the value above "
                      "(remove the indentation)",
                      section, name);
    }
    return ctx_fail(c, M6IKE_SCENARIO_ERR_DUP,
                    "%s.%s: given twice (first on line %d)", section, name,
                    c->seen[k]);
  }
  val v;
  char why[400];
  if (parse_value((size_t)k, value, &v, why, sizeof(why)) != 0) {
    return ctx_fail(c, M6IKE_SCENARIO_ERR_VALUE, "%s.%s: %s", section, name,
                    why);
  }
  v.set = 1;
  v.line = c->line;
  sc->v[k] = v;
  c->seen[k] = c->line;
  c->last_key = k;
  return 1;
}

int m6ike_scenario_load_string(m6ike_scenario *sc, const char *name,
                               const char *text, size_t len,
                               m6ike_scenario_err *err) {
  if (!sc || (!text && len)) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0,
                "scenario: no scenario or no text");
  }
  if (!name) name = "<string>";
  if (len > M6IKE_SCENARIO_FILE_MAX) {
    return fail(err, M6IKE_SCENARIO_ERR_TOO_LONG, 0,
                "%s: longer than %u octets", name, M6IKE_SCENARIO_FILE_MAX);
  }
  /* The context is large (seen[]): from the scenario's allocator. */
  ctx *c = sc->mem->calloc(1, sizeof(*c), sc->mem->user_data);
  if (!c) return fail(err, M6IKE_ERR_NOMEM, 0, "%s: out of memory", name);
  c->sc = sc;
  c->name = name;
  c->text = text;
  c->len = len;
  c->last_key = -1;
  c->last_sweep = -1;
  snprintf(sc->source, sizeof(sc->source), "%s", name);
  int rc = ini_parse_stream(reader, c, handler, c);
  int ret = 0;
  if (rc > 0 && (!c->err_line || rc < c->err_line)) {
    ret = fail(err, M6IKE_SCENARIO_ERR_SYNTAX, rc,
               "%s:%d: syntax error: expected 'key = value', '[section]' or "
               "a comment",
               name, rc);
  } else if (c->err_line) {
    ret = c->e.code;
    if (err) *err = c->e;
  } else if (rc != 0) {
    ret = fail(err, M6IKE_SCENARIO_ERR_IO, 0, "%s: parser failure %d", name,
               rc);
  }
  sc->mem->free(c, sc->mem->user_data);
  return ret;
}

int m6ike_scenario_load_file(m6ike_scenario *sc, const char *path,
                             m6ike_scenario_err *err) {
  if (!sc || !path) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0,
                "scenario: no scenario or no path");
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    return fail(err, M6IKE_SCENARIO_ERR_IO, 0, "%s: cannot open: %s", path,
                strerror(errno));
  }
  size_t cap = M6IKE_SCENARIO_FILE_MAX + 1;
  char *buf = sc->mem->malloc(cap, sc->mem->user_data);
  if (!buf) {
    fclose(f);
    return fail(err, M6IKE_ERR_NOMEM, 0, "%s: out of memory", path);
  }
  size_t n = fread(buf, 1, cap, f);
  int rd_err = ferror(f);
  int saved = errno;
  fclose(f);
  int rc;
  if (rd_err) {
    rc = fail(err, M6IKE_SCENARIO_ERR_IO, 0, "%s: read error: %s", path,
              strerror(saved));
  } else if (n == cap) {
    rc = fail(err, M6IKE_SCENARIO_ERR_TOO_LONG, 0,
              "%s: longer than %u octets", path, M6IKE_SCENARIO_FILE_MAX);
  } else {
    rc = m6ike_scenario_load_string(sc, path, buf, n, err);
  }
  sc->mem->free(buf, sc->mem->user_data);
  return rc;
}

int m6ike_scenario_set(m6ike_scenario *sc, const char *assignment,
                       m6ike_scenario_err *err) {
  if (!sc || !assignment) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0,
                "--set: no scenario or no assignment");
  }
  const char *eq = strchr(assignment, '=');
  if (!eq) {
    return fail(err, M6IKE_SCENARIO_ERR_SYNTAX, 0,
                "--set %.200s: expected section.key=value", assignment);
  }
  char name[128];
  size_t nl = (size_t)(eq - assignment);
  while (nl && assignment[nl - 1] == ' ') nl--;
  const char *nm = assignment;
  while (nl && *nm == ' ') nm++, nl--;
  if (nl >= sizeof(name)) {
    return fail(err, M6IKE_SCENARIO_ERR_KEY, 0,
                "--set %.60s...: unknown key", assignment);
  }
  memcpy(name, nm, nl);
  name[nl] = 0;
  const char *value = eq + 1;
  while (*value == ' ' || *value == '\t') value++;
  char vbuf[2 * M6IKE_SCENARIO_VALUE_MAX + 2];
  size_t vl = strlen(value);
  if (vl >= sizeof(vbuf)) {
    return fail(err, M6IKE_SCENARIO_ERR_TOO_LONG, 0,
                "--set %s: value longer than %d octets", name,
                M6IKE_SCENARIO_VALUE_MAX);
  }
  memcpy(vbuf, value, vl + 1);
  while (vl && (vbuf[vl - 1] == ' ' || vbuf[vl - 1] == '\t')) vbuf[--vl] = 0;
  char why[400];
  if (strncmp(name, "sweep.", 6) == 0) {
    int k = find_key(name + 6);
    if (k < 0) {
      return fail(err, M6IKE_SCENARIO_ERR_KEY, 0,
                  "--set %s: not sweep.section.key of the scenario", name);
    }
    sweep_dim *d = sweep_find(sc, (size_t)k);
    if (!vbuf[0]) { /* an empty list removes the dimension */
      if (d) {
        size_t at = (size_t)(d - sc->sweep);
        memmove(d, d + 1, (sc->nsweep - at - 1) * sizeof(*d));
        sc->nsweep--;
      }
      return 0;
    }
    sweep_dim tmp;
    if (parse_sweep((size_t)k, vbuf, &tmp, why, sizeof(why)) != 0) {
      return fail(err, M6IKE_SCENARIO_ERR_VALUE, 0, "--set %s: %s", name, why);
    }
    if (!d) {
      if (sc->nsweep == M6IKE_SCENARIO_SWEEP_MAX) {
        return fail(err, M6IKE_SCENARIO_ERR_TOO_LONG, 0,
                    "--set %s: more than %d sweep dimensions", name,
                    M6IKE_SCENARIO_SWEEP_MAX);
      }
      d = &sc->sweep[sc->nsweep++];
    }
    *d = tmp;
    return 0;
  }
  const char *dot = strchr(name, '.');
  if (!dot) {
    return fail(err, M6IKE_SCENARIO_ERR_SYNTAX, 0,
                "--set %s: expected section.key=value", name);
  }
  if (!known_section(name, (size_t)(dot - name))) {
    return fail(err, M6IKE_SCENARIO_ERR_SECTION, 0,
                "--set %s: unknown section '%.*s'", name, (int)(dot - name),
                name);
  }
  int k = find_key(name);
  if (k < 0) {
    return fail(err, M6IKE_SCENARIO_ERR_KEY, 0, "--set %s: unknown key", name);
  }
  val v;
  if (parse_value((size_t)k, vbuf, &v, why, sizeof(why)) != 0) {
    return fail(err, M6IKE_SCENARIO_ERR_VALUE, 0, "--set %s: %s", name, why);
  }
  v.set = 1;
  v.line = 0;
  sc->v[k] = v;
  return 0;
}

/* ---------------------------------------------------------------- getters */

/* The resolved value of key i: set, else the profile's, else default. */
static const val *resolve(const m6ike_scenario *sc, size_t i, val *tmp) {
  if (sc->v[i].set || strcmp(KEYS[i].section, "processing") != 0) {
    return &sc->v[i];
  }
  size_t prof = (size_t)find_key("processing.profile");
  for (size_t p = 0; p < sizeof(PRESETS) / sizeof(PRESETS[0]); p++) {
    if (strcmp(PRESETS[p].profile, sc->v[prof].s) == 0 &&
        strcmp(PRESETS[p].key, KEYS[i].key) == 0) {
      char why[300];
      if (parse_value(i, PRESETS[p].value, tmp, why, sizeof(why)) == 0) {
        return tmp;
      }
    }
  }
  return &sc->v[i];
}

static int lookup(const m6ike_scenario *sc, const char *key, int *idx) {
  if (!sc || !key) return M6IKE_ERR_INVALID_ARGUMENT;
  *idx = find_key(key);
  return *idx < 0 ? M6IKE_SCENARIO_ERR_KEY : 0;
}

int m6ike_scenario_get_int(const m6ike_scenario *sc, const char *key,
                           int64_t *out) {
  int k, rc = lookup(sc, key, &k);
  if (rc) return rc;
  if (!out) return M6IKE_ERR_INVALID_ARGUMENT;
  if (KEYS[k].k != K_INT && KEYS[k].k != K_BOOL) return M6IKE_SCENARIO_ERR_TYPE;
  *out = sc->v[k].i;
  return 0;
}

int m6ike_scenario_get_double(const m6ike_scenario *sc, const char *key,
                              double *out) {
  int k, rc = lookup(sc, key, &k);
  if (rc) return rc;
  if (!out) return M6IKE_ERR_INVALID_ARGUMENT;
  if (KEYS[k].k != K_INT && KEYS[k].k != K_DBL) return M6IKE_SCENARIO_ERR_TYPE;
  val tmp;
  *out = resolve(sc, (size_t)k, &tmp)->d;
  return 0;
}

int m6ike_scenario_get_bool(const m6ike_scenario *sc, const char *key,
                            int *out) {
  int k, rc = lookup(sc, key, &k);
  if (rc) return rc;
  if (!out) return M6IKE_ERR_INVALID_ARGUMENT;
  if (KEYS[k].k != K_BOOL) return M6IKE_SCENARIO_ERR_TYPE;
  *out = (int)sc->v[k].i;
  return 0;
}

int m6ike_scenario_get_string(const m6ike_scenario *sc, const char *key,
                              const char **out) {
  int k, rc = lookup(sc, key, &k);
  if (rc) return rc;
  if (!out) return M6IKE_ERR_INVALID_ARGUMENT;
  if (KEYS[k].k == K_INT || KEYS[k].k == K_DBL || KEYS[k].k == K_BOOL) {
    return M6IKE_SCENARIO_ERR_TYPE;
  }
  *out = sc->v[k].s;
  return 0;
}

int64_t m6ike_scenario_int(const m6ike_scenario *sc, const char *key,
                           int64_t dflt) {
  int64_t v;
  return m6ike_scenario_get_int(sc, key, &v) == 0 ? v : dflt;
}

double m6ike_scenario_double(const m6ike_scenario *sc, const char *key,
                             double dflt) {
  double v;
  return m6ike_scenario_get_double(sc, key, &v) == 0 ? v : dflt;
}

const char *m6ike_scenario_string(const m6ike_scenario *sc, const char *key,
                                  const char *dflt) {
  const char *v;
  return m6ike_scenario_get_string(sc, key, &v) == 0 ? v : dflt;
}

int m6ike_scenario_get_text(const m6ike_scenario *sc, const char *key,
                            char *buf, size_t cap) {
  int k, rc = lookup(sc, key, &k);
  if (rc) return rc;
  if (!buf) return M6IKE_ERR_INVALID_ARGUMENT;
  val tmp;
  const char *s = resolve(sc, (size_t)k, &tmp)->s;
  size_t n = strlen(s);
  if (n + 1 > cap) return M6IKE_ERR_NOBUF;
  memcpy(buf, s, n + 1);
  return (int)n;
}

int m6ike_scenario_is_set(const m6ike_scenario *sc, const char *key,
                          int *line) {
  int k, rc = lookup(sc, key, &k);
  if (rc) return rc;
  if (line) *line = sc->v[k].line;
  return sc->v[k].set;
}

size_t m6ike_scenario_key_count(void) { return NKEYS; }

int m6ike_scenario_key_at(size_t i, m6ike_scenario_key_info *out) {
  /* The full names, constant, in the order of KEYS (checked below). */
  if (i >= NKEYS || !out) return M6IKE_ERR_NOT_FOUND;
  static const char *const full[] = {
#define X(s, k) s "." k
      X("experiment", "name"), X("experiment", "description"),
      X("experiment", "example"), X("experiment", "scheme"),
      X("experiment", "seeds"), X("experiment", "rng_run"),
      X("experiment", "duration_s"), X("topology", "shape"),
      X("topology", "networks"), X("topology", "access_routers"),
      X("topology", "l2"), X("topology", "l2_gap_s"),
      X("topology", "backbone_rate_mbps"), X("topology", "backbone_delay_ms"),
      X("topology", "backbone_loss"), X("topology", "access_rate_mbps"),
      X("topology", "access_delay_ms"), X("topology", "access_loss"),
      X("ra", "min_interval_ms"), X("ra", "max_interval_ms"),
      X("mn", "count"), X("mn", "per_network"), X("mn", "start_spread_s"),
      X("mn", "dad"), X("mn", "dad_retrans_ms"), X("mn", "handover_at_s"),
      X("mn", "handovers"), X("mn", "handover_spacing_s"),
      X("crypto", "ike_proposal"), X("crypto", "esp_proposal"),
      X("crypto", "null_cipher"), X("processing", "profile"),
      X("processing", "cpu_speed_factor"), X("processing", "dh_cost_us"),
      X("processing", "dh_cost_per_group"), X("processing", "sign_cost_us"),
      X("processing", "verify_cost_us"), X("processing", "cipher_ns_per_byte"),
      X("processing", "mac_ns_per_byte"), X("processing", "message_cost_us"),
      X("traffic", "rate_kbps"), X("traffic", "packet_size"),
      X("traffic", "start_s"), X("output", "dir"), X("output", "pcap"),
      X("output", "verbose"),
#undef X
  };
  _Static_assert(sizeof(full) / sizeof(full[0]) == NKEYS,
                 "full[] must list KEYS[] in order");
  static const m6ike_scenario_type types[] = {
      [K_INT] = M6IKE_SCENARIO_INT,     [K_DBL] = M6IKE_SCENARIO_DOUBLE,
      [K_BOOL] = M6IKE_SCENARIO_BOOL,   [K_ENUM] = M6IKE_SCENARIO_STRING,
      [K_ID] = M6IKE_SCENARIO_STRING,   [K_TEXT] = M6IKE_SCENARIO_STRING,
      [K_PATH] = M6IKE_SCENARIO_STRING, [K_IKE] = M6IKE_SCENARIO_STRING,
      [K_ESP] = M6IKE_SCENARIO_STRING,  [K_DHGROUPS] = M6IKE_SCENARIO_STRING,
  };
  out->name = full[i];
  out->type = types[KEYS[i].k];
  out->dflt = KEYS[i].dflt;
  out->choices = KEYS[i].choices;
  out->help = KEYS[i].help;
  return 0;
}

size_t m6ike_scenario_sweep_count(const m6ike_scenario *sc) {
  return sc ? sc->nsweep : 0;
}

int m6ike_scenario_sweep_dim(const m6ike_scenario *sc, size_t i,
                             const char **key, size_t *nvalues) {
  if (!sc || i >= sc->nsweep) return M6IKE_ERR_NOT_FOUND;
  if (key) *key = sc->sweep[i].name;
  if (nvalues) *nvalues = sc->sweep[i].n;
  return 0;
}

const char *m6ike_scenario_sweep_value(const m6ike_scenario *sc, size_t i,
                                       size_t j) {
  if (!sc || i >= sc->nsweep || j >= sc->sweep[i].n) return NULL;
  return sc->sweep[i].text + sc->sweep[i].off[j];
}

/* ---------------------------------------------------------------- format */

typedef struct out {
  char *buf;
  size_t cap, len;
  int overflow;
} out;

static void put(out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->cap ? o->cap - o->len : 0;
  int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= room) o->overflow = 1;
  if (n > 0) o->len += (size_t)n;
}

int m6ike_scenario_format(const m6ike_scenario *sc, char *buf, size_t cap) {
  if (!sc || !buf) return M6IKE_ERR_INVALID_ARGUMENT;
  out o = {buf, cap, 0, 0};
  const char *section = NULL;
  for (size_t i = 0; i < NKEYS; i++) {
    if (!section || strcmp(section, KEYS[i].section) != 0) {
      section = KEYS[i].section;
      put(&o, "%s[%s]\n", i ? "\n" : "", section);
    }
    val tmp;
    const char *s = resolve(sc, i, &tmp)->s;
    put(&o, "%s = %s\n", KEYS[i].key, s);
  }
  if (sc->nsweep) {
    put(&o, "\n[sweep]\n");
    for (size_t d = 0; d < sc->nsweep; d++) {
      put(&o, "%s = ", sc->sweep[d].name);
      for (size_t j = 0; j < sc->sweep[d].n; j++) {
        put(&o, "%s%s", j ? ", " : "", sc->sweep[d].text + sc->sweep[d].off[j]);
      }
      put(&o, "\n");
    }
  }
  if (o.overflow) return M6IKE_ERR_NOBUF;
  return (int)o.len;
}

/* ---------------------------------------------------------------- rules */

static const val *V(const m6ike_scenario *sc, const char *key) {
  return &sc->v[find_key(key)];
}

/* A rule's message, on key (which the user set, preferably). */
static int rule(const m6ike_scenario *sc, m6ike_scenario_err *err,
                const char *key, const char *fmt, ...) {
  char why[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  const val *v = V(sc, key);
  if (v->set && v->line) {
    return fail(err, M6IKE_SCENARIO_ERR_RULE, v->line, "%s:%d: %s: %s",
                sc->source, v->line, key, why);
  }
  if (v->set) {
    return fail(err, M6IKE_SCENARIO_ERR_RULE, 0, "--set %s: %s", key, why);
  }
  return fail(err, M6IKE_SCENARIO_ERR_RULE, 0, "%s: %s: %s (its default)",
              sc->source[0] ? sc->source : "scenario", key, why);
}

/* Of two keys in a rule, the one to blame: the one set last (an override
 * beats a file line, a later line an earlier one). */
static const char *blame(const m6ike_scenario *sc, const char *a,
                         const char *b) {
  const val *va = V(sc, a), *vb = V(sc, b);
  if (va->set != vb->set) return va->set ? a : b;
  if (!va->set) return b;
  if ((va->line == 0) != (vb->line == 0)) return va->line == 0 ? a : b;
  return va->line >= vb->line ? a : b;
}

static int rules(const m6ike_scenario *sc, m6ike_scenario_err *err) {
  const char *example = V(sc, "experiment.example")->s;
  const char *shape = V(sc, "topology.shape")->s;
  int scale = strcmp(example, "scale") == 0;
  int64_t nets = V(sc, "topology.networks")->i;
  int64_t ars = V(sc, "topology.access_routers")->i;

  if (!scale && strcmp(shape, "fig6") != 0) {
    return rule(sc, err, blame(sc, "topology.shape", "experiment.example"),
                "the %s example runs the fig6 testbed, not %s", example,
                shape);
  }
  if (scale && strcmp(shape, "fig6-scaled") != 0) {
    return rule(sc, err, blame(sc, "topology.shape", "experiment.example"),
                "the scale example runs the fig6-scaled testbed, not %s",
                shape);
  }
  if (ars != nets - 1) {
    return rule(sc, err,
                blame(sc, "topology.access_routers", "topology.networks"),
                "%lld access routers with %lld networks: every network but "
                "the home one has its access router",
                (long long)ars, (long long)nets);
  }
  if (strcmp(shape, "fig6") == 0 && nets != 3) {
    return rule(sc, err, "topology.networks",
                "the fig6 testbed has 3 networks (home, foreign 1, foreign "
                "2), not %lld",
                (long long)nets);
  }
  if (strcmp(shape, "fig6-scaled") == 0 && ars % 2 != 0) {
    return rule(sc, err, "topology.access_routers",
                "fig6-scaled has pairs of access networks: an even number "
                "of access routers, not %lld",
                (long long)ars);
  }
  if (scale) {
    int64_t per = V(sc, "mn.per_network")->i;
    int64_t want = 2 * ((V(sc, "mn.count")->i + per - 1) / per);
    if (ars != want) {
      return rule(sc, err, blame(sc, "topology.access_routers", "mn.count"),
                  "%lld MNs, %lld per access network, make %lld pairs of "
                  "access networks: %lld access routers, not %lld",
                  (long long)V(sc, "mn.count")->i, (long long)per,
                  (long long)(want / 2), (long long)want, (long long)ars);
    }
  }
  if (strcmp(V(sc, "topology.l2")->s, "wifi") == 0 &&
      strcmp(shape, "fig6") != 0) {
    return rule(sc, err, "topology.l2", "wifi needs the fig6 testbed");
  }
  double ramin = V(sc, "ra.min_interval_ms")->d;
  double ramax = V(sc, "ra.max_interval_ms")->d;
  if (ramin > 0.75 * ramax) {
    return rule(sc, err, blame(sc, "ra.min_interval_ms", "ra.max_interval_ms"),
                "MinRtrAdvInterval %g ms is more than 0.75 x "
                "MaxRtrAdvInterval %g ms (RFC 4861 6.2.1)",
                ramin, ramax);
  }
  int64_t count = V(sc, "mn.count")->i;
  if (!scale && count != 1) {
    return rule(sc, err, blame(sc, "mn.count", "experiment.example"),
                "the %s example has one MN, not %lld (scale has many)",
                example, (long long)count);
  }
  double at = V(sc, "mn.handover_at_s")->d;
  double spacing = V(sc, "mn.handover_spacing_s")->d;
  int64_t n = V(sc, "mn.handovers")->i;
  double start = V(sc, "traffic.start_s")->d;
  double duration = V(sc, "experiment.duration_s")->d;
  if (strcmp(example, "handover") == 0) {
    if (!(at > start)) {
      return rule(sc, err, blame(sc, "mn.handover_at_s", "traffic.start_s"),
                  "the first handover (%g s) must come after the traffic "
                  "starts (%g s)",
                  at, start);
    }
    double last = at + (double)(n - 1) * spacing;
    if (duration != 0 && !(duration > last)) {
      return rule(sc, err, blame(sc, "experiment.duration_s", "mn.handovers"),
                  "%g s ends before the last handover at %g s", duration,
                  last);
    }
  }
  if (strcmp(example, "bootstrap") == 0 && duration != 0 &&
      !(duration > start)) {
    return rule(sc, err, blame(sc, "experiment.duration_s", "traffic.start_s"),
                "%g s ends before the traffic starts (%g s)", duration, start);
  }
  return 0;
}

int m6ike_scenario_check(const m6ike_scenario *sc, m6ike_scenario_err *err) {
  if (!sc) return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0, "no scenario");
  int rc = rules(sc, err);
  if (rc || sc->nsweep == 0) return rc;
  /* Each sweep value alone, in place of the key's value, must pass too
   * (combinations of several dimensions are the sweep's to check). */
  m6ike_scenario *copy = sc->mem->malloc(sizeof(*copy), sc->mem->user_data);
  if (!copy) return fail(err, M6IKE_ERR_NOMEM, 0, "scenario: out of memory");
  for (size_t d = 0; rc == 0 && d < sc->nsweep; d++) {
    const sweep_dim *dim = &sc->sweep[d];
    for (size_t j = 0; rc == 0 && j < dim->n; j++) {
      const char *value = dim->text + dim->off[j];
      char why[300];
      *copy = *sc;
      copy->nsweep = 0;
      if (parse_value(dim->key, value, &copy->v[dim->key], why,
                      sizeof(why)) != 0) {
        abort(); /* parse_sweep checked it */
      }
      copy->v[dim->key].set = 1;
      copy->v[dim->key].line = dim->line;
      rc = rules(copy, err);
      if (rc && err) {
        char tail[256]; /* 8 + 63 + 7 + 150 + 1 octets at most */
        snprintf(tail, sizeof(tail), " (sweep.%s value %s)", dim->name, value);
        size_t n = strlen(err->msg), t = strlen(tail);
        if (t > sizeof(err->msg) - 1 - n) t = sizeof(err->msg) - 1 - n;
        memcpy(err->msg + n, tail, t);
        err->msg[n + t] = '\0';
      }
    }
  }
  sc->mem->free(copy, sc->mem->user_data);
  return rc;
}

int m6ike_scenario_open(m6ike_scenario **out, const char *path,
                        const char *const *sets, size_t nsets,
                        const m6ike_mem *mem, m6ike_scenario_err *err) {
  if (!out || (nsets && !sets)) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0, "scenario: bad arguments");
  }
  *out = NULL;
  m6ike_scenario *sc;
  int rc = m6ike_scenario_new(&sc, mem);
  if (rc) return fail(err, rc, 0, "scenario: out of memory");
  if (path) rc = m6ike_scenario_load_file(sc, path, err);
  for (size_t i = 0; rc == 0 && i < nsets; i++) {
    rc = m6ike_scenario_set(sc, sets[i], err);
  }
  if (rc == 0) rc = m6ike_scenario_check(sc, err);
  if (rc) {
    m6ike_scenario_del(sc);
    return rc;
  }
  *out = sc;
  return 0;
}

/* ---------------------------------------------------------------- args */

typedef struct argv_ctx {
  const m6ike_scenario *sc;
  m6ike_scenario_arg_cb cb;
  void *ud;
  int rc;
  unsigned char used[NKEYS];
} argv_ctx;

static void emit(argv_ctx *a, const char *fmt, ...) {
  if (a->rc) return;
  char buf[2 * M6IKE_SCENARIO_VALUE_MAX + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (a->cb(buf, a->ud) != 0) a->rc = M6IKE_ERR_CALLBACK_FAILURE;
}

/* Marks key used and returns its resolved text. */
static const char *use(argv_ctx *a, const char *key, val *tmp) {
  int k = find_key(key);
  a->used[k] = 1;
  return resolve(a->sc, (size_t)k, tmp)->s;
}

static void opt(argv_ctx *a, const char *option, const char *key) {
  val tmp;
  const char *s = use(a, key, &tmp);
  emit(a, "--%s=%s", option, s);
}

static void attr(argv_ctx *a, const char *name, const char *key,
                 const char *unit) {
  val tmp;
  const char *s = use(a, key, &tmp);
  emit(a, "--ns3::Mip6IkeAgent::%s=%s%s", name, s, unit);
}

static void setkv(argv_ctx *a, const char *name, const char *fmt, ...) {
  char buf[M6IKE_SCENARIO_VALUE_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  emit(a, "--set");
  emit(a, "%s=%s", name, buf);
}

/* Every key the host took no option for must be at its default. */
static int unused_at_default(argv_ctx *a, const char *host,
                             m6ike_scenario_err *err) {
  for (size_t i = 0; i < NKEYS; i++) {
    if (a->used[i]) continue;
    val tmp;
    const char *s = resolve(a->sc, i, &tmp)->s;
    if (strcmp(s, KEYS[i].dflt) != 0) {
      char name[64];
      full_name(i, name, sizeof(name));
      return fail(err, M6IKE_SCENARIO_ERR_HOST, 0,
                  "%s: %s: %s has no option for it; only its default (%s) "
                  "is possible there, not %s",
                  a->sc->source[0] ? a->sc->source : "scenario", name, host,
                  KEYS[i].dflt[0] ? KEYS[i].dflt : "empty", s);
    }
  }
  return 0;
}

static void mark(argv_ctx *a, const char *key) { a->used[find_key(key)] = 1; }

static int args_ns3(argv_ctx *a, m6ike_scenario_err *err) {
  const m6ike_scenario *sc = a->sc;
  val tmp;
  const char *example = use(a, "experiment.example", &tmp);
  char host[M6IKE_SCENARIO_VALUE_MAX + 32];
  snprintf(host, sizeof(host), "the ns-3 %s example", example);
  /* Metadata and keys check() already tied to the example. */
  mark(a, "experiment.name");
  mark(a, "experiment.description");
  mark(a, "experiment.seeds");
  mark(a, "topology.shape");
  mark(a, "topology.networks");
  mark(a, "topology.access_routers");
  emit(a, "%s", example);
  int handover = strcmp(example, "handover") == 0;
  int bootstrap = strcmp(example, "bootstrap") == 0;
  int scale = strcmp(example, "scale") == 0;
  if (handover || bootstrap) {
    opt(a, "scheme", "experiment.scheme");
    opt(a, "rate", "traffic.rate_kbps");
    const char *dir = use(a, "output.dir", &tmp);
    if (dir[0]) emit(a, "--out=%s", dir);
    opt(a, "l2", "topology.l2");
    opt(a, "delay", "topology.backbone_delay_ms");
    opt(a, "loss", "topology.access_loss");
    if (V(sc, "experiment.duration_s")->d != 0) {
      opt(a, "duration", "experiment.duration_s");
    } else {
      mark(a, "experiment.duration_s");
    }
    opt(a, "trafficStart", "traffic.start_s");
    opt(a, "dad", "mn.dad");
    opt(a, "pcap", "output.pcap");
  }
  if (handover) {
    opt(a, "handoverAt", "mn.handover_at_s");
    opt(a, "handovers", "mn.handovers");
    opt(a, "handoverSpacing", "mn.handover_spacing_s");
    opt(a, "l2Gap", "topology.l2_gap_s");
    opt(a, "packetSize", "traffic.packet_size");
    opt(a, "raMin", "ra.min_interval_ms");
    opt(a, "raMax", "ra.max_interval_ms");
    opt(a, "verbose", "output.verbose");
  }
  if (scale) {
    opt(a, "mns", "mn.count");
    opt(a, "handovers", "mn.handovers");
    opt(a, "perNetwork", "mn.per_network");
    opt(a, "startSpread", "mn.start_spread_s");
    opt(a, "firstHandover", "mn.handover_at_s");
    opt(a, "spacing", "mn.handover_spacing_s");
    opt(a, "l2Gap", "topology.l2_gap_s");
    opt(a, "raMin", "ra.min_interval_ms");
    opt(a, "raMax", "ra.max_interval_ms");
    opt(a, "verbose", "output.verbose");
    /* The scale example leaves the DAD mode at the attribute default. */
    attr(a, "DadMode", "mn.dad", "");
  }
  opt(a, "nullCipher", "crypto.null_cipher");
  const char *profile = use(a, "processing.profile", &tmp);
  emit(a, "--processing=%s",
       strcmp(profile, "measured") == 0 ? "measured" : "fixed");
  emit(a, "--RngRun=%s", use(a, "experiment.rng_run", &tmp));
  attr(a, "IkeProposal", "crypto.ike_proposal", "");
  attr(a, "EspProposal", "crypto.esp_proposal", "");
  attr(a, "RetransTimer", "mn.dad_retrans_ms", "ms");
  attr(a, "CpuSpeedFactor", "processing.cpu_speed_factor", "");
  attr(a, "DhCost", "processing.dh_cost_us", "us");
  if (use(a, "processing.dh_cost_per_group", &tmp)[0]) {
    attr(a, "DhCostPerGroup", "processing.dh_cost_per_group", "");
  }
  attr(a, "SignCost", "processing.sign_cost_us", "us");
  attr(a, "VerifyCost", "processing.verify_cost_us", "us");
  attr(a, "CipherCostPerByte", "processing.cipher_ns_per_byte", "ns");
  attr(a, "MacCostPerByte", "processing.mac_ns_per_byte", "ns");
  attr(a, "MessageCost", "processing.message_cost_us", "us");
  if (a->rc) return a->rc;
  return unused_at_default(a, host, err);
}

/* A key the emulation does not model but that is harmless to leave out
 * (the emulation measures what the simulation models): at its default
 * nothing is said; otherwise the runner prints
 * "not applied in emu: KEY=VALUE (why)" (its --note option). */
static void note_unless_default(argv_ctx *a, const char *key,
                                const char *why) {
  int k = find_key(key);
  val tmp;
  const char *s = resolve(a->sc, (size_t)k, &tmp)->s;
  a->used[k] = 1;
  if (strcmp(s, KEYS[k].dflt) != 0) {
    emit(a, "--note");
    emit(a, "not applied in emu: %s=%s (%s)", key, s, why);
  }
}

static int args_emu(argv_ctx *a, m6ike_scenario_err *err) {
  const m6ike_scenario *sc = a->sc;
  const char *host = "the emulation runner (emu/run/emu-run.sh)";
  val tmp;
  const char *example = use(a, "experiment.example", &tmp);
  if (strcmp(example, "handover") != 0) {
    return rule(sc, err, "experiment.example",
                "%s runs the handover experiment only, not %s", host,
                example);
  }
  /* Checked before anything is emitted: what the testbed cannot be. */
  if (V(sc, "mn.count")->i != 1) {
    return rule(sc, err, "mn.count", "%s runs one mobile node, not %lld",
                host, (long long)V(sc, "mn.count")->i);
  }
  if (V(sc, "mn.handovers")->i != 1) {
    return rule(sc, err, "mn.handovers",
                "%s moves the mobile node once, not %lld times", host,
                (long long)V(sc, "mn.handovers")->i);
  }
  if (strcmp(V(sc, "topology.l2")->s, "csma") != 0) {
    return rule(sc, err, "topology.l2",
                "%s switches wired (veth) access links: csma only, not %s",
                host, V(sc, "topology.l2")->s);
  }
  if (strcmp(V(sc, "mn.dad")->s, "optimistic") == 0) {
    return rule(sc, err, "mn.dad",
                "%s has no optimistic DAD (dad_transmits 0 or 1)", host);
  }
  if (V(sc, "crypto.null_cipher")->i) {
    return rule(sc, err, "crypto.null_cipher",
                "%s runs the OpenSSL backend only (for a cheap cipher use "
                "crypto.esp_proposal = null-sha256)", host);
  }
  mark(a, "experiment.name");
  mark(a, "experiment.description");
  mark(a, "experiment.seeds");
  mark(a, "topology.shape");
  mark(a, "topology.networks");
  mark(a, "topology.access_routers");
  mark(a, "topology.l2");
  mark(a, "mn.count");
  mark(a, "mn.handovers");
  mark(a, "crypto.null_cipher");
  emit(a, "handover");
  setkv(a, "scheme", "%s", use(a, "experiment.scheme", &tmp));
  setkv(a, "rate_kbps", "%s", use(a, "traffic.rate_kbps", &tmp));
  setkv(a, "packet_size", "%s", use(a, "traffic.packet_size", &tmp));
  /* Wired links (CN, home, core, AR uplinks): the backbone keys. */
  setkv(a, "delay_ms", "%s", use(a, "topology.backbone_delay_ms", &tmp));
  setkv(a, "rate_mbit", "%s", use(a, "topology.backbone_rate_mbps", &tmp));
  char num[64];
  fmt_double(V(sc, "topology.backbone_loss")->d * 100, num, sizeof(num));
  mark(a, "topology.backbone_loss");
  setkv(a, "loss", "%s", num);
  /* The MN's access links (ARs' and MN's ends). */
  setkv(a, "access_delay_ms", "%s", use(a, "topology.access_delay_ms", &tmp));
  setkv(a, "access_rate_mbit", "%s",
        use(a, "topology.access_rate_mbps", &tmp));
  fmt_double(V(sc, "topology.access_loss")->d * 100, num, sizeof(num));
  mark(a, "topology.access_loss");
  setkv(a, "access_loss", "%s", num);
  double start = V(sc, "traffic.start_s")->d;
  double at = V(sc, "mn.handover_at_s")->d;
  double duration = V(sc, "experiment.duration_s")->d;
  mark(a, "traffic.start_s");
  mark(a, "mn.handover_at_s");
  mark(a, "experiment.duration_s");
  /* The runner's times count from the start of the flow. */
  fmt_double(at - start, num, sizeof(num));
  setkv(a, "handover_at", "%s", num);
  if (duration == 0) duration = at + V(sc, "mn.handover_spacing_s")->d;
  mark(a, "mn.handover_spacing_s");
  fmt_double(duration - start, num, sizeof(num));
  setkv(a, "duration", "%s", num);
  setkv(a, "seed", "%s", use(a, "experiment.rng_run", &tmp));
  fmt_double(V(sc, "ra.min_interval_ms")->d / 1000, num, sizeof(num));
  mark(a, "ra.min_interval_ms");
  setkv(a, "ra_min", "%s", num);
  fmt_double(V(sc, "ra.max_interval_ms")->d / 1000, num, sizeof(num));
  mark(a, "ra.max_interval_ms");
  setkv(a, "ra_max", "%s", num);
  setkv(a, "l2_gap", "%s", use(a, "topology.l2_gap_s", &tmp));
  const char *dad = V(sc, "mn.dad")->s;
  mark(a, "mn.dad");
  setkv(a, "dad_transmits", "%s", strcmp(dad, "on") == 0 ? "1" : "0");
  setkv(a, "dad_retrans_ms", "%s", use(a, "mn.dad_retrans_ms", &tmp));
  setkv(a, "ike_proposal", "%s", use(a, "crypto.ike_proposal", &tmp));
  setkv(a, "esp_proposal", "%s", use(a, "crypto.esp_proposal", &tmp));
  /* IKE identities as the ns-3 agent's defaults: each node's address. */
  setkv(a, "ike_id", "address");
  /* Real hosts take real time: the emulation measures the processing
   * costs the simulation models. */
  for (size_t i = 0; i < NKEYS; i++) {
    if (strcmp(KEYS[i].section, "processing") == 0) {
      char name[64];
      full_name(i, name, sizeof(name));
      note_unless_default(a, name, "the emulation measures real costs");
    }
  }
  note_unless_default(a, "output.pcap", "the runner always captures");
  note_unless_default(a, "output.verbose", "the runner logs to run.log");
  const char *dir = use(a, "output.dir", &tmp);
  if (dir[0]) {
    emit(a, "--out");
    emit(a, "%s", dir);
  }
  if (duration - start <= at - start) {
    return rule(sc, err, "experiment.duration_s",
                "%s needs the flow to last beyond the handover", host);
  }
  if (a->rc) return a->rc;
  return unused_at_default(a, host, err);
}

int m6ike_scenario_args(const m6ike_scenario *sc, m6ike_scenario_host host,
                        m6ike_scenario_arg_cb cb, void *user_data,
                        m6ike_scenario_err *err) {
  if (!sc || !cb ||
      (host != M6IKE_SCENARIO_HOST_NS3 && host != M6IKE_SCENARIO_HOST_EMU)) {
    return fail(err, M6IKE_ERR_INVALID_ARGUMENT, 0,
                "scenario: bad arguments to args");
  }
  argv_ctx a;
  memset(&a, 0, sizeof(a));
  a.sc = sc;
  a.cb = cb;
  a.ud = user_data;
  int rc = host == M6IKE_SCENARIO_HOST_NS3 ? args_ns3(&a, err)
                                           : args_emu(&a, err);
  if (rc == M6IKE_ERR_CALLBACK_FAILURE) {
    fail(err, rc, 0, "scenario: the argument callback failed");
  }
  return rc;
}
