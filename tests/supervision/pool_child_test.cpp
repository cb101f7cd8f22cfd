// A worker pool as one child of a supervision tree (pool_child): restarts make a new pool,
// the handle follows them, and the pool's name shows in the topology and its metrics.

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "supervision/supervisor_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct square {
  int x = 0;
  using reply_type = int;
};

class pool_child_test : public troupe::test::supervisor_fixture {
protected:
  static troupe::pool_options two_workers() {
    troupe::pool_options opts;
    opts.workers = 2;
    opts.capacity = 16;
    return opts;
  }

  static auto squares() {
    return [](std::size_t) { return [](square& s) { return s.x * s.x; }; };
  }
};

TEST_F(pool_child_test, APoolChildAnswersJobsThroughItsHandle) {
  auto workers = troupe::pool_child<square>("workers", two_workers(), squares());
  auto early = workers.pool.submit(square{2}, 1s);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error(), troupe::supervision_errc::child_not_found)
      << troupe::render(early.error());
  auto root = start(troupe::restart_strategy::one_for_one, {workers});
  auto answer = workers.pool.submit(square{7}, 10s);
  ASSERT_TRUE(answer) << troupe::render(answer.error());
  EXPECT_EQ(*answer, 49);
  auto row = child(root, "workers");
  EXPECT_TRUE(row.is_supervisor);
  EXPECT_EQ(row.actor, workers.pool.current().value().supervisor().actor());
  EXPECT_FALSE(root.stop(10s));
}

TEST_F(pool_child_test, ARestartOfThePoolChildMakesANewPoolThatTheHandleReaches) {
  auto workers = troupe::pool_child<square>("workers", two_workers(), squares());
  auto root = start(troupe::restart_strategy::one_for_one, {workers});
  ASSERT_EQ(workers.pool.submit(square{3}, 10s).value(), 9);
  auto first = workers.pool.current().value();
  auto first_actor = first.supervisor().actor();
  // The pool's supervisor dies: its own supervisor restarts the child, which makes a new pool.
  caf::anon_send_exit(first_actor, caf::exit_reason::kill);
  ASSERT_TRUE(troupe::test::eventually([&] {
    auto row = child(root, "workers");
    return row.restarts == 1 && row.actor && row.actor != first_actor;
  })) << "the pool child was not restarted";
  auto second = workers.pool.current().value();
  EXPECT_NE(second.supervisor().actor(), first_actor);
  EXPECT_EQ(child(root, "workers").actor, second.supervisor().actor());
  // Jobs are answered by the new pool; the old one refuses them.
  for (int i = 0; i < 20; ++i) {
    auto answer = workers.pool.submit(square{i}, 10s);
    ASSERT_TRUE(answer) << troupe::render(answer.error());
    EXPECT_EQ(*answer, i * i);
  }
  EXPECT_EQ(second.metrics().completed, 20u);
  auto refused = first.submit(square{1}, 1s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), troupe::runtime_errc::shutting_down)
      << troupe::render(refused.error());
  EXPECT_FALSE(root.stop(10s));
}

TEST_F(pool_child_test, APoolWhoseWorkersKeepCrashingIsRestartedByItsSupervisor) {
  auto opts = two_workers();
  opts.max_restarts = 1; // the second crash within the period stops the pool's supervisor
  opts.restart_period = std::chrono::seconds{60};
  auto workers = troupe::pool_child<square>("workers", opts, [](std::size_t) {
    return [](square& s) {
      if (s.x < 0)
        throw std::runtime_error("negative");
      return s.x * s.x;
    };
  });
  auto root = start(troupe::restart_strategy::one_for_one, {workers});
  auto first_actor = workers.pool.current().value().supervisor().actor();
  for (int i = 0; i < 2; ++i) {
    auto crashed = workers.pool.current().value().submit(square{-1}, 10s);
    ASSERT_FALSE(crashed);
  }
  ASSERT_TRUE(troupe::test::eventually([&] {
    auto row = child(root, "workers");
    return row.restarts == 1 && row.actor && row.actor != first_actor;
  })) << "the pool child was not restarted after its workers' restart intensity ran out";
  auto answer = workers.pool.submit(square{5}, 10s);
  ASSERT_TRUE(answer) << troupe::render(answer.error());
  EXPECT_EQ(*answer, 25);
  EXPECT_FALSE(root.stop(10s));
}

TEST_F(pool_child_test, ThePoolIsNamedAfterItsChildInTheTopologyAndMetrics) {
  auto workers = troupe::pool_child<square>("resizers", two_workers(), squares());
  auto root = start(troupe::restart_strategy::one_for_one, {workers}, 10, "service");
  ASSERT_EQ(workers.pool.submit(square{4}, 10s).value(), 16);
  auto pool = workers.pool.current().value();
  EXPECT_EQ(pool.metrics().name, "resizers");
  auto dump = rt->topology();
  const json* service = nullptr;
  for (auto& tree : dump.at("supervision"))
    if (tree.at("name") == "service")
      service = &tree;
  ASSERT_NE(service, nullptr) << dump.dump(2);
  // The child row, the pool's supervisor and its workers all carry the name.
  ASSERT_EQ(service->at("children").size(), 1u);
  auto& row = service->at("children")[0];
  EXPECT_EQ(row.at("id"), "resizers");
  auto& pool_sup = row.at("actor");
  EXPECT_EQ(pool_sup.at("name"), "resizers");
  EXPECT_EQ(pool_sup.at("kind"), "supervisor");
  ASSERT_EQ(pool_sup.at("children").size(), 2u);
  EXPECT_EQ(pool_sup.at("children")[0].at("actor").at("name"), "resizers.worker0");
  EXPECT_EQ(pool_sup.at("children")[1].at("actor").at("name"), "resizers.worker1");
  ASSERT_EQ(dump.at("pools").size(), 1u);
  EXPECT_EQ(dump.at("pools")[0].at("name"), "resizers");
  EXPECT_EQ(dump.at("pools")[0].at("supervisor"), pool_sup.at("id"));
  EXPECT_EQ(dump.at("pools")[0].at("completed"), 1);
  EXPECT_FALSE(root.stop(10s));
}

TEST_F(pool_child_test, AnUnnamedPoolOutsideATreeIsNamedPool) {
  auto pool = troupe::spawn_pool<square>(*rt, two_workers(), squares()).value();
  EXPECT_EQ(pool.metrics().name, "pool");
  auto dump = rt->topology();
  ASSERT_EQ(dump.at("pools").size(), 1u);
  EXPECT_EQ(dump.at("pools")[0].at("name"), "pool");
  pool.shutdown(5s);
}

} // namespace
