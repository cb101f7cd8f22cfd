#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <caf/error.hpp>

namespace troupe {

class actor;

/// A suspended coroutine frame that an actor owns (a troupe::task started as a handler): the
/// actor destroys it, running its RAII, when it stops before the coroutine finished. The
/// coroutine layer (component coro) implements it in its promise type.
class owned_frame {
public:
  /// Destroys the coroutine frame; its destructor unregisters it from its host.
  virtual void destroy_frame() noexcept = 0;

protected:
  owned_frame() = default;
  virtual ~owned_frame() = default;
  owned_frame(const owned_frame&) = delete;
  owned_frame& operator=(const owned_frame&) = delete;

private:
  friend class coroutine_host;
  owned_frame* prev_ = nullptr;
  owned_frame* next_ = nullptr;
  bool linked_ = false;
};

/// What an actor offers the coroutines that run on it: the list of frames it owns (destroyed
/// when it stops), a hold on its message queue (a sequential coroutine handler keeps the next
/// messages waiting until it finishes), and a way to crash it from a coroutine.
///
/// Thread safety: every member runs on the owning actor only, except queue_held(), which any
/// thread may call (the actor's wake-up check reads it right after blocking its inbox).
class coroutine_host {
public:
  /// How crash() terminates the actor: the owner's quit, given the actor and the reason.
  using quit_fn = void (*)(::troupe::actor*, caf::error);

  /// The host of `self`, which owns it; `quit` terminates `self` for crash().
  coroutine_host(::troupe::actor* self, quit_fn quit) noexcept : self_(self), quit_(quit) {}
  coroutine_host(const coroutine_host&) = delete;
  coroutine_host& operator=(const coroutine_host&) = delete;
  ~coroutine_host() { destroy_all(); }

  /// The actor the coroutines run on.
  [[nodiscard]] ::troupe::actor* actor() const noexcept { return self_; }

  // -- owned frames ----------------------------------------------------------------------------

  /// Takes ownership of a started handler frame: destroy_all() destroys it if it is still
  /// suspended then.
  void adopt(owned_frame& f) noexcept {
    f.prev_ = nullptr;
    f.next_ = head_;
    if (head_ != nullptr)
      head_->prev_ = &f;
    head_ = &f;
    f.linked_ = true;
    ++owned_;
  }

  /// Gives up a frame that is being destroyed; does nothing for a frame not adopted.
  void release(owned_frame& f) noexcept {
    if (!f.linked_)
      return;
    if (f.prev_ != nullptr)
      f.prev_->next_ = f.next_;
    else
      head_ = f.next_;
    if (f.next_ != nullptr)
      f.next_->prev_ = f.prev_;
    f.prev_ = f.next_ = nullptr;
    f.linked_ = false;
    --owned_;
  }

  /// Number of handler coroutines started and not finished yet.
  [[nodiscard]] std::size_t owned_frames() const noexcept { return owned_; }

  /// Destroys every owned frame (the actor stops). Afterwards the host refuses to crash or
  /// hold anything: frames destroyed here must not act on a dead actor.
  void destroy_all() noexcept {
    stopped_ = true;
    while (head_ != nullptr)
      head_->destroy_frame(); // unlinks itself
  }

  /// True once destroy_all() ran: the actor is stopping.
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }

  // -- sequential handlers ---------------------------------------------------------------------

  /// A sequential coroutine starts holding the queue (coro::sequential); holds nest.
  void hold_queue() noexcept { held_.fetch_add(1, std::memory_order_relaxed); }
  /// Ends one hold_queue(); the actor takes messages again when no hold is left.
  /// Never below zero: an unbalanced release is ignored rather than holding the queue forever.
  void release_queue() noexcept {
    auto n = held_.load(std::memory_order_relaxed);
    while (n != 0 && !held_.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
    }
  }

  /// Whether a sequential coroutine holds the queue. Any thread; a stale answer only costs a
  /// spurious or a skipped wake-up check while the actor runs elsewhere.
  [[nodiscard]] bool queue_held() const noexcept {
    return held_.load(std::memory_order_relaxed) != 0;
  }

  // -- failures --------------------------------------------------------------------------------

  /// Terminates the actor with `reason`, as a throwing handler does.
  void crash(caf::error reason) {
    if (!stopped_)
      quit_(self_, std::move(reason));
  }

  /// Counts a reply that arrived for an awaitable nobody waits for anymore (a select's loser).
  void note_late_reply() noexcept { late_replies_.fetch_add(1, std::memory_order_relaxed); }
  /// Any thread.
  [[nodiscard]] uint64_t late_replies() const noexcept {
    return late_replies_.load(std::memory_order_relaxed);
  }

private:
  ::troupe::actor* self_;
  quit_fn quit_;
  owned_frame* head_ = nullptr;
  std::size_t owned_ = 0;
  std::atomic<uint32_t> held_{0};
  std::atomic<uint64_t> late_replies_{0};
  bool stopped_ = false;
};

} // namespace troupe
