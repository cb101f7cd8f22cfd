// The server half of the two-process example: a supervised "calc" service and a "ticks" topic,
// published on a port of 127.0.0.1. Start it, then remote_client in another terminal:
//
//   ./remote_server port=4100 &
//   ./remote_client port=4100
//
// The calc mailbox is a supervised child: when it crashes its supervisor restarts it, and the
// published name follows the new incarnation. ctrl-c (or run-for=MS) stops the server.

#include <atomic>
#include <charconv>
#include <chrono>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "remote_protocol.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;
using calc_mailbox = troupe::mailbox<calc::add, calc::slow>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

namespace {

// The service's current mailbox: written by the child's factory, read by the gateway.
class current_calc {
public:
  void set(calc_mailbox mb) {
    std::lock_guard guard{mtx_};
    mb_ = std::move(mb);
  }
  calc_mailbox get() const {
    std::lock_guard guard{mtx_};
    return mb_;
  }

private:
  mutable std::mutex mtx_;
  calc_mailbox mb_;
};

caf::behavior ticker(caf::event_based_actor* self, troupe::topic<int64_t> ticks) {
  auto n = std::make_shared<int64_t>(0);
  self->send(self, tick_atom::value);
  return {[self, ticks, n](tick_atom) {
    ticks.publish((*n)++, self->context());
    self->delayed_send(self, 10ms, tick_atom::value);
  }};
}

} // namespace

int main(int argc, char** argv) {
  example::command_line cli{
      argc,
      argv,
      "remote_server: a \"calc\" service and a \"ticks\" topic for remote_client",
      {{"port", "PORT", "port to listen on (0: any free port)", 4100, 0, 65535},
       {"run-for", "MS", "stop by itself after MS (0: only on a signal)", 0, 0, 86'400'000}}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  auto port = static_cast<uint16_t>(cli.integer("port"));
  auto run_for = cli.integer("run-for");
  cfg->handle_signals = true;
  auto net = calc::network();
  troupe::runtime rt{*cfg, net.customizer()};
  auto node = troupe::node::start(rt, net);
  if (!node) {
    std::cerr << troupe::render(node.error()) << '\n';
    return 1;
  }
  auto ticks = troupe::make_topic<int64_t>(
                   rt, {.capacity = 256, .on_lag = troupe::lag_policy::notify_lag, .name = "ticks"})
                   .value();
  auto current = std::make_shared<current_calc>();

  troupe::child_spec calc_child;
  calc_child.id = "calc";
  calc_child.start = [current](const troupe::child_context& ctx) -> troupe::started_child {
    troupe::mailbox_options opts;
    opts.name = "calc";
    auto mb = troupe::spawn_mailbox<calc::add, calc::slow>(ctx.rt, opts, [](auto*) {
      return troupe::handlers{
          [](calc::add& a) { return a.x + a.y; },
          // A handler that blocks (here: sleeps for a time the client chose) hands the blocking
          // part to the runtime's blocking pool and awaits it: the scheduler worker stays free
          // for other requests meanwhile. (Sleeping in the handler itself would hold a worker:
          // two such requests would stall a 2-worker server.)
          [](calc::slow s) -> troupe::task<caf::expected<std::string>> {
            auto sleep = [ms = s.ms] {
              std::this_thread::sleep_for(std::chrono::milliseconds{ms});
              return std::string{"slept " + std::to_string(ms) + " ms"};
            };
            auto reply = co_await troupe::coro::spawn_blocking(std::move(sleep));
            co_return reply;
          },
      };
    });
    if (!mb)
      return std::move(mb.error());
    current->set(*mb);
    return mb->actor();
  };
  troupe::child_spec ticker_child;
  ticker_child.id = "ticker";
  ticker_child.start = [ticks](const troupe::child_context& ctx) {
    return ctx.rt.spawn(ticker, ticks);
  };
  troupe::supervisor_spec spec;
  spec.name = "server";
  spec.children = {calc_child, ticker_child};
  auto root = troupe::start_supervisor(rt, spec);
  if (!root) {
    std::cerr << troupe::render(root.error()) << '\n';
    return 1;
  }
  std::function<calc_mailbox()> resolve = [current] { return current->get(); };
  if (auto err = node->publish<calc::add, calc::slow>("calc", resolve)) {
    std::cerr << troupe::render(err) << '\n';
    return 1;
  }
  if (auto err = troupe::publish_topic(*node, ticks)) {
    std::cerr << troupe::render(err) << '\n';
    return 1;
  }
  auto bound = node->listen(port);
  if (!bound) {
    std::cerr << troupe::render(bound.error()) << '\n';
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << *bound << " (services: calc, topic ticks)" << std::endl;
  if (run_for > 0) // stops after run-for, or earlier on a signal
    (void)rt.wait_for_stop(std::chrono::milliseconds{run_for});
  auto report = run_for > 0 ? rt.shutdown() : rt.run_until_stopped();
  std::cout << "server stopped" << (report.clean() ? "" : " (forced)") << std::endl;
  return report.clean() ? 0 : 1;
}
