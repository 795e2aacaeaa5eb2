/*
 * mip6ike: the Mobile IPv6 extension headers in ns-3's IPv6 receive path.
 * See mip6ike-ext-headers.h.
 */
#include "mip6ike-ext-headers.h"

#include "ns3/abort.h"
#include "ns3/ipv6-extension-demux.h"
#include "ns3/ipv6-l3-protocol.h"
#include "ns3/log.h"
#include "ns3/packet.h"

namespace ns3
{

/*
 * ns-3's Ipv6OptionDemux (src/internet/model/ipv6-option-demux.h) is built
 * into libns3-internet and aggregated to every IPv6 node, but 3.37 does not
 * export its header.  These are the two members used here, with their
 * 3.36-3.40 signatures; GetTypeId() finds the aggregated object.
 */
class Ipv6OptionDemux : public Object
{
  public:
    static TypeId GetTypeId();
    void Insert(Ptr<Ipv6Option> option);
    Ptr<Ipv6Option> GetOption(int optionNumber);
};

NS_LOG_COMPONENT_DEFINE("Mip6IkeExtHeaders");

namespace
{

/** Largest extension-header prefix a tag holds: plenty for HAO + RH2. */
const size_t kMaxTagBytes = 2048;

/** \param a address \return whether it may be a home address */
bool
UsableHomeAddress(const Ipv6Address& a)
{
    return !(a.IsAny() || a.IsLocalhost() || a.IsMulticast() || a.IsLinkLocal());
}

/**
 * Find the end of the extension header that contains position pos.
 * \param data the IPv6 payload
 * \param size its length
 * \param firstNext the IPv6 header's Next Header
 * \param pos a position inside an extension header
 * \param[out] start where that header starts
 * \return the end offset, or 0 if pos is not inside an extension header
 */
size_t
HeaderEnd(const uint8_t* data, size_t size, uint8_t firstNext, size_t pos, size_t& start)
{
    uint8_t nh = firstNext;
    size_t off = 0;
    for (int n = 0; n < 16 && off + 2 <= size; n++)
    {
        size_t len;
        switch (nh)
        {
        case 0:  // Hop-by-Hop
        case 43: // Routing
        case 60: // Destination Options
            len = (size_t(data[off + 1]) + 1) * 8;
            break;
        case 44: // Fragment
            len = 8;
            break;
        case 51: // AH
            len = (size_t(data[off + 1]) + 2) * 4;
            break;
        default:
            return 0;
        }
        if (off + len > size)
        {
            return 0;
        }
        if (pos >= off && pos < off + len)
        {
            start = off;
            return off + len;
        }
        nh = data[off];
        off += len;
    }
    return 0;
}

/**
 * Replace the packet's extension-header tag with its first end octets.
 * \param packet the packet
 * \param data its octets
 * \param end prefix length
 */
void
TagPrefix(Ptr<Packet> packet, const std::vector<uint8_t>& data, size_t end)
{
    Mip6IkeExtHeaderTag tag;
    packet->RemovePacketTag(tag);
    tag.SetBytes(std::vector<uint8_t>(data.begin(), data.begin() + end));
    packet->AddPacketTag(tag);
}

} // namespace

/* ---------------------------------------------------------------------- */
/* Mip6IkeExtHeaderTag                                                     */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeExtHeaderTag);

TypeId
Mip6IkeExtHeaderTag::GetTypeId()
{
    static TypeId tid = TypeId("ns3::Mip6IkeExtHeaderTag")
                            .SetParent<Tag>()
                            .SetGroupName("Mip6Ike")
                            .AddConstructor<Mip6IkeExtHeaderTag>();
    return tid;
}

TypeId
Mip6IkeExtHeaderTag::GetInstanceTypeId() const
{
    return GetTypeId();
}

uint32_t
Mip6IkeExtHeaderTag::GetSerializedSize() const
{
    return 2 + static_cast<uint32_t>(m_bytes.size());
}

void
Mip6IkeExtHeaderTag::Serialize(TagBuffer i) const
{
    i.WriteU16(static_cast<uint16_t>(m_bytes.size()));
    if (!m_bytes.empty())
    {
        i.Write(m_bytes.data(), static_cast<uint32_t>(m_bytes.size()));
    }
}

void
Mip6IkeExtHeaderTag::Deserialize(TagBuffer i)
{
    const uint16_t n = i.ReadU16();
    m_bytes.assign(n, 0);
    if (n > 0)
    {
        i.Read(m_bytes.data(), n);
    }
}

void
Mip6IkeExtHeaderTag::Print(std::ostream& os) const
{
    os << "extension headers=" << m_bytes.size() << " octets";
}

void
Mip6IkeExtHeaderTag::SetBytes(const std::vector<uint8_t>& bytes)
{
    NS_ASSERT(bytes.size() <= kMaxTagBytes);
    m_bytes = bytes;
}

const std::vector<uint8_t>&
Mip6IkeExtHeaderTag::GetBytes() const
{
    return m_bytes;
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeHomeAddressOption                                                */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeHomeAddressOption);

TypeId
Mip6IkeHomeAddressOption::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeHomeAddressOption")
            .SetParent<Ipv6Option>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeHomeAddressOption>()
            .AddTraceSource("Accepted",
                            "A well-formed Home Address option was recorded for the L4 "
                            "protocol: the IPv6 header and the option's address.",
                            MakeTraceSourceAccessor(&Mip6IkeHomeAddressOption::m_acceptedTrace),
                            "ns3::Mip6IkeHomeAddressOption::OptionTracedCallback")
            .AddTraceSource("Rejected",
                            "A malformed Home Address option (length not 16, misaligned, "
                            "truncated, or an address that cannot be a home address) made "
                            "ns-3 drop the packet: the IPv6 header and the address (:: if "
                            "none could be read).",
                            MakeTraceSourceAccessor(&Mip6IkeHomeAddressOption::m_rejectedTrace),
                            "ns3::Mip6IkeHomeAddressOption::OptionTracedCallback");
    return tid;
}

Mip6IkeHomeAddressOption::Mip6IkeHomeAddressOption()
    : m_accepted(0),
      m_rejected(0)
{
}

Mip6IkeHomeAddressOption::~Mip6IkeHomeAddressOption()
{
}

uint8_t
Mip6IkeHomeAddressOption::GetOptionNumber() const
{
    return OPT_NUMBER;
}

uint8_t
Mip6IkeHomeAddressOption::Process(Ptr<Packet> packet,
                                  uint8_t offset,
                                  const Ipv6Header& ipv6Header,
                                  bool& isDropped)
{
    NS_LOG_FUNCTION(this << packet << +offset << ipv6Header);
    const uint32_t size = packet->GetSize();
    std::vector<uint8_t> data(size);
    packet->CopyData(data.data(), size);

    if (size_t(offset) + 2 > size)
    {
        NS_LOG_LOGIC("Home Address option truncated: drop");
        ++m_rejected;
        m_rejectedTrace(ipv6Header, Ipv6Address::GetAny());
        isDropped = true;
        return 2;
    }
    const uint8_t optLen = data[offset + 1];
    const uint8_t total = static_cast<uint8_t>(optLen + 2);
    size_t hdrStart = 0;
    const size_t hdrEnd = HeaderEnd(data.data(), size, ipv6Header.GetNextHeader(), offset, hdrStart);
    if (optLen != 16 || size_t(offset) + 18 > size || hdrEnd == 0 || size_t(offset) + 18 > hdrEnd)
    {
        NS_LOG_LOGIC("Home Address option length " << +optLen << " or position bad: drop");
        ++m_rejected;
        m_rejectedTrace(ipv6Header, Ipv6Address::GetAny());
        isDropped = true;
        return total;
    }
    const Ipv6Address hoa = Ipv6Address::Deserialize(&data[offset + 2]);
    // RFC 6275 §6.3: alignment 8n+6 (RFC 8200 §4.2: of the Option Type,
    // from the start of the header), so that the address is 8n-aligned.
    const bool aligned = ((offset - hdrStart) % 8) == 6;
    if (!aligned || !UsableHomeAddress(hoa) || hdrEnd > kMaxTagBytes)
    {
        NS_LOG_LOGIC("Home Address option " << hoa << (aligned ? "" : " misaligned")
                                            << " refused: drop");
        ++m_rejected;
        m_rejectedTrace(ipv6Header, hoa);
        isDropped = true;
        return total;
    }
    TagPrefix(packet, data, hdrEnd);
    ++m_accepted;
    m_acceptedTrace(ipv6Header, hoa);
    return total;
}

uint64_t
Mip6IkeHomeAddressOption::GetAccepted() const
{
    return m_accepted;
}

uint64_t
Mip6IkeHomeAddressOption::GetRejected() const
{
    return m_rejected;
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeType2Routing                                                     */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeType2Routing);

TypeId
Mip6IkeType2Routing::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeType2Routing")
            .SetParent<Ipv6ExtensionRouting>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeType2Routing>()
            .AddTraceSource("Accepted",
                            "A Type 2 Routing Header for one of the node's home addresses was "
                            "recorded: the IPv6 header, the address and Segments Left.",
                            MakeTraceSourceAccessor(&Mip6IkeType2Routing::m_acceptedTrace),
                            "ns3::Mip6IkeType2Routing::RoutingTracedCallback")
            .AddTraceSource("Rejected",
                            "A Type 2 Routing Header made ns-3 drop the packet (not first, Hdr "
                            "Ext Len not 2, Segments Left not 1, or an address that is not a "
                            "home address of the node).",
                            MakeTraceSourceAccessor(&Mip6IkeType2Routing::m_rejectedTrace),
                            "ns3::Mip6IkeType2Routing::RoutingTracedCallback");
    return tid;
}

Mip6IkeType2Routing::Mip6IkeType2Routing()
    : m_accepted(0),
      m_rejected(0)
{
}

Mip6IkeType2Routing::~Mip6IkeType2Routing()
{
}

uint8_t
Mip6IkeType2Routing::GetTypeRouting() const
{
    return TYPE_ROUTING;
}

uint8_t
Mip6IkeType2Routing::Process(Ptr<Packet>& packet,
                             uint8_t offset,
                             const Ipv6Header& ipv6Header,
                             Ipv6Address dst,
                             uint8_t* nextHeader,
                             bool& stopProcessing,
                             bool& isDropped,
                             Ipv6L3Protocol::DropReason& dropReason)
{
    NS_LOG_FUNCTION(this << packet << +offset << ipv6Header << dst);
    const uint32_t size = packet->GetSize();
    std::vector<uint8_t> data(size);
    packet->CopyData(data.data(), size);

    auto refuse = [&](Ipv6Address addr, uint8_t segLeft, uint8_t len) -> uint8_t {
        ++m_rejected;
        m_rejectedTrace(ipv6Header, addr, segLeft);
        isDropped = true;
        stopProcessing = true;
        dropReason = Ipv6L3Protocol::DROP_MALFORMED_HEADER;
        return len;
    };

    if (size_t(offset) + 24 > size)
    {
        NS_LOG_LOGIC("Type 2 Routing Header truncated: drop");
        return refuse(Ipv6Address::GetAny(), 0, static_cast<uint8_t>(size - offset));
    }
    if (nextHeader != nullptr)
    {
        *nextHeader = data[offset];
    }
    const uint8_t hdrExtLen = data[offset + 1];
    const uint8_t segLeft = data[offset + 3];
    const Ipv6Address addr = Ipv6Address::Deserialize(&data[offset + 8]);
    const uint8_t len = static_cast<uint8_t>(hdrExtLen <= 30 ? (hdrExtLen + 1) * 8 : 248);
    if (offset != 0 || hdrExtLen != 2 || segLeft != 1)
    {
        NS_LOG_LOGIC("Type 2 Routing Header offset " << +offset << " len " << +hdrExtLen
                                                     << " segments left " << +segLeft
                                                     << ": drop");
        return refuse(addr, segLeft, len);
    }
    if (m_homeAddresses.find(addr) == m_homeAddresses.end())
    {
        NS_LOG_LOGIC("Type 2 Routing Header to " << addr << ", not a home address here: drop");
        return refuse(addr, segLeft, len);
    }
    TagPrefix(packet, data, size_t(offset) + 24);
    ++m_accepted;
    m_acceptedTrace(ipv6Header, addr, segLeft);
    return 24;
}

void
Mip6IkeType2Routing::AddHomeAddress(Ipv6Address homeAddress)
{
    m_homeAddresses.insert(homeAddress);
}

void
Mip6IkeType2Routing::RemoveHomeAddress(Ipv6Address homeAddress)
{
    m_homeAddresses.erase(homeAddress);
}

uint64_t
Mip6IkeType2Routing::GetAccepted() const
{
    return m_accepted;
}

uint64_t
Mip6IkeType2Routing::GetRejected() const
{
    return m_rejected;
}

/* ---------------------------------------------------------------------- */

void
Mip6IkeInstallExtensionHandlers(Ptr<Node> node,
                                Ptr<Mip6IkeHomeAddressOption>& hao,
                                Ptr<Mip6IkeType2Routing>& rh2)
{
    NS_LOG_FUNCTION(node);
    NS_ABORT_MSG_IF(!node->GetObject<Ipv6L3Protocol>(),
                    "Mip6IkeInstallExtensionHandlers: node " << node->GetId()
                                                             << " has no IPv6 (install the "
                                                                "internet stack first)");
    Ptr<Ipv6OptionDemux> options = node->GetObject<Ipv6OptionDemux>();
    Ptr<Ipv6ExtensionRoutingDemux> routing = node->GetObject<Ipv6ExtensionRoutingDemux>();
    Ptr<Ipv6ExtensionDemux> extensions = node->GetObject<Ipv6ExtensionDemux>();
    NS_ABORT_MSG_IF(!options || !routing || !extensions,
                    "Mip6IkeInstallExtensionHandlers: node "
                        << node->GetId()
                        << " lacks ns-3's IPv6 extension/option demultiplexers "
                           "(Ipv6L3Protocol::RegisterExtensions/RegisterOptions not run)");

    hao = DynamicCast<Mip6IkeHomeAddressOption>(options->GetOption(Mip6IkeHomeAddressOption::OPT_NUMBER));
    if (!hao)
    {
        NS_ABORT_MSG_IF(options->GetOption(Mip6IkeHomeAddressOption::OPT_NUMBER),
                        "node " << node->GetId() << " has another handler for option 201");
        hao = CreateObject<Mip6IkeHomeAddressOption>();
        hao->SetNode(node);
        options->Insert(hao);
    }
    rh2 = DynamicCast<Mip6IkeType2Routing>(
        routing->GetExtensionRouting(Mip6IkeType2Routing::TYPE_ROUTING));
    if (!rh2)
    {
        NS_ABORT_MSG_IF(routing->GetExtensionRouting(Mip6IkeType2Routing::TYPE_ROUTING),
                        "node " << node->GetId() << " has another Type 2 routing handler");
        rh2 = CreateObject<Mip6IkeType2Routing>();
        rh2->SetNode(node);
        routing->Insert(rh2);
    }
    Ptr<Ipv6Extension> esp = extensions->GetExtension(50);
    if (esp)
    {
        NS_LOG_INFO("node " << node->GetId() << ": removing IPv6 extension 50 so that ESP reaches "
                            "its IpL4Protocol");
        extensions->Remove(esp);
    }
}

} // namespace ns3
