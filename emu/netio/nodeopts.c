/* nodeopts: the node daemons' shared command-line options (nodeopts.h). */
#define _GNU_SOURCE
#include "nodeopts.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void m6e_die_arg(const char *prog, const char *opt, const char *val,
                 const char *why) {
  if (val) {
    fprintf(stderr, "%s: %s: %s (got '%s')\n", prog, opt, why, val);
  } else {
    fprintf(stderr, "%s: %s: %s\n", prog, opt, why);
  }
  exit(2);
}

void m6e_nodeopts_init(m6e_nodeopts *o, unsigned accept) {
  memset(o, 0, sizeof(*o));
  o->accept = accept;
  o->scheme = M6IKE_SCHEME_MSRD;
  o->max_mns = 64;
}

int m6e_nodeopts_next(int argc, char **argv, int *i, const char *prog,
                      void (*usage)(FILE *), const char **k, const char **v) {
  if (*i + 1 >= argc) {
    return 0;
  }
  *k = argv[*i + 1];
  if (!strcmp(*k, "-h") || !strcmp(*k, "--help")) {
    usage(stdout);
    exit(0);
  }
  if (strncmp(*k, "--", 2) != 0) {
    m6e_die_arg(prog, *k, NULL, "unexpected argument");
  }
  if (*i + 2 >= argc) {
    m6e_die_arg(prog, *k, NULL, "needs a value");
  }
  *v = argv[*i + 2];
  *i += 2;
  return 1;
}

/* "PREFIX/LEN", LEN 1..128. */
static void take_prefix(m6e_nodeopts *o, const char *prog, const char *k,
                        const char *v) {
  char buf[64], *end;
  const char *sl = strchr(v, '/');
  unsigned long l;
  if (!sl || (size_t)(sl - v) >= sizeof(buf)) {
    m6e_die_arg(prog, k, v, "must be PREFIX/LEN");
  }
  memcpy(buf, v, (size_t)(sl - v));
  buf[sl - v] = 0;
  l = strtoul(sl + 1, &end, 10);
  if (m6ike_addr6_parse(&o->prefix, buf) != 0 || *end || l < 1 || l > 128) {
    m6e_die_arg(prog, k, v, "must be PREFIX/LEN (LEN 1..128)");
  }
  o->plen = (unsigned)l;
}

/* The first line of file v (without its line end). */
static void take_psk_file(m6e_nodeopts *o, const char *prog, const char *k,
                          const char *v) {
  FILE *f = fopen(v, "r");
  size_t n;
  if (!f) {
    m6e_die_arg(prog, k, v, strerror(errno));
  }
  n = fread(o->psk, 1, sizeof(o->psk) - 1, f);
  fclose(f);
  while (n && (o->psk[n - 1] == '\n' || o->psk[n - 1] == '\r')) {
    n--;
  }
  o->psk[n] = 0;
}

int m6e_nodeopts_take(m6e_nodeopts *o, const char *prog, const char *k,
                      const char *v) {
  const unsigned acc = o->accept;
  if (!strcmp(k, "--role")) {
    if (!strcmp(v, "mn")) {
      o->role = M6IKE_AGENT_MN;
    } else if (!strcmp(v, "ha")) {
      o->role = M6IKE_AGENT_HA;
    } else {
      m6e_die_arg(prog, k, v, "must be mn or ha");
    }
  } else if (!strcmp(k, "--scheme")) {
    if (m6ike_scheme_parse(v, &o->scheme) != 0) {
      m6e_die_arg(prog, k, v, "unknown scheme");
    }
  } else if (!strcmp(k, "--ha") || !strcmp(k, "--hoa")) {
    if (m6ike_addr6_parse(!strcmp(k, "--ha") ? &o->ha : &o->hoa, v) != 0) {
      m6e_die_arg(prog, k, v, "not an IPv6 address");
    }
  } else if (!strcmp(k, "--mn")) {
    if (o->nmns == M6E_NODEOPTS_MNS ||
        m6ike_addr6_parse(&o->mns[o->nmns], v) != 0) {
      m6e_die_arg(prog, k, v, "not an IPv6 address (at most 16)");
    }
    o->nmns++;
  } else if (!strcmp(k, "--home-prefix")) {
    take_prefix(o, prog, k, v);
  } else if (!strcmp(k, "--psk")) {
    if (strlen(v) >= sizeof(o->psk)) {
      m6e_die_arg(prog, k, NULL, "longer than 128");
    }
    snprintf(o->psk, sizeof(o->psk), "%s", v);
  } else if (!strcmp(k, "--events")) {
    o->events = v;
  } else if ((acc & M6E_NODEOPT_PSK_FILE) && !strcmp(k, "--psk-file")) {
    take_psk_file(o, prog, k, v);
  } else if ((acc & M6E_NODEOPT_TUN) && !strcmp(k, "--tun")) {
    if (strlen(v) >= IFNAMSIZ) {
      m6e_die_arg(prog, k, v, "interface name too long");
    }
    o->tun = v;
  } else if ((acc & M6E_NODEOPT_TUN) && !strcmp(k, "--home-if")) {
    o->home_if = v;
  } else if ((acc & M6E_NODEOPT_MAX_MNS) && !strcmp(k, "--max-mns")) {
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (*end || x < 1 || x > 100000) {
      m6e_die_arg(prog, k, v, "must be 1..100000");
    }
    o->max_mns = (unsigned)x;
  } else if ((acc & M6E_NODEOPT_IKE) && !strcmp(k, "--ike-proposal")) {
    o->ike_proposal = v;
  } else if ((acc & M6E_NODEOPT_IKE) && !strcmp(k, "--esp-proposal")) {
    o->esp_proposal = v;
  } else if ((acc & M6E_NODEOPT_IKE) && !strcmp(k, "--local-id")) {
    o->local_id = v;
  } else if ((acc & M6E_NODEOPT_IKE) && !strcmp(k, "--remote-id")) {
    o->remote_id = v;
  } else if ((acc & M6E_NODEOPT_IKE) && !strcmp(k, "--keylog-ike")) {
    o->keylog_ike = v;
  } else if ((acc & M6E_NODEOPT_IKE) && !strcmp(k, "--keylog-esp")) {
    o->keylog_esp = v;
  } else {
    return 0;
  }
  return 1;
}

void m6e_nodeopts_check(const m6e_nodeopts *o, const char *prog) {
  if (!o->role) {
    m6e_die_arg(prog, "--role", NULL, "missing");
  }
  if (m6ike_addr6_is_unspecified(&o->ha)) {
    m6e_die_arg(prog, "--ha", NULL, "missing");
  }
  if (!o->plen) {
    m6e_die_arg(prog, "--home-prefix", NULL, "missing");
  }
  if (o->role == M6IKE_AGENT_MN && m6ike_addr6_is_unspecified(&o->hoa)) {
    m6e_die_arg(prog, "--hoa", NULL, "missing (mn)");
  }
  if ((o->accept & M6E_NODEOPT_TUN) && o->role == M6IKE_AGENT_HA &&
      !o->home_if) {
    m6e_die_arg(prog, "--home-if", NULL, "missing (ha)");
  }
}

static const char *ike_id(const char *opt, const char *dflt) {
  if (opt == NULL) {
    return dflt;
  }
  return strcmp(opt, "address") ? opt : NULL;
}

void m6e_nodeopts_agent_config(const m6e_nodeopts *o, m6ike_agent_config *cfg) {
  int ha = o->role == M6IKE_AGENT_HA;
  m6ike_agent_config_default(cfg, o->role);
  cfg->scheme = o->scheme;
  cfg->ha = o->ha;
  cfg->hoa = o->hoa;
  cfg->home_prefix = o->prefix;
  cfg->home_plen = (uint8_t)o->plen;
  if (o->psk[0]) {
    cfg->psk = (const uint8_t *)o->psk;
    cfg->psk_len = strlen(o->psk);
  }
  cfg->local_id = ike_id(o->local_id, ha ? "fqdn:ha.example" : "email:mn@example");
  cfg->remote_id = ike_id(o->remote_id, ha ? NULL : "fqdn:ha.example");
  if (o->ike_proposal) {
    cfg->ike_proposal = o->ike_proposal;
  }
  if (o->esp_proposal) {
    cfg->esp_proposal = o->esp_proposal;
  }
  if (ha && (o->accept & M6E_NODEOPT_MAX_MNS)) {
    cfg->max_mns = o->max_mns;
  }
}
