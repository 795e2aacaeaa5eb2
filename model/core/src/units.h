/*
 * Internal: the per-unit error-string tables that m6ike_strerror()
 * dispatches to.  Each unit defines m6ike_<unit>_strerror_(code), returning
 * NULL for codes it does not own.
 */
#ifndef M6IKE_UNITS_H
#define M6IKE_UNITS_H

const char *m6ike_unit_strerror(int code);

#endif
