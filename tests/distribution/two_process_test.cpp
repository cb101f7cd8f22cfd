// A real server process (the remote_server example) and this process as the client: requests
// in flight when the server is killed fail with connection_lost well within their timeout, a
// remote topic's mirror and a supervised link hear of the loss, and the client connects again
// when the server returns on the same port.

#include <chrono>
#include <csignal>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "distribution/wire_types.hpp"
#include "support/child_process.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::add;
using troupe::test::slow;

namespace {

struct server_process {
  troupe::test::child_process child;
  uint16_t port = 0;

  static std::unique_ptr<server_process> start(uint16_t port) {
    auto s = std::make_unique<server_process>();
    s->child = troupe::test::launch(TROUPE_REMOTE_SERVER, {"port=" + std::to_string(port)});
    auto line = troupe::test::read_until(s->child.out, "(services");
    auto at = line.find("127.0.0.1:");
    EXPECT_NE(at, std::string::npos) << line;
    if (at != std::string::npos)
      s->port = static_cast<uint16_t>(std::stoi(line.substr(at + 10)));
    return s;
  }

  server_process() = default;
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  void kill_hard() {
    ::kill(child.pid, SIGKILL);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ::close(child.out);
    child.pid = -1;
  }

  ~server_process() {
    if (child.pid > 0)
      kill_hard();
  }
};

TEST(two_processes, KillingTheServerFailsRequestsInFlightAndTheClientReconnects) {
  auto net = troupe::test::test_network();
  troupe::runtime_config cfg;
  cfg.workers = 2;
  troupe::runtime rt{cfg, net.customizer()};
  auto node = troupe::node::start(rt, net).value();
  auto server = server_process::start(0);
  ASSERT_NE(server->port, 0);
  auto port = server->port;

  auto calc = node.lookup<add, slow>("127.0.0.1", port, "calc");
  ASSERT_TRUE(calc) << troupe::render(calc.error());
  ASSERT_EQ(calc->ask(add{20, 22}, 5s), caf::expected<int32_t>{42});
  // A supervised dependency: its link ends with connection_lost.
  auto watched_link = node.lookup<add>(
      "127.0.0.1", port, "calc", troupe::lookup_options{.connect_now = true, .exit_on_loss = true});
  ASSERT_TRUE(watched_link);
  caf::scoped_actor watcher{rt.system()};
  watcher->monitor(watched_link->link());
  // A remote topic's mirror hears of the partition.
  auto lost = std::make_shared<std::promise<caf::error>>();
  troupe::remote_topic_options topts;
  topts.on_lost = [lost](caf::error err) { lost->set_value(std::move(err)); };
  auto ticks = troupe::subscribe_topic<int64_t>(node, "127.0.0.1", port, "ticks", topts);
  ASSERT_TRUE(ticks) << troupe::render(ticks.error());

  // A supervised link: the supervisor sees it end with connection_lost and restarts it (after
  // a backoff long enough for the server to come back).
  troupe::child_spec link_child;
  link_child.id = "calc-link";
  link_child.backoff = troupe::backoff_policy{
      .initial_delay = 2s, .max_delay = 2s, .multiplier = 1.0, .jitter = 0.0, .reset_after = 30s};
  link_child.start = [&node, port](const troupe::child_context&) -> troupe::started_child {
    auto link = node.lookup<add>("127.0.0.1", port, "calc",
                                 troupe::lookup_options{.connect_now = true, .exit_on_loss = true});
    if (!link)
      return std::move(link.error());
    return link->link();
  };
  troupe::supervisor_spec sup_spec;
  sup_spec.name = "clients";
  sup_spec.intensity = 5;
  sup_spec.children = {link_child};
  auto sup = troupe::start_supervisor(rt, sup_spec);
  ASSERT_TRUE(sup) << troupe::render(sup.error());

  // Three requests the server takes 20 s to answer, with a 30 s timeout.
  std::vector<std::future<troupe::result<std::string>>> in_flight;
  for (int i = 0; i < 3; ++i)
    in_flight.push_back(
        std::async(std::launch::async, [&] { return calc->ask(slow{20'000}, 30s); }));
  auto peers_in_flight = [&] {
    auto described = node.describe(); // a range-for over a temporary's member would dangle
    for (auto& p : described.at("peers"))
      if (p.at("service") == "calc" && p.at("in_flight") == 3)
        return true;
    return false;
  };
  ASSERT_TRUE(troupe::test::eventually(peers_in_flight, 10s)) << node.describe().dump();
  // The server's `slow` handler sleeps on the runtime's blocking pool, not on a scheduler
  // worker: with three 20 s requests in flight on a 2-worker server it still answers at once.
  EXPECT_EQ(calc->ask(add{2, 3}, 5s), caf::expected<int32_t>{5});
  auto killed_at = std::chrono::steady_clock::now();
  server->kill_hard();
  for (auto& f : in_flight) {
    auto r = f.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), troupe::distribution_errc::connection_lost) << troupe::render(r.error());
  }
  // Well within the requests' own 30 s timeout (and the server's 20 s answer).
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 15s);
  auto mirror_end = lost->get_future();
  ASSERT_EQ(mirror_end.wait_for(15s), std::future_status::ready);
  EXPECT_EQ(mirror_end.get(), troupe::distribution_errc::connection_lost);
  caf::error link_reason;
  watcher->receive([&](caf::down_msg& msg) { link_reason = msg.reason; },
                   caf::after(15s) >> [] { ADD_FAILURE() << "the link did not end"; });
  EXPECT_EQ(link_reason, troupe::distribution_errc::connection_lost);
  // While the server is away: node_down, at once.
  auto away = calc->ask(add{1, 1}, 5s);
  ASSERT_FALSE(away);
  EXPECT_EQ(away.error(), troupe::distribution_errc::node_down) << troupe::render(away.error());

  // The server returns on the same port: the same handle connects again.
  server = server_process::start(port);
  ASSERT_EQ(server->port, port);
  EXPECT_EQ(calc->ask(add{1, 2}, 5s), caf::expected<int32_t>{3});
  // The supervised link was restarted once, for the lost connection, and runs again.
  auto restarted = [&] {
    auto rows = sup->which_children();
    return rows && rows->at(0).restarts == 1 && static_cast<bool>(rows->at(0).actor);
  };
  ASSERT_TRUE(troupe::test::eventually(restarted, 15s));
  auto dump = rt.topology();
  std::string last_exit;
  for (auto& tree : dump.at("supervision"))
    if (tree.at("name") == "clients")
      last_exit = tree.at("children").at(0).at("last_exit_reason");
  EXPECT_NE(last_exit.find("connection_lost"), std::string::npos) << last_exit;
  EXPECT_FALSE(sup->stop());

  std::string state;
  auto described = node.describe();
  for (auto& p : described.at("peers"))
    if (p.at("service") == "calc")
      state = p.at("state");
  EXPECT_EQ(state, "connected");
}

} // namespace
