/*
 * mip6ike: the mobile node's movement detection, SLAAC and DAD.
 *
 * Mip6IkeMovementDetector watches Router Advertisements (ns-3's Radvd on
 * the access routers) on the MN's devices: it listens with
 * Node::RegisterProtocolHandler (IPv6, each watched device), so it sees
 * every RA after ns-3's own Icmpv6L4Protocol handled it.  An RA whose
 * first on-link prefix (Prefix Information option with L set, length 64)
 * differs from the current one is a movement (RFC 6275 §11.5.1): the CoA
 * is formed by SLAAC from that prefix and the device's MAC (EUI-64,
 * Ipv6Address::MakeAutoconfiguredAddress), the old CoA and its default
 * route are removed, the new default route via the RA's sender is added,
 * and the address goes through DAD per the DadMode attribute:
 *
 *   on          RFC 4862: one Neighbor Solicitation from :: to the
 *               solicited-node group (built with Icmpv6L4Protocol::ForgeNS,
 *               sent at once) and the address stays
 *               TENTATIVE for DupAddrDetectTransmits (1) x RetransTimer
 *               (attribute, 1 s as RFC 4861's RETRANS_TIMER); the CoA is
 *               reported usable after that;
 *   optimistic  RFC 4429: same probe, but the address is OPTIMISTIC and
 *               reported usable at once; PREFERRED after RetransTimer;
 *   off         no probe; PREFERRED and usable at once.
 *
 * ns-3's own SLAAC: Icmpv6L4Protocol's RA handling autoconfigures an
 * address (and a default route via the RA's sender) from every prefix with
 * the A flag, and runs its own DAD on every new address when its "DAD"
 * attribute is true.  Start() sets "DAD" to false on the node (this class
 * runs DAD per DadMode instead); if ns-3 has autoconfigured the same
 * address (A flag set), the detector takes it over (sets its state per
 * DadMode) and, at the next movement, removes it and its default route
 * as it removes its own (Ipv6L3Protocol::RemoveAutoconfiguredAddress()
 * cannot be used: in 3.37 it destroys ns-3's prefix object with its timers
 * running, which aborts the simulation; that object is left to expire
 * harmlessly).  The result is the same with the A flag set or clear.
 *
 * With SetHome(), an RA of the home prefix means the MN is back home: no
 * CoA is formed, the home callback is called (the agent moves the HoA onto
 * that interface and deregisters).
 *
 * Movement can also be hinted by the link layer: NotifyL2Handover() (the
 * scenario calls it, or connects it to a device trace such as Wi-Fi's
 * association) fires L2HandoverStart and, if SendRsOnL2 is set, sends a
 * Router Solicitation so that the new router answers without waiting for
 * its next periodic RA.
 */
#ifndef MIP6IKE_MOVEMENT_H
#define MIP6IKE_MOVEMENT_H

#include "ns3/callback.h"
#include "ns3/event-id.h"
#include "ns3/ipv6-address.h"
#include "ns3/net-device.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <cstdint>
#include <vector>

namespace ns3
{

/**
 * \ingroup mip6ike
 * \brief DAD modes of the MN's care-of address.
 */
enum Mip6IkeDadMode
{
    MIP6IKE_DAD_ON = 0,         //!< RFC 4862: usable after DAD
    MIP6IKE_DAD_OFF = 1,        //!< no DAD: usable at once
    MIP6IKE_DAD_OPTIMISTIC = 2, //!< RFC 4429: usable at once, DAD in parallel
};

/**
 * \ingroup mip6ike
 * \brief Movement detection from Router Advertisements, SLAAC of the CoA,
 * DAD (see mip6ike-movement.h).
 */
class Mip6IkeMovementDetector : public Object
{
  public:
    /**
     * Called when a new CoA is usable.
     * \param coa The care-of address.
     * \param interface The IPv6 interface it is on.
     */
    typedef Callback<void, Ipv6Address, uint32_t> CoaCallback;

    /**
     * TracedCallback signature for a movement.
     * \param [in] prefix The new on-link prefix (/64).
     * \param [in] router The RA's sender (link-local).
     * \param [in] interface The IPv6 interface the RA came in on.
     */
    typedef void (*MovementTracedCallback)(Ipv6Address prefix, Ipv6Address router, uint32_t interface);

    /**
     * TracedCallback signature for an address event.
     * \param [in] coa The care-of address.
     */
    typedef void (*CoaTracedCallback)(Ipv6Address coa);

    /**
     * TracedCallback signature for the link-layer hint.
     * \param [in] device The device that changed link (may be null).
     */
    typedef void (*L2TracedCallback)(Ptr<NetDevice> device);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeMovementDetector();
    ~Mip6IkeMovementDetector() override;

    /**
     * \brief Start watching RAs on the node's devices.
     * \param [in] node The MN (IPv6 installed).
     * \param [in] devices Devices to watch; empty = every device of the
     *             node with an IPv6 interface except loopback and
     *             VirtualNetDevices.
     */
    void Start(Ptr<Node> node, const std::vector<Ptr<NetDevice>>& devices);

    /** \param cb called when a new CoA is usable (after DAD per mode) */
    void SetCoaCallback(CoaCallback cb);

    /**
     * Called when an RA of the home prefix arrives on a link: the MN is
     * back home (no CoA is formed).
     * \param interface The IPv6 interface on the home link.
     */
    typedef Callback<void, uint32_t> HomeCallback;

    /**
     * \brief Tell the detector the home prefix (RFC 6275 §11.5.4): an RA of
     * it means "back home": the old CoA and default route go, a default
     * route via the home router is added, no CoA is formed and cb is called
     * (at once: the HoA needs no DAD, §11.5.4).
     * \param [in] prefix The home prefix.
     * \param [in] plen Its length.
     * \param [in] cb Called on the return home.
     */
    void SetHome(Ipv6Address prefix, uint8_t plen, HomeCallback cb);

    /** \return whether the last movement was back home */
    bool IsAtHome() const;

    /**
     * \brief The link layer changed (e.g. Wi-Fi association, a cable
     * moved): fires L2HandoverStart and, if SendRsOnL2, sends an RS.
     * \param [in] device The device (null: every watched device).
     */
    void NotifyL2Handover(Ptr<NetDevice> device);

    /** \return the current CoA (:: before the first movement) */
    Ipv6Address GetCoa() const;
    /** \return whether the current CoA has been reported usable */
    bool IsCoaReady() const;
    /** \return the DAD mode in use */
    Mip6IkeDadMode GetDadMode() const;
    /** \return the number of movements detected */
    uint32_t GetMovements() const;

  protected:
    void DoDispose() override;

  private:
    /**
     * Node protocol handler: every IPv6 packet on a watched device.
     * \param device the device
     * \param packet the packet (IPv6 header first)
     * \param protocol 0x86DD
     * \param from source MAC
     * \param to destination MAC
     * \param packetType type
     */
    void Receive(Ptr<NetDevice> device,
                 Ptr<const Packet> packet,
                 uint16_t protocol,
                 const Address& from,
                 const Address& to,
                 NetDevice::PacketType packetType);
    /**
     * A new prefix was seen.
     * \param device the device
     * \param prefix the /64
     * \param router RA sender
     */
    void Move(Ptr<NetDevice> device, Ipv6Address prefix, Ipv6Address router);
    /** DAD finished for m_coa. \param coa the address DAD ran for */
    void DadDone(Ipv6Address coa);
    /** Report m_coa usable. */
    void Ready();

    Ptr<Node> m_node;                        //!< the MN
    std::vector<Ptr<NetDevice>> m_devices;   //!< watched devices
    CoaCallback m_coaCallback;               //!< consumer
    Mip6IkeDadMode m_dadMode;                //!< attribute DadMode
    Time m_retransTimer;                     //!< attribute RetransTimer
    uint32_t m_dadTransmits;                 //!< attribute DupAddrDetectTransmits
    bool m_sendRsOnL2;                       //!< attribute SendRsOnL2
    Ipv6Address m_prefix;                    //!< current prefix
    Ipv6Address m_router;                    //!< current router
    Ipv6Address m_coa;                       //!< current CoA
    int32_t m_interface;                     //!< its interface, -1 none
    bool m_nsAutoconf;                       //!< ns-3 autoconfigured m_coa itself
    bool m_ready;                            //!< m_coa reported usable
    bool m_homeSet;                          //!< SetHome() called
    Ipv6Address m_homePrefix;                //!< home prefix
    uint8_t m_homePlen;                      //!< its length
    HomeCallback m_homeCallback;             //!< return-home consumer
    bool m_atHome;                           //!< last movement was home
    uint32_t m_movements;                    //!< movements so far
    EventId m_dadEvent;                      //!< pending DAD completion
    /** A new on-link prefix was seen in an RA. */
    TracedCallback<Ipv6Address, Ipv6Address, uint32_t> m_movementTrace;
    /** The new CoA was added to the interface (DAD starts). */
    TracedCallback<Ipv6Address> m_coaFormedTrace;
    /** The new CoA is usable (after DAD per mode). */
    TracedCallback<Ipv6Address> m_coaReadyTrace;
    /** The link layer changed (NotifyL2Handover()). */
    TracedCallback<Ptr<NetDevice>> m_l2Trace;
};

} // namespace ns3

#endif /* MIP6IKE_MOVEMENT_H */
