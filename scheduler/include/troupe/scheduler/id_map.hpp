#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <caf/fwd.hpp>

namespace troupe {

/// A hash table from actor id to `Value`, stored flat (open addressing, linear probing): an
/// insert or an erase touches a cache line or two and allocates nothing (but when the table
/// doubles or halves), where a node-based map allocates a node, links it and finds its
/// predecessor again to unlink it. It is the table of the spawn path: the shutdown tracker and
/// the topology registry add every actor when it starts and remove it when it ends.
///
/// Any actor id is a key, caf::invalid_actor_id (0) too. `Stride` is the usual gap between the
/// ids of one map (sharded_by_id's shards each see every shard_count-th id): consecutive ids
/// land on neighbouring slots. The arrays double when they are 7/8 full and halve when they
/// fall below 1/8 (so a million actors that end give their memory back).
/// Entries keep Robin Hood order and an erase shifts the entries after it back (no tombstones:
/// a table that churns stays as fast as a fresh one).
///
/// `Value` must be default-constructible and nothrow movable: a free slot holds a
/// default `Value`, and an erase resets its slot, so the erased value's resources go at once.
/// Pointers returned by find() and try_emplace() stay valid until the next insert or erase.
///
/// Thread safety: none; the caller locks (sharded_by_id gives each shard a mutex).
///
/// Example:
/// @code
/// troupe::id_map<int> m;
/// m.try_emplace(7, 1);
/// m[9] += 2;
/// m.erase(7);
/// int sum = 0;
/// m.for_each([&](caf::actor_id, int& v) { sum += v; }); // 2
/// @endcode
template <class Value, std::uint64_t Stride = 1>
class id_map {
  static_assert(std::is_nothrow_move_constructible_v<Value> &&
                    std::is_nothrow_move_assignable_v<Value>,
                "id_map moves values when it inserts, erases and grows");
  static_assert(Stride > 0);

public:
  id_map() noexcept = default;
  id_map(const id_map&) = delete;
  id_map& operator=(const id_map&) = delete;

  /// The value of `id`, or nullptr when the map has none.
  [[nodiscard]] Value* find(caf::actor_id id) noexcept {
    auto i = index_of(stored_key(id));
    return i == npos ? nullptr : &values_[i];
  }

  /// The value of `id`, or nullptr when the map has none.
  [[nodiscard]] const Value* find(caf::actor_id id) const noexcept {
    auto i = index_of(stored_key(id));
    return i == npos ? nullptr : &values_[i];
  }

  /// Whether the map has a value for `id`.
  [[nodiscard]] bool contains(caf::actor_id id) const noexcept {
    return index_of(stored_key(id)) != npos;
  }

  /// Inserts a value made from `xs` unless `id` has one; returns the value of `id` and whether
  /// it was inserted.
  template <class... Ts>
  std::pair<Value*, bool> try_emplace(caf::actor_id id, Ts&&... xs) {
    const std::uint64_t key = stored_key(id);
    if (auto i = index_of(key); i != npos)
      return {&values_[i], false};
    if ((size_ + 1) * 8 > capacity() * 7)
      rehash(capacity() == 0 ? min_capacity : capacity() * 2, true);
    Value value(std::forward<Ts>(xs)...);
    ++size_;
    return {&values_[place(key, value)], true};
  }

  /// The value of `id`, inserted default-constructed when it has none.
  Value& operator[](caf::actor_id id) { return *try_emplace(id).first; }

  /// Removes the value of `id`; returns whether there was one.
  bool erase(caf::actor_id id) noexcept {
    std::size_t hole = index_of(stored_key(id));
    if (hole == npos)
      return false;
    // Backward shift: the entries after the hole that are not at their home move back by one,
    // up to the first that is (or a free slot); the table stays as if the erased entry had never
    // been inserted.
    for (std::size_t j = next(hole); keys_[j] != free_key && distance(j) > 0; j = next(j)) {
      keys_[hole] = keys_[j];
      values_[hole] = std::move(values_[j]);
      hole = j;
    }
    keys_[hole] = free_key;
    values_[hole] = Value{};
    --size_;
    if (capacity() > min_capacity && size_ * 8 < capacity())
      rehash(capacity() / 2, false);
    return true;
  }

  /// Number of values.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  /// Whether the map has no value.
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// Number of slots (values and free ones); 0 until the first insert.
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ == 0 ? 0 : mask_ + 1; }

  /// Calls `f(caf::actor_id, Value&)` for every value, in no particular order. `f` may not
  /// insert or erase.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t i = 0; i < capacity(); ++i)
      if (keys_[i] != free_key)
        f(caf::actor_id{keys_[i] - 1}, values_[i]);
  }

  /// Calls `f(caf::actor_id, const Value&)` for every value, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < capacity(); ++i)
      if (keys_[i] != free_key)
        f(caf::actor_id{keys_[i] - 1}, std::as_const(values_[i]));
  }

private:
  static constexpr std::size_t min_capacity = 16;
  static constexpr std::uint64_t free_key = 0;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // Keys are stored as id + 1, so that 0 can mark a free slot and every id is a key (the id
  // 2^64 - 1, which would wrap, is never handed out: ids count up from 1).
  static constexpr std::uint64_t stored_key(caf::actor_id id) noexcept { return id + 1; }

  // Ids come in runs: a burst of spawns takes consecutive ids, of which a map sees every
  // Stride-th. Consecutive ids land on consecutive slots, so filling a big table or churning
  // through a window of ids walks it in order and never collides with itself. The higher bits
  // are added in (two folds of `bits_`), so ids whose gaps are multiples of the capacity do not
  // pile up on one slot, while a window that crosses a multiple of the capacity moves by a slot.
  [[nodiscard]] std::size_t home(std::uint64_t key) const noexcept {
    const std::uint64_t n = key / Stride;
    // Two shifts by bits_ rather than one by 2 * bits_, which would be undefined from a
    // capacity of 2^32 on.
    const std::uint64_t high = n >> bits_;
    return static_cast<std::size_t>((n + high + (high >> bits_)) & mask_);
  }

  [[nodiscard]] std::size_t next(std::size_t i) const noexcept { return (i + 1) & mask_; }

  // How far the entry at `i` sits past its home.
  [[nodiscard]] std::size_t distance(std::size_t i) const noexcept {
    return (i - home(keys_[i])) & mask_;
  }

  // Robin Hood order: along a probe, entries sit at most as far from their home as the entry
  // being looked for would at that slot, so a lookup stops at the first entry nearer to its
  // own home (or a free slot): a miss costs no more than a hit, even in one long run of
  // consecutive ids.
  [[nodiscard]] std::size_t index_of(std::uint64_t key) const noexcept {
    if (size_ == 0)
      return npos;
    for (std::size_t i = home(key), d = 0;; i = next(i), ++d) {
      if (keys_[i] == key)
        return i;
      if (keys_[i] == free_key || distance(i) < d)
        return npos;
    }
  }

  // Puts `key` (absent) with `value` where Robin Hood order wants it, moving the entries it
  // passes on; returns its slot. There is a free slot (the load stays below 7/8).
  std::size_t place(std::uint64_t key, Value& value) noexcept {
    std::size_t placed = npos;
    for (std::size_t i = home(key), d = 0;; i = next(i), ++d) {
      if (keys_[i] == free_key) {
        keys_[i] = key;
        values_[i] = std::move(value);
        return placed == npos ? i : placed;
      }
      if (const std::size_t theirs = distance(i); theirs < d) {
        std::swap(keys_[i], key);
        std::swap(values_[i], value);
        if (placed == npos)
          placed = i;
        d = theirs;
      }
    }
  }

  // Moves every entry into fresh arrays of `new_capacity` slots (a power of two). When they
  // cannot be allocated, a growing table throws std::bad_alloc and a shrinking one keeps its
  // arrays; either way the table is left as it was.
  void rehash(std::size_t new_capacity, bool growing) {
    std::unique_ptr<std::uint64_t[]> keys{new (std::nothrow) std::uint64_t[new_capacity]()};
    std::unique_ptr<Value[]> values{keys ? new (std::nothrow) Value[new_capacity]() : nullptr};
    if (!values) {
      if (growing)
        throw std::bad_alloc{};
      return;
    }
    const std::size_t old_capacity = capacity();
    std::swap(keys_, keys);
    std::swap(values_, values);
    mask_ = new_capacity - 1;
    bits_ = static_cast<unsigned>(std::countr_zero(new_capacity));
    for (std::size_t i = 0; i < old_capacity; ++i)
      if (keys[i] != free_key)
        place(keys[i], values[i]);
  }

  // Apart, so that a probe reads eight keys per cache line whatever the size of a value.
  std::unique_ptr<std::uint64_t[]> keys_; // the actor id + 1 (see stored_key); 0: free
  std::unique_ptr<Value[]> values_;
  std::size_t mask_ = 0; // capacity - 1, or 0 before the first insert
  unsigned bits_ = 0;    // log2 of the capacity
  std::size_t size_ = 0;
};

} // namespace troupe
