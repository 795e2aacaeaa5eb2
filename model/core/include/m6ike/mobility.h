/*
 * mobility: the mobility side of one Mobile IPv6 node (the main paper's
 * "MIPv6 daemon"), sans-I/O, talking to the rest of the node only through
 * PF_KEY messages (RFC 2367 bytes with this project's extensions, see
 * pfkey.h) and the MSRD it alone writes.
 *
 *       host: set_coa, read_mh, read_pfkey, handle_expiry
 *        |                                   ^
 *        v                                   | send_ip6 (plaintext MH
 *   +-------------- m6ike_mobility --------------+  packets, to IPsec)
 *   |  MN: binding update list   HA: binding cache|  send_pfkey (bytes on
 *   |  MSRD writer (m6ike_msrd_writer, owned)     |  its MOBILITY endpoint)
 *   |  scheme logic (agent.h SCHEMES)             |  event
 *   +---------------------------------------------+
 *
 * What it does is what m6ike_agent's mobility side does (agent.h: WIRE,
 * POLICIES, SCHEMES, HANDOVER RECORD), with every action on the IPsec
 * "kernel" and the key manager expressed as a PF_KEY message:
 *   - RFC 4877 policies: X_SPDUPDATE / X_SPDADD (m6ike_ipsec_policy_pfkey);
 *     the tunnel policies' endpoints follow the CoA (MN at set_coa, HA when
 *     a BU with a new CoA is accepted).
 *   - msrd: MSRD insert/update, then SADB_ACQUIRE + Reference(MPI).
 *     renegotiate / migrate / mobike bootstrap: SADB_ACQUIRE without
 *     Reference, as the kernel's (the message a stock kernel would send for
 *     the tunnel template; in-process hosts pass it to
 *     m6ike_pfkey_bus_acquire(), see send_pfkey).
 *     migrate, migrate-kmaddress: SADB_X_MIGRATE (+ KMADDRESS).
 *     static: SADB_X_MIGRATE for the tunnel policy and SAs (the kernel moves
 *     both; the key manager ignores it).  mobike: only the policies; the key
 *     manager moves the IKE SA when it sees the MSRD's CoA change
 *     (m6ike_keymgr_poll_msrd).
 *   - SAs: the mobility side never touches keys.  It learns which SAs exist
 *     from the ADD / UPDATE / DELETE copies the kernel broadcasts to
 *     MOBILITY endpoints (pfkey_bus.h sa_notify: the host must turn it on),
 *     with this project's SA-selector extension naming the HoA: the MN
 *     releases a held BU when its transport pair is added and records
 *     sa_ready when every SA of the scheme is at the current CoA; the HA
 *     creates an MN's BA and tunnel policies (reqid from the copy's SA2)
 *     when that MN's inbound SAs are added, and moves them as UPDATE copies
 *     with the SA-move extension arrive (RFC 6275 §10.4.1: to the
 *     registered binding's CoA once one exists).
 *   - BU / BA: built here as plaintext IPv6 packets (BU: CoA -> HA with the
 *     HAO; BA: HA -> CoA with RH2) handed to send_ip6: the host runs them
 *     through IPsec (m6ike_ipsec_output), which adds ESP.  Received MH
 *     packets come in through read_mh AFTER IPsec (decrypted, checked
 *     against the inbound SPD: the host drops MH that did not come under
 *     ESP, RFC 4877 §4.3).
 *
 * IN-PROCESS OR THREE PROCESSES.  send_pfkey hands over the bytes of one
 * message; the host writes them on its endpoint (a m6ike_pfkey_bus
 * endpoint opened with the MOBILITY role, or a Unix socket framed with
 * pfkey_wire.h).  Whatever arrives on that endpoint (replies, error
 * replies, sa_notify copies) goes to m6ike_mobility_read_pfkey().  No
 * callback may call back into the object: queue and deliver after the
 * call returns (a bus's endpoint queue does exactly that).
 *
 * ORDER AT A MOVE.  When set_coa hands the key manager a request (an
 * ACQUIRE; MOBIKE through the MSRD) the BU does not leave inside set_coa:
 * get_expiry() returns the set_coa time and the BU goes at the next entry
 * point (read_pfkey of the key manager's first SA copy, read_mh, or
 * handle_expiry), so that it follows what the key manager did with the
 * request, as in the composite agent (renegotiate: the old SAs are gone
 * and IPsec drops the BU; msrd: the INFORMATIONAL leaves first).  Across
 * processes that order is a race, as it is between a real MIPv6 daemon and
 * its IKE daemon.
 *
 * REFERENCE WIRING.  model/core/test/split_test.cc (SplitHost) runs an MN
 * and an HA this way: per node an m6ike_ipsec with a m6ike_pfkey_bus
 * (kernel = m6ike_ipsec_kernel_cbs, sa_notify = 1), one pfkey_wire STREAM
 * connection per part (HELLO with the role, then the messages), the MN's
 * MSRD made with m6ike_mobility_new_in in a region the key manager reads
 * through m6ike_msrd_attach_reader; MH packets go to IPsec through
 * send_ip6 and come back after m6ike_ipsec_input to read_mh.  It puts the
 * composite agent's golden wire traces on the wire byte for byte.
 *
 * FAILURES.  The key manager's failures are not reported over PF_KEY (a
 * kernel only sees that no SA came).  The MN asks again -- the scheme's
 * bootstrap ACQUIRE -- when the SAs at the CoA are still missing the
 * engine's whole retransmission schedule (cfg.ike_retrans_timeout doubling
 * to 32 s, cfg.ike_retrans_tries + 1 sends: 31.5 s with the defaults)
 * + 1 s after the ACQUIRE; each later ACQUIRE waits the schedule + 2 s,
 * + 4 s, ... up to + 32 s, as a kernel asks again for the next packet once
 * its ACQUIRE hold-down is over.
 *
 * HA LOST (cfg.ha_lost_after, MN; agent.h HA LOST).  A refresh of the
 * registered binding retransmitted ha_lost_after times without a BA, or
 * the DELETE copies leaving no SA to the HA while registered (and no
 * key-manager operation of ours running), makes this object report
 * M6IKE_AGENT_EV_HA_LOST and register anew from the current CoA: the
 * binding update list back to IDLE (m6ike_bul_forget), its view of the SAs
 * cleared, the MSRD entry REMOVED and a NEW one inserted (a new MPI: the
 * key manager's cue to forget its old IKE SA and bootstrap, keymgr.h HA
 * LOST), then the scheme's first-CoA sequence (ACQUIRE, held BU, first
 * registration timer, a new handover record).  Static scheme: only the
 * new first registration.  0 = off.
 *
 * HANDOVER RECORD.  m6ike_agent_handover, as the agent fills it; the IKE
 * message counts (ike_msgs, ike_bytes, ike_msgs_x) come from the key
 * manager, which this object cannot see: the host reports that key
 * manager's cumulative counts with m6ike_mobility_set_ike_counts() (an
 * in-process host before set_coa and after each call; the emu runner from
 * iked's log); without it they stay 0.  IKE_STARTED / IKE_COMPLETED events
 * are derived from PF_KEY: started at the ACQUIRE / X_MIGRATE, completed
 * (status 0) when the SAs are ready at the CoA, or with
 * M6IKE_ERR_IKEV2_TIMEOUT at the retry above.
 *
 * ERRORS.  Codes -170..-179 belong to this unit: a part of the agent's
 * range -150..-199 (common.h; their text comes through the agent's
 * m6ike_agent_strerror_), plus the agent's M6IKE_ERR_AGENT_* configuration
 * codes, which it shares.
 */
#ifndef M6IKE_MOBILITY_H
#define M6IKE_MOBILITY_H

#include "m6ike/agent.h"
#include "m6ike/common.h"
#include "m6ike/pfkey.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes of this unit (-170..-179). */
enum {
  M6IKE_ERR_MOBILITY_PFKEY = -170,   /* read_pfkey: the bytes are not a
                                        valid PF_KEY message */
  M6IKE_ERR_MOBILITY_REFUSED = -171, /* read_pfkey: an error reply (the
                                        kernel refused one of our messages;
                                        its errno is logged) */
  M6IKE_ERR_MOBILITY_SEND = -172,    /* send_pfkey failed */
  M6IKE_ERR_MOBILITY_IGNORED = -173  /* read_pfkey / read_mh: valid but
                                        not for this node (e.g. an SA of
                                        another node, a BA at the HA) */
};

/* Error text for this unit's codes, NULL for codes it does not own. */
const char *m6ike_mobility_strerror_(int code);

typedef struct m6ike_mobility m6ike_mobility;

typedef struct m6ike_mobility_callbacks {
  void *user_data;
  m6ike_rand_cb rand; /* required: MSRD MPIs, BU sequence numbers, hash
                         seeds */
  /* A plaintext IPv6 packet (a BU or BA, RFC 4877 addressing) for IPsec's
   * outbound processing and the wire.  Returns 0 if it left, the negative
   * code IPsec dropped it with (e.g. M6IKE_ERR_IPSEC_ACQUIRE: no SA; the
   * BU then did not leave: EV_DROP, not counted as sent), or a positive
   * value if the host could not send it (counted, M6IKE_ERR_AGENT_SEND).
   * A host that cannot know IPsec's verdict (an asynchronous socket)
   * returns 0. */
  int (*send_ip6)(const uint8_t *pkt, size_t len, void *user_data);
  /* One PF_KEY message for the kernel side on our MOBILITY endpoint.
   * as_kernel != 0: a stock kernel's own ACQUIRE (no Reference) for the
   * tunnel template, modelled here because this object is where the move
   * is known: an in-process host passes it to m6ike_pfkey_bus_acquire()
   * (the kernel originates it), a three-process host sends it like any
   * other message and the IPsec daemon broadcasts it as the kernel's.
   * Returns 0 or non-zero (M6IKE_ERR_MOBILITY_SEND). */
  int (*send_pfkey)(const uint8_t *msg, size_t len, int as_kernel,
                    void *user_data);
  void (*event)(const m6ike_agent_event *ev, void *user_data);
  void (*log)(int level, const char *msg, void *user_data); /* may be NULL */
} m6ike_mobility_callbacks;

/*
 * Creates the mobility side of a node from the agent's configuration (the
 * fields it uses: role, scheme, ha, hoa, home_prefix/plen, lifetime,
 * bindack_*, expected_mns, max_mns; ids, PSK and proposals are checked as
 * m6ike_agent_new() checks them but not used) and sends its initial
 * policies through send_pfkey (so the host's endpoint must be able to take
 * them: open it first).  Returns 0, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_AGENT_ROLE, M6IKE_ERR_AGENT_SCHEME, M6IKE_ERR_AGENT_ADDRESS,
 * M6IKE_ERR_AGENT_PROPOSAL, M6IKE_ERR_AGENT_IDENTITY, M6IKE_ERR_AGENT_PSK,
 * M6IKE_ERR_AGENT_CONFIG, M6IKE_ERR_MOBILITY_SEND, M6IKE_ERR_RANDOM,
 * M6IKE_ERR_NOMEM.
 */
int m6ike_mobility_new(m6ike_mobility **pm, const m6ike_agent_config *cfg,
                       const m6ike_mobility_callbacks *cbs,
                       const m6ike_mem *mem);
/* Frees everything (no callbacks).  NULL is a no-op. */
void m6ike_mobility_del(m6ike_mobility *m);

/* The MSRD this object writes; readers come from it
 * (m6ike_msrd_reader_new) or, across processes, from a shared region the
 * host created with m6ike_msrd_new_in (not this object's: see
 * m6ike_mobility_new_in). */
m6ike_msrd *m6ike_mobility_msrd(m6ike_mobility *m);

/*
 * As m6ike_mobility_new, with the MSRD placed in a region the host
 * provides (e.g. POSIX shared memory that the key manager maps read-only;
 * msrd.h SHARED REGION): size at least m6ike_msrd_region_size(role,
 * max_entries) with max_entries = 1 (MN) or cfg->max_mns (HA; required
 * > 0).  The region must outlive the object.  Codes of _new, plus the
 * msrd region codes.
 */
int m6ike_mobility_new_in(m6ike_mobility **pm, const m6ike_agent_config *cfg,
                          const m6ike_mobility_callbacks *cbs, void *region,
                          size_t region_size, const m6ike_mem *mem);

/* MN: a new usable CoA (agent.h m6ike_agent_set_coa: same semantics and
 * record).  0, M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_AGENT_ROLE,
 * M6IKE_ERR_BINDING_BAD_COA, M6IKE_ERR_MOBILITY_SEND, M6IKE_ERR_NOMEM. */
int m6ike_mobility_set_coa(m6ike_mobility *m, const m6ike_addr6 *coa,
                           m6ike_tstamp now);

/* HA, static scheme: admits hoa (a binding-cache record; its policies
 * follow from the ADD copies of the SAs the key manager's
 * m6ike_keymgr_add_mn installs, whose SA2 carries the reqid).  Other
 * schemes: 0, nothing.  0, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_AGENT_ROLE, M6IKE_ERR_AGENT_ADDRESS, M6IKE_ERR_AGENT_STATE
 * (already provisioned), M6IKE_ERR_LIMIT (cfg.max_mns records),
 * M6IKE_ERR_NOMEM. */
int m6ike_mobility_add_mn(m6ike_mobility *m, const m6ike_addr6 *hoa,
                          m6ike_tstamp now);

/*
 * A Mobility Header packet addressed to this node, as IPsec's inbound
 * processing left it (ESP removed; IPv6 header, HAO / RH2, MH).  MN: a BA;
 * HA: a BU (a BA goes back through send_ip6).  Returns 0, or the drop
 * reason: M6IKE_ERR_INVALID_ARGUMENT, an mh code (-200..-299), a binding
 * code (-300..-399), M6IKE_ERR_MOBILITY_IGNORED (not a message this role
 * handles), M6IKE_ERR_AGENT_SEND (send_ip6 of the BA failed),
 * M6IKE_ERR_NOMEM (fatal).
 */
int m6ike_mobility_read_mh(m6ike_mobility *m, const uint8_t *pkt, size_t len,
                           m6ike_tstamp now);

/*
 * One PF_KEY message that arrived on our endpoint.  Returns 0 if used
 * (an sa_notify copy of an ADD / UPDATE / DELETE, a reply to one of our
 * policy messages), or M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_MOBILITY_PFKEY
 * (undecodable), M6IKE_ERR_MOBILITY_REFUSED (an error reply),
 * M6IKE_ERR_MOBILITY_IGNORED, M6IKE_ERR_MOBILITY_SEND (a BU released by an
 * ADD could not be handed over), M6IKE_ERR_NOMEM.
 */
int m6ike_mobility_read_pfkey(m6ike_mobility *m, const uint8_t *msg,
                              size_t len, m6ike_tstamp now);

/* The key manager's cumulative IKE counts (datagrams sent + received, by
 * exchange type, and their octets), for the handover record.  NULL
 * msgs_x: no-op. */
void m6ike_mobility_set_ike_counts(m6ike_mobility *m,
                                   const uint64_t msgs_x[M6IKE_IKEV2_X_COUNT],
                                   uint64_t bytes);

/* Next time handle_expiry must run (BU retransmissions and refreshes,
 * binding and MSRD lifetimes, the ACQUIRE retry), M6IKE_TSTAMP_UNSET if
 * none. */
m6ike_tstamp m6ike_mobility_get_expiry(const m6ike_mobility *m);
/* Runs the timers due at now.  0, M6IKE_ERR_INVALID_ARGUMENT,
 * M6IKE_ERR_AGENT_SEND, M6IKE_ERR_MOBILITY_SEND, M6IKE_ERR_NOMEM. */
int m6ike_mobility_handle_expiry(m6ike_mobility *m, m6ike_tstamp now);

/* MN: the current record (agent.h HANDOVER RECORD).  0,
 * M6IKE_ERR_NOT_FOUND (no CoA yet), M6IKE_ERR_AGENT_ROLE,
 * M6IKE_ERR_INVALID_ARGUMENT. */
int m6ike_mobility_get_handover(const m6ike_mobility *m,
                                m6ike_agent_handover *out);

/* As m6ike_agent_lookup: HA: 1 and the CoA if hoa is registered away from
 * home; MN: 1 and its CoA if registered.  0 otherwise. */
int m6ike_mobility_lookup(const m6ike_mobility *m, const m6ike_addr6 *hoa,
                          m6ike_addr6 *coa);

/* The mobility counters of m6ike_agent_stats (bu_*, ba_*, bindings, the
 * drops it saw); other fields 0. */
void m6ike_mobility_get_stats(const m6ike_mobility *m, m6ike_agent_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_MOBILITY_H */
