// The client half of the two-process example (see remote_server.cpp): looks up the "calc"
// service by name, sends it requests, follows the server's "ticks" topic through a local
// mirror, and prints what it got. Errors are typed: with no server it prints node_down.
//
//   ./remote_client port=4100 [host=127.0.0.1]

#include <atomic>
#include <charconv>
#include <chrono>
#include <future>
#include <iostream>
#include <string>
#include <string_view>

#include "remote_protocol.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

namespace {

struct start {};

} // namespace

int main(int argc, char** argv) {
  example::command_line cli{argc,
                            argv,
                            "remote_client: asks the remote_server example's \"calc\" service",
                            {example::text("host", "ADDR", "the server's address", "127.0.0.1"),
                             {"port", "PORT", "the server's port", 4100, 1, 65535}}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  auto host = cli.value("host");
  auto port = cli.integer("port");
  auto net = calc::network();
  troupe::runtime rt{*cfg, net.customizer()};
  auto node = troupe::node::start(rt, net).value();

  auto service = node.lookup<calc::add, calc::slow>(host, static_cast<uint16_t>(port), "calc");
  if (!service) {
    std::cerr << "calc: " << troupe::render(service.error()) << '\n';
    return 1;
  }
  int ok = 0;
  for (int i = 1; i <= 5; ++i) {
    auto sum = service->ask(calc::add{i, i * 10}, 2s);
    if (sum) {
      std::cout << i << " + " << i * 10 << " = " << *sum << '\n';
      ok += *sum == i * 11;
    } else {
      std::cout << "error: " << troupe::render(sum.error()) << '\n';
    }
  }
  auto late = service->ask(calc::slow{300}, 100ms);
  std::cout << "slow request with a 100 ms timeout: "
            << (late ? *late : troupe::render(late.error())) << '\n';

  auto ticks = troupe::subscribe_topic<int64_t>(node, host, static_cast<uint16_t>(port), "ticks");
  if (!ticks) {
    std::cerr << "ticks: " << troupe::render(ticks.error()) << '\n';
    return 1;
  }
  std::promise<void> five;
  std::atomic<int> seen{0};
  auto reader = troupe::spawn_mailbox<start>(rt, {}, [&](auto* self) {
                  return troupe::handlers{[&, self](start&) {
                    (void)ticks->mirror.subscribe(
                        self,
                        [&](const int64_t& t) {
                          std::cout << "tick " << t << '\n';
                          if (++seen == 5)
                            five.set_value();
                        },
                        [](troupe::lagged l) { std::cout << "lagged by " << l.missed << '\n'; });
                  }};
                }).value();
  (void)reader.send(start{});
  bool got_ticks = five.get_future().wait_for(5s) == std::future_status::ready;
  std::cout << "peers: " << node.describe().at("peers").dump() << '\n';
  return ok == 5 && !late && got_ticks ? 0 : 1;
}
