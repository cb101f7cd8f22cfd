// The guide's sequential execution and fallback on error, as a coroutine handler: three
// requests one after another, each yielding its value or a typed error, and a fallback asked
// only when the primary fails. The handler is a troupe::task; it runs on its actor only.

#include <iostream>
#include <string>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct fetch {
  std::string key;
  using reply_type = std::string;
};

struct report_all {
  using reply_type = std::string;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "coro_sequential: sequential requests and a fallback in a coroutine", {}};
  if (cli.done())
    return cli.exit_code();
  troupe::runtime rt{cli.config()};
  // The primary store knows "a" and "b"; the cache knows everything.
  auto primary = troupe::spawn_mailbox<fetch>(rt, {}, [](auto*) {
                   return troupe::handlers{[](fetch& f) -> caf::expected<std::string> {
                     if (f.key == "a" || f.key == "b")
                       return f.key + "=primary";
                     return caf::make_error(caf::sec::invalid_argument);
                   }};
                 }).value();
  auto cache = troupe::spawn_mailbox<fetch>(rt, {}, [](auto*) {
                 return troupe::handlers{[](fetch& f) { return f.key + "=cache"; }};
               }).value();

  auto client = troupe::spawn_mailbox<report_all>(rt, {}, [=](auto*) {
                  return troupe::handlers{
                      // Take messages by value in coroutine handlers: the frame outlives the
                      // handler call.
                      [=](report_all) -> troupe::task<caf::expected<std::string>> {
                        std::string out;
                        for (std::string key : {"a", "b", "c"}) {
                          // A named message: g++ 12 destroys a braced temporary inside a
                          // co_await expression twice (see troupe/coro/task.hpp).
                          fetch f{key};
                          auto value = co_await troupe::coro::request(primary, f, 1s);
                          if (!value) {
                            // Fallback on error: ask the cache only now.
                            std::cout << key << ": primary failed ("
                                      << troupe::render(value.error()) << "), asking the cache\n";
                            value = co_await troupe::coro::request(cache, f, 1s);
                          }
                          if (!value)
                            co_return value.error(); // propagate, like `?`
                          out += *value + " ";
                        }
                        co_return out;
                      }};
                }).value();

  auto all = troupe::ask(client, report_all{}, 5s);
  std::cout << "sequential: " << (all ? *all : troupe::render(all.error())) << '\n';
  return all && *all == "a=primary b=primary c=cache " ? 0 : 1;
}
