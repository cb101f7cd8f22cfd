#pragma once

#include <type_traits>
#include <utility>

#include <caf/unit.hpp>

#include "troupe/coro/detail/actor_core.hpp"
#include "troupe/coro/request.hpp"
#include "troupe/runtime/runtime.hpp"

namespace troupe::coro {

/// Runs `fn` on the runtime's blocking pool and yields its result as caf::expected<R> (R is
/// fn's result type, caf::unit_t for void) once it is done; the awaiting task resumes on its
/// actor, never on the pool's thread. `fn` runs on the pool even when the task is cancelled
/// meanwhile; its result is then dropped.
///
/// Example:
///
///   caf::expected<std::string> text =
///       co_await troupe::coro::spawn_blocking([path] { return read_file(path); });
///
/// Errors: runtime_errc::job_failed (with the exception's message), runtime_errc::cancelled
/// (the runtime shut down before the job ran), runtime_errc::blocking_queue_full.
/// Thread safety: co_await only inside a troupe::task.
template <class F>
[[nodiscard]] auto spawn_blocking(F fn) {
  using fn_result = std::invoke_result_t<F&>;
  using R = std::conditional_t<std::is_void_v<fn_result>, caf::unit_t, fn_result>;
  auto launch = [fn = std::move(fn)](::troupe::actor* self) mutable {
    return troupe::spawn_blocking(self, std::move(fn));
  };
  return caf_response<R, decltype(launch)>{std::move(launch)};
}

} // namespace troupe::coro
