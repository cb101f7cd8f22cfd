// A typed mailbox's per-actor blocks (CAF's actor storage and the mailbox core) are recycled:
// the end of one actor leaves them for the next spawn of its type, which starts fresh.

#include <chrono>
#include <cstddef>
#include <memory>
#include <type_traits>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct remember {
  int value = 0;
};

struct recall {
  using reply_type = int;
};

// Each actor remembers the last value it was sent (0 until then).
constexpr auto make_remembering = [](auto*) {
  auto last = std::make_shared<int>(0);
  return handlers{
      [last](remember& r) { *last = r.value; },
      [last](recall&) { return *last; },
  };
};

using memory_factory = std::decay_t<decltype(make_remembering)>;
using memory_storage = caf::actor_storage<detail::mailbox_actor<memory_factory, remember, recall>>;
using memory_core = detail::mailbox_core_allocator<remember, recall>;

static_assert(
    std::is_base_of_v<recycled_actor_storage<
                          detail::mailbox_actor<memory_factory, remember, recall>, memory_storage>,
                      memory_storage>);

} // namespace

using RecycledStorage = troupe::test::runtime_fixture;

TEST_F(RecycledStorage, AnEndedMailboxLeavesItsBlocksToTheNextSpawnOfItsType) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer builds allocate from malloc every time";
#else
  std::size_t storage_before = 0;
  std::size_t core_before = 0;
  {
    auto first = spawn_mailbox<remember, recall>(*rt, {}, make_remembering).value();
    // Counted after this spawn, which may have taken a block an earlier run left (a repeat).
    storage_before = memory_storage::kept_now();
    core_before = memory_core::kept_now();
    ASSERT_TRUE(first.send(remember{7}));
    auto seen = ask(first, recall{}, 5s);
    ASSERT_TRUE(seen) << render(seen.error());
    EXPECT_EQ(*seen, 7);
    caf::anon_send_exit(first.actor(), caf::exit_reason::user_shutdown);
    EXPECT_EQ(wait_for_exit(first.actor()), caf::exit_reason::user_shutdown);
  }
  // The blocks go back when the last reference to each goes, on whichever thread that is: a
  // worker keeps them in its own list until its end hands them over (block_recycler.hpp). So
  // the runtime stops here, its workers end, and a new one spawns the next actor.
  rt.reset();
  EXPECT_EQ(memory_storage::kept_now(), storage_before + 1);
  EXPECT_EQ(memory_core::kept_now(), core_before + 1);
  rt = std::make_unique<runtime>(default_config());

  auto second = spawn_mailbox<remember, recall>(*rt, {}, make_remembering).value();
  EXPECT_EQ(memory_storage::kept_now(), storage_before) << "the spawn took the kept actor block";
  EXPECT_EQ(memory_core::kept_now(), core_before) << "the spawn took the kept core block";
  auto fresh = ask(second, recall{}, 5s);
  ASSERT_TRUE(fresh) << render(fresh.error());
  EXPECT_EQ(*fresh, 0) << "nothing of the ended actor carries over";
  ASSERT_TRUE(second.send(remember{9}));
  auto seen = ask(second, recall{}, 5s);
  ASSERT_TRUE(seen) << render(seen.error());
  EXPECT_EQ(*seen, 9);
  caf::anon_send_exit(second.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(second.actor()), caf::exit_reason::user_shutdown);
#endif
}
