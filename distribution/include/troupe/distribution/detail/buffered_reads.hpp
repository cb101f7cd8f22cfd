#pragma once

// A read policy for CAF's stream loop (caf::io::network::stream::handle_event_impl) that reads
// what the socket has in one recv and hands the reader its pieces from a buffer.
//
// CAF's loop asks read_some for exactly what its reader wants next (a BASP header, then its
// payload) and reads until a read comes back empty: three recv calls for one small message.
// Here read_some hands out buffered bytes first; with none left it reads the socket into the
// buffer, and once a read came back short (the socket had no more) it reads nothing more until
// the next readiness event. must_read_more keeps CAF's loop going while buffered bytes are
// left: no byte waits in the buffer for an event that will not come, as long as the stream is
// not passivated with bytes buffered and activated again (a broker moving the connection,
// gated_scribe's remove_from_loop and add_to_loop: BASP never does) and no reader asks for
// zero bytes (a recv of zero reads as a closed connection in CAF's policy too).

#include <cstddef>
#include <memory>

#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/rw_state.hpp>
#include <caf/policy/tcp.hpp>

namespace troupe::detail {

/// Thread safety: one stream's, used in the multiplexer's event loop.
class buffered_reads {
public:
  /// What one recv into the buffer asks for; a piece this large or larger is read straight into
  /// the reader's buffer, as CAF reads it.
  static constexpr std::size_t capacity = 16 * 1024;

  /// Called at each readiness event, before CAF's loop.
  void new_event() noexcept { drained_ = false; }

  /// Fills `buf` with up to `len` bytes: buffered ones, else from `fd` (see the top). `result`
  /// 0 with success ends CAF's loop; failure means the connection failed or closed.
  caf::io::network::rw_state read_some(std::size_t& result, caf::io::network::native_socket fd,
                                       void* buf, std::size_t len);

  /// Writes as CAF's TCP policy does (CAF's loop is one template for reads and writes).
  static caf::io::network::rw_state write_some(std::size_t& result,
                                               caf::io::network::native_socket fd, const void* buf,
                                               std::size_t len) {
    return caf::policy::tcp::write_some(result, fd, buf, len);
  }

  [[nodiscard]] bool must_read_more(caf::io::network::native_socket, std::size_t) const noexcept {
    return buffered() > 0;
  }

  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }

private:
  std::unique_ptr<char[]> data_; // made by the first read that needs it
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool drained_ = false;
};

} // namespace troupe::detail
