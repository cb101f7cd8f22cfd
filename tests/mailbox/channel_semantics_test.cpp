// Channel semantics checked against Tokio's sync primitives: a freed slot releases a waiting
// sender at once, high_water sees peaks that build up while a handler runs, mailbox_options
// validates as documented, and a topic drops a payload once no live subscriber can read it.

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

struct hold {};
struct work {
  int value = 0;
};
/// Its handler waits (up to 5 s) until the blocked sender's send returned.
struct await_sender {};

class channel_semantics : public ::testing::Test {
public:
  using box = mailbox<hold, work, await_sender>;

  box spawn(mailbox_options opts) {
    return spawn_mailbox<hold, work, await_sender>(rt, std::move(opts),
                                                   [this](auto*) {
                                                     return handlers{
                                                         [this](hold&) {
                                                           entered.count_down();
                                                           release.wait();
                                                         },
                                                         [](work&) {},
                                                         [this](await_sender&) {
                                                           sender_seen_in_time =
                                                               sender_returned.wait_for(5s) ==
                                                               std::future_status::ready;
                                                         },
                                                     };
                                                   })
        .value();
  }

  // Declared before the runtime, so that they outlive every handler that waits on them.
  std::latch entered{1};
  std::latch release{1};
  std::promise<void> sender_done;
  std::shared_future<void> sender_returned{sender_done.get_future().share()};
  std::atomic<bool> sender_seen_in_time{false};
  runtime rt{troupe::test::runtime_fixture::default_config()};
};

// Tokio's bounded mpsc: a permit freed by a receive goes to a waiting sender right away. The
// handler after the freed slot waits for the blocked sender: if the sender were only released
// at the end of the consumer's batch, it would wait in vain.
TEST_F(channel_semantics, AFreedSlotReleasesAWaitingThreadBeforeTheNextHandlerEnds) {
  mailbox_options opts;
  opts.capacity = 1;
  auto mb = spawn(opts);
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  ASSERT_TRUE(mb.send(await_sender{})); // fills the one slot
  std::latch sending{1};
  std::thread sender{[&] {
    sending.count_down();
    EXPECT_TRUE(mb.send(work{1}, 10s));
    sender_done.set_value();
  }};
  sending.wait();
  release.count_down();
  sender.join();
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; }));
  EXPECT_TRUE(sender_seen_in_time.load());
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(channel_semantics, HighWaterSeesMessagesThatQueuedWhileAHandlerRan) {
  auto mb = spawn({});
  ASSERT_TRUE(mb.send(hold{}));
  entered.wait();
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(mb.send(work{i}));
  EXPECT_EQ(mb.metrics().depth, 4u);
  sender_done.set_value();
  release.count_down();
  ASSERT_TRUE(troupe::test::eventually([&] { return mb.metrics().depth == 0; }));
  EXPECT_GE(mb.metrics().high_water, 4u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

TEST(mailbox_options_validation, APolicyForAFullMailboxNeedsACapacity) {
  for (auto policy :
       {overflow_policy::fail, overflow_policy::drop_newest, overflow_policy::drop_oldest}) {
    mailbox_options opts;
    opts.overflow = policy;
    auto err = opts.validate();
    ASSERT_TRUE(err) << to_string(policy);
    EXPECT_EQ(err, config_errc::out_of_range);
    EXPECT_NE(render(err).find("capacity"), std::string::npos) << render(err);
    opts.capacity = 4;
    EXPECT_FALSE(opts.validate()) << to_string(policy);
  }
  EXPECT_FALSE(mailbox_options{}.validate()); // unbounded with backpressure: the default
  runtime rt{troupe::test::runtime_fixture::default_config()};
  mailbox_options bad;
  bad.overflow = overflow_policy::fail;
  auto mb = spawn_mailbox<work>(rt, bad, [](auto*) { return handlers{[](work&) {}}; });
  ASSERT_FALSE(mb);
  EXPECT_EQ(mb.error(), config_errc::out_of_range);
}

// -- topic payloads --------------------------------------------------------------------------

/// Counts its live copies, so a test sees whether the topic still holds one.
struct blob {
  explicit blob(std::shared_ptr<std::atomic<int>> a) : alive(std::move(a)) { ++*alive; }
  blob(const blob& other) : alive(other.alive) { ++*alive; }
  blob(blob&& other) noexcept : alive(other.alive) { ++*alive; }
  blob& operator=(const blob&) = delete;
  blob& operator=(blob&&) = delete;
  ~blob() { --*alive; }
  std::shared_ptr<std::atomic<int>> alive;
};

struct join {};
struct count_seen {
  using reply_type = int;
};

mailbox<join, hold, count_seen> spawn_blob_reader(runtime& rt, topic<blob> t,
                                                  std::shared_ptr<std::latch> entered,
                                                  std::shared_ptr<std::latch> release) {
  return spawn_mailbox<join, hold, count_seen>(
             rt, {},
             [t, entered, release](auto* self) {
               auto seen = std::make_shared<int>(0);
               return handlers{
                   [self, t, seen](join&) {
                     EXPECT_FALSE(t.subscribe(
                         self, [seen](const blob&) { ++*seen; }, [](lagged) {}));
                   },
                   [entered, release](hold&) {
                     entered->count_down();
                     release->wait();
                   },
                   [seen](count_seen&) { return *seen; },
               };
             })
      .value();
}

class topic_payloads : public troupe::test::runtime_fixture {};

TEST_F(topic_payloads, APayloadIsReleasedOnceEveryLiveSubscriberReadIt) {
  auto alive = std::make_shared<std::atomic<int>>(0);
  topic_options opts;
  opts.capacity = 8;
  auto t = make_topic<blob>(*rt, opts).value();
  t.publish(blob{alive}); // no subscriber: nobody can read it
  EXPECT_EQ(alive->load(), 0);

  auto entered = std::make_shared<std::latch>(1);
  auto release = std::make_shared<std::latch>(1);
  auto never = std::make_shared<std::latch>(1);
  // Whatever happens below, the held subscriber is let go, so the runtime can stop.
  struct let_go {
    std::shared_ptr<std::latch> latch;
    ~let_go() {
      if (!latch->try_wait())
        latch->count_down();
    }
  } guard{release};
  auto reader = spawn_blob_reader(*rt, t, never, never);
  auto lagging = spawn_blob_reader(*rt, t, entered, release);
  ASSERT_TRUE(reader.send(join{}));
  ASSERT_TRUE(lagging.send(join{}));
  ASSERT_TRUE(ask(reader, count_seen{}, 5s)); // handled after join: subscribed
  ASSERT_TRUE(ask(lagging, count_seen{}, 5s));
  ASSERT_TRUE(lagging.send(hold{}));
  entered->wait(); // the lagging one cannot read now
  t.publish(blob{alive});
  ASSERT_TRUE(troupe::test::eventually([&] { return ask(reader, count_seen{}, 5s).value() == 1; }));
  EXPECT_EQ(alive->load(), 1); // the lagging subscriber may still read it

  // The lagging subscriber dies: no live cursor is left before the payload.
  caf::scoped_actor self{rt->system()};
  self->monitor(lagging.actor());
  caf::anon_send_exit(lagging.actor(), caf::exit_reason::kill);
  release->count_down();
  guard.latch = std::make_shared<std::latch>(0);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
  ASSERT_TRUE(down);
  t.publish(blob{alive}); // read by the one reader
  ASSERT_TRUE(troupe::test::eventually([&] { return ask(reader, count_seen{}, 5s).value() == 2; }));
  EXPECT_TRUE(troupe::test::eventually([&] { return alive->load() == 0; }));
  caf::anon_send_exit(reader.actor(), caf::exit_reason::user_shutdown);
}

// -- barrier --------------------------------------------------------------------------------

struct go {};

class barrier_zero : public troupe::test::runtime_fixture {};

TEST_F(barrier_zero, ABarrierOfZeroPartiesBehavesAsOne) {
  barrier b{0};
  EXPECT_EQ(b.parties(), 1u);
  auto leader = std::make_shared<std::promise<bool>>();
  auto is_leader = leader->get_future();
  auto mb =
      spawn_mailbox<go>(*rt, {}, [b, leader](auto* self) {
        return handlers{[=](go&) { b.arrive(self, [leader](bool l) { leader->set_value(l); }); }};
      }).value();
  ASSERT_TRUE(mb.send(go{}));
  ASSERT_EQ(is_leader.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(is_leader.get());
  EXPECT_EQ(b.generation(), 1u);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

} // namespace
