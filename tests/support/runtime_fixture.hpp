#pragma once

// A fixture on the real work-stealing runtime for concurrency tests. After each test it checks
// that every actor the test spawned has terminated: a test that leaks an actor fails.

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "troupe/runtime/runtime.hpp"

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

/// A runtime configuration with `n` workers and no blocked-worker reports (the watchdog still
/// runs; tests that want its reports set a threshold).
inline runtime_config workers_config(std::size_t n) {
  runtime_config cfg;
  cfg.workers = n;
  cfg.blocked_threshold = std::chrono::milliseconds{0};
  return cfg;
}

/// Monitors actors from its construction on and hands out their down messages: a test makes it
/// before the step that should stop an actor, then reads how the actor stopped.
class exit_watch {
public:
  explicit exit_watch(caf::actor_system& sys) : self_{sys} {}
  exit_watch(caf::actor_system& sys, const caf::actor& a) : self_{sys} { monitor(a); }

  void monitor(const caf::actor& a) { self_->monitor(a); }

  /// The reason of the next down message, or nothing when none came within `timeout`.
  std::optional<caf::error> next_down(std::chrono::milliseconds timeout = std::chrono::seconds{
                                          10}) {
    std::optional<caf::error> reason;
    self_->receive([&](caf::down_msg& dm) { reason = dm.reason; }, caf::after(timeout) >> [] {});
    return reason;
  }

  /// The reason of the next down message; a runtime_error "no down message" when none came in
  /// time (so that a test expecting a normal stop, an empty reason, fails then).
  caf::error exit_reason(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    return next_down(timeout).value_or(caf::make_error(caf::sec::runtime_error, "no down message"));
  }

private:
  caf::scoped_actor self_;
};

class runtime_fixture : public ::testing::Test {
public:
  static runtime_config default_config() {
    runtime_config cfg;
    cfg.workers = 2;
    cfg.blocking_threads = 4;
    cfg.shutdown_timeout = std::chrono::seconds{5};
    return cfg;
  }

  /// The default configuration with `n` workers (tests that run with 1, 2 and 8).
  static runtime_config config_with_workers(int n) {
    auto cfg = default_config();
    cfg.workers = static_cast<std::size_t>(n);
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

  /// How `a` stopped, for an actor whose stop the test already caused (the down message of an
  /// actor that is gone already still comes, with its reason).
  caf::error wait_for_exit(const caf::actor& a) { return exit_watch{sys(), a}.exit_reason(); }

  std::unique_ptr<runtime> rt;
  std::size_t baseline_live_actors;
};

} // namespace troupe::test
