#pragma once

// The gate's handshake as a pure state machine: frames in, frames out, no I/O. The gated scribe
// (gated_scribe.hpp) drives it in the multiplexer's event loop; tests drive two of them against
// each other. The protocol is described at the top of gate.hpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::detail {

/// Which end of a connection a handshake runs on.
enum class gate_role : uint8_t { client = 1, server = 2 };

/// How a handshake (or a gated connection) ended; `none` while it runs.
enum class gate_outcome : uint8_t {
  none,
  authenticated,
  malformed,             // a frame that is not the gate's (wrong magic, version or role)
  authentication_failed, // the peer's proof does not match the secret
  timeout,               // the handshake did not finish before the deadline
  evicted,               // closed to make room: too many connections were handshaking
  oversized,             // after authentication: a frame over max_message_size
};

[[nodiscard]] const char* to_string(gate_outcome x) noexcept;

/// One side of the handshake. Thread safety: none; one owner at a time.
class gate_handshake {
public:
  /// The hello frame: magic "TRPG", version, role, two reserved bytes, a 32-byte nonce.
  static constexpr size_t hello_size = 40;
  /// The proof frame: HMAC-SHA256.
  static constexpr size_t proof_size = 32;
  /// The largest frame the gate reads before the peer is authenticated.
  static constexpr size_t max_frame_size = hello_size;

  /// Draws a fresh nonce from OpenSSL's generator.
  gate_handshake(gate_role role, std::string secret);

  /// What to send first (this side's hello).
  [[nodiscard]] std::string_view hello() const noexcept { return {mine_.data(), mine_.size()}; }

  /// The size of the frame this side waits for next (0 once finished).
  [[nodiscard]] size_t expected() const noexcept;

  /// Takes the peer's next frame of exactly expected() bytes; appends to `out` what to send
  /// and returns the outcome so far (none: go on).
  gate_outcome on_frame(const char* data, size_t size, std::string& out);

  [[nodiscard]] gate_outcome outcome() const noexcept { return outcome_; }

private:
  enum class step : uint8_t { await_hello, await_proof, done };

  [[nodiscard]] std::array<unsigned char, proof_size> proof(gate_role prover) const;

  gate_role role_;
  std::string secret_;
  std::array<char, hello_size> mine_{};
  std::array<char, hello_size> theirs_{};
  step step_ = step::await_hello;
  gate_outcome outcome_ = gate_outcome::none;
};

} // namespace troupe::detail
