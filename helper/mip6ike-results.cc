/*
 * mip6ike: the output contract and the CBR flow (see the header).
 */
#include "mip6ike-results.h"

#include "mip6ike-agent.h"

#include "ns3/abort.h"
#include "ns3/inet6-socket-address.h"
#include "ns3/ipv6-address.h"
#include "ns3/log.h"
#include "ns3/packet.h"
#include "ns3/seq-ts-header.h"
#include "ns3/simulator.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeResults");

// ---------------------------------------------------------------- results

Time
Mip6IkeHandoverRow::Recovery() const
{
    if (trafficResumed == Time::Max() || l2 == Time::Max())
    {
        return Time::Max();
    }
    return trafficResumed - l2;
}

const char*
Mip6IkeResults::SummaryHeader()
{
    return "scheme,host,rate_kbps,seed,handover,l2_s,movement_detected_s,coa_ready_s,"
           "bu_sent_s,ba_received_s,sa_ready_s,traffic_resumed_s,recovery_s,ike_msgs,"
           "ike_bytes";
}

const char*
Mip6IkeResults::TimelineHeader()
{
    return "time_s,rx_bytes";
}

Mip6IkeResults::Mip6IkeResults(std::string scheme, double rateKbps, uint64_t seed, Time bin)
    : m_scheme(std::move(scheme)),
      m_rateKbps(rateKbps),
      m_seed(seed),
      m_bin(bin)
{
}

Mip6IkeHandoverRow*
Mip6IkeResults::Current()
{
    return m_rows.empty() ? nullptr : &m_rows.back();
}

void
Mip6IkeResults::L2HandoverStart()
{
    Mip6IkeHandoverRow row;
    row.handover = m_rows.empty() ? 1 : m_rows.back().handover + 1;
    row.l2 = Simulator::Now();
    m_rows.push_back(row);
}

void
Mip6IkeResults::BootstrapStart()
{
    Mip6IkeHandoverRow row;
    row.handover = 0;
    row.l2 = Simulator::Now();
    m_rows.push_back(row);
}

namespace
{
void
SetFirst(Time& field)
{
    if (field == Time::Max())
    {
        field = Simulator::Now();
    }
}
} // namespace

void
Mip6IkeResults::MovementDetected()
{
    if (auto* r = Current())
    {
        SetFirst(r->movementDetected);
    }
}

void
Mip6IkeResults::CoaReady()
{
    if (auto* r = Current())
    {
        SetFirst(r->coaReady);
    }
}

void
Mip6IkeResults::BuSent()
{
    if (auto* r = Current())
    {
        SetFirst(r->buSent);
    }
}

void
Mip6IkeResults::BaReceived(uint8_t status)
{
    auto* r = Current();
    if (r && status < 128 && r->buSent != Time::Max())
    {
        SetFirst(r->baReceived);
    }
}

void
Mip6IkeResults::SaReady()
{
    if (auto* r = Current())
    {
        SetFirst(r->saReady);
    }
}

void
Mip6IkeResults::PayloadReceived(uint32_t bytes, Time sentAt)
{
    m_rxBytes += bytes;
    m_rxPackets++;
    const auto bin = static_cast<size_t>(Simulator::Now().GetNanoSeconds() / m_bin.GetNanoSeconds());
    if (bin >= m_bins.size())
    {
        m_bins.resize(bin + 1, 0);
    }
    m_bins[bin] += bytes;
    auto* r = Current();
    if (r && sentAt >= r->l2)
    {
        SetFirst(r->trafficResumed);
    }
}

void
Mip6IkeResults::SetIke(uint32_t handover, uint64_t msgs, uint64_t bytes)
{
    for (auto& r : m_rows)
    {
        if (r.handover == handover)
        {
            r.ikeMsgs = static_cast<int64_t>(msgs);
            r.ikeBytes = static_cast<int64_t>(bytes);
        }
    }
}

const std::vector<Mip6IkeHandoverRow>&
Mip6IkeResults::GetRows() const
{
    return m_rows;
}

uint32_t
Mip6IkeResults::GetCurrentHandover() const
{
    return m_rows.empty() ? 0 : m_rows.back().handover;
}

uint64_t
Mip6IkeResults::GetRxBytes() const
{
    return m_rxBytes;
}

uint64_t
Mip6IkeResults::GetRxPackets() const
{
    return m_rxPackets;
}

std::string
Mip6IkeResults::Seconds6(Time t)
{
    if (t == Time::Max())
    {
        return "";
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6f", t.GetSeconds());
    return buf;
}

bool
Mip6IkeResults::WriteSummary(const std::string& path, std::string* error) const
{
    std::ofstream f(path);
    if (!f)
    {
        *error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    f << SummaryHeader() << "\n";
    char rate[32];
    std::snprintf(rate, sizeof(rate), "%g", m_rateKbps);
    for (const auto& r : m_rows)
    {
        f << m_scheme << ",ns3," << rate << "," << m_seed << "," << r.handover << ","
          << Seconds6(r.l2) << "," << Seconds6(r.movementDetected) << "," << Seconds6(r.coaReady)
          << "," << Seconds6(r.buSent) << "," << Seconds6(r.baReceived) << ","
          << Seconds6(r.saReady) << "," << Seconds6(r.trafficResumed) << ","
          << Seconds6(r.Recovery()) << ",";
        if (r.ikeMsgs >= 0)
        {
            f << r.ikeMsgs;
        }
        f << ",";
        if (r.ikeBytes >= 0)
        {
            f << r.ikeBytes;
        }
        f << "\n";
    }
    f.close();
    if (!f)
    {
        *error = "error writing " + path;
        return false;
    }
    return true;
}

bool
Mip6IkeResults::WriteTimeline(const std::string& path, Time end, std::string* error) const
{
    std::ofstream f(path);
    if (!f)
    {
        *error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    f << TimelineHeader() << "\n";
    const auto n = static_cast<size_t>((end.GetNanoSeconds() + m_bin.GetNanoSeconds() - 1) /
                                       m_bin.GetNanoSeconds());
    char line[64];
    for (size_t i = 0; i < std::max(n, m_bins.size()); i++)
    {
        std::snprintf(line,
                      sizeof(line),
                      "%.2f,%" PRIu64 "\n",
                      (m_bin * static_cast<int64_t>(i)).GetSeconds(),
                      i < m_bins.size() ? m_bins[i] : 0);
        f << line;
    }
    f.close();
    if (!f)
    {
        *error = "error writing " + path;
        return false;
    }
    return true;
}

// ---------------------------------------------------------------- source

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeCbrSource);

TypeId
Mip6IkeCbrSource::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeCbrSource")
            .SetParent<Application>()
            .SetGroupName("Mip6ike")
            .AddConstructor<Mip6IkeCbrSource>()
            .AddAttribute("Remote",
                          "Destination address (the MN's home address).",
                          Ipv6AddressValue(),
                          MakeIpv6AddressAccessor(&Mip6IkeCbrSource::m_remote),
                          MakeIpv6AddressChecker())
            .AddAttribute("Port",
                          "Destination UDP port.",
                          UintegerValue(9000),
                          MakeUintegerAccessor(&Mip6IkeCbrSource::m_port),
                          MakeUintegerChecker<uint16_t>())
            .AddAttribute("PacketSize",
                          "UDP payload bytes per packet (a 12-byte SeqTsHeader included).",
                          UintegerValue(512),
                          MakeUintegerAccessor(&Mip6IkeCbrSource::m_size),
                          MakeUintegerChecker<uint32_t>(12, 65000))
            .AddAttribute("Rate",
                          "Payload bit rate.",
                          DataRateValue(DataRate("100kbps")),
                          MakeDataRateAccessor(&Mip6IkeCbrSource::m_rate),
                          MakeDataRateChecker());
    return tid;
}

Mip6IkeCbrSource::Mip6IkeCbrSource()
    : m_port(9000),
      m_size(512)
{
}

uint64_t
Mip6IkeCbrSource::GetSent() const
{
    return m_sent;
}

void
Mip6IkeCbrSource::StartApplication()
{
    m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
    m_socket->Bind6();
    m_socket->Connect(Inet6SocketAddress(m_remote, m_port));
    Send();
}

void
Mip6IkeCbrSource::StopApplication()
{
    Simulator::Cancel(m_event);
    if (m_socket)
    {
        m_socket->Close();
        m_socket = nullptr;
    }
}

void
Mip6IkeCbrSource::Send()
{
    SeqTsHeader h;
    h.SetSeq(m_seq++);
    Ptr<Packet> p = Create<Packet>(m_size - h.GetSerializedSize());
    p->AddHeader(h);
    m_socket->Send(p);
    m_sent++;
    m_event = Simulator::Schedule(m_rate.CalculateBytesTxTime(m_size), &Mip6IkeCbrSource::Send, this);
}

// ---------------------------------------------------------------- sink

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeCbrSink);

TypeId
Mip6IkeCbrSink::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeCbrSink")
            .SetParent<Application>()
            .SetGroupName("Mip6ike")
            .AddConstructor<Mip6IkeCbrSink>()
            .AddAttribute("Port",
                          "UDP port to listen on.",
                          UintegerValue(9000),
                          MakeUintegerAccessor(&Mip6IkeCbrSink::m_port),
                          MakeUintegerChecker<uint16_t>())
            .AddTraceSource("Rx",
                            "A datagram arrived: payload bytes and send time.",
                            MakeTraceSourceAccessor(&Mip6IkeCbrSink::m_rx),
                            "ns3::Mip6IkeCbrSink::RxTracedCallback");
    return tid;
}

Mip6IkeCbrSink::Mip6IkeCbrSink()
    : m_port(9000)
{
}

void
Mip6IkeCbrSink::StartApplication()
{
    m_socket = Socket::CreateSocket(GetNode(), UdpSocketFactory::GetTypeId());
    m_socket->Bind(Inet6SocketAddress(Ipv6Address::GetAny(), m_port));
    m_socket->SetRecvCallback(MakeCallback(&Mip6IkeCbrSink::HandleRead, this));
}

void
Mip6IkeCbrSink::StopApplication()
{
    if (m_socket)
    {
        m_socket->Close();
        m_socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
        m_socket = nullptr;
    }
}

void
Mip6IkeCbrSink::HandleRead(Ptr<Socket> socket)
{
    Ptr<Packet> p;
    while ((p = socket->Recv()))
    {
        const uint32_t bytes = p->GetSize();
        SeqTsHeader h;
        if (bytes < h.GetSerializedSize())
        {
            continue;
        }
        p->RemoveHeader(h);
        m_rx(bytes, h.GetTs());
    }
}

// ---------------------------------------------------------------- agent

void
Mip6IkeResults::OnMovement(Ipv6Address, Ipv6Address)
{
    MovementDetected();
}

void
Mip6IkeResults::OnCoa(Ipv6Address)
{
    CoaReady();
}

void
Mip6IkeResults::OnBu(Ipv6Address, Ipv6Address, uint16_t, int)
{
    BuSent();
}

void
Mip6IkeResults::OnBa(Ipv6Address, Ipv6Address, uint16_t, int status)
{
    BaReceived(static_cast<uint8_t>(status < 0 ? 255 : status));
}

void
Mip6IkeResults::OnSa(Ipv6Address)
{
    SaReady();
}

void
Mip6IkeResults::Connect(Ptr<Mip6IkeAgent> mn)
{
    bool ok = mn->TraceConnectWithoutContext("MovementDetected",
                                             MakeCallback(&Mip6IkeResults::OnMovement, this));
    ok = ok && mn->TraceConnectWithoutContext("CoaReady", MakeCallback(&Mip6IkeResults::OnCoa, this));
    ok = ok && mn->TraceConnectWithoutContext("BuSent", MakeCallback(&Mip6IkeResults::OnBu, this));
    ok = ok && mn->TraceConnectWithoutContext("BaReceived", MakeCallback(&Mip6IkeResults::OnBa, this));
    ok = ok && mn->TraceConnectWithoutContext("SaReady", MakeCallback(&Mip6IkeResults::OnSa, this));
    NS_ABORT_MSG_UNLESS(ok, "Mip6IkeResults::Connect: the agent lacks a trace source");
}

void
Mip6IkeResults::CollectIke(Ptr<Mip6IkeAgent> mn)
{
    const auto& records = mn->GetHandoverRecords();
    for (auto& row : m_rows)
    {
        const Time end = &row == &m_rows.back() ? Time::Max() : (&row + 1)->l2;
        for (const auto& rec : records)
        {
            // The record of this handover: its CoA became ready after the
            // row's L2 start and before the next one's.  (The bootstrap
            // row starts at 0 with record 0.)
            const Time t = rec.coaReady != Time::Max() ? rec.coaReady : rec.movementDetected;
            if (t != Time::Max() && t >= row.l2 && t < end)
            {
                row.ikeMsgs = rec.ikeMsgs;
                row.ikeBytes = static_cast<int64_t>(rec.ikeBytes);
                break;
            }
        }
    }
}

} // namespace ns3
