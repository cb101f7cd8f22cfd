// A running system for the viewer's browser test (viewer_restart_test.py): one supervisor,
// "probe", with one permanent child, "victim". Prints the admin endpoint's address, then reads
// commands from stdin: `crash` makes the victim exit abnormally (its supervisor restarts it),
// end of input stops the runtime.
#include <iostream>
#include <string>

#include <troupe/troupe.hpp>

int main() {
  troupe::runtime_config cfg;
  cfg.workers = 2;
  cfg.admin_port = 0;
  troupe::runtime rt{cfg};
  auto victim = [](const troupe::child_context& ctx) {
    return ctx.rt.spawn([](caf::event_based_actor* self) -> caf::behavior {
      return {[self](const std::string&) { self->quit(caf::sec::runtime_error); }};
    });
  };
  troupe::child_spec child;
  child.id = "victim";
  child.start = victim;
  troupe::supervisor_spec spec;
  spec.name = "probe";
  spec.intensity = 100;
  spec.children = {child};
  auto root = troupe::start_supervisor(rt, spec);
  if (!root) {
    std::cerr << "cannot start the supervisor: " << troupe::render(root.error()) << "\n";
    return 1;
  }
  std::cout << "admin http://127.0.0.1:" << rt.admin_port() << "/" << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    if (line != "crash")
      continue;
    auto children = root->which_children();
    if (!children || children->empty() || !children->front().actor) {
      std::cerr << "no victim to crash\n";
      return 1;
    }
    caf::anon_send(children->front().actor, std::string{"crash"});
    std::cout << "crashed" << std::endl;
  }
  return 0; // the runtime's destructor stops the tree
}
