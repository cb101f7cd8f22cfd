// The distribution component's events: a link that connects, fails to connect, and loses its
// peer node.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "distribution/client_server_fixture.hpp"
#include "distribution/wire_types.hpp"
#include "support/event_recorder.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::test::add;
using troupe::test::two_workers;
namespace kinds = troupe::event_kinds;

namespace {

class node_events_test : public troupe::test::client_server_fixture {
protected:
  troupe::test::event_recorder events{client_rt.events()};
};

troupe::mailbox<add> spawn_adder(troupe::runtime& rt) {
  return troupe::spawn_mailbox<add>(
             rt, {}, [](auto*) { return troupe::handlers{[](add& a) { return a.x + a.y; }}; })
      .value();
}

TEST_F(node_events_test, AConnectionAndItsLossArePublished) {
  auto peer = "127.0.0.1:";
  std::optional<troupe::remote_mailbox<add>> remote;
  std::string where;
  {
    troupe::runtime other{two_workers(), net.customizer()};
    auto other_node = troupe::node::start(other, net).value();
    ASSERT_FALSE(other_node.publish("adder", spawn_adder(other)));
    auto port = other_node.listen(0).value();
    where = peer + std::to_string(port) + "/adder";
    remote = client.lookup<add>("127.0.0.1", port, "adder").value();
    ASSERT_EQ(remote->ask(add{1, 2}, 5s).value(), 3);
    auto connected = events.wait_for(kinds::node_connected);
    ASSERT_TRUE(connected);
    auto j = troupe::to_json(*connected);
    EXPECT_EQ(j.at("level"), "info");
    EXPECT_EQ(j.at("name"), where);
    EXPECT_EQ(j.at("peer"), where);
    EXPECT_FALSE(j.at("node").get<std::string>().empty());
    EXPECT_NE(j.at("actor"), 0);
  } // the peer's runtime goes: its service ends, its connection drops
  auto lost = events.wait_for(kinds::node_lost, {}, 20s);
  ASSERT_TRUE(lost);
  auto j = troupe::to_json(*lost);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("peer"), where);
  // The peer's runtime stops its service before the connection drops: either is the reason.
  auto reason = j.at("reason").get<std::string>();
  EXPECT_TRUE(reason.find("connection_lost") != std::string::npos ||
              reason.find("receiver_dead") != std::string::npos)
      << j;
}

TEST_F(node_events_test, AFailedConnectionIsPublished) {
  uint16_t closed = 0;
  {
    troupe::runtime other{two_workers(), net.customizer()};
    auto node = troupe::node::start(other, net).value();
    closed = node.listen(0).value();
  }
  ASSERT_FALSE(client.lookup<add>("127.0.0.1", closed, "adder"));
  auto failed = events.wait_for(kinds::node_connect_failed);
  ASSERT_TRUE(failed);
  auto j = troupe::to_json(*failed);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("peer"), "127.0.0.1:" + std::to_string(closed) + "/adder");
  EXPECT_NE(j.at("reason").get<std::string>().find("node_down"), std::string::npos) << j;
}

} // namespace
