#include "troupe/runtime/dead_letter_office.hpp"

#include <unordered_map>

namespace troupe {

namespace {

// Every office that handed out an id and still lives, by id. Weak: the table keeps no office
// alive, and an office that is being destroyed is not found (its entry's lock() fails).
struct office_table {
  std::mutex mtx;
  std::unordered_map<std::uint64_t, std::weak_ptr<dead_letter_office>> offices;
  std::uint64_t next_id = 1;
};

office_table& offices() {
  // Never destroyed: a mailbox freed during static destruction may still look its office up.
  static auto* table = new office_table;
  return *table;
}

} // namespace

dead_letter_office::~dead_letter_office() {
  if (id_ == 0)
    return;
  auto& t = offices();
  std::lock_guard guard{t.mtx};
  t.offices.erase(id_);
}

std::uint64_t dead_letter_office::id() {
  std::call_once(listed_, [this] {
    auto self = weak_from_this();
    if (self.expired())
      return; // not owned by a shared_ptr: nothing could find it safely
    auto& t = offices();
    std::lock_guard guard{t.mtx};
    const auto id = t.next_id;
    t.offices.emplace(id, std::move(self));
    ++t.next_id;
    id_ = id; // set once it is listed: an emplace that throws leaves the office without one
  });
  return id_;
}

std::shared_ptr<dead_letter_office> dead_letter_office::find(std::uint64_t id) {
  if (id == 0)
    return nullptr;
  auto& t = offices();
  std::lock_guard guard{t.mtx};
  auto i = t.offices.find(id);
  return i == t.offices.end() ? nullptr : i->second.lock();
}

} // namespace troupe
