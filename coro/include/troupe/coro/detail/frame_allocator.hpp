#pragma once

#include <array>
#include <cstddef>
#include <new>

namespace troupe::detail {

/// Recycles coroutine frames: a request awaited in a loop allocates its frame once per worker
/// instead of once per call. Frames up to max_size bytes go to a per-thread free list of their
/// size class (64-byte steps); larger ones go to operator new. A frame freed on another worker
/// than it was allocated on joins that worker's list, which is capped, so memory stays bounded.
///
/// Thread safety: every function is thread-safe (the lists are thread-local).
class frame_allocator {
public:
  static constexpr std::size_t granule = 64;
  static constexpr std::size_t classes = 16; // up to 1 KiB
  static constexpr std::size_t max_size = granule * classes;
  static constexpr std::size_t max_cached = 256; // per class and thread

  static void* allocate(std::size_t size) {
    if (size > max_size || lists_gone)
      return ::operator new(size > max_size ? size : (class_of(size) + 1) * granule);
    auto& list = lists().entries[class_of(size)];
    if (list.head != nullptr) {
      auto* node = list.head;
      list.head = node->next;
      --list.count;
      return node;
    }
    return ::operator new((class_of(size) + 1) * granule);
  }

  static void deallocate(void* ptr, std::size_t size) noexcept {
    if (size > max_size) {
      ::operator delete(ptr, size);
      return;
    }
    if (lists_gone) {
      ::operator delete(ptr, (class_of(size) + 1) * granule);
      return;
    }
    auto& list = lists().entries[class_of(size)];
    if (list.count >= max_cached) {
      ::operator delete(ptr, (class_of(size) + 1) * granule);
      return;
    }
    auto* node = static_cast<free_node*>(ptr);
    node->next = list.head;
    list.head = node;
    ++list.count;
  }

private:
  struct free_node {
    free_node* next;
  };

  struct free_list {
    free_node* head = nullptr;
    std::size_t count = 0;
  };

  struct thread_lists {
    std::array<free_list, classes> entries{};
    thread_lists() = default;
    thread_lists(const thread_lists&) = delete;
    thread_lists& operator=(const thread_lists&) = delete;
    ~thread_lists() {
      lists_gone = true;
      for (std::size_t c = 0; c < classes; ++c)
        while (entries[c].head != nullptr) {
          auto* node = entries[c].head;
          entries[c].head = node->next;
          ::operator delete(node, (c + 1) * granule);
        }
    }
  };

  // Trivially destructible, so valid until the thread ends: frames freed by other thread_local
  // destructors after the lists went away bypass them.
  static inline thread_local bool lists_gone = false;

  static std::size_t class_of(std::size_t size) noexcept {
    return size == 0 ? 0 : (size - 1) / granule;
  }

  static thread_lists& lists() {
    thread_local thread_lists instance;
    return instance;
  }
};

} // namespace troupe::detail
