/*
 * mip6ike: the mobile node's movement detection, SLAAC and DAD.
 * See mip6ike-movement.h.
 */
#include "mip6ike-movement.h"

#include "ns3/boolean.h"
#include "ns3/enum.h"
#include "ns3/icmpv6-header.h"
#include "ns3/icmpv6-l4-protocol.h"
#include "ns3/ipv6-interface.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/ipv6-routing-protocol.h"
#include "ns3/log.h"
#include "ns3/loopback-net-device.h"
#include "ns3/ndisc-cache.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"
#include "ns3/virtual-net-device.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeMovement");

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeMovementDetector);

TypeId
Mip6IkeMovementDetector::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeMovementDetector")
            .SetParent<Object>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeMovementDetector>()
            .AddAttribute("DadMode",
                          "Duplicate Address Detection of a new care-of address: On (RFC 4862: "
                          "usable after DupAddrDetectTransmits x RetransTimer), Optimistic "
                          "(RFC 4429: usable at once, probe sent), Off (no probe, usable at "
                          "once).",
                          EnumValue(MIP6IKE_DAD_ON),
                          MakeEnumAccessor(&Mip6IkeMovementDetector::m_dadMode),
                          MakeEnumChecker(MIP6IKE_DAD_ON,
                                          "on",
                                          MIP6IKE_DAD_OFF,
                                          "off",
                                          MIP6IKE_DAD_OPTIMISTIC,
                                          "optimistic"))
            .AddAttribute("RetransTimer",
                          "RFC 4861 RetransTimer: the wait after each DAD probe.",
                          TimeValue(Seconds(1)),
                          MakeTimeAccessor(&Mip6IkeMovementDetector::m_retransTimer),
                          MakeTimeChecker(Time(0)))
            .AddAttribute("DupAddrDetectTransmits",
                          "RFC 4862 DupAddrDetectTransmits: DAD probes per address (mode On "
                          "and Optimistic; 0 behaves as Off).",
                          UintegerValue(1),
                          MakeUintegerAccessor(&Mip6IkeMovementDetector::m_dadTransmits),
                          MakeUintegerChecker<uint32_t>(0, 10))
            .AddAttribute("SendRsOnL2",
                          "Send a Router Solicitation when the link layer changes "
                          "(NotifyL2Handover()).",
                          BooleanValue(true),
                          MakeBooleanAccessor(&Mip6IkeMovementDetector::m_sendRsOnL2),
                          MakeBooleanChecker())
            .AddTraceSource("MovementDetected",
                            "An RA with a new on-link prefix: prefix, router, interface.",
                            MakeTraceSourceAccessor(&Mip6IkeMovementDetector::m_movementTrace),
                            "ns3::Mip6IkeMovementDetector::MovementTracedCallback")
            .AddTraceSource("CoaFormed",
                            "The new care-of address was added to its interface (DAD starts).",
                            MakeTraceSourceAccessor(&Mip6IkeMovementDetector::m_coaFormedTrace),
                            "ns3::Mip6IkeMovementDetector::CoaTracedCallback")
            .AddTraceSource("CoaReady",
                            "The new care-of address is usable (after DAD per DadMode).",
                            MakeTraceSourceAccessor(&Mip6IkeMovementDetector::m_coaReadyTrace),
                            "ns3::Mip6IkeMovementDetector::CoaTracedCallback")
            .AddTraceSource("L2HandoverStart",
                            "The link layer changed (NotifyL2Handover()).",
                            MakeTraceSourceAccessor(&Mip6IkeMovementDetector::m_l2Trace),
                            "ns3::Mip6IkeMovementDetector::L2TracedCallback");
    return tid;
}

Mip6IkeMovementDetector::Mip6IkeMovementDetector()
    : m_dadMode(MIP6IKE_DAD_ON),
      m_retransTimer(Seconds(1)),
      m_dadTransmits(1),
      m_sendRsOnL2(true),
      m_interface(-1),
      m_nsAutoconf(false),
      m_ready(false),
      m_homeSet(false),
      m_homePlen(64),
      m_atHome(false),
      m_movements(0)
{
}

Mip6IkeMovementDetector::~Mip6IkeMovementDetector()
{
}

void
Mip6IkeMovementDetector::Start(Ptr<Node> node, const std::vector<Ptr<NetDevice>>& devices)
{
    NS_LOG_FUNCTION(this << node);
    m_node = node;
    Ptr<Ipv6L3Protocol> ipv6 = node->GetObject<Ipv6L3Protocol>();
    NS_ABORT_MSG_IF(!ipv6, "Mip6IkeMovementDetector: node " << node->GetId() << " has no IPv6");
    // This class runs DAD per DadMode: ns-3's own DAD would race with it.
    Ptr<Icmpv6L4Protocol> icmp = node->GetObject<Icmpv6L4Protocol>();
    if (icmp)
    {
        icmp->SetAttribute("DAD", BooleanValue(false));
    }
    m_devices = devices;
    if (m_devices.empty())
    {
        for (uint32_t i = 0; i < node->GetNDevices(); i++)
        {
            Ptr<NetDevice> d = node->GetDevice(i);
            if (DynamicCast<LoopbackNetDevice>(d) || DynamicCast<VirtualNetDevice>(d) ||
                ipv6->GetInterfaceForDevice(d) < 0)
            {
                continue;
            }
            m_devices.push_back(d);
        }
    }
    for (const auto& d : m_devices)
    {
        node->RegisterProtocolHandler(MakeCallback(&Mip6IkeMovementDetector::Receive, this),
                                      Ipv6L3Protocol::PROT_NUMBER,
                                      d);
    }
}

void
Mip6IkeMovementDetector::SetCoaCallback(CoaCallback cb)
{
    m_coaCallback = cb;
}

void
Mip6IkeMovementDetector::SetHome(Ipv6Address prefix, uint8_t plen, HomeCallback cb)
{
    m_homeSet = true;
    m_homePrefix = prefix;
    m_homePlen = plen;
    m_homeCallback = cb;
}

bool
Mip6IkeMovementDetector::IsAtHome() const
{
    return m_atHome;
}

void
Mip6IkeMovementDetector::NotifyL2Handover(Ptr<NetDevice> device)
{
    NS_LOG_FUNCTION(this << device);
    m_l2Trace(device);
    if (!m_sendRsOnL2 || !m_node)
    {
        return;
    }
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    Ptr<Icmpv6L4Protocol> icmp = m_node->GetObject<Icmpv6L4Protocol>();
    if (!ipv6 || !icmp)
    {
        return;
    }
    for (const auto& d : m_devices)
    {
        if (device && d != device)
        {
            continue;
        }
        const int32_t i = ipv6->GetInterfaceForDevice(d);
        if (i < 0)
        {
            continue;
        }
        const Ipv6Address ll = ipv6->GetInterface(i)->GetLinkLocalAddress().GetAddress();
        icmp->SendRS(ll, Ipv6Address::GetAllRoutersMulticast(), d->GetAddress());
    }
}

void
Mip6IkeMovementDetector::Receive(Ptr<NetDevice> device,
                                 Ptr<const Packet> packet,
                                 uint16_t /* protocol */,
                                 const Address& /* from */,
                                 const Address& /* to */,
                                 NetDevice::PacketType /* packetType */)
{
    // Every IPv6 packet of the device comes here: look at two octets
    // (Next Header ICMPv6, type RA) before copying anything.
    uint8_t peek[41];
    if (packet->GetSize() < 40 + 16 || packet->CopyData(peek, sizeof(peek)) != sizeof(peek) ||
        peek[6] != Icmpv6L4Protocol::PROT_NUMBER ||
        peek[40] != Icmpv6Header::ICMPV6_ND_ROUTER_ADVERTISEMENT)
    {
        return;
    }
    Ptr<Packet> p = packet->Copy();
    Ipv6Header ip;
    p->RemoveHeader(ip);
    if (ip.GetNextHeader() != Icmpv6L4Protocol::PROT_NUMBER || !ip.GetSource().IsLinkLocal())
    {
        return;
    }
    uint8_t type = 0;
    p->CopyData(&type, 1);
    if (type != Icmpv6Header::ICMPV6_ND_ROUTER_ADVERTISEMENT)
    {
        return;
    }
    Icmpv6RA ra;
    p->RemoveHeader(ra);
    // Options: the first on-link /64 prefix.
    while (p->GetSize() >= 8)
    {
        uint8_t hdr[2];
        p->CopyData(hdr, 2);
        if (hdr[1] == 0)
        {
            return; // malformed: a zero-length option
        }
        if (hdr[0] == Icmpv6Header::ICMPV6_OPT_PREFIX && hdr[1] == 4 && p->GetSize() >= 32)
        {
            Icmpv6OptionPrefixInformation pi;
            p->RemoveHeader(pi);
            if ((pi.GetFlags() & Icmpv6OptionPrefixInformation::ONLINK) &&
                pi.GetPrefixLength() == 64 && pi.GetValidTime() > 0)
            {
                Move(device, pi.GetPrefix(), ip.GetSource());
                return;
            }
            continue;
        }
        const uint32_t len = uint32_t(hdr[1]) * 8;
        if (len > p->GetSize())
        {
            return;
        }
        p->RemoveAtStart(len);
    }
}

void
Mip6IkeMovementDetector::Move(Ptr<NetDevice> device, Ipv6Address prefix, Ipv6Address router)
{
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    const int32_t iface = ipv6->GetInterfaceForDevice(device);
    if (iface < 0)
    {
        return;
    }
    if (prefix == m_prefix && iface == m_interface)
    {
        if (router != m_router)
        {
            NS_LOG_LOGIC("another router on the same link: no movement");
        }
        return; // a periodic RA of the current link
    }
    NS_LOG_INFO("node " << m_node->GetId() << ": movement to " << prefix << " via " << router
                        << " on interface " << iface);
    ++m_movements;
    m_movementTrace(prefix, router, uint32_t(iface));
    Ptr<Ipv6RoutingProtocol> routing = ipv6->GetRoutingProtocol();

    // Forget the old link: its CoA and its default route.
    if (m_dadEvent.IsRunning())
    {
        Simulator::Remove(m_dadEvent);
    }
    if (m_interface >= 0)
    {
        // The same removal whether ns-3 or we configured them (ns-3 adds its
        // default route with the same arguments).  Not
        // Ipv6L3Protocol::RemoveAutoconfiguredAddress(): in 3.37 it drops
        // the prefix object with its timers still running, which aborts
        // ("Event is still running while destroying").  ns-3's prefix object
        // stays; its timers later find nothing to remove.
        if (!m_coa.IsAny())
        {
            ipv6->RemoveAddress(m_interface, m_coa);
        }
        routing->NotifyRemoveRoute(Ipv6Address::GetAny(),
                                   Ipv6Prefix(uint8_t(0)),
                                   m_router,
                                   m_interface,
                                   m_prefix);
    }

    if (m_homeSet && prefix.CombinePrefix(Ipv6Prefix(m_homePlen)) ==
                         m_homePrefix.CombinePrefix(Ipv6Prefix(m_homePlen)))
    {
        // Back home: no CoA; the home router becomes the default router.
        routing->NotifyAddRoute(Ipv6Address::GetAny(),
                                Ipv6Prefix(uint8_t(0)),
                                router,
                                uint32_t(iface),
                                prefix);
        m_prefix = prefix;
        m_router = router;
        m_coa = Ipv6Address::GetAny();
        m_interface = iface;
        m_nsAutoconf = false;
        m_ready = true;
        m_atHome = true;
        NS_LOG_INFO("node " << m_node->GetId() << ": back home on interface " << iface);
        if (!m_homeCallback.IsNull())
        {
            m_homeCallback(uint32_t(iface));
        }
        return;
    }
    m_atHome = false;

    // SLAAC: the prefix and the device's interface identifier.
    const Ipv6Address coa = Ipv6Address::MakeAutoconfiguredAddress(device->GetAddress(), prefix);
    Ptr<Ipv6Interface> ifc = ipv6->GetInterface(iface);
    bool present = false;
    for (uint32_t j = 0; j < ifc->GetNAddresses(); j++)
    {
        present = present || ifc->GetAddress(j).GetAddress() == coa;
    }
    m_nsAutoconf = present; // ns-3 did SLAAC itself (A flag set)
    if (!present)
    {
        ipv6->AddAddress(iface, Ipv6InterfaceAddress(coa, Ipv6Prefix(64)));
        routing->NotifyAddRoute(Ipv6Address::GetAny(),
                                Ipv6Prefix(uint8_t(0)),
                                router,
                                uint32_t(iface),
                                prefix);
    }
    m_prefix = prefix;
    m_router = router;
    m_coa = coa;
    m_interface = iface;
    m_ready = false;
    m_coaFormedTrace(coa);

    const bool probe = m_dadMode != MIP6IKE_DAD_OFF && m_dadTransmits > 0;
    Ptr<Icmpv6L4Protocol> icmp = m_node->GetObject<Icmpv6L4Protocol>();
    if (probe && icmp)
    {
        // One NS from :: to the solicited-node group (RFC 4862 §5.4.2).
        // Not Icmpv6L4Protocol::DoDAD(): it does nothing while its "DAD"
        // attribute is false, which Start() set.
        const Ipv6Address group = Ipv6Address::MakeSolicitedAddress(coa);
        NdiscCache::Ipv6PayloadHeaderPair ns =
            icmp->ForgeNS(Ipv6Address::GetAny(), group, coa, device->GetAddress());
        ifc->SetNsDadUid(coa, ns.first->GetUid());
        ifc->Send(ns.first, ns.second, group);
    }
    switch (m_dadMode)
    {
    case MIP6IKE_DAD_ON:
        if (probe)
        {
            ifc->SetState(coa, Ipv6InterfaceAddress::TENTATIVE);
            m_dadEvent = Simulator::Schedule(m_retransTimer * m_dadTransmits,
                                             &Mip6IkeMovementDetector::DadDone,
                                             this,
                                             coa);
            return;
        }
        ifc->SetState(coa, Ipv6InterfaceAddress::PREFERRED);
        Ready();
        return;
    case MIP6IKE_DAD_OPTIMISTIC:
        if (probe)
        {
            ifc->SetState(coa, Ipv6InterfaceAddress::TENTATIVE_OPTIMISTIC);
            m_dadEvent = Simulator::Schedule(m_retransTimer * m_dadTransmits,
                                             &Mip6IkeMovementDetector::DadDone,
                                             this,
                                             coa);
        }
        else
        {
            ifc->SetState(coa, Ipv6InterfaceAddress::PREFERRED);
        }
        Ready();
        return;
    case MIP6IKE_DAD_OFF:
    default:
        ifc->SetState(coa, Ipv6InterfaceAddress::PREFERRED);
        Ready();
        return;
    }
}

void
Mip6IkeMovementDetector::DadDone(Ipv6Address coa)
{
    if (coa != m_coa || m_interface < 0)
    {
        return;
    }
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    Ptr<Ipv6Interface> ifc = ipv6->GetInterface(m_interface);
    for (uint32_t j = 0; j < ifc->GetNAddresses(); j++)
    {
        Ipv6InterfaceAddress a = ifc->GetAddress(j);
        if (a.GetAddress() == coa && a.GetState() == Ipv6InterfaceAddress::INVALID)
        {
            NS_LOG_WARN("DAD failed for " << coa << ": another node answered");
            return;
        }
    }
    ifc->SetState(coa, Ipv6InterfaceAddress::PREFERRED);
    if (!m_ready)
    {
        Ready();
    }
}

void
Mip6IkeMovementDetector::Ready()
{
    m_ready = true;
    NS_LOG_INFO("node " << m_node->GetId() << ": CoA " << m_coa << " usable");
    m_coaReadyTrace(m_coa);
    if (!m_coaCallback.IsNull())
    {
        m_coaCallback(m_coa, uint32_t(m_interface));
    }
}

Ipv6Address
Mip6IkeMovementDetector::GetCoa() const
{
    return m_coa;
}

bool
Mip6IkeMovementDetector::IsCoaReady() const
{
    return m_ready;
}

Mip6IkeDadMode
Mip6IkeMovementDetector::GetDadMode() const
{
    return m_dadMode;
}

uint32_t
Mip6IkeMovementDetector::GetMovements() const
{
    return m_movements;
}

void
Mip6IkeMovementDetector::DoDispose()
{
    if (m_dadEvent.IsRunning())
    {
        Simulator::Remove(m_dadEvent);
    }
    m_node = nullptr;
    m_devices.clear();
    m_coaCallback.Nullify();
    m_homeCallback.Nullify();
    Object::DoDispose();
}

} // namespace ns3
