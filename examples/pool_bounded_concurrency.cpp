// The guide's bounded concurrency over many items, with a pool: 10,000 downloads, at most 8 at
// a time. The pool's 8 workers run the jobs on the blocking pool (a download blocks), its
// bounded queue holds 64 more, and the submitting thread waits for room (backpressure) — so
// memory stays bounded however many items there are.

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct download {
  int item;
  using reply_type = std::size_t; // bytes
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "pool_bounded_concurrency: 10,000 downloads through a pool, 8 at a time", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  cfg->blocking_threads = 8;
  troupe::runtime rt{*cfg};
  constexpr int items = 10'000;
  constexpr std::size_t limit = 8;

  struct gauge {
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<int> done{0};
  };
  auto g = std::make_shared<gauge>();

  troupe::pool_options opts;
  opts.name = "downloads";
  opts.workers = limit;
  opts.capacity = 64;
  opts.run_on_blocking_pool = true;
  auto pool = troupe::spawn_pool<download>(rt, opts, [g](std::size_t) {
    return [g](download& d) {
      auto now = g->running.fetch_add(1) + 1;
      auto peak = g->peak.load();
      while (now > peak && !g->peak.compare_exchange_weak(peak, now)) {
      }
      std::this_thread::sleep_for(50us); // the network
      g->running.fetch_sub(1);
      return static_cast<std::size_t>(1000 + d.item % 100);
    };
  });
  if (!pool) {
    std::cerr << troupe::render(pool.error()) << '\n';
    return 1;
  }
  for (int i = 0; i < items; ++i) {
    auto err = pool->submit_async(
        download{i},
        [g](std::size_t bytes) {
          g->bytes.fetch_add(bytes);
          g->done.fetch_add(1);
        },
        [](caf::error failure) { std::cerr << "failed: " << troupe::render(failure) << '\n'; });
    if (err) {
      std::cerr << "refused: " << troupe::render(err) << '\n';
      return 1;
    }
  }
  auto report = pool->shutdown(60s);
  std::cout << "downloaded " << g->done.load() << " of " << items << " items, " << g->bytes.load()
            << " bytes; at most " << g->peak.load() << " at a time (limit " << limit << ")\n";
  bool ok = report.drained && g->done.load() == items && g->peak.load() <= static_cast<int>(limit);
  return ok ? 0 : 1;
}
