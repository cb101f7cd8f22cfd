#include "troupe/distribution/network_options.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/timespan.hpp>

#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe {

caf::error network_options::validate() const {
  if (bind_address.empty())
    return make_error(distribution_errc::invalid_config, std::string{"bind_address"},
                      std::string{"empty"});
  if (heartbeat.count() < 0 || connection_timeout.count() < 0)
    return make_error(distribution_errc::invalid_config, std::string{"heartbeat"},
                      std::string{"negative"});
  if (connection_timeout.count() > 0 && heartbeat.count() == 0)
    return make_error(distribution_errc::invalid_config, std::string{"connection_timeout"},
                      std::string{"needs a heartbeat"});
  if (connection_timeout.count() > 0 && connection_timeout < 2 * heartbeat)
    return make_error(distribution_errc::invalid_config, std::string{"connection_timeout"},
                      std::string{"shorter than two heartbeats"});
  if (connect_timeout.count() <= 0 || service_timeout.count() <= 0)
    return make_error(distribution_errc::invalid_config, std::string{"connect_timeout"},
                      std::string{"not positive"});
  if (tls.certificate.empty() != tls.key.empty())
    return make_error(distribution_errc::invalid_config, std::string{"tls.certificate"},
                      std::string{"a certificate needs its key and a key its certificate"});
  for (const auto* file : {&tls.certificate, &tls.key, &tls.cafile})
    if (!file->empty() && !std::filesystem::exists(*file))
      return make_error(distribution_errc::invalid_config, std::string{"tls"},
                        "no such file: " + *file);
  return caf::none;
}

std::function<void(caf::actor_system_config&)> network_setup::customizer() const {
  return [opts = options_, announcers = announcers_](caf::actor_system_config& cfg) {
    cfg.load<caf::io::middleman>();
    if (opts.tls.enabled) {
      cfg.load<caf::openssl::manager>(); // after the middleman, which it needs
      cfg.set("openssl.certificate", opts.tls.certificate);
      cfg.set("openssl.key", opts.tls.key);
      cfg.set("openssl.passphrase", opts.tls.passphrase);
      cfg.set("openssl.cafile", opts.tls.cafile);
    }
    cfg.set("middleman.heartbeat-interval", caf::timespan{opts.heartbeat});
    cfg.set("middleman.connection-timeout", caf::timespan{opts.connection_timeout});
    cfg.set("middleman.app-identifiers", std::vector<std::string>{opts.application_id});
    for (auto& announce : announcers)
      announce(cfg);
  };
}

} // namespace troupe
