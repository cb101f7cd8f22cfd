#include "troupe/introspection/event_log.hpp"

#include <cerrno>
#include <cstring>
#include <ostream>

#include <fcntl.h>
#include <unistd.h>

#include "troupe/scheduler/errors.hpp"

namespace troupe {

event_log::event_log(event_stream& events, std::ostream& out, event_format format, event_level min)
    : out_(&out), format_(format),
      sub_(events.subscribe([this](const event& e) { write(e); }, min)) {}

event_log::event_log(event_stream& events, int fd, event_format format, event_level min)
    : fd_(fd), format_(format), sub_(events.subscribe([this](const event& e) { write(e); }, min)) {}

result<std::unique_ptr<event_log>> event_log::open(event_stream& events, const std::string& path,
                                                   event_format format, event_level min) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return make_error(runtime_errc::io_failed, path, std::string{"open"},
                      std::string{std::strerror(errno)});
  return std::unique_ptr<event_log>{new event_log(events, fd, format, min)};
}

event_log::~event_log() {
  stop();
  if (fd_ >= 0)
    ::close(fd_);
}

void event_log::stop() noexcept {
  sub_.reset();
}

std::string event_log::format_line(const event& e, event_format format) {
  if (format == event_format::json)
    // Invalid UTF-8 in a name or text is replaced rather than thrown about: a log line is
    // never worth losing the event.
    return to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return to_text(e);
}

void event_log::write(const event& e) {
  auto line = format_line(e, format_);
  line += '\n';
  bool ok = true;
  if (fd_ >= 0) {
    std::size_t done = 0;
    while (ok && done < line.size()) {
      auto n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        ok = false;
      else
        done += static_cast<std::size_t>(n);
    }
  } else {
    out_->write(line.data(), static_cast<std::streamsize>(line.size()));
    out_->flush();
    ok = static_cast<bool>(*out_);
  }
  (ok ? written_ : failures_).fetch_add(1, std::memory_order_relaxed);
}

} // namespace troupe
