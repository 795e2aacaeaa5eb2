/*
 * mip6ike: the Mobility Header (135) and ESP (50) as ns-3 IpL4Protocols.
 * See mip6ike-l4-protocol.h.
 */
#include "mip6ike-l4-protocol.h"

#include "mip6ike-ext-headers.h"

#include "ns3/buffer.h"
#include "ns3/ipv6-interface.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/log.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeL4Protocol");

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeWireL4Protocol);

TypeId
Mip6IkeWireL4Protocol::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeWireL4Protocol")
            .SetParent<IpL4Protocol>()
            .SetGroupName("Mip6Ike")
            .AddTraceSource("Rx",
                            "A packet was rebuilt as on the wire and handed on: the IPv6 "
                            "header ns-3 passed up and the rebuilt size.",
                            MakeTraceSourceAccessor(&Mip6IkeWireL4Protocol::m_rxTrace),
                            "ns3::Mip6IkeWireL4Protocol::RxTracedCallback")
            .AddTraceSource("Drop",
                            "A packet could not be rebuilt (extension headers ns-3 removed "
                            "that no handler recorded), or there was no consumer.",
                            MakeTraceSourceAccessor(&Mip6IkeWireL4Protocol::m_dropTrace),
                            "ns3::Mip6IkeWireL4Protocol::DropTracedCallback");
    return tid;
}

Mip6IkeWireL4Protocol::Mip6IkeWireL4Protocol(uint8_t protocolNumber)
    : m_protocolNumber(protocolNumber),
      m_received(0),
      m_dropped(0)
{
    NS_LOG_FUNCTION(this << +protocolNumber);
}

Mip6IkeWireL4Protocol::~Mip6IkeWireL4Protocol()
{
}

void
Mip6IkeWireL4Protocol::SetNode(Ptr<Node> node)
{
    m_node = node;
}

void
Mip6IkeWireL4Protocol::SetWireCallback(WireCallback cb)
{
    m_wireCallback = cb;
}

int
Mip6IkeWireL4Protocol::GetProtocolNumber() const
{
    return m_protocolNumber;
}

IpL4Protocol::RxStatus
Mip6IkeWireL4Protocol::Receive(Ptr<Packet> /* p */,
                               const Ipv4Header& /* header */,
                               Ptr<Ipv4Interface> /* incomingInterface */)
{
    NS_LOG_LOGIC("IPv4 packet for protocol " << +m_protocolNumber << " ignored");
    ++m_dropped;
    return IpL4Protocol::RX_ENDPOINT_UNREACH;
}

bool
Mip6IkeWireL4Protocol::Rebuild(Ptr<const Packet> p,
                               const Ipv6Header& header,
                               std::vector<uint8_t>& wire)
{
    Mip6IkeExtHeaderTag tag;
    const bool tagged = p->PeekPacketTag(tag);
    const std::vector<uint8_t> empty;
    const std::vector<uint8_t>& ext = tagged ? tag.GetBytes() : empty;
    // ns-3 removed (Payload Length - L4 size) octets of extension headers.
    const uint32_t l4 = p->GetSize();
    const uint32_t payload = header.GetPayloadLength();
    if (payload < l4 || payload - l4 != ext.size())
    {
        return false;
    }
    // The first extension header must be the one the IPv6 header names.
    if (ext.empty() && header.GetNextHeader() != 50 && header.GetNextHeader() != 135)
    {
        return false;
    }
    Ipv6Header h = header;
    h.SetPayloadLength(static_cast<uint16_t>(ext.size() + l4));
    Buffer b;
    b.AddAtStart(h.GetSerializedSize());
    h.Serialize(b.Begin());
    wire.resize(h.GetSerializedSize() + ext.size() + l4);
    b.CopyData(wire.data(), h.GetSerializedSize());
    std::copy(ext.begin(), ext.end(), wire.begin() + h.GetSerializedSize());
    p->CopyData(wire.data() + h.GetSerializedSize() + ext.size(), l4);
    return true;
}

IpL4Protocol::RxStatus
Mip6IkeWireL4Protocol::Receive(Ptr<Packet> p,
                               const Ipv6Header& header,
                               Ptr<Ipv6Interface> incomingInterface)
{
    NS_LOG_FUNCTION(this << p << header);
    std::vector<uint8_t> wire;
    if (!Rebuild(p, header, wire))
    {
        NS_LOG_WARN("protocol " << +m_protocolNumber << " packet from " << header.GetSource()
                                << ": extension headers not recorded, cannot rebuild: drop");
        ++m_dropped;
        m_dropTrace(header, p);
        return IpL4Protocol::RX_OK;
    }
    if (m_wireCallback.IsNull())
    {
        ++m_dropped;
        m_dropTrace(header, p);
        return IpL4Protocol::RX_ENDPOINT_UNREACH;
    }
    uint32_t iif = 0;
    if (incomingInterface && m_node)
    {
        Ptr<Ipv6L3Protocol> ipv6 = m_node->GetObject<Ipv6L3Protocol>();
        if (ipv6)
        {
            const int32_t i = ipv6->GetInterfaceForDevice(incomingInterface->GetDevice());
            iif = i < 0 ? 0 : uint32_t(i);
        }
    }
    ++m_received;
    m_rxTrace(header, static_cast<uint32_t>(wire.size()));
    m_wireCallback(wire, iif);
    return IpL4Protocol::RX_OK;
}

void
Mip6IkeWireL4Protocol::SetDownTarget(IpL4Protocol::DownTargetCallback cb)
{
    m_down4 = cb;
}

void
Mip6IkeWireL4Protocol::SetDownTarget6(IpL4Protocol::DownTargetCallback6 cb)
{
    m_down6 = cb;
}

IpL4Protocol::DownTargetCallback
Mip6IkeWireL4Protocol::GetDownTarget() const
{
    return m_down4;
}

IpL4Protocol::DownTargetCallback6
Mip6IkeWireL4Protocol::GetDownTarget6() const
{
    return m_down6;
}

uint64_t
Mip6IkeWireL4Protocol::GetReceived() const
{
    return m_received;
}

uint64_t
Mip6IkeWireL4Protocol::GetDropped() const
{
    return m_dropped;
}

void
Mip6IkeWireL4Protocol::NotifyNewAggregate()
{
    if (!m_node)
    {
        m_node = GetObject<Node>();
    }
    IpL4Protocol::NotifyNewAggregate();
}

void
Mip6IkeWireL4Protocol::DoDispose()
{
    m_node = nullptr;
    m_wireCallback.Nullify();
    m_down4.Nullify();
    m_down6.Nullify();
    IpL4Protocol::DoDispose();
}

/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeMobilityL4Protocol);

TypeId
Mip6IkeMobilityL4Protocol::GetTypeId()
{
    static TypeId tid = TypeId("ns3::Mip6IkeMobilityL4Protocol")
                            .SetParent<Mip6IkeWireL4Protocol>()
                            .SetGroupName("Mip6Ike")
                            .AddConstructor<Mip6IkeMobilityL4Protocol>();
    return tid;
}

Mip6IkeMobilityL4Protocol::Mip6IkeMobilityL4Protocol()
    : Mip6IkeWireL4Protocol(PROT_NUMBER)
{
}

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeEspL4Protocol);

TypeId
Mip6IkeEspL4Protocol::GetTypeId()
{
    static TypeId tid = TypeId("ns3::Mip6IkeEspL4Protocol")
                            .SetParent<Mip6IkeWireL4Protocol>()
                            .SetGroupName("Mip6Ike")
                            .AddConstructor<Mip6IkeEspL4Protocol>();
    return tid;
}

Mip6IkeEspL4Protocol::Mip6IkeEspL4Protocol()
    : Mip6IkeWireL4Protocol(PROT_NUMBER)
{
}

} // namespace ns3
