// A cancellation token observed by a blocking job — the guide's CancellationToken. A
// supervised "exporter" starts a long copy on the blocking pool; its supervisor hands it a
// token and fires it when it stops the exporter, so the copy notices between chunks and ends
// early instead of running on after its owner is gone.

#include <atomic>
#include <iostream>
#include <memory>
#include <optional>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  example::command_line cli{
      argc, argv, "cancellation_token: a blocking job that observes a cancellation token", {}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};
  constexpr int total_chunks = 100'000;
  auto copy = std::make_shared<std::optional<troupe::blocking_future<int>>>();
  auto started = std::make_shared<troupe::cancellation_token>(); // fired by the job

  troupe::child_spec exporter;
  exporter.id = "exporter";
  exporter.start = [copy, started](const troupe::child_context& ctx) {
    auto token = ctx.token;
    copy->emplace(ctx.rt.spawn_blocking([token, started] {
      int chunks = 0;
      while (chunks < total_chunks && !token.is_cancelled()) {
        ++chunks; // copy one chunk
        if (chunks == 10)
          started->cancel(); // tell main the copy is under way
        token.wait_for(1ms);
      }
      return chunks;
    }));
    return ctx.rt.spawn([]() -> caf::behavior { return {[](int) {}}; });
  };
  troupe::supervisor_spec spec;
  spec.children = {exporter};
  auto sup = troupe::start_supervisor(rt, spec).value();

  started->wait_for(10s);
  auto err = sup.stop_child("exporter"); // fires the exporter's token
  auto chunks = (*copy)->get(10s);
  if (err || !chunks) {
    std::cerr << "failed: " << troupe::render(err ? err : chunks.error()) << '\n';
    return 1;
  }
  std::cout << "copy stopped after " << *chunks << " of " << total_chunks
            << " chunks: the job observed its token\n";
  return *chunks < total_chunks ? 0 : 1;
}
