#pragma once

// A bounded multi-producer multi-consumer ring (the sequence-number design): each cell carries
// a turn number that says whose turn it is, so producers and consumers claim cells with one CAS
// on their own index and never wait for each other unless the ring is full or empty.
//
// Protocol, for the cell at position p (index p % capacity, lap p / capacity):
//  1. A producer may write when turn == 2 * lap; it claims p by CAS on `tail_`, moves the value
//     in, then publishes with turn = 2 * lap + 1 (release).
//  2. A consumer may read when turn == 2 * lap + 1; it claims p by CAS on `head_`, moves the
//     value out, then frees the cell for the next lap with turn = 2 * lap + 2 (release).
// A turn behind the expected one means "full" (for a producer) or "empty" (for a consumer).
// Why turns and not Vyukov's "seq = p + 1 published, p + capacity free": with a capacity of 1
// those two are the same number, so a producer took a full cell for a free one, overwrote its
// value and left the consumer spinning forever. "Published" (odd) and "free" (even) never meet.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace troupe {

/// A bounded lock-free queue for any number of producers and consumers (see the top of this
/// file for its protocol).
///
///   troupe::mpmc_ring<int> ring{8};
///   int x = 1;
///   ring.try_push(x);                        // false when full
///   std::optional<int> out;
///   ring.try_pop(out);                       // false when empty
///
/// Thread safety: every member from any thread.
template <class T>
class mpmc_ring {
public:
  static_assert(std::is_nothrow_move_constructible_v<T>, "values move into and out of cells");

  /// A ring of `capacity` cells (at least 1); a power of two indexes without division.
  explicit mpmc_ring(std::size_t capacity)
      : capacity_(capacity), shift_(log2_if_power_of_two(capacity)), cells_(make_cells(capacity)) {}

  /// Destroys the values still in the ring. Nobody may push or pop meanwhile.
  ~mpmc_ring() {
    std::optional<T> dropped;
    while (try_pop(dropped)) {
    }
  }

  mpmc_ring(const mpmc_ring&) = delete;
  mpmc_ring& operator=(const mpmc_ring&) = delete;

  /// Moves `value` in unless the ring is full (then `value` is untouched). A successful push's
  /// claim is a sequentially consistent read-modify-write of the tail that size() reads: a
  /// producer that then looks whether a consumer sleeps needs no fence of its own for a
  /// store-load handshake (store_load_barrier_after_seq_cst_rmw), as long as that consumer goes
  /// by size() (empty() and try_pop() look at the value's publication, a later plain store).
  bool try_push(T& value) noexcept {
    auto pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      auto& c = cells_[index(pos)];
      auto free = free_turn(pos);
      auto diff =
          static_cast<int64_t>(c.turn.load(std::memory_order_acquire)) - static_cast<int64_t>(free);
      if (diff == 0) {
        // Seq_cst: see above (on x86 the same lock cmpxchg as relaxed).
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          ::new (c.storage()) T(std::move(value));
          c.turn.store(free + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false; // full: the consumer of the previous lap has not freed the cell
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Moves the oldest value into `out` unless the ring is empty.
  bool try_pop(std::optional<T>& out) noexcept {
    auto pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      auto& c = cells_[index(pos)];
      auto published = free_turn(pos) + 1;
      auto diff = static_cast<int64_t>(c.turn.load(std::memory_order_acquire)) -
                  static_cast<int64_t>(published);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          auto* value = std::launder(reinterpret_cast<T*>(c.storage()));
          out.emplace(std::move(*value));
          value->~T();
          c.turn.store(published + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false; // empty: the producer of this position has not published yet
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Whether the next value to pop is not published yet. Exact only when nobody pushes or
  /// pops concurrently; used after a barrier by the wake protocol.
  [[nodiscard]] bool empty() const noexcept {
    auto pos = head_.load(std::memory_order_acquire);
    return cells_[index(pos)].turn.load(std::memory_order_acquire) != free_turn(pos) + 1;
  }

  /// Values in the ring, approximately while others push and pop.
  [[nodiscard]] std::size_t size() const noexcept {
    auto head = head_.load(std::memory_order_acquire);
    auto tail = tail_.load(std::memory_order_acquire);
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }

  /// Values a pop can take now: the published ones from the oldest on, up to the first
  /// position a producer claimed but has not published yet (size() counts that one and those
  /// after it). Walks the ring: for diagnostics and tests, not for a hot path.
  [[nodiscard]] std::size_t ready() const noexcept {
    auto head = head_.load(std::memory_order_acquire);
    auto tail = tail_.load(std::memory_order_acquire);
    std::size_t n = 0;
    for (auto pos = head; pos < tail; ++pos, ++n)
      if (cells_[index(pos)].turn.load(std::memory_order_acquire) != free_turn(pos) + 1)
        break;
    return n;
  }

  /// How many values the ring holds when full.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
  // A position's cell and lap. A power-of-two capacity (the common case) shifts and masks:
  // a division costs tens of cycles, and every push and pop needs two.
  [[nodiscard]] std::size_t index(uint64_t pos) const noexcept {
    return shift_ >= 0 ? static_cast<std::size_t>(pos & (capacity_ - 1))
                       : static_cast<std::size_t>(pos % capacity_);
  }
  [[nodiscard]] uint64_t lap(uint64_t pos) const noexcept {
    return shift_ >= 0 ? pos >> shift_ : pos / capacity_;
  }

  // The turn at which the cell of position `pos` is free for its producer.
  [[nodiscard]] uint64_t free_turn(uint64_t pos) const noexcept { return 2 * lap(pos); }

  static int log2_if_power_of_two(std::size_t n) noexcept {
    return std::has_single_bit(n) ? std::countr_zero(n) : -1;
  }

  struct cell {
    std::atomic<uint64_t> turn{0};
    alignas(T) unsigned char bytes[sizeof(T)];
    void* storage() noexcept { return bytes; }
  };
  static_assert(std::is_trivially_destructible_v<cell>, "cells are freed without destructors");

  // The cells start on a cache line: a cell of 64 bytes (a pool's job of 8 bytes) then fills
  // one line rather than straddling two, so a consumer misses once per value, not twice; cells
  // of other sizes share fewer lines with their neighbours too. A cell's own alignment, should
  // it be larger, wins.
  static constexpr std::align_val_t cells_alignment{std::max<std::size_t>(64, alignof(cell))};
  struct free_cells {
    void operator()(cell* cells) const noexcept { ::operator delete[](cells, cells_alignment); }
  };
  static std::unique_ptr<cell[], free_cells> make_cells(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(cell))
      throw std::bad_array_new_length{};
    auto* cells = static_cast<cell*>(::operator new[](n * sizeof(cell), cells_alignment));
    for (std::size_t i = 0; i < n; ++i)
      ::new (cells + i) cell{};
    return std::unique_ptr<cell[], free_cells>{cells};
  }

  const std::size_t capacity_;
  const int shift_; // log2(capacity_), or -1 when it is not a power of two
  std::unique_ptr<cell[], free_cells> cells_;
  // Producers and consumers each hammer their own index: keep them off one cache line.
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::atomic<uint64_t> head_{0};
};

} // namespace troupe
