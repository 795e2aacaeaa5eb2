/*
 * mip6ike: the node's MSRD (Mobility Security Related Database, main
 * paper §III) as an ns-3 Object aggregated to the node, and the node's
 * PF_KEY bus (Mip6IkePfkeyBus, mip6ike-pfkey-bus.h).
 *
 * The database itself is the core agent's (m6ike_msrd, written only by
 * the mobility side, read by the key manager through the MPI of the
 * ACQUIRE's Reference extension).  Mip6IkeMsrd is its read side for ns-3
 * users: lookups by MPI, HoA and CoA, the entry count and the generation,
 * and a trace source fired on every change (the MSRD's own change
 * notification, m6ike_msrd_subscribe, on the key manager's reader).
 *
 * Mip6IkeAgent::Install() creates it and aggregates it to the node:
 *   node->GetObject<Mip6IkeMsrd>()
 *   Config::Connect("/NodeList/<i>/$ns3::Mip6IkeMsrd/Changed", ...)
 */
#ifndef MIP6IKE_MSRD_H
#define MIP6IKE_MSRD_H

#include "ns3/ipv6-address.h"
#include "ns3/object.h"
#include "ns3/traced-callback.h"

#include <m6ike/agent.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ns3
{

/**
 * \ingroup mip6ike
 * \brief The node's MSRD, read-only (see mip6ike-msrd.h).
 */
class Mip6IkeMsrd : public Object
{
  public:
    /**
     * TracedCallback signature: an MSRD entry changed.
     * \param [in] mpi The entry's MPI.
     * \param [in] hoa Its home address.
     * \param [in] coa Its care-of address now (:: when none).
     * \param [in] what "INSERTED", "UPDATED" or "REMOVED", a space, and the
     *             entry's state ("REGISTERING", "REGISTERED", "HOME", ...).
     */
    typedef void (*ChangedTracedCallback)(uint32_t mpi,
                                          Ipv6Address hoa,
                                          Ipv6Address coa,
                                          const std::string& what);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();
    Mip6IkeMsrd();
    ~Mip6IkeMsrd() override;

    /**
     * \brief Attach to a core agent's MSRD (Mip6IkeAgent::Install does).
     * \param agent the core agent (null: detach)
     */
    void Attach(m6ike_agent* agent);

    /**
     * \param mpi an MPI
     * \param [out] out the entry
     * \return true if found
     */
    bool LookupMpi(uint32_t mpi, m6ike_msrd_entry& out) const;
    /**
     * \param hoa a home address
     * \param [out] out the entry
     * \return true if found
     */
    bool LookupHoa(Ipv6Address hoa, m6ike_msrd_entry& out) const;
    /**
     * \param coa a care-of address
     * \return every entry with it (CoAs are not unique)
     */
    std::vector<m6ike_msrd_entry> LookupCoa(Ipv6Address coa) const;
    /** \return the number of live entries */
    uint32_t GetN() const;
    /** \return the generation (changes applied since creation) */
    uint64_t GetGeneration() const;
    /** \return every live entry, in slot order */
    std::vector<m6ike_msrd_entry> GetEntries() const;

  protected:
    void DoDispose() override;

  private:
    /**
     * The MSRD's change notification.
     * \param e entry \param event kind \param generation after it \param user this
     */
    static void Notify(const m6ike_msrd_entry* e,
                       m6ike_msrd_event event,
                       uint64_t generation,
                       void* user);

    m6ike_msrd_reader* m_reader; //!< the key manager's reader (not owned)
    uint64_t m_subscription;     //!< subscription id
    bool m_subscribed;           //!< subscribed
    TracedCallback<uint32_t, Ipv6Address, Ipv6Address, const std::string&> m_changedTrace; //!< Changed
};

} // namespace ns3

#endif /* MIP6IKE_MSRD_H */
