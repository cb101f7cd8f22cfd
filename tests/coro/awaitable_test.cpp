// The awaitables of troupe::coro: value, error and timeout paths; gather, gather_all_or_fail
// and first_of with their cancellation; resumption on the owning actor with 1, 2 and 8 workers.

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

struct reject {
  using reply_type = int64_t;
};

struct never {
  using reply_type = int64_t;
};

using backend_box = mailbox<add_one, reject, never>;

// add_one answers, reject fails with invalid_argument, never stays unanswered until the gate
// opens (a coroutine handler awaiting it).
backend_box spawn_backend(runtime& rt, caf::actor gate) {
  return spawn_mailbox<add_one, reject, never>(
             rt, {},
             [gate](auto*) {
               return handlers{
                   [](add_one& m) { return m.x + 1; },
                   [](reject&) -> caf::expected<int64_t> {
                     return caf::make_error(caf::sec::invalid_argument);
                   },
                   [gate](never) -> task<int64_t> {
                     auto r = co_await coro::request_actor<int>(gate, caf::infinite, 7);
                     co_return r ? *r : -1;
                   },
               };
             })
      .value();
}

// A CAF actor: `int` answered with x * 10; a string answered with an error.
caf::behavior caf_service() {
  return {
      [](int x) { return x * 10; },
      [](const std::string&) -> caf::result<int> {
        return caf::make_error(caf::sec::invalid_argument);
      },
  };
}

class coro_awaitables : public test::coro_fixture {};

// -- requests to typed mailboxes ------------------------------------------------------------

TEST_F(coro_awaitables, MailboxRequestYieldsValueErrorTimeoutAndReceiverDead) {
  auto gate = keep(rt->spawn(test::gate_actor));
  auto backend = keep(spawn_backend(*rt, gate));
  auto dead = spawn_backend(*rt, gate);
  caf::anon_send_exit(dead.actor(), caf::exit_reason::kill);
  ASSERT_TRUE(test::eventually([&] { return dead.core()->closed(); }));
  auto out = run([=]() -> task<std::string> {
    auto v = co_await coro::request(backend, add_one{41}, 5s);
    auto e = co_await coro::request(backend, reject{}, 5s);
    auto t = co_await coro::request(backend, never{}, 20ms);
    auto d = co_await coro::request(dead, add_one{1}, 5s);
    co_return show(v) + "|" + show(e) + "|" + show(t) + "|" + show(d);
  });
  EXPECT_EQ(out, "42|" + to_string(caf::make_error(caf::sec::invalid_argument)) + "|" +
                     to_string(make_error(mailbox_errc::request_timeout)) + "|" +
                     to_string(make_error(mailbox_errc::receiver_dead)));
}

// -- requests to CAF actors -----------------------------------------------------------------

TEST_F(coro_awaitables, CafRequestYieldsValueErrorAndTimeout) {
  auto service = keep(rt->spawn(caf_service));
  auto gate = keep(rt->spawn(test::gate_actor));
  auto out = run([=]() -> task<std::string> {
    auto v = co_await coro::request_actor<int>(service, 5s, 4);
    auto e = co_await coro::request_actor<int>(service, 5s, std::string{"x"});
    auto t = co_await coro::request_actor<int>(gate, 20ms, 1);
    auto str = [](const caf::expected<int>& r) {
      return r ? std::to_string(*r) : to_string(r.error());
    };
    co_return str(v) + "|" + str(e) + "|" + str(t);
  });
  EXPECT_EQ(out, "40|" + to_string(caf::make_error(caf::sec::invalid_argument)) + "|" +
                     to_string(make_error(mailbox_errc::request_timeout)));
}

// -- timers ---------------------------------------------------------------------------------

TEST_F(coro_awaitables, SleepResumesNoEarlierThanItsDelay) {
  auto out = run([]() -> task<std::string> {
    auto start = std::chrono::steady_clock::now();
    co_await coro::sleep_for(20ms);
    auto slept = std::chrono::steady_clock::now() - start;
    co_await coro::sleep_until(caf::actor_clock::clock_type::now() + 10ms);
    auto total = std::chrono::steady_clock::now() - start;
    co_await coro::sleep_for(-5ms); // in the past: resumes at once, through the actor
    co_return std::string{slept >= 20ms ? "slept" : "early"} +
        (total >= 30ms ? "|slept" : "|early");
  });
  EXPECT_EQ(out, "slept|slept");
}

// -- blocking work --------------------------------------------------------------------------

TEST_F(coro_awaitables, SpawnBlockingYieldsValueVoidAndJobFailed) {
  auto out = run([]() -> task<std::string> {
    auto answer = [] { return 6 * 7; };
    auto nothing = [] {};
    auto fail = []() -> int { throw std::runtime_error("disk gone"); };
    auto v = co_await coro::spawn_blocking(answer);
    auto u = co_await coro::spawn_blocking(nothing);
    auto e = co_await coro::spawn_blocking(fail);
    co_return (v ? std::to_string(*v) : to_string(v.error())) + "|" + (u ? "unit" : "error") + "|" +
        (e ? std::string{"value"}
           : (e.error() == runtime_errc::job_failed ? "job_failed:" : "other:") +
                 to_string(e.error()));
  });
  EXPECT_EQ(out.substr(0, 19), "42|unit|job_failed:") << out;
  EXPECT_NE(out.find("disk gone"), std::string::npos) << out;
}

// -- gather, gather_all_or_fail, first_of ---------------------------------------------------

TEST_F(coro_awaitables, GatherYieldsEveryResultInInputOrder) {
  auto gate = keep(rt->spawn(test::gate_actor));
  auto backend = keep(spawn_backend(*rt, gate));
  auto service = keep(rt->spawn(caf_service));
  auto out = run([=]() -> task<std::string> {
    auto [a, b, c, d] = co_await coro::gather(
        coro::request(backend, add_one{1}, 5s), coro::request(backend, reject{}, 5s),
        coro::request_actor<int>(service, 5s, 3), coro::sleep_for(1ms));
    (void)d;
    co_return show(a) + "|" + (b ? "value" : "error") + "|" + std::to_string(c ? *c : -1);
  });
  EXPECT_EQ(out, "2|error|30");
}

TEST_F(coro_awaitables, GatherAllOrFailReturnsTheFirstErrorAndCancelsTheRest) {
  auto gate = keep(rt->spawn(test::gate_actor));
  auto backend = keep(spawn_backend(*rt, gate));
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto slow_branch = [=]() -> task<caf::expected<int64_t>> {
    probe p{*frames};
    auto r = co_await coro::request(backend, never{}, caf::infinite);
    resumed->fetch_add(1);
    co_return r;
  };
  auto runner = keep(test::spawn_runner(*rt, [=]() -> task<std::string> {
    auto ok = co_await coro::gather_all_or_fail(coro::request(backend, add_one{1}, 5s),
                                                coro::request(backend, add_one{2}, 5s));
    auto failed =
        co_await coro::gather_all_or_fail(slow_branch(), coro::request(backend, reject{}, 5s));
    co_return (ok ? std::to_string(std::get<0>(*ok)) + "," + std::to_string(std::get<1>(*ok))
                  : std::string{"error"}) +
        "|" + (failed ? std::string{"value"} : to_string(failed.error()));
  }));
  auto out = ask(runner, run_body{}, 10s);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "2,3|" + to_string(caf::make_error(caf::sec::invalid_argument)));
  // The slow branch was destroyed when the other failed, before its reply existed.
  EXPECT_EQ(frames->made.load(), 1);
  EXPECT_EQ(frames->gone.load(), 1);
  // Its reply arrives now: dropped and counted, nothing resumes.
  caf::anon_send(gate, release_atom::value);
  EXPECT_TRUE(test::eventually([&] { return late_count(runner) == 1; }));
  EXPECT_EQ(resumed->load(), 0);
}

TEST_F(coro_awaitables, FirstOfResumesWithTheWinnerAndCancelsTheLosers) {
  auto gate = keep(rt->spawn(test::gate_actor));
  auto backend = keep(spawn_backend(*rt, gate));
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto loser = [=]() -> task<caf::expected<int64_t>> {
    auto r = co_await coro::request(backend, never{}, caf::infinite);
    resumed->fetch_add(1);
    co_return r;
  };
  auto runner = keep(test::spawn_runner(*rt, [=]() -> task<std::string> {
    // The timer wins against an unanswered request.
    auto a = co_await coro::first_of(loser(), coro::sleep_for(5ms));
    // The request wins against a long timer, which is released.
    auto b = co_await coro::first_of(coro::sleep_for(1h), coro::request(backend, add_one{9}, 5s));
    co_return std::to_string(a.index()) + "|" + std::to_string(b.index()) + ":" +
        show(std::get<1>(b));
  }));
  auto out = ask(runner, run_body{}, 10s);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "1|1:10");
  caf::anon_send(gate, release_atom::value);
  EXPECT_TRUE(test::eventually([&] { return late_count(runner) == 1; }));
  EXPECT_EQ(resumed->load(), 0);
}

// -- affinity -------------------------------------------------------------------------------

struct ping {};
struct run_all {
  using reply_type = std::string;
};

class coro_affinity : public test::with_workers<> {};

TEST_P(coro_affinity, EveryResumptionRunsInTheOwningActorsTurn) {
  auto gate = rt->spawn(test::gate_actor);
  caf::anon_send(gate, release_atom::value);
  auto backend = spawn_backend(*rt, gate);
  auto service = rt->spawn(caf_service);
  auto pr = std::make_shared<affinity_probe>();
  pr->foreign();
  auto box = spawn_mailbox<ping, run_all>(*rt, {}, [=](auto*) {
               return handlers{
                   [pr](ping) {
                     pr->enter(false);
                     pr->leave();
                   },
                   [=](run_all) -> task<std::string> {
                     int steps = 0;
                     for (int round = 0; round < 20; ++round) {
                       co_await coro::request(backend, add_one{round}, 5s);
                       pr->enter(true), ++steps, pr->leave();
                       co_await coro::request(backend, never{}, 5s);
                       pr->enter(true), ++steps, pr->leave();
                       co_await coro::request_actor<int>(service, 5s, round);
                       pr->enter(true), ++steps, pr->leave();
                       co_await coro::sleep_for(100us);
                       pr->enter(true), ++steps, pr->leave();
                       // A named function: g++ 12 destroys a lambda temporary inside a
                       // co_await expression twice (see troupe/coro/task.hpp).
                       auto mark_foreign = [pr] { pr->foreign(); };
                       co_await coro::spawn_blocking(mark_foreign);
                       pr->enter(true), ++steps, pr->leave();
                       co_await coro::gather(coro::request(backend, add_one{1}, 5s),
                                             coro::sleep_for(50us));
                       pr->enter(true), ++steps, pr->leave();
                       co_await coro::first_of(coro::request(backend, add_one{1}, 5s),
                                               coro::sleep_for(1h));
                       pr->enter(true), ++steps, pr->leave();
                     }
                     co_return std::to_string(steps);
                   },
               };
             }).value();
  auto done = test::future_of(ask_async(box, run_all{}));
  // Other messages keep arriving while the coroutine runs.
  test::steady_sender flood{box, ping{}};
  auto ready = done.wait_for(30s) == std::future_status::ready;
  flood.stop();
  ASSERT_TRUE(ready);
  auto out = done.get();
  ASSERT_TRUE(out) << to_string(out.error());
  EXPECT_EQ(*out, "140");
  EXPECT_EQ(pr->overlaps.load(), 0);
  std::lock_guard guard{pr->mtx};
  for (auto& id : pr->resume_threads)
    EXPECT_EQ(pr->foreign_threads.count(id), 0u) << "a resumption ran on a foreign thread";
  if (GetParam() == 1) {
    // One worker: every resumption and every plain handler ran on that worker.
    std::set<std::thread::id> all = pr->handler_threads;
    all.insert(pr->resume_threads.begin(), pr->resume_threads.end());
    EXPECT_EQ(all.size(), 1u);
  }
  for (auto a : {box.actor(), backend.actor(), service, gate})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

INSTANTIATE_TEST_SUITE_P(Workers, coro_affinity, ::testing::Values(1, 2, 8));

} // namespace

namespace {

TEST_F(coro_awaitables, CancellationTokenResumesOnTheActorAndEndsAFirstOf) {
  auto gate = keep(rt->spawn(test::gate_actor));
  auto backend = keep(spawn_backend(*rt, gate));
  cancellation_token already;
  already.cancel();
  cancellation_token later;
  auto cancel_thread = std::make_shared<std::thread::id>();
  auto runner = keep(test::spawn_runner(*rt, [=]() -> task<std::string> {
    co_await coro::cancelled(already); // ready at once
    // Cancelled from a foreign thread while the request is unanswered.
    std::thread canceller{[later, cancel_thread] {
      *cancel_thread = std::this_thread::get_id();
      later.cancel();
    }};
    auto r = co_await coro::first_of(coro::request(backend, never{}, caf::infinite),
                                     coro::cancelled(later));
    auto resumed_on = std::this_thread::get_id();
    canceller.join();
    co_return std::to_string(r.index()) +
        (resumed_on == *cancel_thread ? "|on the cancelling thread" : "|on the actor");
  }));
  auto out = ask(runner, run_body{}, 10s);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "1|on the actor");
}

} // namespace
