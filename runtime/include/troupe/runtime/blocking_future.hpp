#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include <caf/expected.hpp>

#include "troupe/scheduler/result.hpp"
#include <caf/unit.hpp>

#include "troupe/scheduler/errors.hpp"

namespace troupe {

/// The result of a blocking job, for callers outside of actors (main(), tests, threads).
///
/// Example:
///
///   auto f = rt.spawn_blocking([] { return read_file("a.txt"); });
///   troupe::result<std::string> text = f.get(std::chrono::seconds{1});
///
/// Errors (from get()): runtime_errc::timeout when the deadline passes first (the job keeps
/// running; get() may be called again), runtime_errc::job_failed carrying the exception message
/// when the job threw, runtime_errc::cancelled when the runtime shut down before the job ran,
/// runtime_errc::blocking_queue_full or shutting_down when the job was never accepted.
///
/// A job returning void yields caf::unit.
///
/// Thread safety: get() and ready() may be called from any thread, also concurrently.
/// Memory ordering: everything the job did happens-before get() returns its value.
template <class T>
class blocking_future {
public:
  /// What get() yields: T, or caf::unit_t for a job returning void.
  using value_type = std::conditional_t<std::is_void_v<T>, caf::unit_t, T>;

  /// Internal: the state the job and the future share; runtime::spawn_blocking makes it.
  struct shared_state {
    std::mutex mtx;                                  ///< Guards `result`.
    std::condition_variable done;                    ///< Notified when `result` is set.
    std::optional<caf::expected<value_type>> result; ///< Empty until the outcome is known.

    /// Stores the outcome and wakes the waiters; only the first call counts.
    void set(caf::expected<value_type> x) {
      {
        std::lock_guard guard{mtx};
        if (result)
          return;
        result.emplace(std::move(x));
      }
      done.notify_all();
    }
  };

  /// Internal: made by runtime::spawn_blocking.
  explicit blocking_future(std::shared_ptr<shared_state> st) : state_(std::move(st)) {}

  /// Waits up to `timeout` and returns a copy of the result or an error.
  template <class Rep, class Period>
  [[nodiscard]] troupe::result<value_type> get(std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock guard{state_->mtx};
    if (!state_->done.wait_for(guard, timeout, [&] { return state_->result.has_value(); }))
      return make_error(runtime_errc::timeout);
    return *state_->result;
  }

  /// Returns whether the result (or an error) is available.
  [[nodiscard]] bool ready() const {
    std::lock_guard guard{state_->mtx};
    return state_->result.has_value();
  }

private:
  std::shared_ptr<shared_state> state_;
};

} // namespace troupe
