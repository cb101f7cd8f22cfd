// The guide's buffer_unordered / "limit concurrent operations": 10,000 requests with at most
// 8 in flight, results handled as they complete.

#include <atomic>
#include <iostream>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct square {
  int64_t x = 0;
  using reply_type = int64_t;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "bounded_concurrency: 10,000 requests with at most a few in flight", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  std::vector<troupe::mailbox<square>> workers;
  for (int i = 0; i < 4; ++i)
    workers.push_back(troupe::spawn_mailbox<square>(rt, {}, [](auto*) {
                        return troupe::handlers{[](square& s) { return s.x * s.x; }};
                      }).value());
  std::atomic<int64_t> sum{0};
  auto ok = troupe::await(troupe::for_each_concurrent<int64_t>(
                              10'000, 8,
                              [&](std::size_t i) {
                                return troupe::ask_async(workers[i % workers.size()],
                                                         square{static_cast<int64_t>(i)});
                              },
                              [&](std::size_t, caf::expected<int64_t> r) {
                                if (r)
                                  sum += *r;
                              }),
                          10s);
  std::cout << "completed " << (ok ? *ok : 0) << " requests, sum of squares " << sum << '\n';
  int64_t expected = 0;
  for (int64_t i = 0; i < 10'000; ++i)
    expected += i * i;
  return ok && *ok == 10'000 && sum == expected ? 0 : 1;
}
