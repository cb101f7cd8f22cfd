#include <future>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/runtime/runtime.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

caf::behavior adder(int offset) {
  return {[offset](int x) { return x + offset; }};
}

class counting_actor : public caf::event_based_actor {
public:
  explicit counting_actor(caf::actor_config& cfg) : caf::event_based_actor(cfg) {}
  const char* name() const override { return "counting_actor"; }
  caf::behavior make_behavior() override {
    return {[this](caf::get_atom) { return count_; }, [this](int) { ++count_; }};
  }

private:
  int count_ = 0;
};

} // namespace

using RuntimeSpawn = troupe::test::runtime_fixture;

TEST_F(RuntimeSpawn, FunctionActorAnswersRequests) {
  auto a = rt->spawn(adder, 10);
  caf::scoped_actor self{sys()};
  int result = 0;
  self->request(a, 5s, 32).receive([&](int r) { result = r; },
                                   [&](caf::error& err) { FAIL() << render(err); });
  EXPECT_EQ(result, 42);
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

// The installed CAF logs nothing, but a spawn makes its logger the spawning thread's current
// one, and then CAF records the running actor's id around every later resume and destruction on
// that thread (a process-wide spinlock). The runtime's spawns leave the thread without it, also
// on a worker, where a handler spawns.
TEST_F(RuntimeSpawn, ASpawnLeavesTheThreadWithoutCafsSilentLogger) {
  ASSERT_EQ(CAF_LOG_LEVEL, CAF_LOG_LEVEL_QUIET) << "a CAF that logs keeps its logger";
  auto a = rt->spawn(adder, 1);
  EXPECT_EQ(caf::logger::current_logger(), nullptr);
  auto spawner = rt->spawn([this](caf::event_based_actor* self) -> caf::behavior {
    return {[this, self](caf::get_atom) {
      auto child = rt->spawn(adder, 2);
      self->send_exit(child, caf::exit_reason::user_shutdown);
      bool after_function_spawn = caf::logger::current_logger() == nullptr;
      auto counted = rt->spawn<counting_actor>();
      self->send_exit(counted, caf::exit_reason::user_shutdown);
      return after_function_spawn && caf::logger::current_logger() == nullptr;
    }};
  });
  caf::scoped_actor self{sys()};
  bool cleared = false;
  self->request(spawner, 5s, caf::get_atom::value)
      .receive([&](bool r) { cleared = r; }, [&](caf::error& err) { FAIL() << render(err); });
  EXPECT_TRUE(cleared) << "a spawn from a handler left CAF's logger on its worker";
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send_exit(spawner, caf::exit_reason::user_shutdown);
}

// A plain CAF spawn (self->spawn) in a handler also makes CAF's logger the worker's current
// one; the worker drops it when it next runs out of work and parks.
TEST(RuntimeWorkers, AWorkerDropsCafsSilentLoggerWhenItParks) {
  ASSERT_EQ(CAF_LOG_LEVEL, CAF_LOG_LEVEL_QUIET) << "a CAF that logs keeps its logger";
  auto cfg = troupe::test::runtime_fixture::default_config();
  cfg.workers = 1; // every handler below runs on the one worker
  runtime rt{cfg};
  auto spawner = rt.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](caf::get_atom) {
              auto child = self->spawn(adder, 2);
              self->send_exit(child, caf::exit_reason::user_shutdown);
              return caf::logger::current_logger() != nullptr;
            },
            [](caf::ok_atom) { return caf::logger::current_logger() == nullptr; }};
  });
  caf::scoped_actor self{rt.system()};
  auto ask = [&](auto atom) {
    bool answer = false;
    self->request(spawner, 5s, atom)
        .receive([&](bool r) { answer = r; }, [&](caf::error& err) { FAIL() << render(err); });
    return answer;
  };
  EXPECT_TRUE(ask(caf::get_atom::value)) << "a plain CAF spawn no longer installs the logger";
  // The worker ran the handler above after it last woke up (which cleared the flag), so the
  // flag set again means it parked since.
  ASSERT_TRUE(
      troupe::test::eventually([&] { return rt.scheduler_stats().per_worker.at(0).sleeping; }));
  EXPECT_TRUE(ask(caf::ok_atom::value)) << "the worker parked and kept CAF's logger";
  self->send_exit(spawner, caf::exit_reason::user_shutdown);
}

TEST_F(RuntimeSpawn, ClassActorKeepsMessageOrderFromOneSender) {
  auto a = rt->spawn<counting_actor>();
  caf::scoped_actor self{sys()};
  for (int i = 0; i < 1000; ++i)
    self->send(a, i);
  int count = 0;
  self->request(a, 5s, caf::get_atom::value)
      .receive([&](int n) { count = n; }, [&](caf::error& err) { FAIL() << render(err); });
  EXPECT_EQ(count, 1000);
  EXPECT_EQ(rt->metrics().spawned_actors, 1u);
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(RuntimeSpawn, SchedulerHasTheConfiguredWorkerCount) {
  EXPECT_EQ(sys().scheduler().num_workers(), 2u);
  auto m = rt->metrics();
  EXPECT_EQ(m.workers, 2u);
  EXPECT_EQ(m.flavor, flavor::multi_thread);
  EXPECT_EQ(m.blocking_threads_max, 4u);
}

TEST_F(RuntimeSpawn, MetricsCountLiveActorsAndDropThemAfterExit) {
  auto before = rt->metrics().live_actors;
  auto a = rt->spawn(adder, 1);
  auto b = rt->spawn(adder, 2);
  EXPECT_EQ(rt->metrics().live_actors, before + 2);
  caf::scoped_actor self{sys()};
  self->monitor(a);
  self->monitor(b);
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->send_exit(b, caf::exit_reason::user_shutdown);
  int downs = 0;
  self->receive_for(downs, 2)([](caf::down_msg&) {});
  EXPECT_TRUE(troupe::test::eventually([&] { return rt->metrics().spawned_actors == 0; }));
}

TEST_F(RuntimeSpawn, MetricsSerializeToJson) {
  nlohmann::json j = rt->metrics();
  EXPECT_EQ(j.at("workers"), 2);
  EXPECT_EQ(j.at("flavor"), "multi_thread");
  EXPECT_TRUE(j.contains("blocking_queue_depth"));
  EXPECT_TRUE(j.contains("live_actors"));
}

TEST_F(RuntimeSpawn, RuntimeOfFindsTheOwningRuntime) {
  EXPECT_EQ(runtime::of(sys()), rt.get());
}

TEST(RuntimeFlavor, CurrentThreadRunsOneWorker) {
  runtime_config cfg;
  cfg.flavor = flavor::current_thread;
  runtime rt{cfg};
  EXPECT_EQ(rt.system().scheduler().num_workers(), 1u);
  auto a = rt.spawn(adder, 1);
  caf::scoped_actor self{rt.system()};
  self->request(a, 5s, 1).receive([](int r) { EXPECT_EQ(r, 2); },
                                  [](caf::error& err) { FAIL() << render(err); });
}

TEST(RuntimeCustomizer, SeesCafConfigurationBeforeTheSystemStarts) {
  bool called = false;
  runtime rt{runtime_config{}, [&](caf::actor_system_config& cfg) {
               called = true;
               EXPECT_EQ(caf::get_or(cfg, "scheduler.max-throughput", size_t{0}), 300u);
             }};
  EXPECT_TRUE(called);
}

TEST(RuntimeStop, RunUntilStoppedReturnsAfterRequestStopWithTheShutdownReport) {
  troupe::runtime_config cfg;
  cfg.workers = 2;
  troupe::runtime rt{cfg};
  auto actor = rt.spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  std::thread stopper{[&rt] { rt.request_stop(); }};
  int signal = -1;
  auto report = rt.run_until_stopped(&signal);
  stopper.join();
  EXPECT_EQ(signal, 0);
  EXPECT_TRUE(report.clean());
  EXPECT_TRUE(rt.shutting_down());
  EXPECT_EQ(rt.metrics().live_actors, 0u);
}

TEST(RuntimeStop, WaitForStopTimesOutThenReportsARequestWithoutShuttingDown) {
  troupe::runtime_config cfg;
  cfg.workers = 1;
  troupe::runtime rt{cfg};
  EXPECT_EQ(rt.wait_for_stop(std::chrono::milliseconds{1}), std::nullopt);
  std::thread stopper{[&rt] { rt.request_stop(); }};
  EXPECT_EQ(rt.wait_for_stop(std::chrono::seconds{30}), std::optional<int>{0});
  stopper.join();
  EXPECT_FALSE(rt.shutting_down());
  // Seen once, it stays: later waits return at once.
  EXPECT_EQ(rt.wait_for_stop(std::chrono::milliseconds{0}), std::optional<int>{0});
  EXPECT_EQ(rt.wait_for_stop(), 0);
}

// A stop seen by wait_for_stop is not consumed: run_until_stopped after it returns at once (it
// used to wait for a second request, i.e. a second ctrl-c).
TEST(RuntimeStop, RunUntilStoppedAfterWaitForStopDoesNotNeedASecondRequest) {
  troupe::runtime_config cfg;
  cfg.workers = 1;
  troupe::runtime rt{cfg};
  rt.request_stop();
  ASSERT_EQ(rt.wait_for_stop(std::chrono::seconds{10}), std::optional<int>{0});
  auto done = std::async(std::launch::async, [&rt] { return rt.run_until_stopped().clean(); });
  auto status = done.wait_for(std::chrono::seconds{10});
  if (status != std::future_status::ready)
    rt.request_stop(); // release it, so the test fails instead of hanging
  EXPECT_EQ(status, std::future_status::ready) << "run_until_stopped waited for a second stop";
  EXPECT_TRUE(done.get());
}

TEST(RuntimeStop, OnlyOneRuntimeAtATimeHandlesSignals) {
  troupe::runtime_config cfg;
  cfg.workers = 1;
  cfg.handle_signals = true;
  {
    troupe::runtime first{cfg};
    EXPECT_THROW(troupe::runtime{cfg}, std::invalid_argument);
    // create() never throws: it said so, and threw std::invalid_argument here.
    auto second = troupe::runtime::create(cfg);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), troupe::config_errc::conflicting_options);
    EXPECT_NE(troupe::render(second.error()).find("handle_signals"), std::string::npos)
        << troupe::render(second.error());
  }
  // Released with the first runtime.
  troupe::runtime again{cfg};
  again.request_stop();
  EXPECT_TRUE(again.run_until_stopped().clean());
}

// The runtime's clock skips the timeout cancellation of actors that never set a timeout;
// actors that do set one still get it, and terminating early still cancels it.
TEST_F(RuntimeSpawn, CafTimeoutsStillFireAndAreCancelledWithTheirActor) {
  auto silent = rt->spawn([](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler(caf::skip);
    return {[](int) {}};
  });
  auto outcome = std::make_shared<std::promise<caf::error>>();
  auto result = outcome->get_future();
  rt->spawn([silent, outcome](caf::event_based_actor* self) {
    self->request(silent, std::chrono::milliseconds{20}, std::string{"no handler"})
        .then([outcome](int) { outcome->set_value(caf::error{}); },
              [self, outcome](caf::error& err) {
                outcome->set_value(err);
                self->quit();
              });
  });
  ASSERT_EQ(result.wait_for(std::chrono::seconds{10}), std::future_status::ready);
  EXPECT_EQ(result.get(), caf::sec::request_timeout);
  // A receive timeout, and an actor that quits with a request timeout still pending.
  auto fired = std::make_shared<std::promise<void>>();
  auto fired_future = fired->get_future();
  rt->spawn([fired](caf::event_based_actor* self) -> caf::behavior {
    return {[](int) {}, caf::after(std::chrono::milliseconds{10}) >>
                            [self, fired] {
                              fired->set_value();
                              self->quit();
                            }};
  });
  rt->spawn([silent](caf::event_based_actor* self) {
    self->request(silent, std::chrono::seconds{30}, std::string{"abandoned"})
        .then([](int) {}, [](caf::error&) {});
    self->quit();
  });
  EXPECT_EQ(fired_future.wait_for(std::chrono::seconds{10}), std::future_status::ready);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}
