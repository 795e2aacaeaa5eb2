/* mhsock: see mhsock.h. */
#define _GNU_SOURCE
#include "mhsock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int m6e_mhsock_parse(const uint8_t *rec, size_t len, m6e_mhsock_hdr *h,
                     const uint8_t **pkt, size_t *plen) {
  *pkt = NULL;
  *plen = 0;
  if (len < M6E_MH_HDR_LEN) {
    return M6E_MH_ESHORT;
  }
  if (len > M6E_MH_HDR_LEN + 40 + 65535) {
    return M6E_MH_ELONG;
  }
  h->kind = rec[0];
  h->flags = rec[1];
  memcpy(&h->status, rec + 4, 4);
  if (rec[2] || rec[3]) {
    return M6E_MH_ERESERVED;
  }
  if (h->kind == M6E_MH_SENT) {
    return len == M6E_MH_HDR_LEN ? 0 : M6E_MH_EPACKET;
  }
  if (h->kind != M6E_MH_SEND && h->kind != M6E_MH_RECEIVED) {
    return M6E_MH_EKIND;
  }
  rec += M6E_MH_HDR_LEN;
  len -= M6E_MH_HDR_LEN;
  if (len < 40 || (rec[0] >> 4) != 6 ||
      ((size_t)rec[4] << 8 | rec[5]) + 40 != len) {
    return M6E_MH_EPACKET;
  }
  *pkt = rec;
  *plen = len;
  return 0;
}

ssize_t m6e_mhsock_recv(int fd, uint8_t *buf, size_t cap, m6e_mhsock_hdr *h,
                        const uint8_t **pkt, size_t *plen, int *rv) {
  ssize_t r = recv(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC);
  if (r <= 0) {
    return r < 0 ? -1 : 0;
  }
  if ((size_t)r > cap) {
    *pkt = NULL;
    *plen = 0;
    *rv = M6E_MH_ELONG;
  } else {
    *rv = m6e_mhsock_parse(buf, (size_t)r, h, pkt, plen);
  }
  return r;
}

int m6e_mhsock_send(int fd, uint8_t kind, uint8_t flags, int32_t status,
                    const uint8_t *pkt, size_t len) {
  uint8_t h[M6E_MH_HDR_LEN] = {kind, flags, 0, 0, 0, 0, 0, 0};
  struct iovec iov[2] = {{h, sizeof(h)}, {(void *)pkt, pkt ? len : 0}};
  struct msghdr m;
  memcpy(h + 4, &status, 4);
  memset(&m, 0, sizeof(m));
  m.msg_iov = iov;
  m.msg_iovlen = pkt ? 2 : 1;
  return sendmsg(fd, &m, MSG_NOSIGNAL) ==
                 (ssize_t)(sizeof(h) + (pkt ? len : 0))
             ? 0
             : -1;
}

const char *m6e_mhsock_strerror(int code) {
  switch (code) {
  case 0: return "ok";
  case M6E_MH_ESHORT: return "MH record shorter than its 8-octet header";
  case M6E_MH_EKIND: return "MH record kind unknown or wrong direction";
  case M6E_MH_ERESERVED: return "MH record reserved octets not zero";
  case M6E_MH_EPACKET:
    return "MH record packet not IPv6 or its payload length not the "
           "record's";
  case M6E_MH_ELONG: return "MH record longer than an IPv6 packet";
  }
  return "?";
}
