#pragma once

// Two runtimes in one process, a server node and a client node on loopback: the fixture of the
// in-process distribution tests.

#include <gtest/gtest.h>

#include "distribution/wire_types.hpp"
#include "troupe/distribution.hpp"
#include "troupe/troupe.hpp"

namespace troupe::test {

inline runtime_config two_workers() {
  runtime_config cfg;
  cfg.workers = 2;
  return cfg;
}

class client_server_fixture : public ::testing::Test {
protected:
  network_setup net = test_network();
  runtime server_rt{two_workers(), net.customizer()};
  runtime client_rt{two_workers(), net.customizer()};
  node server = node::start(server_rt, net).value();
  node client = node::start(client_rt, net).value();
};

} // namespace troupe::test
