// The first tour of Troupe: a runtime configured from argv and the environment, an actor
// answering requests, blocking work kept off the scheduler, and a graceful shutdown.
//
//   hello_runtime [--workers=N] [--flavor=multi_thread|current_thread] ...

#include <chrono>
#include <iostream>
#include <numeric>
#include <vector>

#include <caf/all.hpp>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

namespace {

// A tiny key-value actor: the kind of service a request/response API fronts.
caf::behavior greeter(caf::event_based_actor* self) {
  return {
      [](const std::string& name) { return "hello, " + name; },
      // Checksums are CPU-heavy: the actor hands them to the blocking pool and answers when the
      // pool is done, while its worker thread keeps serving other actors.
      [self](caf::get_atom, int64_t upto) -> caf::response_promise {
        auto rp = self->make_response_promise();
        troupe::spawn_blocking(self,
                               [upto] {
                                 std::vector<int64_t> xs(static_cast<std::size_t>(upto));
                                 std::iota(xs.begin(), xs.end(), int64_t{1});
                                 return std::accumulate(xs.begin(), xs.end(), int64_t{0});
                               })
            .then([rp](int64_t sum) mutable { rp.deliver(sum); },
                  [rp](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
  };
}

} // namespace

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "hello_runtime: a runtime, an actor, a request and blocking work", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  std::cout << "runtime: " << rt.metrics().workers << " workers (" << troupe::to_string(cfg->flavor)
            << "), blocking pool of " << cfg->blocking_threads << " threads\n";

  auto svc = rt.spawn(greeter);
  caf::scoped_actor self{rt.system()};

  self->request(svc, 1s, std::string{"troupe"})
      .receive(
          [](const std::string& reply) { std::cout << "request/response: " << reply << '\n'; },
          [](caf::error& err) { std::cerr << "request failed: " << troupe::render(err) << '\n'; });

  self->request(svc, 5s, caf::get_atom::value, int64_t{1'000'000})
      .receive([](int64_t sum) { std::cout << "blocking job (sum 1..1e6): " << sum << '\n'; },
               [](caf::error& err) {
                 std::cerr << "blocking job failed: " << troupe::render(err) << '\n';
               });

  auto outside = rt.spawn_blocking([] { return std::string{"done off the workers"}; });
  if (auto r = outside.get(1s))
    std::cout << "spawn_blocking from main: " << *r << '\n';

  std::cout << "metrics: " << nlohmann::json(rt.metrics()).dump() << '\n';

  auto report = rt.shutdown(2s);
  std::cout << "graceful shutdown: " << (report.clean() ? "clean" : "forced some actors")
            << ", forced " << report.forced.size() << '\n';
  return report.clean() ? 0 : 1;
}
