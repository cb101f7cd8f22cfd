#include "troupe/distribution/detail/gated_stream.hpp"

#include <iterator>

namespace troupe::detail {

using caf::io::network::operation;
using caf::io::network::rw_state;

void gated_stream::flush_now(const manager_ptr& mgr) {
  auto& queued = wr_buf();
  // While a write is in progress the stream's own buffer goes first: sending now would
  // reorder the bytes. Acknowledged writes report each send to the manager, and a shutdown
  // sends its FIN after the last write: both stay on CAF's path.
  if (!queued.empty() && !state_.writing && !state_.ack_writes && !state_.shutting_down) {
    size_t sent = 0;
    // A failure leaves the bytes queued: the write event below fails the same way and
    // reports it to the manager, as it does for CAF's own writes.
    if (caf::policy::tcp::write_some(sent, fd(), queued.data(), queued.size()) == rw_state::success)
      queued.erase(queued.begin(), std::next(queued.begin(), static_cast<std::ptrdiff_t>(sent)));
  }
  flush(mgr); // nothing left: no-op
}

void gated_stream::handle_event(operation op) {
  if (op != operation::read) {
    stream_impl::handle_event(op);
    return;
  }
  reads_.new_event();
  handle_event_impl(op, reads_);
}

} // namespace troupe::detail
