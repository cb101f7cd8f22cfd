#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "troupe/introspection/event_stream.hpp"
#include "troupe/introspection/metric_registry.hpp"

namespace troupe {

/// Thrown by admin_endpoint's constructor when it cannot listen (address or port unusable);
/// runtime::create() turns it into runtime_errc::admin_unavailable.
class admin_listen_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The admin HTTP endpoint of a runtime: GET / serves the live viewer, /topology the topology
/// document as JSON, /metrics the Prometheus text format (with the metric families components
/// declared), /events the latest lifecycle events as server-sent events. Other paths 404,
/// other methods 405, malformed requests 400; until set_ready(), every path but / answers 503.
/// Concurrent clients, keep-alive, timeouts and bounded threads come from the HTTP server
/// underneath (cpp-httplib, a private dependency).
///
///   troupe::admin_endpoint admin{"127.0.0.1", 0, events, families,
///                                [&](auto* sections) { return registry.dump(sections); }};
///   admin.set_ready();
///   std::cout << "http://127.0.0.1:" << admin.port() << "/\n";
///
/// Thread safety: construct and destroy from one thread; the topology source runs on the
/// server's threads, several at a time. The destructor stops serving and joins its threads.
class admin_endpoint {
public:
  /// The topology document; fills `node_sections` (when not null) with the top-level sections
  /// that hold actor trees, which the metrics walk reads.
  using topology_source = std::function<nlohmann::json(std::vector<std::string>* node_sections)>;

  /// Binds `address`:`port` (0 picks a free port, see port()) and starts serving; keeps the
  /// latest info-and-above events of `events` for GET /events. `events` and `families` must
  /// outlive the endpoint. Throws admin_listen_error when the address cannot be bound.
  admin_endpoint(const std::string& address, uint16_t port, event_stream& events,
                 const metric_registry& families, topology_source topology);
  admin_endpoint(const admin_endpoint&) = delete;
  admin_endpoint& operator=(const admin_endpoint&) = delete;
  ~admin_endpoint();

  /// The port the endpoint listens on.
  [[nodiscard]] uint16_t port() const noexcept;

  /// Lets the data paths answer: the owner calls it once what they read exists.
  void set_ready() noexcept;

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace troupe
