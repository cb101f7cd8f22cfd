// The gated stream's read policy (buffered_reads.hpp) on a non-blocking socket pair: what one
// recv took is handed out in the pieces the reader asks for, a short read ends the event's
// reads, a large piece bypasses the buffer, and a closed peer is a failure.

#include <array>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "troupe/distribution/detail/buffered_reads.hpp"

namespace {

using caf::io::network::rw_state;
using troupe::detail::buffered_reads;

class BufferedReads : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_.data()), 0);
    ASSERT_EQ(::fcntl(fds_[0], F_SETFL, ::fcntl(fds_[0], F_GETFL) | O_NONBLOCK), 0);
  }

  void TearDown() override {
    for (auto fd : fds_)
      if (fd >= 0)
        ::close(fd);
  }

  void peer_sends(const std::string& bytes) {
    ASSERT_EQ(::send(fds_[1], bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }

  // Bytes in the socket that no recv has taken yet.
  int unread_in_socket() {
    int n = -1;
    EXPECT_EQ(::ioctl(fds_[0], FIONREAD, &n), 0);
    return n;
  }

  // One read_some of `len` bytes: the bytes, or nullopt-like "" with the state.
  std::string read(std::size_t len, rw_state expected = rw_state::success) {
    std::vector<char> buf(len);
    std::size_t got = 999;
    EXPECT_EQ(reads_.read_some(got, fds_[0], buf.data(), len), expected);
    return expected == rw_state::success ? std::string(buf.data(), got) : std::string{};
  }

  std::array<int, 2> fds_{-1, -1};
  buffered_reads reads_;
};

TEST_F(BufferedReads, AHeaderAndItsPayloadComeFromOneRecv) {
  peer_sends("HEADER--" + std::string(20, 'p'));
  reads_.new_event();
  EXPECT_EQ(read(8), "HEADER--");
  EXPECT_EQ(unread_in_socket(), 0) << "the first read took the whole message";
  EXPECT_TRUE(reads_.must_read_more(fds_[0], 20));
  EXPECT_EQ(read(20), std::string(20, 'p'));
  EXPECT_FALSE(reads_.must_read_more(fds_[0], 8));
  // The read came back short: the socket had no more. What arrives now waits for its event.
  peer_sends("later");
  EXPECT_EQ(read(8), "");
  EXPECT_EQ(unread_in_socket(), 5);
  reads_.new_event();
  EXPECT_EQ(read(8), "later");
  EXPECT_EQ(reads_.buffered(), 0u);
}

TEST_F(BufferedReads, SeveralMessagesOfOneRecvAreHandedOutInOrder) {
  peer_sends("first-----second----third-----");
  reads_.new_event();
  EXPECT_EQ(read(10), "first-----");
  EXPECT_EQ(reads_.buffered(), 20u);
  EXPECT_EQ(read(10), "second----");
  EXPECT_EQ(read(10), "third-----");
  EXPECT_FALSE(reads_.must_read_more(fds_[0], 10));
}

TEST_F(BufferedReads, ASmallerPieceThanTheReaderAsksForIsHandedOutAsIs) {
  // As a recv would: CAF's stream collects pieces until its reader's threshold.
  peer_sends("abc");
  reads_.new_event();
  EXPECT_EQ(read(8), "abc");
  EXPECT_EQ(read(8), "") << "the socket was drained: no second recv in this event";
}

TEST_F(BufferedReads, AnEmptySocketEndsTheLoopWithoutAFailure) {
  reads_.new_event();
  EXPECT_EQ(read(8), "");
  EXPECT_EQ(reads_.buffered(), 0u);
}

TEST_F(BufferedReads, ALargePieceIsReadStraightIntoTheReadersBuffer) {
  const std::string big(buffered_reads::capacity + 1000, 'x');
  std::size_t sent = 0;
  while (sent < big.size()) { // a socket buffer may take it in parts
    auto n = ::send(fds_[1], big.data() + sent, big.size() - sent, 0);
    ASSERT_GT(n, 0);
    sent += static_cast<std::size_t>(n);
  }
  reads_.new_event();
  std::string got;
  while (got.size() < big.size()) {
    auto piece = read(big.size() - got.size());
    if (piece.empty())
      reads_.new_event(); // the next readiness event
    got += piece;
    EXPECT_EQ(reads_.buffered(), 0u) << "a piece that large bypasses the buffer";
  }
  EXPECT_EQ(got, big);
}

TEST_F(BufferedReads, APeerThatClosesIsAFailure) {
  peer_sends("bye");
  ::close(fds_[1]);
  fds_[1] = -1;
  reads_.new_event();
  EXPECT_EQ(read(3), "bye");
  reads_.new_event();
  read(3, rw_state::failure);
}

} // namespace
