#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

#include "troupe/scheduler/result.hpp"
#include "troupe/supervision/child_info.hpp"
#include "troupe/supervision/child_spec.hpp"
#include "troupe/supervision/supervisor_spec.hpp"

namespace troupe {

class runtime;

/// A handle to a running supervisor: an actor that starts its children in order, restarts
/// them by its strategy within its restart intensity, and stops them in reverse order — the
/// Erlang/OTP supervisor. Create one with start_supervisor; nest one with supervisor_child.
///
/// Example:
///
///   auto root = troupe::start_supervisor(rt, spec);
///   if (!root) { std::cerr << troupe::render(root.error()); return 1; }  // names the child
///   for (auto& child : root->which_children().value())
///     std::cout << child.id << ' ' << troupe::to_string(child.state) << '\n';
///   root->stop(std::chrono::seconds{5});
///
/// Errors: supervision_errc (child_not_found, child_running, already_present, not_supported,
/// shutting_down), runtime_errc::timeout when the supervisor did not answer in time,
/// or CAF's request_receiver_down once it is gone.
///
/// Thread safety: any thread outside actors — the member functions block the caller until the
/// supervisor answers (the handle itself may be copied and shared freely). Actors talk to a
/// supervisor by monitoring or linking its actor().
class supervisor {
public:
  /// How long the blocking calls wait for the supervisor's answer.
  static constexpr std::chrono::milliseconds default_timeout{30'000};

  supervisor() = default;
  supervisor(runtime& rt, caf::actor actor) : rt_(&rt), actor_(std::move(actor)) {}

  [[nodiscard]] const caf::actor& actor() const noexcept { return actor_; }

  /// The children in start order, with their state and restart counts.
  [[nodiscard]] troupe::result<std::vector<child_info>>
  which_children(std::chrono::milliseconds timeout = default_timeout) const;

  /// How many children there are, run, and are supervisors or workers.
  [[nodiscard]] troupe::result<child_counts>
  count_children(std::chrono::milliseconds timeout = default_timeout) const;

  /// Adds a child at the end and starts it (static strategies). Errors: already_present,
  /// start_failed (the child is not kept), not_supported for a dynamic supervisor.
  [[nodiscard]] caf::error add_child(child_spec spec,
                                     std::chrono::milliseconds timeout = default_timeout) const;

  /// Starts a new child of a dynamic supervisor from its template, with `args` in its
  /// child_context. Errors: start_failed, not_supported for the static strategies.
  [[nodiscard]] troupe::result<caf::actor>
  start_child(caf::message args = {}, std::chrono::milliseconds timeout = default_timeout) const;

  /// Starts a child that is not running (stopped, or ended as a transient). Errors:
  /// child_not_found, child_running, start_failed.
  [[nodiscard]] caf::error start_child(const std::string& id,
                                       std::chrono::milliseconds timeout = default_timeout) const;

  /// Stops a child by its shutdown policy and waits for it; the entry stays (a temporary
  /// child's is removed). Errors: child_not_found.
  [[nodiscard]] caf::error stop_child(const std::string& id,
                                      std::chrono::milliseconds timeout = default_timeout) const;

  /// Stops a dynamic child (or any child) by its actor and removes its entry.
  [[nodiscard]] caf::error stop_child(const caf::actor& child,
                                      std::chrono::milliseconds timeout = default_timeout) const;

  /// Stops the child (if it runs) and starts it again. Not counted against the intensity.
  [[nodiscard]] caf::error restart_child(const std::string& id,
                                         std::chrono::milliseconds timeout = default_timeout) const;

  /// Stops the child (if it runs) and removes its entry.
  [[nodiscard]] caf::error remove_child(const std::string& id,
                                        std::chrono::milliseconds timeout = default_timeout) const;

  /// Asks the supervisor to stop (its children first, in reverse start order) and waits up to
  /// `deadline` for it to exit. Errors: runtime_errc::timeout (it is still stopping).
  caf::error stop(std::chrono::milliseconds deadline = default_timeout) const;

  /// Waits up to `deadline` for the supervisor to exit and returns its exit reason, e.g.
  /// supervision_errc::restart_intensity_exceeded; nullopt when it still runs at the deadline.
  [[nodiscard]] std::optional<caf::error> await_exit(std::chrono::milliseconds deadline) const;

private:
  runtime* rt_ = nullptr;
  caf::actor actor_;
};

/// Starts a supervisor and its children, in order, on the calling thread; returns once all
/// started. A child that fails to start stops the ones before it (in reverse order) and fails
/// the whole start with supervision_errc::start_failed naming the child and its reason.
///
/// Errors: invalid_spec, start_failed.
/// Thread safety: any thread.
[[nodiscard]] troupe::result<supervisor> start_supervisor(runtime& rt, supervisor_spec spec);

/// A child spec that starts `spec` as a nested supervisor: shutdown infinity (it stops its
/// own subtree first), restart permanent unless given.
[[nodiscard]] child_spec supervisor_child(std::string id, supervisor_spec spec,
                                          restart_type restart = restart_type::permanent);

} // namespace troupe
