#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "troupe/introspection/event_stream.hpp"
#include "troupe/supervision/detail/child_record.hpp"
#include "troupe/supervision/detail/restart_window.hpp"
#include "troupe/supervision/supervisor_spec.hpp"

namespace troupe::detail {

class supervisor_actor;

/// A run-time operation (supervisor's member functions), run on the supervisor; it answers
/// through the promise, possibly later (after a child stopped).
struct supervisor_command {
  std::function<void(supervisor_actor&, caf::response_promise&)> run;
};

/// The actor behind troupe::supervisor. It monitors its children (and takes them down with it
/// if it is killed, so none outlives it) and follows OTP's supervisor:
///
/// 1. A child's exit is first booked (the record stops being running, its token fires), then
///    decided: restart or not by its restart type and reason, and which siblings go with it by
///    the strategy. A restart counts against the intensity first; one too many stops all.
/// 2. Stopping children (for a group restart, stop_child, or the supervisor's own stop) is a
///    batch: one child at a time in reverse start order (all at once for dynamic children),
///    each asked with user_shutdown and killed at its deadline. While a batch runs, the
///    decisions about other exits and the commands wait in order, as OTP's selective receive
///    leaves them in the mailbox; they run when the batch is done.
/// 3. A start that fails during a restart is retried by a message to self, each retry counted
///    against the intensity, so a child that cannot start ends in escalation, not a loop.
class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, runtime& rt, supervisor_spec spec,
                   std::list<child_record> started, uint64_t next_serial);

  const char* name() const override { return name_.c_str(); }

  caf::behavior make_behavior() override;

  // -- commands (run on the actor) ------------------------------------------------------------

  [[nodiscard]] std::vector<child_info> children_info() const;
  [[nodiscard]] child_counts counts() const;
  [[nodiscard]] caf::expected<child_spec> childspec(const std::string& id);
  void add_child(child_spec spec, caf::response_promise rp, std::shared_ptr<child_started> out);
  void start_dynamic_child(caf::message args, caf::response_promise rp,
                           std::shared_ptr<child_started> out);
  void start_child_by_id(const std::string& id, caf::response_promise rp);
  void stop_child_by_id(const std::string& id, caf::response_promise rp);
  void remove_child_by_id(const std::string& id, caf::response_promise rp);
  void stop_child_by_actor(const caf::actor& who, caf::response_promise rp);
  void restart_child_by_id(const std::string& id, caf::response_promise rp);

  /// What start_initial did: the children started, in order, and the error of the one that
  /// did not start (none when all did; the later ones were not tried).
  struct initial_start {
    std::list<child_record> started;
    caf::error failure;
  };

  /// Starts the children of `spec` in order on the calling thread, up to the first that fails.
  static initial_start start_initial(runtime& rt, supervisor_spec& spec, uint64_t& next_serial);

  // Links made to it are recorded: an exit message from a linked actor is not a stop request.
  bool add_backlink(caf::abstract_actor* other) override;
  bool remove_backlink(caf::abstract_actor* other) override;
  void add_link(caf::abstract_actor* other) override;

protected:
  void on_exit() override;

private:
  using record_iter = std::list<child_record>::iterator;

  struct stop_batch {
    std::vector<uint64_t> serials; // in stop order
    std::size_t next = 0;
    std::size_t outstanding = 0;
    bool concurrent = false;
    std::function<void()> done;
  };

  // -- events ---------------------------------------------------------------------------------

  void on_down(caf::down_msg& msg);
  void on_stop_deadline(uint64_t serial, uint64_t generation);
  void on_restart_due(uint64_t serial, uint64_t generation, bool counts);
  void on_command(supervisor_command& cmd);

  // -- decisions ------------------------------------------------------------------------------

  void decide(uint64_t serial, uint64_t generation, caf::error reason);
  /// OTP's restart for one_for_all and rest_for_one: stops the group's running children in
  /// reverse order, then starts the group in order (see start_group).
  void restart_group(uint64_t failed_serial, bool apply_backoff);
  bool count_restart(const child_record& rec, const caf::error& reason);

  // -- effects --------------------------------------------------------------------------------

  /// Starts (or schedules) a child whose restart was decided; errors become retries.
  void restart_one(child_record& rec);
  /// Starts the members of a group restart in order; the first that fails is retried (as a
  /// group restart again) and the members after it stay stopped until then.
  void start_group(const std::vector<uint64_t>& group, uint64_t failed_serial, bool apply_backoff);
  /// Starts now; a failure is retried by a message to self when `retry_on_failure`.
  caf::error start_now(child_record& rec, bool retry_on_failure, caf::message* info = nullptr);
  /// Marks the child restarting and sends the retry to self (OTP's try_again_restart).
  void schedule_retry(child_record& rec);
  /// Sets and publishes the state of a child that does not run.
  void set_state(child_record& rec, child_state state);
  /// A start by command: answers the promise with the outcome (no retry on failure).
  void start_and_answer(child_record& rec, caf::response_promise& rp);
  void book_exit(child_record& rec);
  /// Publishes a supervisor.* event about `rec` when the runtime's event stream wants `level`;
  /// `make` fills in the text and fields only then.
  template <class Make>
  void emit(event_level level, std::string_view kind, const child_record& rec, Make make);
  /// Shows the child's row in the runtime's topology.
  void publish(const child_record& rec);
  /// Shows this supervisor and all its children (at construction).
  void publish_all();
  void stop_children(std::vector<uint64_t> serials, bool concurrent, std::function<void()> on_done);
  void stop_next();
  void finish_batch();
  void send_stop(child_record& rec);
  void batch_member_exited();
  void begin_shutdown(caf::error reason);
  void run_deferred();
  void erase(record_iter i);

  [[nodiscard]] child_record* find_serial(uint64_t serial);
  [[nodiscard]] record_iter find_id(const std::string& id);
  /// The child `id` if it is stopped (neither running, stopping nor restarting), else the
  /// error `operation` answers with.
  [[nodiscard]] caf::expected<record_iter> find_stopped(const std::string& id,
                                                        const char* operation);
  [[nodiscard]] bool is_dynamic() const noexcept { return strategy_ == restart_strategy::dynamic; }
  [[nodiscard]] bool is_group() const noexcept {
    return strategy_ == restart_strategy::one_for_all ||
           strategy_ == restart_strategy::rest_for_one;
  }

  runtime& rt_;
  std::string name_;
  restart_strategy strategy_;
  restart_window window_;
  std::optional<child_spec> template_; // dynamic supervisors
  std::list<child_record> children_;   // start order
  std::unordered_map<uint64_t, record_iter> by_serial_;
  std::unordered_map<caf::actor_id, uint64_t> by_actor_;
  uint64_t next_serial_;
  uint64_t dynamic_count_ = 0;
  std::optional<stop_batch> batch_;
  std::deque<std::function<void()>> deferred_;
  bool shutting_down_ = false;
  caf::error exit_reason_;
  // Written by the linking actor's thread (CAF calls add_backlink there), read by this one.
  std::mutex linked_mtx_;
  std::unordered_set<caf::actor_addr> linked_;
  std::minstd_rand jitter_rng_{std::random_device{}()};
};

} // namespace troupe::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::supervisor_command)
