#pragma once

// The TCP stream under a gated connection: CAF's stream, plus a flush that sends at once and
// reads that take what the socket has in one system call.
//
// CAF's stream::flush never writes: it registers the socket for write readiness, the
// multiplexer's next epoll_wait reports it writable (an idle TCP socket always is), the stream
// sends, and unregisters once its buffer is empty. That is three system calls more than the send
// itself (two epoll_ctl, one epoll_wait) for every message BASP flushes, in the event loop that
// every remote request and reply crosses.
//
// CAF's stream reads exactly what its reader asks for next: BASP asks for a header, then for
// the payload, and the stream reads again until the socket has nothing (a failed recv). Three
// recv calls for one small message, where one would have taken it all: this stream reads
// through buffered_reads.hpp.

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/policy/tcp.hpp>

#include "troupe/distribution/detail/buffered_reads.hpp"

namespace troupe::detail {

/// Thread safety: like CAF's stream, used only in the multiplexer's event loop.
class gated_stream final : public caf::io::network::stream_impl<caf::policy::tcp> {
public:
  gated_stream(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd)
      : stream_impl(mpx, fd) {}

  /// Sends the queued bytes (wr_buf()) right away when no write is in progress, then leaves
  /// whatever the socket did not take, and any error, to stream::flush: the multiplexer sends
  /// the rest when the socket is writable again and reports a failure to `mgr`.
  void flush_now(const manager_ptr& mgr);

  /// Reads through buffered_reads; writes as CAF's stream.
  void handle_event(caf::io::network::operation op) override;

private:
  buffered_reads reads_;
};

} // namespace troupe::detail
