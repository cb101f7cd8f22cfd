#pragma once

#include <chrono>
#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/mailbox/coroutine_host.hpp"
#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

namespace troupe::detail {

/// The waiting side of an awaitable that the actor completes: holds the result and the
/// suspended coroutine. Completed at most once, always in the actor's turn.
///
/// Protocol with the wake-up registered elsewhere (a request continuation, a timer, a CAF
/// response handler), which holds a pointer to this target:
///  1. The wake-up clears its pointer before calling complete(): a target is completed once.
///  2. A target destroyed first (its coroutine was cancelled or its actor stopped) clears the
///     wake-up's pointer in its destructor: a late wake-up finds nobody and resumes nothing.
///  3. A completion during await_suspend (the send failed at once) only stores the result;
///     await_suspend then declines to suspend, so nothing is resumed from inside itself.
template <class R>
class reply_target {
public:
  reply_target() = default;
  reply_target(const reply_target&) = delete;
  reply_target& operator=(const reply_target&) = delete;

  void complete(caf::expected<R> x) {
    result_.emplace(std::move(x));
    if (auto h = std::exchange(waiting_, {}))
      h.resume();
  }

  [[nodiscard]] bool await_ready() const noexcept { return false; }

  caf::expected<R> await_resume() { return std::move(*result_); }

protected:
  /// Ends await_suspend: suspends unless the result arrived while launching.
  bool suspend(std::coroutine_handle<> h) noexcept {
    if (result_)
      return false;
    waiting_ = h;
    return true;
  }

  std::optional<caf::expected<R>> result_;
  std::coroutine_handle<> waiting_;
};

/// A request's entry in the actor's table of outstanding requests, pointing at its target.
template <class R>
class target_continuation final : public continuation,
                                  public recycled_blocks<target_continuation<R>> {
public:
  target_continuation(reply_target<R>* target, coroutine_host* host)
      : target_(target), host_(host) {}

  void deliver(reply_job& reply) override {
    auto& result = static_cast<reply_value<R>&>(reply).result;
    if (target_ == nullptr) {
      host_->note_late_reply();
      return;
    }
    std::exchange(target_, nullptr)->complete(std::move(result));
  }

  void fail(caf::error err) override {
    if (target_ != nullptr)
      std::exchange(target_, nullptr)->complete(std::move(err));
  }

  void detach() noexcept { target_ = nullptr; }

private:
  reply_target<R>* target_;
  coroutine_host* host_;
};

/// The pointer a CAF response handler holds to its target (CAF keeps the handler until the
/// response or its timeout arrives, possibly after the target is gone).
template <class R>
struct target_link {
  reply_target<R>* target = nullptr;
  coroutine_host* host = nullptr;

  void complete(caf::expected<R> x) {
    if (target == nullptr) {
      if (x)
        host->note_late_reply();
      return;
    }
    std::exchange(target, nullptr)->complete(std::move(x));
  }
};

/// A target whose answer comes through a target_link (a CAF response handler, a pending<R>'s
/// callbacks): the link outlives it and finds it gone after its destruction.
template <class R>
class linked_target : public reply_target<R> {
protected:
  linked_target() = default;
  linked_target(linked_target&&) noexcept {}
  ~linked_target() {
    if (link_)
      link_->target = nullptr;
  }

  /// A fresh link to this target on `host`, for the callbacks of the request being launched.
  std::shared_ptr<target_link<R>> link_to(coroutine_host* host) {
    link_ = std::make_shared<target_link<R>>();
    link_->target = this;
    link_->host = host;
    return link_;
  }

private:
  std::shared_ptr<target_link<R>> link_;
};

/// A target registered in its actor's table of outstanding requests (a request to a typed
/// mailbox, a pool submit): the actor completes it in its turn; destroyed before, it detaches.
template <class R>
class table_target : public reply_target<R> {
public:
  /// The answer, or the error that ended the request.
  caf::expected<R> await_resume() {
    k_ = nullptr;
    return reply_target<R>::await_resume();
  }

protected:
  table_target() = default;
  table_target(table_target&&) noexcept {}
  ~table_target() {
    if (k_ != nullptr)
      k_->detach();
  }

  /// Registers the request on the task's actor and hands its reply sink to `send(self, sink)`,
  /// which returns the error of a send that failed at once (none: it is on its way). Fails the
  /// request with that error, or arms `timeout`; then suspends unless it already completed.
  template <class Promise, class Send>
  bool send_and_suspend(std::coroutine_handle<Promise> h, Send&& send,
                        std::optional<std::chrono::nanoseconds> timeout = std::nullopt) {
    auto* host = h.promise().host();
    auto* self = host->actor();
    auto k = std::make_unique<target_continuation<R>>(this, host);
    k_ = k.get();
    auto id = self->add_request(std::move(k));
    if (auto err = send(self, std::make_unique<::troupe::actor_reply_sink<R>>(self, id))) {
      k_ = nullptr; // fail_request completes and frees it
      self->fail_request(id, std::move(err));
    } else if (timeout) {
      self->fail_request_after(id, *timeout, make_error(mailbox_errc::request_timeout));
    }
    return this->suspend(h);
  }

private:
  target_continuation<R>* k_ = nullptr;
};

} // namespace troupe::detail
