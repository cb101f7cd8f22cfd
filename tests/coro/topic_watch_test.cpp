// Awaiting topics, watched values and barriers: coro::subscribe (topic_reader::recv),
// coro::watch (watch_reader::changed) and coro::arrive. Order, exact lag counts and their
// position, the typed ends, cancellation inside first_of, lifetime when the actor stops, and
// resumption in the owning actor's turn.

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

// -- the actor under test -------------------------------------------------------------------

// A plain handler: the flood of the affinity test.
struct ping {};
// Holds the actor's worker until released: lets a topic overtake a subscriber on purpose.
struct hold {
  std::shared_ptr<std::promise<void>> entered;
  std::shared_future<void> release;
};
// Asks the body, on the actor, what its reader holds (see reader_view).
struct peek {
  using reply_type = uint64_t;
};

// run_body (coro_support.hpp) runs the test's body as a coroutine handler.
using reader_box = mailbox<run_body, ping, hold, peek>;

// What a body lets the test see of its reader, read on the actor by `peek`. The body sets it
// while its reader lives and clears it before the reader goes.
struct reader_view {
  std::function<uint64_t()> count;
};

// A one-shot signal from a body to the test thread.
class signal {
public:
  void fire() { done_.set_value(); }
  [[nodiscard]] bool wait() const { return ready_.wait_for(10s) == std::future_status::ready; }

private:
  std::promise<void> done_;
  std::shared_future<void> ready_ = done_.get_future().share();
};

template <class Body>
reader_box spawn_reader(runtime& rt, Body body, std::shared_ptr<reader_view> view = {},
                        std::shared_ptr<affinity_probe> pr = {}) {
  return spawn_mailbox<run_body, ping, hold, peek>(
             rt, {},
             [body, view, pr](auto* self) {
               return handlers{
                   [self, body](run_body) -> task<std::string> { co_return co_await body(self); },
                   [pr](ping) {
                     if (pr) {
                       pr->enter(false);
                       pr->leave();
                     }
                   },
                   [](hold& h) {
                     h.entered->set_value();
                     (void)h.release.wait_for(10s);
                   },
                   [view](peek) -> uint64_t { return view && view->count ? view->count() : 0; },
               };
             })
      .value();
}

// An unregistered topic of `capacity`.
topic_options options_of(std::size_t capacity, lag_policy on_lag = lag_policy::notify_lag) {
  topic_options opts;
  opts.capacity = capacity;
  opts.on_lag = on_lag;
  return opts;
}

// The name of an end notice, or its rendering when it is none of ours.
std::string end_name(const caf::error& err) {
  if (err == topic_errc::closed)
    return "closed";
  if (err == topic_errc::unsubscribed)
    return "unsubscribed";
  if (err == topic_errc::subscriber_lagged)
    return "subscriber_lagged";
  if (err == topic_errc::already_subscribed)
    return "already_subscribed";
  if (err == watched_errc::closed)
    return "watch_closed";
  if (err == watched_errc::already_subscribed)
    return "watch_already_subscribed";
  return to_string(err);
}

std::string show(const caf::expected<coro::topic_event<int>>& ev) {
  if (!ev)
    return end_name(ev.error());
  if (auto* l = std::get_if<lagged>(&*ev))
    return "lagged" + std::to_string(l->missed);
  return std::to_string(std::get<int>(*ev));
}

std::string show(const caf::expected<int>& v) {
  return v ? std::to_string(*v) : end_name(v.error());
}

class coro_readers : public test::coro_fixture {
public:
  explicit coro_readers(runtime_config cfg = default_config()) : coro_fixture(std::move(cfg)) {}

protected:
  // Starts the body without waiting for it.
  static std::future<caf::expected<std::string>> start(const reader_box& box) {
    return test::future_of(ask_async(box, run_body{}));
  }

  static std::string result_of(std::future<caf::expected<std::string>>& f) {
    if (f.wait_for(10s) != std::future_status::ready)
      return "no reply";
    auto r = f.get();
    return r ? *r : "error: " + to_string(r.error());
  }

  // Blocks the actor's worker inside a handler until the returned function is called.
  static std::function<void()> hold_actor(const reader_box& box) {
    auto entered = std::make_shared<std::promise<void>>();
    auto release = std::make_shared<std::promise<void>>();
    auto in = entered->get_future();
    EXPECT_TRUE(box.send(hold{entered, release->get_future().share()}));
    EXPECT_EQ(in.wait_for(10s), std::future_status::ready);
    return [release] { release->set_value(); };
  }

  // Whether the topic's only subscriber has taken every message published (its callbacks ran:
  // they run in the drain that took them, before anything else on the actor).
  template <class T>
  static bool caught_up(const topic<T>& t, uint64_t published) {
    auto m = t.metrics();
    return m.published == published && m.per_subscriber.size() == 1 &&
           m.per_subscriber[0].behind == 0;
  }
};

// "1,2,closed": what the reader yields until its end notice, that included.
task<std::string> read_to_end(coro::topic_reader<int>& reader) {
  std::string out;
  for (;;) {
    auto ev = co_await reader.recv();
    out += show(ev);
    if (!ev)
      break;
    out += ",";
  }
  co_return out;
}

// -- topics ---------------------------------------------------------------------------------

TEST_F(coro_readers, RecvYieldsMessagesInPublishOrderThenTheCloseAgainAndAgain) {
  auto t = make_topic<int>(*rt, options_of(8)).value();
  auto subscribed = std::make_shared<signal>();
  auto box = keep(spawn_reader(*rt, [t, subscribed](auto* self) -> task<std::string> {
    auto made = coro::subscribe(self, t);
    if (!made)
      co_return "subscribe: " + end_name(made.error());
    auto reader = std::move(*made); // a moved reader keeps the subscription
    subscribed->fire();
    auto out = co_await read_to_end(reader);
    auto again = co_await reader.recv();
    co_return out + "," + show(again);
  }));
  auto done = start(box);
  ASSERT_TRUE(subscribed->wait());
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(t.publish(i).subscribers(), 1u);
  t.close();
  EXPECT_EQ(result_of(done), "1,2,3,closed,closed");
}

TEST_F(coro_readers, MessagesNobodyAwaitsWaitInTheReaderAndAnOverflowIsReportedWhereItHappened) {
  auto t = make_topic<int>(*rt, options_of(4)).value();
  auto gate = keep(rt->spawn(test::gate_actor));
  auto subscribed = std::make_shared<signal>();
  auto drained = std::make_shared<signal>();
  auto box = keep(spawn_reader(*rt, [=](auto* self) -> task<std::string> {
    auto reader = coro::subscribe(self, t);
    if (!reader)
      co_return "subscribe: " + end_name(reader.error());
    subscribed->fire();
    // Not reading: everything published meanwhile goes to the reader's buffer.
    co_await coro::request_actor<int>(gate, caf::infinite, 0);
    std::string out = std::to_string(reader->buffered()) + "|";
    for (int i = 0; i < 5; ++i)
      out += show(co_await reader->recv()) + ",";
    drained->fire();
    co_return out + "|" + show(co_await reader->recv());
  }));
  auto done = start(box);
  ASSERT_TRUE(subscribed->wait());
  for (int i = 1; i <= 10; ++i)
    t.publish(i);
  ASSERT_TRUE(test::eventually([&] { return caught_up(t, 10); }));
  caf::anon_send(gate, release_atom::value);
  ASSERT_TRUE(drained->wait());
  t.publish(11);
  // 10 messages into a reader of 4: 1..6 are lost, reported before the oldest kept, 7.
  EXPECT_EQ(result_of(done), "4|lagged6,7,8,9,10,|11");
}

// The topic itself overtakes the reader (its actor is held while more than `capacity` are
// published): the loss reaches the reader as the topic's lag notice or its disconnection.
class coro_overtaken : public coro_readers, public ::testing::WithParamInterface<lag_policy> {};

TEST_P(coro_overtaken, AReaderTheTopicOvertookGetsTheTopicsLagNoticeOrItsDisconnection) {
  auto t = make_topic<int>(*rt, options_of(2, GetParam())).value();
  auto subscribed = std::make_shared<signal>();
  auto box = keep(spawn_reader(*rt, [=](auto* self) -> task<std::string> {
    auto reader = coro::subscribe(self, t);
    if (!reader)
      co_return "subscribe: " + end_name(reader.error());
    subscribed->fire();
    std::string out;
    for (int i = 0; i < 3; ++i) {
      auto ev = co_await reader->recv();
      out += show(ev) + ",";
      if (!ev)
        break;
    }
    co_return out;
  }));
  auto done = start(box);
  ASSERT_TRUE(subscribed->wait());
  // The body waits in recv; the actor is held, so the topic keeps only 4 and 5.
  auto release = hold_actor(box);
  for (int i = 1; i <= 5; ++i)
    t.publish(i);
  release();
  EXPECT_EQ(result_of(done),
            GetParam() == lag_policy::notify_lag ? "lagged3,4,5," : "subscriber_lagged,");
}

INSTANTIATE_TEST_SUITE_P(Policies, coro_overtaken,
                         ::testing::Values(lag_policy::notify_lag, lag_policy::disconnect));

TEST_F(coro_readers, UnsubscribingEndsTheReaderAfterWhatItHadBuffered) {
  auto t = make_topic<int>(*rt, options_of(8)).value();
  auto gate = keep(rt->spawn(test::gate_actor));
  auto subscribed = std::make_shared<signal>();
  auto box = keep(spawn_reader(*rt, [=](auto* self) -> task<std::string> {
    auto reader = coro::subscribe(self, t);
    if (!reader)
      co_return "subscribe: " + end_name(reader.error());
    subscribed->fire();
    co_await coro::request_actor<int>(gate, caf::infinite, 0);
    t.unsubscribe(self);
    co_return co_await read_to_end(*reader);
  }));
  auto done = start(box);
  ASSERT_TRUE(subscribed->wait());
  t.publish(1);
  t.publish(2);
  ASSERT_TRUE(test::eventually([&] { return caught_up(t, 2); }));
  caf::anon_send(gate, release_atom::value);
  EXPECT_EQ(result_of(done), "1,2,unsubscribed");
}

TEST_F(coro_readers, AReaderDoesNotKeepTheTopicOpenWhenItsLastPublisherHandleGoes) {
  auto t = make_topic<int>(*rt, options_of(8)).value();
  weak_topic<int> weak{t};
  auto subscribed = std::make_shared<signal>();
  auto box = keep(spawn_reader(*rt, [weak, subscribed](auto* self) -> task<std::string> {
    auto publisher = weak.upgrade();
    if (!publisher)
      co_return "gone before subscribing";
    auto reader = coro::subscribe(self, publisher);
    publisher = topic<int>{}; // from here on the test's handle is the only one
    if (!reader)
      co_return "subscribe: " + end_name(reader.error());
    subscribed->fire();
    co_return co_await read_to_end(*reader);
  }));
  auto done = start(box);
  ASSERT_TRUE(subscribed->wait());
  EXPECT_EQ(t.publish(1).subscribers(), 1u);
  t = topic<int>{}; // the last publisher handle: the topic closes
  EXPECT_EQ(result_of(done), "1,closed");
  EXPECT_FALSE(weak.upgrade());
}

TEST_F(coro_readers, DestroyingTheReaderUnsubscribesAndLetsTheActorSubscribeAgain) {
  auto t = make_topic<int>(*rt, options_of(8)).value();
  auto box = keep(spawn_reader(*rt, [t](auto* self) -> task<std::string> {
    std::string out;
    {
      auto first = coro::subscribe(self, t);
      auto second = coro::subscribe(self, t);
      out += std::string{first ? "subscribed" : "failed"} + "|" +
             (second ? "twice" : end_name(second.error())) + "|" +
             std::to_string(t.subscriber_count()) + "|";
    }
    auto again = coro::subscribe(self, t);
    co_return out + std::to_string(t.subscriber_count() - (again ? 1 : 0)) + "|" +
        (again ? "subscribed" : end_name(again.error()));
  }));
  auto done = start(box);
  EXPECT_EQ(result_of(done), "subscribed|already_subscribed|1|0|subscribed");
}

TEST_F(coro_readers, ARecvThatLostAFirstOfLeavesTheNextMessageForTheNextRecv) {
  auto t = make_topic<int>(*rt, options_of(8)).value();
  auto gate = keep(rt->spawn(test::gate_actor));
  auto lost = std::make_shared<signal>();
  auto box = keep(spawn_reader(*rt, [=](auto* self) -> task<std::string> {
    auto reader = coro::subscribe(self, t);
    if (!reader)
      co_return "subscribe: " + end_name(reader.error());
    // Nothing is published before `lost` fires: the timer wins, the recv is cancelled.
    auto a = co_await coro::first_of(reader->recv(), coro::sleep_for(1ms));
    lost->fire();
    co_await coro::request_actor<int>(gate, caf::infinite, 0);
    std::string out = std::to_string(a.index()) + "|" + std::to_string(reader->buffered()) + "|";
    auto b = co_await coro::first_of(reader->recv(), coro::sleep_for(1h));
    co_return out + std::to_string(b.index()) + ":" +
        (b.index() == 0 ? show(std::get<0>(b)) : std::string{"timer"});
  }));
  auto done = start(box);
  ASSERT_TRUE(lost->wait());
  t.publish(42);
  ASSERT_TRUE(test::eventually([&] { return caught_up(t, 1); }));
  caf::anon_send(gate, release_atom::value);
  EXPECT_EQ(result_of(done), "1|1|0:42");
}

// -- watched values -------------------------------------------------------------------------

TEST_F(coro_readers, ChangedYieldsTheCurrentValueThenTheNewestChangeThenTheClose) {
  auto w = make_watched<int>(1);
  auto box = keep(spawn_reader(*rt, [w](auto* self) -> task<std::string> {
    auto made = coro::watch(self, w);
    if (!made)
      co_return "watch: " + end_name(made.error());
    auto reader = std::move(*made);
    auto twice = coro::watch(self, w);
    std::string out = (twice ? std::string{"twice"} : end_name(twice.error())) + "|";
    out += show(co_await reader.changed()) + ",";
    // Two changes before the actor reads again coalesce into the newest.
    w.set(2);
    w.set(3);
    out += show(co_await reader.changed()) + ",";
    out += "current" + std::to_string(*reader.current()) + ",";
    w.set(4);
    w.close();
    out += show(co_await reader.changed()) + ",";
    out += show(co_await reader.changed()) + ",";
    co_return out + show(co_await reader.changed());
  }));
  auto done = start(box);
  EXPECT_EQ(result_of(done), "watch_already_subscribed|1,3,current3,4,watch_closed,watch_closed");
}

TEST_F(coro_readers, AChangedThatLostAFirstOfLeavesTheChangeForTheNextChanged) {
  auto w = make_watched<int>(1);
  auto gate = keep(rt->spawn(test::gate_actor));
  auto view = std::make_shared<reader_view>();
  auto lost = std::make_shared<signal>();
  auto box = keep(spawn_reader(
      *rt,
      [=](auto* self) -> task<std::string> {
        std::string out;
        {
          auto reader = coro::watch(self, w);
          if (!reader)
            co_return "watch: " + end_name(reader.error());
          out += show(co_await reader->changed()) + "|";
          // No change before `lost` fires: the timer wins, the changed() is cancelled.
          auto a = co_await coro::first_of(reader->changed(), coro::sleep_for(1ms));
          view->count = [r = &*reader] { return r->has_unseen() ? uint64_t{1} : 0; };
          lost->fire();
          co_await coro::request_actor<int>(gate, caf::infinite, 0);
          view->count = nullptr;
          auto b = co_await coro::first_of(reader->changed(), coro::sleep_for(1h));
          out += std::to_string(a.index()) + "|" + std::to_string(b.index()) + ":" +
                 (b.index() == 0 ? show(std::get<0>(b)) : std::string{"timer"}) + "|";
        }
        // The reader is gone: so is its reading.
        co_return out + std::to_string(w.readers());
      },
      view));
  auto done = start(box);
  ASSERT_TRUE(lost->wait());
  w.set(5);
  ASSERT_TRUE(test::eventually([&] {
    auto n = ask(box, peek{}, 5s);
    return n && *n == 1;
  }));
  caf::anon_send(gate, release_atom::value);
  EXPECT_EQ(result_of(done), "1|1|0:5|0");
}

// -- lifetime -------------------------------------------------------------------------------

TEST_F(coro_readers, AnActorStoppedWhileSuspendedInRecvAndChangedFreesTheFrameAndResumesNothing) {
  auto t = make_topic<int>(*rt, options_of(8)).value();
  auto w = make_watched<int>(1);
  auto frames = std::make_shared<live_counter>();
  auto resumed = std::make_shared<std::atomic<int>>(0);
  auto suspended = std::make_shared<signal>();
  auto box = spawn_reader(*rt, [=](auto* self) -> task<std::string> {
    probe p{*frames};
    auto topic_in = coro::subscribe(self, t);
    auto value_in = coro::watch(self, w);
    if (!topic_in || !value_in)
      co_return "subscribe failed";
    co_await value_in->changed(); // the current value
    suspended->fire();
    auto r = co_await coro::first_of(topic_in->recv(), value_in->changed());
    resumed->fetch_add(1);
    co_return std::to_string(r.index());
  });
  auto done = start(box);
  ASSERT_TRUE(suspended->wait());
  EXPECT_EQ(frames->made.load(), 1);
  caf::anon_send_exit(box.actor(), caf::exit_reason::kill);
  ASSERT_TRUE(test::eventually([&] { return frames->gone.load() == 1; }));
  EXPECT_EQ(t.subscriber_count(), 0u);
  EXPECT_EQ(w.readers(), 0u);
  EXPECT_EQ(t.publish(1).subscribers(), 0u);
  EXPECT_FALSE(w.set(2));
  EXPECT_EQ(result_of(done), "error: " + to_string(make_error(mailbox_errc::receiver_dead)));
  EXPECT_EQ(resumed->load(), 0);
}

// -- barriers -------------------------------------------------------------------------------

TEST_F(coro_readers, ArriveResumesEveryPartyOfAGenerationWithExactlyOneLeader) {
  barrier b{2};
  auto body = [b](auto*) -> task<std::string> {
    std::string out;
    for (int round = 0; round < 3; ++round)
      out += co_await coro::arrive(b) ? "L" : "F";
    co_return out;
  };
  auto x = keep(spawn_reader(*rt, body));
  auto y = keep(spawn_reader(*rt, body));
  auto done_x = start(x);
  auto done_y = start(y);
  auto out_x = result_of(done_x);
  auto out_y = result_of(done_y);
  ASSERT_EQ(out_x.size(), 3u) << out_x;
  ASSERT_EQ(out_y.size(), 3u) << out_y;
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NE(out_x[i], out_y[i]) << "round " << i << ": " << out_x << " vs " << out_y;
  EXPECT_EQ(b.generation(), 3u);
}

TEST_F(coro_readers, AnArrivalThatLostAFirstOfStillCountsForItsGeneration) {
  barrier b{2};
  auto gave_up = keep(spawn_reader(*rt, [b](auto*) -> task<std::string> {
    auto r = co_await coro::first_of(coro::arrive(b), coro::sleep_for(1ms));
    co_return r.index() == 1 ? "timer" : "arrived";
  }));
  auto last = keep(spawn_reader(*rt, [b](auto*) -> task<std::string> {
    co_return co_await coro::arrive(b) ? "leader" : "follower";
  }));
  auto first_done = start(gave_up);
  EXPECT_EQ(result_of(first_done), "timer");
  EXPECT_EQ(b.generation(), 0u);
  auto last_done = start(last);
  EXPECT_EQ(result_of(last_done), "leader");
  EXPECT_EQ(b.generation(), 1u);
}

// -- affinity -------------------------------------------------------------------------------

class coro_reader_affinity : public test::with_workers<coro_readers> {};

TEST_P(coro_reader_affinity, EveryResumptionRunsInTheReadingActorsTurn) {
  constexpr int messages = 200;
  constexpr int rounds = 20;
  auto t = make_topic<int>(*rt, options_of(1024)).value();
  auto w = make_watched<int>(0);
  barrier b{2};
  auto pr = std::make_shared<affinity_probe>();
  pr->foreign();
  auto subscribed = std::make_shared<signal>();
  auto box = keep(spawn_reader(
      *rt,
      [=](auto* self) -> task<std::string> {
        auto topic_in = coro::subscribe(self, t);
        auto value_in = coro::watch(self, w);
        if (!topic_in || !value_in)
          co_return "subscribe failed";
        subscribed->fire();
        int steps = 0;
        int sum = 0;
        for (int i = 0; i < messages; ++i) {
          auto ev = co_await topic_in->recv();
          pr->enter(true), ++steps, pr->leave();
          if (ev && ev->index() == 0)
            sum += std::get<0>(*ev);
        }
        for (;;) {
          auto v = co_await value_in->changed();
          pr->enter(true), ++steps, pr->leave();
          if (!v || *v == messages)
            break;
        }
        for (int round = 0; round < rounds; ++round) {
          co_await coro::arrive(b);
          pr->enter(true), ++steps, pr->leave();
        }
        co_return std::to_string(sum) + "|" + std::to_string(steps >= messages + 1 + rounds);
      },
      nullptr, pr));
  auto partner = keep(spawn_reader(*rt, [b](auto*) -> task<std::string> {
    for (int round = 0; round < rounds; ++round)
      co_await coro::arrive(b);
    co_return "done";
  }));
  auto done = start(box);
  ASSERT_TRUE(subscribed->wait());
  auto partner_done = start(partner);
  // Plain handlers keep running on the actor meanwhile.
  test::steady_sender flood{box, ping{}, [pr] { pr->foreign(); }};
  for (int i = 1; i <= messages; ++i) {
    t.publish(i);
    (void)w.set(i);
  }
  auto out = result_of(done);
  flood.stop();
  EXPECT_EQ(out, std::to_string(messages * (messages + 1) / 2) + "|1");
  EXPECT_EQ(result_of(partner_done), "done");
  EXPECT_EQ(pr->overlaps.load(), 0);
  std::lock_guard guard{pr->mtx};
  EXPECT_FALSE(pr->resume_threads.empty());
  for (auto& id : pr->resume_threads)
    EXPECT_EQ(pr->foreign_threads.count(id), 0u) << "a resumption ran on a foreign thread";
}

INSTANTIATE_TEST_SUITE_P(Workers, coro_reader_affinity, ::testing::Values(1, 2, 8));

} // namespace
