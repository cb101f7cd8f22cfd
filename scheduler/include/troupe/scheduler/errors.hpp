#pragma once

// Troupe's typed errors. Each family is a closed enum with its own caf::error category, so an
// error travels through CAF (as a response, an exit reason or a down message) and is compared
// by value on arrival:
//
//   if (err == troupe::runtime_errc::timeout) { ... }
//
// The context of an error (the bad option and value, the exception message) rides in the
// error's message and is rendered by troupe::render.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace troupe {

/// Why a runtime configuration was rejected. Context: (option name, offending value).
enum class config_errc : uint8_t {
  /// An option that Troupe does not know, e.g. `--wrokers=2`.
  unknown_option = 1,
  /// A value that does not parse as the option's type, e.g. `--workers=two`.
  malformed_value,
  /// A value of the right type outside the allowed range, e.g. `--workers=0`.
  out_of_range,
  /// Two options that contradict each other, e.g. `current_thread` with 4 workers.
  conflicting_options,
};

/// Errors of the runtime itself: its blocking pool, its deadlines and its shutdown.
enum class runtime_errc : uint8_t {
  /// A deadline passed before the awaited result arrived.
  timeout = 1,
  /// A blocking job threw; the context carries the exception message.
  job_failed,
  /// The blocking pool's queue is full; the job was not accepted.
  blocking_queue_full,
  /// The runtime is shutting down and accepts no new work.
  shutting_down,
  /// The work was cancelled before it produced a result.
  cancelled,
  /// The admin endpoint could not listen (port in use, no permission); the context carries
  /// "address:port: reason".
  admin_unavailable,
  /// A file operation failed (opening, writing, closing, renaming). Context: the path, the
  /// step, the system's reason.
  io_failed,
};

/// Why a runtime's named registry (runtime::named()) refused. Context: the name; for
/// wrong_type also the type the name holds and the type asked for.
enum class named_errc : uint8_t {
  /// put: the name holds an object already.
  name_taken = 1,
  /// get: no object has that name.
  not_found,
  /// get: the name holds an object of another type.
  wrong_type,
};

/// Category atoms, as they appear in caf::error::category().
inline constexpr caf::atom_value config_error_category = caf::atom("tr_config");
/// The category of runtime_errc.
inline constexpr caf::atom_value runtime_error_category = caf::atom("tr_runtime");
/// The category of named_errc.
inline constexpr caf::atom_value named_error_category = caf::atom("tr_named");

/// The error for `code`, without context.
[[nodiscard]] caf::error make_error(config_errc code);
/// The error for `code`, without context.
[[nodiscard]] caf::error make_error(runtime_errc code);
/// The error for `code`, without context.
[[nodiscard]] caf::error make_error(named_errc code);

/// Builds an error with context, e.g. `make_error(config_errc::malformed_value, "workers", "x")`.
template <class Code, class... Ts>
[[nodiscard]] caf::error make_error(Code code, Ts&&... context) {
  auto err = make_error(code);
  return caf::error{err.code(), err.category(), caf::make_message(std::forward<Ts>(context)...)};
}

[[nodiscard]] const char* to_string(config_errc code) noexcept;
[[nodiscard]] const char* to_string(runtime_errc code) noexcept;
/// The code's name, e.g. "wrong_type".
[[nodiscard]] const char* to_string(named_errc code) noexcept;

/// Renders the context-free part of an error of one category, e.g. "mailbox_full".
using error_code_renderer = const char* (*)(uint8_t code) noexcept;

/// Makes render() know another category; components call it for their own error enums.
/// Thread safety: any thread.
void register_error_category(caf::atom_value category, const char* family,
                             error_code_renderer renderer);

/// Renders any error (Troupe's, CAF's `sec` and `exit_reason`, others) for humans, without
/// needing an actor system: `config_error(malformed_value: workers = "two")`.
[[nodiscard]] std::string render(const caf::error& err);

} // namespace troupe
