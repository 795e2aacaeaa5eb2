/*
 * mip6ike: the node's PF_KEY bus (RFC 2367 plus the main paper's Reference
 * extension) as an ns-3 Object aggregated to the node.
 *
 * The bus is the core agent's (m6ike_pfkey_bus): the mobility side's
 * MOBILITY endpoint (ACQUIRE with the Reference, X_MIGRATE, its tunnel
 * policies), the key manager's KEY_MANAGER endpoint (REGISTER, GETSPI,
 * ADD/UPDATE, ...) and the kernel side (the IPsec SPD/SAD, kernel
 * ACQUIREs, replies).  Mip6IkePfkeyBus shows it to ns-3 users: the bus's
 * counters and a trace source with every message, as a PF_KEY socket in
 * promiscuous mode would see it (the bus's monitor callback,
 * m6ike_pfkey_bus_set_monitor): sender, recipient, sadb_msg type and the
 * raw octets.  A message sent to the kernel side is traced once ("mobility"
 * or "key-manager" -> "kernel", refused ones included); each copy the
 * kernel side queues to an endpoint (replies, broadcasts, error replies)
 * once more ("kernel" -> the endpoint's role).
 *
 * Mip6IkeAgent::Install() creates it and aggregates it to the node:
 *   node->GetObject<Mip6IkePfkeyBus>()
 *   Config::Connect("/NodeList/<i>/$ns3::Mip6IkePfkeyBus/Message", ...)
 * With a log stream (EnableLog, Mip6IkeHelper::EnablePfkeyLog) it writes
 * one text line per message.
 */
#ifndef MIP6IKE_PFKEY_BUS_H
#define MIP6IKE_PFKEY_BUS_H

#include "ns3/object.h"
#include "ns3/output-stream-wrapper.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <m6ike/agent.h>

#include <cstdint>
#include <ostream>
#include <string>

namespace ns3
{

class Packet;

/**
 * \ingroup mip6ike
 * \brief The node's PF_KEY bus (see mip6ike-pfkey-bus.h).
 */
class Mip6IkePfkeyBus : public Object
{
  public:
    /**
     * TracedCallback signature: one PF_KEY message.
     * \param [in] from "mobility", "key-manager" or "kernel".
     * \param [in] to "kernel", "mobility" or "key-manager".
     * \param [in] type The sadb_msg_type (e.g. 6 = SADB_ACQUIRE).
     * \param [in] message The whole message (sadb_msg header first).
     */
    typedef void (*MessageTracedCallback)(const std::string& from,
                                          const std::string& to,
                                          uint8_t type,
                                          Ptr<const Packet> message);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkePfkeyBus();
    ~Mip6IkePfkeyBus() override;

    /**
     * \brief Attach to a core agent's bus (Mip6IkeAgent::Install does).
     * \param agent the core agent (null: detach)
     */
    void Attach(m6ike_agent* agent);

    /** \return the bus's counters (zeros when detached) */
    m6ike_pfkey_bus_stats GetStats() const;
    /** \return messages traced so far */
    uint64_t GetMessages() const;
    /** \param type a sadb_msg_type \return messages of that type traced so far */
    uint64_t GetMessages(uint8_t type) const;

    /**
     * \brief Write one line per message to os: time, node, from -> to,
     * type name, satype, seq, length, MPI of a Reference extension.
     * \param os the stream (kept alive; null: off)
     */
    void EnableLog(Ptr<OutputStreamWrapper> os);

    /**
     * \param msg a PF_KEY message \param len its length
     * \param [out] mpi the Reference extension's MPI
     * \return true if it decodes and carries a Reference extension
     */
    static bool GetReference(const uint8_t* msg, size_t len, uint32_t& mpi);

  protected:
    void DoDispose() override;

  private:
    /** The bus's monitor. \param from sender \param to recipient \param msg octets \param len length \param user this */
    static void Monitor(m6ike_pfkey_ep from,
                        m6ike_pfkey_ep to,
                        const uint8_t* msg,
                        size_t len,
                        void* user);
    /** \param ep an endpoint (0 = kernel) \return its role name */
    std::string RoleName(m6ike_pfkey_ep ep) const;

    m6ike_pfkey_bus* m_bus;   //!< the core's bus (not owned)
    m6ike_pfkey_ep m_km;      //!< KEY_MANAGER endpoint
    m6ike_pfkey_ep m_mob;     //!< MOBILITY endpoint
    uint64_t m_count;         //!< messages traced
    uint64_t m_byType[256];   //!< per sadb_msg_type
    Ptr<OutputStreamWrapper> m_log; //!< EnableLog stream
    TracedCallback<const std::string&, const std::string&, uint8_t, Ptr<const Packet>>
        m_messageTrace; //!< Message
};

} // namespace ns3

#endif /* MIP6IKE_PFKEY_BUS_H */
