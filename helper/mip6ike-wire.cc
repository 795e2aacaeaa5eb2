/*
 * mip6ike: classification of frames on the simulated wire (see the header).
 */
#include "mip6ike-wire.h"

#include "ns3/log.h"
#include "ns3/string.h"
#include "ns3/boolean.h"
#include "ns3/uinteger.h"
#include "ns3/trace-source-accessor.h"

#include <cstring>
#include <vector>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeWire");

namespace
{

constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr size_t kEthernetHeader = 14;
constexpr size_t kIpv6Header = 40;
constexpr uint8_t kNextHopByHop = 0;
constexpr uint8_t kNextRouting = 43;
constexpr uint8_t kNextFragment = 44;
constexpr uint8_t kNextDestOpts = 60;
constexpr uint8_t kNextIpv6 = 41;
constexpr uint8_t kNextEsp = 50;
constexpr uint8_t kNextUdp = 17;
constexpr uint8_t kNextIcmpv6 = 58;
constexpr uint8_t kNextMh = 135;
constexpr uint8_t kOptPad1 = 0;
constexpr uint8_t kOptHomeAddress = 201;
constexpr size_t kIkeHeader = 28;

uint16_t
Get16(const uint8_t* p)
{
    return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t
Get32(const uint8_t* p)
{
    return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
           (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

/* Does a Destination Options header (its bytes, whole) hold a HAO? */
bool
HasHomeAddressOption(const uint8_t* h, size_t len)
{
    size_t off = 2;
    while (off < len)
    {
        if (h[off] == kOptPad1)
        {
            off++;
            continue;
        }
        if (off + 2 > len)
        {
            return false;
        }
        if (h[off] == kOptHomeAddress)
        {
            return true;
        }
        off += 2 + static_cast<size_t>(h[off + 1]);
    }
    return false;
}

Mip6IkeWireInfo::Kind
IkeKind(uint8_t exchange)
{
    switch (exchange)
    {
    case 34:
        return Mip6IkeWireInfo::IKE_SA_INIT;
    case 35:
        return Mip6IkeWireInfo::IKE_AUTH;
    case 36:
        return Mip6IkeWireInfo::CREATE_CHILD_SA;
    case 37:
        return Mip6IkeWireInfo::INFORMATIONAL;
    default:
        return Mip6IkeWireInfo::IKE_OTHER;
    }
}

} // namespace

bool
Mip6IkeWireInfo::IsIke() const
{
    return kind == IKE_SA_INIT || kind == IKE_AUTH || kind == CREATE_CHILD_SA ||
           kind == INFORMATIONAL || kind == IKE_OTHER;
}

const char*
Mip6IkeWireInfo::KindName(Kind kind)
{
    switch (kind)
    {
    case NOT_IPV6:
        return "not-IPv6";
    case IKE_SA_INIT:
        return "IKE_SA_INIT";
    case IKE_AUTH:
        return "IKE_AUTH";
    case CREATE_CHILD_SA:
        return "CREATE_CHILD_SA";
    case INFORMATIONAL:
        return "INFORMATIONAL";
    case IKE_OTHER:
        return "IKE(other)";
    case MH_BU:
        return "BU";
    case MH_BA:
        return "BA";
    case MH_OTHER:
        return "MH";
    case ESP:
        return "ESP";
    case ICMPV6:
        return "ICMPv6";
    case UDP:
        return "UDP";
    case TUNNEL:
        return "IPv6-in-IPv6";
    case OTHER:
    case KIND_COUNT:
        break;
    }
    return "other";
}

Mip6IkeWireInfo
Mip6IkeClassify(const uint8_t* buf, size_t len, bool ethernet)
{
    Mip6IkeWireInfo info;
    if (ethernet)
    {
        if (len < kEthernetHeader || Get16(buf + 12) != kEtherTypeIpv6)
        {
            return info;
        }
        buf += kEthernetHeader;
        len -= kEthernetHeader;
    }
    if (len < kIpv6Header || (buf[0] >> 4) != 6)
    {
        return info;
    }
    const size_t total = kIpv6Header + Get16(buf + 4);
    if (total < len)
    {
        len = total; // Ethernet padding and FCS stay out
    }
    info.ipLength = static_cast<uint32_t>(total);
    std::memcpy(info.src, buf + 8, 16);
    std::memcpy(info.dst, buf + 24, 16);
    info.kind = Mip6IkeWireInfo::OTHER;

    uint8_t next = buf[6];
    size_t off = kIpv6Header;
    for (;;)
    {
        const uint8_t* h = buf + off;
        const size_t left = len - off;
        switch (next)
        {
        case kNextHopByHop:
        case kNextRouting:
        case kNextDestOpts: {
            if (left < 8)
            {
                return info;
            }
            const size_t hlen = (static_cast<size_t>(h[1]) + 1) * 8;
            if (hlen > left)
            {
                return info;
            }
            if (next == kNextRouting && h[2] == 2)
            {
                info.rh2 = true;
            }
            if (next == kNextDestOpts && HasHomeAddressOption(h, hlen))
            {
                info.hao = true;
            }
            next = h[0];
            off += hlen;
            continue;
        }
        case kNextFragment:
            if (left < 8)
            {
                return info;
            }
            if ((Get16(h + 2) & 0xfff8) != 0)
            {
                return info; // not the first fragment: no upper header here
            }
            next = h[0];
            off += 8;
            continue;
        case kNextEsp:
            info.kind = Mip6IkeWireInfo::ESP;
            if (left >= 4)
            {
                info.espSpi = Get32(h);
            }
            return info;
        case kNextMh:
            if (left < 4)
            {
                info.kind = Mip6IkeWireInfo::MH_OTHER;
                return info;
            }
            info.kind = h[2] == 5   ? Mip6IkeWireInfo::MH_BU
                        : h[2] == 6 ? Mip6IkeWireInfo::MH_BA
                                    : Mip6IkeWireInfo::MH_OTHER;
            return info;
        case kNextIcmpv6:
            info.kind = Mip6IkeWireInfo::ICMPV6;
            if (left >= 1)
            {
                info.icmpType = h[0];
            }
            return info;
        case kNextIpv6:
            info.kind = Mip6IkeWireInfo::TUNNEL;
            return info;
        case kNextUdp: {
            info.kind = Mip6IkeWireInfo::UDP;
            if (left < 8)
            {
                return info;
            }
            const uint16_t sport = Get16(h);
            const uint16_t dport = Get16(h + 2);
            const uint8_t* payload = h + 8;
            size_t plen = left - 8;
            const bool p500 = sport == 500 || dport == 500;
            const bool p4500 = sport == 4500 || dport == 4500;
            if (!p500 && !p4500)
            {
                return info;
            }
            if (p4500 && !p500)
            {
                if (plen == 1 && payload[0] == 0xff)
                {
                    info.kind = Mip6IkeWireInfo::IKE_OTHER; // NAT keepalive
                    return info;
                }
                if (plen < 4 || Get32(payload) != 0)
                {
                    info.kind = Mip6IkeWireInfo::ESP; // UDP-encapsulated ESP
                    if (plen >= 4)
                    {
                        info.espSpi = Get32(payload);
                    }
                    return info;
                }
                payload += 4; // non-ESP marker
                plen -= 4;
            }
            if (plen < kIkeHeader)
            {
                info.kind = Mip6IkeWireInfo::IKE_OTHER;
                return info;
            }
            info.kind = IkeKind(payload[18]);
            info.ikeResponse = (payload[19] & 0x20) != 0;
            info.ikeLength = static_cast<uint32_t>(plen);
            return info;
        }
        default:
            return info;
        }
    }
}

Mip6IkeWireInfo
Mip6IkeClassify(Ptr<const Packet> p, bool ethernet)
{
    std::vector<uint8_t> bytes(p->GetSize());
    p->CopyData(bytes.data(), bytes.size());
    return Mip6IkeClassify(bytes.data(), bytes.size(), ethernet);
}

// ---------------------------------------------------------------- counter

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeWireCounter);

TypeId
Mip6IkeWireCounter::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeWireCounter")
            .SetParent<Object>()
            .SetGroupName("Mip6ike")
            .AddConstructor<Mip6IkeWireCounter>()
            .AddTraceSource("Frame",
                            "A frame crossed the device, classified.",
                            MakeTraceSourceAccessor(&Mip6IkeWireCounter::m_frameTrace),
                            "ns3::Mip6IkeWireCounter::FrameTracedCallback");
    return tid;
}

Mip6IkeWireCounter::Mip6IkeWireCounter() = default;

bool
Mip6IkeWireCounter::Attach(Ptr<NetDevice> device)
{
    const std::string type = device->GetInstanceTypeId().GetName();
    if (type == "ns3::CsmaNetDevice")
    {
        return device->TraceConnectWithoutContext(
            "Sniffer",
            MakeCallback(&Mip6IkeWireCounter::SniffEthernet, this));
    }
    if (type == "ns3::PointToPointNetDevice")
    {
        return device->TraceConnectWithoutContext("Sniffer",
                                                  MakeCallback(&Mip6IkeWireCounter::SniffPpp, this));
    }
    return false;
}

bool
Mip6IkeWireCounter::Attach(const NetDeviceContainer& devices)
{
    bool ok = true;
    for (auto it = devices.Begin(); it != devices.End(); ++it)
    {
        ok = Attach(*it) && ok;
    }
    return ok;
}

void
Mip6IkeWireCounter::SniffEthernet(Ptr<const Packet> p)
{
    Count(Mip6IkeClassify(p, true));
}

void
Mip6IkeWireCounter::SniffPpp(Ptr<const Packet> p)
{
    std::vector<uint8_t> bytes(p->GetSize());
    p->CopyData(bytes.data(), bytes.size());
    Mip6IkeWireInfo info;
    if (bytes.size() >= 2 && Get16(bytes.data()) == 0x0057) // PPP protocol: IPv6
    {
        info = Mip6IkeClassify(bytes.data() + 2, bytes.size() - 2, false);
    }
    Count(info);
}

void
Mip6IkeWireCounter::Count(const Mip6IkeWireInfo& info)
{
    m_counts[info.kind]++;
    if (info.IsIke())
    {
        m_ikeBytes += info.ikeLength;
    }
    m_frameTrace(info);
}

uint64_t
Mip6IkeWireCounter::GetCount(Mip6IkeWireInfo::Kind kind) const
{
    return kind < Mip6IkeWireInfo::KIND_COUNT ? m_counts[kind] : 0;
}

uint64_t
Mip6IkeWireCounter::GetIkeMessages() const
{
    return m_counts[Mip6IkeWireInfo::IKE_SA_INIT] + m_counts[Mip6IkeWireInfo::IKE_AUTH] +
           m_counts[Mip6IkeWireInfo::CREATE_CHILD_SA] +
           m_counts[Mip6IkeWireInfo::INFORMATIONAL] + m_counts[Mip6IkeWireInfo::IKE_OTHER];
}

uint64_t
Mip6IkeWireCounter::GetIkeBytes() const
{
    return m_ikeBytes;
}

void
Mip6IkeWireCounter::Reset()
{
    m_counts.fill(0);
    m_ikeBytes = 0;
}

// ---------------------------------------------------------------- dropper

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeFrameDropper);

TypeId
Mip6IkeFrameDropper::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeFrameDropper")
            .SetParent<ErrorModel>()
            .SetGroupName("Mip6ike")
            .AddConstructor<Mip6IkeFrameDropper>()
            .AddAttribute("Match",
                          "Which frames: ba (Type 2 Routing Header), bu (Home Address "
                          "option), ike_sa_init, ike_auth, informational, esp, udp.",
                          StringValue("ba"),
                          MakeStringAccessor(&Mip6IkeFrameDropper::m_match),
                          MakeStringChecker())
            .AddAttribute("Skip",
                          "Matching frames let through before dropping starts.",
                          UintegerValue(0),
                          MakeUintegerAccessor(&Mip6IkeFrameDropper::m_skip),
                          MakeUintegerChecker<uint32_t>())
            .AddAttribute("Count",
                          "Matching frames dropped after the skipped ones.",
                          UintegerValue(1),
                          MakeUintegerAccessor(&Mip6IkeFrameDropper::m_count),
                          MakeUintegerChecker<uint32_t>())
            .AddAttribute("Ethernet",
                          "Frames start with an Ethernet header (CSMA receive error model).",
                          BooleanValue(true),
                          MakeBooleanAccessor(&Mip6IkeFrameDropper::m_ethernet),
                          MakeBooleanChecker());
    return tid;
}

Mip6IkeFrameDropper::Mip6IkeFrameDropper()
    : m_skip(0),
      m_count(1),
      m_ethernet(true),
      m_matched(0),
      m_dropped(0)
{
}

bool
Mip6IkeFrameDropper::Matches(const Mip6IkeWireInfo& info) const
{
    if (m_match == "ba")
    {
        return info.rh2;
    }
    if (m_match == "bu")
    {
        return info.hao;
    }
    if (m_match == "ike_sa_init")
    {
        return info.kind == Mip6IkeWireInfo::IKE_SA_INIT;
    }
    if (m_match == "ike_auth")
    {
        return info.kind == Mip6IkeWireInfo::IKE_AUTH;
    }
    if (m_match == "informational")
    {
        return info.kind == Mip6IkeWireInfo::INFORMATIONAL;
    }
    if (m_match == "esp")
    {
        return info.kind == Mip6IkeWireInfo::ESP;
    }
    if (m_match == "udp")
    {
        return info.kind == Mip6IkeWireInfo::UDP;
    }
    NS_FATAL_ERROR("Mip6IkeFrameDropper: unknown Match '" << m_match << "'");
    return false;
}

bool
Mip6IkeFrameDropper::DoCorrupt(Ptr<Packet> p)
{
    if (!Matches(Mip6IkeClassify(p, m_ethernet)))
    {
        return false;
    }
    m_matched++;
    if (m_matched > m_skip && m_matched <= m_skip + m_count)
    {
        m_dropped++;
        NS_LOG_INFO("dropping matching frame " << m_matched << " (" << m_match << ")");
        return true;
    }
    return false;
}

void
Mip6IkeFrameDropper::DoReset()
{
    m_matched = 0;
    m_dropped = 0;
}

uint32_t
Mip6IkeFrameDropper::GetDropped() const
{
    return m_dropped;
}

uint32_t
Mip6IkeFrameDropper::GetMatched() const
{
    return m_matched;
}

} // namespace ns3
