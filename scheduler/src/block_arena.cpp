#include "troupe/scheduler/block_arena.hpp"

#include "troupe/scheduler/spin_lock.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>

namespace troupe {

namespace {

// The bookkeeping at the start of every chunk. Blocks begin one cache line in, so a block of a
// class whose size is a multiple of 64 is 64-byte aligned.
constexpr std::size_t header_bytes = 64;

struct chunk {
  std::byte* fresh;         // the first block never handed out
  void* released = nullptr; // blocks handed back, linked through their first word
  std::size_t live = 0;     // blocks handed out and not handed back
  chunk* prev = nullptr;    // in its class's list of chunks with released blocks
  chunk* next = nullptr;
  bool listed = false; // whether it is in that list
  bool huge = false;   // advised to use huge pages

  std::byte* start() noexcept { return reinterpret_cast<std::byte*>(this) + header_bytes; }
  std::byte* end() noexcept {
    return reinterpret_cast<std::byte*>(this) + block_arena::chunk_bytes;
  }
};
static_assert(sizeof(chunk) <= header_bytes);

struct size_class {
  // A few pointer moves under it (a new chunk is mapped and first touched outside it): a spin
  // lock, as two workers ending actors release blocks of one class at the same moment and a
  // std::mutex would send the loser to sleep in the kernel.
  spin_lock mtx;
  chunk* carving = nullptr;       // where never-used blocks come from
  chunk* with_released = nullptr; // chunks with released blocks, most recent first
  chunk* spare = nullptr;         // one empty chunk kept against map and unmap in turns
  std::size_t chunks = 0;         // mapped, the spare included
  std::size_t huge_chunks = 0;
  std::size_t live = 0;
};

constexpr std::size_t class_count = block_arena::max_block / block_arena::granule;

std::size_t block_bytes(std::size_t size, std::size_t alignment) noexcept {
  const std::size_t step = std::max(block_arena::granule, alignment);
  return (std::max<std::size_t>(size, 1) + step - 1) / step * step;
}

std::array<size_class, class_count>& all_classes() {
  // Never destroyed: a block may be released during static destruction.
  static auto* classes = new std::array<size_class, class_count>();
  return *classes;
}

size_class& class_of(std::size_t bytes) {
  return all_classes()[bytes / block_arena::granule - 1];
}

chunk* chunk_of(void* block) noexcept {
  return reinterpret_cast<chunk*>(reinterpret_cast<std::uintptr_t>(block) &
                                  ~(block_arena::chunk_bytes - 1));
}

// Maps twice the chunk size and keeps the aligned chunk inside it: mmap aligns to pages only.
chunk* map_chunk(bool huge) {
  constexpr std::size_t span = 2 * block_arena::chunk_bytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    throw std::bad_alloc();
  const auto first = reinterpret_cast<std::uintptr_t>(raw);
  const auto aligned = (first + block_arena::chunk_bytes - 1) & ~(block_arena::chunk_bytes - 1);
  if (aligned > first)
    munmap(raw, aligned - first);
  const auto tail = aligned + block_arena::chunk_bytes;
  if (first + span > tail)
    munmap(reinterpret_cast<void*>(tail), first + span - tail);
  // Advice only: without transparent huge pages (or with them disabled) the kernel ignores it.
  madvise(reinterpret_cast<void*>(aligned), block_arena::chunk_bytes,
          huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  auto* c = new (reinterpret_cast<void*>(aligned)) chunk{};
  c->fresh = c->start();
  c->huge = huge;
  return c;
}

void list(size_class& cls, chunk* c) noexcept {
  c->prev = nullptr;
  c->next = cls.with_released;
  if (cls.with_released != nullptr)
    cls.with_released->prev = c;
  cls.with_released = c;
  c->listed = true;
}

void unlist(size_class& cls, chunk* c) noexcept {
  if (c->prev != nullptr)
    c->prev->next = c->next;
  else
    cls.with_released = c->next;
  if (c->next != nullptr)
    c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  c->listed = false;
}

} // namespace

void* block_arena::allocate(std::size_t size, std::size_t alignment) {
  const std::size_t bytes = block_bytes(size, alignment);
  auto& cls = class_of(bytes);
  // A chunk this call mapped with the lock released: its first touch (the header) takes the
  // page fault that zeroes it, 2 MiB for a huge page. Under the lock, every other thread that
  // needed a block of the class waited for it (two producers filling one queue spent a fifth of
  // their time in that wait).
  chunk* mapped = nullptr;
  std::unique_lock guard{cls.mtx};
  // Released blocks first: they are in memory already.
  if (chunk* c = cls.with_released) {
    void* block = c->released;
    c->released = *static_cast<void**>(block);
    if (c->released == nullptr)
      unlist(cls, c);
    ++c->live;
    ++cls.live;
    return block;
  }
  while (cls.carving == nullptr ||
         static_cast<std::size_t>(cls.carving->end() - cls.carving->fresh) < bytes) {
    // The chunk carved so far has handed out every block: a released one would have been
    // taken above. It stays mapped for its live blocks.
    if (cls.spare != nullptr) {
      cls.carving = std::exchange(cls.spare, nullptr);
    } else if (mapped != nullptr) {
      cls.carving = std::exchange(mapped, nullptr);
      ++cls.chunks;
      cls.huge_chunks += cls.carving->huge ? 1 : 0;
    } else {
      // Only the first chunk of a class keeps small pages. Another thread may map one at the
      // same time: the loser's chunk becomes the spare (below), or goes back.
      const bool huge = cls.chunks > 0;
      guard.unlock();
      mapped = map_chunk(huge); // throws std::bad_alloc, the class untouched
      guard.lock();
    }
  }
  void* block = cls.carving->fresh;
  cls.carving->fresh += bytes;
  ++cls.carving->live;
  ++cls.live;
  if (mapped != nullptr) {
    // Another thread's chunk or the spare served first.
    if (cls.spare == nullptr) {
      cls.spare = std::exchange(mapped, nullptr);
      ++cls.chunks;
      cls.huge_chunks += cls.spare->huge ? 1 : 0;
    } else {
      guard.unlock();
      munmap(mapped, chunk_bytes); // outside the lock: a system call
    }
  }
  return block;
}

void block_arena::release(void* block, std::size_t size, std::size_t alignment) noexcept {
  const std::size_t bytes = block_bytes(size, alignment);
  auto& cls = class_of(bytes);
  chunk* c = chunk_of(block);
  chunk* unmap = nullptr;
  {
    std::lock_guard guard{cls.mtx};
    --cls.live;
    if (--c->live == 0 && c != cls.carving) {
      // Every block of this chunk is back: keep it as the spare, or give it back.
      if (c->listed)
        unlist(cls, c);
      c->released = nullptr;
      c->fresh = c->start();
      if (cls.spare == nullptr) {
        cls.spare = c;
      } else {
        unmap = c;
        --cls.chunks;
        cls.huge_chunks -= c->huge ? 1 : 0;
      }
    } else {
      *static_cast<void**>(block) = c->released;
      c->released = block;
      if (!c->listed)
        list(cls, c);
    }
  }
  if (unmap != nullptr)
    munmap(unmap, chunk_bytes); // outside the lock: a system call
}

block_arena::usage block_arena::usage_of(std::size_t size, std::size_t alignment) noexcept {
  auto& cls = class_of(block_bytes(size, alignment));
  std::lock_guard guard{cls.mtx};
  return {cls.chunks, cls.huge_chunks, cls.live};
}

std::size_t block_arena::bytes_in_use() noexcept {
  std::size_t total = 0;
  std::size_t bytes = granule;
  for (auto& cls : all_classes()) {
    std::lock_guard guard{cls.mtx};
    total += cls.live * bytes;
    bytes += granule;
  }
  return total;
}

} // namespace troupe
