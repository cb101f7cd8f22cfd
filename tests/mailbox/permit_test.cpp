// Reservations on typed mailboxes, checked against Tokio's bounded mpsc `reserve` / `try_reserve`
// / `Permit`: a permit holds a slot that counts against the capacity, its send cannot fail, an
// unsent permit gives the slot back and wakes a waiting sender, and a message sent through the
// permit of a closed or terminated mailbox is a counted dead letter.
//
// The consumer is paused (mailbox::pause) wherever a test needs the queue to stay full: no
// message leaves it until resume(), so the counts below are exact.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct item {
  int value = 0;
};
/// Its reply lists the items handled before it.
struct flush {
  using reply_type = std::vector<int>;
};

class Permit : public troupe::test::runtime_fixture {
public:
  using box = mailbox<item, flush>;

  box spawn_recording(mailbox_options opts = {}) {
    auto seen = std::make_shared<std::vector<int>>();
    return spawn_mailbox<item, flush>(*rt, std::move(opts),
                                      [seen](auto*) {
                                        return handlers{
                                            [seen](item& i) { seen->push_back(i.value); },
                                            [seen](flush&) { return *seen; },
                                        };
                                      })
        .value();
  }

  static mailbox_options bounded(std::size_t capacity,
                                 overflow_policy policy = overflow_policy::backpressure) {
    mailbox_options opts;
    opts.capacity = capacity;
    opts.overflow = policy;
    return opts;
  }

  // Everything the consumer handled, once it handled everything sent before. The flush waits
  // for an empty queue first: into a full one it would be refused, dropped or evict an item.
  std::vector<int> handled(const box& mb) {
    EXPECT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; }));
    return ask(mb, flush{}, 10s).value();
  }

  caf::error wait_for_exit(const caf::actor& a) {
    caf::error reason = caf::make_error(caf::sec::runtime_error, "no down message");
    caf::scoped_actor watcher{sys()};
    watcher->monitor(a);
    watcher->receive([&](caf::down_msg& d) { reason = d.reason; }, caf::after(10s) >> [] {});
    return reason;
  }
};

} // namespace

TEST_F(Permit, AReservedSendSucceedsAfterOtherSendersFilledTheRest) {
  auto mb = spawn_recording(bounded(4, overflow_policy::fail));
  mb.pause();
  auto p = mb.try_reserve();
  ASSERT_TRUE(p) << render(p.error());
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(mb.try_send(item{i})) << i;
  auto refused = mb.try_send(item{4});
  ASSERT_FALSE(refused) << "the permit's slot was given to a plain send";
  EXPECT_EQ(refused.error(), mailbox_errc::mailbox_full);
  p->send(item{99});
  EXPECT_FALSE(*p) << "a sent permit is empty";
  auto m = mb.metrics();
  EXPECT_EQ(m.depth, 4u);
  EXPECT_EQ(m.reserved, 0u);
  EXPECT_EQ(m.parked, 0u) << "no plain send raced the reservation: the message went straight in";
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{1, 2, 3, 99}));
  EXPECT_EQ(rt->dead_letters()->count(), 0u);
}

TEST_F(Permit, CapacityManyPermitsMakeTheMailboxFullForEverySender) {
  auto mb = spawn_recording(bounded(3));
  mb.pause();
  std::vector<permit<item, flush>> held;
  for (int i = 0; i < 3; ++i) {
    auto p = mb.try_reserve();
    ASSERT_TRUE(p) << i << ": " << render(p.error());
    held.push_back(std::move(*p));
  }
  EXPECT_EQ(mb.metrics().reserved, 3u);
  EXPECT_EQ(mb.metrics().depth, 0u) << "a reservation is not a queued message";
  auto t = mb.try_send(item{1});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), mailbox_errc::mailbox_full);
  EXPECT_EQ(t.message()->value, 1);
  auto r = mb.try_reserve();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::mailbox_full);
  held.pop_back(); // unsent: the slot comes back
  EXPECT_EQ(mb.metrics().reserved, 2u);
  EXPECT_TRUE(mb.try_send(item{2}));
  EXPECT_FALSE(mb.try_send(item{3}));
  for (auto& p : held)
    p.send(item{7});
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{2, 7, 7}));
}

TEST_F(Permit, DroppingAPermitWakesAThreadBlockedInSend) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  auto p = mb.try_reserve();
  ASSERT_TRUE(p);
  auto blocked = std::async(std::launch::async, [&] { return mb.send(item{1}, 1h); });
  // Not a synchronisation: the consumer is paused, so only the permit can let the send in.
  ASSERT_EQ(blocked.wait_for(100ms), std::future_status::timeout) << "sent past a held slot";
  *p = permit<item, flush>{}; // assigning over the permit gives its slot back
  ASSERT_EQ(blocked.wait_for(10s), std::future_status::ready) << "the blocked sender stayed";
  EXPECT_TRUE(blocked.get());
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{1}));
}

TEST_F(Permit, DroppingAPermitWakesAThreadBlockedInReserve) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  auto first = std::make_unique<permit<item, flush>>(mb.try_reserve().value());
  auto blocked = std::async(std::launch::async, [&] { return mb.reserve(1h); });
  ASSERT_EQ(blocked.wait_for(100ms), std::future_status::timeout) << "reserved past a held slot";
  first.reset();
  ASSERT_EQ(blocked.wait_for(10s), std::future_status::ready) << "the blocked reserver stayed";
  auto second = blocked.get();
  ASSERT_TRUE(second) << render(second.error());
  second->send(item{2});
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{2}));
}

TEST_F(Permit, HandlingAMessageWakesAThreadBlockedInReserve) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  ASSERT_TRUE(mb.send(item{1}));
  auto blocked = std::async(std::launch::async, [&] { return mb.reserve(1h); });
  ASSERT_EQ(blocked.wait_for(100ms), std::future_status::timeout);
  mb.resume(); // item{1} is handled: its slot goes to the reserver
  ASSERT_EQ(blocked.wait_for(10s), std::future_status::ready);
  auto p = blocked.get();
  ASSERT_TRUE(p) << render(p.error());
  p->send(item{2});
  EXPECT_EQ(handled(mb), (std::vector<int>{1, 2}));
}

TEST_F(Permit, ReserveOnAFullMailboxTimesOutWithSendTimeout) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  ASSERT_TRUE(mb.send(item{1}));
  auto r = mb.reserve(20ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::send_timeout) << render(r.error());
  EXPECT_EQ(mb.metrics().reserved, 0u);
  mb.resume();
}

TEST_F(Permit, ReserveUnderANonBlockingPolicyAnswersFullAtOnce) {
  for (auto policy :
       {overflow_policy::fail, overflow_policy::drop_newest, overflow_policy::drop_oldest}) {
    SCOPED_TRACE(to_string(policy));
    auto mb = spawn_recording(bounded(1, policy));
    mb.pause();
    ASSERT_TRUE(mb.try_send(item{1}));
    auto answer = std::async(std::launch::async, [&] { return mb.reserve(1h); });
    ASSERT_EQ(answer.wait_for(10s), std::future_status::ready) << "reserve waited";
    auto r = answer.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), mailbox_errc::mailbox_full) << render(r.error());
    EXPECT_EQ(mb.metrics().dropped, 0u) << "a reservation neither drops nor evicts";
    mb.resume();
    EXPECT_EQ(handled(mb), (std::vector<int>{1}));
    mb.close();
    wait_for_exit(mb.actor());
  }
}

TEST_F(Permit, UnderDropOldestAPlainSendDoesNotTakeAHeldSlot) {
  auto mb = spawn_recording(bounded(2, overflow_policy::drop_oldest));
  mb.pause();
  auto p = mb.try_reserve();
  ASSERT_TRUE(p);
  ASSERT_TRUE(mb.send(item{1}));
  auto second = mb.send(item{2}); // evicts item{1}, not the held slot
  EXPECT_EQ(second.state(), send_result<item>::status::accepted);
  auto q = mb.try_reserve();
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error(), mailbox_errc::mailbox_full);
  p->send(item{3});
  EXPECT_EQ(mb.metrics().dropped, 1u);
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{2, 3}));
}

TEST_F(Permit, UnderDropOldestASendFindingEverySlotHeldIsDropped) {
  auto mb = spawn_recording(bounded(1, overflow_policy::drop_oldest));
  auto p = mb.try_reserve();
  ASSERT_TRUE(p);
  auto r = mb.send(item{1});
  EXPECT_TRUE(r.was_dropped());
  EXPECT_EQ(mb.metrics().dropped, 1u);
  p->send(item{2});
  EXPECT_EQ(handled(mb), (std::vector<int>{2}));
}

TEST_F(Permit, TryReserveOnAClosedMailboxFailsWithClosed) {
  auto mb = spawn_recording(bounded(4));
  mb.close();
  auto r = mb.try_reserve();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::closed) << render(r.error());
  auto w = mb.reserve(1h);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error(), mailbox_errc::closed);
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_EQ(mb.try_reserve().error(), mailbox_errc::closed) << "closed stays closed";
}

TEST_F(Permit, TryReserveAfterTheActorTerminatedFailsWithReceiverDead) {
  auto mb = spawn_recording(bounded(4));
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::user_shutdown);
  auto r = mb.try_reserve();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead) << render(r.error());
}

TEST_F(Permit, CloseReleasesAThreadBlockedInReserve) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  ASSERT_TRUE(mb.send(item{1}));
  auto blocked = std::async(std::launch::async, [&] { return mb.reserve(1h); });
  mb.close(); // whether the reserver already waits or not: it comes back with `closed`
  ASSERT_EQ(blocked.wait_for(10s), std::future_status::ready);
  auto r = blocked.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::closed) << render(r.error());
  mb.resume();
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
}

TEST_F(Permit, APermitSentAfterCloseIsACountedDeadLetter) {
  auto mb = spawn_recording(bounded(2));
  auto p = mb.try_reserve();
  ASSERT_TRUE(p);
  ASSERT_TRUE(mb.send(item{1}));
  EXPECT_EQ(handled(mb), (std::vector<int>{1}));
  mb.close();
  p->send(item{2});
  EXPECT_EQ(mb.metrics().dead_letters, 1u);
  EXPECT_EQ(rt->dead_letters()->count(), 1u);
  EXPECT_EQ(mb.metrics().reserved, 0u);
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_EQ(mb.metrics().processed, 2u) << "item{1} and the flush; item{2} was not handled";
}

TEST_F(Permit, APermitSentAfterTheActorTerminatedIsACountedDeadLetter) {
  auto mb = spawn_recording(bounded(2));
  auto p = mb.try_reserve();
  ASSERT_TRUE(p);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::user_shutdown);
  p->send(item{1});
  EXPECT_EQ(mb.metrics().dead_letters, 1u);
  EXPECT_EQ(rt->dead_letters()->count(), 1u);
}

TEST_F(Permit, APermitOutlivingItsMailboxIsSafeAndDoesNotKeepTheActorAlive) {
  auto mb = spawn_recording(bounded(2));
  auto sent = mb.try_reserve();
  auto dropped = mb.try_reserve();
  ASSERT_TRUE(sent && dropped);
  caf::actor_addr addr = caf::actor_cast<caf::actor_addr>(mb.actor());
  caf::scoped_actor watcher{sys()};
  watcher->monitor(mb.actor());
  mb = box{}; // the last handle: the actor goes, although two permits remain
  bool down = false;
  watcher->receive([&](caf::down_msg& d) { down = d.source == addr; }, caf::after(10s) >> [] {});
  ASSERT_TRUE(down) << "a permit kept the actor alive";
  sent->send(item{1});
  EXPECT_EQ(rt->dead_letters()->count(), 1u);
  dropped = make_error(mailbox_errc::abandoned); // destroys the other permit, unsent
}

TEST_F(Permit, AnUnboundedMailboxGrantsEveryReservationAtOnce) {
  auto mb = spawn_recording();
  mb.pause();
  std::vector<permit<item, flush>> held;
  for (int i = 0; i < 100; ++i)
    held.push_back(mb.try_reserve().value());
  EXPECT_EQ(mb.metrics().reserved, 0u) << "an unbounded mailbox has no slots to hold";
  EXPECT_TRUE(mb.try_send(item{0}));
  for (int i = 0; i < 3; ++i)
    held[i].send(item{i + 1});
  held.clear();
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(Permit, AMovedPermitHoldsTheSlotOnce) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  permit<item, flush> a = mb.try_reserve().value();
  permit<item, flush> b = std::move(a);
  EXPECT_FALSE(a); // NOLINT(bugprone-use-after-move): a moved-from permit is empty by contract
  EXPECT_TRUE(b);
  a = std::move(b);
  EXPECT_EQ(mb.metrics().reserved, 1u);
  a.send(item{1});
  EXPECT_EQ(mb.metrics().reserved, 0u);
  EXPECT_EQ(mb.metrics().depth, 1u);
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{1}));
}

TEST_F(Permit, AnActorReservesWithTryReserve) {
  auto mb = spawn_recording(bounded(1));
  mb.pause();
  struct start {};
  auto outcome = std::make_shared<std::promise<std::pair<caf::error, caf::error>>>();
  auto producer =
      spawn_mailbox<start>(*rt, {}, [mb, outcome](auto* self) {
        return handlers{[self, mb, outcome](start&) {
          auto p = mb.try_reserve();
          auto q = mb.try_reserve(); // the one slot is held
          if (p)
            p->send(item{5});
          outcome->set_value({p ? caf::error{} : p.error(), q ? caf::error{} : q.error()});
          self->quit();
        }};
      }).value();
  ASSERT_TRUE(producer.send(start{}));
  auto fut = outcome->get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  auto [first, second] = fut.get();
  EXPECT_FALSE(first) << render(first);
  EXPECT_EQ(second, mailbox_errc::mailbox_full);
  mb.resume();
  EXPECT_EQ(handled(mb), (std::vector<int>{5}));
}

TEST_F(Permit, ConcurrentReserversNeverHoldMoreThanTheCapacity) {
  constexpr std::size_t capacity = 8;
  constexpr int threads = 4;
  auto mb = spawn_recording(bounded(capacity, overflow_policy::fail));
  mb.pause();
  // Round 1: every thread grabs slots until refused; together they hold exactly `capacity`.
  std::vector<std::vector<permit<item, flush>>> held(threads);
  {
    std::latch go{threads};
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        go.arrive_and_wait();
        while (auto p = mb.try_reserve())
          held[t].push_back(std::move(*p));
      });
  }
  std::size_t total = 0;
  for (auto& h : held)
    total += h.size();
  EXPECT_EQ(total, capacity);
  EXPECT_EQ(mb.metrics().reserved, capacity);
  held.clear();
  EXPECT_EQ(mb.metrics().reserved, 0u);
  // Round 2: reserve and give back in a loop; the number held at once never passes capacity.
  std::atomic<std::size_t> live{0};
  std::atomic<std::size_t> peak{0};
  std::atomic<std::size_t> granted{0};
  {
    std::latch go{threads};
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        go.arrive_and_wait();
        std::vector<permit<item, flush>> mine;
        for (int i = 0; i < 20000; ++i) {
          if (auto p = mb.try_reserve()) {
            auto now = live.fetch_add(1) + 1;
            auto seen = peak.load();
            while (now > seen && !peak.compare_exchange_weak(seen, now)) {
            }
            granted.fetch_add(1);
            mine.push_back(std::move(*p));
          }
          if (mine.size() == 3 || (i % 5 == 0 && !mine.empty())) {
            live.fetch_sub(mine.size());
            mine.clear(); // the count drops before the slots are given back: never undercounts
          }
        }
        live.fetch_sub(mine.size());
      });
  }
  EXPECT_LE(peak.load(), capacity);
  EXPECT_GT(granted.load(), 0u);
  EXPECT_EQ(mb.metrics().reserved, 0u);
  EXPECT_EQ(mb.metrics().depth, 0u);
  mb.resume();
}

TEST_F(Permit, PermitsRacingPlainSendsAreNeverRefusedOrLost) {
  constexpr std::size_t capacity = 16;
  constexpr int threads = 4;
  auto mb = spawn_recording(bounded(capacity, overflow_policy::fail));
  std::size_t plain_total = 0;
  std::size_t permit_total = 0;
  for (int round = 0; round < 50; ++round) {
    mb.pause();
    std::vector<std::vector<permit<item, flush>>> held(threads);
    std::atomic<std::size_t> plain{0};
    {
      std::latch go{threads};
      std::vector<std::jthread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          go.arrive_and_wait();
          for (int i = 0; i < 10; ++i) {
            if (t % 2 == 0) {
              if (auto p = mb.try_reserve())
                held[t].push_back(std::move(*p));
            } else if (mb.try_send(item{1})) {
              plain.fetch_add(1);
            }
          }
        });
    }
    plain_total += plain.load();
    for (auto& h : held) {
      permit_total += h.size();
      for (auto& p : h)
        p.send(item{2}); // a plain send may have won the slot: then it parks, never fails
    }
    EXPECT_LE(mb.metrics().depth, capacity);
    mb.resume();
    auto seen = handled(mb);
    ASSERT_EQ(static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 1)), plain_total)
        << "round " << round;
    ASSERT_EQ(static_cast<std::size_t>(std::count(seen.begin(), seen.end(), 2)), permit_total)
        << "round " << round << ": a permit's message was lost";
    ASSERT_EQ(mb.metrics().dead_letters, 0u);
    ASSERT_EQ(mb.metrics().parked, 0u);
    ASSERT_EQ(mb.metrics().reserved, 0u);
  }
  EXPECT_GT(permit_total, 0u);
}
