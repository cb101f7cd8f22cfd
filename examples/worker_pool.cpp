// The guide's worker pool, with crashes injected: a supervised pool of 4 workers behind one
// bounded queue. One job in 50 crashes its worker; the pool's supervisor restarts the worker
// and the job is retried once, then answered with the crash's reason. The program checks that
// every one of the 5,000 jobs was answered exactly once and prints the pool's metrics.

#include <atomic>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct resize_image {
  int id;
  bool poisoned; // crashes its worker every time
  bool flaky;    // crashes its worker on the first attempt only
  using reply_type = int;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "worker_pool: a supervised pool of 4 workers with crashes injected", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  constexpr int jobs = 5000;
  auto attempts = std::make_shared<std::vector<std::atomic<int>>>(jobs);

  troupe::pool_options opts;
  opts.name = "thumbnails";
  opts.workers = 4;
  opts.capacity = 256;
  opts.max_retries = 1;
  opts.max_restarts = 1000;
  auto pool = troupe::spawn_pool<resize_image>(rt, opts, [attempts](std::size_t) {
    return [attempts](resize_image& job) {
      auto attempt = (*attempts)[static_cast<std::size_t>(job.id)].fetch_add(1);
      if (job.poisoned || (job.flaky && attempt == 0))
        throw std::runtime_error("decoder crashed on image " + std::to_string(job.id));
      return job.id * 2; // the "thumbnail"
    };
  });
  if (!pool) {
    std::cerr << troupe::render(pool.error()) << '\n';
    return 1;
  }

  auto answers = std::make_shared<std::vector<std::atomic<int>>>(jobs);
  auto failures = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < jobs; ++i) {
    resize_image job{i, i % 250 == 7, i % 50 == 3};
    auto err = pool->submit_async(
        job, [answers, i](int) { (*answers)[static_cast<std::size_t>(i)].fetch_add(1); },
        [answers, failures, i](caf::error) {
          failures->fetch_add(1);
          (*answers)[static_cast<std::size_t>(i)].fetch_add(1);
        });
    if (err) {
      std::cerr << "refused: " << troupe::render(err) << '\n';
      return 1;
    }
  }
  auto report = pool->shutdown(30s); // drains: every accepted job is answered first
  int exactly_once = 0;
  for (auto& a : *answers)
    exactly_once += a.load() == 1;
  auto m = pool->metrics();
  std::cout << "answered exactly once: " << exactly_once << " of " << jobs
            << ", failed after retries: " << failures->load() << '\n'
            << "pool metrics: " << nlohmann::json(m).dump() << '\n';
  // Each crash either queued a retry or answered its job with the failure.
  auto crashes = static_cast<uint64_t>(jobs / 50 + 2 * (jobs / 250));
  bool ok = report.drained && exactly_once == jobs && failures->load() == jobs / 250 &&
            m.retried + m.failed == crashes;
  std::cout << (ok ? "every job answered exactly once despite the crashes" : "MISMATCH") << '\n';
  return ok ? 0 : 1;
}
