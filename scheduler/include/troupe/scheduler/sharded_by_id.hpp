#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <caf/fwd.hpp>

#include "troupe/scheduler/recycled_allocator.hpp"

namespace troupe {

/// A table keyed by actor id, split into shards that each have their own lock, for tables
/// written on the spawn path (the shutdown tracker, the topology registry): spawns on different
/// workers rarely meet on one lock. A caller locks a shard's `mtx` around any use of its
/// `entries`; a walk over every shard (a dump) locks them in order. An entry's node is
/// recycled (recycled_allocator.hpp): an actor is often added on one worker and removed on
/// another, the pattern malloc's per-thread caches serve worst.
template <class Value>
class sharded_by_id {
public:
  /// The allocator of every shard's entries (one ring for the nodes of all such tables).
  using allocator = recycled_allocator<sharded_by_id, std::pair<const caf::actor_id, Value>>;
  /// One shard's part of the table.
  using map = std::unordered_map<caf::actor_id, Value, std::hash<caf::actor_id>,
                                 std::equal_to<caf::actor_id>, allocator>;

  /// One shard, on its own cache line.
  struct alignas(64) shard {
    /// Guards `entries`.
    mutable std::mutex mtx;
    /// The shard's part of the table.
    map entries;
  };

  /// How many shards the table has.
  static constexpr std::size_t shard_count = 16;

  /// The shard that holds `id`.
  shard& of(caf::actor_id id) noexcept { return shards_[id % shard_count]; }
  /// The shard that holds `id`.
  const shard& of(caf::actor_id id) const noexcept { return shards_[id % shard_count]; }

  /// Every shard, in locking order.
  std::array<shard, shard_count>& shards() noexcept { return shards_; }
  /// Every shard, in locking order.
  const std::array<shard, shard_count>& shards() const noexcept { return shards_; }

private:
  std::array<shard, shard_count> shards_;
};

} // namespace troupe
