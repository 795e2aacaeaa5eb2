/*
 * Tests of the ns-3 / C core adapter (model/mip6ike-core-adapter.h):
 * time and address conversions, the core expiry timer in simulated time,
 * and the reproducibility of the random callback under RngRun.
 */
#include "ns3/mip6ike-core-adapter.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/test.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

const m6ike_tstamp kS = M6IKE_SECONDS;
const m6ike_tstamp kMs = M6IKE_MILLISECONDS;

/**
 * \ingroup mip6ike-test
 * A stand-in for a core object's timed part: a sorted list of deadlines.
 * get_expiry() returns the earliest; handle_expiry(now) records the call and
 * consumes every deadline at or before now.
 */
struct FakeExpirySource
{
    std::vector<m6ike_tstamp> deadlines; //!< pending deadlines, ascending
    std::vector<m6ike_tstamp> calledNow; //!< "now" of each handle_expiry()
    std::vector<Time> calledAt;          //!< Simulator::Now() at each call
    int result = 0;                      //!< what handle_expiry() returns

    /** \return the next deadline or M6IKE_TSTAMP_UNSET */
    m6ike_tstamp GetExpiry()
    {
        return deadlines.empty() ? M6IKE_TSTAMP_UNSET : deadlines.front();
    }

    /** \param now core time of the call \return result */
    int HandleExpiry(m6ike_tstamp now)
    {
        calledNow.push_back(now);
        calledAt.push_back(Simulator::Now());
        while (!deadlines.empty() && deadlines.front() <= now)
        {
            deadlines.erase(deadlines.begin());
        }
        return result;
    }

    /** \param ts a deadline to add, kept sorted */
    void Add(m6ike_tstamp ts)
    {
        auto it = deadlines.begin();
        while (it != deadlines.end() && *it <= ts)
        {
            ++it;
        }
        deadlines.insert(it, ts);
    }
};

/** \return a timer driving src */
Ptr<Mip6IkeCoreTimer>
MakeTimer(FakeExpirySource* src)
{
    Ptr<Mip6IkeCoreTimer> timer = CreateObject<Mip6IkeCoreTimer>();
    timer->SetCallbacks(MakeCallback(&FakeExpirySource::GetExpiry, src),
                        MakeCallback(&FakeExpirySource::HandleExpiry, src));
    return timer;
}

} // namespace

/**
 * \ingroup mip6ike-test
 * Time <-> m6ike_tstamp: exact round trips, "never", negative and
 * out-of-range values, and the simulator's now.
 */
class Mip6IkeTimeConversionTestCase : public TestCase
{
  public:
    Mip6IkeTimeConversionTestCase()
        : TestCase("Time <-> m6ike_tstamp conversions")
    {
    }

  private:
    m6ike_tstamp m_nowAtEvent = 0; //!< Mip6IkeCoreNow() seen by an event

    void DoRun() override
    {
        const int64_t i64max = std::numeric_limits<int64_t>::max();
        const m6ike_tstamp values[] = {0,
                                       1,
                                       999,
                                       1500 * kMs,
                                       32 * kS,
                                       86400 * kS,
                                       static_cast<m6ike_tstamp>(i64max) - 1};
        for (m6ike_tstamp ts : values)
        {
            NS_TEST_EXPECT_MSG_EQ(Mip6IkeTstampToTime(ts),
                                  NanoSeconds(static_cast<int64_t>(ts)),
                                  "tstamp " << ts << " -> Time");
            NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(Mip6IkeTstampToTime(ts)),
                                  ts,
                                  "tstamp " << ts << " round trip");
        }
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(Seconds(1.5)), 1500 * kMs, "1.5 s");
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(MicroSeconds(7)), 7000u, "7 us");
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(Time(0)), 0u, "zero");

        // "never" in each world maps to the other's.
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(Time::Max()), M6IKE_TSTAMP_UNSET, "Max");
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTstampToTime(M6IKE_TSTAMP_UNSET), Time::Max(), "UNSET");

        // Negative times are clamped to the epoch.
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(NanoSeconds(-1)), 0u, "-1 ns");
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(Seconds(-3)), 0u, "-3 s");
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeTimeToTstamp(Time::Min()), 0u, "Time::Min");

        // Timestamps ns-3 cannot hold saturate to "never".
        const m6ike_tstamp big[] = {static_cast<m6ike_tstamp>(i64max),
                                    static_cast<m6ike_tstamp>(i64max) + 1,
                                    M6IKE_TSTAMP_UNSET - 1};
        for (m6ike_tstamp ts : big)
        {
            NS_TEST_EXPECT_MSG_EQ(Mip6IkeTstampToTime(ts), Time::Max(), "saturate " << ts);
        }

        // The core's "now" is the simulation clock in ns.
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeCoreNow(), 0u, "now before Run");
        Simulator::Schedule(MilliSeconds(2500), [this]() { m_nowAtEvent = Mip6IkeCoreNow(); });
        Simulator::Run();
        NS_TEST_EXPECT_MSG_EQ(m_nowAtEvent, 2500 * kMs, "now in an event at 2.5 s");
        Simulator::Destroy();
    }
};

/**
 * \ingroup mip6ike-test
 * Ipv6Address <-> m6ike_addr6: octets in network order, cross-checked with
 * the core's own parser and formatter.
 */
class Mip6IkeAddressConversionTestCase : public TestCase
{
  public:
    Mip6IkeAddressConversionTestCase()
        : TestCase("Ipv6Address <-> m6ike_addr6 conversions")
    {
    }

  private:
    void DoRun() override
    {
        m6ike_addr6 a = Mip6IkeAddressToCore(Ipv6Address("2001:db8:1:2::abcd"));
        const uint8_t want[16] =
            {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0xab, 0xcd};
        for (int i = 0; i < 16; i++)
        {
            NS_TEST_EXPECT_MSG_EQ(unsigned(a.b[i]), unsigned(want[i]), "octet " << i);
        }

        const char* texts[] = {"::",
                               "::1",
                               "2001:db8::1",
                               "fe80::200:ff:fe00:1",
                               "ff02::1:ff00:1",
                               "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe"};
        for (const char* text : texts)
        {
            const Ipv6Address ns3addr(text);
            const m6ike_addr6 core = Mip6IkeAddressToCore(ns3addr);
            char buf[M6IKE_ADDR6_STRLEN];
            NS_TEST_EXPECT_MSG_EQ(std::string(m6ike_addr6_format(&core, buf)),
                                  std::string(text),
                                  "core formats what ns-3 parsed");
            m6ike_addr6 parsed;
            NS_TEST_EXPECT_MSG_EQ(m6ike_addr6_parse(&parsed, text), 0, "core parses " << text);
            NS_TEST_EXPECT_MSG_EQ(Mip6IkeAddressFromCore(parsed), ns3addr, "from core " << text);
            NS_TEST_EXPECT_MSG_EQ(Mip6IkeAddressFromCore(core), ns3addr, "round trip " << text);
        }
        const m6ike_addr6 any = Mip6IkeAddressToCore(Ipv6Address::GetAny());
        NS_TEST_EXPECT_MSG_EQ(m6ike_addr6_is_unspecified(&any), 1, "any is unspecified");
    }
};

/**
 * \ingroup mip6ike-test
 * The timer runs handle_expiry() at exactly each core deadline, in simulated
 * time, rescheduling itself from get_expiry() after each call.
 *
 * Deadlines: 1.5 s, 3 s, 6 s, 6 s + 1 ns, 6 s + 1 ns (a duplicate: one call
 * consumes both), 38 s; then the core's expiry becomes UNSET.  Before the
 * run the expiry is moved back and forth many times: the scheduler must hold
 * exactly one live event, never stale ones.
 */
class Mip6IkeTimerSequenceTestCase : public TestCase
{
  public:
    Mip6IkeTimerSequenceTestCase()
        : TestCase("timer fires at exactly each core expiry and reschedules")
    {
    }

  private:
    std::vector<Time> m_traceTimes; //!< times from the Expire trace source
    std::vector<int> m_traceResults; //!< results from the Expire trace source

    /** Expire trace sink. \param now time \param result handle_expiry()'s */
    void Traced(Time now, int result)
    {
        m_traceTimes.push_back(now);
        m_traceResults.push_back(result);
    }

    void DoRun() override
    {
        FakeExpirySource src;
        for (m6ike_tstamp ts :
             {1500 * kMs, 3 * kS, 6 * kS, 6 * kS + 1, 6 * kS + 1, 38 * kS})
        {
            src.Add(ts);
        }
        Ptr<Mip6IkeCoreTimer> timer = MakeTimer(&src);
        timer->TraceConnectWithoutContext(
            "Expire",
            MakeCallback(&Mip6IkeTimerSequenceTestCase::Traced, this));

        NS_TEST_EXPECT_MSG_EQ(timer->IsScheduled(), false, "nothing before Update()");
        timer->Update();
        NS_TEST_EXPECT_MSG_EQ(timer->IsScheduled(), true, "scheduled after Update()");
        NS_TEST_EXPECT_MSG_EQ(timer->GetScheduledExpiry(), 1500 * kMs, "first expiry");
        // Churn before the run: the expiry moves to 1 s and back 50 times,
        // and Update() is repeated with it unchanged.  No dead event may be
        // left in the scheduler (checked with GetEventCount() below).
        for (int i = 0; i < 50; i++)
        {
            src.Add(1 * kS);
            timer->Update();
            timer->Update();
            src.deadlines.erase(src.deadlines.begin());
            timer->Update();
        }
        NS_TEST_EXPECT_MSG_EQ(timer->GetScheduledExpiry(), 1500 * kMs, "back to 1.5 s");
        const uint64_t eventsBefore = Simulator::GetEventCount();
        Simulator::Run();

        const std::vector<m6ike_tstamp> want = {1500 * kMs, 3 * kS, 6 * kS, 6 * kS + 1, 38 * kS};
        NS_TEST_ASSERT_MSG_EQ(src.calledNow.size(), want.size(), "number of expiries");
        for (size_t i = 0; i < want.size(); i++)
        {
            NS_TEST_EXPECT_MSG_EQ(src.calledNow[i], want[i], "core now of expiry " << i);
            NS_TEST_EXPECT_MSG_EQ(src.calledAt[i],
                                  NanoSeconds(static_cast<int64_t>(want[i])),
                                  "simulation time of expiry " << i);
            NS_TEST_EXPECT_MSG_EQ(m_traceTimes.at(i), src.calledAt[i], "trace time " << i);
            NS_TEST_EXPECT_MSG_EQ(m_traceResults.at(i), 0, "trace result " << i);
        }
        NS_TEST_EXPECT_MSG_EQ(m_traceTimes.size(), want.size(), "one trace per expiry");
        NS_TEST_EXPECT_MSG_EQ(timer->GetExpiryCount(), uint64_t(want.size()), "count");
        NS_TEST_EXPECT_MSG_EQ(timer->IsScheduled(), false, "UNSET: no event left");
        NS_TEST_EXPECT_MSG_EQ(Simulator::Now(), Seconds(38), "no event after the last");
        NS_TEST_EXPECT_MSG_EQ(Simulator::GetEventCount() - eventsBefore,
                              uint64_t(want.size()),
                              "the scheduler ran one event per expiry, none stale");
        timer->Dispose();
        Simulator::Destroy();
    }
};

/**
 * \ingroup mip6ike-test
 * The expiry changes between expiries: earlier, later, UNSET, already past;
 * an error result reaches the trace; Dispose() cancels.
 *
 *   t=0    deadlines {10 s}          -> event at 10 s
 *   t=2    add 5 s, Update()         -> event moves to 5 s
 *   t=5    expiry                    -> event at 10 s
 *   t=6    deadlines {20 s}, Update  -> 10 s event cancelled, event at 20 s
 *   t=15   deadlines {}, Update      -> no event (20 s never fires)
 *   t=16   add 14 s (past), Update   -> expiry runs at 16 s, now = 16 s,
 *                                       handle_expiry returns an error
 *   t=17   add 30 s, Update; t=25 Dispose() -> 30 s never fires
 */
class Mip6IkeTimerRescheduleTestCase : public TestCase
{
  public:
    Mip6IkeTimerRescheduleTestCase()
        : TestCase("timer follows an earlier, later, unset and past expiry")
    {
    }

  private:
    FakeExpirySource m_src;          //!< the fake core object
    Ptr<Mip6IkeCoreTimer> m_timer;   //!< the timer under test
    std::vector<int> m_traceResults; //!< results from the Expire trace
    m6ike_tstamp m_seenAt4 = 0;      //!< GetScheduledExpiry() at 4 s
    m6ike_tstamp m_seenAt12 = 0;     //!< GetScheduledExpiry() at 12 s
    bool m_scheduledAt15 = true;     //!< IsScheduled() after the UNSET update

    /** Expire trace sink. \param now time \param result handle_expiry()'s */
    void Traced(Time /* now */, int result)
    {
        m_traceResults.push_back(result);
    }

    void DoRun() override
    {
        m_timer = MakeTimer(&m_src);
        m_timer->TraceConnectWithoutContext(
            "Expire",
            MakeCallback(&Mip6IkeTimerRescheduleTestCase::Traced, this));
        m_src.Add(10 * kS);
        m_timer->Update();

        Simulator::Schedule(Seconds(2), [this]() {
            m_src.Add(5 * kS);
            m_timer->Update();
        });
        Simulator::Schedule(Seconds(4), [this]() { m_seenAt4 = m_timer->GetScheduledExpiry(); });
        Simulator::Schedule(Seconds(6), [this]() {
            m_src.deadlines = {20 * kS};
            m_timer->Update();
        });
        Simulator::Schedule(Seconds(12),
                            [this]() { m_seenAt12 = m_timer->GetScheduledExpiry(); });
        Simulator::Schedule(Seconds(15), [this]() {
            m_src.deadlines.clear();
            m_timer->Update();
            m_scheduledAt15 = m_timer->IsScheduled();
        });
        Simulator::Schedule(Seconds(16), [this]() {
            m_src.Add(14 * kS);
            m_src.result = M6IKE_ERR_INVALID_STATE;
            m_timer->Update();
        });
        Simulator::Schedule(Seconds(17), [this]() {
            m_src.result = 0;
            m_src.Add(30 * kS);
            m_timer->Update();
        });
        Simulator::Schedule(Seconds(25), [this]() { m_timer->Dispose(); });
        Simulator::Run();

        NS_TEST_EXPECT_MSG_EQ(m_seenAt4, 5 * kS, "moved to the earlier expiry");
        NS_TEST_EXPECT_MSG_EQ(m_seenAt12, 20 * kS, "moved to the later expiry");
        NS_TEST_EXPECT_MSG_EQ(m_scheduledAt15, false, "UNSET cancels");
        NS_TEST_ASSERT_MSG_EQ(m_src.calledNow.size(), 2u, "expiries at 5 s and 16 s only");
        NS_TEST_EXPECT_MSG_EQ(m_src.calledNow[0], 5 * kS, "earlier expiry");
        NS_TEST_EXPECT_MSG_EQ(m_src.calledAt[0], Seconds(5), "at 5 s");
        NS_TEST_EXPECT_MSG_EQ(m_src.calledNow[1], 16 * kS, "past expiry runs now");
        NS_TEST_EXPECT_MSG_EQ(m_src.calledAt[1], Seconds(16), "at 16 s");
        NS_TEST_ASSERT_MSG_EQ(m_traceResults.size(), 2u, "two traces");
        NS_TEST_EXPECT_MSG_EQ(m_traceResults[1], int(M6IKE_ERR_INVALID_STATE), "error traced");
        NS_TEST_EXPECT_MSG_EQ(m_src.deadlines.size(), 1u, "30 s deadline left pending");
        NS_TEST_EXPECT_MSG_EQ(m_timer->IsScheduled(), false, "Dispose() cancelled");
        NS_TEST_EXPECT_MSG_EQ(Simulator::Now(), Seconds(25), "nothing ran after Dispose()");
        m_timer = nullptr;
        Simulator::Destroy();
    }
};

/**
 * \ingroup mip6ike-test
 * The random callback, called the way the core calls it (C function pointer
 * and user_data): same RngRun and stream give the same bytes, another
 * RngRun or another stream different ones; failures are reported.
 */
class Mip6IkeRandomTestCase : public TestCase
{
  public:
    Mip6IkeRandomTestCase()
        : TestCase("random callback is reproducible per RngRun and stream")
    {
    }

  private:
    /**
     * Draw len bytes through the C callback from a new object.
     * \param run RngRun \param stream stream index \param len bytes
     * \return the bytes
     */
    std::vector<uint8_t> Draw(uint64_t run, int64_t stream, size_t len)
    {
        RngSeedManager::SetRun(run);
        Ptr<Mip6IkeRandom> rnd = CreateObject<Mip6IkeRandom>();
        NS_TEST_EXPECT_MSG_EQ(rnd->AssignStreams(stream), 1, "streams used");
        std::vector<uint8_t> out(len);
        const m6ike_rand_cb cb = rnd->GetCallback();
        // Two requests, an odd one first, as a core object might make.
        const size_t first = len / 3 | 1;
        NS_TEST_EXPECT_MSG_EQ(cb(out.data(), first, rnd->GetUserData()), 0, "first draw");
        NS_TEST_EXPECT_MSG_EQ(cb(out.data() + first, len - first, rnd->GetUserData()),
                              0,
                              "second draw");
        NS_TEST_EXPECT_MSG_EQ(rnd->GetBytesDrawn(), uint64_t(len), "bytes counted");
        rnd->Dispose();
        return out;
    }

    void DoRun() override
    {
        const uint32_t savedSeed = RngSeedManager::GetSeed();
        const uint64_t savedRun = RngSeedManager::GetRun();
        RngSeedManager::SetSeed(1);

        const std::vector<uint8_t> a1 = Draw(1, 100, 64);
        const std::vector<uint8_t> a1again = Draw(1, 100, 64);
        const std::vector<uint8_t> a2 = Draw(2, 100, 64);
        const std::vector<uint8_t> b1 = Draw(1, 101, 64);
        NS_TEST_EXPECT_MSG_EQ((a1 == a1again), true, "same run and stream: same bytes");
        NS_TEST_EXPECT_MSG_EQ((a1 == a2), false, "another RngRun: other bytes");
        NS_TEST_EXPECT_MSG_EQ((a1 == b1), false, "another stream: other bytes");

        // The bytes look uniform: all 256 values occur in 16 KiB.
        const std::vector<uint8_t> many = Draw(3, 7, 16384);
        std::vector<bool> seen(256, false);
        for (uint8_t byte : many)
        {
            seen[byte] = true;
        }
        size_t distinct = 0;
        for (bool s : seen)
        {
            distinct += s ? 1 : 0;
        }
        NS_TEST_EXPECT_MSG_EQ(distinct, 256u, "every byte value occurs");

        // Failures the core reports as M6IKE_ERR_RANDOM.
        Ptr<Mip6IkeRandom> rnd = CreateObject<Mip6IkeRandom>();
        uint8_t buf[4];
        NS_TEST_EXPECT_MSG_EQ((Mip6IkeRandom::RandCallback(buf, 4, nullptr) != 0),
                              true,
                              "NULL user_data refused");
        NS_TEST_EXPECT_MSG_EQ((Mip6IkeRandom::RandCallback(nullptr, 4, rnd->GetUserData()) != 0),
                              true,
                              "NULL dest refused");
        NS_TEST_EXPECT_MSG_EQ(Mip6IkeRandom::RandCallback(nullptr, 0, rnd->GetUserData()),
                              0,
                              "empty request accepted");
        rnd->Dispose();
        NS_TEST_EXPECT_MSG_EQ((Mip6IkeRandom::RandCallback(buf, 4, rnd->GetUserData()) != 0),
                              true,
                              "disposed object refuses");

        RngSeedManager::SetSeed(savedSeed);
        RngSeedManager::SetRun(savedRun);
    }
};

/**
 * \ingroup mip6ike-test
 * The adapter's TestSuite.
 */
class Mip6IkeCoreAdapterTestSuite : public TestSuite
{
  public:
    Mip6IkeCoreAdapterTestSuite()
        : TestSuite("mip6ike-core-adapter", UNIT)
    {
        AddTestCase(new Mip6IkeTimeConversionTestCase, TestCase::QUICK);
        AddTestCase(new Mip6IkeAddressConversionTestCase, TestCase::QUICK);
        AddTestCase(new Mip6IkeTimerSequenceTestCase, TestCase::QUICK);
        AddTestCase(new Mip6IkeTimerRescheduleTestCase, TestCase::QUICK);
        AddTestCase(new Mip6IkeRandomTestCase, TestCase::QUICK);
    }
};

/** Static instance: registers the suite with the test runner. */
static Mip6IkeCoreAdapterTestSuite g_mip6ikeCoreAdapterTestSuite;
