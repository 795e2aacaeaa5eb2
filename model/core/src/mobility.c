/* mobility: the mobility side of a node (m6ike/mobility.h).  Header-first
 * stub: every entry point reports M6IKE_ERR_INVALID_STATE until the
 * implementation lands. */
#include <string.h>

#include "m6ike/mobility.h"

const char *m6ike_mobility_strerror_(int code) {
  switch (code) {
  case M6IKE_ERR_MOBILITY_PFKEY:
    return "mobility: the PF_KEY bytes read do not decode";
  case M6IKE_ERR_MOBILITY_REFUSED:
    return "mobility: the kernel refused one of our PF_KEY messages";
  case M6IKE_ERR_MOBILITY_SEND:
    return "mobility: the host's send_pfkey callback failed";
  case M6IKE_ERR_MOBILITY_IGNORED:
    return "mobility: message valid but not for this node or role";
  default:
    return NULL;
  }
}

int m6ike_mobility_new(m6ike_mobility **pm, const m6ike_agent_config *cfg,
                       const m6ike_mobility_callbacks *cbs,
                       const m6ike_mem *mem) {
  (void)cfg;
  (void)cbs;
  (void)mem;
  if (pm) *pm = NULL;
  return M6IKE_ERR_INVALID_STATE;
}
