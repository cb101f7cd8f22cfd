#pragma once

namespace troupe::detail {

/// The Troupe version the core component was built as, e.g. "0.1.0".
[[nodiscard]] const char* core_version() noexcept;

} // namespace troupe::detail
