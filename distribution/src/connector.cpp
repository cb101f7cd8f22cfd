#include "troupe/distribution/detail/connector.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>

#include "troupe/distribution/distribution_errc.hpp"
#include "troupe/scheduler/errors.hpp"

namespace troupe::detail {

namespace {

using clock = std::chrono::steady_clock;
using connect_retry_atom = caf::atom_constant<caf::atom("tr_cretry")>;
using connect_result = caf::result<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;
using connect_promise =
    caf::typed_response_promise<caf::node_id, caf::strong_actor_ptr, std::set<std::string>>;

struct connect_job {
  std::string host;
  uint16_t port = 0;
  connect_promise promise;
  clock::time_point deadline;
  int attempts = 0;
};

struct connector_state {
  // Weak: CAF's TLS manager waits, as the actor system ends, until nothing holds its actor.
  caf::actor_addr opener;
  network_options opts;
  std::function<void()> on_retry;
  std::map<uint64_t, connect_job> waiting; // for their retry, by id
  uint64_t next_id = 1;
  static inline const char* name = "troupe.node.connector";
};

using connector_actor = caf::stateful_actor<connector_state>;

// Only CAF's broker answers a connect with connection_timeout, and a real one needs that much
// silence: sooner, it is the tick of spawn_connector's comment.
bool spurious_timeout(const caf::error& err, clock::duration elapsed,
                      std::chrono::milliseconds connection_timeout) {
  return err == caf::sec::connection_timeout && elapsed < connection_timeout;
}

void open_connection(connector_actor* self, connect_job job) {
  ++job.attempts;
  auto started = clock::now();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(job.deadline - started);
  auto shared = std::make_shared<connect_job>(std::move(job));
  auto opener = caf::actor_cast<caf::actor>(self->state.opener);
  if (!opener) {
    shared->promise.deliver(make_error(distribution_errc::network_disabled,
                                       shared->host + ":" + std::to_string(shared->port),
                                       std::string{"the node's network has shut down"}));
    return;
  }
  self->request(opener, std::max(left, std::chrono::milliseconds{1}), caf::connect_atom::value,
                shared->host, shared->port)
      .then(
          [shared](caf::node_id& nid, caf::strong_actor_ptr& handle, std::set<std::string>& sigs) {
            shared->promise.deliver(std::move(nid), std::move(handle), std::move(sigs));
          },
          [self, shared, started](caf::error& err) {
            auto& st = self->state;
            auto now = clock::now();
            // Half a heartbeat before the next attempt: the peer drops the connection the tick
            // closed first (its broker sends the replies for a node that reconnects at once to
            // the closing connection), and the handshake keeps the other half of the interval
            // to itself before the next tick.
            auto pause = st.opts.heartbeat / 2;
            if (shared->attempts < max_connect_attempts && now + pause < shared->deadline &&
                spurious_timeout(err, now - started, st.opts.connection_timeout)) {
              if (st.on_retry)
                st.on_retry();
              auto id = st.next_id++;
              st.waiting.emplace(id, std::move(*shared));
              self->delayed_send(self, pause, connect_retry_atom::value, id);
              return;
            }
            shared->promise.deliver(std::move(err));
          });
}

caf::behavior retrying_connector(connector_actor* self, caf::actor_addr opener,
                                 network_options opts, std::function<void()> on_retry) {
  self->state.opener = std::move(opener);
  self->state.opts = std::move(opts);
  self->state.on_retry = std::move(on_retry);
  return {
      [self](caf::connect_atom, std::string& host, uint16_t port) -> connect_result {
        connect_job job;
        job.host = std::move(host);
        job.port = port;
        job.promise = self->make_response_promise<caf::node_id, caf::strong_actor_ptr,
                                                  std::set<std::string>>();
        job.deadline = clock::now() + self->state.opts.connect_timeout;
        auto promise = job.promise;
        open_connection(self, std::move(job));
        return promise;
      },
      [self](connect_retry_atom, uint64_t id) {
        auto i = self->state.waiting.find(id);
        if (i == self->state.waiting.end())
          return;
        auto job = std::move(i->second);
        self->state.waiting.erase(i);
        open_connection(self, std::move(job));
      },
  };
}

} // namespace

caf::actor spawn_connector(caf::actor_system& sys, caf::actor opener, const network_options& opts,
                           std::function<void()> on_retry) {
  return sys.spawn<caf::hidden>(retrying_connector, opener.address(), opts, std::move(on_retry));
}

caf::actor connector(const node_state& node) {
  return node.connector();
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
