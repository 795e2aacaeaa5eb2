/*
 * mip6ike: Mip6IkeHelper (see the header).
 */
#include "mip6ike-helper.h"

#include "ns3/abort.h"
#include "ns3/csma-helper.h"
#include "ns3/ipv6.h"
#include "ns3/log.h"
#include "ns3/names.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "ns3/yans-wifi-helper.h"

#include <array>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeHelper");

namespace
{
const std::array<const char*, 6> kSchemes = {"msrd",
                                             "renegotiate",
                                             "migrate",
                                             "migrate-kmaddress",
                                             "mobike",
                                             "static"};
} // namespace

Mip6IkeHelper::Mip6IkeHelper()
    : m_scheme("msrd")
{
    m_factory.SetTypeId(Mip6IkeAgent::GetTypeId());
    m_ikeFactory.SetTypeId(Mip6IkeIkeDaemon::GetTypeId());
}

bool
Mip6IkeHelper::IsScheme(const std::string& name)
{
    for (const char* s : kSchemes)
    {
        if (name == s)
        {
            return true;
        }
    }
    return false;
}

std::string
Mip6IkeHelper::SchemeNames()
{
    std::string all;
    for (const char* s : kSchemes)
    {
        all += all.empty() ? "" : ", ";
        all += s;
    }
    return all;
}

void
Mip6IkeHelper::SetScheme(const std::string& scheme)
{
    NS_ABORT_MSG_UNLESS(IsScheme(scheme),
                        "Mip6IkeHelper: unknown scheme '" << scheme << "' (one of "
                                                          << SchemeNames() << ")");
    m_scheme = scheme;
}

std::string
Mip6IkeHelper::GetScheme() const
{
    return m_scheme;
}

void
Mip6IkeHelper::SetHomeNetwork(Ipv6Address haAddress, Ipv6Address prefix, uint8_t prefixLength)
{
    m_factory.Set("HomeAgentAddress", Ipv6AddressValue(haAddress));
    m_factory.Set("HomePrefix", Ipv6AddressValue(prefix));
    m_factory.Set("HomePrefixLength", UintegerValue(prefixLength));
}

void
Mip6IkeHelper::SetAgentAttribute(const std::string& name, const AttributeValue& value)
{
    m_factory.Set(name, value);
}

void
Mip6IkeHelper::SetIkeDaemonAttribute(const std::string& name, const AttributeValue& value)
{
    m_ikeFactory.Set(name, value);
}

void
Mip6IkeHelper::InstallIkeDaemon(Ptr<Node> node)
{
    Ptr<Mip6IkeIkeDaemon> daemon = m_ikeFactory.Create<Mip6IkeIkeDaemon>();
    node->AddApplication(daemon);
}

std::string
Mip6IkeHelper::LogPath(Ptr<Node> node, const std::string& dir, const std::string& suffix)
{
    std::string name = Names::FindName(node);
    if (name.empty())
    {
        name = "node" + std::to_string(node->GetId());
    }
    return dir + "/" + name + suffix;
}

void
Mip6IkeHelper::EnablePfkeyLog(const std::string& dir)
{
    for (auto& a : m_agents)
    {
        Ptr<Node> node = a->GetObject<Node>();
        const std::string path = LogPath(node, dir, "-pfkey.log");
        auto os = ns3::Create<OutputStreamWrapper>(path, std::ios::out);
        NS_ABORT_MSG_IF(!os->GetStream()->good(),
                        "Mip6IkeHelper::EnablePfkeyLog: cannot write " << path);
        a->GetPfkeyBus()->EnableLog(os);
    }
}

void
Mip6IkeHelper::EnableAsciiIke(const std::string& dir)
{
    for (auto& a : m_agents)
    {
        Ptr<Node> node = a->GetObject<Node>();
        const std::string path = LogPath(node, dir, "-ike.log");
        auto os = ns3::Create<OutputStreamWrapper>(path, std::ios::out);
        NS_ABORT_MSG_IF(!os->GetStream()->good(),
                        "Mip6IkeHelper::EnableAsciiIke: cannot write " << path);
        a->GetIkeDaemon()->EnableAsciiIke(os);
    }
}

void
Mip6IkeHelper::EnableKeyLog(const std::string& dir)
{
    NS_ABORT_MSG_IF(!m_agents.empty(),
                    "Mip6IkeHelper::EnableKeyLog: call it before installing agents");
    m_keyLogDir = dir;
}

Ptr<Mip6IkeAgent>
Mip6IkeHelper::Create(const std::string& role)
{
    Ptr<Mip6IkeAgent> agent = m_factory.Create<Mip6IkeAgent>();
    agent->SetAttribute("Role", StringValue(role));
    agent->SetAttribute("Scheme", StringValue(m_scheme));
    if (!m_keyLogDir.empty())
    {
        agent->SetAttribute("KeyLogDirectory", StringValue(m_keyLogDir));
    }
    return agent;
}

Ptr<Mip6IkeAgent>
Mip6IkeHelper::InstallHomeAgent(Ptr<Node> node, Ptr<NetDevice> homeDevice)
{
    NS_ABORT_MSG_UNLESS(node->GetObject<Ipv6>(),
                        "Mip6IkeHelper::InstallHomeAgent: node " << node->GetId()
                                                                 << " has no IPv6 stack");
    Ptr<Mip6IkeAgent> agent = Create("ha");
    InstallIkeDaemon(node);
    agent->Install(node, homeDevice);
    m_agents.push_back(agent);
    m_homeAgents.push_back(agent);
    return agent;
}

Ptr<Mip6IkeAgent>
Mip6IkeHelper::InstallMobileNode(Ptr<Node> node, Ipv6Address hoa)
{
    NS_ABORT_MSG_UNLESS(node->GetObject<Ipv6>(),
                        "Mip6IkeHelper::InstallMobileNode: node " << node->GetId()
                                                                  << " has no IPv6 stack");
    // RFC 3776 manual keys: the HA derives the MN's SAs when told of it.
    if (m_scheme == "static")
    {
        NS_ABORT_MSG_IF(m_homeAgents.empty(),
                        "Mip6IkeHelper: with the static scheme, install the home agent first");
        for (auto& ha : m_homeAgents)
        {
            ha->AddMobileNode(hoa);
        }
    }
    Ptr<Mip6IkeAgent> agent = Create("mn");
    agent->SetAttribute("HomeAddress", Ipv6AddressValue(hoa));
    InstallIkeDaemon(node);
    agent->Install(node, nullptr);
    m_agents.push_back(agent);
    return agent;
}

Mip6IkeAgentContainer
Mip6IkeHelper::InstallMobileNode(NodeContainer nodes, Ipv6Address firstHoa)
{
    Mip6IkeAgentContainer out;
    for (uint32_t i = 0; i < nodes.GetN(); i++)
    {
        out.push_back(InstallMobileNode(nodes.Get(i), AddressPlus(firstHoa, i)));
    }
    return out;
}

void
Mip6IkeHelper::InstallCorrespondentNode(Ptr<Node> node)
{
    NS_ABORT_MSG_UNLESS(node->GetObject<Ipv6>(),
                        "Mip6IkeHelper::InstallCorrespondentNode: node "
                            << node->GetId() << " has no IPv6 stack");
}

int64_t
Mip6IkeHelper::AssignStreams(int64_t stream)
{
    int64_t used = 0;
    for (auto& a : m_agents)
    {
        used += a->AssignStreams(stream + used);
    }
    return used;
}

const Mip6IkeAgentContainer&
Mip6IkeHelper::GetAgents() const
{
    return m_agents;
}

void
Mip6IkeHelper::EnablePcapAll(const std::string& prefix)
{
    // Each device helper enables the devices of its own type only.
    CsmaHelper().EnablePcapAll(prefix, false);
    PointToPointHelper().EnablePcapAll(prefix, false);
    YansWifiPhyHelper wifi;
    wifi.SetPcapDataLinkType(WifiPhyHelper::DLT_IEEE802_11);
    wifi.EnablePcapAll(prefix, false);
}

Ipv6Address
Mip6IkeHelper::AddressPlus(Ipv6Address a, uint32_t n)
{
    uint8_t b[16];
    a.GetBytes(b);
    uint32_t low = (static_cast<uint32_t>(b[12]) << 24) | (static_cast<uint32_t>(b[13]) << 16) |
                   (static_cast<uint32_t>(b[14]) << 8) | b[15];
    low += n;
    b[12] = static_cast<uint8_t>(low >> 24);
    b[13] = static_cast<uint8_t>(low >> 16);
    b[14] = static_cast<uint8_t>(low >> 8);
    b[15] = static_cast<uint8_t>(low);
    return Ipv6Address(b);
}

} // namespace ns3
