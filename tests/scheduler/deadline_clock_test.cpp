// Troupe's actor clock (scheduler/detail/deadline_clock.hpp) on a bare CAF actor system with
// Troupe's coordinator: what it delivers, and that only an earlier entry wakes its thread.

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/scheduler/detail/deadline_clock.hpp"
#include "troupe/scheduler/work_stealing.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::detail::deadline_clock;

struct bare_system {
  static caf::actor_system_config config() {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", 2);
    troupe::work_stealing::install(cfg);
    return cfg;
  }
  caf::actor_system_config cfg = config();
  caf::actor_system sys{cfg};
  deadline_clock& clock = dynamic_cast<deadline_clock&>(sys.clock());
};

// Whether the clock's thread comes to wait until `until` (a poll of the clock's own state,
// given up after 30 s).
bool await_sleeping_until(const deadline_clock& clock, deadline_clock::time_point until) {
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (clock.sleeping_until() != until) {
    if (std::chrono::steady_clock::now() > give_up)
      return false;
    std::this_thread::yield();
  }
  return true;
}

caf::actor silent_actor(caf::actor_system& sys) {
  // Keeps every request's promise, unanswered.
  return sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    auto kept = std::make_shared<std::vector<caf::response_promise>>();
    return {[self, kept](int) { kept->push_back(self->make_response_promise()); }};
  });
}

TEST(DeadlineClock, ARequestThatIsNotAnsweredInTimeFailsWithRequestTimeout) {
  bare_system bare;
  auto silent = silent_actor(bare.sys);
  caf::scoped_actor self{bare.sys};
  caf::error failure;
  self->request(silent, 20ms, 1)
      .receive([](int) { FAIL() << "the silent actor answered"; },
               [&](caf::error& err) { failure = std::move(err); });
  EXPECT_EQ(failure, caf::sec::request_timeout);
  // CAF's actors leave an answered request's timeout scheduled (it is dropped when due), until
  // the actor ends, which cancels its timeouts.
  auto echo = bare.sys.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  std::promise<std::size_t> left;
  auto pending_after = left.get_future();
  auto& clock = bare.clock;
  auto asker = bare.sys.spawn([echo, &left, &clock](caf::event_based_actor* me) -> caf::behavior {
    me->request(echo, std::chrono::seconds{3600}, 7).then([me](int x) {
      EXPECT_EQ(x, 7);
      me->send(me, caf::ok_atom::value);
    });
    return {[me, &left, &clock](caf::ok_atom) {
      left.set_value(clock.pending());
      me->quit();
    }};
  });
  EXPECT_EQ(pending_after.get(), 1u);
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (clock.pending() != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_EQ(clock.pending(), 0u);
  self->send_exit(silent, caf::exit_reason::user_shutdown);
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST(DeadlineClock, ADelayedMessageArrivesWhenDue) {
  bare_system bare;
  caf::scoped_actor self{bare.sys};
  auto sent = bare.clock.now();
  self->delayed_send(self, 20ms, 42);
  self->receive([&](int x) {
    EXPECT_EQ(x, 42);
    EXPECT_GE(bare.clock.now() - sent, 20ms);
  });
  EXPECT_EQ(bare.clock.pending(), 0u);
}

TEST(DeadlineClock, OnlyAnEntryDueBeforeTheOneItWaitsForWakesItsThread) {
  bare_system bare;
  auto& clock = bare.clock;
  auto target = silent_actor(bare.sys);
  auto* actor = caf::actor_cast<caf::abstract_actor*>(target);
  ASSERT_TRUE(await_sleeping_until(clock, deadline_clock::time_point::max()));
  const auto woken = clock.wake_ups();
  const auto now = clock.now();
  const auto in_an_hour = now + 1h;
  // The first entry: the thread waits with nothing scheduled, so it is woken.
  clock.set_request_timeout(in_an_hour, actor, caf::make_message_id(1).response_id());
  EXPECT_EQ(clock.wake_ups(), woken + 1);
  ASSERT_TRUE(await_sleeping_until(clock, in_an_hour));
  // Later entries and cancellations leave it asleep.
  clock.set_request_timeout(now + 2h, actor, caf::make_message_id(2).response_id());
  clock.set_ordinary_timeout(now + 3h, actor, caf::atom("tick"), 1);
  clock.set_ordinary_timeout(now + 4h, actor, caf::atom("tick"), 2); // replaces the first
  EXPECT_EQ(clock.pending(), 3u);
  clock.cancel_request_timeout(actor, caf::make_message_id(2).response_id());
  clock.cancel_ordinary_timeout(actor, caf::atom("tick"));
  clock.cancel_request_timeout(actor, caf::make_message_id(1).response_id());
  EXPECT_EQ(clock.pending(), 0u);
  EXPECT_EQ(clock.wake_ups(), woken + 1);
  EXPECT_TRUE(await_sleeping_until(clock, in_an_hour));
  // An entry due before the time it waits for wakes it.
  clock.schedule_message(now + 30min, caf::actor_cast<caf::strong_actor_ptr>(target),
                         caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, 1));
  EXPECT_EQ(clock.wake_ups(), woken + 2);
  EXPECT_TRUE(await_sleeping_until(clock, now + 30min));
  // Left scheduled: the system's end drops it.
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
}

TEST(DeadlineClock, AnActorEndedByDroppingItsEntriesMayUseTheClockAsItEnds) {
  bare_system bare;
  caf::scoped_actor self{bare.sys};
  {
    auto target = silent_actor(bare.sys);
    // Runs as the actor ends: user code, here scheduling a message on the same clock.
    target->attach_functor([&bare, told = caf::actor{self}] {
      caf::delayed_anon_send(told, 1ms, caf::ok_atom::value);
    });
    bare.clock.schedule_message(bare.clock.now() + 1h,
                                caf::actor_cast<caf::strong_actor_ptr>(target),
                                caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, 1));
    bare.clock.set_request_timeout(bare.clock.now() + 1h,
                                   caf::actor_cast<caf::abstract_actor*>(target),
                                   caf::make_message_id(1).response_id());
  }
  // The entries hold the actor alive; dropping them ends it, and its end schedules a message
  // on the clock that dropped them (destroyed under the clock's lock, they would hang here).
  bare.clock.cancel_all();
  bool told = false;
  self->receive([&](caf::ok_atom) { told = true; }, caf::after(std::chrono::seconds{30}) >> [] {});
  EXPECT_TRUE(told);
  EXPECT_EQ(bare.clock.pending(), 0u);
}

} // namespace
