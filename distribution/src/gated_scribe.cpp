#include "troupe/distribution/detail/gated_scribe.hpp"

#include <string>

#include <caf/actor_cast.hpp>
#include <caf/io/network/operation.hpp>
#include <caf/send.hpp>

#include "troupe/distribution/detail/gate_atoms.hpp"

namespace troupe::detail {

namespace {

caf::io::receive_policy::config exactly(size_t n) {
  return caf::io::receive_policy::exactly(n);
}

} // namespace

gated_scribe::gated_scribe(caf::io::network::default_multiplexer& mpx,
                           caf::io::network::native_socket fd, gate_role role,
                           std::shared_ptr<gate_settings> settings)
    : scribe(caf::io::network::conn_hdl_from_socket(fd)), stream_(mpx, fd),
      settings_(std::move(settings)), handshake_(role, settings_->secret),
      id_(settings_->next_id.fetch_add(1)) {}

void gated_scribe::configure_read(caf::io::receive_policy::config config) {
  switch (phase_) {
  case phase::handshaking:
    // BASP's read size waits for the handshake; BASP's first call starts it.
    basp_read_ = config;
    if (!launched_)
      start();
    return;
  case phase::open:
    if (config.second > settings_->max_message_size) {
      // BASP asks for exactly(payload_len) after a header: refuse before the stream sizes its
      // buffer for it. The broker is on the stack (this runs inside its handler), so the
      // connection closes right after; consume() drops everything until then.
      phase_ = phase::closed;
      outcome_ = gate_outcome::oversized;
      settings_->count(gate_outcome::oversized);
      stream_.backend().post([self = caf::intrusive_ptr<gated_scribe>{this}] {
        self->close(&self->stream_.backend(), gate_outcome::oversized);
      });
      return;
    }
    configure_stream(config);
    return;
  case phase::closed:
    return;
  }
}

void gated_scribe::configure_stream(caf::io::receive_policy::config config) {
  stream_.configure_read(config);
  if (!launched_) {
    launched_ = true;
    stream_.start(this);
  }
}

void gated_scribe::ack_writes(bool enable) {
  stream_.ack_writes(enable);
}

std::vector<char>& gated_scribe::wr_buf() {
  // BASP writes its handshake as soon as it has the connection; it waits here until the peer
  // is authenticated.
  return phase_ == phase::handshaking ? held_ : stream_.wr_buf();
}

std::vector<char>& gated_scribe::rd_buf() {
  return stream_.rd_buf();
}

void gated_scribe::flush() {
  if (phase_ != phase::handshaking)
    stream_.flush_now(this);
}

void gated_scribe::graceful_shutdown() {
  if (phase_ == phase::handshaking)
    unwatch();
  phase_ = phase::closed;
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
}

uint16_t gated_scribe::port() const {
  auto x = caf::io::network::remote_port_of_fd(stream_.fd());
  return x ? *x : 0;
}

std::string gated_scribe::addr() const {
  auto x = caf::io::network::remote_addr_of_fd(stream_.fd());
  return x ? *x : std::string{};
}

void gated_scribe::add_to_loop() {
  stream_.activate(this);
}

void gated_scribe::remove_from_loop() {
  stream_.passivate();
}

void gated_scribe::detach_from(caf::io::abstract_broker* ptr) {
  // A peer that hangs up mid-handshake frees its slot and its descriptor now, not at the
  // deadline: the keeper drops its reference.
  if (phase_ == phase::handshaking) {
    unwatch();
    phase_ = phase::closed;
  }
  scribe::detach_from(ptr);
}

bool gated_scribe::consume(caf::execution_unit* ctx, const void* buf, size_t size) {
  switch (phase_) {
  case phase::open: {
    auto ok = scribe::consume(ctx, buf, size);
    return ok && phase_ == phase::open;
  }
  case phase::closed:
    return false;
  case phase::handshaking:
    break;
  }
  std::string out;
  auto result = handshake_.on_frame(static_cast<const char*>(buf), size, out);
  if (!out.empty()) {
    auto& wb = stream_.wr_buf();
    wb.insert(wb.end(), out.begin(), out.end());
    stream_.flush_now(this);
  }
  switch (result) {
  case gate_outcome::none:
    stream_.configure_read(exactly(handshake_.expected()));
    return true;
  case gate_outcome::authenticated:
    open();
    return phase_ == phase::open;
  default:
    close(ctx, result);
    return false;
  }
}

void gated_scribe::expire(gate_outcome why) {
  if (phase_ == phase::handshaking)
    close(&stream_.backend(), why);
}

void gated_scribe::post_expire(gate_outcome why) {
  stream_.backend().post(
      [self = caf::intrusive_ptr<gated_scribe>{this}, why] { self->expire(why); });
}

void gated_scribe::start() {
  // The handshake's frames are fixed and small: the stream never reads more than one of them.
  stream_.configure_read(exactly(handshake_.expected()));
  launched_ = true;
  stream_.start(this);
  auto hello = handshake_.hello();
  auto& wb = stream_.wr_buf();
  wb.insert(wb.end(), hello.begin(), hello.end());
  stream_.flush_now(this);
  if (auto keeper = caf::actor_cast<caf::actor>(settings_->keeper))
    caf::anon_send(keeper, gate_watch_atom::value, caf::intrusive_ptr<gated_scribe>{this});
}

void gated_scribe::open() {
  unwatch();
  phase_ = phase::open;
  outcome_ = gate_outcome::authenticated;
  settings_->count(gate_outcome::authenticated);
  if (!held_.empty()) {
    auto& wb = stream_.wr_buf();
    wb.insert(wb.end(), held_.begin(), held_.end());
    held_ = {};
    stream_.flush_now(this);
  }
  if (basp_read_)
    configure_read(*basp_read_);
}

void gated_scribe::close(caf::execution_unit* ctx, gate_outcome why) {
  if (phase_ == phase::handshaking)
    unwatch();
  phase_ = phase::closed;
  if (why != gate_outcome::oversized) { // counted where it was refused
    outcome_ = why;
    settings_->count(why);
  }
  stream_.graceful_shutdown(); // FIN once the queued bytes (a refusal) are out
  stream_.passivate();         // no more reads: the descriptor closes with the last reference
  if (!detached())
    io_failure(ctx, caf::io::network::operation::read); // the broker forgets the connection
}

void gated_scribe::unwatch() {
  if (auto keeper = caf::actor_cast<caf::actor>(settings_->keeper))
    caf::anon_send(keeper, gate_unwatch_atom::value, id_);
}

} // namespace troupe::detail
