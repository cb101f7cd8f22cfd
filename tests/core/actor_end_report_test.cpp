// How the runtime learns that an actor it spawned ended: a Troupe actor (spawn_actor,
// spawn_mailbox) tells the runtime itself, after CAF has told its links and monitors; any other
// actor gets an object attached to it that does the same. Either way the end is published once
// (actor.exited, with the reason), and the actor leaves the topology and the count shutdown
// waits on.

#include <algorithm>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/event_recorder.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

struct stop_now {};

class actor_end_report_test : public troupe::test::runtime_fixture {
protected:
  // Drops `handle`, waits until nothing holds the actor any more (all of its own code, its
  // cleanup included, has run), and returns the actor.exited events published for it.
  std::vector<troupe::event> exits_once_gone(caf::actor handle, troupe::test::event_recorder& log) {
    auto id = handle.id();
    auto addr = handle.address();
    handle = nullptr;
    EXPECT_TRUE(troupe::test::eventually([&] {
      return caf::actor_cast<caf::strong_actor_ptr>(addr) == nullptr;
    })) << "actor "
        << id << " is still held";
    std::vector<troupe::event> exits;
    for (auto& e : log.all())
      if (e.kind == troupe::event_kinds::actor_exited && e.actor == id)
        exits.push_back(e);
    EXPECT_FALSE(rt->registry().contains(id)) << "actor " << id << " is still registered";
    return exits;
  }

  static bool mentions(const troupe::event& e, std::string_view what) {
    return e.text.find(what) != std::string::npos;
  }
};

TEST_F(actor_end_report_test, ATroupeActorReportsItsOwnEndOnceWithItsReason) {
  troupe::test::event_recorder log{rt->events(), troupe::event_level::info};
  auto before = rt->metrics().spawned_actors;
  auto a = troupe::spawn_actor(*rt, "ender", [](troupe::actor* self) {
    self->quit(make_error(troupe::runtime_errc::job_failed, "disk"));
  });
  EXPECT_EQ(wait_for_exit(a), troupe::runtime_errc::job_failed);
  auto exits = exits_once_gone(std::move(a), log);
  ASSERT_EQ(exits.size(), 1u) << "published " << exits.size() << " times";
  EXPECT_EQ(exits[0].level, troupe::event_level::warning);
  EXPECT_EQ(exits[0].name, "ender");
  EXPECT_TRUE(mentions(exits[0], "job_failed")) << exits[0].text;
  EXPECT_EQ(rt->metrics().spawned_actors, before);
}

TEST_F(actor_end_report_test, ATypedMailboxReportsItsOwnEndOnceWhenItIsStopped) {
  troupe::test::event_recorder log{rt->events(), troupe::event_level::info};
  auto before = rt->metrics().spawned_actors;
  auto box = troupe::spawn_mailbox<stop_now>(*rt, {}, [](auto* self) {
               return troupe::handlers{[self](stop_now&) { self->quit(); }};
             }).value();
  EXPECT_EQ(rt->metrics().spawned_actors, before + 1);
  auto handle = box.actor();
  troupe::test::exit_watch watch{sys(), handle};
  ASSERT_TRUE(box.send(stop_now{}));
  EXPECT_EQ(watch.exit_reason(), caf::error{});
  box = {};
  auto exits = exits_once_gone(std::move(handle), log);
  ASSERT_EQ(exits.size(), 1u) << "published " << exits.size() << " times";
  EXPECT_EQ(exits[0].level, troupe::event_level::info);
  EXPECT_EQ(rt->metrics().spawned_actors, before);
}

TEST_F(actor_end_report_test, APlainCafActorsEndIsReportedOnceByWhatIsAttachedToIt) {
  troupe::test::event_recorder log{rt->events(), troupe::event_level::info};
  auto before = rt->metrics().spawned_actors;
  auto a = rt->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](caf::ok_atom) { self->quit(caf::exit_reason::user_shutdown); }};
  });
  troupe::test::exit_watch watch{sys(), a};
  caf::anon_send(a, caf::ok_atom::value);
  EXPECT_EQ(watch.exit_reason(), caf::exit_reason::user_shutdown);
  auto exits = exits_once_gone(std::move(a), log);
  ASSERT_EQ(exits.size(), 1u) << "published " << exits.size() << " times";
  EXPECT_TRUE(mentions(exits[0], "user_shutdown")) << exits[0].text;
  EXPECT_EQ(rt->metrics().spawned_actors, before);
}

// Shutdown waits for the count that both kinds of report bring down.
TEST_F(actor_end_report_test, ShutdownStopsTroupeActorsAndPlainOnesAndWaitsForBoth) {
  auto before = rt->metrics().spawned_actors;
  std::vector<troupe::mailbox<stop_now>> boxes;
  std::vector<caf::actor> plain;
  for (int i = 0; i < 20; ++i) {
    boxes.push_back(troupe::spawn_mailbox<stop_now>(*rt, {}, [](auto*) {
                      return troupe::handlers{[](stop_now&) {}};
                    }).value());
    plain.push_back(rt->spawn([] { return caf::behavior{[](int) {}}; }));
  }
  EXPECT_EQ(rt->metrics().spawned_actors, before + 40);
  auto report = rt->shutdown(5s);
  EXPECT_TRUE(report.clean());
  EXPECT_TRUE(report.forced.empty());
  EXPECT_EQ(rt->metrics().spawned_actors, 0u);
}

} // namespace
