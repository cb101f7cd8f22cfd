#pragma once

#include <cstdint>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace troupe {

/// Errors of talking to other nodes. Requests across nodes also fail with the errors of local
/// requests (mailbox_errc: request_timeout, receiver_dead, handler_threw, ...).
enum class distribution_errc : uint8_t {
  /// The node cannot be reached: nothing listens, the connection or handshake failed or timed
  /// out (context: host, port and CAF's reason).
  node_down = 1,
  /// The connection to the node dropped while the request was out.
  connection_lost,
  /// A message type (or its reply type) is not announced for serialization; names the type.
  not_serializable,
  /// The remote service does not accept a message type this handle sends; names the type.
  type_mismatch,
  /// No service of that name is published at the node.
  not_published,
  /// A port could not be opened (in use, or the address cannot be bound).
  publish_failed,
  /// The runtime was created without network support (network_setup::customizer()).
  network_disabled,
  /// Invalid network options; names the option.
  invalid_config,
  /// The peer did not prove knowledge of the node's shared secret (network_options::secret),
  /// or this node could not prove it to the peer: the connection was closed.
  authentication_failed,
};

inline constexpr caf::atom_value distribution_error_category = caf::atom("tr_dist");

[[nodiscard]] caf::error make_error(distribution_errc code);
[[nodiscard]] const char* to_string(distribution_errc code) noexcept;

} // namespace troupe
