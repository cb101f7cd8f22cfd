#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace troupe::detail {

/// Restart intensity as OTP defines it — more than `intensity` restarts within `period` is too
/// many — checked in O(1) whatever the window holds: only the last intensity+1 restart times
/// matter, kept in a ring; the check compares the newest with the oldest of them.
///
/// Thread safety: none; owned by one supervisor.
class restart_window {
public:
  using clock = std::chrono::steady_clock;

  restart_window(std::size_t intensity, std::chrono::milliseconds period)
      : capacity_(intensity + 1), period_(period) {}

  /// Records a restart at `now`. Returns false when it is one too many: the intensity+1-th
  /// restart within `period`.
  bool record(clock::time_point now) {
    if (times_.size() < capacity_) {
      // Grows only as restarts happen, so a huge intensity costs nothing up front.
      times_.push_back(now);
      if (times_.size() < capacity_)
        return true;
      oldest_ = 0;
      return now - times_[oldest_] > period_;
    }
    times_[oldest_] = now;
    oldest_ = (oldest_ + 1) % capacity_;
    return now - times_[oldest_] > period_;
  }

private:
  std::size_t capacity_;
  std::chrono::milliseconds period_;
  std::vector<clock::time_point> times_;
  // Index of the oldest recorded time once the ring is full.
  std::size_t oldest_ = 0;
};

} // namespace troupe::detail
