#pragma once

// Troupe's gate in front of CAF's BASP. CAF 0.17's BASP sizes its receive buffer from a frame
// header's payload_len before any check, never closes a connection that does not handshake and
// authenticates nobody; the gate owns every plain-TCP connection's first bytes and every read
// size BASP asks for, while CAF's middleman stays the transport (its multiplexer, its scribes,
// its BASP broker).
//
// Protocol, per connection (gate_handshake.hpp implements steps 2-5):
//  1. The server side accepts with a gated_doorman (published to the BASP broker like CAF's own
//     doorman); the client side connects in the gate's connector actor. Either way the socket
//     becomes a gated_scribe, which is handed to the BASP broker (new_connection_msg on the
//     server side, {connect_atom, scribe, port} on the client side), exactly as CAF's
//     middleman does with its own scribes. From then on everything runs on the multiplexer
//     thread.
//  2. Both sides send a 40-byte hello: "TRPG", version 1, role (1 client, 2 server), two zero
//     bytes, 32 random bytes (nonce). The scribe reads exactly 40 bytes: nothing larger than
//     gate_handshake::max_frame_size is read before step 5, whatever the peer sends. A hello
//     with the wrong magic, version or role closes the connection ("gate.malformed").
//  3. The client sends HMAC-SHA256(secret, "troupe gate v1 client proof" || client hello ||
//     server hello).
//  4. The server checks it (constant time). Wrong: it sends 32 zero bytes and closes
//     ("gate.authentication_failed"). Right: the server sends HMAC-SHA256(secret, "troupe gate
//     v1 server proof" || client hello || server hello) and is open.
//  5. The client checks the server's proof the same way; wrong: closed, and the connect fails
//     with distribution_errc::authentication_failed. Right: open.
//  6. Until a side is open, whatever BASP writes is held back and the read size BASP asks for
//     is only recorded; on opening, the held bytes go out and BASP's read size applies.
//  7. A connection that is not open handshake_timeout after it started is closed by the
//     keeper actor ("gate.timeout"). When more than max_pending_handshakes connections are
//     handshaking, the keeper closes the oldest ("gate.evicted"): descriptors held by peers
//     that never authenticate stay bounded, and a new peer always gets a slot.
//  8. Once open, a read size over max_message_size (BASP asks for exactly payload_len after
//     each header) is refused before any buffer is sized: the connection closes
//     ("gate.oversized").
// The secret never crosses the wire; an empty secret (loopback) still runs steps 2-8. The gate
// neither encrypts nor protects the integrity of later frames: that is TLS's job, and TLS
// connections go through CAF's OpenSSL layer instead of the gate.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "troupe/distribution/detail/gate_handshake.hpp"
#include "troupe/distribution/network_options.hpp"

namespace troupe::detail {

/// What every gated connection of a node shares: the settings, the counters and the keeper
/// that enforces the handshake deadline. Connections hold it; it holds no connection.
///
/// Thread safety: the settings are immutable, the counters atomic.
struct gate_settings {
  std::string secret;
  size_t max_message_size = 0;
  std::chrono::milliseconds handshake_timeout{0};
  /// The keeper actor (weak: the keeper holds the connections it watches).
  caf::actor_addr keeper;

  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> authenticated{0};
  std::atomic<uint64_t> malformed{0};
  std::atomic<uint64_t> authentication_failed{0};
  std::atomic<uint64_t> timeout{0};
  std::atomic<uint64_t> evicted{0};
  std::atomic<uint64_t> oversized{0};
  std::atomic<uint64_t> next_id{1};

  /// Counts a connection's end (or its opening).
  void count(gate_outcome x) noexcept;
};

/// A node's gate: opens gated listeners and makes gated connections.
///
/// Thread safety: every member function may be called from any thread.
class gate {
public:
  /// Errors: network_disabled when CAF's middleman does not use its default multiplexer.
  static caf::expected<std::shared_ptr<gate>> make(caf::actor_system& sys,
                                                   const network_options& opts);

  /// Listens on `address`:`port` (0: a free one) and serves `whom` there, through the gate.
  /// Errors: publish_failed.
  [[nodiscard]] caf::expected<uint16_t> listen(const caf::actor& whom, uint16_t port,
                                               const std::string& address) const;

  /// The actor that connects through the gate: {connect_atom, host, port} -> {node_id,
  /// strong_actor_ptr, set<string>}, like CAF's middleman actor.
  [[nodiscard]] const caf::actor& connector() const noexcept { return connector_; }

  /// The counters, for the topology's "network" section.
  [[nodiscard]] nlohmann::json counters() const;

private:
  gate(caf::actor_system& sys, std::shared_ptr<gate_settings> settings, caf::actor keeper,
       caf::actor connector, caf::actor basp)
      : sys_(sys), settings_(std::move(settings)), keeper_(std::move(keeper)),
        connector_(std::move(connector)), basp_(std::move(basp)) {}

  caf::actor_system& sys_;
  std::shared_ptr<gate_settings> settings_;
  caf::actor keeper_;
  caf::actor connector_;
  caf::actor basp_;
};

} // namespace troupe::detail
