#pragma once

// A CAF scribe that runs the gate's handshake before BASP sees a byte and refuses read sizes
// over the node's limit afterwards (protocol: gate.hpp). It does what CAF's scribe_impl does
// for the rest, over a gated_stream, which sends a flushed message at once.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/intrusive_ptr.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/scribe.hpp>

#include "troupe/distribution/detail/gate.hpp"
#include "troupe/distribution/detail/gate_handshake.hpp"
#include "troupe/distribution/detail/gated_stream.hpp"

namespace troupe::detail {

/// Thread safety: everything but outcome(), id() and post_expire() runs in the multiplexer's
/// event loop, one thread at a time (the BASP broker and the multiplexer call it there; the keeper
/// posts expire() there). outcome() may be read from any thread.
class gated_scribe final : public caf::io::scribe {
public:
  gated_scribe(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd,
               gate_role role, std::shared_ptr<gate_settings> settings);

  // -- caf::io::scribe ------------------------------------------------------------------------

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void flush() override;
  void graceful_shutdown() override;
  bool consume(caf::execution_unit* ctx, const void* buf, size_t size) override;
  uint16_t port() const override;

  // -- caf::io::network::manager --------------------------------------------------------------

  std::string addr() const override;
  void add_to_loop() override;
  void remove_from_loop() override;

  /// Every way a connection leaves the broker passes here (the peer closed, an I/O error, a
  /// close by BASP or by the gate).
  void detach_from(caf::io::abstract_broker* ptr) override;

  // -- gate -----------------------------------------------------------------------------------

  /// The handshake deadline passed or the connection was evicted (`why`): closes the
  /// connection unless it is open by now.
  void expire(gate_outcome why);

  /// Runs expire(why) in the multiplexer's event loop; callable from any thread.
  void post_expire(gate_outcome why);

  /// How the connection ended, or authenticated while open, or none while handshaking.
  [[nodiscard]] gate_outcome outcome() const noexcept { return outcome_.load(); }

  [[nodiscard]] uint64_t id() const noexcept { return id_; }

private:
  enum class phase : uint8_t { handshaking, open, closed };

  void start();
  void open();
  // As scribe_impl: BASP's read size applies from now on, the stream starts on first use.
  void configure_stream(caf::io::receive_policy::config config);
  // Closes the connection and tells the BASP broker (connection_closed_msg).
  void close(caf::execution_unit* ctx, gate_outcome why);
  void unwatch();

  bool launched_ = false;
  gated_stream stream_;
  std::shared_ptr<gate_settings> settings_;
  gate_handshake handshake_;
  uint64_t id_;
  phase phase_ = phase::handshaking;
  std::optional<caf::io::receive_policy::config> basp_read_;
  std::vector<char> held_;
  std::atomic<gate_outcome> outcome_{gate_outcome::none};
};

} // namespace troupe::detail

// The keeper holds the connections it watches in its messages and state.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf::intrusive_ptr<troupe::detail::gated_scribe>)
