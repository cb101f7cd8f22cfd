#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

#include "troupe/introspection/event_stream.hpp"
#include "troupe/scheduler/result.hpp"

namespace troupe {

/// How an event_log writes each event: one line of to_text() or one JSON object per line
/// (JSON lines, to_json()).
enum class event_format : std::uint8_t {
  text, ///< "2026-12-01T17:40:02.123Z warning supervisor.child_restarted demo/jobs/w1 ..."
  json, ///< {"sequence":7,"time":"2026-12-01T17:40:02.123Z","level":"warning",...}
};

/// A logger for an event_stream: writes one line per event of a minimum level or above, to an
/// std::ostream or to a file, as human text or JSON lines. Subscribed from construction until
/// stop() or destruction.
///
/// Example:
///
///   troupe::event_log to_stderr{rt.events(), std::cerr, troupe::event_format::text,
///                               troupe::event_level::info};
///   auto to_file = troupe::event_log::open(rt.events(), "/var/log/demo/events.jsonl",
///                                          troupe::event_format::json);
///   if (!to_file) std::cerr << troupe::render(to_file.error()) << '\n';
///
/// Each line is written and flushed while the event is delivered (on the publishing thread);
/// a file is opened for appending and written with one write() per line, so lines of several
/// processes appending to one file do not interleave.
///
/// Errors: open() returns runtime_errc::io_failed (the path, "open", the system's reason) for a
/// file that cannot be opened. A failed write later is counted (write_failures()), not thrown.
///
/// Thread safety: the log is written by its stream's delivery, one event at a time; written(),
/// write_failures() and stop() may be called from any thread. An std::ostream given to the
/// constructor must outlive the log, and nothing else may write to it concurrently unless it
/// is a synchronised stream (std::cerr, std::clog).
class event_log {
public:
  /// Writes the events of `events` of level `min` or above to `out` in `format`.
  event_log(event_stream& events, std::ostream& out, event_format format = event_format::text,
            event_level min = event_level::info);

  /// Opens (creates, or appends to) the file at `path` and writes the events of `events` of
  /// level `min` or above to it in `format`. Errors: runtime_errc::io_failed.
  [[nodiscard]] static result<std::unique_ptr<event_log>>
  open(event_stream& events, const std::string& path, event_format format = event_format::json,
       event_level min = event_level::info);

  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;
  /// Stops writing (see stop()) and closes the file it opened.
  ~event_log();

  /// Unsubscribes: no line is written after it returns.
  void stop() noexcept;

  /// Lines written so far.
  [[nodiscard]] std::uint64_t written() const noexcept {
    return written_.load(std::memory_order_relaxed);
  }
  /// Lines that could not be written (a full disk, a closed stream).
  [[nodiscard]] std::uint64_t write_failures() const noexcept {
    return failures_.load(std::memory_order_relaxed);
  }

  /// The line `e` becomes in `format`, without the line break.
  [[nodiscard]] static std::string format_line(const event& e, event_format format);

private:
  event_log(event_stream& events, int fd, event_format format, event_level min);

  void write(const event& e);

  std::ostream* out_ = nullptr;
  int fd_ = -1;
  event_format format_;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> failures_{0};
  event_subscription sub_; // last: unsubscribed before the members it uses go
};

} // namespace troupe
