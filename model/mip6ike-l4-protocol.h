/*
 * mip6ike: the Mobility Header (135) and ESP (50) as ns-3 IpL4Protocols.
 *
 * Both hand the C core the packet as it was on the wire: ns-3 has removed
 * the IPv6 header and every extension header before calling an L4
 * protocol's Receive() (see mip6ike-ext-headers.h), so Receive() puts them
 * back: the Ipv6Header argument (serialized, Payload Length recomputed),
 * then the extension header octets recorded by Mip6IkeHomeAddressOption /
 * Mip6IkeType2Routing in a Mip6IkeExtHeaderTag, then the L4 payload.  If
 * ns-3 removed octets that no tag accounts for (an extension header that
 * our handlers do not see, e.g. a Hop-by-Hop header or padding-only
 * options) the packet cannot be rebuilt: it is dropped and traced.
 *
 * Sending does not go through these objects: the core builds whole IPv6
 * packets and Mip6IkeAgent hands them to Ipv6L3Protocol::Send().
 */
#ifndef MIP6IKE_L4_PROTOCOL_H
#define MIP6IKE_L4_PROTOCOL_H

#include "ns3/callback.h"
#include "ns3/ip-l4-protocol.h"
#include "ns3/ipv6-header.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <cstdint>
#include <vector>

namespace ns3
{

/**
 * \ingroup mip6ike
 * \brief An IpL4Protocol that rebuilds received IPv6 packets as they were
 * on the wire and hands them to a callback.
 *
 * IPv4 packets are refused (RX_ENDPOINT_UNREACH).  Insert into a node with
 * Ipv6L3Protocol::Insert() (Mip6IkeAgent does this for its node).
 */
class Mip6IkeWireL4Protocol : public IpL4Protocol
{
  public:
    /**
     * Receives one rebuilt packet: the IPv6 header first, then the
     * extension headers, then the upper-layer message, as on the wire;
     * and the index of the interface it came in on.
     */
    typedef Callback<void, const std::vector<uint8_t>&, uint32_t> WireCallback;

    /**
     * TracedCallback signature for a rebuilt packet.
     * \param [in] header The IPv6 header ns-3 passed up.
     * \param [in] wireSize The rebuilt packet's size in octets.
     */
    typedef void (*RxTracedCallback)(const Ipv6Header& header, uint32_t wireSize);

    /**
     * TracedCallback signature for a packet that could not be rebuilt.
     * \param [in] header The IPv6 header ns-3 passed up.
     * \param [in] packet The L4 part ns-3 passed up.
     */
    typedef void (*DropTracedCallback)(const Ipv6Header& header, Ptr<const Packet> packet);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    /** \param protocolNumber the IPv6 Next Header value served */
    explicit Mip6IkeWireL4Protocol(uint8_t protocolNumber);
    ~Mip6IkeWireL4Protocol() override;

    /** \param node the node (needed by nothing but kept for ns-3's Object model) */
    void SetNode(Ptr<Node> node);
    /** \param cb where rebuilt packets go (none: they are counted and dropped) */
    void SetWireCallback(WireCallback cb);

    int GetProtocolNumber() const override;
    IpL4Protocol::RxStatus Receive(Ptr<Packet> p,
                                   const Ipv4Header& header,
                                   Ptr<Ipv4Interface> incomingInterface) override;
    IpL4Protocol::RxStatus Receive(Ptr<Packet> p,
                                   const Ipv6Header& header,
                                   Ptr<Ipv6Interface> incomingInterface) override;
    void SetDownTarget(IpL4Protocol::DownTargetCallback cb) override;
    void SetDownTarget6(IpL4Protocol::DownTargetCallback6 cb) override;
    IpL4Protocol::DownTargetCallback GetDownTarget() const override;
    IpL4Protocol::DownTargetCallback6 GetDownTarget6() const override;

    /**
     * \brief Rebuild the wire form of a packet ns-3 passed up.
     *
     * \param [in] p The L4 part (may carry a Mip6IkeExtHeaderTag).
     * \param [in] header The IPv6 header ns-3 passed up.
     * \param [out] wire The IPv6 header, extension headers and L4 part.
     * \return true, or false if the extension headers ns-3 removed are not
     *         all in the tag (or there is a tag but ns-3 removed nothing).
     */
    static bool Rebuild(Ptr<const Packet> p, const Ipv6Header& header, std::vector<uint8_t>& wire);

    /** \return packets handed to the callback */
    uint64_t GetReceived() const;
    /** \return packets dropped (not rebuildable, IPv4, no callback) */
    uint64_t GetDropped() const;

  protected:
    void DoDispose() override;
    void NotifyNewAggregate() override;

  private:
    uint8_t m_protocolNumber;                   //!< 135 or 50
    Ptr<Node> m_node;                           //!< the node
    WireCallback m_wireCallback;                //!< consumer
    IpL4Protocol::DownTargetCallback m_down4;   //!< kept, unused
    IpL4Protocol::DownTargetCallback6 m_down6;  //!< kept, unused
    uint64_t m_received;                        //!< handed on
    uint64_t m_dropped;                         //!< dropped
    TracedCallback<const Ipv6Header&, uint32_t> m_rxTrace;             //!< rebuilt
    TracedCallback<const Ipv6Header&, Ptr<const Packet>> m_dropTrace;  //!< not rebuilt
};

/**
 * \ingroup mip6ike
 * \brief The Mobility Header (RFC 6275 §6.1) as IpL4Protocol 135.
 */
class Mip6IkeMobilityL4Protocol : public Mip6IkeWireL4Protocol
{
  public:
    /** The IPv6 Next Header value of the Mobility Header. */
    static const uint8_t PROT_NUMBER = 135;
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeMobilityL4Protocol();
};

/**
 * \ingroup mip6ike
 * \brief ESP (RFC 4303) as IpL4Protocol 50.
 */
class Mip6IkeEspL4Protocol : public Mip6IkeWireL4Protocol
{
  public:
    /** The IPv6 Next Header value of ESP. */
    static const uint8_t PROT_NUMBER = 50;
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeEspL4Protocol();
};

} // namespace ns3

#endif /* MIP6IKE_L4_PROTOCOL_H */
