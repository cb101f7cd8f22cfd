// coro::send, Tokio's `Sender::send().await` for tasks: no suspension when the message finds
// room, suspension while it is parked under backpressure, resumption in order and on the
// sending actor, the errors, and what happens to a parked message whose task is gone.

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "coro/coro_support.hpp"
#include "troupe/troupe.hpp"

using namespace troupe::test::coro_names;

namespace {

struct item {
  int value = 0;
};
struct read_items {
  using reply_type = std::vector<int>;
};

using sink_box = mailbox<item, read_items>;

std::string describe(send_result<item>& r) {
  switch (r.state()) {
  case send_result<item>::status::accepted:
    return "accepted";
  case send_result<item>::status::parked:
    return "parked"; // never yielded by coro::send
  case send_result<item>::status::dropped:
    return "dropped";
  case send_result<item>::status::failed:
    break;
  }
  return to_string(r.error()) + " back=" + (r.message() ? std::to_string(r.message()->value) : "-");
}

// The receiving side: records the items it handles.
sink_box spawn_sink(runtime& rt, mailbox_options opts) {
  auto seen = std::make_shared<std::vector<int>>();
  return spawn_mailbox<item, read_items>(rt, std::move(opts),
                                         [seen](auto*) {
                                           return handlers{
                                               [seen](item& i) { seen->push_back(i.value); },
                                               [seen](read_items&) { return *seen; },
                                           };
                                         })
      .value();
}

// A producer message: send item{value} to the sink from a task.
struct produce {
  int value = 0;
};
// A plain message of the producer, to see what it handles while a task is suspended.
struct note {
  std::string text;
};

using producer_box = mailbox<produce, note>;

// Each `produce` runs a task that sends one item and journals "sent <v>: <outcome>" once the
// co_await is over; `note` journals its text. The task holds a probe (its frame's RAII) and
// bumps `resumed` after its co_await.
producer_box spawn_producer(runtime& rt, sink_box sink, std::shared_ptr<journal> log,
                            std::shared_ptr<live_counter> frames,
                            std::shared_ptr<std::atomic<int>> resumed) {
  return spawn_mailbox<produce, note>(rt, {},
                                      [=](auto*) {
                                        return handlers{
                                            [=](produce p) -> task<void> {
                                              probe alive{*frames};
                                              log->add("send " + std::to_string(p.value));
                                              item next{p.value};
                                              auto r = co_await coro::send(sink, next);
                                              resumed->fetch_add(1);
                                              log->add("sent " + std::to_string(p.value) + ": " +
                                                       describe(r));
                                            },
                                            [log](note& n) { log->add(n.text); },
                                        };
                                      })
      .value();
}

class coro_send : public test::coro_fixture {
public:
  explicit coro_send(runtime_config cfg = default_config()) : coro_fixture(std::move(cfg)) {}

protected:
  // A bounded sink, paused and filled with item{0}: every further send finds it full until
  // resume().
  sink_box full_sink(std::size_t capacity = 1) {
    mailbox_options opts;
    opts.capacity = capacity;
    auto sink = keep(spawn_sink(*rt, opts));
    sink.pause();
    for (std::size_t i = 0; i < capacity; ++i)
      EXPECT_TRUE(sink.try_send(item{0}));
    return sink;
  }

  producer_box producer(sink_box sink) {
    return keep(spawn_producer(*rt, std::move(sink), log, frames, resumed));
  }

  // A producer whose send of item{1} is parked at a full sink: sets `sink` and `prod`.
  void park_a_send(sink_box& sink, producer_box& prod) {
    sink = full_sink();
    prod = producer(sink);
    ASSERT_TRUE(prod.send(produce{1}));
    ASSERT_TRUE(test::eventually([&] { return sink.metrics().parked == 1; }));
  }

  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::shared_ptr<live_counter> frames = std::make_shared<live_counter>();
  std::shared_ptr<std::atomic<int>> resumed = std::make_shared<std::atomic<int>>(0);
};

// The producer's queue holds `produce` and then `note` before it runs: a send that suspended
// would let the note in before "sent 1".
TEST_F(coro_send, ASendThatFindsRoomGoesOnWithoutSuspending) {
  mailbox_options opts;
  opts.capacity = 4;
  auto sink = keep(spawn_sink(*rt, opts));
  auto prod = producer(sink);
  prod.pause();
  ASSERT_TRUE(prod.send(produce{1}));
  ASSERT_TRUE(prod.send(note{"note"}));
  prod.resume();
  ASSERT_TRUE(test::eventually([&] { return log->size() == 3; }));
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"send 1", "sent 1: accepted", "note"}));
  auto seen = ask(sink, read_items{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{1}));
}

// The same two messages with a full sink: the task suspends, the actor handles the note, and
// the task resumes once the sink drained and the item is in.
TEST_F(coro_send, ASendToAFullMailboxSuspendsUntilTheReceiverMakesRoom) {
  auto sink = full_sink();
  auto prod = producer(sink);
  prod.pause();
  ASSERT_TRUE(prod.send(produce{1}));
  ASSERT_TRUE(prod.send(note{"note"}));
  prod.resume();
  ASSERT_TRUE(test::eventually([&] { return log->size() == 2; }));
  EXPECT_EQ(sink.metrics().parked, 1u);
  EXPECT_EQ(resumed->load(), 0);
  sink.resume();
  ASSERT_TRUE(test::eventually([&] { return log->size() == 3; }));
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"send 1", "note", "sent 1: accepted"}));
  auto seen = ask(sink, read_items{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{0, 1}));
}

// Five tasks of one actor and three of another park behind each other; the receiver gets the
// items in the order they were sent, and each actor's tasks resume in that order.
TEST_F(coro_send, ParkedSendsOfSeveralTasksEnterAndResumeInOrder) {
  auto sink = full_sink(2);
  auto first = producer(sink);
  auto second_log = std::make_shared<journal>();
  auto second =
      keep(spawn_producer(*rt, sink, second_log, frames, std::make_shared<std::atomic<int>>(0)));
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(first.send(produce{i}));
    ASSERT_TRUE(test::eventually([&] { return sink.metrics().parked == std::size_t(i); }));
  }
  for (int i = 6; i <= 8; ++i) {
    ASSERT_TRUE(second.send(produce{i}));
    ASSERT_TRUE(test::eventually([&] { return sink.metrics().parked == std::size_t(i); }));
  }
  EXPECT_EQ(resumed->load(), 0);
  sink.resume();
  ASSERT_TRUE(test::eventually([&] { return log->size() == 10 && second_log->size() == 6; }));
  auto seen = ask(sink, read_items{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
  auto lines = log->snapshot();
  std::vector<std::string> resumptions(lines.begin() + 5, lines.end());
  EXPECT_EQ(resumptions,
            (std::vector<std::string>{"sent 1: accepted", "sent 2: accepted", "sent 3: accepted",
                                      "sent 4: accepted", "sent 5: accepted"}));
  auto other = second_log->snapshot();
  EXPECT_EQ(std::vector<std::string>(other.begin() + 3, other.end()),
            (std::vector<std::string>{"sent 6: accepted", "sent 7: accepted", "sent 8: accepted"}));
}

TEST_F(coro_send, RefusedSendsYieldTheirErrorAtOnceWithTheMessageBack) {
  mailbox_options fail_opts;
  fail_opts.capacity = 1;
  fail_opts.overflow = overflow_policy::fail;
  auto failing = keep(spawn_sink(*rt, fail_opts));
  failing.pause();
  ASSERT_TRUE(failing.try_send(item{0}));
  mailbox_options drop_opts;
  drop_opts.capacity = 1;
  drop_opts.overflow = overflow_policy::drop_newest;
  auto dropping = keep(spawn_sink(*rt, drop_opts));
  dropping.pause();
  ASSERT_TRUE(dropping.try_send(item{0}));
  auto closed = keep(spawn_sink(*rt, {}));
  closed.close();
  auto dead = spawn_sink(*rt, {});
  caf::anon_send_exit(dead.actor(), caf::exit_reason::kill);
  ASSERT_TRUE(test::eventually([&] { return dead.core()->closed(); }));
  auto out = std::make_shared<journal>();
  struct go {};
  auto runner = keep(spawn_mailbox<go>(*rt, {}, [=](auto*) {
                       return handlers{[=](go) -> task<void> {
                         for (auto* box : {&failing, &dropping, &closed, &dead}) {
                           item next{7};
                           auto r = co_await coro::send(*box, next);
                           out->add(describe(r));
                         }
                       }};
                     }).value());
  ASSERT_TRUE(runner.send(go{}));
  ASSERT_TRUE(test::eventually([&] { return out->size() == 4; }));
  EXPECT_EQ(out->snapshot(), (std::vector<std::string>{
                                 to_string(make_error(mailbox_errc::mailbox_full)) + " back=7",
                                 "dropped", to_string(make_error(mailbox_errc::closed)) + " back=7",
                                 to_string(make_error(mailbox_errc::receiver_dead)) + " back=7"}));
  EXPECT_EQ(dead.metrics().dead_letters, 1u); // as a plain send to a dead actor
}

TEST_F(coro_send, AParkedSendFailsWithClosedWhenTheMailboxCloses) {
  sink_box sink;
  producer_box prod;
  ASSERT_NO_FATAL_FAILURE(park_a_send(sink, prod));
  sink.close();
  ASSERT_TRUE(test::eventually([&] { return log->size() == 2; }));
  EXPECT_EQ(log->snapshot()[1],
            "sent 1: " + to_string(make_error(mailbox_errc::closed)) + " back=1");
  EXPECT_EQ(sink.metrics().dead_letters, 0u); // handed back, not lost
}

TEST_F(coro_send, AParkedSendFailsWithReceiverDeadWhenTheReceiverStops) {
  sink_box sink;
  producer_box prod;
  ASSERT_NO_FATAL_FAILURE(park_a_send(sink, prod));
  caf::anon_send_exit(sink.actor(), caf::exit_reason::user_shutdown);
  ASSERT_TRUE(test::eventually([&] { return log->size() == 2; }));
  EXPECT_EQ(log->snapshot()[1],
            "sent 1: " + to_string(make_error(mailbox_errc::receiver_dead)) + " back=1");
}

// The sender's actor stops while its message is parked: the frame is destroyed on the actor,
// nothing resumes, and the message keeps its place (delivered once room frees), as a message
// of mailbox::send(self, msg, on_sent) does.
TEST_F(coro_send, AStoppedSenderResumesNothingAndItsParkedMessageIsStillDelivered) {
  sink_box sink;
  producer_box prod;
  ASSERT_NO_FATAL_FAILURE(park_a_send(sink, prod));
  caf::anon_send_exit(prod.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(prod.actor()), caf::exit_reason::user_shutdown);
  EXPECT_EQ(frames->made.load(), 1);
  EXPECT_EQ(frames->gone.load(), 1);
  sink.resume();
  auto seen = ask(sink, read_items{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{0, 1}));
  EXPECT_EQ(resumed->load(), 0);
  EXPECT_EQ(log->snapshot(), (std::vector<std::string>{"send 1"}));
  EXPECT_EQ(sink.metrics().dead_letters, 0u);
}

// As above, but the mailbox closes before room frees: the message comes back to nobody and
// becomes a dead letter of the mailbox.
TEST_F(coro_send, AParkedMessageOfAStoppedSenderBecomesADeadLetterWhenRefused) {
  sink_box sink;
  producer_box prod;
  ASSERT_NO_FATAL_FAILURE(park_a_send(sink, prod));
  caf::anon_send_exit(prod.actor(), caf::exit_reason::user_shutdown);
  EXPECT_EQ(wait_for_exit(prod.actor()), caf::exit_reason::user_shutdown);
  EXPECT_EQ(frames->gone.load(), 1);
  sink.close();
  EXPECT_TRUE(test::eventually([&] { return sink.metrics().dead_letters == 1; }));
  EXPECT_EQ(resumed->load(), 0);
}

// One worker: the task must resume on it, in the producer's turn, although the room is made
// by the test's thread (a permit given back moves the parked message in on that thread).
class coro_send_one_worker : public coro_send {
public:
  coro_send_one_worker() : coro_send(config_with_workers(1)) {}
};

TEST_F(coro_send_one_worker, TheTaskResumesOnItsActorNotOnTheThreadThatMadeRoom) {
  mailbox_options opts;
  opts.capacity = 1;
  auto sink = keep(spawn_sink(*rt, opts));
  auto slot = std::make_optional(sink.try_reserve()); // holds the only slot
  ASSERT_TRUE(*slot);
  struct go {};
  auto threads = std::make_shared<std::vector<std::thread::id>>();
  auto done = std::make_shared<std::promise<std::string>>();
  auto runner = keep(spawn_mailbox<go>(*rt, {}, [=](auto* self) {
                       return handlers{[=](go) -> task<void> {
                         threads->push_back(std::this_thread::get_id());
                         item next{1};
                         auto r = co_await coro::send(sink, next);
                         threads->push_back(std::this_thread::get_id());
                         // In the actor's turn: its own bookkeeping is reachable and consistent.
                         done->set_value(describe(r) + " frames=" +
                                         std::to_string(self->coroutines().owned_frames()));
                       }};
                     }).value());
  ASSERT_TRUE(runner.send(go{}));
  ASSERT_TRUE(test::eventually([&] { return sink.metrics().parked == 1; }));
  slot.reset(); // gives the slot back on this thread
  auto fut = done->get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "accepted frames=1");
  ASSERT_EQ(threads->size(), 2u);
  EXPECT_EQ((*threads)[0], (*threads)[1]) << "resumed on another thread than the only worker";
  EXPECT_NE((*threads)[1], std::this_thread::get_id());
  auto seen = ask(sink, read_items{}, 5s);
  ASSERT_TRUE(seen);
  EXPECT_EQ(*seen, (std::vector<int>{1}));
}

} // namespace
