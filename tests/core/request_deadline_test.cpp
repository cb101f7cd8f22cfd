// The deadlines of a Troupe actor's timed requests (actor::fail_request_after): they fail the
// requests still waiting, earliest first, and neither an answered request nor a terminated
// requester leaves a timer holding the actor.

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/adder.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::test::increment;

class request_deadlines : public troupe::test::runtime_fixture {
protected:
  troupe::mailbox<increment> spawn_adder() { return troupe::test::spawn_adder(*rt); }
};

// Set when the actor's state (its body's captures) is destroyed.
struct destruction_signal {
  std::shared_ptr<std::promise<void>> done = std::make_shared<std::promise<void>>();
  destruction_signal() = default;
  destruction_signal(const destruction_signal&) = delete;
  ~destruction_signal() { done->set_value(); }
};

TEST_F(request_deadlines, AnAnsweredTimedRequestDoesNotKeepItsRequesterAlive) {
  auto adder = spawn_adder();
  auto signal = std::make_shared<destruction_signal>();
  auto destroyed = signal->done->get_future();
  auto answer = std::make_shared<std::promise<int64_t>>();
  troupe::spawn_actor(*rt, [adder, answer, signal = std::move(signal)](troupe::actor* self) {
    troupe::request(self, adder, increment{1}, 1h)
        .then(
            [self, answer](int64_t n) {
              answer->set_value(n);
              self->quit();
            },
            [self, answer](caf::error) {
              answer->set_value(-1);
              self->quit();
            });
  });
  auto reply = answer->get_future();
  ASSERT_EQ(reply.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(reply.get(), 2);
  // Before deadlines were the actor's own, the clock held the requester (and the adder's
  // handle it captured) until the hour was up.
  EXPECT_EQ(destroyed.wait_for(10s), std::future_status::ready);
}

TEST_F(request_deadlines, WaitingRequestsFailEarliestDeadlineFirst) {
  auto silent = spawn_adder();
  silent.pause(); // queues the requests, answers none
  struct outcome {
    std::mutex mtx;
    std::vector<int> order;
    std::vector<caf::error> errors;
    std::promise<void> all;
  };
  auto seen = std::make_shared<outcome>();
  troupe::spawn_actor(*rt, [silent, seen](troupe::actor* self) {
    auto issue = [self, silent, seen](int tag, std::chrono::milliseconds timeout) {
      troupe::request(self, silent, increment{tag}, timeout)
          .then([](int64_t) {},
                [self, seen, tag](caf::error err) {
                  std::lock_guard guard{seen->mtx};
                  seen->order.push_back(tag);
                  seen->errors.push_back(std::move(err));
                  if (seen->order.size() == 3) {
                    seen->all.set_value();
                    self->quit();
                  }
                });
    };
    issue(3, 300ms);
    issue(1, 100ms);
    issue(2, 200ms);
  });
  ASSERT_EQ(seen->all.get_future().wait_for(10s), std::future_status::ready);
  std::lock_guard guard{seen->mtx};
  EXPECT_EQ(seen->order, (std::vector<int>{1, 2, 3}));
  for (auto& err : seen->errors)
    EXPECT_EQ(err, troupe::mailbox_errc::request_timeout);
  silent.resume(); // the queued requests find their requester gone: dead letters
}

TEST_F(request_deadlines, AShortDeadlineAfterManyLongAnsweredOnesStillFires) {
  auto adder = spawn_adder();
  auto silent = spawn_adder();
  silent.pause();
  constexpr int answered_requests = 1000;
  auto result = std::make_shared<std::promise<std::pair<int, caf::error>>>();
  troupe::spawn_actor(*rt, [adder, silent, result](troupe::actor* self) {
    auto answered = std::make_shared<int>(0);
    for (int i = 0; i < answered_requests; ++i)
      troupe::request(self, adder, increment{i}, 1h)
          .then(
              [self, silent, result, answered](int64_t) {
                if (++*answered < answered_requests)
                  return;
                // Every long deadline is answered (their entries are left for compaction);
                // the timer armed for the first of them must give way to this one.
                troupe::request(self, silent, increment{0}, 50ms)
                    .then([](int64_t) {},
                          [self, result, answered](caf::error err) {
                            result->set_value({*answered, std::move(err)});
                            self->quit();
                          });
              },
              [](caf::error) {});
  });
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto [answered, err] = f.get();
  EXPECT_EQ(answered, answered_requests);
  EXPECT_EQ(err, troupe::mailbox_errc::request_timeout);
  silent.resume();
}

// The message core/actor.hpp documents next to request_timeout_atom. Every Troupe actor shares
// one CAF behavior, so the actor itself (consume) must take the message and find the request.
TEST_F(request_deadlines, AMessageNamingAWaitingRequestFailsItWithItsError) {
  auto failed = std::make_shared<std::promise<caf::error>>();
  troupe::spawn_actor(*rt, [failed](troupe::actor* self) {
    auto id = self->add_request(std::make_unique<troupe::continuation_of<int64_t>>(
        [self, failed](int64_t) {
          failed->set_value(caf::error{});
          self->quit();
        },
        [self, failed](caf::error err) {
          failed->set_value(std::move(err));
          self->quit();
        }));
    caf::anon_send(caf::actor_cast<caf::actor>(self), troupe::request_timeout_atom::value, id,
                   caf::make_error(caf::sec::request_timeout));
  });
  auto f = failed->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), caf::sec::request_timeout);
}

} // namespace
