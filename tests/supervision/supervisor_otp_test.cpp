// Supervisor semantics checked against OTP's supervisor.erl: group restarts that fail and are
// retried, counts, validation, declined children, the answers of run-time commands, typed start
// errors, get_childspec, a supervisor-level init and a child start's extra information.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "supervision/probe.hpp"
#include "supervision/supervisor_fixture.hpp"
#include "support/heap_in_use.hpp"
#include "support/runtime_fixture.hpp"
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

/// A probe whose starts fail while `failures` is above zero (each failed start takes one and
/// logs "start_failed:<id>"); failures < 0 fails every start.
troupe::child_spec failing_child(std::string id, std::shared_ptr<event_log> log,
                                 std::shared_ptr<std::atomic<int>> failures) {
  auto spec = probe_child(std::move(id), log);
  auto start_probe = spec.start;
  spec.start = [log, failures, start_probe](const troupe::child_context& ctx) {
    auto n = failures->load();
    if (n < 0 || (n > 0 && failures->compare_exchange_strong(n, n - 1))) {
      log->add("start_failed:" + ctx.id);
      return troupe::started_child{troupe::make_error(troupe::runtime_errc::blocking_queue_full)};
    }
    return start_probe(ctx);
  };
  return spec;
}

class supervisor_otp_test : public troupe::test::supervisor_fixture {
protected:
  static std::vector<std::size_t> counts(const troupe::supervisor& sup) {
    auto c = sup.count_children().value();
    return {c.specs, c.active, c.supervisors, c.workers};
  }
};

using sizes = std::vector<std::size_t>;

// -- group restarts (issue items 1 and 2) ---------------------------------------------------

TEST_F(supervisor_otp_test, OneForAllRetriesAFailedRestartAsAGroupRestart) {
  auto failures = std::make_shared<std::atomic<int>>(0);
  auto sup = start(restart_strategy::one_for_all,
                   {probe_child("c1", log), failing_child("c2", log, failures)});
  failures->store(1); // c2's next start fails once
  auto mark = log->size();
  caf::anon_send(child(sup, "c1").actor, crash_atom::value);
  ASSERT_TRUE(log->wait_for_size(mark + 7));
  EXPECT_EQ(log->since(mark), (strings{"stop:c1", "stop:c2", "start:c1", "start_failed:c2",
                                       "stop:c1", "start:c1", "start:c2"}));
  ASSERT_TRUE(troupe::test::eventually([&] { return counts(sup) == sizes{2, 2, 0, 2}; }));
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_otp_test, RestForOneKeepsLaterChildrenStoppedWhileAnEarlierOneRestarts) {
  auto failures = std::make_shared<std::atomic<int>>(0);
  auto sup =
      start(restart_strategy::rest_for_one,
            {probe_child("c0", log), failing_child("c2", log, failures), probe_child("c3", log)},
            /*intensity=*/1'000'000'000);
  failures->store(-1); // every start of c2 fails until released
  auto mark = log->size();
  caf::anon_send(child(sup, "c2").actor, crash_atom::value);
  ASSERT_TRUE(log->wait_for_size(mark + 3)); // stop:c2, stop:c3, start_failed:c2
  ASSERT_TRUE(
      troupe::test::eventually([&] { return child(sup, "c2").state == child_state::restarting; }));
  for (int i = 0; i < 5; ++i) { // whenever asked while c2 retries: c3 stays stopped
    EXPECT_EQ(child(sup, "c3").state, child_state::terminated);
    EXPECT_EQ(counts(sup), (sizes{3, 1, 0, 3}));
  }
  failures->store(0);
  ASSERT_TRUE(troupe::test::eventually([&] { return counts(sup) == sizes{3, 3, 0, 3}; }));
  auto events = log->since(mark);
  EXPECT_EQ(events.back(), "start:c3");
  EXPECT_EQ(events[events.size() - 2], "start:c2");
  EXPECT_EQ(std::count(events.begin(), events.end(), "start:c3"), 1);
  EXPECT_FALSE(sup.stop());
}

// -- counts, validation, declined children (items 3, 4, 5) ----------------------------------

TEST_F(supervisor_otp_test, DynamicCountChildrenCountsTheTemplateAsTheOneSpec) {
  auto sup = start(restart_strategy::dynamic, {probe_child("d", log)});
  EXPECT_EQ(counts(sup), (sizes{1, 0, 0, 0}));
  ASSERT_TRUE(sup.start_child());
  ASSERT_TRUE(sup.start_child());
  EXPECT_EQ(counts(sup), (sizes{1, 2, 0, 2}));
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_otp_test, AddChildValidatesAsStartSupervisorDoes) {
  auto bad = probe_child("neg", log);
  bad.shutdown = std::chrono::milliseconds{-5};
  troupe::supervisor_spec spec;
  spec.children = {bad};
  auto at_start = troupe::start_supervisor(*rt, spec);
  ASSERT_FALSE(at_start);
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)});
  auto at_run_time = sup.add_child(bad);
  ASSERT_FALSE(at_run_time);
  EXPECT_EQ(at_run_time.error(), supervision_errc::invalid_spec);
  EXPECT_EQ(troupe::render(at_run_time.error()), troupe::render(at_start.error()));
  auto bad_backoff = probe_child("b", log);
  bad_backoff.backoff.emplace();
  bad_backoff.backoff->multiplier = 0.5;
  EXPECT_EQ(sup.add_child(bad_backoff).error(), supervision_errc::invalid_spec);
  EXPECT_EQ(sup.which_children().value().size(), 1u);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_otp_test, ADeclinedTemporaryChildIsNotKept) {
  auto declining = [](std::string id, restart_type restart) {
    troupe::child_spec spec;
    spec.id = std::move(id);
    spec.restart = restart;
    spec.start = [](const troupe::child_context&) { return troupe::started_child::ignore(); };
    return spec;
  };
  auto sup = start(restart_strategy::one_for_one,
                   {declining("tmp", restart_type::temporary),
                    declining("perm", restart_type::permanent), probe_child("a", log)});
  auto children = sup.which_children().value();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].id, "perm"); // a declined permanent child stays, not running
  EXPECT_EQ(children[0].state, child_state::terminated);
  auto added = sup.add_child(declining("tmp2", restart_type::temporary));
  ASSERT_TRUE(added) << troupe::render(added.error());
  EXPECT_FALSE(added->actor);
  EXPECT_EQ(sup.which_children().value().size(), 2u);
  EXPECT_EQ(sup.get_childspec("tmp2").error(), supervision_errc::child_not_found);
  EXPECT_FALSE(sup.stop());
}

// -- run-time commands (item 6) -------------------------------------------------------------

TEST_F(supervisor_otp_test, CommandsOnAChildWaitingForItsRestartAnswerRestarting) {
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto spec = probe_child("b", log);
  auto start_probe = spec.start;
  spec.start = [starts, start_probe](const troupe::child_context& ctx) {
    starts->fetch_add(1);
    return start_probe(ctx);
  };
  spec.backoff.emplace();
  spec.backoff->initial_delay = 60'000ms; // stays restarting for the whole test
  spec.backoff->max_delay = 60'000ms;
  auto sup = start(restart_strategy::one_for_one, {spec});
  caf::anon_send(child(sup, "b").actor, crash_atom::value);
  ASSERT_TRUE(
      troupe::test::eventually([&] { return child(sup, "b").state == child_state::restarting; }));
  EXPECT_EQ(sup.restart_child("b"), supervision_errc::restarting);
  EXPECT_EQ(sup.remove_child("b"), supervision_errc::restarting);
  EXPECT_EQ(starts->load(), 1); // answered at once, without a start attempt
  EXPECT_EQ(sup.add_child(probe_child("b", log)).error(), supervision_errc::already_present);
  EXPECT_FALSE(sup.stop_child("b")); // cancels the pending restart
  EXPECT_EQ(child(sup, "b").state, child_state::terminated);
  EXPECT_FALSE(sup.restart_child("b"));
  EXPECT_EQ(child(sup, "b").state, child_state::running);
  EXPECT_EQ(starts->load(), 2);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_otp_test, DynamicSupervisorNamesChildrenByActorOnly) {
  auto sup = start(restart_strategy::dynamic, {probe_child("d", log, restart_type::temporary)});
  auto c1 = sup.start_child().value().actor;
  ASSERT_TRUE(c1);
  EXPECT_EQ(sup.stop_child("d"), supervision_errc::not_supported);
  EXPECT_EQ(sup.stop_child("d#1"), supervision_errc::not_supported);
  EXPECT_EQ(sup.restart_child("d#1"), supervision_errc::not_supported);
  EXPECT_EQ(sup.remove_child("d#1"), supervision_errc::not_supported);
  EXPECT_EQ(sup.start_child("d#1"), supervision_errc::not_supported);
  EXPECT_FALSE(sup.stop_child(c1));
  EXPECT_FALSE(sup.stop_child(c1)); // gone already: ok, as OTP
  auto stranger = rt->spawn<troupe::test::probe_actor>(log, std::string{"stranger"},
                                                       troupe::test::probe_options{});
  EXPECT_EQ(sup.stop_child(stranger), supervision_errc::child_not_found);
  caf::anon_send_exit(stranger, caf::exit_reason::user_shutdown);
  EXPECT_EQ(counts(sup), (sizes{1, 0, 0, 0}));
  EXPECT_FALSE(sup.stop());
}

// -- typed start errors (item 7) ------------------------------------------------------------

TEST_F(supervisor_otp_test, StartErrorsKeepTheFactorysTypedReason) {
  auto always = std::make_shared<std::atomic<int>>(-1);
  auto dyn = start(restart_strategy::dynamic, {failing_child("d", log, always)});
  auto child = dyn.start_child();
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error(), supervision_errc::start_failed);
  EXPECT_EQ(troupe::start_failure_reason(child.error()), troupe::runtime_errc::blocking_queue_full);
  EXPECT_NE(troupe::render(child.error()).find("d#1"), std::string::npos);
  EXPECT_FALSE(dyn.stop());

  troupe::supervisor_spec spec;
  spec.children = {failing_child("s", log, always)};
  auto sup = troupe::start_supervisor(*rt, spec);
  ASSERT_FALSE(sup);
  EXPECT_EQ(troupe::start_failure_reason(sup.error()), troupe::runtime_errc::blocking_queue_full);
  // A nested supervisor's failure nests: the parent's reason is the child supervisor's error.
  troupe::supervisor_spec outer;
  outer.children = {troupe::supervisor_child("inner", spec)};
  auto nested = troupe::start_supervisor(*rt, outer);
  ASSERT_FALSE(nested);
  auto inner_reason = troupe::start_failure_reason(nested.error());
  EXPECT_EQ(inner_reason, supervision_errc::start_failed);
  EXPECT_EQ(troupe::start_failure_reason(inner_reason), troupe::runtime_errc::blocking_queue_full);
}

// -- get_childspec, init, extra start information (item 8) -----------------------------------

TEST_F(supervisor_otp_test, GetChildspecReturnsTheSpecById) {
  auto spec = probe_child("a", log, restart_type::transient);
  spec.shutdown = 1234ms;
  auto sup = start(restart_strategy::one_for_one, {spec});
  auto got = sup.get_childspec("a");
  ASSERT_TRUE(got) << troupe::render(got.error());
  EXPECT_EQ(got->id, "a");
  EXPECT_EQ(got->restart, restart_type::transient);
  EXPECT_EQ(got->shutdown.deadline(), 1234ms);
  EXPECT_EQ(sup.get_childspec("nope").error(), supervision_errc::child_not_found);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_otp_test, InitCanChangeTheSpecDeclineOrFail) {
  troupe::supervisor_spec spec;
  spec.init = [l = log](troupe::supervisor_spec& s) -> caf::error {
    s.children = {probe_child("from_init", l)};
    return caf::none;
  };
  auto sup = troupe::start_supervisor(*rt, spec);
  ASSERT_TRUE(sup) << troupe::render(sup.error());
  EXPECT_EQ(log->events(), (strings{"start:from_init"}));
  EXPECT_FALSE(sup->stop());

  troupe::supervisor_spec declining;
  declining.init = [](troupe::supervisor_spec&) {
    return troupe::make_error(supervision_errc::ignored);
  };
  EXPECT_EQ(troupe::start_supervisor(*rt, declining).error(), supervision_errc::ignored);
  // Nested, a declining supervisor is an ignored child: the parent starts, the entry stays.
  auto parent = start(restart_strategy::one_for_one,
                      {troupe::supervisor_child("off", declining), probe_child("p", log)});
  EXPECT_EQ(child(parent, "off").state, child_state::terminated);
  EXPECT_EQ(child(parent, "p").state, child_state::running);
  EXPECT_FALSE(parent.stop());

  troupe::supervisor_spec failing;
  failing.init = [](troupe::supervisor_spec&) {
    return troupe::make_error(troupe::runtime_errc::cancelled);
  };
  EXPECT_EQ(troupe::start_supervisor(*rt, failing).error(), troupe::runtime_errc::cancelled);
}

TEST_F(supervisor_otp_test, AChildStartCanReturnExtraInformation) {
  auto with_info = [l = log](std::string id) {
    auto spec = probe_child(std::move(id), l);
    auto start_probe = spec.start;
    spec.start = [start_probe](const troupe::child_context& ctx) {
      auto started = start_probe(ctx);
      return troupe::started_child::with_info(started.actor(),
                                              caf::make_message(std::string{"port"}, 8080));
    };
    return spec;
  };
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)});
  auto added = sup.add_child(with_info("b"));
  ASSERT_TRUE(added) << troupe::render(added.error());
  ASSERT_TRUE((added->info.match_elements<std::string, int>()));
  EXPECT_EQ(added->info.get_as<int>(1), 8080);
  EXPECT_FALSE(sup.stop());
  auto dyn = start(restart_strategy::dynamic, {with_info("d")});
  auto started = dyn.start_child();
  ASSERT_TRUE(started) << troupe::render(started.error());
  EXPECT_TRUE(started->actor);
  EXPECT_EQ(started->info.get_as<int>(1), 8080);
  EXPECT_FALSE(dyn.stop());
}

} // namespace

// -- exits: giving up, linked actors, a failed start's cleanup -------------------------------

TEST_F(supervisor_otp_test, ASupervisorThatGivesUpExitsWithShutdownSoATransientParentLeavesIt) {
  troupe::supervisor_spec inner;
  inner.name = "inner";
  inner.intensity = 0; // the first crash below is one restart too many
  inner.children = {probe_child("leaf", log)};
  auto outer = start(restart_strategy::one_for_one,
                     {troupe::supervisor_child("inner", inner, restart_type::transient),
                      probe_child("sibling", log)},
                     /*intensity=*/5, "outer");
  auto inner_sup = troupe::supervisor{*rt, child(outer, "inner").actor};
  caf::anon_send(child(inner_sup, "leaf").actor, crash_atom::value);
  auto reason = inner_sup.await_exit(10s);
  ASSERT_TRUE(reason);
  // OTP's `shutdown`: an orderly exit, which a transient child is not restarted for.
  EXPECT_TRUE(exited_giving_up(*reason)) << troupe::render(*reason);
  ASSERT_TRUE(troupe::test::eventually(
      [&] { return child(outer, "inner").state == child_state::terminated; }));
  auto row = child(outer, "inner");
  EXPECT_EQ(row.restarts, 0u);
  EXPECT_FALSE(row.actor);
  EXPECT_EQ(child(outer, "sibling").state, child_state::running);
  EXPECT_FALSE(outer.stop());
}

TEST_F(supervisor_otp_test, TheEndOfALinkedActorLeavesTheSupervisorRunning) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)});
  auto a = child(sup, "a").actor;
  // An actor that links itself to the supervisor and then crashes: OTP's supervisor ignores
  // the exit of a process that is neither its parent nor its child.
  auto linked = rt->spawn([sup_actor = sup.actor()](caf::event_based_actor* self) -> caf::behavior {
    return {[self, sup_actor](crash_atom) {
      self->link_to(sup_actor);
      self->quit(troupe::make_error(troupe::mailbox_errc::handler_threw, std::string{"boom"}));
    }};
  });
  // Monitored before it links: CAF tells the newest attachment first, so the supervisor has
  // the link's exit message in its mailbox by the time the watch sees the end.
  troupe::test::exit_watch watch{sys(), linked};
  caf::anon_send(linked, crash_atom::value);
  EXPECT_EQ(watch.exit_reason(), troupe::mailbox_errc::handler_threw);
  // The supervisor handled that exit message first and still answers, its child untouched.
  auto row = child(sup, "a");
  EXPECT_EQ(row.state, child_state::running);
  EXPECT_EQ(row.actor, a);
  // Nor does a live linked actor's own exit message.
  caf::scoped_actor linked_self{sys()};
  linked_self->link_to(sup.actor());
  linked_self->send_exit(sup.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(child(sup, "a").state, child_state::running);
  // An exit message from an actor that is not linked to it is a stop request.
  caf::scoped_actor self{sys()};
  self->send_exit(sup.actor(), caf::exit_reason::user_shutdown);
  auto reason = sup.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, caf::exit_reason::user_shutdown);
  EXPECT_EQ(log->events(), (strings{"start:a", "stop:a"}));
}

TEST_F(supervisor_otp_test, LinkedActorsThatEndNormallyLeaveNothingBehindInTheSupervisor) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)});
  // Each actor links itself to the supervisor and ends normally: the supervisor must let go of
  // it (a record of the link would keep the ended actor's memory for the supervisor's life).
  auto link_and_end = [&](int count) {
    for (int i = 0; i < count; ++i) {
      auto linked =
          rt->spawn([sup_actor = sup.actor()](caf::event_based_actor* self) -> caf::behavior {
            return {[self, sup_actor](finish_atom) {
              self->link_to(sup_actor);
              self->quit();
            }};
          });
      // Monitored before it links: the supervisor has the exit message when the watch sees
      // the end (CAF tells the newest attachment first).
      troupe::test::exit_watch watch{sys(), linked};
      caf::anon_send(linked, finish_atom::value);
      ASSERT_FALSE(watch.exit_reason());
    }
    (void)child(sup, "a"); // a round trip: every exit message before it is handled
  };
  link_and_end(50); // warms the allocator and the registry's tables
  auto before = troupe::test::heap_in_use();
  constexpr int actors = 500;
  link_and_end(actors);
  auto per_actor = (troupe::test::heap_in_use() - before) / actors;
  EXPECT_LT(per_actor, 256) << per_actor << " bytes per ended linked actor";
  EXPECT_EQ(child(sup, "a").state, child_state::running);
  EXPECT_FALSE(sup.stop());
}

TEST_F(supervisor_otp_test, AStopWhoseWaitTimedOutStillStopsTheSupervisor) {
  auto sup = start(restart_strategy::one_for_one, {probe_child("a", log)});
  (void)sup.stop(0ms); // gives up waiting at once; the request stands
  auto reason = sup.await_exit(10s);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, caf::exit_reason::user_shutdown);
  EXPECT_EQ(log->events(), (strings{"start:a", "stop:a"}));
}

TEST_F(supervisor_otp_test, AFailedStartStopsTheStartedChildrenByTheirShutdownPolicyFirst) {
  // a ignores the request to stop: only its deadline's kill ends it. OTP's init_children
  // stops it (exit, then kill at the deadline) before the start fails.
  auto a = probe_child("a", log, restart_type::permanent, {.stubborn = true});
  a.shutdown = 100ms;
  troupe::child_spec broken;
  broken.id = "broken";
  broken.start = [](const troupe::child_context&) -> troupe::started_child {
    throw std::runtime_error("no database");
  };
  troupe::supervisor_spec spec;
  spec.children = {probe_child("z", log), a, broken, probe_child("c", log)};
  auto sup = troupe::start_supervisor(*rt, std::move(spec));
  ASSERT_FALSE(sup);
  EXPECT_EQ(sup.error(), supervision_errc::start_failed);
  // Both were stopped, last first, when the start returned.
  EXPECT_EQ(log->events(), (strings{"start:z", "start:a", "stop:a", "stop:z"}));
}

TEST_F(supervisor_otp_test, StoppingADynamicChildWaitingForItsRestartDeletesIt) {
  auto spec = probe_child("d", log);
  spec.backoff.emplace();
  spec.backoff->initial_delay = 60'000ms; // stays restarting for the whole test
  spec.backoff->max_delay = 60'000ms;
  auto sup = start(restart_strategy::dynamic, {spec});
  auto first = sup.start_child().value().actor;
  ASSERT_TRUE(first);
  caf::anon_send(first, crash_atom::value);
  ASSERT_TRUE(troupe::test::eventually([&] {
    auto rows = sup.which_children().value();
    return rows.size() == 1 && rows[0].state == child_state::restarting;
  }));
  // OTP's restarting(Pid): the ended instance still names the child.
  EXPECT_FALSE(sup.stop_child(first));
  EXPECT_TRUE(sup.which_children().value().empty());
  EXPECT_EQ(counts(sup), (sizes{1, 0, 0, 0}));
  EXPECT_EQ(log->events(), (strings{"start:d#1", "stop:d#1"}));
  EXPECT_FALSE(sup.stop());
}
