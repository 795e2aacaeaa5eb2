/*
 * mip6ike: the experiments' output contract (issue 4 §3) and the traffic
 * that feeds it.
 *
 *  - Mip6IkeResults collects, per handover, the times of the events the
 *    models trace (L2 handover start, movement detected, CoA ready, BU
 *    sent, BA received, SAs ready, traffic resumed) and the payload the MN
 *    received in 10 ms bins, and writes summary.csv and timeline.csv.
 *  - Mip6IkeCbrSource sends fixed-size UDP packets at a constant interval
 *    (a rate-limited constant-bit-rate flow, the paper's "rate-limited ftp");
 *    each carries its sequence number and send time (ns-3's SeqTsHeader).
 *  - Mip6IkeCbrSink receives them and reports each one.
 *
 * Nothing here invents a figure: every field of a row comes from a trace
 * callback or a received packet; a field that nothing reported stays empty
 * in the CSV.
 */
#ifndef MIP6IKE_RESULTS_H
#define MIP6IKE_RESULTS_H

#include "ns3/application.h"
#include "ns3/data-rate.h"
#include "ns3/address.h"
#include "ns3/event-id.h"
#include "ns3/ipv6-address.h"
#include "ns3/nstime.h"
#include "ns3/ptr.h"
#include "ns3/socket.h"
#include "ns3/traced-callback.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

class Mip6IkeAgent;

/**
 * \ingroup mip6ike
 * \brief One handover's record: summary.csv's row.
 */
struct Mip6IkeHandoverRow
{
    uint32_t handover{0};         //!< 1, 2, ... (0 = the bootstrap, in the bootstrap example)
    Time l2{Time::Max()};         //!< L2 handover start
    Time movementDetected{Time::Max()}; //!< first movement detection after l2
    Time coaReady{Time::Max()};   //!< first CoA ready after l2
    Time buSent{Time::Max()};     //!< first BU sent after l2
    Time baReceived{Time::Max()}; //!< first accepted BA after l2
    Time saReady{Time::Max()};    //!< SAs usable at the new CoA
    Time trafficResumed{Time::Max()}; //!< first payload packet through the new path
    int64_t ikeMsgs{-1};          //!< IKE messages for this handover (-1 = unknown)
    int64_t ikeBytes{-1};         //!< IKE bytes for this handover (-1 = unknown)

    /** \return trafficResumed - l2, or Time::Max() if traffic did not resume. */
    Time Recovery() const;
};

/**
 * \ingroup mip6ike
 * \brief Collects the handover rows and the receive timeline; writes them.
 */
class Mip6IkeResults
{
  public:
    /** The exact header line of summary.csv (issue 4 §3). */
    static const char* SummaryHeader();
    /** The exact header line of timeline.csv. */
    static const char* TimelineHeader();

    /**
     * \param [in] scheme Scheme name for the rows.
     * \param [in] rateKbps Offered rate for the rows.
     * \param [in] seed The run number (RngRun) for the rows.
     * \param [in] bin Timeline bin width (10 ms in the contract).
     */
    Mip6IkeResults(std::string scheme, double rateKbps, uint64_t seed, Time bin = MilliSeconds(10));

    /** \brief A new handover starts now (opens a row). */
    void L2HandoverStart();
    /**
     * \brief Open the bootstrap row (handover 0, l2 = now): the bootstrap
     * example reports its exchange in the same shape.
     */
    void BootstrapStart();
    void MovementDetected(); //!< movement detection reported now
    void CoaReady();         //!< a CoA is usable now
    void BuSent();           //!< a BU left now
    /** \param [in] status The BA's status (only 0..127 = accepted counts). */
    void BaReceived(uint8_t status);
    void SaReady();          //!< the SAs for the new CoA are usable now
    /**
     * \brief A payload packet reached the MN's application now.
     *
     * It counts into the timeline; the first one that the CN sent at or
     * after the current handover's L2 start ends that handover's recovery:
     * after the L2 handover starts, the old path is gone (the MN's device
     * has left the old link), so such a packet can only have come through
     * the new one.
     *
     * \param [in] bytes Payload bytes.
     * \param [in] sentAt When the CN sent it.
     */
    void PayloadReceived(uint32_t bytes, Time sentAt);
    /**
     * \brief Set the IKE cost of a handover (from the agent's per-handover
     * record or from the wire).
     * \param [in] handover The row's handover number.
     * \param [in] msgs IKE messages.
     * \param [in] bytes IKE bytes.
     */
    void SetIke(uint32_t handover, uint64_t msgs, uint64_t bytes);

    /**
     * \brief Subscribe to a mobile node's trace sources: MovementDetected,
     * CoaReady, BuSent, BaReceived and SaReady fill the current row (the
     * first of each after the row's L2 start).  The L2 start itself is the
     * scenario's (L2HandoverStart() / BootstrapStart()): it knows when the
     * old link went away, which the agent learns only from the new one.
     * \param [in] mn The MN's agent.
     */
    void Connect(Ptr<Mip6IkeAgent> mn);
    /**
     * \brief Copy the IKE messages and bytes of each row's handover from
     * the agent's handover records (the record whose CoA became ready
     * first after the row's L2 start).
     * \param [in] mn The MN's agent.
     */
    void CollectIke(Ptr<Mip6IkeAgent> mn);

    /** \return the rows so far. */
    const std::vector<Mip6IkeHandoverRow>& GetRows() const;
    /** \return the current (last opened) handover number, 0 if none. */
    uint32_t GetCurrentHandover() const;
    /** \return payload bytes received so far. */
    uint64_t GetRxBytes() const;
    /** \return payload packets received so far. */
    uint64_t GetRxPackets() const;

    /**
     * \brief Write summary.csv.
     * \param [in] path The file.
     * \param [out] error Why not, when it returns false.
     * \return true on success.
     */
    bool WriteSummary(const std::string& path, std::string* error) const;
    /**
     * \brief Write timeline.csv: one line per bin from 0 to end.
     * \param [in] path The file.
     * \param [in] end The end of the run.
     * \param [out] error Why not, when it returns false.
     * \return true on success.
     */
    bool WriteTimeline(const std::string& path, Time end, std::string* error) const;

    /**
     * \param [in] t A time or Time::Max().
     * \return seconds with 6 decimals, or "" for Time::Max().
     */
    static std::string Seconds6(Time t);

  private:
    /** Trace adapters (Connect()); arguments as Mip6IkeAgent's sources. */
    void OnMovement(Ipv6Address prefix, Ipv6Address router);
    void OnCoa(Ipv6Address coa);                                          //!< CoaReady
    void OnBu(Ipv6Address hoa, Ipv6Address coa, uint16_t seq, int status); //!< BuSent
    void OnBa(Ipv6Address hoa, Ipv6Address coa, uint16_t seq, int status); //!< BaReceived
    void OnSa(Ipv6Address coa);                                           //!< SaReady

    /** \return the open row, or nullptr before the first handover. */
    Mip6IkeHandoverRow* Current();

    std::string m_scheme;                   //!< scheme name
    double m_rateKbps;                      //!< offered rate
    uint64_t m_seed;                        //!< run number
    Time m_bin;                             //!< bin width
    std::vector<Mip6IkeHandoverRow> m_rows; //!< the rows
    std::vector<uint64_t> m_bins;           //!< bytes per bin
    uint64_t m_rxBytes{0};                  //!< total payload bytes
    uint64_t m_rxPackets{0};                //!< total payload packets
};

/**
 * \ingroup mip6ike
 * \brief Constant-bit-rate UDP source: PacketSize-byte datagrams (a
 * SeqTsHeader first) every PacketSize*8/Rate seconds to Remote:Port.
 */
class Mip6IkeCbrSource : public Application
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();

    Mip6IkeCbrSource();

    /** \return packets sent so far. */
    uint64_t GetSent() const;

  private:
    void StartApplication() override;
    void StopApplication() override;
    /** Send one packet and schedule the next. */
    void Send();

    Ipv6Address m_remote;     //!< attribute Remote
    uint16_t m_port;          //!< attribute Port
    uint32_t m_size;          //!< attribute PacketSize
    DataRate m_rate;          //!< attribute Rate
    Ptr<Socket> m_socket;     //!< UDP socket
    EventId m_event;          //!< next send
    uint32_t m_seq{0};        //!< next sequence number
    uint64_t m_sent{0};       //!< packets sent
};

/**
 * \ingroup mip6ike
 * \brief Receives Mip6IkeCbrSource's datagrams on Port and reports each
 * (payload bytes, send time) through the "Rx" trace source.
 */
class Mip6IkeCbrSink : public Application
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();

    Mip6IkeCbrSink();

    /**
     * TracedCallback signature.
     * \param [in] bytes Payload bytes of the datagram.
     * \param [in] sentAt When the source sent it.
     */
    typedef void (*RxTracedCallback)(uint32_t bytes, Time sentAt);

  private:
    void StartApplication() override;
    void StopApplication() override;
    /**
     * Socket receive callback.
     * \param [in] socket The socket.
     */
    void HandleRead(Ptr<Socket> socket);

    uint16_t m_port;                        //!< attribute Port
    Ptr<Socket> m_socket;                   //!< UDP socket
    TracedCallback<uint32_t, Time> m_rx;    //!< every datagram
};

} // namespace ns3

#endif /* MIP6IKE_RESULTS_H */
