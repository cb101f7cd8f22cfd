#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace troupe::detail {

/// A deliberately small HTTP/1.1 server for the runtime's admin endpoint: one thread, one
/// connection at a time, GET only, every response closes the connection. It binds to an
/// address of the caller's choice (loopback by default in runtime_config), bounds what it
/// reads (8 KiB of headers, 2 s per request) and survives malformed requests and clients
/// that vanish mid-way.
///
/// Thread safety: construct and destroy from one thread; the handler runs on the server's.
/// Thrown by admin_server's constructor when it cannot listen (address or port unusable);
/// runtime::create() turns it into runtime_errc::admin_unavailable.
class admin_listen_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class admin_server {
public:
  struct response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };

  /// Answers a GET of `path`.
  using handler = std::function<response(const std::string& path)>;

  /// Binds and starts serving; `port` 0 picks a free port (see port()).
  /// Throws std::runtime_error when the address cannot be bound.
  admin_server(const std::string& address, uint16_t port, handler h);
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;
  ~admin_server();

  [[nodiscard]] uint16_t port() const noexcept { return port_; }

private:
  void run();
  void serve(int fd);

  handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::thread thread_;
};

} // namespace troupe::detail
