/*
 * mip6ike: one Mobile IPv6 node (MN or HA) in ns-3, driving the C core's
 * m6ike_agent.  See mip6ike-agent.h.
 */
#include "mip6ike-agent.h"

#include "mip6ike-ext-headers.h"
#include "mip6ike-ike-daemon.h"
#include "mip6ike-l4-protocol.h"
#include "mip6ike-msrd.h"
#include "mip6ike-pfkey-bus.h"
#include "mip6ike-routing.h"

#include "ns3/abort.h"
#include "ns3/boolean.h"
#include "ns3/buffer.h"
#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/inet6-socket-address.h"
#include "ns3/ipv6-address.h"
#include "ns3/ipv6-interface.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/ipv6-list-routing.h"
#include "ns3/ipv6-packet-info-tag.h"
#include "ns3/log.h"
#include "ns3/mac48-address.h"
#include "ns3/names.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/string.h"
#include "ns3/udp-l4-protocol.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/uinteger.h"
#include "ns3/virtual-net-device.h"

#include <m6ike/crypto_openssl.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeAgent");

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeAgent);

namespace
{

/** Priority of our routing protocols in Ipv6ListRouting (static: 0). */
const int16_t kRoutingPriority = 10;

/** \return the calling thread's CPU time in ns */
uint64_t
ThreadCpuNs()
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    {
        return 0;
    }
    return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

/** \param a address \return whether it is a global unicast destination */
bool
GlobalUnicast(const Ipv6Address& a)
{
    return !(a.IsAny() || a.IsLocalhost() || a.IsMulticast() || a.IsLinkLocal());
}

} // namespace

TypeId
Mip6IkeAgent::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeAgent")
            .SetParent<Object>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeAgent>()
            .AddAttribute("Role",
                          "\"mn\" (mobile node) or \"ha\" (home agent).",
                          StringValue("mn"),
                          MakeStringAccessor(&Mip6IkeAgent::SetRoleName,
                                             &Mip6IkeAgent::GetRoleName),
                          MakeStringChecker())
            .AddAttribute("Scheme",
                          "How MIPv6 and IKEv2 work together: msrd | renegotiate | migrate | "
                          "migrate-kmaddress | mobike | static (m6ike/agent.h, SCHEMES).  "
                          "The MN and its HA must use the same.",
                          StringValue("msrd"),
                          MakeStringAccessor(&Mip6IkeAgent::SetSchemeName,
                                             &Mip6IkeAgent::GetSchemeName),
                          MakeStringChecker())
            .AddAttribute("HomeAddress",
                          "MN: its home address (on the home prefix).",
                          Ipv6AddressValue(Ipv6Address::GetAny()),
                          MakeIpv6AddressAccessor(&Mip6IkeAgent::m_hoa),
                          MakeIpv6AddressChecker())
            .AddAttribute("HomeAgentAddress",
                          "The home agent's address (HA: its own address on the home link).",
                          Ipv6AddressValue(Ipv6Address::GetAny()),
                          MakeIpv6AddressAccessor(&Mip6IkeAgent::m_haAddress),
                          MakeIpv6AddressChecker())
            .AddAttribute("HomePrefix",
                          "The home link's prefix.",
                          Ipv6AddressValue(Ipv6Address::GetAny()),
                          MakeIpv6AddressAccessor(&Mip6IkeAgent::m_homePrefix),
                          MakeIpv6AddressChecker())
            .AddAttribute("HomePrefixLength",
                          "Length of HomePrefix in bits (1..128).",
                          UintegerValue(64),
                          MakeUintegerAccessor(&Mip6IkeAgent::m_homePlen),
                          MakeUintegerChecker<uint8_t>(1, 128))
            .AddAttribute("Lifetime",
                          "MN: binding lifetime requested in BUs, in 4-second units (RFC 6275 "
                          "§6.1.7); HA: the most it grants (0 = no cap).",
                          UintegerValue(105),
                          MakeUintegerAccessor(&Mip6IkeAgent::m_lifetime),
                          MakeUintegerChecker<uint16_t>())
            .AddAttribute("IkeProposal",
                          "IKE SA proposal, strongSwan syntax.",
                          StringValue("aes128-sha256-x25519"),
                          MakeStringAccessor(&Mip6IkeAgent::m_ikeProposal),
                          MakeStringChecker())
            .AddAttribute("EspProposal",
                          "ESP proposal, strongSwan syntax (e.g. aes128gcm16, 3des-sha1, "
                          "null-sha256).",
                          StringValue("aes128gcm16"),
                          MakeStringAccessor(&Mip6IkeAgent::m_espProposal),
                          MakeStringChecker())
            .AddAttribute("Psk",
                          "Pre-shared key shared by the HA and its MNs (1..128 octets).",
                          StringValue("mip6ike-shared-secret"),
                          MakeStringAccessor(&Mip6IkeAgent::m_psk),
                          MakeStringChecker())
            .AddAttribute("LocalId",
                          "IKE identity: \"fqdn:..\", \"email:..\" or an address; empty = our "
                          "address.",
                          StringValue(""),
                          MakeStringAccessor(&Mip6IkeAgent::m_localId),
                          MakeStringChecker())
            .AddAttribute("RemoteId",
                          "MN: the HA's IKE identity; HA: empty = any MN.",
                          StringValue(""),
                          MakeStringAccessor(&Mip6IkeAgent::m_remoteId),
                          MakeStringChecker())
            .AddAttribute("NullCipher",
                          "Use the core's NULL crypto backend (no real cryptography: large "
                          "sweeps) instead of OpenSSL.",
                          BooleanValue(false),
                          MakeBooleanAccessor(&Mip6IkeAgent::m_nullCipher),
                          MakeBooleanChecker())
            .AddAttribute("ProcessingMode",
                          "Simulated processing time of each call into the core: \"fixed\" "
                          "(per-operation costs below) or \"measured\" (the thread's CPU time "
                          "x CpuSpeedFactor).",
                          StringValue("fixed"),
                          MakeStringAccessor(&Mip6IkeAgent::SetProcessingModeName,
                                             &Mip6IkeAgent::GetProcessingModeName),
                          MakeStringChecker())
            .AddAttribute("CpuSpeedFactor",
                          "Mode measured: simulated time = measured CPU time x this factor "
                          "(2 = a CPU twice as slow as this machine).",
                          DoubleValue(1.0),
                          MakeDoubleAccessor(&Mip6IkeAgent::m_cpuSpeedFactor),
                          MakeDoubleChecker<double>(0.0))
            .AddAttribute("DhCost",
                          "Mode fixed: cost of one Diffie-Hellman key generation or derivation "
                          "(groups not in DhCostPerGroup).",
                          TimeValue(MicroSeconds(50)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_dhCost),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("DhCostPerGroup",
                          "Mode fixed: per-group DH costs, \"<IANA group>:<time>,...\", e.g. "
                          "\"14:1500us,19:150us,31:50us\".",
                          StringValue(""),
                          MakeStringAccessor(&Mip6IkeAgent::SetDhCostPerGroup,
                                             &Mip6IkeAgent::GetDhCostPerGroup),
                          MakeStringChecker())
            .AddAttribute("SignCost",
                          "Mode fixed: cost of one signature.",
                          TimeValue(MicroSeconds(1000)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_signCost),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("VerifyCost",
                          "Mode fixed: cost of one signature or certificate-chain check.",
                          TimeValue(MicroSeconds(50)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_verifyCost),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("CipherCostPerByte",
                          "Mode fixed: cost per octet encrypted or decrypted.",
                          TimeValue(NanoSeconds(1)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_cipherCostPerByte),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("MacCostPerByte",
                          "Mode fixed: cost per octet of integrity check value computed.",
                          TimeValue(NanoSeconds(1)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_macCostPerByte),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("MessageCost",
                          "Mode fixed: cost per packet handled (each one given to the core and "
                          "each one it sends).",
                          TimeValue(MicroSeconds(10)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_messageCost),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("DadMode",
                          "MN: DAD of a new care-of address: \"on\" (RFC 4862: usable after "
                          "RetransTimer), \"optimistic\" (RFC 4429) or \"off\".",
                          StringValue("on"),
                          MakeStringAccessor(&Mip6IkeAgent::SetDadModeName,
                                             &Mip6IkeAgent::GetDadModeName),
                          MakeStringChecker())
            .AddAttribute("RetransTimer",
                          "MN: RFC 4861 RetransTimer, the DAD wait per probe.",
                          TimeValue(Seconds(1)),
                          MakeTimeAccessor(&Mip6IkeAgent::m_retransTimer),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("KeyLogDirectory",
                          "Directory for Wireshark key logs (<name>-ikev2_decryption_table, "
                          "<name>-esp_sa); empty = none.",
                          StringValue(""),
                          MakeStringAccessor(&Mip6IkeAgent::m_keyLogDir),
                          MakeStringChecker())
            .AddAttribute("NodeName",
                          "Name used for the key-log files; empty = the node's Names name or "
                          "\"node<id>\".",
                          StringValue(""),
                          MakeStringAccessor(&Mip6IkeAgent::m_nodeName),
                          MakeStringChecker())
            .AddAttribute("TunnelMtu",
                          "MTU of the tunnel device (inner packets), leaving room for the "
                          "outer IPv6 header and ESP.",
                          UintegerValue(1400),
                          MakeUintegerAccessor(&Mip6IkeAgent::m_tunnelMtu),
                          MakeUintegerChecker<uint16_t>(1280))
            .AddAttribute("BuOnSaUp",
                          "Scheme renegotiate: also send the BU as soon as the new SAs are up "
                          "(not stock behaviour).",
                          BooleanValue(false),
                          MakeBooleanAccessor(&Mip6IkeAgent::m_buOnSaUp),
                          MakeBooleanChecker())
            .AddAttribute("IkeLiveness",
                          "Seconds without IKE traffic after which an IKE SA runs an RFC 7296 "
                          "§1.4 liveness check; unanswered, the IKE SA and its SAs are deleted "
                          "(m6ike/agent.h HA LOST, liveness_s).  0 = off.",
                          UintegerValue(0),
                          MakeUintegerAccessor(&Mip6IkeAgent::m_livenessS),
                          MakeUintegerChecker<uint32_t>(0, 86400))
            .AddAttribute("HaLostAfter",
                          "MN: unanswered retransmissions of a binding refresh (or every SA "
                          "to the HA deleted while registered) after which the HA is "
                          "declared lost and the MN registers anew with fresh SAs "
                          "(m6ike/agent.h HA LOST, ha_lost_after).  0 = off.",
                          UintegerValue(0),
                          MakeUintegerAccessor(&Mip6IkeAgent::m_haLostAfter),
                          MakeUintegerChecker<uint32_t>())
            .AddAttribute("ExpectedMns",
                          "HA: number of MNs expected (sizes the core's tables; 0 = grow).",
                          UintegerValue(0),
                          MakeUintegerAccessor(&Mip6IkeAgent::m_expectedMns),
                          MakeUintegerChecker<uint32_t>())
            .AddAttribute("KeyLogEsp",
                          "Write the esp_sa key log (an HA with thousands of MNs may not "
                          "want to).",
                          BooleanValue(true),
                          MakeBooleanAccessor(&Mip6IkeAgent::m_keyLogEsp),
                          MakeBooleanChecker())
            .AddTraceSource("L2HandoverStart",
                            "MN: the link layer changed (NotifyL2Handover()).",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_l2Trace),
                            "ns3::Mip6IkeAgent::L2TracedCallback")
            .AddTraceSource("MovementDetected",
                            "MN: an RA with a new on-link prefix: prefix, router.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_movementTrace),
                            "ns3::Mip6IkeAgent::MovementTracedCallback")
            .AddTraceSource("CoaReady",
                            "MN: the new care-of address is usable (after DAD) and was given "
                            "to the core.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_coaReadyTrace),
                            "ns3::Mip6IkeAgent::AddressTracedCallback")
            .AddTraceSource("BuSent",
                            "MN: a Binding Update left: HoA, CoA, sequence, 1 if a "
                            "retransmission.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_buSentTrace),
                            "ns3::Mip6IkeAgent::BindingTracedCallback")
            .AddTraceSource("BaReceived",
                            "MN: a Binding Acknowledgement was accepted: HoA, CoA, sequence, "
                            "status.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_baTrace),
                            "ns3::Mip6IkeAgent::BindingTracedCallback")
            .AddTraceSource("BindingCacheUpdated",
                            "HA: a binding cache entry was created or changed: HoA, CoA, "
                            "sequence, BA status sent.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_bcTrace),
                            "ns3::Mip6IkeAgent::BindingTracedCallback")
            .AddTraceSource("IkeExchangeStarted",
                            "A key-manager operation (ACQUIRE, MIGRATE, MOBIKE) began: HoA, "
                            "MPI, 0.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_ikeStartedTrace),
                            "ns3::Mip6IkeAgent::IkeTracedCallback")
            .AddTraceSource("IkeExchangeCompleted",
                            "... ended: HoA, MPI, 0 or a core error code.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_ikeCompletedTrace),
                            "ns3::Mip6IkeAgent::IkeTracedCallback")
            .AddTraceSource("SaInstalled",
                            "An ESP SA was added: SPI, HoA, CoA.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_saInstalledTrace),
                            "ns3::Mip6IkeAgent::SaTracedCallback")
            .AddTraceSource("HaLost",
                            "MN: the home agent lost our binding and SAs (HaLostAfter); the "
                            "CoA a new registration starts from, and the unanswered refresh "
                            "retransmissions (0: every SA was deleted).",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_haLostTrace),
                            "ns3::Mip6IkeAgent::HaLostCallback")
            .AddTraceSource("SaUpdated",
                            "An ESP SA's endpoints changed in place: SPI, HoA, CoA.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_saUpdatedTrace),
                            "ns3::Mip6IkeAgent::SaTracedCallback")
            .AddTraceSource("SaReady",
                            "MN: every SA the scheme needs at the current CoA is usable.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_saReadyTrace),
                            "ns3::Mip6IkeAgent::AddressTracedCallback")
            .AddTraceSource("TrafficResumed",
                            "MN: the first packet out of the tunnel after a new CoA became "
                            "usable was delivered (the CoA).",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_trafficResumedTrace),
                            "ns3::Mip6IkeAgent::AddressTracedCallback")
            .AddTraceSource("TunnelRx",
                            "An inner packet left the tunnel into the IP stack.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_tunnelRxTrace),
                            "ns3::Mip6IkeAgent::TunnelTracedCallback")
            .AddTraceSource("Drop",
                            "The core dropped a packet: reason code and text.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_dropTrace),
                            "ns3::Mip6IkeAgent::DropTracedCallback")
            .AddTraceSource("ProcessingTime",
                            "One call into the core was charged: cost, call name.",
                            MakeTraceSourceAccessor(&Mip6IkeAgent::m_processingTrace),
                            "ns3::Mip6IkeAgent::ProcessingTracedCallback");
    return tid;
}

Mip6IkeAgent::Mip6IkeAgent()
    : m_roleName("mn"),
      m_schemeName("msrd"),
      m_homePlen(64),
      m_lifetime(105),
      m_nullCipher(false),
      m_processingModeName("fixed"),
      m_cpuSpeedFactor(1.0),
      m_dadModeName("on"),
      m_tunnelMtu(1400),
      m_buOnSaUp(false),
      m_livenessS(0),
      m_haLostAfter(0),
      m_expectedMns(0),
      m_keyLogEsp(true),
      m_role(M6IKE_AGENT_MN),
      m_scheme(M6IKE_SCHEME_MSRD),
      m_processingMode(PROCESSING_FIXED),
      m_agent(nullptr),
      m_cryptoBase(nullptr),
      m_meter(),
      m_timer(CreateObject<Mip6IkeCoreTimer>()),
      m_random(CreateObject<Mip6IkeRandom>()),
      m_tunnelIf(0),
      m_busyUntil(Seconds(0)),
      m_totalCost(Seconds(0)),
      m_inCall(false),
      m_waitTraffic(false),
      m_atHome(false),
      m_homeIf(0)
{
    NS_LOG_FUNCTION(this);
}

Mip6IkeAgent::~Mip6IkeAgent()
{
    NS_LOG_FUNCTION(this);
}

/* ---- validated string attributes --------------------------------------- */

void
Mip6IkeAgent::SetRoleName(std::string v)
{
    NS_ABORT_MSG_UNLESS(v == "mn" || v == "ha",
                        "Mip6IkeAgent: attribute Role: unknown value '" << v
                                                                        << "' (mn | ha)");
    m_roleName = v;
    m_role = v == "mn" ? M6IKE_AGENT_MN : M6IKE_AGENT_HA;
}

std::string
Mip6IkeAgent::GetRoleName() const
{
    return m_roleName;
}

void
Mip6IkeAgent::SetSchemeName(std::string v)
{
    m6ike_scheme s;
    NS_ABORT_MSG_UNLESS(m6ike_scheme_parse(v.c_str(), &s) == 0,
                        "Mip6IkeAgent: attribute Scheme: unknown scheme '"
                            << v
                            << "' (msrd | renegotiate | migrate | migrate-kmaddress | mobike | "
                               "static)");
    m_schemeName = v;
    m_scheme = s;
}

std::string
Mip6IkeAgent::GetSchemeName() const
{
    return m_schemeName;
}

void
Mip6IkeAgent::SetProcessingModeName(std::string v)
{
    NS_ABORT_MSG_UNLESS(v == "fixed" || v == "measured",
                        "Mip6IkeAgent: attribute ProcessingMode: unknown value '"
                            << v << "' (fixed | measured)");
    m_processingModeName = v;
    m_processingMode = v == "fixed" ? PROCESSING_FIXED : PROCESSING_MEASURED;
}

std::string
Mip6IkeAgent::GetProcessingModeName() const
{
    return m_processingModeName;
}

void
Mip6IkeAgent::SetDadModeName(std::string v)
{
    NS_ABORT_MSG_UNLESS(v == "on" || v == "off" || v == "optimistic",
                        "Mip6IkeAgent: attribute DadMode: unknown value '"
                            << v << "' (on | off | optimistic)");
    m_dadModeName = v;
}

std::string
Mip6IkeAgent::GetDadModeName() const
{
    return m_dadModeName;
}

void
Mip6IkeAgent::SetDhCostPerGroup(std::string v)
{
    std::map<uint16_t, Time> costs;
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ','))
    {
        if (item.empty())
        {
            continue;
        }
        const size_t colon = item.find(':');
        NS_ABORT_MSG_IF(colon == std::string::npos || colon == 0,
                        "Mip6IkeAgent: attribute DhCostPerGroup: '"
                            << item << "' is not <group>:<time> (e.g. 14:1500us)");
        const unsigned long group = std::stoul(item.substr(0, colon));
        NS_ABORT_MSG_IF(group == 0 || group > 0xffff,
                        "Mip6IkeAgent: attribute DhCostPerGroup: bad group in '" << item << "'");
        costs[uint16_t(group)] = Time(item.substr(colon + 1));
    }
    m_dhCostPerGroup = v;
    m_groupCosts = costs;
}

std::string
Mip6IkeAgent::GetDhCostPerGroup() const
{
    return m_dhCostPerGroup;
}

/* ---- installation ------------------------------------------------------- */

void
Mip6IkeAgent::CreateCore()
{
    m6ike_agent_config cfg;
    m6ike_agent_config_default(&cfg, m_role);
    cfg.scheme = m_scheme;
    cfg.ha = Mip6IkeAddressToCore(m_haAddress);
    cfg.hoa = Mip6IkeAddressToCore(m_hoa);
    cfg.home_prefix = Mip6IkeAddressToCore(m_homePrefix);
    cfg.home_plen = m_homePlen;
    cfg.lifetime = m_lifetime;
    cfg.ike_proposal = m_ikeProposal.c_str();
    cfg.esp_proposal = m_espProposal.c_str();
    cfg.local_id = m_localId.empty() ? nullptr : m_localId.c_str();
    cfg.remote_id = m_remoteId.empty() ? nullptr : m_remoteId.c_str();
    m_pskBytes.assign(m_psk.begin(), m_psk.end());
    cfg.psk = m_pskBytes.data();
    cfg.psk_len = m_pskBytes.size();
    cfg.bu_on_sa_up = m_buOnSaUp ? 1 : 0;
    cfg.liveness_s = m_livenessS;
    cfg.ha_lost_after = m_role == M6IKE_AGENT_MN ? m_haLostAfter : 0;
    cfg.expected_mns = m_expectedMns;
    cfg.keylog_esp = m_keyLogEsp && !m_keyLogDir.empty() ? 1 : 0;

    const m6ike_crypto* base = nullptr;
    if (m_nullCipher)
    {
        base = m6ike_crypto_null();
    }
    else
    {
        const int rc = m6ike_crypto_openssl_new(&m_cryptoBase, nullptr);
        NS_ABORT_MSG_IF(rc != 0,
                        "Mip6IkeAgent: the OpenSSL crypto backend failed: " << m6ike_strerror(rc));
        base = m_cryptoBase;
    }
    const m6ike_crypto* crypto = m6ike_crypto_meter_init(&m_meter, base, nullptr);

    m6ike_agent_callbacks cbs = {};
    cbs.user_data = this;
    cbs.send_ip6 = &Mip6IkeAgent::CbSendIp6;
    cbs.send_udp = &Mip6IkeAgent::CbSendUdp;
    cbs.deliver_ip6 = &Mip6IkeAgent::CbDeliverIp6;
    cbs.event = &Mip6IkeAgent::CbEvent;
    cbs.log = &Mip6IkeAgent::CbLog;
    cbs.keylog = &Mip6IkeAgent::CbKeylog;
    cbs.keylog_reset = &Mip6IkeAgent::CbKeylogReset;
    // The random callback's user_data is this object too: forward it.
    cbs.rand = [](uint8_t* dest, size_t len, void* user) -> int {
        auto self = static_cast<Mip6IkeAgent*>(user);
        return Mip6IkeRandom::RandCallback(dest, len, self->m_random->GetUserData());
    };

    const int rc = m6ike_agent_new(&m_agent, &cfg, &cbs, crypto, nullptr);
    NS_ABORT_MSG_IF(rc != 0,
                    "Mip6IkeAgent (node " << m_node->GetId() << ", role " << m_roleName
                                          << ", scheme " << m_schemeName
                                          << "): the core refused the configuration: "
                                          << m6ike_strerror(rc)
                                          << " (attributes HomeAddress, HomeAgentAddress, "
                                             "HomePrefix, IkeProposal, EspProposal, Psk, "
                                             "LocalId, RemoteId, Lifetime)");
    m_timer->SetCallbacks(MakeCallback(&Mip6IkeAgent::TimerExpiry, this),
                          MakeCallback(&Mip6IkeAgent::TimerHandle, this));
}

void
Mip6IkeAgent::Install(Ptr<Node> node, Ptr<NetDevice> homeDevice)
{
    NS_LOG_FUNCTION(this << node << homeDevice);
    NS_ABORT_MSG_IF(m_node, "Mip6IkeAgent::Install called twice");
    NS_ABORT_MSG_IF(!node->GetObject<Ipv6L3Protocol>(),
                    "Mip6IkeAgent: node " << node->GetId()
                                          << " has no IPv6 (install the internet stack first)");
    m_node = node;
    node->AggregateObject(this);
    if (!m_keyLogDir.empty())
    {
        for (int kind = 0; kind < 2; kind++)
        {
            std::ofstream f(KeyLogPath(kind), std::ios::trunc);
            NS_ABORT_MSG_IF(!f,
                            "Mip6IkeAgent: attribute KeyLogDirectory: cannot write "
                                << KeyLogPath(kind));
        }
    }
    CreateCore();
    // The node's MSRD and PF_KEY bus (views of the core agent's own).
    m_msrdView = CreateObject<Mip6IkeMsrd>();
    m_msrdView->Attach(m_agent);
    m_pfkeyView = CreateObject<Mip6IkePfkeyBus>();
    m_pfkeyView->Attach(m_agent);
    node->AggregateObject(m_msrdView);
    node->AggregateObject(m_pfkeyView);
    WireNode(homeDevice);
    m_timer->Update();
}

void
Mip6IkeAgent::WireNode(Ptr<NetDevice> homeDevice)
{
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();

    // Receive path: extension handlers, MH and ESP protocols.
    Mip6IkeInstallExtensionHandlers(m_node, m_hao, m_rh2);
    if (m_role == M6IKE_AGENT_MN)
    {
        m_rh2->AddHomeAddress(m_hoa);
    }
    m_mh = CreateObject<Mip6IkeMobilityL4Protocol>();
    m_esp = CreateObject<Mip6IkeEspL4Protocol>();
    for (Ptr<Mip6IkeWireL4Protocol> l4 : {Ptr<Mip6IkeWireL4Protocol>(m_mh),
                                           Ptr<Mip6IkeWireL4Protocol>(m_esp)})
    {
        NS_ABORT_MSG_IF(ipv6->GetProtocol(l4->GetProtocolNumber()),
                        "Mip6IkeAgent: node " << m_node->GetId()
                                              << " already has an IPv6 protocol "
                                              << l4->GetProtocolNumber());
        l4->SetNode(m_node);
        l4->SetWireCallback(MakeCallback(&Mip6IkeAgent::ReceiveWire, this));
        l4->TraceConnectWithoutContext("Drop", MakeCallback(&Mip6IkeAgent::L4Drop, this));
        ipv6->Insert(l4);
    }

    // The IKE daemon (UDP 500/4500): the node's, or a new one started at 0.
    for (uint32_t i = 0; i < m_node->GetNApplications() && !m_daemon; i++)
    {
        m_daemon = DynamicCast<Mip6IkeIkeDaemon>(m_node->GetApplication(i));
    }
    if (!m_daemon)
    {
        m_daemon = CreateObject<Mip6IkeIkeDaemon>();
        m_node->AddApplication(m_daemon);
    }
    m_daemon->SetKeyManager(MakeCallback(&Mip6IkeAgent::ReceiveIke, this));

    // Tunnel device.
    m_tunnel = CreateObject<VirtualNetDevice>();
    m_tunnel->SetAddress(Mac48Address::Allocate());
    m_tunnel->SetNeedsArp(false);
    m_tunnel->SetMtu(m_tunnelMtu);
    m_tunnel->SetSendCallback(MakeCallback(&Mip6IkeAgent::TunnelSend, this));
    m_node->AddDevice(m_tunnel);
    m_tunnelIf = ipv6->AddInterface(m_tunnel);
    if (m_role == M6IKE_AGENT_MN)
    {
        ipv6->AddAddress(m_tunnelIf, Ipv6InterfaceAddress(m_hoa, Ipv6Prefix(128)));
    }
    else
    {
        ipv6->SetForwarding(m_tunnelIf, true);
        // The HA is reached at its home-link address from any interface
        // (MNs on foreign links, through the HA itself when it is their
        // access router): the weak end-system model (RFC 1122 §3.3.4.2).
        ipv6->SetAttribute("StrongEndSystemModel", BooleanValue(false));
    }
    ipv6->SetUp(m_tunnelIf);

    // Routing: above whatever the node has (see Mip6IkeRoutingBase).
    Ptr<Ipv6RoutingProtocol> current = ipv6->GetRoutingProtocol();
    Ptr<Ipv6ListRouting> list = DynamicCast<Ipv6ListRouting>(current);
    auto attach = [&](Ptr<Mip6IkeRoutingBase> mine) {
        if (list)
        {
            list->AddRoutingProtocol(mine, kRoutingPriority);
        }
        else
        {
            NS_ABORT_MSG_IF(!current,
                            "Mip6IkeAgent: node " << m_node->GetId() << " has no IPv6 routing");
            mine->SetFallback(current);
            ipv6->SetRoutingProtocol(mine);
        }
    };
    if (m_role == M6IKE_AGENT_MN)
    {
        m_mnRouting = CreateObject<Mip6IkeMnRouting>();
        m_mnRouting->SetTunnel(m_hoa, m_tunnel);
        attach(m_mnRouting);

        m_movement = CreateObject<Mip6IkeMovementDetector>();
        const Mip6IkeDadMode mode = m_dadModeName == "off"          ? MIP6IKE_DAD_OFF
                                    : m_dadModeName == "optimistic" ? MIP6IKE_DAD_OPTIMISTIC
                                                                    : MIP6IKE_DAD_ON;
        m_movement->SetAttribute("DadMode", EnumValue(mode));
        m_movement->SetAttribute("RetransTimer", TimeValue(m_retransTimer));
        m_movement->TraceConnectWithoutContext(
            "MovementDetected",
            MakeCallback(&Mip6IkeAgent::MovementSeen, this));
        m_movement->SetCoaCallback(MakeCallback(&Mip6IkeAgent::CoaUsable, this));
        m_movement->SetHome(m_homePrefix, m_homePlen, MakeCallback(&Mip6IkeAgent::HomeReached, this));
        m_movement->Start(m_node, {});
        m_node->AggregateObject(m_movement); // reachable with GetObject / Config paths
    }
    else
    {
        m_haRouting = CreateObject<Mip6IkeHaRouting>();
        m_haRouting->SetTunnel(MakeCallback(&Mip6IkeAgent::Lookup, this), m_tunnel);
        attach(m_haRouting);
        if (homeDevice)
        {
            const int32_t hi = ipv6->GetInterfaceForDevice(homeDevice);
            NS_ABORT_MSG_IF(hi < 0,
                            "Mip6IkeAgent: the HA's home device has no IPv6 interface");
            ipv6->SetForwarding(hi, true);
            m_proxyNd = CreateObject<Mip6IkeProxyNd>();
            m_proxyNd->Start(m_node, homeDevice, MakeCallback(&Mip6IkeAgent::Lookup, this));
            m_node->AggregateObject(m_proxyNd); // reachable with GetObject / Config paths
        }
    }
}

/* ---- the processing-time model ----------------------------------------- */

void
Mip6IkeAgent::Process(const std::string& name,
                      uint32_t messages,
                      std::function<int(m6ike_tstamp)> call)
{
    if (!m_agent)
    {
        return;
    }
    if (m_queue.empty() && Simulator::Now() >= m_busyUntil && !m_inCall)
    {
        Execute(name, messages, call);
        return;
    }
    m_queue.push_back(Queued{name, messages, std::move(call)});
    if (!m_queueEvent.IsRunning())
    {
        const Time wait = m_busyUntil > Simulator::Now() ? m_busyUntil - Simulator::Now() : Time(0);
        m_queueEvent = Simulator::Schedule(wait, &Mip6IkeAgent::RunQueued, this);
    }
}

void
Mip6IkeAgent::RunQueued()
{
    if (m_queue.empty() || !m_agent)
    {
        return;
    }
    if (Simulator::Now() < m_busyUntil)
    {
        m_queueEvent = Simulator::Schedule(m_busyUntil - Simulator::Now(),
                                           &Mip6IkeAgent::RunQueued,
                                           this);
        return;
    }
    Queued q = std::move(m_queue.front());
    m_queue.pop_front();
    Execute(q.name, q.messages, q.call);
    if (!m_queue.empty() && !m_queueEvent.IsRunning())
    {
        const Time wait = m_busyUntil > Simulator::Now() ? m_busyUntil - Simulator::Now() : Time(0);
        m_queueEvent = Simulator::Schedule(wait, &Mip6IkeAgent::RunQueued, this);
    }
}

void
Mip6IkeAgent::Execute(const std::string& name,
                      uint32_t messages,
                      const std::function<int(m6ike_tstamp)>& call)
{
    auto outputs = std::make_shared<std::vector<Output>>();
    m_outputs = outputs;
    const m6ike_crypto_meter_counts before = m_meter.counts;
    m_inCall = true;
    const uint64_t t0 = ThreadCpuNs();
    const int rc = call(Mip6IkeCoreNow());
    const uint64_t t1 = ThreadCpuNs();
    m_inCall = false;
    m_outputs = nullptr;
    if (rc < 0)
    {
        NS_LOG_LOGIC("core " << name << ": " << rc << " " << m6ike_strerror(rc));
        NS_ABORT_MSG_IF(m6ike_err_is_fatal(rc),
                        "Mip6IkeAgent (node " << m_node->GetId() << "): fatal core error in "
                                              << name << ": " << m6ike_strerror(rc));
    }

    Time cost(0);
    if (m_processingMode == PROCESSING_MEASURED)
    {
        cost = NanoSeconds(int64_t(double(t1 - t0) * m_cpuSpeedFactor));
    }
    else
    {
        const m6ike_crypto_meter_counts& after = m_meter.counts;
        uint64_t dhOps = (after.dh_keygen + after.dh_derive) - (before.dh_keygen + before.dh_derive);
        for (int i = 0; i < M6IKE_CRYPTO_METER_GROUPS; i++)
        {
            const uint16_t g = after.dh[i].group;
            auto it = m_groupCosts.find(g);
            if (g == 0 || it == m_groupCosts.end())
            {
                continue;
            }
            uint64_t prev = 0;
            for (int j = 0; j < M6IKE_CRYPTO_METER_GROUPS; j++)
            {
                if (before.dh[j].group == g)
                {
                    prev = before.dh[j].keygen + before.dh[j].derive;
                }
            }
            const uint64_t n = after.dh[i].keygen + after.dh[i].derive - prev;
            cost += it->second * int64_t(n);
            dhOps -= std::min(dhOps, n);
        }
        cost += m_dhCost * int64_t(dhOps);
        cost += m_signCost * int64_t(after.sign - before.sign);
        cost += m_verifyCost *
                int64_t((after.verify - before.verify) + (after.verify_chain - before.verify_chain));
        cost += m_cipherCostPerByte * int64_t(after.cipher_bytes - before.cipher_bytes);
        cost += m_macCostPerByte * int64_t(after.mac_bytes - before.mac_bytes);
        cost += m_messageCost * int64_t(messages + outputs->size());
    }
    const Time now = Simulator::Now();
    m_busyUntil = now + cost;
    m_totalCost += cost;
    m_processingTrace(cost, name);

    if (m_role == M6IKE_AGENT_MN)
    {
        SyncCoreRecord();
    }
    if (!outputs->empty())
    {
        if (cost.IsZero())
        {
            Flush(outputs);
        }
        else
        {
            // A Ptr keeps this object alive until its outputs have left.
            Simulator::Schedule(cost, &Mip6IkeAgent::Flush, Ptr<Mip6IkeAgent>(this), outputs);
        }
    }
    m_timer->Update();
}

m6ike_tstamp
Mip6IkeAgent::TimerExpiry()
{
    if (!m_agent)
    {
        return M6IKE_TSTAMP_UNSET;
    }
    const m6ike_tstamp e = m6ike_agent_get_expiry(m_agent);
    if (e == M6IKE_TSTAMP_UNSET)
    {
        return e;
    }
    const m6ike_tstamp busy = Mip6IkeTimeToTstamp(m_busyUntil);
    return e < busy ? busy : e;
}

int
Mip6IkeAgent::TimerHandle(m6ike_tstamp /* now */)
{
    if (!m_agent)
    {
        return 0;
    }
    if (Simulator::Now() < m_busyUntil || m_inCall || !m_queue.empty())
    {
        // The CPU is busy: the timer re-arms at busy-until (TimerExpiry()).
        if (!m_queue.empty() && !m_queueEvent.IsRunning())
        {
            RunQueued();
        }
        return 0;
    }
    Execute("expiry", 0, [this](m6ike_tstamp now) {
        return m6ike_agent_handle_expiry(m_agent, now);
    });
    return 0;
}

void
Mip6IkeAgent::Flush(std::shared_ptr<std::vector<Output>> outputs)
{
    for (auto& out : *outputs)
    {
        if (!m_node)
        {
            return; // disposed meanwhile
        }
        out();
    }
}

/* ---- core callbacks ----------------------------------------------------- */

int
Mip6IkeAgent::CbSendIp6(const uint8_t* pkt, size_t len, void* user)
{
    auto self = static_cast<Mip6IkeAgent*>(user);
    if (pkt == nullptr || len < 40 || len > 65535 + 40)
    {
        return 1;
    }
    std::vector<uint8_t> copy(pkt, pkt + len);
    if (self->m_outputs)
    {
        self->m_outputs->push_back([self, copy]() { self->DoSendIp6(copy); });
    }
    else
    {
        self->DoSendIp6(copy);
    }
    return 0;
}

int
Mip6IkeAgent::CbSendUdp(const m6ike_ikev2_path* path, const uint8_t* buf, size_t len, void* user)
{
    auto self = static_cast<Mip6IkeAgent*>(user);
    if (path == nullptr || (buf == nullptr && len > 0) || len > 65527)
    {
        return 1;
    }
    m6ike_ikev2_path p = *path;
    std::vector<uint8_t> copy(buf, buf + len);
    if (self->m_outputs)
    {
        self->m_outputs->push_back([self, p, copy]() { self->DoSendUdp(p, copy); });
    }
    else
    {
        self->DoSendUdp(p, copy);
    }
    return 0;
}

int
Mip6IkeAgent::CbDeliverIp6(const uint8_t* pkt, size_t len, void* user)
{
    auto self = static_cast<Mip6IkeAgent*>(user);
    if (pkt == nullptr || len < 40)
    {
        return 1;
    }
    std::vector<uint8_t> copy(pkt, pkt + len);
    if (self->m_outputs)
    {
        self->m_outputs->push_back([self, copy]() { self->DoDeliver(copy); });
    }
    else
    {
        self->DoDeliver(copy);
    }
    return 0;
}

void
Mip6IkeAgent::CbEvent(const m6ike_agent_event* ev, void* user)
{
    if (ev != nullptr)
    {
        static_cast<Mip6IkeAgent*>(user)->HandleEvent(*ev);
    }
}

void
Mip6IkeAgent::CbLog(int level, const char* msg, void* user)
{
    auto self = static_cast<Mip6IkeAgent*>(user);
    const uint32_t id = self->m_node ? self->m_node->GetId() : 0;
    if (level <= M6IKE_IKEV2_LOG_ERROR)
    {
        NS_LOG_WARN("node " << id << " core: " << msg);
    }
    else if (level == M6IKE_IKEV2_LOG_INFO)
    {
        NS_LOG_INFO("node " << id << " core: " << msg);
    }
    else
    {
        NS_LOG_DEBUG("node " << id << " core: " << msg);
    }
}

void
Mip6IkeAgent::CbKeylog(int kind, const char* line, void* user)
{
    auto self = static_cast<Mip6IkeAgent*>(user);
    if (self->m_keyLogDir.empty() || line == nullptr || kind < 0 || kind > 1)
    {
        return;
    }
    std::ofstream f(self->KeyLogPath(kind), std::ios::app);
    f << line << "\n";
}

void
Mip6IkeAgent::CbKeylogReset(int kind, void* user)
{
    auto self = static_cast<Mip6IkeAgent*>(user);
    if (self->m_keyLogDir.empty() || kind < 0 || kind > 1)
    {
        return;
    }
    std::ofstream f(self->KeyLogPath(kind), std::ios::trunc);
}

std::string
Mip6IkeAgent::KeyLogPath(int kind) const
{
    std::string name = m_nodeName;
    if (name.empty() && m_node)
    {
        name = Names::FindName(m_node);
    }
    if (name.empty() && m_node)
    {
        name = "node" + std::to_string(m_node->GetId());
    }
    return m_keyLogDir + "/" + name + (kind == 0 ? "-ikev2_decryption_table" : "-esp_sa");
}

/* ---- outputs ------------------------------------------------------------ */

void
Mip6IkeAgent::DoSendIp6(std::vector<uint8_t> pkt)
{
    if (!m_node)
    {
        return;
    }
    Buffer b;
    b.AddAtStart(40);
    b.Begin().Write(pkt.data(), 40);
    Ipv6Header h;
    h.Deserialize(b.Begin());
    Ptr<Packet> p = Create<Packet>(pkt.data() + 40, uint32_t(pkt.size() - 40));
    NS_LOG_LOGIC("node " << m_node->GetId() << " sends " << h.GetSource() << " -> "
                         << h.GetDestination() << " nh " << +h.GetNextHeader() << " "
                         << pkt.size() << " octets");
    m_node->GetObject<Ipv6L3Protocol>()->Send(p,
                                              h.GetSource(),
                                              h.GetDestination(),
                                              h.GetNextHeader(),
                                              nullptr);
}

void
Mip6IkeAgent::DoSendUdp(m6ike_ikev2_path path, std::vector<uint8_t> data)
{
    if (!m_node || !m_daemon)
    {
        return;
    }
    m_daemon->Send(path, data); // not running: dropped and counted there
}

void
Mip6IkeAgent::DoDeliver(std::vector<uint8_t> pkt)
{
    if (!m_node || !m_tunnel)
    {
        return;
    }
    Ptr<Packet> p = Create<Packet>(pkt.data(), uint32_t(pkt.size()));
    m_tunnelRxTrace(p);
    if (m_role == M6IKE_AGENT_MN && m_waitTraffic && !m_records.empty())
    {
        m_waitTraffic = false;
        Mip6IkeHandoverRecord& r = m_records.back();
        r.trafficResumed = Simulator::Now();
        m_trafficResumedTrace(r.coa);
    }
    m_tunnel->Receive(p,
                      Ipv6L3Protocol::PROT_NUMBER,
                      m_tunnel->GetAddress(),
                      m_tunnel->GetAddress(),
                      NetDevice::PACKET_HOST);
}

void
Mip6IkeAgent::HandleEvent(const m6ike_agent_event& ev)
{
    const Ipv6Address hoa = Mip6IkeAddressFromCore(ev.hoa);
    const Ipv6Address coa = Mip6IkeAddressFromCore(ev.coa);
    switch (ev.kind)
    {
    case M6IKE_AGENT_EV_COA_SET:
        break;
    case M6IKE_AGENT_EV_BU_SENT:
        m_buSentTrace(hoa, coa, ev.seq, ev.status);
        break;
    case M6IKE_AGENT_EV_BA_RECEIVED:
        m_baTrace(hoa, coa, ev.seq, ev.status);
        if (m_atHome && ev.status < 128)
        {
            // §11.5.4: deregistered: the home link's neighbours learn that
            // the HoA is here again.
            Ptr<Mip6IkeProxyNd>& nd0 = m_homeNds[m_homeIf];
            if (!nd0)
            {
                nd0 = CreateObject<Mip6IkeProxyNd>();
                nd0->SetRouterFlag(false);
                nd0->Start(m_node,
                           m_node->GetObject<Ipv6L3Protocol>()->GetNetDevice(m_homeIf),
                           Mip6IkeProxyNd::LookupCallback());
            }
            Ptr<Mip6IkeProxyNd> nd = nd0;
            const Ipv6Address h = m_hoa;
            if (m_outputs)
            {
                m_outputs->push_back([nd, h]() { nd->Announce(h); });
            }
            else
            {
                nd->Announce(h);
            }
        }
        break;
    case M6IKE_AGENT_EV_BINDING_UPDATED:
        m_bcTrace(hoa, coa, ev.seq, ev.status);
        if (m_proxyNd && ev.status < 128 && !(coa == hoa))
        {
            Ptr<Mip6IkeProxyNd> nd = m_proxyNd;
            if (m_outputs)
            {
                m_outputs->push_back([nd, hoa]() { nd->Announce(hoa); });
            }
            else
            {
                nd->Announce(hoa);
            }
        }
        break;
    case M6IKE_AGENT_EV_IKE_STARTED:
        m_ikeStartedTrace(hoa, ev.mpi, 0);
        break;
    case M6IKE_AGENT_EV_IKE_COMPLETED:
        m_ikeCompletedTrace(hoa, ev.mpi, ev.status);
        break;
    case M6IKE_AGENT_EV_SA_INSTALLED:
        m_saInstalledTrace(ev.spi, hoa, coa);
        break;
    case M6IKE_AGENT_EV_SA_UPDATED:
        m_saUpdatedTrace(ev.spi, hoa, coa);
        break;
    case M6IKE_AGENT_EV_SA_READY:
        m_saReadyTrace(coa);
        break;
    case M6IKE_AGENT_EV_DROP:
        ReportDrop(ev.status, "core");
        break;
    case M6IKE_AGENT_EV_HA_LOST:
        NS_LOG_WARN("node " << (m_node ? m_node->GetId() : 0)
                            << " home agent lost (status " << ev.status
                            << "): registering anew from " << coa);
        m_haLostTrace(coa, ev.status);
        break;
    }
}

void
Mip6IkeAgent::ReportDrop(int reason, const std::string& where)
{
    std::ostringstream what;
    what << where << ": " << m6ike_strerror(reason);
    NS_LOG_LOGIC("node " << (m_node ? m_node->GetId() : 0) << " drop " << reason << " "
                         << what.str());
    m_dropTrace(reason, what.str());
}

/* ---- inputs ------------------------------------------------------------- */

void
Mip6IkeAgent::ReceiveWire(const std::vector<uint8_t>& wire, uint32_t /* iif */)
{
    std::vector<uint8_t> copy = wire;
    Process("read_ip6", 1, [this, copy](m6ike_tstamp now) {
        return m6ike_agent_read_ip6(m_agent, copy.data(), copy.size(), now);
    });
}

void
Mip6IkeAgent::L4Drop(const Ipv6Header& header, Ptr<const Packet> /* packet */)
{
    std::ostringstream where;
    where << "protocol " << +header.GetNextHeader() << " from " << header.GetSource()
          << " (extension headers ns-3 removed are not all recorded, or a refused HAO)";
    ReportDrop(M6IKE_ERR_AGENT_MALFORMED, where.str());
}

void
Mip6IkeAgent::ReceiveIke(const m6ike_ikev2_path& path, const std::vector<uint8_t>& data)
{
    Process("read_udp", 1, [this, path, data](m6ike_tstamp now) {
        return m6ike_agent_read_udp(m_agent, &path, data.data(), data.size(), now);
    });
}

bool
Mip6IkeAgent::TunnelSend(Ptr<Packet> packet,
                         const Address& /* source */,
                         const Address& /* dest */,
                         uint16_t protocol)
{
    if (protocol != Ipv6L3Protocol::PROT_NUMBER || packet->GetSize() < 40)
    {
        return true;
    }
    std::vector<uint8_t> data(packet->GetSize());
    packet->CopyData(data.data(), data.size());
    // ns-3's own link-scope traffic on the virtual interface (ND, RS) has
    // no business in the tunnel.
    const Ipv6Address dst = Ipv6Address::Deserialize(&data[24]);
    const Ipv6Address src = Ipv6Address::Deserialize(&data[8]);
    if (!GlobalUnicast(dst) || src.IsLinkLocal())
    {
        return true;
    }
    Process("write_tunnel", 1, [this, data](m6ike_tstamp now) {
        return m6ike_agent_write_tunnel(m_agent, data.data(), data.size(), now);
    });
    return true;
}

void
Mip6IkeAgent::MovementSeen(Ipv6Address prefix, Ipv6Address router, uint32_t /* iface */)
{
    Mip6IkeHandoverRecord& r = CurrentRecord(true);
    if (r.movementDetected == Time::Max())
    {
        r.movementDetected = Simulator::Now();
    }
    m_movementTrace(prefix, router);
}

void
Mip6IkeAgent::HomeReached(uint32_t iface)
{
    if (m_atHome)
    {
        return;
    }
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    ipv6->RemoveAddress(m_tunnelIf, m_hoa);
    ipv6->AddAddress(iface, Ipv6InterfaceAddress(m_hoa, Ipv6Prefix(m_homePlen)));
    ipv6->GetInterface(iface)->SetState(m_hoa, Ipv6InterfaceAddress::PREFERRED);
    m_mnRouting->SetEnabled(false);
    m_atHome = true;
    m_homeIf = iface;
    NS_LOG_INFO("node " << m_node->GetId() << ": back home, HoA " << m_hoa << " on interface "
                        << iface);
    if (!m_records.empty())
    {
        CoaUsable(m_hoa, iface); // deregistration; nothing if never away
    }
}

void
Mip6IkeAgent::LeaveHome()
{
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    ipv6->RemoveAddress(m_homeIf, m_hoa);
    ipv6->AddAddress(m_tunnelIf, Ipv6InterfaceAddress(m_hoa, Ipv6Prefix(128)));
    m_mnRouting->SetEnabled(true);
    m_atHome = false;
}

void
Mip6IkeAgent::CoaUsable(Ipv6Address coa, uint32_t /* iface */)
{
    if (m_atHome && coa != m_hoa)
    {
        LeaveHome();
    }
    if (!m_records.empty() && m_records.back().coaReady != Time::Max() &&
        m_records.back().coa == coa)
    {
        return; // the same CoA again
    }
    Mip6IkeHandoverRecord& r = CurrentRecord(true);
    r.coaReady = Simulator::Now();
    r.oldCoa = m_records.size() > 1 ? m_records[m_records.size() - 2].coa : Ipv6Address::GetAny();
    r.coa = coa;
    m_waitTraffic = true;
    m_coaReadyTrace(coa);
    const m6ike_addr6 c = Mip6IkeAddressToCore(coa);
    Process("set_coa", 0, [this, c](m6ike_tstamp now) {
        return m6ike_agent_set_coa(m_agent, &c, now);
    });
}

Mip6IkeHandoverRecord&
Mip6IkeAgent::CurrentRecord(bool forNewHandover)
{
    if (m_records.empty() || (forNewHandover && m_records.back().coaReady != Time::Max()))
    {
        Mip6IkeHandoverRecord r;
        r.index = uint32_t(m_records.size());
        m_records.push_back(r);
    }
    return m_records.back();
}

void
Mip6IkeAgent::SyncCoreRecord()
{
    m6ike_agent_handover h;
    if (!m_agent || m6ike_agent_get_handover(m_agent, &h) != 0 || h.index >= m_records.size())
    {
        return;
    }
    Mip6IkeHandoverRecord& r = m_records[h.index];
    r.buSent = Mip6IkeTstampToTime(h.bu_sent);
    r.baReceived = Mip6IkeTstampToTime(h.ba_received);
    r.saReady = Mip6IkeTstampToTime(h.sa_ready);
    r.buCount = h.bu_count;
    r.baStatus = h.ba_status;
    r.ikeMsgs = h.ike_msgs;
    r.ikeBytes = h.ike_bytes;
    r.complete = h.complete != 0;
}

bool
Mip6IkeAgent::Lookup(Ipv6Address addr)
{
    return IsRegistered(addr);
}

/* ---- public operations -------------------------------------------------- */

void
Mip6IkeAgent::NotifyL2Handover(Ptr<NetDevice> device)
{
    NS_LOG_FUNCTION(this << device);
    if (m_role != M6IKE_AGENT_MN)
    {
        return;
    }
    Mip6IkeHandoverRecord& r = CurrentRecord(true);
    if (r.l2Start == Time::Max())
    {
        r.l2Start = Simulator::Now();
    }
    m_l2Trace(device);
    if (m_movement)
    {
        m_movement->NotifyL2Handover(device);
    }
}

void
Mip6IkeAgent::SetCareOfAddress(Ipv6Address coa)
{
    NS_ABORT_MSG_IF(m_role != M6IKE_AGENT_MN, "Mip6IkeAgent::SetCareOfAddress: not an MN");
    NS_ABORT_MSG_IF(!m_agent, "Mip6IkeAgent::SetCareOfAddress before Install()");
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    const int32_t i = ipv6->GetInterfaceForAddress(coa);
    NS_ABORT_MSG_IF(i < 0 && !(coa == m_hoa),
                    "Mip6IkeAgent::SetCareOfAddress: " << coa << " is not an address of node "
                                                       << m_node->GetId());
    CoaUsable(coa, i < 0 ? 0 : uint32_t(i));
}

void
Mip6IkeAgent::AddMobileNode(Ipv6Address hoa)
{
    NS_ABORT_MSG_IF(m_role != M6IKE_AGENT_HA, "Mip6IkeAgent::AddMobileNode: not an HA");
    NS_ABORT_MSG_IF(!m_agent, "Mip6IkeAgent::AddMobileNode before Install()");
    const m6ike_addr6 h = Mip6IkeAddressToCore(hoa);
    Process("add_mn", 0, [this, h, hoa](m6ike_tstamp now) {
        const int rc = m6ike_agent_add_mn(m_agent, &h, now);
        NS_ABORT_MSG_IF(rc != 0 && rc != M6IKE_ERR_AGENT_STATE,
                        "Mip6IkeAgent::AddMobileNode(" << hoa << "): " << m6ike_strerror(rc));
        return rc;
    });
}

bool
Mip6IkeAgent::IsRegistered(Ipv6Address hoa) const
{
    if (!m_agent)
    {
        return false;
    }
    const m6ike_addr6 a = Mip6IkeAddressToCore(hoa);
    return m6ike_agent_lookup(m_agent, &a, nullptr) == 1;
}

int64_t
Mip6IkeAgent::AssignStreams(int64_t stream)
{
    return m_random->AssignStreams(stream);
}

const std::vector<Mip6IkeHandoverRecord>&
Mip6IkeAgent::GetHandoverRecords() const
{
    return m_records;
}

Mip6IkeHandoverRecord
Mip6IkeAgent::GetHandoverRecord() const
{
    return m_records.empty() ? Mip6IkeHandoverRecord() : m_records.back();
}

m6ike_agent_stats
Mip6IkeAgent::GetStats() const
{
    m6ike_agent_stats st = {};
    if (m_agent)
    {
        m6ike_agent_get_stats(m_agent, &st);
    }
    return st;
}

Time
Mip6IkeAgent::GetProcessingTime() const
{
    return m_totalCost;
}

Time
Mip6IkeAgent::GetBusyUntil() const
{
    return m_busyUntil;
}

m6ike_agent*
Mip6IkeAgent::GetCoreAgent() const
{
    return m_agent;
}

Ptr<VirtualNetDevice>
Mip6IkeAgent::GetTunnelDevice() const
{
    return m_tunnel;
}

Ptr<Mip6IkeMovementDetector>
Mip6IkeAgent::GetMovementDetector() const
{
    return m_movement;
}

Ptr<Mip6IkeIkeDaemon>
Mip6IkeAgent::GetIkeDaemon() const
{
    return m_daemon;
}

Ptr<Mip6IkeMsrd>
Mip6IkeAgent::GetMsrd() const
{
    return m_msrdView;
}

Ptr<Mip6IkePfkeyBus>
Mip6IkeAgent::GetPfkeyBus() const
{
    return m_pfkeyView;
}

m6ike_agent_role
Mip6IkeAgent::GetRole() const
{
    return m_role;
}

m6ike_scheme
Mip6IkeAgent::GetScheme() const
{
    return m_scheme;
}

void
Mip6IkeAgent::DoDispose()
{
    NS_LOG_FUNCTION(this);
    if (m_queueEvent.IsRunning())
    {
        Simulator::Remove(m_queueEvent);
    }
    m_queue.clear();
    if (m_timer)
    {
        m_timer->Dispose();
        m_timer = nullptr;
    }
    if (m_daemon)
    {
        m_daemon->SetKeyManager(Mip6IkeIkeDaemon::KeyManagerCallback());
        m_daemon = nullptr;
    }
    if (m_msrdView)
    {
        m_msrdView->Attach(nullptr);
        m_msrdView = nullptr;
    }
    if (m_pfkeyView)
    {
        m_pfkeyView->Attach(nullptr);
        m_pfkeyView = nullptr;
    }
    if (m_agent)
    {
        m6ike_agent_del(m_agent);
        m_agent = nullptr;
    }
    if (m_cryptoBase)
    {
        m6ike_crypto_del(m_cryptoBase);
        m_cryptoBase = nullptr;
    }
    if (m_mh)
    {
        m_mh->SetWireCallback(Mip6IkeWireL4Protocol::WireCallback());
    }
    if (m_esp)
    {
        m_esp->SetWireCallback(Mip6IkeWireL4Protocol::WireCallback());
    }
    m_mh = nullptr;
    m_esp = nullptr;
    m_hao = nullptr;
    m_rh2 = nullptr;
    m_mnRouting = nullptr;
    m_haRouting = nullptr;
    m_proxyNd = nullptr;
    for (auto& kv : m_homeNds)
    {
        kv.second->Dispose();
    }
    m_homeNds.clear();
    m_movement = nullptr;
    m_tunnel = nullptr;
    m_random = nullptr;
    m_node = nullptr;
    Object::DoDispose();
}

} // namespace ns3
