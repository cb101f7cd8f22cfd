#include "troupe/introspection/detail/prometheus_text.hpp"

namespace troupe::detail {

namespace {

void family_header(std::string& out, std::string_view name, metric_type type,
                   std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += type == metric_type::counter ? " counter\n" : " gauge\n";
}

// Depth first, as the dump nests them: a node, then each of its rows followed by the row's
// actor. A node's path joins the names from its root.
template <class OnNode, class OnRow>
void walk(const nlohmann::json& node, const std::string& path, OnNode& on_node, OnRow& on_row) {
  if (!node.is_object())
    return;
  auto name = node.value("name", std::string{});
  auto here = path.empty() ? name : path + "/" + name;
  on_node(here, node);
  auto rows = node.find("children");
  if (rows == node.end() || !rows->is_array())
    return;
  for (auto& row : *rows) {
    on_row(here, node, row);
    if (auto actor = row.find("actor"); actor != row.end() && actor->is_object())
      walk(*actor, here, on_node, on_row);
  }
}

} // namespace

std::string prometheus_text(const nlohmann::json& topology,
                            std::span<const std::string> node_sections,
                            const metric_registry& families) {
  std::string out;
  // Each family's samples in one group, as the format requires.
  for (auto* family : families.families()) {
    family_header(out, family->name, family->type, family->help);
    sample_writer writer{family->name, out};
    if (family->scope == metric_scope::document) {
      family->sample(*family, metric_source{{}, topology, nullptr}, writer);
      continue;
    }
    if (family->scope == metric_scope::section) {
      auto section = topology.find(family->section);
      if (section == topology.end() || !section->is_array())
        continue;
      for (auto& entry : *section)
        family->sample(*family, metric_source{{}, entry, nullptr}, writer);
      continue;
    }
    auto on_node = [&](const std::string& path, const nlohmann::json& node) {
      if (family->scope == metric_scope::node)
        family->sample(*family, metric_source{path, node, nullptr}, writer);
    };
    auto on_row = [&](const std::string& path, const nlohmann::json& node,
                      const nlohmann::json& row) {
      if (family->scope == metric_scope::row)
        family->sample(*family, metric_source{path, row, &node}, writer);
    };
    for (auto& name : node_sections)
      if (auto section = topology.find(name); section != topology.end() && section->is_array())
        for (auto& root : *section)
          walk(root, std::string{}, on_node, on_row);
  }
  return out;
}

} // namespace troupe::detail
