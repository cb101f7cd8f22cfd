// Task actors: a body that pulls from its own inbox. Order, requests answered through the
// received message's promise, the mailbox's bound while the body is busy, the close, the body's
// end and its exceptions (under a supervisor too), a stop while suspended, and affinity.

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

struct put {
  int key = 0;
  int value = 0;
};

struct get {
  int key = 0;
  using reply_type = int;
};

using store_box = mailbox<get, put>;

class task_actor_test : public test::runtime_fixture {};

// A key-value store written as a loop; it also logs every message in the order it took them.
auto store_body(std::shared_ptr<std::vector<std::string>> log) {
  return [log](inbox<get, put>& in) -> task<void> {
    std::map<int, int> values;
    while (auto m = co_await in.recv()) {
      if (auto* g = m->get_if<get>()) {
        log->push_back("get " + std::to_string(g->key));
        m->promise<get>().deliver(values[g->key]);
      } else if (auto* p = m->get_if<put>()) {
        log->push_back("put " + std::to_string(p->key));
        values[p->key] = p->value;
      }
    }
  };
}

TEST_F(task_actor_test, TheBodyTakesMessagesInMailboxOrderAndAnswersRequests) {
  auto log = std::make_shared<std::vector<std::string>>();
  auto box = spawn_task_actor<get, put>(*rt, {}, store_body(log)).value();
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(box.send(put{i, i * 10}));
  for (int i = 0; i < 100; i += 33) {
    auto r = ask(box, get{i}, 5s);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, i * 10);
  }
  // The log is written by the body only; every ask above was answered after its put.
  ASSERT_EQ(log->size(), 104u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ((*log)[static_cast<std::size_t>(i)], "put " + std::to_string(i));
  EXPECT_EQ((*log)[100], "get 0");
  EXPECT_EQ((*log)[103], "get 99");
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(task_actor_test, MessagesWaitInTheBoundedMailboxWhileTheBodyIsBusy) {
  auto gate = rt->spawn(test::gate_actor);
  mailbox_options opts;
  opts.capacity = 2;
  opts.overflow = overflow_policy::fail;
  auto taken = std::make_shared<std::atomic<int>>(0);
  auto box = spawn_task_actor<put>(*rt, opts, [gate, taken](inbox<put>& in) -> task<void> {
               // Busy before its first recv: nothing is taken out of the mailbox meanwhile.
               co_await coro::request_actor<int>(gate, caf::infinite, 1);
               while (auto m = co_await in.recv())
                 taken->fetch_add(1);
             }).value();
  ASSERT_TRUE(box.send(put{1, 1}));
  ASSERT_TRUE(box.send(put{2, 2}));
  auto third = box.send(put{3, 3});
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), mailbox_errc::mailbox_full);
  EXPECT_EQ(box.metrics().depth, 2u);
  EXPECT_EQ(taken->load(), 0);
  caf::anon_send(gate, release_atom::value);
  ASSERT_TRUE(test::eventually([&] { return taken->load() == 2; }));
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

TEST_F(task_actor_test, ClosingTheMailboxEndsTheLoopAfterTheLastMessageAndTheActorStopsNormally) {
  auto log = std::make_shared<std::vector<std::string>>();
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto box =
      spawn_task_actor<get, put>(*rt, {}, [log, finished](inbox<get, put>& in) -> task<void> {
        co_await store_body(log)(in);
        finished->store(true);
      }).value();
  test::exit_watch watch{sys(), box.actor()};
  ASSERT_TRUE(box.send(put{1, 1}));
  ASSERT_TRUE(box.send(put{2, 2}));
  box.close();
  auto reason = watch.exit_reason();
  EXPECT_FALSE(reason) << to_string(reason);
  EXPECT_TRUE(finished->load());
  EXPECT_EQ(*log, (std::vector<std::string>{"put 1", "put 2"}));
  auto late = box.send(put{3, 3});
  ASSERT_FALSE(late);
}

TEST_F(task_actor_test, TheActorStopsNormallyWhenTheBodyReturns) {
  auto box = spawn_task_actor<put>(*rt, {}, [](inbox<put>& in) -> task<void> {
               auto first = co_await in.recv(); // one message, then done
               (void)first;
             }).value();
  test::exit_watch watch{sys(), box.actor()};
  ASSERT_TRUE(box.send(put{1, 1}));
  auto reason = watch.exit_reason();
  EXPECT_FALSE(reason) << to_string(reason);
}

TEST_F(task_actor_test, AnExceptionEscapingTheBodyCrashesTheActorWithHandlerThrew) {
  auto box = spawn_task_actor<get>(*rt, {}, [](inbox<get>& in) -> task<void> {
               auto m = co_await in.recv();
               (void)m; // dropped unanswered by the throw below: broken_promise
               throw std::runtime_error("body exploded");
             }).value();
  test::exit_watch watch{sys(), box.actor()};
  auto r = ask(box, get{1}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::broken_promise);
  auto reason = watch.exit_reason();
  EXPECT_EQ(reason, mailbox_errc::handler_threw);
  EXPECT_NE(to_string(reason).find("body exploded"), std::string::npos);
}

TEST_F(task_actor_test, AStopWhileSuspendedDestroysTheBodyAndNothingResumesLater) {
  auto gate = rt->spawn(test::gate_actor);
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto box = spawn_task_actor<get>(*rt, {}, [gate, frames, resumed](inbox<get>& in) -> task<void> {
               probe p{*frames};
               while (auto m = co_await in.recv()) {
                 // Keeps the request's promise across a suspension that never ends.
                 auto promise = m->promise<get>();
                 auto r = co_await coro::request_actor<int>(gate, caf::infinite, 1);
                 resumed->fetch_add(1);
                 promise.deliver(r ? *r : -1);
               }
             }).value();
  auto done = test::future_of(ask_async(box, get{1}));
  // The body took the request and waits for the gate: the mailbox is empty, the frame alive.
  ASSERT_TRUE(test::eventually([&] { return frames->made.load() == 1; }));
  test::exit_watch watch{sys(), box.actor()};
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
  ASSERT_TRUE(watch.next_down()) << "no down message";
  EXPECT_EQ(frames->gone.load(), 1);
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  auto r = done.get();
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error() == mailbox_errc::broken_promise || r.error() == mailbox_errc::receiver_dead)
      << to_string(r.error());
  test::release_gate_and_sync(sys(), gate);
  EXPECT_EQ(resumed->load(), 0);
  caf::anon_send_exit(gate, caf::exit_reason::user_shutdown);
}

TEST_F(task_actor_test, ASelectBetweenTheInboxATimerAndATokenLosesNoMessage) {
  cancellation_token stop;
  auto log = std::make_shared<std::vector<std::string>>();
  auto ticked = std::make_shared<std::promise<void>>();
  auto ticked_future = ticked->get_future();
  auto box =
      spawn_task_actor<get, put>(*rt, {}, [stop, log, ticked](inbox<get, put>& in) -> task<void> {
        int ticks = 0;
        std::map<int, int> values;
        for (;;) {
          auto next =
              co_await coro::first_of(in.recv(), coro::sleep_for(1ms), coro::cancelled(stop));
          if (next.index() == 2) {
            log->push_back("cancelled");
            co_return;
          }
          if (next.index() == 1) {
            // The recv that lost the race gave its turn back: nothing was taken.
            if (++ticks == 3)
              ticked->set_value();
            continue;
          }
          auto& m = std::get<0>(next);
          if (!m)
            co_return;
          if (auto* p = m->get_if<put>()) {
            values[p->key] = p->value;
            log->push_back("put " + std::to_string(p->key));
          } else {
            m->promise<get>().deliver(values[m->get_if<get>()->key]);
          }
        }
      }).value();
  ASSERT_EQ(ticked_future.wait_for(10s), std::future_status::ready);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(box.send(put{i, i + 100}));
  auto r = ask(box, get{19}, 5s);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(*r, 119);
  test::exit_watch watch{sys(), box.actor()};
  stop.cancel();
  auto reason = watch.exit_reason();
  EXPECT_FALSE(reason) << to_string(reason);
  ASSERT_EQ(log->size(), 21u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ((*log)[static_cast<std::size_t>(i)], "put " + std::to_string(i));
  EXPECT_EQ(log->back(), "cancelled");
}

TEST_F(task_actor_test, ASupervisedTaskActorThatCrashedRunsItsBodyAgain) {
  auto latest = std::make_shared<test::latest_child<mailbox<get>>>();
  auto bodies = std::make_shared<std::atomic<int>>(0);
  supervisor_spec spec;
  spec.name = "task_actor_sup";
  child_spec worker;
  worker.id = "looper";
  worker.start = [latest, bodies](const child_context& ctx) -> started_child {
    return latest->record(spawn_task_actor<get>(ctx.rt, {}, [bodies](inbox<get>& in) -> task<void> {
      bodies->fetch_add(1);
      while (auto m = co_await in.recv()) {
        auto& g = std::get<get>(m->message());
        if (g.key < 0)
          throw std::runtime_error("negative key");
        m->promise<get>().deliver(g.key * 2);
      }
    }));
  };
  spec.children.push_back(std::move(worker));
  auto sup = start_supervisor(*rt, std::move(spec));
  ASSERT_TRUE(sup) << render(sup.error());
  auto first = latest->get();
  auto ok = ask(first, get{21}, 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  auto bad = ask(first, get{-1}, 5s);
  ASSERT_FALSE(bad);
  ASSERT_TRUE(test::eventually([&] { return latest->starts.load() == 2; }));
  auto again = ask(latest->get(), get{5}, 5s);
  ASSERT_TRUE(again) << to_string(again.error());
  EXPECT_EQ(*again, 10);
  EXPECT_EQ(bodies->load(), 2);
  auto children = sup->which_children();
  ASSERT_TRUE(children);
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].restarts, 1u);
  EXPECT_FALSE(sup->stop(5s));
}

// Every step of the body runs in the actor's turn: never two at once, never on a foreign
// thread, with 1, 2 and 8 workers.
class task_actor_affinity : public test::with_workers<> {};

TEST_P(task_actor_affinity, EveryStepOfTheBodyRunsOnTheActor) {
  // Every step of the body is a resumption of its coroutine.
  auto pr = std::make_shared<affinity_probe>();
  pr->foreign();
  auto box = spawn_task_actor<get, put>(*rt, {}, [pr](inbox<get, put>& in) -> task<void> {
               int total = 0;
               while (auto m = co_await in.recv()) {
                 pr->enter(true), pr->leave();
                 if (auto* p = m->get_if<put>()) {
                   total += p->value;
                   co_await coro::sleep_for(10us);
                   pr->enter(true), pr->leave();
                   auto mark_foreign = [pr] { pr->foreign(); };
                   co_await coro::spawn_blocking(mark_foreign);
                   pr->enter(true), pr->leave();
                 } else {
                   m->promise<get>().deliver(total);
                 }
               }
             }).value();
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t)
    senders.emplace_back([&box] {
      for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(box.send(put{i, 1}));
    });
  for (auto& s : senders)
    s.join();
  auto sum = ask(box, get{0}, 30s);
  ASSERT_TRUE(sum) << to_string(sum.error());
  EXPECT_EQ(*sum, 100);
  EXPECT_EQ(pr->overlaps.load(), 0);
  std::lock_guard guard{pr->mtx};
  for (auto& id : pr->resume_threads)
    EXPECT_EQ(pr->foreign_threads.count(id), 0u) << "a step of the body ran on a foreign thread";
  if (GetParam() == 1) {
    EXPECT_EQ(pr->resume_threads.size(), 1u);
  }
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
}

INSTANTIATE_TEST_SUITE_P(Workers, task_actor_affinity, ::testing::Values(1, 2, 8));

} // namespace
