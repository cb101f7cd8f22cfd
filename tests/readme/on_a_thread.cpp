// Harness for a README snippet that runs on a thread beside a runtime
// (tests/readme/CMakeLists.txt). The snippet, inserted verbatim at the marker, sees `rt`: a runtime
// of two workers. A stop is requested before it runs, so a snippet's rt.run_until_stopped() returns
// at once; the harness then shuts the runtime down and fails when that was not clean.

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime_config readme_cfg;
  readme_cfg.workers = 2;
  troupe::runtime rt{readme_cfg};
  rt.request_stop();
  {
    // @README_SNIPPET@
  }
  auto readme_report = rt.shutdown(std::chrono::seconds{10});
  if (!readme_report.clean()) {
    std::cerr << "shutdown was not clean: " << readme_report.forced.size() << " forced\n";
    return 1;
  }
  return 0;
}
