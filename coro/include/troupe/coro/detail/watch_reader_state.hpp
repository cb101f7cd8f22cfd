#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "troupe/coro/detail/reply_target.hpp"

namespace troupe::detail {

/// What a coro::watch_reader and its reading's callbacks share: the newest value nobody took
/// yet, the end, and the changed() waiting, if any (see troupe/coro/watch_reader.hpp). Touched
/// only on the reader's actor.
template <class T>
class watch_reader_state {
public:
  // -- the reading's callbacks -----------------------------------------------------------------

  void on_change(const T& x) {
    if (waiting_ != nullptr)
      return std::exchange(waiting_, nullptr)->complete(x);
    unseen_.emplace(x); // replaces a value nobody took: changes coalesce
  }

  void on_closed(caf::error why) {
    end_ = std::move(why);
    ended_ = true;
    if (waiting_ != nullptr)
      std::exchange(waiting_, nullptr)->complete(end_);
  }

  // -- the reader's side -----------------------------------------------------------------------

  /// The newest value not yet taken, or the end, if there is one now.
  std::optional<caf::expected<T>> take() {
    if (unseen_) {
      caf::expected<T> x{std::move(*unseen_)};
      unseen_.reset();
      return x;
    }
    if (ended_)
      return caf::expected<T>{end_};
    return std::nullopt;
  }

  /// Registers the one changed() that waits for the next callback.
  void wait(reply_target<T>* r) {
    if (waiting_ != nullptr)
      throw std::logic_error("troupe::coro::watch_reader: two changed() awaited at once");
    waiting_ = r;
  }

  /// A changed() destroyed while waiting (cancelled): it took nothing.
  void stop_waiting(reply_target<T>* r) noexcept {
    if (waiting_ == r)
      waiting_ = nullptr;
  }

  [[nodiscard]] bool has_unseen() const noexcept { return unseen_.has_value(); }

private:
  std::optional<T> unseen_;
  caf::error end_;
  bool ended_ = false;
  reply_target<T>* waiting_ = nullptr;
};

} // namespace troupe::detail
