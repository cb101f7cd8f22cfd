// The guide's broadcast, watch and Barrier sections as actors: a topic with two subscribers, a
// lag notice and a close that each subscriber hears after its last message, a watched config
// value whose readers see only the newest change (set, or modified in place), and three workers
// that meet at a barrier each round.

#include <atomic>
#include <iostream>
#include <latch>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct start {};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "broadcast_watch_barrier: a topic, a watched value and a barrier", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};

  // -- broadcast: every subscriber sees every message, in order --------------------------------
  auto news = troupe::make_topic<std::string>(
                  rt, troupe::topic_options{.capacity = 16,
                                            .on_lag = troupe::lag_policy::notify_lag,
                                            .name = "news"})
                  .value();
  std::atomic<int> received{0};
  std::latch all_received{2 * 3};
  std::latch all_closed{2};
  std::vector<troupe::mailbox<start>> readers;
  for (int r = 0; r < 2; ++r)
    readers.push_back(troupe::spawn_mailbox<start>(rt, {}, [&, r](auto* self) {
                        return troupe::handlers{[&, r, self](start&) {
                          (void)news.subscribe(
                              self,
                              [&, r](const std::string& s) {
                                std::cout << "reader " << r << " got: " << s << '\n';
                                ++received;
                                all_received.count_down();
                              },
                              [r](troupe::lagged l) {
                                std::cout << "reader " << r << " lagged by " << l.missed << '\n';
                              },
                              [&, r](caf::error e) { // after its last message
                                std::cout << "reader " << r << ": " << troupe::render(e) << '\n';
                                all_closed.count_down();
                              });
                        }};
                      }).value());
  for (auto& r : readers)
    (void)r.send(start{});
  while (news.metrics().subscribers < 2)
    std::this_thread::yield();
  for (auto* s : {"hello", "actors", "world"})
    std::cout << "published to " << news.publish(s).subscribers() << " subscribers\n";
  all_received.wait();
  std::cout << "topic: " << nlohmann::json(news.metrics()).dump() << '\n';
  news.close(); // as Tokio's broadcast when its last Sender goes: each reader hears `closed`
  all_closed.wait();
  std::cout << "publish after close: " << troupe::render(news.publish("late").error()) << '\n';

  // -- watch: readers get the current value, then only the newest ------------------------------
  auto rate = troupe::make_watched<int>(10);
  std::latch saw_final{1};
  auto reader = troupe::spawn_mailbox<start>(rt, {}, [&](auto* self) {
                  return troupe::handlers{[&, self](start&) {
                    rate.subscribe(self, [&](const int& r) {
                      std::cout << "rate is now " << r << '\n';
                      if (r == 45)
                        saw_final.count_down();
                    });
                  }};
                }).value();
  (void)reader.send(start{});
  for (int r : {20, 30, 40})
    (void)rate.set(r);
  (void)rate.modify([](int& r) { r += 5; }); // in place, readers told once
  saw_final.wait();
  std::cout << "current rate read synchronously: " << *rate.get() << '\n';

  // -- barrier: three workers, three rounds, one leader per round -------------------------------
  troupe::barrier round_end{3};
  std::latch workers_done{3};
  std::vector<troupe::mailbox<start>> workers;
  for (int w = 0; w < 3; ++w)
    workers.push_back(troupe::spawn_mailbox<start>(rt, {}, [&, w](auto* self) {
                        auto step = std::make_shared<std::function<void(int)>>();
                        std::weak_ptr<std::function<void(int)>> weak_step = step;
                        *step = [&, w, self, weak_step](int round) {
                          if (round == 3) {
                            workers_done.count_down();
                            return;
                          }
                          round_end.arrive(self, [&, w, round, weak_step](bool leader) {
                            if (leader)
                              std::cout << "round " << round << " done (leader: worker " << w
                                        << ")\n";
                            if (auto next = weak_step.lock())
                              (*next)(round + 1);
                          });
                        };
                        return troupe::handlers{[step](start&) { (*step)(0); }};
                      }).value());
  for (auto& w : workers)
    (void)w.send(start{});
  workers_done.wait();
  std::cout << "barrier generations: " << round_end.generation() << '\n';
  return received == 6 && news.is_closed() && round_end.generation() == 3 ? 0 : 1;
}
