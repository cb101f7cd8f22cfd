#pragma once

namespace troupe::detail {

/// The Troupe version the coro component was built as, e.g. "0.1.0".
[[nodiscard]] const char* coro_version() noexcept;

} // namespace troupe::detail
