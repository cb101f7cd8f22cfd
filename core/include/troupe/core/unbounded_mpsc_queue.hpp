#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "troupe/scheduler/block_arena.hpp"
#include "troupe/scheduler/block_recycler.hpp"
#include "troupe/scheduler/recycled_blocks.hpp"

namespace troupe {

/// An unbounded queue for many producers and one consumer, without locks,
/// stored as a linked list of blocks. An empty queue that never received
/// anything allocates nothing; the first push allocates a block of 4 slots, and
/// each further block doubles up to 64 slots, so a queue that holds a few
/// elements at a time stays small. A full-size block links the next one half
/// way through, before the producers reach its end.
///
/// Thread safety / memory ordering: any number of threads may call push() at
/// the same time; try_pop() and drain() belong to a single consumer thread at a
/// time (the mailbox owner). size() and empty() may be called from any thread.
/// Everything a producer did before push() is visible to the consumer once it
/// receives that element. Elements of one producer arrive in the order that
/// producer pushed them; elements of different producers are interleaved in no
/// promised order. push() never fails and never waits for the consumer or other
/// producers (it allocates a block now and then, and terminates the program if
/// that allocation fails). Elements are delivered strictly in the order their
/// slots were claimed, so try_pop() returns nullopt while the producer of the
/// oldest element has claimed its slot but not yet written it, even if later
/// elements are ready; that producer finishes without waiting for anyone, so
/// the element shows up shortly. size() and empty() count an element from the
/// moment its slot is claimed, so they include such in-flight pushes: after
/// every push() has returned they are exact, and `empty()` then means try_pop()
/// finds nothing, while `!empty()` alone does not promise that try_pop()
/// succeeds right now.
template <class T>
class unbounded_mpsc_queue : public recycled_blocks<unbounded_mpsc_queue<T>> {
  // push() claims an index before it writes; a move that throws in between
  // would leave a hole that the consumer waits on forever, so only element
  // types whose move cannot fail are allowed.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "unbounded_mpsc_queue needs a nothrow move constructor");
  static_assert(std::is_nothrow_destructible_v<T>,
                "unbounded_mpsc_queue needs a nothrow destructor");

public:
  /// Allocates nothing: the first push() allocates the first block.
  unbounded_mpsc_queue() noexcept = default;

  unbounded_mpsc_queue(const unbounded_mpsc_queue&) = delete;
  unbounded_mpsc_queue& operator=(const unbounded_mpsc_queue&) = delete;

  /// Destroys the elements still queued and frees every block. No other thread
  /// may use the queue any more, and every push() must have returned.
  ~unbounded_mpsc_queue() {
    while (try_pop()) {
    }
    // Relaxed: the caller guarantees quiescence, which already orders every
    // producer's writes before this point. try_pop() found the first block if
    // there is one.
    for (block* b = oldest_block_; b != nullptr;) {
      block* next = b->next.load(std::memory_order_relaxed);
      destroy_block(b);
      b = next;
    }
  }

  /// Appends `value`. Never fails; see the class comment for allocation
  /// failure.
  void push(T value) noexcept {
    // Protocol:
    //  1. Claim a global index with one fetch_add; from here on the consumer
    //  waits for it, so
    //     nothing below may fail or wait (hence noexcept).
    //  2. Find the block that holds the index: start at the shared hint
    //  tail_block_ and follow
    //     `next`, linking new blocks as needed; on the way, move the hint past
    //     blocks that are completely written (see find_block for why only
    //     those). The claimant of a full-size block's middle slot links the
    //     block after it (see link_ahead_offset).
    //  3. Construct the element in its slot.
    //  4. Set the slot's ready flag; this is the producer's last access to its
    //  own block.
    // Sequentially consistent: block reclamation (reclaim_blocks) reasons about
    // the single total order of this fetch_add, the hint load in step 2 and the
    // hint update, which needs all three to be seq_cst. On x86 and ARMv8
    // seq_cst costs nothing over acq_rel for a read-modify-write or over
    // acquire for a load.
    const std::size_t index = tail_.fetch_add(1, std::memory_order_seq_cst); // 1
    block* b = find_block(index);                                            // 2
    const std::size_t offset = index - b->start;
    if (offset == link_ahead_offset && b->size == max_block_size)
      link_next_ahead(b);
    std::construct_at(b->item(offset), std::move(value)); // 3
    // Release: whoever sees the flag (consumer or a hint mover) sees the
    // constructed element and everything this producer did to the block list
    // before.
    b->ready(offset).store(true, std::memory_order_release); // 4
  }

  /// Removes and returns the oldest element, or nullopt when there is none or
  /// its producer has not finished writing it yet (see the class comment).
  /// Consumer only.
  [[nodiscard]] std::optional<T> try_pop() noexcept {
    // Protocol:
    //  1. If the current block is used up, step to the next one; it may not be
    //  linked yet.
    //  2. The slot is readable once its ready flag is set (step 4 of push).
    //  3. Move the element out, destroy the slot's copy, advance head_.
    //  4. Free the blocks that no thread can reach any more.
    // Relaxed: only this thread writes head_.
    const std::size_t head = head_.load(std::memory_order_relaxed);
    block* b = head_block_;
    if (b == nullptr) {
      // Nothing pushed yet, or the first push has not installed its block:
      // either way there is nothing to pop. Acquire pairs with the CAS that
      // installed it: its constructor has run.
      b = first_block_.load(std::memory_order_acquire);
      if (b == nullptr)
        return std::nullopt;
      head_block_ = oldest_block_ = b;
    }
    if (head == b->start + b->size) { // 1
      // Acquire pairs with the CAS that linked the block: its constructor has
      // run.
      block* next = b->next.load(std::memory_order_acquire);
      if (next == nullptr)
        return std::nullopt;
      head_block_ = b = next;
    }
    const std::size_t offset = head - b->start;
    // Acquire pairs with push's release: the element is fully constructed.
    if (!b->ready(offset).load(std::memory_order_acquire)) // 2
      return std::nullopt;
    T* item = b->item(offset);
    std::optional<T> result{std::in_place, std::move(*item)}; // 3
    std::destroy_at(item);
    // Release: size() readers that see this head_ also see the claims it has
    // passed, so their tail_ read cannot be behind it.
    head_.store(head + 1, std::memory_order_release);
    if (oldest_block_ != head_block_) // 4, cheap check first: usually nothing to free
      reclaim_blocks(head + 1);
    return result;
  }

  /// Pops up to `max` elements, calling `f(T&&)` for each in order, and returns
  /// how many were popped. Each element leaves the queue before `f` sees it, so
  /// if `f` throws the queue stays consistent and only the element being
  /// handled is lost. Consumer only.
  template <class F>
  std::size_t drain(F&& f, std::size_t max) {
    std::size_t n = 0;
    while (n < max) {
      std::optional<T> item = try_pop();
      if (!item)
        break;
      ++n;
      std::invoke(f, std::move(*item));
    }
    return n;
  }

  /// Pops, in order, every element whose slot was claimed before the call, waiting for those
  /// whose producer is still writing them (it finishes without waiting for anyone), then
  /// whatever else is ready; calls `f(T&&)` for each and returns how many. For a consumer
  /// that a seq_cst handshake promises every push it did not hand over (a closing mailbox:
  /// a push claimed after this call's look at the tail sees the close and drains itself).
  /// Consumer only.
  template <class F>
  std::size_t drain_claimed(F&& f) {
    // Seq_cst: the handshake orders this load after the other side's claims (see the caller).
    const std::size_t claimed = tail_.load(std::memory_order_seq_cst);
    std::size_t n = 0;
    while (head_.load(std::memory_order_relaxed) < claimed) {
      std::optional<T> item = try_pop();
      if (!item) {
        std::this_thread::yield(); // a claimed slot (or its block) is still being written
        continue;
      }
      ++n;
      std::invoke(f, std::move(*item));
    }
    return n + drain(std::forward<F>(f), std::numeric_limits<std::size_t>::max());
  }

  /// Number of elements, counting pushes that have claimed a slot but not
  /// finished writing it. Exact once every push() has returned; otherwise a
  /// snapshot.
  [[nodiscard]] std::size_t size() const noexcept {
    // Acquire on head_ (paired with try_pop's release) makes every claim that
    // head_ has passed visible, so the tail_ read below is never behind it and
    // the difference cannot wrap. Relaxed on tail_: nothing is read through it.
    const std::size_t head = head_.load(std::memory_order_acquire);
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    return tail - head;
  }

  /// size() == 0, with the same caveat.
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  /// How many elements were popped so far. Consumer only.
  [[nodiscard]] std::size_t popped() const noexcept {
    return head_.load(std::memory_order_relaxed);
  }

  /// Slots in the blocks allocated now (0 for a queue that never received
  /// anything). Any thread; a snapshot.
  [[nodiscard]] std::size_t allocated_slots() const noexcept {
    return allocated_slots_.load(std::memory_order_relaxed);
  }

  /// How many freed first blocks the calling thread's next queues of this type could take now
  /// (a snapshot; always 0 in AddressSanitizer builds).
  [[nodiscard]] static std::size_t first_blocks_kept_now() noexcept {
    return block::first_blocks::kept_now();
  }

private:
  static constexpr std::size_t cache_line_size = 64;
  // Blocks grow from first_block_size slots to max_block_size: a queue that
  // only ever holds a few elements (most actors' mailboxes and reply queues)
  // keeps one small block, a busy one allocates once per max_block_size
  // elements.
  static constexpr std::size_t first_block_size = 4;
  static constexpr std::size_t max_block_size = 64;
  // The producer that claims this slot of a full-size block links the next block, so that
  // the producers that reach the block's end find it linked: otherwise every producer that
  // claims past the end while `next` is null allocates one and all but one are thrown away,
  // and busy producers reach the end together (two filling one mailbox met in the block
  // arena's lock at every block). Only full-size blocks do it, so a queue that holds a few
  // elements at a time still grows block by block; half way, so that the next block is
  // linked long before the end.
  static constexpr std::size_t link_ahead_offset = max_block_size / 2;
  // How many freed first blocks wait for the next queue of this type, at most.
  static constexpr std::size_t kept_first_blocks = 1024;

  // The slots follow the header in the same allocation: first their ready flags, one byte
  // each, then the elements, at the elements' alignment (the header's alignment is theirs, or
  // a pointer's). A flag beside each element would be padded to the element's alignment: 8
  // bytes per slot for most messages, a fifth of a queued 64-bit message and its envelope.
  struct alignas(alignof(T) > alignof(void*) ? alignof(T) : alignof(void*)) block {
    block(std::size_t first_index, std::size_t n) noexcept : start(first_index), size(n) {
      for (std::size_t i = 0; i < n; ++i)
        std::construct_at(flags() + i, false);
    }

    /// Allocates a block of `n` slots for the indices from `first_index`;
    /// terminates the program when memory is exhausted (push() may not fail,
    /// see the class comment). A queue holding millions of messages is millions
    /// of blocks: they come from Troupe's block arena (block_arena.hpp).
    static block* make(std::size_t first_index, std::size_t n) noexcept {
      void* mem = n == first_block_size ? take_first_block() : nullptr;
      if (mem == nullptr)
        mem = arena_new(bytes_of(n), alignof(block)); // noexcept: std::bad_alloc terminates
      return ::new (mem) block(first_index, n);
    }

    static void destroy(block* b) noexcept {
      const std::size_t n = b->size;
      std::destroy_n(b->flags(), n);
      b->~block();
      if (n == first_block_size && keep_first_block(b))
        return;
      arena_delete(b, bytes_of(n), alignof(block));
    }

    // Where the elements start, after `n` flags.
    static constexpr std::size_t items_offset(std::size_t n) noexcept {
      return (n * sizeof(std::atomic<bool>) + alignof(T) - 1) / alignof(T) * alignof(T);
    }

    static constexpr std::size_t bytes_of(std::size_t n) noexcept {
      return sizeof(block) + items_offset(n) + n * sizeof(T);
    }

    // A queue's first block is made by its first push and freed when the queue goes: for a
    // short-lived mailbox, on two different workers. Kept blocks serve the next queue of this
    // type without malloc (block_recycler.hpp, as recycled_blocks.hpp does for whole objects).
    using first_blocks = block_recycler<block, kept_first_blocks>;

    static void* take_first_block() noexcept {
#if !defined(__SANITIZE_ADDRESS__)
      return first_blocks::take();
#else
      return nullptr;
#endif
    }

    static bool keep_first_block([[maybe_unused]] void* mem) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
      return first_blocks::keep(mem, release_first_block);
#else
      return false;
#endif
    }

    static void release_first_block(void* mem) noexcept {
      arena_delete(mem, bytes_of(first_block_size), alignof(block));
    }

    std::atomic<bool>* flags() noexcept {
      return reinterpret_cast<std::atomic<bool>*>(this + 1);
    }

    /// Slot `i`'s flag: set once its element is written.
    std::atomic<bool>& ready(std::size_t i) noexcept {
      return flags()[i];
    }

    /// Slot `i`'s element (storage until it is written).
    T* item(std::size_t i) noexcept {
      auto* items = reinterpret_cast<std::byte*>(this + 1) + items_offset(size);
      return std::launder(reinterpret_cast<T*>(items + i * sizeof(T)));
    }

    const std::size_t start; // global index of the block's first slot
    const std::size_t size;  // number of slots
    std::atomic<block*> next{nullptr};
    // Set once the hint has moved past this block; `observed_tail` is then the
    // value of tail_ read right after the move (written before the release
    // store, read after the acquire load).
    std::atomic<bool> released{false};
    std::size_t observed_tail = 0;
  };

  // Step 2 of push. The hint tail_block_ must never pass a block that a
  // producer still has to find: a producer that claimed an index in block B
  // looks for B only after its claim, starting from the hint, and the list is
  // only walked forward. The hint therefore leaves a block only when all of its
  // slots are written; B cannot be complete while its claimant has not written,
  // so the claimant always finds the hint at B or before it.
  block* find_block(std::size_t index) {
    // Seq_cst: see push and reclaim_blocks.
    block* b = tail_block_.load(std::memory_order_seq_cst);
    if (b == nullptr)
      b = install_first_block();
    bool moving_hint = true; // the hint can only move past a prefix of complete blocks
    while (index >= b->start + b->size) {
      // Acquire pairs with the CAS that linked the block: its constructor has
      // run.
      block* next = b->next.load(std::memory_order_acquire);
      if (next == nullptr)
        next = link_block_after(b);
      if (moving_hint) {
        moving_hint = is_fully_written(*b);
        if (moving_hint)
          try_move_hint(b, next);
      }
      b = next;
    }
    return b;
  }

  // The first push allocates the first block. first_block_ is where the
  // consumer finds it (the hint may already have moved past it); the hint is
  // then set from null to it. A producer that read a null hint walks from the
  // first block, as from an old hint: the reasoning of reclaim_blocks holds
  // because the null-to-first CAS is seq_cst and precedes every later move of
  // the hint.
  block* make_block(std::size_t first_index, std::size_t n) noexcept {
    allocated_slots_.fetch_add(n, std::memory_order_relaxed);
    return block::make(first_index, n);
  }

  void destroy_block(block* b) noexcept {
    allocated_slots_.fetch_sub(b->size, std::memory_order_relaxed);
    block::destroy(b);
  }

  block* install_first_block() {
    block* first = first_block_.load(std::memory_order_acquire);
    if (first == nullptr) {
      block* fresh = make_block(0, first_block_size);
      // Release publishes the block's construction; acquire on failure makes
      // the competing block visible.
      if (first_block_.compare_exchange_strong(first, fresh, std::memory_order_acq_rel,
                                               std::memory_order_acquire))
        first = fresh;
      else
        destroy_block(fresh); // never published
    }
    block* expected = nullptr;
    // Fails when another producer set the hint already (to the first block or
    // past it).
    tail_block_.compare_exchange_strong(expected, first, std::memory_order_seq_cst,
                                        std::memory_order_relaxed);
    return first;
  }

  block* link_block_after(block* b) {
    auto* fresh = make_block(b->start + b->size, std::min(b->size * 2, max_block_size));
    block* expected = nullptr;
    // Release publishes the new block's construction to whoever follows `next`;
    // acquire on failure makes the competing block, which we follow instead,
    // visible in the same way.
    if (b->next.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
      return fresh;
    destroy_block(fresh); // never published
    return expected;
  }

  // Links the block after `b` before anyone needs it (see link_ahead_offset). The caller
  // has claimed a slot of `b` and not written it, so `b` is not freed meanwhile.
  void link_next_ahead(block* b) {
    // Relaxed: a non-null `next` is not followed here; a null one is settled by the CAS.
    if (b->next.load(std::memory_order_relaxed) == nullptr)
      link_block_after(b);
  }

  static bool is_fully_written(block& b) noexcept {
    // Backwards, because the slots still being written are usually the last
    // ones. Acquire: the hint mover passes every writer's accesses to the block
    // on to the consumer (see try_move_hint), so it must synchronize with each
    // of them.
    for (std::size_t i = b.size; i-- > 0;)
      if (!b.ready(i).load(std::memory_order_acquire))
        return false;
    return true;
  }

  // Moves the hint from `b` (which must be fully written) to `next`, if it is
  // still at `b`.
  void try_move_hint(block* b, block* next) noexcept {
    block* expected = b;
    // Seq_cst on the CAS and on the tail_ load after it; see reclaim_blocks. A
    // failed CAS means someone else moved the hint and does the rest, hence
    // relaxed on failure.
    if (tail_block_.compare_exchange_strong(expected, next, std::memory_order_seq_cst,
                                            std::memory_order_relaxed)) {
      b->observed_tail = tail_.load(std::memory_order_seq_cst);
      // Release: the consumer reads observed_tail after seeing the flag, and
      // must also see every access to `b` that is_fully_written synchronized
      // with.
      b->released.store(true, std::memory_order_release);
    }
  }

  // Step 4 of try_pop: frees fully consumed blocks, oldest first, once no
  // producer can touch them.
  //
  // Besides the producers that wrote its slots (done: the consumer has read
  // every ready flag), a block B can be touched by producers walking through it
  // from an older hint. Such a producer claimed index i (fetch_add) and then
  // read the hint as B or an older block H. Every hint read, hint CAS and the
  // tail_ load after the CAS are seq_cst, so they form one total order. The
  // read returned H, so it comes before the CAS that moved the hint off H,
  // which comes before that mover's load of tail_; that load therefore sees the
  // claim of i: H->observed_tail > i. The producer finishes walking before it
  // writes slot i. So once the consumer has popped past observed_tail of B and
  // of every older block (they are freed in order), every producer that could
  // be walking through B has written its slot and left the list: B can be
  // deleted.
  void reclaim_blocks(std::size_t head) noexcept {
    while (oldest_block_ != head_block_) {
      block* b = oldest_block_;
      // Acquire pairs with the release in try_move_hint: observed_tail is
      // written.
      if (!b->released.load(std::memory_order_acquire)) {
        // Producers move the hint only while they walk, so after a burst it may
        // rest on a block the consumer has finished. A consumed block is fully
        // written, so the consumer may move the hint itself. `next` is linked:
        // head_block_ is past `b`.
        try_move_hint(b, b->next.load(std::memory_order_acquire));
        if (!b->released.load(std::memory_order_acquire))
          return; // another thread moved the hint and has not set the flag yet;
                  // retry later
      }
      if (head < b->observed_tail)
        return; // a producer may still be walking through `b`
      // Relaxed: this thread already read `next` with acquire when it stepped
      // past `b`.
      oldest_block_ = b->next.load(std::memory_order_relaxed);
      destroy_block(b);
    }
  }

  // Next index to claim; one fetch_add per push.
  alignas(cache_line_size) std::atomic<std::size_t> tail_{0};
  // Hint for producers: the block that holds tail_, or an earlier one. Read on
  // every push, written once per block, so kept apart from tail_.
  alignas(cache_line_size) std::atomic<block*> tail_block_{nullptr};
  // The first block, set once by the first push (see install_first_block).
  std::atomic<block*> first_block_{nullptr};
  std::atomic<std::size_t> allocated_slots_{0};
  // Next index to pop; written by the consumer only, read by size().
  alignas(cache_line_size) std::atomic<std::size_t> head_{0};
  // Consumer only: the block holding head_ (or the one before, when head_ is at
  // its end) and the oldest block not yet freed.
  block* head_block_ = nullptr;
  block* oldest_block_ = nullptr;
};

} // namespace troupe
