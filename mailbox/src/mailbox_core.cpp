#include "troupe/mailbox/detail/mailbox_core.hpp"

#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

namespace troupe::detail {

mailbox_core_base::mailbox_core_base(mailbox_options opts, std::uint64_t office,
                                     std::size_t default_batch)
    : capacity_(opts.capacity), send_timeout_(opts.send_timeout),
      name_(opts.name.empty() ? nullptr
                              : std::make_unique<const std::string>(std::move(opts.name))),
      office_(office), batch_(opts.batch != 0 ? opts.batch : default_batch),
      overflow_(opts.overflow) {}

const std::string& mailbox_core_base::name() const noexcept {
  static const std::string unnamed;
  return name_ ? *name_ : unnamed;
}

void mailbox_core_base::count_dead_letter(const char* type_name, const caf::error& reason) {
  dead_letters_.fetch_add(1, std::memory_order_relaxed);
  if (auto office = dead_letter_office::find(office_))
    office->report(dead_letter{name(), type_name, reason});
}

mailbox_metrics mailbox_core_base::metrics_base() const noexcept {
  mailbox_metrics m;
  m.capacity = capacity_;
  m.high_water = high_water_.load(std::memory_order_relaxed);
  m.processed = processed_.load(std::memory_order_relaxed);
  // Every accepted envelope was handled, evicted, purged at close, or is still queued (the
  // typed core adds the evicted and the depth).
  m.enqueued = m.processed + purged_.load(std::memory_order_relaxed);
  m.dead_letters = dead_letters_.load(std::memory_order_relaxed);
  return m;
}

} // namespace troupe::detail
