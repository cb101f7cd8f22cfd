#pragma once

namespace troupe::actors {

/// The Troupe version this component was built as, e.g. "0.1.0".
[[nodiscard]] const char* version() noexcept;

} // namespace troupe::actors
