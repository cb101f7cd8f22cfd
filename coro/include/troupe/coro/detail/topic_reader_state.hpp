#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <utility>
#include <variant>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/actors/topic_types.hpp"
#include "troupe/coro/detail/reply_target.hpp"

namespace troupe::detail {

/// What a coro::topic_reader and its subscription's callbacks share: the events nobody took
/// yet, the end, and the recv waiting, if any (see the protocol in troupe/coro/topic_reader.hpp).
/// Touched only on the reader's actor.
template <class T>
class topic_reader_state {
public:
  using event = std::variant<T, lagged>;

  explicit topic_reader_state(std::size_t capacity) : capacity_(capacity) {}

  // -- the subscription's callbacks ------------------------------------------------------------

  void on_message(const T& x) {
    if (waiting_ != nullptr)
      return hand_over(event{std::in_place_index<0>, x});
    buffer_.emplace_back(std::in_place_index<0>, x);
    if (++messages_ > capacity_)
      drop_oldest();
  }

  void on_lag(lagged l) {
    if (waiting_ != nullptr)
      return hand_over(event{std::in_place_index<1>, l});
    if (!buffer_.empty() && buffer_.back().index() == 1)
      std::get<1>(buffer_.back()).missed += l.missed;
    else
      buffer_.emplace_back(std::in_place_index<1>, l);
  }

  void on_closed(caf::error why) {
    end_ = std::move(why);
    ended_ = true;
    if (waiting_ != nullptr)
      hand_over(end_);
  }

  // -- the reader's side -----------------------------------------------------------------------

  /// The next event or the end, if there is one now.
  std::optional<caf::expected<event>> take() {
    if (!buffer_.empty()) {
      auto x = std::move(buffer_.front());
      buffer_.pop_front();
      if (x.index() == 0)
        --messages_;
      return caf::expected<event>{std::move(x)};
    }
    if (ended_)
      return caf::expected<event>{end_};
    return std::nullopt;
  }

  /// Registers the one recv that waits for the next callback.
  void wait(reply_target<event>* r) {
    if (waiting_ != nullptr)
      throw std::logic_error("troupe::coro::topic_reader: two recv() awaited at once");
    waiting_ = r;
  }

  /// A recv destroyed while waiting (cancelled): it took nothing.
  void stop_waiting(reply_target<event>* r) noexcept {
    if (waiting_ == r)
      waiting_ = nullptr;
  }

  [[nodiscard]] std::size_t buffered_messages() const noexcept { return messages_; }

private:
  void hand_over(caf::expected<event> x) {
    // Cleared first: the resumed task may await the next recv right away.
    std::exchange(waiting_, nullptr)->complete(std::move(x));
  }

  // The loss is the oldest message plus the notices around it, reported as one notice in
  // front of the oldest message kept.
  void drop_oldest() {
    uint64_t lost = 0;
    auto take_notices = [&] {
      while (!buffer_.empty() && buffer_.front().index() == 1) {
        lost += std::get<1>(buffer_.front()).missed;
        buffer_.pop_front();
      }
    };
    take_notices();
    buffer_.pop_front();
    --messages_;
    ++lost;
    take_notices();
    buffer_.emplace_front(std::in_place_index<1>, lagged{lost});
  }

  std::size_t capacity_;
  std::deque<event> buffer_;
  std::size_t messages_ = 0; // entries of buffer_ that are messages
  caf::error end_;
  bool ended_ = false;
  reply_target<event>* waiting_ = nullptr;
};

} // namespace troupe::detail
