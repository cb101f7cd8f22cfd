// Builds against an installed Troupe and checks one round trip through it.
#include <chrono>
#include <iostream>

#include <troupe/troupe.hpp>

int main(int argc, char** argv) {
  auto cfg = troupe::runtime_config::from(argc, argv);
  if (!cfg) {
    std::cerr << troupe::render(cfg.error()) << '\n';
    return 2;
  }
  troupe::runtime rt{*cfg};
  auto doubler = rt.spawn([]() -> caf::behavior { return {[](int x) { return 2 * x; }}; });
  caf::scoped_actor self{rt.system()};
  int result = 0;
  self->request(doubler, std::chrono::seconds{5}, 21)
      .receive([&](int r) { result = r; },
               [](caf::error& err) { std::cerr << troupe::render(err) << '\n'; });
  auto job = rt.spawn_blocking([] { return 1; }).get(std::chrono::seconds{5});
  bool ok = result == 42 && job && *job == 1 && rt.shutdown().clean();
  std::cout << "consumer: " << (ok ? "ok" : "FAILED") << " (2 * 21 = " << result << ")\n";
  return ok ? 0 : 1;
}
