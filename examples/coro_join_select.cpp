// The guide's join!, try_join! and select! with a timeout, inside one coroutine handler: the
// requests of a gather are in flight together; first_of resumes with the first to finish and
// cancels the others (a late reply is dropped and counted, a timer released).

#include <iostream>
#include <string>
#include <variant>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct square {
  int x = 0;
  using reply_type = int;
};

struct slow_square {
  int x = 0;
  using reply_type = int;
};

struct run_demo {
  using reply_type = std::string;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "coro_join_select: join, try_join and select in a coroutine handler", {}};
  if (cli.done())
    return cli.exit_code();
  troupe::runtime rt{cli.config()};
  // slow_square answers after 200 ms, without blocking its worker: a coroutine handler too.
  auto squarer = troupe::spawn_mailbox<square, slow_square>(rt, {}, [](auto*) {
                   return troupe::handlers{
                       [](square& s) -> caf::expected<int> {
                         if (s.x < 0)
                           return caf::make_error(caf::sec::invalid_argument);
                         return s.x * s.x;
                       },
                       [](slow_square s) -> troupe::task<int> {
                         co_await troupe::coro::sleep_for(200ms);
                         co_return s.x* s.x;
                       },
                   };
                 }).value();

  auto demo =
      troupe::spawn_mailbox<run_demo>(rt, {}, [=](auto* self) {
        return troupe::handlers{[=](run_demo) -> troupe::task<std::string> {
          using troupe::coro::request;
          std::string out;
          // join!: both requests at once; each result stays a value or its error.
          auto [a, b] = co_await troupe::coro::gather(request(squarer, square{3}, 1s),
                                                      request(squarer, square{-1}, 1s));
          out += "join: " + std::to_string(a ? *a : -1) + "," +
                 (b ? std::to_string(*b) : troupe::render(b.error())) + "\n";
          // try_join!: the first error wins and cancels the rest.
          auto both = co_await troupe::coro::gather_all_or_fail(request(squarer, square{4}, 1s),
                                                                request(squarer, square{5}, 1s));
          out += "try_join: " +
                 (both ? std::to_string(std::get<0>(*both) + std::get<1>(*both))
                       : troupe::render(both.error())) +
                 "\n";
          // select! with a timeout: the timer wins; the slow request is cancelled.
          auto raced = co_await troupe::coro::first_of(request(squarer, slow_square{6}, 1s),
                                                       troupe::coro::sleep_for(20ms));
          out += std::string{"select: "} +
                 (raced.index() == 1 ? "timed out first" : "answered first") + "\n";
          // The cancelled request's reply still arrives (after about 200 ms): it is dropped and
          // counted. Wait for it, up to 5 s.
          for (int i = 0; i < 500 && self->coroutines().late_replies() == 0; ++i)
            co_await troupe::coro::sleep_for(10ms);
          out +=
              "late replies dropped: " + std::to_string(self->coroutines().late_replies()) + "\n";
          co_return out;
        }};
      }).value();

  auto out = troupe::ask(demo, run_demo{}, 10s);
  std::cout << (out ? *out : troupe::render(out.error()));
  bool ok = out && out->find("join: 9,") != std::string::npos &&
            out->find("try_join: 41") != std::string::npos &&
            out->find("select: timed out first") != std::string::npos &&
            out->find("late replies dropped: 1") != std::string::npos;
  return ok ? 0 : 1;
}
