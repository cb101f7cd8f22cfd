#include "troupe/introspection/detail/admin_waiting_room.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <string_view>

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace troupe::detail {

namespace {

bool head_complete(std::string_view bytes) {
  return bytes.find("\r\n\r\n") != std::string_view::npos ||
         bytes.find("\n\n") != std::string_view::npos;
}

// A short answer to a client whose head we refuse; the socket is non-blocking and the answer
// fits any fresh send buffer, so a client that does not read cannot stall the room.
void refuse(int fd, std::string_view status_line, std::string_view text) {
  std::string answer{status_line};
  answer.append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ")
      .append(std::to_string(text.size() + 1))
      .append("\r\nConnection: close\r\n\r\n")
      .append(text)
      .append("\n");
  [[maybe_unused]] auto n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

} // namespace

admin_waiting_room::admin_waiting_room(limits lim, dispatch_fn dispatch)
    : limits_(lim), dispatch_(std::move(dispatch)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    for (int fd : {epoll_fd_, wake_fd_})
      if (fd >= 0)
        ::close(fd);
    throw std::runtime_error("admin endpoint: cannot create its epoll instance");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread{[this] { run(); }};
  // Named here rather than by itself, so that it bears its name once the endpoint started.
  ::pthread_setname_np(thread_.native_handle(), "troupe-admin");
}

admin_waiting_room::~admin_waiting_room() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  // The thread is gone: what is still here (waiting or just arrived) is ours to close.
  for (auto& [fd, w] : waiting_)
    ::close(fd);
  for (auto& a : arrivals_)
    ::close(a.fd);
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void admin_waiting_room::admit(int fd) {
  {
    std::lock_guard guard{mtx_};
    if (stopping_ || open_ >= limits_.max_connections) {
      ::close(fd);
      return;
    }
    ++open_;
    arrivals_.push_back({fd, {}, 0, true});
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

void admin_waiting_room::park(int fd, std::string leftover, std::size_t served) {
  {
    std::lock_guard guard{mtx_};
    if (stopping_) {
      --open_;
      ::close(fd);
      return;
    }
    arrivals_.push_back({fd, std::move(leftover), served, false});
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

void admin_waiting_room::close(int fd) {
  ::close(fd);
  std::lock_guard guard{mtx_};
  --open_;
}

std::size_t admin_waiting_room::open_connections() const {
  std::lock_guard guard{mtx_};
  return open_;
}

void admin_waiting_room::run() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    auto n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                          next_timeout_ms(clock::now()));
    if (n < 0 && errno != EINTR)
      return;
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == wake_fd_) {
        uint64_t count = 0;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof(count));
        {
          std::lock_guard guard{mtx_};
          if (stopping_)
            return;
        }
        take_arrivals();
      } else if (waiting_.count(fd) != 0) {
        on_readable(fd);
      }
    }
    expire(clock::now());
  }
}

void admin_waiting_room::take_arrivals() {
  std::vector<arrival> batch;
  {
    std::lock_guard guard{mtx_};
    batch.swap(arrivals_);
  }
  auto now = clock::now();
  for (auto& a : batch) {
    // Non-blocking: the room reads whatever has arrived and never waits on one client.
    ::fcntl(a.fd, F_SETFL, ::fcntl(a.fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(a.fd, F_SETFD, FD_CLOEXEC);
    waiting w;
    w.buffered = std::move(a.buffered);
    w.served = a.served;
    w.head_started = a.fresh || !w.buffered.empty();
    w.deadline = now + (w.head_started ? limits_.read_timeout : limits_.keep_alive_timeout);
    auto [it, inserted] = waiting_.emplace(a.fd, std::move(w));
    if (!settle(a.fd, it->second))
      continue;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = a.fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, a.fd, &ev) != 0)
      drop(a.fd);
  }
}

void admin_waiting_room::on_readable(int fd) {
  auto& w = waiting_.at(fd);
  std::array<char, 4096> buf{};
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0) {
      // The client hung up (or failed) mid-head: tell it so if it sent anything at all.
      if (!w.buffered.empty())
        refuse(fd, "HTTP/1.1 400 Bad Request", "incomplete request");
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      drop(fd);
      return;
    }
    if (!w.head_started) {
      // The first byte of the next request on a kept-alive connection starts its deadline.
      w.head_started = true;
      w.deadline = clock::now() + limits_.read_timeout;
    }
    w.buffered.append(buf.data(), static_cast<std::size_t>(n));
    if (w.buffered.size() > limits_.max_head_bytes || head_complete(w.buffered))
      break;
  }
  settle(fd, w);
}

bool admin_waiting_room::settle(int fd, waiting& w) {
  if (head_complete(w.buffered)) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ready_connection ready{fd, std::move(w.buffered), w.served};
    waiting_.erase(fd);
    dispatch_(std::move(ready));
    return false;
  }
  if (w.buffered.size() > limits_.max_head_bytes) {
    // Still in the request line: the target is too long; past it: the header fields are.
    if (w.buffered.find('\n') == std::string::npos)
      refuse(fd, "HTTP/1.1 414 URI Too Long", "request line too long");
    else
      refuse(fd, "HTTP/1.1 431 Request Header Fields Too Large", "header fields too large");
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    drop(fd);
    return false;
  }
  return true;
}

void admin_waiting_room::drop(int fd) {
  waiting_.erase(fd);
  close(fd);
}

void admin_waiting_room::expire(clock::time_point now) {
  std::vector<int> late;
  for (auto& [fd, w] : waiting_)
    if (w.deadline <= now)
      late.push_back(fd);
  for (int fd : late) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    drop(fd);
  }
}

int admin_waiting_room::next_timeout_ms(clock::time_point now) const {
  if (waiting_.empty())
    return -1;
  auto earliest = clock::time_point::max();
  for (auto& [fd, w] : waiting_)
    earliest = std::min(earliest, w.deadline);
  if (earliest <= now)
    return 0;
  // Rounded up: waking a millisecond early would only spin until the deadline.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(earliest - now).count();
  return static_cast<int>(std::min<decltype(ms)>(ms, 60'000));
}

} // namespace troupe::detail
