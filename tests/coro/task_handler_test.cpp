// Coroutine handlers of typed mailboxes: answering, interleaving, lifetime and crashes.

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

struct twice_plus_one {
  int64_t x = 0;
  using reply_type = int64_t;
};

struct fail_odd {
  int64_t x = 0;
  using reply_type = int64_t;
};

struct notice {
  int64_t x = 0;
};

mailbox<add_one> spawn_adder(runtime& rt) {
  return spawn_mailbox<add_one>(rt, {},
                                [](auto*) { return handlers{[](add_one& m) { return m.x + 1; }}; })
      .value();
}

class coro_handler : public test::runtime_fixture {};

TEST_F(coro_handler, HandlerTaskAnswersTheRequestWhenItFinishes) {
  auto adder = spawn_adder(*rt);
  auto front = spawn_mailbox<twice_plus_one>(*rt, {}, [adder](auto*) {
                 return handlers{[adder](twice_plus_one m) -> task<int64_t> {
                   auto r = co_await coro::request(adder, add_one{m.x * 2}, 5s);
                   co_return r ? *r : -1;
                 }};
               }).value();
  auto n = ask(front, twice_plus_one{20}, 5s);
  ASSERT_TRUE(n) << to_string(n.error());
  EXPECT_EQ(*n, 41);
  caf::anon_send_exit(front.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(adder.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(coro_handler, ExpectedTaskAnswersWithItsError) {
  auto front = spawn_mailbox<fail_odd>(*rt, {}, [](auto*) {
                 return handlers{[](fail_odd m) -> task<caf::expected<int64_t>> {
                   co_await coro::sleep_for(1ms);
                   if (m.x % 2 != 0)
                     co_return caf::make_error(caf::sec::invalid_argument);
                   co_return m.x / 2;
                 }};
               }).value();
  auto even = ask(front, fail_odd{8}, 5s);
  ASSERT_TRUE(even);
  EXPECT_EQ(*even, 4);
  auto odd = ask(front, fail_odd{7}, 5s);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error(), caf::sec::invalid_argument);
  caf::anon_send_exit(front.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(coro_handler, VoidTaskRunsForAPlainMessage) {
  auto seen = std::make_shared<std::atomic<int64_t>>(0);
  auto front = spawn_mailbox<notice>(*rt, {}, [seen](auto*) {
                 return handlers{[seen](notice m) -> task<> {
                   co_await coro::sleep_for(1ms);
                   seen->store(m.x);
                 }};
               }).value();
  ASSERT_TRUE(front.send(notice{9}));
  EXPECT_TRUE(test::eventually([&] { return seen->load() == 9; }));
  caf::anon_send_exit(front.actor(), caf::exit_reason::user_shutdown);
}

// -- interleaving ---------------------------------------------------------------------------

struct slow {
  using reply_type = caf::unit_t;
  bool sequential = false;
};
struct quick {
  using reply_type = caf::unit_t;
};
struct get_log {
  using reply_type = std::vector<std::string>;
};

using logger_box = mailbox<slow, quick, get_log>;

logger_box spawn_logger(runtime& rt, caf::actor gate) {
  return spawn_mailbox<slow, quick, get_log>(
             rt, {},
             [gate](auto*) {
               auto log = std::make_shared<std::vector<std::string>>();
               return handlers{
                   [gate, log](slow m) -> task<> {
                     if (m.sequential)
                       co_await coro::sequential;
                     log->push_back("slow started");
                     co_await coro::request_actor<int>(gate, 10s, 1);
                     log->push_back("slow done");
                   },
                   [log](quick) { log->push_back("quick"); },
                   [log](get_log) { return *log; },
               };
             })
      .value();
}

TEST_F(coro_handler, ReentrantByDefaultTheActorHandlesOtherMessagesWhileSuspended) {
  auto gate = rt->spawn(test::gate_actor);
  auto box = spawn_logger(*rt, gate);
  auto slow_done = test::future_of(ask_async(box, slow{false}));
  // Answered while `slow` waits for the gate, which the test has not released yet.
  ASSERT_TRUE(ask(box, quick{}, 5s));
  caf::anon_send(gate, release_atom::value);
  ASSERT_EQ(slow_done.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(slow_done.get());
  auto log = ask(box, get_log{}, 5s);
  ASSERT_TRUE(log);
  EXPECT_EQ(*log, (std::vector<std::string>{"slow started", "quick", "slow done"}));
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

TEST_F(coro_handler, SequentialHandlerHoldsTheMailboxUntilItFinishes) {
  auto gate = rt->spawn(test::gate_actor);
  auto box = spawn_logger(*rt, gate);
  ASSERT_TRUE(box.send(slow{true}));
  auto quick_done = test::future_of(ask_async(box, quick{}));
  caf::anon_send(gate, release_atom::value);
  ASSERT_EQ(quick_done.wait_for(5s), std::future_status::ready);
  auto log = ask(box, get_log{}, 5s);
  ASSERT_TRUE(log);
  EXPECT_EQ(*log, (std::vector<std::string>{"slow started", "slow done", "quick"}));
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

// -- lifetime -------------------------------------------------------------------------------

struct hang {
  using reply_type = int64_t;
};

TEST_F(coro_handler, StoppedActorDestroysEverySuspendedFrameAndNothingResumes) {
  constexpr int n = 16;
  auto gate = rt->spawn(test::gate_actor);
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto box = spawn_mailbox<hang>(*rt, {}, [gate, frames, resumed](auto*) {
               return handlers{[gate, frames, resumed](hang) -> task<int64_t> {
                 probe p{*frames};
                 auto r = co_await coro::request_actor<int>(gate, caf::infinite, 1);
                 resumed->fetch_add(1);
                 co_return r ? *r : -1;
               }};
             }).value();
  std::vector<std::future<caf::expected<int64_t>>> replies;
  for (int i = 0; i < n; ++i)
    replies.push_back(test::future_of(ask_async(box, hang{})));
  ASSERT_TRUE(test::eventually([&] { return frames->made.load() == n; }));
  EXPECT_EQ(frames->gone.load(), 0);
  test::exit_watch watch{sys(), box.actor()};
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  ASSERT_TRUE(watch.next_down()) << "no down message";
  EXPECT_EQ(frames->gone.load(), n);
  for (auto& f : replies) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
  }
  // The gate answers now: the actor is gone, nothing may resume.
  test::release_gate_and_sync(sys(), gate);
  EXPECT_EQ(resumed->load(), 0);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

struct explode {
  using reply_type = int64_t;
};

TEST_F(coro_handler, ExceptionEscapingAHandlerTaskCrashesTheActorWithHandlerThrew) {
  auto box = spawn_mailbox<explode>(*rt, {}, [](auto*) {
               return handlers{[](explode) -> task<int64_t> {
                 co_await coro::sleep_for(1ms);
                 throw std::runtime_error("exploded on purpose");
               }};
             }).value();
  test::exit_watch watch{sys(), box.actor()};
  auto r = ask(box, explode{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw);
  EXPECT_NE(to_string(r.error()).find("exploded on purpose"), std::string::npos);
  auto reason = watch.exit_reason();
  EXPECT_EQ(reason, mailbox_errc::handler_threw);
  EXPECT_NE(to_string(reason).find("exploded on purpose"), std::string::npos);
}

TEST_F(coro_handler, SupervisorRestartsAnActorWhoseHandlerTaskThrew) {
  auto latest = std::make_shared<test::latest_child<mailbox<explode>>>();
  supervisor_spec spec;
  spec.name = "coro_sup";
  child_spec exploder;
  exploder.id = "exploder";
  exploder.start = [latest](const child_context& ctx) -> started_child {
    return latest->record(spawn_mailbox<explode>(ctx.rt, {}, [](auto*) {
      return handlers{[](explode) -> task<int64_t> {
        co_await coro::sleep_for(1ms);
        throw std::runtime_error("exploded under supervision");
      }};
    }));
  };
  spec.children.push_back(std::move(exploder));
  auto sup = start_supervisor(*rt, std::move(spec));
  ASSERT_TRUE(sup) << render(sup.error());
  auto first = latest->get();
  auto r = ask(first, explode{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw);
  ASSERT_TRUE(test::eventually([&] { return latest->starts.load() == 2; }));
  auto children = sup->which_children();
  ASSERT_TRUE(children);
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].restarts, 1u);
  EXPECT_FALSE(sup->stop(5s));
}

} // namespace
