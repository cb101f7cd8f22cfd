#include "troupe/supervision/cancellation_token.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

namespace troupe {

namespace detail {

struct cancellation_state {
  std::atomic<bool> cancelled{false};
  std::mutex mtx;
  std::condition_variable fired;
  uint64_t next_key = 1;
  std::map<uint64_t, std::function<void()>> callbacks;
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
    std::lock_guard guard{st->mtx};
    st->callbacks.erase(key_);
  }
  state_.reset();
  key_ = 0;
}

cancellation_token::cancellation_token() : state_(std::make_shared<detail::cancellation_state>()) {}

void cancellation_token::cancel() const {
  std::map<uint64_t, std::function<void()>> callbacks;
  {
    std::lock_guard guard{state_->mtx};
    if (state_->cancelled.exchange(true, std::memory_order_acq_rel))
      return;
    callbacks.swap(state_->callbacks);
  }
  state_->fired.notify_all();
  // Outside the lock: a callback may register on, or cancel, other tokens.
  for (auto& [key, fn] : callbacks)
    fn();
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
