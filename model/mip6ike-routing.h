/*
 * mip6ike: how the MN-HA tunnel meets ns-3's IPv6 routing.
 *
 * Both ends of the tunnel have a VirtualNetDevice ("mip6ike tunnel
 * device", an IPv6 interface of its own):
 *
 *  MN   the HoA is configured on the tunnel device (/128).  Mip6IkeMnRouting
 *       sits in the node's Ipv6ListRouting above static routing and sends
 *       every packet the node originates from the HoA, or from an
 *       unspecified source (sockets that did not bind), to a global
 *       destination out of the tunnel device with source HoA.  The
 *       device's send callback hands the whole inner packet to the agent
 *       (m6ike_agent_write_tunnel: reverse tunnelling under tunnel-mode
 *       ESP).  The agent's own packets (BU, IKE, ESP) carry the CoA or a
 *       link-local address as source and go on to static routing (the
 *       default route via the current access router).  Packets out of the
 *       tunnel (deliver_ip6) enter the stack through the tunnel device's
 *       Receive(): addressed to the HoA, they are delivered locally.
 *
 *  HA   Mip6IkeHaRouting sits in the Ipv6ListRouting above static routing.
 *       A packet to be forwarded (RouteInput) or originated (RouteOutput)
 *       whose destination is a HoA with a binding away from home (asked
 *       through a callback: m6ike_agent_lookup()) gets a route out of the
 *       tunnel device, whose send callback hands it to the agent (tunnel-
 *       mode ESP to the CoA).  Decapsulated packets from MNs enter the
 *       stack through the tunnel device's Receive() and are forwarded by
 *       ns-3 (forwarding is enabled on the tunnel interface).
 *
 * Proxy Neighbor Discovery (RFC 6275 §10.4.1): the CN and the home link's
 * router must send packets for a registered HoA to the HA's link-layer
 * address.  ns-3's Icmpv6L4Protocol answers Neighbor Solicitations for the
 * node's own addresses only and has no proxy hook, so Mip6IkeProxyNd
 * listens on the HA's home-link device with Node::RegisterProtocolHandler
 * (IPv6, that device; every IPv6 frame the device passes up, which for
 * CSMA and Wi-Fi includes the solicited-node multicast frames) and
 * answers an NS whose target is a registered HoA with an NA (target HoA,
 * Target Link-Layer Address = the HA's device address, R=1, S=1, O=0 as
 * §10.4.1 asks for solicited proxy NAs), sent from the HA's link-local
 * address straight to the solicitor's link-layer address (as ns-3's own
 * NA replies are).  When a binding is created
 * it also sends an unsolicited NA to all-nodes (O=1) so that neighbours
 * that had the MN's own link-layer address in their cache update it.  The
 * NS itself also reaches ns-3's Icmpv6L4Protocol, which ignores it (the
 * target is not one of the node's addresses).
 */
#ifndef MIP6IKE_ROUTING_H
#define MIP6IKE_ROUTING_H

#include "ns3/callback.h"
#include "ns3/ipv6-address.h"
#include "ns3/ipv6-header.h"
#include "ns3/ipv6-route.h"
#include "ns3/ipv6-routing-protocol.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <cstdint>

namespace ns3
{

class Ipv6;
class Ipv6Route;

/**
 * \ingroup mip6ike
 * \brief What Mip6IkeMnRouting and Mip6IkeHaRouting share: they claim some
 * packets for the tunnel and leave the rest to another protocol.
 *
 * Two ways to install one (Mip6IkeAgent does it):
 *  - the node's routing protocol is an Ipv6ListRouting: add it with a
 *    priority above static routing; the list asks the others when it
 *    claims nothing;
 *  - otherwise (InternetStackHelper's 3.37 default is a bare
 *    Ipv6StaticRouting): SetFallback(the node's protocol), then make this
 *    the node's protocol (Ipv6L3Protocol::SetRoutingProtocol()).  What it
 *    does not claim goes to the fallback, and every Notify* call is passed
 *    on to it.  The fallback keeps the Ipv6 it already has: SetIpv6() is
 *    not passed on (ns-3's protocols must not be given it twice; an
 *    Ipv6ListRouting cannot take an already-attached protocol for that
 *    reason).
 */
class Mip6IkeRoutingBase : public Ipv6RoutingProtocol
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeRoutingBase();
    ~Mip6IkeRoutingBase() override;

    /** \param fallback protocol for what this one does not claim (null: none) */
    void SetFallback(Ptr<Ipv6RoutingProtocol> fallback);
    /** \return the fallback protocol */
    Ptr<Ipv6RoutingProtocol> GetFallback() const;

    Ptr<Ipv6Route> RouteOutput(Ptr<Packet> p,
                               const Ipv6Header& header,
                               Ptr<NetDevice> oif,
                               Socket::SocketErrno& sockerr) override;
    bool RouteInput(Ptr<const Packet> p,
                    const Ipv6Header& header,
                    Ptr<const NetDevice> idev,
                    UnicastForwardCallback ucb,
                    MulticastForwardCallback mcb,
                    LocalDeliverCallback lcb,
                    ErrorCallback ecb) override;
    void NotifyInterfaceUp(uint32_t interface) override;
    void NotifyInterfaceDown(uint32_t interface) override;
    void NotifyAddAddress(uint32_t interface, Ipv6InterfaceAddress address) override;
    void NotifyRemoveAddress(uint32_t interface, Ipv6InterfaceAddress address) override;
    void NotifyAddRoute(Ipv6Address dst,
                        Ipv6Prefix mask,
                        Ipv6Address nextHop,
                        uint32_t interface,
                        Ipv6Address prefixToUse = Ipv6Address::GetZero()) override;
    void NotifyRemoveRoute(Ipv6Address dst,
                           Ipv6Prefix mask,
                           Ipv6Address nextHop,
                           uint32_t interface,
                           Ipv6Address prefixToUse = Ipv6Address::GetZero()) override;
    void SetIpv6(Ptr<Ipv6> ipv6) override;
    void PrintRoutingTable(Ptr<OutputStreamWrapper> stream,
                           Time::Unit unit = Time::S) const override;

  protected:
    void DoDispose() override;

    /**
     * \brief The tunnel's part of RouteOutput().
     * \param [in] header the packet's header
     * \param [in] oif the requested output device, or null
     * \return a route out of the tunnel, or null
     */
    virtual Ptr<Ipv6Route> ClaimOutput(const Ipv6Header& header, Ptr<NetDevice> oif) = 0;
    /**
     * \brief The tunnel's part of RouteInput().
     * \param [in] p the packet
     * \param [in] header its header
     * \param [in] idev the input device
     * \param [in] ucb the forwarding callback
     * \return true if claimed (ucb called)
     */
    virtual bool ClaimInput(Ptr<const Packet> p,
                            const Ipv6Header& header,
                            Ptr<const NetDevice> idev,
                            UnicastForwardCallback ucb) = 0;
    /** \param os where to print this protocol's own table line */
    virtual void PrintOwn(std::ostream& os) const = 0;

    Ptr<Ipv6> m_ipv6;                    //!< the node's IPv6
    Ptr<Ipv6RoutingProtocol> m_fallback; //!< the rest
};

/**
 * \ingroup mip6ike
 * \brief The MN's routing into the reverse tunnel (see mip6ike-routing.h).
 *
 * Installed as Mip6IkeRoutingBase says (priority 10 in a list).
 * RouteInput() never claims a packet.
 */
class Mip6IkeMnRouting : public Mip6IkeRoutingBase
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeMnRouting();
    ~Mip6IkeMnRouting() override;

    /**
     * \brief Set the home address and the tunnel device.
     * \param [in] homeAddress The MN's HoA (configured on the device).
     * \param [in] tunnel The tunnel device (an IPv6 interface of the node).
     */
    void SetTunnel(Ipv6Address homeAddress, Ptr<NetDevice> tunnel);

    /**
     * \brief Enable or disable tunnelling (disabled: RouteOutput() claims
     * nothing; e.g. while the MN is at home).  Enabled by default.
     * \param [in] enabled Whether packets from the HoA use the tunnel.
     */
    void SetEnabled(bool enabled);


    /** \return packets routed into the tunnel so far */
    uint64_t GetTunnelled() const;

  protected:
    void DoDispose() override;
    Ptr<Ipv6Route> ClaimOutput(const Ipv6Header& header, Ptr<NetDevice> oif) override;
    bool ClaimInput(Ptr<const Packet> p,
                    const Ipv6Header& header,
                    Ptr<const NetDevice> idev,
                    UnicastForwardCallback ucb) override;
    void PrintOwn(std::ostream& os) const override;

  private:
    Ipv6Address m_hoa;         //!< home address
    Ptr<NetDevice> m_tunnel;   //!< tunnel device
    bool m_enabled;            //!< tunnelling on
    uint64_t m_tunnelled;      //!< routes handed out
};

/**
 * \ingroup mip6ike
 * \brief The HA's interception of packets for registered home addresses
 * (see mip6ike-routing.h).
 *
 * Installed as Mip6IkeRoutingBase says (priority 10 in a list).
 */
class Mip6IkeHaRouting : public Mip6IkeRoutingBase
{
  public:
    /** Returns true if the address is a HoA registered away from home. */
    typedef Callback<bool, Ipv6Address> LookupCallback;

    /**
     * TracedCallback signature for an intercepted packet.
     * \param [in] header Its IPv6 header.
     * \param [in] forwarded true for a forwarded packet, false for one the
     *             HA itself originated.
     */
    typedef void (*InterceptTracedCallback)(const Ipv6Header& header, bool forwarded);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeHaRouting();
    ~Mip6IkeHaRouting() override;

    /**
     * \brief Set the lookup and the tunnel device.
     * \param [in] lookup Whether a destination is a registered HoA.
     * \param [in] tunnel The tunnel device (an IPv6 interface of the node).
     */
    void SetTunnel(LookupCallback lookup, Ptr<NetDevice> tunnel);


    /** \return packets intercepted so far */
    uint64_t GetIntercepted() const;

  protected:
    void DoDispose() override;
    Ptr<Ipv6Route> ClaimOutput(const Ipv6Header& header, Ptr<NetDevice> oif) override;
    bool ClaimInput(Ptr<const Packet> p,
                    const Ipv6Header& header,
                    Ptr<const NetDevice> idev,
                    UnicastForwardCallback ucb) override;
    void PrintOwn(std::ostream& os) const override;

  private:
    /** \param dst a destination \return a route out of the tunnel device, or null */
    Ptr<Ipv6Route> TunnelRoute(Ipv6Address dst) const;

    LookupCallback m_lookup;   //!< registered-HoA test
    Ptr<NetDevice> m_tunnel;   //!< tunnel device
    uint64_t m_intercepted;    //!< packets intercepted
    /** A packet for a registered HoA was sent into the tunnel. */
    TracedCallback<const Ipv6Header&, bool> m_interceptTrace;
};

/**
 * \ingroup mip6ike
 * \brief Proxy Neighbor Discovery for registered home addresses on the
 * HA's home link (see mip6ike-routing.h).
 */
class Mip6IkeProxyNd : public Object
{
  public:
    /** Returns true if the address is a HoA registered away from home. */
    typedef Callback<bool, Ipv6Address> LookupCallback;

    /**
     * TracedCallback signature for an NA sent.
     * \param [in] target The HoA advertised.
     * \param [in] solicited true in answer to an NS, false unsolicited.
     */
    typedef void (*NaTracedCallback)(Ipv6Address target, bool solicited);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeProxyNd();
    ~Mip6IkeProxyNd() override;

    /**
     * \brief Start answering on the home link.
     * \param [in] node The HA's node (IPv6 installed).
     * \param [in] homeDevice Its device on the home link.
     * \param [in] lookup Whether a target is a registered HoA.
     */
    void Start(Ptr<Node> node, Ptr<NetDevice> homeDevice, LookupCallback lookup);

    /**
     * \brief Send an unsolicited NA (O=1) for a HoA to all-nodes: call when
     * its binding is created.
     * \param [in] hoa The home address.
     */
    void Announce(Ipv6Address hoa);

    /** \return NAs sent so far (solicited and unsolicited) */
    uint64_t GetAdvertisements() const;

    /**
     * \brief Whether the NAs carry the Router flag (default true: an HA is
     * a router; a mobile node back home announcing its own HoA sets false).
     * \param [in] router R flag.
     */
    void SetRouterFlag(bool router);

  protected:
    void DoDispose() override;

  private:
    /**
     * Node protocol handler for the home device.
     * \param device the device
     * \param packet the IPv6 packet
     * \param protocol 0x86DD
     * \param from source link-layer address
     * \param to destination link-layer address
     * \param packetType its type
     */
    void Receive(Ptr<NetDevice> device,
                 Ptr<const Packet> packet,
                 uint16_t protocol,
                 const Address& from,
                 const Address& to,
                 NetDevice::PacketType packetType);
    /**
     * Build and send one NA.
     * \param target the HoA
     * \param dst IPv6 destination
     * \param solicited S flag (and O flag clear) if true
     * \param toMac the solicitor's link-layer address (invalid: resolve / multicast)
     */
    void SendNa(Ipv6Address target, Ipv6Address dst, bool solicited, Address toMac);

    Ptr<Node> m_node;          //!< the HA
    Ptr<NetDevice> m_device;   //!< home-link device
    LookupCallback m_lookup;   //!< registered-HoA test
    uint64_t m_nas;            //!< NAs sent
    bool m_routerFlag;         //!< R flag
    TracedCallback<Ipv6Address, bool> m_naTrace; //!< NA sent
};

} // namespace ns3

#endif /* MIP6IKE_ROUTING_H */
