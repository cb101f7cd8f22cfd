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

// Travels in CAF messages to plain CAF actor subscribers.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tick& x) {
  return f(x.n);
}

// What a subscriber saw, in order: values and lag notices (as negative counts).
struct record {
  std::mutex mtx;
  std::vector<int64_t> seen;
  std::vector<uint64_t> lags;
  caf::error closed;
  int end_notices = 0;
  std::size_t seen_at_end = 0; // how many messages had arrived when the end notice came

  void add(int64_t v) {
    std::lock_guard guard{mtx};
    seen.push_back(v);
  }
};

struct join {};
// Subscribes with the handle it carries, which goes away with the message: the subscriber
// holds no publisher handle of its own.
struct join_with {
  topic<tick> t;
};
struct hold {};
struct leave {};
struct count_seen {
  using reply_type = std::size_t;
};

using subscriber_box = mailbox<join, join_with, hold, leave, count_seen>;

// The three callbacks of a subscription, recording into `rec`.
template <class Self>
caf::error subscribe_recording(Self* self, const topic<tick>& t,
                               const std::shared_ptr<record>& rec) {
  return t.subscribe(
      self, [rec](const tick& x) { rec->add(x.n); },
      [rec](lagged l) {
        std::lock_guard guard{rec->mtx};
        rec->lags.push_back(l.missed);
      },
      [rec](caf::error e) {
        std::lock_guard guard{rec->mtx};
        rec->closed = std::move(e);
        ++rec->end_notices;
        rec->seen_at_end = rec->seen.size();
      });
}

// A Troupe actor that subscribes on `join` and records; `hold` blocks it until released;
// `leave` unsubscribes.
subscriber_box spawn_subscriber(runtime& rt, topic<tick> t, std::shared_ptr<record> rec,
                                std::shared_ptr<std::latch> release = nullptr,
                                std::shared_ptr<std::latch> entered = nullptr) {
  return spawn_mailbox<join, join_with, hold, leave, count_seen>(
             rt, {},
             [t, rec, release, entered](auto* self) {
               return handlers{
                   [self, t, rec](join&) {
                     auto err = subscribe_recording(self, t, rec);
                     EXPECT_FALSE(err) << render(err);
                   },
                   [self, rec](join_with& j) {
                     auto err = subscribe_recording(self, j.t, rec);
                     EXPECT_FALSE(err) << render(err);
                   },
                   [release, entered](hold&) {
                     if (entered)
                       entered->count_down();
                     if (release)
                       release->wait();
                   },
                   [self, t](leave&) { t.unsubscribe(self); },
                   [rec](count_seen&) {
                     std::lock_guard guard{rec->mtx};
                     return rec->seen.size();
                   },
               };
             })
      .value();
}

// Waits until `rec` got its end notice.
bool ended(const std::shared_ptr<record>& rec) {
  return troupe::test::eventually([&] {
    std::lock_guard guard{rec->mtx};
    return rec->end_notices > 0;
  });
}

} // namespace

using Topics = troupe::test::runtime_fixture;

TEST_F(Topics, EverySubscriberSeesEveryMessageInOrder) {
  auto t =
      make_topic<tick>(
          *rt, topic_options{.capacity = 4096, .on_lag = lag_policy::notify_lag, .name = "ticks"})
          .value();
  std::vector<std::shared_ptr<record>> recs;
  std::vector<subscriber_box> subs;
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

// -- closing, publish counts, end notices (Tokio's broadcast: close, send's receiver count) ---

TEST_F(Topics, CloseDeliversWhatWasPublishedThenOneClosedNoticeToEachSubscriber) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 4, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  auto quick = std::make_shared<record>();
  auto slow = std::make_shared<record>();
  auto release = std::make_shared<std::latch>(1);
  auto entered = std::make_shared<std::latch>(1);
  auto a = spawn_subscriber(*rt, t, quick);
  auto b = spawn_subscriber(*rt, t, slow, release, entered);
  ASSERT_TRUE(a.send(join{}));
  ASSERT_TRUE(b.send(join{}));
  ASSERT_TRUE(b.send(hold{}));
  entered->wait(); // b is subscribed and busy
  ASSERT_TRUE(troupe::test::eventually([&] { return t.subscriber_count() == 2; }));
  for (int64_t i = 0; i < 6; ++i) {
    auto r = t.publish(tick{i});
    ASSERT_TRUE(r);
    EXPECT_EQ(r.subscribers(), 2u);
    if (i == 3) { // a keeps up (the ring holds 4); b, held, falls 2 behind with the next two
      ASSERT_TRUE(troupe::test::eventually([&] { return ask(a, count_seen{}, 5s).value() == 4u; }));
    }
  }
  EXPECT_TRUE(t.close());
  EXPECT_FALSE(t.close()); // closed already
  EXPECT_TRUE(t.is_closed());
  EXPECT_TRUE(t.metrics().closed);
  auto refused = t.publish(tick{99});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), topic_errc::closed);
  EXPECT_EQ(refused.subscribers(), 0u);
  ASSERT_TRUE(refused.message());
  EXPECT_EQ(refused.message()->n, 99); // handed back
  release->count_down();
  ASSERT_TRUE(ended(quick));
  ASSERT_TRUE(ended(slow));
  {
    std::lock_guard guard{quick->mtx};
    EXPECT_EQ(quick->seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_TRUE(quick->lags.empty());
    EXPECT_EQ(quick->closed, topic_errc::closed);
    EXPECT_EQ(quick->seen_at_end, 6u); // after every message
  }
  {
    std::lock_guard guard{slow->mtx};
    // The held one lagged before the close: its lag notice, the rest, then closed.
    EXPECT_EQ(slow->lags, (std::vector<uint64_t>{2}));
    EXPECT_EQ(slow->seen, (std::vector<int64_t>{2, 3, 4, 5}));
    EXPECT_EQ(slow->closed, topic_errc::closed);
    EXPECT_EQ(slow->seen_at_end, 4u);
  }
  EXPECT_EQ(t.subscriber_count(), 0u);
  EXPECT_EQ(t.metrics().published, 6u);
  EXPECT_EQ(t.metrics().disconnected, 0u);
  // Exactly one notice each, even after more runs of the subscribers.
  ASSERT_TRUE(ask(a, count_seen{}, 5s));
  ASSERT_TRUE(ask(b, count_seen{}, 5s));
  EXPECT_EQ(quick->end_notices, 1);
  EXPECT_EQ(slow->end_notices, 1);
  for (auto* s : {&a, &b})
    caf::anon_send_exit(s->actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, PublishReturnsHowManySubscribersItReached) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  auto none = t.publish(tick{0});
  ASSERT_TRUE(none); // no subscriber is no error: 0, and counted
  EXPECT_EQ(none.subscribers(), 0u);
  EXPECT_FALSE(none.message());
  EXPECT_EQ(t.metrics().published_without_subscribers, 1u);

  auto rec1 = std::make_shared<record>();
  auto rec2 = std::make_shared<record>();
  auto s1 = spawn_subscriber(*rt, t, rec1);
  auto s2 = spawn_subscriber(*rt, t, rec2);
  ASSERT_TRUE(s1.send(join{}));
  ASSERT_TRUE(s2.send(join{}));
  struct total {
    using reply_type = int64_t;
  };
  auto sink = spawn_mailbox<tick, total>(*rt, {}, [](auto*) {
                auto sum = std::make_shared<int64_t>(0);
                return handlers{[sum](tick& x) { *sum += x.n; }, [sum](total&) { return *sum; }};
              }).value();
  ASSERT_FALSE(t.subscribe(sink));
  ASSERT_TRUE(troupe::test::eventually([&] { return t.subscriber_count() == 3; }));
  EXPECT_EQ(t.publish(tick{1}).subscribers(), 3u);

  ASSERT_TRUE(s1.send(leave{}));
  ASSERT_TRUE(ended(rec1));
  EXPECT_EQ(t.subscriber_count(), 2u);
  EXPECT_EQ(t.publish(tick{2}).subscribers(), 2u);
  t.unsubscribe(sink);
  EXPECT_EQ(t.publish(tick{3}).subscribers(), 1u);
  ASSERT_TRUE(troupe::test::eventually([&] { return ask(s2, count_seen{}, 5s).value() == 3u; }));
  EXPECT_EQ(ask(sink, total{}, 5s).value(), 3); // 1 + 2
  for (auto* s : {&s1, &s2})
    caf::anon_send_exit(s->actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, UnsubscribeEndsWithItsOwnNoticeNotALagDisconnect) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 16, .on_lag = lag_policy::disconnect, .name = ""})
               .value();
  auto rec = std::make_shared<record>();
  auto sub = spawn_subscriber(*rt, t, rec);
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return t.subscriber_count() == 1; }));
  for (int64_t i = 0; i < 3; ++i)
    (void)t.publish(tick{i});
  ASSERT_TRUE(troupe::test::eventually([&] { return ask(sub, count_seen{}, 5s).value() == 3u; }));
  ASSERT_TRUE(sub.send(leave{}));
  ASSERT_TRUE(ended(rec));
  EXPECT_EQ(t.publish(tick{3}).subscribers(), 0u);
  ASSERT_TRUE(ask(sub, count_seen{}, 5s)); // one more run: nothing more arrives
  std::lock_guard guard{rec->mtx};
  EXPECT_EQ(rec->closed, topic_errc::unsubscribed);
  EXPECT_EQ(rec->end_notices, 1);
  EXPECT_EQ(rec->seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(t.metrics().disconnected, 0u); // not counted as a lag disconnect
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, UnsubscribingInsideOnMessageStopsTheRestOfTheBatch) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  auto rec = std::make_shared<record>();
  auto entered = std::make_shared<std::latch>(1);
  auto release = std::make_shared<std::latch>(1);
  auto sub = spawn_mailbox<join, hold>(*rt, {}, [=](auto* self) {
               return handlers{
                   [self, t, rec](join&) {
                     auto err = t.subscribe(
                         self,
                         [self, t, rec](const tick& x) {
                           rec->add(x.n);
                           if (x.n == 2)
                             t.unsubscribe(self);
                         },
                         [](lagged) {},
                         [rec](caf::error e) {
                           std::lock_guard guard{rec->mtx};
                           rec->closed = std::move(e);
                           ++rec->end_notices;
                           rec->seen_at_end = rec->seen.size();
                         });
                     EXPECT_FALSE(err) << render(err);
                   },
                   [entered, release](hold&) {
                     entered->count_down();
                     release->wait();
                   },
               };
             }).value();
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(sub.send(hold{}));
  entered->wait();
  for (int64_t i = 0; i < 5; ++i) // all five wait in one batch
    (void)t.publish(tick{i});
  release->count_down();
  ASSERT_TRUE(ended(rec));
  std::lock_guard guard{rec->mtx};
  EXPECT_EQ(rec->seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(rec->closed, topic_errc::unsubscribed);
  EXPECT_EQ(rec->seen_at_end, 3u);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, TheLastPublisherHandleGoneClosesTheTopic) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = "last"})
               .value();
  auto copy = t;
  auto rec = std::make_shared<record>();
  // Subscribes with the handle in the message: the subscriber keeps none.
  auto sub = spawn_subscriber(*rt, topic<tick>{}, rec);
  ASSERT_TRUE(sub.send(join_with{t}));
  ASSERT_TRUE(troupe::test::eventually([&] { return t.subscriber_count() == 1; }));
  ASSERT_TRUE(t.publish(tick{1}));
  ASSERT_TRUE(copy.publish(tick{2}));
  { auto gone = std::move(t); } // one of two handles released
  EXPECT_FALSE(copy.is_closed());
  ASSERT_TRUE(copy.publish(tick{3}));
  copy = topic<tick>{}; // the last one
  ASSERT_TRUE(ended(rec));
  {
    std::lock_guard guard{rec->mtx};
    EXPECT_EQ(rec->seen, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(rec->closed, topic_errc::closed);
  }
  // The name still finds it, closed for good.
  auto found = find_topic<tick>(*rt, "last");
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->is_closed());
  EXPECT_EQ(found->publish(tick{4}).error(), topic_errc::closed);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Topics, SubscribingToAClosedTopicIsATypedError) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 16, .on_lag = lag_policy::notify_lag, .name = ""})
               .value();
  ASSERT_TRUE(t.close());
  auto err = std::make_shared<std::promise<caf::error>>();
  auto result = err->get_future();
  auto actor_sub = spawn_mailbox<join>(*rt, {}, [t, err](auto* self) {
                     return handlers{[self, t, err](join&) {
                       err->set_value(t.subscribe(
                           self, [](const tick&) {}, [](lagged) {}));
                     }};
                   }).value();
  ASSERT_TRUE(actor_sub.send(join{}));
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), topic_errc::closed);
  auto sink = spawn_mailbox<tick>(*rt, {}, [](auto*) { return handlers{[](tick&) {}}; }).value();
  EXPECT_EQ(t.subscribe(sink), topic_errc::closed);
  auto listener =
      rt->spawn([](caf::event_based_actor*) -> caf::behavior { return {[](tick&) {}}; });
  EXPECT_EQ(t.subscribe(listener), topic_errc::closed);
  EXPECT_EQ(t.subscriber_count(), 0u);
  caf::anon_send_exit(actor_sub.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
}

TEST_F(Topics, CloseReleasesABackpressuredPublisherWithTheMessageBack) {
  auto t = make_topic<tick>(
               *rt, topic_options{.capacity = 2, .on_lag = lag_policy::backpressure, .name = ""})
               .value();
  auto rec = std::make_shared<record>();
  auto release = std::make_shared<std::latch>(1);
  auto entered = std::make_shared<std::latch>(1);
  auto sub = spawn_subscriber(*rt, t, rec, release, entered);
  ASSERT_TRUE(sub.send(join{}));
  ASSERT_TRUE(sub.send(hold{}));
  entered->wait();
  ASSERT_TRUE(t.publish(tick{0}));
  ASSERT_TRUE(t.publish(tick{1})); // the ring is full now
  auto third = std::async(std::launch::async, [t] { return t.publish(tick{2}); });
  t.close(); // whether the publisher waits already or not yet, it is refused
  auto r = third.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), topic_errc::closed);
  EXPECT_EQ(r.message()->n, 2);
  release->count_down();
  ASSERT_TRUE(ended(rec));
  std::lock_guard guard{rec->mtx};
  EXPECT_EQ(rec->seen, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(rec->closed, topic_errc::closed);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}
