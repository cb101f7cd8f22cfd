#pragma once

// Runs the server half of a cross-process benchmark in a child process. The child is forked
// before the benchmark starts any thread; `serve(ready)` builds its actor system, publishes,
// and calls ready(port), which hands the port to the parent and then waits until the parent is
// done (it closes the control pipe); `serve` then returns and the child exits.

#include <cstdint>
#include <functional>

#include <sys/wait.h>
#include <unistd.h>

#include "common/bench_report.hpp"

namespace troupe::bench {

class server_process {
public:
  explicit server_process(const std::function<void(std::function<void(uint16_t)>)>& serve) {
    int to_parent[2];
    int to_child[2];
    check(::pipe(to_parent) == 0 && ::pipe(to_child) == 0, "server process: pipe failed");
    pid_ = ::fork();
    check(pid_ >= 0, "server process: fork failed");
    if (pid_ == 0) {
      ::close(to_parent[0]);
      ::close(to_child[1]);
      serve([&](uint16_t port) {
        check(::write(to_parent[1], &port, sizeof port) == sizeof port, "server: write failed");
        char byte = 0;
        while (::read(to_child[0], &byte, 1) > 0) {
        }
      });
      ::_exit(0);
    }
    ::close(to_parent[1]);
    ::close(to_child[0]);
    control_ = to_child[1];
    check(::read(to_parent[0], &port_, sizeof port_) == sizeof port_,
          "server process: the server did not start");
    ::close(to_parent[0]);
  }

  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  ~server_process() {
    ::close(control_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }

  [[nodiscard]] uint16_t port() const noexcept { return port_; }

private:
  pid_t pid_ = -1;
  int control_ = -1;
  uint16_t port_ = 0;
};

} // namespace troupe::bench
