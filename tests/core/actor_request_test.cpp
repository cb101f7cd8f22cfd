// troupe::actor_request, what troupe::request(self, ...) returns inside a Troupe actor: then()
// keeps the callbacks as given (move-only ones too), a moved-from request fails with a typed
// error, as a pending reply it keeps its meaning, and the combinators take requests of one
// type directly.

#include <future>
#include <memory>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/adder.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::test::increment;

class actor_request_test : public troupe::test::runtime_fixture {};

// A request with and without a timeout whose value callback owns a move-only promise (a
// std::function could not hold it). Each callback object is destroyed once its reply ran.
TEST_F(actor_request_test, MoveOnlyCallbacksAreKeptAsGivenAndReleasedAfterTheReply) {
  auto adder = troupe::test::spawn_adder(*rt);
  std::promise<int64_t> timed;
  std::promise<int64_t> untimed;
  auto timed_reply = timed.get_future();
  auto untimed_reply = untimed.get_future();
  // Shared by the two value callbacks only: expired once both were destroyed.
  std::weak_ptr<int> watched;
  auto a = troupe::spawn_actor(*rt, [adder, &timed, &untimed, &watched](troupe::actor* self) {
    auto token = std::make_shared<int>(0);
    watched = token;
    auto left = std::make_shared<int>(2);
    auto finish = [self, left] {
      if (--*left == 0)
        self->quit();
    };
    troupe::request(self, adder, increment{41}, 5s)
        .then(
            [p = std::move(timed), token, finish](int64_t n) mutable {
              p.set_value(n);
              finish();
            },
            [self](caf::error err) { self->quit(std::move(err)); });
    troupe::request(self, adder, increment{1}, caf::infinite)
        .then(
            [p = std::move(untimed), token, finish](int64_t n) mutable {
              p.set_value(n);
              finish();
            },
            [self](caf::error err) { self->quit(std::move(err)); });
  });
  troupe::test::exit_watch watch{sys(), a};
  ASSERT_EQ(timed_reply.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(untimed_reply.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(timed_reply.get(), 42);
  EXPECT_EQ(untimed_reply.get(), 2);
  EXPECT_FALSE(watch.exit_reason());
  EXPECT_TRUE(watched.expired()) << "a callback object outlived its reply";
}

// then() on a moved-from request runs the error callback with caf::sec::invalid_argument; the
// request it was moved to is sent once.
TEST_F(actor_request_test, AMovedFromRequestFailsWithInvalidArgument) {
  auto adder = troupe::test::spawn_adder(*rt);
  struct outcome {
    bool moved_from_empty = false;
    caf::error moved_from_error;
    int64_t value = 0;
  };
  auto result = std::make_shared<std::promise<outcome>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    auto out = std::make_shared<outcome>();
    auto first = troupe::request(self, adder, increment{6}, 5s);
    auto second = std::move(first);
    out->moved_from_empty = !first && static_cast<bool>(second);
    // NOLINTNEXTLINE(bugprone-use-after-move): the point of the test.
    std::move(first).then([](int64_t) {}, [out](caf::error err) { out->moved_from_error = err; });
    std::move(second).then(
        [self, out, result](int64_t n) {
          out->value = n;
          result->set_value(*out);
          self->quit();
        },
        [self](caf::error err) { self->quit(std::move(err)); });
  });
  troupe::test::exit_watch watch{sys(), a};
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto out = f.get();
  EXPECT_TRUE(out.moved_from_empty);
  EXPECT_EQ(out.moved_from_error, caf::sec::invalid_argument);
  EXPECT_EQ(out.value, 7);
  EXPECT_FALSE(watch.exit_reason());
}

// Converted to pending replies (as a combinator takes them), requests keep their outcome: a
// value, and receiver_dead for an empty mailbox handle with and without a timeout.
TEST_F(actor_request_test, AsPendingRepliesRequestsKeepTheirOutcome) {
  auto adder = troupe::test::spawn_adder(*rt);
  auto result = std::make_shared<std::promise<std::vector<caf::expected<int64_t>>>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    troupe::mailbox<increment> nobody;
    std::vector<troupe::pending<int64_t>> asks;
    asks.push_back(troupe::request(self, adder, increment{1}, 5s));
    asks.push_back(troupe::request(self, nobody, increment{1}, 5s));
    asks.push_back(troupe::request(self, adder, increment{2}, caf::infinite));
    asks.push_back(troupe::request(self, nobody, increment{2}, caf::infinite));
    troupe::gather(std::move(asks))
        .then(
            [self, result](std::vector<caf::expected<int64_t>> all) {
              result->set_value(std::move(all));
              self->quit();
            },
            [self](caf::error err) { self->quit(std::move(err)); });
  });
  troupe::test::exit_watch watch{sys(), a};
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto all = f.get();
  ASSERT_EQ(all.size(), 4u);
  ASSERT_TRUE(all[0]);
  EXPECT_EQ(*all[0], 2);
  ASSERT_FALSE(all[1]);
  EXPECT_EQ(all[1].error(), troupe::mailbox_errc::receiver_dead);
  ASSERT_TRUE(all[2]);
  EXPECT_EQ(*all[2], 3);
  ASSERT_FALSE(all[3]);
  EXPECT_EQ(all[3].error(), troupe::mailbox_errc::receiver_dead);
  EXPECT_FALSE(watch.exit_reason());
}

// gather, gather_all_or_fail and first_of over a vector of requests (no pending replies in
// between): results in input order with each error in its place; the first error fails the
// whole; the first value wins.
TEST_F(actor_request_test, CombinatorsTakeRequestsOfOneTypeDirectly) {
  auto adder = troupe::test::spawn_adder(*rt);
  struct outcome {
    std::vector<caf::expected<int64_t>> gathered;
    caf::error all_or_fail;
    int64_t first = 0;
  };
  auto result = std::make_shared<std::promise<outcome>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    troupe::mailbox<increment> nobody;
    using ask = decltype(troupe::request(self, adder, increment{0}, 5s));
    auto asks = [self, adder, nobody](bool with_dead) {
      std::vector<ask> out;
      out.push_back(troupe::request(self, adder, increment{10}, 5s));
      if (with_dead)
        out.push_back(troupe::request(self, nobody, increment{0}, 5s));
      out.push_back(troupe::request(self, adder, increment{20}, 5s));
      return out;
    };
    auto out = std::make_shared<outcome>();
    auto fail = [self](caf::error err) { self->quit(std::move(err)); };
    troupe::gather(asks(true))
        .then(
            [self, out, result, asks, fail](std::vector<caf::expected<int64_t>> all) {
              out->gathered = std::move(all);
              troupe::gather_all_or_fail(asks(true))
                  .then([self](std::vector<int64_t>) { self->quit(caf::sec::unexpected_message); },
                        [self, out, result, asks, fail](caf::error err) {
                          out->all_or_fail = std::move(err);
                          troupe::first_of(asks(false))
                              .then(
                                  [self, out, result](int64_t n) {
                                    out->first = n;
                                    result->set_value(*out);
                                    self->quit();
                                  },
                                  fail);
                        });
            },
            fail);
  });
  troupe::test::exit_watch watch{sys(), a};
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto out = f.get();
  ASSERT_EQ(out.gathered.size(), 3u);
  ASSERT_TRUE(out.gathered[0]);
  EXPECT_EQ(*out.gathered[0], 11);
  ASSERT_FALSE(out.gathered[1]);
  EXPECT_EQ(out.gathered[1].error(), troupe::mailbox_errc::receiver_dead);
  ASSERT_TRUE(out.gathered[2]);
  EXPECT_EQ(*out.gathered[2], 21);
  EXPECT_EQ(out.all_or_fail, troupe::mailbox_errc::receiver_dead);
  EXPECT_EQ(out.first, 11) << "the adder answers in order: the first request wins";
  EXPECT_FALSE(watch.exit_reason());
}

// gather_all_or_fail fails on its first error and discards the replies that arrive after it;
// its state (here: the callbacks it was given) is released once the last of them arrived.
TEST_F(actor_request_test, ACombinatorReleasesItsStateOnceEveryInputArrived) {
  auto adder = troupe::test::spawn_adder(*rt);
  struct outcome {
    caf::error failed_with;
    bool completed_with_values = false;
    bool released_after_last_reply = false;
  };
  auto result = std::make_shared<std::promise<outcome>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    troupe::mailbox<increment> nobody;
    auto out = std::make_shared<outcome>();
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watched = token;
    std::vector<decltype(troupe::request(self, adder, increment{0}, caf::infinite))> asks;
    asks.push_back(troupe::request(self, nobody, increment{0}, caf::infinite));
    asks.push_back(troupe::request(self, adder, increment{1}, caf::infinite));
    asks.push_back(troupe::request(self, adder, increment{2}, caf::infinite));
    troupe::gather_all_or_fail(std::move(asks))
        .then([token, out](std::vector<int64_t>) { out->completed_with_values = true; },
              [token, out](caf::error err) { out->failed_with = std::move(err); });
    token.reset();
    // The adder answers in order: this reply comes after the two the combinator waits for.
    troupe::request(self, adder, increment{3}, caf::infinite)
        .then(
            [self, out, result, watched](int64_t) {
              out->released_after_last_reply = watched.expired();
              result->set_value(*out);
              self->quit();
            },
            [self](caf::error err) { self->quit(std::move(err)); });
  });
  troupe::test::exit_watch watch{sys(), a};
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto out = f.get();
  EXPECT_EQ(out.failed_with, troupe::mailbox_errc::receiver_dead);
  EXPECT_FALSE(out.completed_with_values) << "the whole completed a second time";
  EXPECT_TRUE(out.released_after_last_reply) << "the state outlived its last input";
  EXPECT_FALSE(watch.exit_reason());
}

} // namespace
