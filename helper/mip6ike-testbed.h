/*
 * mip6ike: the main paper's testbed (Xu et al., Fig. 6) as an ns-3
 * topology, and its scaled-up form for the benchmark.
 *
 *                       home net 2001::/64
 *                      [HA 2001::1] (HoA 2001::5 lives here)
 *                 p2p  /            \  p2p  backbone fd00:0:1::/64, fd00:0:2::/64
 *                     /              \
 *                 [AR1]              [AR2]
 *     foreign 1 2002::/64          foreign 2 2003::/64
 *       |        |                    |
 *     [CN ::10] [MN] - - - - - - - -> (L2 handover: link switch or 802.11)
 *
 * The addresses are the paper's (Fig. 7: HA 2001::1, HoA 2001::5, the MN
 * bootstrapped in 2002::/64); not the documentation prefix 2001:db8::/32,
 * which ns-3's IPv6 refuses to forward.
 *
 * The paper's three nodes (MN, HA, CN), two access routers and three
 * networks (home, foreign 1, foreign 2; the CN in a foreign one), plus the
 * backbone that joins the routers.  The access routers send Router
 * Advertisements with ns-3's Radvd; the MN's access link is CSMA (the MN's
 * device is detached from one channel and attached to the other: a "link
 * switch") or 802.11 (two APs on the access routers, the MN re-associating
 * with the other SSID).
 *
 * Scaled (Mip6IkeTestbedConfig::accessPairs > 1): several pairs of access
 * networks, several MNs per access network (they share the channel, so an
 * RA or a multicast NS costs one receive per MN there, not one per MN in
 * the simulation), every access router joined to a core router by a
 * point-to-point link, and the HA behind the core on its own link: the HA
 * keeps two interfaces whatever the number of MNs.
 *
 * The access links are LANs: their CSMA propagation delay (accessDelay)
 * is a microsecond, because ns-3's CSMA channel stays busy for the whole
 * propagation delay after each frame (a 2 ms delay would cap a link at
 * 500 frames/s); the configurable path delay is on the backbone links.
 */
#ifndef MIP6IKE_TESTBED_H
#define MIP6IKE_TESTBED_H

#include "ns3/callback.h"
#include "ns3/csma-channel.h"
#include "ns3/data-rate.h"
#include "ns3/ipv6-address.h"
#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/nstime.h"
#include "ns3/ptr.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

class NetDevice;
class Node;

/**
 * \ingroup mip6ike
 * \brief Parameters of Mip6IkeTestbed.
 */
struct Mip6IkeTestbedConfig
{
    /** "csma" (link switch) or "wifi" (two APs; Fig. 6 size only). */
    std::string l2{"csma"};
    /** One-way delay of each backbone (point-to-point) link. */
    Time linkDelay{MilliSeconds(5)};
    /** Propagation delay of the CSMA access links (a LAN). */
    Time accessDelay{MicroSeconds(1)};
    /** Rate of every wired link. */
    DataRate linkRate{DataRate("100Mbps")};
    /** Packet loss rate on the MN's access links (0..1), each direction. */
    double loss{0.0};
    /**
     * Router Advertisement interval of the access routers.  RFC 6275 §7.5
     * lets routers serving mobile nodes go down to MinRtrAdvInterval 30 ms
     * / MaxRtrAdvInterval 70 ms; these are the defaults, so that router
     * discovery adds ~50 ms on average to a handover (the paper removed
     * router discovery from its Fig. 8 / Table I figures altogether).
     */
    Time raMin{MilliSeconds(30)};
    Time raMax{MilliSeconds(70)}; //!< see raMin
    /**
     * The RAs' Autonomous flag.  Clear by default: the MN's movement
     * detection does SLAAC itself (per its DadMode); with it set, ns-3's
     * Icmpv6L4Protocol autoconfigures the same address as well.
     */
    bool raAutonomous{false};
    /** Pairs of access networks (1 = the paper's testbed). */
    uint32_t accessPairs{1};
    /** Mobile nodes (spread over the pairs, starting in the first network of their pair). */
    uint32_t mobileNodes{1};
    /**
     * CSMA: the MNs' links come up one by one over this time (MN i at
     * i x startSpread / mobileNodes) instead of all at 0, so that a large
     * population does not bootstrap in the same instant.  0 = all at 0.
     */
    Time startSpread{Seconds(0)};
    /** 802.11: distance between the two APs (m). */
    double wifiApDistance{1000.0};
    /** 802.11: beacons an associated MN may miss before it scans again. */
    uint32_t wifiMaxMissedBeacons{3};
};

/**
 * \ingroup mip6ike
 * \brief Builds the testbed: nodes, devices, IPv6 addresses, static routes
 * and the access routers' Radvd.  Installs no mobility agent: that is
 * Mip6IkeHelper's job.
 */
class Mip6IkeTestbed
{
  public:
    /** Addresses of the paper-size testbed (pair 0). */
    static Ipv6Address HomePrefix();      //!< 2001::
    static Ipv6Address HomeAgentAddress(); //!< 2001::1
    /**
     * \param [in] i Index of the MN.
     * \return Its home address: 2001::5 for the first, then ::6, ...
     */
    static Ipv6Address HomeAddress(uint32_t i);
    /** \return the CN's address 2002::10 (foreign 1). */
    static Ipv6Address CorrespondentAddress();
    /**
     * \param [in] network Index of an access network (0, 1 = pair 0).
     * \return its /64 prefix: 2002::, 2003::, ...
     */
    static Ipv6Address AccessPrefix(uint32_t network);

    /**
     * \brief Build everything (call once, before Simulator::Run).
     * \param [in] config The parameters.
     */
    explicit Mip6IkeTestbed(const Mip6IkeTestbedConfig& config);

    /** \return the configuration. */
    const Mip6IkeTestbedConfig& GetConfig() const;

    Ptr<Node> GetHomeAgent() const;          //!< \return the HA
    Ptr<Node> GetCorrespondent() const;      //!< \return the CN
    NodeContainer GetMobileNodes() const;    //!< \return every MN
    NodeContainer GetAccessRouters() const;  //!< \return AR1, AR2, ...
    /** \return the HA's device on the home link. */
    Ptr<NetDevice> GetHomeDevice() const;
    /** \return the HA's devices towards the access routers (paper size:
     * one per access router; scaled: the one to the core router). */
    NetDeviceContainer GetHomeAgentUplinks() const;
    /**
     * \param [in] i Index of an MN.
     * \return its access device (CSMA or Wi-Fi station).
     */
    Ptr<NetDevice> GetMobileDevice(uint32_t i) const;
    /**
     * \param [in] network Index of an access network.
     * \return the access router's device on it.
     */
    Ptr<NetDevice> GetAccessRouterDevice(uint32_t network) const;

    /**
     * \param [in] i Index of an MN.
     * \return the access network it is attached to now (or is joining).
     */
    uint32_t GetCurrentNetwork(uint32_t i) const;

    /**
     * \brief Start an L2 handover of MN i to the other network of its pair.
     *
     * CSMA: the MN's device is detached from its channel now and attached
     * to the other network's channel after gap.  802.11: the MN is moved
     * next to the other AP now and told that AP's SSID; it re-associates
     * once it has missed wifiMaxMissedBeacons beacons.
     *
     * \param [in] i Index of the MN.
     * \param [in] gap CSMA: time without any link (at least 1 ms, so that a
     *        frame on the wire finishes before the device moves).
     */
    void Handover(uint32_t i, Time gap);

    /**
     * \brief Call cb(i) whenever MN i's link comes up on a network (CSMA:
     * each attach, including the first one with startSpread; 802.11: not
     * used, connect the station's "Assoc" trace instead).
     * \param [in] cb The callback.
     */
    void SetLinkUpCallback(Callback<void, uint32_t> cb);

    /**
     * \brief Assign fixed random streams to the error models and the
     * devices (CSMA backoff, Wi-Fi).
     * \param [in] stream First stream index.
     * \return number of streams used.
     */
    int64_t AssignStreams(int64_t stream);

  private:
    /** Build the paper's testbed or the scaled one (CSMA access links). */
    void Build();
    /** The access network i of the wifi variant. */
    void BuildWifi();
    /** CSMA: attach MN i's device to network's channel. */
    void Attach(uint32_t i, uint32_t network);

    Callback<void, uint32_t> m_linkUp;            //!< SetLinkUpCallback
    Mip6IkeTestbedConfig m_config;                //!< parameters
    Ptr<Node> m_ha;                               //!< the HA
    Ptr<Node> m_cn;                               //!< the CN
    Ptr<Node> m_core;                             //!< scaled: the core router
    NodeContainer m_mns;                          //!< the MNs
    NodeContainer m_ars;                          //!< the access routers
    Ptr<NetDevice> m_haHome;                      //!< HA home device
    NetDeviceContainer m_haUplinks;               //!< HA backbone devices
    std::vector<Ptr<NetDevice>> m_mnDevices;      //!< per MN
    std::vector<Ptr<NetDevice>> m_arDevices;      //!< per access network
    std::vector<Ptr<CsmaChannel>> m_accessChannels; //!< CSMA: per access network
    std::vector<uint32_t> m_network;              //!< per MN: current network
    std::vector<Ptr<Object>> m_errorModels;       //!< loss models (streams)
    NetDeviceContainer m_allDevices;              //!< every device (streams)
};

} // namespace ns3

#endif /* MIP6IKE_TESTBED_H */
