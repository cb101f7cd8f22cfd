#include "troupe/runtime/detail/runtime_metric_families.hpp"

namespace troupe::detail {

namespace {

// A figure of the dump's `runtime` object, named by the family's field.
void sample_runtime_figure(const metric_family& family, const metric_source& source,
                           sample_writer& out) {
  auto runtime = source.entry.find("runtime");
  if (runtime != source.entry.end() && runtime->is_object())
    out.add({}, runtime->value(family.field, nlohmann::json{}));
}

// A top-level figure of the dump, named by the family's field.
void sample_document_figure(const metric_family& family, const metric_source& source,
                            sample_writer& out) {
  out.add({}, source.entry.value(family.field, nlohmann::json{}));
}

constexpr metric_family runtime_gauge(std::string_view name, std::string_view field,
                                      std::string_view help) {
  return {name,  metric_type::gauge,    help, metric_scope::document, {},
          field, &sample_runtime_figure};
}

constexpr metric_family workers =
    runtime_gauge("troupe_workers", "workers", "Scheduler worker threads.");
constexpr metric_family live_actors =
    runtime_gauge("troupe_live_actors", "live_actors", "Running actors of the actor system.");
constexpr metric_family spawned_actors = runtime_gauge("troupe_spawned_actors", "spawned_actors",
                                                       "Running actors spawned through Troupe.");
constexpr metric_family blocking_threads =
    runtime_gauge("troupe_blocking_threads", "blocking_threads", "Threads of the blocking pool.");
constexpr metric_family blocking_busy =
    runtime_gauge("troupe_blocking_busy", "blocking_busy", "Blocking-pool threads running a job.");
constexpr metric_family blocking_queue_depth =
    runtime_gauge("troupe_blocking_queue_depth", "blocking_queue_depth", "Blocking jobs waiting.");
constexpr metric_family dead_letters{"troupe_dead_letters_total",
                                     metric_type::counter,
                                     "Messages that reached no handler.",
                                     metric_scope::document,
                                     {},
                                     "dead_letters",
                                     &sample_document_figure};

} // namespace

void declare_runtime_metric_families(metric_registry& families) {
  for (const auto* family : {&workers, &live_actors, &spawned_actors, &blocking_threads,
                             &blocking_busy, &blocking_queue_depth, &dead_letters})
    families.declare(*family);
}

} // namespace troupe::detail
