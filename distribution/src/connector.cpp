#include "troupe/distribution/detail/connector.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "troupe/distribution/detail/gate.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

caf::actor connector(const node_state& node) {
  if (node.options().tls.enabled)
    return caf::actor_cast<caf::actor>(node.rt().system().openssl_manager().actor_handle());
  return node.gate_ptr()->connector();
}

caf::expected<caf::actor> published_actor(const std::string& where,
                                          const caf::strong_actor_ptr& handle) {
  if (!handle)
    return make_error(distribution_errc::not_published, where,
                      std::string{"no actor is published at that port"});
  return caf::actor_cast<caf::actor>(handle);
}

caf::error connect_failure(const std::string& where, const caf::error& reason) {
  if (reason.category() == distribution_error_category)
    return reason;
  return make_error(distribution_errc::node_down, where, render(reason));
}

} // namespace troupe::detail
