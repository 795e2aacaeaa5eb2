/*
 * mip6ike: the node's MSRD as an ns-3 Object (see mip6ike-msrd.h).
 */
#include "mip6ike-msrd.h"

#include "mip6ike-core-adapter.h"

#include "ns3/abort.h"
#include "ns3/log.h"

#include <algorithm>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeMsrd");

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeMsrd);

TypeId
Mip6IkeMsrd::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeMsrd")
            .SetParent<Object>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeMsrd>()
            .AddTraceSource("Changed",
                            "An MSRD entry was inserted, updated or removed (MPI, HoA, the "
                            "CoA now, \"<event> <state>\").",
                            MakeTraceSourceAccessor(&Mip6IkeMsrd::m_changedTrace),
                            "ns3::Mip6IkeMsrd::ChangedTracedCallback");
    return tid;
}

Mip6IkeMsrd::Mip6IkeMsrd()
    : m_reader(nullptr),
      m_subscription(0),
      m_subscribed(false)
{
}

Mip6IkeMsrd::~Mip6IkeMsrd()
{
}

void
Mip6IkeMsrd::Attach(m6ike_agent* agent)
{
    if (m_reader && m_subscribed)
    {
        (void)m6ike_msrd_unsubscribe(m_reader, m_subscription);
    }
    m_subscribed = false;
    m_reader = agent ? m6ike_agent_msrd_reader(agent) : nullptr;
    if (m_reader)
    {
        const int rc = m6ike_msrd_subscribe(m_reader, &Mip6IkeMsrd::Notify, this, &m_subscription);
        NS_ABORT_MSG_IF(rc != 0, "Mip6IkeMsrd: cannot subscribe: " << m6ike_strerror(rc));
        m_subscribed = true;
    }
}

void
Mip6IkeMsrd::Notify(const m6ike_msrd_entry* e,
                    m6ike_msrd_event event,
                    uint64_t /* generation */,
                    void* user)
{
    auto self = static_cast<Mip6IkeMsrd*>(user);
    const char* ev = event == M6IKE_MSRD_EVENT_INSERTED  ? "INSERTED"
                     : event == M6IKE_MSRD_EVENT_UPDATED ? "UPDATED"
                                                         : "REMOVED";
    self->m_changedTrace(e->mpi,
                         Mip6IkeAddressFromCore(e->hoa),
                         Mip6IkeAddressFromCore(e->coa),
                         std::string(ev) + " " + m6ike_msrd_state_name(e->state));
}

bool
Mip6IkeMsrd::LookupMpi(uint32_t mpi, m6ike_msrd_entry& out) const
{
    return m_reader && m6ike_msrd_lookup_mpi(m_reader, mpi, &out, nullptr) == 0;
}

bool
Mip6IkeMsrd::LookupHoa(Ipv6Address hoa, m6ike_msrd_entry& out) const
{
    const m6ike_addr6 a = Mip6IkeAddressToCore(hoa);
    return m_reader && m6ike_msrd_lookup_hoa(m_reader, &a, &out, nullptr) == 0;
}

std::vector<m6ike_msrd_entry>
Mip6IkeMsrd::LookupCoa(Ipv6Address coa) const
{
    std::vector<m6ike_msrd_entry> out;
    if (!m_reader)
    {
        return out;
    }
    const m6ike_addr6 a = Mip6IkeAddressToCore(coa);
    size_t found = 0;
    if (m6ike_msrd_lookup_coa(m_reader, &a, nullptr, 0, &found, nullptr) != 0 || found == 0)
    {
        return out;
    }
    out.resize(found);
    size_t again = 0;
    (void)m6ike_msrd_lookup_coa(m_reader, &a, out.data(), out.size(), &again, nullptr);
    out.resize(std::min(found, again));
    return out;
}

uint32_t
Mip6IkeMsrd::GetN() const
{
    return m_reader ? uint32_t(m6ike_msrd_count(m_reader)) : 0;
}

uint64_t
Mip6IkeMsrd::GetGeneration() const
{
    return m_reader ? m6ike_msrd_generation(m_reader) : 0;
}

std::vector<m6ike_msrd_entry>
Mip6IkeMsrd::GetEntries() const
{
    std::vector<m6ike_msrd_entry> out;
    if (m_reader)
    {
        (void)m6ike_msrd_foreach(
            m_reader,
            [](const m6ike_msrd_entry* e, void* user) -> int {
                static_cast<std::vector<m6ike_msrd_entry>*>(user)->push_back(*e);
                return 0;
            },
            &out,
            nullptr);
    }
    return out;
}

void
Mip6IkeMsrd::DoDispose()
{
    Attach(nullptr);
    Object::DoDispose();
}

} // namespace ns3
