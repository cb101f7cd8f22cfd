#pragma once

// A fixture on CAF 0.17.6's deterministic scheduler (policy `testing`) for protocol tests:
// nothing runs until the test says so, one message at a time, and timers fire only when the
// test advances the clock.
//
//   TEST_F(deterministic_fixture, CounterAnswersAfterOneStep) {
//     auto counter = sys.spawn(counter_fn);
//     self->send(counter, 1);
//     run();                       // every pending job, in order
//     ...
//   }

#include <chrono>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

namespace troupe::test {

class deterministic_config : public caf::actor_system_config {
public:
  deterministic_config() { set("scheduler.policy", caf::atom("testing")); }
};

class deterministic_fixture : public ::testing::Test {
public:
  deterministic_fixture()
      : sys(cfg), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        self(sys, true) {}

  ~deterministic_fixture() override {
    // Let every actor finish what it was sent, so that the system's destructor has nothing
    // left to wait for.
    run();
  }

  /// Runs one pending job; returns whether there was one.
  bool run_once() { return sched.try_run_once(); }

  /// Runs pending jobs until none is left; returns how many ran.
  std::size_t run() { return sched.run(); }

  /// Moves the clock forward and fires the timeouts that became due; returns how many.
  std::size_t advance_time(caf::timespan d) { return sched.advance_time(d); }

  deterministic_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

} // namespace troupe::test
