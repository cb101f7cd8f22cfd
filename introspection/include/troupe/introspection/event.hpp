#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "troupe/introspection/trace.hpp"

namespace troupe {

/// How much an operator needs to see an event, from the least to the most severe.
///
/// A subscriber names the least severe level it wants (event_stream::subscribe); every level
/// above it is delivered too.
enum class event_level : std::uint8_t {
  debug,   ///< Routine detail: an actor was spawned, a child started.
  info,    ///< Normal but notable: an actor ended normally, a node connected.
  notice,  ///< Worth a look: a job was cancelled, a subscriber lagged.
  warning, ///< Something failed and was handled: a crash and its restart, a dead letter.
  error,   ///< Something failed and was not handled: a supervisor gave up.
};

/// The level's lower-case name: "debug", "info", "notice", "warning" or "error".
[[nodiscard]] std::string_view to_string(event_level level) noexcept;

/// The level named `name` (as to_string writes it, e.g. "warning"); nullopt for another name.
[[nodiscard]] std::optional<event_level> parse_event_level(std::string_view name) noexcept;

/// One thing that happened in a runtime that an operator may want to see: an actor that ended,
/// a child that was restarted, a worker that was blocked, a node that was lost.
///
/// Events are published on the runtime's event_stream (runtime::events()). Each component
/// defines the kinds it emits as static strings ("actor.exited" in the scheduler,
/// "supervisor.child_restarted" in supervision, ...), so a lower layer never names a higher
/// layer's concepts. docs/events.md lists every kind with its level and fields.
///
/// Example:
///
///   troupe::event e;
///   e.level = troupe::event_level::warning;
///   e.kind = "demo.disk_full";
///   e.text = "disk /var is full";
///   e.fields = {{"path", "/var"}};
///   rt.events().publish(std::move(e));   // sequence and time are filled in
///
/// Thread safety: a plain value, like any struct. `kind` refers to a string with static
/// storage duration, so copies may travel to any thread.
struct event {
  /// Per event stream, strictly increasing in the order events are delivered; assigned by
  /// event_stream::publish (0 before).
  std::uint64_t sequence = 0;
  /// When it happened; event_stream::publish sets the current time when this is left at the
  /// epoch (a default-constructed time point).
  std::chrono::system_clock::time_point time{};
  /// How severe it is.
  event_level level = event_level::info;
  /// What happened, as "component.what" (e.g. "actor.exited"): a string with static storage
  /// duration, defined by the component that emits it.
  std::string_view kind;
  /// The subject's CAF actor id, 0 when the event is about no actor.
  caf::actor_id actor = 0;
  /// The subject's name or path (an actor's name, a supervisor's path, a topic or pool name,
  /// a node's address); may be empty.
  std::string name;
  /// One line for humans, e.g. "restarted (3 of 5 in 5s): handler_threw: boom".
  std::string text;
  /// Structured details: an exit reason, restart counts, an intensity window, ... (an object,
  /// or null for none).
  nlohmann::json fields;
  /// The request trace current where the event happened (troupe::trace_id), so that a failed
  /// request's error and the events it caused can be tied together; event_stream::publish
  /// fills it in from current_trace() when it is left at 0.
  trace_id trace = 0;
};

/// The event as one flat JSON object: "sequence", "time" (ISO-8601 UTC with milliseconds,
/// e.g. "2026-12-01T17:40:02.123Z"), "level" (to_string), "kind", "actor", "name", "text",
/// "trace" (format_trace, only when the event has one), then every member of `fields` (a member
/// named like one of those is written as "fields.<name>" instead of overwriting it; fields that are
/// not an object are written under "fields").
[[nodiscard]] nlohmann::json to_json(const event& e);

/// The event as one line for humans, without a line break: time, level, kind, name (when not
/// empty) and text, separated by spaces, e.g.
/// "2026-12-01T17:40:02.123Z warning supervisor.child_restarted demo/jobs/worker-1 restarted
/// (3 of 5 in 5s): handler_threw: boom", then " trace=<16 hex digits>" when the event has a
/// trace. Line breaks in the name or text become spaces.
[[nodiscard]] std::string to_text(const event& e);

/// `t` as ISO-8601 UTC with milliseconds, e.g. "2026-12-01T17:40:02.123Z".
[[nodiscard]] std::string format_event_time(std::chrono::system_clock::time_point t);

} // namespace troupe
