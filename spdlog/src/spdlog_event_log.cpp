#include "troupe/spdlog/spdlog_event_log.hpp"

namespace troupe {

spdlog::level::level_enum to_spdlog_level(event_level level) noexcept {
  switch (level) {
  case event_level::debug:
    return spdlog::level::debug;
  case event_level::info:
  case event_level::notice:
    return spdlog::level::info;
  case event_level::warning:
    return spdlog::level::warn;
  case event_level::error:
    return spdlog::level::err;
  }
  return spdlog::level::info;
}

spdlog_event_log::spdlog_event_log(event_stream& events, std::shared_ptr<spdlog::logger> logger,
                                   event_level min, event_format format)
    : logger_(std::move(logger)), format_(format) {
  if (!logger_)
    return;
  sub_ = events.subscribe(
      [this](const event& e) {
        logger_->log(to_spdlog_level(e.level), "{}", format_message(e, format_));
      },
      min);
}

spdlog_event_log::~spdlog_event_log() {
  stop();
}

void spdlog_event_log::stop() noexcept {
  sub_.reset();
}

std::string spdlog_event_log::format_message(const event& e, event_format format) {
  if (format == event_format::json)
    return event_log::format_line(e, event_format::json);
  std::string out{e.kind};
  if (!e.name.empty())
    out += ' ' + e.name;
  if (!e.text.empty())
    out += ' ' + e.text;
  for (auto& c : out)
    if (c == '\n' || c == '\r')
      c = ' ';
  return out;
}

} // namespace troupe
