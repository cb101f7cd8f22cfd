// Worker-polled I/O (io_driver.hpp): idle workers run an attached event loop one at a time, are
// woken out of it for work from elsewhere, keep polling it while busy, and stop when detached.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/io_driver.hpp"
#include "troupe/scheduler/work_stealing.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// An event loop whose events are functions posted to it: poll(true) waits until one is posted
// or wake() is called. It fails the test when two threads poll at once or one polls after
// detach_io() returned.
class posted_jobs_driver : public io_driver {
public:
  void post(std::function<void()> job) {
    std::lock_guard guard{mtx_};
    jobs_.push_back(std::move(job));
    cv_.notify_all();
  }

  bool poll(bool block) override {
    EXPECT_FALSE(in_poll_.exchange(true)) << "two threads poll at once";
    EXPECT_FALSE(detached_.load()) << "polled after detach_io returned";
    std::vector<std::function<void()>> jobs;
    {
      std::unique_lock guard{mtx_};
      if (block) {
        waiting_ = true;
        cv_.wait(guard, [&] { return !jobs_.empty() || woken_; });
        waiting_ = false;
        ++blocking_polls_;
      }
      woken_ = false;
      jobs.swap(jobs_);
    }
    for (auto& job : jobs)
      job();
    polls_.fetch_add(1);
    in_poll_.store(false);
    return !jobs.empty();
  }

  void wake() override {
    std::lock_guard guard{mtx_};
    woken_ = true;
    ++wakes_;
    cv_.notify_all();
  }

  void detached() { detached_.store(true); }

  bool waiting() {
    std::lock_guard guard{mtx_};
    return waiting_;
  }
  uint64_t wakes() {
    std::lock_guard guard{mtx_};
    return wakes_;
  }
  uint64_t blocking_polls() {
    std::lock_guard guard{mtx_};
    return blocking_polls_;
  }
  uint64_t polls() const { return polls_.load(); }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> jobs_;
  bool woken_ = false;
  bool waiting_ = false;
  uint64_t wakes_ = 0;
  uint64_t blocking_polls_ = 0;
  std::atomic<uint64_t> polls_{0};
  std::atomic<bool> in_poll_{false};
  std::atomic<bool> detached_{false};
};

class plain_job : public caf::resumable, public caf::ref_counted {
public:
  explicit plain_job(std::function<resume_result()> body) : body_(std::move(body)) {}
  subtype_t subtype() const override { return function_object; }
  void intrusive_ptr_add_ref_impl() override { ref(); }
  void intrusive_ptr_release_impl() override { deref(); }
  resume_result resume(caf::execution_unit*, size_t) override { return body_(); }

private:
  std::function<resume_result()> body_;
};

void enqueue(runtime& rt, std::function<caf::resumable::resume_result()> body) {
  rt.system().scheduler().enqueue(new plain_job(std::move(body)));
}

} // namespace

TEST(WorkerPolledIo, IdleWorkersRunTheDriverOneAtATimeUntilDetached) {
  runtime rt{test::workers_config(4)};
  posted_jobs_driver driver;
  ASSERT_TRUE(work_stealing::attach_io(rt.system(), driver));
  EXPECT_FALSE(work_stealing::attach_io(rt.system(), driver)) << "one driver at a time";
  ASSERT_TRUE(test::eventually([&] { return driver.waiting(); })) << "no worker waits in it";
  // Events from several threads, each scheduling a job as a socket's message wakes an actor.
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::atomic<int> ran{0};
  std::latch done{threads * per_thread};
  std::vector<std::thread> posters;
  for (int t = 0; t < threads; ++t)
    posters.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i)
        driver.post([&] {
          enqueue(rt, [&] {
            ++ran;
            done.count_down();
            return caf::resumable::done;
          });
        });
    });
  for (auto& p : posters)
    p.join();
  done.wait();
  EXPECT_EQ(ran.load(), threads * per_thread);
  EXPECT_GT(driver.blocking_polls(), 0u);
  work_stealing::detach_io(rt.system());
  driver.detached();
  // The workers park on their condition variable from now on: none may poll (checked in poll).
  std::latch more{100};
  for (int i = 0; i < 100; ++i)
    enqueue(rt, [&] {
      more.count_down();
      return caf::resumable::done;
    });
  more.wait();
  ASSERT_TRUE(test::eventually([&] {
    auto s = rt.scheduler_stats();
    for (auto& w : s.per_worker)
      if (!w.sleeping)
        return false;
    return true;
  }));
  posted_jobs_driver next; // attachable again once detached
  EXPECT_TRUE(work_stealing::attach_io(rt.system(), next));
  work_stealing::detach_io(rt.system());
  next.detached();
}

TEST(WorkerPolledIo, WorkFromOutsideWakesTheOnlyWorkerOutOfTheDriver) {
  runtime rt{test::workers_config(1)};
  posted_jobs_driver driver;
  ASSERT_TRUE(work_stealing::attach_io(rt.system(), driver));
  for (int round = 0; round < 50; ++round) {
    ASSERT_TRUE(test::eventually([&] { return driver.waiting(); })) << "round " << round;
    std::latch done{1};
    enqueue(rt, [&] {
      done.count_down();
      return caf::resumable::done;
    });
    ASSERT_TRUE(test::eventually([&] { return done.try_wait(); }))
        << "lost wake-up, round " << round;
  }
  EXPECT_GE(driver.wakes(), 50u);
  work_stealing::detach_io(rt.system());
  driver.detached();
}

TEST(WorkerPolledIo, ABusyWorkerStillPollsTheDriver) {
  // The only worker runs a job that yields until an event of the driver ran: only the polls a
  // busy worker makes between jobs can run it.
  runtime rt{test::workers_config(1)};
  posted_jobs_driver driver;
  ASSERT_TRUE(work_stealing::attach_io(rt.system(), driver));
  std::atomic<bool> event_ran{false};
  std::atomic<bool> gave_up{false};
  std::latch done{1};
  std::atomic<bool> started{false};
  enqueue(rt, [&, turns = 0]() mutable {
    started.store(true);
    if (!event_ran.load() && ++turns < 10'000'000)
      return caf::resumable::resume_later;
    gave_up.store(!event_ran.load());
    done.count_down();
    return caf::resumable::done;
  });
  ASSERT_TRUE(test::eventually([&] { return started.load(); }));
  driver.post([&] { event_ran.store(true); });
  done.wait();
  EXPECT_FALSE(gave_up.load()) << "the driver was not polled while its worker was busy";
  work_stealing::detach_io(rt.system());
  driver.detached();
}

TEST(WorkerPolledIo, TheWatchdogPollsForAStuckWorkerAndHandsTheDriverBack) {
  // A handler that waits for the network (a synchronous call in an actor) holds the only
  // worker: the watchdog polls for it, or the wait would never end. It keeps polling while its
  // polls run something; the worker, released by one of them, may run out of work and park
  // while the watchdog still holds the role. Unless the watchdog hands the role over, no one
  // waits in the driver and a later event never runs (nothing wakes the parked worker).
  // Rounds widen the window.
  runtime rt{test::workers_config(1)};
  posted_jobs_driver driver;
  ASSERT_TRUE(work_stealing::attach_io(rt.system(), driver));
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(test::eventually([&] { return driver.waiting(); })) << "round " << round;
    std::latch answered{1};
    std::latch done{1};
    std::atomic<bool> started{false};
    enqueue(rt, [&] {
      started.store(true);
      answered.wait();
      done.count_down();
      return caf::resumable::done;
    });
    ASSERT_TRUE(test::eventually([&] { return started.load(); }));
    driver.post([&] { answered.count_down(); });
    // Keep the watchdog's loop busy after the release.
    for (int i = 0; i < 32; ++i)
      driver.post([] {});
    ASSERT_TRUE(test::eventually([&] { return done.try_wait(); }))
        << "the stuck worker's wait never ended, round " << round;
    std::latch later{1};
    driver.post([&] { later.count_down(); });
    ASSERT_TRUE(test::eventually([&] { return later.try_wait(); }))
        << "no one polls the driver after round " << round;
  }
  work_stealing::detach_io(rt.system());
  driver.detached();
}
