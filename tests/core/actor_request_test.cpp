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

// A request answered with an acknowledgement only (caf::unit_t).
struct touch {};

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

// gather_all_or_fail fails on its first error and discards the replies that arrive after it.
// The callbacks it was given (and what they hold) are released as soon as it failed, not when
// the last late reply arrives: the adder is paused until a probe has looked.
TEST_F(actor_request_test, ACombinatorReleasesItsCallbacksOnceTheWholeCompleted) {
  auto adder = troupe::test::spawn_adder(*rt);
  struct outcome {
    caf::error failed_with;
    bool completed_with_values = false;
    bool released_before_late_replies = false;
    int64_t after_late_replies = 0;
  };
  auto result = std::make_shared<std::promise<outcome>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    troupe::mailbox<increment> nobody;
    auto out = std::make_shared<outcome>();
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watched = token;
    adder.pause();
    std::vector<decltype(troupe::request(self, adder, increment{0}, caf::infinite))> asks;
    asks.push_back(troupe::request(self, nobody, increment{0}, caf::infinite));
    asks.push_back(troupe::request(self, adder, increment{1}, caf::infinite));
    asks.push_back(troupe::request(self, adder, increment{2}, caf::infinite));
    troupe::gather_all_or_fail(std::move(asks))
        .then([token, out](std::vector<int64_t>) { out->completed_with_values = true; },
              [token, out](caf::error err) { out->failed_with = std::move(err); });
    token.reset();
    // Fails at once too: its error is queued right behind the combinator's, and the two late
    // replies cannot come before it (the adder is paused).
    troupe::request(self, nobody, increment{0}, caf::infinite)
        .then([](int64_t) {},
              [self, adder, out, result, watched](caf::error) {
                out->released_before_late_replies = watched.expired();
                adder.resume();
                // The adder answers in order: this reply comes after the two late ones.
                troupe::request(self, adder, increment{3}, caf::infinite)
                    .then(
                        [self, out, result](int64_t n) {
                          out->after_late_replies = n;
                          result->set_value(*out);
                          self->quit();
                        },
                        [self](caf::error err) { self->quit(std::move(err)); });
              });
  });
  troupe::test::exit_watch watch{sys(), a};
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto out = f.get();
  EXPECT_EQ(out.failed_with, troupe::mailbox_errc::receiver_dead);
  EXPECT_TRUE(out.released_before_late_replies) << "the callbacks waited for the late replies";
  EXPECT_EQ(out.after_late_replies, 4);
  EXPECT_FALSE(out.completed_with_values) << "the whole completed a second time";
  EXPECT_FALSE(watch.exit_reason());
}

// Replies without a value (caf::unit_t, a handler without reply_type), with and without a
// timeout (neither compiled from a Troupe actor before) and through the three combinators; first_of
// with some inputs failing takes the value, with all failing the last error.
TEST_F(actor_request_test, CombinatorsTakeAcknowledgementsAndMixedOutcomes) {
  auto toucher = troupe::spawn_mailbox<touch>(*rt, {}, [](auto*) {
                   return troupe::handlers{[](touch&) {}};
                 }).value();
  auto adder = troupe::test::spawn_adder(*rt);
  struct outcome {
    bool acknowledged_untimed = false;
    std::size_t gathered = 0;
    std::size_t acknowledged = 0;
    bool acknowledged_first = false;
    int64_t first_after_failures = 0;
    caf::error all_failed;
  };
  auto result = std::make_shared<std::promise<outcome>>();
  auto a = troupe::spawn_actor(*rt, [toucher, adder, result](troupe::actor* self) {
    troupe::mailbox<touch> no_toucher;
    troupe::mailbox<increment> nobody;
    using ack = decltype(troupe::request(self, toucher, touch{}, 5s));
    using ask = decltype(troupe::request(self, adder, increment{0}, 5s));
    auto out = std::make_shared<outcome>();
    auto fail = [self](caf::error err) { self->quit(std::move(err)); };
    auto finish = [self, out, result] {
      result->set_value(*out);
      self->quit();
    };
    auto fourth = [self, out, nobody, finish](int64_t n) {
      out->first_after_failures = n;
      std::vector<ask> none_answer;
      none_answer.push_back(troupe::request(self, nobody, increment{1}, 5s));
      none_answer.push_back(troupe::request(self, nobody, increment{2}, 5s));
      troupe::first_of(std::move(none_answer))
          .then([self](int64_t) { self->quit(caf::sec::unexpected_message); },
                [out, finish](caf::error err) {
                  out->all_failed = std::move(err);
                  finish();
                });
    };
    auto third = [self, out, adder, nobody, fourth, fail](caf::unit_t) {
      out->acknowledged_first = true;
      std::vector<ask> one_answers;
      one_answers.push_back(troupe::request(self, nobody, increment{1}, 5s));
      one_answers.push_back(troupe::request(self, adder, increment{41}, 5s));
      troupe::first_of(std::move(one_answers)).then(fourth, fail);
    };
    auto second = [self, out, toucher, no_toucher, third, fail](std::vector<caf::unit_t> acks) {
      out->acknowledged = acks.size();
      std::vector<ack> race;
      race.push_back(troupe::request(self, no_toucher, touch{}, 5s));
      race.push_back(troupe::request(self, toucher, touch{}, 5s));
      troupe::first_of(std::move(race)).then(third, fail);
    };
    // The toucher answers in order: this acknowledgement comes before the gathered ones.
    troupe::request(self, toucher, touch{}, caf::infinite)
        .then([out](caf::unit_t) { out->acknowledged_untimed = true; }, fail);
    std::vector<ack> acks;
    for (int i = 0; i < 3; ++i)
      acks.push_back(troupe::request(self, toucher, touch{}, 5s));
    troupe::gather(acks).then(
        [self, out, acks, second, fail](std::vector<caf::expected<caf::unit_t>> all) mutable {
          for (auto& x : all)
            out->gathered += x ? 1 : 0;
          troupe::gather_all_or_fail(std::move(acks)).then(second, fail);
        },
        fail);
  });
  troupe::test::exit_watch watch{sys(), a};
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto out = f.get();
  EXPECT_TRUE(out.acknowledged_untimed);
  EXPECT_EQ(out.gathered, 3u);
  EXPECT_EQ(out.acknowledged, 3u);
  EXPECT_TRUE(out.acknowledged_first);
  EXPECT_EQ(out.first_after_failures, 42);
  EXPECT_EQ(out.all_failed, troupe::mailbox_errc::receiver_dead);
  EXPECT_FALSE(watch.exit_reason());
}

} // namespace
