#pragma once

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "troupe/scheduler/errors.hpp" // make_error(code, context...) for every family

namespace troupe {

/// Errors of a watched value (troupe::watched<T>), and the end notices of its readers.
enum class watched_errc : uint8_t {
  /// The writer closed the value: set and modify refuse; a reader gets it as its end notice
  /// after the last value; has_changed answers it (as Tokio's has_changed on a closed channel).
  closed = 1,
  /// The reader ended its own subscription (unsubscribe): its end notice.
  unsubscribed,
  /// subscribe: this actor reads the value already.
  already_subscribed,
  /// has_changed, unsubscribe: this actor does not read the value.
  not_subscribed,
};

inline constexpr caf::atom_value watched_error_category = caf::atom("tr_watched");

[[nodiscard]] caf::error make_error(watched_errc code);
[[nodiscard]] const char* to_string(watched_errc code) noexcept;

} // namespace troupe
