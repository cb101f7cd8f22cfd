// Request tracing: a trace travels with messages and requests to the handlers that take them,
// on to what those handlers send, and back to the requester's continuation.
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// Answers with the trace its handler runs with.
struct which_trace {
  using reply_type = trace_id;
};

// Never answered: the promise is dropped on the floor only when the actor ends.
struct never {
  using reply_type = trace_id;
};

using echo = mailbox<which_trace, never>;

echo spawn_echo(runtime& rt) {
  return spawn_mailbox<which_trace, never>(
             rt, {},
             [](auto*) {
               auto held = std::make_shared<std::vector<response_promise<trace_id>>>();
               return handlers{
                   [](which_trace&) { return current_trace(); },
                   [held](never&, response_promise<trace_id> p) { held->push_back(std::move(p)); },
               };
             })
      .value();
}

// What a relay saw: the trace of its handler, of the inner request's answer, and of the
// continuation that got it.
struct relay_report {
  trace_id handler = 0;
  trace_id inner = 0;
  trace_id continuation = 0;
  bool failed = false;
};

// Asks the echo (or, with `stall`, asks it something it never answers, with a short timeout)
// from inside its own handler and reports what each step ran with.
struct relay {
  bool stall = false;
  using reply_type = relay_report;
};

mailbox<relay> spawn_relay(runtime& rt, echo target) {
  return spawn_mailbox<relay>(
             rt, {},
             [target](mailbox_self<relay>* self) {
               return handlers{[self, target](relay& m, response_promise<relay_report> p) {
                 relay_report report;
                 report.handler = current_trace();
                 auto answer = [p, report](trace_id inner, bool failed) mutable {
                   report.inner = inner;
                   report.continuation = current_trace();
                   report.failed = failed;
                   p.deliver(report);
                 };
                 auto on_error = [answer](caf::error) mutable { answer(0, true); };
                 if (m.stall)
                   request(self, target, never{}, 20ms)
                       .then([answer](trace_id t) mutable { answer(t, false); }, on_error);
                 else
                   request(self, target, which_trace{}, 5s)
                       .then([answer](trace_id t) mutable { answer(t, false); }, on_error);
               }};
             })
      .value();
}

using Tracing = troupe::test::runtime_fixture;

TEST_F(Tracing, NoTraceUnlessOneIsSet) {
  EXPECT_EQ(current_trace(), 0u);
  auto e = spawn_echo(*rt);
  auto r = ask(e, which_trace{}, 5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, 0u);
  caf::anon_send_exit(e.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Tracing, AScopeSetsAndRestoresTheThreadsTrace) {
  auto outer = new_trace();
  auto inner = new_trace();
  EXPECT_NE(outer, 0u);
  EXPECT_NE(outer, inner);
  {
    trace_scope a{outer};
    EXPECT_EQ(current_trace(), outer);
    {
      trace_scope b{inner};
      EXPECT_EQ(current_trace(), inner);
    }
    EXPECT_EQ(current_trace(), outer);
  }
  EXPECT_EQ(current_trace(), 0u);
  EXPECT_EQ(format_trace(0), "");
  EXPECT_EQ(format_trace(0x1a2bULL), "0000000000001a2b");
}

TEST_F(Tracing, ARequestFromAThreadRunsItsHandlerWithTheThreadsTrace) {
  auto e = spawn_echo(*rt);
  auto t = new_trace();
  trace_scope traced{t};
  auto r = ask(e, which_trace{}, 5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, t);
  caf::anon_send_exit(e.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Tracing, AHandlerPassesItsTraceOnAndItsContinuationRunsWithIt) {
  auto e = spawn_echo(*rt);
  auto r = spawn_relay(*rt, e);
  auto t = new_trace();
  trace_scope traced{t};
  auto report = ask(r, relay{}, 5s);
  ASSERT_TRUE(report) << render(report.error());
  EXPECT_EQ(report->handler, t);
  EXPECT_EQ(report->inner, t);
  EXPECT_EQ(report->continuation, t);
  EXPECT_FALSE(report->failed);
  caf::anon_send_exit(r.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(e.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Tracing, ATimedOutRequestsFailureRunsWithItsTrace) {
  auto e = spawn_echo(*rt);
  auto r = spawn_relay(*rt, e);
  auto t = new_trace();
  trace_scope traced{t};
  auto report = ask(r, relay{.stall = true}, 5s);
  ASSERT_TRUE(report) << render(report.error());
  EXPECT_TRUE(report->failed);
  EXPECT_EQ(report->handler, t);
  EXPECT_EQ(report->continuation, t);
  caf::anon_send_exit(r.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(e.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Tracing, EachMessageRunsWithItsOwnSendersTrace) {
  auto seen = std::make_shared<std::vector<trace_id>>();
  auto done = std::make_shared<std::promise<void>>();
  auto mb = spawn_mailbox<int>(*rt, {}, [seen, done](auto*) {
              return handlers{[seen, done](int n) {
                seen->push_back(current_trace());
                if (n == 2)
                  done->set_value();
              }};
            }).value();
  auto t = new_trace();
  {
    trace_scope traced{t};
    ASSERT_TRUE(mb.send(0));
  }
  ASSERT_TRUE(mb.send(1));
  {
    trace_scope traced{t + 1};
    ASSERT_TRUE(mb.send(2));
  }
  ASSERT_EQ(done->get_future().wait_for(10s), std::future_status::ready);
  ASSERT_EQ(seen->size(), 3u);
  EXPECT_EQ((*seen)[0], t);
  EXPECT_EQ((*seen)[1], 0u);
  EXPECT_EQ((*seen)[2], t + 1);
  caf::anon_send_exit(mb.actor(), caf::exit_reason::user_shutdown);
}

struct traced_job {
  using reply_type = trace_id;
};

TEST_F(Tracing, APoolJobRunsWithItsSubmittersTrace) {
  pool_options opts;
  opts.workers = 2;
  auto pool = spawn_pool<traced_job>(
      *rt, opts, [](std::size_t) { return [](traced_job&) { return current_trace(); }; });
  ASSERT_TRUE(pool) << render(pool.error());
  auto t = new_trace();
  trace_scope traced{t};
  auto r = pool->submit(traced_job{}, 5s);
  ASSERT_TRUE(r) << render(r.error());
  EXPECT_EQ(*r, t);
  auto untraced = [&] {
    trace_scope none{0};
    return pool->submit(traced_job{}, 5s);
  }();
  ASSERT_TRUE(untraced) << render(untraced.error());
  EXPECT_EQ(*untraced, 0u);
  (void)pool->shutdown(5s);
}

struct boom {
  using reply_type = int;
};

TEST_F(Tracing, AHandlersCrashIsAnEventWithTheTraceOfTheRequestThatCausedIt) {
  std::mutex mtx;
  std::vector<event> crashes;
  auto sub = rt->events().subscribe(
      [&](const event& e) {
        std::lock_guard guard{mtx};
        if (e.kind == event_kinds::handler_threw)
          crashes.push_back(e);
      },
      event_level::warning);
  mailbox_options opts;
  opts.name = "fragile";
  auto mb = spawn_mailbox<boom>(*rt, opts, [](auto*) {
              return handlers{[](boom&) -> int { throw std::runtime_error("kaput"); }};
            }).value();
  auto t = new_trace();
  trace_scope traced{t};
  auto r = ask(mb, boom{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw);
  // Published before the request is failed: there by the time ask() returns.
  std::lock_guard guard{mtx};
  ASSERT_EQ(crashes.size(), 1u);
  const auto& e = crashes.front();
  EXPECT_EQ(e.trace, t);
  EXPECT_EQ(e.actor, mb.actor().id());
  EXPECT_EQ(e.name, "fragile");
  EXPECT_EQ(e.level, event_level::warning);
  auto json = to_json(e);
  EXPECT_EQ(json.at("trace"), format_trace(t));
  EXPECT_EQ(json.at("what"), "kaput");
  EXPECT_EQ(json.at("request"), true);
  EXPECT_NE(to_text(e).find("trace=" + format_trace(t)), std::string::npos) << to_text(e);
}

TEST_F(Tracing, AnEventPublishedWithoutATraceHasNone) {
  event seen;
  auto sub = rt->events().subscribe([&](const event& e) { seen = e; }, event_level::info);
  event e;
  e.kind = "test.untraced";
  rt->events().publish(e);
  EXPECT_EQ(seen.trace, 0u);
  EXPECT_FALSE(to_json(seen).contains("trace"));
}

} // namespace
