#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "troupe/introspection/event_log.hpp"
#include "troupe/introspection/event_stream.hpp"

namespace troupe {

/// The spdlog level an event of `level` is logged at: debug -> debug, info and notice -> info,
/// warning -> warn, error -> err.
[[nodiscard]] spdlog::level::level_enum to_spdlog_level(event_level level) noexcept;

/// Writes a runtime's events to an spdlog logger (target troupe::spdlog, built when spdlog is
/// found): one log record per event of level `min` or above, at the level to_spdlog_level
/// maps it to. Subscribed from construction until stop() or destruction.
///
/// The record's message is "kind name text" (spdlog's pattern adds the time and level) with
/// event_format::text, or the event's JSON object (to_json) with event_format::json.
///
/// Example:
///
///   auto logger = spdlog::stderr_color_mt("troupe");
///   troupe::spdlog_event_log log{rt.events(), logger, troupe::event_level::info};
///
/// Errors: none of its own; spdlog reports its sinks' failures through its error handler.
///
/// Thread safety: records are logged on the publishing thread, one event at a time per stream;
/// the logger must be thread-safe (spdlog's *_mt loggers) when anything else uses it. stop()
/// may be called from any thread.
class spdlog_event_log {
public:
  /// Logs the events of `events` of level `min` or above to `logger` in `format`.
  spdlog_event_log(event_stream& events, std::shared_ptr<spdlog::logger> logger,
                   event_level min = event_level::info, event_format format = event_format::text);
  spdlog_event_log(const spdlog_event_log&) = delete;
  spdlog_event_log& operator=(const spdlog_event_log&) = delete;
  /// Stops logging (see stop()).
  ~spdlog_event_log();

  /// Unsubscribes: nothing is logged after it returns.
  void stop() noexcept;

  /// The message `e` becomes in `format` (without time and level, which spdlog adds).
  [[nodiscard]] static std::string format_message(const event& e, event_format format);

private:
  std::shared_ptr<spdlog::logger> logger_;
  event_format format_;
  event_subscription sub_; // last: unsubscribed before the logger goes
};

} // namespace troupe
