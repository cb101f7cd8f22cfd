// The guide's spawned tasks and their JoinHandles, in coroutine form: tokio::spawn is
// troupe::spawn_task (each task its own actor), `.await` on the handle is `co_await
// std::move(handle)`, `abort()` cancels; a task_scope is a group that never outlives its parent
// and joins try_join-style (the first failure cancels the rest).

#include <iostream>
#include <string>
#include <vector>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct run_demo {
  using reply_type = std::string;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "coro_tasks: spawned tasks, join handles, abort and task scopes", {}};
  if (cli.done())
    return cli.exit_code();
  troupe::runtime rt{cli.config()};

  // From a thread: spawn a task and join it with a deadline.
  auto answer = troupe::spawn_task(rt, []() -> troupe::task<int> {
                  co_await troupe::coro::sleep_for(5ms);
                  co_return 42;
                }).value();
  auto joined = answer.join(5s);
  std::cout << "joined from a thread: "
            << (joined ? std::to_string(*joined) : troupe::render(joined.error())) << '\n';

  // An aborted task's outcome is cancelled; its frame is destroyed, nothing of it runs again.
  auto forever = troupe::spawn_task(rt, []() -> troupe::task<void> {
                   co_await troupe::coro::sleep_for(1h);
                 }).value();
  forever.abort();
  auto aborted = forever.join(5s);
  std::cout << "aborted: " << (aborted ? "finished?" : troupe::render(aborted.error())) << '\n';

  auto demo =
      troupe::spawn_mailbox<run_demo>(rt, {}, [&rt](auto*) {
        return troupe::handlers{[&rt](run_demo) -> troupe::task<std::string> {
          std::string out;
          // Spawn five tasks in a scope and join them all: try_join over the whole group.
          troupe::task_scope scope{rt};
          std::vector<troupe::join_handle<int>> squares;
          for (int i = 1; i <= 5; ++i)
            squares.push_back(scope
                                  .spawn([i]() -> troupe::task<int> {
                                    co_await troupe::coro::sleep_for(1ms * i);
                                    co_return i* i;
                                  })
                                  .value());
          if (auto err = co_await scope.join())
            co_return "scope failed: " + troupe::render(err);
          int sum = 0;
          for (auto& h : squares)
            if (auto v = co_await std::move(h))
              sum += *v;
          out += "sum of squares: " + std::to_string(sum) + "\n";

          // A failing child cancels its siblings at once.
          troupe::task_scope failing{rt};
          auto slow = failing
                          .spawn([]() -> troupe::task<int> {
                            co_await troupe::coro::sleep_for(1h);
                            co_return 0;
                          })
                          .value();
          (void)failing.spawn([]() -> troupe::task<caf::expected<int>> {
            co_await troupe::coro::sleep_for(1ms);
            co_return caf::make_error(caf::sec::invalid_argument);
          });
          auto err = co_await failing.join();
          auto slow_outcome = co_await std::move(slow);
          out += "first failure: " + troupe::render(err) + "\n";
          out += "sibling: " +
                 (slow_outcome ? std::string{"finished?"} : troupe::render(slow_outcome.error())) +
                 "\n";
          co_return out;
        }};
      }).value();

  auto out = troupe::ask(demo, run_demo{}, 10s);
  std::cout << (out ? *out : troupe::render(out.error()));
  bool ok =
      joined && *joined == 42 && !aborted && aborted.error() == troupe::runtime_errc::cancelled &&
      out && out->find("sum of squares: 55") != std::string::npos &&
      out->find("invalid_argument") != std::string::npos &&
      out->find("sibling: ") != std::string::npos && out->find("cancelled") != std::string::npos;
  std::cout << (ok ? "ok" : "FAILED") << '\n';
  return ok ? 0 : 1;
}
