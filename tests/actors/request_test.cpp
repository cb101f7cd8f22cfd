#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/dead_letter_log.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct increment {
  int64_t x = 0;
  using reply_type = int64_t;
};

// Fails with a typed error for odd numbers, answers x / 2 otherwise.
struct halve {
  int64_t x = 0;
  using reply_type = int64_t;
};

// Never answers until released (the handler blocks on a latch the test owns).
struct stall {
  using reply_type = int64_t;
};

struct crash {
  using reply_type = int64_t;
};

using calc = mailbox<increment, halve, stall, crash>;

// The gate is shared with the actor: a handler may still be waiting on it after the test body
// has returned, so it must live as long as the actor.
calc spawn_calc(runtime& rt, std::shared_ptr<std::latch> gate = nullptr) {
  return spawn_mailbox<increment, halve, stall, crash>(
             rt, {},
             [gate](auto*) {
               return handlers{
                   [](increment& m) { return m.x + 1; },
                   [](halve& m) -> caf::expected<int64_t> {
                     if (m.x % 2 != 0)
                       return caf::make_error(caf::sec::invalid_argument);
                     return m.x / 2;
                   },
                   [gate](stall&) -> int64_t {
                     if (gate != nullptr)
                       gate->wait();
                     return 0;
                   },
                   [](crash&) -> int64_t { throw std::runtime_error("crashed on purpose"); },
               };
             })
      .value();
}

// Runs `body(self)` inside a fresh actor and returns what it delivers through `done`.
template <class T, class Body>
T run_in_actor(runtime& rt, Body body) {
  auto result = std::make_shared<std::promise<T>>();
  auto fut = result->get_future();
  auto a = rt.spawn([result, body](caf::event_based_actor* self) -> caf::behavior {
    body(self, [result, self](T value) {
      result->set_value(std::move(value));
      self->quit();
    });
    return {[](caf::ok_atom) {}};
  });
  if (fut.wait_for(10s) != std::future_status::ready) {
    caf::anon_send_exit(a, caf::exit_reason::kill);
    ADD_FAILURE() << "the actor never delivered";
    return T{};
  }
  return fut.get();
}

} // namespace

using Requests = troupe::test::runtime_fixture;

TEST_F(Requests, AskFromAThreadGetsTheReply) {
  auto c = spawn_calc(*rt);
  auto r = ask(c, increment{41}, 5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, 42);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, HandlerErrorReachesTheRequester) {
  auto c = spawn_calc(*rt);
  auto r = ask(c, halve{3}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), caf::sec::invalid_argument);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, AskTimesOutWithRequestTimeout) {
  auto gate = std::make_shared<std::latch>(1);
  auto c = spawn_calc(*rt, gate);
  auto r = ask(c, stall{}, 20ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::request_timeout);
  gate->count_down();
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, RequestFromAnActorRunsTheReplyInItsContext) {
  auto c = spawn_calc(*rt);
  auto got = run_in_actor<int64_t>(*rt, [c](caf::event_based_actor* self, auto done) {
    request(self, c, increment{1}, 5s)
        .then([done](int64_t v) { done(v); }, [done](caf::error) { done(-1); });
  });
  EXPECT_EQ(got, 2);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, RequestFromAnActorTimesOut) {
  auto gate = std::make_shared<std::latch>(1);
  auto c = spawn_calc(*rt, gate);
  auto got = run_in_actor<caf::error>(*rt, [c](caf::event_based_actor* self, auto done) {
    request(self, c, stall{}, 20ms)
        .then([done](int64_t) { done(caf::error{}); }, [done](caf::error e) { done(e); });
  });
  EXPECT_EQ(got, mailbox_errc::request_timeout) << render(got);
  gate->count_down();
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, ThrowingHandlerAnswersHandlerThrewWithTheMessage) {
  auto c = spawn_calc(*rt);
  auto got = run_in_actor<caf::error>(*rt, [c](caf::event_based_actor* self, auto done) {
    request(self, c, crash{}, 5s)
        .then([done](int64_t) { done(caf::error{}); }, [done](caf::error e) { done(e); });
  });
  EXPECT_EQ(got, mailbox_errc::handler_threw);
  EXPECT_EQ(got.context().get_as<std::string>(0), "crashed on purpose");
}

TEST_F(Requests, RequestsQueuedBehindACrashGetReceiverDead) {
  auto gate = std::make_shared<std::latch>(1);
  auto c = spawn_calc(*rt, gate);
  // Shared with the callbacks: they may run after a failed wait has left this scope.
  auto crash_err = std::make_shared<std::promise<caf::error>>();
  auto queued_err = std::make_shared<std::promise<caf::error>>();
  auto f1 = crash_err->get_future();
  auto f2 = queued_err->get_future();
  std::move(ask_async(c, stall{})).then([](int64_t) {}, [](caf::error) {});
  std::move(ask_async(c, crash{}))
      .then([crash_err](int64_t) { crash_err->set_value({}); },
            [crash_err](caf::error e) { crash_err->set_value(e); });
  std::move(ask_async(c, increment{1}))
      .then([queued_err](int64_t) { queued_err->set_value({}); },
            [queued_err](caf::error e) { queued_err->set_value(e); });
  gate->count_down();
  ASSERT_EQ(f1.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(f2.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f1.get(), mailbox_errc::handler_threw);
  EXPECT_EQ(f2.get(), mailbox_errc::receiver_dead);
}

TEST_F(Requests, FullMailboxFailsTheRequestWithMailboxFull) {
  auto gate = std::make_shared<std::latch>(1);
  mailbox_options opts;
  opts.capacity = 1;
  opts.overflow = overflow_policy::fail;
  auto c = spawn_mailbox<increment, stall>(*rt, opts, [gate](auto*) {
             return handlers{[](increment& m) { return m.x + 1; },
                             [gate](stall&) -> int64_t {
                               gate->wait();
                               return 0;
                             }};
           }).value();
  auto stalled_done = std::make_shared<std::promise<void>>();
  auto stalled = stalled_done->get_future();
  std::move(ask_async(c, stall{}))
      .then([stalled_done](int64_t) { stalled_done->set_value(); },
            [stalled_done](caf::error) { stalled_done->set_value(); });
  ASSERT_TRUE(troupe::test::eventually([&] { return c.metrics().depth == 0; }));
  ASSERT_TRUE(c.send(increment{1}));
  auto r = ask(c, increment{2}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::mailbox_full);
  gate->count_down();
  stalled.wait();
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

// -- combinators ----------------------------------------------------------------------------

TEST_F(Requests, GatherReturnsEveryResultInInputOrder) {
  auto c = spawn_calc(*rt);
  std::vector<pending<int64_t>> reqs;
  reqs.push_back(ask_async(c, increment{1}));
  reqs.push_back(ask_async(c, halve{3})); // fails
  reqs.push_back(ask_async(c, halve{8}));
  auto all = await(gather(std::move(reqs)), 5s);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].value(), 2);
  EXPECT_FALSE((*all)[1]);
  EXPECT_EQ((*all)[1].error(), caf::sec::invalid_argument);
  EXPECT_EQ((*all)[2].value(), 4);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, GatherInsideAnActorOverAThousandWorkers) {
  std::vector<calc> workers;
  for (int i = 0; i < 100; ++i)
    workers.push_back(spawn_calc(*rt));
  auto sum = run_in_actor<int64_t>(*rt, [workers](caf::event_based_actor* self, auto done) {
    std::vector<pending<int64_t>> reqs;
    for (int64_t i = 0; i < 1000; ++i)
      reqs.push_back(
          request(self, workers[static_cast<std::size_t>(i) % workers.size()], increment{i}, 5s));
    gather(std::move(reqs))
        .then(
            [done](std::vector<caf::expected<int64_t>> rs) {
              int64_t s = 0;
              for (auto& r : rs)
                s += r ? *r : -1'000'000;
              done(s);
            },
            [done](caf::error) { done(-1); });
  });
  EXPECT_EQ(sum, 999 * 1000 / 2 + 1000);
  for (auto& w : workers)
    caf::anon_send_exit(w.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, FailFastCompletesWithTheFirstErrorBeforeSlowRepliesArrive) {
  auto gate = std::make_shared<std::latch>(1);
  auto slow = spawn_calc(*rt, gate);
  auto fast = spawn_calc(*rt);
  std::vector<pending<int64_t>> reqs;
  reqs.push_back(ask_async(slow, stall{}));
  reqs.push_back(ask_async(fast, halve{1})); // fails at once
  auto r = await(gather_all_or_fail(std::move(reqs)), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), caf::sec::invalid_argument);
  gate->count_down();
  caf::anon_send_exit(slow.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fast.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, FailFastSucceedsWithAllValuesInOrder) {
  auto c = spawn_calc(*rt);
  std::vector<pending<int64_t>> reqs;
  for (int64_t i = 0; i < 10; ++i)
    reqs.push_back(ask_async(c, increment{i}));
  auto r = await(gather_all_or_fail(std::move(reqs)), 5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, FirstOfTakesTheFirstValueAndIgnoresTheStalledOne) {
  auto gate = std::make_shared<std::latch>(1);
  auto slow = spawn_calc(*rt, gate);
  auto fast = spawn_calc(*rt);
  std::vector<pending<int64_t>> reqs;
  reqs.push_back(ask_async(slow, stall{}));
  reqs.push_back(ask_async(fast, increment{9}));
  auto r = await(first_of(std::move(reqs)), 5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, 10);
  gate->count_down();
  caf::anon_send_exit(slow.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fast.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, FirstOfFailsOnlyWhenAllFail) {
  auto c = spawn_calc(*rt);
  std::vector<pending<int64_t>> reqs;
  reqs.push_back(ask_async(c, halve{1}));
  reqs.push_back(ask_async(c, halve{3}));
  auto r = await(first_of(std::move(reqs)), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), caf::sec::invalid_argument);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, FirstOfNothingIsAbandonedNotCancelledWork) {
  // mailbox_errc::abandoned (the caller gave up a wait) is apart from runtime_errc::cancelled
  // (an executor dropped the work): one name per meaning.
  auto r = await(first_of(std::vector<pending<int64_t>>{}), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error(mailbox_errc::abandoned));
  EXPECT_EQ(std::string{to_string(mailbox_errc::abandoned)}, "abandoned");
}

TEST_F(Requests, FallbackRunsOnlyAfterThePrimaryFails) {
  auto c = spawn_calc(*rt);
  std::atomic<int> fallbacks{0};
  auto use_fallback = [&](const caf::error&) {
    ++fallbacks;
    return ask_async(c, increment{100});
  };
  auto ok = await(with_fallback<int64_t>(ask_async(c, halve{4}), use_fallback), 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  EXPECT_EQ(fallbacks.load(), 0);
  auto fell_back = await(with_fallback<int64_t>(ask_async(c, halve{5}), use_fallback), 5s);
  ASSERT_TRUE(fell_back);
  EXPECT_EQ(*fell_back, 101);
  EXPECT_EQ(fallbacks.load(), 1);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, ForEachConcurrentNeverExceedsItsLimit) {
  struct track {
    using reply_type = int64_t;
    int64_t x = 0;
  };
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::vector<mailbox<track>> workers;
  for (int i = 0; i < 8; ++i)
    workers.push_back(spawn_mailbox<track>(*rt, {}, [&](auto*) {
                        return handlers{[&](track& t) {
                          auto now = in_flight.load();
                          return t.x * 2 + (now < 0 ? 1 : 0);
                        }};
                      }).value());
  std::vector<int64_t> results(1000, -1);
  std::mutex mtx;
  auto done =
      await(for_each_concurrent<int64_t>(
                1000, 4,
                [&](std::size_t i) {
                  auto now = ++in_flight;
                  auto prev = max_in_flight.load();
                  while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
                  }
                  return ask_async(workers[i % workers.size()], track{static_cast<int64_t>(i)});
                },
                [&](std::size_t i, caf::expected<int64_t> r) {
                  --in_flight;
                  std::lock_guard guard{mtx};
                  results[i] = r ? *r : -2;
                }),
            10s);
  ASSERT_TRUE(done) << render(done.error());
  EXPECT_EQ(*done, 1000u);
  EXPECT_LE(max_in_flight.load(), 4);
  EXPECT_GE(max_in_flight.load(), 1);
  for (std::size_t i = 0; i < results.size(); ++i)
    ASSERT_EQ(results[i], static_cast<int64_t>(i) * 2);
  for (auto& w : workers)
    caf::anon_send_exit(w.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, ForEachConcurrentWithALimitOfZeroHasNoLimit) {
  // Each reply is held until all eight requests were made: with any limit below eight the
  // eighth is never made and the whole never completes.
  std::mutex mtx;
  std::vector<std::function<void()>> held;
  auto done =
      await(for_each_concurrent<int64_t>(
                8, 0,
                [&](std::size_t i) {
                  return pending<int64_t>{[&, i](auto on_value, auto) {
                    std::vector<std::function<void()>> release;
                    {
                      std::lock_guard guard{mtx};
                      held.emplace_back([on_value, i] { on_value(static_cast<int64_t>(i)); });
                      if (held.size() == 8)
                        release.swap(held);
                    }
                    for (auto& answer : release)
                      answer();
                  }};
                },
                [](std::size_t, caf::expected<int64_t>) {}),
            5s);
  ASSERT_TRUE(done) << render(done.error());
  EXPECT_EQ(*done, 8u);
}

// -- requests from Troupe actors (reply queue, O(1) correlation) ------------------------------

namespace {

// Runs `body(self, done)` inside a Troupe actor and returns what it delivers.
template <class T, class Body>
T run_in_troupe_actor(runtime& rt, Body body) {
  struct start {};
  auto result = std::make_shared<std::promise<T>>();
  auto fut = result->get_future();
  auto a = spawn_mailbox<start>(rt, {}, [result, body](auto* self) {
             return handlers{[self, result, body](start&) {
               body(self, [result, self](T value) {
                 result->set_value(std::move(value));
                 self->quit();
               });
             }};
           }).value();
  EXPECT_TRUE(a.send(start{}));
  if (fut.wait_for(10s) != std::future_status::ready) {
    caf::anon_send_exit(a.actor(), caf::exit_reason::kill);
    ADD_FAILURE() << "the actor never delivered";
    return T{};
  }
  return fut.get();
}

} // namespace

TEST_F(Requests, TroupeActorGetsTheReplyThroughItsReplyQueue) {
  auto c = spawn_calc(*rt);
  auto got = run_in_troupe_actor<int64_t>(*rt, [c](auto* self, auto done) {
    request(self, c, increment{41}, 5s)
        .then([done](int64_t v) { done(v); }, [done](caf::error) { done(-1); });
  });
  EXPECT_EQ(got, 42);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, TroupeActorRequestTimesOutAndTheLateReplyIsDropped) {
  auto gate = std::make_shared<std::latch>(1);
  auto c = spawn_calc(*rt, gate);
  auto got = run_in_troupe_actor<caf::error>(*rt, [c, gate](auto* self, auto done) {
    request(self, c, stall{}, 20ms)
        .then([done](int64_t) { done(caf::error{}); },
              [done, gate](caf::error e) {
                gate->count_down(); // the late reply now comes back
                done(e);
              });
  });
  EXPECT_EQ(got, mailbox_errc::request_timeout) << render(got);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, TroupeActorSeesHandlerThrewAndReceiverDead) {
  auto c = spawn_calc(*rt);
  auto got = run_in_troupe_actor<std::vector<caf::error>>(*rt, [c](auto* self, auto done) {
    std::vector<pending<int64_t>> reqs;
    reqs.push_back(request(self, c, crash{}, 5s));
    reqs.push_back(request(self, c, increment{1}, 5s));
    gather(std::move(reqs))
        .then(
            [done](std::vector<caf::expected<int64_t>> rs) {
              std::vector<caf::error> errs;
              for (auto& r : rs)
                errs.push_back(r ? caf::error{} : r.error());
              done(errs);
            },
            [done](caf::error) { done({}); });
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], mailbox_errc::handler_threw);
  EXPECT_EQ(got[1], mailbox_errc::receiver_dead);
}

TEST_F(Requests, TroupeActorGathersAThousandRepliesInOrder) {
  std::vector<calc> workers;
  for (int i = 0; i < 50; ++i)
    workers.push_back(spawn_calc(*rt));
  auto sums = run_in_troupe_actor<std::vector<int64_t>>(*rt, [workers](auto* self, auto done) {
    std::vector<pending<int64_t>> reqs;
    for (int64_t i = 0; i < 1000; ++i)
      reqs.push_back(
          request(self, workers[static_cast<std::size_t>(i) % workers.size()], increment{i}, 5s));
    gather_all_or_fail(std::move(reqs))
        .then([done](std::vector<int64_t> rs) { done(std::move(rs)); },
              [done](caf::error) { done({}); });
  });
  ASSERT_EQ(sums.size(), 1000u);
  for (std::size_t i = 0; i < sums.size(); ++i)
    ASSERT_EQ(sums[i], static_cast<int64_t>(i) + 1);
  for (auto& w : workers)
    caf::anon_send_exit(w.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Requests, TroupeActorRequestsWithoutTimeoutCarryTheirContinuation) {
  auto c = spawn_calc(*rt);
  auto dead = spawn_calc(*rt);
  {
    caf::scoped_actor watcher{sys()};
    watcher->monitor(dead.actor());
    caf::anon_send_exit(dead.actor(), caf::exit_reason::user_shutdown);
    watcher->receive([](caf::down_msg&) {});
  }
  auto got = run_in_troupe_actor<std::vector<caf::expected<int64_t>>>(
      *rt, [c, dead](auto* self, auto done) {
        std::vector<pending<int64_t>> reqs;
        reqs.push_back(request(self, c, increment{1}, caf::infinite));
        reqs.push_back(request(self, c, halve{3}, caf::infinite));
        reqs.push_back(request(self, dead, increment{1}, caf::infinite));
        reqs.push_back(request(self, c, crash{}, caf::infinite));
        gather(std::move(reqs))
            .then([done](std::vector<caf::expected<int64_t>> rs) { done(std::move(rs)); },
                  [done](caf::error) { done({}); });
      });
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].value(), 2);
  EXPECT_EQ(got[1].error(), caf::sec::invalid_argument);
  EXPECT_EQ(got[2].error(), mailbox_errc::receiver_dead);
  EXPECT_EQ(got[3].error(), mailbox_errc::handler_threw);
}

// -- one deadline per ask(): the wait for room and the wait for the reply share `timeout` ------

namespace {

struct hold {
  using reply_type = int64_t;
};
struct slowpoke {
  using reply_type = int64_t;
};

} // namespace

TEST_F(Requests, AskHasOneDeadlineForRoomAndReply) {
  auto entered = std::make_shared<std::promise<void>>();
  auto first_gate = std::make_shared<std::latch>(1);
  auto second_gate = std::make_shared<std::latch>(1);
  mailbox_options opts;
  opts.capacity = 1; // backpressure: a thread's send waits for room
  auto mb = spawn_mailbox<hold, slowpoke>(*rt, opts, [entered, first_gate, second_gate](auto*) {
              return handlers{
                  [entered, first_gate](hold&) -> int64_t {
                    entered->set_value();
                    first_gate->wait();
                    return 1;
                  },
                  [second_gate](slowpoke&) -> int64_t {
                    second_gate->wait();
                    return 2;
                  },
              };
            }).value();
  ASSERT_TRUE(mb.send(hold{}));
  ASSERT_EQ(entered->get_future().wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(mb.send(slowpoke{})); // fills the queue; runs (and blocks) once hold returns
  // Room appears after ~600 ms; the asked message then waits behind the blocked one. With one
  // deadline the call ends at `timeout` (1 s); with two it took room wait + timeout (~1.6 s).
  std::thread opener{[first_gate] {
    std::this_thread::sleep_for(600ms); // the delay under test, not a synchronisation
    first_gate->count_down();
  }};
  auto t0 = std::chrono::steady_clock::now();
  auto late = ask(mb, slowpoke{}, 1000ms);
  auto took = std::chrono::steady_clock::now() - t0;
  opener.join();
  second_gate->count_down();
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), mailbox_errc::request_timeout) << render(late.error());
  EXPECT_LT(took, 1400ms) << "the call waited " << std::chrono::duration<double>(took).count()
                          << " s for a 1 s timeout";
  EXPECT_GE(took, 1000ms);
}

// -- a reply that outlives its requester is a dead letter ---------------------------------------

namespace {

using troupe::test::dead_letter_log;

struct go {};

void wait_until_down(caf::actor_system& sys, const caf::actor& a) {
  caf::scoped_actor watcher{sys};
  watcher->monitor(a);
  watcher->receive([](caf::down_msg&) {}, caf::after(10s) >> [] { ADD_FAILURE() << "no down"; });
}

} // namespace

class LateReplies : public troupe::test::runtime_fixture {
public:
  void SetUp() override {
    rt->dead_letters()->set_hook([log = log](const dead_letter& d) { log->record(d); });
  }

  // The requester sends `stall` (answered only once `gate` opens) and quits; then the gate
  // opens and the reply finds it gone. Returns the first dead letter reported.
  template <class Spawn>
  std::optional<dead_letter> late_reply_after(Spawn spawn_requester) {
    auto gate = std::make_shared<std::latch>(1);
    auto c = spawn_calc(*rt, gate);
    auto before = rt->dead_letters()->count();
    wait_until_down(sys(), spawn_requester(c));
    EXPECT_EQ(rt->dead_letters()->count(), before) << "nothing is dead yet";
    gate->count_down();
    auto letter = log->first();
    caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
    return letter;
  }

  std::shared_ptr<dead_letter_log> log = std::make_shared<dead_letter_log>();
};

TEST_F(LateReplies, AReplyToATerminatedTroupeActorIsADeadLetter) {
  auto letter = late_reply_after([&](const calc& c) {
    mailbox_options opts;
    opts.name = "requester";
    auto requester = spawn_mailbox<go>(*rt, opts, [c](auto* self) {
                       return handlers{[self, c](go&) {
                         request(self, c, stall{}, 10s).then([](int64_t) {}, [](caf::error) {});
                         self->quit();
                       }};
                     }).value();
    EXPECT_TRUE(requester.send(go{}));
    return requester.actor();
  });
  ASSERT_TRUE(letter) << "the late reply was dropped without a dead letter";
  EXPECT_EQ(letter->receiver, "requester");
  EXPECT_EQ(letter->message_type, typeid(int64_t).name());
  EXPECT_EQ(letter->reason, mailbox_errc::receiver_dead);
}

TEST_F(LateReplies, AReplyWithoutTimeoutToATerminatedTroupeActorIsADeadLetter) {
  auto letter = late_reply_after([&](const calc& c) {
    mailbox_options opts;
    opts.name = "requester";
    auto requester =
        spawn_mailbox<go>(*rt, opts, [c](auto* self) {
          return handlers{[self, c](go&) {
            request(self, c, stall{}, caf::infinite).then([](int64_t) {}, [](caf::error) {});
            self->quit();
          }};
        }).value();
    EXPECT_TRUE(requester.send(go{}));
    return requester.actor();
  });
  ASSERT_TRUE(letter) << "the late reply was dropped without a dead letter";
  EXPECT_EQ(letter->receiver, "requester");
  EXPECT_EQ(letter->message_type, typeid(int64_t).name());
  EXPECT_EQ(letter->reason, mailbox_errc::receiver_dead);
}

TEST_F(LateReplies, EveryReplyRacingTheRequestersEndIsDeliveredOrADeadLetter) {
  // Two responders on two workers answer a burst of requests while the requester quits after
  // the first `delivered_before_quit` replies: each reply either ran its continuation or is a
  // dead letter, counted by the poster or the ending requester, whichever sees the other. One
  // left in the reply queue would be neither.
  constexpr int requests = 20'000;
  constexpr int delivered_before_quit = 2'000;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::array responders{spawn_calc(*rt), spawn_calc(*rt)};
    auto delivered = std::make_shared<std::atomic<int>>(0);
    auto before = rt->dead_letters()->count();
    auto requester = spawn_mailbox<go>(*rt, {}, [responders, delivered](auto* self) {
                       return handlers{[self, responders, delivered](go&) {
                         for (int i = 0; i < requests; ++i)
                           request(self, responders[i % 2], increment{i}, caf::infinite)
                               .then(
                                   [self, delivered](int64_t) {
                                     if (delivered->fetch_add(1) + 1 == delivered_before_quit)
                                       self->quit();
                                   },
                                   [](caf::error err) { ADD_FAILURE() << render(err); });
                       }};
                     }).value();
    ASSERT_TRUE(requester.send(go{}));
    wait_until_down(sys(), requester.actor());
    // Each responder has taken its half of the requests, and has answered them all once it
    // answers one sent after that (the ask travels in this thread's lane, the requests in the
    // requester's: only a message sent after the last request was taken is handled after it).
    for (auto& r : responders) {
      ASSERT_TRUE(troupe::test::eventually(
          [&] { return r.metrics().processed >= static_cast<std::size_t>(requests / 2); }, 30s));
      ASSERT_TRUE(ask(r, increment{0}, 10s));
      caf::anon_send_exit(r.actor(), caf::exit_reason::user_shutdown);
    }
    EXPECT_EQ(delivered->load(), delivered_before_quit);
    EXPECT_EQ(delivered->load() + static_cast<int>(rt->dead_letters()->count() - before), requests);
  }
}

TEST_F(LateReplies, AReplyAfterItsRequestTimedOutIsADeadLetterOfTheLiveRequester) {
  auto gate = std::make_shared<std::latch>(1);
  auto c = spawn_calc(*rt, gate);
  auto timed_out = std::make_shared<std::promise<caf::error>>();
  mailbox_options opts;
  opts.name = "requester";
  auto requester = spawn_mailbox<go>(*rt, opts, [c, timed_out](auto* self) {
                     return handlers{[self, c, timed_out](go&) {
                       request(self, c, stall{}, 20ms)
                           .then([](int64_t) {},
                                 [timed_out](caf::error e) { timed_out->set_value(std::move(e)); });
                     }};
                   }).value();
  EXPECT_TRUE(requester.send(go{}));
  auto outcome = timed_out->get_future();
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(outcome.get(), mailbox_errc::request_timeout);
  EXPECT_EQ(rt->dead_letters()->count(), 0u) << "nothing is late yet";
  gate->count_down(); // the answer now reaches a requester that no longer waits for it
  auto letter = log->first();
  ASSERT_TRUE(letter) << "the late reply was dropped without a dead letter";
  EXPECT_EQ(letter->receiver, "requester");
  EXPECT_EQ(letter->message_type, typeid(int64_t).name());
  EXPECT_EQ(letter->reason, caf::sec::unexpected_response);
  caf::anon_send_exit(c.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(requester.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(LateReplies, AReplyToATerminatedCafActorIsADeadLetter) {
  auto letter = late_reply_after([&](const calc& c) {
    return rt->spawn([c](caf::event_based_actor* self) -> caf::behavior {
      request(self, c, stall{}, 10s).then([](int64_t) {}, [](caf::error) {});
      self->quit();
      return {[](caf::ok_atom) {}};
    });
  });
  ASSERT_TRUE(letter) << "the late reply was dropped without a dead letter";
  EXPECT_EQ(letter->message_type, typeid(int64_t).name());
  EXPECT_EQ(letter->reason, mailbox_errc::receiver_dead);
}
