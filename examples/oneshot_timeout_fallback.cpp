// The guide's oneshot, timeout() and fallback-on-error: a request with a deadline, a typed
// timeout error, and a fallback that is only asked when the primary fails.

#include <iostream>
#include <thread>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

struct lookup {
  std::string key;
  using reply_type = std::string;
};

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "oneshot_timeout_fallback: a request with a deadline and a fallback", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  // The primary store is slow for "slow" keys and fails for unknown ones.
  auto primary = troupe::spawn_mailbox<lookup>(rt, {}, [](auto*) {
                   return troupe::handlers{[](lookup& l) -> caf::expected<std::string> {
                     if (l.key == "slow")
                       std::this_thread::sleep_for(200ms); // a misbehaving backend
                     if (l.key == "answer" || l.key == "slow")
                       return std::string{"42 (primary)"};
                     return caf::make_error(caf::sec::invalid_argument);
                   }};
                 }).value();
  auto cache = troupe::spawn_mailbox<lookup>(rt, {}, [](auto*) {
                 return troupe::handlers{[](lookup& l) { return l.key + " (cache)"; }};
               }).value();

  // oneshot: one request, one reply.
  auto answer = troupe::ask(primary, lookup{"answer"}, 1s);
  std::cout << "oneshot: " << (answer ? *answer : troupe::render(answer.error())) << '\n';

  // timeout: the deadline passes first; the error is typed.
  auto slow = troupe::ask(primary, lookup{"slow"}, 50ms);
  std::cout << "timeout: " << troupe::render(slow.error()) << '\n';

  // fallback: the cache is asked only because the primary fails.
  auto with_fallback = troupe::await(
      troupe::with_fallback<std::string>(troupe::ask_async(primary, lookup{"unknown"}),
                                         [&](const caf::error& err) {
                                           std::cout << "primary failed (" << troupe::render(err)
                                                     << "), asking cache\n";
                                           return troupe::ask_async(cache, lookup{"unknown"});
                                         }),
      1s);
  std::cout << "fallback: " << (with_fallback ? *with_fallback : "none") << '\n';
  bool ok = answer && !slow && slow.error() == troupe::mailbox_errc::request_timeout &&
            with_fallback && *with_fallback == "unknown (cache)";
  return ok ? 0 : 1;
}
