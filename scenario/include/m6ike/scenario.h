/*
 * scenario: experiment descriptions (scenarios/NAME.ini) for both hosts, the
 * ns-3 examples and the Linux emulation runner.  The format, every key and
 * its range are documented in doc/SCENARIOS.md; the key table in
 * scenario.c is the single source of truth for both.
 *
 *   [experiment]  name example scheme seeds rng_run duration_s
 *   [topology]    shape networks access_routers l2 l2_gap_s
 *                 backbone_{rate_mbps,delay_ms,loss} access_{...}
 *   [ra]          min_interval_ms max_interval_ms
 *   [mn]          count per_network start_spread_s dad dad_retrans_ms
 *                 handover_at_s handovers handover_spacing_s
 *   [crypto]      ike_proposal esp_proposal null_cipher
 *   [processing]  profile cpu_speed_factor dh_cost_us dh_cost_per_group
 *                 sign_cost_us verify_cost_us cipher_ns_per_byte
 *                 mac_ns_per_byte message_cost_us
 *   [traffic]     rate_kbps packet_size start_s
 *   [output]      dir pcap verbose
 *   [sweep]       section.key = v1, v2, ...   (the sweep's dimensions)
 *
 * Life of a scenario:
 *
 *   m6ike_scenario *sc;
 *   m6ike_scenario_err err;
 *   m6ike_scenario_new(&sc, NULL);             every key at its default
 *   m6ike_scenario_load_file(sc, path, &err);  keys of the file
 *   m6ike_scenario_set(sc, "traffic.rate_kbps=40", &err);  --set overrides
 *   m6ike_scenario_check(sc, &err);            rules across keys
 *   m6ike_scenario_get_double(sc, "traffic.rate_kbps", &rate);
 *   m6ike_scenario_del(sc);
 *
 * m6ike_scenario_open() does the first four steps in one call.
 *
 * Every rejected input leaves a message in err->msg of the form
 *   "FILE:LINE: section.key: why"      (a file or string being loaded)
 *   "--set section.key: why"           (an override)
 *   "FILE: section.key: why"           (a rule across keys, on a key that
 *                                       came from FILE without a line)
 * Values are checked when they are read (type, range, enumeration), the
 * rules between keys by m6ike_scenario_check().
 *
 * Not a core unit: this library reads files (load_file) and links
 * Debian's libinih; it keeps no global state and allocates through an
 * m6ike_mem.  Error codes: -1000..-1049.
 */
#ifndef M6IKE_SCENARIO_H
#define M6IKE_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  M6IKE_SCENARIO_ERR_SYNTAX = -1001,   /* not "key = value" / "[section]" */
  M6IKE_SCENARIO_ERR_SECTION = -1002,  /* unknown section, key outside one */
  M6IKE_SCENARIO_ERR_KEY = -1003,      /* unknown key */
  M6IKE_SCENARIO_ERR_VALUE = -1004,    /* bad value: type, range, choice */
  M6IKE_SCENARIO_ERR_DUP = -1005,      /* key given twice in one source */
  M6IKE_SCENARIO_ERR_RULE = -1006,     /* keys inconsistent with each other */
  M6IKE_SCENARIO_ERR_IO = -1007,       /* the file cannot be read */
  M6IKE_SCENARIO_ERR_TOO_LONG = -1008, /* line, value or file too long */
  M6IKE_SCENARIO_ERR_TYPE = -1009,     /* getter of the wrong type */
  M6IKE_SCENARIO_ERR_HOST = -1010      /* args: the host cannot express it */
};

/* Limits.  A line longer than libinih's INI_MAX_LINE (200 octets with
 * the newline) is rejected, not split; values are kept short enough that
 * every line m6ike_scenario_format() writes fits (a sweep dimension whose
 * written line would not is rejected). */
#define M6IKE_SCENARIO_VALUE_MAX 150   /* octets of one value */
#define M6IKE_SCENARIO_FILE_MAX (1u << 20)
#define M6IKE_SCENARIO_SWEEP_MAX 8     /* dimensions */
#define M6IKE_SCENARIO_SWEEP_VALUES 64 /* values per dimension */

typedef struct m6ike_scenario m6ike_scenario;

/* Where an error was found and why. */
typedef struct m6ike_scenario_err {
  int code;      /* the negative code also returned */
  int line;      /* 1-based line in the source, 0 = none (--set, rules) */
  char msg[512]; /* "FILE:LINE: section.key: why" (see above) */
} m6ike_scenario_err;

typedef enum m6ike_scenario_type {
  M6IKE_SCENARIO_INT = 1,
  M6IKE_SCENARIO_DOUBLE,
  M6IKE_SCENARIO_BOOL,
  M6IKE_SCENARIO_STRING /* also enumerations, proposals, paths */
} m6ike_scenario_type;

/* One key of the schema (m6ike_scenario_key_at). */
typedef struct m6ike_scenario_key_info {
  const char *name;    /* "section.key" */
  m6ike_scenario_type type;
  const char *dflt;    /* default, as text */
  const char *choices; /* enumerations: "a|b|c"; else NULL */
  const char *help;    /* one line, with the unit */
} m6ike_scenario_key_info;

/* Host whose command line m6ike_scenario_args() writes. */
typedef enum m6ike_scenario_host {
  M6IKE_SCENARIO_HOST_NS3 = 1, /* examples/mip6ike-<example>.cc options */
  M6IKE_SCENARIO_HOST_EMU = 2  /* emu/run/emu-run.sh --set key=value */
} m6ike_scenario_host;

/* Receives one argument; non-zero stops (M6IKE_ERR_CALLBACK_FAILURE). */
typedef int (*m6ike_scenario_arg_cb)(const char *arg, void *user_data);

/* Every key at its default.  Returns 0, M6IKE_ERR_INVALID_ARGUMENT or
 * M6IKE_ERR_NOMEM. */
int m6ike_scenario_new(m6ike_scenario **out, const m6ike_mem *mem);
void m6ike_scenario_del(m6ike_scenario *sc);

/*
 * Reads the INI text of path (at most M6IKE_SCENARIO_FILE_MAX octets) and
 * sets its keys; a key of the file replaces an earlier value (default, an
 * earlier file).  Returns 0 or: M6IKE_SCENARIO_ERR_IO, _SYNTAX, _SECTION,
 * _KEY, _VALUE, _DUP, _TOO_LONG, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_NOMEM.  On error the scenario may hold some of the file's
 * keys: discard it.  err may be NULL.
 */
int m6ike_scenario_load_file(m6ike_scenario *sc, const char *path,
                             m6ike_scenario_err *err);

/* As load_file for text (len octets, need not be NUL-terminated; a NUL
 * octet is a syntax error); name stands for the file in messages. */
int m6ike_scenario_load_string(m6ike_scenario *sc, const char *name,
                               const char *text, size_t len,
                               m6ike_scenario_err *err);

/* An override "section.key=value" (a --set argument; [sweep] keys are
 * "sweep.section.key=v1,v2").  Returns 0 or M6IKE_SCENARIO_ERR_SYNTAX (no
 * '=' or no '.'), _SECTION, _KEY, _VALUE, _TOO_LONG,
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_scenario_set(m6ike_scenario *sc, const char *assignment,
                       m6ike_scenario_err *err);

/* The rules between keys (doc/SCENARIOS.md, "Rules").  Returns 0 or
 * M6IKE_SCENARIO_ERR_RULE, M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_scenario_check(const m6ike_scenario *sc, m6ike_scenario_err *err);

/* new + load_file (path may be NULL: defaults only) + each of sets[0..n)
 * + check.  On error *out is NULL.  Codes: any of the above. */
int m6ike_scenario_open(m6ike_scenario **out, const char *path,
                        const char *const *sets, size_t nsets,
                        const m6ike_mem *mem, m6ike_scenario_err *err);

/*
 * Typed getters of a resolved value ("section.key"): the value set last,
 * else the processing profile's (for [processing] costs), else the
 * default.  Return 0, M6IKE_SCENARIO_ERR_KEY (unknown key),
 * M6IKE_SCENARIO_ERR_TYPE (the key is of another type) or
 * M6IKE_ERR_INVALID_ARGUMENT.  get_string's pointer lives as long as the
 * scenario is not changed.
 */
int m6ike_scenario_get_int(const m6ike_scenario *sc, const char *key,
                           int64_t *out);
int m6ike_scenario_get_double(const m6ike_scenario *sc, const char *key,
                              double *out); /* also reads INT keys */
int m6ike_scenario_get_bool(const m6ike_scenario *sc, const char *key,
                            int *out);
int m6ike_scenario_get_string(const m6ike_scenario *sc, const char *key,
                              const char **out);

/* Convenience: the value, or dflt when the key is unknown or of another
 * type (the schema gives every key a default, so a known key never needs
 * dflt). */
int64_t m6ike_scenario_int(const m6ike_scenario *sc, const char *key,
                           int64_t dflt);
double m6ike_scenario_double(const m6ike_scenario *sc, const char *key,
                             double dflt);
const char *m6ike_scenario_string(const m6ike_scenario *sc, const char *key,
                                  const char *dflt);

/* The canonical text of any key's value (what --dump writes).  Returns
 * the length, M6IKE_SCENARIO_ERR_KEY or M6IKE_ERR_NOBUF. */
int m6ike_scenario_get_text(const m6ike_scenario *sc, const char *key,
                            char *buf, size_t cap);

/* 1 if the key was set by a file or an override (*line = its line, 0 for
 * an override), 0 if at its default, M6IKE_SCENARIO_ERR_KEY. */
int m6ike_scenario_is_set(const m6ike_scenario *sc, const char *key,
                          int *line);

/* The schema: keys 0..count-1 in the documented order. */
size_t m6ike_scenario_key_count(void);
int m6ike_scenario_key_at(size_t i, m6ike_scenario_key_info *out);

/* Sweep dimensions ([sweep] section), in the order given. */
size_t m6ike_scenario_sweep_count(const m6ike_scenario *sc);
/* Dimension i: its key ("traffic.rate_kbps") and number of values.
 * Returns 0 or M6IKE_ERR_NOT_FOUND. */
int m6ike_scenario_sweep_dim(const m6ike_scenario *sc, size_t i,
                             const char **key, size_t *nvalues);
/* Value j of dimension i in canonical text, or NULL. */
const char *m6ike_scenario_sweep_value(const m6ike_scenario *sc, size_t i,
                                       size_t j);

/*
 * The whole resolved scenario as INI text (every key, sections in schema
 * order, then [sweep]); loading it gives the same scenario.  Returns the
 * length written without the NUL, or M6IKE_ERR_NOBUF (cap too small;
 * 16384 octets are always enough).
 */
int m6ike_scenario_format(const m6ike_scenario *sc, char *buf, size_t cap);

/*
 * The host's command line for this scenario, one argument per call of cb.
 * NS3: first the example name (experiment.example: handover, bootstrap,
 * scale: `./mip6ike sim NAME ARGS...`), then its options "--name=value"
 * and agent attributes "--ns3::Mip6IkeAgent::Attr=value".  EMU: "--set"
 * and "key=value" pairs for emu/run/emu-run.sh.  A key the host has no
 * option for must be at its default.  Returns 0 or
 * M6IKE_SCENARIO_ERR_HOST (err names the key and why),
 * M6IKE_ERR_CALLBACK_FAILURE, M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_scenario_args(const m6ike_scenario *sc, m6ike_scenario_host host,
                        m6ike_scenario_arg_cb cb, void *user_data,
                        m6ike_scenario_err *err);

/* Text of a code of this library's range, NULL for another. */
const char *m6ike_scenario_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_SCENARIO_H */
