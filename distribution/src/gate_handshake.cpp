#include "troupe/distribution/detail/gate_handshake.hpp"

#include <cstring>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace troupe::detail {

namespace {

constexpr char magic[4] = {'T', 'R', 'P', 'G'};
constexpr char version = 1;
constexpr size_t nonce_offset = 8;

// Distinct labels per prover, so that a proof one side made can never be replayed as the
// other side's (reflection).
constexpr std::string_view client_label = "troupe gate v1 client proof";
constexpr std::string_view server_label = "troupe gate v1 server proof";

} // namespace

const char* to_string(gate_outcome x) noexcept {
  switch (x) {
  case gate_outcome::none:
    return "none";
  case gate_outcome::authenticated:
    return "authenticated";
  case gate_outcome::malformed:
    return "malformed";
  case gate_outcome::authentication_failed:
    return "authentication_failed";
  case gate_outcome::timeout:
    return "timeout";
  case gate_outcome::evicted:
    return "evicted";
  case gate_outcome::oversized:
    return "oversized";
  }
  return "unknown";
}

gate_handshake::gate_handshake(gate_role role, std::string secret)
    : role_(role), secret_(std::move(secret)) {
  std::memcpy(mine_.data(), magic, sizeof(magic));
  mine_[4] = version;
  mine_[5] = static_cast<char>(role);
  auto* nonce = reinterpret_cast<unsigned char*>(mine_.data() + nonce_offset);
  if (RAND_bytes(nonce, static_cast<int>(hello_size - nonce_offset)) != 1)
    throw std::runtime_error("troupe gate: OpenSSL's RAND_bytes failed");
}

size_t gate_handshake::expected() const noexcept {
  switch (step_) {
  case step::await_hello:
    return hello_size;
  case step::await_proof:
    return proof_size;
  case step::done:
    break;
  }
  return 0;
}

std::array<unsigned char, gate_handshake::proof_size>
gate_handshake::proof(gate_role prover) const {
  // HMAC-SHA256(secret, label || client hello || server hello): both nonces, the version and
  // the roles are bound into every proof, and the secret itself never crosses the wire.
  const auto& client_hello = role_ == gate_role::client ? mine_ : theirs_;
  const auto& server_hello = role_ == gate_role::server ? mine_ : theirs_;
  auto label = prover == gate_role::client ? client_label : server_label;
  std::string input;
  input.reserve(label.size() + 2 * hello_size);
  input.append(label);
  input.append(client_hello.data(), client_hello.size());
  input.append(server_hello.data(), server_hello.size());
  std::array<unsigned char, proof_size> out{};
  unsigned int len = 0;
  // An empty secret (loopback without one) still yields a well-defined HMAC; a non-null key
  // pointer keeps OpenSSL from treating it as "reuse the previous key".
  static constexpr unsigned char no_key = 0;
  const void* key = secret_.empty() ? static_cast<const void*>(&no_key) : secret_.data();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), out.data(),
           &len) == nullptr ||
      len != proof_size)
    throw std::runtime_error("troupe gate: OpenSSL's HMAC failed");
  return out;
}

gate_outcome gate_handshake::on_frame(const char* data, size_t size, std::string& out) {
  if (step_ == step::done || size != expected())
    return outcome_ = gate_outcome::malformed;
  auto peer = role_ == gate_role::client ? gate_role::server : gate_role::client;
  if (step_ == step::await_hello) {
    if (std::memcmp(data, magic, sizeof(magic)) != 0 || data[4] != version ||
        data[5] != static_cast<char>(peer) || data[6] != 0 || data[7] != 0) {
      step_ = step::done;
      return outcome_ = gate_outcome::malformed;
    }
    std::memcpy(theirs_.data(), data, hello_size);
    step_ = step::await_proof;
    // The client proves first; the server answers only a client that proved, so that a
    // stranger never gets a server proof to guess the secret from.
    if (role_ == gate_role::client) {
      auto mine = proof(gate_role::client);
      out.append(reinterpret_cast<const char*>(mine.data()), mine.size());
    }
    return gate_outcome::none;
  }
  step_ = step::done;
  auto want = proof(peer);
  if (CRYPTO_memcmp(want.data(), data, proof_size) != 0) {
    // A server tells the client with a proof that cannot match (zeros), so that the client
    // reports authentication_failed rather than a dropped connection.
    if (role_ == gate_role::server)
      out.append(proof_size, '\0');
    return outcome_ = gate_outcome::authentication_failed;
  }
  if (role_ == gate_role::server) {
    auto mine = proof(gate_role::server);
    out.append(reinterpret_cast<const char*>(mine.data()), mine.size());
  }
  return outcome_ = gate_outcome::authenticated;
}

} // namespace troupe::detail
