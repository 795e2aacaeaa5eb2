/*
 * mip6ike: what a frame on the simulated wire carries, for counting and
 * for fault injection.
 *
 * The experiments need to see the protocol on the wire as a capture would:
 * how many IKE_SA_INIT / IKE_AUTH / CREATE_CHILD_SA / INFORMATIONAL
 * datagrams a handover cost, whether a Binding Update left with a Home
 * Address option, which frame is the Binding Acknowledgement to drop.  The
 * classifier below walks the IPv6 header chain of a frame's bytes (Ethernet
 * or bare IPv6) without any help from the models, so that what it reports
 * is what a pcap shows.
 */
#ifndef MIP6IKE_WIRE_H
#define MIP6IKE_WIRE_H

#include "ns3/error-model.h"
#include "ns3/net-device-container.h"
#include "ns3/net-device.h"
#include "ns3/object.h"
#include "ns3/packet.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ns3
{

/**
 * \ingroup mip6ike
 * \brief What one IPv6 packet on the wire is, from its bytes.
 */
struct Mip6IkeWireInfo
{
    /** The final protocol's meaning. */
    enum Kind
    {
        NOT_IPV6 = 0,    //!< not an IPv6 packet (or truncated before its header)
        IKE_SA_INIT,     //!< IKEv2 exchange type 34
        IKE_AUTH,        //!< 35
        CREATE_CHILD_SA, //!< 36
        INFORMATIONAL,   //!< 37
        IKE_OTHER,       //!< UDP 500/4500 that is not one of the above
        MH_BU,           //!< Mobility Header, Binding Update (in clear)
        MH_BA,           //!< Mobility Header, Binding Acknowledgement (in clear)
        MH_OTHER,        //!< another Mobility Header message
        ESP,             //!< ESP (protocol 50), protected payload
        ICMPV6,          //!< ICMPv6 (RA, RS, NS, NA, ...): see icmpType
        UDP,             //!< other UDP (e.g. the experiment's payload)
        TUNNEL,          //!< IPv6-in-IPv6 without ESP
        OTHER,           //!< anything else
        KIND_COUNT       //!< number of kinds
    };

    Kind kind{NOT_IPV6};  //!< the final protocol's meaning
    bool hao{false};      //!< a Destination Options header with a Home Address option
    bool rh2{false};      //!< a Type 2 Routing Header
    bool ikeResponse{false}; //!< IKE: the Response flag
    uint8_t icmpType{0};  //!< ICMPv6: the type
    uint32_t espSpi{0};   //!< ESP: the SPI
    uint32_t ipLength{0}; //!< the IPv6 packet's length (header included)
    uint32_t ikeLength{0}; //!< IKE: the IKE message length (UDP payload, no marker)
    uint8_t src[16]{};    //!< IPv6 source
    uint8_t dst[16]{};    //!< IPv6 destination

    /** \return true for the four IKEv2 exchange kinds and IKE_OTHER. */
    bool IsIke() const;
    /** \return a short name of kind, e.g. "IKE_SA_INIT", "BU", "ESP". */
    static const char* KindName(Kind kind);
};

/**
 * \ingroup mip6ike
 * \brief Classify an IPv6 packet from its bytes.
 *
 * Never reads out of bounds; a packet cut short in its extension headers
 * gives OTHER with what was found so far.
 *
 * \param [in] buf The bytes.
 * \param [in] len Their number.
 * \param [in] ethernet True if buf starts with a 14-octet Ethernet II
 *        header (the CSMA device's frames); frames whose EtherType is not
 *        0x86DD give NOT_IPV6.
 * \return What the packet is.
 */
Mip6IkeWireInfo Mip6IkeClassify(const uint8_t* buf, size_t len, bool ethernet);

/**
 * \ingroup mip6ike
 * \brief Classify an ns-3 packet (copied out first).
 * \param [in] p The packet.
 * \param [in] ethernet As in Mip6IkeClassify().
 * \return What the packet is.
 */
Mip6IkeWireInfo Mip6IkeClassify(Ptr<const Packet> p, bool ethernet);

/**
 * \ingroup mip6ike
 * \brief Counts what crosses one CSMA or point-to-point device, by kind.
 *
 * Connect it to a device with Attach(): it listens to the device's
 * "Sniffer" trace source (the frames the device sends and receives, as its
 * pcap shows them).  Counting at one device (e.g. the home agent's backbone
 * side) counts each datagram once.
 */
class Mip6IkeWireCounter : public Object
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();

    Mip6IkeWireCounter();

    /**
     * \brief Listen to a device's frames (may be called for several).
     * \param [in] device A CsmaNetDevice or a PointToPointNetDevice.
     * \return false for another kind of device.
     */
    bool Attach(Ptr<NetDevice> device);
    /**
     * \brief Attach() each device.
     * \param [in] devices The devices.
     * \return false if one could not be attached.
     */
    bool Attach(const NetDeviceContainer& devices);

    /**
     * \param [in] kind A kind.
     * \return the number of packets of that kind seen so far.
     */
    uint64_t GetCount(Mip6IkeWireInfo::Kind kind) const;
    /** \return IKE datagrams seen so far (all exchange types). */
    uint64_t GetIkeMessages() const;
    /** \return IKE message bytes seen so far (UDP payload, marker excluded). */
    uint64_t GetIkeBytes() const;
    /** \brief Zero every counter. */
    void Reset();

    /**
     * TracedCallback signature for a classified frame.
     * \param [in] info What the frame carries.
     */
    typedef void (*FrameTracedCallback)(const Mip6IkeWireInfo& info);

  private:
    /**
     * A CSMA device's sniffer hook.
     * \param [in] p The frame (Ethernet header first).
     */
    void SniffEthernet(Ptr<const Packet> p);
    /**
     * A point-to-point device's sniffer hook.
     * \param [in] p The frame (PPP header first).
     */
    void SniffPpp(Ptr<const Packet> p);
    /**
     * Count one classified frame.
     * \param [in] info It.
     */
    void Count(const Mip6IkeWireInfo& info);

    std::array<uint64_t, Mip6IkeWireInfo::KIND_COUNT> m_counts{}; //!< per kind
    uint64_t m_ikeBytes{0};                                      //!< IKE bytes
    TracedCallback<const Mip6IkeWireInfo&> m_frameTrace;         //!< every frame
};

/**
 * \ingroup mip6ike
 * \brief An ErrorModel that drops chosen frames: the first Count frames of
 * a given kind after Skip of them have passed.
 *
 * Kinds by name (attribute Match): "ba" = a packet carrying a Type 2
 * Routing Header (a Binding Acknowledgement from the home agent, in clear
 * or under ESP: the tunnelled payload carries none), "bu" = a packet with a
 * Home Address option, "ike_sa_init", "ike_auth", "informational", "esp",
 * "udp".  Install it as a device's receive error model
 * (CsmaNetDevice::SetReceiveErrorModel, which sees the Ethernet frame).
 */
class Mip6IkeFrameDropper : public ErrorModel
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();

    Mip6IkeFrameDropper();

    /** \return frames dropped so far. */
    uint32_t GetDropped() const;
    /** \return matching frames seen so far (dropped or not). */
    uint32_t GetMatched() const;

  private:
    bool DoCorrupt(Ptr<Packet> p) override;
    void DoReset() override;

    /**
     * \param [in] info A classified frame.
     * \return true if it matches the Match attribute.
     */
    bool Matches(const Mip6IkeWireInfo& info) const;

    std::string m_match; //!< attribute Match
    uint32_t m_skip;     //!< attribute Skip
    uint32_t m_count;    //!< attribute Count
    bool m_ethernet;     //!< attribute Ethernet
    uint32_t m_matched;  //!< matching frames seen
    uint32_t m_dropped;  //!< frames dropped
};

} // namespace ns3

#endif /* MIP6IKE_WIRE_H */
