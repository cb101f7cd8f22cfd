#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace troupe::detail {

/// A worker's run queue: a fixed ring that its owner fills at the tail and empties at the head,
/// and that other workers steal from at the head: one job (steal) or the older half
/// (steal_into) per compare-exchange.
///
/// Thread safety: push(), pop() and pop_older_half() only on the owning worker; steal(),
/// steal_into() and size_hint() on any thread.
/// Memory ordering: everything the owner did before push() happens-before the job is run by
/// whichever worker took it (the tail is published with release, read with acquire).
///
/// Why a steal cannot read a slot that is being overwritten: the owner writes slot `t % N` only
/// while `t - head < N`. A thief that read slot `h % N` and then wins the CAS on `head == h` knew
/// `head` was still `h`, so the owner could not have reached `t == h + N` in between.
template <class T, std::size_t N = 256>
class local_queue {
  static_assert((N & (N - 1)) == 0, "capacity must be a power of two");

public:
  local_queue() {
    for (auto& slot : slots_)
      slot.store(nullptr, std::memory_order_relaxed);
  }

  /// Appends `job`; false when the ring is full (the caller moves work elsewhere).
  [[nodiscard]] bool push(T* job) noexcept {
    auto t = tail_.load(std::memory_order_relaxed);
    auto h = head_.load(std::memory_order_acquire);
    if (t - h >= N)
      return false;
    slots_[t & (N - 1)].store(job, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Takes the oldest job; owner only.
  [[nodiscard]] T* pop() noexcept { return take(); }

  /// Takes the oldest job; any thread.
  [[nodiscard]] T* steal() noexcept { return take(); }

  /// Takes the older half of the queued jobs (rounded up) in one step, for the owner of `dest`:
  /// returns the oldest and appends the others to `dest` in order. Null when the queue is empty.
  /// One steal per idle spell then moves a whole burst of work across, instead of one contended
  /// take per job (what a worker that woke a thousand actors would otherwise see).
  /// Any thread, provided it owns `dest` (dest must not be this queue).
  [[nodiscard]] T* steal_into(local_queue& dest) noexcept {
    std::array<T*, N / 2> batch;
    auto k = take_older_half(batch.data(), dest.free_slots() + 1);
    if (k == 0)
      return nullptr;
    for (std::size_t i = 1; i < k; ++i)
      (void)dest.push(batch[i]); // room checked above: dest's owner is the only pusher
    return batch[0];
  }

  /// Owner only, for a full queue: moves the older half of the queued jobs (rounded up, at most
  /// N / 2) into `out` in order and returns how many, so that the owner can hand them to a shared
  /// queue in one step (one lock for half a queue, not one per job) and keep its newer jobs.
  [[nodiscard]] std::size_t pop_older_half(std::array<T*, N / 2>& out) noexcept {
    return take_older_half(out.data(), N / 2);
  }

  /// The number of queued jobs, exact when nobody pushes or takes.
  [[nodiscard]] std::size_t size_hint() const noexcept {
    auto h = head_.load(std::memory_order_acquire);
    auto t = tail_.load(std::memory_order_acquire);
    return t > h ? static_cast<std::size_t>(t - h) : 0;
  }

  [[nodiscard]] static constexpr std::size_t capacity() noexcept { return N; }

private:
  // Owner only: slots push() can fill before the ring is full (thieves only add room).
  [[nodiscard]] std::size_t free_slots() const noexcept {
    auto t = tail_.load(std::memory_order_relaxed);
    auto h = head_.load(std::memory_order_acquire);
    return N - static_cast<std::size_t>(t - h);
  }

  // The older half (rounded up) of the queued jobs, at most `limit` (and N / 2), into `out`
  // with one compare-exchange on the head; returns how many. Any thread.
  std::size_t take_older_half(T** out, std::size_t limit) noexcept {
    auto h = head_.load(std::memory_order_acquire);
    for (;;) {
      auto t = tail_.load(std::memory_order_acquire);
      if (h >= t)
        return 0;
      auto available = t - h;
      if (available > N) {
        // `h` is stale: the owner took and added jobs since we read it (it never holds more
        // than N). Start again from the current head.
        h = head_.load(std::memory_order_acquire);
        continue;
      }
      std::size_t k = std::min<std::size_t>(available - available / 2, limit);
      for (std::size_t i = 0; i < k; ++i)
        out[i] = slots_[(h + i) & (N - 1)].load(std::memory_order_relaxed);
      // The same argument as take(): while head_ is still `h`, the owner cannot have reached
      // the slots just read, so winning the CAS makes all k of them ours.
      if (head_.compare_exchange_weak(h, h + k, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        return k;
    }
  }

  T* take() noexcept {
    auto h = head_.load(std::memory_order_acquire);
    for (;;) {
      auto t = tail_.load(std::memory_order_acquire);
      if (h >= t)
        return nullptr;
      auto* job = slots_[h & (N - 1)].load(std::memory_order_relaxed);
      // acq_rel: the successful taker owns the job; a failed CAS reloads `h` and retries.
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        return job;
    }
  }

  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::array<std::atomic<T*>, N> slots_;
};

} // namespace troupe::detail
