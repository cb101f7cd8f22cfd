// The event stream: levels, sequence, subscription lifetime, throwing sinks, the logger, and
// the scheduler's own events (actor.spawned, actor.exited, dead_letter, worker.blocked).

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/event_recorder.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/introspection/event_log.hpp"
#include "troupe/runtime/runtime_event_kinds.hpp"

using namespace std::chrono_literals;
using namespace troupe;

namespace {

event make_event(event_level level, std::string_view kind = "test.event") {
  event e;
  e.level = level;
  e.kind = kind;
  e.text = "something happened";
  return e;
}

} // namespace

// -- the stream on its own ---------------------------------------------------------------------

TEST(EventStream, WithoutSubscriberWantsNothing) {
  event_stream events;
  for (auto level : {event_level::debug, event_level::info, event_level::notice,
                     event_level::warning, event_level::error})
    EXPECT_FALSE(events.wants(level)) << to_string(level);
  events.publish(make_event(event_level::error)); // nobody listens: nothing is numbered
  EXPECT_EQ(events.published(), 0u);
}

TEST(EventStream, SubscriberLevelDecidesWhatIsWantedAndDelivered) {
  event_stream events;
  std::vector<event_level> seen;
  {
    auto sub =
        events.subscribe([&](const event& e) { seen.push_back(e.level); }, event_level::warning);
    EXPECT_FALSE(events.wants(event_level::notice));
    EXPECT_TRUE(events.wants(event_level::warning));
    EXPECT_TRUE(events.wants(event_level::error));
    for (auto level :
         {event_level::debug, event_level::warning, event_level::info, event_level::error})
      events.publish(make_event(level));
  }
  EXPECT_EQ(seen, (std::vector{event_level::warning, event_level::error}));
  EXPECT_FALSE(events.wants(event_level::error)) << "the subscription's destructor unsubscribed";
}

TEST(EventStream, PublishNumbersEventsInOrderAndStampsTheTime) {
  event_stream events;
  std::vector<event> seen;
  auto sub = events.subscribe([&](const event& e) { seen.push_back(e); }, event_level::debug);
  auto before = std::chrono::system_clock::now();
  for (int i = 0; i < 3; ++i)
    events.publish(make_event(event_level::info));
  auto fixed = make_event(event_level::info);
  fixed.time = std::chrono::system_clock::time_point{std::chrono::seconds{1'700'000'000}};
  events.publish(fixed);
  ASSERT_EQ(seen.size(), 4u);
  for (std::size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i].sequence, i + 1);
  EXPECT_GE(seen[0].time, before);
  EXPECT_EQ(seen[3].time, fixed.time) << "a time that is set is kept";
  EXPECT_EQ(events.published(), 4u);
}

TEST(EventStream, ConcurrentPublishersDeliverStrictlyIncreasingSequences) {
  event_stream events;
  std::vector<std::uint64_t> seen; // written only by the delivery, one event at a time
  auto sub = events.subscribe([&](const event& e) { seen.push_back(e.sequence); });
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        events.publish(make_event(event_level::info));
    });
  for (auto& t : publishers)
    t.join();
  ASSERT_EQ(seen.size(), 2000u);
  for (std::size_t i = 0; i < seen.size(); ++i)
    ASSERT_EQ(seen[i], i + 1);
}

TEST(EventStream, ASinkIsNeverCalledAfterItsSubscriptionWasReset) {
  event_stream events;
  std::atomic<bool> stop{false};
  std::thread publisher{[&] {
    while (!stop.load())
      events.publish(make_event(event_level::info));
  }};
  std::atomic<int> late_calls{0};
  std::atomic<int> calls{0};
  for (int round = 0; round < 200; ++round) {
    auto reset_done = std::make_shared<std::atomic<bool>>(false);
    auto sub = events.subscribe([&, reset_done](const event&) {
      calls.fetch_add(1);
      if (reset_done->load())
        late_calls.fetch_add(1);
    });
    // Wait for one delivery (publishing is continuous), then unsubscribe under way.
    test::eventually([&] { return calls.load() > round; });
    sub.reset();
    reset_done->store(true);
  }
  stop.store(true);
  publisher.join();
  EXPECT_EQ(late_calls.load(), 0);
  EXPECT_FALSE(events.wants(event_level::debug));
}

TEST(EventStream, SubscribersComeAndGoWhilePublishersPublish) {
  event_stream events;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> delivered{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p)
    threads.emplace_back([&] {
      while (!stop.load())
        events.publish(make_event(event_level::notice));
    });
  std::atomic<int> churners_done{0};
  for (int c = 0; c < 2; ++c)
    threads.emplace_back([&, c] {
      for (int i = 0; i < 300; ++i) {
        auto level = (i + c) % 2 == 0 ? event_level::debug : event_level::warning;
        auto sub = events.subscribe([&](const event&) { delivered.fetch_add(1); }, level);
        if (i % 3 == 0)
          sub = events.subscribe([&](const event&) { delivered.fetch_add(1); });
      }
      churners_done.fetch_add(1);
    });
  ASSERT_TRUE(test::eventually([&] { return churners_done.load() == 2; }, 60s));
  stop.store(true);
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(events.wants(event_level::debug)) << "every subscription is gone";
}

TEST(EventStream, ASinkMayUnsubscribeItselfAndPublish) {
  event_stream events;
  std::vector<std::string> seen;
  event_subscription self_removing;
  self_removing = events.subscribe([&](const event& e) {
    seen.push_back("once:" + e.text);
    self_removing.reset(); // from inside the delivery: must not deadlock
  });
  auto echo = events.subscribe([&](const event& e) {
    seen.push_back("all:" + e.text);
    if (e.text == "first") {
      auto nested = make_event(event_level::info);
      nested.text = "nested";
      events.publish(nested); // delivered after "first" reached every sink
    }
  });
  auto first = make_event(event_level::info);
  first.text = "first";
  events.publish(first);
  EXPECT_EQ(seen, (std::vector<std::string>{"once:first", "all:first", "all:nested"}));
  EXPECT_EQ(events.published(), 2u);
}

TEST(EventStream, AThrowingSinkIsCountedAndOthersStillReceive) {
  event_stream events;
  int received = 0;
  auto thrower = events.subscribe([](const event&) { throw std::runtime_error{"sink broke"}; });
  auto counter = events.subscribe([&](const event&) { ++received; });
  testing::internal::CaptureStderr();
  events.publish(make_event(event_level::info));
  events.publish(make_event(event_level::info));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(received, 2);
  EXPECT_EQ(events.sink_failures(), 2u);
  EXPECT_NE(err.find("sink broke"), std::string::npos) << err;
  EXPECT_EQ(err.find("sink broke"), err.rfind("sink broke")) << "reported once: " << err;
}

TEST(EventStream, ASubscriptionMayOutliveItsStream) {
  event_subscription sub;
  {
    event_stream events;
    sub = events.subscribe([](const event&) {});
    EXPECT_TRUE(sub);
  }
  sub.reset(); // the stream is gone: nothing to do, no crash
  EXPECT_FALSE(sub);
}

// -- formats -------------------------------------------------------------------------------------

TEST(EventFormat, JsonIsOneFlatObjectWithTheFields) {
  event e = make_event(event_level::warning, "supervisor.child_restarted");
  e.sequence = 7;
  e.time = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'796'146'802'123}};
  e.actor = 42;
  e.name = "demo/jobs/worker-1";
  e.text = "restarted";
  e.fields = {{"restarts", 3}, {"kind", "shadowed"}};
  auto j = to_json(e);
  EXPECT_EQ(j.at("sequence"), 7);
  EXPECT_EQ(j.at("time"), "2026-12-01T17:40:02.123Z");
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("kind"), "supervisor.child_restarted");
  EXPECT_EQ(j.at("actor"), 42);
  EXPECT_EQ(j.at("name"), "demo/jobs/worker-1");
  EXPECT_EQ(j.at("text"), "restarted");
  EXPECT_EQ(j.at("restarts"), 3);
  EXPECT_EQ(j.at("fields.kind"), "shadowed") << "a field never overwrites the record";
}

TEST(EventFormat, TextIsOneLine) {
  event e = make_event(event_level::warning, "supervisor.child_restarted");
  e.time = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'796'146'802'123}};
  e.name = "demo/jobs/worker-1";
  e.text = "restarted (3 of 5 in 5s): handler_threw\nboom";
  EXPECT_EQ(to_text(e), "2026-12-01T17:40:02.123Z warning supervisor.child_restarted "
                        "demo/jobs/worker-1 restarted (3 of 5 in 5s): handler_threw boom");
}

TEST(EventFormat, LevelsRoundTripByName) {
  for (auto level : {event_level::debug, event_level::info, event_level::notice,
                     event_level::warning, event_level::error})
    EXPECT_EQ(parse_event_level(to_string(level)), level);
  EXPECT_EQ(parse_event_level("loud"), std::nullopt);
}

// -- the logger ----------------------------------------------------------------------------------

TEST(EventLog, WritesTextLinesAtItsLevel) {
  event_stream events;
  std::ostringstream out;
  {
    event_log log{events, out, event_format::text, event_level::notice};
    events.publish(make_event(event_level::info, "test.quiet"));
    events.publish(make_event(event_level::warning, "test.loud"));
    EXPECT_EQ(log.written(), 1u);
  }
  events.publish(make_event(event_level::error, "test.after")); // the log stopped
  auto text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find(" warning test.loud something happened\n"), std::string::npos) << text;
}

TEST(EventLog, WritesJsonLinesThatParse) {
  auto path = std::filesystem::temp_directory_path() /
              ("troupe-events-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  event_stream events;
  {
    auto log = event_log::open(events, path.string(), event_format::json, event_level::debug);
    ASSERT_TRUE(log) << render(log.error());
    for (int i = 0; i < 3; ++i) {
      auto e = make_event(event_level::debug, "test.line");
      e.fields = {{"i", i}};
      events.publish(e);
    }
    EXPECT_EQ(log.value()->written(), 3u);
  }
  std::ifstream in{path};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("kind"), "test.line");
    EXPECT_EQ(j.at("i"), n);
    EXPECT_EQ(j.at("sequence"), n + 1);
    ++n;
  }
  EXPECT_EQ(n, 3);
  std::filesystem::remove(path);
}

TEST(EventLog, AnUnwritableFileIsATypedError) {
  event_stream events;
  auto log = event_log::open(events, "/nonexistent-dir/events.log");
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().category(), runtime_error_category);
  EXPECT_EQ(log.error().code(), static_cast<uint8_t>(runtime_errc::io_failed));
  EXPECT_NE(render(log.error()).find("/nonexistent-dir/events.log"), std::string::npos);
  EXPECT_FALSE(events.wants(event_level::error)) << "a failed open subscribes nothing";
}

// -- the scheduler's events ----------------------------------------------------------------------

namespace {

struct named_state {
  static inline const char* name = "event-subject";
};

} // namespace

class SchedulerEvents : public test::runtime_fixture {};

TEST_F(SchedulerEvents, NoSubscriberMeansNothingIsWanted) {
  EXPECT_FALSE(rt->events().wants(event_level::debug));
  EXPECT_FALSE(rt->events().wants(event_level::error));
}

TEST_F(SchedulerEvents, SpawnAndNormalExitArePublished) {
  test::event_recorder log{rt->events()};
  auto a = rt->spawn([](caf::stateful_actor<named_state>* self) -> caf::behavior {
    return {[self](caf::ok_atom) { self->quit(); }};
  });
  auto id = a.id();
  caf::anon_send(a, caf::ok_atom::value);
  auto by_id = [id](const event& e) { return e.actor == id; };
  auto spawned = log.wait_for(event_kinds::actor_spawned, by_id);
  auto exited = log.wait_for(event_kinds::actor_exited, by_id);
  ASSERT_TRUE(spawned);
  ASSERT_TRUE(exited);
  EXPECT_EQ(spawned->level, event_level::debug);
  EXPECT_EQ(spawned->name, "event-subject");
  auto j = to_json(*exited);
  EXPECT_EQ(j.at("kind"), "actor.exited");
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("actor"), id);
  EXPECT_EQ(j.at("name"), "event-subject");
  EXPECT_EQ(j.at("normal"), true);
  EXPECT_LT(spawned->sequence, exited->sequence);
}

// The spawn event and the topology read an actor's name and kind through one helper each
// (actor_name, topology_registry::profile::shown_kind), so they cannot disagree: a plain actor
// is an "actor" in both, under the name it was given.
TEST_F(SchedulerEvents, TheSpawnEventShowsTheNameAndKindTheTopologyShows) {
  test::event_recorder log{rt->events()};
  auto a = rt->spawn([](caf::stateful_actor<named_state>* self) -> caf::behavior {
    return {[self](caf::ok_atom) { self->quit(); }};
  });
  auto id = a.id();
  auto spawned =
      log.wait_for(event_kinds::actor_spawned, [id](const event& e) { return e.actor == id; });
  ASSERT_TRUE(spawned);
  auto actors = rt->topology().at("actors");
  auto node = std::find_if(actors.begin(), actors.end(),
                           [id](const nlohmann::json& n) { return n.at("id") == id; });
  ASSERT_NE(node, actors.end()) << actors.dump(2);
  EXPECT_EQ(node->at("name"), "event-subject");
  EXPECT_EQ(node->at("kind"), "actor");
  auto j = to_json(*spawned);
  EXPECT_EQ(j.at("name"), node->at("name"));
  EXPECT_EQ(j.at("fields.kind"), node->at("kind")) << j;
  caf::anon_send(a, caf::ok_atom::value);
}

TEST_F(SchedulerEvents, AnAbnormalExitIsAWarningWithItsReason) {
  test::event_recorder log{rt->events(), event_level::info};
  auto a = rt->spawn([](caf::stateful_actor<named_state>* self) -> caf::behavior {
    return {[self](caf::ok_atom) { self->quit(make_error(runtime_errc::job_failed, "disk")); }};
  });
  auto id = a.id();
  caf::anon_send(a, caf::ok_atom::value);
  auto exited =
      log.wait_for(event_kinds::actor_exited, [id](const event& e) { return e.actor == id; });
  ASSERT_TRUE(exited);
  auto j = to_json(*exited);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("normal"), false);
  EXPECT_NE(j.at("reason").get<std::string>().find("job_failed"), std::string::npos) << j;
  EXPECT_TRUE(log.wait_for_count(event_kinds::actor_spawned, 1, 0ms).empty())
      << "debug events are not delivered to an info subscriber";
}

TEST_F(SchedulerEvents, DeadLettersArePublished) {
  test::event_recorder log{rt->events()};
  rt->dead_letters()->report(dead_letter{"jobs", "int", make_error(runtime_errc::cancelled)});
  auto e = log.wait_for(event_kinds::dead_letter);
  ASSERT_TRUE(e);
  auto j = to_json(*e);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("name"), "jobs");
  EXPECT_EQ(j.at("receiver"), "jobs");
  EXPECT_EQ(j.at("message_type"), "int");
  EXPECT_NE(j.at("reason").get<std::string>().find("cancelled"), std::string::npos);
}

namespace {

struct sleepy_state {
  static inline const char* name = "sleepy";
};

} // namespace

TEST(SchedulerEventsWatchdog, ABlockedWorkerIsPublished) {
  auto cfg = test::runtime_fixture::default_config();
  cfg.blocked_threshold = 50ms;
  runtime rt{cfg};
  test::event_recorder log{rt.events()};
  auto release = std::make_shared<std::latch>(1);
  auto sleepy = rt.spawn([release](caf::stateful_actor<sleepy_state>* self) -> caf::behavior {
    return {[release, self](caf::ok_atom) {
      release->wait(); // blocks the worker until the event was seen
      self->quit();
    }};
  });
  caf::anon_send(sleepy, caf::ok_atom::value);
  auto e = log.wait_for(event_kinds::worker_blocked);
  release->count_down();
  ASSERT_TRUE(e);
  auto j = to_json(*e);
  EXPECT_EQ(j.at("level"), "warning");
  EXPECT_EQ(j.at("actor"), sleepy.id());
  EXPECT_EQ(j.at("name"), "sleepy");
  EXPECT_GE(j.at("held_ms").get<int>(), 50);
  EXPECT_TRUE(j.contains("worker"));
}
