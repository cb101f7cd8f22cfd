#include "troupe/supervision/cancellation_token.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace troupe {

namespace detail {

struct cancellation_state {
  std::atomic<bool> cancelled{false};
  std::mutex mtx;
  std::condition_variable fired;
  uint64_t next_key = 1;
  std::map<uint64_t, std::function<void()>> callbacks;
  // The callback cancel() is running (0: none) and the thread running it: a registration
  // destroyed on another thread meanwhile waits for callback_done (as std::stop_callback does).
  uint64_t running_key = 0;
  std::thread::id running_thread;
  std::condition_variable callback_done;
  // A child token's link to its parent; unregisters when the child's state goes away.
  cancellation_token::registration parent_link;
};

} // namespace detail

cancellation_token::registration&
cancellation_token::registration::operator=(registration&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    key_ = other.key_;
    other.key_ = 0;
  }
  return *this;
}

cancellation_token::registration::~registration() {
  reset();
}

void cancellation_token::registration::reset() noexcept {
  if (auto st = state_.lock(); st && key_ != 0) {
    std::unique_lock guard{st->mtx};
    // Not yet run: erased, it never will. Running on another thread: wait until it returned,
    // so that nothing it captured is used after this registration is gone. Running on this
    // thread (the callback drops its own registration): waiting would never end.
    if (st->callbacks.erase(key_) == 0 && st->running_thread != std::this_thread::get_id())
      st->callback_done.wait(guard, [&] { return st->running_key != key_; });
  }
  state_.reset();
  key_ = 0;
}

cancellation_token::cancellation_token() : state_(std::make_shared<detail::cancellation_state>()) {}

namespace {

// Runs the callback cancel() took out of the map, then marks that none runs, also when the
// callback throws (the exception leaves cancel(); the callbacks not run yet stay registered):
// a registration waiting for this one must not wait forever. Returns with `guard` locked.
void run_callback(detail::cancellation_state& st, std::unique_lock<std::mutex>& guard,
                  std::function<void()>& fn) {
  struct finish {
    detail::cancellation_state& st;
    std::unique_lock<std::mutex>& guard;
    std::function<void()>& fn;
    ~finish() {
      fn = nullptr; // what the callback captured goes before its registration is free
      guard.lock();
      st.running_key = 0;
      st.running_thread = std::thread::id{};
      st.callback_done.notify_all();
    }
  } on_return{st, guard, fn};
  fn();
}

} // namespace

void cancellation_token::cancel() const {
  auto& st = *state_;
  std::unique_lock guard{st.mtx};
  if (st.cancelled.exchange(true, std::memory_order_acq_rel))
    return;
  guard.unlock();
  st.fired.notify_all();
  guard.lock();
  // One callback at a time, each taken out of the map before it runs and run outside the lock
  // (a callback may register on, or cancel, other tokens). Once cancelled no callback is added
  // (on_cancel runs it at once), so the loop ends.
  while (!st.callbacks.empty()) {
    auto first = st.callbacks.begin();
    st.running_key = first->first;
    st.running_thread = std::this_thread::get_id();
    auto fn = std::move(first->second);
    st.callbacks.erase(first);
    guard.unlock();
    run_callback(st, guard, fn);
  }
}

bool cancellation_token::is_cancelled() const noexcept {
  return state_->cancelled.load(std::memory_order_acquire);
}

cancellation_token::registration cancellation_token::on_cancel(std::function<void()> fn) const {
  {
    std::lock_guard guard{state_->mtx};
    if (!state_->cancelled.load(std::memory_order_relaxed)) {
      auto key = state_->next_key++;
      state_->callbacks.emplace(key, std::move(fn));
      return registration{state_, key};
    }
  }
  fn();
  return registration{};
}

bool cancellation_token::wait_for(std::chrono::milliseconds timeout) const {
  std::unique_lock guard{state_->mtx};
  return state_->fired.wait_for(
      guard, timeout, [this] { return state_->cancelled.load(std::memory_order_relaxed); });
}

cancellation_token cancellation_token::child() const {
  cancellation_token result;
  std::weak_ptr<detail::cancellation_state> weak = result.state_;
  auto link = on_cancel([weak] {
    if (auto st = weak.lock()) {
      cancellation_token alias;
      alias.state_ = std::move(st);
      alias.cancel();
    }
  });
  std::lock_guard guard{result.state_->mtx};
  result.state_->parent_link = std::move(link);
  return result;
}

} // namespace troupe
