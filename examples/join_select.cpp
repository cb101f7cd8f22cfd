// The guide's join!, try_join!, join_all and select!, as combinators over requests made by an
// actor: the callbacks run in the actor's own context, never blocking a worker.

#include <iostream>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct fetch {
  int id = 0;
  using reply_type = int;
};

struct run {
  using reply_type = std::string;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "join_select: join, try_join, join_all and select over requests", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  // A service that fails for negative ids.
  auto service = troupe::spawn_mailbox<fetch>(rt, {}, [](auto*) {
                   return troupe::handlers{[](fetch& f) -> caf::expected<int> {
                     if (f.id < 0)
                       return caf::make_error(caf::sec::invalid_argument);
                     return f.id * 10;
                   }};
                 }).value();

  auto client =
      troupe::spawn_mailbox<run>(rt, {}, [service](auto* self) {
        return troupe::handlers{[self, service](run&) -> caf::expected<std::string> {
          auto ask = [&](int id) { return troupe::request(self, service, fetch{id}, 1s); };
          // join_all / join!: every result, in order, each a value or an error.
          std::vector<troupe::pending<int>> all;
          for (int id : {1, -2, 3})
            all.push_back(ask(id));
          troupe::gather(std::move(all))
              .then(
                  [](std::vector<caf::expected<int>> rs) {
                    std::cout << "join_all:";
                    for (auto& r : rs)
                      std::cout << ' ' << (r ? std::to_string(*r) : troupe::render(r.error()));
                    std::cout << '\n';
                  },
                  [](caf::error) {});
          // try_join!: the first error wins.
          std::vector<troupe::pending<int>> strict;
          strict.push_back(ask(4));
          strict.push_back(ask(-5));
          troupe::gather_all_or_fail(std::move(strict))
              .then([](std::vector<int>) { std::cout << "try_join: all ok\n"; },
                    [](caf::error e) {
                      std::cout << "try_join: failed with " << troupe::render(e) << '\n';
                    });
          // select!: the first value wins.
          std::vector<troupe::pending<int>> race;
          race.push_back(ask(-1));
          race.push_back(ask(7));
          troupe::first_of(std::move(race))
              .then([](int v) { std::cout << "select: " << v << '\n'; }, [](caf::error) {});
          return std::string{"started"};
        }};
      }).value();

  auto started = troupe::ask(client, run{}, 1s);
  // The replies arrive after the handler returned; give the actor its time to print them by
  // asking once more (its mailbox is FIFO, and the combinators finish within the second ask).
  auto again = troupe::ask(service, fetch{0}, 1s);
  return started && again ? 0 : 1;
}
