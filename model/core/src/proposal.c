/* proposal: strongSwan proposal syntax <-> IKEv2 transform IDs. */
#include "m6ike/proposal.h"

#include <stdio.h>
#include <string.h>

#include "m6ike/crypto.h"

enum tok_kind { TK_ENCR, TK_INTEG, TK_PRF, TK_DH, TK_ESN };

typedef struct token {
  const char *name;
  enum tok_kind kind;
  uint16_t id;   /* transform ID, or ESN value */
  uint16_t bits; /* encryption key length */
  uint16_t prf;  /* for integrity tokens: the PRF charon pairs with it */
} token;

/* The first name of each algorithm is the one m6ike_proposal_format writes. */
static const token tokens[] = {
    {"aes128", TK_ENCR, M6IKE_ENCR_AES_CBC, 128, 0},
    {"aes192", TK_ENCR, M6IKE_ENCR_AES_CBC, 192, 0},
    {"aes256", TK_ENCR, M6IKE_ENCR_AES_CBC, 256, 0},
    {"aes128gcm16", TK_ENCR, M6IKE_ENCR_AES_GCM_16, 128, 0},
    {"aes192gcm16", TK_ENCR, M6IKE_ENCR_AES_GCM_16, 192, 0},
    {"aes256gcm16", TK_ENCR, M6IKE_ENCR_AES_GCM_16, 256, 0},
    {"aes128gcm", TK_ENCR, M6IKE_ENCR_AES_GCM_16, 128, 0},
    {"aes192gcm", TK_ENCR, M6IKE_ENCR_AES_GCM_16, 192, 0},
    {"aes256gcm", TK_ENCR, M6IKE_ENCR_AES_GCM_16, 256, 0},
    {"3des", TK_ENCR, M6IKE_ENCR_3DES, 0, 0},
    {"null", TK_ENCR, M6IKE_ENCR_NULL, 0, 0},
    {"sha1", TK_INTEG, M6IKE_INTEG_HMAC_SHA1_96, 0, M6IKE_PRF_HMAC_SHA1},
    {"sha256", TK_INTEG, M6IKE_INTEG_HMAC_SHA2_256_128, 0,
     M6IKE_PRF_HMAC_SHA2_256},
    {"sha384", TK_INTEG, M6IKE_INTEG_HMAC_SHA2_384_192, 0,
     M6IKE_PRF_HMAC_SHA2_384},
    {"sha512", TK_INTEG, M6IKE_INTEG_HMAC_SHA2_512_256, 0,
     M6IKE_PRF_HMAC_SHA2_512},
    {"prfsha1", TK_PRF, M6IKE_PRF_HMAC_SHA1, 0, 0},
    {"prfsha256", TK_PRF, M6IKE_PRF_HMAC_SHA2_256, 0, 0},
    {"prfsha384", TK_PRF, M6IKE_PRF_HMAC_SHA2_384, 0, 0},
    {"prfsha512", TK_PRF, M6IKE_PRF_HMAC_SHA2_512, 0, 0},
    {"modp2048", TK_DH, M6IKE_DH_MODP_2048, 0, 0},
    {"ecp256", TK_DH, M6IKE_DH_ECP_256, 0, 0},
    {"x25519", TK_DH, M6IKE_DH_CURVE25519, 0, 0},
    {"curve25519", TK_DH, M6IKE_DH_CURVE25519, 0, 0},
    {"esn", TK_ESN, 1, 0, 0},
    {"noesn", TK_ESN, 0, 0, 0},
};
#define N_TOKENS (sizeof(tokens) / sizeof(tokens[0]))

static int fail(char *errbuf, size_t cap, int code, const char *tok,
                size_t toklen, const char *why) {
  if (errbuf && cap) {
    snprintf(errbuf, cap, "'%.*s': %s", (int)toklen, tok, why);
  }
  return code;
}

static const token *find(const char *s, size_t len) {
  for (size_t i = 0; i < N_TOKENS; i++) {
    if (strlen(tokens[i].name) == len && memcmp(tokens[i].name, s, len) == 0) {
      return &tokens[i];
    }
  }
  return NULL;
}

/* One proposal: text[0..len), tokens separated by '-'. */
static int parse_one(m6ike_proposal *p, m6ike_proposal_kind kind,
                     const char *text, size_t len, char *errbuf,
                     size_t errcap) {
  uint16_t integ_prf = 0;
  int have_esn = 0;
  size_t i = 0;
  memset(p, 0, sizeof(*p));
  if (len == 0) {
    return fail(errbuf, errcap, M6IKE_ERR_INVALID_ARGUMENT, "", 0,
                "empty proposal");
  }
  while (i <= len) {
    size_t j = i;
    const token *t;
    while (j < len && text[j] != '-') {
      j++;
    }
    t = find(text + i, j - i);
    if (t == NULL) {
      return fail(errbuf, errcap,
                  j == i ? M6IKE_ERR_INVALID_ARGUMENT
                         : M6IKE_ERR_PROPOSAL_TOKEN,
                  text + i, j - i,
                  j == i ? "empty algorithm name" : "unknown algorithm");
    }
    switch (t->kind) {
    case TK_ENCR:
      if (p->encr) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_DUP, text + i, j - i,
                    "a second encryption algorithm");
      }
      p->encr = t->id;
      p->encr_bits = t->bits;
      break;
    case TK_INTEG:
      if (p->integ) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_DUP, text + i, j - i,
                    "a second integrity algorithm");
      }
      p->integ = t->id;
      integ_prf = t->prf;
      break;
    case TK_PRF:
      if (kind != M6IKE_PROPOSAL_IKE) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_CONFLICT, text + i,
                    j - i, "a PRF belongs in an IKE proposal, not ESP");
      }
      if (p->prf) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_DUP, text + i, j - i,
                    "a second PRF");
      }
      p->prf = t->id;
      break;
    case TK_DH:
      if (p->dh) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_DUP, text + i, j - i,
                    "a second DH group");
      }
      p->dh = t->id;
      break;
    case TK_ESN:
      if (kind != M6IKE_PROPOSAL_ESP) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_CONFLICT, text + i,
                    j - i, "ESN belongs in an ESP proposal, not IKE");
      }
      if (have_esn) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_DUP, text + i, j - i,
                    "ESN given twice");
      }
      have_esn = 1;
      p->esn = (uint8_t)t->id;
      break;
    }
    i = j + 1;
  }
  if (p->encr == 0) {
    return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_MISSING, text, len,
                "no encryption algorithm");
  }
  if (m6ike_crypto_encr_is_aead(p->encr) == 1) {
    if (p->integ) {
      return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_CONFLICT, text, len,
                  "an AEAD cipher takes no integrity algorithm");
    }
  } else if (p->integ == 0) {
    /* IKE needs integrity with a non-AEAD cipher (RFC 7296 §3.3.3).  ESP
     * encryption without integrity is allowed by RFC 4303 §3.2 but
     * discouraged (RFC 8221): refused here so that no experiment runs it
     * by accident. */
    return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_MISSING, text, len,
                "no integrity algorithm for a non-AEAD cipher");
  }
  if (kind == M6IKE_PROPOSAL_IKE) {
    if (p->prf == 0) {
      if (integ_prf == 0) {
        return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_MISSING, text, len,
                    "an AEAD IKE proposal needs a PRF (e.g. prfsha256)");
      }
      p->prf = integ_prf;
    }
    if (p->dh == 0) {
      return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_MISSING, text, len,
                  "an IKE proposal needs a DH group (e.g. x25519)");
    }
  }
  return 0;
}

int m6ike_proposal_parse(m6ike_proposal_list *out, m6ike_proposal_kind kind,
                         const char *text, char *errbuf, size_t errcap) {
  size_t i = 0, len;
  if (errbuf && errcap) {
    errbuf[0] = '\0';
  }
  if (out == NULL || text == NULL ||
      (kind != M6IKE_PROPOSAL_IKE && kind != M6IKE_PROPOSAL_ESP)) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof(*out));
  len = strlen(text);
  if (len == 0) {
    return fail(errbuf, errcap, M6IKE_ERR_INVALID_ARGUMENT, "", 0,
                "empty proposal");
  }
  while (i <= len) {
    size_t j = i;
    int rv;
    while (j < len && text[j] != ',') {
      j++;
    }
    if (out->n == M6IKE_PROPOSAL_MAX) {
      return fail(errbuf, errcap, M6IKE_ERR_PROPOSAL_TOO_MANY, text + i,
                  j - i, "more than 8 proposals");
    }
    rv = parse_one(&out->p[out->n], kind, text + i, j - i, errbuf, errcap);
    if (rv < 0) {
      return rv;
    }
    out->n++;
    i = j + 1;
  }
  return 0;
}

static const char *name_of(enum tok_kind kind, uint16_t id, uint16_t bits) {
  for (size_t i = 0; i < N_TOKENS; i++) {
    if (tokens[i].kind == kind && tokens[i].id == id &&
        (kind != TK_ENCR || tokens[i].bits == bits)) {
      return tokens[i].name;
    }
  }
  return NULL;
}

int m6ike_proposal_format(const m6ike_proposal *p, m6ike_proposal_kind kind,
                          char *buf, size_t cap) {
  const char *parts[5];
  size_t n = 0, off = 0;
  if (p == NULL || buf == NULL) {
    return M6IKE_ERR_INVALID_ARGUMENT;
  }
  parts[n++] = name_of(TK_ENCR, p->encr, p->encr_bits);
  if (p->integ) {
    parts[n++] = name_of(TK_INTEG, p->integ, 0);
  }
  /* The PRF is written when it does not follow from the integrity one. */
  if (kind == M6IKE_PROPOSAL_IKE && p->prf) {
    const token *t = NULL;
    for (size_t i = 0; i < N_TOKENS; i++) {
      if (tokens[i].kind == TK_INTEG && tokens[i].id == p->integ) {
        t = &tokens[i];
      }
    }
    if (t == NULL || t->prf != p->prf) {
      parts[n++] = name_of(TK_PRF, p->prf, 0);
    }
  }
  if (p->dh) {
    parts[n++] = name_of(TK_DH, p->dh, 0);
  }
  if (kind == M6IKE_PROPOSAL_ESP && p->esn) {
    parts[n++] = "esn";
  }
  for (size_t i = 0; i < n; i++) {
    size_t l;
    if (parts[i] == NULL) {
      return M6IKE_ERR_INVALID_ARGUMENT;
    }
    l = strlen(parts[i]);
    if (off + l + (i ? 1 : 0) + 1 > cap) {
      return M6IKE_ERR_NOBUF;
    }
    if (i) {
      buf[off++] = '-';
    }
    memcpy(buf + off, parts[i], l);
    off += l;
  }
  buf[off] = '\0';
  return (int)off;
}
