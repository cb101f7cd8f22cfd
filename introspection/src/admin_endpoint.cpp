#include "troupe/introspection/admin_endpoint.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <utility>

#include "troupe/introspection/detail/admin_server.hpp"
#include "troupe/introspection/detail/event_backlog.hpp"
#include "troupe/introspection/detail/prometheus_text.hpp"
#include "troupe/introspection/detail/viewer_page.hpp"

namespace troupe {

namespace {

// GET /events: how long an EventSource waits before it asks for the next events.
constexpr std::chrono::milliseconds event_stream_retry{500};

// A sequence number from a query or a Last-Event-ID header; 0 (every kept event) when absent
// or malformed.
std::uint64_t parse_sequence(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() ? value : 0;
}

} // namespace

// Members in destruction order from the bottom: the server stops (no handler runs any more)
// before the subscription ends, and the subscription ends before the backlog it fills goes.
struct admin_endpoint::state {
  const metric_registry& families;
  topology_source topology;
  std::atomic<bool> ready{false};
  detail::event_backlog backlog;
  event_subscription backlog_subscription;
  std::unique_ptr<detail::admin_server> server;

  state(const metric_registry& metric_families, topology_source source)
      : families(metric_families), topology(std::move(source)) {}

  detail::admin_server::response answer(const detail::admin_server::request& req) {
    const auto& path = req.path;
    detail::admin_server::response r;
    if (path == "/") {
      // The page itself needs no running system; it polls /topology, which may say 503.
      r.content_type = "text/html; charset=utf-8";
      r.body = std::string{detail::viewer_page()};
    } else if (!ready.load(std::memory_order_acquire)) {
      r.status = 503;
      r.body = "starting\n";
    } else if (path == "/topology") {
      r.content_type = "application/json";
      r.body = topology(nullptr).dump(2) + "\n";
    } else if (path == "/metrics") {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      std::vector<std::string> node_sections;
      auto doc = topology(&node_sections);
      r.body = detail::prometheus_text(doc, node_sections, families);
    } else if (path == "/events") {
      // Resumes after the reader's last event: ?after=N, or the Last-Event-ID an EventSource
      // sends when it reconnects.
      const auto& after = req.query.count("after") ? req.query.at("after") : req.last_event_id;
      r.content_type = "text/event-stream; charset=utf-8";
      r.cache_control = "no-store";
      r.body = backlog.server_sent_events(parse_sequence(after), event_stream_retry);
    } else {
      r.status = 404;
      r.body = "not found: try /, /topology, /metrics or /events\n";
    }
    return r;
  }
};

admin_endpoint::admin_endpoint(const std::string& address, uint16_t port, event_stream& events,
                               const metric_registry& families, topology_source topology)
    : state_(std::make_unique<state>(families, std::move(topology))) {
  // First, so that a port that cannot be bound throws before anything is subscribed.
  state_->server = std::make_unique<detail::admin_server>(
      address, port,
      [st = state_.get()](const detail::admin_server::request& req) { return st->answer(req); });
  state_->backlog_subscription = events.subscribe(
      [st = state_.get()](const event& e) { st->backlog.add(e); }, event_level::info);
}

admin_endpoint::~admin_endpoint() {
  // The server's threads call into the state: they stop first.
  state_->server.reset();
}

uint16_t admin_endpoint::port() const noexcept {
  return state_->server->port();
}

void admin_endpoint::set_ready() noexcept {
  state_->ready.store(true, std::memory_order_release);
}

} // namespace troupe
