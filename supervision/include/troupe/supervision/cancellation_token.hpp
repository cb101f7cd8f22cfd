#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace troupe {

namespace detail {
struct cancellation_state;
} // namespace detail

/// A shared flag that says "stop what you are doing", fired once, observed by anyone holding a
/// copy. Supervisors give one to each child (child_context::token) and fire it when they stop
/// the child, so work the child started elsewhere — a blocking job, a request in flight — can
/// notice and stop cooperatively. The guide's CancellationToken.
///
/// Example:
///
///   auto token = ctx.token;                       // in a child factory
///   rt.spawn_blocking([token] {
///     while (!token.is_cancelled())
///       copy_next_chunk();
///   });
///
/// A child token (child()) is cancelled with its parent, never the other way round.
///
/// Thread safety: every member may be called from any thread. Memory ordering: what a thread
/// did before cancel() is visible to a thread that saw is_cancelled() return true, and to every
/// callback.
class cancellation_token {
public:
  /// Unregisters its callback when destroyed (see on_cancel).
  class registration {
  public:
    /// Holds no callback.
    registration() = default;
    /// Takes over `other`'s callback; `other` holds none afterwards.
    registration(registration&&) noexcept = default;
    /// Unregisters the callback held so far, then takes over `other`'s.
    registration& operator=(registration&& other) noexcept;
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration();

  private:
    friend class cancellation_token;
    registration(std::weak_ptr<detail::cancellation_state> state, uint64_t key)
        : state_(std::move(state)), key_(key) {}
    void reset() noexcept;

    std::weak_ptr<detail::cancellation_state> state_;
    uint64_t key_ = 0;
  };

  /// A new token, not cancelled.
  cancellation_token();

  /// Fires the token: is_cancelled() turns true and every registered callback runs once, on
  /// this thread. Later calls do nothing.
  void cancel() const;

  /// Whether cancel() was called on this token or, for a child token, on an ancestor.
  [[nodiscard]] bool is_cancelled() const noexcept;

  /// Runs `fn` when the token is cancelled — at once, on this thread, if it already is.
  /// The callback stays registered while the returned registration lives. As with
  /// std::stop_callback, destroying (or reassigning) the registration guarantees that `fn` does
  /// not run afterwards: if another thread is running it at that moment, the destructor waits
  /// until it returned (a callback may destroy its own registration without waiting).
  [[nodiscard]] registration on_cancel(std::function<void()> fn) const;

  /// Blocks the calling thread until the token is cancelled or `timeout` passes; returns
  /// whether it is cancelled. For blocking jobs, never for actors' handlers.
  bool wait_for(std::chrono::milliseconds timeout) const;

  /// A token cancelled together with this one (and on its own by its own cancel()).
  [[nodiscard]] cancellation_token child() const;

private:
  std::shared_ptr<detail::cancellation_state> state_;
};

} // namespace troupe
