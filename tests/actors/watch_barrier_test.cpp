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
  std::vector<caf::error> ends; // every end notice, in order
  std::size_t values_at_end = 0;
  // has_changed as the reader saw it in its `hold` and `check` handlers: 1 true, 0 false,
  // or the error.
  std::vector<caf::expected<bool>> checks;
  std::vector<caf::error> subscribe_results;
};

struct leave {};
struct check {};

// A reader of `w` recording into `rec`: `start` subscribes, `hold` blocks until released and
// then asks has_changed, `check` asks has_changed, `leave` unsubscribes.
mailbox<start, hold, check, leave, seen_values>
spawn_reader(runtime& rt, watched<int> w, std::shared_ptr<watch_record> rec,
             std::shared_ptr<std::latch> entered = nullptr,
             std::shared_ptr<std::latch> release = nullptr) {
  return spawn_mailbox<start, hold, check, leave, seen_values>(
             rt, {},
             [=](auto* self) {
               auto record_check = [self, w, rec] {
                 auto r = w.has_changed(self);
                 std::lock_guard guard{rec->mtx};
                 rec->checks.push_back(r ? caf::expected<bool>{*r}
                                         : caf::expected<bool>{r.error()});
               };
               return handlers{
                   [self, w, rec](start&) {
                     auto err = w.subscribe(
                         self,
                         [rec](const int& v) {
                           std::lock_guard guard{rec->mtx};
                           rec->values.push_back(v);
                         },
                         [rec](caf::error e) {
                           std::lock_guard guard{rec->mtx};
                           rec->ends.push_back(std::move(e));
                           rec->values_at_end = rec->values.size();
                         });
                     std::lock_guard guard{rec->mtx};
                     rec->subscribe_results.push_back(std::move(err));
                   },
                   [entered, release, record_check](hold&) {
                     if (entered)
                       entered->count_down();
                     if (release)
                       release->wait();
                     record_check();
                   },
                   [record_check](check&) { record_check(); },
                   [self, w](leave&) { w.unsubscribe(self); },
                   [rec](seen_values&) {
                     std::lock_guard guard{rec->mtx};
                     return rec->values;
                   },
               };
             })
      .value();
}

bool reader_ended(const std::shared_ptr<watch_record>& rec) {
  return troupe::test::eventually([&] {
    std::lock_guard guard{rec->mtx};
    return !rec->ends.empty();
  });
}

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
                            [rec](caf::error e) {
                              std::lock_guard guard{rec->mtx};
                              rec->closed = true;
                              rec->ends.push_back(std::move(e));
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
  {
    std::lock_guard guard{rec->mtx};
    ASSERT_EQ(rec->ends.size(), 1u);
    EXPECT_EQ(rec->ends[0], watched_errc::closed);
  }
  // After close: the writer's calls are refused with a typed error, the value stays readable.
  EXPECT_EQ(w.set(9), watched_errc::closed);
  bool ran = false;
  auto modified = w.modify([&ran](int& v) {
    ran = true;
    ++v;
  });
  ASSERT_FALSE(modified);
  EXPECT_EQ(modified.error(), watched_errc::closed);
  EXPECT_FALSE(ran);
  EXPECT_EQ(w.close(), watched_errc::closed);
  EXPECT_TRUE(w.is_closed());
  EXPECT_EQ(*w.get(), 8);
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

TEST_F(Watched, ModifyEditsTheValueAndTellsReadersOnce) {
  auto w = make_watched<int>(7);
  auto rec = std::make_shared<watch_record>();
  auto reader = spawn_reader(*rt, w, rec);
  ASSERT_TRUE(reader.send(start{}));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 1; }));
  auto told = w.modify([](int& v) { v += 5; });
  ASSERT_TRUE(told);
  EXPECT_TRUE(*told);
  EXPECT_EQ(w.version(), 2u); // one change, one notification
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 2; }));
  // A modification that reports "unchanged" tells nobody (Tokio's send_if_modified).
  auto untold = w.modify([](int& v) { return v > 100; });
  ASSERT_TRUE(untold);
  EXPECT_FALSE(*untold);
  EXPECT_EQ(w.version(), 2u);
  ASSERT_TRUE(reader.send(check{}));
  ASSERT_TRUE(troupe::test::eventually([&] {
    std::lock_guard guard{rec->mtx};
    return rec->checks.size() == 1;
  }));
  EXPECT_EQ(w.set(20), caf::none);
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 3; }));
  EXPECT_EQ(ask(reader, seen_values{}, 5s).value(), (std::vector<int>{7, 12, 20}));
  {
    std::lock_guard guard{rec->mtx};
    ASSERT_EQ(rec->checks.size(), 1u);
    ASSERT_TRUE(rec->checks[0]);
    EXPECT_FALSE(*rec->checks[0]);
  }
  caf::anon_send_exit(reader.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Watched, ModifyEditsInPlaceUnlessASnapshotIsHeld) {
  auto w = make_watched<std::vector<int>>({1, 2});
  const auto* before = w.get().get(); // the snapshot is released at once
  ASSERT_TRUE(w.modify([](std::vector<int>& v) { v.push_back(3); }));
  EXPECT_EQ(w.get().get(), before); // edited in place, no copy
  auto snapshot = w.get();
  ASSERT_TRUE(w.modify([](std::vector<int>& v) { v.push_back(4); }));
  EXPECT_EQ(*snapshot, (std::vector<int>{1, 2, 3})); // a held snapshot never changes
  EXPECT_EQ(*w.get(), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(w.version(), 3u);
}

TEST_F(Watched, HasChangedTellsAReaderThatANewerValueWaits) {
  auto w = make_watched<int>(1);
  auto rec = std::make_shared<watch_record>();
  auto entered = std::make_shared<std::latch>(1);
  auto release = std::make_shared<std::latch>(1);
  auto reader = spawn_reader(*rt, w, rec, entered, release);
  ASSERT_TRUE(reader.send(start{}));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 1; }));
  ASSERT_TRUE(reader.send(check{})); // 1 was delivered: nothing waits
  ASSERT_TRUE(reader.send(hold{}));  // busy; then asks again
  entered->wait();
  w.set(2); // arrives while the reader is busy
  release->count_down();
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 2; }));
  ASSERT_TRUE(reader.send(check{})); // 2 was delivered
  ASSERT_TRUE(reader.send(leave{}));
  ASSERT_TRUE(reader.send(check{})); // no longer a reader
  ASSERT_TRUE(reader_ended(rec));
  ASSERT_TRUE(ask(reader, seen_values{}, 5s));
  EXPECT_EQ(w.close(), caf::none);
  ASSERT_TRUE(reader.send(check{})); // closed answers first, as Tokio's has_changed
  ASSERT_TRUE(troupe::test::eventually([&] {
    std::lock_guard guard{rec->mtx};
    return rec->checks.size() == 5;
  }));
  std::lock_guard guard{rec->mtx};
  EXPECT_FALSE(*rec->checks[0]);
  EXPECT_TRUE(*rec->checks[1]);
  EXPECT_FALSE(*rec->checks[2]);
  ASSERT_FALSE(rec->checks[3]);
  EXPECT_EQ(rec->checks[3].error(), watched_errc::not_subscribed);
  ASSERT_FALSE(rec->checks[4]);
  EXPECT_EQ(rec->checks[4].error(), watched_errc::closed);
  caf::anon_send_exit(reader.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Watched, UnsubscribeEndsWithItsOwnNoticeAndNoLaterValue) {
  auto w = make_watched<int>(1);
  auto rec = std::make_shared<watch_record>();
  auto reader = spawn_reader(*rt, w, rec);
  ASSERT_TRUE(reader.send(start{}));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(reader, seen_values{}, 5s).value().size() == 1; }));
  EXPECT_EQ(w.readers(), 1u);
  ASSERT_TRUE(reader.send(start{})); // a second subscribe is refused
  ASSERT_TRUE(reader.send(leave{}));
  ASSERT_TRUE(reader_ended(rec));
  EXPECT_EQ(w.readers(), 0u);
  EXPECT_EQ(w.set(2), caf::none); // no readers: still fine
  ASSERT_TRUE(ask(reader, seen_values{}, 5s));
  EXPECT_EQ(ask(reader, seen_values{}, 5s).value(), (std::vector<int>{1}));
  EXPECT_EQ(w.close(), caf::none);
  ASSERT_TRUE(ask(reader, seen_values{}, 5s)); // a closed value tells a former reader nothing
  std::lock_guard guard{rec->mtx};
  ASSERT_EQ(rec->ends.size(), 1u);
  EXPECT_EQ(rec->ends[0], watched_errc::unsubscribed);
  EXPECT_EQ(rec->values_at_end, 1u);
  ASSERT_EQ(rec->subscribe_results.size(), 2u);
  EXPECT_FALSE(rec->subscribe_results[0]);
  EXPECT_EQ(rec->subscribe_results[1], watched_errc::already_subscribed);
  caf::anon_send_exit(reader.actor(), caf::exit_reason::user_shutdown);
}

TEST_F(Watched, WriterHearsOnceWhenTheLastReaderIsGone) {
  auto w = make_watched<int>(0);
  auto r1 = std::make_shared<watch_record>();
  auto r2 = std::make_shared<watch_record>();
  auto reader1 = spawn_reader(*rt, w, r1);
  auto reader2 = spawn_reader(*rt, w, r2);
  ASSERT_TRUE(reader1.send(start{}));
  ASSERT_TRUE(reader2.send(start{}));
  ASSERT_TRUE(troupe::test::eventually([&] { return w.readers() == 2; }));
  struct watch_readers {};
  struct fired {
    using reply_type = std::vector<std::size_t>;
  };
  // The writer records the reader count each time its callback runs.
  auto writer = spawn_mailbox<watch_readers, fired>(*rt, {}, [w](auto* self) {
                  auto runs = std::make_shared<std::vector<std::size_t>>();
                  return handlers{
                      [self, w, runs](watch_readers&) {
                        w.on_no_readers(self, [w, runs] { runs->push_back(w.readers()); });
                      },
                      [runs](fired&) { return *runs; },
                  };
                }).value();
  ASSERT_TRUE(writer.send(watch_readers{}));
  EXPECT_FALSE(w.wait_no_readers(0ms));
  ASSERT_TRUE(reader1.send(leave{}));
  ASSERT_TRUE(reader_ended(r1));
  EXPECT_TRUE(ask(writer, fired{}, 5s).value().empty()); // one reader is left
  caf::scoped_actor self{sys()};
  self->monitor(reader2.actor());
  caf::anon_send_exit(reader2.actor(), caf::exit_reason::kill); // dies: gone without a notice
  self->receive([](caf::down_msg&) {});
  EXPECT_TRUE(w.wait_no_readers(5s));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(writer, fired{}, 5s).value().size() == 1; }));
  EXPECT_EQ(ask(writer, fired{}, 5s).value(), (std::vector<std::size_t>{0}));
  {
    std::lock_guard guard{r2->mtx};
    EXPECT_TRUE(r2->ends.empty());
  }
  // Registered while nobody reads: runs at once, and once.
  ASSERT_TRUE(writer.send(watch_readers{}));
  ASSERT_TRUE(
      troupe::test::eventually([&] { return ask(writer, fired{}, 5s).value().size() == 2; }));
  ASSERT_TRUE(reader1.send(start{})); // a reader again, then gone again: nothing more fires
  ASSERT_TRUE(troupe::test::eventually([&] { return w.readers() == 1; }));
  EXPECT_EQ(ask(writer, fired{}, 5s).value().size(), 2u);
  caf::anon_send_exit(reader1.actor(), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(writer.actor(), caf::exit_reason::user_shutdown);
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
