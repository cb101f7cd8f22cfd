// The network's event loop run by the runtime's workers (worker_polling.hpp): CAF's middleman
// gets no thread of its own, requests cross as before, a flood of posts from inside the loop
// does not block it, and CAF's schedulers keep CAF's thread.

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <gtest/gtest.h>

#include "distribution/client_server_fixture.hpp"
#include "distribution/wire_types.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::add;

namespace {

troupe::mailbox<add> spawn_adder(troupe::runtime& rt) {
  return troupe::spawn_mailbox<add>(
             rt, {}, [](auto*) { return troupe::handlers{[](add& a) { return a.x + a.y; }}; })
      .value();
}

bool manual_multiplexing(troupe::runtime& rt) {
  return caf::get_or(rt.system().config(), "middleman.manual-multiplexing", false);
}

// A server runtime that publishes an adder and a client runtime that looks it up.
struct published_adder {
  explicit published_adder(const troupe::runtime_config& cfg)
      : server_rt{cfg, net.customizer()}, client_rt{cfg, net.customizer()},
        server{troupe::node::start(server_rt, net).value()},
        client{troupe::node::start(client_rt, net).value()} {}

  troupe::result<troupe::remote_mailbox<add>> lookup() {
    auto adder = spawn_adder(server_rt);
    if (auto err = server.publish("adder", adder))
      return err;
    auto port = server.listen(0);
    if (!port)
      return port.error();
    return client.lookup<add>("127.0.0.1", *port, "adder");
  }

  troupe::network_setup net = troupe::test::test_network();
  troupe::runtime server_rt;
  troupe::runtime client_rt;
  troupe::node server;
  troupe::node client;
};

TEST(worker_polling, TheWorkersRunTheMiddlemansEventLoop) {
  published_adder nodes{troupe::test::two_workers()};
  for (auto* rt : {&nodes.server_rt, &nodes.client_rt}) {
    EXPECT_TRUE(manual_multiplexing(*rt)) << "the middleman started a thread of its own";
    EXPECT_EQ(rt->system().middleman().backend().thread_id(), std::thread::id{})
        << "a thread would run the multiplexer inline";
    EXPECT_TRUE(rt->system().has_network_manager());
  }
  auto remote = nodes.lookup();
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(remote->ask(add{i, 1}, 5s), caf::expected<int32_t>{i + 1}) << "request " << i;
}

TEST(worker_polling, AFloodOfPostsFromInsideTheLoopDoesNotBlockIt) {
  // A node that goes down posts once per proxy from inside the loop. Through CAF's pipe (64 KiB,
  // 8,192 posts) the worker that polls would block writing into the pipe only it reads.
  auto net = troupe::test::test_network();
  troupe::runtime rt{troupe::test::two_workers(), net.customizer()};
  auto& mpx = rt.system().middleman().backend();
  constexpr int posts = 100'000;
  std::atomic<int> ran{0};
  std::latch done{posts};
  mpx.post([&] {
    for (int i = 0; i < posts; ++i)
      mpx.post([&] {
        ++ran;
        done.count_down();
      });
  });
  ASSERT_TRUE(troupe::test::eventually([&] { return done.try_wait(); }, 60s))
      << ran.load() << " of " << posts << " posts ran";
  EXPECT_EQ(ran.load(), posts);
}

TEST(worker_polling, CafSchedulersKeepTheMiddlemansThread) {
  auto cfg = troupe::test::two_workers();
  cfg.scheduler = troupe::scheduler_policy::caf_stealing;
  published_adder nodes{cfg};
  EXPECT_FALSE(manual_multiplexing(nodes.server_rt));
  EXPECT_FALSE(manual_multiplexing(nodes.client_rt));
  auto remote = nodes.lookup();
  ASSERT_TRUE(remote) << troupe::render(remote.error());
  EXPECT_EQ(remote->ask(add{2, 3}, 5s), caf::expected<int32_t>{5});
}

} // namespace
