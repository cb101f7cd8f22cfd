#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

namespace troupe {

/// TLS through libcaf_openssl. Enabled without a certificate, peers use anonymous
/// (unauthenticated, but encrypted) TLS; with `certificate` and `key`, a node presents them, and
/// with `cafile` it accepts only peers whose certificate that authority signed.
struct tls_options {
  /// Carry connections over TLS instead of Troupe's gate; then network_options::secret must
  /// stay empty. Default: off.
  bool enabled = false;
  /// The node's certificate, a PEM file; set together with `key`, or neither.
  std::string certificate;
  /// The certificate's private key, a PEM file.
  std::string key;
  /// The key's passphrase, if it has one.
  std::string passphrase;
  /// A PEM file of trusted authorities; when set, only peers they signed are accepted.
  std::string cafile;
};

/// How a node talks to others. Every node of a system should use the same heartbeat settings:
/// a node that hears nothing from a peer for `connection_timeout` drops the connection.
///
/// Without TLS, every connection passes Troupe's gate before CAF's BASP sees a byte: a fixed
/// 40-byte hello and a 32-byte proof from each side (nothing larger is read), completed within
/// `handshake_timeout`, then BASP frames of at most `max_message_size`. With TLS, CAF's
/// OpenSSL layer carries the connection instead and `tls.cafile` authenticates the peers.
struct network_options {
  /// Where listeners bind. Loopback unless set otherwise; "0.0.0.0" listens on every interface.
  std::string bind_address = "127.0.0.1";
  /// How often a node tells its peers it is alive (0: never; then a frozen peer goes unnoticed
  /// until the operating system gives up on the connection).
  std::chrono::milliseconds heartbeat{250};
  /// Silence after which a peer counts as lost (0: never); several heartbeats long.
  std::chrono::milliseconds connection_timeout{2000};
  /// How long connecting to a node (and finding the service) may take.
  std::chrono::milliseconds connect_timeout{3000};
  /// Deadline of the local request a published service makes for each remote one.
  std::chrono::milliseconds service_timeout{60'000};
  /// Nodes with different application ids refuse each other.
  std::string application_id = "troupe";
  /// Shared secret of the nodes that may talk to each other (like Erlang's cookie). Each
  /// connection starts with a challenge-response (HMAC-SHA256 over nonces from both sides) in
  /// which both nodes prove that they know it; it never crosses the wire. A listener on an
  /// address other than loopback needs one (or tls.cafile, or allow_no_secret). Use a long
  /// random value: anyone who sees a handshake can try to guess a short one offline.
  std::string secret;
  /// Lets a non-loopback listener run without a secret: anyone who reaches the port may send
  /// to what is published there.
  bool allow_no_secret = false;
  /// A connection that has not completed the handshake this long after it opened is closed.
  std::chrono::milliseconds handshake_timeout{5000};
  /// At most this many connections may be handshaking at once; beyond, the oldest is closed
  /// (counted as "gate.evicted"), which bounds the descriptors that unauthenticated peers hold.
  size_t max_pending_handshakes = 128;
  /// The largest message payload accepted from an authenticated peer; a peer that announces a
  /// larger one is disconnected (counted as "gate.oversized" in the topology) before anything
  /// is allocated for it.
  size_t max_message_size = size_t{4} << 20;
  /// TLS instead of the gate; off by default.
  tls_options tls;

  /// Names the offending option (distribution_errc::invalid_config).
  [[nodiscard]] caf::error validate() const;
};

/// What a runtime needs to talk to other nodes: its options and the message types that may
/// cross nodes. CAF needs both before the actor system exists, so they go to the runtime as its
/// CAF customizer.
///
///   troupe::network_setup net;
///   net.announce<quote>("quote").announce<get_quote>("get_quote");
///   troupe::runtime rt{cfg, net.customizer()};
///   auto node = troupe::node::start(rt, net).value();
///
/// Every type sent to another node — messages, replies, topic payloads — must be announced
/// under the same name on both nodes and have a CAF `inspect` overload. Standard types
/// (numbers, strings, vectors of them, ...) need no announcement.
class network_setup {
public:
  /// Starts with `opts` and no announced types.
  explicit network_setup(network_options opts = {}) : options_(std::move(opts)) {}

  /// Announces T under `name` (CAF's add_message_type) when customizer() runs; returns *this
  /// for chaining.
  template <class T>
  network_setup& announce(std::string name) {
    announcers_.push_back(
        [name](caf::actor_system_config& cfg) { cfg.add_message_type<T>(std::move(name)); });
    return *this;
  }

  /// The network options.
  [[nodiscard]] const network_options& options() const noexcept { return options_; }
  /// The network options, to change before customizer() is taken.
  network_options& options() noexcept { return options_; }

  /// Loads CAF's middleman (and its TLS manager when tls.enabled), sets the heartbeat, and
  /// announces the types: pass it to the runtime's constructor.
  [[nodiscard]] std::function<void(caf::actor_system_config&)> customizer() const;

private:
  network_options options_;
  std::vector<std::function<void(caf::actor_system_config&)>> announcers_;
};

} // namespace troupe
