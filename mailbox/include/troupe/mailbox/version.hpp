#pragma once

namespace troupe::detail {

/// The Troupe version the mailbox component was built as, e.g. "0.1.0".
[[nodiscard]] const char* mailbox_version() noexcept;

} // namespace troupe::detail
