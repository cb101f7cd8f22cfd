#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace troupe::test {

/// Per-test deadline from TROUPE_TEST_DEADLINE_S (default 60 s; sanitizer runs raise it).
inline std::chrono::seconds default_test_deadline() {
  if (const char* s = std::getenv("TROUPE_TEST_DEADLINE_S"))
    return std::chrono::seconds{std::max(1, std::atoi(s))};
  return std::chrono::seconds{60};
}

/// Aborts the process, naming the test, when one test runs longer than the deadline. A hung
/// test thus fails fast and visibly; ctest reports the abort as a failure.
class deadline_listener : public ::testing::EmptyTestEventListener {
public:
  explicit deadline_listener(std::chrono::seconds deadline) : deadline_(deadline) {
    watchdog_ = std::thread{[this] { watch(); }};
  }

  ~deadline_listener() override {
    {
      std::lock_guard guard{mtx_};
      quit_ = true;
    }
    changed_.notify_all();
    watchdog_.join();
  }

  void OnTestStart(const ::testing::TestInfo& info) override {
    std::lock_guard guard{mtx_};
    current_ = std::string{info.test_suite_name()} + "." + info.name();
    started_ = std::chrono::steady_clock::now();
    running_ = true;
    changed_.notify_all();
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard guard{mtx_};
    running_ = false;
    changed_.notify_all();
  }

private:
  void watch() {
    std::unique_lock guard{mtx_};
    while (!quit_) {
      if (!running_) {
        changed_.wait(guard);
        continue;
      }
      auto until = started_ + deadline_;
      auto test = current_;
      if (changed_.wait_until(guard, until, [&] { return quit_ || !running_ || current_ != test; }))
        continue;
      std::fprintf(stderr, "\n*** test %s exceeded its deadline of %llds: aborting\n", test.c_str(),
                   static_cast<long long>(deadline_.count()));
      std::fflush(stderr);
      std::abort();
    }
  }

  std::chrono::seconds deadline_;
  std::mutex mtx_;
  std::condition_variable changed_;
  std::string current_;
  std::chrono::steady_clock::time_point started_;
  bool running_ = false;
  bool quit_ = false;
  std::thread watchdog_;
};

} // namespace troupe::test
