#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "troupe/introspection/metric_registry.hpp"

namespace troupe::detail {

/// Where a typed mailbox actor's node shows its mailbox_metrics in the topology.
inline constexpr const char* mailbox_details_key = "mailbox";

/// troupe_mailbox_depth's sampler: the depth of each node that shows mailbox metrics, labelled
/// with the node's path and id.
inline void sample_mailbox_depth(const metric_family& family, const metric_source& source,
                                 sample_writer& out) {
  auto figures = source.entry.find(std::string{family.field});
  if (figures == source.entry.end() || !figures->is_object())
    return;
  auto id = std::to_string(source.entry.value("id", 0));
  out.add({{"actor", source.path}, {"id", id}}, figures->value("depth", nlohmann::json{}));
}

/// The depth of every typed mailbox, declared on a runtime by its first spawn_mailbox.
inline constexpr metric_family mailbox_depth_family{"troupe_mailbox_depth",
                                                    metric_type::gauge,
                                                    "Messages waiting in a typed mailbox.",
                                                    metric_scope::node,
                                                    {},
                                                    mailbox_details_key,
                                                    &sample_mailbox_depth};

} // namespace troupe::detail
