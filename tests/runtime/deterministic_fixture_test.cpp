// Checks the deterministic fixture itself: nothing runs until the test steps the scheduler,
// and timers fire only when the test advances the clock.

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/deterministic_fixture.hpp"

using namespace std::chrono_literals;

namespace {

struct tick_state {
  int messages = 0;
  int ticks = 0;
};

caf::behavior ticker(caf::stateful_actor<tick_state>* self) {
  self->delayed_send(self, 1s, caf::tick_atom::value);
  return {
      [self](int) { ++self->state.messages; },
      [self](caf::tick_atom) { ++self->state.ticks; },
  };
}

} // namespace

using DeterministicFixture = troupe::test::deterministic_fixture;

TEST_F(DeterministicFixture, MessagesRunOnlyWhenStepped) {
  auto a = sys.spawn(ticker);
  auto& st = caf::actor_cast<caf::stateful_actor<tick_state>*>(a)->state;
  run(); // initialization
  self->send(a, 1);
  self->send(a, 2);
  EXPECT_EQ(st.messages, 0);
  EXPECT_TRUE(run_once());
  EXPECT_GE(st.messages, 1);
  run();
  EXPECT_EQ(st.messages, 2);
  EXPECT_FALSE(run_once()); // nothing left: the fixture never runs anything on its own
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(DeterministicFixture, TimersFireOnlyWhenTheClockAdvances) {
  auto a = sys.spawn(ticker);
  auto& st = caf::actor_cast<caf::stateful_actor<tick_state>*>(a)->state;
  run();
  EXPECT_EQ(st.ticks, 0);
  EXPECT_EQ(advance_time(500ms), 0u);
  run();
  EXPECT_EQ(st.ticks, 0);
  EXPECT_EQ(advance_time(500ms), 1u);
  run();
  EXPECT_EQ(st.ticks, 1);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
