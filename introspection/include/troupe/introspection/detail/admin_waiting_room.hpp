#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace troupe::detail {

/// Where the admin endpoint's connections wait while they have no complete request head: fresh
/// connections, kept-alive connections between requests, and clients that trickle their bytes.
/// One thread watches them all with epoll and reads what arrives without blocking; a connection
/// goes to a worker only once its head (request line and header fields) is complete, so idle
/// and slow clients never hold one of the endpoint's few worker threads.
///
/// Limits, each enforced here: a head must be complete within `read_timeout` of its first byte
/// (of the connection's opening, for a fresh one): a per-head deadline, not a per-read one, so
/// one byte a second does not keep a connection open; an idle kept-alive connection is closed
/// after `keep_alive_timeout`; a head longer than `max_head_bytes` is answered with 414 (still
/// in the request line) or 431 (in the header fields) and closed; beyond `max_connections` open
/// connections a new one is closed at once. Memory is therefore bounded by
/// max_connections x max_head_bytes.
///
/// Thread safety: admit(), park() and close() may be called from any thread. `dispatch` runs on
/// the room's thread and must not block. The destructor closes every connection still waiting.
class admin_waiting_room {
public:
  struct limits {
    std::size_t max_head_bytes = 8 * 1024;
    std::chrono::milliseconds read_timeout{2000};
    std::chrono::milliseconds keep_alive_timeout{5000};
    std::size_t max_connections = 512;
  };

  /// A connection whose buffered bytes start with a complete request head. Owns `fd`: hand it
  /// back with park() or end it with close().
  struct ready_connection {
    int fd = -1;
    std::string buffered;
    /// Requests already answered on this connection.
    std::size_t served = 0;
  };

  using dispatch_fn = std::function<void(ready_connection)>;

  admin_waiting_room(limits lim, dispatch_fn dispatch);
  admin_waiting_room(const admin_waiting_room&) = delete;
  admin_waiting_room& operator=(const admin_waiting_room&) = delete;
  ~admin_waiting_room();

  /// Takes a freshly accepted connection; closes it at once when max_connections are open.
  void admit(int fd);

  /// Takes back a connection that was served and stays open; `leftover` holds bytes already
  /// read past the last request (a pipelined next request); `served` counts its requests.
  void park(int fd, std::string leftover, std::size_t served);

  /// Closes a connection the room handed out.
  void close(int fd);

  /// Connections open now (waiting here or handed out).
  [[nodiscard]] std::size_t open_connections() const;

private:
  using clock = std::chrono::steady_clock;

  struct waiting {
    std::string buffered;
    std::size_t served = 0;
    clock::time_point deadline;
    bool head_started = false;
  };

  struct arrival {
    int fd;
    std::string buffered;
    std::size_t served;
    bool fresh;
  };

  void run();
  void take_arrivals();
  void on_readable(int fd);
  // Dispatches, rejects or keeps waiting on `fd`; returns false once it left the room.
  bool settle(int fd, waiting& w);
  void drop(int fd);
  void expire(clock::time_point now);
  [[nodiscard]] int next_timeout_ms(clock::time_point now) const;

  limits limits_;
  dispatch_fn dispatch_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;

  mutable std::mutex mtx_;
  std::vector<arrival> arrivals_; // guarded by mtx_
  std::size_t open_ = 0;          // guarded by mtx_
  bool stopping_ = false;         // guarded by mtx_

  std::unordered_map<int, waiting> waiting_; // the room's thread only
  std::thread thread_;
};

} // namespace troupe::detail
