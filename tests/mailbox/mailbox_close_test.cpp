// Closing a mailbox for senders, checked against Tokio's mpsc close: what was queued is still
// handled, then the consumer sees the close; later sends fail with `closed` and hand the message
// back; senders waiting for room are released with `closed`.

#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
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

struct hold {};
struct work {
  int value = 0;
};
struct echo {
  int value = 0;
  using reply_type = int;
};

// What the consumer saw, in order ("1", "2", ..., "closed").
struct journal {
  std::mutex mtx;
  std::vector<std::string> seen;
  std::promise<void> closed;

  void add(std::string s) {
    std::lock_guard guard{mtx};
    seen.push_back(std::move(s));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard guard{mtx};
    return seen;
  }
};

class MailboxClose : public troupe::test::runtime_fixture {
public:
  using box = mailbox<hold, work, echo>;

  // A consumer without a mailbox_closed handler: it stops once closed and drained.
  box spawn_plain(mailbox_options opts = {}) {
    return spawn_mailbox<hold, work, echo>(*rt, std::move(opts),
                                           [j = log, g = gate](auto*) {
                                             return handlers{
                                                 [g](hold&) { g->wait(); },
                                                 [j](work& w) { j->add(std::to_string(w.value)); },
                                                 [](echo& e) { return e.value; },
                                             };
                                           })
        .value();
  }

  // A consumer with a mailbox_closed handler: it records the notice and keeps running.
  box spawn_with_notice() {
    return spawn_mailbox<hold, work, echo>(*rt, {},
                                           [j = log, g = gate](auto*) {
                                             return handlers{
                                                 [g](hold&) { g->wait(); },
                                                 [j](work& w) { j->add(std::to_string(w.value)); },
                                                 [](echo& e) { return e.value; },
                                                 [j](mailbox_closed&) {
                                                   j->add("closed");
                                                   j->closed.set_value();
                                                 },
                                             };
                                           })
        .value();
  }

  caf::error wait_for_exit(const caf::actor& a) {
    caf::error reason = caf::make_error(caf::sec::runtime_error, "no down message");
    caf::scoped_actor watcher{sys()};
    watcher->monitor(a);
    watcher->receive([&](caf::down_msg& d) { reason = d.reason; }, caf::after(10s) >> [] {});
    return reason;
  }

  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::shared_ptr<std::latch> gate = std::make_shared<std::latch>(1);
};

} // namespace

TEST_F(MailboxClose, QueuedMessagesAreHandledThenTheActorStopsNormally) {
  auto mb = spawn_plain();
  ASSERT_TRUE(mb.send(hold{}));
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(mb.send(work{i}));
  mb.close();
  EXPECT_TRUE(mb.is_closed());
  gate->count_down();
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(MailboxClose, AClosedHandlerRunsAfterTheQueuedMessagesAndTheActorKeepsRunning) {
  auto mb = spawn_with_notice();
  ASSERT_TRUE(mb.send(hold{}));
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(mb.send(work{i}));
  mb.close();
  mb.close(); // idempotent: one notice
  gate->count_down();
  ASSERT_EQ(log->closed.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"1", "2", "3", "closed"}));
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::user_shutdown);
}

TEST_F(MailboxClose, AnIdleConsumerSeesTheCloseAtOnce) {
  auto mb = spawn_plain();
  mb.close();
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_TRUE(log->snapshot().empty());
}

TEST_F(MailboxClose, ThreadSendsAfterCloseFailWithClosedAndHandTheMessageBack) {
  auto mb = spawn_with_notice();
  mb.close();
  auto r = mb.send(work{7});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::closed) << render(r.error());
  ASSERT_TRUE(r.message());
  EXPECT_EQ(r.message()->value, 7);
  auto t = mb.try_send(work{8});
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), mailbox_errc::closed);
  EXPECT_EQ(t.message()->value, 8);
  ASSERT_EQ(log->closed.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"closed"}));
  EXPECT_EQ(mb.metrics().rejected, 2u);
  EXPECT_EQ(rt->dead_letters()->count(), 0u) << "a refused message is not a dead letter";
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(MailboxClose, ActorSendsAfterCloseFailWithClosedAndHandTheMessageBack) {
  auto mb = spawn_with_notice();
  mb.close();
  struct start {};
  auto result = std::make_shared<std::promise<std::pair<caf::error, int>>>();
  auto sender = spawn_mailbox<start>(*rt, {}, [mb, result](auto* self) {
                  return handlers{[self, mb, result](start&) {
                    auto r = mb.send(self, work{5});
                    result->set_value({r.error(), r.message() ? r.message()->value : -1});
                    self->quit();
                  }};
                }).value();
  ASSERT_TRUE(sender.send(start{}));
  auto fut = result->get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  auto [err, value] = fut.get();
  EXPECT_EQ(err, mailbox_errc::closed) << render(err);
  EXPECT_EQ(value, 5);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(MailboxClose, RequestsToAClosedMailboxFailWithClosed) {
  auto mb = spawn_with_notice();
  ASSERT_EQ(ask(mb, echo{3}, 5s).value(), 3);
  mb.close();
  auto r = ask(mb, echo{4}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::closed) << render(r.error());
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(MailboxClose, AThreadBlockedForRoomIsReleasedWithClosed) {
  mailbox_options opts;
  opts.capacity = 1; // backpressure
  auto mb = spawn_plain(opts);
  ASSERT_TRUE(mb.send(hold{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; })); // hold runs
  ASSERT_TRUE(mb.send(work{1}));                                                  // the one slot
  auto blocked = std::async(std::launch::async, [&] { return mb.send(work{3}, 1h); });
  mb.close(); // whether the sender already waits or not: it must come back with `closed`
  ASSERT_EQ(blocked.wait_for(10s), std::future_status::ready) << "the blocked sender stayed";
  auto r = blocked.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::closed) << render(r.error());
  EXPECT_EQ(r.message()->value, 3);
  gate->count_down();
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"1"}));
}

TEST_F(MailboxClose, ARequestParkedForRoomFailsWithClosed) {
  mailbox_options opts;
  opts.capacity = 1;
  auto mb = spawn_plain(opts);
  ASSERT_TRUE(mb.send(hold{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; }));
  ASSERT_TRUE(mb.send(work{1})); // fills the slot while hold runs
  struct start {};
  auto result = std::make_shared<std::promise<caf::error>>();
  auto requester = spawn_mailbox<start>(*rt, {}, [mb, result](auto* self) {
                     return handlers{[self, mb, result](start&) {
                       request(self, mb, echo{9}, 10s)
                           .then([result, self](int) { result->set_value(caf::error{}); },
                                 [result, self](caf::error e) {
                                   result->set_value(std::move(e));
                                   self->quit();
                                 });
                     }};
                   }).value();
  ASSERT_TRUE(requester.send(start{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().parked == 1; }));
  mb.close();
  auto fut = result->get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get(), mailbox_errc::closed);
  gate->count_down();
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"1"}));
}

TEST_F(MailboxClose, TheConsumerMayCloseItsOwnMailbox) {
  struct stop_taking {};
  auto j = log;
  auto mb = spawn_mailbox<work, stop_taking>(*rt, {}, [j](auto* self) {
              return handlers{
                  [j](work& w) { j->add(std::to_string(w.value)); },
                  [self](stop_taking&) { self->close_mailbox(); },
              };
            }).value();
  ASSERT_TRUE(mb.send(work{1}));
  ASSERT_TRUE(mb.send(stop_taking{}));
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::normal);
  EXPECT_EQ(mb.send(work{2}).error(), mailbox_errc::closed);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"1"}));
}
