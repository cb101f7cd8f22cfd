// The CAF messages of a Troupe actor: a troupe::actor is a caf::local_actor with an inbox of its
// own, not a caf::scheduled_actor, and handles exit, down and error messages, responses to its
// CAF requests and plain CAF messages as an event-based actor with CAF's default handlers does.

#include <future>
#include <memory>
#include <stdexcept>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/dead_letter_log.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/scheduler/detail/deadline_clock.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

struct get_count {
  using reply_type = int64_t;
};

class caf_messages_test : public troupe::test::runtime_fixture {
protected:
  troupe::mailbox<get_count> spawn_counter() {
    return troupe::spawn_mailbox<get_count>(
               *rt, {},
               [](auto*) {
                 return troupe::handlers{[n = int64_t{0}](get_count&) mutable { return ++n; }};
               })
        .value();
  }

  // A CAF actor that takes int32_t requests and never answers them (it keeps their promises
  // alive until it ends).
  caf::actor spawn_silent() {
    auto held = std::make_shared<std::vector<caf::response_promise>>();
    return sys().spawn([held](caf::event_based_actor* self) -> caf::behavior {
      return {[self, held](int32_t) -> caf::result<int32_t> {
        held->push_back(self->make_response_promise());
        return caf::delegated<int32_t>{};
      }};
    });
  }

  // Waits for the DOWN message of `who` and returns its exit reason.
  caf::error exit_reason_of(const caf::actor& who) {
    return troupe::test::exit_watch{sys(), who}.exit_reason();
  }

  // A plain CAF request to `dest` from a scoped actor: its answer's error, or none.
  caf::error caf_request_error(const caf::actor& dest) {
    caf::scoped_actor self{sys()};
    caf::error result = caf::sec::request_timeout;
    self->request(dest, 10s, int32_t{42})
        .receive([&](const caf::message&) { result = caf::none; },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

TEST_F(caf_messages_test, AnExitMessageOfANormalEndChangesNothingAndAnyOtherEndsTheActor) {
  auto mb = spawn_counter();
  caf::anon_send_exit(mb.actor(), caf::exit_reason::normal);
  // Still there after it handled the exit message: a CAF request behind it in its inbox is
  // answered (with unexpected_message: its messages come through the typed queue).
  EXPECT_EQ(caf_request_error(mb.actor()), caf::sec::unexpected_message);
  auto n = troupe::ask(mb, get_count{}, 10s);
  ASSERT_TRUE(n) << troupe::render(n.error());
  EXPECT_EQ(*n, 1);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(exit_reason_of(mb.actor()), caf::exit_reason::user_shutdown);
}

TEST_F(caf_messages_test, APlainCafRequestIsAnsweredWithUnexpectedMessageAndIsADeadLetter) {
  auto log = std::make_shared<troupe::test::dead_letter_log>();
  rt->dead_letters()->set_hook([log](const troupe::dead_letter& d) { log->record(d); });
  auto mb = spawn_counter();
  EXPECT_EQ(caf_request_error(mb.actor()), caf::sec::unexpected_message);
  auto letter = log->first();
  ASSERT_TRUE(letter);
  EXPECT_EQ(letter->message_type, "caf::message");
  EXPECT_EQ(letter->reason, caf::sec::unexpected_message);
  // The actor goes on.
  auto n = troupe::ask(mb, get_count{}, 10s);
  ASSERT_TRUE(n) << troupe::render(n.error());
  EXPECT_EQ(*n, 1);
}

TEST_F(caf_messages_test, ACafRequestToAnEndedTroupeActorIsAnsweredReceiverDown) {
  auto mb = spawn_counter();
  caf::anon_send_exit(mb.actor(), caf::exit_reason::kill);
  EXPECT_EQ(exit_reason_of(mb.actor()), caf::exit_reason::kill);
  EXPECT_EQ(caf_request_error(mb.actor()), caf::sec::request_receiver_down);
}

TEST_F(caf_messages_test, ACafRequestOfATroupeActorRunsItsResponseHandlerOnTheActor) {
  auto server = sys().spawn([]() -> caf::behavior { return {[](int32_t x) { return x + 1; }}; });
  auto result = std::make_shared<std::promise<int32_t>>();
  auto a = troupe::spawn_actor(*rt, [server, result](troupe::actor* self) {
    self->request(server, 10s, int32_t{41})
        .then(
            [self, result](int32_t n) {
              result->set_value(self->context() != nullptr ? n : -1);
              self->quit(caf::exit_reason::user_shutdown);
            },
            [self, result](caf::error&) {
              result->set_value(-2);
              self->quit();
            });
  });
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), 42);
  // The handler's quit ends the actor with its reason.
  EXPECT_EQ(exit_reason_of(a), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(server, caf::exit_reason::kill);
}

TEST_F(caf_messages_test, ACafRequestOfATroupeActorThatGetsNoAnswerTimesOut) {
  auto silent = spawn_silent();
  auto result = std::make_shared<std::promise<caf::error>>();
  troupe::spawn_actor(*rt, [silent, result](troupe::actor* self) {
    self->request(silent, 20ms, int32_t{1})
        .then([result](int32_t) { result->set_value(caf::none); },
              [self, result](caf::error& err) {
                result->set_value(std::move(err));
                self->quit();
              });
  });
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), caf::sec::request_timeout);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
}

TEST_F(caf_messages_test, TimedCafRequestsWhoseHandlersComeLaterStillTimeOut) {
  auto silent = spawn_silent();
  auto failures = std::make_shared<std::promise<std::vector<caf::error>>>();
  troupe::spawn_actor(*rt, [silent, failures](troupe::actor* self) {
    // Both requests are sent (with their timeouts) before either handler is added.
    auto first = self->request(silent, 20ms, int32_t{1});
    auto second = self->request(silent, 20ms, int32_t{2});
    auto seen = std::make_shared<std::vector<caf::error>>();
    auto on_error = [self, failures, seen](caf::error& err) {
      seen->push_back(std::move(err));
      if (seen->size() == 2) {
        failures->set_value(*seen);
        self->quit();
      }
    };
    first.then([](int32_t) {}, on_error);
    second.then([](int32_t) {}, on_error);
  });
  auto f = failures->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto errors = f.get();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], caf::sec::request_timeout);
  EXPECT_EQ(errors[1], caf::sec::request_timeout);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
}

TEST_F(caf_messages_test, AnsweredCafRequestsOfATroupeActorLeaveNoTimeoutOnTheClock) {
  // CAF's requester leaves each request's timeout on the clock until it is due, answered or
  // not; a Troupe actor keeps its CAF requests' deadlines with its own and arms one timer.
  auto& clock = dynamic_cast<troupe::detail::deadline_clock&>(sys().clock());
  const auto before = clock.pending();
  auto server = sys().spawn([]() -> caf::behavior { return {[](int32_t x) { return x + 1; }}; });
  auto scheduled = std::make_shared<std::promise<std::size_t>>();
  auto a = troupe::spawn_actor(*rt, [server, scheduled, &clock](troupe::actor* self) {
    auto answered = std::make_shared<int>(0);
    for (int32_t x = 0; x < 3; ++x)
      self->request(server, 10s, x)
          .then(
              [scheduled, &clock, answered](int32_t) {
                if (++*answered == 3)
                  scheduled->set_value(clock.pending());
              },
              [scheduled](caf::error&) { scheduled->set_value(0); });
  });
  auto f = scheduled->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), before + 1); // the actor's one timer, for three requests
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  EXPECT_EQ(exit_reason_of(a), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(server, caf::exit_reason::kill);
}

TEST_F(caf_messages_test, AResponseHandlerThatThrowsEndsTheActorWithRuntimeError) {
  auto server = sys().spawn([]() -> caf::behavior { return {[](int32_t x) { return x + 1; }}; });
  auto a = troupe::spawn_actor(*rt, [server](troupe::actor* self) {
    self->request(server, 10s, int32_t{41})
        .then([](int32_t) { throw std::runtime_error{"handler failed"}; }, [](caf::error&) {});
  });
  EXPECT_EQ(exit_reason_of(a), caf::sec::runtime_error);
  caf::anon_send_exit(server, caf::exit_reason::kill);
}

TEST_F(caf_messages_test, ADownMessageOfAMonitorIsADeadLetterOfTheTroupeActor) {
  auto log = std::make_shared<troupe::test::dead_letter_log>();
  rt->dead_letters()->set_hook([log](const troupe::dead_letter& d) { log->record(d); });
  auto watched = sys().spawn([]() -> caf::behavior { return {[](int32_t) {}}; });
  auto a = troupe::spawn_actor(*rt, "watcher", [watched](troupe::actor* self) {
    self->monitor(watched);
    caf::anon_send_exit(watched, caf::exit_reason::user_shutdown);
  });
  auto letter = log->first();
  ASSERT_TRUE(letter);
  EXPECT_EQ(letter->receiver, "watcher");
  EXPECT_EQ(letter->message_type, "caf::down_msg");
  caf::anon_send_exit(a, caf::exit_reason::kill);
}

TEST_F(caf_messages_test, AnErrorMessageEndsTheActorWithThatError) {
  auto mb = spawn_counter();
  caf::anon_send(mb.actor(), caf::make_error(caf::sec::runtime_error));
  EXPECT_EQ(exit_reason_of(mb.actor()), caf::sec::runtime_error);
}

// Sends without a `self` take the lane of the actor the thread runs (troupe::actor::running()),
// also from the actor's start and its end: before, only its handlers' sends did, and a start's
// or an end's send went to the threads' lane, out of order with the actor's other sends.
TEST_F(caf_messages_test, AnActorRunsOnItsThreadFromItsStartToItsEnd) {
  auto at_start = std::make_shared<std::promise<bool>>();
  troupe::spawn_actor(*rt, [at_start](troupe::actor* self) {
    at_start->set_value(troupe::actor::running() == self);
    self->quit();
  });
  auto started = at_start->get_future();
  ASSERT_EQ(started.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(started.get());

  // A typed mailbox destroys its handlers (and what they hold) as it ends, in on_exit.
  struct on_destroy {
    std::shared_ptr<std::promise<bool>> seen;
    ~on_destroy() { seen->set_value(troupe::actor::running() != nullptr); }
  };
  auto at_end = std::make_shared<std::promise<bool>>();
  auto mb = troupe::spawn_mailbox<get_count>(*rt, {}, [at_end](auto*) {
              return troupe::handlers{[probe = std::make_shared<on_destroy>(at_end)](get_count&) {
                return int64_t{0};
              }};
            }).value();
  auto ended = at_end->get_future();
  caf::anon_send_exit(mb.actor(), caf::exit_reason::kill);
  ASSERT_EQ(ended.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(ended.get());
}

} // namespace
