// The guide's task loop (`loop { select! { msg = rx.recv() => ..., _ = sleep => ..., _ =
// token.cancelled() => break } }`) as a task actor: one coroutine that pulls from its own typed
// inbox, flushes on a timer, and ends on a cancellation token. Requests are answered through
// the received message's promise. Then graceful shutdown: the token stops the loop, the actor
// stops normally, and the runtime shuts down with nothing left running.

#include <iostream>
#include <map>
#include <string>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct record {
  std::string key;
  int amount = 0;
};

struct total_of {
  std::string key;
  using reply_type = int;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "coro_task_actor: a task loop over an inbox, a timer and a token", {}};
  if (cli.done())
    return cli.exit_code();
  troupe::runtime rt{cli.config()};
  troupe::cancellation_token stop;
  auto flushes = std::make_shared<std::atomic<int>>(0);

  auto ledger =
      troupe::spawn_task_actor<record, total_of>(
          rt, {},
          [stop, flushes](troupe::inbox<record, total_of>& in) -> troupe::task<void> {
            std::map<std::string, int> totals;
            int unflushed = 0;
            for (;;) {
              auto next = co_await troupe::coro::first_of(in.recv(), troupe::coro::sleep_for(20ms),
                                                          troupe::coro::cancelled(stop));
              if (next.index() == 2)
                break; // cancelled: leave the loop, the actor stops normally
              if (next.index() == 1) {
                if (unflushed > 0)
                  flushes->fetch_add(1); // a periodic flush of what arrived
                unflushed = 0;
                continue;
              }
              auto& msg = std::get<0>(next);
              if (!msg)
                break; // the mailbox was closed and drained
              if (auto* r = msg->get_if<record>()) {
                totals[r->key] += r->amount;
                ++unflushed;
              } else if (auto* q = msg->get_if<total_of>()) {
                msg->promise<total_of>().deliver(totals[q->key]);
              }
            }
          })
          .value();

  for (int i = 1; i <= 10; ++i)
    if (auto sent = ledger.send(record{i % 2 == 0 ? "even" : "odd", i}); !sent) {
      std::cerr << "send failed: " << troupe::render(sent.error()) << '\n';
      return 1;
    }
  auto even = troupe::ask(ledger, total_of{"even"}, 5s);
  auto odd = troupe::ask(ledger, total_of{"odd"}, 5s);
  std::cout << "even: " << (even ? std::to_string(*even) : troupe::render(even.error())) << '\n'
            << "odd: " << (odd ? std::to_string(*odd) : troupe::render(odd.error())) << '\n';

  // Graceful shutdown: the token ends the loop; the actor's exit is normal.
  caf::scoped_actor waiter{rt.system()};
  waiter->monitor(ledger.actor());
  stop.cancel();
  caf::error reason = caf::make_error(caf::sec::runtime_error, "no exit seen");
  waiter->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(std::chrono::seconds{10}) >> [] {});
  std::cout << "ledger stopped: " << (reason ? troupe::render(reason) : "normally") << '\n';
  auto report = rt.shutdown(5s);
  std::cout << "runtime shut down " << (report.clean() ? "cleanly" : "with leftovers") << '\n';
  bool ok = even && *even == 30 && odd && *odd == 25 && !reason && report.clean();
  std::cout << (ok ? "ok" : "FAILED") << '\n';
  return ok ? 0 : 1;
}
