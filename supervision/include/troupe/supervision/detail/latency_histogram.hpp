#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace troupe::detail {

/// Counts durations in buckets of a quarter octave (four per power of two), so a percentile
/// is known within ~19% without storing samples. Recording is one relaxed increment, in one of
/// a few stripes chosen by the recorder (a pool's worker slot), so that workers recording
/// similar durations at once do not share the buckets' cache lines; percentile() adds the
/// stripes up.
///
/// Thread safety: record() and percentile() from any thread.
class latency_histogram {
public:
  /// Records a duration in the stripe of `recorder` (any number; recorders that differ in their
  /// low bits count apart).
  void record(std::size_t recorder, uint64_t nanos) noexcept {
    stripes_[recorder % stripe_count][index_of(nanos)].fetch_add(1, std::memory_order_relaxed);
  }

  /// The upper bound (in nanoseconds) of the bucket holding the `q`-quantile; 0 when empty.
  [[nodiscard]] uint64_t percentile(double q) const noexcept {
    std::array<uint64_t, bucket_count> counts{};
    uint64_t total = 0;
    for (auto& stripe : stripes_)
      for (std::size_t i = 0; i < bucket_count; ++i)
        counts[i] += stripe[i].load(std::memory_order_relaxed);
    for (auto count : counts)
      total += count;
    if (total == 0)
      return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
    uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts[i];
      if (seen >= rank)
        return upper_bound(i);
    }
    return upper_bound(bucket_count - 1);
  }

private:
  static constexpr std::size_t bucket_count = 4 * 64;
  // Four stripes of 2 KiB: a pool of up to four workers records without sharing a line.
  static constexpr std::size_t stripe_count = 4;

  static std::size_t index_of(uint64_t v) noexcept {
    if (v < 4)
      return static_cast<std::size_t>(v);
    auto octave = static_cast<std::size_t>(std::bit_width(v) - 1); // >= 2
    auto quarter = static_cast<std::size_t>((v >> (octave - 2)) & 3);
    return octave * 4 + quarter;
  }

  static uint64_t upper_bound(std::size_t index) noexcept {
    if (index < 4)
      return index;
    auto octave = index / 4;
    auto quarter = index % 4;
    return ((uint64_t{4} + quarter + 1) << (octave - 2)) - 1;
  }

  using bucket_array = std::array<std::atomic<uint64_t>, bucket_count>;
  std::array<bucket_array, stripe_count> stripes_{};
};

} // namespace troupe::detail
