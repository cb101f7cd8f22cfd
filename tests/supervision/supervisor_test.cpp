#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "supervision/probe.hpp"
#include "supervision/supervisor_fixture.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/supervision/detail/restart_decision.hpp"
#include "troupe/supervision/detail/restart_window.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::child_state;
using troupe::restart_strategy;
using troupe::restart_type;
using troupe::supervision_errc;
using troupe::test::crash_atom;
using troupe::test::event_log;
using troupe::test::finish_atom;
using troupe::test::probe_child;

namespace {

using strings = std::vector<std::string>;

class supervisor_test : public troupe::test::supervisor_fixture {
protected:
  troupe::supervisor start_abc(restart_strategy strategy) {
    return start(strategy, {probe_child("a", log), probe_child("b", log), probe_child("c", log)});
  }

  void crash(const troupe::supervisor& sup, const std::string& id) {
    caf::anon_send(child(sup, id).actor, crash_atom::value);
  }
};

// -- starting -------------------------------------------------------------------------------

TEST_F(supervisor_test, StartsChildrenInOrderAndListsThem) {
  auto sup = start_abc(restart_strategy::one_for_one);
  EXPECT_EQ(log->events(), (strings{"start:a", "start:b", "start:c"}));
  auto children = sup.which_children().value();
  ASSERT_EQ(children.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(children[i].id, std::string(1, static_cast<char>('a' + i)));
    EXPECT_EQ(children[i].state, child_state::running);
    EXPECT_TRUE(children[i].actor);
    EXPECT_EQ(children[i].restarts, 0u);
  }
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, AnEmptyHandleTestsFalseAndAStartedOneTrue) {
  EXPECT_FALSE(troupe::supervisor{});
  auto sup = start_abc(restart_strategy::one_for_one);
  EXPECT_TRUE(sup);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, StartFailureNamesTheChildAndStopsTheStartedOnes) {
  troupe::child_spec broken;
  broken.id = "broken";
  broken.start = [](const troupe::child_context&) -> troupe::started_child {
    throw std::runtime_error("no database");
  };
  troupe::supervisor_spec spec;
  spec.children = {probe_child("a", log), broken, probe_child("c", log)};
  auto sup = troupe::start_supervisor(*rt, std::move(spec));
  ASSERT_FALSE(sup);
  EXPECT_EQ(sup.error(), supervision_errc::start_failed);
  auto text = troupe::render(sup.error());
  EXPECT_NE(text.find("broken"), std::string::npos) << text;
  EXPECT_NE(text.find("no database"), std::string::npos) << text;
  ASSERT_TRUE(log->wait_for_size(2));
  EXPECT_EQ(log->events(), (strings{"start:a", "stop:a"})); // c never started
}

TEST_F(supervisor_test, FactoryErrorFailsTheStartWithItsReason) {
  troupe::child_spec failing;
  failing.id = "failing";
  failing.start = [](const troupe::child_context&) -> troupe::started_child {
    return troupe::make_error(troupe::runtime_errc::blocking_queue_full);
  };
  troupe::supervisor_spec spec;
  spec.children = {failing};
  auto sup = troupe::start_supervisor(*rt, std::move(spec));
  ASSERT_FALSE(sup);
  EXPECT_NE(troupe::render(sup.error()).find("blocking_queue_full"), std::string::npos);
}

TEST_F(supervisor_test, InvalidSpecsAreRejectedNamingTheField) {
  auto reject = [&](troupe::supervisor_spec spec, const char* needle) {
    auto sup = troupe::start_supervisor(*rt, std::move(spec));
    ASSERT_FALSE(sup);
    EXPECT_EQ(sup.error(), supervision_errc::invalid_spec);
    EXPECT_NE(troupe::render(sup.error()).find(needle), std::string::npos)
        << troupe::render(sup.error());
  };
  troupe::supervisor_spec dup;
  dup.children = {probe_child("a", log), probe_child("a", log)};
  reject(dup, "duplicate id");
  troupe::supervisor_spec no_id;
  no_id.children = {probe_child("", log)};
  reject(no_id, "without an id");
  troupe::supervisor_spec no_start;
  troupe::child_spec nameless_start;
  nameless_start.id = "x";
  no_start.children = {nameless_start};
  reject(no_start, "no start function");
  troupe::supervisor_spec dyn;
  dyn.strategy = restart_strategy::dynamic;
  reject(dyn, "exactly one child spec");
  troupe::supervisor_spec period;
  period.period = 0ms;
  reject(period, "period");
  EXPECT_TRUE(log->events().empty());
}

// -- strategies -----------------------------------------------------------------------------

TEST_F(supervisor_test, OneForOneRestartsOnlyTheCrashedChild) {
  auto sup = start_abc(restart_strategy::one_for_one);
  auto a = child(sup, "a").actor;
  auto mark = log->size();
  crash(sup, "b");
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  EXPECT_EQ(log->since(mark), (strings{"stop:b", "start:b"}));
  EXPECT_EQ(child(sup, "b").restarts, 1u);
  EXPECT_EQ(child(sup, "a").restarts, 0u);
  EXPECT_EQ(child(sup, "a").actor, a);
  EXPECT_EQ(child(sup, "b").state, child_state::running);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, OneForAllStopsTheOthersInReverseAndRestartsAllInOrder) {
  auto sup = start_abc(restart_strategy::one_for_all);
  auto mark = log->size();
  crash(sup, "b");
  ASSERT_TRUE(log->wait_for_size(mark + 6));
  EXPECT_EQ(log->since(mark),
            (strings{"stop:b", "stop:c", "stop:a", "start:a", "start:b", "start:c"}));
  for (auto id : {"a", "b", "c"})
    EXPECT_EQ(child(sup, id).restarts, 1u) << id;
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, RestForOneRestartsTheChildAndTheOnesAfterIt) {
  auto sup = start_abc(restart_strategy::rest_for_one);
  auto a = child(sup, "a").actor;
  auto mark = log->size();
  crash(sup, "b");
  ASSERT_TRUE(log->wait_for_size(mark + 4));
  EXPECT_EQ(log->since(mark), (strings{"stop:b", "stop:c", "start:b", "start:c"}));
  EXPECT_EQ(child(sup, "a").actor, a);
  EXPECT_EQ(child(sup, "a").restarts, 0u);
  EXPECT_EQ(child(sup, "c").restarts, 1u);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, RestForOneCrashOfTheLastChildRestartsOnlyIt) {
  auto sup = start_abc(restart_strategy::rest_for_one);
  auto mark = log->size();
  crash(sup, "c");
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  EXPECT_EQ(log->since(mark), (strings{"stop:c", "start:c"}));
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, OneForAllDoesNotRestartATemporarySibling) {
  auto sup = start(restart_strategy::one_for_all,
                   {probe_child("a", log), probe_child("t", log, restart_type::temporary),
                    probe_child("c", log)});
  auto mark = log->size();
  crash(sup, "a");
  ASSERT_TRUE(log->wait_for_size(mark + 5));
  EXPECT_EQ(log->since(mark), (strings{"stop:a", "stop:c", "stop:t", "start:a", "start:c"}));
  auto children = sup.which_children().value();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "a");
  EXPECT_EQ(children[1].id, "c");
  EXPECT_FALSE(sup.stop());
}

// -- restart types --------------------------------------------------------------------------

TEST_F(supervisor_test, PermanentChildRestartsEvenAfterANormalExit) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("p", log)});
  auto mark = log->size();
  caf::anon_send(child(sup, "p").actor, finish_atom::value);
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  EXPECT_EQ(log->since(mark), (strings{"stop:p", "start:p"}));
  EXPECT_EQ(child(sup, "p").restarts, 1u);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, TransientChildRestartsOnlyAfterAnAbnormalExit) {
  auto sup = start(restart_strategy::one_for_one,
                   {probe_child("t", log, restart_type::transient), probe_child("z", log)});
  auto mark = log->size();
  crash(sup, "t");
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  EXPECT_EQ(log->since(mark), (strings{"stop:t", "start:t"}));
  caf::anon_send(child(sup, "t").actor, finish_atom::value);
  ASSERT_TRUE(log->wait_for_size(mark + 3));
  // The supervisor books the exit after the child's on_exit logged it.
  ASSERT_TRUE(
      troupe::test::eventually([&] { return child(sup, "t").state == child_state::terminated; }));
  EXPECT_EQ(log->since(mark), (strings{"stop:t", "start:t", "stop:t"}));
  auto t = child(sup, "t");
  EXPECT_FALSE(t.actor);
  EXPECT_EQ(t.restarts, 1u);
  // A terminated transient child can be started again by hand.
  EXPECT_FALSE(sup.start_child("t"));
  EXPECT_EQ(child(sup, "t").state, child_state::running);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, TemporaryChildIsNeverRestartedAndLeavesTheList) {
  auto sup = start(restart_strategy::one_for_one,
                   {probe_child("tmp", log, restart_type::temporary), probe_child("z", log)});
  auto mark = log->size();
  crash(sup, "tmp");
  ASSERT_TRUE(log->wait_for_size(mark + 1));
  ASSERT_TRUE(troupe::test::eventually([&] { return sup.which_children().value().size() == 1u; }));
  EXPECT_EQ(sup.which_children().value()[0].id, "z");
  EXPECT_EQ(log->since(mark), (strings{"stop:tmp"}));
  EXPECT_FALSE(sup.stop());
}

// -- intensity and escalation ---------------------------------------------------------------

TEST_F(supervisor_test, IntensityExceededStopsTheChildrenAndExitsWithShutdownNamingTheChild) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log), probe_child("b", log)},
                   /*intensity=*/2);
  for (int i = 0; i < 2; ++i) {
    auto mark = log->size();
    crash(sup, "b");
    ASSERT_TRUE(log->wait_for_size(mark + 2));
  }
  EXPECT_EQ(child(sup, "b").restarts, 2u);
  crash(sup, "b"); // the third restart within the period is one too many
  auto reason = sup.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_TRUE(exited_giving_up(*reason)) << troupe::render(*reason);
  EXPECT_NE(troupe::render(*reason).find("\"b\""), std::string::npos) << troupe::render(*reason);
  auto events = log->events();
  EXPECT_EQ(events.back(), "stop:a"); // a was stopped before the supervisor exited
}

TEST_F(supervisor_test, EscalationReachesTheParentWhichRestartsTheSubtree) {
  troupe::supervisor_spec inner;
  inner.name = "inner";
  inner.intensity = 0; // any crash below escalates
  inner.children = {probe_child("leaf", log)};
  troupe::supervisor_spec outer_spec;
  outer_spec.name = "outer";
  outer_spec.intensity = 5;
  outer_spec.period = 10s;
  outer_spec.children = {troupe::supervisor_child("inner", inner), probe_child("sibling", log)};
  auto outer = troupe::start_supervisor(*rt, std::move(outer_spec)).value();
  auto inner_sup = troupe::supervisor{*rt, child(outer, "inner").actor};
  auto first_inner = inner_sup.actor();
  auto mark = log->size();
  crash(inner_sup, "leaf");
  auto reason = inner_sup.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_TRUE(exited_giving_up(*reason)) << troupe::render(*reason);
  // The parent restarts the inner supervisor, which starts its leaf again.
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  EXPECT_EQ(log->since(mark), (strings{"stop:leaf", "start:leaf"}));
  auto again = child(outer, "inner");
  EXPECT_EQ(again.restarts, 1u);
  auto counts = outer.count_children().value();
  EXPECT_EQ(counts.specs, 2u);
  EXPECT_EQ(counts.active, 2u);
  EXPECT_EQ(counts.supervisors, 1u);
  EXPECT_EQ(counts.workers, 1u);
  EXPECT_TRUE(again.is_supervisor);
  EXPECT_NE(again.actor, first_inner);
  EXPECT_EQ(child(outer, "sibling").restarts, 0u);
  EXPECT_FALSE(outer.stop());
}

TEST_F(supervisor_test, EscalationClimbsUntilASupervisorGivesUp) {
  troupe::supervisor_spec inner;
  inner.name = "inner";
  inner.intensity = 0;
  inner.children = {probe_child("leaf", log)};
  troupe::supervisor_spec outer_spec;
  outer_spec.name = "outer";
  outer_spec.intensity = 0;
  outer_spec.children = {troupe::supervisor_child("inner", inner)};
  auto outer = troupe::start_supervisor(*rt, std::move(outer_spec)).value();
  crash(troupe::supervisor{*rt, child(outer, "inner").actor}, "leaf");
  auto reason = outer.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_TRUE(exited_giving_up(*reason)) << troupe::render(*reason);
  EXPECT_NE(troupe::render(*reason).find("inner"), std::string::npos);
}

TEST_F(supervisor_test, AChildThatCannotRestartEndsInEscalationNotALoop) {
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::child_spec flaky;
  flaky.id = "flaky";
  flaky.start = [starts, l = log](const troupe::child_context& ctx) -> troupe::started_child {
    if (starts->fetch_add(1) > 0)
      return troupe::make_error(troupe::runtime_errc::cancelled);
    return ctx.rt.spawn<troupe::test::probe_actor>(l, ctx.id, troupe::test::probe_options{});
  };
  auto sup = start(restart_strategy::one_for_one, {flaky}, /*intensity=*/3);
  crash(sup, "flaky");
  auto reason = sup.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_TRUE(exited_giving_up(*reason)) << troupe::render(*reason);
  // One restart after the crash, then retries until the fourth restart within the period.
  EXPECT_EQ(starts->load(), 4);
}

// -- shutdown -------------------------------------------------------------------------------

TEST_F(supervisor_test, StopStopsChildrenInReverseStartOrder) {
  auto sup = start_abc(restart_strategy::one_for_one);
  auto mark = log->size();
  EXPECT_FALSE(sup.stop(10s));
  EXPECT_EQ(log->since(mark), (strings{"stop:c", "stop:b", "stop:a"}));
}

TEST_F(supervisor_test, ExitReasonOfAStoppedSupervisorIsUserShutdown) {
  auto sup = start_abc(restart_strategy::one_for_one);
  caf::anon_send_exit(sup.actor(), caf::exit_reason::user_shutdown);
  auto reason = sup.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, caf::exit_reason::user_shutdown);
}

TEST_F(supervisor_test, AChildIgnoringTheStopRequestIsKilledAtItsDeadline) {
  auto stubborn = probe_child("stubborn", log, restart_type::permanent, {.stubborn = true});
  stubborn.shutdown = 50ms;
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log), stubborn});
  auto mark = log->size();
  EXPECT_FALSE(sup.stop(10s));
  EXPECT_EQ(log->since(mark), (strings{"stop:stubborn", "stop:a"}));
}

TEST_F(supervisor_test, BrutalKillDoesNotWaitForAStubbornChild) {
  auto stubborn = probe_child("stubborn", log, restart_type::permanent, {.stubborn = true});
  stubborn.shutdown = troupe::shutdown_policy::brutal_kill();
  auto sup = start(restart_strategy::one_for_one, {stubborn});
  EXPECT_FALSE(sup.stop(10s));
  EXPECT_EQ(log->events().back(), "stop:stubborn");
}

TEST_F(supervisor_test, ThreeLevelTreeStopsBottomUpInReverseOrder) {
  troupe::supervisor_spec leaf_sup;
  leaf_sup.name = "level3";
  leaf_sup.children = {probe_child("l3a", log), probe_child("l3b", log)};
  troupe::supervisor_spec mid;
  mid.name = "level2";
  mid.children = {probe_child("l2a", log), troupe::supervisor_child("level3", leaf_sup),
                  probe_child("l2c", log)};
  troupe::supervisor_spec root_spec;
  root_spec.name = "level1";
  root_spec.children = {probe_child("l1a", log), troupe::supervisor_child("level2", mid)};
  auto root = troupe::start_supervisor(*rt, std::move(root_spec)).value();
  EXPECT_EQ(log->events(),
            (strings{"start:l1a", "start:l2a", "start:l3a", "start:l3b", "start:l2c"}));
  // A crash at the bottom is handled at the bottom.
  auto level2 = troupe::supervisor{*rt, child(root, "level2").actor};
  auto level3 = troupe::supervisor{*rt, child(level2, "level3").actor};
  auto mark = log->size();
  crash(level3, "l3b");
  ASSERT_TRUE(log->wait_for_size(mark + 2));
  EXPECT_EQ(log->since(mark), (strings{"stop:l3b", "start:l3b"}));
  mark = log->size();
  EXPECT_FALSE(root.stop(10s));
  EXPECT_EQ(log->since(mark),
            (strings{"stop:l2c", "stop:l3b", "stop:l3a", "stop:l2a", "stop:l1a"}));
}

TEST_F(supervisor_test, RuntimeShutdownStopsTheTreeInOrder) {
  troupe::supervisor_spec inner;
  inner.children = {probe_child("i1", log), probe_child("i2", log)};
  troupe::supervisor_spec spec;
  spec.children = {probe_child("a", log), troupe::supervisor_child("inner", inner),
                   probe_child("c", log)};
  auto sup = troupe::start_supervisor(*rt, std::move(spec)).value();
  auto mark = log->size();
  auto report = rt->shutdown(10s);
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(log->since(mark), (strings{"stop:c", "stop:i2", "stop:i1", "stop:a"}));
}

// -- run-time operations --------------------------------------------------------------------

TEST_F(supervisor_test, ChildrenCanBeStoppedStartedRestartedAddedAndRemovedById) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log), probe_child("b", log)});
  auto mark = log->size();
  EXPECT_FALSE(sup.stop_child("a"));
  EXPECT_EQ(child(sup, "a").state, child_state::terminated);
  EXPECT_EQ(sup.start_child("b"), supervision_errc::child_running);
  EXPECT_FALSE(sup.start_child("a"));
  EXPECT_EQ(sup.restart_child("b"), supervision_errc::child_running); // OTP: running
  EXPECT_FALSE(sup.stop_child("b"));
  EXPECT_FALSE(sup.restart_child("b"));
  auto c = sup.add_child(probe_child("c", log));
  ASSERT_TRUE(c) << troupe::render(c.error());
  EXPECT_TRUE(c->actor);
  auto again = sup.add_child(probe_child("c", log));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), supervision_errc::already_started);
  EXPECT_EQ(troupe::already_started_actor(again.error()), c->actor);
  EXPECT_EQ(sup.remove_child("a"), supervision_errc::child_running);
  EXPECT_FALSE(sup.stop_child("a"));
  EXPECT_EQ(sup.add_child(probe_child("a", log)).error(), supervision_errc::already_present);
  EXPECT_FALSE(sup.remove_child("a"));
  EXPECT_EQ(sup.stop_child("nope"), supervision_errc::child_not_found);
  EXPECT_EQ(sup.stop_child(c->actor), supervision_errc::child_not_found); // by id only
  EXPECT_EQ(sup.start_child(caf::make_message(1)).error(), supervision_errc::not_supported);
  EXPECT_EQ(log->since(mark),
            (strings{"stop:a", "start:a", "stop:b", "start:b", "start:c", "stop:a"}));
  auto children = sup.which_children().value();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "b");
  EXPECT_EQ(children[1].id, "c");
  EXPECT_EQ(children[0].restarts, 0u); // manual restarts are not counted
  EXPECT_FALSE(sup.stop());
  EXPECT_EQ(sup.which_children().error(), caf::sec::request_receiver_down);
}

TEST_F(supervisor_test, DynamicSupervisorStartsChildrenFromItsTemplateWithArguments) {
  auto seen = std::make_shared<std::atomic<int>>(0);
  troupe::child_spec tpl = probe_child("conn", log, restart_type::temporary);
  auto start_probe = tpl.start;
  tpl.start = [seen, start_probe](const troupe::child_context& ctx) {
    if (ctx.args.match_elements<int>())
      seen->fetch_add(ctx.args.get_as<int>(0));
    return start_probe(ctx);
  };
  troupe::supervisor_spec spec;
  spec.strategy = restart_strategy::dynamic;
  spec.children = {tpl};
  auto sup = troupe::start_supervisor(*rt, std::move(spec)).value();
  EXPECT_TRUE(sup.which_children().value().empty());
  auto c1 = sup.start_child(caf::make_message(10)).value().actor;
  auto c2 = sup.start_child(caf::make_message(32)).value().actor;
  EXPECT_EQ(seen->load(), 42);
  auto children = sup.which_children().value();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "conn#1");
  EXPECT_EQ(children[1].id, "conn#2");
  EXPECT_FALSE(sup.stop_child(c1));
  EXPECT_EQ(sup.which_children().value().size(), 1u);
  EXPECT_EQ(sup.add_child(probe_child("x", log)).error(), supervision_errc::not_supported);
  EXPECT_FALSE(sup.stop());
  EXPECT_EQ(log->events().back(), "stop:conn#2");
}

// -- cancellation ---------------------------------------------------------------------------

TEST_F(supervisor_test, StoppingAChildFiresItsTokenSoABlockingJobEnds) {
  auto job = std::make_shared<std::optional<troupe::blocking_future<bool>>>();
  troupe::child_spec worker = probe_child("worker", log);
  auto start_probe = worker.start;
  worker.start = [job, start_probe](const troupe::child_context& ctx) {
    auto token = ctx.token;
    job->emplace(ctx.rt.spawn_blocking([token] { return token.wait_for(60s); }));
    return start_probe(ctx);
  };
  auto sup = start(restart_strategy::one_for_one, {worker});
  EXPECT_FALSE(sup.stop_child("worker"));
  auto cancelled = (*job)->get(10s);
  ASSERT_TRUE(cancelled) << troupe::render(cancelled.error());
  EXPECT_TRUE(*cancelled);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_test, RequestsInFlightToAStoppingChildAreAllAnswered) {
  struct slow_job {
    using reply_type = int;
    int n;
  };
  auto mb_slot = std::make_shared<std::optional<troupe::mailbox<slow_job>>>();
  troupe::child_spec server;
  server.id = "server";
  server.start = [mb_slot](const troupe::child_context& ctx) -> troupe::started_child {
    auto mb = troupe::spawn_mailbox<slow_job>(
        ctx.rt, {}, [](auto*) { return troupe::handlers{[](slow_job& j) { return j.n; }}; });
    if (mb)
      *mb_slot = *mb;
    return mb;
  };
  auto sup = start(restart_strategy::one_for_one, {server});
  auto mb = **mb_slot;
  constexpr int n = 2000;
  // Ask from outside while the stop is under way: each request is answered, by the handler
  // or by the closing mailbox with receiver_dead, never left hanging.
  std::thread stopper{[&] { EXPECT_FALSE(sup.stop_child("server")); }};
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    auto r = troupe::ask(mb, slow_job{i}, 10s);
    if (r || r.error() == troupe::mailbox_errc::receiver_dead)
      ++answered;
    else
      ADD_FAILURE() << troupe::render(r.error());
  }
  stopper.join();
  EXPECT_EQ(answered, n);
  EXPECT_FALSE(sup.stop());
}

// -- pure parts -----------------------------------------------------------------------------

TEST(restart_window, AllowsIntensityRestartsWithinThePeriodAndNoMore) {
  troupe::detail::restart_window window{2, 1000ms};
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_TRUE(window.record(t0));
  EXPECT_TRUE(window.record(t0 + 100ms));
  EXPECT_FALSE(window.record(t0 + 200ms)); // third within 1 s
}

TEST(restart_window, ForgetsRestartsOlderThanThePeriod) {
  troupe::detail::restart_window window{2, 1000ms};
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_TRUE(window.record(t0));
  EXPECT_TRUE(window.record(t0 + 600ms));
  EXPECT_TRUE(window.record(t0 + 1100ms));  // t0 left the window
  EXPECT_FALSE(window.record(t0 + 1200ms)); // 600, 1100, 1200 are within 1 s
  for (int i = 0; i < 1000; ++i)            // a steady trickle never trips it
    EXPECT_TRUE(window.record(t0 + 10s + i * 600ms));
}

// A huge intensity with a short period (a pool whose crashes are expected) used to keep every
// restart time up to intensity + 1 of them: 8 bytes per restart, forever.
TEST(restart_window, KeepsOnlyTheRestartsOfOnePeriod) {
  troupe::detail::restart_window window{1'000'000'000, 1ms};
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  for (int i = 0; i < 100'000; ++i)
    ASSERT_TRUE(window.record(t0 + i * 2ms));
  EXPECT_EQ(window.size(), 1u);
  for (int i = 0; i < 10; ++i) // ten within one period: all kept
    ASSERT_TRUE(window.record(t0 + 1h + i * 50us));
  EXPECT_EQ(window.size(), 10u);
}

TEST(restart_window, ZeroIntensityAllowsNoRestart) {
  troupe::detail::restart_window window{0, 1000ms};
  EXPECT_FALSE(window.record(std::chrono::steady_clock::now()));
}

TEST(restart_decision, FollowsOtpRestartTypes) {
  using troupe::detail::should_restart;
  auto crash = troupe::make_error(troupe::mailbox_errc::handler_threw);
  caf::error normal = caf::exit_reason::normal;
  caf::error shutdown = caf::exit_reason::user_shutdown;
  EXPECT_TRUE(should_restart(restart_type::permanent, normal));
  EXPECT_TRUE(should_restart(restart_type::permanent, crash));
  EXPECT_FALSE(should_restart(restart_type::transient, normal));
  EXPECT_FALSE(should_restart(restart_type::transient, shutdown));
  EXPECT_TRUE(should_restart(restart_type::transient, crash));
  EXPECT_TRUE(should_restart(restart_type::transient, caf::exit_reason::kill));
  EXPECT_FALSE(should_restart(restart_type::temporary, crash));
}

TEST(backoff, GrowsExponentiallyUpToTheCapWithJitter) {
  troupe::backoff_policy policy;
  policy.initial_delay = 100ms;
  policy.max_delay = 1000ms;
  policy.multiplier = 2.0;
  policy.jitter = 0.5;
  using troupe::detail::backoff_delay;
  EXPECT_EQ(backoff_delay(policy, 1, 0.5), 100ms);
  EXPECT_EQ(backoff_delay(policy, 2, 0.5), 200ms);
  EXPECT_EQ(backoff_delay(policy, 4, 0.5), 800ms);
  EXPECT_EQ(backoff_delay(policy, 10, 0.5), 1000ms);
  EXPECT_EQ(backoff_delay(policy, 1, 0.0), 50ms);
  EXPECT_EQ(backoff_delay(policy, 1, 1.0), 150ms);
}

TEST_F(supervisor_test, BackoffDelaysTheRestartOfACrashingChild) {
  auto spec = probe_child("b", log);
  spec.backoff.emplace();
  spec.backoff->initial_delay = 60'000ms;
  spec.backoff->max_delay = 60'000ms;
  auto sup = start(restart_strategy::one_for_one, {spec});
  auto mark = log->size();
  crash(sup, "b");
  ASSERT_TRUE(log->wait_for_size(mark + 1));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return child(sup, "b").state == child_state::restarting; }));
  EXPECT_EQ(log->since(mark), (strings{"stop:b"}));
  // A manual start does not wait for the backoff.
  EXPECT_FALSE(sup.start_child("b"));
  EXPECT_EQ(child(sup, "b").state, child_state::running);
  EXPECT_FALSE(sup.stop());
}

TEST(cancellation_token, ChildTokensFollowTheirParentOnly) {
  troupe::cancellation_token parent;
  auto kid = parent.child();
  int fired = 0;
  auto reg = kid.on_cancel([&] { ++fired; });
  kid.child().cancel(); // a grandchild does not cancel upward
  EXPECT_FALSE(kid.is_cancelled());
  parent.cancel();
  EXPECT_TRUE(kid.is_cancelled());
  EXPECT_EQ(fired, 1);
  parent.cancel();
  EXPECT_EQ(fired, 1);
  int late = 0;
  auto reg2 = kid.on_cancel([&] { ++late; }); // already cancelled: runs at once
  EXPECT_EQ(late, 1);
}

TEST(cancellation_token, DroppedRegistrationDoesNotRun) {
  troupe::cancellation_token token;
  int fired = 0;
  {
    auto reg = token.on_cancel([&] { ++fired; });
  }
  token.cancel();
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(token.wait_for(0ms));
}

// As std::stop_callback: a registration dropped on one thread while cancel() runs its callback
// on another returns only once the callback returned, so the callback never uses what its
// owner freed after dropping the registration.
TEST(cancellation_token, DroppingARegistrationWaitsForItsRunningCallback) {
  troupe::cancellation_token token;
  std::promise<void> entered;
  std::promise<void> release;
  std::atomic<bool> callback_returned{false};
  auto reg = std::make_unique<troupe::cancellation_token::registration>(token.on_cancel([&] {
    entered.set_value();
    release.get_future().wait();
    callback_returned = true;
  }));
  std::thread canceller{[&] { token.cancel(); }};
  entered.get_future().wait();
  std::promise<bool> returned_when_dropped;
  auto dropped = returned_when_dropped.get_future();
  std::thread dropper{[&] {
    reg.reset();
    returned_when_dropped.set_value(callback_returned.load());
  }};
  // The dropper must still be waiting: if it returned already, it did not wait. (A slow
  // dropper thread only delays the check; it cannot make the test fail.)
  EXPECT_EQ(dropped.wait_for(100ms), std::future_status::timeout)
      << "the registration was dropped while its callback was still running";
  release.set_value();
  EXPECT_TRUE(dropped.get());
  dropper.join();
  canceller.join();
}

// A callback may drop its own registration (and the child token's link does, when the child's
// state goes with the callback): that must not wait for itself.
TEST(cancellation_token, ACallbackMayDropItsOwnRegistration) {
  troupe::cancellation_token token;
  std::optional<troupe::cancellation_token::registration> reg;
  int fired = 0;
  reg.emplace(token.on_cancel([&] {
    ++fired;
    reg.reset();
  }));
  token.cancel();
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(reg.has_value());
}

// A throwing callback leaves cancel() with its exception; a registration of a callback that
// never ran can still be dropped, and the token stays cancelled.
TEST(cancellation_token, AThrowingCallbackLeavesTheTokenUsable) {
  troupe::cancellation_token token;
  std::vector<troupe::cancellation_token::registration> regs;
  regs.push_back(token.on_cancel([] { throw std::runtime_error("callback failed"); }));
  regs.push_back(token.on_cancel([] {}));
  EXPECT_THROW(token.cancel(), std::runtime_error);
  EXPECT_TRUE(token.is_cancelled());
  regs.clear(); // must not wait for the callback that threw
  SUCCEED();
}

} // namespace
