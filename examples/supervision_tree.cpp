// A supervision tree that survives injected crashes: the guide's error handling done as
// Erlang/OTP does it. The root (one_for_one) runs a metrics actor and a nested "pipeline"
// supervisor (rest_for_one: a parser feeding a writer). Crashes are injected into each; the
// supervisors restart exactly what their strategy says, and the program checks the restart
// counts before stopping the tree in reverse start order.

#include <iostream>
#include <string>
#include <thread>

#include "troupe/troupe.hpp"

#include "command_line.hpp"

using namespace std::chrono_literals;

using crash_atom = caf::atom_constant<caf::atom("crash")>;

namespace {

// A child that crashes (its handler throws) when told to.
troupe::child_spec crashable(std::string id) {
  troupe::child_spec spec;
  spec.id = std::move(id);
  spec.start = [](const troupe::child_context& ctx) {
    return ctx.rt.spawn([](caf::event_based_actor* self) -> caf::behavior {
      self->set_exception_handler([](std::exception_ptr& ep) -> caf::error {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          return troupe::make_error(troupe::mailbox_errc::handler_threw, std::string{e.what()});
        }
      });
      return {[](crash_atom) { throw std::runtime_error("injected crash"); }};
    });
  };
  return spec;
}

caf::actor child_actor(const troupe::supervisor& sup, const std::string& id) {
  auto children = sup.which_children().value();
  for (auto& child : children)
    if (child.id == id)
      return child.actor;
  return {};
}

void print_tree(const troupe::supervisor& sup, const std::string& indent) {
  auto children = sup.which_children().value();
  for (auto& child : children) {
    std::cout << indent << child.id << ": " << troupe::to_string(child.state)
              << ", restarts=" << child.restarts << '\n';
    if (child.is_supervisor && child.actor)
      print_tree(troupe::supervisor{*troupe::runtime::of(child.actor->home_system()), child.actor},
                 indent + "  ");
  }
}

} // namespace

int main(int argc, char** argv) {
  example::command_line cli{
      argc,
      argv,
      "supervision_tree: a supervision tree that survives injected crashes",
      {example::text("topology-out", "PATH", "save the topology there at the end", "")}};
  if (cli.done())
    return cli.exit_code();
  auto cfg = &cli.config();
  troupe::runtime rt{*cfg};

  troupe::supervisor_spec pipeline;
  pipeline.name = "pipeline";
  pipeline.strategy = troupe::restart_strategy::rest_for_one;
  pipeline.intensity = 5;
  pipeline.children = {crashable("parser"), crashable("writer")};

  troupe::supervisor_spec root_spec;
  root_spec.name = "root";
  root_spec.intensity = 5;
  root_spec.period = 10s;
  root_spec.children = {crashable("metrics"), troupe::supervisor_child("pipeline", pipeline)};
  auto root = troupe::start_supervisor(rt, root_spec);
  if (!root) {
    std::cerr << troupe::render(root.error()) << '\n';
    return 1;
  }
  auto pipeline_sup = troupe::supervisor{rt, child_actor(*root, "pipeline")};

  // Each crash is followed by waiting until the supervisor has restarted the child.
  auto crash_and_wait = [](const troupe::supervisor& sup, const std::string& id) {
    auto before = child_actor(sup, id);
    caf::anon_send(before, crash_atom::value);
    for (int i = 0; i < 5000; ++i) {
      auto now = child_actor(sup, id);
      if (now && now != before)
        return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  };
  bool ok = crash_and_wait(*root, "metrics");
  ok = crash_and_wait(pipeline_sup, "parser") && ok; // rest_for_one: the writer restarts too
  ok = crash_and_wait(pipeline_sup, "writer") && ok;

  std::cout << "tree after 3 injected crashes:\n";
  print_tree(*root, "  ");
  auto restarts = [](const troupe::supervisor& sup, const std::string& id) {
    auto children = sup.which_children().value();
    for (auto& child : children)
      if (child.id == id)
        return child.restarts;
    return uint64_t{0};
  };
  ok = ok && restarts(*root, "metrics") == 1 && restarts(*root, "pipeline") == 0 &&
       restarts(pipeline_sup, "parser") == 1 && restarts(pipeline_sup, "writer") == 2;

  // `topology-out=PATH`: save the live topology (what the admin endpoint and SIGUSR1 show).
  bool written = true;
  if (auto& path = cli.value("topology-out"); !path.empty())
    if (auto write_err = troupe::write_file_atomically(path, rt.topology().dump(2))) {
      std::cerr << "topology not written: " << troupe::render(write_err) << '\n';
      written = false;
    }

  auto err = root->stop(5s);
  std::cout << "stopped: " << (err ? troupe::render(err) : "in reverse start order") << '\n';
  std::cout << (ok ? "every crash was contained" : "unexpected restart counts") << '\n';
  return ok && written && !err ? 0 : 1;
}
