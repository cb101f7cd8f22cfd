#pragma once

// The continuations of one actor's requests still waiting for their replies, by request id.
//
// Most actors never make a request (a typed mailbox that only answers, a pool worker), and an
// empty std::unordered_map is 56 bytes in every actor. The map is made by the first request and
// kept until the actor ends: an actor that requested once is likely to request again.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "troupe/core/continuation.hpp"

namespace troupe::detail {

class request_table {
public:
  /// Registers the continuation of request `id`.
  void add(uint64_t id, std::unique_ptr<continuation> k) {
    if (!waiting_)
      waiting_ = std::make_unique<map>();
    waiting_->emplace(id, std::move(k));
  }

  /// Removes and returns request `id`'s continuation; null when it is not waiting (answered,
  /// failed or never made).
  std::unique_ptr<continuation> take(uint64_t id) {
    if (!waiting_)
      return nullptr;
    auto i = waiting_->find(id);
    if (i == waiting_->end())
      return nullptr;
    auto k = std::move(i->second);
    waiting_->erase(i);
    return k;
  }

  /// Whether request `id` still waits.
  [[nodiscard]] bool contains(uint64_t id) const { return waiting_ && waiting_->count(id) != 0; }

  /// How many requests wait.
  [[nodiscard]] std::size_t size() const noexcept { return waiting_ ? waiting_->size() : 0; }

  /// Forgets every waiting request (their continuations are destroyed, not run).
  void clear() noexcept { waiting_.reset(); }

private:
  using map = std::unordered_map<uint64_t, std::unique_ptr<continuation>>;
  std::unique_ptr<map> waiting_;
};

} // namespace troupe::detail
