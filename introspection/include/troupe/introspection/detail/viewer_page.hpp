#pragma once

#include <string_view>

namespace troupe::detail {

/// The topology viewer (tools/viewer/troupe-viewer.html, compiled in at build time), which the
/// admin endpoint serves at `GET /`; served over HTTP it polls `/topology` every second.
[[nodiscard]] std::string_view viewer_page() noexcept;

} // namespace troupe::detail
