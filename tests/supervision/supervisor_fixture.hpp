#pragma once

// A running runtime, an event log for probe children, and the few steps every supervisor test
// takes: start a supervisor over given children, look a child up by id.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "supervision/probe.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

namespace troupe::test {

class supervisor_fixture : public runtime_fixture {
protected:
  std::shared_ptr<event_log> log = std::make_shared<event_log>();

  /// Starts a supervisor named `name` with a 10 s period; fails the test if it does not start.
  troupe::supervisor start(troupe::restart_strategy strategy,
                           std::vector<troupe::child_spec> children, std::size_t intensity = 10,
                           std::string name = "test_sup") {
    troupe::supervisor_spec spec;
    spec.name = std::move(name);
    spec.strategy = strategy;
    spec.intensity = intensity;
    spec.period = std::chrono::seconds{10};
    spec.children = std::move(children);
    auto sup = troupe::start_supervisor(*rt, std::move(spec));
    EXPECT_TRUE(sup) << troupe::render(sup.error());
    return *sup;
  }

  /// Whether `reason` is the exit of a supervisor that gave up: OTP's `shutdown`
  /// (user_shutdown), its context naming the restart intensity.
  static bool exited_giving_up(const caf::error& reason) {
    return reason == caf::exit_reason::user_shutdown &&
           troupe::render(reason).find("restart_intensity_exceeded") != std::string::npos;
  }

  /// The row of child `id`; fails the test (and returns an empty row) if there is none.
  static troupe::child_info child(const troupe::supervisor& sup, const std::string& id) {
    auto children = sup.which_children();
    EXPECT_TRUE(children) << troupe::render(children.error());
    for (auto& c : *children)
      if (c.id == id)
        return c;
    ADD_FAILURE() << "no child " << id;
    return {};
  }
};

} // namespace troupe::test
