/*
 * mip6ike: one Mobile IPv6 node (MN or HA) in ns-3, driving the C core's
 * m6ike_agent (model/core/include/m6ike/agent.h).
 *
 * Mip6IkeAgent is aggregated to a node (Install()).  It owns the core
 * agent, its crypto backend (OpenSSL, or the core's NULL cipher with
 * NullCipher=true), a Mip6IkeCoreTimer for the agent's expiry and a
 * Mip6IkeRandom for its randomness (AssignStreams()), and wires it into
 * the node's IPv6 stack:
 *
 *   receive  MH (135) and ESP (50): Mip6IkeMobilityL4Protocol and
 *            Mip6IkeEspL4Protocol rebuild the packet as on the wire (with
 *            the HAO / RH2 recorded by Mip6IkeHomeAddressOption /
 *            Mip6IkeType2Routing) -> m6ike_agent_read_ip6();
 *            IKE: the node's Mip6IkeIkeDaemon application (UDP 500 and
 *            4500, mip6ike-ike-daemon.h) -> m6ike_agent_read_udp();
 *            tunnel: the VirtualNetDevice's send callback ->
 *            m6ike_agent_write_tunnel() (see mip6ike-routing.h);
 *   send     send_ip6: Ipv6L3Protocol::Send() with the packet after its
 *            40-octet header (extension headers included), the header's
 *            source, destination and Next Header, no route (routing picks
 *            the interface); hop limit and traffic class are ns-3's;
 *            send_udp: the IKE daemon's Send() (UdpL4Protocol::Send() from
 *            the path's local address and port; dropped and counted while
 *            the daemon is not running);
 *            deliver_ip6: the tunnel device's Receive() (MN: to the HoA;
 *            HA: forwarded by ns-3);
 *   events   trace sources (below), the handover records, key logs.
 *
 * ARCHITECTURE (main paper Fig. 1-5; doc/NS3-MODELS.md).  Install()
 * also aggregates to the node the node's MSRD (Mip6IkeMsrd) and PF_KEY bus
 * (Mip6IkePfkeyBus), views of the core agent's own, with their trace
 * sources, and adds a Mip6IkeIkeDaemon application to the node unless one
 * is there already (Mip6IkeHelper adds its own, with its StartTime /
 * StopTime); the agent plays the mobility side and hosts the key manager.
 *
 * The movement detector (MN) and the proxy ND (HA) are aggregated to the
 * node too (node->GetObject<Mip6IkeMovementDetector>(), Config paths
 * "/NodeList/<i>/$ns3::Mip6IkeProxyNd/Advertisement").
 *
 * MN: a Mip6IkeMovementDetector finds the CoA (RAs, SLAAC, DadMode) and
 * the agent calls m6ike_agent_set_coa() when it is usable; the HoA sits
 * on the tunnel device; Mip6IkeMnRouting routes the node's traffic from
 * the HoA into the tunnel.  HA: Mip6IkeHaRouting intercepts packets for
 * registered HoAs, Mip6IkeProxyNd answers NS for them on the home link;
 * Install() sets the HA's Ipv6L3Protocol StrongEndSystemModel to false, so
 * that its home-link address is reachable through any of its interfaces.
 *
 * PROCESSING TIME.  Every call into the core (a packet in, a datagram in,
 * a tunnel packet, a CoA, a timer) costs simulated CPU time on the node:
 *
 *   measured  the calling thread's CPU time spent in the call
 *             (clock_gettime(CLOCK_THREAD_CPUTIME_ID) before and after)
 *             x CpuSpeedFactor.  Realistic but not reproducible run to run.
 *   fixed     (default) from what the call did, counted by the core's
 *             crypto meter (m6ike/crypto_meter.h) wrapped around the
 *             backend: DH key generations and derivations x DhCost (or
 *             DhCostPerGroup for listed groups), signatures x SignCost,
 *             verifications x VerifyCost, cipher octets x
 *             CipherCostPerByte, MAC octets x MacCostPerByte, plus
 *             MessageCost per packet handled (each packet, datagram or
 *             tunnel packet given to the core, and each one it sends).
 *             Reproducible; the defaults model a 2020s x86 core.
 *
 * The node has one CPU for the agent: it is busy until "busy-until".  The
 * outputs of a call (packets, datagrams, delivered tunnel packets) are
 * queued and leave at the end of the call's processing (now + cost, or
 * after the work already queued); events (trace sources) fire at the
 * simulated time of the call.  An input that arrives while the CPU is busy
 * waits: it is handed to the core when the CPU is free, with that time as
 * "now".  Timer expiries that fall while busy run when it is free.  The
 * ProcessingTime trace reports each call's cost.
 *
 * KEY LOGS.  With KeyLogDirectory set, the agent writes Wireshark's
 * "<dir>/<name>-ikev2_decryption_table" and "<dir>/<name>-esp_sa"
 * (name = NodeName attribute, or the node's Names name, or "node<id>"):
 * truncated at Install(), one line appended per line the core hands over,
 * rewritten whenever the core asks for keylog_reset.  (An SA whose
 * endpoints move gets a second line: both decrypt, before and after.)
 *
 * TOPOLOGY NOTES.  ns-3 3.37's Ipv6L3Protocol::IpForward drops packets to
 * 2001:db8::/32 (documentation prefix): scenarios whose HA forwards must
 * use other prefixes.
 *
 * RETURNING HOME (RFC 6275 §11.5.4).  An RA of the home prefix on one of
 * the MN's links: the HoA moves from the tunnel device to that interface
 * (no DAD), Mip6IkeMnRouting stops tunnelling, the core deregisters
 * (set_coa(HoA): BU lifetime 0 under the transport SA) and, once the BA is
 * in, the MN multicasts an NA for its HoA (O=1) so that the home link's
 * neighbours stop using the HA's link-layer address.  Leaving home again
 * moves the HoA back to the tunnel device.  (The MN answers NS for its HoA
 * from the moment it is back, slightly before §11.5.4 allows.)
 */
#ifndef MIP6IKE_AGENT_H
#define MIP6IKE_AGENT_H

#include "mip6ike-core-adapter.h"
#include "mip6ike-movement.h"

#include "ns3/callback.h"
#include "ns3/event-id.h"
#include "ns3/ipv6-address.h"
#include "ns3/ipv6-header.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <m6ike/agent.h>
#include <m6ike/crypto_meter.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <vector>

namespace ns3
{

class Socket;
class Mip6IkeIkeDaemon;
class Mip6IkeMsrd;
class Mip6IkePfkeyBus;
class VirtualNetDevice;
class Mip6IkeMobilityL4Protocol;
class Mip6IkeEspL4Protocol;
class Mip6IkeHomeAddressOption;
class Mip6IkeType2Routing;
class Mip6IkeMnRouting;
class Mip6IkeHaRouting;
class Mip6IkeProxyNd;
class Packet;

/**
 * \ingroup mip6ike
 * \brief The times of one handover of a mobile node (index 0 = the
 * bootstrap at the first CoA), in simulated time; Time::Max() = has not
 * happened (yet).
 *
 * l2Start, movementDetected, coaReady and trafficResumed are the ns-3
 * side's; buSent, baReceived, saReady, buCount, baStatus, ikeMsgs and
 * ikeBytes come from the core's m6ike_agent_handover record.
 */
struct Mip6IkeHandoverRecord
{
    uint32_t index = 0;                     //!< 0 = bootstrap
    Ipv6Address oldCoa;                     //!< previous CoA (:: at bootstrap)
    Ipv6Address coa;                        //!< the new CoA
    Time l2Start = Time::Max();             //!< NotifyL2Handover()
    Time movementDetected = Time::Max();    //!< RA with a new prefix
    Time coaReady = Time::Max();            //!< CoA usable (after DAD), set_coa
    Time buSent = Time::Max();              //!< first BU for this CoA left
    Time baReceived = Time::Max();          //!< accepted BA
    Time saReady = Time::Max();             //!< every SA needed at the CoA usable
    Time trafficResumed = Time::Max();      //!< first tunnel payload delivered after coaReady
    uint32_t buCount = 0;                   //!< BU transmissions
    int baStatus = -1;                      //!< BA status, -1 none yet
    uint32_t ikeMsgs = 0;                   //!< IKE datagrams sent + received
    uint64_t ikeBytes = 0;                  //!< their UDP payload octets
    bool complete = false;                  //!< BA received and SAs ready
};

/**
 * \ingroup mip6ike
 * \brief A mobile node or home agent: the C core's m6ike_agent on an ns-3
 * node (see mip6ike-agent.h for the wiring and the processing-time model).
 *
 * Typical use (Mip6IkeHelper does this):
 * \code
 *   Ptr<Mip6IkeAgent> ha = CreateObject<Mip6IkeAgent>();
 *   ha->SetAttribute("Role", StringValue("ha"));
 *   ha->SetAttribute("HomeAgentAddress", Ipv6AddressValue("2001:db8:1::1"));
 *   ha->SetAttribute("HomePrefix", Ipv6AddressValue("2001:db8:1::"));
 *   ha->Install(haNode, haHomeDevice);
 *   Ptr<Mip6IkeAgent> mn = CreateObject<Mip6IkeAgent>();
 *   mn->SetAttribute("Role", StringValue("mn"));
 *   mn->SetAttribute("HomeAddress", Ipv6AddressValue("2001:db8:1::100"));
 *   ... same HomeAgentAddress, HomePrefix, Psk ...
 *   mn->Install(mnNode, nullptr);   // RAs on the MN's devices do the rest
 * \endcode
 * Attributes are read at Install(); changing them later has no effect.
 */
class Mip6IkeAgent : public Object
{
  public:
    /** Processing-time modes (attribute ProcessingMode). */
    enum ProcessingMode
    {
        PROCESSING_FIXED = 0,    //!< per-operation costs
        PROCESSING_MEASURED = 1, //!< thread CPU time x CpuSpeedFactor
    };

    /**
     * TracedCallback signature: the link layer changed.
     * \param [in] device The device (may be null).
     */
    typedef void (*L2TracedCallback)(Ptr<NetDevice> device);
    /**
     * TracedCallback signature: a movement (RA with a new prefix).
     * \param [in] prefix The new /64 prefix.
     * \param [in] router The RA's sender.
     */
    typedef void (*MovementTracedCallback)(Ipv6Address prefix, Ipv6Address router);
    /**
     * TracedCallback signature: an address (CoaReady, SaReady, TrafficResumed).
     * \param [in] coa The care-of address concerned.
     */
    typedef void (*AddressTracedCallback)(Ipv6Address coa);
    /**
     * TracedCallback signature: a BU left / a BA was accepted / a binding
     * cache entry changed.
     * \param [in] hoa The home address.
     * \param [in] coa The care-of address.
     * \param [in] seq The sequence number.
     * \param [in] status BuSent: 1 for a retransmission, 0 otherwise;
     *             BaReceived / BindingCacheUpdated: the BA status.
     */
    typedef void (*BindingTracedCallback)(Ipv6Address hoa,
                                          Ipv6Address coa,
                                          uint16_t seq,
                                          int status);
    /**
     * TracedCallback signature: an IKE operation started / completed.
     * \param [in] hoa The home address concerned (:: if unknown).
     * \param [in] mpi The MSRD entry (0 if none).
     * \param [in] status 0 when started; when completed 0 or a core error.
     */
    typedef void (*IkeTracedCallback)(Ipv6Address hoa, uint32_t mpi, int status);
    /**
     * TracedCallback signature: an ESP SA was installed / updated.
     * \param [in] spi Its SPI.
     * \param [in] hoa The home address concerned.
     * \param [in] coa The care-of address it is bound to.
     */
    typedef void (*SaTracedCallback)(uint32_t spi, Ipv6Address hoa, Ipv6Address coa);
    /**
     * TracedCallback signature: a packet was dropped.
     * \param [in] reason The core's error code (negative).
     * \param [in] what Its text (m6ike_strerror) and where.
     */
    typedef void (*DropTracedCallback)(int reason, const std::string& what);

    /**
     * HaLost: the home agent lost our binding and SAs.
     * \param coa the CoA the new registration starts from
     * \param status unanswered refresh retransmissions, 0 = every SA deleted
     */
    typedef void (*HaLostCallback)(Ipv6Address coa, int status);
    /**
     * TracedCallback signature: an inner packet left the tunnel.
     * \param [in] packet The inner IPv6 packet (header first).
     */
    typedef void (*TunnelTracedCallback)(Ptr<const Packet> packet);
    /**
     * TracedCallback signature: one call into the core was charged.
     * \param [in] cost Its simulated processing time.
     * \param [in] call "read_ip6", "read_udp", "write_tunnel", "set_coa",
     *             "expiry", "add_mn".
     */
    typedef void (*ProcessingTracedCallback)(Time cost, const std::string& call);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeAgent();
    ~Mip6IkeAgent() override;

    /**
     * \brief Create the core agent from the attributes and wire it into the
     * node (aggregates this object to it).  Fatal error, naming the
     * attribute, on a bad configuration.
     *
     * The node needs InternetStackHelper's IPv6; the tunnel routing goes
     * above its routing protocol (Mip6IkeRoutingBase).  HA: homeDevice is its device on the home link
     * (proxy ND), forwarding is enabled on every interface.  MN: homeDevice
     * is ignored; movement detection watches every device but the tunnel.
     *
     * \param [in] node The node.
     * \param [in] homeDevice HA: the home-link device; MN: unused (null).
     */
    void Install(Ptr<Node> node, Ptr<NetDevice> homeDevice);

    /**
     * \brief MN: the link layer changed (the scenario calls this at the
     * L2 handover, or connects it to a device trace).  Starts a new
     * handover record's l2Start, fires L2HandoverStart, and lets the
     * movement detector send an RS.
     * \param [in] device The device (null: any).
     */
    void NotifyL2Handover(Ptr<NetDevice> device);

    /**
     * \brief MN: use this CoA now, bypassing movement detection (tests,
     * scenarios without RAs).  The address must already be on an
     * interface of the node; a default route is the caller's business.
     * \param [in] coa The care-of address.
     */
    void SetCareOfAddress(Ipv6Address coa);

    /**
     * \brief HA: provision a mobile node (required by the static scheme,
     * harmless otherwise).
     * \param [in] hoa Its home address.
     */
    void AddMobileNode(Ipv6Address hoa);

    /**
     * \brief HA: whether hoa has a binding away from home (O(1)).
     * \param [in] hoa A home address.
     * \return true if registered away from home.
     */
    bool IsRegistered(Ipv6Address hoa) const;

    /**
     * \brief Assign fixed random variable streams.
     * \param [in] stream First stream index.
     * \return Number of streams used.
     */
    int64_t AssignStreams(int64_t stream);

    /** \return MN: every handover record so far (bootstrap first) */
    const std::vector<Mip6IkeHandoverRecord>& GetHandoverRecords() const;
    /** \return MN: the latest handover record (a default one if none) */
    Mip6IkeHandoverRecord GetHandoverRecord() const;
    /** \return the core's counters */
    m6ike_agent_stats GetStats() const;
    /** \return the total simulated processing time charged so far */
    Time GetProcessingTime() const;
    /** \return the time until which the node's CPU is busy */
    Time GetBusyUntil() const;
    /** \return the core agent (null before Install()); for tests */
    m6ike_agent* GetCoreAgent() const;
    /** \return the tunnel device (null before Install()) */
    Ptr<VirtualNetDevice> GetTunnelDevice() const;
    /** \return MN: the movement detector (null for an HA) */
    Ptr<Mip6IkeMovementDetector> GetMovementDetector() const;
    /** \return the node's IKE daemon (null before Install()) */
    Ptr<Mip6IkeIkeDaemon> GetIkeDaemon() const;
    /** \return the node's MSRD view (null before Install()) */
    Ptr<Mip6IkeMsrd> GetMsrd() const;
    /** \return the node's PF_KEY bus view (null before Install()) */
    Ptr<Mip6IkePfkeyBus> GetPfkeyBus() const;
    /** \return the role: M6IKE_AGENT_MN or M6IKE_AGENT_HA */
    m6ike_agent_role GetRole() const;
    /** \return the scheme in use */
    m6ike_scheme GetScheme() const;

  protected:
    void DoDispose() override;

  private:
    /** One queued output of a call. */
    typedef std::function<void()> Output;

    // ---- validated string attributes (fatal error naming the value)
    /** \param v "mn" or "ha" */
    void SetRoleName(std::string v);
    /** \return the role name */
    std::string GetRoleName() const;
    /** \param v a scheme name (m6ike_scheme_parse) */
    void SetSchemeName(std::string v);
    /** \return the scheme name */
    std::string GetSchemeName() const;
    /** \param v "fixed" or "measured" */
    void SetProcessingModeName(std::string v);
    /** \return the processing mode name */
    std::string GetProcessingModeName() const;
    /** \param v "on", "off" or "optimistic" */
    void SetDadModeName(std::string v);
    /** \return the DAD mode name */
    std::string GetDadModeName() const;
    /** \param v "group:time,..." e.g. "14:1500us,31:50us" */
    void SetDhCostPerGroup(std::string v);
    /** \return the DhCostPerGroup string */
    std::string GetDhCostPerGroup() const;

    // ---- the processing-time model
    /**
     * Run one call into the core now or when the CPU is free.
     * \param name call name (ProcessingTime trace)
     * \param messages packets the call is handed (MessageCost)
     * \param call the call; gets "now"; returns its result
     */
    void Process(const std::string& name, uint32_t messages, std::function<int(m6ike_tstamp)> call);
    /** Run the first queued input. */
    void RunQueued();
    /**
     * Run a call at the current time and charge it.
     * \param name call name
     * \param messages packets handed in
     * \param call the call
     */
    void Execute(const std::string& name, uint32_t messages, const std::function<int(m6ike_tstamp)>& call);
    /** \return the expiry the timer should wait for (not before busy-until) */
    m6ike_tstamp TimerExpiry();
    /** \param now core time \return handle_expiry()'s result */
    int TimerHandle(m6ike_tstamp now);
    /** Flush the outputs of one call (scheduled at its end). \param outputs them */
    void Flush(std::shared_ptr<std::vector<Output>> outputs);

    // ---- core callbacks (C), user_data = this
    static int CbSendIp6(const uint8_t* pkt, size_t len, void* user);
    static int CbSendUdp(const m6ike_ikev2_path* path, const uint8_t* buf, size_t len, void* user);
    static int CbDeliverIp6(const uint8_t* pkt, size_t len, void* user);
    static void CbEvent(const m6ike_agent_event* ev, void* user);
    static void CbLog(int level, const char* msg, void* user);
    static void CbKeylog(int kind, const char* line, void* user);
    static void CbKeylogReset(int kind, void* user);

    // ---- what the outputs do when they leave
    /** \param pkt a whole IPv6 packet to send */
    void DoSendIp6(std::vector<uint8_t> pkt);
    /** \param path UDP path \param data payload */
    void DoSendUdp(m6ike_ikev2_path path, std::vector<uint8_t> data);
    /** \param pkt an inner packet for the IP stack */
    void DoDeliver(std::vector<uint8_t> pkt);
    /** \param ev a core event */
    void HandleEvent(const m6ike_agent_event& ev);

    // ---- inputs
    /** \param wire a rebuilt MH/ESP packet \param iif interface */
    void ReceiveWire(const std::vector<uint8_t>& wire, uint32_t iif);
    /**
     * A datagram from the IKE daemon for the key manager.
     * \param path addresses and ports
     * \param data UDP payload
     */
    void ReceiveIke(const m6ike_ikev2_path& path, const std::vector<uint8_t>& data);
    /**
     * An MH / ESP packet the L4 protocol could not rebuild (reported on the
     * Drop trace as M6IKE_ERR_AGENT_MALFORMED).
     * \param header its IPv6 header
     * \param packet the L4 part
     */
    void L4Drop(const Ipv6Header& header, Ptr<const Packet> packet);
    /**
     * Tunnel device send callback.
     * \param packet inner packet (IPv6 header first)
     * \param source unused
     * \param dest unused
     * \param protocol 0x86DD
     * \return true
     */
    bool TunnelSend(Ptr<Packet> packet, const Address& source, const Address& dest, uint16_t protocol);
    /** \param coa usable CoA \param iface its interface */
    void CoaUsable(Ipv6Address coa, uint32_t iface);
    /** \param prefix new prefix \param router sender \param iface interface */
    void MovementSeen(Ipv6Address prefix, Ipv6Address router, uint32_t iface);
    /**
     * MN: an RA of the home prefix: the HoA moves from the tunnel device to
     * that interface, tunnelling stops, and the core deregisters
     * (set_coa(HoA)).
     * \param iface the interface on the home link
     */
    void HomeReached(uint32_t iface);
    /** MN: leaving home: the HoA goes back to the tunnel device. */
    void LeaveHome();
    /** \param addr HoA \return registered away from home */
    bool Lookup(Ipv6Address addr);

    // ---- setup helpers
    /** Build the core config and agent. */
    void CreateCore();
    /** Insert L4s, extension handlers, sockets, tunnel, routing. */
    void WireNode(Ptr<NetDevice> homeDevice);
    /** \return the latest record, creating one if needed \param forNewHandover start one */
    Mip6IkeHandoverRecord& CurrentRecord(bool forNewHandover);
    /** Copy the core's record into the current one. */
    void SyncCoreRecord();
    /** \param kind 0/1 \return the key-log file path */
    std::string KeyLogPath(int kind) const;
    /** \param reason code \param where context */
    void ReportDrop(int reason, const std::string& where);

    // ---- attributes
    std::string m_roleName;       //!< "mn" / "ha"
    std::string m_schemeName;     //!< scheme name
    Ipv6Address m_hoa;            //!< HomeAddress
    Ipv6Address m_haAddress;      //!< HomeAgentAddress
    Ipv6Address m_homePrefix;     //!< HomePrefix
    uint8_t m_homePlen;           //!< HomePrefixLength
    uint16_t m_lifetime;          //!< Lifetime (4 s units)
    std::string m_ikeProposal;    //!< IkeProposal
    std::string m_espProposal;    //!< EspProposal
    std::string m_psk;            //!< Psk
    std::string m_localId;        //!< LocalId
    std::string m_remoteId;       //!< RemoteId
    bool m_nullCipher;            //!< NullCipher
    std::string m_processingModeName; //!< ProcessingMode
    double m_cpuSpeedFactor;      //!< CpuSpeedFactor
    Time m_dhCost;                //!< DhCost
    std::string m_dhCostPerGroup; //!< DhCostPerGroup "group:time,..."
    Time m_signCost;              //!< SignCost
    Time m_verifyCost;            //!< VerifyCost
    Time m_cipherCostPerByte;     //!< CipherCostPerByte
    Time m_macCostPerByte;        //!< MacCostPerByte
    Time m_messageCost;           //!< MessageCost
    std::string m_dadModeName;    //!< DadMode
    Time m_retransTimer;          //!< RetransTimer
    std::string m_keyLogDir;      //!< KeyLogDirectory
    std::string m_nodeName;       //!< NodeName
    uint16_t m_tunnelMtu;         //!< TunnelMtu
    bool m_buOnSaUp;              //!< BuOnSaUp
    uint32_t m_livenessS;         //!< IkeLiveness (s)
    uint32_t m_haLostAfter;       //!< HaLostAfter
    uint32_t m_expectedMns;       //!< ExpectedMns
    bool m_keyLogEsp;             //!< KeyLogEsp

    // ---- state
    m6ike_agent_role m_role;                 //!< parsed role
    m6ike_scheme m_scheme;                   //!< parsed scheme
    ProcessingMode m_processingMode;         //!< parsed mode
    std::map<uint16_t, Time> m_groupCosts;   //!< parsed DhCostPerGroup
    Ptr<Node> m_node;                        //!< our node
    m6ike_agent* m_agent;                    //!< the core agent
    m6ike_crypto* m_cryptoBase;              //!< OpenSSL backend (owned) or null
    m6ike_crypto_meter m_meter;              //!< meter around the backend
    std::vector<uint8_t> m_pskBytes;         //!< PSK octets given to the core
    Ptr<Mip6IkeCoreTimer> m_timer;           //!< the agent's expiry
    Ptr<Mip6IkeRandom> m_random;             //!< its randomness
    Ptr<VirtualNetDevice> m_tunnel;          //!< tunnel device
    uint32_t m_tunnelIf;                     //!< its IPv6 interface
    Ptr<Mip6IkeMobilityL4Protocol> m_mh;     //!< L4 135
    Ptr<Mip6IkeEspL4Protocol> m_esp;         //!< L4 50
    Ptr<Mip6IkeHomeAddressOption> m_hao;     //!< option 201
    Ptr<Mip6IkeType2Routing> m_rh2;          //!< routing type 2
    Ptr<Mip6IkeMnRouting> m_mnRouting;       //!< MN routing
    Ptr<Mip6IkeHaRouting> m_haRouting;       //!< HA routing
    Ptr<Mip6IkeProxyNd> m_proxyNd;           //!< HA proxy ND
    Ptr<Mip6IkeMovementDetector> m_movement; //!< MN movement detection
    Ptr<Mip6IkeIkeDaemon> m_daemon;          //!< the node's IKE daemon (UDP 500/4500)
    Ptr<Mip6IkeMsrd> m_msrdView;             //!< the node's MSRD (aggregated)
    Ptr<Mip6IkePfkeyBus> m_pfkeyView;        //!< the node's PF_KEY bus (aggregated)
    Time m_busyUntil;                        //!< CPU busy until
    Time m_totalCost;                        //!< charged so far
    bool m_inCall;                           //!< inside a core call
    std::shared_ptr<std::vector<Output>> m_outputs; //!< outputs of the current call
    /** A queued input: name, messages, call. */
    struct Queued
    {
        std::string name;                          //!< call name
        uint32_t messages;                         //!< MessageCost units
        std::function<int(m6ike_tstamp)> call;     //!< the call
    };
    std::deque<Queued> m_queue;                    //!< inputs waiting for the CPU
    EventId m_queueEvent;                          //!< runs m_queue's head
    std::vector<Mip6IkeHandoverRecord> m_records;  //!< MN handover records
    bool m_waitTraffic;                            //!< MN: TrafficResumed pending
    bool m_atHome;                                 //!< MN: HoA on a home-link interface
    uint32_t m_homeIf;                             //!< MN: that interface
    /** MN: per home-link interface, the sender of the NA for the HoA once
     *  back home (kept: the node holds its receive handler) */
    std::map<uint32_t, Ptr<Mip6IkeProxyNd>> m_homeNds;
    Time m_pendingL2;                              //!< L2 hint before the movement
    Ipv6Address m_pendingPrefix;                   //!< unused bookkeeping
    Time m_pendingMovement;                        //!< movement before CoA usable
    std::map<int, std::vector<std::string>> m_keyLines; //!< key-log lines per kind

    // ---- trace sources
    TracedCallback<Ptr<NetDevice>> m_l2Trace;                              //!< L2HandoverStart
    TracedCallback<Ipv6Address, Ipv6Address> m_movementTrace;              //!< MovementDetected
    TracedCallback<Ipv6Address> m_coaReadyTrace;                           //!< CoaReady
    TracedCallback<Ipv6Address, Ipv6Address, uint16_t, int> m_buSentTrace; //!< BuSent
    TracedCallback<Ipv6Address, Ipv6Address, uint16_t, int> m_baTrace;     //!< BaReceived
    TracedCallback<Ipv6Address, Ipv6Address, uint16_t, int> m_bcTrace;     //!< BindingCacheUpdated
    TracedCallback<Ipv6Address, uint32_t, int> m_ikeStartedTrace;          //!< IkeExchangeStarted
    TracedCallback<Ipv6Address, uint32_t, int> m_ikeCompletedTrace;        //!< IkeExchangeCompleted
    TracedCallback<uint32_t, Ipv6Address, Ipv6Address> m_saInstalledTrace; //!< SaInstalled
    TracedCallback<uint32_t, Ipv6Address, Ipv6Address> m_saUpdatedTrace;   //!< SaUpdated
    TracedCallback<Ipv6Address, int> m_haLostTrace;                          //!< HaLost
    TracedCallback<Ipv6Address> m_saReadyTrace;                            //!< SaReady
    TracedCallback<Ipv6Address> m_trafficResumedTrace;                     //!< TrafficResumed
    TracedCallback<Ptr<const Packet>> m_tunnelRxTrace;                     //!< TunnelRx
    TracedCallback<int, const std::string&> m_dropTrace;                   //!< Drop
    TracedCallback<Time, const std::string&> m_processingTrace;            //!< ProcessingTime
};

} // namespace ns3

#endif /* MIP6IKE_AGENT_H */
