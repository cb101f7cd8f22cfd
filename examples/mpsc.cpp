// The guide's mpsc channel as a typed mailbox: several producers, one consumer, a bound with
// backpressure, and the mailbox's metrics at the end.

#include <iostream>
#include <thread>
#include <vector>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct reading {
  int sensor = 0;
  double value = 0;
};

struct summary {
  using reply_type = std::vector<double>; // per-sensor totals
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "mpsc: several producers and one consumer on a bounded typed mailbox", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  troupe::mailbox_options opts;
  opts.capacity = 32; // producers wait when the consumer falls behind
  opts.name = "aggregator";
  auto aggregator =
      troupe::spawn_mailbox<reading, summary>(rt, opts, [](auto*) {
        auto totals = std::make_shared<std::vector<double>>(3, 0.0);
        return troupe::handlers{
            [totals](reading& r) { (*totals)[static_cast<std::size_t>(r.sensor)] += r.value; },
            [totals](summary&) { return *totals; },
        };
      }).value();

  std::vector<std::thread> sensors;
  for (int s = 0; s < 3; ++s)
    sensors.emplace_back([&aggregator, s] {
      for (int i = 1; i <= 1000; ++i)
        if (!aggregator.send(reading{s, 1.0}, 1s))
          std::cerr << "sensor " << s << ": reading refused\n";
    });
  for (auto& t : sensors)
    t.join();

  auto totals = troupe::ask(aggregator, summary{}, 1s);
  if (!totals) {
    std::cerr << troupe::render(totals.error()) << '\n';
    return 1;
  }
  for (std::size_t s = 0; s < totals->size(); ++s)
    std::cout << "sensor " << s << ": " << (*totals)[s] << '\n';
  std::cout << "mailbox: " << nlohmann::json(aggregator.metrics()).dump() << '\n';
  return (*totals == std::vector<double>{1000, 1000, 1000}) ? 0 : 1;
}
