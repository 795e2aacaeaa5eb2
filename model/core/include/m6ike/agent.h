/*
 * agent: one Mobile IPv6 node (mobile node or home agent) with its IPsec
 * and IKEv2 machinery, composed the way the main paper's Fig. 1-5 splits
 * it, sans-I/O.  Both hosts (ns-3's Mip6IkeAgentNs3 and the Linux runtime)
 * drive the same object.
 *
 *   +--------------------------- m6ike_agent ----------------------------+
 *   | m6ike_mobility          MSRD (written only       m6ike_keymgr      |
 *   |  MN: m6ike_bul    ----> by the mobility side) <-- m6ike_ikev2       |
 *   |  HA: m6ike_bcache            |                     |                |
 *   |        |  MOBILITY ep        |      KEY_MANAGER ep | ADD/UPDATE/    |
 *   |        +------------> m6ike_pfkey_bus <------------+ DELETE         |
 *   |   SA copies (sa_notify)  |  kernel                                 |
 *   |                     m6ike_ipsec (SPD, SAD, ESP)                     |
 *   +--------------------------------------------------------------------+
 *     host:  set_coa, read_ip6, read_udp, write_tunnel, handle_expiry
 *            <- send_ip6, send_udp, deliver_ip6, event, keylog
 *
 * The host hands the agent whole IPv6 packets addressed to the node (MH
 * and ESP), IKE datagrams, inner packets for the MN-HA tunnel, the MN's
 * care-of address and the time; the agent calls back with whole IPv6
 * packets to send, IKE datagrams to send, decapsulated tunnel packets to
 * deliver, events, key-log lines, and says when it next wants to run.
 * One HA agent serves any number of mobile nodes.
 *
 * WIRE.  Binding Updates and Acknowledgements are built and parsed with
 * m6ike/mh.h and protected as RFC 4877 requires, with transport-mode ESP
 * between the HoA and the HA:
 *   BU  IPv6(CoA -> HA) | DstOpt(HAO = HoA) | ESP | MH(BU)
 *   BA  IPv6(HA -> CoA) | RH2(HoA)          | ESP | MH(BA)
 * Payload between the HoA and anything goes in tunnel-mode ESP with outer
 * addresses CoA <-> HA:
 *   IPv6(CoA <-> HA) | ESP | IPv6(HoA <-> CN) | ...
 * IKE runs over UDP 500 between the CoA and the HA.
 *
 * POLICIES (RFC 4877 §4.3), installed by the agent at creation:
 *   MN  out  HoA -> HA, MH type 5 (BU)   PROTECT transport reqid 1
 *       in   HA -> HoA, MH type 6 (BA)   PROTECT transport reqid 1
 *       out  HoA -> any                  PROTECT tunnel CoA -> HA, reqid 2
 *       in   any -> HoA                  PROTECT tunnel HA -> CoA, reqid 2
 *   HA  in   home prefix -> HA, MH BU    PROTECT transport (any reqid)
 *       out  HA -> home prefix, MH BA    DISCARD (behind the MNs' own)
 *       per MN (created when the MN's CHILD_SAs come up, or at add_mn;
 *       tunnel endpoints moved with the binding; reqid 0x10000 + the MN's
 *       index, so that the SAD's reqid buckets stay short):
 *       out  HA -> HoA, MH BA  PROTECT transport
 *       out  any -> HoA        PROTECT tunnel HA -> CoA
 *       in   HoA -> any        PROTECT tunnel CoA -> HA
 * Inbound SAs carry a selector naming their HoA (transport: the Mobility
 * Header between that HoA and the HA; tunnel: that HoA's own traffic), so
 * that an MN cannot use its SAs to register or tunnel for another MN's
 * home address (the HAO is outside ESP's ICV).
 * The tunnel policies' endpoints follow the CoA: on the MN at set_coa, on
 * the HA when a BU with a new CoA is accepted -- the HA tunnels to the
 * registered binding's CoA (RFC 6275 §10.4.1) even when its key manager
 * has already installed or moved SAs to a newer one (renegotiate: the new
 * CHILD_SAs are up long before the stock BU's retransmission; traffic
 * waits for the BU); before the first registration the policy takes the
 * SA's address.  The mobility side installs and moves these
 * policies itself, as UMIP does, with X_SPDADD / X_SPDUPDATE on its own
 * PF_KEY endpoint (m6ike_ipsec_policy_pfkey; the bus lets the MOBILITY
 * role manage policies, never keys); the ipsec object handles them as the
 * kernel.  SAs are installed, moved and deleted only by the key manager
 * over PF_KEY (SADB_ADD with the private SA-selector extension,
 * SADB_UPDATE with the SA-move extension, SADB_DELETE; pfkey.h), or by
 * X_MIGRATE inside the ipsec object; the static scheme's manual keys are
 * ADDed by the key manager too.  The mobility side learns of them from the
 * bus's sa_notify copies.  The composite is exactly m6ike_mobility +
 * m6ike_keymgr + m6ike_ipsec on one bus (mobility.h, keymgr.h): the Linux
 * runtime runs the same three parts as three processes.
 *
 * SCHEMES (what each does at a move, MN side then HA side; the messages on
 * the wire are the scheme's own):
 *
 * M6IKE_SCHEME_MSRD (the main paper, seed 000 §III).
 *   Bootstrap (first set_coa): the mobility side inserts the binding in the
 *   MSRD (state REGISTERING) and sends SADB_ACQUIRE + Reference(MPI) on its
 *   PF_KEY endpoint; the engine looks the MPI up and BOOTSTRAPs: IKE_SA_INIT
 *   + IKE_AUTH from the CoA with the HoA in TSi (transport pair, the MH
 *   selectors), then CREATE_CHILD_SA for the tunnel pair.  The BU waits
 *   until the transport SA is installed (sending it earlier only feeds
 *   IPsec a packet it must drop), then goes at once.
 *   Move: MSRD update (new CoA) + ACQUIRE + Reference: the engine does a
 *   DIRECT UPDATE: tunnel SAs moved in place on the MN and one
 *   INFORMATIONAL { N(SA_ADDRESS_UPDATE(MPI, CoA)) } exchange (2 IKE
 *   messages) makes the HA move its side.  The BU leaves at once under the
 *   unchanged transport SA (HoA <-> HA does not change).  No IKE_SA_INIT,
 *   no IKE_AUTH.  This is why the paper measures 1.62 s rather than 2.99 s.
 *
 * M6IKE_SCHEME_RENEGOTIATE (a stock IKEv2 daemon: Table I's baseline).
 *   Bootstrap and move: the mobility side updates the tunnel policy's
 *   endpoints and the "kernel" asks for SAs for CoA -> HA with a SADB_ACQUIRE
 *   without Reference (a stock kernel knows no MPI); the engine drops its
 *   old IKE SA to the HA locally (its address is gone; its CHILD_SAs leave
 *   the SAD) and negotiates a new one: IKE_SA_INIT + IKE_AUTH (with
 *   INITIAL_CONTACT, so the HA drops the MN's old SAs) + CREATE_CHILD_SA.
 *   A stock MIPv6 daemon knows nothing of this: it sends its BU at the move
 *   through the SPD like any packet; with no usable SA the BU is dropped by
 *   IPsec, and the binding update list's retransmission timer (1.5 s on the
 *   first registration, 1 s later, doubling) sends it again, now under the
 *   new SAs.  Those ~1 s of waiting for the timer, on top of the IKE
 *   round trips, are the difference between the paper's 2.99 s and 1.62 s.
 *   With cfg.bu_on_sa_up the agent sends the BU as soon as the SAs are up
 *   (a daemon told by its key manager; not the default).
 *
 * M6IKE_SCHEME_MIGRATE (seed 003) and M6IKE_SCHEME_MIGRATE_KMADDRESS
 * (seed 002).  Bootstrap as RENEGOTIATE's (a kernel ACQUIRE without
 * Reference; the BU waits for the transport SA as in MSRD).  Move: the MN's
 * mobility side sends SADB_X_MIGRATE on its bus (tunnel policy, old CoA ->
 * new CoA; with KMADDRESS the key manager's addresses for the second); the
 * ipsec object moves its tunnel policy and SAs, the engine follows (its
 * tunnel CHILD_SAs; the IKE SA only with KMADDRESS: without it the IKE SA
 * stays on the old CoA, the ambiguity seed 002 describes).  The BU goes at
 * once under the transport SA.  HA: on accepting a BU with a new CoA its
 * mobility side issues the same X_MIGRATE (HA <-> old CoA -> HA <-> new CoA)
 * on its own bus.  No IKE message at a move.
 *
 * M6IKE_SCHEME_MOBIKE (RFC 4555).  Bootstrap as MIGRATE's, with
 * MOBIKE_SUPPORTED in IKE_AUTH.  Move: m6ike_ikev2_mobike_update() from the
 * new CoA: the MN moves its IKE SA and tunnel SAs (child_sa_update) and
 * sends INFORMATIONAL { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_*),
 * N(COOKIE2) }; the HA engine moves the IKE SA and the children
 * (child_sa_update -> ipsec update).  The BU goes in parallel under the
 * transport SA.
 *
 * M6IKE_SCHEME_STATIC (RFC 3776 manual keying).  No IKE at all.  Both
 * sides derive the same SAs from the PSK and the HoA (below) and install
 * them at creation (MN) or at m6ike_agent_add_mn() (HA).  Move: the MN's
 * mobility side moves its tunnel policy and SAs to the new CoA at set_coa;
 * the HA does the same when it accepts the BU.  BU at once.
 * Key derivation (documented so that a peer can reproduce it): with the
 * crypto backend's PRF HMAC-SHA2-256, K = prf+(PSK, "mip6ike static keys"
 * | HoA (16 octets)) as RFC 7296 §2.13 defines prf+; the octets of K are
 * taken in order: 4 octets SPI of the transport SA MN->HA, 4 HA->MN, 4
 * tunnel MN->HA, 4 tunnel HA->MN (each SPI = value | 0x100 so that it is
 * >= 256), then for each of the four SAs in that order the encryption key
 * (with its salt for AES-GCM) and the integrity key of the ESP proposal.
 *
 * FAILURES.  A key-manager failure (IKE retransmissions exhausted, a
 * refusal) reaches the mobility side only as "no SA came", as between a
 * kernel and its IKE daemon: when the SAs at the CoA are still missing
 * the engine's whole retransmission schedule (31.5 s with the defaults)
 * + 1 s after the ACQUIRE, the MN agent reports IKE_COMPLETED with
 * M6IKE_ERR_IKEV2_TIMEOUT and asks again -- the scheme's bootstrap
 * ACQUIRE; each later ACQUIRE waits the schedule + 2 s, + 4 s, ... up
 * to + 32 s (mobility.h FAILURES).  The BU stays held (or, renegotiate,
 * keeps being dropped) until then.
 *
 * HA LOST (cfg.ha_lost_after, cfg.liveness_s; both off by default).  A
 * home agent that crashed and came back has no binding, no IKE SA and no
 * ESP SA: it drops the MN's ESP (unknown SPI) and answers IKE on the old
 * IKE SA at most with an unprotected INVALID_IKE_SPI, which RFC 7296
 * §2.21.4 forbids acting on.  What the MN sees is silence, so it acts on
 * silence:
 *   - the key manager's liveness check (liveness_s) deletes an IKE SA
 *     whose peer no longer answers, with its CHILD_SAs (SADB_DELETE);
 *   - the mobility side declares the HA lost when the refresh of its
 *     registered binding went ha_lost_after retransmissions without a BA,
 *     or when every SA to the HA was deleted while registered: event
 *     HA_LOST, then, as for the first CoA, a first home registration
 *     (InitialBindackTimeoutFirstReg) from the current CoA: a NEW MSRD
 *     entry (the old MPI removed, a new one inserted: REGISTERING) and the
 *     scheme's bootstrap ACQUIRE (msrd: + Reference(new MPI)).  The BU is
 *     held until the new transport SAs are up (static: no IKE, the BU goes
 *     at once).  A new handover record starts (coa = old_coa = the CoA).
 *   - the key manager bootstraps a NEW IKE SA even though it may still
 *     hold the old one: an ACQUIRE (with or without Reference) while the
 *     MSRD entry of its HoA carries another MPI than the one its IKE SA
 *     was made for means "new registration epoch": it forgets every IKE SA
 *     to the HA locally (m6ike_ikev2_forget_peer: SADB_DELETE of their
 *     SAs), then hands the ACQUIRE to the engine, which finds no IKE SA and
 *     bootstraps (renegotiate and the first registration of migrate /
 *     mobike: with INITIAL_CONTACT).  keymgr.h, mobility.h.
 * With both knobs off the MN behaves as before: an unanswered refresh
 * backs off to 32 s and the host must restart the node.
 *
 * HANDOVER RECORD.  Each set_coa with a new CoA (the first one included:
 * index 0 = bootstrap) starts a record: the times of set_coa, of the first
 * BU that left the node (a BU IPsec dropped for want of an SA did not
 * leave: it is an EV_DROP), of the accepted BA, and of SA readiness
 * (sa_ready: every SA the scheme needs at the current CoA installed and
 * usable on the MN -- the transport pair and the tunnel pair with its MN
 * end at the new CoA; for msrd, migrate, mobike and static that is at
 * set_coa, since the MN moves its own SAs at once; for renegotiate when
 * the new CHILD_SAs are up), the number of BU transmissions, and the IKE
 * messages and bytes this agent sent and received from set_coa until the
 * next set_coa (retransmissions included) -- the ns-3 summary.csv columns
 * bu_sent_s, ba_received_s, sa_ready_s, ike_msgs, ike_bytes.  complete =
 * BA received and SA ready.
 *
 * KEY LOGS.  keylog(0, line) forwards the engine's ikev2_decryption_table
 * lines; keylog(1, line) one esp_sa line (m6ike_ipsec_sa_format_wireshark,
 * without its newline) per installed SA.  When an SA moves (direct update,
 * MIGRATE, MOBIKE, static move) the agent appends a line for its new
 * addresses: the line for the old addresses stays valid for the packets
 * captured before the move, so both are needed to decrypt a whole capture
 * and nothing has to be rewritten.  keylog_reset is therefore never called
 * by this version (hosts may leave it NULL); cfg.keylog_esp = 0 turns the
 * esp_sa lines off (an HA with thousands of MNs).
 *
 * SCALE.  The HA keeps per-MN state in hash tables (the mobility side's
 * HoA table, the key manager's MN and CHILD_SA tables, the MSRD, the
 * binding cache, the SAD by SPI; tunnel SAs get a reqid per MN so the
 * SAD's reqid buckets stay short).  Known linear costs are the composed
 * units' own: the ipsec SPD's ordered policy lookup (two tunnel policies
 * per MN) and the engine's walk of IKE SAs for some operations.  Measured (bench_agent, NULL cipher,
 * this project's 2-core test machine): an HA holds about 7 kB per MN;
 * 10,000 MNs bootstrap through one HA agent in about 4 s of wall time.
 * The ipsec object's own timers are not run (m6ike_ipsec_get_expiry walks
 * every SA): the agent installs no SA lifetimes and no larval SAs.  An MN agent is small
 * (about 19 kB of heap with IKE, 7.5 kB static): MSRD of one entry, a bus
 * queue of 8, an IKE engine with 2 kB message buffers and 16-bucket SPI
 * tables (m6ike_ikev2_config.max_msg_in / hash_bits).

 * ERRORS.  Codes -150..-199 belong to this unit (common.h).  read_ip6,
 * read_udp and handle_expiry never return a fatal code for bad input: a
 * packet that cannot be used is dropped, counted (m6ike_agent_stats) and
 * reported with an EV_DROP event, and the function returns the reason.
 */
#ifndef M6IKE_AGENT_H
#define M6IKE_AGENT_H

#include "m6ike/common.h"
#include "m6ike/crypto.h"
#include "m6ike/ikev2.h"
#include "m6ike/ipsec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of this unit (-150..-199). */
enum {
  M6IKE_ERR_AGENT_ROLE = -150,      /* config.role is not MN or HA, or the
                                       call is not for this role */
  M6IKE_ERR_AGENT_SCHEME = -151,    /* config.scheme unknown / name not a
                                       scheme */
  M6IKE_ERR_AGENT_ADDRESS = -152,   /* config.ha / hoa / home_prefix
                                       unusable (unspecified, multicast, HoA
                                       off the home prefix, plen 0 or >128) */
  M6IKE_ERR_AGENT_PROPOSAL = -153,  /* ike_proposal / esp_proposal does not
                                       parse or the backend lacks it */
  M6IKE_ERR_AGENT_IDENTITY = -154,  /* local_id / remote_id unparsable */
  M6IKE_ERR_AGENT_PSK = -155,       /* psk missing or longer than 128 */
  M6IKE_ERR_AGENT_CONFIG = -156,    /* another config field out of range
                                       (lifetime 0, capacity) */
  M6IKE_ERR_AGENT_MALFORMED = -160, /* packet not IPv6 / truncated / its
                                       extension headers or MH unparsable */
  M6IKE_ERR_AGENT_NOT_HANDLED = -161, /* neither MH nor ESP, or an MH
                                         message type this node ignores */
  M6IKE_ERR_AGENT_NO_BINDING = -162, /* HA: no binding for the HoA; MN: not
                                        away from home (no CoA) */
  M6IKE_ERR_AGENT_SEND = -163,      /* the host's send callback failed */
  M6IKE_ERR_AGENT_STATE = -164      /* not possible now (e.g. static SAs of
                                       that HoA exist already) */
};

/* Error text for this unit's codes, NULL for codes it does not own. */
const char *m6ike_agent_strerror_(int code);

typedef enum m6ike_scheme {
  M6IKE_SCHEME_MSRD = 1,          /* main paper: ACQUIRE+Reference, direct
                                     update */
  M6IKE_SCHEME_RENEGOTIATE,       /* stock IKEv2: ACQUIRE w/o Reference,
                                     new IKE SA */
  M6IKE_SCHEME_MIGRATE,           /* seed 003: SADB_X_MIGRATE, IKE SA stays */
  M6IKE_SCHEME_MIGRATE_KMADDRESS, /* seed 002: MIGRATE + KMADDRESS, IKE SA
                                     moves */
  M6IKE_SCHEME_MOBIKE,            /* RFC 4555 UPDATE_SA_ADDRESSES */
  M6IKE_SCHEME_STATIC             /* RFC 3776 manual keys, no IKE */
} m6ike_scheme;

/* "msrd", "renegotiate", "migrate", "migrate-kmaddress", "mobike",
 * "static" -> *out.  0, M6IKE_ERR_INVALID_ARGUMENT (NULL),
 * M6IKE_ERR_AGENT_SCHEME. */
int m6ike_scheme_parse(const char *name, m6ike_scheme *out);
/* The name above, or "?" for another value. */
const char *m6ike_scheme_name(m6ike_scheme s);

typedef enum m6ike_agent_role {
  M6IKE_AGENT_MN = 1,
  M6IKE_AGENT_HA = 2
} m6ike_agent_role;

typedef struct m6ike_agent_config {
  m6ike_agent_role role;
  m6ike_scheme scheme;
  m6ike_addr6 ha;            /* the HA's address (HA: its own) */
  m6ike_addr6 hoa;           /* MN: its home address (HA: unused) */
  m6ike_addr6 home_prefix;   /* the home link's prefix */
  uint8_t home_plen;         /* 1..128 */
  uint16_t lifetime;         /* MN: requested binding lifetime, 4-s units
                                as in the BU (default 105 = 420 s); HA: the
                                most it grants (0 = no cap) */
  const char *ike_proposal;  /* strongSwan syntax, e.g.
                                "aes128-sha256-x25519" */
  const char *esp_proposal;  /* e.g. "aes128gcm16", "3des-sha1",
                                "null-sha256" */
  const char *local_id;      /* "fqdn:..", "email:..", or an address;
                                NULL = our address */
  const char *remote_id;     /* MN: the HA's id; HA: NULL = any MN */
  const uint8_t *psk;        /* shared by the HA and its MNs (copied) */
  size_t psk_len;            /* 1..128 */
  /* IKE retransmission (m6ike_ikev2_config): first timeout (default
   * 500 ms) and tries (default 5). */
  m6ike_tstamp ike_retrans_timeout;
  unsigned ike_retrans_tries;
  /* RENEGOTIATE only: 0 (default, stock) = the BU goes at the move and is
   * retransmitted by the binding update list's timer; 1 = the BU is also
   * sent as soon as the SAs at the new CoA are up. */
  int bu_on_sa_up;
  /* MN: binding update list timers (0 = RFC 6275's 1.5 s, 1 s, 32 s). */
  m6ike_tstamp bindack_timeout_first_reg, bindack_timeout, bindack_max;
  /* HA: MNs expected (sizes the MSRD, binding cache and SAD up front;
   * 0 = grow as needed); max_mns caps them (0 = no cap; BA 130 beyond). */
  uint32_t expected_mns, max_mns;
  /* ESP anti-replay window (0 = 128) and tunnel hop limit (0 = 64). */
  uint32_t replay_window;
  uint8_t hop_limit;
  /* Forward esp_sa key-log lines (default 1; an HA with thousands of MNs
   * may turn them off). */
  int keylog_esp;
  /* Recovery from a home agent that lost its state (HA LOST).  Both 0 =
   * off (the default: nothing on the wire changes).
   * liveness_s (key manager, both roles): an IKE SA that received nothing
   *   for this many seconds runs an RFC 7296 §1.4 liveness check (an empty
   *   INFORMATIONAL, m6ike_ikev2_config.liveness_idle); no answer after
   *   the IKE retransmissions: the IKE SA and its CHILD_SAs are deleted
   *   locally and their ESP SAs removed with SADB_DELETE.
   * ha_lost_after (mobility side, MN): the refresh of a registered binding
   *   retransmitted this many times without a BA, or every SA to the HA
   *   deleted while registered (e.g. by the liveness check), declares the
   *   HA lost: M6IKE_AGENT_EV_HA_LOST, then a new first registration from
   *   the current CoA with fresh SAs (see HA LOST below). */
  unsigned liveness_s;
  unsigned ha_lost_after;
} m6ike_agent_config;

/* Fills cfg with the defaults for role (scheme MSRD, lifetime 105, proposals
 * "aes128-sha256-x25519" / "aes128gcm16", timers 0 = RFC defaults,
 * keylog_esp 1; addresses, ids and PSK empty). */
void m6ike_agent_config_default(m6ike_agent_config *cfg,
                                m6ike_agent_role role);

typedef enum m6ike_agent_event_kind {
  M6IKE_AGENT_EV_COA_SET = 1,      /* MN: the host reported a new CoA */
  M6IKE_AGENT_EV_BU_SENT,          /* MN: a BU left (each transmission; seq;
                                      status = 1 for a retransmission) */
  M6IKE_AGENT_EV_BA_RECEIVED,      /* MN: BA accepted (status = BA status) */
  M6IKE_AGENT_EV_BINDING_UPDATED,  /* HA: binding cache entry created or
                                      changed (hoa, coa, seq; status = BA
                                      status sent) */
  M6IKE_AGENT_EV_IKE_STARTED,      /* MN: an ACQUIRE / MIGRATE / MOBIKE-
                                      driven key-manager operation began
                                      (status: 1 ACQUIRE, 2 X_MIGRATE,
                                      3 MOBIKE) */
  M6IKE_AGENT_EV_IKE_COMPLETED,    /* MN: ... ended: status 0 when the SAs
                                      at the CoA are ready (X_MIGRATE: at
                                      once, its send result), or
                                      M6IKE_ERR_IKEV2_TIMEOUT at the retry
                                      (FAILURES) */
  M6IKE_AGENT_EV_SA_INSTALLED,     /* an ESP SA was added to the SAD (spi) */
  M6IKE_AGENT_EV_SA_UPDATED,       /* an ESP SA's endpoints changed in place */
  M6IKE_AGENT_EV_SA_READY,         /* MN: every SA the scheme needs at the
                                      current CoA is usable */
  M6IKE_AGENT_EV_DROP,             /* a packet was dropped (status = the
                                      reason code) */
  M6IKE_AGENT_EV_HA_LOST           /* MN, cfg.ha_lost_after: the HA lost our
                                      binding and SAs (status: the unanswered
                                      refresh retransmissions, 0 = every SA
                                      to the HA was deleted); a new first
                                      registration follows (HA LOST) */
} m6ike_agent_event_kind;

typedef struct m6ike_agent_event {
  m6ike_agent_event_kind kind;
  m6ike_tstamp time;
  uint32_t mpi;        /* MSRD entry concerned, 0 if none */
  m6ike_addr6 hoa, coa;
  uint32_t spi;        /* SA events: the SA's SPI (host order) */
  uint16_t seq;        /* BU / BA / binding sequence number */
  int status;          /* BA status, error code, ... (see the kinds) */
} m6ike_agent_event;

typedef struct m6ike_agent m6ike_agent;

typedef struct m6ike_agent_callbacks {
  void *user_data;
  m6ike_rand_cb rand; /* required (called with user_data) */
  /* A whole IPv6 packet (IPv6 header first) this node sends.  Non-zero =
   * failure (counted; M6IKE_ERR_AGENT_SEND). */
  int (*send_ip6)(const uint8_t *pkt, size_t len, void *user_data);
  /* An IKE datagram (UDP payload; addresses and ports in the path). */
  int (*send_udp)(const m6ike_ikev2_path *path, const uint8_t *buf,
                  size_t len, void *user_data);
  /* A packet that came out of the tunnel, for the host's IP stack (MN:
   * addressed to the HoA; HA: from a HoA, to be forwarded). */
  int (*deliver_ip6)(const uint8_t *pkt, size_t len, void *user_data);
  void (*event)(const m6ike_agent_event *ev, void *user_data);
  /* level: M6IKE_IKEV2_LOG_* */
  void (*log)(int level, const char *msg, void *user_data);
  /* Wireshark key-log lines, without newline: kind 0 =
   * ikev2_decryption_table, 1 = esp_sa (see KEY LOGS).  keylog_reset(kind):
   * reserved for a whole rewrite of the file; not called by this version
   * (lines are only appended). */
  void (*keylog)(int kind, const char *line, void *user_data);
  void (*keylog_reset)(int kind, void *user_data);
} m6ike_agent_callbacks;

/*
 * Creates an agent: the units of its role, wired, and the RFC 4877
 * policies installed (static scheme, MN: its SAs too).  cfg, cbs,
 * cbs->rand and crypto are required; crypto must outlive the agent.
 * Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_ROLE,
 * M6IKE_ERR_AGENT_SCHEME, M6IKE_ERR_AGENT_ADDRESS, M6IKE_ERR_AGENT_PROPOSAL,
 * M6IKE_ERR_AGENT_IDENTITY, M6IKE_ERR_AGENT_PSK, M6IKE_ERR_AGENT_CONFIG,
 * M6IKE_ERR_RANDOM, M6IKE_ERR_NOMEM, or a code of a composed unit's
 * constructor.
 */
int m6ike_agent_new(m6ike_agent **pa, const m6ike_agent_config *cfg,
                    const m6ike_agent_callbacks *cbs,
                    const m6ike_crypto *crypto, const m6ike_mem *mem);
/* Frees everything (no callbacks).  NULL is a no-op. */
void m6ike_agent_del(m6ike_agent *a);

/*
 * MN: the host's movement detection found a new CoA that is usable now
 * (after DAD per the host's DAD mode).  coa == hoa: back home (a
 * de-registration BU; SAs are kept).  The same CoA again: nothing.  Starts
 * the scheme's sequence (see SCHEMES) and a new handover record.  Returns
 * 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_ROLE,
 * M6IKE_ERR_BINDING_BAD_COA, M6IKE_ERR_AGENT_SEND, or a fatal code
 * (M6IKE_ERR_NOMEM).
 */
int m6ike_agent_set_coa(m6ike_agent *a, const m6ike_addr6 *coa,
                        m6ike_tstamp now);

/*
 * HA: provisions a mobile node before its first message.  Required for the
 * static scheme (installs the HoA's manual SAs); a no-op returning 0 for the
 * other schemes (their MNs are admitted by IKE).  Returns 0,
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_ROLE, M6IKE_ERR_AGENT_ADDRESS
 * (HoA off the home prefix), M6IKE_ERR_AGENT_STATE (already provisioned),
 * M6IKE_ERR_EXISTS (a derived SPI collides with another MN's), an ipsec
 * code, M6IKE_ERR_NOMEM.
 */
int m6ike_agent_add_mn(m6ike_agent *a, const m6ike_addr6 *hoa,
                       m6ike_tstamp now);

/*
 * An IPv6 packet addressed to this node that the agent handles: Mobility
 * Header (135) or ESP (50), whole from the IPv6 header, extension headers
 * (HAO, RH2) included, as on the wire.  ESP is decrypted; a BU/BA inside
 * goes to the mobility side, a tunnelled packet to deliver_ip6.  A BU/BA
 * not protected by ESP is dropped (RFC 4877 §4.3).  Returns 0, or the
 * drop reason: M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_MALFORMED,
 * M6IKE_ERR_AGENT_NOT_HANDLED, an ipsec code (-700..-799: no SA, ICV,
 * replay, policy), an mh code (-200..-299), a binding code (-300..-399),
 * M6IKE_ERR_AGENT_SEND.  Fatal only for M6IKE_ERR_NOMEM.
 */
int m6ike_agent_read_ip6(m6ike_agent *a, const uint8_t *pkt, size_t len,
                         m6ike_tstamp now);

/*
 * An IKE datagram received on UDP 500/4500 (path: local = our address).
 * Returns 0, or the engine's drop reason (-600..-699),
 * M6IKE_ERR_AGENT_NOT_HANDLED (static scheme: no IKE),
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_SEND.
 */
int m6ike_agent_read_udp(m6ike_agent *a, const m6ike_ikev2_path *path,
                         const uint8_t *buf, size_t len, m6ike_tstamp now);

/*
 * An inner packet for the MN-HA tunnel.  MN: sent from its HoA (reverse
 * tunnelling); HA: intercepted for a registered HoA.  ESP tunnel mode under
 * the current SAs, then send_ip6.  Returns 0, or the drop reason:
 * M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_MALFORMED,
 * M6IKE_ERR_AGENT_NO_BINDING (HA: HoA not registered; MN: at home),
 * an ipsec code (M6IKE_ERR_IPSEC_ACQUIRE: no SA yet), M6IKE_ERR_AGENT_SEND.
 */
int m6ike_agent_write_tunnel(m6ike_agent *a, const uint8_t *pkt, size_t len,
                             m6ike_tstamp now);

/* HA: 1 and *coa (may be NULL) if hoa has a binding away from home
 * (intercept + proxy ND), 0 if not.  MN: 1 and its CoA if registered.
 * O(1). */
int m6ike_agent_lookup(const m6ike_agent *a, const m6ike_addr6 *hoa,
                       m6ike_addr6 *coa);

/* Next time handle_expiry() must run, M6IKE_TSTAMP_UNSET if none. */
m6ike_tstamp m6ike_agent_get_expiry(const m6ike_agent *a);
/* Runs every timer due at now (BU retransmissions and refreshes, binding
 * and MSRD lifetimes, IKE retransmissions, SA lifetimes) and sends what
 * results.  Returns 0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_SEND,
 * or a fatal code (M6IKE_ERR_NOMEM). */
int m6ike_agent_handle_expiry(m6ike_agent *a, m6ike_tstamp now);

/* Per-handover record (see HANDOVER RECORD); times UNSET until they
 * happen. */
typedef struct m6ike_agent_handover {
  uint32_t index;          /* 0 = bootstrap (first CoA), then 1, 2, ... */
  m6ike_scheme scheme;
  m6ike_addr6 old_coa, coa;
  m6ike_tstamp coa_set;    /* set_coa */
  m6ike_tstamp bu_sent;    /* first BU transmission for this CoA */
  m6ike_tstamp ba_received; /* accepted BA */
  m6ike_tstamp sa_ready;   /* every needed SA usable at the new CoA */
  uint32_t bu_count;       /* BU transmissions for this CoA */
  int ba_status;           /* -1 until a BA arrived */
  uint32_t ike_msgs;       /* IKE datagrams sent + received */
  uint64_t ike_bytes;      /* their UDP payload octets */
  uint32_t ike_msgs_x[M6IKE_IKEV2_X_COUNT]; /* by exchange type */
  int complete;            /* BA received and SA ready */
} m6ike_agent_handover;

/* MN: the current/last record.  0, M6IKE_ERR_NOT_FOUND (no CoA yet),
 * M6IKE_ERR_AGENT_ROLE, M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_agent_get_handover(const m6ike_agent *a, m6ike_agent_handover *out);

typedef struct m6ike_agent_stats {
  /* IKE, from the engine (including retransmissions) */
  uint64_t ike_msgs_out[M6IKE_IKEV2_X_COUNT], ike_bytes_out[M6IKE_IKEV2_X_COUNT];
  uint64_t ike_msgs_in[M6IKE_IKEV2_X_COUNT], ike_bytes_in[M6IKE_IKEV2_X_COUNT];
  uint64_t ike_dropped;
  /* mobility */
  uint64_t bu_sent, bu_retransmits, ba_received;   /* MN */
  uint64_t bu_received, ba_sent, bindings;         /* HA (bindings: now) */
  /* ESP */
  uint64_t esp_out, esp_in;
  uint64_t tunnel_out, tunnel_in;   /* inner packets in/out of the tunnel */
  uint64_t sa_installed, sa_updated, sa_deleted;
  /* drops by reason */
  uint64_t drop_malformed;          /* AGENT_MALFORMED, mh/binding codes */
  uint64_t drop_not_handled;        /* AGENT_NOT_HANDLED */
  uint64_t drop_unprotected;        /* BU/BA without ESP */
  uint64_t drop_no_sa;              /* IPsec ACQUIRE / NO_SA (out and in) */
  uint64_t drop_esp;                /* other ipsec drops (ICV, replay, ...) */
  uint64_t drop_no_binding;         /* HA write_tunnel without binding */
  uint64_t drop_send;               /* host send callback failed */
} m6ike_agent_stats;

void m6ike_agent_get_stats(const m6ike_agent *a, m6ike_agent_stats *st);

/* Bytes of heap the agent holds now: its own struct plus every block the
 * composed units allocated through it (the agent wraps the m6ike_mem it
 * was given and counts; the wrapper's 16-octet block headers are not
 * included). */
size_t m6ike_agent_memory_usage(const m6ike_agent *a);

/* The composed units, for hosts and tests that inspect them (read-only
 * use; the agent owns them).  NULL where the role/scheme has none. */
const m6ike_ipsec *m6ike_agent_ipsec(const m6ike_agent *a);
const m6ike_ikev2 *m6ike_agent_ikev2(const m6ike_agent *a);

/* ---- host views of the node's MSRD and PF_KEY bus --------------------- */
/* For hosts that expose the paper's Fig. 1-5 boxes as objects of their own
 * (ns-3: Mip6IkeMsrd, Mip6IkePfkeyBus aggregated to the node).  The agent
 * owns both; the pointers stay valid until m6ike_agent_del().  NULL if a is
 * NULL.
 *   m6ike_agent_msrd_reader: the reader the key manager itself uses.  A
 *     host may look up, count, read the generation, and subscribe to
 *     changes (m6ike_msrd_subscribe; unsubscribe before the agent is
 *     deleted); it must not open a writer.
 *   m6ike_agent_pfkey_bus: the bus between the mobility side, the key
 *     manager and the kernel IPsec.  A host may read its stats and set the
 *     monitor (m6ike_pfkey_bus_set_monitor: every message an endpoint sends
 *     or receives); it must not open endpoints or send.
 *   m6ike_agent_pfkey_endpoints: the handles of the agent's KEY_MANAGER and
 *     MOBILITY endpoints (0 where the scheme has none), to name the
 *     monitor's from/to.  Either pointer may be NULL. */
m6ike_msrd_reader *m6ike_agent_msrd_reader(m6ike_agent *a);
m6ike_pfkey_bus *m6ike_agent_pfkey_bus(m6ike_agent *a);
void m6ike_agent_pfkey_endpoints(const m6ike_agent *a, m6ike_pfkey_ep *km,
                                 m6ike_pfkey_ep *mobility);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_AGENT_H */
