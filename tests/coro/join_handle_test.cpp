// Spawned tasks and task scopes: values, errors, exceptions, abort and kill through the
// join_handle, from threads and from tasks; a scope's try_join, its cancellation of siblings,
// and that nothing outlives a scope or its parent actor.

#include <atomic>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

class join_handle_test : public test::coro_fixture {
public:
  caf::actor gate = keep(rt->spawn(test::gate_actor));

  // A task that waits for the gate (forever, unless released), counting its frame.
  auto gated(std::shared_ptr<live_counter> frames, std::shared_ptr<std::atomic<int>> resumed) {
    return [g = gate, frames, resumed]() -> task<int> {
      probe p{*frames};
      auto r = co_await coro::request_actor<int>(g, caf::infinite, 5);
      resumed->fetch_add(1);
      co_return r ? *r : -1;
    };
  }

  // The gate's held replies are sent: nothing they would resume may have run.
  void expect_nothing_resumes_after_the_release(const std::atomic<int>& resumed) {
    test::release_gate_and_sync(sys(), gate);
    EXPECT_EQ(resumed.load(), 0);
  }
};

TEST_F(join_handle_test, JoinFromAThreadYieldsTheValueAndTheTaskActorEnds) {
  auto h = spawn_task(*rt, []() -> task<int> {
             co_await coro::sleep_for(1ms);
             co_return 42;
           }).value();
  test::exit_watch watch{sys(), h.actor()};
  auto r = h.join(10s);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(*r, 42);
  EXPECT_FALSE(h); // the outcome is handed out once
  auto reason = watch.exit_reason();
  EXPECT_FALSE(reason) << to_string(reason);
}

TEST_F(join_handle_test, AVoidTaskYieldsUnitAndAnExpectedTaskYieldsItsError) {
  auto ok = spawn_task(*rt, []() -> task<void> { co_return; }).value();
  auto r = ok.join(10s);
  ASSERT_TRUE(r) << to_string(r.error());
  auto bad = spawn_task(*rt, []() -> task<caf::expected<std::string>> {
               co_return make_error(mailbox_errc::receiver_dead);
             }).value();
  auto e = bad.join(10s);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), mailbox_errc::receiver_dead);
  auto good = spawn_task(*rt, []() -> task<caf::expected<std::string>> {
                co_return std::string{"fine"};
              }).value();
  auto g = good.join(10s);
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, "fine");
}

TEST_F(join_handle_test, AThrowingBodyYieldsHandlerThrewAndCrashesItsActor) {
  auto h = spawn_task(*rt, []() -> task<int> {
             co_await coro::sleep_for(1ms);
             throw std::runtime_error("task exploded");
           }).value();
  test::exit_watch watch{sys(), h.actor()};
  auto r = h.join(10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw);
  EXPECT_NE(to_string(r.error()).find("task exploded"), std::string::npos);
  EXPECT_EQ(watch.exit_reason(), mailbox_errc::handler_threw);
}

TEST_F(join_handle_test, AbortDestroysTheSuspendedTaskAndYieldsCancelled) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto h = spawn_task(*rt, gated(frames, resumed)).value();
  ASSERT_TRUE(test::eventually([&] { return frames->made.load() == 1; }));
  EXPECT_FALSE(h.finished());
  auto waited = h.join(1ms); // a wait that runs out leaves the handle as it was
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error(), runtime_errc::timeout);
  ASSERT_TRUE(h);
  h.abort();
  auto r = h.join(10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), runtime_errc::cancelled);
  EXPECT_EQ(frames->gone.load(), 1);
  expect_nothing_resumes_after_the_release(*resumed);
}

TEST_F(join_handle_test, AKilledTaskYieldsCancelled) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto h = spawn_task(*rt, gated(frames, resumed)).value();
  ASSERT_TRUE(test::eventually([&] { return frames->made.load() == 1; }));
  caf::anon_send_exit(h.actor(), caf::exit_reason::kill);
  auto r = h.join(10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), runtime_errc::cancelled);
}

struct await_task {
  using reply_type = int;
};

TEST_F(join_handle_test, ATaskAwaitsAHandleAndResumesOnItsOwnActor) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto box = spawn_mailbox<await_task>(*rt, {}, [&](mailbox_self<await_task>* self) {
               return handlers{[this, self, frames, resumed](await_task) -> task<int> {
                 auto h = spawn_task(*rt, gated(frames, resumed)).value();
                 caf::anon_send(gate, release_atom::value);
                 auto r = co_await std::move(h);
                 // Resumed in this actor's turn: its own coroutine host is the current one.
                 if (self->coroutines().owned_frames() != 1)
                   co_return -100;
                 co_return r ? *r + 1 : -1;
               }};
             }).value();
  auto r = ask(box, await_task{}, 10s);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(*r, 6);
  EXPECT_EQ(resumed->load(), 1);
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(join_handle_test, AWaitThatLosesASelectKeepsTheHandle) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto out = run([this, frames, resumed]() -> task<std::string> {
    auto h = spawn_task(*rt, gated(frames, resumed)).value();
    auto first = co_await coro::first_of(h.wait(), coro::sleep_for(1ms));
    if (first.index() != 1 || !h || h.finished())
      co_return "the timer must win and the handle stay usable";
    caf::anon_send(gate, release_atom::value);
    auto r = co_await h.wait(); // the same handle, awaited again
    co_return show(r);
  });
  EXPECT_EQ(out, "5");
}

TEST_F(join_handle_test, ASecondJoinOfAScopeWhileOneWaitsIsRefused) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto out = run([this, frames, resumed]() -> task<std::string> {
    task_scope scope{*rt};
    (void)scope.spawn(gated(frames, resumed));
    auto second_join = [&scope]() -> task<std::string> {
      try {
        co_await scope.join();
        co_return "joined";
      } catch (const std::logic_error&) {
        co_return "refused";
      }
    };
    auto both = co_await coro::first_of(scope.join(), second_join());
    co_return both.index() == 1 ? std::get<1>(both) : std::string{"first join won"};
  });
  EXPECT_EQ(out, "refused");
}

// -- task_scope ------------------------------------------------------------------------------
//
// Each scope lives in the body of a runner actor's coroutine handler (test::spawn_runner): the
// scope's parent.

TEST_F(join_handle_test, AScopeJoinsEveryChildAndTheirValuesAreReadyAfterwards) {
  auto joined = run([this]() -> task<std::string> {
    task_scope scope{*rt};
    std::vector<join_handle<int>> hs;
    for (int i = 1; i <= 5; ++i)
      hs.push_back(scope
                       .spawn([i]() -> task<int> {
                         co_await coro::sleep_for(std::chrono::microseconds{i * 100});
                         co_return i* i;
                       })
                       .value());
    auto err = co_await scope.join();
    if (err)
      co_return "error: " + to_string(err);
    std::string out = std::to_string(scope.running());
    for (auto& h : hs) {
      if (!h.finished())
        co_return "not finished";
      auto v = co_await std::move(h);
      out += " " + show(v);
    }
    co_return out;
  });
  EXPECT_EQ(joined, "0 1 4 9 16 25");
}

TEST_F(join_handle_test, TheFirstFailureEndsTheJoinAndCancelsTheSiblings) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto box = keep(test::spawn_runner(*rt, [this, frames, resumed]() -> task<std::string> {
    task_scope scope{*rt};
    auto slow1 = scope.spawn(gated(frames, resumed)).value();
    auto slow2 = scope.spawn(gated(frames, resumed)).value();
    // Fails once both siblings are running (a fixed delay lost that race on a loaded machine:
    // the siblings were cancelled before their first step, and no frame was made).
    auto failing = scope
                       .spawn([frames]() -> task<caf::expected<int>> {
                         while (frames->made.load() < 2)
                           co_await coro::sleep_for(1ms);
                         co_return make_error(mailbox_errc::mailbox_full);
                       })
                       .value();
    auto err = co_await scope.join();
    std::string out = err == mailbox_errc::mailbox_full ? "mailbox_full" : "other";
    // The siblings were aborted: their outcome is cancelled.
    for (auto* h : {&slow1, &slow2}) {
      auto v = co_await std::move(*h);
      out += v ? std::string{" value"}
               : (v.error() == runtime_errc::cancelled ? " cancelled" : " other");
    }
    // After the failure the scope refuses new children with that failure's error.
    auto late = scope.spawn([]() -> task<int> { co_return 1; });
    out += late ? " late spawned"
                : (late.error() == mailbox_errc::mailbox_full ? " late refused" : " late other");
    co_return out;
  }));
  auto r = ask(box, run_body{}, 10s);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_NE(r->find("mailbox_full"), std::string::npos) << *r;
  EXPECT_NE(r->find(" cancelled cancelled"), std::string::npos) << *r;
  EXPECT_NE(r->find(" late refused"), std::string::npos) << *r;
  EXPECT_EQ(frames->made.load(), 2);
  EXPECT_EQ(frames->gone.load(), 2);
  expect_nothing_resumes_after_the_release(*resumed);
}

TEST_F(join_handle_test, NothingOutlivesAScopeWhoseParentReturnedEarly) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto runners = std::make_shared<std::vector<caf::actor>>();
  auto box = keep(test::spawn_runner(*rt, [this, frames, resumed, runners]() -> task<std::string> {
    task_scope scope{*rt};
    for (int i = 0; i < 3; ++i) {
      auto h = scope.spawn(gated(frames, resumed)).value();
      runners->push_back(h.actor());
    }
    co_return "left early"; // no join: the scope aborts the three children
  }));
  auto r = ask(box, run_body{}, 10s);
  ASSERT_TRUE(r);
  test::exit_watch watch{sys()};
  for (auto& a : *runners)
    watch.monitor(a);
  int downs = 0;
  for (int i = 0; i < 3; ++i)
    downs += watch.next_down() ? 1 : 0;
  EXPECT_EQ(downs, 3);
  EXPECT_EQ(frames->gone.load(), frames->made.load());
  expect_nothing_resumes_after_the_release(*resumed);
}

TEST_F(join_handle_test, StoppingTheParentWhileItJoinsCancelsTheChildren) {
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto runners = std::make_shared<std::vector<caf::actor>>();
  auto box = keep(test::spawn_runner(*rt, [this, frames, resumed, runners]() -> task<std::string> {
    task_scope scope{*rt};
    for (int i = 0; i < 2; ++i)
      runners->push_back(scope.spawn(gated(frames, resumed)).value().actor());
    auto err = co_await scope.join(); // never: the parent is stopped first
    co_return to_string(err);
  }));
  auto done = test::future_of(ask_async(box, run_body{}));
  ASSERT_TRUE(test::eventually([&] { return frames->made.load() == 2; }));
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  auto r = done.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
  ASSERT_TRUE(test::eventually([&] { return frames->gone.load() == 2; }));
  expect_nothing_resumes_after_the_release(*resumed);
}

} // namespace
