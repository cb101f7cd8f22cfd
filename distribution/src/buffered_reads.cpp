#include "troupe/distribution/detail/buffered_reads.hpp"

#include <algorithm>
#include <cstring>

#include <caf/policy/tcp.hpp>

namespace troupe::detail {

using caf::io::network::rw_state;

rw_state buffered_reads::read_some(std::size_t& result, caf::io::network::native_socket fd,
                                   void* buf, std::size_t len) {
  result = 0;
  if (end_ > begin_) {
    result = std::min(len, end_ - begin_);
    std::memcpy(buf, data_.get() + begin_, result);
    begin_ += result;
    return rw_state::success;
  }
  if (drained_)
    return rw_state::success; // nothing: CAF's loop ends until the next event
  const bool direct = len >= capacity;
  if (!direct && !data_)
    data_ = std::make_unique<char[]>(capacity);
  auto* into = direct ? static_cast<char*>(buf) : data_.get();
  auto want = direct ? len : capacity;
  std::size_t got = 0;
  auto state = caf::policy::tcp::read_some(got, fd, into, want);
  if (state != rw_state::success)
    return state;
  if (got < want)
    drained_ = true;
  if (direct) {
    result = got;
    return rw_state::success;
  }
  result = std::min(len, got);
  std::memcpy(buf, data_.get(), result);
  begin_ = result;
  end_ = got;
  return rw_state::success;
}

} // namespace troupe::detail
