#pragma once

// One wait of a reader (a topic_reader's recv, a watch_reader's changed): the awaiter takes
// what the reader's state holds, or registers with it and suspends. The state completes it from
// the subscription's callbacks, which run on the reading actor, so it resumes in that actor's
// turn; destroyed while waiting (a first_of it lost), it unregisters and took nothing.

#include <coroutine>
#include <memory>
#include <stdexcept>
#include <utility>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/detail/reply_target.hpp"

namespace troupe::detail {

/// State: a reader state with take(), wait(reply_target<R>*) and stop_waiting(reply_target<R>*).
template <class State, class R>
class reader_wait : public reply_target<R> {
public:
  /// `misuse`: the std::logic_error text for an await on another actor than `owner`.
  reader_wait(std::shared_ptr<State> state, ::troupe::actor* owner, const char* misuse)
      : state_(std::move(state)), owner_(owner), misuse_(misuse) {}
  /// Only before co_await (first_of moves its inputs into branches).
  reader_wait(reader_wait&& other) noexcept
      : state_(std::move(other.state_)), owner_(other.owner_), misuse_(other.misuse_) {}
  reader_wait& operator=(reader_wait&&) = delete;

  ~reader_wait() {
    if (state_) // cancelled while waiting: it took nothing
      state_->stop_waiting(this);
  }

  /// Never ready before the owner check: the state is the owning actor's alone.
  [[nodiscard]] bool await_ready() const noexcept { return false; }

  /// Takes what the state holds (no suspension then), or waits for the next callback of the
  /// subscription.
  template <class Promise>
  bool await_suspend(std::coroutine_handle<Promise> h) {
    if (h.promise().actor() != owner_)
      throw std::logic_error(misuse_);
    this->result_ = state_->take();
    if (this->result_)
      return false;
    state_->wait(this);
    return this->suspend(h);
  }

private:
  std::shared_ptr<State> state_;
  ::troupe::actor* owner_;
  const char* misuse_;
};

} // namespace troupe::detail
