// The introspection seam as a component sees it, with no Troupe component above the runtime: a
// component's metric families appear in /metrics, its row details and actor details in the
// topology (rendered only when dumped), its sections even while empty, and the typed named
// registry refuses with typed errors.

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/heap_in_use.hpp"
#include "support/http_client.hpp"
#include "support/runtime_fixture.hpp"
#include "troupe/troupe.hpp"

using nlohmann::json;

namespace {

// -- a component of this test: gadgets in their own section, owners with rows ----------------

void sample_level(const troupe::metric_family& family, const troupe::metric_source& source,
                  troupe::sample_writer& out) {
  out.add({{"gadget", source.entry.value("name", std::string{})}},
          source.entry.value(std::string{family.field}, json{}));
}

void sample_load(const troupe::metric_family& family, const troupe::metric_source& source,
                 troupe::sample_writer& out) {
  auto load = source.entry.find(std::string{family.field});
  if (load != source.entry.end())
    out.add({{"actor", source.path}}, load->value("value", json{}));
}

void sample_weight(const troupe::metric_family& family, const troupe::metric_source& source,
                   troupe::sample_writer& out) {
  out.add({{"owner", source.path}, {"row", source.entry.value("id", std::string{})}},
          source.entry.value(std::string{family.field}, json{}));
}

constexpr troupe::metric_family gadget_level{"test_gadget_level",
                                             troupe::metric_type::gauge,
                                             "Level of a gadget.",
                                             troupe::metric_scope::section,
                                             "gadgets",
                                             "level",
                                             &sample_level};
constexpr troupe::metric_family actor_load{"test_actor_load",
                                           troupe::metric_type::gauge,
                                           "Load of an actor.",
                                           troupe::metric_scope::node,
                                           {},
                                           "load",
                                           &sample_load};
constexpr troupe::metric_family row_weight{"test_row_weight_total",
                                           troupe::metric_type::counter,
                                           "Weight of a row.",
                                           troupe::metric_scope::row,
                                           {},
                                           "weight",
                                           &sample_weight};

// A row's details that count how often they were rendered.
class weight_details final : public troupe::topology_registry::row_details {
public:
  weight_details(int weight, std::shared_ptr<std::atomic<int>> renders)
      : weight_(weight), renders_(std::move(renders)) {}

  void to_json(json& row) const override {
    ++*renders_;
    row["weight"] = weight_;
  }

private:
  int weight_;
  std::shared_ptr<std::atomic<int>> renders_;
};

class named_actor : public caf::event_based_actor {
public:
  named_actor(caf::actor_config& cfg, std::string name)
      : caf::event_based_actor(cfg), name_(std::move(name)) {}

  const char* name() const override { return name_.c_str(); }

  caf::behavior make_behavior() override {
    return {[](int x) { return x; }};
  }

private:
  std::string name_;
};

// An owner's live figures, read from the actor when a dump is taken (its node holds nothing).
json owner_load(const caf::abstract_actor&) {
  return json{{"value", 3}};
}

// A gadget's live figures name the actor they were read from.
json gadget_figures(const caf::abstract_actor& actor) {
  return json{{"of", static_cast<const caf::monitorable_actor&>(actor).name()}};
}

troupe::runtime_config admin_config() {
  auto cfg = troupe::test::runtime_fixture::default_config();
  cfg.admin_port = 0;
  return cfg;
}

class introspection_seam_test : public troupe::test::runtime_fixture {
protected:
  introspection_seam_test() : runtime_fixture(admin_config()) {}

  void TearDown() override {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    runtime_fixture::TearDown();
  }

  // An owner with one row for a child, as a component that owns actors would record it.
  std::pair<caf::actor, caf::actor> owner_with_child(std::shared_ptr<std::atomic<int>> renders) {
    auto owner = rt->spawn<named_actor>(std::string{"owner"});
    auto child = rt->spawn<named_actor>(std::string{"kid"});
    actors = {owner, child};
    static constexpr troupe::topology_registry::profile owner_shape{.kind = "owner",
                                                                    .section = "owners",
                                                                    .details_key = "load",
                                                                    .has_rows = true,
                                                                    .figures = &owner_load};
    rt->registry().describe(owner.id(), &owner_shape);
    troupe::topology_registry::child_row row;
    row.id = "c1";
    row.actor = child.id();
    row.state = "busy";
    row.details = std::make_unique<weight_details>(5, std::move(renders));
    rt->registry().set_child(owner.id(), 1, std::move(row));
    return {owner, child};
  }

  std::string metrics_text() {
    return troupe::test::body_of(
        troupe::test::http_exchange(rt->admin_port(), "GET /metrics HTTP/1.0\r\n\r\n"));
  }

  std::vector<caf::actor> actors;
};

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST_F(introspection_seam_test, AComponentsMetricFamiliesAppearInMetricsInScopeOrderOnceEach) {
  owner_with_child(std::make_shared<std::atomic<int>>(0));
  auto g1 = rt->registry().add_component("gadgets", "g1", [] { return json{{"level", 7}}; });
  auto g2 = rt->registry().add_component("gadgets", "g\"2", [] { return json{{"level", 1.5}}; });
  // Declared section first: families still print node, row, then section families.
  rt->metric_families().declare(gadget_level);
  rt->metric_families().declare(row_weight);
  rt->metric_families().declare(actor_load);
  rt->metric_families().declare(row_weight);

  auto text = metrics_text();
  EXPECT_NE(text.find("# HELP test_actor_load Load of an actor.\n"
                      "# TYPE test_actor_load gauge\n"
                      "test_actor_load{actor=\"owner\"} 3\n"
                      "# HELP test_row_weight_total Weight of a row.\n"
                      "# TYPE test_row_weight_total counter\n"
                      "test_row_weight_total{owner=\"owner\",row=\"c1\"} 5\n"
                      "# HELP test_gadget_level Level of a gadget.\n"
                      "# TYPE test_gadget_level gauge\n"
                      "test_gadget_level{gadget=\"g1\"} 7\n"
                      "test_gadget_level{gadget=\"g\\\"2\"} 1.5\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(count_of(text, "# HELP test_row_weight_total"), 1u) << text;
  // The runtime's own figures come first, untouched.
  EXPECT_EQ(text.rfind("# HELP troupe_workers Scheduler worker threads.\n", 0), 0u) << text;
  rt->registry().remove_component(g1);
  rt->registry().remove_component(g2);
  text = metrics_text();
  EXPECT_NE(text.find("# TYPE test_gadget_level gauge\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("test_gadget_level{"), std::string::npos) << text;
}

// Every live actor has a node, so a node's bytes count in every actor's. What a kind of actor
// shows (kind, section, details key, rows) is one pointer to its static profile (as four fields
// it cost each node 56 bytes), and a dump reads the actor's name from the actor (a copy cost 32
// more): a node with its table entry took 192 bytes of heap. The node has a block of its own
// and the flat table keeps an id and a pointer, as its free slots cost as much as used ones:
// here 1,250 ids a shard in 2,048 slots, 26 bytes of table per node (92 with the node in the
// slot). Nor does it hold the actor's live figures (a weak reference was 16 bytes: the dump
// reads them from the actor), so the node is 32 bytes: 59 with its share of the table.
TEST(topology_registry, ANodeCostsUnder64BytesOfHeap) {
  constexpr int actors = 20'000;
  static constexpr troupe::topology_registry::profile gadget{.kind = "gadget",
                                                             .details_key = "load"};
  troupe::topology_registry registry;
  auto before = troupe::test::heap_in_use();
  for (caf::actor_id id = 1; id <= actors; ++id)
    registry.add_actor(id, caf::actor_addr{}, &gadget);
  auto per_node = (troupe::test::heap_in_use() - before) / actors;
  EXPECT_EQ(registry.size(), static_cast<std::size_t>(actors));
  EXPECT_LT(per_node, 64) << per_node << " bytes per node";
}

// A node keeps no figures of its own: the dump reads them from the live actor through its
// kind's profile, and a node whose actor is gone (its node not removed yet) shows null.
TEST(topology_registry, ANodeShowsFiguresReadFromItsActorAndNullOnceTheActorIsGone) {
  troupe::topology_registry registry;
  static constexpr troupe::topology_registry::profile gadget{
      .kind = "gadget", .details_key = "load", .figures = &gadget_figures};
  static constexpr troupe::topology_registry::profile silent{.kind = "silent",
                                                             .details_key = "load"};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = sys.spawn<named_actor>(std::string{"g1"});
  auto b = sys.spawn<named_actor>(std::string{"s1"});
  registry.add_actor(a.id(), a.address(), &gadget);
  registry.add_actor(b.id(), b.address(), &silent);

  auto dump = registry.dump();
  ASSERT_EQ(dump.at("actors").size(), 2u) << dump.dump(2);
  for (auto& node : dump.at("actors")) {
    if (node.at("id") == a.id())
      EXPECT_EQ(node.at("load"), (json{{"of", "g1"}})) << dump.dump(2);
    else
      EXPECT_TRUE(node.at("load").is_null()) << "a profile without figures: " << dump.dump(2);
  }

  // The actor ends and its last handle goes: the node (nothing removed it) shows null, once
  // the worker that ran the actor last let go of it too.
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  a = nullptr;
  auto gadget_gone = [&] {
    dump = registry.dump();
    int gone = 0;
    for (auto& node : dump.at("actors"))
      if (node.at("kind") == "gadget" && node.at("load").is_null() && node.at("name") == "")
        ++gone;
    return dump.at("actors").size() == 2 && gone == 1;
  };
  EXPECT_TRUE(troupe::test::eventually(gadget_gone)) << dump.dump(2);
}

// A component that knows its actor's profile when it spawns it registers both in one step
// (runtime::spawn): the node shows the kind and the live figures at once, and a
// profile given before (while the actor was constructed) is kept.
TEST(topology_registry, AnActorAddedWithItsProfileShowsItsKindAndFigures) {
  troupe::topology_registry registry;
  static constexpr troupe::topology_registry::profile gadget{
      .kind = "gadget", .details_key = "load", .figures = &gadget_figures};
  static constexpr troupe::topology_registry::profile other{.kind = "other"};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = sys.spawn<named_actor>(std::string{"first"});
  auto b = sys.spawn<named_actor>(std::string{"second"});
  registry.add_actor(a.id(), a.address(), &gadget);
  registry.describe(b.id(), &gadget);
  registry.add_actor(b.id(), b.address(), &other);
  auto dump = registry.dump();
  ASSERT_EQ(dump.at("actors").size(), 2u) << dump.dump(2);
  std::set<std::string> figures_of;
  for (auto& node : dump.at("actors")) {
    EXPECT_EQ(node.at("kind"), "gadget") << dump.dump(2);
    figures_of.insert(node.at("load").at("of").get<std::string>());
  }
  EXPECT_EQ(figures_of, (std::set<std::string>{"first", "second"})) << dump.dump(2);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

// The registry is also the runtime's table of tracked actors (shutdown reads it): an actor is
// registered by its add, whether or not a description or rows made its node before, and once
// only; the owned mark and the address come back in registered().
TEST(topology_registry, AnActorIsRegisteredByItsAddOnceAndListedWithItsOwnedMark) {
  troupe::topology_registry registry;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto a = sys.spawn([] { return caf::behavior{[](int) {}}; });
  static constexpr troupe::topology_registry::profile owner{.kind = "owner", .has_rows = true};

  // Nodes made before their adds: a description (an actor describing itself while it is
  // constructed) and an owner's rows.
  registry.describe(8, &owner);
  registry.set_child(9, 1, {.id = "kid", .actor = 0, .state = "starting", .details = nullptr});
  EXPECT_FALSE(registry.contains(8));
  EXPECT_FALSE(registry.contains(9));
  EXPECT_TRUE(registry.registered().empty());
  registry.set_owned(8); // not registered: ignored
  EXPECT_FALSE(registry.remove_actor(8)) << "a described node is not a registered actor";
  EXPECT_EQ(registry.registered_count(), 0u);
  EXPECT_TRUE(registry.none_registered());

  EXPECT_TRUE(registry.add_actor(7, a.address()));
  EXPECT_FALSE(registry.add_actor(7, a.address())) << "a second add registers nothing new";
  EXPECT_TRUE(registry.add_actor(9, caf::actor_addr{}, &owner)) << "its rows came first";
  EXPECT_EQ(registry.registered_count(), 2u) << "two shards' counts";
  EXPECT_FALSE(registry.none_registered());
  registry.set_owned(7);
  EXPECT_TRUE(registry.contains(7));
  EXPECT_TRUE(registry.contains(9));

  auto listed = registry.registered();
  std::sort(listed.begin(), listed.end(), [](auto& x, auto& y) { return x.id < y.id; });
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, 7u);
  EXPECT_EQ(listed[0].addr, a.address());
  EXPECT_TRUE(listed[0].owned);
  EXPECT_EQ(listed[1].id, 9u);
  EXPECT_FALSE(listed[1].owned);
  // The owner's rows survived its add.
  auto dump = registry.dump();
  ASSERT_EQ(dump.at("actors").size(), 2u) << dump.dump(2);
  for (auto& node : dump.at("actors")) {
    if (node.at("id") == 9) {
      EXPECT_EQ(node.at("children").size(), 1u) << dump.dump(2);
    }
  }

  EXPECT_TRUE(registry.remove_actor(7));
  EXPECT_FALSE(registry.remove_actor(7));
  EXPECT_FALSE(registry.contains(7));
  EXPECT_EQ(registry.registered_count(), 1u);
  EXPECT_FALSE(registry.none_registered());
  EXPECT_TRUE(registry.remove_actor(9));
  EXPECT_TRUE(registry.registered().empty());
  EXPECT_EQ(registry.registered_count(), 0u);
  EXPECT_TRUE(registry.none_registered());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

// Introspection off: dumps list no actor and descriptions are not kept, but actors are still
// registered, for the runtime's shutdown.
TEST(topology_registry, OffItStillRegistersActorsButListsNoneInADump) {
  troupe::topology_registry registry;
  registry.set_enabled(false);
  static constexpr troupe::topology_registry::profile gadget{.kind = "gadget"};
  EXPECT_TRUE(registry.add_actor(7, caf::actor_addr{}, &gadget));
  registry.describe(8, &gadget);
  registry.set_owned(7);
  EXPECT_TRUE(registry.contains(7));
  EXPECT_FALSE(registry.contains(8));
  ASSERT_EQ(registry.registered().size(), 1u);
  EXPECT_TRUE(registry.registered()[0].owned);
  EXPECT_TRUE(registry.dump().at("actors").empty()) << registry.dump().dump(2);
  EXPECT_TRUE(registry.remove_actor(7));
  EXPECT_EQ(registry.size(), 0u);
}

TEST_F(introspection_seam_test, ARowsDetailsAppearInTheDumpRenderedOnlyWhenDumped) {
  auto renders = std::make_shared<std::atomic<int>>(0);
  auto [owner, child] = owner_with_child(renders);
  EXPECT_EQ(renders->load(), 0);

  auto dump = rt->topology();
  EXPECT_EQ(renders->load(), 1);
  ASSERT_EQ(dump.at("owners").size(), 1u) << dump.dump(2);
  auto& node = dump.at("owners")[0];
  EXPECT_EQ(node.at("kind"), "owner");
  EXPECT_EQ(node.at("load"), (json{{"value", 3}}));
  ASSERT_EQ(node.at("children").size(), 1u) << dump.dump(2);
  auto& row = node.at("children")[0];
  EXPECT_EQ(row.at("id"), "c1");
  EXPECT_EQ(row.at("state"), "busy");
  EXPECT_EQ(row.at("weight"), 5);
  // The row names its running child, whose node takes the row's state and the owner as parent.
  EXPECT_EQ(row.at("actor").at("id"), child.id());
  EXPECT_EQ(row.at("actor").at("parent"), owner.id());
  EXPECT_EQ(row.at("actor").at("state"), "busy");
  EXPECT_FALSE(row.at("actor").contains("children"));
  // The child is not listed free-standing as well.
  for (auto& a : dump.at("actors"))
    EXPECT_NE(a.at("id"), child.id()) << dump.dump(2);

  rt->registry().remove_child(owner.id(), 1);
  dump = rt->topology();
  EXPECT_EQ(renders->load(), 1);
  EXPECT_TRUE(dump.at("owners")[0].at("children").empty()) << dump.dump(2);
}

TEST_F(introspection_seam_test, ABareRuntimesDumpListsTheSectionsTheSchemaRequires) {
  auto dump = rt->topology();
  for (auto* section : {"supervision", "actors", "topics", "pools"}) {
    ASSERT_TRUE(dump.contains(section)) << section << ": " << dump.dump(2);
    EXPECT_TRUE(dump.at(section).is_array()) << section;
  }
  EXPECT_TRUE(dump.at("supervision").empty());
  EXPECT_TRUE(dump.at("topics").empty());
  EXPECT_TRUE(dump.at("pools").empty());
  // A section a component declares is listed while empty too.
  rt->registry().declare_section("gadgets");
  EXPECT_EQ(rt->topology().at("gadgets"), json::array());
}

// -- the typed named registry -------------------------------------------------------------------

struct counter {
  int n = 0;
};

TEST(named_registry, AnObjectPutUnderANameIsFoundWithItsType) {
  troupe::named_registry named;
  auto hits = std::make_shared<counter>();
  EXPECT_FALSE(named.put("hits", hits));
  EXPECT_TRUE(named.contains("hits"));
  auto found = named.get<counter>("hits");
  ASSERT_TRUE(found) << troupe::render(found.error());
  EXPECT_EQ(found->get(), hits.get());
}

TEST(named_registry, ATakenNameIsRefusedAndKeepsItsObject) {
  troupe::named_registry named;
  auto first = std::make_shared<counter>();
  ASSERT_FALSE(named.put("hits", first));
  auto err = named.put("hits", std::make_shared<std::string>("other"));
  EXPECT_EQ(err, troupe::named_errc::name_taken);
  EXPECT_NE(troupe::render(err).find("hits"), std::string::npos) << troupe::render(err);
  EXPECT_EQ(named.get<counter>("hits").value().get(), first.get());
}

TEST(named_registry, AMissingNameIsNotFound) {
  troupe::named_registry named;
  auto found = named.get<counter>("nobody");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error(), troupe::named_errc::not_found);
  EXPECT_EQ(troupe::render(found.error()), "named_error(not_found: (\"nobody\"))");
}

TEST(named_registry, AnotherTypeIsWrongTypeNamingBothTypes) {
  troupe::named_registry named;
  ASSERT_FALSE(named.put("hits", std::make_shared<int>(3)));
  auto found = named.get<double>("hits");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error(), troupe::named_errc::wrong_type);
  auto text = troupe::render(found.error());
  EXPECT_NE(text.find("hits"), std::string::npos) << text;
  EXPECT_NE(text.find("int"), std::string::npos) << text;
  EXPECT_NE(text.find("double"), std::string::npos) << text;
  // The right type still finds it.
  EXPECT_EQ(*named.get<int>("hits").value(), 3);
}

TEST_F(introspection_seam_test, TheRuntimesNamedRegistryIsSharedByItsUsers) {
  ASSERT_FALSE(rt->named().put("shared", std::make_shared<counter>()));
  const troupe::runtime& view = *rt;
  EXPECT_TRUE(view.named().get<counter>("shared"));
  EXPECT_EQ(view.named().get<int>("shared").error(), troupe::named_errc::wrong_type);
}

} // namespace
