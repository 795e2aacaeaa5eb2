/* Internal: dispatch of error codes to the unit that owns them. */
#include "units.h"

#include <stddef.h>

/* Each unit's error-string table (defined in the unit's .c file). */
const char *m6ike_mh_strerror_(int code);
const char *m6ike_binding_strerror_(int code);
const char *m6ike_msrd_strerror_(int code);
const char *m6ike_pfkey_strerror_(int code);
const char *m6ike_crypto_strerror_(int code);
const char *m6ike_ipsec_strerror_(int code);
const char *m6ike_ikev2_strerror_(int code);
const char *m6ike_ikev2_msg_strerror_(int code);
const char *m6ike_agent_strerror_(int code);

typedef const char *(*unit_strerror_fn)(int);
typedef struct {
  int hi, lo; /* code range, hi >= code >= lo */
  unit_strerror_fn fn;
} unit_range;

/* One line per unit, by range (see common.h). */
static const unit_range ranges[] = {
    {-150, -199, m6ike_agent_strerror_},
    {-200, -299, m6ike_mh_strerror_},
    {-300, -399, m6ike_binding_strerror_},
    {-400, -499, m6ike_msrd_strerror_},
    {-500, -599, m6ike_pfkey_strerror_}, /* pfkey and the pfkey bus */
    {-600, -649, m6ike_ikev2_msg_strerror_}, /* ikev2 message codec */
    {-650, -699, m6ike_ikev2_strerror_}, /* the IKEv2 engine */
    {-700, -799, m6ike_ipsec_strerror_},
    {-850, -899, m6ike_crypto_strerror_}, /* crypto backends */
};

const char *m6ike_unit_strerror(int code) {
  for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
    if (code <= ranges[i].hi && code >= ranges[i].lo) {
      return ranges[i].fn(code);
    }
  }
  return NULL;
}
