#pragma once

#include <span>
#include <string_view>

namespace troupe::detail {

/// The top-level lists the dump format requires (docs/topology.schema.json, compiled in at
/// build time): every dump has them, as empty lists while no component fills them. Read from
/// the schema, so that the runtime names none of the components that fill them.
[[nodiscard]] std::span<const std::string_view> topology_sections() noexcept;

} // namespace troupe::detail
