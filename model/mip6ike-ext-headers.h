/*
 * mip6ike: the Mobile IPv6 extension headers in ns-3's IPv6 receive path.
 *
 * RFC 6275 adds two things to IPv6 that ns-3 3.37 does not know:
 *
 *  - the Home Address destination option (type 201, §6.3), carried in a
 *    Destination Options header by the MN's BU (CoA -> HA);
 *  - the Type 2 Routing Header (§6.4), carried by the HA's BA (HA -> CoA,
 *    routed on to the HoA).
 *
 * How ns-3 3.37 treats them (src/internet/model/ipv6-l3-protocol.cc
 * LocalDeliver, ipv6-extension.cc):
 *
 *  - LocalDeliver walks the chain: for each Next Header value that the
 *    node's Ipv6ExtensionDemux knows (0 Hop-by-Hop, 43 Routing, 44
 *    Fragment, 60 Destination Options) it calls that extension's Process()
 *    on the whole payload with the header's offset; the extension returns
 *    the header's length and the walk continues; at the first value that
 *    is not an extension it looks up the IpL4Protocol, removes every
 *    extension header byte from the packet (RemoveAtStart) and calls the
 *    protocol's Receive() with the unchanged Ipv6Header (its Next Header
 *    still names the first extension header).  So an L4 protocol never
 *    sees the extension headers: this module records them in a packet tag
 *    (Mip6IkeExtHeaderTag) while they are processed, and the L4 protocols
 *    of mip6ike-l4-protocol.h put them back.
 *  - Destination Options: ProcessOptions() asks the node's Ipv6OptionDemux
 *    for each option type; an unknown one is handled by its two high-order
 *    bits (RFC 8200 §4.2): 201 = 0b11xxxxxx means "discard, send an ICMPv6
 *    Parameter Problem unless the destination is multicast".  Without a
 *    handler for 201 every BU would be dropped: Mip6IkeHomeAddressOption is
 *    that handler.  A handler's Process() returns the option's length
 *    (type and length octets included).  Setting its isDropped does NOT
 *    stop the chain in 3.37 (only an unknown option's action bits do): a
 *    packet whose HAO we refuse still reaches the L4 protocol, but without
 *    a tag, so that Mip6IkeWireL4Protocol cannot rebuild it and drops it.
 *  - Routing: Ipv6ExtensionRouting::Process() reads Routing Type and
 *    Segments Left and asks the node's Ipv6ExtensionRoutingDemux for the
 *    type; an unknown type with Segments Left != 0 is dropped with a
 *    Parameter Problem.  Without a handler for type 2 every BA would be
 *    dropped: Mip6IkeType2Routing is that handler.  (3.37 reads those four
 *    octets at the start of the payload, not at the header's offset: right
 *    only when the Routing header comes first, which is where RFC 6275 puts
 *    the Type 2 header; a Type 2 header elsewhere is refused by our handler.)
 *  - ESP (50): 3.37 has an Ipv6ExtensionESP class whose Process() does
 *    nothing and returns 0, but Ipv6L3Protocol::RegisterExtensions() does
 *    not insert it; Mip6IkeInstallExtensionHandlers() removes an extension
 *    50 if one is found, so that ESP reaches the IpL4Protocol 50.
 *
 * Debian's ns-3 3.37 does not install ipv6-option-demux.h (the class is
 * compiled into libns3-internet and aggregated to every IPv6 node, but its
 * header is private to src/internet).  mip6ike-ext-headers.cc therefore
 * declares the two member functions it calls (Insert, GetOption) itself;
 * their signatures are those of 3.36-3.40.
 */
#ifndef MIP6IKE_EXT_HEADERS_H
#define MIP6IKE_EXT_HEADERS_H

#include "ns3/ipv6-address.h"
#include "ns3/ipv6-extension.h"
#include "ns3/ipv6-option.h"
#include "ns3/node.h"
#include "ns3/ptr.h"
#include "ns3/tag.h"
#include "ns3/traced-callback.h"

#include <cstdint>
#include <set>
#include <vector>

namespace ns3
{

/**
 * \ingroup mip6ike
 * \brief Packet tag: the IPv6 extension headers that ns-3 consumed before
 * handing the packet to an L4 protocol, as they were on the wire.
 *
 * Added by Mip6IkeHomeAddressOption and Mip6IkeType2Routing while ns-3
 * walks the chain.  It holds the payload's leading octets (every extension
 * header from the first up to and including the one the handler
 * processed); a handler processing a later header replaces it with the
 * longer prefix.  Mip6IkeWireL4Protocol checks that its length is exactly
 * the number of octets ns-3 removed (Payload Length - L4 size) before
 * using it.
 */
class Mip6IkeExtHeaderTag : public Tag
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    TypeId GetInstanceTypeId() const override;
    uint32_t GetSerializedSize() const override;
    void Serialize(TagBuffer i) const override;
    void Deserialize(TagBuffer i) override;
    void Print(std::ostream& os) const override;

    /** \param bytes the extension header octets (at most 255 x 8 + 8) */
    void SetBytes(const std::vector<uint8_t>& bytes);
    /** \return the extension header octets */
    const std::vector<uint8_t>& GetBytes() const;

  private:
    std::vector<uint8_t> m_bytes; //!< extension headers as received
};

/**
 * \ingroup mip6ike
 * \brief The Home Address destination option (RFC 6275 §6.3, type 201).
 *
 * Inserted into a node's Ipv6OptionDemux by
 * Mip6IkeInstallExtensionHandlers().  Process() checks the option: Option
 * Length 16 and an address that can be a home address (not unspecified,
 * loopback, multicast or link-local); a bad option makes ns-3 drop the
 * packet (trace "Rejected").  A good one is recorded with the extension
 * headers before it in a Mip6IkeExtHeaderTag (trace "Accepted") and
 * processing continues.  Whether the home address is acceptable (a binding
 * or the BU's ESP SA) is the C core's decision (RFC 6275 §9.3.1), made
 * when the L4 protocol hands it the packet.
 */
class Mip6IkeHomeAddressOption : public Ipv6Option
{
  public:
    /** The option type: act 11 (discard + ICMP), chg 0, number 9. */
    static const uint8_t OPT_NUMBER = 201;

    /**
     * TracedCallback signature.
     * \param [in] header The packet's IPv6 header.
     * \param [in] homeAddress The option's address (:: if too short).
     */
    typedef void (*OptionTracedCallback)(const Ipv6Header& header, Ipv6Address homeAddress);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeHomeAddressOption();
    ~Mip6IkeHomeAddressOption() override;

    uint8_t GetOptionNumber() const override;
    /**
     * \brief Check and record one Home Address option.
     * \param [in] packet The IPv6 payload (extension headers first).
     * \param [in] offset Offset of the option (its type octet) in packet.
     * \param [in] ipv6Header The packet's IPv6 header.
     * \param [out] isDropped Set when the option is malformed.
     * \return The option's length including type and length octets.
     */
    uint8_t Process(Ptr<Packet> packet,
                    uint8_t offset,
                    const Ipv6Header& ipv6Header,
                    bool& isDropped) override;

    /** \return options accepted so far */
    uint64_t GetAccepted() const;
    /** \return options rejected so far */
    uint64_t GetRejected() const;

  private:
    uint64_t m_accepted; //!< options accepted
    uint64_t m_rejected; //!< options rejected
    /** A good option was recorded. */
    TracedCallback<const Ipv6Header&, Ipv6Address> m_acceptedTrace;
    /** A bad option made ns-3 drop the packet. */
    TracedCallback<const Ipv6Header&, Ipv6Address> m_rejectedTrace;
};

/**
 * \ingroup mip6ike
 * \brief The Type 2 Routing Header (RFC 6275 §6.4) on a mobile node.
 *
 * Inserted into a node's Ipv6ExtensionRoutingDemux by
 * Mip6IkeInstallExtensionHandlers().  Process() accepts the header only if
 * it is the first extension header (offset 0), its Hdr Ext Len is 2,
 * Segments Left is 1 and its address is one of the node's home addresses
 * (AddHomeAddress(); RFC 6275 §6.4: a packet routed to another address is
 * dropped).  A good header is recorded in a Mip6IkeExtHeaderTag and the
 * packet goes on to the next header, for this node (the routing to the
 * HoA happens inside the node: the C core delivers to the HoA); a bad one
 * makes ns-3 drop the packet.
 */
class Mip6IkeType2Routing : public Ipv6ExtensionRouting
{
  public:
    /** The routing type. */
    static const uint8_t TYPE_ROUTING = 2;

    /**
     * TracedCallback signature.
     * \param [in] header The packet's IPv6 header.
     * \param [in] address The routing header's address (:: if too short).
     * \param [in] segmentsLeft Its Segments Left field.
     */
    typedef void (*RoutingTracedCallback)(const Ipv6Header& header,
                                          Ipv6Address address,
                                          uint8_t segmentsLeft);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeType2Routing();
    ~Mip6IkeType2Routing() override;

    uint8_t GetTypeRouting() const override;
    /**
     * \brief Check and record one Type 2 Routing Header.
     * \param [in,out] packet The IPv6 payload (extension headers first).
     * \param [in] offset Offset of the header in packet.
     * \param [in] ipv6Header The packet's IPv6 header.
     * \param [in] dst The destination address.
     * \param [out] nextHeader Unused (ns-3 passes nullptr).
     * \param [out] stopProcessing Set when the packet is dropped.
     * \param [out] isDropped Set when the header is refused.
     * \param [out] dropReason Set when the header is refused.
     * \return The header's length in octets (24).
     */
    uint8_t Process(Ptr<Packet>& packet,
                    uint8_t offset,
                    const Ipv6Header& ipv6Header,
                    Ipv6Address dst,
                    uint8_t* nextHeader,
                    bool& stopProcessing,
                    bool& isDropped,
                    Ipv6L3Protocol::DropReason& dropReason) override;

    /** \param homeAddress a home address of this node, accepted in RH2 */
    void AddHomeAddress(Ipv6Address homeAddress);
    /** \param homeAddress no longer accepted */
    void RemoveHomeAddress(Ipv6Address homeAddress);

    /** \return headers accepted so far */
    uint64_t GetAccepted() const;
    /** \return headers rejected so far */
    uint64_t GetRejected() const;

  private:
    std::set<Ipv6Address> m_homeAddresses; //!< accepted addresses
    uint64_t m_accepted;                   //!< headers accepted
    uint64_t m_rejected;                   //!< headers rejected
    /** A good header was recorded. */
    TracedCallback<const Ipv6Header&, Ipv6Address, uint8_t> m_acceptedTrace;
    /** A bad header made ns-3 drop the packet. */
    TracedCallback<const Ipv6Header&, Ipv6Address, uint8_t> m_rejectedTrace;
};

/**
 * \ingroup mip6ike
 * \brief Put the Mobile IPv6 handlers into a node's IPv6 stack.
 *
 * Needs InternetStackHelper's IPv6 (Ipv6L3Protocol with its extension and
 * option demultiplexers) on the node.  Inserts a Mip6IkeHomeAddressOption
 * into the node's Ipv6OptionDemux and a Mip6IkeType2Routing into its
 * Ipv6ExtensionRoutingDemux (unless there already are handlers for 201 /
 * type 2: then those are returned), and removes an IPv6 extension 50 (ESP)
 * from its Ipv6ExtensionDemux if there is one.  Idempotent.
 *
 * \param [in] node The node.
 * \param [out] hao The node's Home Address option handler.
 * \param [out] rh2 The node's Type 2 Routing Header handler.
 */
void Mip6IkeInstallExtensionHandlers(Ptr<Node> node,
                                     Ptr<Mip6IkeHomeAddressOption>& hao,
                                     Ptr<Mip6IkeType2Routing>& rh2);

} // namespace ns3

#endif /* MIP6IKE_EXT_HEADERS_H */
