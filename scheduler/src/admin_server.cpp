#include "troupe/scheduler/detail/admin_server.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace troupe::detail {

namespace {

constexpr std::size_t max_request_bytes = 8 * 1024;

const char* reason_phrase(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 414:
    return "URI Too Long";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  default:
    return "Error";
  }
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a client that hung up must not kill the process with SIGPIPE.
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void respond(int fd, const admin_server::response& r, bool head_only = false) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) +
                     "\r\nContent-Type: " + r.content_type +
                     "\r\nContent-Length: " + std::to_string(r.body.size()) +
                     "\r\nConnection: close\r\n";
  if (r.status == 405)
    head += "Allow: GET\r\n";
  head += "\r\n";
  send_all(fd, head);
  if (!head_only)
    send_all(fd, r.body);
}

admin_server::response error_response(int status, const char* text) {
  return {status, "text/plain; charset=utf-8", std::string{text} + "\n"};
}

} // namespace

admin_server::admin_server(const std::string& address, uint16_t port, handler h)
    : handler_(std::move(h)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    throw std::runtime_error("admin endpoint: cannot create a socket");
  int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    ::close(listen_fd_);
    throw admin_listen_error(address + ":" + std::to_string(port) + ": not a dotted IPv4 address");
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    auto err = std::string{std::strerror(errno)};
    ::close(listen_fd_);
    throw admin_listen_error(address + ":" + std::to_string(port) + ": " + err);
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("admin endpoint: cannot create its wake pipe");
  }
  thread_ = std::thread{[this] { run(); }};
}

admin_server::~admin_server() {
  char byte = 0;
  [[maybe_unused]] auto n = ::write(wake_[1], &byte, 1);
  if (thread_.joinable())
    thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void admin_server::run() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    auto n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || (fds[1].revents & POLLIN) != 0)
      return;
    if ((fds[0].revents & POLLIN) == 0)
      continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    serve(fd);
    ::close(fd);
  }
}

void admin_server::serve(int fd) {
  // A client that sends nothing (or trickles) cannot hold the endpoint for long.
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char buf[1024];
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos) {
    if (request.size() > max_request_bytes) {
      // Still in the request line: the target is too long; past it: the header fields are.
      if (request.find('\n') == std::string::npos)
        respond(fd, error_response(414, "request line too long"));
      else
        respond(fd, error_response(431, "header fields too large"));
      return;
    }
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (!request.empty())
        respond(fd, error_response(400, "incomplete request"));
      return; // disconnected or timed out
    }
    request.append(buf, static_cast<std::size_t>(n));
  }
  // Request line: METHOD SP TARGET SP HTTP/x.y
  auto line_end = request.find_first_of("\r\n");
  std::string_view line{request.data(), line_end};
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      (line.substr(sp2 + 1) != "HTTP/1.1" && line.substr(sp2 + 1) != "HTTP/1.0")) {
    respond(fd, error_response(400, "malformed request line"));
    return;
  }
  auto method = line.substr(0, sp1);
  auto target = std::string{line.substr(sp1 + 1, sp2 - sp1 - 1)};
  if (method != "GET" && method != "HEAD") {
    respond(fd, error_response(405, "only GET is supported"));
    return;
  }
  if (auto q = target.find('?'); q != std::string::npos)
    target.resize(q);
  response r;
  try {
    r = handler_(target);
  } catch (const std::exception& e) {
    r = {500, "text/plain; charset=utf-8", std::string{e.what()} + "\n"};
  }
  respond(fd, r, method == "HEAD");
}

} // namespace troupe::detail
