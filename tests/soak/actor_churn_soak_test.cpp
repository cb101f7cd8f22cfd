// A million short-lived typed mailbox actors, as actor_churn in bench/ makes them: each one is
// spawned, answers one request and ends. Every reply must come back, and once the actors are
// gone nothing of them may stay behind: not in CAF's registry, the runtime's shutdown tracker or
// the topology, not as a dead letter, and not as heap. The heap is compared between two quiet
// points (after a first tenth of the churn and at its end), so memory that is freed only at
// shutdown counts as growth; under AddressSanitizer, LeakSanitizer also checks the exit.
//
// TROUPE_CHURN_ACTORS sets the count (default 1,000,000; 200,000 under ThreadSanitizer, which
// is several times slower and finds races in the first thousands).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <memory>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/heap_in_use.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace troupe;

struct churn_index {
  std::uint64_t i;
  using reply_type = std::uint64_t;
};

struct churn_batch {
  std::uint64_t count;
};

/// What a batch answered: how many replies, and their sum.
struct batch_result {
  std::uint64_t replies = 0;
  std::uint64_t sum = 0;
  std::uint64_t failures = 0;
};

/// Actors alive at once, as bench/'s actor_churn_window.
constexpr std::uint64_t kWindow = 1000;

/// Heap the churn may leave between the two quiet points: recycled blocks wait in bounded rings
/// and the allocator keeps some slack. A leak of 16 bytes per actor (the smallest allocation)
/// over the 900,000 measured actors is 14 MB.
constexpr std::int64_t kMaxHeapGrowth = 4L << 20;

std::uint64_t churn_actors() {
  if (const char* s = std::getenv("TROUPE_CHURN_ACTORS"))
    return std::max<std::uint64_t>(10, std::strtoull(s, nullptr, 10));
#if defined(__SANITIZE_THREAD__)
  return 200'000;
#else
  return 1'000'000;
#endif
}

/// Runs batches of churn on one creator; a batch's result comes back through its promise.
class churner {
public:
  explicit churner(runtime& rt) : rt_(rt) {
    creator_ = spawn_mailbox<churn_batch>(rt, {}, [this](auto* self) {
                 return handlers{[this, self](churn_batch& b) { start(self, b.count); }};
               }).value();
  }

  /// Creates `count` actors, at most kWindow alive at once, and waits for every reply.
  batch_result run(std::uint64_t count) {
    done_ = std::promise<batch_result>{};
    auto result = done_.get_future();
    EXPECT_TRUE(static_cast<bool>(creator_.send(churn_batch{count})));
    return result.get();
  }

  /// Ends the creator; the test's fixture checks that it is gone.
  void stop() { caf::anon_send_exit(creator_.actor(), caf::exit_reason::user_shutdown); }

private:
  template <class Self>
  void start(Self* self, std::uint64_t count) {
    next_ = 0;
    count_ = count;
    answered_ = 0;
    result_ = {};
    while (next_ < std::min(count_, kWindow))
      spawn_next(self);
  }

  template <class Self>
  void spawn_next(Self* self) {
    auto i = next_++;
    auto child = spawn_mailbox<churn_index>(rt_, {}, [](auto* me) {
                   return handlers{[me](churn_index& m) {
                     me->quit();
                     return m.i;
                   }};
                 }).value();
    request(self, child, churn_index{i}, caf::infinite)
        .then([this, self](std::uint64_t r) { answered(self, r, false); },
              [this, self](caf::error) { answered(self, 0, true); });
  }

  template <class Self>
  void answered(Self* self, std::uint64_t r, bool failed) {
    result_.sum += r;
    ++(failed ? result_.failures : result_.replies);
    if (++answered_ == count_)
      done_.set_value(result_);
    else if (next_ < count_)
      spawn_next(self);
  }

  runtime& rt_;
  mailbox<churn_batch> creator_;
  // Touched only by the creator, and by the test thread while no batch runs.
  std::promise<batch_result> done_;
  std::uint64_t next_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t answered_ = 0;
  batch_result result_;
};

class actor_churn_soak : public test::runtime_fixture {
protected:
  /// Waits until only the creator is left of what the test spawned.
  void expect_quiet(std::size_t tracked_before, std::size_t nodes_before) {
    EXPECT_TRUE(test::eventually([&] { return rt->metrics().spawned_actors == tracked_before + 1; },
                                 std::chrono::seconds{60}))
        << "actors still tracked: " << rt->metrics().spawned_actors
        << " (before: " << tracked_before << ", plus the creator)";
    EXPECT_TRUE(test::eventually([&] { return rt->registry().size() == nodes_before + 1; },
                                 std::chrono::seconds{60}))
        << "topology nodes left: " << rt->registry().size() << " (before: " << nodes_before
        << ", plus the creator)";
    EXPECT_TRUE(
        test::eventually([&] { return sys().registry().running() == baseline_live_actors + 1; },
                         std::chrono::seconds{60}))
        << "CAF counts " << sys().registry().running() << " running actors";
  }
};

TEST_F(actor_churn_soak, AMillionShortLivedActorsAllAnswerAndLeaveNothingBehind) {
  const std::uint64_t total = churn_actors();
  const std::uint64_t warmup = total / 10;
  const std::size_t tracked_before = rt->metrics().spawned_actors;
  const std::size_t nodes_before = rt->registry().size();
  churner c{*rt};

  auto first = c.run(warmup);
  EXPECT_EQ(first.replies, warmup);
  EXPECT_EQ(first.failures, 0u);
  EXPECT_EQ(first.sum, warmup * (warmup - 1) / 2);
  expect_quiet(tracked_before, nodes_before);
  const std::int64_t heap_after_warmup = test::heap_in_use();

  const std::uint64_t rest = total - warmup;
  auto second = c.run(rest);
  EXPECT_EQ(second.replies, rest);
  EXPECT_EQ(second.failures, 0u);
  EXPECT_EQ(second.sum, rest * (rest - 1) / 2);
  expect_quiet(tracked_before, nodes_before);
  const std::int64_t growth = test::heap_in_use() - heap_after_warmup;
  EXPECT_LT(growth, kMaxHeapGrowth)
      << "heap grew by " << growth << " bytes over " << rest << " actors";

  EXPECT_EQ(rt->metrics().dead_letters, 0u);
  c.stop();
}

} // namespace
