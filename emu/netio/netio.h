/*
 * netio: the kernel-facing pieces of the Linux runtime's daemons, shared by
 * mip6ike-noded (the single-process variant) and the three-daemon version
 * (mip6ike-ipsecd's ESP path, mip6ike-mipd's movement detection and MH
 * socket, mip6ike-iked's key-manager mode).  Each open function returns a
 * descriptor or -1 with errno set.
 */
#ifndef MIP6IKE_EMU_NETIO_H
#define MIP6IKE_EMU_NETIO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "m6ike/agent.h"
#include "m6ike/common.h"
#include "m6ike/ikev2.h"

/* Creates TUN device name (IFF_TUN | IFF_NO_PI), non-blocking, and sets
 * it up. */
int m6e_open_tun(const char *name);
/* UDP on [::]:port, IPv6 only, IPV6_RECVPKTINFO (the local address of each
 * datagram) and IPV6_FREEBIND (send from an address still in DAD). */
int m6e_open_udp(uint16_t port);
/* rtnetlink: IPv6 address and route events, link events. */
int m6e_open_netlink(void);
/* Asks for every IPv6 address (answers arrive as RTM_NEWADDR). */
void m6e_netlink_dump_addrs(int fd);
/* The upper-layer protocol of a whole IPv6 packet after its hop-by-hop,
 * routing and destination options headers; 44 for a fragment; -1 if
 * truncated. */
int m6e_upper_proto(const uint8_t *p, size_t len);

/* ---- whole IPv6 packets (the kernel knows neither ESP nor MIPv6) ------- */
/* AF_PACKET, SOCK_DGRAM, ETH_P_IPV6: every IPv6 packet the node receives,
 * whole (extension headers included), before netfilter (the runner's
 * nftables rule drops ESP/HAO/RH2 at prerouting so that the kernel does
 * not answer them with ICMP errors). */
int m6e_open_packet(void);
/* Next received packet (outgoing copies skipped): its length, -1 when
 * nothing is waiting; *ifindex = the receiving interface. */
ssize_t m6e_packet_recv(int fd, uint8_t *buf, size_t cap, int *ifindex);
/* Raw IPPROTO_RAW socket (our IPv6 header), IPV6_FREEBIND. */
int m6e_open_raw(void);
/* Sends a whole IPv6 packet (destination from its header).  0 or -1
 * (errno). */
int m6e_send_ip6(int raw_fd, const uint8_t *pkt, size_t len);

/* ---- IKE datagrams ---------------------------------------------------- */
/* Sends buf from path->local (IPV6_PKTINFO) to path->remote:remote_port.
 * 0 or -1 (errno). */
int m6e_udp_send(int fd, const m6ike_ikev2_path *path, const uint8_t *buf,
                 size_t len);
/* Next datagram: its length (>= 0), -1 when none is waiting; *path
 * filled (local from IPV6_PKTINFO, local_port = port). */
ssize_t m6e_udp_recv(int fd, uint16_t port, uint8_t *buf, size_t cap,
                     m6ike_ikev2_path *path);

/* ---- Unix-domain sockets between a node's daemons ---------------------- */
/* Connects a SOCK_SEQPACKET socket to path (non-blocking after connect),
 * retrying for up to wait_ms while the listener is not there yet. */
int m6e_unix_connect(const char *path, int wait_ms);
/* m6e_unix_connect + the pfkey_wire HELLO with role (1 KEY_MANAGER, 2
 * MOBILITY) and pid = ours. */
int m6e_pfkey_connect(const char *path, int role, int wait_ms);

/* ---- process plumbing ------------------------------------------------- */
/* The core's random callback (m6ike_rand_cb) from getrandom(2), retried
 * on EINTR and short reads: 0 or -1.  user_data unused. */
int m6e_rand(uint8_t *dest, size_t len, void *user_data);
/* SIGTERM and SIGINT set *stop and, when wake_fd >= 0 (the write end of a
 * non-blocking pipe the daemon polls), write a byte to it; SIGPIPE is
 * ignored.  One daemon per process: the handler's state is process-wide. */
void m6e_stop_signals(volatile sig_atomic_t *stop, int wake_fd);

/* Runs the shell command fmt... (ip(8) for the slow-path configuration);
 * a non-zero status is logged to ev as "HOST_ERROR cmd=\"...\" rc=N".
 * Returns the status. */
int m6e_run_ip(FILE *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* fopen(path, "a") (NULL for a NULL path); on failure "PROG: OPT: PATH:
 * why" to stderr and exit 2. */
FILE *m6e_open_out(const char *prog, const char *path, const char *opt);

/* ---- event log -------------------------------------------------------- */
/* CLOCK_REALTIME in ns (events line up with the runner and the pcaps). */
m6ike_tstamp m6e_now_ns(void);
/* "SEC.NSEC fmt...\n" to f, flushed. */
void m6e_emit(FILE *f, m6ike_tstamp t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the core's events, in the form summary.awk reads ------------------ */
/* "COA_SET", "BU_SENT", ... */
const char *m6e_agent_ev_name(m6ike_agent_event_kind k);
/* "T KIND mpi= hoa= coa= spi= seq= status=" */
void m6e_emit_agent_event(FILE *f, const m6ike_agent_event *e);
/* "T HANDOVER index= scheme= old_coa= coa= coa_set= bu_sent= ba_received=
 * sa_ready= bu_count= ba_status= ike_msgs= ike_bytes= ike_sa_init=
 * ike_auth= create_child_sa= informational= complete=" (times in s since
 * the epoch, "-" if unset) */
void m6e_emit_handover(FILE *f, const m6ike_agent_handover *h);

/* ---- MN movement detection from netlink -------------------------------- */
/*
 * The MN's L3 movement detection, on the kernel's own events: a route
 * learnt from a Router Advertisement (RTM_NEWROUTE proto ra, main table)
 * on an access interface is logged ROUTE_RA (the movement); a new global
 * address ADDR_NEW (still tentative); once the kernel's DAD is over
 * (IFA_F_TENTATIVE cleared) the address is the new care-of address:
 * COA_READY and the coa_ready callback.  Link changes are logged LINK,
 * removed addresses ADDR_DEL.  The HoA and anything on the tunnel device
 * are ignored.
 */
typedef struct m6e_movement {
  FILE *ev;            /* event log */
  int tun_ifindex;     /* ignored interface */
  int mn;              /* 0: only LINK lines (HA) */
  m6ike_addr6 hoa;
  m6ike_addr6 coa;     /* current CoA (have_coa) */
  int have_coa;
  m6ike_addr6 seen[8]; /* tentative addresses already logged */
  unsigned nseen;
  void (*coa_ready)(const m6ike_addr6 *coa, void *user_data);
  void *user_data;
} m6e_movement;

/* Reads and handles every waiting netlink message. */
void m6e_movement_netlink(m6e_movement *md, int nl_fd);

#endif
