/*
 * mip6ike: the IKEv2 daemon of a node as an ns-3 Application (see
 * mip6ike-ike-daemon.h).
 */
#include "mip6ike-ike-daemon.h"

#include "mip6ike-core-adapter.h"

#include "ns3/abort.h"
#include "ns3/inet6-socket-address.h"
#include "ns3/ipv6-packet-info-tag.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/udp-l4-protocol.h"
#include "ns3/udp-socket-factory.h"

#include <sstream>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeIkeDaemon");

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeIkeDaemon);

TypeId
Mip6IkeIkeDaemon::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeIkeDaemon")
            .SetParent<Application>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeIkeDaemon>()
            .AddTraceSource("IkeTx",
                            "An IKE datagram left (UDP payload, local address and port, peer "
                            "address and port, exchange type, message ID).",
                            MakeTraceSourceAccessor(&Mip6IkeIkeDaemon::m_txTrace),
                            "ns3::Mip6IkeIkeDaemon::IkeTracedCallback")
            .AddTraceSource("IkeRx",
                            "An IKE datagram arrived and went to the key manager.",
                            MakeTraceSourceAccessor(&Mip6IkeIkeDaemon::m_rxTrace),
                            "ns3::Mip6IkeIkeDaemon::IkeTracedCallback")
            .AddTraceSource("Drop",
                            "A datagram the daemon could not handle (e.g. the key manager "
                            "sent while the daemon was not running).",
                            MakeTraceSourceAccessor(&Mip6IkeIkeDaemon::m_dropTrace),
                            "ns3::Mip6IkeIkeDaemon::DropTracedCallback");
    return tid;
}

Mip6IkeIkeDaemon::Mip6IkeIkeDaemon()
    : m_running(false),
      m_ascii(nullptr)
{
    NS_LOG_FUNCTION(this);
}

Mip6IkeIkeDaemon::~Mip6IkeIkeDaemon()
{
    NS_LOG_FUNCTION(this);
}

void
Mip6IkeIkeDaemon::SetKeyManager(KeyManagerCallback cb)
{
    m_keyManager = cb;
}

bool
Mip6IkeIkeDaemon::IsRunning() const
{
    return m_running;
}

Mip6IkeIkeDaemon::Stats
Mip6IkeIkeDaemon::GetStats() const
{
    return m_stats;
}

void
Mip6IkeIkeDaemon::EnableAsciiIke(Ptr<OutputStreamWrapper> os)
{
    m_ascii = os;
}

Mip6IkeIkeHeaderInfo
Mip6IkeIkeDaemon::ParseHeader(const uint8_t* data, size_t len, uint16_t port)
{
    Mip6IkeIkeHeaderInfo info;
    size_t off = 0;
    if (port == 4500)
    {
        // Keepalive (one octet 0xff), ESP (SPI != 0) or non-ESP marker + IKE.
        if (len < 4 || data[0] != 0 || data[1] != 0 || data[2] != 0 || data[3] != 0)
        {
            return info;
        }
        off = 4;
    }
    if (len < off + 28)
    {
        return info;
    }
    const uint8_t* h = data + off;
    info.isIke = true;
    info.exchangeType = h[18];
    info.response = (h[19] & 0x20) != 0;
    info.initiator = (h[19] & 0x08) != 0;
    info.messageId = (uint32_t(h[20]) << 24) | (uint32_t(h[21]) << 16) | (uint32_t(h[22]) << 8) |
                     uint32_t(h[23]);
    return info;
}

std::string
Mip6IkeIkeDaemon::ExchangeName(uint8_t type)
{
    switch (type)
    {
    case 34:
        return "IKE_SA_INIT";
    case 35:
        return "IKE_AUTH";
    case 36:
        return "CREATE_CHILD_SA";
    case 37:
        return "INFORMATIONAL";
    default:
        return std::to_string(type);
    }
}

void
Mip6IkeIkeDaemon::StartApplication()
{
    NS_LOG_FUNCTION(this);
    Ptr<Node> node = GetNode();
    for (uint16_t port : {uint16_t(500), uint16_t(4500)})
    {
        Ptr<Socket> s = Socket::CreateSocket(node, UdpSocketFactory::GetTypeId());
        NS_ABORT_MSG_IF(s->Bind(Inet6SocketAddress(Ipv6Address::GetAny(), port)) != 0,
                        "Mip6IkeIkeDaemon: node " << node->GetId() << ": UDP port " << port
                                                  << " is taken");
        s->SetRecvPktInfo(true);
        s->SetRecvCallback(MakeCallback(&Mip6IkeIkeDaemon::Receive, this));
        (port == 500 ? m_ike500 : m_ike4500) = s;
    }
    m_running = true;
}

void
Mip6IkeIkeDaemon::StopApplication()
{
    NS_LOG_FUNCTION(this);
    m_running = false;
    CloseSockets();
}

void
Mip6IkeIkeDaemon::CloseSockets()
{
    for (Ptr<Socket> s : {m_ike500, m_ike4500})
    {
        if (s)
        {
            s->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
            s->Close();
        }
    }
    m_ike500 = nullptr;
    m_ike4500 = nullptr;
}

void
Mip6IkeIkeDaemon::DoDispose()
{
    NS_LOG_FUNCTION(this);
    m_running = false;
    CloseSockets();
    m_keyManager = KeyManagerCallback();
    m_ascii = nullptr;
    Application::DoDispose();
}

void
Mip6IkeIkeDaemon::Receive(Ptr<Socket> socket)
{
    Ptr<Packet> p;
    Address from;
    while ((p = socket->RecvFrom(from)))
    {
        std::vector<uint8_t> data(p->GetSize());
        p->CopyData(data.data(), data.size());
        if (!Inet6SocketAddress::IsMatchingType(from) || m_keyManager.IsNull())
        {
            m_stats.rxDropped++;
            m_dropTrace(Create<Packet>(data.data(), uint32_t(data.size())),
                        m_keyManager.IsNull() ? "no key manager" : "not IPv6");
            continue;
        }
        const Inet6SocketAddress remote = Inet6SocketAddress::ConvertFrom(from);
        Ipv6PacketInfoTag info;
        Ipv6Address local = Ipv6Address::GetAny();
        if (p->RemovePacketTag(info))
        {
            local = info.GetAddress();
        }
        m6ike_ikev2_path path = {};
        path.local = Mip6IkeAddressToCore(local);
        path.remote = Mip6IkeAddressToCore(remote.GetIpv6());
        path.local_port = socket == m_ike500 ? 500 : 4500;
        path.remote_port = remote.GetPort();
        const Mip6IkeIkeHeaderInfo h = ParseHeader(data.data(), data.size(), path.local_port);
        m_stats.rxPackets++;
        m_stats.rxBytes += data.size();
        m_stats.ikeRx += h.isIke ? 1 : 0;
        m_rxTrace(Create<Packet>(data.data(), uint32_t(data.size())),
                  local,
                  path.local_port,
                  remote.GetIpv6(),
                  path.remote_port,
                  h.exchangeType,
                  h.messageId);
        Ascii("rx", path, data, h);
        m_keyManager(path, data);
    }
}

bool
Mip6IkeIkeDaemon::Send(const m6ike_ikev2_path& path, const std::vector<uint8_t>& data)
{
    Ptr<Node> node = GetNode();
    if (!m_running || !node)
    {
        m_stats.txDropped++;
        NS_LOG_LOGIC("not running: a datagram of the key manager is dropped");
        m_dropTrace(Create<Packet>(data.data(), uint32_t(data.size())), "not running: send");
        return false;
    }
    Ptr<UdpL4Protocol> udp = node->GetObject<UdpL4Protocol>();
    NS_ABORT_MSG_IF(!udp, "Mip6IkeIkeDaemon: node " << node->GetId() << " has no UDP");
    const Mip6IkeIkeHeaderInfo h = ParseHeader(data.data(), data.size(), path.local_port);
    const Ipv6Address local = Mip6IkeAddressFromCore(path.local);
    const Ipv6Address remote = Mip6IkeAddressFromCore(path.remote);
    m_stats.txPackets++;
    m_stats.txBytes += data.size();
    m_stats.ikeTx += h.isIke ? 1 : 0;
    Ptr<Packet> p = Create<Packet>(data.data(), uint32_t(data.size()));
    m_txTrace(p, local, path.local_port, remote, path.remote_port, h.exchangeType, h.messageId);
    Ascii("tx", path, data, h);
    udp->Send(p, local, remote, path.local_port, path.remote_port);
    return true;
}

void
Mip6IkeIkeDaemon::Ascii(const char* dir,
                        const m6ike_ikev2_path& path,
                        const std::vector<uint8_t>& data,
                        const Mip6IkeIkeHeaderInfo& info)
{
    if (!m_ascii)
    {
        return;
    }
    std::ostringstream line;
    line << Simulator::Now().GetSeconds() << " node" << GetNode()->GetId() << " " << dir << " ["
         << Mip6IkeAddressFromCore(path.local) << "]:" << path.local_port << " ["
         << Mip6IkeAddressFromCore(path.remote) << "]:" << path.remote_port << " ";
    if (info.isIke)
    {
        line << ExchangeName(info.exchangeType) << " mid " << info.messageId << " "
             << (info.initiator ? "I" : "") << (info.response ? "R" : "") << " ";
    }
    else
    {
        line << (data.size() == 1 && data[0] == 0xff ? "keepalive " : "non-IKE ");
    }
    line << data.size() << "\n";
    (*m_ascii->GetStream()) << line.str();
}

} // namespace ns3
