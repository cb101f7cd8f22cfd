// Pausing a consumer: messages queue while it is paused, a bounded mailbox applies its overflow
// policy as the queue fills, and resume() delivers what is queued in order.

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
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
/// Its reply says the items before it were handled.
struct flush {
  using reply_type = std::vector<int>;
};

class MailboxPause : public troupe::test::runtime_fixture {
public:
  using box = mailbox<item, flush>;

  // A consumer that answers flush with everything it handled so far.
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

  void stop(const box& mb) { caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown); }
};

} // namespace

TEST_F(MailboxPause, MessagesQueueWhilePausedAndResumeDeliversThemInOrder) {
  auto mb = spawn_recording();
  mb.pause();
  EXPECT_TRUE(mb.is_paused());
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(mb.send(item{i}));
  EXPECT_EQ(mb.metrics().depth, 5u);
  EXPECT_EQ(mb.metrics().processed, 0u);
  // A request queues like any message: it is not answered while the consumer is paused.
  auto answer = std::async(std::launch::async, [&] { return ask(mb, flush{}, 10s); });
  EXPECT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 6; }));
  EXPECT_EQ(mb.metrics().processed, 0u);
  mb.resume();
  EXPECT_FALSE(mb.is_paused());
  auto seen = answer.get();
  ASSERT_TRUE(seen) << render(seen.error());
  EXPECT_EQ(*seen, (std::vector<int>{1, 2, 3, 4, 5}));
  stop(mb);
}

TEST_F(MailboxPause, APausedBoundedMailboxFailsWhenFull) {
  mailbox_options opts;
  opts.capacity = 2;
  opts.overflow = overflow_policy::fail;
  auto mb = spawn_recording(opts);
  mb.pause();
  ASSERT_TRUE(mb.send(item{1}));
  ASSERT_TRUE(mb.send(item{2}));
  auto r = mb.send(item{3});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::mailbox_full);
  EXPECT_EQ(r.message()->value, 3);
  mb.resume();
  // Asked only once the queue drained: the flush itself would find the mailbox full.
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().processed == 2; }));
  EXPECT_EQ(ask(mb, flush{}, 10s).value(), (std::vector<int>{1, 2}));
  stop(mb);
}

TEST_F(MailboxPause, APausedBoundedMailboxDropsTheOldestWhenFull) {
  mailbox_options opts;
  opts.capacity = 3;
  opts.overflow = overflow_policy::drop_oldest;
  auto mb = spawn_recording(opts);
  mb.pause();
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(mb.send(item{i}));
  EXPECT_EQ(mb.metrics().dropped, 2u);
  mb.resume();
  // Asked only once the queue drained: a flush into the full ring would evict an item.
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().processed == 3; }));
  EXPECT_EQ(ask(mb, flush{}, 10s).value(), (std::vector<int>{3, 4, 5}));
  stop(mb);
}

TEST_F(MailboxPause, APausedBoundedMailboxHoldsBackASenderUntilResume) {
  mailbox_options opts;
  opts.capacity = 1; // backpressure
  auto mb = spawn_recording(opts);
  mb.pause();
  ASSERT_TRUE(mb.send(item{1}));
  auto r = mb.try_send(item{2});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::mailbox_full);
  auto waiting = std::async(std::launch::async, [&] { return mb.send(item{2}, 10s); });
  mb.resume(); // frees the slot: the waiting sender gets in
  ASSERT_TRUE(waiting.get());
  EXPECT_EQ(ask(mb, flush{}, 10s).value(), (std::vector<int>{1, 2}));
  stop(mb);
}

TEST_F(MailboxPause, ACloseWhilePausedIsSeenAfterResumeAndTheDrain) {
  auto mb = spawn_recording();
  mb.pause();
  ASSERT_TRUE(mb.send(item{1}));
  mb.close();
  caf::scoped_actor watcher{sys()};
  watcher->monitor(mb.actor());
  mb.resume();
  caf::error reason = caf::make_error(caf::sec::runtime_error);
  watcher->receive([&](caf::down_msg& d) { reason = d.reason; }, caf::after(10s) >> [] {});
  EXPECT_EQ(reason, caf::exit_reason::normal);
  EXPECT_EQ(mb.metrics().processed, 1u);
}
