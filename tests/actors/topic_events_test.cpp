// The actors component's events (topic.subscriber_lagged, topic.subscriber_disconnected), the
// events topic that lets actors subscribe to the event stream, and a real mailbox's dead letter
// on the stream.

#include <latch>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/event_recorder.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct tick {
  int64_t n = 0;
};
struct join {};
struct hold {};

// Subscribes to `t` on join; `hold` blocks it until `release`, after counting down `entered`.
mailbox<join, hold> spawn_slow_subscriber(runtime& rt, topic<tick> t,
                                          std::shared_ptr<std::latch> release,
                                          std::shared_ptr<std::latch> entered) {
  mailbox_options opts;
  opts.name = "slow-reader";
  return spawn_mailbox<join, hold>(rt, opts,
                                   [t, release, entered](auto* self) {
                                     return handlers{
                                         [self, t](join&) {
                                           auto err = t.subscribe(
                                               self, [](const tick&) {}, [](lagged) {});
                                           EXPECT_FALSE(err) << render(err);
                                         },
                                         [release, entered](hold&) {
                                           entered->count_down();
                                           release->wait();
                                         },
                                     };
                                   })
      .value();
}

// Makes a subscriber of a topic of capacity 4 miss 6 of 10 messages; returns the subscriber.
mailbox<join, hold> lag_behind(runtime& rt, lag_policy policy, const std::string& name) {
  auto t =
      make_topic<tick>(rt, topic_options{.capacity = 4, .on_lag = policy, .name = name}).value();
  auto release = std::make_shared<std::latch>(1);
  auto entered = std::make_shared<std::latch>(1);
  auto sub = spawn_slow_subscriber(rt, t, release, entered);
  EXPECT_TRUE(sub.send(join{}));
  EXPECT_TRUE(sub.send(hold{}));
  entered->wait(); // subscribed, and now busy
  for (int64_t i = 0; i < 10; ++i)
    t.publish(tick{i});
  release->count_down(); // its next drain finds 6 messages lost
  return sub;
}

} // namespace

using TopicEvents = test::runtime_fixture;

TEST_F(TopicEvents, ALaggingSubscriberIsPublished) {
  test::event_recorder events{rt->events()};
  auto sub = lag_behind(*rt, lag_policy::notify_lag, "ticks");
  auto who = sub.id();
  auto e = events.wait_for(event_kinds::topic_subscriber_lagged);
  ASSERT_TRUE(e);
  auto j = to_json(*e);
  EXPECT_EQ(j.at("level"), "notice");
  EXPECT_EQ(j.at("actor"), who);
  EXPECT_EQ(j.at("name"), "slow-reader");
  EXPECT_EQ(j.at("topic"), "ticks");
  EXPECT_EQ(j.at("lost"), 6);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(TopicEvents, ADisconnectedSubscriberIsPublished) {
  test::event_recorder events{rt->events()};
  auto sub = lag_behind(*rt, lag_policy::disconnect, "strict");
  auto who = sub.id();
  auto e = events.wait_for(event_kinds::topic_subscriber_disconnected);
  ASSERT_TRUE(e);
  auto j = to_json(*e);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("actor"), who);
  EXPECT_EQ(j.at("topic"), "strict");
  EXPECT_EQ(j.at("lost"), 6);
  caf::anon_send_exit(sub.actor(), caf::exit_reason::user_shutdown);
}

namespace {

struct listen {};

struct seen_events {
  std::mutex mtx;
  std::vector<event> events;
};

} // namespace

TEST_F(TopicEvents, TheEventsTopicDeliversToAnActor) {
  auto seen = std::make_shared<seen_events>();
  auto warnings = events_topic(*rt, event_level::warning);
  ASSERT_TRUE(warnings) << render(warnings.error());
  EXPECT_EQ(warnings->name(), "troupe.events.warning");
  auto listener = spawn_mailbox<listen>(*rt, {}, [t = *warnings, seen](auto* self) {
                    return handlers{[self, t, seen](listen&) {
                      auto err = t.subscribe(
                          self,
                          [seen](const event& e) {
                            std::lock_guard guard{seen->mtx};
                            seen->events.push_back(e);
                          },
                          [](lagged) {});
                      EXPECT_FALSE(err) << render(err);
                    }};
                  }).value();
  ASSERT_TRUE(listener.send(listen{}));
  ASSERT_TRUE(test::eventually([&] { return warnings->subscriber_count() == 1; }));
  EXPECT_TRUE(rt->events().wants(event_level::warning));
  EXPECT_FALSE(rt->events().wants(event_level::info)) << "the topic subscribed at warning";
  for (auto level : {event_level::info, event_level::warning, event_level::error}) {
    event e;
    e.level = level;
    e.kind = "test.topic";
    e.text = std::string{to_string(level)};
    rt->events().publish(std::move(e));
  }
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard guard{seen->mtx};
    return seen->events.size() == 2;
  }));
  {
    std::lock_guard guard{seen->mtx};
    EXPECT_EQ(seen->events[0].text, "warning");
    EXPECT_EQ(seen->events[1].text, "error");
    EXPECT_LT(seen->events[0].sequence, seen->events[1].sequence);
  }
  // A second call hands out the same topic; find_topic reaches it by name.
  EXPECT_EQ(events_topic(*rt, event_level::warning)->subscriber_count(), 1u);
  EXPECT_TRUE(find_topic<event>(*rt, "troupe.events.warning"));
  caf::anon_send_exit(listener.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(TopicEvents, AMailboxDeadLetterIsPublished) {
  test::event_recorder events{rt->events()};
  mailbox_options opts;
  opts.name = "gone";
  opts.capacity = 2;
  auto mb = spawn_mailbox<int>(*rt, opts, [](auto*) { return handlers{[](int&) {}}; }).value();
  auto permit = mb.try_reserve();
  ASSERT_TRUE(permit);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(mb.actor()), caf::exit_reason::user_shutdown);
  permit->send(42);
  auto e = events.wait_for(event_kinds::dead_letter);
  ASSERT_TRUE(e);
  auto j = to_json(*e);
  EXPECT_EQ(j.at("name"), "gone");
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_FALSE(j.at("reason").get<std::string>().empty());
}
