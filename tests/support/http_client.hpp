#pragma once

// A few raw-socket HTTP helpers for the admin endpoint's tests: they send exactly the bytes a
// test gives, so malformed and partial requests can be tested too.

#include <array>
#include <cstdint>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace troupe::test {

/// A connected TCP socket to 127.0.0.1:`port`, or -1.
inline int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Reads until the peer closes; returns what arrived.
inline std::string read_until_closed(int fd) {
  std::string response;
  std::array<char, 4096> buf{};
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    response.append(buf.data(), static_cast<std::size_t>(n));
  }
  return response;
}

/// Sends `request` as is, ends the sending side (so a kept-alive connection ends after the
/// answer) and returns everything the server answers until it closes.
inline std::string http_exchange(uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  if (fd < 0)
    return {};
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  auto response = read_until_closed(fd);
  ::close(fd);
  return response;
}

/// The body of a response (everything after the blank line).
inline std::string body_of(const std::string& response) {
  auto i = response.find("\r\n\r\n");
  return i == std::string::npos ? std::string{} : response.substr(i + 4);
}

/// Reads the responses that arrive on one kept-alive connection, in order; bytes that arrive
/// past one response are kept for the next.
class response_reader {
public:
  explicit response_reader(int fd) : fd_(fd) {}

  /// The next response (which must carry a Content-Length; `head_only` for the answer to a
  /// HEAD, which has none); "" when the connection ends first.
  std::string next(bool head_only = false) {
    for (;;) {
      auto head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        auto at = pending_.find("Content-Length: ");
        if (!head_only && at != std::string::npos && at < head_end)
          length = std::stoul(pending_.substr(at + 16));
        if (pending_.size() >= head_end + 4 + length) {
          auto response = pending_.substr(0, head_end + 4 + length);
          pending_.erase(0, response.size());
          return response;
        }
      }
      std::array<char, 4096> buf{};
      auto n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0)
        return {};
      pending_.append(buf.data(), static_cast<std::size_t>(n));
    }
  }

  /// Everything that is left until the peer closes.
  std::string rest() { return pending_ + read_until_closed(fd_); }

private:
  int fd_;
  std::string pending_;
};

} // namespace troupe::test
