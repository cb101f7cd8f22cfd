#include "troupe/scheduler/detail/prometheus_text.hpp"

#include <sstream>

namespace troupe::detail {

namespace {

std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class writer {
public:
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }

  void sample(const char* name, const std::string& labels, const nlohmann::json& value) {
    if (!value.is_number())
      return;
    out_ << name;
    if (!labels.empty())
      out_ << '{' << labels << '}';
    out_ << ' ' << value.dump() << '\n';
  }

  std::string str() const { return out_.str(); }

private:
  std::ostringstream out_;
};

std::string label(const char* key, const std::string& value) {
  return std::string{key} + "=\"" + escape(value) + '"';
}

void walk(const nlohmann::json& node, const std::string& path, writer& mailboxes,
          writer& restarts) {
  auto name = node.value("name", std::string{});
  auto here = path.empty() ? name : path + "/" + name;
  if (node.contains("mailbox"))
    mailboxes.sample("troupe_mailbox_depth",
                     label("actor", here) + "," + label("id", std::to_string(node.value("id", 0))),
                     node["mailbox"].value("depth", nlohmann::json{}));
  if (!node.contains("children"))
    return;
  for (auto& child : node["children"]) {
    restarts.sample("troupe_child_restarts_total",
                    label("supervisor", here) + "," + label("child", child.value("id", "")),
                    child.value("restarts", nlohmann::json{}));
    if (!child["actor"].is_null())
      walk(child["actor"], here, mailboxes, restarts);
  }
}

} // namespace

std::string prometheus_text(const nlohmann::json& topology) {
  writer out;
  auto& rt = topology.at("runtime");
  auto gauge = [&](const char* name, const char* key, const char* help) {
    out.family(name, "gauge", help);
    out.sample(name, "", rt.value(key, nlohmann::json{}));
  };
  gauge("troupe_workers", "workers", "Scheduler worker threads.");
  gauge("troupe_live_actors", "live_actors", "Running actors of the actor system.");
  gauge("troupe_spawned_actors", "spawned_actors", "Running actors spawned through Troupe.");
  gauge("troupe_blocking_threads", "blocking_threads", "Threads of the blocking pool.");
  gauge("troupe_blocking_busy", "blocking_busy", "Blocking-pool threads running a job.");
  gauge("troupe_blocking_queue_depth", "blocking_queue_depth", "Blocking jobs waiting.");
  out.family("troupe_dead_letters_total", "counter", "Messages that reached no handler.");
  out.sample("troupe_dead_letters_total", "", topology.value("dead_letters", nlohmann::json{}));
  writer mailboxes;
  writer restarts;
  for (auto& tree : topology.at("supervision"))
    walk(tree, "", mailboxes, restarts);
  for (auto& actor : topology.at("actors"))
    walk(actor, "", mailboxes, restarts);
  std::string text = out.str();
  text += "# HELP troupe_mailbox_depth Messages waiting in a typed mailbox.\n"
          "# TYPE troupe_mailbox_depth gauge\n" +
          mailboxes.str();
  text += "# HELP troupe_child_restarts_total Restarts of a supervised child.\n"
          "# TYPE troupe_child_restarts_total counter\n" +
          restarts.str();
  struct pool_family {
    const char* name;
    const char* key;
    const char* type;
    const char* help;
  };
  constexpr pool_family families[] = {
      {"troupe_pool_queue_depth", "queue_depth", "gauge", "Jobs waiting in a pool's queue."},
      {"troupe_pool_completed_total", "completed", "counter", "Jobs answered with a result."},
      {"troupe_pool_failed_total", "failed", "counter", "Jobs answered with a crash."},
      {"troupe_pool_restarts_total", "restarts", "counter", "Restarts of a pool's workers."},
  };
  // Each family's samples in one group, as the format requires.
  for (auto& f : families) {
    writer family;
    family.family(f.name, f.type, f.help);
    for (auto& pool : topology.at("pools"))
      family.sample(f.name, label("pool", pool.value("name", "")),
                    pool.value(f.key, nlohmann::json{}));
    text += family.str();
  }
  return text;
}

} // namespace troupe::detail
