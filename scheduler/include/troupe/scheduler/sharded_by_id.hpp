#pragma once

#include <array>
#include <atomic>
#include <cstddef>

#include <caf/fwd.hpp>

#include "troupe/scheduler/adaptive_mutex.hpp"
#include "troupe/scheduler/id_map.hpp"

namespace troupe {

/// A table keyed by actor id, split into shards that each have their own lock, for tables
/// written on the spawn path (the shutdown tracker, the topology registry): spawns on different
/// workers rarely meet on one lock. A caller locks a shard's `mtx` around any use of its
/// `entries`; a walk over every shard (a dump) locks them in order. Each shard is a flat
/// table (id_map.hpp): adding and removing an actor allocates nothing but when a shard's
/// array grows or shrinks.
template <class Value>
class sharded_by_id {
public:
  /// How many shards the table has.
  static constexpr std::size_t shard_count = 16;

  /// One shard's part of the table: every shard_count-th id.
  using map = id_map<Value, shard_count>;

  /// One shard, on its own cache line.
  struct alignas(64) shard {
    /// Guards `entries`. It spins briefly before it sleeps: spawns and exits on different
    /// workers meet on a shard now and then, and each holds it for a few dozen nanoseconds.
    mutable adaptive_mutex mtx;
    /// The shard's part of the table.
    map entries;
    /// A count the table's user keeps with the shard's entries (changed with `mtx` held, read
    /// without it): a total is the sum over the shards, so spawns and exits on different
    /// workers do not all write one shared counter.
    std::atomic<std::size_t> tally{0};
  };

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
