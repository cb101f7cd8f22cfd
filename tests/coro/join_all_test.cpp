// gather and gather_all_or_fail over a std::vector of inputs (join_all / try_join_all): results
// in input order whatever the completion order, errors per input, the first error cancelling
// the rest, and the empty vector.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

using backend_box = mailbox<add_one>;

// add_one answers x + 1, or invalid_argument for a negative x.
backend_box spawn_backend(runtime& rt) {
  return spawn_mailbox<add_one>(rt, {},
                                [](auto*) {
                                  return handlers{[](add_one& m) -> caf::expected<int64_t> {
                                    if (m.x < 0)
                                      return caf::make_error(caf::sec::invalid_argument);
                                    return m.x + 1;
                                  }};
                                })
      .value();
}

// "r1;r2;...;": each result of a group in input order.
std::string show_each(const std::vector<caf::expected<int64_t>>& results) {
  std::string out;
  for (auto& r : results)
    out += show(r) + ";";
  return out;
}

// Waits for the gate, then yields `value`: the branch that finishes last.
task<caf::expected<int64_t>> after_gate(caf::actor gate, int64_t value) {
  auto r = co_await coro::request_actor<int>(gate, caf::infinite, 0);
  if (!r)
    co_return r.error();
  co_return value;
}

// Asks the backend, then opens the gate: finishes before every after_gate branch.
task<caf::expected<int64_t>> then_release(backend_box backend, caf::actor gate, int64_t x) {
  add_one m{x};
  auto r = co_await coro::request(backend, m, 5s);
  if (gate)
    caf::anon_send(gate, release_atom::value);
  co_return r;
}

// Never answered while the test runs: its frame counts in `frames`, its resumption in `resumed`.
task<caf::expected<int64_t>> held(caf::actor gate, std::shared_ptr<live_counter> frames,
                                  std::shared_ptr<std::atomic<int>> resumed) {
  probe alive{*frames};
  auto r = co_await coro::request_actor<int>(gate, caf::infinite, 0);
  resumed->fetch_add(1);
  co_return r ? caf::expected<int64_t>{*r} : caf::expected<int64_t>{r.error()};
}

class coro_join_all : public test::coro_fixture {};

TEST_F(coro_join_all, GatherOverAVectorYieldsEachResultInInputOrder) {
  auto backend = keep(spawn_backend(*rt));
  auto out = run([=]() -> task<std::string> {
    std::vector<coro::mailbox_request<backend_box, add_one>> asks;
    for (int64_t x : {4, -1, 9, 0})
      asks.push_back(coro::request(backend, add_one{x}, 5s));
    co_return show_each(co_await coro::gather(std::move(asks)));
  });
  EXPECT_EQ(out, "5;" + to_string(caf::make_error(caf::sec::invalid_argument)) + ";10;1;");
}

// The first inputs finish last (they wait for the gate that the last input opens): the results
// still come in input order.
TEST_F(coro_join_all, ResultsKeepInputOrderWhenInputsFinishInReverse) {
  auto backend = keep(spawn_backend(*rt));
  auto gate = keep(rt->spawn(test::gate_actor));
  auto out = run([=]() -> task<std::string> {
    std::vector<task<caf::expected<int64_t>>> branches;
    branches.push_back(after_gate(gate, 100));
    branches.push_back(after_gate(gate, 200));
    branches.push_back(then_release(backend, gate, 2));
    co_return show_each(co_await coro::gather(std::move(branches)));
  });
  EXPECT_EQ(out, "100;200;3;");
}

TEST_F(coro_join_all, AnEmptyVectorYieldsAnEmptyResultAtOnce) {
  auto out = run([]() -> task<std::string> {
    auto none = co_await coro::gather(std::vector<task<caf::expected<int64_t>>>{});
    auto all = co_await coro::gather_all_or_fail(std::vector<task<caf::expected<int64_t>>>{});
    co_return std::to_string(none.size()) + "|" + (all ? std::to_string(all->size()) : "error");
  });
  EXPECT_EQ(out, "0|0");
}

TEST_F(coro_join_all, AllOrFailYieldsTheValuesInInputOrder) {
  auto backend = keep(spawn_backend(*rt));
  auto values = run([=]() -> task<std::string> {
    std::vector<coro::mailbox_request<backend_box, add_one>> asks;
    for (int64_t x = 0; x < 6; ++x)
      asks.push_back(coro::request(backend, add_one{x * 10}, 5s));
    auto all = co_await coro::gather_all_or_fail(std::move(asks));
    if (!all)
      co_return to_string(all.error());
    std::string out;
    for (auto v : *all)
      out += std::to_string(v) + ";";
    co_return out;
  });
  EXPECT_EQ(values, "1;11;21;31;41;51;");
}

// A failing input ends the group with its error; the held inputs are destroyed at once (their
// RAII runs, they never resume) and their replies, once the gate opens, are dropped and counted.
TEST_F(coro_join_all, AllOrFailReturnsTheFirstErrorAndCancelsTheRest) {
  auto backend = keep(spawn_backend(*rt));
  auto gate = keep(rt->spawn(test::gate_actor));
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto runner = keep(test::spawn_runner(*rt, [=]() -> task<std::string> {
    std::vector<task<caf::expected<int64_t>>> branches;
    branches.push_back(held(gate, frames, resumed));
    branches.push_back(then_release(backend, caf::actor{}, -5)); // fails
    branches.push_back(held(gate, frames, resumed));
    auto all = co_await coro::gather_all_or_fail(std::move(branches));
    co_return all ? std::string{"value"} : to_string(all.error());
  }));
  auto out = ask(runner, run_body{}, 10s);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, to_string(caf::make_error(caf::sec::invalid_argument)));
  EXPECT_EQ(frames->made.load(), 2);
  EXPECT_EQ(frames->gone.load(), 2);
  caf::anon_send(gate, release_atom::value);
  EXPECT_TRUE(test::eventually([&] { return late_count(runner) == 2; }));
  EXPECT_EQ(resumed->load(), 0);
}

} // namespace
