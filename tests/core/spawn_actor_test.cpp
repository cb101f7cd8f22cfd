// troupe::spawn_actor: a Troupe actor that declares no message types. It makes
// requests, subscribes to topics and watched values, ends by quit() or by being
// killed, is supervised and shows in the topology.

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/adder.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::test::increment;

class spawn_actor_test : public troupe::test::runtime_fixture {
protected:
  troupe::mailbox<increment> spawn_adder() { return troupe::test::spawn_adder(*rt); }

  // Waits for the DOWN message of `who` and returns its exit reason.
  caf::error exit_reason_of(const caf::actor& who) {
    caf::scoped_actor self{sys()};
    self->monitor(who);
    caf::error reason = caf::sec::request_timeout;
    bool got = false;
    self->receive([&](caf::down_msg& down) { reason = down.reason, got = true; },
                  caf::after(10s) >> [] {});
    EXPECT_TRUE(got) << "no DOWN message within 10 s";
    return reason;
  }
};

TEST_F(spawn_actor_test, RequestsAMailboxAndGetsTheReplyOnTheActor) {
  auto adder = spawn_adder();
  auto result = std::make_shared<std::promise<std::pair<int64_t, bool>>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    troupe::request(self, adder, increment{41}, 5s)
        .then(
            [self, result](int64_t n) {
              // The continuation runs on the requesting actor, like a handler.
              result->set_value({n, self->context() != nullptr});
              self->quit();
            },
            [self, result](caf::error) {
              result->set_value({-1, false});
              self->quit();
            });
  });
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto [n, on_actor] = f.get();
  EXPECT_EQ(n, 42);
  EXPECT_TRUE(on_actor);
  EXPECT_FALSE(exit_reason_of(a));
}

TEST_F(spawn_actor_test, RequestWithoutTimeoutGetsItsReply) {
  auto adder = spawn_adder();
  auto result = std::make_shared<std::promise<int64_t>>();
  auto a = troupe::spawn_actor(*rt, [adder, result](troupe::actor* self) {
    troupe::request(self, adder, increment{1}, caf::infinite)
        .then(
            [self, result](int64_t n) {
              result->set_value(n);
              self->quit();
            },
            [self, result](caf::error) {
              result->set_value(-1);
              self->quit();
            });
  });
  auto f = result->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), 2);
  EXPECT_FALSE(exit_reason_of(a));
}

TEST_F(spawn_actor_test, SubscribesToATopicAndReceivesItsMessagesInOrder) {
  auto t = troupe::make_topic<int>(*rt, {}).value();
  struct seen {
    std::mutex mtx;
    std::vector<int> values;
  };
  auto log = std::make_shared<seen>();
  auto done = std::make_shared<std::promise<void>>();
  auto subscribed = std::make_shared<std::promise<void>>();
  auto a = troupe::spawn_actor(*rt, [t, log, done, subscribed](troupe::actor* self) {
    auto err = t.subscribe(
        self,
        [self, log, done](const int& x) {
          std::lock_guard guard{log->mtx};
          log->values.push_back(x);
          if (x == 99) {
            done->set_value();
            self->quit();
          }
        },
        [](troupe::lagged) {});
    EXPECT_FALSE(err);
    subscribed->set_value();
  });
  ASSERT_EQ(subscribed->get_future().wait_for(10s), std::future_status::ready);
  for (int i = 0; i < 100; ++i)
    t.publish(i);
  ASSERT_EQ(done->get_future().wait_for(10s), std::future_status::ready);
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i)
    expected[i] = i;
  std::lock_guard guard{log->mtx};
  EXPECT_EQ(log->values, expected);
  EXPECT_FALSE(exit_reason_of(a));
}

TEST_F(spawn_actor_test, WatchesAValueFromItsCurrentOneOn) {
  auto rate = troupe::make_watched<int>(7);
  auto first = std::make_shared<std::promise<int>>();
  auto last = std::make_shared<std::promise<int>>();
  auto a = troupe::spawn_actor(*rt, [rate, first, last](troupe::actor* self) {
    auto calls = std::make_shared<int>(0);
    rate.subscribe(self, [self, first, last, calls](const int& v) {
      if ((*calls)++ == 0)
        first->set_value(v);
      if (v == 100) {
        last->set_value(v);
        self->quit();
      }
    });
  });
  auto f = first->get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
  rate.set(100);
  auto l = last->get_future();
  ASSERT_EQ(l.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(l.get(), 100);
  EXPECT_FALSE(exit_reason_of(a));
}

TEST_F(spawn_actor_test, QuitWithAReasonIsTheExitReason) {
  auto adder = spawn_adder();
  auto a = troupe::spawn_actor(*rt, [adder](troupe::actor* self) {
    troupe::request(self, adder, increment{0}, 5s)
        .then([self](int64_t) { self->quit(caf::make_error(caf::sec::invalid_argument)); },
              [self](caf::error err) { self->quit(std::move(err)); });
  });
  EXPECT_EQ(exit_reason_of(a), caf::sec::invalid_argument);
}

TEST_F(spawn_actor_test, ContinuationsDoNotRunAfterQuit) {
  auto adder = spawn_adder();
  auto later = std::make_shared<std::atomic<int>>(0);
  auto a = troupe::spawn_actor(*rt, [adder, later](troupe::actor* self) {
    // Two requests in flight; the first answer quits, the second must never
    // run.
    troupe::request(self, adder, increment{0}, 5s)
        .then(
            [self, later](int64_t) {
              if (later->fetch_add(1) == 0)
                self->quit();
            },
            [self](caf::error err) { self->quit(std::move(err)); });
    troupe::request(self, adder, increment{0}, 5s)
        .then(
            [self, later](int64_t) {
              if (later->fetch_add(1) == 0)
                self->quit();
            },
            [self](caf::error err) { self->quit(std::move(err)); });
  });
  EXPECT_FALSE(exit_reason_of(a));
  EXPECT_EQ(later->load(), 1);
}

TEST_F(spawn_actor_test, AThrowingBodyEndsTheActorWithAnError) {
  auto a = troupe::spawn_actor(*rt, [](troupe::actor*) { throw std::runtime_error("boom"); });
  auto reason = exit_reason_of(a);
  EXPECT_TRUE(reason);
  EXPECT_NE(reason, caf::exit_reason::normal);
}

TEST_F(spawn_actor_test, IsRestartedByItsSupervisor) {
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::child_spec spec;
  spec.id = "plain";
  spec.start = [this, starts](const troupe::child_context&) -> troupe::started_child {
    return troupe::spawn_actor(*rt, "plain", [starts](troupe::actor*) { ++*starts; });
  };
  troupe::supervisor_spec sup_spec;
  sup_spec.name = "sup";
  sup_spec.children = {spec};
  auto sup = troupe::start_supervisor(*rt, std::move(sup_spec));
  ASSERT_TRUE(sup) << troupe::render(sup.error());
  auto first = sup->which_children().value().at(0).actor;
  ASSERT_TRUE(first);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  ASSERT_TRUE(troupe::test::eventually([&] {
    auto children = sup->which_children();
    return children && children->at(0).restarts == 1 && children->at(0).actor &&
           children->at(0).actor != first;
  }));
  EXPECT_TRUE(troupe::test::eventually([&] { return starts->load() == 2; }));
  EXPECT_FALSE(sup->stop(10s));
}

TEST_F(spawn_actor_test, ShowsInTheTopologyWithItsKindAndName) {
  auto started = std::make_shared<std::promise<void>>();
  auto a =
      troupe::spawn_actor(*rt, "plain-one", [started](troupe::actor*) { started->set_value(); });
  ASSERT_EQ(started->get_future().wait_for(10s), std::future_status::ready);
  auto dump = rt->topology();
  const nlohmann::json* node = nullptr;
  for (auto& x : dump.at("actors"))
    if (x.at("id") == a.id())
      node = &x;
  ASSERT_NE(node, nullptr) << dump.dump(2);
  EXPECT_EQ(node->at("kind"), "actor");
  EXPECT_EQ(node->at("name"), "plain-one");
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  EXPECT_EQ(exit_reason_of(a), caf::exit_reason::user_shutdown);
}

} // namespace
