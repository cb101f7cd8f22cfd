#pragma once

#include <cassert>
#include <memory>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/fwd.hpp>

#include "troupe/mailbox/detail/mailbox_core.hpp"

namespace troupe {

template <class... Ts>
class mailbox;

/// One slot of a bounded mailbox, held for a message that is sent later (Tokio's
/// `mpsc::Permit`). Obtained from mailbox::try_reserve() or mailbox::reserve(); the slot counts
/// against the mailbox's capacity like a queued message from then on, so send() needs no room
/// and cannot fail for lack of it. A permit that is destroyed, or assigned over, without
/// sending gives its slot back and wakes a sender waiting for room. Move-only; a moved-from or
/// sent permit is empty.
///
/// Example:
///
///   if (auto p = mb.try_reserve()) {       // a slot, or mailbox_full / closed / receiver_dead
///     auto j = build_job();                // the work that needs the slot comes after it
///     p->send(std::move(j));               // enqueued: no capacity check, no failure
///   }
///
/// Closing: a permit outlives close() and its actor's termination. A message sent through the
/// permit of a mailbox closed for senders (mailbox::close) or of a terminated actor is not
/// handled: it is counted as a dead letter (reason mailbox_errc::closed or receiver_dead) in the
/// mailbox's metrics and the runtime's dead-letter office. (Tokio still delivers a permit's
/// message after the receiver closed; here close() is final for every send that starts after
/// it returned, as for plain sends.) A send that runs concurrently with close() may still land,
/// as a plain send may.
///
/// Lifetime: a permit keeps the mailbox's queue (its memory, not its actor) until it is sent
/// or destroyed; it does not keep the actor alive.
///
/// Thread safety: a permit is a value with one owner. It may be moved to, sent from and
/// destroyed on any thread or actor, but not used by two at once.
template <class... Ts>
class permit {
public:
  /// Internal: the shared queue state behind the mailbox.
  using core_type = detail::mailbox_core<Ts...>;

  /// An empty permit, holding no slot; converts to false.
  permit() noexcept = default;

  /// Takes the slot of `other`, which becomes empty.
  permit(permit&& other) noexcept
      : core_(std::move(other.core_)), owner_(std::exchange(other.owner_, caf::weak_actor_ptr{})) {}

  /// Gives back the slot held so far (if any), then takes the slot of `other`.
  permit& operator=(permit&& other) noexcept {
    if (this != &other) {
      release();
      core_ = std::move(other.core_);
      owner_ = std::exchange(other.owner_, caf::weak_actor_ptr{});
    }
    return *this;
  }

  permit(const permit&) = delete;
  permit& operator=(const permit&) = delete;

  /// Gives the slot back unless it was sent through; a waiting sender may take it at once.
  ~permit() { release(); }

  /// True while the permit holds a slot: not empty, not moved from, not sent through.
  [[nodiscard]] explicit operator bool() const noexcept { return core_ != nullptr; }

  /// Enqueues `msg` into the held slot and leaves the permit empty. Never refused for lack of
  /// room and never dropped by the overflow policy; in order after this sender's earlier sends.
  /// On a mailbox closed for senders or whose actor terminated, `msg` becomes a counted dead
  /// letter (see the class comment). Precondition: the permit holds a slot (a send through an
  /// empty permit asserts in debug builds and discards `msg` otherwise).
  /// Thread safety: any thread or actor.
  template <class T>
  requires(std::is_same_v<T, Ts> || ...) void send(T msg) {
    auto core = std::move(core_);
    auto owner = std::exchange(owner_, caf::weak_actor_ptr{}).lock();
    assert(core != nullptr && "send through an empty troupe::permit");
    if (!core)
      return;
    typename core_type::envelope_type env{std::move(msg), nullptr};
    // The owner is gone once the actor terminated: push_reserved then counts a dead letter.
    // (actor_cast on an empty strong pointer would dereference it.)
    auto* receiver = owner ? caf::actor_cast<caf::abstract_actor*>(owner) : nullptr;
    core->push_reserved(env, receiver, nullptr);
  }

private:
  friend class mailbox<Ts...>;

  permit(std::shared_ptr<core_type> core, const caf::actor& owner)
      : core_(std::move(core)), owner_(caf::actor_cast<caf::weak_actor_ptr>(owner)) {}

  void release() noexcept {
    owner_.reset();
    if (auto core = std::move(core_))
      core->release_reservation();
  }

  std::shared_ptr<core_type> core_;
  // Weak: a forgotten permit must not keep a terminated actor's object alive.
  caf::weak_actor_ptr owner_;
};

} // namespace troupe
