/*
 * mip6ike: how the MN-HA tunnel meets ns-3's IPv6 routing.
 * See mip6ike-routing.h.
 */
#include "mip6ike-routing.h"

#include "ns3/icmpv6-header.h"
#include "ns3/icmpv6-l4-protocol.h"
#include "ns3/ipv6-interface.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/ipv6-route.h"
#include "ns3/log.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/packet.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeRouting");

namespace
{

/** \param a destination \return whether it can leave through the tunnel */
bool
Tunnellable(const Ipv6Address& a)
{
    return !(a.IsAny() || a.IsLocalhost() || a.IsMulticast() || a.IsLinkLocal());
}

} // namespace

/* ---------------------------------------------------------------------- */
/* Mip6IkeRoutingBase                                                      */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeRoutingBase);

TypeId
Mip6IkeRoutingBase::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeRoutingBase").SetParent<Ipv6RoutingProtocol>().SetGroupName("Mip6Ike");
    return tid;
}

Mip6IkeRoutingBase::Mip6IkeRoutingBase()
{
}

Mip6IkeRoutingBase::~Mip6IkeRoutingBase()
{
}

void
Mip6IkeRoutingBase::SetFallback(Ptr<Ipv6RoutingProtocol> fallback)
{
    m_fallback = fallback;
}

Ptr<Ipv6RoutingProtocol>
Mip6IkeRoutingBase::GetFallback() const
{
    return m_fallback;
}

Ptr<Ipv6Route>
Mip6IkeRoutingBase::RouteOutput(Ptr<Packet> p,
                                const Ipv6Header& header,
                                Ptr<NetDevice> oif,
                                Socket::SocketErrno& sockerr)
{
    Ptr<Ipv6Route> route = m_ipv6 ? ClaimOutput(header, oif) : nullptr;
    if (route)
    {
        sockerr = Socket::ERROR_NOTERROR;
        return route;
    }
    if (m_fallback)
    {
        return m_fallback->RouteOutput(p, header, oif, sockerr);
    }
    sockerr = Socket::ERROR_NOROUTETOHOST;
    return nullptr;
}

bool
Mip6IkeRoutingBase::RouteInput(Ptr<const Packet> p,
                               const Ipv6Header& header,
                               Ptr<const NetDevice> idev,
                               UnicastForwardCallback ucb,
                               MulticastForwardCallback mcb,
                               LocalDeliverCallback lcb,
                               ErrorCallback ecb)
{
    if (m_ipv6 && ClaimInput(p, header, idev, ucb))
    {
        return true;
    }
    if (m_fallback)
    {
        return m_fallback->RouteInput(p, header, idev, ucb, mcb, lcb, ecb);
    }
    return false;
}

void
Mip6IkeRoutingBase::NotifyInterfaceUp(uint32_t interface)
{
    if (m_fallback)
    {
        m_fallback->NotifyInterfaceUp(interface);
    }
}

void
Mip6IkeRoutingBase::NotifyInterfaceDown(uint32_t interface)
{
    if (m_fallback)
    {
        m_fallback->NotifyInterfaceDown(interface);
    }
}

void
Mip6IkeRoutingBase::NotifyAddAddress(uint32_t interface, Ipv6InterfaceAddress address)
{
    if (m_fallback)
    {
        m_fallback->NotifyAddAddress(interface, address);
    }
}

void
Mip6IkeRoutingBase::NotifyRemoveAddress(uint32_t interface, Ipv6InterfaceAddress address)
{
    if (m_fallback)
    {
        m_fallback->NotifyRemoveAddress(interface, address);
    }
}

void
Mip6IkeRoutingBase::NotifyAddRoute(Ipv6Address dst,
                                   Ipv6Prefix mask,
                                   Ipv6Address nextHop,
                                   uint32_t interface,
                                   Ipv6Address prefixToUse)
{
    if (m_fallback)
    {
        m_fallback->NotifyAddRoute(dst, mask, nextHop, interface, prefixToUse);
    }
}

void
Mip6IkeRoutingBase::NotifyRemoveRoute(Ipv6Address dst,
                                      Ipv6Prefix mask,
                                      Ipv6Address nextHop,
                                      uint32_t interface,
                                      Ipv6Address prefixToUse)
{
    if (m_fallback)
    {
        m_fallback->NotifyRemoveRoute(dst, mask, nextHop, interface, prefixToUse);
    }
}

void
Mip6IkeRoutingBase::SetIpv6(Ptr<Ipv6> ipv6)
{
    m_ipv6 = ipv6;
}

void
Mip6IkeRoutingBase::PrintRoutingTable(Ptr<OutputStreamWrapper> stream, Time::Unit unit) const
{
    PrintOwn(*stream->GetStream());
    if (m_fallback)
    {
        m_fallback->PrintRoutingTable(stream, unit);
    }
}

void
Mip6IkeRoutingBase::DoDispose()
{
    m_ipv6 = nullptr;
    m_fallback = nullptr;
    Ipv6RoutingProtocol::DoDispose();
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeMnRouting                                                        */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeMnRouting);

TypeId
Mip6IkeMnRouting::GetTypeId()
{
    static TypeId tid = TypeId("ns3::Mip6IkeMnRouting")
                            .SetParent<Mip6IkeRoutingBase>()
                            .SetGroupName("Mip6Ike")
                            .AddConstructor<Mip6IkeMnRouting>();
    return tid;
}

Mip6IkeMnRouting::Mip6IkeMnRouting()
    : m_enabled(true),
      m_tunnelled(0)
{
}

Mip6IkeMnRouting::~Mip6IkeMnRouting()
{
}

void
Mip6IkeMnRouting::SetTunnel(Ipv6Address homeAddress, Ptr<NetDevice> tunnel)
{
    m_hoa = homeAddress;
    m_tunnel = tunnel;
}

void
Mip6IkeMnRouting::SetEnabled(bool enabled)
{
    m_enabled = enabled;
}

Ptr<Ipv6Route>
Mip6IkeMnRouting::ClaimOutput(const Ipv6Header& header, Ptr<NetDevice> oif)
{
    if (!m_enabled || !m_tunnel)
    {
        return nullptr;
    }
    const Ipv6Address src = header.GetSource();
    const Ipv6Address dst = header.GetDestination();
    // The agent's own packets name their source (CoA, link-local); a
    // socket that did not bind leaves it unspecified: that is the HoA's
    // traffic, as is everything sent from the HoA.
    if (!(src == m_hoa || src.IsAny()) || !Tunnellable(dst) || dst == m_hoa)
    {
        return nullptr;
    }
    if (oif && oif != m_tunnel)
    {
        return nullptr; // bound to another device
    }
    Ptr<Ipv6Route> route = Create<Ipv6Route>();
    route->SetDestination(dst);
    route->SetSource(m_hoa);
    route->SetGateway(Ipv6Address::GetZero());
    route->SetOutputDevice(m_tunnel);
    ++m_tunnelled;
    NS_LOG_LOGIC("MN: " << dst << " from " << m_hoa << " via the tunnel");
    return route;
}

bool
Mip6IkeMnRouting::ClaimInput(Ptr<const Packet> /* p */,
                             const Ipv6Header& /* header */,
                             Ptr<const NetDevice> /* idev */,
                             UnicastForwardCallback /* ucb */)
{
    return false;
}

void
Mip6IkeMnRouting::PrintOwn(std::ostream& os) const
{
    os << "Mip6IkeMnRouting: from " << m_hoa << " (or unspecified) to any global address -> "
       << (m_tunnel ? "tunnel device" : "(no tunnel)") << (m_enabled ? "" : " [disabled]")
       << "\n";
}

uint64_t
Mip6IkeMnRouting::GetTunnelled() const
{
    return m_tunnelled;
}

void
Mip6IkeMnRouting::DoDispose()
{
    m_tunnel = nullptr;
    Mip6IkeRoutingBase::DoDispose();
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeHaRouting                                                        */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeHaRouting);

TypeId
Mip6IkeHaRouting::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeHaRouting")
            .SetParent<Mip6IkeRoutingBase>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeHaRouting>()
            .AddTraceSource("Intercept",
                            "A packet for a home address registered away from home was routed "
                            "into the tunnel: its IPv6 header, and whether it was forwarded "
                            "(true) or originated by the HA (false).",
                            MakeTraceSourceAccessor(&Mip6IkeHaRouting::m_interceptTrace),
                            "ns3::Mip6IkeHaRouting::InterceptTracedCallback");
    return tid;
}

Mip6IkeHaRouting::Mip6IkeHaRouting()
    : m_intercepted(0)
{
}

Mip6IkeHaRouting::~Mip6IkeHaRouting()
{
}

void
Mip6IkeHaRouting::SetTunnel(LookupCallback lookup, Ptr<NetDevice> tunnel)
{
    m_lookup = lookup;
    m_tunnel = tunnel;
}

Ptr<Ipv6Route>
Mip6IkeHaRouting::TunnelRoute(Ipv6Address dst) const
{
    if (m_lookup.IsNull() || !m_tunnel || !m_ipv6 || !Tunnellable(dst) || !m_lookup(dst))
    {
        return nullptr;
    }
    Ptr<Ipv6Route> route = Create<Ipv6Route>();
    route->SetDestination(dst);
    route->SetGateway(Ipv6Address::GetZero());
    route->SetOutputDevice(m_tunnel);
    // Source for packets the HA originates: a global address of its own
    // (any will do: the packet is tunnelled).
    Ipv6Address src = Ipv6Address::GetZero();
    for (uint32_t i = 0; i < m_ipv6->GetNInterfaces() && src.IsAny(); i++)
    {
        for (uint32_t j = 0; j < m_ipv6->GetNAddresses(i); j++)
        {
            const Ipv6Address a = m_ipv6->GetAddress(i, j).GetAddress();
            if (Tunnellable(a))
            {
                src = a;
                break;
            }
        }
    }
    route->SetSource(src);
    return route;
}

Ptr<Ipv6Route>
Mip6IkeHaRouting::ClaimOutput(const Ipv6Header& header, Ptr<NetDevice> oif)
{
    if (oif && oif != m_tunnel)
    {
        return nullptr;
    }
    Ptr<Ipv6Route> route = TunnelRoute(header.GetDestination());
    if (route)
    {
        if (!header.GetSource().IsAny())
        {
            route->SetSource(header.GetSource());
        }
        ++m_intercepted;
        m_interceptTrace(header, false);
    }
    return route;
}

bool
Mip6IkeHaRouting::ClaimInput(Ptr<const Packet> p,
                             const Ipv6Header& header,
                             Ptr<const NetDevice> idev,
                             UnicastForwardCallback ucb)
{
    if (idev == m_tunnel)
    {
        return false; // out of the tunnel: ordinary forwarding
    }
    Ptr<Ipv6Route> route = TunnelRoute(header.GetDestination());
    if (!route)
    {
        return false;
    }
    route->SetSource(header.GetSource());
    ++m_intercepted;
    m_interceptTrace(header, true);
    NS_LOG_LOGIC("HA: intercepting " << header.GetSource() << " -> " << header.GetDestination());
    ucb(idev, route, p, header);
    return true;
}

void
Mip6IkeHaRouting::PrintOwn(std::ostream& os) const
{
    os << "Mip6IkeHaRouting: registered home addresses -> tunnel device (" << m_intercepted
       << " packets so far)\n";
}

uint64_t
Mip6IkeHaRouting::GetIntercepted() const
{
    return m_intercepted;
}

void
Mip6IkeHaRouting::DoDispose()
{
    m_tunnel = nullptr;
    m_lookup.Nullify();
    Mip6IkeRoutingBase::DoDispose();
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeProxyNd                                                          */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeProxyNd);

TypeId
Mip6IkeProxyNd::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeProxyNd")
            .SetParent<Object>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeProxyNd>()
            .AddTraceSource("Advertisement",
                            "A proxy Neighbor Advertisement was sent for a registered home "
                            "address: the address and whether it answered an NS.",
                            MakeTraceSourceAccessor(&Mip6IkeProxyNd::m_naTrace),
                            "ns3::Mip6IkeProxyNd::NaTracedCallback");
    return tid;
}

Mip6IkeProxyNd::Mip6IkeProxyNd()
    : m_nas(0),
      m_routerFlag(true)
{
}

Mip6IkeProxyNd::~Mip6IkeProxyNd()
{
}

void
Mip6IkeProxyNd::Start(Ptr<Node> node, Ptr<NetDevice> homeDevice, LookupCallback lookup)
{
    NS_LOG_FUNCTION(this << node << homeDevice);
    m_node = node;
    m_device = homeDevice;
    m_lookup = lookup;
    node->RegisterProtocolHandler(MakeCallback(&Mip6IkeProxyNd::Receive, this),
                                  Ipv6L3Protocol::PROT_NUMBER,
                                  homeDevice);
}

void
Mip6IkeProxyNd::Receive(Ptr<NetDevice> device,
                        Ptr<const Packet> packet,
                        uint16_t /* protocol */,
                        const Address& from,
                        const Address& /* to */,
                        NetDevice::PacketType /* packetType */)
{
    if (m_lookup.IsNull() || device != m_device)
    {
        return;
    }
    // Every IPv6 packet of the home link comes here: look at two octets
    // (Next Header ICMPv6, type NS) before copying anything.
    uint8_t peek[41];
    if (packet->GetSize() < 40 + 24 || packet->CopyData(peek, sizeof(peek)) != sizeof(peek) ||
        peek[6] != Icmpv6L4Protocol::PROT_NUMBER ||
        peek[40] != Icmpv6Header::ICMPV6_ND_NEIGHBOR_SOLICITATION)
    {
        return;
    }
    Ptr<Packet> p = packet->Copy();
    Ipv6Header ip;
    p->RemoveHeader(ip);
    if (ip.GetNextHeader() != Icmpv6L4Protocol::PROT_NUMBER)
    {
        return;
    }
    uint8_t type = 0;
    p->CopyData(&type, 1);
    if (type != Icmpv6Header::ICMPV6_ND_NEIGHBOR_SOLICITATION)
    {
        return;
    }
    Icmpv6NS ns;
    p->RemoveHeader(ns);
    const Ipv6Address target = ns.GetIpv6Target();
    if (!m_lookup(target))
    {
        return;
    }
    // An NS from :: is another node's DAD for the HoA: defend it
    // (RFC 6275 §10.4.1) with an NA to all-nodes; otherwise answer the
    // solicitor.
    const bool dad = ip.GetSource().IsAny();
    NS_LOG_LOGIC("proxy ND: NS for " << target << " from " << ip.GetSource());
    SendNa(target, dad ? Ipv6Address::GetAllNodesMulticast() : ip.GetSource(), !dad, from);
}

void
Mip6IkeProxyNd::Announce(Ipv6Address hoa)
{
    if (m_device)
    {
        SendNa(hoa, Ipv6Address::GetAllNodesMulticast(), false, Address());
    }
}

void
Mip6IkeProxyNd::SendNa(Ipv6Address target, Ipv6Address dst, bool solicited, Address toMac)
{
    Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
    const int32_t ifIndex = ipv6->GetInterfaceForDevice(m_device);
    if (ifIndex < 0)
    {
        return;
    }
    Ptr<Ipv6Interface> iface = ipv6->GetInterface(ifIndex);
    const Ipv6Address src = iface->GetLinkLocalAddress().GetAddress();

    Ptr<Packet> p = Create<Packet>();
    Icmpv6OptionLinkLayerAddress lla(false, m_device->GetAddress()); // target LLA
    p->AddHeader(lla);
    Icmpv6NA na;
    na.SetIpv6Target(target);
    na.SetFlagR(m_routerFlag);
    na.SetFlagS(solicited);
    na.SetFlagO(!solicited);
    na.CalculatePseudoHeaderChecksum(src,
                                     dst,
                                     p->GetSize() + na.GetSerializedSize(),
                                     Icmpv6L4Protocol::PROT_NUMBER);
    p->AddHeader(na);

    Ipv6Header hdr;
    hdr.SetSource(src);
    hdr.SetDestination(dst);
    hdr.SetNextHeader(Icmpv6L4Protocol::PROT_NUMBER);
    hdr.SetPayloadLength(p->GetSize());
    hdr.SetHopLimit(255);
    if (!toMac.IsInvalid() && !dst.IsMulticast())
    {
        // Straight to the solicitor's link-layer address, as ns-3's own
        // HandleNS does: no address resolution of the solicitor first.
        p->AddHeader(hdr);
        m_device->Send(p, toMac, Ipv6L3Protocol::PROT_NUMBER);
    }
    else
    {
        iface->Send(p, hdr, dst);
    }
    ++m_nas;
    m_naTrace(target, solicited);
}

void
Mip6IkeProxyNd::SetRouterFlag(bool router)
{
    m_routerFlag = router;
}

uint64_t
Mip6IkeProxyNd::GetAdvertisements() const
{
    return m_nas;
}

void
Mip6IkeProxyNd::DoDispose()
{
    m_node = nullptr;
    m_device = nullptr;
    m_lookup.Nullify();
    Object::DoDispose();
}

} // namespace ns3
