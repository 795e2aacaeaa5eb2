/*
 * mhsock: the records of the Mobility Header socket between
 * mip6ike-mipd and mip6ike-ipsecd (a Unix SOCK_SEQPACKET connection; see
 * ipsecd/mip6ike-ipsecd.c for the protocol).  Each record: an 8-octet
 * header (kind, flags, 2 zero octets, int32 status in host order), then
 * for SEND and RECEIVED a whole IPv6 packet (40..65575 octets whose
 * payload length matches).
 */
#ifndef MIP6IKE_EMU_MHSOCK_H
#define MIP6IKE_EMU_MHSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
  M6E_MH_SEND = 1,     /* mipd -> ipsecd: send through the SPD */
  M6E_MH_RECEIVED = 2, /* ipsecd -> mipd: an MH packet that arrived */
  M6E_MH_SENT = 3      /* ipsecd -> mipd: outcome of the oldest SEND */
};
#define M6E_MH_F_ESP 1u /* RECEIVED: it came under ESP */
#define M6E_MH_HDR_LEN 8

/* parse errors (positive, local to this framing) */
enum {
  M6E_MH_ESHORT = 1, /* shorter than the header */
  M6E_MH_EKIND,      /* unknown kind / wrong direction */
  M6E_MH_ERESERVED,  /* reserved octets not zero */
  M6E_MH_EPACKET,    /* not an IPv6 packet, or its length is not the
                        record's */
  M6E_MH_ELONG       /* record longer than any IPv6 packet */
};

typedef struct m6e_mhsock_hdr {
  uint8_t kind, flags;
  int32_t status;
} m6e_mhsock_hdr;

/* Checks one record; *pkt / *len = the packet (NULL / 0 for SENT).
 * 0 or an M6E_MH_E* code. */
int m6e_mhsock_parse(const uint8_t *rec, size_t len, m6e_mhsock_hdr *h,
                     const uint8_t **pkt, size_t *plen);
/* The next record on fd (non-blocking) into buf (cap octets, at least
 * the longest record, M6E_MH_HDR_LEN + 40 + 65535), checked with
 * m6e_mhsock_parse: its length (> 0; *rv = 0 or the M6E_MH_E* code of a
 * bad record, ELONG if it did not fit), 0 when the peer closed, -1 when
 * nothing is waiting. */
ssize_t m6e_mhsock_recv(int fd, uint8_t *buf, size_t cap, m6e_mhsock_hdr *h,
                        const uint8_t **pkt, size_t *plen, int *rv);
/* Sends one record (pkt may be NULL).  0 or -1 (errno). */
int m6e_mhsock_send(int fd, uint8_t kind, uint8_t flags, int32_t status,
                    const uint8_t *pkt, size_t len);
const char *m6e_mhsock_strerror(int code);

#endif
