// Graceful shutdown on ctrl-c (SIGINT) or SIGTERM with work in flight — the guide's ctrl_c and
// graceful shutdown. A supervisor starts a consumer, then a producer that keeps sending jobs.
// On the signal, runtime::run_until_stopped stops the tree in reverse start order: the producer
// first (no new jobs), then the consumer, which finishes every job already sent before it
// exits. The program prints what was produced and processed and exits 0 when nothing was lost.
//
//   ./graceful_shutdown &  sleep 1;  kill -TERM $!      (or press ctrl-c)
//   ./graceful_shutdown run-for=500                     (stops itself after 500 ms)

#include <atomic>
#include <charconv>
#include <csignal>
#include <iostream>
#include <memory>
#include <string_view>
#include <thread>

#include <unistd.h>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

using job_atom = caf::atom_constant<caf::atom("job")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using drained_atom = caf::atom_constant<caf::atom("drained")>;

struct counters {
  std::atomic<uint64_t> produced{0};
  std::atomic<uint64_t> processed{0};
};

namespace {

// Drains before it stops: a stop request makes it send itself a message that queues behind
// every job already in its mailbox, and it quits when that message comes round.
caf::behavior consumer(caf::event_based_actor* self, std::shared_ptr<counters> count) {
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::kill) // not trappable anyway; for clarity
      self->quit(msg.reason);
    else
      self->send(self, drained_atom::value);
  });
  return {
      [count](job_atom, uint64_t) { count->processed.fetch_add(1); },
      [self](drained_atom) { self->quit(caf::exit_reason::user_shutdown); },
  };
}

caf::behavior producer(caf::event_based_actor* self, caf::actor sink,
                       std::shared_ptr<counters> count) {
  self->send(self, tick_atom::value);
  return {
      [self, sink, count](tick_atom) {
        for (int i = 0; i < 100; ++i)
          self->send(sink, job_atom::value, count->produced.fetch_add(1));
        self->delayed_send(self, 1ms, tick_atom::value);
      },
  };
}

} // namespace

int main(int argc, char** argv) {
  example::command_line cli{
      argc,
      argv,
      "graceful_shutdown: graceful shutdown on ctrl-c or SIGTERM with work in flight",
      {{"run-for", "MS", "stop by itself after MS (0: only on a signal)", 0, 0, 86'400'000}}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  auto run_for_ms = cli.integer("run-for");
  cfg->handle_signals = true;
  troupe::runtime rt{*cfg};
  auto count = std::make_shared<counters>();
  auto sink = std::make_shared<caf::actor>();

  troupe::child_spec consumer_spec;
  consumer_spec.id = "consumer";
  consumer_spec.start = [count, sink](const troupe::child_context& ctx) {
    *sink = ctx.rt.spawn(consumer, count);
    return *sink;
  };
  troupe::child_spec producer_spec;
  producer_spec.id = "producer";
  producer_spec.start = [count, sink](const troupe::child_context& ctx) {
    return ctx.rt.spawn(producer, *sink, count);
  };
  troupe::supervisor_spec spec;
  spec.name = "service";
  spec.children = {consumer_spec, producer_spec};
  auto root = troupe::start_supervisor(rt, spec);
  if (!root) {
    std::cerr << troupe::render(root.error()) << '\n';
    return 1;
  }
  std::cout << "ready: pid " << ::getpid() << ", stop with ctrl-c or SIGTERM" << std::endl;
  std::thread timer;
  if (run_for_ms > 0)
    timer = std::thread{[&rt, run_for_ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds{run_for_ms});
      rt.request_stop();
    }};
  int signal = 0;
  auto report = rt.run_until_stopped(&signal);
  if (timer.joinable())
    timer.join();
  auto produced = count->produced.load();
  auto processed = count->processed.load();
  std::cout << "stopped by "
            << (signal == 0        ? "request"
                : signal == SIGINT ? "SIGINT"
                                   : "SIGTERM")
            << ": produced=" << produced << " processed=" << processed
            << " lost=" << produced - processed << " forced=" << report.forced.size() << '\n';
  return produced == processed && report.clean() ? 0 : 1;
}
