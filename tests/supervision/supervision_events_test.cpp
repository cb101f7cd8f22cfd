// The supervision component's events: children started, restarted (with the intensity window),
// start failures, a supervisor giving up, and pool retries and cancellations.

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "supervision/probe.hpp"
#include "supervision/supervisor_fixture.hpp"
#include "support/event_recorder.hpp"
#include "troupe/runtime/runtime_event_kinds.hpp"
#include "troupe/supervision/supervision_event_kinds.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::event;
using troupe::event_level;
using troupe::restart_strategy;
using troupe::to_json;
using troupe::test::crash_atom;
using troupe::test::probe_child;
namespace kinds = troupe::event_kinds;

namespace {

class supervision_events_test : public troupe::test::supervisor_fixture {
protected:
  troupe::test::event_recorder events{rt->events()};

  void crash(const troupe::supervisor& sup, const std::string& id) {
    caf::anon_send(child(sup, id).actor, crash_atom::value);
  }

  static auto named(std::string name) {
    return [name = std::move(name)](const event& e) { return e.name == name; };
  }
};

TEST_F(supervision_events_test, EachStartedChildIsPublished) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log), probe_child("b", log)});
  auto a = events.wait_for(kinds::child_started, named("test_sup/a"));
  auto b = events.wait_for(kinds::child_started, named("test_sup/b"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  auto j = to_json(*a);
  EXPECT_EQ(j.at("kind"), "supervisor.child_started");
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("actor"), child(sup, "a").actor.id());
  EXPECT_EQ(j.at("supervisor"), "test_sup");
  EXPECT_EQ(j.at("child"), "a");
  EXPECT_EQ(j.at("restart"), "permanent");
  EXPECT_LT(a->sequence, b->sequence) << "in start order";
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervision_events_test, ACrashPublishesTheRestartWithItsCountAndWindow) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)}, 5);
  auto first = child(sup, "a").actor;
  crash(sup, "a");
  auto restarted = events.wait_for(kinds::child_restarted, named("test_sup/a"));
  ASSERT_TRUE(restarted);
  auto j = to_json(*restarted);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("supervisor"), "test_sup");
  EXPECT_EQ(j.at("child"), "a");
  EXPECT_EQ(j.at("restarts"), 1);
  EXPECT_EQ(j.at("restarts_in_window"), 1);
  EXPECT_EQ(j.at("intensity"), 5);
  EXPECT_EQ(j.at("period_ms"), 10000);
  EXPECT_NE(j.at("reason").get<std::string>().find("handler_threw"), std::string::npos) << j;
  EXPECT_NE(j.at("actor"), first.id()) << "the subject is the new incarnation";
  EXPECT_EQ(j.at("actor"), child(sup, "a").actor.id());
  EXPECT_EQ(restarted->text.rfind("restarted (1 of 5 in 10s): ", 0), 0u) << restarted->text;
  // The old incarnation's end came first, as a warning with the same reason.
  auto exited =
      events.wait_for(kinds::actor_exited, [&](const event& e) { return e.actor == first.id(); });
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->level, event_level::warning);
  EXPECT_LT(exited->sequence, restarted->sequence);
  // A second crash counts on in the same window.
  crash(sup, "a");
  auto twice = events.wait_for_count(kinds::child_restarted, 2);
  ASSERT_EQ(twice.size(), 2u);
  EXPECT_EQ(to_json(twice[1]).at("restarts"), 2);
  EXPECT_EQ(to_json(twice[1]).at("restarts_in_window"), 2);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervision_events_test, OneRestartTooManyPublishesGaveUpWithTheWindow) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)}, 1, "fragile");
  troupe::test::exit_watch watch{sys(), sup.actor()};
  crash(sup, "a");
  ASSERT_TRUE(events.wait_for(kinds::child_restarted, named("fragile/a")));
  crash(sup, "a");
  auto gave_up = events.wait_for(kinds::supervisor_gave_up);
  ASSERT_TRUE(gave_up);
  auto j = to_json(*gave_up);
  EXPECT_EQ(j.at("level"), "error");
  EXPECT_EQ(j.at("name"), "fragile/a");
  EXPECT_EQ(j.at("supervisor"), "fragile");
  EXPECT_EQ(j.at("child"), "a");
  EXPECT_EQ(j.at("intensity"), 1);
  EXPECT_EQ(j.at("period_ms"), 10000);
  EXPECT_NE(j.at("reason").get<std::string>().find("handler_threw"), std::string::npos);
  // Escalation: the supervisor itself ends with OTP's `shutdown`, its context saying why.
  EXPECT_TRUE(exited_giving_up(watch.exit_reason())) << troupe::render(watch.exit_reason());
  auto sup_exit = events.wait_for(
      kinds::actor_exited, [id = sup.actor().id()](const event& e) { return e.actor == id; });
  ASSERT_TRUE(sup_exit);
  EXPECT_EQ(sup_exit->level, event_level::info); // an orderly exit, as OTP's `shutdown`
  EXPECT_NE(to_json(*sup_exit).at("reason").get<std::string>().find("restart_intensity_exceeded"),
            std::string::npos);
}

TEST_F(supervision_events_test, AFailedInitialStartIsAnError) {
  troupe::child_spec broken;
  broken.id = "broken";
  broken.start = [](const troupe::child_context&) -> troupe::started_child {
    throw std::runtime_error("no database");
  };
  troupe::supervisor_spec spec;
  spec.name = "boot";
  spec.children = {broken};
  ASSERT_FALSE(troupe::start_supervisor(*rt, std::move(spec)));
  auto failed = events.wait_for(kinds::child_start_failed, named("boot/broken"));
  ASSERT_TRUE(failed);
  auto j = to_json(*failed);
  EXPECT_EQ(j.at("level"), "error");
  EXPECT_EQ(j.at("will_retry"), false);
  EXPECT_NE(j.at("reason").get<std::string>().find("no database"), std::string::npos) << j;
}

TEST_F(supervision_events_test, AFailedRestartIsRetriedAndThenRestarted) {
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::child_spec flaky = probe_child("flaky", log);
  flaky.start = [starts, inner = flaky.start](const troupe::child_context& ctx) {
    // The first restart (second start) fails; the retry succeeds.
    if (starts->fetch_add(1) == 1)
      throw std::runtime_error("port busy");
    return inner(ctx);
  };
  auto sup = start(restart_strategy::one_for_one, {flaky});
  crash(sup, "flaky");
  auto failed = events.wait_for(kinds::child_start_failed, named("test_sup/flaky"));
  auto restarted = events.wait_for(kinds::child_restarted, named("test_sup/flaky"));
  ASSERT_TRUE(failed);
  ASSERT_TRUE(restarted);
  EXPECT_EQ(failed->level, event_level::warning);
  EXPECT_EQ(to_json(*failed).at("will_retry"), true);
  EXPECT_NE(to_json(*failed).at("reason").get<std::string>().find("port busy"), std::string::npos);
  EXPECT_LT(failed->sequence, restarted->sequence);
  EXPECT_EQ(to_json(*restarted).at("restarts_in_window"), 2) << "the retry counted too";
  EXPECT_FALSE(sup.stop());
}

// -- pools ----------------------------------------------------------------------------------------

struct job {
  int id = 0;
  using reply_type = int;
};

TEST_F(supervision_events_test, APoolRetryIsPublished) {
  troupe::pool_options opts;
  opts.name = "crunch";
  opts.workers = 1;
  opts.max_retries = 1;
  auto attempts = std::make_shared<std::atomic<int>>(0);
  auto pool = troupe::spawn_pool<job>(*rt, opts, [attempts](std::size_t) {
    return [attempts](job& j) {
      if (attempts->fetch_add(1) == 0)
        throw std::runtime_error("flaky disk");
      return j.id;
    };
  });
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool->submit(job{7}).value(), 7);
  auto retried = events.wait_for(kinds::pool_job_retried);
  ASSERT_TRUE(retried);
  auto j = to_json(*retried);
  EXPECT_EQ(j.at("level"), "notice");
  EXPECT_EQ(j.at("name"), "crunch");
  EXPECT_EQ(j.at("pool"), "crunch");
  EXPECT_EQ(j.at("attempt"), 1);
  EXPECT_NE(j.at("reason").get<std::string>().find("flaky disk"), std::string::npos) << j;
  EXPECT_TRUE(pool->shutdown(5s).drained);
}

TEST_F(supervision_events_test, JobsCancelledByAPoolShutdownArePublished) {
  troupe::pool_options opts;
  opts.name = "slow";
  opts.workers = 1;
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto pool = troupe::spawn_pool<job>(*rt, opts, [opened](std::size_t) {
    return [opened](job& j) {
      opened.wait();
      return j.id;
    };
  });
  ASSERT_TRUE(pool);
  auto answered = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(pool->submit_async(
        job{i}, [answered](int) { answered->fetch_add(1); },
        [answered](caf::error) { answered->fetch_add(1); }));
  std::thread opener{[&] {
    // Opens the gate once the waiting jobs were cancelled.
    (void)events.wait_for(kinds::pool_job_cancelled);
    gate->set_value();
  }};
  (void)pool->shutdown(50ms);
  opener.join();
  auto cancelled = events.wait_for(kinds::pool_job_cancelled);
  ASSERT_TRUE(cancelled);
  auto j = to_json(*cancelled);
  EXPECT_EQ(j.at("level"), "notice");
  EXPECT_EQ(j.at("pool"), "slow");
  EXPECT_GE(j.at("count").get<int>(), 1);
  EXPECT_LE(j.at("count").get<int>(), 5);
  EXPECT_TRUE(troupe::test::eventually([&] { return answered->load() == 5; }));
}

// A posted job has no requester to tell: its failure (a crash with no retries left, an error
// its handler returned) is a pool.job_failed event, and counted.
TEST_F(supervision_events_test, APostedJobsFailureIsPublishedAndCounted) {
  troupe::pool_options opts;
  opts.name = "fire";
  opts.workers = 1;
  opts.max_retries = 1;
  auto pool = troupe::spawn_pool<job>(*rt, opts, [](std::size_t) {
    return [](job& j) -> caf::expected<int> {
      if (j.id == 1)
        throw std::runtime_error("poisoned input");
      if (j.id == 2)
        return troupe::make_error(troupe::runtime_errc::job_failed, std::string{"bad row"});
      return j.id;
    };
  });
  ASSERT_TRUE(pool);
  for (int i = 0; i < 3; ++i)
    ASSERT_FALSE(pool->post(job{i}));
  EXPECT_TRUE(pool->shutdown(10s).drained);
  auto failed = events.wait_for_count(kinds::pool_job_failed, 2);
  ASSERT_EQ(failed.size(), 2u);
  std::map<int, nlohmann::json> by_attempts;
  for (auto& e : failed) {
    auto j = to_json(e);
    EXPECT_EQ(j.at("level"), "warning");
    EXPECT_EQ(j.at("name"), "fire");
    EXPECT_EQ(j.at("pool"), "fire");
    by_attempts[j.at("attempts").get<int>()] = j;
  }
  // The crash ran twice (one retry); the error result once (an answer is not retried).
  ASSERT_EQ(by_attempts.count(2), 1u);
  ASSERT_EQ(by_attempts.count(1), 1u);
  EXPECT_NE(by_attempts[2].at("reason").get<std::string>().find("poisoned input"),
            std::string::npos)
      << by_attempts[2];
  EXPECT_NE(by_attempts[1].at("reason").get<std::string>().find("bad row"), std::string::npos)
      << by_attempts[1];
  auto m = pool->metrics();
  EXPECT_EQ(m.completed, 1u);
  EXPECT_EQ(m.failed, 2u);
  EXPECT_EQ(m.retried, 1u);
  EXPECT_EQ(m.cancelled, 0u);
}

} // namespace
