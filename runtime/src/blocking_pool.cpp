#include "troupe/runtime/detail/blocking_pool.hpp"

#include <thread>
#include <vector>

#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

struct blocking_pool::state {
  std::size_t max_threads;
  std::size_t queue_capacity;
  mutable std::mutex mtx;
  std::condition_variable work_ready;
  std::condition_variable thread_exited;
  std::deque<job> jobs;
  std::vector<std::thread> threads;
  std::size_t idle = 0;
  std::size_t busy = 0;
  std::size_t running_threads = 0;
  std::size_t completed = 0;
  bool stopping = false;
};

blocking_pool::blocking_pool(std::size_t max_threads, std::size_t queue_capacity)
    : state_(std::make_shared<state>()) {
  state_->max_threads = max_threads;
  state_->queue_capacity = queue_capacity;
}

blocking_pool::~blocking_pool() {
  shutdown(std::chrono::seconds{5});
}

caf::error blocking_pool::submit(job fn) {
  std::unique_lock guard{state_->mtx};
  if (state_->stopping)
    return make_error(runtime_errc::shutting_down);
  if (state_->jobs.size() >= state_->queue_capacity)
    return make_error(runtime_errc::blocking_queue_full);
  state_->jobs.push_back(std::move(fn));
  // Start a thread only when no idle one will pick the job up; idle threads are counted as
  // soon as they wait, so a burst of submits cannot start more threads than jobs.
  if (state_->idle >= state_->jobs.size()) {
    state_->work_ready.notify_one();
  } else if (state_->threads.size() < state_->max_threads) {
    ++state_->running_threads;
    state_->threads.emplace_back(run_thread, state_);
  }
  return caf::none;
}

void blocking_pool::run_thread(std::shared_ptr<state> st) {
  std::unique_lock guard{st->mtx};
  for (;;) {
    while (st->jobs.empty() && !st->stopping) {
      ++st->idle;
      st->work_ready.wait(guard);
      --st->idle;
    }
    if (st->jobs.empty())
      break;
    auto fn = std::move(st->jobs.front());
    st->jobs.pop_front();
    ++st->busy;
    guard.unlock();
    fn(false);
    fn = nullptr; // Release captures before re-locking: they may own actor handles.
    guard.lock();
    --st->busy;
    ++st->completed;
  }
  --st->running_threads;
  st->thread_exited.notify_all();
}

blocking_pool::stats blocking_pool::snapshot() const {
  std::lock_guard guard{state_->mtx};
  return {state_->threads.size(), state_->busy, state_->jobs.size(), state_->completed};
}

std::size_t blocking_pool::shutdown(std::chrono::steady_clock::duration deadline) {
  std::deque<job> cancelled;
  std::vector<std::thread> threads;
  std::size_t left_running = 0;
  {
    std::unique_lock guard{state_->mtx};
    if (state_->stopping && state_->threads.empty())
      return 0;
    state_->stopping = true;
    cancelled.swap(state_->jobs);
    state_->work_ready.notify_all();
    state_->thread_exited.wait_for(guard, deadline, [&] { return state_->running_threads == 0; });
    left_running = state_->running_threads;
    threads.swap(state_->threads);
  }
  for (auto& fn : cancelled)
    fn(true);
  for (auto& t : threads) {
    if (left_running == 0)
      t.join();
    else
      t.detach();
  }
  return left_running;
}

} // namespace troupe::detail
