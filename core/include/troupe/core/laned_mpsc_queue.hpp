#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "troupe/core/unbounded_mpsc_queue.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

namespace troupe {

/// An unbounded queue for many producers and one consumer that gives each producer a lane of
/// its own: a push names its sender (any key that stays the same for one sender, such as an
/// actor id), and the key picks one of `lane_count` lanes, each an unbounded_mpsc_queue.
/// Producers of different lanes share no cache line on the push path, so busy senders no
/// longer meet on one claim counter (two producers filling one queue moved two cache lines
/// between the cores per element); senders whose keys share a lane are served as by one
/// unbounded_mpsc_queue. The lane of the sender that makes the queue is part of the queue's
/// own allocation, so a mailbox that hears from one sender (most do) allocates one object;
/// further lanes are made by their first push.
///
/// Order: the elements of one key arrive in the order they were pushed. Elements of different
/// keys are interleaved in no promised order; unlike one unbounded_mpsc_queue, an element
/// pushed after another key's element was already in the queue may be taken first. The
/// consumer takes up to `turn_length` elements from a lane before it moves to the next lane
/// that holds one, so no sender waits behind another's backlog for long.
///
/// Thread safety / memory ordering: any number of threads may call push() at the same time;
/// try_pop() and drain_claimed() belong to one consumer thread at a time; size() and empty()
/// may be called from any thread. What a producer did before push() is visible to the
/// consumer once it receives that element. size() counts an element from the moment its slot
/// is claimed (unbounded_mpsc_queue::size), so a consumer that a seq_cst handshake promises a
/// push's claim sees it in size() and waits for it in drain_claimed(), as with one queue: a
/// lane is added to the set of lanes (a seq_cst fetch_or) before it is installed (a seq_cst
/// compare-and-swap), a producer claims in a lane only after it read the installed lane, and
/// size() and drain_claimed() read the set seq_cst; a lane in the set that is not installed
/// yet holds no claim.
template <class T>
class laned_mpsc_queue : public recycled_blocks<laned_mpsc_queue<T>> {
public:
  /// The queue of one lane.
  using lane_queue = unbounded_mpsc_queue<T>;

  /// Lanes per queue: concurrent senders of one mailbox beyond this share lanes. Seven, so that
  /// the lane table and the consumer's turn fill one cache line.
  static constexpr std::size_t lane_count = 7;
  /// Elements the consumer takes from one lane while others have some, at most, before it
  /// moves on.
  static constexpr std::size_t turn_length = 16;

  /// Makes the queue with the lane of `first_sender` (the sender about to push) in place.
  explicit laned_mpsc_queue(std::uint64_t first_sender) noexcept {
    const std::size_t first = lane_of(first_sender);
    lanes_[first].store(&first_lane_, std::memory_order_relaxed);
    lane_set_.store(bit(first), std::memory_order_relaxed);
    turn_lane_ = static_cast<std::uint8_t>(first);
  }

  laned_mpsc_queue(const laned_mpsc_queue&) = delete;
  laned_mpsc_queue& operator=(const laned_mpsc_queue&) = delete;

  /// Destroys the elements still queued. No other thread may use the queue any more, and every
  /// push() must have returned.
  ~laned_mpsc_queue() {
    for (auto& slot : lanes_)
      if (auto* lane = slot.load(std::memory_order_relaxed); lane != &first_lane_)
        delete lane;
  }

  /// Appends `value` to the lane of `sender`. Never fails (see unbounded_mpsc_queue::push).
  /// Any thread.
  void push(T value, std::uint64_t sender) noexcept {
    lane_for_push(lane_of(sender)).push(std::move(value));
  }

  /// Removes and returns an element: the next of the lane whose turn it is, or of the next
  /// lane that has one ready; nullopt when none has (an element whose producer is still
  /// writing it is not ready, see unbounded_mpsc_queue::try_pop). Consumer only.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    // Relaxed: the turn only ever goes to a lane this thread saw installed.
    auto* turn = lanes_[turn_lane_].load(std::memory_order_relaxed);
    if (auto item = turn->try_pop()) {
      // Counted by the lane's own pop count: the turn is written when it passes, not per pop,
      // so that the line producers read the table from stays put.
      if (static_cast<std::uint32_t>(turn->popped()) - turn_began_at_ >= turn_length)
        pass_turn();
      return item;
    }
    std::optional<T> item;
    find_other_lane([&](std::size_t lane, lane_queue& queue) {
      auto popped = queue.try_pop();
      if (!popped)
        return false;
      item.emplace(std::move(*popped)); // emplace: T need not be move-assignable
      begin_turn(lane, queue);
      --turn_began_at_; // the pop just made is the turn's first
      return true;
    });
    return item;
  }

  /// Pops up to `max` elements as try_pop() does, calling `f(T&&)` for each, and returns how
  /// many were popped. Each element leaves the queue before `f` sees it. Consumer only.
  template <class F>
  std::size_t drain(F&& f, std::size_t max) {
    std::size_t n = 0;
    for (; n < max; ++n) {
      std::optional<T> item = try_pop();
      if (!item)
        break;
      std::invoke(f, std::move(*item));
    }
    return n;
  }

  /// Pops every element whose slot was claimed before the call, lane by lane, waiting for
  /// those still being written, then whatever else is ready (unbounded_mpsc_queue::
  /// drain_claimed); calls `f(T&&)` for each and returns how many. Consumer only.
  template <class F>
  std::size_t drain_claimed(F&& f) {
    std::size_t n = 0;
    for_each_lane([&](lane_queue& lane) { n += lane.drain_claimed(f); });
    return n;
  }

  /// Elements in all lanes, counting claimed slots not yet written (unbounded_mpsc_queue::
  /// size). Any thread; a snapshot.
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for_each_lane([&](const lane_queue& lane) { n += lane.size(); });
    return n;
  }

  /// size() == 0, with the same caveat.
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  /// Lanes made so far. Any thread; a snapshot.
  [[nodiscard]] std::size_t lanes_in_use() const noexcept {
    std::size_t n = 0;
    for (const auto& slot : lanes_)
      n += slot.load(std::memory_order_relaxed) != nullptr ? 1 : 0;
    return n;
  }

  /// The lane `sender` pushes to: a multiplicative hash scaled to the lanes, so that
  /// consecutive keys (actor ids of actors spawned together) land in different lanes.
  [[nodiscard]] static constexpr std::size_t lane_of(std::uint64_t sender) noexcept {
    const std::uint64_t hash = sender * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>((hash >> 32) * lane_count >> 32);
  }

private:
  using lane_set = std::uint8_t; // bit i: lane i is installed or about to be
  static_assert(lane_count <= 8 * sizeof(lane_set), "one bit per lane");

  static constexpr lane_set bit(std::size_t lane) noexcept {
    return static_cast<lane_set>(1U << lane);
  }

  // The lanes numbered above `lane`.
  static constexpr lane_set lanes_after(std::size_t lane) noexcept {
    return static_cast<lane_set>(~((2U << lane) - 1U));
  }

  void begin_turn(std::size_t lane, const lane_queue& queue) noexcept {
    turn_lane_ = static_cast<std::uint8_t>(lane);
    turn_began_at_ = static_cast<std::uint32_t>(queue.popped());
  }

  // Calls `f(lane, queue)` for the installed lanes other than the turn's, in turn order (those
  // after the turn's, then those before it), until `f` returns true; returns whether it did.
  template <class F>
  bool find_other_lane(F&& f) noexcept {
    const lane_set others = lane_set_.load(std::memory_order_relaxed) & ~bit(turn_lane_);
    const lane_set after = others & lanes_after(turn_lane_);
    for (lane_set pending : {after, static_cast<lane_set>(others & ~after)}) {
      for (; pending != 0; pending &= static_cast<lane_set>(pending - 1)) {
        const auto lane = static_cast<std::size_t>(std::countr_zero(pending));
        // Acquire pairs with the install: the lane is constructed (and try_pop reads the turn's
        // lane relaxed). A lane in the set but not installed yet holds no claim.
        if (auto* queue = lanes_[lane].load(std::memory_order_acquire); queue && f(lane, *queue))
          return true;
      }
    }
    return false;
  }

  // The turn goes to the next installed lane; with none other, it stays, unwritten, until
  // another lane appears.
  void pass_turn() noexcept {
    find_other_lane([this](std::size_t lane, lane_queue& queue) {
      begin_turn(lane, queue);
      return true;
    });
  }

  // Seq_cst: a claim the caller's handshake promises is in a lane whose bit it sees, and
  // installed before it looks (see the class comment).
  template <class F>
  void for_each_lane(F&& f) const {
    for (lane_set pending = lane_set_.load(std::memory_order_seq_cst); pending != 0;
         pending &= static_cast<lane_set>(pending - 1))
      if (auto* lane = lanes_[std::countr_zero(pending)].load(std::memory_order_seq_cst))
        f(*lane);
  }

  // The lane, made now if this is its first push. Its bit is set before the lane is
  // installed: a producer that read the installed lane claims after both in the single total
  // order, so a consumer that finds the bit clear, or the lane not installed, after its fence
  // is promised no claim in it (see the class comment). The loser of a racing first push frees
  // its own lane, which nobody saw. All seq_cst; on x86 and ARMv8 a seq_cst load costs what an
  // acquire load does.
  lane_queue& lane_for_push(std::size_t index) {
    auto& slot = lanes_[index];
    if (auto* lane = slot.load(std::memory_order_seq_cst))
      return *lane;
    auto* fresh = new lane_queue;
    lane_set_.fetch_or(bit(index), std::memory_order_seq_cst);
    lane_queue* installed = nullptr;
    if (slot.compare_exchange_strong(installed, fresh, std::memory_order_seq_cst))
      return *fresh;
    delete fresh;
    return *installed;
  }

  // One cache line. The table is read on every push, each entry written once (its lane's
  // install); the set is written once per lane. The turn is the consumer's: written when it
  // passes to another lane (every turn_length pops while two lanes are busy), never per pop,
  // so the producers' copy of the line stays valid.
  std::array<std::atomic<lane_queue*>, lane_count> lanes_{};
  std::atomic<lane_set> lane_set_{0};
  std::uint8_t turn_lane_ = 0;
  std::uint32_t turn_began_at_ = 0; // the turn lane's pop count when its turn began (mod 2^32)
  // The lane of the sender that made the queue.
  lane_queue first_lane_;
};

} // namespace troupe
