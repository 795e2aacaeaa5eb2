/*
 * mip6ike: the adapter between ns-3 and the sans-I/O C core.
 *
 * Every ns-3 model of this module drives one or more C core objects.  The
 * core never reads a clock and never draws randomness by itself: the host
 * hands it the current time as an m6ike_tstamp, asks it when it next wants
 * to run (its "expiry"), calls it back at that time, and answers its random
 * requests through an m6ike_rand_cb.  This file provides the three pieces
 * every model needs for that:
 *
 *  - conversions between ns3::Time and m6ike_tstamp, and between
 *    ns3::Ipv6Address and m6ike_addr6;
 *  - Mip6IkeCoreTimer, which keeps exactly one ns-3 event scheduled at the
 *    core's next expiry;
 *  - Mip6IkeRandom, which answers the core's random requests from an ns-3
 *    random variable stream, so that --RngRun changes a run reproducibly.
 *
 * The pattern follows src/click (time handed in before each call,
 * randomness from an ns-3 stream), except that the C side finds its C++
 * object through the callback's user_data pointer rather than through a
 * static map: nothing here is process-wide.
 */
#ifndef MIP6IKE_CORE_ADAPTER_H
#define MIP6IKE_CORE_ADAPTER_H

#include "ns3/callback.h"
#include "ns3/event-id.h"
#include "ns3/ipv6-address.h"
#include "ns3/nstime.h"
#include "ns3/object.h"
#include "ns3/ptr.h"
#include "ns3/traced-callback.h"

#include <m6ike/common.h>

#include <cstddef>
#include <cstdint>

namespace ns3
{

class UniformRandomVariable;

/**
 * \defgroup mip6ike Mobile IPv6 + IPsec/IKEv2 (mip6ike)
 *
 * ns-3 models of Mobile IPv6 (RFC 6275) working together with IPsec and
 * IKEv2, built on the mip6ike sans-I/O C core.
 */

/**
 * \ingroup mip6ike
 * \brief Convert an ns-3 time to a core timestamp.
 *
 * The core's epoch is ns-3 simulation time zero, and a core timestamp counts
 * nanoseconds (whatever Time resolution is in use).  The mapping is:
 *
 *  - Time::Max() ("never") gives M6IKE_TSTAMP_UNSET;
 *  - a negative time (the simulator clock never is, but a caller's
 *    arithmetic might be) is clamped to 0;
 *  - any other time t gives t.GetNanoSeconds(); with a resolution finer
 *    than nanoseconds the sub-nanosecond part is truncated.
 *
 * No overflow is possible: a non-negative int64_t always fits a uint64_t.
 *
 * \param [in] t The ns-3 time.
 * \return The core timestamp.
 */
m6ike_tstamp Mip6IkeTimeToTstamp(Time t);

/**
 * \ingroup mip6ike
 * \brief Convert a core timestamp to an ns-3 time.
 *
 * Inverse of Mip6IkeTimeToTstamp() on [0, Time::Max()) and on "never":
 *
 *  - M6IKE_TSTAMP_UNSET gives Time::Max();
 *  - a timestamp that ns-3 cannot represent (at or above Time::Max(),
 *    i.e. 2^63-1 ns, about 292 years, at the default nanosecond
 *    resolution, or less with a finer resolution) saturates to
 *    Time::Max(), i.e. "never";
 *  - any other timestamp ts gives NanoSeconds(ts), exact at the default
 *    resolution (converted by ns-3's Time if another resolution is set).
 *
 * \param [in] ts The core timestamp.
 * \return The ns-3 time.
 */
Time Mip6IkeTstampToTime(m6ike_tstamp ts);

/**
 * \ingroup mip6ike
 * \brief The current simulation time as a core timestamp: what every call
 * into the core is given as "now".
 * \return Mip6IkeTimeToTstamp(Simulator::Now()).
 */
m6ike_tstamp Mip6IkeCoreNow();

/**
 * \ingroup mip6ike
 * \brief Convert an ns-3 IPv6 address to the core's representation.
 *
 * Both hold the 16 octets in network byte order; the conversion is exact.
 *
 * \param [in] address The ns-3 address.
 * \return The core address.
 */
m6ike_addr6 Mip6IkeAddressToCore(const Ipv6Address& address);

/**
 * \ingroup mip6ike
 * \brief Convert a core IPv6 address to an ns-3 address (exact).
 * \param [in] address The core address.
 * \return The ns-3 address.
 */
Ipv6Address Mip6IkeAddressFromCore(const m6ike_addr6& address);

/**
 * \ingroup mip6ike
 * \brief Keeps one ns-3 event scheduled at a core object's next expiry.
 *
 * A core object (binding update list, IKE SA, ...) says when it next wants
 * to run through a get_expiry() function and does its timed work in a
 * handle_expiry(now) function.  The owner of the core object gives this
 * timer two callbacks wrapping them and calls Update() after every call
 * into the core (a packet received, a configuration change, ...).  The
 * timer then keeps exactly one event pending:
 *
 *  - at the expiry, if it is in the future;
 *  - now (as a new event, never re-entrantly), if the expiry has passed;
 *  - none, if the expiry is M6IKE_TSTAMP_UNSET or cannot be represented as
 *    an ns-3 time.
 *
 * When the event runs, the timer calls handle_expiry(now) with the current
 * simulation time as a core timestamp and then reschedules itself from
 * get_expiry().  With the default nanosecond Time resolution the event runs
 * at exactly the core's expiry.
 *
 * An expiry that does not advance after handle_expiry() would make the
 * simulation spin at one instant; after MaxExpiriesPerInstant consecutive
 * expiries at the same simulation time the timer stops the simulation with
 * NS_FATAL_ERROR naming the problem.
 */
class Mip6IkeCoreTimer : public Object
{
  public:
    /**
     * Returns the core object's next expiry (get_expiry()), or
     * M6IKE_TSTAMP_UNSET if it has nothing timed to do.
     */
    typedef Callback<m6ike_tstamp> ExpiryGetter;
    /**
     * Does the core object's timed work at time "now" (handle_expiry(now));
     * returns 0 or a negative core error code.
     */
    typedef Callback<int, m6ike_tstamp> ExpiryHandler;

    /**
     * TracedCallback signature for an expiry.
     * \param [in] now The simulation time at which the core was called.
     * \param [in] result The value handle_expiry() returned.
     */
    typedef void (*ExpireTracedCallback)(Time now, int result);

    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();

    Mip6IkeCoreTimer();
    ~Mip6IkeCoreTimer() override;

    /**
     * \brief Set the two callbacks into the core object.
     *
     * Does not schedule anything: call Update() when the core object is
     * ready.
     *
     * \param [in] getExpiry Wraps the core's get_expiry().
     * \param [in] handleExpiry Wraps the core's handle_expiry(now).
     */
    void SetCallbacks(ExpiryGetter getExpiry, ExpiryHandler handleExpiry);

    /**
     * \brief Re-read the core's expiry and (re)schedule the one event.
     *
     * Call after every call into the core.  Cheap when the expiry has not
     * changed (the pending event is kept).  Without callbacks, cancels.
     */
    void Update();

    /**
     * \brief Remove the pending event, if any, from the scheduler (it is
     * removed, not merely cancelled, so that no dead event stays queued);
     * Update() re-arms.
     */
    void Cancel();

    /** \return true if an event is pending. */
    bool IsScheduled() const;

    /**
     * \return the core expiry the pending event is for, or
     *         M6IKE_TSTAMP_UNSET if none is pending.  When the expiry had
     *         already passed at Update(), this is that past expiry; the
     *         event itself runs at the time of the Update().
     */
    m6ike_tstamp GetScheduledExpiry() const;

    /** \return the number of times handle_expiry() was called. */
    uint64_t GetExpiryCount() const;

  protected:
    void DoDispose() override;

  private:
    /** The event: call handle_expiry(now), then Update(). */
    void Expire();

    ExpiryGetter m_getExpiry;     //!< wraps the core's get_expiry()
    ExpiryHandler m_handleExpiry; //!< wraps the core's handle_expiry(now)
    EventId m_event;              //!< the one pending event
    m6ike_tstamp m_scheduled;     //!< expiry m_event is for, or UNSET
    uint64_t m_expiries;          //!< handle_expiry() calls so far
    uint32_t m_maxPerInstant;     //!< attribute MaxExpiriesPerInstant
    uint32_t m_sameInstant;       //!< consecutive expiries at m_lastInstant
    Time m_lastInstant;           //!< time of the last expiry

    /** Fired after each handle_expiry() call. */
    TracedCallback<Time, int> m_expireTrace;
};

/**
 * \ingroup mip6ike
 * \brief Answers the C core's random requests from an ns-3 stream.
 *
 * Hand GetCallback() and GetUserData() to the core wherever it takes an
 * m6ike_rand_cb and its user_data; the core then draws every random byte
 * (nonces, SPIs, IKE SPIs, cookies, jitter) from this object's
 * UniformRandomVariable.  Assign its stream with AssignStreams() so that a
 * run is reproducible for a given RngSeed/RngRun and differs across runs.
 *
 * The object must outlive every core object that holds its callback.
 */
class Mip6IkeRandom : public Object
{
  public:
    /**
     * \brief Get the type ID.
     * \return the object TypeId
     */
    static TypeId GetTypeId();

    Mip6IkeRandom();
    ~Mip6IkeRandom() override;

    /**
     * \brief Fill a buffer with random bytes from the stream.
     * \param [out] dest The buffer.
     * \param [in] len Its length in bytes (0 is allowed).
     */
    void Fill(uint8_t* dest, size_t len);

    /**
     * \brief The C callback to give the core, with GetUserData().
     *
     * Signature of m6ike_rand_cb.  user_data must be a Mip6IkeRandom*.
     * Returns 0 on success, non-zero (the core reports M6IKE_ERR_RANDOM) if
     * user_data is NULL, dest is NULL with len > 0, or the object has been
     * disposed.
     *
     * \param [out] dest The buffer.
     * \param [in] len Its length.
     * \param [in] userData The Mip6IkeRandom.
     * \return 0 or non-zero on failure.
     */
    static int RandCallback(uint8_t* dest, size_t len, void* userData);

    /** \return &RandCallback, as an m6ike_rand_cb. */
    m6ike_rand_cb GetCallback() const;

    /** \return the user_data to pass with GetCallback(): this object. */
    void* GetUserData();

    /**
     * \brief Assign a fixed random variable stream number.
     * \param [in] stream The first stream index to use.
     * \return The number of stream indices used (1).
     */
    int64_t AssignStreams(int64_t stream);

    /** \return the number of bytes handed out so far. */
    uint64_t GetBytesDrawn() const;

  protected:
    void DoDispose() override;

  private:
    Ptr<UniformRandomVariable> m_rng; //!< the stream
    uint64_t m_bytes;                 //!< bytes drawn so far
};

} // namespace ns3

#endif /* MIP6IKE_CORE_ADAPTER_H */
