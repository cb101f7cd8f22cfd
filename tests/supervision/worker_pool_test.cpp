#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;
using troupe::mailbox_errc;
using troupe::runtime_errc;

namespace {

struct work {
  int id = 0;
  int value = 0;
  using reply_type = int;
};

/// Counts answers per job id, to check that each job is answered exactly once.
class answer_book {
public:
  explicit answer_book(int n) : values_(static_cast<std::size_t>(n)), errors_(values_.size()) {}

  void value(int id, int) { bump(values_, id); }
  void error(int id, const caf::error& err) {
    bump(errors_, id);
    std::lock_guard guard{mtx_};
    last_error_ = err;
  }

  /// Waits until `n` answers arrived in total.
  bool wait_for(int n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] { return total_ >= n; });
  }

  [[nodiscard]] int values_of(int id) const { return values_[static_cast<std::size_t>(id)]; }
  [[nodiscard]] int errors_of(int id) const { return errors_[static_cast<std::size_t>(id)]; }
  [[nodiscard]] int total() const {
    std::lock_guard guard{mtx_};
    return total_;
  }
  [[nodiscard]] caf::error last_error() const {
    std::lock_guard guard{mtx_};
    return last_error_;
  }

private:
  void bump(std::vector<std::atomic<int>>& counts, int id) {
    counts[static_cast<std::size_t>(id)].fetch_add(1);
    {
      std::lock_guard guard{mtx_};
      ++total_;
    }
    cv_.notify_all();
  }

  std::vector<std::atomic<int>> values_;
  std::vector<std::atomic<int>> errors_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  int total_ = 0;
  caf::error last_error_;
};

class worker_pool_test : public troupe::test::runtime_fixture {
protected:
  template <class F>
  troupe::worker_pool<work> pool_of(troupe::pool_options opts, F handler) {
    auto pool = troupe::spawn_pool<work>(*rt, opts, [handler](std::size_t) { return handler; });
    EXPECT_TRUE(pool) << troupe::render(pool.error());
    return *pool;
  }

  static void submit(const troupe::worker_pool<work>& pool,
                     const std::shared_ptr<answer_book>& book, work w, uint64_t key = 0) {
    auto id = w.id;
    auto err = pool.submit_async(
        w, [book, id](int v) { book->value(id, v); },
        [book, id](caf::error e) { book->error(id, e); }, {key, 20s});
    ASSERT_FALSE(err) << troupe::render(err);
  }
};

TEST_F(worker_pool_test, EveryJobIsAnsweredWithItsResult) {
  auto pool = pool_of({}, [](work& w) { return w.value * 2; });
  auto sum = std::make_shared<std::atomic<int64_t>>(0);
  auto book = std::make_shared<answer_book>(1000);
  for (int i = 0; i < 1000; ++i) {
    auto err = pool.submit_async(
        work{i, i},
        [book, sum, i](int v) {
          sum->fetch_add(v);
          book->value(i, v);
        },
        [book, i](caf::error e) { book->error(i, e); });
    ASSERT_FALSE(err);
  }
  ASSERT_TRUE(book->wait_for(1000));
  EXPECT_EQ(sum->load(), 2 * (999 * 1000 / 2));
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(book->values_of(i), 1) << i;
  EXPECT_EQ(pool.submit(work{0, 21}).value(), 42);
  auto m = pool.metrics();
  EXPECT_EQ(m.completed, 1001u);
  EXPECT_EQ(m.queue_depth, 0u);
  EXPECT_GT(m.latency_p99_us, 0.0);
  EXPECT_TRUE(pool.shutdown(5s).drained);
}

TEST_F(worker_pool_test, AnEmptyHandleTestsFalseAndASpawnedOneTrue) {
  EXPECT_FALSE(troupe::worker_pool<work>{});
  auto pool = pool_of({}, [](work& w) { return w.value; });
  EXPECT_TRUE(pool);
  EXPECT_TRUE(pool.shutdown(5s).drained);
}

// Misuse is a typed error, not a crash: an empty handle reaches no pool (it dereferenced a
// null state before).
TEST_F(worker_pool_test, AnEmptyHandleAnswersEveryCallWithATypedError) {
  struct go {};
  const troupe::worker_pool<work> empty;
  auto dead = [](const caf::error& err) { return err == mailbox_errc::receiver_dead; };
  auto r = empty.submit(work{1, 1}, 1s);
  ASSERT_FALSE(r);
  EXPECT_TRUE(dead(r.error())) << troupe::render(r.error());
  EXPECT_TRUE(dead(empty.submit_async(
      work{1, 1}, [](int) {}, [](caf::error) {})));
  EXPECT_TRUE(dead(empty.post(work{1, 1})));
  EXPECT_TRUE(dead(empty.resize(2)));
  EXPECT_EQ(empty.metrics().completed, 0u);
  EXPECT_FALSE(empty.supervisor());
  EXPECT_TRUE(empty.shutdown(1s).drained);
  // From an actor: each form fails at once, on the actor.
  struct outcome {
    std::promise<std::vector<caf::error>> errors;
  };
  auto st = std::make_shared<outcome>();
  auto errors = st->errors.get_future();
  auto driver = troupe::spawn_mailbox<go>(*rt, {}, [empty, st](auto* self) {
                  return troupe::handlers{[self, empty, st](go&) {
                    std::vector<caf::error> seen;
                    auto posted = empty.post(self, work{1, 1}, [] {});
                    seen.push_back(posted ? caf::error{} : posted.error());
                    auto submitted = empty.submit(
                        self, work{1, 1}, [](int) {}, [](caf::error) {}, [] {});
                    seen.push_back(submitted ? caf::error{} : submitted.error());
                    empty.submit(self, work{1, 1})
                        .then([](int) {},
                              [self, st, seen](caf::error err) mutable {
                                seen.push_back(std::move(err));
                                st->errors.set_value(std::move(seen));
                              });
                  }};
                }).value();
  (void)driver.send(go{});
  ASSERT_EQ(errors.wait_for(10s), std::future_status::ready);
  auto seen = errors.get();
  ASSERT_EQ(seen.size(), 3u);
  for (auto& err : seen)
    EXPECT_TRUE(dead(err)) << troupe::render(err);
  caf::anon_send_exit(driver.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(worker_pool_test, ExactlyOnceAnswersUnderSeededRandomCrashes) {
  constexpr int n = 2000;
  // Seeded: each job crashes its worker on its first attempt (1 in 10) or always (1 in 50).
  std::mt19937 rng{20261126};
  auto plan = std::make_shared<std::vector<int>>(n);
  int crash_once = 0;
  int crash_always = 0;
  for (auto& p : *plan) {
    auto r = rng() % 100;
    p = r < 2 ? 2 : r < 12 ? 1 : 0;
    crash_once += p == 1;
    crash_always += p == 2;
  }
  auto attempts = std::make_shared<std::vector<std::atomic<int>>>(n);
  troupe::pool_options opts;
  opts.workers = 3;
  opts.max_retries = 2;
  opts.max_restarts = 1'000'000;
  auto pool = pool_of(opts, [plan, attempts](work& w) {
    auto attempt = (*attempts)[static_cast<std::size_t>(w.id)].fetch_add(1);
    auto p = (*plan)[static_cast<std::size_t>(w.id)];
    if (p == 2 || (p == 1 && attempt == 0))
      throw std::runtime_error("crash on job " + std::to_string(w.id));
    return w.id;
  });
  auto book = std::make_shared<answer_book>(n);
  for (int i = 0; i < n; ++i)
    submit(pool, book, work{i, 0});
  ASSERT_TRUE(book->wait_for(n));
  for (int i = 0; i < n; ++i) {
    auto p = (*plan)[static_cast<std::size_t>(i)];
    EXPECT_EQ(book->values_of(i) + book->errors_of(i), 1) << "job " << i;
    EXPECT_EQ(book->errors_of(i), p == 2 ? 1 : 0) << "job " << i;
    EXPECT_EQ((*attempts)[static_cast<std::size_t>(i)].load(), p == 2 ? 3 : p == 1 ? 2 : 1);
  }
  auto m = pool.metrics();
  EXPECT_EQ(m.failed, static_cast<uint64_t>(crash_always));
  EXPECT_EQ(m.retried, static_cast<uint64_t>(crash_once + 2 * crash_always));
  EXPECT_EQ(m.completed, static_cast<uint64_t>(n - crash_always));
  auto crashes = static_cast<uint64_t>(crash_once + 3 * crash_always);
  EXPECT_TRUE(troupe::test::eventually([&] { return pool.metrics().restarts == crashes; }))
      << pool.metrics().restarts << " of " << crashes;
  EXPECT_EQ(book->last_error(), mailbox_errc::handler_threw);
  EXPECT_NE(troupe::render(book->last_error()).find("crash on job"), std::string::npos);
  EXPECT_TRUE(pool.shutdown(5s).drained);
}

TEST_F(worker_pool_test, AJobThatAlwaysCrashesIsRetriedExactlyMaxRetriesTimes) {
  auto runs = std::make_shared<std::atomic<int>>(0);
  troupe::pool_options opts;
  opts.max_retries = 3;
  auto pool = pool_of(opts, [runs](work&) -> int {
    runs->fetch_add(1);
    throw std::runtime_error("poisoned");
  });
  auto r = pool.submit(work{1, 0});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), mailbox_errc::handler_threw);
  EXPECT_NE(troupe::render(r.error()).find("poisoned"), std::string::npos);
  EXPECT_EQ(runs->load(), 4);
  EXPECT_EQ(pool.metrics().retried, 3u);
  EXPECT_EQ(pool.metrics().failed, 1u);
  EXPECT_TRUE(troupe::test::eventually([&] { return pool.metrics().restarts == 4u; }));
  pool.shutdown(5s);
}

TEST_F(worker_pool_test, KeyAffinityRunsEachKeyOnOneWorkerInSubmitOrder) {
  constexpr int keys = 8;
  constexpr int per_key = 200;
  struct seen_t {
    std::mutex mtx;
    std::vector<std::vector<int>> order{keys};
    std::vector<std::set<std::thread::id>> threads{keys};
  };
  auto seen = std::make_shared<seen_t>();
  troupe::pool_options opts;
  opts.workers = 4;
  opts.dispatch = troupe::dispatch_policy::key_affinity;
  auto pool =
      troupe::spawn_pool<work>(*rt, opts, [seen](std::size_t slot) {
        return [seen, slot](work& w) {
          std::lock_guard guard{seen->mtx};
          seen->order[static_cast<std::size_t>(w.value)].push_back(w.id);
          seen->threads[static_cast<std::size_t>(w.value)].insert(std::this_thread::get_id());
          return static_cast<int>(slot);
        };
      }).value();
  auto book = std::make_shared<answer_book>(keys * per_key);
  auto slots = std::make_shared<std::vector<std::atomic<int>>>(keys);
  for (auto& s : *slots)
    s = -1;
  auto mixed = std::make_shared<std::atomic<bool>>(false);
  for (int i = 0; i < keys * per_key; ++i) {
    int key = i % keys;
    auto err = pool.submit_async(
        work{i, key},
        [book, slots, mixed, key, i](int slot) {
          int expected = -1;
          if (!(*slots)[static_cast<std::size_t>(key)].compare_exchange_strong(expected, slot) &&
              expected != slot)
            *mixed = true;
          book->value(i, slot);
        },
        [book, i](caf::error e) { book->error(i, e); }, {static_cast<uint64_t>(key), 20s});
    ASSERT_FALSE(err);
  }
  ASSERT_TRUE(book->wait_for(keys * per_key));
  EXPECT_FALSE(mixed->load()) << "a key ran on two workers";
  std::lock_guard guard{seen->mtx};
  for (int k = 0; k < keys; ++k) {
    auto& order = seen->order[static_cast<std::size_t>(k)];
    ASSERT_EQ(order.size(), static_cast<std::size_t>(per_key));
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << "key " << k;
  }
  pool.shutdown(5s);
}

TEST_F(worker_pool_test, BalancedDispatchDoesNotQueueJobsBehindASlowOne) {
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto pool = pool_of({}, [opened](work& w) {
    if (w.value == 1)
      opened.wait(); // the slow job holds its worker until the test opens the gate
    return w.id;
  });
  auto book = std::make_shared<answer_book>(101);
  submit(pool, book, work{100, 1});
  for (int i = 0; i < 100; ++i)
    submit(pool, book, work{i, 0});
  // All 100 quick jobs finish on the other worker while the slow one still runs.
  ASSERT_TRUE(book->wait_for(100));
  EXPECT_EQ(book->values_of(100), 0);
  EXPECT_EQ(pool.metrics().in_flight.size(), 2u);
  gate->set_value();
  ASSERT_TRUE(book->wait_for(101));
  pool.shutdown(5s);
}

TEST_F(worker_pool_test, ResizeStartsAndRetiresWorkersWithoutLosingJobs) {
  troupe::pool_options opts;
  opts.workers = 2;
  opts.dispatch = troupe::dispatch_policy::round_robin;
  auto pool = pool_of(opts, [](work& w) { return w.id; });
  EXPECT_FALSE(pool.resize(5));
  EXPECT_EQ(pool.metrics().workers, 5u);
  EXPECT_EQ(pool.supervisor().which_children().value().size(), 5u);
  auto book = std::make_shared<answer_book>(600);
  for (int i = 0; i < 300; ++i)
    submit(pool, book, work{i, 0});
  EXPECT_FALSE(pool.resize(1));
  for (int i = 300; i < 600; ++i)
    submit(pool, book, work{i, 0});
  ASSERT_TRUE(book->wait_for(600));
  for (int i = 0; i < 600; ++i)
    EXPECT_EQ(book->values_of(i), 1) << i;
  EXPECT_EQ(pool.metrics().workers, 1u);
  EXPECT_TRUE(troupe::test::eventually(
      [&] { return pool.supervisor().which_children().value().size() == 1u; }));
  EXPECT_EQ(pool.resize(0), troupe::config_errc::out_of_range);
  pool.shutdown(5s);
}

TEST_F(worker_pool_test, ShutdownDrainsAcceptedJobsAndRefusesNewOnes) {
  auto pool = pool_of({}, [](work& w) {
    std::this_thread::sleep_for(50us); // a job that takes a moment
    return w.id;
  });
  auto book = std::make_shared<answer_book>(500);
  for (int i = 0; i < 500; ++i)
    submit(pool, book, work{i, 0});
  auto report = pool.shutdown(20s);
  EXPECT_TRUE(report.drained);
  EXPECT_EQ(report.cancelled, 0u);
  EXPECT_EQ(book->total(), 500);
  for (int i = 0; i < 500; ++i)
    EXPECT_EQ(book->values_of(i), 1);
  EXPECT_EQ(pool.submit(work{1, 1}).error(), runtime_errc::shutting_down);
  EXPECT_EQ(pool.metrics().rejected, 1u);
}

// A crash while the pool drains is an ordinary crash: the worker is restarted and the queue
// drains. (The only worker's crash used to look like "the last worker left a closing pool",
// and the queued jobs were cancelled although the deadline was far.)
TEST_F(worker_pool_test, ACrashDuringShutdownDoesNotCancelTheQueuedJobs) {
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto first_attempts = std::make_shared<std::vector<std::atomic<int>>>(20);
  troupe::pool_options opts;
  opts.workers = 1;
  opts.max_retries = 1;
  auto pool = pool_of(opts, [opened, first_attempts](work& w) {
    if (w.id < 0)
      return 0; // a probe (below)
    if (w.id == 0)
      opened.wait(); // held until the pool is closing
    if ((*first_attempts)[static_cast<std::size_t>(w.id)].fetch_add(1) == 0)
      throw std::runtime_error("flaky");
    return w.id;
  });
  auto book = std::make_shared<answer_book>(20);
  for (int i = 0; i < 20; ++i)
    submit(pool, book, work{i, 0});
  troupe::pool_shutdown_report report;
  std::thread stopper{[&] { report = pool.shutdown(20s); }};
  // The pool refuses new jobs once shutdown closed it; then the held job crashes. (Probes
  // accepted before are ordinary jobs that do not crash.)
  while (!pool.submit_async(
      work{-1, 0}, [](int) {}, [](caf::error) {}))
    std::this_thread::yield();
  gate->set_value();
  stopper.join();
  EXPECT_TRUE(report.drained);
  EXPECT_EQ(report.cancelled, 0u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(book->values_of(i), 1) << "job " << i;
  EXPECT_EQ(pool.metrics().restarts, 20u);
}

TEST_F(worker_pool_test, ShutdownDeadlineAnswersTheRestWithCancelled) {
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  troupe::pool_options opts;
  opts.workers = 1;
  auto pool = pool_of(opts, [opened](work& w) {
    opened.wait();
    return w.id;
  });
  auto book = std::make_shared<answer_book>(10);
  for (int i = 0; i < 10; ++i)
    submit(pool, book, work{i, 0});
  std::thread opener{[gate, book] {
    // Opens the gate once the nine waiting jobs were cancelled.
    book->wait_for(9);
    gate->set_value();
  }};
  auto report = pool.shutdown(50ms);
  opener.join();
  EXPECT_FALSE(report.drained);
  ASSERT_TRUE(book->wait_for(10));
  int cancelled = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(book->values_of(i) + book->errors_of(i), 1);
    cancelled += book->errors_of(i);
  }
  EXPECT_EQ(cancelled, 9); // the running job finished, the queued ones were cancelled
  EXPECT_EQ(book->last_error(), runtime_errc::cancelled);
}

TEST_F(worker_pool_test, TheQueueBoundHoldsWithConcurrentSubmitters) {
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto entered = std::make_shared<std::latch>(1);
  troupe::pool_options opts;
  opts.workers = 1;
  opts.capacity = 8;
  auto pool = pool_of(opts, [opened, entered](work& w) {
    if (w.value == 1) {
      entered->count_down();
      opened.wait();
    }
    return w.id;
  });
  auto book = std::make_shared<answer_book>(201);
  submit(pool, book, work{200, 1});
  entered->wait(); // the worker is busy; nothing more leaves the queue
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t)
    submitters.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        submit(pool, book, work{t * 50 + i, 0});
    });
  ASSERT_TRUE(troupe::test::eventually([&] { return pool.metrics().queue_depth == 8u; }));
  EXPECT_EQ(pool.metrics().queue_depth, 8u); // full, and the submitters wait
  EXPECT_EQ(book->total(), 0);
  gate->set_value();
  for (auto& s : submitters)
    s.join();
  ASSERT_TRUE(book->wait_for(201));
  EXPECT_EQ(pool.metrics().rejected, 0u);
  pool.shutdown(5s);
}

TEST_F(worker_pool_test, OverflowPoliciesFailDropNewestAndDropOldest) {
  auto run = [&](troupe::overflow_policy policy) {
    auto gate = std::make_shared<std::promise<void>>();
    auto opened = gate->get_future().share();
    auto entered = std::make_shared<std::latch>(1);
    troupe::pool_options opts;
    opts.workers = 1;
    opts.capacity = 2;
    opts.overflow = policy;
    auto pool = pool_of(opts, [opened, entered](work& w) {
      if (w.value == 1) {
        entered->count_down();
        opened.wait();
      }
      return w.id;
    });
    auto book = std::make_shared<answer_book>(5);
    submit(pool, book, work{0, 1});
    entered->wait();
    std::vector<caf::error> refused;
    for (int i = 1; i < 5; ++i) {
      auto id = i;
      auto err = pool.submit_async(
          work{i, 0}, [book, id](int v) { book->value(id, v); },
          [book, id](caf::error e) { book->error(id, e); });
      if (err)
        refused.push_back(err);
    }
    gate->set_value();
    return std::make_tuple(std::move(pool), book, refused);
  };
  {
    auto [pool, book, refused] = run(troupe::overflow_policy::fail);
    ASSERT_EQ(refused.size(), 2u);
    EXPECT_EQ(refused[0], mailbox_errc::mailbox_full);
    ASSERT_TRUE(book->wait_for(3));
    EXPECT_EQ(book->values_of(1) + book->values_of(2), 2);
    EXPECT_EQ(pool.metrics().rejected, 2u);
    pool.shutdown(5s);
  }
  {
    auto [pool, book, refused] = run(troupe::overflow_policy::drop_newest);
    ASSERT_EQ(refused.size(), 2u);
    ASSERT_TRUE(book->wait_for(3));
    EXPECT_EQ(book->values_of(3) + book->values_of(4), 0);
    EXPECT_EQ(pool.metrics().dropped, 2u);
    pool.shutdown(5s);
  }
  {
    auto [pool, book, refused] = run(troupe::overflow_policy::drop_oldest);
    EXPECT_TRUE(refused.empty());
    ASSERT_TRUE(book->wait_for(5));
    EXPECT_EQ(book->errors_of(1) + book->errors_of(2), 2); // evicted by 3 and 4
    EXPECT_EQ(book->values_of(3) + book->values_of(4), 2);
    EXPECT_EQ(book->last_error(), mailbox_errc::mailbox_full);
    EXPECT_EQ(pool.metrics().dropped, 2u);
    pool.shutdown(5s);
  }
}

TEST_F(worker_pool_test, ATroupeActorGetsItsAnswersOnItself) {
  struct go {};
  auto pool = pool_of({}, [](work& w) { return w.value + 1; });
  auto total = std::make_shared<std::promise<int>>();
  auto result = total->get_future();
  auto driver = troupe::spawn_mailbox<go>(*rt, {}, [pool, total](auto* self) {
                  return troupe::handlers{[self, pool, total](go&) {
                    auto sum = std::make_shared<int>(0);
                    auto left = std::make_shared<int>(100);
                    for (int i = 0; i < 100; ++i)
                      pool.submit(self, work{i, i})
                          .then(
                              [sum, left, total](int v) {
                                *sum += v; // runs on the driver: no race
                                if (--*left == 0)
                                  total->set_value(*sum);
                              },
                              [total](caf::error) { total->set_value(-1); });
                  }};
                }).value();
  driver.send(go{});
  ASSERT_EQ(result.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(result.get(), 100 * 101 / 2);
  caf::anon_send_exit(driver.actor(), caf::exit_reason::user_shutdown);
  pool.shutdown(5s);
}

TEST_F(worker_pool_test, JobsCanRunOnTheBlockingPoolAndCrashThere) {
  troupe::pool_options opts;
  opts.run_on_blocking_pool = true;
  opts.max_retries = 1;
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto pool = pool_of(opts, [runs](work& w) {
    if (w.value == 1 && runs->fetch_add(1) == 0)
      throw std::runtime_error("first run fails");
    std::this_thread::sleep_for(1ms); // blocking is fine here
    return w.id * 10;
  });
  EXPECT_EQ(pool.submit(work{4, 0}).value(), 40);
  EXPECT_EQ(pool.submit(work{5, 1}).value(), 50); // retried once after the crash
  EXPECT_EQ(pool.metrics().retried, 1u);
  EXPECT_TRUE(pool.shutdown(5s).drained);
}

// A worker that waits for its job on the blocking pool takes no other job until it comes back:
// a job submitted meanwhile must wake the other worker, not the waiting one (which went back to
// sleep without taking it, and the job waited for the slow one).
TEST_F(worker_pool_test, AJobIsNotHeldBackByAWorkerWaitingForTheBlockingPool) {
  troupe::pool_options opts;
  opts.workers = 2;
  opts.run_on_blocking_pool = true;
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto slow_started = std::make_shared<std::promise<void>>();
  auto pool = pool_of(opts, [opened, slow_started](work& w) {
    if (w.value == 1) {
      slow_started->set_value();
      opened.wait(); // holds its blocking-pool thread, and its worker waits for it
    }
    return w.id;
  });
  auto book = std::make_shared<answer_book>(21);
  submit(pool, book, work{20, 1});
  slow_started->get_future().wait();
  // One at a time: each finds the worker that ran the last one idle again.
  for (int i = 0; i < 20; ++i) {
    auto answer = pool.submit(work{i, 0}, 5s);
    ASSERT_TRUE(answer) << "job " << i << ": " << troupe::render(answer.error());
    EXPECT_EQ(*answer, i);
  }
  EXPECT_EQ(book->values_of(20), 0);
  gate->set_value();
  ASSERT_TRUE(book->wait_for(1));
  EXPECT_EQ(book->values_of(20), 1);
  EXPECT_TRUE(pool.shutdown(5s).drained);
}

TEST_F(worker_pool_test, InvalidOptionsAreRejectedNamingTheField) {
  troupe::pool_options opts;
  opts.workers = 0;
  auto pool =
      troupe::spawn_pool<work>(*rt, opts, [](std::size_t) { return [](work&) { return 0; }; });
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error(), troupe::config_errc::out_of_range);
  EXPECT_NE(troupe::render(pool.error()).find("workers"), std::string::npos);
  opts.workers = 1;
  opts.capacity = 0;
  pool = troupe::spawn_pool<work>(*rt, opts, [](std::size_t) { return [](work&) { return 0; }; });
  ASSERT_FALSE(pool);
  EXPECT_NE(troupe::render(pool.error()).find("capacity"), std::string::npos);
}

TEST_F(worker_pool_test, MetricsSerializeToJson) {
  auto pool = pool_of({}, [](work& w) { return w.id; });
  for (int i = 0; i < 64; ++i)
    ASSERT_TRUE(pool.submit(work{i, 0}));
  nlohmann::json j = pool.metrics();
  EXPECT_EQ(j["completed"], 64);
  EXPECT_EQ(j["capacity"], 1024);
  EXPECT_EQ(j["workers"], 2);
  EXPECT_EQ(j["in_flight"].size(), 2u);
  EXPECT_GT(j["latency_p50_us"].get<double>(), 0.0);
  pool.shutdown(5s);
}

TEST(latency_histogram, PercentilesFallInTheRightQuarterOctave) {
  troupe::detail::latency_histogram h;
  EXPECT_EQ(h.percentile(0.5), 0u);
  // Recorded from five recorders: the stripes they count in add up.
  for (std::size_t i = 0; i < 99; ++i)
    h.record(i % 5, 1000);
  h.record(3, 1'000'000);
  EXPECT_GE(h.percentile(0.5), 1000u);
  EXPECT_LT(h.percentile(0.5), 1200u);
  EXPECT_GE(h.percentile(1.0), 1'000'000u);
  EXPECT_LT(h.percentile(1.0), 1'200'000u);
}

} // namespace

// -- flow control: on_queued runs once per accepted job (issue: it ran only for parked jobs) ---

TEST_F(worker_pool_test, OnQueuedRunsExactlyOncePerAcceptedJobParkedOrNot) {
  struct go {};
  struct report {
    using reply_type = std::vector<int>; // on_queued calls, accepted at once, parked, answered
  };
  troupe::pool_options opts;
  opts.workers = 2;
  opts.capacity = 4; // 200 jobs through a queue of 4: many park, the first are accepted at once
  auto pool = pool_of(opts, [](work& w) { return w.value; });
  constexpr int n = 200;
  // Only touched by the driver (on_queued and the answers run on it).
  struct flow {
    int next = 0;
    int queued_calls = 0;
    int accepted_at_once = 0;
    int parked = 0;
    int answered = 0;
    std::promise<void> done;
    void check_done() {
      if (queued_calls == n && answered == n)
        done.set_value();
    }
  };
  auto st = std::make_shared<flow>();
  auto finished = st->done.get_future();
  auto driver =
      troupe::spawn_mailbox<go, report>(*rt, {}, [pool, st](auto* self) {
        // The README's form: submit the next job from on_queued, no loop.
        auto feed = std::make_shared<std::function<void()>>();
        std::weak_ptr<std::function<void()>> weak = feed;
        *feed = [self, pool, st, weak] {
          if (st->next >= n)
            return;
          auto i = st->next++;
          auto status = pool.submit(
              self, work{i, i},
              [st](int) {
                ++st->answered;
                st->check_done();
              },
              [](caf::error) {},
              [st, weak] {
                ++st->queued_calls;
                st->check_done();
                if (auto f = weak.lock())
                  (*f)();
              });
          ASSERT_TRUE(status) << troupe::render(status.error());
          (*status == troupe::worker_pool<work>::submit_status::parked ? st->parked
                                                                       : st->accepted_at_once) += 1;
        };
        return troupe::handlers{
            [feed](go&) { (*feed)(); },
            [st](report&) {
              return std::vector<int>{st->queued_calls, st->accepted_at_once, st->parked,
                                      st->answered};
            },
        };
      }).value();
  (void)driver.send(go{});
  ASSERT_EQ(finished.wait_for(20s), std::future_status::ready) << "the flow stalled";
  // Asked after the end: a report queued behind any stray on_queued would count it.
  auto counts = troupe::ask(driver, report{}, 10s);
  ASSERT_TRUE(counts) << troupe::render(counts.error());
  EXPECT_EQ((*counts)[0], n);
  EXPECT_EQ((*counts)[1] + (*counts)[2], n);
  EXPECT_GT((*counts)[1], 0);
  EXPECT_EQ((*counts)[3], n);
  caf::anon_send_exit(driver.actor(), caf::exit_reason::user_shutdown);
  pool.shutdown(5s);
}

// The try_send form of flow control (worker_pool::submit's comment; the benchmark's feeder):
// without on_queued a full queue refuses the job with mailbox_full and runs neither callback;
// the refused job submitted again with on_queued parks, and every job is answered once.
TEST_F(worker_pool_test, WithoutOnQueuedAFullQueueRefusesTheJobAndItCanParkAfterwards) {
  struct go {};
  troupe::pool_options opts;
  opts.workers = 1;
  opts.capacity = 2;
  std::promise<void> release;
  auto released = release.get_future().share();
  // The one worker holds its first job until released: the queue fills.
  auto pool = pool_of(opts, [released](work& w) {
    released.wait();
    return w.value;
  });
  struct flow {
    int refused_at = -1; // only the driver writes these two
    bool resubmitted_parked = false;
    std::atomic<int> answered{0};
    std::atomic<int> errors{0};
    std::atomic<int> queued_calls{0};
    std::promise<void> submitted;
  };
  auto st = std::make_shared<flow>();
  auto driver = troupe::spawn_mailbox<go>(*rt, {}, [pool, st](auto* self) {
                  auto on_value = [st](int) { st->answered.fetch_add(1); };
                  auto on_error = [st](caf::error) { st->errors.fetch_add(1); };
                  return troupe::handlers{[self, pool, st, on_value, on_error](go&) {
                    for (int i = 0; i < 10; ++i) {
                      auto status = pool.submit_async(self, work{i, i}, on_value, on_error, {});
                      if (status)
                        continue;
                      EXPECT_EQ(status.error(), troupe::mailbox_errc::mailbox_full);
                      st->refused_at = i;
                      auto again = pool.submit_async(self, work{i, i}, on_value, on_error,
                                                     [st] { st->queued_calls.fetch_add(1); });
                      st->resubmitted_parked =
                          again && *again == troupe::worker_pool<work>::submit_status::parked;
                      break;
                    }
                    st->submitted.set_value();
                  }};
                }).value();
  (void)driver.send(go{});
  ASSERT_EQ(st->submitted.get_future().wait_for(10s), std::future_status::ready);
  // One job in the worker's hands or still queued, two queued: the third or the fourth job
  // finds the queue full.
  EXPECT_TRUE(st->refused_at == 2 || st->refused_at == 3) << st->refused_at;
  EXPECT_TRUE(st->resubmitted_parked);
  release.set_value();
  const int expected = st->refused_at + 1;
  ASSERT_TRUE(troupe::test::eventually([&] { return st->answered.load() == expected; }))
      << st->answered.load() << " of " << expected << " answered";
  EXPECT_EQ(st->errors.load(), 0) << "a refused job ran a callback";
  // on_queued runs on the driver once the parked job entered the queue.
  EXPECT_TRUE(troupe::test::eventually([&] { return st->queued_calls.load() == 1; }));
  EXPECT_TRUE(pool.shutdown(5s).drained);
  EXPECT_EQ(st->answered.load(), expected) << "a job was answered twice";
  EXPECT_EQ(st->queued_calls.load(), 1);
  caf::anon_send_exit(driver.actor(), caf::exit_reason::user_shutdown);
}

// -- one deadline per thread-side submit ------------------------------------------------------
// A pool of one worker with a queue of one, the worker blocked in its handler: a thread's
// submit waits for room, and its one timeout covers that wait and the wait for the answer.
// (With a queue of one, the ring took a full cell for a free one: the third job overwrote the
// second, and the worker then spun forever looking for the overwritten one.)

TEST_F(worker_pool_test, ThreadSubmitToAFullPoolEndsWithItsTypedErrorWhileTheHandlerBlocks) {
  auto entered = std::make_shared<std::promise<void>>();
  auto gate = std::make_shared<std::latch>(1);
  troupe::pool_options opts;
  opts.workers = 1;
  opts.capacity = 1;
  auto pool = pool_of(opts, [entered, gate](work& w) {
    if (w.id == 0) {
      entered->set_value();
      gate->wait();
    }
    return w.value;
  });
  auto book = std::make_shared<answer_book>(3);
  submit(pool, book, work{0, 10}); // runs and blocks
  ASSERT_EQ(entered->get_future().wait_for(10s), std::future_status::ready);
  submit(pool, book, work{1, 11}); // fills the queue
  auto late = pool.submit(work{2, 12}, 200ms);
  ASSERT_FALSE(late);
  // No room before the deadline: the queue was full for the whole wait (not accepted).
  EXPECT_EQ(late.error(), mailbox_errc::mailbox_full) << troupe::render(late.error());
  gate->count_down();
  ASSERT_TRUE(book->wait_for(2));
  EXPECT_EQ(book->values_of(0), 1);
  EXPECT_EQ(book->values_of(1), 1);
  auto report = pool.shutdown(5s);
  EXPECT_TRUE(report.drained);
  EXPECT_EQ(pool.metrics().completed, 2u);
}

TEST_F(worker_pool_test, ThreadSubmitHasOneDeadlineForRoomAndAnswer) {
  auto entered = std::make_shared<std::promise<void>>();
  auto first_gate = std::make_shared<std::latch>(1);
  auto second_gate = std::make_shared<std::latch>(1);
  troupe::pool_options opts;
  opts.workers = 1;
  opts.capacity = 1;
  auto pool = pool_of(opts, [entered, first_gate, second_gate](work& w) {
    if (w.id == 0) {
      entered->set_value();
      first_gate->wait();
    } else if (w.id == 1) {
      second_gate->wait();
    }
    return w.value;
  });
  auto book = std::make_shared<answer_book>(2);
  submit(pool, book, work{0, 10}); // runs and blocks on the first gate
  ASSERT_EQ(entered->get_future().wait_for(10s), std::future_status::ready);
  submit(pool, book, work{1, 11}); // fills the queue; runs (and blocks) once job 0 returns
  // Room appears at 400 ms; job 2 then waits behind job 1, whose gate opens at 2.2 s and lets
  // job 2 be answered at once. With one deadline the call has ended at 2 s with
  // request_timeout; with a deadline per wait (room, then 2 s more for the answer) it would
  // still be waiting at 2.2 s and get the answer. The delays are the behaviour under test, not
  // a synchronisation.
  constexpr auto timeout = 2000ms;
  auto t0 = std::chrono::steady_clock::now();
  std::thread opener{[first_gate, second_gate, t0, timeout] {
    std::this_thread::sleep_until(t0 + 400ms);
    first_gate->count_down();
    std::this_thread::sleep_until(t0 + timeout + 200ms);
    second_gate->count_down();
  }};
  auto late = pool.submit(work{2, 12}, timeout);
  opener.join();
  ASSERT_FALSE(late) << "answered after its deadline: the timeout was applied twice";
  EXPECT_EQ(late.error(), mailbox_errc::request_timeout) << troupe::render(late.error());
  ASSERT_TRUE(book->wait_for(2));
  auto report = pool.shutdown(5s);
  EXPECT_TRUE(report.drained);
  EXPECT_EQ(pool.metrics().completed, 3u) << "job 2 was accepted and answered (to nobody)";
}

// -- a parked job wakes the worker whose queue it entered ------------------------------------
// Key affinity, three workers, a queue of one. Worker 0 is held in job A while job B waits in
// its queue; an actor's job C for key 2 parks. When worker 0 finishes A and takes B, C enters
// worker 2's queue: worker 2 must be woken for it. (It used to wake the first idle worker,
// worker 1, which found nothing to do, and C waited forever.)
TEST_F(worker_pool_test, AParkedJobWakesTheWorkerWhoseQueueItEntered) {
  struct go {};
  troupe::pool_options opts;
  opts.workers = 3;
  opts.capacity = 1;
  opts.dispatch = troupe::dispatch_policy::key_affinity;
  auto started = std::make_shared<std::latch>(1);
  std::promise<void> release;
  auto released = release.get_future().share();
  auto pool = pool_of(opts, [started, released](work& w) {
    if (w.id == 0) {
      started->count_down();
      released.wait();
    }
    return w.value;
  });
  auto book = std::make_shared<answer_book>(3);
  submit(pool, book, work{0, 10}, 0);
  started->wait();
  submit(pool, book, work{1, 11}, 0); // worker 0's queue: now the pool is full
  struct flow {
    std::promise<bool> parked;
    std::atomic<int> queued_calls{0};
  };
  auto st = std::make_shared<flow>();
  auto driver = troupe::spawn_mailbox<go>(*rt, {}, [pool, st, book](auto* self) {
                  return troupe::handlers{[self, pool, st, book](go&) {
                    auto status = pool.submit_async(
                        self, work{2, 12}, [book](int v) { book->value(2, v); },
                        [book](caf::error e) { book->error(2, e); },
                        [st] { st->queued_calls.fetch_add(1); }, 2);
                    st->parked.set_value(
                        status && *status == troupe::worker_pool<work>::submit_status::parked);
                  }};
                }).value();
  (void)driver.send(go{});
  auto parked = st->parked.get_future();
  ASSERT_EQ(parked.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(parked.get()) << "job C should have found the pool full";
  release.set_value();
  ASSERT_TRUE(book->wait_for(3, 10s)) << book->total() << " of 3 jobs answered";
  for (int id = 0; id < 3; ++id) {
    EXPECT_EQ(book->values_of(id), 1) << "job " << id;
    EXPECT_EQ(book->errors_of(id), 0) << "job " << id;
  }
  EXPECT_TRUE(troupe::test::eventually([&] { return st->queued_calls.load() == 1; }));
  EXPECT_TRUE(pool.shutdown(5s).drained);
  caf::anon_send_exit(driver.actor(), caf::exit_reason::user_shutdown);
}

// -- posted jobs (no answer) ---------------------------------------------------------------------

// Runs per job id, to check that each posted job ran exactly once.
struct run_counts {
  explicit run_counts(int n) : runs(static_cast<std::size_t>(n)) {}
  std::vector<std::atomic<int>> runs;
  int ran(int id) const { return runs[static_cast<std::size_t>(id)].load(); }
};

TEST_F(worker_pool_test, PostedJobsRunOnceEachAndAreCountedAsCompleted) {
  constexpr int n = 2000;
  auto counts = std::make_shared<run_counts>(n);
  troupe::pool_options opts;
  opts.workers = 2;
  opts.capacity = 16; // the thread waits for room again and again
  auto pool = pool_of(opts, [counts](work& w) {
    counts->runs[static_cast<std::size_t>(w.id)].fetch_add(1);
    return w.value;
  });
  for (int i = 0; i < n; ++i)
    ASSERT_FALSE(pool.post(work{i, i}));
  // Shutting down drains first: once it returns, every accepted job ran.
  EXPECT_TRUE(pool.shutdown(20s).drained);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(counts->ran(i), 1) << "job " << i;
  auto m = pool.metrics();
  EXPECT_EQ(m.completed, static_cast<uint64_t>(n));
  EXPECT_EQ(m.failed, 0u);
  EXPECT_EQ(m.rejected, 0u);
  EXPECT_EQ(pool.post(work{n, 0}), runtime_errc::shutting_down);
}

// An actor posts with flow control, as it submits: while the queue takes jobs it posts without
// on_queued (a full queue refuses the job); the refused one it posts again with on_queued, which
// parks it and resumes the loop once it is in the queue. Each refusal counts as a rejection (as
// a refused submit does).
TEST_F(worker_pool_test, AnActorPostsUnderBackpressureAndEveryJobRunsOnce) {
  struct go {};
  constexpr int n = 500;
  auto counts = std::make_shared<run_counts>(n);
  troupe::pool_options opts;
  opts.workers = 2;
  opts.capacity = 4;
  auto pool = pool_of(opts, [counts](work& w) {
    counts->runs[static_cast<std::size_t>(w.id)].fetch_add(1);
    return w.value;
  });
  struct flow {
    int next = 0; // only touched by the poster
    int parked = 0;
    int refused = 0;
    std::promise<void> posted; // once every job is in the queue
  };
  auto st = std::make_shared<flow>();
  auto done = st->posted.get_future();
  auto poster = troupe::spawn_mailbox<go>(*rt, {}, [pool, st](auto* self) {
                  auto feed = std::make_shared<std::function<void()>>();
                  std::weak_ptr<std::function<void()>> weak = feed;
                  *feed = [self, pool, st, weak] {
                    while (st->next < n) {
                      auto r = pool.post(self, work{st->next, 0}, {});
                      if (r) {
                        ++st->next;
                        continue;
                      }
                      ASSERT_EQ(r.error(), mailbox_errc::mailbox_full);
                      ++st->refused;
                      auto parked = pool.post(self, work{st->next++, 0}, [weak] {
                        if (auto f = weak.lock())
                          (*f)();
                      });
                      ASSERT_TRUE(parked) << troupe::render(parked.error());
                      if (*parked == troupe::worker_pool<work>::submit_status::parked)
                        ++st->parked;
                      return;
                    }
                    st->posted.set_value();
                  };
                  return troupe::handlers{[feed](go&) { (*feed)(); }};
                }).value();
  (void)poster.send(go{});
  ASSERT_EQ(done.wait_for(20s), std::future_status::ready) << "the poster stalled";
  EXPECT_TRUE(pool.shutdown(20s).drained);
  // Read after the poster finished (the promise orders its writes before).
  EXPECT_GT(st->parked, 0) << "500 jobs through a queue of 4 should have parked";
  EXPECT_GE(st->refused, st->parked);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(counts->ran(i), 1) << "job " << i;
  auto m = pool.metrics();
  EXPECT_EQ(m.completed, static_cast<uint64_t>(n));
  EXPECT_EQ(m.rejected, static_cast<uint64_t>(st->refused));
  caf::anon_send_exit(poster.actor(), caf::exit_reason::user_shutdown);
}

// Posted jobs the pool stops before they run are counted as cancelled, as submitted ones are
// answered with cancelled.
TEST_F(worker_pool_test, PostedJobsThePoolStopsBeforeTheyRunAreCountedAsCancelled) {
  auto gate = std::make_shared<std::promise<void>>();
  auto opened = gate->get_future().share();
  auto started = std::make_shared<std::promise<void>>();
  troupe::pool_options opts;
  opts.workers = 1;
  auto pool = pool_of(opts, [opened, started](work& w) {
    if (w.id == 0)
      started->set_value();
    opened.wait();
    return w.id;
  });
  for (int i = 0; i < 10; ++i)
    ASSERT_FALSE(pool.post(work{i, 0}));
  started->get_future().wait(); // job 0 runs: the nine others wait in the queue
  std::thread opener{[gate, pool] {
    // Opens the gate once the nine waiting jobs were cancelled.
    EXPECT_TRUE(troupe::test::eventually([&] { return pool.metrics().cancelled == 9u; }, 20s));
    gate->set_value();
  }};
  auto report = pool.shutdown(50ms);
  opener.join();
  EXPECT_FALSE(report.drained);
  EXPECT_EQ(report.cancelled, 9u);
  EXPECT_TRUE(troupe::test::eventually([&] { return pool.metrics().completed == 1u; }));
  EXPECT_EQ(pool.metrics().cancelled, 9u);
}

// A posted job that runs on the blocking pool ends as one that runs on the worker: its result
// counted as completed, its crash with no retries left as failed.
TEST_F(worker_pool_test, PostedJobsOnTheBlockingPoolAreCountedToo) {
  troupe::pool_options opts;
  opts.run_on_blocking_pool = true;
  opts.max_retries = 0;
  auto pool = pool_of(opts, [](work& w) {
    if (w.value == 1)
      throw std::runtime_error("bad job");
    return w.id;
  });
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(pool.post(work{i, i == 2 ? 1 : 0}));
  EXPECT_TRUE(pool.shutdown(10s).drained);
  auto m = pool.metrics();
  EXPECT_EQ(m.completed, 4u);
  EXPECT_EQ(m.failed, 1u);
  EXPECT_EQ(m.retried, 0u);
}

// With a throughput of one job per turn, every worker's turn ends with jobs left: it sets no
// idle hint and runs again without a wake-up; the turn that finds the queue empty sets the hint
// and blocks. Several threads post meanwhile, waking workers whose hints they find set. Every
// job runs (no wake-up lost, without a shutdown's drain to help), and then both scheduler
// workers sleep (no pool worker keeps turning without work).
TEST(worker_pool_turns, WorkersWhoseEveryTurnRunsOutTakeEveryJobAndThenLetTheSchedulerSleep) {
  auto cfg = troupe::test::runtime_fixture::default_config();
  cfg.max_throughput = 1;
  troupe::runtime rt{cfg};
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  constexpr int n = threads * per_thread;
  auto counts = std::make_shared<run_counts>(n);
  troupe::pool_options opts;
  opts.workers = 2;
  opts.capacity = 64;
  auto pool = troupe::spawn_pool<work>(rt, opts, [counts](std::size_t) {
    return [counts](work& w) {
      counts->runs[static_cast<std::size_t>(w.id)].fetch_add(1);
      return w.value;
    };
  });
  ASSERT_TRUE(pool) << troupe::render(pool.error());
  std::vector<std::thread> posters;
  for (int t = 0; t < threads; ++t)
    posters.emplace_back([&, t] {
      for (int i = t * per_thread; i < (t + 1) * per_thread; ++i)
        EXPECT_FALSE(pool->post(work{i, i}));
    });
  for (auto& p : posters)
    p.join();
  ASSERT_TRUE(troupe::test::eventually([&] { return pool->metrics().completed == n; }, 30s))
      << pool->metrics().completed << " of " << n << " jobs ran";
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(counts->ran(i), 1) << "job " << i;
  EXPECT_TRUE(troupe::test::eventually([&] {
    auto s = rt.scheduler_stats();
    return s.per_worker[0].sleeping && s.per_worker[1].sleeping;
  })) << "a scheduler worker kept running with the pool idle";
  EXPECT_TRUE(pool->shutdown(10s).drained);
}
