#include "troupe/mailbox/detail/mailbox_core.hpp"

#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

namespace troupe::detail {

mailbox_core_base::mailbox_core_base(mailbox_options opts,
                                     std::shared_ptr<dead_letter_office> office,
                                     std::size_t default_batch)
    : opts_(std::move(opts)), office_(std::move(office)),
      batch_(opts_.batch != 0 ? opts_.batch : default_batch) {}

void mailbox_core_base::count_dead_letter(const char* type_name, const caf::error& reason) {
  dead_letters_.fetch_add(1, std::memory_order_relaxed);
  if (office_)
    office_->report(dead_letter{opts_.name, type_name, reason});
}

mailbox_metrics mailbox_core_base::metrics_base() const noexcept {
  mailbox_metrics m;
  m.capacity = opts_.capacity;
  m.high_water = high_water_.load(std::memory_order_relaxed);
  m.processed = processed_.load(std::memory_order_relaxed);
  // Every accepted envelope was handled, evicted, purged at close, or is still queued (the
  // typed core adds the evicted and the depth).
  m.enqueued = m.processed + purged_.load(std::memory_order_relaxed);
  m.dead_letters = dead_letters_.load(std::memory_order_relaxed);
  return m;
}

} // namespace troupe::detail
