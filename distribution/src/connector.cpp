#include "troupe/distribution/detail/connector.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

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
  std::map<uint64_t, connect_job> jobs; // until their promise is delivered, by id
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

template <class... Ts>
void finish(connector_actor* self, uint64_t id, Ts&&... xs) {
  auto i = self->state.jobs.find(id);
  i->second.promise.deliver(std::forward<Ts>(xs)...);
  self->state.jobs.erase(i);
}

void open_connection(connector_actor* self, uint64_t id) {
  auto& job = self->state.jobs.at(id);
  ++job.attempts;
  auto started = clock::now();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(job.deadline - started);
  auto opener = caf::actor_cast<caf::actor>(self->state.opener);
  if (!opener) {
    finish(self, id,
           make_error(distribution_errc::network_disabled,
                      job.host + ":" + std::to_string(job.port),
                      std::string{"the node's network has shut down"}));
    return;
  }
  self->request(opener, std::max(left, std::chrono::milliseconds{1}), caf::connect_atom::value,
                job.host, job.port)
      .then(
          [self, id](caf::node_id& nid, caf::strong_actor_ptr& handle,
                     std::set<std::string>& sigs) {
            finish(self, id, std::move(nid), std::move(handle), std::move(sigs));
          },
          [self, id, started](caf::error& err) {
            auto& st = self->state;
            const auto& failed = st.jobs.at(id);
            auto now = clock::now();
            // Half a heartbeat before the next attempt: the peer drops the connection the tick
            // closed first (its broker sends the replies for a node that reconnects at once to
            // the closing connection), and the handshake keeps the other half of the interval
            // to itself before the next tick.
            auto pause = st.opts.heartbeat / 2;
            if (failed.attempts < max_connect_attempts && now + pause < failed.deadline &&
                spurious_timeout(err, now - started, st.opts.connection_timeout)) {
              if (st.on_retry)
                st.on_retry();
              self->delayed_send(self, pause, connect_retry_atom::value, id);
              return;
            }
            finish(self, id, std::move(err));
          });
}

caf::behavior retrying_connector(connector_actor* self, caf::actor_addr opener,
                                 network_options opts, std::function<void()> on_retry) {
  self->state.opener = std::move(opener);
  self->state.opts = std::move(opts);
  self->state.on_retry = std::move(on_retry);
  return {
      [self](caf::connect_atom, std::string& host, uint16_t port) -> connect_result {
        auto id = self->state.next_id++;
        auto& job = self->state.jobs[id];
        job.host = std::move(host);
        job.port = port;
        job.promise = self->make_response_promise<caf::node_id, caf::strong_actor_ptr,
                                                  std::set<std::string>>();
        job.deadline = clock::now() + self->state.opts.connect_timeout;
        auto promise = job.promise;
        open_connection(self, id);
        return promise;
      },
      [self](connect_retry_atom, uint64_t id) { open_connection(self, id); },
  };
}

} // namespace

caf::actor spawn_connector(caf::actor_system& sys, caf::actor opener, const network_options& opts,
                           std::function<void()> on_retry) {
  return sys.spawn<caf::hidden>(retrying_connector, opener.address(), opts, std::move(on_retry));
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
