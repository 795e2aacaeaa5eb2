/*
 * mip6ike: the main paper's testbed (see the header).
 */
#include "mip6ike-testbed.h"

#include "ns3/abort.h"
#include "ns3/boolean.h"
#include "ns3/csma-channel.h"
#include "ns3/csma-helper.h"
#include "ns3/csma-net-device.h"
#include "ns3/double.h"
#include "ns3/error-model.h"
#include "ns3/icmpv6-l4-protocol.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv6-address-helper.h"
#include "ns3/ipv6-list-routing-helper.h"
#include "ns3/ipv6-static-routing-helper.h"
#include "ns3/ipv6-static-routing.h"
#include "ns3/ipv6.h"
#include "ns3/log.h"
#include "ns3/mobility-helper.h"
#include "ns3/mobility-model.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/pointer.h"
#include "ns3/radvd-helper.h"
#include "ns3/radvd-interface.h"
#include "ns3/radvd-prefix.h"
#include "ns3/simulator.h"
#include "ns3/ssid.h"
#include "ns3/sta-wifi-mac.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"
#include "ns3/wifi-helper.h"
#include "ns3/wifi-net-device.h"
#include "ns3/wifi-phy.h"
#include "ns3/yans-wifi-helper.h"

#include <cstdio>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeTestbed");

namespace
{

/* "<hex 0x2000 + n>::" (the paper's 2001::/64, 2002::/64, ...).  Not
 * 2001:db8::/32: ns-3's Ipv6L3Protocol::IpForward drops documentation
 * addresses instead of forwarding them. */
Ipv6Address
Prefix2001(uint32_t n)
{
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%x::", 0x2000 + n);
    return Ipv6Address(buf);
}

/* prefix + ::host */
Ipv6Address
WithHost(Ipv6Address prefix, uint32_t host)
{
    uint8_t b[16];
    prefix.GetBytes(b);
    b[12] = static_cast<uint8_t>(host >> 24);
    b[13] = static_cast<uint8_t>(host >> 16);
    b[14] = static_cast<uint8_t>(host >> 8);
    b[15] = static_cast<uint8_t>(host);
    return Ipv6Address(b);
}

/* The point-to-point link k of the backbone (0 = core-HA when scaled,
 * 1 + n = hub-AR n). */
Ipv6Address
CorePrefix(uint32_t k)
{
    char buf[40];
    std::snprintf(buf, sizeof(buf), "fd00:0:%x::", k);
    return Ipv6Address(buf);
}

Ptr<Ipv6StaticRouting>
Routing(Ptr<Node> node)
{
    Ipv6StaticRoutingHelper helper;
    return helper.GetStaticRouting(node->GetObject<Ipv6>());
}

/* Give one device an address (interface up, forwarding as asked). */
uint32_t
AddInterface(Ptr<NetDevice> dev, Ipv6Address addr, bool forwarding)
{
    Ptr<Ipv6> ipv6 = dev->GetNode()->GetObject<Ipv6>();
    int32_t idx = ipv6->GetInterfaceForDevice(dev);
    if (idx < 0)
    {
        idx = static_cast<int32_t>(ipv6->AddInterface(dev));
    }
    const uint32_t i = static_cast<uint32_t>(idx);
    if (!addr.IsAny())
    {
        ipv6->AddAddress(i, Ipv6InterfaceAddress(addr, Ipv6Prefix(64)));
    }
    ipv6->SetForwarding(i, forwarding);
    ipv6->SetUp(i);
    return i;
}

} // namespace

Ipv6Address
Mip6IkeTestbed::HomePrefix()
{
    return Prefix2001(1);
}

Ipv6Address
Mip6IkeTestbed::HomeAgentAddress()
{
    return WithHost(HomePrefix(), 1);
}

Ipv6Address
Mip6IkeTestbed::HomeAddress(uint32_t i)
{
    return WithHost(HomePrefix(), 5 + i);
}

Ipv6Address
Mip6IkeTestbed::CorrespondentAddress()
{
    return WithHost(AccessPrefix(0), 0x10);
}

Ipv6Address
Mip6IkeTestbed::AccessPrefix(uint32_t network)
{
    return Prefix2001(2 + network);
}

Mip6IkeTestbed::Mip6IkeTestbed(const Mip6IkeTestbedConfig& config)
    : m_config(config)
{
    NS_ABORT_MSG_IF(m_config.accessPairs < 1, "Mip6IkeTestbed: accessPairs must be >= 1");
    NS_ABORT_MSG_IF(m_config.mobileNodes < 1, "Mip6IkeTestbed: mobileNodes must be >= 1");
    NS_ABORT_MSG_IF(m_config.l2 != "csma" && m_config.l2 != "wifi",
                    "Mip6IkeTestbed: l2 must be csma or wifi, not " << m_config.l2);
    NS_ABORT_MSG_IF(m_config.l2 == "wifi" && m_config.accessPairs != 1,
                    "Mip6IkeTestbed: the 802.11 variant has one pair of access networks");
    Build();
}

const Mip6IkeTestbedConfig&
Mip6IkeTestbed::GetConfig() const
{
    return m_config;
}

void
Mip6IkeTestbed::Build()
{
    const uint32_t networks = 2 * m_config.accessPairs;
    const bool scaled = m_config.accessPairs > 1;

    m_ha = CreateObject<Node>();
    m_cn = CreateObject<Node>();
    m_ars.Create(networks);
    m_mns.Create(m_config.mobileNodes);
    if (scaled)
    {
        m_core = CreateObject<Node>();
    }

    // IPv6 only; list routing over static routing (the mobility agents put
    // their tunnel routing above the static one).
    InternetStackHelper stack;
    stack.SetIpv4StackInstall(false);
    Ipv6ListRoutingHelper listRouting;
    Ipv6StaticRoutingHelper staticRouting;
    listRouting.Add(staticRouting, 0);
    stack.SetRoutingHelper(listRouting);
    stack.Install(m_ha);
    stack.Install(m_cn);
    stack.Install(m_ars);
    stack.Install(m_mns);
    if (scaled)
    {
        stack.Install(m_core);
    }
    // Routers resolve a neighbour at once (RFC 4861 section 7.2.2; Linux
    // sends the first NS when the packet is queued).  ns-3 delays that NS by
    // its SolicitationJitter (0-10 ms) while NdiscCache keeps only 3 waiting
    // packets and drops the oldest: at an access router that has just seen
    // an MN arrive, the HA's first replies to the new CoA (IKE response,
    // Binding Ack) were pushed out by the tunnelled traffic behind them.
    NodeContainer routers(m_ha);
    routers.Add(m_ars);
    if (scaled)
    {
        routers.Add(m_core);
    }
    for (uint32_t i = 0; i < routers.GetN(); ++i)
    {
        Ptr<Icmpv6L4Protocol> icmp = routers.Get(i)->GetObject<Icmpv6L4Protocol>();
        NS_ABORT_MSG_IF(!icmp, "testbed: a router without ICMPv6");
        icmp->SetAttribute("SolicitationJitter",
                           StringValue("ns3::ConstantRandomVariable[Constant=0]"));
    }

    CsmaHelper csma;
    csma.SetChannelAttribute("DataRate", DataRateValue(m_config.linkRate));
    csma.SetChannelAttribute("Delay", TimeValue(m_config.accessDelay));

    // Home link: the HA alone (the HoAs are on it while their MNs are away).
    {
        NetDeviceContainer d = csma.Install(NodeContainer(m_ha));
        m_haHome = d.Get(0);
        m_allDevices.Add(d);
        AddInterface(m_haHome, HomeAgentAddress(), true);
    }

    // The backbone: point-to-point links (full duplex; a CSMA segment
    // would hold the medium for its whole propagation delay per frame and
    // cap the backbone at 1/delay frames per second).  Paper size: the HA
    // is the hub, with a link to each access router; scaled: a core router
    // is the hub and the HA hangs off it by one more link.
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(m_config.linkRate));
    p2p.SetChannelAttribute("Delay", TimeValue(m_config.linkDelay));
    Ptr<Node> hub = scaled ? m_core : m_ha;
    if (scaled)
    {
        NetDeviceContainer d = p2p.Install(m_core, m_ha);
        m_allDevices.Add(d);
        m_haUplinks.Add(d.Get(1));
        const uint32_t coreIf = AddInterface(d.Get(0), WithHost(CorePrefix(0), 1), true);
        const uint32_t haIf = AddInterface(d.Get(1), WithHost(CorePrefix(0), 2), true);
        Routing(m_ha)->SetDefaultRoute(WithHost(CorePrefix(0), 1), haIf);
        Routing(m_core)->AddNetworkRouteTo(HomePrefix(),
                                           Ipv6Prefix(64),
                                           WithHost(CorePrefix(0), 2),
                                           coreIf);
    }
    for (uint32_t n = 0; n < networks; n++)
    {
        NetDeviceContainer l = p2p.Install(hub, m_ars.Get(n));
        m_allDevices.Add(l);
        if (!scaled)
        {
            m_haUplinks.Add(l.Get(0));
        }
        const uint32_t hubIf = AddInterface(l.Get(0), WithHost(CorePrefix(1 + n), 1), true);
        const uint32_t arIf = AddInterface(l.Get(1), WithHost(CorePrefix(1 + n), 2), true);
        Routing(hub)->AddNetworkRouteTo(AccessPrefix(n),
                                        Ipv6Prefix(64),
                                        WithHost(CorePrefix(1 + n), 2),
                                        hubIf);
        Routing(m_ars.Get(n))->SetDefaultRoute(WithHost(CorePrefix(1 + n), 1), arIf);
    }

    // The access networks.
    if (m_config.l2 == "wifi")
    {
        BuildWifi();
    }
    else
    {
        for (uint32_t n = 0; n < networks; n++)
        {
            Ptr<CsmaChannel> ch = CreateObjectWithAttributes<CsmaChannel>(
                "DataRate",
                DataRateValue(m_config.linkRate),
                "Delay",
                TimeValue(m_config.accessDelay));
            m_accessChannels.push_back(ch);
            NetDeviceContainer d = csma.Install(m_ars.Get(n), ch);
            m_arDevices.push_back(d.Get(0));
            m_allDevices.Add(d);
        }
        // The CN on foreign 1.
        {
            NetDeviceContainer d = csma.Install(m_cn, m_accessChannels[0]);
            m_allDevices.Add(d);
            AddInterface(d.Get(0), CorrespondentAddress(), false);
        }
        // The MNs: each starts in the first network of its pair.
        for (uint32_t i = 0; i < m_config.mobileNodes; i++)
        {
            const uint32_t net = 2 * (i % m_config.accessPairs);
            NetDeviceContainer d = csma.Install(m_mns.Get(i), m_accessChannels[net]);
            m_allDevices.Add(d);
            m_mnDevices.push_back(d.Get(0));
            m_network.push_back(net);
            AddInterface(d.Get(0), Ipv6Address::GetAny(), false);
            if (m_config.startSpread > Seconds(0))
            {
                m_accessChannels[net]->Detach(DynamicCast<CsmaNetDevice>(d.Get(0)));
                Simulator::Schedule(NanoSeconds(m_config.startSpread.GetNanoSeconds() *
                                                static_cast<int64_t>(i) /
                                                static_cast<int64_t>(m_config.mobileNodes)),
                                    &Mip6IkeTestbed::Attach,
                                    this,
                                    i,
                                    net);
            }
        }
    }
    for (uint32_t n = 0; n < networks; n++)
    {
        AddInterface(m_arDevices[n], WithHost(AccessPrefix(n), 1), true);
    }
    Routing(m_cn)->SetDefaultRoute(WithHost(AccessPrefix(0), 1),
                                   1); // lo, foreign 1

    // Loss on the MN's access links, each direction: at the MNs' devices
    // and at the access routers' devices.
    if (m_config.loss > 0 && m_config.l2 == "csma")
    {
        auto lossy = [this](Ptr<NetDevice> dev) {
            Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
            em->SetUnit(RateErrorModel::ERROR_UNIT_PACKET);
            em->SetRate(m_config.loss);
            DynamicCast<CsmaNetDevice>(dev)->SetReceiveErrorModel(em);
            m_errorModels.push_back(em);
        };
        for (auto& d : m_mnDevices)
        {
            lossy(d);
        }
        for (auto& d : m_arDevices)
        {
            lossy(d);
        }
    }

    // Router Advertisements on every access network.
    for (uint32_t n = 0; n < networks; n++)
    {
        Ptr<Node> ar = m_ars.Get(n);
        const uint32_t ifIndex =
            static_cast<uint32_t>(ar->GetObject<Ipv6>()->GetInterfaceForDevice(m_arDevices[n]));
        RadvdHelper radvd;
        radvd.AddAnnouncedPrefix(ifIndex, AccessPrefix(n), 64);
        Ptr<RadvdInterface> ri = radvd.GetRadvdInterface(ifIndex);
        const auto minMs = static_cast<uint32_t>(m_config.raMin.GetMilliSeconds());
        const auto maxMs = static_cast<uint32_t>(m_config.raMax.GetMilliSeconds());
        ri->SetMinRtrAdvInterval(minMs);
        ri->SetMaxRtrAdvInterval(maxMs);
        ri->SetMinDelayBetweenRAs(minMs);
        ri->SetIntervalOpt(true); // RFC 6275 §7.3 Advertisement Interval option
        // The A flag clear: the MN's movement detection forms its CoA itself
        // (SLAAC with its own DAD mode, as a MIPv6 daemon does); ns-3's own
        // autoconfiguration would add a second copy whose prefix timers
        // must then be torn down at every move.
        for (auto& prefix : ri->GetPrefixes())
        {
            prefix->SetAutonomousFlag(m_config.raAutonomous);
        }
        ApplicationContainer apps = radvd.Install(ar);
        apps.Start(Seconds(0));
    }
}

void
Mip6IkeTestbed::BuildWifi()
{
    // Two APs (on AR1 and AR2, SSIDs "foreign1"/"foreign2") on one 802.11a
    // channel, wifiApDistance apart; the CN is a station next to AP1; the
    // MN a station next to AP1 at the start.
    YansWifiChannelHelper channel = YansWifiChannelHelper::Default();
    YansWifiPhyHelper phy;
    phy.SetChannel(channel.Create());
    WifiHelper wifi;
    wifi.SetStandard(WIFI_STANDARD_80211a);
    WifiMacHelper mac;
    NetDeviceContainer all;
    for (uint32_t n = 0; n < 2; n++)
    {
        mac.SetType("ns3::ApWifiMac", "Ssid", SsidValue(Ssid(n == 0 ? "foreign1" : "foreign2")));
        NetDeviceContainer d = wifi.Install(phy, mac, m_ars.Get(n));
        m_arDevices.push_back(d.Get(0));
        all.Add(d);
    }
    mac.SetType("ns3::StaWifiMac",
                "Ssid",
                SsidValue(Ssid("foreign1")),
                "MaxMissedBeacons",
                UintegerValue(m_config.wifiMaxMissedBeacons));
    NetDeviceContainer cnDev = wifi.Install(phy, mac, m_cn);
    NetDeviceContainer mnDevs = wifi.Install(phy, mac, m_mns);
    all.Add(cnDev);
    all.Add(mnDevs);
    m_allDevices.Add(all);

    MobilityHelper mobility;
    mobility.SetMobilityModel("ns3::ConstantPositionMobilityModel");
    mobility.Install(m_ars.Get(0));
    mobility.Install(m_ars.Get(1));
    mobility.Install(m_cn);
    mobility.Install(m_mns);
    m_ars.Get(0)->GetObject<MobilityModel>()->SetPosition(Vector(0, 0, 0));
    m_ars.Get(1)->GetObject<MobilityModel>()->SetPosition(
        Vector(m_config.wifiApDistance, 0, 0));
    m_cn->GetObject<MobilityModel>()->SetPosition(Vector(0, 5, 0));
    for (uint32_t i = 0; i < m_mns.GetN(); i++)
    {
        m_mns.Get(i)->GetObject<MobilityModel>()->SetPosition(Vector(5, 0, 0));
        m_mnDevices.push_back(mnDevs.Get(i));
        m_network.push_back(0);
        AddInterface(mnDevs.Get(i), Ipv6Address::GetAny(), false);
    }
    AddInterface(cnDev.Get(0), CorrespondentAddress(), false);

    if (m_config.loss > 0)
    {
        auto lossy = [this](Ptr<NetDevice> dev) {
            Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
            em->SetUnit(RateErrorModel::ERROR_UNIT_PACKET);
            em->SetRate(m_config.loss);
            DynamicCast<WifiNetDevice>(dev)->GetPhy()->SetPostReceptionErrorModel(em);
            m_errorModels.push_back(em);
        };
        for (auto& d : m_mnDevices)
        {
            lossy(d);
        }
        for (auto& d : m_arDevices)
        {
            lossy(d);
        }
    }
}

Ptr<Node>
Mip6IkeTestbed::GetHomeAgent() const
{
    return m_ha;
}

Ptr<Node>
Mip6IkeTestbed::GetCorrespondent() const
{
    return m_cn;
}

NodeContainer
Mip6IkeTestbed::GetMobileNodes() const
{
    return m_mns;
}

NodeContainer
Mip6IkeTestbed::GetAccessRouters() const
{
    return m_ars;
}

Ptr<NetDevice>
Mip6IkeTestbed::GetHomeDevice() const
{
    return m_haHome;
}

NetDeviceContainer
Mip6IkeTestbed::GetHomeAgentUplinks() const
{
    return m_haUplinks;
}

Ptr<NetDevice>
Mip6IkeTestbed::GetMobileDevice(uint32_t i) const
{
    return m_mnDevices.at(i);
}

Ptr<NetDevice>
Mip6IkeTestbed::GetAccessRouterDevice(uint32_t network) const
{
    return m_arDevices.at(network);
}

uint32_t
Mip6IkeTestbed::GetCurrentNetwork(uint32_t i) const
{
    return m_network.at(i);
}

void
Mip6IkeTestbed::Attach(uint32_t i, uint32_t network)
{
    Ptr<CsmaNetDevice> dev = DynamicCast<CsmaNetDevice>(m_mnDevices.at(i));
    // CsmaNetDevice::Attach appends the device to the channel's list (a
    // previous, detached record of it stays inactive there) and raises
    // the device's link-up callbacks.
    dev->Attach(m_accessChannels.at(network));
    if (!m_linkUp.IsNull())
    {
        m_linkUp(i);
    }
}

void
Mip6IkeTestbed::SetLinkUpCallback(Callback<void, uint32_t> cb)
{
    m_linkUp = cb;
}

void
Mip6IkeTestbed::Handover(uint32_t i, Time gap)
{
    const uint32_t from = m_network.at(i);
    const uint32_t to = from ^ 1u; // the other network of the pair
    m_network[i] = to;
    NS_LOG_INFO("MN " << i << ": L2 handover from network " << from << " to " << to);
    if (m_config.l2 == "csma")
    {
        NS_ABORT_MSG_IF(gap < MilliSeconds(1),
                        "Mip6IkeTestbed::Handover: the CSMA link switch needs a gap >= 1 ms");
        Ptr<CsmaNetDevice> dev = DynamicCast<CsmaNetDevice>(m_mnDevices.at(i));
        m_accessChannels.at(from)->Detach(dev);
        Simulator::Schedule(gap, &Mip6IkeTestbed::Attach, this, i, to);
        return;
    }
    // 802.11: move next to the other AP and ask for its SSID.
    Ptr<Node> mn = m_mns.Get(i);
    mn->GetObject<MobilityModel>()->SetPosition(
        Vector(to == 0 ? 5 : m_config.wifiApDistance + 5, 0, 0));
    Ptr<WifiNetDevice> dev = DynamicCast<WifiNetDevice>(m_mnDevices.at(i));
    Ptr<StaWifiMac> sta = DynamicCast<StaWifiMac>(dev->GetMac());
    sta->SetSsid(Ssid(to == 0 ? "foreign1" : "foreign2"));
}

int64_t
Mip6IkeTestbed::AssignStreams(int64_t stream)
{
    int64_t used = 0;
    for (auto& o : m_errorModels)
    {
        used += DynamicCast<RateErrorModel>(o)->AssignStreams(stream + used);
    }
    if (m_config.l2 == "wifi")
    {
        NetDeviceContainer wifiDevs;
        for (auto& d : m_mnDevices)
        {
            wifiDevs.Add(d);
        }
        for (auto& d : m_arDevices)
        {
            wifiDevs.Add(d);
        }
        WifiHelper wifi;
        used += wifi.AssignStreams(wifiDevs, stream + used);
    }
    CsmaHelper csma;
    NetDeviceContainer csmaDevs;
    for (auto it = m_allDevices.Begin(); it != m_allDevices.End(); ++it)
    {
        if (DynamicCast<CsmaNetDevice>(*it))
        {
            csmaDevs.Add(*it);
        }
    }
    used += csma.AssignStreams(csmaDevs, stream + used);
    return used;
}

} // namespace ns3
