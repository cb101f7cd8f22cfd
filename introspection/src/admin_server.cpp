#include "troupe/introspection/detail/admin_server.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "troupe/introspection/detail/admin_waiting_room.hpp"

// How a request travels (cpp-httplib parses, routes and writes; the threads are ours):
//  1. httplib's accept loop runs on our acceptor thread and hands each socket to
//     process_and_close_socket, which we override to admit it to the waiting room instead of
//     serving it there (the task queue runs that call inline: no thread per connection).
//  2. The waiting room reads without blocking until the request head is complete, then queues
//     the connection for a worker; idle, slow and oversized clients end there.
//  3. A worker runs httplib's process_request over a stream that first replays the buffered
//     head, then parks the connection back in the room (keep-alive) or closes it.

namespace troupe::detail {

namespace {

using clock = std::chrono::steady_clock;

// Named by the thread that starts it, before the endpoint reports itself started: a census of
// the process's threads taken right after sees every one under its name (a thread that named
// itself might not have run yet).
void name_admin_thread(std::thread& t) {
  ::pthread_setname_np(t.native_handle(), "troupe-admin");
}

// Waits until `fd` is ready for `events` or `deadline` passes.
bool wait_for(int fd, short events, clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0)
      return false;
    pollfd p{fd, events, 0};
    auto n = ::poll(&p, 1, static_cast<int>(std::min<decltype(left)>(left, 60'000)));
    if (n < 0 && errno == EINTR)
      continue;
    return n > 0;
  }
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  auto rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                 : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0 || addr.sin_family != AF_INET)
    return;
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
  ip = text;
  port = ntohs(addr.sin_port);
}

// One request's view of a connection for httplib: the bytes the waiting room already read,
// then the (non-blocking) socket. Reads share one deadline for the whole request, so a client
// that trickles its body cannot hold a worker for longer than read_timeout.
class connection_stream final : public httplib::Stream {
public:
  connection_stream(int fd, std::string buffered, clock::time_point read_deadline,
                    std::chrono::milliseconds write_timeout)
      : fd_(fd), buffered_(std::move(buffered)), read_deadline_(read_deadline),
        write_timeout_(write_timeout) {}

  bool is_readable() const override {
    return pos_ < buffered_.size() || wait_for(fd_, POLLIN, read_deadline_);
  }

  bool is_writable() const override {
    return wait_for(fd_, POLLOUT, clock::now() + write_timeout_);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ < buffered_.size()) {
      auto n = std::min(size, buffered_.size() - pos_);
      std::memcpy(ptr, buffered_.data() + pos_, n);
      pos_ += n;
      return static_cast<ssize_t>(n);
    }
    for (;;) {
      auto n = ::recv(fd_, ptr, size, 0);
      if (n >= 0)
        return n;
      if (errno == EINTR)
        continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_for(fd_, POLLIN, read_deadline_))
        return -1;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    auto deadline = clock::now() + write_timeout_;
    for (;;) {
      // MSG_NOSIGNAL: a client that hung up must not kill the process with SIGPIPE.
      auto n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0)
        return n;
      if (errno == EINTR)
        continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_for(fd_, POLLOUT, deadline))
        return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, true, ip, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, false, ip, port);
  }

  socket_t socket() const override { return fd_; }

  /// Bytes read past the request just served: the start of a pipelined next one.
  std::string take_leftover() { return buffered_.substr(pos_); }

private:
  int fd_;
  std::string buffered_;
  std::size_t pos_ = 0;
  clock::time_point read_deadline_;
  std::chrono::milliseconds write_timeout_;
};

// Runs httplib's per-connection task on the accept thread itself: the task is our
// process_and_close_socket, which only admits the socket to the waiting room.
class inline_task_queue final : public httplib::TaskQueue {
public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

// Statuses after which the connection cannot be trusted to be in step (an unread body, a
// malformed head): answer, then close.
bool ends_connection(int status) {
  return status >= 400 && status != 404 && status != 503;
}

// The status of the response the calling thread just wrote (httplib calls its logger on the
// thread that serves the request, right after writing the response).
thread_local int last_status = 0;

} // namespace

class admin_server::impl {
public:
  impl(const std::string& address, uint16_t port, handler h, limits lim)
      : limits_(lim), handler_(std::move(h)),
        room_({lim.max_head_bytes, lim.read_timeout, lim.keep_alive_timeout, lim.max_connections},
              [this](admin_waiting_room::ready_connection c) { enqueue(std::move(c)); }),
        http_(room_) {
    configure_routes();
    configure_limits();
    port_ = bind(address, port);
    for (std::size_t i = 0; i < std::max<std::size_t>(limits_.workers, 1); ++i) {
      workers_.emplace_back([this] { work(); });
      name_admin_thread(workers_.back());
    }
    http_.new_task_queue = [this]() -> httplib::TaskQueue* {
      accepting_.count_down();
      return new inline_task_queue;
    };
    acceptor_ = std::thread{[this] { http_.listen_after_bind(); }};
    name_admin_thread(acceptor_);
    // httplib's stop() does nothing until the accept loop runs: wait for it, so that the
    // destructor can always stop it.
    accepting_.wait();
  }

  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // Shutdown order: no new connections, then no worker, then the room closes the rest.
  ~impl() {
    http_.stop();
    acceptor_.join();
    {
      std::lock_guard guard{mtx_};
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : workers_)
      t.join();
    for (auto& c : queue_)
      room_.close(c.fd);
    // room_'s destructor closes the connections still waiting.
  }

  [[nodiscard]] uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::size_t open_connections() const { return room_.open_connections(); }

private:
  // httplib's server with its per-connection loop replaced by ours (see the top of the file).
  class http_server final : public httplib::Server {
  public:
    explicit http_server(admin_waiting_room& room) : room_(room) {}

    /// Answers the request at the head of `strm`; returns whether the connection stays open.
    bool serve_one(connection_stream& strm, bool last) {
      bool closed = false;
      last_status = 0;
      auto ok = process_request(strm, last, closed, nullptr);
      return ok && !closed && !last && !ends_connection(last_status);
    }

    /// httplib listens with a backlog of 5; a burst of clients would wait for SYN retries.
    void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }

  private:
    bool process_and_close_socket(socket_t sock) override {
      room_.admit(sock);
      return true;
    }

    admin_waiting_room& room_;
  };

  void configure_routes() {
    http_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "GET" || req.method == "HEAD")
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("only GET is supported\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    });
    http_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      request view{req.path, {}, req.get_header_value("Last-Event-ID")};
      for (const auto& [key, value] : req.params)
        view.query[key] = value;
      response r;
      try {
        r = handler_(view);
      } catch (const std::exception& e) {
        r = {500, "text/plain; charset=utf-8", std::string{e.what()} + "\n", {}};
      }
      res.status = r.status;
      if (!r.cache_control.empty())
        res.set_header("Cache-Control", r.cache_control);
      res.set_content(std::move(r.body), r.content_type.c_str());
    });
    // httplib's own refusals (a malformed request line, a body too large) carry no text.
    http_.set_error_handler(
        httplib::Server::HandlerWithResponse{[](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty())
            return httplib::Server::HandlerResponse::Unhandled;
          res.set_content("request refused: HTTP " + std::to_string(res.status) + "\n",
                          "text/plain; charset=utf-8");
          return httplib::Server::HandlerResponse::Handled;
        }});
    http_.set_logger(
        [](const httplib::Request&, const httplib::Response& res) { last_status = res.status; });
  }

  void configure_limits() {
    auto seconds = [](std::chrono::milliseconds d) {
      return std::max<time_t>(1, std::chrono::ceil<std::chrono::seconds>(d).count());
    };
    http_.set_keep_alive_max_count(std::max<std::size_t>(limits_.keep_alive_max_requests, 1));
    http_.set_keep_alive_timeout(seconds(limits_.keep_alive_timeout));
    http_.set_read_timeout(limits_.read_timeout);
    http_.set_write_timeout(limits_.write_timeout);
    http_.set_payload_max_length(limits_.max_body_bytes);
    http_.set_address_family(AF_INET);
    // Not httplib's default (SO_REUSEPORT): a second server on a port in use must fail to bind.
    http_.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      ::fcntl(sock, F_SETFD, FD_CLOEXEC);
    });
  }

  uint16_t bind(const std::string& address, uint16_t port) {
    auto where = address + ":" + std::to_string(port);
    if (in_addr parsed{}; ::inet_pton(AF_INET, address.c_str(), &parsed) != 1)
      throw admin_listen_error(where + ": not a dotted IPv4 address");
    errno = 0;
    int bound = port == 0 ? http_.bind_to_any_port(address)
                          : (http_.bind_to_port(address, port) ? port : -1);
    if (bound <= 0) {
      auto reason = errno != 0 ? std::string{std::strerror(errno)} : std::string{"cannot bind"};
      throw admin_listen_error(where + ": " + reason);
    }
    http_.widen_backlog();
    return static_cast<uint16_t>(bound);
  }

  void enqueue(admin_waiting_room::ready_connection c) {
    {
      std::lock_guard guard{mtx_};
      queue_.push_back(std::move(c));
    }
    ready_.notify_one();
  }

  void work() {
    for (;;) {
      admin_waiting_room::ready_connection c;
      {
        std::unique_lock lock{mtx_};
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_)
          return;
        c = std::move(queue_.front());
        queue_.pop_front();
      }
      serve(std::move(c));
    }
  }

  void serve(admin_waiting_room::ready_connection c) {
    connection_stream strm{c.fd, std::move(c.buffered), clock::now() + limits_.read_timeout,
                           limits_.write_timeout};
    bool last = c.served + 1 >= limits_.keep_alive_max_requests;
    if (http_.serve_one(strm, last))
      room_.park(c.fd, strm.take_leftover(), c.served + 1);
    else
      room_.close(c.fd);
  }

  limits limits_;
  handler handler_;
  std::mutex mtx_;
  std::condition_variable ready_;
  std::deque<admin_waiting_room::ready_connection> queue_; // guarded by mtx_
  bool stopping_ = false;                                  // guarded by mtx_
  admin_waiting_room room_;
  http_server http_;
  uint16_t port_ = 0;
  std::latch accepting_{1};
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

admin_server::admin_server(const std::string& address, uint16_t port, handler h)
    : admin_server(address, port, std::move(h), limits{}) {}

admin_server::admin_server(const std::string& address, uint16_t port, handler h, limits lim)
    : impl_(std::make_unique<impl>(address, port, std::move(h), lim)), port_(impl_->port()) {}

admin_server::~admin_server() = default;

std::size_t admin_server::open_connections() const {
  return impl_->open_connections();
}

} // namespace troupe::detail
