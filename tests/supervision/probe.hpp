#pragma once

// Test children for supervisors: each start and stop is written to a shared event log, in the
// order the supervisor caused them (starts are logged by the factory, on the supervisor; stops
// in on_exit, before the exit reaches the supervisor).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "troupe/mailbox/mailbox_errc.hpp"
#include "troupe/runtime/runtime.hpp"
#include "troupe/supervision/child_spec.hpp"

namespace troupe::test {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

class event_log {
public:
  void add(std::string event) {
    {
      std::lock_guard guard{mtx_};
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }

  [[nodiscard]] std::vector<std::string> events() const {
    std::lock_guard guard{mtx_};
    return events_;
  }

  /// The events from index `from` on.
  [[nodiscard]] std::vector<std::string> since(std::size_t from) const {
    std::lock_guard guard{mtx_};
    return {events_.begin() + static_cast<std::ptrdiff_t>(std::min(from, events_.size())),
            events_.end()};
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard guard{mtx_};
    return events_.size();
  }

  /// Waits until the log holds at least `n` events (or 10 s passed); returns whether it does.
  bool wait_for_size(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock guard{mtx_};
    return changed_.wait_for(guard, timeout, [&] { return events_.size() >= n; });
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

struct probe_options {
  /// Ignores graceful stop requests (only a kill ends it).
  bool stubborn = false;
};

/// Crashes on crash_atom (handler_threw "boom"), ends normally on finish_atom, answers ping.
class probe_actor : public caf::event_based_actor {
public:
  probe_actor(caf::actor_config& cfg, std::shared_ptr<event_log> log, std::string id,
              probe_options opts)
      : caf::event_based_actor(cfg), log_(std::move(log)), id_(std::move(id)), opts_(opts) {}

  caf::behavior make_behavior() override {
    if (opts_.stubborn)
      set_exit_handler([](caf::exit_msg&) {});
    return {
        [this](crash_atom) { quit(make_error(mailbox_errc::handler_threw, std::string{"boom"})); },
        [this](finish_atom) { quit(); },
        [this](ping_atom) { return id_; },
    };
  }

  void on_exit() override {
    log_->add("stop:" + id_);
    caf::event_based_actor::on_exit();
  }

private:
  std::shared_ptr<event_log> log_;
  std::string id_;
  probe_options opts_;
};

inline child_spec probe_child(std::string id, std::shared_ptr<event_log> log,
                              restart_type restart = restart_type::permanent,
                              probe_options opts = {}) {
  child_spec spec;
  spec.id = id;
  spec.restart = restart;
  spec.start = [log, opts](const child_context& ctx) -> started_child {
    log->add("start:" + ctx.id);
    return ctx.rt.spawn<probe_actor>(log, ctx.id, opts);
  };
  return spec;
}

} // namespace troupe::test
