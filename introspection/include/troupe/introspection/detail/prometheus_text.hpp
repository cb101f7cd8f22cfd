#pragma once

#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "troupe/introspection/metric_registry.hpp"

namespace troupe::detail {

/// Renders a topology dump as Prometheus' text exposition format (version 0.0.4): every family
/// of `families`, with the samples its sampler reads from the dump. `node_sections` names the
/// top-level sections that hold actor trees, in walking order (topology_registry::dump). Label
/// values are escaped as the format requires.
[[nodiscard]] std::string prometheus_text(const nlohmann::json& topology,
                                          std::span<const std::string> node_sections,
                                          const metric_registry& families);

} // namespace troupe::detail
