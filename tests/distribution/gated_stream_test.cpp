// The gated stream's flush: a message BASP flushes leaves in that call, not at the multiplexer's
// next turn (gated_stream.hpp). Checked on a socket pair no multiplexer watches: whatever the peer
// can read right after flush_now returned was sent by flush_now itself.

#include <array>
#include <string>

#include <caf/io/middleman.hpp>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "troupe/distribution/detail/gated_stream.hpp"
#include "troupe/distribution/network_options.hpp"
#include "troupe/runtime/runtime.hpp"

namespace {

using troupe::detail::gated_stream;

// Reads what has arrived, without waiting.
std::string available(int fd) {
  std::array<char, 256> buf{};
  auto n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string{};
}

class gated_stream_test : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_.data()), 0);
    mpx_ =
        dynamic_cast<caf::io::network::default_multiplexer*>(&rt_.system().middleman().backend());
    ASSERT_NE(mpx_, nullptr);
  }

  void TearDown() override { ::close(fds_[1]); } // the stream closes its end

  troupe::network_setup net_;
  troupe::runtime rt_{troupe::runtime_config{}, net_.customizer()};
  std::array<int, 2> fds_{-1, -1};
  caf::io::network::default_multiplexer* mpx_ = nullptr;
};

TEST_F(gated_stream_test, FlushNowSendsTheQueuedBytesInTheCall) {
  gated_stream stream{*mpx_, fds_[0]};
  const std::string msg = "a BASP frame";
  stream.wr_buf().assign(msg.begin(), msg.end());
  stream.flush_now(nullptr); // nothing is left for the multiplexer, which never sees the stream
  EXPECT_TRUE(stream.wr_buf().empty());
  EXPECT_EQ(available(fds_[1]), msg);
}

TEST_F(gated_stream_test, FlushNowWithNothingQueuedSendsNothing) {
  gated_stream stream{*mpx_, fds_[0]};
  stream.flush_now(nullptr);
  EXPECT_EQ(available(fds_[1]), "");
}

} // namespace
