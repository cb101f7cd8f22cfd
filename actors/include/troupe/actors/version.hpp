#pragma once

namespace troupe::detail {

/// The Troupe version the actors component was built as, e.g. "0.1.0".
[[nodiscard]] const char* actors_version() noexcept;

} // namespace troupe::detail
