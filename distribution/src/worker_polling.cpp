#include "troupe/distribution/detail/worker_polling.hpp"

#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <openssl/err.h>

#include "troupe/distribution/detail/worker_multiplexer.hpp"
#include "troupe/scheduler/work_stealing.hpp"

namespace troupe::detail {

void worker_polling::init(caf::actor_system_config& cfg) {
  if (!work_stealing::runs_in(sys_) || !sys_.has_middleman())
    return;
  // network_setup loads the middleman with this multiplexer; one loaded otherwise keeps its
  // thread.
  auto* mpx = dynamic_cast<worker_multiplexer*>(&sys_.middleman().backend());
  if (mpx == nullptr)
    return;
  // Read by the middleman's start(), which comes after every module's init().
  cfg.set("middleman.manual-multiplexing", true);
  // The multiplexer runs inline what the thread it names dispatches; it names the thread that
  // made it, and the workers that run it change. Naming no thread makes every thread post
  // (worker_multiplexer.hpp). Set before any worker starts: no thread reads it concurrently.
  mpx->thread_id(std::thread::id{});
  mpx->run_by_workers();
  mpx_ = mpx;
}

void worker_polling::start() {
  if (mpx_ != nullptr)
    attached_ = work_stealing::attach_io(sys_, *this);
}

void worker_polling::stop() {
  if (attached_) {
    work_stealing::detach_io(sys_);
    mpx_->stopping();
  }
  attached_ = false;
}

bool worker_polling::poll(bool block) {
  // OpenSSL keeps its errors per thread, and CAF's TLS sessions read SSL_get_error after each
  // call without ever emptying the queue (CAF logs and pops the errors only with logging on).
  // A worker's queue may hold errors of whatever else ran on it (a TLS context being set up,
  // a session that failed): SSL_get_error would then report those for a session that merely
  // waits for bytes, failing it. CAF's own multiplexer thread ran nothing else.
  ERR_clear_error();
  return mpx_->poll(block);
}

void worker_polling::wake() {
  mpx_->wake();
}

} // namespace troupe::detail
