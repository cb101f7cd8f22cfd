#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/runtime/runtime.hpp"

namespace {

using troupe::test::body_of;
using troupe::test::connect_to;
using troupe::test::http_exchange;

class AdminEndpoint : public troupe::test::runtime_fixture {
public:
  static troupe::runtime_config with_endpoint() {
    auto cfg = default_config();
    cfg.admin_port = 0; // any free port
    return cfg;
  }
  AdminEndpoint() : runtime_fixture(with_endpoint()) {}
};

TEST_F(AdminEndpoint, ServesTheTopologyAsJson) {
  auto actor = rt->spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  ASSERT_NE(rt->admin_port(), 0);
  auto response = http_exchange(rt->admin_port(), "GET /topology HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Type: application/json"), std::string::npos);
  auto dump = nlohmann::json::parse(body_of(response));
  EXPECT_EQ(dump.at("format"), "troupe-topology");
  bool found = false;
  for (auto& a : dump.at("actors"))
    found = found || a.at("id") == actor.id();
  EXPECT_TRUE(found) << dump.dump(2);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_F(AdminEndpoint, ServesPrometheusMetrics) {
  auto response = http_exchange(rt->admin_port(), "GET /metrics HTTP/1.0\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("text/plain; version=0.0.4"), std::string::npos);
  auto body = body_of(response);
  EXPECT_NE(body.find("# TYPE troupe_live_actors gauge\ntroupe_live_actors "), std::string::npos)
      << body;
  EXPECT_NE(body.find("troupe_workers 2\n"), std::string::npos) << body;
}

TEST_F(AdminEndpoint, AnswersOtherPathsMethodsAndMalformedRequestsWith4xx) {
  auto port = rt->admin_port();
  EXPECT_EQ(http_exchange(port, "GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  auto post = http_exchange(port, "POST /topology HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  EXPECT_NE(post.find("Allow: GET"), std::string::npos);
  EXPECT_EQ(http_exchange(port, "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_exchange(port, "GET /topology FTP/9\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(http_exchange(port, "GET\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  // Only HTTP/1.0 and HTTP/1.1, exactly.
  for (auto* version : {"HTTP/1.9", "HTTP/1.1junk", "HTTP/1.", "HTTP/1.1 x"}) {
    std::string request = "GET /metrics ";
    request.append(version).append("\r\n\r\n");
    auto reply = http_exchange(port, request);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << version << ": " << reply;
  }
  // Built by appending: g++ 12 at -O3 reports false array-bounds/stringop-overflow warnings on
  // `"literal" + std::string + "literal"`.
  // Too many header bytes after a complete request line: 431, not 414.
  std::string big_header = "GET /metrics HTTP/1.1\r\nX-Big: ";
  big_header.append(20'000, 'b').append("\r\n\r\n");
  auto big = http_exchange(port, big_header);
  EXPECT_EQ(big.rfind("HTTP/1.1 431", 0), 0u) << big.substr(0, 80);
  std::string long_target = "GET /";
  long_target.append(20'000, 'a').append(" HTTP/1.1\r\n\r\n");
  EXPECT_EQ(http_exchange(port, long_target).rfind("HTTP/1.1 414", 0), 0u);
  // Clients that vanish (silently, or mid-request) do not take the endpoint down.
  ::close(connect_to(port));
  int half = connect_to(port);
  ::send(half, "GET /topo", 9, MSG_NOSIGNAL);
  ::close(half);
  EXPECT_EQ(http_exchange(port, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(AdminEndpoint, ServesTheTopologyViewerAtTheRoot) {
  auto response = http_exchange(rt->admin_port(), "GET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response.substr(0, 200);
  EXPECT_NE(response.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  // The very page in tools/viewer, which polls /topology when served over HTTP.
  std::ifstream in{std::string{TROUPE_SOURCE_DIR} + "/tools/viewer/troupe-viewer.html",
                   std::ios::binary | std::ios::ate};
  std::string page(static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0)), '\0');
  in.seekg(0);
  in.read(page.data(), static_cast<std::streamsize>(page.size()));
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(body_of(response), page);
  EXPECT_NE(page.find("fetch(\"/topology\""), std::string::npos);
}

TEST_F(AdminEndpoint, KeepsAConnectionAliveAcrossRequestsIncludingPipelinedOnes) {
  int fd = connect_to(rt->admin_port());
  ASSERT_GE(fd, 0);
  troupe::test::response_reader responses{fd};
  std::string first = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(fd, first.data(), first.size(), MSG_NOSIGNAL);
  auto one = responses.next();
  EXPECT_EQ(one.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << one;
  EXPECT_NE(one.find("Keep-Alive: "), std::string::npos) << one;
  // Two more in one write: answered in order on the same connection.
  std::string two = "GET /topology HTTP/1.1\r\n\r\nHEAD /metrics HTTP/1.1\r\n\r\n";
  ::send(fd, two.data(), two.size(), MSG_NOSIGNAL);
  auto topology = responses.next();
  ASSERT_EQ(topology.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << topology;
  EXPECT_EQ(nlohmann::json::parse(body_of(topology)).at("format"), "troupe-topology");
  // HEAD: the GET's headers (its Content-Length included), no body; then the client closes.
  auto head = responses.next(true);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("text/plain; version=0.0.4"), std::string::npos) << head;
  ::shutdown(fd, SHUT_WR);
  EXPECT_EQ(responses.rest(), "");
  ::close(fd);
}

#ifdef TROUPE_TOP_PATH
// troupe-top fetches the live topology from the endpoint and prints the tree.
TEST_F(AdminEndpoint, TroupeTopPrintsTheLiveTree) {
  auto actor = rt->spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  auto command = std::string{TROUPE_TOP_PATH} + " --port=" + std::to_string(rt->admin_port());
  std::string output;
  if (auto* pipe = ::popen(command.c_str(), "r")) {
    std::array<char, 4096> buf{};
    while (auto n = std::fread(buf.data(), 1, buf.size(), pipe))
      output.append(buf.data(), n);
    EXPECT_EQ(::pclose(pipe), 0) << output;
  }
  EXPECT_NE(output.find("runtime: 2 workers"), std::string::npos) << output;
  std::string actor_tag = "#";
  actor_tag.append(std::to_string(actor.id())).append("]");
  EXPECT_NE(output.find(actor_tag), std::string::npos) << output;
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  // A port nobody listens on: a clear error and exit code 1.
  auto* pipe = ::popen((std::string{TROUPE_TOP_PATH} + " --port=1 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::array<char, 512> buf{};
  auto n = std::fread(buf.data(), 1, buf.size(), pipe);
  EXPECT_NE(std::string(buf.data(), n).find("cannot connect"), std::string::npos);
  EXPECT_EQ(WEXITSTATUS(::pclose(pipe)), 1);
}
// Runs `command` (stderr folded into stdout) and returns its exit code and output.
namespace {
std::pair<int, std::string> run_command(const std::string& command) {
  std::string output;
  auto* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr)
    return {-1, "cannot run " + command};
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe))
    output.append(buf.data(), n);
  auto status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}
} // namespace

TEST(TroupeTop, HelpGoesToStdoutWithExitCodeZero) {
  // stderr to /dev/null: the usage must be on stdout.
  auto [rc, out] = run_command(std::string{TROUPE_TOP_PATH} + " --help 2>/dev/null");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("usage: troupe-top --port=N"), std::string::npos) << out;
  EXPECT_NE(out.find("--watch=SECONDS"), std::string::npos) << out;
}

TEST(TroupeTop, EachMistakeIsNamedWithExitCodeTwo) {
  const std::pair<const char*, const char*> cases[] = {
      {"--prot=9100", "unknown argument '--prot=9100'"},
      {"--port=abc", "'--port=abc': not a whole number in 1..65535"},
      {"--port=70000", "'--port=70000': not a whole number in 1..65535"},
      {"--port", "'--port' needs a value"},
      {"--port=1 --host=localhost", "'--host=localhost': not a dotted IPv4 address"},
      {"--port=1 --watch=-1", "'--watch=-1': not a number of seconds"},
      {"--port=1 --count=2", "--count needs --watch=SECONDS"},
      {"", "give --port=N (a live service) or --file=PATH (a dump)"},
      {"--port=1 --file=x.json", "--port and --file exclude each other"},
  };
  for (auto [args, message] : cases) {
    std::string command = TROUPE_TOP_PATH; // appended: see long_target above
    command.append(" ").append(args);
    auto [rc, out] = run_command(command);
    EXPECT_EQ(rc, 2) << args << ": " << out;
    EXPECT_NE(out.find(message), std::string::npos) << args << ": " << out;
  }
}

TEST_F(AdminEndpoint, TroupeTopWatchReprintsTheViewEveryInterval) {
  auto command = std::string{TROUPE_TOP_PATH} + " --port=" + std::to_string(rt->admin_port()) +
                 " --watch=0.05 --count=3";
  auto [rc, out] = run_command(command);
  EXPECT_EQ(rc, 0) << out;
  std::size_t views = 0;
  for (auto at = out.find("runtime: 2 workers"); at != std::string::npos;
       at = out.find("runtime: 2 workers", at + 1))
    ++views;
  EXPECT_EQ(views, 3u) << out;
  EXPECT_NE(out.find("--- view 3\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("--- view 4"), std::string::npos) << out;
}
#endif

TEST(AdminEndpointConfig, BindsToLoopbackByDefaultAndIsOffUnlessAsked) {
  troupe::runtime_config cfg;
  EXPECT_EQ(cfg.admin_address, "127.0.0.1");
  EXPECT_FALSE(cfg.admin_port.has_value());
  cfg.workers = 1;
  troupe::runtime rt{cfg};
  EXPECT_EQ(rt.admin_port(), 0);
  auto bad = troupe::runtime_config{};
  EXPECT_TRUE(bad.set("admin-port", "70000"));
}

TEST(TopologySignal, SigusrOneWritesTheTopologyToTheConfiguredFile) {
  auto path = std::filesystem::temp_directory_path() /
              ("troupe-topology-" + std::to_string(::getpid()) + ".json");
  std::filesystem::remove(path);
  troupe::runtime_config cfg;
  cfg.workers = 1;
  cfg.handle_signals = true;
  cfg.topology_file = path.string();
  troupe::runtime rt{cfg};
  ASSERT_EQ(std::raise(SIGUSR1), 0);
  ASSERT_TRUE(troupe::test::eventually([&] { return std::filesystem::exists(path); }));
  std::ifstream in{path};
  auto dump = nlohmann::json::parse(in);
  EXPECT_EQ(dump.at("format"), "troupe-topology");
  EXPECT_EQ(dump.at("runtime").at("workers"), 1);
  std::filesystem::remove(path);
}

} // namespace
