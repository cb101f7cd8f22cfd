#include "troupe/distribution/detail/connector.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

caf::io::middleman_actor connector(caf::actor_system& sys, const network_options& opts) {
  return opts.tls.enabled ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

caf::expected<caf::actor> published_actor(const std::string& where,
                                          const caf::strong_actor_ptr& handle) {
  if (!handle)
    return make_error(distribution_errc::not_published, where,
                      std::string{"no actor is published at that port"});
  return caf::actor_cast<caf::actor>(handle);
}

caf::error connect_failure(const std::string& where, const caf::error& reason) {
  return make_error(distribution_errc::node_down, where, render(reason));
}

} // namespace troupe::detail
