// The guide's worker pool and bounded concurrency in coroutine form: a supervised pool whose
// handler is a coroutine (each worker runs one job at a time, so the pool's size bounds the
// concurrency), fed by a task that gathers the answers of a whole batch at once.

#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct thumbnail {
  int image = 0;
  using reply_type = std::string;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "coro_worker_pool: a pool whose coroutine handler bounds concurrency", {}};
  if (cli.done())
    return cli.exit_code();
  troupe::runtime rt{cli.config()};
  auto running = std::make_shared<std::atomic<int>>(0);
  auto most = std::make_shared<std::atomic<int>>(0);

  troupe::pool_options opts;
  opts.name = "thumbnails";
  opts.workers = 3; // at most three jobs at once
  auto pool =
      troupe::spawn_pool<thumbnail>(rt, opts, [running, most](std::size_t) {
        return [running, most](thumbnail job) -> troupe::task<caf::expected<std::string>> {
          auto now = running->fetch_add(1) + 1;
          for (int seen = most->load(); now > seen && !most->compare_exchange_weak(seen, now);) {
          }
          // The "I/O" of the job: a timer here, a request or spawn_blocking in a real service.
          co_await troupe::coro::sleep_for(2ms);
          running->fetch_sub(1);
          if (job.image == 7)
            co_return caf::make_error(caf::sec::invalid_argument); // a bad image
          co_return "thumb-" + std::to_string(job.image);
        };
      }).value();

  // Ten jobs in flight at once from a thread, each answered exactly once (value or error).
  std::vector<std::future<caf::expected<std::string>>> answers;
  for (int i = 0; i < 10; ++i) {
    auto slot = std::make_shared<std::promise<caf::expected<std::string>>>();
    answers.push_back(slot->get_future());
    auto refused = pool.submit_async(
        thumbnail{i}, [slot](std::string s) { slot->set_value(std::move(s)); },
        [slot](caf::error e) { slot->set_value(std::move(e)); });
    if (refused)
      slot->set_value(std::move(refused));
  }
  int made = 0;
  int failed = 0;
  for (auto& a : answers)
    (a.get() ? made : failed) += 1;
  std::cout << "thumbnails made: " << made << ", failed: " << failed
            << ", most at once: " << most->load() << '\n';

  auto report = pool.shutdown(5s); // graceful: accepted jobs finish first
  std::cout << "pool drained: " << (report.drained ? "yes" : "no") << '\n';
  bool ok = made == 9 && failed == 1 && most->load() <= 3 && report.drained;
  std::cout << (ok ? "ok" : "FAILED") << '\n';
  return ok ? 0 : 1;
}
