/* keymgr: the key-management side of a node (m6ike/keymgr.h).
 * Header-first stub. */
#include <string.h>

#include "m6ike/keymgr.h"

const char *m6ike_keymgr_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_KEYMGR_PFKEY:
    return "keymgr: the PF_KEY bytes read do not decode";
  case M6IKE_ERR_KEYMGR_REFUSED:
    return "keymgr: the kernel refused one of our PF_KEY messages";
  case M6IKE_ERR_KEYMGR_SEND:
    return "keymgr: the host's send_pfkey callback failed";
  case M6IKE_ERR_KEYMGR_IGNORED:
    return "keymgr: a PF_KEY message the key manager does not act on";
  case M6IKE_ERR_KEYMGR_NOT_STARTED:
    return "keymgr: m6ike_keymgr_start() has not been called";
  default:
    return NULL;
  }
}

int m6ike_keymgr_new(m6ike_keymgr **pk, const m6ike_agent_config *cfg,
                     const m6ike_keymgr_callbacks *cbs,
                     const m6ike_crypto *crypto,
                     const m6ike_msrd_reader *msrd, const m6ike_mem *mem) {
  (void)cfg;
  (void)cbs;
  (void)crypto;
  (void)msrd;
  (void)mem;
  if (pk) *pk = NULL;
  return M6IKE_ERR_INVALID_STATE;
}
