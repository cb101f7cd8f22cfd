// Topics across two runtimes in one process: order, the lag rules, the owner's bookkeeping.

#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "distribution/wire_types.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

troupe::runtime_config workers(std::size_t n) {
  troupe::runtime_config cfg;
  cfg.workers = n;
  return cfg;
}

/// What a mirror's local subscriber saw: values and lag notices, in order.
struct seen {
  std::mutex mtx;
  std::vector<int64_t> events; // values in arrival order
  std::promise<void> done;
  uint64_t local_missed = 0; // the mirror's own ring overran this subscriber
  void add(int64_t e, int64_t final_value) {
    std::lock_guard guard{mtx};
    events.push_back(e);
    if (e == final_value)
      done.set_value();
  }
};

struct start {};

// A mailbox actor on `rt` that subscribes to `mirror` when it starts (`subscribe(self)` makes the
// subscription); returns once the mirror counts it.
template <class Subscribe>
troupe::mailbox<start> spawn_subscriber(troupe::runtime& rt, troupe::topic<int64_t> mirror,
                                        Subscribe subscribe) {
  auto mb = troupe::spawn_mailbox<start>(rt, {}, [subscribe](auto* self) {
              return troupe::handlers{[self, subscribe](start&) { subscribe(self); }};
            }).value();
  EXPECT_TRUE(mb.send(start{}));
  troupe::test::eventually([&] { return mirror.metrics().subscribers == 1; });
  return mb;
}

troupe::mailbox<start> subscriber(troupe::runtime& rt, troupe::topic<int64_t> mirror,
                                  std::shared_ptr<seen> out, int64_t final_value) {
  return spawn_subscriber(rt, mirror, [mirror, out, final_value](auto* self) {
    (void)mirror.subscribe(
        self, [out, final_value](const int64_t& v) { out->add(v, final_value); },
        [out](troupe::lagged l) {
          std::lock_guard guard{out->mtx};
          out->local_missed += l.missed;
        });
  });
}

// Both nodes of a test, the owner's (server) and the subscriber's (client).
struct two_nodes {
  explicit two_nodes(troupe::network_setup& net, std::size_t client_workers = 2)
      : server_rt{workers(2), net.customizer()}, client_rt{workers(client_workers),
                                                           net.customizer()},
        server{troupe::node::start(server_rt, net).value()},
        client{troupe::node::start(client_rt, net).value()} {}

  troupe::runtime server_rt;
  troupe::runtime client_rt;
  troupe::node server;
  troupe::node client;
};

class remote_topic_test : public ::testing::Test {
protected:
  troupe::network_setup net = troupe::test::test_network();
};

TEST_F(remote_topic_test, ASubscriberOnAnotherNodeGetsEveryMessageInOrder) {
  two_nodes nodes{net};
  auto& [server_rt, client_rt, server, client] = nodes;
  auto events =
      troupe::make_topic<int64_t>(
          server_rt, {.capacity = 64, .on_lag = troupe::lag_policy::notify_lag, .name = "events"})
          .value();
  ASSERT_FALSE(troupe::publish_topic(server, events));
  auto port = server.listen(0).value();
  auto lags = std::make_shared<std::atomic<uint64_t>>(0);
  troupe::remote_topic_options opts;
  opts.on_lag = [lags](troupe::lagged l) { *lags += l.missed; };
  auto remote = troupe::subscribe_topic<int64_t>(client, "127.0.0.1", port, "events", opts);
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  auto out = std::make_shared<seen>();
  constexpr int64_t n = 5000;
  auto sub = subscriber(client_rt, remote->mirror, out, n - 1);
  troupe::test::eventually([&] { return events.metrics().subscribers == 1; });
  // Whether the owner has to drop depends on how fast acknowledgements come back; the test
  // checks what holds either way: order, and that what arrived plus what the lag notices
  // announced is every message, and equals what the owner counted as dropped.
  for (int64_t i = 0; i < n; ++i)
    events.publish(i);
  ASSERT_EQ(out->done.get_future().wait_for(30s), std::future_status::ready);
  std::lock_guard guard{out->mtx};
  int64_t previous = -1;
  for (auto e : out->events) {
    EXPECT_GT(e, previous);
    previous = e;
  }
  EXPECT_EQ(out->events.size() + out->local_missed + lags->load(), static_cast<uint64_t>(n));
  EXPECT_EQ(lags->load(), server.state()->counter("topic:events.dropped"));
  // The owner's topology lists the published topic and the forwarder as its subscriber.
  auto dump = server_rt.topology();
  EXPECT_EQ(dump.at("network").at(0).at("published").at(0).at("name"), "topic:events");
  EXPECT_EQ(dump.at("topics").at(0).at("subscribers"), 1);
}

TEST_F(remote_topic_test, AStalledRemoteSubscriberLagsByExactlyWhatTheBoundDropped) {
  two_nodes nodes{net, 1};
  auto& [server_rt, client_rt, server, client] = nodes;
  auto events =
      troupe::make_topic<int64_t>(
          server_rt, {.capacity = 8, .on_lag = troupe::lag_policy::notify_lag, .name = "events"})
          .value();
  ASSERT_FALSE(troupe::publish_topic(server, events));
  auto port = server.listen(0).value();
  auto lags = std::make_shared<std::atomic<uint64_t>>(0);
  troupe::remote_topic_options opts;
  opts.window = 4;
  opts.on_lag = [lags](troupe::lagged l) { *lags += l.missed; };
  auto remote = troupe::subscribe_topic<int64_t>(client, "127.0.0.1", port, "events", opts);
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  auto out = std::make_shared<seen>();
  auto sub = subscriber(client_rt, remote->mirror, out, 999);
  troupe::test::eventually([&] { return events.metrics().subscribers == 1; });
  // The client's only worker is held, so its mirror acknowledges nothing: the owner sends one
  // window (4), keeps the topic's capacity (8, the newest) and drops the rest.
  auto release = std::make_shared<std::promise<void>>();
  auto held = std::make_shared<std::latch>(1);
  auto blocker = client_rt.spawn([release, held](caf::event_based_actor* self) -> caf::behavior {
    self->send(self, 1);
    return {[release, held](int) {
      held->count_down();
      release->get_future().wait();
    }};
  });
  held->wait();
  for (int64_t i = 0; i < 1000; ++i)
    events.publish(i);
  ASSERT_TRUE(troupe::test::eventually(
      [&] { return server.state()->counter("topic:events.dropped") == 988; }, 10s));
  release->set_value();
  ASSERT_EQ(out->done.get_future().wait_for(30s), std::future_status::ready);
  std::vector<int64_t> expected{0, 1, 2, 3};
  for (int64_t i = 992; i < 1000; ++i)
    expected.push_back(i);
  std::lock_guard guard{out->mtx};
  EXPECT_EQ(out->events, expected);
  EXPECT_EQ(out->local_missed, 0u);
  EXPECT_EQ(lags->load(), 988u);
  auto counters = server_rt.topology().at("network").at(0).at("counters");
  EXPECT_EQ(counters.at("topic:events.dropped"), 988);
  EXPECT_EQ(counters.at("topic:events.subscribed"), 1);
  caf::anon_send_exit(blocker, caf::exit_reason::user_shutdown);
}

TEST_F(remote_topic_test, UnknownTopicsAndPayloadMismatchesAreTyped) {
  two_nodes nodes{net};
  auto& [server_rt, client_rt, server, client] = nodes;
  auto events =
      troupe::make_topic<int64_t>(
          server_rt, {.capacity = 1024, .on_lag = troupe::lag_policy::notify_lag, .name = "events"})
          .value();
  ASSERT_FALSE(troupe::publish_topic(server, events));
  EXPECT_EQ(troupe::publish_topic(server, events), troupe::distribution_errc::publish_failed);
  auto port = server.listen(0).value();
  auto unknown = troupe::subscribe_topic<int64_t>(client, "127.0.0.1", port, "nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), troupe::distribution_errc::not_published);
  auto wrong = troupe::subscribe_topic<std::string>(client, "127.0.0.1", port, "events");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error(), troupe::distribution_errc::type_mismatch)
      << troupe::render(wrong.error());
}

/// What a mirror's local subscriber saw before its end notice, and the notice.
struct until_closed {
  std::mutex mtx;
  std::vector<int64_t> values;
  caf::error notice;
  std::promise<void> ended;
};

troupe::mailbox<start> subscriber_until_closed(troupe::runtime& rt, troupe::topic<int64_t> mirror,
                                               std::shared_ptr<until_closed> out) {
  return spawn_subscriber(rt, mirror, [mirror, out](auto* self) {
    (void)mirror.subscribe(
        self,
        [out](const int64_t& v) {
          std::lock_guard guard{out->mtx};
          out->values.push_back(v);
        },
        {},
        [out](caf::error why) {
          std::lock_guard guard{out->mtx};
          out->notice = std::move(why);
          out->ended.set_value();
        });
  });
}

TEST_F(remote_topic_test, ClosingTheOwnersTopicClosesTheMirrorAfterEveryMessage) {
  two_nodes nodes{net};
  auto& [server_rt, client_rt, server, client] = nodes;
  // Capacities that never drop: what matters is that the close comes after every message.
  auto events =
      troupe::make_topic<int64_t>(
          server_rt, {.capacity = 4096, .on_lag = troupe::lag_policy::notify_lag, .name = "events"})
          .value();
  ASSERT_FALSE(troupe::publish_topic(server, events));
  auto port = server.listen(0).value();
  auto lost = std::make_shared<std::promise<caf::error>>();
  troupe::remote_topic_options opts;
  opts.window = 16; // the forwarder buffers most of the burst when the close comes
  opts.capacity = 4096;
  opts.on_lost = [lost](caf::error why) { lost->set_value(std::move(why)); };
  auto remote = troupe::subscribe_topic<int64_t>(client, "127.0.0.1", port, "events", opts);
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  auto out = std::make_shared<until_closed>();
  auto sub = subscriber_until_closed(client_rt, remote->mirror, out);
  ASSERT_TRUE(troupe::test::eventually([&] { return events.metrics().subscribers == 1; }));
  constexpr int64_t n = 2000;
  for (int64_t i = 0; i < n; ++i)
    ASSERT_TRUE(events.publish(i));
  ASSERT_TRUE(events.close());
  auto lost_reason = lost->get_future();
  ASSERT_EQ(lost_reason.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(lost_reason.get(), troupe::topic_errc::closed);
  ASSERT_EQ(out->ended.get_future().wait_for(30s), std::future_status::ready);
  std::lock_guard guard{out->mtx};
  EXPECT_EQ(out->notice, troupe::topic_errc::closed);
  ASSERT_EQ(out->values.size(), static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ASSERT_EQ(out->values[static_cast<std::size_t>(i)], i);
  EXPECT_TRUE(remote->mirror.is_closed());
  EXPECT_EQ(remote->mirror.publish(int64_t{1}).error(), troupe::topic_errc::closed);
}

TEST_F(remote_topic_test, SubscribingToAClosedTopicClosesTheMirrorAtOnce) {
  two_nodes nodes{net};
  auto& [server_rt, client_rt, server, client] = nodes;
  auto events = troupe::make_topic<int64_t>(server_rt, {.name = "events"}).value();
  ASSERT_FALSE(troupe::publish_topic(server, events));
  ASSERT_TRUE(events.close());
  auto port = server.listen(0).value();
  auto lost = std::make_shared<std::promise<caf::error>>();
  troupe::remote_topic_options opts;
  opts.on_lost = [lost](caf::error why) { lost->set_value(std::move(why)); };
  auto remote = troupe::subscribe_topic<int64_t>(client, "127.0.0.1", port, "events", opts);
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  auto lost_reason = lost->get_future();
  ASSERT_EQ(lost_reason.wait_for(30s), std::future_status::ready);
  auto why = lost_reason.get();
  EXPECT_EQ(why, troupe::topic_errc::closed) << troupe::render(why);
  EXPECT_TRUE(remote->mirror.is_closed());
}

} // namespace
