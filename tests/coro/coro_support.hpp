#pragma once

// Shared pieces of the coroutine tests: a gate actor that answers requests only when released,
// a counter of live RAII objects, a probe of where and when an actor's code runs, a fixture
// that stops the actors a test kept, an actor that runs a test's body as a coroutine handler,
// and replies handed to the test thread as futures.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

namespace troupe::test {

using release_atom = caf::atom_constant<caf::atom("release")>;

struct gate_state {
  std::vector<caf::response_promise> waiting;
  std::vector<int> values;
  bool released = false;
};

/// A plain CAF actor answering `int x` requests with x, but only once released (requests
/// after the release are answered at once): lets a test keep a coroutine suspended for as
/// long as it likes, without timing.
inline caf::behavior gate_actor(caf::stateful_actor<gate_state>* self) {
  return {
      [self](int x) -> caf::result<int> {
        if (self->state.released)
          return x;
        auto rp = self->make_response_promise();
        self->state.waiting.push_back(rp);
        // The value travels with the promise: answered on release.
        self->state.values.push_back(x);
        return caf::delegated<int>{};
      },
      [self](release_atom) {
        self->state.released = true;
        for (std::size_t i = 0; i < self->state.waiting.size(); ++i)
          self->state.waiting[i].deliver(self->state.values[i]);
        self->state.waiting.clear();
        self->state.values.clear();
      },
  };
}

/// Counts constructions and destructions: the RAII probe of a coroutine frame.
struct live_counter {
  std::atomic<int> made{0};
  std::atomic<int> gone{0};
};

class probe {
public:
  explicit probe(live_counter& c) : c_(&c) { c_->made.fetch_add(1); }
  probe(const probe&) = delete;
  probe& operator=(const probe&) = delete;
  ~probe() { c_->gone.fetch_add(1); }

private:
  live_counter* c_;
};

// Every segment of a handler (plain, or a coroutine between two co_awaits) marks the actor
// busy; two overlapping segments, or a resumption on a foreign thread, count as violations.
struct affinity_probe {
  std::atomic<bool> busy{false};
  std::atomic<int> overlaps{0};
  std::mutex mtx;
  std::set<std::thread::id> handler_threads;
  std::set<std::thread::id> resume_threads;
  std::set<std::thread::id> foreign_threads; // the blocking pool's, the test's

  void enter(bool resumed) {
    if (busy.exchange(true))
      overlaps.fetch_add(1);
    std::lock_guard guard{mtx};
    (resumed ? resume_threads : handler_threads).insert(std::this_thread::get_id());
  }
  void leave() { busy.store(false); }
  void foreign() {
    std::lock_guard guard{mtx};
    foreign_threads.insert(std::this_thread::get_id());
  }
};

/// Opens the gate and returns once it handled the release: every reply it held is sent, so a
/// coroutine that those replies would resume has had its chance to (the test then checks that
/// nothing did).
inline void release_gate_and_sync(caf::actor_system& sys, const caf::actor& gate) {
  caf::anon_send(gate, release_atom::value);
  // Answered after everything sent to the gate before it, the release included.
  caf::scoped_actor self{sys};
  self->request(gate, std::chrono::seconds{5}, 0).receive([](int) {}, [](caf::error&) {});
}

/// A request answered with x + 1.
struct add_one {
  int64_t x = 0;
  using reply_type = int64_t;
};

/// A value, or the rendering of the error.
template <class T>
std::string show(const caf::expected<T>& r) {
  return r ? std::to_string(*r) : to_string(r.error());
}

/// What a test's actors did, in order; written from any thread.
struct journal {
  std::mutex mtx;
  std::vector<std::string> lines;

  void add(std::string s) {
    std::lock_guard guard{mtx};
    lines.push_back(std::move(s));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard guard{mtx};
    return lines;
  }
  std::size_t size() {
    std::lock_guard guard{mtx};
    return lines.size();
  }
};

/// A reply that arrives through callbacks (ask_async(...).then, worker_pool::submit_async),
/// handed to the test thread as a future.
template <class T>
class reply_future {
public:
  auto on_value() const {
    return [p = promise_](T v) { p->set_value(std::move(v)); };
  }
  auto on_error() const {
    return [p = promise_](caf::error e) { p->set_value(std::move(e)); };
  }

private:
  std::shared_ptr<std::promise<caf::expected<T>>> promise_ =
      std::make_shared<std::promise<caf::expected<T>>>();

public:
  std::future<caf::expected<T>> future = promise_->get_future();
};

/// Starts `reply` (such as ask_async(box, msg)) and hands its outcome to the test thread as a
/// future: the test goes on while the request is outstanding.
template <class R>
std::future<caf::expected<R>> future_of(pending<R> reply) {
  reply_future<R> out;
  std::move(reply).then(out.on_value(), out.on_error());
  return std::move(out.future);
}

/// Runs a test's body as a coroutine handler: `run_body` answers with what the body returns.
struct run_body {
  using reply_type = std::string;
};
/// Answered with the actor's count of dropped late replies.
struct late_replies {
  using reply_type = uint64_t;
};

using runner_box = mailbox<run_body, late_replies>;

/// A fresh mailbox actor whose `run_body` handler co_awaits `body()`.
template <class Body>
runner_box spawn_runner(runtime& rt, Body body) {
  return spawn_mailbox<run_body, late_replies>(
             rt, {},
             [body](auto* self) {
               return handlers{
                   [body](run_body) -> task<std::string> { co_return co_await body(); },
                   [self](late_replies) { return self->coroutines().late_replies(); },
               };
             })
      .value();
}

/// The runner's count of dropped late replies (0 when it does not answer).
inline uint64_t late_count(const runner_box& runner) {
  auto n = ask(runner, late_replies{}, std::chrono::seconds{5});
  return n ? *n : 0;
}

/// Keeps `box` busy with copies of `msg` from a thread of its own until stop(), a few at a time
/// (a flood would only measure the queue): plain messages arriving while a coroutine runs.
/// `on_start` runs first, on that thread.
template <class Box, class Msg>
class steady_sender {
public:
  steady_sender(
      Box box, Msg msg, std::function<void()> on_start = [] {})
      : thread_{[this, box, msg, on_start]() mutable {
          on_start();
          while (!stop_.load()) {
            if (box.metrics().depth < 16) {
              if (!box.send(Msg{msg}))
                break;
            } else {
              std::this_thread::yield();
            }
          }
        }} {}
  steady_sender(const steady_sender&) = delete;
  steady_sender& operator=(const steady_sender&) = delete;
  ~steady_sender() { stop(); }

  void stop() {
    stop_.store(true);
    if (thread_.joinable())
      thread_.join();
  }

private:
  std::atomic<bool> stop_{false};
  std::thread thread_; // last: its loop reads stop_
};

/// The mailbox a supervisor started last and how often it started one: lets a test reach the
/// restarted child.
template <class Box>
struct latest_child {
  std::mutex mtx;
  std::optional<Box> current;
  std::atomic<int> starts{0};

  /// Records a start of the child factory and hands its outcome on to the supervisor.
  started_child record(caf::expected<Box> mb) {
    if (!mb)
      return mb.error();
    std::lock_guard guard{mtx};
    current = *mb;
    starts.fetch_add(1);
    return *mb;
  }

  Box get() {
    std::lock_guard guard{mtx};
    return *current;
  }
};

/// The coroutine tests' fixture: after each test it stops the actors the test handed to keep(),
/// so a test that fails half-way leaves nothing running for the check of runtime_fixture.
class coro_fixture : public runtime_fixture {
public:
  explicit coro_fixture(runtime_config cfg = default_config()) : runtime_fixture(std::move(cfg)) {}

protected:
  void TearDown() override {
    stop_kept();
    runtime_fixture::TearDown();
  }

  void stop_kept() {
    for (auto& a : kept_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  template <class Handle>
  Handle keep(Handle h) {
    if constexpr (std::is_same_v<Handle, caf::actor>)
      kept_.push_back(h);
    else
      kept_.push_back(h.actor());
    return h;
  }

  /// Runs `body` on a fresh runner and returns its result (or why the ask failed).
  template <class Body>
  std::string run(Body body) {
    auto runner = keep(spawn_runner(*rt, std::move(body)));
    auto r = ask(runner, run_body{}, std::chrono::seconds{10});
    return r ? *r : "ask failed: " + to_string(r.error());
  }

  std::vector<caf::actor> kept_;
};

/// `Fixture` with as many workers as the test's parameter: TEST_P over it and instantiate with
/// ::testing::Values(1, 2, 8).
template <class Fixture = coro_fixture>
class with_workers : public Fixture, public ::testing::WithParamInterface<int> {
public:
  with_workers() : Fixture(runtime_fixture::config_with_workers(GetParam())) {}
};

/// The names every coroutine test uses unqualified: `using namespace troupe::test::coro_names;`.
namespace coro_names {
using namespace troupe;
using namespace std::chrono_literals;
using test::add_one;
using test::affinity_probe;
using test::journal;
using test::late_count;
using test::late_replies;
using test::live_counter;
using test::probe;
using test::release_atom;
using test::run_body;
using test::show;
} // namespace coro_names

} // namespace troupe::test
