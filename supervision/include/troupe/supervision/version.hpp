#pragma once

namespace troupe::detail {

/// The Troupe version the supervision component was built as, e.g. "0.1.0".
[[nodiscard]] const char* supervision_version() noexcept;

} // namespace troupe::detail
