#include <future>
#include <latch>
#include <mutex>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct start {};
struct hold {};
struct seen_values {
  using reply_type = std::vector<int>;
};

struct watch_record {
  std::mutex mtx;
  std::vector<int> values;
  bool closed = false;
};

} // namespace

using Watched = troupe::test::runtime_fixture;

TEST_F(Watched, ReaderGetsCurrentValueThenChangesAndCloseNotice) {
  auto w = make_watched<int>(7);
  EXPECT_EQ(*w.get(), 7);
  auto rec = std::make_shared<watch_record>();
  auto reader = spawn_mailbox<start, seen_values>(*rt, {}, [w, rec](auto* self) {
                  return handlers{
                      [self, w, rec](start&) {
                        w.subscribe(
                            self,
                            [rec](const int& v) {
                              std::lock_guard guard{rec->mtx};
                              rec->values.push_back(v);
                            },
                            [rec](caf::error) {
                              std::lock_guard guard{rec->mtx};
                              rec->closed = true;
                            });
                      },
                      [rec](seen_values&) {
                        std::lock_guard guard{rec->mtx};
                        return rec->values;
                      },
                  };
                }).value();
  ASSERT_TRUE(reader.send(start{}));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 1; }));
  w.set(8);
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 2; }));
  w.close();
  ASSERT_TRUE(troupe::test::eventually([&] {
    std::lock_guard guard{rec->mtx};
    return rec->closed;
  }));
  EXPECT_EQ(ask(reader, seen_values{}, 5s).value(), (std::vector<int>{7, 8}));
  EXPECT_EQ(w.readers(), 0u);
  caf::anon_send_exit(reader.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Watched, BusyReaderSeesOnlyTheNewestOfAHundredUpdates) {
  auto w = make_watched<int>(0);
  auto rec = std::make_shared<watch_record>();
  auto entered = std::make_shared<std::latch>(1);
  auto release = std::make_shared<std::latch>(1);
  auto reader = spawn_mailbox<start, hold, seen_values>(*rt, {}, [=](auto* self) {
                  return handlers{
                      [self, w, rec](start&) {
                        w.subscribe(self, [rec](const int& v) {
                          std::lock_guard guard{rec->mtx};
                          rec->values.push_back(v);
                        });
                      },
                      [entered, release](hold&) {
                        entered->count_down();
                        release->wait();
                      },
                      [rec](seen_values&) {
                        std::lock_guard guard{rec->mtx};
                        return rec->values;
                      },
                  };
                }).value();
  ASSERT_TRUE(reader.send(start{}));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 1; }));
  ASSERT_TRUE(reader.send(hold{}));
  entered->wait();
  for (int i = 1; i <= 100; ++i)
    w.set(i);
  release->count_down();
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 2; }));
  EXPECT_EQ(ask(reader, seen_values{}, 5s).value(), (std::vector<int>{0, 100}));
  EXPECT_EQ(w.version(), 101u);
  caf::anon_send_exit(reader.actor(), caf::exit_reason::user_shutdown);
}

using Barriers = troupe::test::runtime_fixture;

TEST_F(Barriers, ThreePartiesMeetOverSeveralGenerationsWithOneLeaderEach) {
  barrier b{3};
  struct log {
    std::mutex mtx;
    std::vector<std::pair<int, int>> passes; // (generation, party)
    int leaders[5] = {};
  };
  auto lg = std::make_shared<log>();
  constexpr int generations = 5;
  auto all_done = std::make_shared<std::latch>(3);
  std::vector<mailbox<start>> parties;
  for (int p = 0; p < 3; ++p)
    parties.push_back(spawn_mailbox<start>(*rt, {}, [=](auto* self) {
                        // Each party arrives, and arrives again from its continuation.
                        // The handlers own `step`; it refers to itself weakly.
                        auto step = std::make_shared<std::function<void(int)>>();
                        std::weak_ptr<std::function<void(int)>> weak_step = step;
                        *step = [=](int gen) {
                          if (gen == generations) {
                            all_done->count_down();
                            return;
                          }
                          b.arrive(self, [=](bool leader) {
                            {
                              std::lock_guard guard{lg->mtx};
                              lg->passes.emplace_back(gen, p);
                              if (leader)
                                ++lg->leaders[gen];
                            }
                            if (auto again = weak_step.lock())
                              (*again)(gen + 1);
                          });
                        };
                        return handlers{[step](start&) { (*step)(0); }};
                      }).value());
  for (auto& party : parties)
    ASSERT_TRUE(party.send(start{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return all_done->try_wait(); }));
  EXPECT_EQ(b.generation(), static_cast<uint64_t>(generations));
  std::lock_guard guard{lg->mtx};
  ASSERT_EQ(lg->passes.size(), 3u * generations);
  for (int g = 0; g < generations; ++g)
    EXPECT_EQ(lg->leaders[g], 1) << "generation " << g;
  // Nobody passes generation g+1 before all three passed generation g.
  int count[generations] = {};
  for (auto& [g, p] : lg->passes) {
    if (g > 0) {
      EXPECT_EQ(count[g - 1], 3) << "party " << p << " ran ahead into generation " << g;
    }
    ++count[g];
  }
  for (auto& party : parties)
    caf::anon_send_exit(party.actor(), caf::exit_reason::user_shutdown);
}
