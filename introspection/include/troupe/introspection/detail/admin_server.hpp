#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "troupe/introspection/admin_endpoint.hpp"

namespace troupe::detail {

/// The runtime's admin endpoint: an HTTP/1.1 server on cpp-httplib that answers GET and HEAD
/// through one handler. It binds to an address of the caller's choice (loopback by default in
/// runtime_config), keeps connections alive, and has a fixed set of threads whatever its
/// clients do: one accepts, one (admin_waiting_room) holds every connection until it has sent a
/// whole request head, and `workers` answer complete requests. Idle, slow and malformed clients
/// are bounded by the limits below and never hold a worker while they dawdle. Other methods get
/// 405, unknown paths whatever the handler says (the runtime's: 404).
///
/// Thread safety: construct and destroy from one thread; the handler runs on the worker
/// threads, several at a time. The destructor stops accepting, closes every connection and
/// joins all threads; a request being answered finishes first (its writes are bounded by
/// write_timeout).
class admin_server {
public:
  /// What a handler sees of a GET (or HEAD) request.
  struct request {
    /// The target without its query string.
    std::string path;
    /// The query string's parameters (the last value of a repeated one).
    std::map<std::string, std::string> query;
    /// The request's Last-Event-ID header (a reconnecting event stream), or empty.
    std::string last_event_id;
  };

  struct response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /// Sent as Cache-Control when not empty.
    std::string cache_control;
  };

  /// Answers one request.
  using handler = std::function<response(const request&)>;

  struct limits {
    /// Threads that answer complete requests.
    std::size_t workers = 2;
    /// Request line and header fields together; beyond it: 414 or 431.
    std::size_t max_head_bytes = 8 * 1024;
    /// Request body; beyond it: 413.
    std::size_t max_body_bytes = 8 * 1024;
    /// Time to send a whole request head once it started (a fresh connection: from accept).
    std::chrono::milliseconds read_timeout{2000};
    /// Time to send a response's bytes.
    std::chrono::milliseconds write_timeout{2000};
    /// How long a kept-alive connection may sit idle between requests.
    std::chrono::milliseconds keep_alive_timeout{5000};
    /// Requests per connection before the server closes it.
    std::size_t keep_alive_max_requests = 100;
    /// Open connections; more are closed as soon as they are accepted.
    std::size_t max_connections = 512;
  };

  /// Binds and starts serving; `port` 0 picks a free port (see port()).
  /// Throws admin_listen_error when the address cannot be bound.
  admin_server(const std::string& address, uint16_t port, handler h);
  admin_server(const std::string& address, uint16_t port, handler h, limits lim);
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;
  ~admin_server();

  [[nodiscard]] uint16_t port() const noexcept { return port_; }

  /// Connections open now (waiting for a request or being answered).
  [[nodiscard]] std::size_t open_connections() const;

private:
  class impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

} // namespace troupe::detail
