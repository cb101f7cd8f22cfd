#include "troupe/distribution/network_options.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/timespan.hpp>

#include "troupe/distribution/detail/worker_multiplexer.hpp"
#include "troupe/distribution/detail/worker_polling.hpp"
#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe {

namespace {

// A message small enough for BASP's own handshake and the registry's answers must pass.
constexpr size_t min_message_size = 4096;
// BASP's payload_len is 32 bits.
constexpr size_t max_message_size_limit = uint32_t{0xFFFFFFFF};

bool is_loopback(const std::string& address) {
  return address.starts_with("127.") || address == "::1" || address == "localhost";
}

} // namespace

caf::error network_options::validate() const {
  if (bind_address.empty())
    return make_error(distribution_errc::invalid_config, std::string{"bind_address"},
                      std::string{"empty"});
  if (heartbeat.count() < 0)
    return make_error(distribution_errc::invalid_config, std::string{"heartbeat"},
                      std::string{"negative"});
  if (connection_timeout.count() < 0)
    return make_error(distribution_errc::invalid_config, std::string{"connection_timeout"},
                      std::string{"negative"});
  if (connection_timeout.count() > 0 && heartbeat.count() == 0)
    return make_error(distribution_errc::invalid_config, std::string{"connection_timeout"},
                      std::string{"needs a heartbeat"});
  if (connection_timeout.count() > 0 && connection_timeout < 2 * heartbeat)
    return make_error(distribution_errc::invalid_config, std::string{"connection_timeout"},
                      std::string{"shorter than two heartbeats"});
  if (connect_timeout.count() <= 0)
    return make_error(distribution_errc::invalid_config, std::string{"connect_timeout"},
                      std::string{"not positive"});
  if (service_timeout.count() <= 0)
    return make_error(distribution_errc::invalid_config, std::string{"service_timeout"},
                      std::string{"not positive"});
  if (handshake_timeout.count() <= 0)
    return make_error(distribution_errc::invalid_config, std::string{"handshake_timeout"},
                      std::string{"not positive"});
  if (max_pending_handshakes == 0)
    return make_error(distribution_errc::invalid_config, std::string{"max_pending_handshakes"},
                      std::string{"not positive"});
  if (max_message_size < min_message_size || max_message_size > max_message_size_limit)
    return make_error(distribution_errc::invalid_config, std::string{"max_message_size"},
                      "not within [" + std::to_string(min_message_size) + ", " +
                          std::to_string(max_message_size_limit) +
                          "]: " + std::to_string(max_message_size));
  if (tls.enabled && !secret.empty())
    return make_error(distribution_errc::invalid_config, std::string{"secret"},
                      std::string{"TLS connections do not pass the gate; authenticate them with "
                                  "tls.cafile"});
  if (!is_loopback(bind_address) && secret.empty() && !allow_no_secret &&
      !(tls.enabled && !tls.cafile.empty()))
    return make_error(distribution_errc::invalid_config, std::string{"secret"},
                      "a listener on " + bind_address +
                          " needs a secret (or tls.cafile, or allow_no_secret)");
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
    // The idle workers run the middleman's event loop (worker_polling.hpp).
    cfg.load<caf::io::middleman, detail::worker_multiplexer>();
    cfg.load<detail::worker_polling>();
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
