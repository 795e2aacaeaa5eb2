/*
 * mip6ike: the node's PF_KEY bus as an ns-3 Object (see mip6ike-pfkey-bus.h).
 */
#include "mip6ike-pfkey-bus.h"

#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"

#include <m6ike/pfkey.h>

#include <cstring>
#include <sstream>

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkePfkeyBus");

NS_OBJECT_ENSURE_REGISTERED(Mip6IkePfkeyBus);

TypeId
Mip6IkePfkeyBus::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkePfkeyBus")
            .SetParent<Object>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkePfkeyBus>()
            .AddTraceSource("Message",
                            "A PF_KEY message on the node's bus (from, to, sadb_msg_type, "
                            "the message's octets), as a promiscuous PF_KEY socket sees it.",
                            MakeTraceSourceAccessor(&Mip6IkePfkeyBus::m_messageTrace),
                            "ns3::Mip6IkePfkeyBus::MessageTracedCallback");
    return tid;
}

Mip6IkePfkeyBus::Mip6IkePfkeyBus()
    : m_bus(nullptr),
      m_km(0),
      m_mob(0),
      m_count(0),
      m_log(nullptr)
{
    std::memset(m_byType, 0, sizeof(m_byType));
}

Mip6IkePfkeyBus::~Mip6IkePfkeyBus()
{
}

void
Mip6IkePfkeyBus::Attach(m6ike_agent* agent)
{
    if (m_bus)
    {
        m6ike_pfkey_bus_set_monitor(m_bus, nullptr, nullptr);
    }
    m_bus = agent ? m6ike_agent_pfkey_bus(agent) : nullptr;
    m_km = 0;
    m_mob = 0;
    if (m_bus)
    {
        m6ike_agent_pfkey_endpoints(agent, &m_km, &m_mob);
        m6ike_pfkey_bus_set_monitor(m_bus, &Mip6IkePfkeyBus::Monitor, this);
    }
}

m6ike_pfkey_bus_stats
Mip6IkePfkeyBus::GetStats() const
{
    m6ike_pfkey_bus_stats st;
    std::memset(&st, 0, sizeof(st));
    if (m_bus)
    {
        m6ike_pfkey_bus_get_stats(m_bus, &st);
    }
    return st;
}

uint64_t
Mip6IkePfkeyBus::GetMessages() const
{
    return m_count;
}

uint64_t
Mip6IkePfkeyBus::GetMessages(uint8_t type) const
{
    return m_byType[type];
}

void
Mip6IkePfkeyBus::EnableLog(Ptr<OutputStreamWrapper> os)
{
    m_log = os;
}

std::string
Mip6IkePfkeyBus::RoleName(m6ike_pfkey_ep ep) const
{
    if (ep == 0)
    {
        return "kernel";
    }
    if (ep == m_km)
    {
        return "key-manager";
    }
    if (ep == m_mob)
    {
        return "mobility";
    }
    return "ep" + std::to_string(ep);
}

bool
Mip6IkePfkeyBus::GetReference(const uint8_t* msg, size_t len, uint32_t& mpi)
{
    m6ike_pfkey_msg m;
    if (m6ike_pfkey_decode(&m, msg, len, M6IKE_PFKEY_DEC_LENIENT) < 0)
    {
        return false;
    }
    m6ike_pfkey_reference ref;
    if (m6ike_pfkey_get_reference(&m, &ref) != 0)
    {
        return false;
    }
    mpi = ref.mpi;
    return true;
}

void
Mip6IkePfkeyBus::Monitor(m6ike_pfkey_ep from,
                         m6ike_pfkey_ep to,
                         const uint8_t* msg,
                         size_t len,
                         void* user)
{
    auto self = static_cast<Mip6IkePfkeyBus*>(user);
    const uint8_t type = len >= 2 ? msg[1] : 0;
    self->m_count++;
    self->m_byType[type]++;
    const std::string f = self->RoleName(from);
    const std::string t = self->RoleName(to);
    if (self->m_log)
    {
        std::ostringstream line;
        Ptr<Node> node = self->GetObject<Node>();
        line << Simulator::Now().GetSeconds() << " node" << (node ? node->GetId() : 0) << " " << f
             << " -> " << t << " SADB_" << m6ike_pfkey_msg_type_name(type);
        if (len >= 16)
        {
            const uint8_t errnum = msg[2];
            uint32_t seq = 0; // sadb_msg_seq, host order
            std::memcpy(&seq, msg + 8, sizeof(seq));
            line << " satype " << m6ike_pfkey_satype_name(msg[3]) << " seq " << seq;
            if (errnum)
            {
                line << " errno " << +errnum;
            }
        }
        uint32_t mpi = 0;
        if (GetReference(msg, len, mpi))
        {
            line << " reference mpi " << mpi;
        }
        line << " len " << len << "\n";
        (*self->m_log->GetStream()) << line.str();
    }
    if (!self->m_messageTrace.IsEmpty())
    {
        self->m_messageTrace(f, t, type, Create<Packet>(msg, uint32_t(len)));
    }
}

void
Mip6IkePfkeyBus::DoDispose()
{
    Attach(nullptr);
    m_log = nullptr;
    Object::DoDispose();
}

} // namespace ns3
