#pragma once

// A CAF doorman whose connections are gated scribes (protocol: gate.hpp).

#include <memory>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>

#include "troupe/distribution/detail/gate.hpp"

namespace troupe::detail {

/// Thread safety: runs in the multiplexer's event loop (worker_polling.hpp), like CAF's own
/// doorman.
class gated_doorman final : public caf::io::network::doorman_impl {
public:
  gated_doorman(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd,
                std::shared_ptr<gate_settings> settings)
      : doorman_impl(mpx, fd), settings_(std::move(settings)) {}

  bool new_connection() override;

private:
  std::shared_ptr<gate_settings> settings_;
};

} // namespace troupe::detail
