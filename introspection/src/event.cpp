#include "troupe/introspection/event.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace troupe {

namespace {

constexpr std::array<std::string_view, 5> level_names{"debug", "info", "notice", "warning",
                                                      "error"};

// One line: a line break inside a name or text would split a log line in two.
void append_one_line(std::string& out, std::string_view text) {
  for (char c : text)
    out.push_back(c == '\n' || c == '\r' ? ' ' : c);
}

} // namespace

std::string_view to_string(event_level level) noexcept {
  auto i = static_cast<std::size_t>(level);
  return i < level_names.size() ? level_names[i] : std::string_view{"unknown"};
}

std::optional<event_level> parse_event_level(std::string_view name) noexcept {
  for (std::size_t i = 0; i < level_names.size(); ++i)
    if (level_names[i] == name)
      return static_cast<event_level>(i);
  return std::nullopt;
}

std::string format_event_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  auto millis = static_cast<int>(ms % 1000);
  if (millis < 0) { // before the epoch
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  std::array<char, 40> buf{};
  auto n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, millis);
  return std::string(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
}

nlohmann::json to_json(const event& e) {
  nlohmann::json out = {{"sequence", e.sequence},
                        {"time", format_event_time(e.time)},
                        {"level", to_string(e.level)},
                        {"kind", e.kind},
                        {"actor", e.actor},
                        {"name", e.name},
                        {"text", e.text}};
  if (e.trace != 0)
    out["trace"] = format_trace(e.trace);
  if (e.fields.is_object()) {
    for (auto& [key, value] : e.fields.items()) {
      if (out.contains(key))
        out["fields." + key] = value;
      else
        out[key] = value;
    }
  } else if (!e.fields.is_null()) {
    out["fields"] = e.fields;
  }
  return out;
}

std::string to_text(const event& e) {
  std::string out = format_event_time(e.time);
  out += ' ';
  out += to_string(e.level);
  out += ' ';
  append_one_line(out, e.kind);
  if (!e.name.empty()) {
    out += ' ';
    append_one_line(out, e.name);
  }
  if (!e.text.empty()) {
    out += ' ';
    append_one_line(out, e.text);
  }
  if (e.trace != 0)
    out += " trace=" + format_trace(e.trace);
  return out;
}

} // namespace troupe
