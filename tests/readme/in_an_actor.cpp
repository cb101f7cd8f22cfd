// Harness for a README snippet that runs inside an actor's handler (tests/readme/CMakeLists.txt).
// The snippet, inserted verbatim at the marker, sees `self`: a caf::event_based_actor* whose
// handler runs it once. The harness waits for that handler, then shuts the runtime down and
// fails when that was not clean.

#include <chrono>
#include <iostream>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime_config readme_cfg;
  readme_cfg.workers = 2;
  troupe::runtime rt{readme_cfg};
  auto readme_actor = rt.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](caf::ok_atom) {
      // @README_SNIPPET@
    }};
  });
  caf::scoped_actor readme_thread{rt.system()};
  bool readme_ran = false;
  readme_thread->request(readme_actor, std::chrono::seconds{10}, caf::ok_atom::value)
      .receive([&] { readme_ran = true; },
               [](caf::error& err) { std::cerr << troupe::render(err) << '\n'; });
  auto readme_report = rt.shutdown(std::chrono::seconds{10});
  if (!readme_report.clean())
    std::cerr << "shutdown was not clean: " << readme_report.forced.size() << " forced\n";
  return readme_ran && readme_report.clean() ? 0 : 1;
}
