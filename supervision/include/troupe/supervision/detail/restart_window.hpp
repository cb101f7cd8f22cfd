#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

namespace troupe::detail {

/// Restart intensity as OTP defines it — more than `intensity` restarts within `period` is too
/// many. As OTP's add_restart, it keeps only the restart times still within the period, so its
/// size is bounded by the restarts of one period (and intensity + 1), not by the restarts so far:
/// a supervisor with a huge intensity and a short period stays small however long it runs.
///
/// Thread safety: none; owned by one supervisor.
class restart_window {
public:
  using clock = std::chrono::steady_clock;

  restart_window(std::size_t intensity, std::chrono::milliseconds period)
      : intensity_(intensity), period_(period) {}

  /// Records a restart at `now`. Returns false when it is one too many: the intensity+1-th
  /// restart within `period`.
  bool record(clock::time_point now) {
    while (!times_.empty() && now - times_.front() > period_)
      times_.pop_front();
    times_.push_back(now);
    if (times_.size() <= intensity_)
      return true;
    // Only the newest intensity + 1 times can ever decide again.
    times_.pop_front();
    return false;
  }

  /// The restart times kept (at most intensity + 1): after a record() that returned true, the
  /// restarts within the period, that one included.
  [[nodiscard]] std::size_t size() const noexcept { return times_.size(); }

  /// The most restarts allowed within period().
  [[nodiscard]] std::size_t intensity() const noexcept { return intensity_; }
  /// The window restarts are counted in.
  [[nodiscard]] std::chrono::milliseconds period() const noexcept { return period_; }

private:
  std::size_t intensity_;
  std::chrono::milliseconds period_;
  std::deque<clock::time_point> times_; // oldest first, all within period_ of the newest
};

} // namespace troupe::detail
