#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "troupe/introspection/metric_registry.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/errors.hpp"
#include "troupe/supervision/child_spec.hpp"

namespace troupe::detail {

/// The top-level section of the topology that lists supervision trees.
inline constexpr const char* supervision_section = "supervision";
/// The top-level section of the topology that lists worker pools.
inline constexpr const char* pools_section = "pools";

/// A supervisor's fields of one child's topology row: restart type, restart count, how its last
/// incarnation ended, whether it is a supervisor. A plain copy of the record's figures,
/// rendered only when a dump is taken: restarts are frequent, dumps rare.
class child_row_details final : public topology_registry::row_details {
public:
  /// Copies the figures a row shows.
  child_row_details(restart_type restart, uint64_t restarts, std::optional<caf::error> last_exit,
                    bool is_supervisor)
      : restart_(restart), restarts_(restarts), last_exit_(std::move(last_exit)),
        is_supervisor_(is_supervisor) {}

  /// Adds `restart`, `restarts`, `last_exit_reason` (null before the first end, "normal" for
  /// a normal end) and `supervisor` to `row`.
  void to_json(nlohmann::json& row) const override {
    row["restart"] = to_string(restart_);
    row["restarts"] = restarts_;
    if (!last_exit_)
      row["last_exit_reason"] = nullptr;
    else
      row["last_exit_reason"] = *last_exit_ ? render(*last_exit_) : std::string{"normal"};
    row["supervisor"] = is_supervisor_;
  }

private:
  restart_type restart_;
  uint64_t restarts_;
  std::optional<caf::error> last_exit_;
  bool is_supervisor_;
};

/// troupe_child_restarts_total's sampler: each row's restart count, labelled with its
/// supervisor's path and the child's id.
inline void sample_child_restarts(const metric_family& family, const metric_source& source,
                                  sample_writer& out) {
  auto child = source.entry.value("id", std::string{});
  out.add({{"supervisor", source.path}, {"child", child}},
          source.entry.value(std::string{family.field}, nlohmann::json{}));
}

/// Restarts of every supervised child, declared on a runtime by its first supervisor.
inline constexpr metric_family child_restarts_family{"troupe_child_restarts_total",
                                                     metric_type::counter,
                                                     "Restarts of a supervised child.",
                                                     metric_scope::row,
                                                     {},
                                                     "restarts",
                                                     &sample_child_restarts};

/// The pool families' sampler: the pool's figure `family.field`, labelled with its name.
inline void sample_pool_figure(const metric_family& family, const metric_source& source,
                               sample_writer& out) {
  auto pool = source.entry.value("name", std::string{});
  out.add({{"pool", pool}}, source.entry.value(std::string{family.field}, nlohmann::json{}));
}

/// Jobs waiting in each pool's queue.
inline constexpr metric_family pool_queue_depth_family{
    "troupe_pool_queue_depth", metric_type::gauge, "Jobs waiting in a pool's queue.",
    metric_scope::section,     pools_section,      "queue_depth",
    &sample_pool_figure};
/// Jobs each pool answered with a result.
inline constexpr metric_family pool_completed_family{"troupe_pool_completed_total",
                                                     metric_type::counter,
                                                     "Jobs answered with a result.",
                                                     metric_scope::section,
                                                     pools_section,
                                                     "completed",
                                                     &sample_pool_figure};
/// Jobs each pool answered with a crash.
inline constexpr metric_family pool_failed_family{
    "troupe_pool_failed_total", metric_type::counter, "Jobs answered with a crash.",
    metric_scope::section,      pools_section,        "failed",
    &sample_pool_figure};
/// Restarts of each pool's workers.
inline constexpr metric_family pool_restarts_family{
    "troupe_pool_restarts_total", metric_type::counter, "Restarts of a pool's workers.",
    metric_scope::section,        pools_section,        "restarts",
    &sample_pool_figure};

/// Declares the pool families on `rt`, in their printing order.
inline void declare_pool_families(runtime& rt) {
  for (auto* family : {&pool_queue_depth_family, &pool_completed_family, &pool_failed_family,
                       &pool_restarts_family})
    rt.metric_families().declare(*family);
}

} // namespace troupe::detail
