// troupe-top: prints a Troupe service's live topology as a tree, with states, mailbox depths
// and restart counts. It fetches GET /topology from the service's admin endpoint, or reads a
// dump from a file (a SIGUSR1 dump, runtime::topology() saved by the program).
//
//   troupe-top --port=9100 [--host=127.0.0.1] [--watch=SECONDS [--count=N]]
//   troupe-top --file=topology.json          (--file=- reads stdin)
//   troupe-top --help
//
// Exit codes: 0 printed; 1 could not fetch or parse the dump (in watch mode: the last view);
// 2 bad arguments (the message names the argument).

#include <array>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

bool fetch(const std::string& host, int port, std::string& body, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    error = "not an IPv4 address: " + host;
    ::close(fd);
    return false;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    error = "cannot connect to " + host + ":" + std::to_string(port);
    ::close(fd);
    return false;
  }
  std::string request = "GET /topology HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  std::array<char, 8192> buf{};
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    response.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (response.rfind("HTTP/1.1 200", 0) != 0) {
    error = "unexpected answer: " + response.substr(0, response.find('\r'));
    return false;
  }
  body = response.substr(response.find("\r\n\r\n") + 4);
  return true;
}

std::string mailbox_text(const json& node) {
  if (!node.contains("mailbox") || !node["mailbox"].is_object() || node["mailbox"].empty())
    return {};
  auto& m = node["mailbox"];
  std::ostringstream out;
  out << ", mailbox " << m.value("depth", 0);
  if (m.value("capacity", 0) > 0)
    out << '/' << m.value("capacity", 0);
  out << " (high " << m.value("high_water", 0) << ")";
  return out.str();
}

// Topic subscriptions and links; monitors are left to the JSON (every supervised child has one).
std::string relations_text(const json& node) {
  std::ostringstream out;
  auto list = [&](const char* key, const char* label) {
    auto i = node.find(key);
    if (i == node.end() || !i->is_array() || i->empty())
      return;
    out << ", " << label << ' ';
    for (std::size_t k = 0; k < i->size(); ++k) {
      out << (k == 0 ? "" : ",");
      if ((*i)[k].is_string())
        out << (*i)[k].get<std::string>();
      else
        out << '#' << (*i)[k].dump();
    }
  };
  list("subscriptions", "subscribed to");
  list("links", "linked to");
  return out.str();
}

void print_node(const json& node, const std::string& indent);

void print_children(const json& node, const std::string& indent) {
  auto& children = node["children"];
  for (std::size_t i = 0; i < children.size(); ++i) {
    auto& c = children[i];
    bool last = i + 1 == children.size();
    std::cout << indent << (last ? "└─ " : "├─ ") << c.value("id", "?") << ": "
              << c.value("state", "?") << ", restarts " << c.value("restarts", 0);
    if (c.contains("last_exit_reason") && c["last_exit_reason"].is_string())
      std::cout << ", last exit " << c["last_exit_reason"].get<std::string>();
    if (c["actor"].is_object()) {
      auto& a = c["actor"];
      std::cout << " [" << a.value("kind", "actor") << " #" << a.value("id", 0) << "]"
                << mailbox_text(a) << relations_text(a) << '\n';
      if (a.contains("children"))
        print_children(a, indent + (last ? "   " : "│  "));
    } else {
      std::cout << '\n';
    }
  }
}

void print_node(const json& node, const std::string& indent) {
  std::cout << indent << node.value("name", "?") << " [" << node.value("kind", "actor") << " #"
            << node.value("id", 0) << "]" << mailbox_text(node) << relations_text(node) << '\n';
  if (node.contains("children"))
    print_children(node, indent);
}

int print(const json& dump) {
  if (dump.value("format", "") != "troupe-topology") {
    std::cerr << "troupe-top: not a Troupe topology dump\n";
    return 1;
  }
  auto& rt = dump["runtime"];
  std::cout << "runtime: " << rt.value("workers", 0) << " workers, " << rt.value("flavor", "?")
            << ", " << rt.value("live_actors", 0) << " live actors, up "
            << rt.value("uptime_ms", 0) / 1000.0 << " s, dead letters "
            << dump.value("dead_letters", 0) << '\n';
  std::cout << "supervision:\n";
  for (auto& tree : dump["supervision"])
    print_node(tree, "  ");
  std::cout << "actors:\n";
  for (auto& actor : dump["actors"])
    print_node(actor, "  ");
  std::cout << "topics:\n";
  for (auto& t : dump["topics"])
    std::cout << "  " << t.value("name", "?") << ": " << t.value("subscribers", 0)
              << " subscribers, " << t.value("published", 0) << " published\n";
  std::cout << "pools:\n";
  for (auto& p : dump["pools"])
    std::cout << "  " << p.value("name", "?") << ": " << p.value("workers", 0) << " workers, queue "
              << p.value("queue_depth", 0) << '/' << p.value("capacity", 0) << ", completed "
              << p.value("completed", 0) << ", failed " << p.value("failed", 0) << ", restarts "
              << p.value("restarts", 0) << '\n';
  return 0;
}

constexpr std::string_view usage_text =
    "usage: troupe-top --port=N [--host=ADDR] [--watch=SECONDS [--count=N]]\n"
    "       troupe-top --file=PATH             (PATH '-' reads stdin)\n"
    "\n"
    "Prints a Troupe service's topology as a tree: from its admin endpoint (--admin-port of the\n"
    "service) or from a saved dump.\n"
    "  --port=N         the admin endpoint's port (1..65535)\n"
    "  --host=ADDR      the admin endpoint's dotted IPv4 address (default 127.0.0.1)\n"
    "  --file=PATH      read a dump instead (a SIGUSR1 dump, runtime::topology() saved)\n"
    "  --watch=SECONDS  print the view again every SECONDS (e.g. 2 or 0.5) until interrupted\n"
    "  --count=N        with --watch: stop after N views\n"
    "  --help           print this text\n"
    "Exit codes: 0 printed; 1 could not fetch or parse the dump; 2 bad arguments.\n";

struct options {
  std::string host = "127.0.0.1";
  int port = -1;
  std::string file;
  double watch_seconds = 0; // 0: print once
  long count = 0;           // 0: until interrupted
  bool help = false;
};

// Parses argv; on a mistake returns the message naming the argument.
std::optional<std::string> parse(int argc, char** argv, options& out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : arg.substr(eq + 1);
    // Appended piecewise: GCC 12's -Wrestrict misfires on "'" + std::string in Release builds.
    std::string quoted;
    quoted.reserve(arg.size() + 2);
    quoted.append(1, '\'').append(arg).append(1, '\'');
    bool known = name == "--host" || name == "--port" || name == "--file" || name == "--watch" ||
                 name == "--count";
    if (!known)
      return "unknown argument " + quoted;
    if (eq == std::string_view::npos || value.empty())
      return quoted + " needs a value: " + std::string{name} + "=...";
    if (name == "--host") {
      in_addr addr{};
      if (::inet_pton(AF_INET, std::string{value}.c_str(), &addr) != 1)
        return quoted + ": not a dotted IPv4 address";
      out.host = std::string{value};
    } else if (name == "--port" || name == "--count") {
      long n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      long max = name == "--port" ? 65535 : 1'000'000'000;
      if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > max)
        return quoted + ": not a whole number in 1.." + std::to_string(max);
      if (name == "--port")
        out.port = static_cast<int>(n);
      else
        out.count = n;
    } else if (name == "--file") {
      out.file = std::string{value};
    } else {
      double seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc{} || end != value.data() + value.size() || !(seconds > 0) ||
          seconds > 86'400)
        return quoted + ": not a number of seconds in (0, 86400]";
      out.watch_seconds = seconds;
    }
  }
  if (out.help)
    return std::nullopt;
  if (out.port < 0 && out.file.empty())
    return "give --port=N (a live service) or --file=PATH (a dump)";
  if (out.port >= 0 && !out.file.empty())
    return "--port and --file exclude each other";
  if (out.count > 0 && out.watch_seconds == 0)
    return "--count needs --watch=SECONDS";
  if (out.watch_seconds > 0 && out.file == "-")
    return "--watch cannot re-read stdin (--file=-)";
  return std::nullopt;
}

// One view: fetch or read the dump and print it. 0 printed, 1 failed.
int show(const options& opts) {
  std::string text;
  if (!opts.file.empty()) {
    if (opts.file == "-") {
      std::ostringstream all;
      all << std::cin.rdbuf();
      text = all.str();
    } else {
      std::ifstream in{opts.file};
      if (!in) {
        std::cerr << "troupe-top: cannot read " << opts.file << '\n';
        return 1;
      }
      std::ostringstream all;
      all << in.rdbuf();
      text = all.str();
    }
  } else {
    std::string error;
    if (!fetch(opts.host, opts.port, text, error)) {
      std::cerr << "troupe-top: " << error << '\n';
      return 1;
    }
  }
  auto dump = json::parse(text, nullptr, false);
  if (dump.is_discarded()) {
    std::cerr << "troupe-top: the dump is not valid JSON\n";
    return 1;
  }
  return print(dump);
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  if (auto problem = parse(argc, argv, opts)) {
    std::cerr << "troupe-top: " << *problem << " (try --help)\n";
    return 2;
  }
  if (opts.help) {
    std::cout << usage_text;
    return 0;
  }
  if (opts.watch_seconds == 0)
    return show(opts);
  // Watch mode: a fresh view every interval, until interrupted (or --count views).
  bool terminal = ::isatty(STDOUT_FILENO) == 1;
  int status = 0;
  auto interval = std::chrono::duration<double>(opts.watch_seconds);
  for (long n = 1;; ++n) {
    if (terminal)
      std::cout << "\033[H\033[2J"; // clear the screen, as top does
    else
      std::cout << "--- view " << n << '\n';
    status = show(opts);
    std::cout << std::flush;
    if (opts.count > 0 && n >= opts.count)
      return status;
    std::this_thread::sleep_for(interval);
  }
}
