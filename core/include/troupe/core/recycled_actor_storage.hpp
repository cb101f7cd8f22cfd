#pragma once

// CAF allocates each actor as one block: its control block, padding to a cache line, then the
// actor object (caf::actor_storage<T>). For a Troupe actor that block is about 1.4 KB, above
// malloc's per-thread cache limit, so every spawn and every end of an actor took the heap's
// arena lock, and when one worker spawns while another ends actors (a churn of short-lived
// actors) the two threads took it in turns. recycled_actor_storage is the same layout with
// its blocks recycled (troupe::recycled_blocks): an actor class opts in by specializing
// caf::actor_storage for itself as a class derived from it, right after its definition:
//
//   template <class... Ts>
//   class caf::actor_storage<my_actor<Ts...>>
//       : public troupe::recycled_actor_storage<my_actor<Ts...>,
//       caf::actor_storage<my_actor<Ts...>>> {
//   public:
//     using troupe::recycled_actor_storage<my_actor<Ts...>, caf::actor_storage<my_actor<Ts...>>>::
//         recycled_actor_storage;
//   };
//
// CAF relies on the layout only: the control block at the start, the actor one cache line
// later (checked below at compile time), and the two destroy functions the control block keeps.

#include <cstddef>
#include <new>
#include <utility>

#include <caf/abstract_actor.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/config.hpp>

#include "troupe/scheduler/recycled_blocks.hpp"

namespace troupe {

/// The storage of one actor of class T, laid out as caf::actor_storage<T>, in blocks that are
/// recycled. `Storage` is the caf::actor_storage specialization that derives from it.
template <class T, class Storage>
class recycled_actor_storage : public recycled_blocks<Storage> {
public:
  /// Constructs the control block, then the actor from `xs`, as caf::make_actor asks.
  template <class... Us>
  recycled_actor_storage(caf::actor_id aid, caf::node_id nid, caf::actor_system* sys, Us&&... xs)
      : ctrl(aid, nid, sys, destroy_actor, destroy_block) {
    new (&data) T(std::forward<Us>(xs)...);
  }

  recycled_actor_storage(const recycled_actor_storage&) = delete;
  recycled_actor_storage& operator=(const recycled_actor_storage&) = delete;

  /// Destroys nothing: the actor went with its last strong reference (destroy_actor), and the
  /// control block holds only plain data.
  ~recycled_actor_storage() {}

  /// CAF's control block: reference counts, id, node, the destroy functions.
  caf::actor_control_block ctrl;
  /// Puts the actor one cache line after the control block, where CAF looks for it.
  char pad[CAF_CACHE_LINE_SIZE - sizeof(caf::actor_control_block)];
  /// The actor, constructed by the constructor and destroyed by destroy_actor.
  union {
    /// The actor itself.
    T data;
  };

private:
  static void destroy_actor(caf::abstract_actor* ptr) {
    ptr->on_destroy();
    static_cast<T*>(ptr)->~T();
  }

  static void destroy_block(caf::actor_control_block* ptr) {
    static_assert(sizeof(caf::actor_control_block) < CAF_CACHE_LINE_SIZE);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
    // What caf::actor_control_block::get() and CAF's casts between the control block and the
    // actor assume.
    static_assert(offsetof(recycled_actor_storage, ctrl) == 0, "control block first");
    static_assert(offsetof(recycled_actor_storage, data) == CAF_CACHE_LINE_SIZE,
                  "actor one cache line after the control block");
#pragma GCC diagnostic pop
    delete static_cast<Storage*>(reinterpret_cast<recycled_actor_storage*>(ptr));
  }
};

} // namespace troupe
