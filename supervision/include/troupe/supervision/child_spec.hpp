#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/supervision/cancellation_token.hpp"

namespace troupe {

class runtime;

/// When a supervisor restarts a child that terminated (Erlang/OTP's restart types).
enum class restart_type {
  /// Always restarted, whatever the exit reason.
  permanent,
  /// Restarted only after an abnormal exit: not after caf::exit_reason::normal or
  /// caf::exit_reason::user_shutdown (OTP's normal and shutdown).
  transient,
  /// Never restarted; its entry is removed when it terminates.
  temporary,
};

[[nodiscard]] const char* to_string(restart_type r) noexcept;

/// How a supervisor stops a child: ask (exit_reason::user_shutdown) and wait up to a deadline,
/// then kill (exit_reason::kill, which no exit handler can trap); or kill at once; or wait
/// without a deadline (the default for child supervisors, which stop their own subtree first).
class shutdown_policy {
public:
  /// Graceful stop within `deadline`, then kill.
  shutdown_policy(std::chrono::milliseconds deadline) noexcept // NOLINT: implicit on purpose
      : deadline_(deadline) {}

  /// OTP's `brutal_kill`: kill at once (exit_reason::kill), without asking first.
  [[nodiscard]] static shutdown_policy brutal_kill() noexcept {
    return shutdown_policy{std::chrono::milliseconds{0}};
  }
  /// OTP's `infinity`: ask, then wait as long as the child takes; never kill.
  [[nodiscard]] static shutdown_policy infinity() noexcept {
    return shutdown_policy{std::chrono::milliseconds::max()};
  }

  /// True when the deadline is zero (brutal_kill()).
  [[nodiscard]] bool is_brutal_kill() const noexcept { return deadline_.count() == 0; }
  /// True for infinity() (the deadline is milliseconds::max()).
  [[nodiscard]] bool is_infinity() const noexcept {
    return deadline_ == std::chrono::milliseconds::max();
  }
  /// How long to wait after the request before killing: 0 for brutal_kill(),
  /// milliseconds::max() for infinity().
  [[nodiscard]] std::chrono::milliseconds deadline() const noexcept { return deadline_; }

private:
  std::chrono::milliseconds deadline_;
};

/// Delays the restarts of a child that keeps crashing: the n-th consecutive restart waits
/// min(max_delay, initial_delay * multiplier^(n-1)), spread by +-jitter (a fraction). A child
/// that stayed up for reset_after starts again from initial_delay.
struct backoff_policy {
  /// Delay before the first restart in a row. Default 100 ms; must not be negative.
  std::chrono::milliseconds initial_delay{100};
  /// Upper bound for the delay (before jitter). Default 10 s; must be >= initial_delay.
  std::chrono::milliseconds max_delay{10'000};
  /// Growth factor from one restart to the next. Default 2.0; must be >= 1.
  double multiplier = 2.0;
  /// Random spread as a fraction of the delay: 0.1 means +-10%. Default 0.1; in [0, 1].
  double jitter = 0.1;
  /// A child that ran at least this long before it crashed starts again from initial_delay.
  /// Default 30 s.
  std::chrono::milliseconds reset_after{30'000};
};

/// What a child factory gets from its supervisor.
struct child_context {
  /// The runtime the supervisor runs in; spawn the child with it.
  runtime& rt;
  /// The child's id in its supervisor (for a dynamic child: the template's id and a number).
  std::string id;
  /// Fired when the supervisor stops this child (or the child terminated); see
  /// cancellation_token. A fresh token for every start.
  cancellation_token token;
  /// The arguments given to supervisor::start_child(args) (dynamic supervisors); empty otherwise.
  caf::message args;
};

/// What a child factory returns: the started actor, or why it could not start. Converts from
/// caf::actor, typed actor handles, Troupe handles with an actor() member (mailbox<Ts...>,
/// supervisor), caf::expected of these, and caf::error.
class started_child {
public:
  /// A started actor.
  started_child(caf::actor actor) : actor_(std::move(actor)) {} // NOLINT: implicit on purpose

  /// A started typed actor.
  template <class... Sigs>
  started_child(const caf::typed_actor<Sigs...>& actor) // NOLINT
      : actor_(caf::actor_cast<caf::actor>(actor)) {}

  /// A Troupe handle with an actor() member, such as mailbox<Ts...> or supervisor.
  template <class Handle>
  requires requires(const Handle& h) {
    { h.actor() } -> std::convertible_to<caf::actor>;
  }
  started_child(const Handle& handle) : actor_(handle.actor()) {} // NOLINT

  /// A failed start: the supervisor reports `error`.
  started_child(caf::error error) : error_(std::move(error)) {} // NOLINT

  /// Converts the value of `result` like the constructors above, or takes its error.
  template <class T>
  started_child(caf::expected<T> result) { // NOLINT
    if (result)
      *this = started_child{std::move(*result)};
    else
      error_ = std::move(result.error());
  }

  /// OTP's `ignore`: the factory chose not to start anything; the entry stays, not running
  /// (a temporary child's entry, as in OTP, is not kept).
  [[nodiscard]] static started_child ignore() {
    started_child result{caf::actor{}};
    result.ignored_ = true;
    return result;
  }

  /// OTP's `{ok, Pid, Info}`: a started actor and extra information for whoever started it
  /// (add_child and start_child(args) return it; restarts drop it).
  [[nodiscard]] static started_child with_info(caf::actor actor, caf::message info) {
    started_child result{std::move(actor)};
    result.info_ = std::move(info);
    return result;
  }

  /// The started actor; invalid after a failed start or ignore().
  [[nodiscard]] const caf::actor& actor() const noexcept { return actor_; }
  /// Why the start failed; empty (caf::none) otherwise.
  [[nodiscard]] const caf::error& error() const noexcept { return error_; }
  /// True for ignore().
  [[nodiscard]] bool ignored() const noexcept { return ignored_; }
  /// The information given to with_info(); empty otherwise.
  [[nodiscard]] const caf::message& info() const noexcept { return info_; }

private:
  caf::actor actor_;
  caf::error error_;
  caf::message info_;
  bool ignored_ = false;
};

/// What a run-time start (supervisor::add_child, supervisor::start_child(args)) returns: the
/// child's actor (invalid when its factory declined with started_child::ignore()) and the
/// extra information its factory gave with started_child::with_info().
struct child_started {
  caf::actor actor;  ///< The child; invalid when its factory returned started_child::ignore().
  caf::message info; ///< From started_child::with_info(); empty otherwise.
};

/// One child of a supervisor.
///
/// Example:
///
///   troupe::child_spec cache{
///       .id = "cache",
///       .start = [](const troupe::child_context& ctx) { return ctx.rt.spawn(cache_actor); },
///       .restart = troupe::restart_type::transient,
///       .shutdown = std::chrono::milliseconds{500},
///   };
struct child_spec {
  /// Unique among its siblings; names the child in errors, listings and the topology.
  std::string id;
  /// Spawns the child. Runs on the supervisor (at its start: on the thread that starts it).
  /// A throw or an error fails the start.
  std::function<started_child(const child_context&)> start;
  /// When the child is restarted after it terminates. Default: permanent.
  restart_type restart = restart_type::permanent;
  /// How the child is stopped. Default: ask, and kill after 5 s.
  shutdown_policy shutdown = std::chrono::milliseconds{5000};
  /// Optional delay between consecutive restarts of this child.
  std::optional<backoff_policy> backoff;
  /// Set for child supervisors (supervisor_child does it); shown in listings.
  bool is_supervisor = false;

  /// Checks the id, the factory, the shutdown deadline and the backoff (OTP's
  /// check_childspec). start_supervisor and add_child both use it.
  /// Errors: supervision_errc::invalid_spec naming the field and the child.
  [[nodiscard]] caf::error validate() const;
};

} // namespace troupe
