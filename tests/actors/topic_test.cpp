#include <atomic>
#include <future>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct tick {
  int64_t n = 0;
};

// What a subscriber saw, in order: values and lag notices (as negative counts).
struct record {
  std::mutex mtx;
  std::vector<int64_t> seen;
  std::vector<uint64_t> lags;
  caf::error closed;

  void add(int64_t v) {
    std::lock_guard guard{mtx};
    seen.push_back(v);
  }
};

struct join {};
struct hold {};
struct count_seen {
  using reply_type = std::size_t;
};

// A Troupe actor that subscribes on `join` and records; `hold` blocks it until released.
mailbox<join, hold, count_seen> spawn_subscriber(runtime& rt, topic<tick> t,
                                                 std::shared_ptr<record> rec,
                                                 std::shared_ptr<std::latch> release = nullptr,
                                                 std::shared_ptr<std::latch> entered = nullptr) {
  return spawn_mailbox<join, hold, count_seen>(rt, {},
                                               [t, rec, release, entered](auto* self) {
                                                 return handlers{
                                                     [self, t, rec](join&) {
                                                       auto err = t.subscribe(
                                                           self,
                                                           [rec](const tick& x) { rec->add(x.n); },
                                                           [rec](lagged l) {
                                                             std::lock_guard guard{rec->mtx};
                                                             rec->lags.push_back(l.missed);
                                                           },
                                                           [rec](caf::error e) {
                                                             std::lock_guard guard{rec->mtx};
                                                             rec->closed = e;
                                                           });
                                                       EXPECT_FALSE(err) << render(err);
                                                     },
                                                     [release, entered](hold&) {
                                                       if (entered)
                                                         entered->count_down();
                                                       if (release)
                                                         release->wait();
                                                     },
                                                     [rec](count_seen&) {
                                                       std::lock_guard guard{rec->mtx};
                                                       return rec->seen.size();
                                                     },
                                                 };
                                               })
      .value();
}

} // namespace

using Topics = troupe::test::runtime_fixture;

TEST_F(Topics, EverySubscriberSeesEveryMessageInOrder) {
  auto t =
      make_topic<tick>(
          *rt, topic_options{.capacity = 4096, .on_lag = lag_policy::notify_lag, .name = "ticks"})
          .value();
  std::vector<std::shared_ptr<record>> recs;
  std::vector<mailbox<join, hold, count_seen>> subs;
  for (int i = 0; i < 4; ++i) {
    recs.push_back(std::make_shared<record>());
    subs.push_back(spawn_subscriber(*rt, t, recs.back()));
    ASSERT_TRUE(ask(subs.back(), count_seen{}, 5s)); // handled in order: join first
  }
  for (auto& s : subs)
    ASSERT_TRUE(s.send(join{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return t.metrics().subscribers == 4; }));
  for (int64_t i = 0; i < 1000; ++i)
    t.publish(tick{i});
  for (std::size_t k = 0; k < subs.size(); ++k) {
    ASSERT_TRUE(
        troupe::test::eventually([&] { return ask(subs[k], count_seen{}, 5s).value() == 1000u; }));
    std::lock_guard guard{recs[k]->mtx};
    for (int64_t i = 0; i < 1000; ++i)
      ASSERT_EQ(recs[k]->seen[static_cast<std::size_t>(i)], i);
    EXPECT_TRUE(recs[k]->lags.empty());
  }
  auto m = t.metrics();
  EXPECT_EQ(m.published, 1000u);
  EXPECT_EQ(m.delivered, 4000u);
  for (auto& s : subs)
    caf::anon_send_exit(s.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, SlowSubscriberGetsTheExactLagCountAndTheNewestMessages) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 8, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  auto rec = std::make_shared<record>();
  auto release = std::make_shared<std::latch>(1);
  auto entered = std::make_shared<std::latch>(1);
  auto sub = spawn_subscriber(*rt, t, rec, release, entered);
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(sub.send(hold{}));
  entered->wait(); // subscribed, and now busy
  for (int64_t i = 0; i < 20; ++i)
    t.publish(tick{i});
  release->count_down();
  ASSERT_TRUE(troupe::test::eventually([&] { return ask(sub, count_seen{}, 5s).value() == 8u; }));
  std::lock_guard guard{rec->mtx};
  EXPECT_EQ(rec->lags, (std::vector<uint64_t>{12}));
  EXPECT_EQ(rec->seen, (std::vector<int64_t>{12, 13, 14, 15, 16, 17, 18, 19}));
  EXPECT_EQ(t.metrics().per_subscriber.at(0).missed, 12u);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, DisconnectPolicyUnsubscribesTheLaggardWithATypedReason) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 4, .on_lag = lag_policy::disconnect, .name = ""})
               .value();
  auto rec = std::make_shared<record>();
  auto release = std::make_shared<std::latch>(1);
  auto entered = std::make_shared<std::latch>(1);
  auto sub = spawn_subscriber(*rt, t, rec, release, entered);
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(sub.send(hold{}));
  entered->wait();
  for (int64_t i = 0; i < 10; ++i)
    t.publish(tick{i});
  release->count_down();
  ASSERT_TRUE(troupe::test::eventually([&] { return t.metrics().subscribers == 0; }));
  ASSERT_TRUE(troupe::test::eventually([&] {
    std::lock_guard guard{rec->mtx};
    return static_cast<bool>(rec->closed);
  }));
  std::lock_guard guard{rec->mtx};
  EXPECT_EQ(rec->closed, topic_errc::subscriber_lagged);
  EXPECT_TRUE(rec->seen.empty());
  EXPECT_EQ(t.metrics().disconnected, 1u);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, DeadSubscriberIsUnsubscribed) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  auto sub = spawn_subscriber(*rt, t, std::make_shared<record>());
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return t.metrics().subscribers == 1; }));
  caf::scoped_actor self{sys()};
  self->monitor(sub.actor());
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  EXPECT_EQ(t.metrics().subscribers, 0u);
  t.publish(tick{1}); // nobody left: fine, and counted
  EXPECT_EQ(t.metrics().published_without_subscribers, 1u);
}

TEST_F(Topics, PublishingWithoutSubscribersIsCounted) {
  auto t =
      make_topic<tick>(
          *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = "empty"})
          .value();
  t.publish(tick{1});
  t.publish(tick{2});
  auto m = t.metrics();
  EXPECT_EQ(m.published, 2u);
  EXPECT_EQ(m.published_without_subscribers, 2u);
  EXPECT_EQ(m.delivered, 0u);
}

TEST_F(Topics, TopicsAreFoundByNameWithTypedErrors) {
  auto t =
      make_topic<tick>(
          *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = "named"})
          .value();
  auto found = find_topic<tick>(*rt, "named");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name(), "named");
  auto missing = find_topic<tick>(*rt, "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), topic_errc::no_such_topic);
  auto wrong = find_topic<int>(*rt, "named");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), topic_errc::type_mismatch);
  auto again = make_topic<tick>(
      *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = "named"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), topic_errc::name_taken);
  auto zero = make_topic<tick>(
      *rt, topic_options{.capacity = 0, .on_lag = lag_policy::notify_lag, .name = ""});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error(), config_errc::out_of_range);
}

TEST_F(Topics, BackpressurePolicyMakesThePublisherWaitAndNobodyLags) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 4, .on_lag = lag_policy::backpressure, .name = ""})
               .value();
  auto rec = std::make_shared<record>();
  auto release = std::make_shared<std::latch>(1);
  auto entered = std::make_shared<std::latch>(1);
  auto sub = spawn_subscriber(*rt, t, rec, release, entered);
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(sub.send(hold{}));
  entered->wait();
  std::atomic<int> published{0};
  std::thread publisher{[&] {
    for (int64_t i = 0; i < 50; ++i) {
      t.publish(tick{i});
      ++published;
    }
  }};
  // The subscriber is held: the publisher fills the ring and then has to wait.
  ASSERT_TRUE(troupe::test::eventually([&] { return published.load() == 4; }));
  EXPECT_EQ(t.metrics().published, 4u);
  release->count_down();
  publisher.join();
  ASSERT_TRUE(troupe::test::eventually([&] { return ask(sub, count_seen{}, 5s).value() == 50u; }));
  std::lock_guard guard{rec->mtx};
  EXPECT_TRUE(rec->lags.empty());
  for (int64_t i = 0; i < 50; ++i)
    ASSERT_EQ(rec->seen[static_cast<std::size_t>(i)], i);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, TypedMailboxSubscribesFromOutsideAndIsDroppedWhenItDies) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 64, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  struct total {
    using reply_type = int64_t;
  };
  auto sink = spawn_mailbox<tick, total>(*rt, {}, [](auto*) {
                auto sum = std::make_shared<int64_t>(0);
                return handlers{[sum](tick& x) { *sum += x.n; }, [sum](total&) { return *sum; }};
              }).value();
  ASSERT_FALSE(t.subscribe(sink));
  EXPECT_EQ(t.subscribe(sink), topic_errc::already_subscribed);
  t.unsubscribe(sink);
  EXPECT_EQ(t.metrics().subscribers, 0u);
  ASSERT_FALSE(t.subscribe(sink));
  for (int64_t i = 1; i <= 100; ++i)
    t.publish(tick{i});
  EXPECT_EQ(ask(sink, total{}, 5s).value(), 5050);
  EXPECT_EQ(t.metrics().subscribers, 1u);
  EXPECT_EQ(t.metrics().per_subscriber.at(0).received, 100u);
  caf::scoped_actor self{sys()};
  self->monitor(sink.actor());
  caf::anon_send_exit(sink.actor(), caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  t.publish(tick{0}); // finds the mailbox dead and drops it
  EXPECT_EQ(t.metrics().subscribers, 0u);
}

TEST_F(Topics, PlainCafActorSubscribesAndIsUnsubscribedWhenItTerminates) {
  auto t = make_topic<int64_t>(
               *rt, topic_options{.capacity = 64, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  auto sum = std::make_shared<std::promise<int64_t>>();
  auto result = sum->get_future();
  auto listener = rt->spawn([sum](caf::event_based_actor* self) -> caf::behavior {
    auto total = std::make_shared<int64_t>(0);
    auto count = std::make_shared<int>(0);
    return {[self, sum, total, count](int64_t x) {
      *total += x;
      if (++*count == 10) {
        sum->set_value(*total);
        self->quit();
      }
    }};
  });
  ASSERT_FALSE(t.subscribe(listener));
  for (int64_t i = 1; i <= 10; ++i)
    t.publish(i);
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), 55);
  ASSERT_TRUE(troupe::test::eventually([&] { return t.metrics().subscribers == 0; }));
}
