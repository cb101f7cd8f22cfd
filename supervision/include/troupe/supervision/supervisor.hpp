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
///   auto children = root->which_children();  // keep the result: a loop over the
///   for (auto& child : children.value())      // temporary's value() would dangle
///     std::cout << child.id << ' ' << troupe::to_string(child.state) << '\n';
///   root->stop(std::chrono::seconds{5});
///
/// Errors: supervision_errc (child_not_found, child_running, already_present, already_started,
/// restarting, not_supported, shutting_down, start_failed with the factory's error inside:
/// start_failure_reason), runtime_errc::timeout when the supervisor did not answer in time,
/// or CAF's request_receiver_down once it is gone.
///
/// Semantics follow OTP's supervisor.erl:
/// - one_for_all / rest_for_one: a restart stops the group's running children in reverse order
///   and starts the whole group (every child for one_for_all; the failed one and those after it
///   for rest_for_one) in order, also members that had stopped. When a start fails, the child
///   is `restarting`, the members after it stay stopped, and the retry (a message to self,
///   counted against the intensity) is a group restart again.
/// - Temporary children are never restarted and leave the list when they end, are stopped, are
///   left out of a group restart, or decline to start (started_child::ignore()).
/// - Commands answer as OTP: add_child of a running id is already_started (with the actor),
///   of a stopped one already_present; restart_child and remove_child of a running child are
///   child_running (OTP's running), of one waiting for its restart `restarting`; stop_child of
///   a child waiting for its restart cancels the restart.
/// - A dynamic supervisor (simple_one_for_one) names children by actor only: commands by id
///   are not_supported; stop_child(actor) of an instance that is gone already is ok, of one
///   waiting for its restart deletes it (the restart is cancelled), of a live actor that is
///   not its child child_not_found. A static supervisor's stop_child(actor) is
///   child_not_found. count_children counts the template as the one spec.
/// - A supervisor that gives up (more than `intensity` restarts within `period`) exits with
///   user_shutdown, OTP's `shutdown`: a transient parent leaves it stopped.
/// - An exit message sent to the supervisor stops it (caf::anon_send_exit, stop(), send_exit
///   from its parent or the runtime). One from an actor linked to it does not (the link's
///   news of that actor's end, or its own send_exit): OTP's supervisor ignores the exit of a
///   process that is neither its parent nor its child.
///
/// Deliberate differences from OTP:
/// - start_child(id) (no OTP counterpart; OTP's restart_child) also starts a child that waits
///   for a backoff or a retry, at once; restart_child refuses it with `restarting` as OTP does.
/// - Children are monitored, not linked; a supervisor that dies kills its children in on_exit.
/// - Optional per-child restart backoff (not in OTP); for a group strategy the whole group waits.
/// - start_failed wraps the factory's error and names the child (OTP returns the bare reason).
///
/// Thread safety: any thread outside actors — the member functions block the caller until the
/// supervisor answers (the handle itself may be copied and shared freely). Actors talk to a
/// supervisor by monitoring or linking its actor() (a link tells the actor of the
/// supervisor's end; the actor's end leaves the supervisor running).
class supervisor {
public:
  /// How long the blocking calls wait for the supervisor's answer.
  static constexpr std::chrono::milliseconds default_timeout{30'000};

  /// An empty handle (operator bool is false), with no supervisor behind it; get one from
  /// start_supervisor.
  supervisor() = default;
  /// Internal: start_supervisor makes handles from the runtime and the supervisor's actor.
  supervisor(runtime& rt, caf::actor actor) : rt_(&rt), actor_(std::move(actor)) {}

  /// False for an empty (default-constructed) handle.
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(actor_); }

  /// The supervisor's CAF actor, for monitors, links and exit messages.
  [[nodiscard]] const caf::actor& actor() const noexcept { return actor_; }

  /// The children in start order, with their state and restart counts.
  [[nodiscard]] troupe::result<std::vector<child_info>>
  which_children(std::chrono::milliseconds timeout = default_timeout) const;

  /// OTP's count_children: specs (a dynamic supervisor's template counts as its one spec),
  /// active (running actors), supervisors and workers (all entries; a dynamic supervisor's
  /// instances).
  [[nodiscard]] troupe::result<child_counts>
  count_children(std::chrono::milliseconds timeout = default_timeout) const;

  /// OTP's get_childspec: the spec of the child with that id (a dynamic child's: the template
  /// under its numbered id). Errors: child_not_found.
  [[nodiscard]] troupe::result<child_spec>
  get_childspec(const std::string& id, std::chrono::milliseconds timeout = default_timeout) const;

  /// Adds a child at the end and starts it (static strategies); returns its actor (invalid if
  /// it declined) and its factory's extra information. The spec is validated as
  /// start_supervisor does. Errors: invalid_spec, already_started (the id runs; the actor is in
  /// the error), already_present (the id is stopped), start_failed (the child is not kept),
  /// not_supported for a dynamic supervisor.
  [[nodiscard]] troupe::result<child_started>
  add_child(child_spec spec, std::chrono::milliseconds timeout = default_timeout) const;

  /// Starts a new child of a dynamic supervisor from its template, with `args` in its
  /// child_context; returns its actor (invalid if it declined: nothing is kept) and its
  /// factory's extra information. Errors: start_failed, not_supported for the static
  /// strategies.
  [[nodiscard]] troupe::result<child_started>
  start_child(caf::message args = {}, std::chrono::milliseconds timeout = default_timeout) const;

  /// Starts a child that is not running (stopped, ended as a transient, or waiting for a
  /// restart: then at once). Errors: child_not_found, child_running, start_failed,
  /// not_supported (dynamic).
  [[nodiscard]] caf::error start_child(const std::string& id,
                                       std::chrono::milliseconds timeout = default_timeout) const;

  /// OTP's terminate_child: stops a child by its shutdown policy and waits for it (a pending
  /// restart is cancelled); the entry stays (a temporary child's is removed). Errors:
  /// child_not_found, not_supported (dynamic).
  [[nodiscard]] caf::error stop_child(const std::string& id,
                                      std::chrono::milliseconds timeout = default_timeout) const;

  /// Stops a dynamic supervisor's child by its actor and removes its entry; ok when it is gone
  /// already. Errors: child_not_found (a live actor that is not a child, or any actor on a
  /// static supervisor).
  [[nodiscard]] caf::error stop_child(const caf::actor& child,
                                      std::chrono::milliseconds timeout = default_timeout) const;

  /// OTP's restart_child: starts a stopped child again. Not counted against the intensity.
  /// Errors: child_not_found, child_running, restarting, start_failed, not_supported.
  [[nodiscard]] caf::error restart_child(const std::string& id,
                                         std::chrono::milliseconds timeout = default_timeout) const;

  /// OTP's delete_child: removes a stopped child's entry. Errors: child_not_found,
  /// child_running, restarting, not_supported.
  [[nodiscard]] caf::error remove_child(const std::string& id,
                                        std::chrono::milliseconds timeout = default_timeout) const;

  /// Asks the supervisor to stop (its children first, in reverse start order) and waits up to
  /// `deadline` for it to exit. Errors: runtime_errc::timeout (it is still stopping).
  caf::error stop(std::chrono::milliseconds deadline = default_timeout) const;

  /// Waits up to `deadline` for the supervisor to exit and returns its exit reason, e.g.
  /// caf::exit_reason::user_shutdown when it gave up (its context: "restart_intensity_exceeded",
  /// the child, that child's reason); nullopt when it still runs at the deadline.
  [[nodiscard]] std::optional<caf::error> await_exit(std::chrono::milliseconds deadline) const;

private:
  runtime* rt_ = nullptr;
  caf::actor actor_;
};

/// Starts a supervisor and its children, in order, on the calling thread; returns once all
/// started. A child that fails to start fails the whole start with
/// supervision_errc::start_failed naming the child and its reason, after the children started
/// before it have stopped, last first, each by its shutdown policy (as OTP's init_children).
/// The caller waits for them up to supervisor::default_timeout; a caller on a thread of the
/// actor system (inside an actor, such as a parent supervisor) does not wait: they may need
/// its thread.
/// spec.init, if set, runs first and may change the spec, decline or fail.
///
/// Errors: invalid_spec, start_failed, ignored (init declined), init's own errors.
/// Thread safety: any thread.
[[nodiscard]] troupe::result<supervisor> start_supervisor(runtime& rt, supervisor_spec spec);

/// A child spec that starts `spec` as a nested supervisor: shutdown infinity (it stops its
/// own subtree first), restart permanent unless given.
[[nodiscard]] child_spec supervisor_child(std::string id, supervisor_spec spec,
                                          restart_type restart = restart_type::permanent);

} // namespace troupe
