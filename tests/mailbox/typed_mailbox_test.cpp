#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <string>
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
  int producer = 0;
  int seq = 0;
};

struct get_items {
  using reply_type = std::vector<std::pair<int, int>>;
};

struct get_count {
  using reply_type = int64_t;
};

struct boom {
  using reply_type = int;
};

// Records what it handled, in order; answers get_items with the record.
mailbox<item, get_items> spawn_recorder(runtime& rt, mailbox_options opts) {
  return spawn_mailbox<item, get_items>(
             rt, std::move(opts),
             [](auto*) {
               auto seen = std::make_shared<std::vector<std::pair<int, int>>>();
               return handlers{
                   [seen](item& i) { seen->emplace_back(i.producer, i.seq); },
                   [seen](get_items&) { return *seen; },
               };
             })
      .value();
}

} // namespace

using TypedMailbox = troupe::test::runtime_fixture;

TEST_F(TypedMailbox, MessagesFromOneSenderArriveInOrder) {
  auto mb = spawn_recorder(*rt, {});
  for (int i = 0; i < 10000; ++i)
    ASSERT_TRUE(mb.send(item{0, i}));
  auto items = ask(mb, get_items{}, 5s);
  ASSERT_TRUE(items) << render(items.error());
  ASSERT_EQ(items->size(), 10000u);
  for (int i = 0; i < 10000; ++i)
    EXPECT_EQ((*items)[static_cast<std::size_t>(i)].second, i);
  auto m = mb.metrics();
  EXPECT_EQ(m.enqueued, 10001u);
  EXPECT_EQ(m.processed, 10001u);
  EXPECT_EQ(m.depth, 0u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(TypedMailbox, FifoPerProducerWithTwoConcurrentProducers) {
  mailbox_options opts;
  opts.capacity = 64;
  auto mb = spawn_recorder(*rt, opts);
  constexpr int per_producer = 20000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        ASSERT_TRUE(mb.send(item{p, i}, 10s));
    });
  for (auto& t : producers)
    t.join();
  auto items = ask(mb, get_items{}, 10s);
  ASSERT_TRUE(items) << render(items.error());
  ASSERT_EQ(items->size(), 2u * per_producer);
  int next[2] = {0, 0};
  for (auto& [p, seq] : *items) {
    ASSERT_EQ(seq, next[p]) << "producer " << p << " out of order";
    ++next[p];
  }
  EXPECT_LE(mb.metrics().high_water, 64u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(TypedMailbox, BoundedMailboxNeverExceedsCapacityWithTwoProducers) {
  mailbox_options opts;
  opts.capacity = 16;
  std::atomic<std::size_t> max_depth{0};
  auto core_ref = std::make_shared<std::shared_ptr<detail::mailbox_core<item, get_items>>>();
  auto mb = spawn_mailbox<item, get_items>(*rt, opts, [&max_depth, core_ref](auto* self) {
              return handlers{
                  [self, &max_depth](item&) {
                    auto d = self->core()->size();
                    auto prev = max_depth.load();
                    while (d > prev && !max_depth.compare_exchange_weak(prev, d)) {
                    }
                  },
                  [](get_items&) { return get_items::reply_type{}; },
              };
            }).value();
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p)
    producers.emplace_back([&, p] {
      for (int i = 0; i < 20000; ++i) {
        ASSERT_TRUE(mb.send(item{p, i}, 10s));
        auto d = mb.core()->size();
        ASSERT_LE(d, 16u);
      }
    });
  for (auto& t : producers)
    t.join();
  ASSERT_TRUE(ask(mb, get_items{}, 10s));
  EXPECT_LE(max_depth.load(), 16u);
  EXPECT_LE(mb.metrics().high_water, 16u);
  EXPECT_EQ(mb.metrics().processed, 40001u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

// A gate keeps the consumer busy so that the mailbox fills up deterministically.
class gated : public ::testing::Test {
public:
  struct hold {};
  struct work {
    int value = 0;
  };
  struct read {
    using reply_type = std::vector<int>;
  };
  using box = mailbox<hold, work, read>;

  box spawn(mailbox_options opts) {
    return spawn_mailbox<hold, work, read>(rt, std::move(opts),
                                           [this](auto*) {
                                             auto seen = std::make_shared<std::vector<int>>();
                                             return handlers{
                                                 [this](hold&) {
                                                   entered.count_down();
                                                   release.wait();
                                                 },
                                                 [seen](work& w) { seen->push_back(w.value); },
                                                 [seen](read&) { return *seen; },
                                             };
                                           })
        .value();
  }

  // Declared before the runtime, so that they outlive every handler that waits on them.
  std::latch entered{1};
  std::latch release{1};
  runtime rt{troupe::test::runtime_fixture::default_config()};
};

TEST_F(gated, FailPolicyHandsTheMessageBackWithMailboxFull) {
  mailbox_options opts;
  opts.capacity = 2;
  opts.overflow = overflow_policy::fail;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  ASSERT_TRUE(mb.send(work{1}));
  ASSERT_TRUE(mb.send(work{2}));
  auto r = mb.send(work{3});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::mailbox_full);
  ASSERT_TRUE(r.message().has_value());
  EXPECT_EQ(r.message()->value, 3);
  release.count_down();
  // The read request must find room in the 2-slot mailbox, which the fail policy would refuse.
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; }));
  auto seen = ask(mb, read{}, 5s);
  ASSERT_TRUE(seen) << render(seen.error());
  EXPECT_EQ(*seen, (std::vector<int>{1, 2}));
  auto m = mb.metrics();
  EXPECT_EQ(m.rejected, 1u);
  EXPECT_EQ(m.dropped, 0u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(gated, DropNewestDiscardsArrivalsAndCountsThem) {
  mailbox_options opts;
  opts.capacity = 2;
  opts.overflow = overflow_policy::drop_newest;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  for (int i = 1; i <= 5; ++i)
    EXPECT_TRUE(mb.send(work{i}));
  release.count_down();
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; }));
  auto seen = ask(mb, read{}, 5s);
  ASSERT_TRUE(seen) << render(seen.error());
  EXPECT_EQ(*seen, (std::vector<int>{1, 2}));
  EXPECT_EQ(mb.metrics().dropped, 3u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(gated, DropOldestKeepsTheNewestAndCountsTheDropped) {
  mailbox_options opts;
  opts.capacity = 2;
  opts.overflow = overflow_policy::drop_oldest;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  for (int i = 1; i <= 5; ++i)
    EXPECT_TRUE(mb.send(work{i}));
  EXPECT_EQ(mb.metrics().dropped, 3u);
  EXPECT_EQ(mb.metrics().depth, 2u);
  // Queued while the consumer is still held: the read request evicts work{4}, leaving
  // {work{5}, read}.
  auto got = std::make_shared<std::promise<std::vector<int>>>();
  auto seen = got->get_future();
  ask_async(mb, read{})
      .then([got](std::vector<int> v) { got->set_value(std::move(v)); },
            [got](caf::error) { got->set_value({-1}); });
  EXPECT_EQ(mb.metrics().dropped, 4u);
  release.count_down();
  ASSERT_EQ(seen.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(seen.get(), (std::vector<int>{5}));
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(gated, BackpressureBlocksAThreadUntilItsDeadline) {
  mailbox_options opts;
  opts.capacity = 1;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  ASSERT_TRUE(mb.send(work{1}));
  auto r = mb.send(work{2}, 20ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::send_timeout);
  EXPECT_EQ(r.message()->value, 2);
  auto t = mb.try_send(work{3});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), mailbox_errc::mailbox_full);
  release.count_down();
  EXPECT_TRUE(mb.send(work{4}, 5s));
  auto seen = ask(mb, read{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{1, 4}));
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(gated, BackpressureWakesABlockedThreadWhenRoomFrees) {
  mailbox_options opts;
  opts.capacity = 1;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  ASSERT_TRUE(mb.send(work{1}));
  std::thread sender{[&] { EXPECT_TRUE(mb.send(work{2}, 10s)); }};
  release.count_down();
  sender.join();
  auto seen = ask(mb, read{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{1, 2}));
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(gated, ActorSenderParksUnderBackpressureAndKeepsItsOrder) {
  mailbox_options opts;
  opts.capacity = 2;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  std::atomic<int> parked{0};
  auto producer = rt.spawn([mb, &parked](caf::event_based_actor* self) -> caf::behavior {
    return {[=, &parked](caf::ok_atom) {
      for (int i = 1; i <= 10; ++i)
        if (mb.send(self, work{i}).was_parked())
          ++parked;
      self->quit();
    }};
  });
  caf::scoped_actor self{rt.system()};
  self->monitor(producer);
  self->send(producer, caf::ok_atom::value);
  self->receive([](caf::down_msg&) {});
  EXPECT_EQ(parked.load(), 8);
  EXPECT_EQ(mb.metrics().parked, 8u);
  EXPECT_LE(mb.metrics().depth, 2u);
  release.count_down();
  auto seen = ask(mb, read{}, 5s);
  ASSERT_TRUE(seen) << render(seen.error());
  EXPECT_EQ(*seen, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(mb.metrics().parked, 0u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

// -- the dead-letter office, found by its id ------------------------------------------------
// A mailbox keeps its office's id, not a reference (a shared count every spawn took and every
// exit dropped): the office is found while it lives, and a dead letter found after it is gone
// is counted by the mailbox alone.

TEST(DeadLetterOffice, IsFoundByItsIdWhileItLives) {
  auto office = std::make_shared<dead_letter_office>();
  const auto id = office->id();
  EXPECT_NE(id, 0u);
  EXPECT_EQ(office->id(), id);
  EXPECT_EQ(dead_letter_office::find(id), office);
  auto other = std::make_shared<dead_letter_office>();
  EXPECT_NE(other->id(), id);
  office.reset();
  EXPECT_EQ(dead_letter_office::find(id), nullptr);
  EXPECT_EQ(dead_letter_office::find(other->id()), other);
}

TEST(DeadLetterOffice, OneNotOwnedBySharedPtrHasNoId) {
  dead_letter_office office;
  EXPECT_EQ(office.id(), 0u);
  EXPECT_EQ(dead_letter_office::find(0), nullptr);
}

TEST(DeadLetterOffice, AMailboxReportsToAnOfficeKeptPastItsRuntime) {
  std::optional<mailbox<item, get_items>> mb;
  std::shared_ptr<dead_letter_office> office;
  {
    runtime rt{test::runtime_fixture::default_config()};
    mb = spawn_recorder(rt, mailbox_options{.name = "kept"});
    office = rt.dead_letters();
  } // the runtime stops the mailbox's actor
  auto r = mb->send(item{0, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
  EXPECT_EQ(mb->metrics().dead_letters, 1u);
  EXPECT_EQ(office->count(), 1u);
}

TEST(DeadLetterOffice, ADeadLetterAfterTheOfficeIsGoneIsCountedByTheMailboxAlone) {
  std::optional<mailbox<item, get_items>> mb;
  std::uint64_t office_id = 0;
  {
    runtime rt{test::runtime_fixture::default_config()};
    mb = spawn_recorder(rt, {});
    office_id = rt.dead_letters()->id();
  }
  ASSERT_NE(office_id, 0u);
  EXPECT_EQ(dead_letter_office::find(office_id), nullptr);
  auto r = mb->send(item{0, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
  EXPECT_EQ(mb->metrics().dead_letters, 1u);
}

TEST_F(TypedMailbox, SendToDeadActorIsACountedDeadLetter) {
  auto mb = spawn_recorder(*rt, mailbox_options{.name = "gone"});
  std::vector<dead_letter> letters;
  std::mutex mtx;
  rt->dead_letters()->set_hook([&](const dead_letter& d) {
    std::lock_guard guard{mtx};
    letters.push_back(d);
  });
  caf::scoped_actor self{sys()};
  self->monitor(mb.actor());
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  auto r = mb.send(item{0, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
  EXPECT_EQ(mb.metrics().dead_letters, 1u);
  EXPECT_EQ(rt->dead_letters()->count(), 1u);
  std::lock_guard guard{mtx};
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].receiver, "gone");
  EXPECT_EQ(letters[0].reason, mailbox_errc::receiver_dead);
  rt->dead_letters()->set_hook(nullptr);
}

TEST_F(TypedMailbox, EveryMessageRacingTheOwnersEndIsHandledRefusedOrADeadLetter) {
  // Two threads push into an unbounded mailbox whose owner quits after `handled_before_quit`
  // messages: each message is handled, or a dead letter: refused at the send (receiver_dead),
  // or purged by whichever side (the ending owner or a pushing thread) sees the other. One left
  // in the queue would be neither.
  constexpr int producers = 2;
  constexpr int per_producer = 20'000;
  constexpr int handled_before_quit = 5'000;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto handled = std::make_shared<std::atomic<int>>(0);
    auto mb = spawn_mailbox<item>(*rt, {}, [handled](auto* self) {
                return handlers{[self, handled](item&) {
                  if (handled->fetch_add(1) + 1 == handled_before_quit)
                    self->quit();
                }};
              }).value();
    caf::scoped_actor watcher{sys()};
    watcher->monitor(mb.actor());
    std::atomic<int> refused{0};
    {
      std::latch start{producers};
      std::vector<std::jthread> threads;
      for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
          start.arrive_and_wait();
          for (int i = 0; i < per_producer; ++i)
            if (auto r = mb.send(item{p, i}); !r) {
              EXPECT_EQ(r.error(), mailbox_errc::receiver_dead) << render(r.error());
              refused.fetch_add(1);
            }
        });
    }
    watcher->receive([](caf::down_msg&) {});
    EXPECT_EQ(handled->load(), handled_before_quit);
    // A refused send is a dead letter too (SendToDeadActorIsACountedDeadLetter).
    const auto dead_letters = static_cast<int>(mb.metrics().dead_letters);
    EXPECT_LE(refused.load(), dead_letters);
    EXPECT_EQ(handled->load() + dead_letters, producers * per_producer);
  }
}

TEST_F(TypedMailbox, RequestToDeadActorGetsReceiverDead) {
  auto mb = spawn_recorder(*rt, {});
  caf::scoped_actor self{sys()};
  self->monitor(mb.actor());
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  auto r = ask(mb, get_items{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
}

TEST_F(TypedMailbox, ThrowingHandlerCrashesTheActorWithItsMessage) {
  auto mb = spawn_mailbox<boom, get_count>(*rt, {}, [](auto*) {
              return handlers{
                  [](boom&) -> int { throw std::runtime_error("kaputt"); },
                  [](get_count&) { return int64_t{0}; },
              };
            }).value();
  caf::scoped_actor self{sys()};
  self->monitor(mb.actor());
  auto r = ask(mb, boom{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw);
  EXPECT_EQ(r.error().context().get_as<std::string>(0), "kaputt");
  self->receive([](caf::down_msg& dm) {
    EXPECT_EQ(dm.reason, mailbox_errc::handler_threw);
    EXPECT_EQ(dm.reason.context().get_as<std::string>(0), "kaputt");
  });
  auto after = ask(mb, get_count{}, 5s);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), mailbox_errc::receiver_dead);
}

TEST_F(TypedMailbox, RenderNamesMailboxErrors) {
  EXPECT_EQ(render(make_error(mailbox_errc::mailbox_full)), "mailbox_error(mailbox_full)");
}

// The consumer goes idle after every message here, so each send races with the consumer's
// transition to idle: a lost wake-up would leave a message unhandled and the ask below would
// time out (and the test fail) instead of hanging.
TEST_F(TypedMailbox, WakeUpIsNeverLostWhenTheConsumerKeepsGoingIdle) {
  struct ping {
    int from = 0;
    using reply_type = int;
  };
  auto echo = spawn_mailbox<ping>(*rt, {}, [](auto*) {
                return handlers{[](ping& p) { return p.from; }};
              }).value();
  constexpr int rounds = 5000;
  std::vector<std::thread> askers;
  std::atomic<int> answered{0};
  for (int t = 0; t < 2; ++t)
    askers.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) {
        auto r = ask(echo, ping{t}, 5s);
        ASSERT_TRUE(r) << "round " << i << ": " << render(r.error());
        ASSERT_EQ(*r, t);
        ++answered;
      }
    });
  for (auto& a : askers)
    a.join();
  EXPECT_EQ(answered.load(), 2 * rounds);
  EXPECT_EQ(echo.metrics().processed, 2u * rounds);
  caf::anon_send_exit(echo.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(gated, ActorSenderContinuesFromOnSentAndNeverParksMoreThanOne) {
  mailbox_options opts;
  opts.capacity = 2;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  struct progress {
    int sent = 0;
    int continuations = 0;
    std::atomic<std::size_t> max_parked{0};
  };
  auto st = std::make_shared<progress>();
  auto finished = std::make_shared<std::promise<void>>();
  auto done = finished->get_future();
  auto producer = rt.spawn([mb, st, finished](caf::event_based_actor* self) -> caf::behavior {
    // Sends 1..10, each from the previous send's continuation, as an awaiting sender would.
    // The behavior owns `next`; the function refers to itself weakly, or it would own itself.
    auto next = std::make_shared<std::function<void()>>();
    std::weak_ptr<std::function<void()>> weak_next = next;
    *next = [mb, st, finished, self, weak_next] {
      if (st->sent == 10) {
        finished->set_value();
        return;
      }
      ++st->sent;
      auto r = mb.send(self, work{st->sent}, [st, weak_next] {
        ++st->continuations;
        if (auto again = weak_next.lock())
          (*again)();
      });
      st->max_parked = std::max(st->max_parked.load(), mb.metrics().parked);
      EXPECT_TRUE(r);
    };
    return {[next](caf::ok_atom) { (*next)(); }};
  });
  caf::anon_send(producer, caf::ok_atom::value);
  // Two fit, the third parks; the producer then waits for its continuation.
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().parked == 1; }));
  release.count_down();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  auto seen = ask(mb, read{}, 5s);
  ASSERT_TRUE(seen) << render(seen.error());
  EXPECT_EQ(*seen, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(st->continuations, 10);
  EXPECT_LE(st->max_parked.load(), 1u);
  caf::anon_send_exit(producer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

// A mailbox spawned from a handler, with a message sent to it in the same handler, handles that
// message in its first run: initializing it and draining its queue are one resume. (It used to
// take a second resume from the back of the local queue, which also woke an idle worker to
// steal it, so a supervisor's restart hopped between cores.) One worker, so nothing else runs
// while the parent's handler does.
TEST(TypedMailboxScheduling, FirstRunOfASpawnedMailboxHandlesWhatWasSentToIt) {
  struct go {
    bool spawn_child = false;
    using reply_type = int;
  };
  struct hello {};
  auto cfg = troupe::test::runtime_fixture::default_config();
  cfg.workers = 1;
  runtime rt{cfg};
  auto handled = std::make_shared<std::promise<void>>();
  auto child_done = handled->get_future();
  auto parent = spawn_mailbox<go>(rt, {}, [&rt, handled](auto* self) {
                  return handlers{[&rt, handled, self](go& g) {
                    if (!g.spawn_child)
                      return 0;
                    auto child = spawn_mailbox<hello>(rt, {}, [handled](auto*) {
                                   return handlers{[handled](hello&) { handled->set_value(); }};
                                 }).value();
                    EXPECT_TRUE(child.send(self, hello{}));
                    return 1;
                  }};
                }).value();
  // The count starts once the parent has run and its worker is idle: otherwise the parent
  // could take the next message in the same run. (The worker's busy flag is the only signal
  // that a run ended.)
  auto worker_idle = [&] { return !rt.scheduler_stats().per_worker.at(0).busy; };
  ASSERT_TRUE(ask(parent, go{false}, 5s));
  ASSERT_TRUE(troupe::test::eventually(worker_idle));
  auto before = rt.scheduler_stats().total.resumes;
  ASSERT_TRUE(parent.send(go{true}));
  ASSERT_EQ(child_done.wait_for(5s), std::future_status::ready);
  ASSERT_TRUE(troupe::test::eventually(worker_idle));
  EXPECT_EQ(rt.scheduler_stats().total.resumes - before, 2u); // the parent once, the child once
  rt.shutdown(5s);
}

// Every actor has a mailbox core. What only waiting threads and parked senders need is
// allocated by the first of them, and no member is padded to a cache line: the core of a
// mailbox took 576 bytes (and an over-aligned allocation) before, and about 220 now.
TEST(MailboxFootprint, TheCoreOfAMailboxStaysSmallAndNeedsNoOveralignedAllocation) {
  using core = detail::mailbox_core<item, get_items>;
  EXPECT_LE(alignof(core), alignof(std::max_align_t));
  EXPECT_LE(sizeof(core), 256u);
}

// A handle is two pointers with one reference count, on its actor (which owns the core): a
// request copies its destination, so a gather of a thousand copies a thousand handles. A copy
// equals its original and reaches the same mailbox; a moved-from handle is empty.
TEST_F(TypedMailbox, AHandleIsTheActorAndItsCoreAndAMovedFromHandleIsEmpty) {
  EXPECT_EQ(sizeof(mailbox<item, get_items>), 2 * sizeof(void*));
  auto mb = spawn_recorder(*rt, {});
  auto copy = mb;
  EXPECT_TRUE(copy == mb);
  EXPECT_EQ(copy.core().get(), mb.core().get());
  auto moved = std::move(copy);
  EXPECT_FALSE(copy); // NOLINT(bugprone-use-after-move): the state a move leaves is the point
  EXPECT_EQ(copy.core(), nullptr);
  EXPECT_TRUE(moved == mb);
  copy = std::move(moved);
  EXPECT_FALSE(moved); // NOLINT(bugprone-use-after-move)
  ASSERT_TRUE(copy.send(item{0, 1}));
  auto items = ask(mb, get_items{}, 5s);
  ASSERT_TRUE(items) << render(items.error());
  EXPECT_EQ(*items, (get_items::reply_type{{0, 1}}));
}

// An unbounded mailbox's queue (three cache lines) is made by its first message: an actor that
// is never sent anything has none.
TEST_F(TypedMailbox, AnUnboundedMailboxMakesItsQueueWithItsFirstMessage) {
  auto mb = spawn_recorder(*rt, {});
  EXPECT_FALSE(mb.core()->has_unbounded_queue());
  EXPECT_EQ(mb.metrics().depth, 0u);
  ASSERT_TRUE(mb.send(item{0, 1}));
  EXPECT_TRUE(mb.core()->has_unbounded_queue());
  auto items = ask(mb, get_items{}, 5s);
  ASSERT_TRUE(items) << render(items.error());
  EXPECT_EQ(*items, (get_items::reply_type{{0, 1}}));
}

// Senders that race for a new mailbox's first message install one queue between them: every
// message arrives, each sender's in order, and the losers' queues are freed (AddressSanitizer
// would report them leaked).
TEST_F(TypedMailbox, FirstMessagesThatRaceShareOneQueue) {
  constexpr int senders = 4;
  constexpr int per_sender = 200;
  for (int round = 0; round < 20; ++round) {
    auto mb = spawn_recorder(*rt, {});
    ASSERT_FALSE(mb.core()->has_unbounded_queue());
    std::latch start{senders};
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s)
      threads.emplace_back([&, s] {
        start.arrive_and_wait();
        for (int i = 0; i < per_sender; ++i)
          EXPECT_TRUE(mb.send(item{s, i}));
      });
    for (auto& t : threads)
      t.join();
    auto items = ask(mb, get_items{}, 10s);
    ASSERT_TRUE(items) << render(items.error());
    ASSERT_EQ(items->size(), static_cast<std::size_t>(senders * per_sender));
    std::vector<int> next(senders, 0);
    for (auto [s, i] : *items)
      ASSERT_EQ(i, next[s]++) << "sender " << s << " in round " << round;
  }
}

// A mailbox that ends without ever receiving a message has nothing to purge, and a send after
// its end fails as for any ended mailbox (a counted dead letter) without making a queue.
TEST_F(TypedMailbox, AMailboxThatNeverReceivedAnythingEndsWithoutAQueue) {
  auto idle = spawn_recorder(*rt, {});
  caf::anon_send_exit(idle.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(idle.actor()), caf::exit_reason::user_shutdown);
  EXPECT_EQ(idle.metrics().dead_letters, 0u);
  auto r = idle.send(item{0, 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::receiver_dead);
  EXPECT_EQ(idle.metrics().dead_letters, 1u);
  EXPECT_FALSE(idle.core()->has_unbounded_queue());
}

// make_handlers may own what cannot be copied: the actor keeps it, moved, until it starts, in
// the slot its handler set then takes (it was a std::function, which only takes copyable ones).
TEST_F(TypedMailbox, AHandlerFactoryThatCanOnlyMoveMakesTheHandlers) {
  auto seed = std::make_unique<int64_t>(41);
  auto mb = spawn_mailbox<get_count>(*rt, {}, [seed = std::move(seed)](auto*) {
              return handlers{[n = *seed + 1](get_count&) { return n; }};
            }).value();
  auto n = ask(mb, get_count{}, 5s);
  ASSERT_TRUE(n) << render(n.error());
  EXPECT_EQ(*n, 42);
}

// A Troupe actor is a caf::local_actor (id, links, monitors, exit reason) and a resumable, not a
// caf::scheduled_actor: CAF's mailbox, behavior stack, response tables, stream managers and
// default handlers were 800 bytes of every actor (sizeof(caf::scheduled_actor) is 960 with GCC
// 12, caf::local_actor 160). What Troupe adds: its CAF inbox (one pointer), its reply queue and
// CAF response table (made by their first use), its request table and sources. The request
// table (56 bytes as an empty std::unordered_map, the id count and the requests' deadlines) is
// made by the first request, the lock that serialises replies to an ended actor is a spin lock
// (a std::mutex is 40 bytes), and the flags share one word.
TEST(ActorFootprint, ATroupeActorIsALocalActorAndLittleMore) {
  EXPECT_LE(sizeof(troupe::actor), sizeof(caf::local_actor) + 80u);
  EXPECT_LT(sizeof(troupe::actor), sizeof(caf::scheduled_actor) / 2);
}

// A typed mailbox's actor adds its core's pointer and its flags: the host of its coroutine
// handlers (56 bytes) is made by the first one, and most actors never run one.
TEST(ActorFootprint, AMailboxActorAddsACorePointerAndItsFlags) {
  EXPECT_LE(sizeof(mailbox_self<item>), sizeof(troupe::actor) + 32u);
  EXPECT_LT(sizeof(mailbox_self<item>), sizeof(troupe::actor) + sizeof(coroutine_host));
}

// A mailbox core keeps what it reads of its options, not a mailbox_options (64 bytes, its name
// a std::string that most mailboxes leave empty).
TEST(ActorFootprint, AMailboxCoreKeepsItsOptionsCompact) {
  EXPECT_LE(sizeof(troupe::detail::mailbox_core_base), 96u);
}

// What only a full queue needs (the counts of parked senders, waiting threads and losses, and
// their lots) is made by the first item that found it full (bounded_admission's congestion):
// the engine keeps its policy and one pointer. The queue is one pointer for its three kinds.
TEST(ActorFootprint, AMailboxCoreKeepsWhatOnlyAFullQueueNeedsOutOfLine) {
  EXPECT_LE(sizeof(troupe::detail::mailbox_core<item>),
            sizeof(troupe::detail::mailbox_core_base) + 16u + sizeof(void*));
}

// -- lanes: who keeps whose order ------------------------------------------------------------

namespace {

// Waits until `mb` has handled `n` messages, then asks for its record: the ask travels in the
// asking thread's lane, so it is sent only once every message it is to see was handled.
std::vector<std::pair<int, int>> record_after(const mailbox<item, get_items>& mb, std::size_t n) {
  EXPECT_TRUE(troupe::test::eventually([&] { return mb.metrics().processed >= n; }, 30s))
      << "handled " << mb.metrics().processed << " of " << n;
  auto items = ask(mb, get_items{}, 10s);
  EXPECT_TRUE(items) << render(items.error());
  return items ? *items : std::vector<std::pair<int, int>>{};
}

// Every sender's sequence numbers, in the order handled, must be 0, 1, 2, ...
void expect_each_senders_order(const std::vector<std::pair<int, int>>& items, int senders,
                               int per_sender) {
  ASSERT_EQ(items.size(), static_cast<std::size_t>(senders * per_sender));
  std::vector<int> next(static_cast<std::size_t>(senders), 0);
  for (auto [s, i] : items)
    ASSERT_EQ(i, next[static_cast<std::size_t>(s)]++) << "sender " << s;
}

} // namespace

// Busy actors sending to one mailbox each have a lane; each one's messages keep their order.
TEST_F(TypedMailbox, ManyActorSendersEachKeepTheirOrder) {
  constexpr int senders = 12; // more than the lanes: some share one
  constexpr int per_sender = 5000;
  auto mb = spawn_recorder(*rt, {});
  for (int s = 0; s < senders; ++s)
    rt->spawn([mb, s](caf::event_based_actor* self) {
      for (int i = 0; i < per_sender; ++i)
        EXPECT_TRUE(mb.send(self, item{s, i}));
    });
  expect_each_senders_order(record_after(mb, senders * per_sender), senders, per_sender);
}

// An actor's sends without `self` (the thread form, from its handler) go to its own lane, as
// its sends with `self` do: mixed, they keep one order (in two lanes they would be served in
// turns, out of order).
TEST_F(TypedMailbox, AnActorsSendsWithAndWithoutSelfKeepOneOrder) {
  constexpr int senders = 2;
  constexpr int per_sender = 2000;
  auto mb = spawn_recorder(*rt, {});
  for (int s = 0; s < senders; ++s)
    rt->spawn([mb, s](caf::event_based_actor* self) {
      for (int i = 0; i < per_sender; ++i)
        EXPECT_TRUE(i % 2 == 0 ? mb.send(self, item{s, i}) : mb.send(item{s, i}));
    });
  expect_each_senders_order(record_after(mb, senders * per_sender), senders, per_sender);
}

// Threads outside actors share one lane: what one thread sent after another thread had sent
// is handled after it, as in one Tokio channel.
TEST_F(TypedMailbox, MessagesFromThreadsKeepTheOrderTheyWereSentInAcrossThreads) {
  constexpr int per_thread = 300;
  auto mb = spawn_recorder(*rt, {});
  int seq = 0;
  for (int t = 0; t < 3; ++t)
    std::thread{[&] {
      for (int i = 0; i < per_thread; ++i)
        EXPECT_TRUE(mb.send(item{0, seq++}));
    }}.join();
  auto items = ask(mb, get_items{}, 10s);
  ASSERT_TRUE(items) << render(items.error());
  expect_each_senders_order(*items, 1, 3 * per_thread);
}
