// The gate's handshake as a pure state machine: two sides exchanging frames in memory.

#include <string>

#include <gtest/gtest.h>

#include "troupe/distribution/detail/gate_handshake.hpp"

namespace {

using troupe::detail::gate_handshake;
using troupe::detail::gate_outcome;
using troupe::detail::gate_role;

struct exchange {
  gate_outcome client = gate_outcome::none;
  gate_outcome server = gate_outcome::none;
  std::string wire; // everything both sides sent
};

// Runs both sides to the end, delivering each side's output to the other in order.
exchange run(const std::string& client_key, const std::string& server_key) {
  gate_handshake c{gate_role::client, client_key};
  gate_handshake s{gate_role::server, server_key};
  std::string to_server{c.hello()};
  std::string to_client{s.hello()};
  exchange ex;
  ex.wire = to_server + to_client;
  for (int round = 0; round < 4; ++round) {
    if (ex.server == gate_outcome::none && to_server.size() >= s.expected()) {
      auto n = s.expected();
      std::string out;
      ex.server = s.on_frame(to_server.data(), n, out);
      to_server.erase(0, n);
      to_client += out;
      ex.wire += out;
    }
    if (ex.client == gate_outcome::none && to_client.size() >= c.expected()) {
      auto n = c.expected();
      std::string out;
      ex.client = c.on_frame(to_client.data(), n, out);
      to_client.erase(0, n);
      to_server += out;
      ex.wire += out;
    }
  }
  return ex;
}

TEST(gate_handshake_test, SidesWithTheSameSecretAuthenticateEachOther) {
  auto ex = run("a shared secret", "a shared secret");
  EXPECT_EQ(ex.client, gate_outcome::authenticated);
  EXPECT_EQ(ex.server, gate_outcome::authenticated);
  // Two hellos and two proofs; the secret itself is nowhere on the wire.
  EXPECT_EQ(ex.wire.size(), 2 * gate_handshake::hello_size + 2 * gate_handshake::proof_size);
  EXPECT_EQ(ex.wire.find("a shared secret"), std::string::npos);
}

TEST(gate_handshake_test, EmptySecretsOnBothSidesAuthenticate) {
  auto ex = run("", "");
  EXPECT_EQ(ex.client, gate_outcome::authenticated);
  EXPECT_EQ(ex.server, gate_outcome::authenticated);
}

TEST(gate_handshake_test, DifferentSecretsFailOnBothSides) {
  for (auto [c, s] : {std::pair{"one", "two"}, std::pair{"", "two"}, std::pair{"one", ""}}) {
    auto ex = run(c, s);
    EXPECT_EQ(ex.server, gate_outcome::authentication_failed) << c << " / " << s;
    // The server answers a wrong proof with a refusal the client cannot mistake for a proof.
    EXPECT_EQ(ex.client, gate_outcome::authentication_failed) << c << " / " << s;
  }
}

TEST(gate_handshake_test, NoncesDifferEveryTime) {
  gate_handshake a{gate_role::client, "k"};
  gate_handshake b{gate_role::client, "k"};
  EXPECT_NE(a.hello(), b.hello());
  EXPECT_EQ(a.hello().substr(0, 4), "TRPG");
}

TEST(gate_handshake_test, FramesThatAreNotAHelloAreMalformed) {
  gate_handshake server{gate_role::server, "k"};
  std::string out;
  std::string noise(gate_handshake::hello_size, 'x');
  EXPECT_EQ(server.on_frame(noise.data(), noise.size(), out), gate_outcome::malformed);
  EXPECT_TRUE(out.empty());
  // A server's hello sent to a server (wrong role) is malformed too.
  gate_handshake other{gate_role::server, "k"};
  gate_handshake fresh{gate_role::server, "k"};
  EXPECT_EQ(fresh.on_frame(other.hello().data(), other.hello().size(), out),
            gate_outcome::malformed);
  // A frame of the wrong size is malformed, whatever it holds.
  gate_handshake sized{gate_role::server, "k"};
  EXPECT_EQ(sized.on_frame(noise.data(), 12, out), gate_outcome::malformed);
}

// A server's proof reflected back to it as the client's proof does not pass: each proof names
// its prover.
TEST(gate_handshake_test, AReflectedProofDoesNotAuthenticate) {
  gate_handshake server{gate_role::server, "k"};
  gate_handshake client{gate_role::client, "k"};
  std::string out;
  ASSERT_EQ(server.on_frame(client.hello().data(), client.hello().size(), out), gate_outcome::none);
  std::string client_proof;
  ASSERT_EQ(client.on_frame(server.hello().data(), server.hello().size(), client_proof),
            gate_outcome::none);
  ASSERT_EQ(server.on_frame(client_proof.data(), client_proof.size(), out),
            gate_outcome::authenticated);
  // `out` holds the server's proof; a second server (same hellos) must not take it as the
  // client's.
  EXPECT_NE(out, client_proof);
}

} // namespace
