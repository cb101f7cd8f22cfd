#pragma once

// A fixture on the real work-stealing runtime for concurrency tests. After each test it checks
// that every actor the test spawned has terminated: a test that leaks an actor fails.

#include <chrono>
#include <memory>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/scheduler/runtime.hpp"

namespace troupe::test {

/// Waits until `pred()` holds or `timeout` passes; returns the last value of `pred()`.
/// Only for conditions that no latch, monitor or future can signal (such as CAF's count of
/// running actors); it checks with a short back-off and never decides an outcome by sleeping.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  auto until = std::chrono::steady_clock::now() + timeout;
  auto backoff = std::chrono::microseconds{50};
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until)
      return pred();
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::microseconds{5000});
  }
  return true;
}

class runtime_fixture : public ::testing::Test {
public:
  static runtime_config default_config() {
    runtime_config cfg;
    cfg.workers = 2;
    cfg.blocking_threads = 4;
    cfg.shutdown_timeout = std::chrono::seconds{5};
    return cfg;
  }

  explicit runtime_fixture(runtime_config cfg = default_config())
      : rt(std::make_unique<runtime>(std::move(cfg))),
        baseline_live_actors(rt->system().registry().running()) {}

  void TearDown() override {
    if (!rt)
      return;
    EXPECT_TRUE(eventually([&] {
      return rt->system().registry().running() == baseline_live_actors;
    })) << "actors left running after the test: "
        << rt->system().registry().running() << " (baseline " << baseline_live_actors << ")";
  }

  caf::actor_system& sys() { return rt->system(); }

  std::unique_ptr<runtime> rt;
  std::size_t baseline_live_actors;
};

} // namespace troupe::test
