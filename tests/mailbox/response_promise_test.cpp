// Response promises: a handler answers a request later, from another message's handler or
// another thread; exactly one answer reaches the requester (a second deliver is
// already_answered, a dropped promise answers broken_promise); pending() says whether a
// requester still waits. Requests come from threads, Troupe actors, coroutines and CAF actors.

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/dead_letter_log.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

/// Held by the box until a release: the handler takes the promise and returns.
struct get_next {
  using reply_type = int64_t;
};

/// What a release did to the held promises.
struct release_report {
  int64_t answered = 0;      // first deliver returned no error
  int64_t refused_again = 0; // second deliver returned already_answered
};

/// Delivers `value` (or `err`, when set) to every held promise, then tries a second answer.
/// The promises stay held, answered.
struct release {
  int64_t value = 0;
  caf::error err;
  using reply_type = release_report;
};

/// Takes the promise and drops it unanswered.
struct forget {
  using reply_type = int64_t;
};

/// How many promises the box holds, and how many of them are pending().
struct census_report {
  int64_t held = 0;
  int64_t pending = 0;
};
struct census {
  using reply_type = census_report;
};

/// Hands the promise to the test thread, which answers it.
struct hand_out {
  using reply_type = int64_t;
};

/// Keeps a copy of the promise, then throws.
struct take_and_throw {
  using reply_type = int64_t;
};

using promise_slot = std::promise<response_promise<int64_t>>;
using box = mailbox<get_next, release, forget, census, hand_out, take_and_throw>;

box spawn_box(runtime& rt, std::shared_ptr<promise_slot> out = nullptr) {
  return spawn_mailbox<get_next, release, forget, census, hand_out, take_and_throw>(
             rt, {},
             [out](auto*) {
               auto held = std::make_shared<std::vector<response_promise<int64_t>>>();
               return handlers{
                   [held](get_next&, response_promise<int64_t> p) {
                     held->push_back(std::move(p));
                   },
                   [held](release& r) {
                     release_report report;
                     for (auto& p : *held) {
                       auto first = r.err ? p.deliver(r.err) : p.deliver(r.value);
                       report.answered += first ? 0 : 1;
                       if (p.deliver(r.value + 1) == mailbox_errc::already_answered)
                         ++report.refused_again;
                     }
                     return report;
                   },
                   [](forget&, response_promise<int64_t>) {},
                   [held](census&) {
                     census_report c;
                     c.held = static_cast<int64_t>(held->size());
                     for (auto& p : *held)
                       c.pending += p.pending() ? 1 : 0;
                     return c;
                   },
                   [out](hand_out&, response_promise<int64_t> p) { out->set_value(std::move(p)); },
                   [held](take_and_throw&, response_promise<int64_t> p) {
                     held->push_back(p);
                     throw std::runtime_error("thrown after taking the promise");
                   },
               };
             })
      .value();
}

census_report census_of(const box& b) {
  return ask(b, census{}, 10s).value();
}

// Waits until the box holds `n` promises (requests from other threads or actors arrive in no
// order relative to the test thread's own asks).
bool holds(const box& b, int64_t n) {
  return troupe::test::eventually([&] { return census_of(b).held == n; });
}

void wait_until_down(caf::actor_system& sys, const caf::actor& a) {
  caf::scoped_actor watcher{sys};
  watcher->monitor(a);
  watcher->receive([](caf::down_msg&) {}, caf::after(10s) >> [] { ADD_FAILURE() << "no down"; });
}

struct start {};

} // namespace

class ResponsePromise : public troupe::test::runtime_fixture {
public:
  void TearDown() override {
    if (b)
      caf::anon_send_exit(b.actor(), caf::exit_reason::user_shutdown);
    runtime_fixture::TearDown();
  }

  /// Checks that the box holds `n` requests, all still pending, and answers them with `value`.
  void release_held(int64_t n, int64_t value) {
    ASSERT_TRUE(holds(b, n));
    EXPECT_EQ(census_of(b).pending, n);
    EXPECT_EQ(ask(b, release{value, {}}, 10s).value().answered, n);
  }

  box b;
};

namespace {

// The requester's answer arrives and is `value`.
void expect_answer(std::future<int64_t>& answer, int64_t value) {
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(answer.get(), value);
}

} // namespace

// -- answering later -----------------------------------------------------------------------

TEST_F(ResponsePromise, AHandlerAnswersLaterFromAnotherMessagesHandler) {
  b = spawn_box(*rt);
  auto first = std::async(std::launch::async, [&] { return ask(b, get_next{}, 10s); });
  auto second = std::async(std::launch::async, [&] { return ask(b, get_next{}, 10s); });
  ASSERT_TRUE(holds(b, 2));
  EXPECT_EQ(first.wait_for(0s), std::future_status::timeout) << "answered before the release";
  auto report = ask(b, release{7, {}}, 10s).value();
  EXPECT_EQ(report.answered, 2);
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(first.get().value(), 7);
  EXPECT_EQ(second.get().value(), 7) << "the first answer stands";
}

TEST_F(ResponsePromise, AnErrorDeliveredLaterReachesTheRequester) {
  b = spawn_box(*rt);
  auto waiting = std::async(std::launch::async, [&] { return ask(b, get_next{}, 10s); });
  ASSERT_TRUE(holds(b, 1));
  auto report = ask(b, release{0, caf::make_error(caf::sec::unexpected_message)}, 10s).value();
  EXPECT_EQ(report.answered, 1);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  auto r = waiting.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), caf::sec::unexpected_message) << render(r.error());
}

TEST_F(ResponsePromise, ASecondDeliverIsRefusedWithAlreadyAnswered) {
  b = spawn_box(*rt);
  auto waiting = std::async(std::launch::async, [&] { return ask(b, get_next{}, 10s); });
  ASSERT_TRUE(holds(b, 1));
  auto report = ask(b, release{7, {}}, 10s).value();
  EXPECT_EQ(report.answered, 1);
  EXPECT_EQ(report.refused_again, 1);
  auto again = ask(b, release{100, {}}, 10s).value();
  EXPECT_EQ(again.answered, 0) << "an answered promise must refuse every later deliver";
  EXPECT_EQ(again.refused_again, 1);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(waiting.get().value(), 7);
}

TEST_F(ResponsePromise, AnotherThreadAnswersOnceThroughAnyCopy) {
  auto slot = std::make_shared<promise_slot>();
  auto handed = slot->get_future();
  b = spawn_box(*rt, slot);
  auto answer = std::async(std::launch::async, [&] { return ask(b, hand_out{}, 10s); });
  ASSERT_EQ(handed.wait_for(10s), std::future_status::ready);
  auto p = handed.get();
  auto copy = p;
  EXPECT_TRUE(p.pending());
  EXPECT_EQ(p.deliver(caf::error{}), caf::sec::invalid_argument) << "an empty error answers no one";
  EXPECT_TRUE(copy.pending()) << "a refused deliver leaves the promise unanswered";
  EXPECT_FALSE(copy.deliver(42));
  EXPECT_FALSE(p.pending());
  EXPECT_EQ(p.deliver(43), mailbox_errc::already_answered);
  EXPECT_EQ(p.deliver(caf::make_error(caf::sec::unexpected_message)),
            mailbox_errc::already_answered);
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(answer.get().value(), 42);
}

// -- a promise nobody answers ----------------------------------------------------------------

TEST_F(ResponsePromise, ADroppedPromiseAnswersBrokenPromise) {
  b = spawn_box(*rt);
  auto r = ask(b, forget{}, 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::broken_promise) << render(r.error());
}

TEST_F(ResponsePromise, PromisesHeldByATerminatedActorAnswerBrokenPromise) {
  b = spawn_box(*rt);
  auto waiting = std::async(std::launch::async, [&] { return ask(b, get_next{}, 10s); });
  ASSERT_TRUE(holds(b, 1));
  // The handle `b` stays alive: the actor's handlers (and the promises they hold) must go at
  // termination, not when the last handle does.
  caf::anon_send_exit(b.actor(), caf::exit_reason::user_shutdown);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  auto r = waiting.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::broken_promise) << render(r.error());
}

TEST_F(ResponsePromise, AHandlerThatThrowsAfterTakingThePromiseAnswersHandlerThrew) {
  b = spawn_box(*rt);
  auto r = ask(b, take_and_throw{}, 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw) << render(r.error());
  EXPECT_EQ(r.error().context().get_as<std::string>(0), "thrown after taking the promise");
}

// -- pending() -------------------------------------------------------------------------------

TEST_F(ResponsePromise, PendingWhileTheThreadWaitsAndNotOnceAnswered) {
  b = spawn_box(*rt);
  auto waiting = std::async(std::launch::async, [&] { return ask(b, get_next{}, 10s); });
  ASSERT_TRUE(holds(b, 1));
  EXPECT_EQ(census_of(b).pending, 1);
  (void)ask(b, release{1, {}}, 10s).value();
  EXPECT_EQ(census_of(b).pending, 0);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
}

TEST_F(ResponsePromise, NotPendingOnceTheThreadsAskTimedOut) {
  b = spawn_box(*rt);
  auto r = ask(b, get_next{}, 20ms); // nobody answers before the release
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::request_timeout);
  auto c = census_of(b);
  EXPECT_EQ(c.held, 1);
  EXPECT_EQ(c.pending, 0) << "the thread gave up waiting";
  EXPECT_EQ(ask(b, release{1, {}}, 10s).value().answered, 1) << "a late answer is no error";
}

TEST_F(ResponsePromise, APlainSendGivesAPromiseThatIsNeverPendingAndAnswersNobody) {
  b = spawn_box(*rt);
  ASSERT_TRUE(b.send(get_next{}));
  auto c = census_of(b);
  EXPECT_EQ(c.held, 1);
  EXPECT_EQ(c.pending, 0);
  auto report = ask(b, release{1, {}}, 10s).value();
  EXPECT_EQ(report.answered, 1) << "answering a plain send is a no-op, not an error";
  EXPECT_EQ(report.refused_again, 1) << "but only once";
}

TEST_F(ResponsePromise, AnEmptyOrMovedFromPromiseRefusesToAnswer) {
  response_promise<int64_t> empty;
  EXPECT_FALSE(empty);
  EXPECT_FALSE(empty.pending());
  EXPECT_EQ(empty.deliver(1), mailbox_errc::empty_promise);
  EXPECT_EQ(empty.deliver(caf::make_error(caf::sec::unexpected_message)),
            mailbox_errc::empty_promise);

  auto slot = std::make_shared<promise_slot>();
  auto handed = slot->get_future();
  b = spawn_box(*rt, slot);
  auto answer = std::async(std::launch::async, [&] { return ask(b, hand_out{}, 10s); });
  ASSERT_EQ(handed.wait_for(10s), std::future_status::ready);
  auto p = handed.get();
  auto q = std::move(p);
  EXPECT_FALSE(p); // NOLINT(bugprone-use-after-move): moved-from is the case under test
  EXPECT_EQ(p.deliver(1), mailbox_errc::empty_promise);
  EXPECT_TRUE(q.pending());
  EXPECT_FALSE(q.deliver(2));
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(answer.get().value(), 2);
}

// -- requests from actors and coroutines -----------------------------------------------------

TEST_F(ResponsePromise, ATroupeActorsRequestsGetTheLateAnswer) {
  b = spawn_box(*rt);
  auto timed = std::make_shared<std::promise<int64_t>>();
  auto untimed = std::make_shared<std::promise<int64_t>>();
  auto timed_answer = timed->get_future();
  auto untimed_answer = untimed->get_future();
  auto requester = spawn_mailbox<start>(*rt, {}, [box = b, timed, untimed](auto* self) {
                     return handlers{[=](start&) {
                       request(self, box, get_next{}, 10s)
                           .then([timed](int64_t v) { timed->set_value(v); },
                                 [timed](caf::error) { timed->set_value(-1); });
                       request(self, box, get_next{}, caf::infinite)
                           .then([untimed](int64_t v) { untimed->set_value(v); },
                                 [untimed](caf::error) { untimed->set_value(-1); });
                     }};
                   }).value();
  ASSERT_TRUE(requester.send(start{}));
  ASSERT_NO_FATAL_FAILURE(release_held(2, 9));
  ASSERT_NO_FATAL_FAILURE(expect_answer(timed_answer, 9));
  ASSERT_NO_FATAL_FAILURE(expect_answer(untimed_answer, 9));
  caf::anon_send_exit(requester.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(ResponsePromise, ACoroutinesRequestGetsTheLateAnswer) {
  b = spawn_box(*rt);
  auto out = std::make_shared<std::promise<int64_t>>();
  auto answer = out->get_future();
  auto requester = spawn_mailbox<start>(*rt, {}, [box = b, out](auto*) {
                     return handlers{[box, out](start&) -> task<void> {
                       auto r = co_await coro::request(box, get_next{}, 10s);
                       out->set_value(r ? *r : -1);
                     }};
                   }).value();
  ASSERT_TRUE(requester.send(start{}));
  ASSERT_NO_FATAL_FAILURE(release_held(1, 11));
  ASSERT_NO_FATAL_FAILURE(expect_answer(answer, 11));
  caf::anon_send_exit(requester.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(ResponsePromise, ACafActorsRequestGetsTheLateAnswer) {
  b = spawn_box(*rt);
  auto out = std::make_shared<std::promise<int64_t>>();
  auto answer = out->get_future();
  auto requester = rt->spawn([box = b, out](caf::event_based_actor* self) -> caf::behavior {
    request(self, box, get_next{}, 10s)
        .then([out](int64_t v) { out->set_value(v); }, [out](caf::error) { out->set_value(-1); });
    return {[](caf::ok_atom) {}};
  });
  ASSERT_NO_FATAL_FAILURE(release_held(1, 13));
  ASSERT_NO_FATAL_FAILURE(expect_answer(answer, 13));
  caf::anon_send_exit(requester, caf::exit_reason::user_shutdown);
}

// -- requesters that are gone ----------------------------------------------------------------

class ResponsePromiseToATerminatedRequester : public ResponsePromise {
public:
  void SetUp() override {
    rt->dead_letters()->set_hook([log = log](const dead_letter& d) { log->record(d); });
    b = spawn_box(*rt);
    // A Troupe actor and a CAF actor each send one request and terminate before its answer.
    mailbox_options opts;
    opts.name = "requester";
    auto troupe_requester =
        spawn_mailbox<start>(*rt, opts, [box = b](auto* self) {
          return handlers{[self, box](start&) {
            request(self, box, get_next{}, 10s).then([](int64_t) {}, [](caf::error) {});
            self->quit();
          }};
        }).value();
    ASSERT_TRUE(troupe_requester.send(start{}));
    wait_until_down(sys(), troupe_requester.actor());
    auto caf_requester = rt->spawn([box = b](caf::event_based_actor* self) -> caf::behavior {
      request(self, box, get_next{}, 10s).then([](int64_t) {}, [](caf::error) {});
      self->quit();
      return {[](caf::ok_atom) {}};
    });
    wait_until_down(sys(), caf_requester);
    ASSERT_TRUE(holds(b, 2));
  }

  std::shared_ptr<troupe::test::dead_letter_log> log =
      std::make_shared<troupe::test::dead_letter_log>();
};

TEST_F(ResponsePromiseToATerminatedRequester, IsNoLongerPending) {
  EXPECT_EQ(census_of(b).pending, 0);
}

TEST_F(ResponsePromiseToATerminatedRequester, GetsItsAnswerAsACountedDeadLetter) {
  auto before = rt->dead_letters()->count();
  EXPECT_EQ(ask(b, release{5, {}}, 10s).value().answered, 2)
      << "answering a requester that is gone is no error for the one who answers";
  // Both sinks report while deliver() runs, so before the release's reply.
  EXPECT_EQ(rt->dead_letters()->count(), before + 2)
      << "both answers must be counted as dead letters";
  std::lock_guard guard{log->mtx};
  ASSERT_EQ(log->letters.size(), 2u);
  bool saw_troupe_requester = false;
  for (auto& letter : log->letters) {
    EXPECT_EQ(letter.message_type, typeid(int64_t).name());
    EXPECT_EQ(letter.reason, mailbox_errc::receiver_dead) << render(letter.reason);
    saw_troupe_requester = saw_troupe_requester || letter.receiver == "requester";
  }
  EXPECT_TRUE(saw_troupe_requester);
}
