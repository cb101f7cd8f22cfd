#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace troupe::detail {

/// Renders a topology dump (runtime::topology()) as Prometheus' text exposition format
/// (version 0.0.4): runtime gauges, per-mailbox depths, per-child restart counts, per-pool
/// figures. Label values are escaped as the format requires.
[[nodiscard]] std::string prometheus_text(const nlohmann::json& topology);

} // namespace troupe::detail
