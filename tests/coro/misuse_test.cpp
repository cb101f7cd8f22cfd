// Misuse of the coroutine API gets a clear std::logic_error in the task (crashing its actor
// with handler_threw when it escapes), never a hang: two recv calls on one inbox at once, an
// empty task among a gather's inputs.

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct note {
  int x = 0;
};

struct probe_gather {
  using reply_type = std::string;
};

class coro_misuse : public test::runtime_fixture {};

TEST_F(coro_misuse, TwoRecvCallsOnOneInboxAtOnceAreRefused) {
  auto box = spawn_task_actor<note>(*rt, {}, [](inbox<note>& in) -> task<void> {
               // Both branches wait on the same inbox: the second recv must be refused.
               co_await coro::first_of(in.recv(), in.recv());
             }).value();
  caf::scoped_actor waiter{sys()};
  waiter->monitor(box.actor());
  caf::error reason = caf::make_error(caf::sec::runtime_error, "no down message");
  waiter->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(std::chrono::seconds{10}) >> [] {});
  EXPECT_EQ(reason, mailbox_errc::handler_threw);
  EXPECT_NE(to_string(reason).find("another recv"), std::string::npos) << to_string(reason);
}

task<int> seven() {
  co_return 7;
}

TEST_F(coro_misuse, AnEmptyTaskAmongAGathersInputsIsRefused) {
  auto box = spawn_mailbox<probe_gather>(*rt, {}, [](auto*) {
               return handlers{[](probe_gather) -> task<std::string> {
                 std::string out;
                 std::vector<task<int>> inputs;
                 inputs.push_back(seven());
                 inputs.emplace_back(); // empty
                 try {
                   co_await coro::gather(std::move(inputs));
                   out += "vector gathered;";
                 } catch (const std::logic_error&) {
                   out += "vector refused;";
                 }
                 try {
                   co_await coro::gather(seven(), task<int>{});
                   out += "pack gathered";
                 } catch (const std::logic_error&) {
                   out += "pack refused";
                 }
                 co_return out;
               }};
             }).value();
  auto r = ask(box, probe_gather{}, 10s);
  ASSERT_TRUE(r) << to_string(r.error());
  EXPECT_EQ(*r, "vector refused;pack refused");
  caf::anon_send_exit(box.actor(), caf::exit_reason::user_shutdown);
}

} // namespace
