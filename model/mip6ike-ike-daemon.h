/*
 * mip6ike: the IKEv2 daemon of a node as an ns-3 Application (the "IKE
 * daemon" box of the main paper's Fig. 1-5).
 *
 * It owns the node's IKE sockets, UDP 500 and 4500 on the IPv6 any
 * address (RecvPktInfo for the local address), opened at
 * StartApplication() and closed at StopApplication().  The key manager
 * itself -- the m6ike_ikev2 engine inside the core's m6ike_agent -- is run
 * by the node's Mip6IkeAgent (which charges its processing time): the
 * daemon hands every received datagram to it (SetKeyManager(), the agent's
 * m6ike_agent_read_udp()) and sends what it asks (Send(), from the path's
 * local address and port with UdpL4Protocol::Send(): an unbound socket could
 * not choose the CoA as its source).
 *
 * Not running (before StartTime, after StopTime): the sockets are closed,
 * so the peer's datagrams are refused by ns-3's UDP (ICMPv6 port
 * unreachable) and never reach the daemon; what the key manager asks to
 * send is dropped, counted (GetStats().txDropped) and reported on the Drop
 * trace.  The engine retransmits as it would over a dead link and, when it
 * gives up, the IKE operation fails (the agent's IkeExchangeCompleted with a
 * core error, and its retry of the scheme's ACQUIRE).
 *
 * Mip6IkeAgent::Install() adds one to the node if it has none (start at 0,
 * never stopped); Mip6IkeHelper installs it from its own factory
 * (SetIkeDaemonAttribute("StartTime", ...)).  Config paths:
 * "/NodeList/<i>/ApplicationList/<j>/$ns3::Mip6IkeIkeDaemon/IkeTx".
 */
#ifndef MIP6IKE_IKE_DAEMON_H
#define MIP6IKE_IKE_DAEMON_H

#include "ns3/application.h"
#include "ns3/callback.h"
#include "ns3/ipv6-address.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <m6ike/ikev2.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace ns3
{

class Socket;
class Packet;

/**
 * \ingroup mip6ike
 * \brief What an IKE datagram's first octets say (IKE header, RFC 7296
 * §3.1, after the 4-octet non-ESP marker on port 4500).
 */
struct Mip6IkeIkeHeaderInfo
{
    bool isIke = false;       //!< an IKE message (not a keepalive or UDP-encapsulated ESP)
    uint8_t exchangeType = 0; //!< 34 IKE_SA_INIT, 35 IKE_AUTH, 36 CREATE_CHILD_SA, 37 INFORMATIONAL
    uint32_t messageId = 0;   //!< Message ID
    bool response = false;    //!< R flag
    bool initiator = false;   //!< I flag
};

/**
 * \ingroup mip6ike
 * \brief The node's IKEv2 daemon: UDP 500/4500, between the network and the
 * key manager (see mip6ike-ike-daemon.h).
 */
class Mip6IkeIkeDaemon : public Application
{
  public:
    /** Counters. */
    struct Stats
    {
        uint64_t txPackets = 0;  //!< datagrams sent
        uint64_t txBytes = 0;    //!< their UDP payload octets
        uint64_t rxPackets = 0;  //!< datagrams received and handed to the key manager
        uint64_t rxBytes = 0;    //!< their UDP payload octets
        uint64_t txDropped = 0;  //!< the key manager asked to send while not running
        uint64_t rxDropped = 0;  //!< received but not handed over (no key manager, not IPv6)
        uint64_t ikeTx = 0;      //!< of txPackets, IKE messages (not keepalives / ESP)
        uint64_t ikeRx = 0;      //!< of rxPackets, IKE messages
    };

    /**
     * Where the key manager gets a datagram.
     * \param path local/remote addresses and ports
     * \param data the UDP payload
     */
    typedef Callback<void, const m6ike_ikev2_path&, const std::vector<uint8_t>&> KeyManagerCallback;

    /**
     * TracedCallback signature: an IKE datagram left / arrived.
     * \param [in] packet The UDP payload.
     * \param [in] local This node's address.
     * \param [in] localPort 500 or 4500.
     * \param [in] peer The peer's address.
     * \param [in] peerPort The peer's port.
     * \param [in] exchangeType The IKE header's exchange type (0: not IKE).
     * \param [in] messageId The IKE header's Message ID.
     */
    typedef void (*IkeTracedCallback)(Ptr<const Packet> packet,
                                      Ipv6Address local,
                                      uint16_t localPort,
                                      Ipv6Address peer,
                                      uint16_t peerPort,
                                      uint8_t exchangeType,
                                      uint32_t messageId);
    /**
     * TracedCallback signature: a datagram the daemon could not handle.
     * \param [in] packet The UDP payload.
     * \param [in] reason Why (e.g. "not running: send").
     */
    typedef void (*DropTracedCallback)(Ptr<const Packet> packet, const std::string& reason);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeIkeDaemon();
    ~Mip6IkeIkeDaemon() override;

    /** \param cb where received datagrams go (the node's key manager) */
    void SetKeyManager(KeyManagerCallback cb);

    /**
     * \brief Send a datagram for the key manager.
     * \param path local/remote addresses and ports
     * \param data UDP payload
     * \return true if it left; false if the daemon is not running (counted, Drop)
     */
    bool Send(const m6ike_ikev2_path& path, const std::vector<uint8_t>& data);

    /** \return true between StartApplication and StopApplication */
    bool IsRunning() const;
    /** \return the counters */
    Stats GetStats() const;

    /**
     * \brief Parse the IKE header of a UDP payload.
     * \param data payload octets
     * \param len their number
     * \param port the UDP port (4500: non-ESP marker first)
     * \return what it says
     */
    static Mip6IkeIkeHeaderInfo ParseHeader(const uint8_t* data, size_t len, uint16_t port);
    /** \param type exchange type \return "IKE_SA_INIT", ..., or the number */
    static std::string ExchangeName(uint8_t type);

    /**
     * \brief Log every IKE datagram of this daemon as one text line per
     * datagram (time, tx/rx, addresses and ports, exchange, message ID,
     * I/R flags, length) to a stream.
     * \param os the stream (kept alive; null: off)
     */
    void EnableAsciiIke(Ptr<OutputStreamWrapper> os);

  protected:
    void DoDispose() override;

  private:
    void StartApplication() override;
    void StopApplication() override;
    /** \param socket a socket with data */
    void Receive(Ptr<Socket> socket);
    /** Close and forget the sockets. */
    void CloseSockets();
    /**
     * \param dir "tx" / "rx"
     * \param path the path
     * \param data payload
     * \param info its header
     */
    void Ascii(const char* dir,
               const m6ike_ikev2_path& path,
               const std::vector<uint8_t>& data,
               const Mip6IkeIkeHeaderInfo& info);

    Ptr<Socket> m_ike500;          //!< UDP 500
    Ptr<Socket> m_ike4500;         //!< UDP 4500
    bool m_running;                //!< started and not stopped
    KeyManagerCallback m_keyManager; //!< the agent's read_udp
    Stats m_stats;                 //!< counters
    Ptr<OutputStreamWrapper> m_ascii; //!< EnableAsciiIke stream or null

    TracedCallback<Ptr<const Packet>, Ipv6Address, uint16_t, Ipv6Address, uint16_t, uint8_t, uint32_t>
        m_txTrace; //!< IkeTx
    TracedCallback<Ptr<const Packet>, Ipv6Address, uint16_t, Ipv6Address, uint16_t, uint8_t, uint32_t>
        m_rxTrace;                                                //!< IkeRx
    TracedCallback<Ptr<const Packet>, const std::string&> m_dropTrace; //!< Drop
};

} // namespace ns3

#endif /* MIP6IKE_IKE_DAEMON_H */
