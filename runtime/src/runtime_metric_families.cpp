#include "troupe/runtime/detail/runtime_metric_families.hpp"

namespace troupe::detail {

namespace {

// One figure of the dump, at the JSON pointer the family's field holds ("/runtime/workers").
void sample_figure(const metric_family& family, const metric_source& source, sample_writer& out) {
  out.add({}, source.entry.value(nlohmann::json::json_pointer{std::string{family.field}},
                                 nlohmann::json{}));
}

constexpr metric_family figure(std::string_view name, metric_type type, std::string_view pointer,
                               std::string_view help) {
  return {name, type, help, metric_scope::document, {}, pointer, &sample_figure};
}

constexpr metric_family workers =
    figure("troupe_workers", metric_type::gauge, "/runtime/workers", "Scheduler worker threads.");
constexpr metric_family live_actors =
    figure("troupe_live_actors", metric_type::gauge, "/runtime/live_actors",
           "Running actors of the actor system.");
constexpr metric_family spawned_actors =
    figure("troupe_spawned_actors", metric_type::gauge, "/runtime/spawned_actors",
           "Running actors spawned through Troupe.");
constexpr metric_family blocking_threads =
    figure("troupe_blocking_threads", metric_type::gauge, "/runtime/blocking_threads",
           "Threads of the blocking pool.");
constexpr metric_family blocking_busy =
    figure("troupe_blocking_busy", metric_type::gauge, "/runtime/blocking_busy",
           "Blocking-pool threads running a job.");
constexpr metric_family blocking_queue_depth =
    figure("troupe_blocking_queue_depth", metric_type::gauge, "/runtime/blocking_queue_depth",
           "Blocking jobs waiting.");
constexpr metric_family dead_letters = figure("troupe_dead_letters_total", metric_type::counter,
                                              "/dead_letters", "Messages that reached no handler.");

} // namespace

void declare_runtime_metric_families(metric_registry& families) {
  for (const auto* family : {&workers, &live_actors, &spawned_actors, &blocking_threads,
                             &blocking_busy, &blocking_queue_depth, &dead_letters})
    families.declare(*family);
}

} // namespace troupe::detail
