/*
 * mip6ike: the adapter between ns-3 and the sans-I/O C core.
 * See mip6ike-core-adapter.h.
 */
#include "mip6ike-core-adapter.h"

#include "ns3/abort.h"
#include "ns3/log.h"
#include "ns3/random-variable-stream.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

namespace ns3
{

NS_LOG_COMPONENT_DEFINE("Mip6IkeCoreAdapter");

/* ---------------------------------------------------------------------- */
/* Conversions                                                             */
/* ---------------------------------------------------------------------- */

m6ike_tstamp
Mip6IkeTimeToTstamp(Time t)
{
    if (t == Time::Max())
    {
        return M6IKE_TSTAMP_UNSET;
    }
    if (t.IsStrictlyNegative())
    {
        return 0;
    }
    return static_cast<m6ike_tstamp>(t.GetNanoSeconds());
}

Time
Mip6IkeTstampToTime(m6ike_tstamp ts)
{
    if (ts == M6IKE_TSTAMP_UNSET)
    {
        return Time::Max();
    }
    // The largest number of nanoseconds ns-3 can hold at the current
    // resolution: INT64_MAX at the default (ns), less with a finer one.
    const int64_t maxNs = Time::Max().GetNanoSeconds();
    if (ts >= static_cast<uint64_t>(maxNs))
    {
        return Time::Max();
    }
    return NanoSeconds(static_cast<int64_t>(ts));
}

m6ike_tstamp
Mip6IkeCoreNow()
{
    return Mip6IkeTimeToTstamp(Simulator::Now());
}

m6ike_addr6
Mip6IkeAddressToCore(const Ipv6Address& address)
{
    m6ike_addr6 a;
    address.Serialize(a.b);
    return a;
}

Ipv6Address
Mip6IkeAddressFromCore(const m6ike_addr6& address)
{
    return Ipv6Address::Deserialize(address.b);
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeCoreTimer                                                        */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeCoreTimer);

TypeId
Mip6IkeCoreTimer::GetTypeId()
{
    static TypeId tid =
        TypeId("ns3::Mip6IkeCoreTimer")
            .SetParent<Object>()
            .SetGroupName("Mip6Ike")
            .AddConstructor<Mip6IkeCoreTimer>()
            .AddAttribute("MaxExpiriesPerInstant",
                          "How many consecutive core expiries may run at one simulation "
                          "time before the timer declares the core stuck (its expiry does "
                          "not advance) and stops the simulation.",
                          UintegerValue(10000),
                          MakeUintegerAccessor(&Mip6IkeCoreTimer::m_maxPerInstant),
                          MakeUintegerChecker<uint32_t>(1))
            .AddTraceSource("Expire",
                            "The core's handle_expiry() was called: simulation time and "
                            "its return value (0 or a negative core error code).",
                            MakeTraceSourceAccessor(&Mip6IkeCoreTimer::m_expireTrace),
                            "ns3::Mip6IkeCoreTimer::ExpireTracedCallback");
    return tid;
}

Mip6IkeCoreTimer::Mip6IkeCoreTimer()
    : m_scheduled(M6IKE_TSTAMP_UNSET),
      m_expiries(0),
      m_maxPerInstant(10000),
      m_sameInstant(0),
      m_lastInstant(Seconds(0))
{
    NS_LOG_FUNCTION(this);
}

Mip6IkeCoreTimer::~Mip6IkeCoreTimer()
{
    NS_LOG_FUNCTION(this);
}

void
Mip6IkeCoreTimer::SetCallbacks(ExpiryGetter getExpiry, ExpiryHandler handleExpiry)
{
    NS_LOG_FUNCTION(this);
    m_getExpiry = getExpiry;
    m_handleExpiry = handleExpiry;
}

void
Mip6IkeCoreTimer::Update()
{
    NS_LOG_FUNCTION(this);
    if (m_getExpiry.IsNull() || m_handleExpiry.IsNull())
    {
        Cancel();
        return;
    }
    const m6ike_tstamp expiry = m_getExpiry();
    if (expiry == M6IKE_TSTAMP_UNSET)
    {
        NS_LOG_LOGIC("core expiry unset: no event");
        Cancel();
        return;
    }
    const Time when = Mip6IkeTstampToTime(expiry);
    if (when == Time::Max())
    {
        NS_LOG_WARN("core expiry " << expiry << " ns is beyond ns-3's time range: no event");
        Cancel();
        return;
    }
    if (m_event.IsRunning() && m_scheduled == expiry)
    {
        return; // unchanged: keep the pending event
    }
    Cancel();
    const Time now = Simulator::Now();
    const Time delay = when > now ? when - now : Time(0);
    NS_LOG_LOGIC("core expiry at " << when.As(Time::S) << ": event in " << delay.As(Time::S));
    m_event = Simulator::Schedule(delay, &Mip6IkeCoreTimer::Expire, this);
    m_scheduled = expiry;
}

void
Mip6IkeCoreTimer::Cancel()
{
    NS_LOG_FUNCTION(this);
    // Remove rather than Cancel: a cancelled event stays in the scheduler
    // until its time (and still advances the clock to it); a model that
    // reschedules often, for thousands of core objects, would fill the
    // queue with dead events.  Remove costs O(log n), as Schedule does.
    if (m_event.IsRunning())
    {
        Simulator::Remove(m_event);
    }
    m_event = EventId();
    m_scheduled = M6IKE_TSTAMP_UNSET;
}

bool
Mip6IkeCoreTimer::IsScheduled() const
{
    return m_event.IsRunning();
}

m6ike_tstamp
Mip6IkeCoreTimer::GetScheduledExpiry() const
{
    return m_event.IsRunning() ? m_scheduled : M6IKE_TSTAMP_UNSET;
}

uint64_t
Mip6IkeCoreTimer::GetExpiryCount() const
{
    return m_expiries;
}

void
Mip6IkeCoreTimer::Expire()
{
    NS_LOG_FUNCTION(this);
    // The handler may drop its owner's last reference to this timer.
    Ptr<Mip6IkeCoreTimer> self(this);
    m_scheduled = M6IKE_TSTAMP_UNSET;
    if (m_handleExpiry.IsNull())
    {
        return;
    }
    const Time now = Simulator::Now();
    if (m_expiries > 0 && now == m_lastInstant)
    {
        ++m_sameInstant;
        NS_ABORT_MSG_IF(m_sameInstant > m_maxPerInstant,
                        "Mip6IkeCoreTimer: the core's expiry did not advance after "
                            << m_maxPerInstant << " consecutive handle_expiry() calls at "
                            << now.As(Time::S) << " (attribute MaxExpiriesPerInstant)");
    }
    else
    {
        m_lastInstant = now;
        m_sameInstant = 1;
    }
    const int result = m_handleExpiry(Mip6IkeTimeToTstamp(now));
    ++m_expiries;
    if (result < 0)
    {
        NS_LOG_WARN("core handle_expiry() at " << now.As(Time::S) << " returned " << result
                                               << ": " << m6ike_strerror(result));
    }
    m_expireTrace(now, result);
    Update();
}

void
Mip6IkeCoreTimer::DoDispose()
{
    NS_LOG_FUNCTION(this);
    Cancel();
    m_getExpiry.Nullify();
    m_handleExpiry.Nullify();
    Object::DoDispose();
}

/* ---------------------------------------------------------------------- */
/* Mip6IkeRandom                                                           */
/* ---------------------------------------------------------------------- */

NS_OBJECT_ENSURE_REGISTERED(Mip6IkeRandom);

TypeId
Mip6IkeRandom::GetTypeId()
{
    static TypeId tid = TypeId("ns3::Mip6IkeRandom")
                            .SetParent<Object>()
                            .SetGroupName("Mip6Ike")
                            .AddConstructor<Mip6IkeRandom>();
    return tid;
}

Mip6IkeRandom::Mip6IkeRandom()
    : m_rng(CreateObject<UniformRandomVariable>()),
      m_bytes(0)
{
    NS_LOG_FUNCTION(this);
}

Mip6IkeRandom::~Mip6IkeRandom()
{
    NS_LOG_FUNCTION(this);
}

void
Mip6IkeRandom::Fill(uint8_t* dest, size_t len)
{
    NS_LOG_FUNCTION(this << len);
    NS_ASSERT_MSG(m_rng, "Mip6IkeRandom used after Dispose()");
    NS_ASSERT(dest != nullptr || len == 0);
    // Two bytes per draw: GetInteger(0, 0xffff) is exact (the stream's
    // doubles carry far more than 16 bits), and it halves the draws.
    size_t i = 0;
    while (len - i >= 2)
    {
        const uint32_t v = m_rng->GetInteger(0, 0xffff);
        dest[i++] = static_cast<uint8_t>(v >> 8);
        dest[i++] = static_cast<uint8_t>(v);
    }
    if (i < len)
    {
        dest[i] = static_cast<uint8_t>(m_rng->GetInteger(0, 0xff));
    }
    m_bytes += len;
}

int
Mip6IkeRandom::RandCallback(uint8_t* dest, size_t len, void* userData)
{
    auto self = static_cast<Mip6IkeRandom*>(userData);
    if (self == nullptr || (dest == nullptr && len > 0) || !self->m_rng)
    {
        NS_LOG_WARN("random request refused: user_data=" << userData << " dest="
                                                          << static_cast<void*>(dest)
                                                          << " len=" << len);
        return 1;
    }
    self->Fill(dest, len);
    return 0;
}

m6ike_rand_cb
Mip6IkeRandom::GetCallback() const
{
    return &Mip6IkeRandom::RandCallback;
}

void*
Mip6IkeRandom::GetUserData()
{
    return this;
}

int64_t
Mip6IkeRandom::AssignStreams(int64_t stream)
{
    NS_LOG_FUNCTION(this << stream);
    NS_ASSERT_MSG(m_rng, "Mip6IkeRandom used after Dispose()");
    m_rng->SetStream(stream);
    return 1;
}

uint64_t
Mip6IkeRandom::GetBytesDrawn() const
{
    return m_bytes;
}

void
Mip6IkeRandom::DoDispose()
{
    NS_LOG_FUNCTION(this);
    m_rng = nullptr;
    Object::DoDispose();
}

} // namespace ns3
