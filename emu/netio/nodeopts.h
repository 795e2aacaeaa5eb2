/*
 * nodeopts: the command-line options every node daemon shares
 * (mip6ike-noded, mip6ike-mipd, mip6ike-iked --pfkey): which node it is
 * (--role, --scheme, --ha, --hoa, --home-prefix, --mn), its key (--psk,
 * --psk-file), its files (--events, --keylog-*), its IKE settings
 * (--ike-proposal, --esp-proposal, --local-id, --remote-id), --max-mns,
 * --tun and --home-if.  Each daemon keeps its own options, its own loop
 * over argv and its usage text, and hands every "--name value" pair to
 * m6e_nodeopts_take first.
 *
 * A daemon's options struct may hold the shared fields under their own
 * names (o->role, o->ha, ...) with
 *   union { m6e_nodeopts common; struct { M6E_NODEOPTS_FIELDS }; };
 * and pass &o->common to the functions below.
 */
#ifndef MIP6IKE_EMU_NODEOPTS_H
#define MIP6IKE_EMU_NODEOPTS_H

#include <stdio.h>

#include "m6ike/agent.h"
#include "m6ike/common.h"

/* Which of the optional groups a daemon accepts (the others are its
 * "unknown option"); --role --scheme --ha --hoa --home-prefix --mn --psk
 * --events are always taken. */
enum {
  M6E_NODEOPT_TUN = 1,      /* --tun NAME, --home-if DEV */
  M6E_NODEOPT_MAX_MNS = 2,  /* --max-mns N (1..100000, default 64) */
  M6E_NODEOPT_IKE = 4,      /* --ike-proposal --esp-proposal --local-id
                             * --remote-id --keylog-ike --keylog-esp */
  M6E_NODEOPT_PSK_FILE = 8  /* --psk-file FILE (first line) */
};

#define M6E_NODEOPTS_MNS 16

#define M6E_NODEOPTS_FIELDS                                                  \
  unsigned accept; /* M6E_NODEOPT_* */                                     \
  m6ike_agent_role role;                                                     \
  m6ike_scheme scheme;                 /* default msrd */                    \
  m6ike_addr6 ha, hoa, prefix;         /* prefix/plen: --home-prefix */      \
  unsigned plen, max_mns;                                                    \
  char psk[129];                       /* "" if not given */                 \
  m6ike_addr6 mns[M6E_NODEOPTS_MNS];   /* HA: --mn HOA (provisioned) */      \
  unsigned nmns;                                                             \
  const char *tun, *home_if, *events, *keylog_ike, *keylog_esp;             \
  const char *ike_proposal, *esp_proposal;                                   \
  const char *local_id, *remote_id; /* NULL: the daemon's defaults */

typedef struct m6e_nodeopts {
  M6E_NODEOPTS_FIELDS
} m6e_nodeopts;

/* Zeroes o, sets the defaults (scheme msrd, max_mns 64) and accept. */
void m6e_nodeopts_init(m6e_nodeopts *o, unsigned accept);

/* The next "--name value" pair of argv after index *i (start with 0), for
 * a daemon whose options all take a value: 1 with *k and *v set and *i
 * advanced past them, 0 at the end.  -h or --help: usage(stdout) and exit
 * 0; an argument that is not an option ("unexpected argument") or an
 * option without its value ("needs a value"): "PROG: ARG: why", exit 2. */
int m6e_nodeopts_next(int argc, char **argv, int *i, const char *prog,
                      void (*usage)(FILE *), const char **k, const char **v);

/* Option k with value v: 1 if taken, 0 if it is not a shared option (or
 * one of a group this daemon does not accept).  A bad value prints
 * "PROG: K: WHY (got 'V')" to stderr and exits 2. */
int m6e_nodeopts_take(m6e_nodeopts *o, const char *prog, const char *k,
                      const char *v);

/* After the loop, before the daemon's own checks: --role, --ha and
 * --home-prefix given, --hoa for an MN, --home-if for an HA (when
 * M6E_NODEOPT_TUN); else "PROG: OPT: missing" and exit 2. */
void m6e_nodeopts_check(const m6e_nodeopts *o, const char *prog);

/* The agent configuration the options describe, for noded, mipd and iked
 * alike: m6ike_agent_config_default for the role, then scheme, HA, HoA,
 * home prefix, the PSK (if given), the IKE identities (HA fqdn:ha.example,
 * MN email:mn@example, unless --local-id/--remote-id; "address" = the
 * node's IP address, the ns-3 agent's default), the proposals and, for an
 * HA accepting M6E_NODEOPT_MAX_MNS, max_mns.  The strings stay o's. */
void m6e_nodeopts_agent_config(const m6e_nodeopts *o, m6ike_agent_config *cfg);

/* "PROG: OPT: WHY" (+ " (got 'VAL')" when val is not NULL) to stderr,
 * exit 2. */
void m6e_die_arg(const char *prog, const char *opt, const char *val,
                 const char *why) __attribute__((noreturn));

#endif
