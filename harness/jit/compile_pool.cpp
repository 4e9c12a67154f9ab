#include "jit/compile_pool.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/worker_process.hpp"
#include "jit/cache_key.hpp"
#include "jit/detail/json_codec.hpp"

namespace flashtune::jit {
namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> default_worker_command() {
#ifdef FLASHTUNE_BUILD_JIT_WORKER
  const fs::path build = FLASHTUNE_BUILD_JIT_WORKER;
#else
  const fs::path build;
#endif
  return find_helper_command("FLASHTUNE_JIT_WORKER", "flashtune-jit-worker", build);
}

namespace {

CompileResult failed(const std::string& key, std::string log) {
  CompileResult r;
  r.cache_key = key;
  r.log = std::move(log);
  return r;
}

// A worker's reply, parsed: either a result's metadata or the message of an exception the worker caught.
struct Reply {
  std::optional<CompileResult> meta;
  std::string error;
  std::string error_kind;  // the ErrorKind's name when the worker caught a flashtune::Error
  bool cache_hit = false;
};

// Throws (json or runtime_error) when `line` is not a reply to request `id`.
Reply parse_reply(const std::string& line, std::size_t id) {
  const json j = json::parse(line);
  if (j.at("id").get<std::size_t>() != id) throw std::runtime_error("reply to another request");
  Reply reply;
  if (j.contains("error")) {
    reply.error = j.at("error").get<std::string>();
    reply.error_kind = j.value("kind", "");
  } else {
    reply.meta = detail::result_from_json(j.at("result"));
    reply.cache_hit = j.value("cache_hit", false);
  }
  return reply;
}

// One batch's requests spread over the pool's worker processes: send a request to each idle worker, poll
// their stdout, turn each reply (or each death) into a result, repeat until every request has one.
class Dispatch {
 public:
  using Finish = std::function<void(std::size_t, CompileResult)>;
  Dispatch(std::vector<std::unique_ptr<WorkerProcess>>& procs, const std::vector<std::string>& argv,
           std::chrono::milliseconds timeout, const std::vector<CompileRequest>& requests,
           const std::vector<std::string>& keys, const CubinCache& cache, Finish finish)
      : procs_(procs),
        argv_(argv),
        timeout_(timeout),
        requests_(requests),
        keys_(keys),
        cache_(cache),
        finish_(std::move(finish)),
        busy_(procs.size()),
        sent_at_(procs.size()) {}

  // If we leave by an exception (a throwing progress callback), a worker still compiling would answer the
  // next batch with this one's reply: end it.
  ~Dispatch() {
    for (std::size_t w = 0; w < procs_.size(); ++w) {
      if (!busy_[w] || !procs_[w]) continue;
      procs_[w]->finish(/*kill=*/true);
      procs_[w].reset();
    }
  }

  void run(const std::vector<std::size_t>& pending) {
    std::size_t next = 0;
    while (true) {
      for (std::size_t w = 0; w < procs_.size() && next < pending.size(); ++w)
        if (!busy_[w]) send(w, pending[next++]);
      std::vector<pollfd> fds;
      std::vector<std::size_t> owner;
      for (std::size_t w = 0; w < procs_.size(); ++w) {
        if (!busy_[w]) continue;
        fds.push_back(pollfd{procs_[w]->stdout_fd(), POLLIN, 0});
        owner.push_back(w);
      }
      // Nothing in flight: done, unless every send of this round failed at once (workers that died before
      // reading, e.g. with their stdin closed) and requests are still waiting for a worker.
      if (fds.empty()) {
        if (next < pending.size()) continue;
        return;
      }
      if (::poll(fds.data(), fds.size(), poll_ms(owner)) < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorKind::internal, std::string("poll: ") + std::strerror(errno));
      }
      for (std::size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents != 0) on_readable(owner[k]);
      const auto now = Clock::now();
      for (std::size_t w : owner)
        if (busy_[w] && now - sent_at_[w] >= timeout_)
          crashed(w, fmt::format("no reply within {} s, killed", timeout_.count() / 1000));
    }
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Until the first busy worker's deadline (at least 1 ms, at most 1 s).
  int poll_ms(const std::vector<std::size_t>& busy) const {
    auto first = Clock::time_point::max();
    for (std::size_t w : busy) first = std::min(first, sent_at_[w] + timeout_);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(first - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 1, 1000));
  }

  void send(std::size_t w, std::size_t i) {
    const std::string line =
        detail::dump_line(json{{"id", i}, {"request", detail::request_to_json(requests_[i])}});
    busy_[w] = i;
    sent_at_[w] = Clock::now();
    // A worker may have died while idle: a fresh one gets the request before we call it a crash.
    if (procs_[w] && procs_[w]->send_line(line)) return;
    procs_[w] = std::make_unique<WorkerProcess>(argv_);
    if (!procs_[w]->send_line(line)) crashed(w, "");
  }

  void on_readable(std::size_t w) {
    const bool open = procs_[w]->read_available();
    while (busy_[w]) {
      std::optional<std::string> line = procs_[w]->take_line();
      if (!line) break;
      on_reply(w, *line);
    }
    if (procs_[w] && procs_[w]->take_line()) {
      procs_[w].reset();  // more output than requests: not a worker we can trust
    } else if (!open) {
      const bool overflowed = procs_[w]->overflowed();
      if (busy_[w])
        crashed(w, overflowed ? "a reply line over the size limit, killed" : "");
      else
        procs_[w].reset();
    }
  }

  void on_reply(std::size_t w, const std::string& line) {
    const std::size_t i = *busy_[w];
    Reply reply;
    try {
      reply = parse_reply(line, i);
    } catch (const std::exception&) {
      return crashed(w, "bad reply '" + line.substr(0, 200) + "'");
    }
    busy_[w].reset();
    // The worker could not write the cache (an unwritable or full disk, a file-size limit): every other
    // request would fail the same way, and it is no compile error. Stop the batch and say why.
    if (reply.error_kind == to_string(ErrorKind::io))
      throw Error(ErrorKind::io, "flashtune-jit-worker: " + reply.error);
    if (!reply.meta) return finish_(i, failed(keys_[i], "flashtune-jit-worker: " + reply.error));
    if (!reply.meta->ok) {
      reply.meta->cache_key = keys_[i];
      reply.meta->cache_hit = reply.cache_hit;
      return finish_(i, std::move(*reply.meta));
    }
    std::optional<CompileResult> stored = cache_.load(keys_[i]);
    // The worker stored it, yet it is gone or mismatched (another process overwrote it): compile here.
    if (!stored) return finish_(i, compile_cached(requests_[i], cache_));
    stored->cache_hit = reply.cache_hit;
    finish_(i, std::move(*stored));
  }

  // Worker w died (why empty) or misbehaved (why says how: kill it): its request fails, the worker is dropped
  // and replaced by the next send().
  void crashed(std::size_t w, const std::string& why) {
    const std::size_t i = *busy_[w];
    busy_[w].reset();
    const std::string ended = procs_[w]->finish(/*kill=*/!why.empty());
    procs_[w].reset();
    finish_(i, failed(keys_[i], "compile worker crashed (" + (why.empty() ? "" : why + "; ") + ended + ")"));
  }

  std::vector<std::unique_ptr<WorkerProcess>>& procs_;
  const std::vector<std::string>& argv_;
  std::chrono::milliseconds timeout_;
  const std::vector<CompileRequest>& requests_;
  const std::vector<std::string>& keys_;
  const CubinCache& cache_;
  Finish finish_;
  std::vector<std::optional<std::size_t>> busy_;  // the request each worker is compiling
  std::vector<Clock::time_point> sent_at_;        // when it was sent
};

}  // namespace

std::chrono::seconds default_compile_timeout() {
  const char* v = std::getenv("FLASHTUNE_COMPILE_TIMEOUT");
  if (v == nullptr || *v == '\0') return std::chrono::seconds(600);
  char* end = nullptr;
  errno = 0;
  const long long s = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || s < 1 || s > 86400)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("FLASHTUNE_COMPILE_TIMEOUT={}: expected whole seconds in 1..86400", v));
  return std::chrono::seconds(s);
}

CompilePool::CompilePool(int workers, std::vector<std::string> worker_command, std::chrono::seconds timeout)
    : workers_(workers < 0 ? 0 : workers), command_(std::move(worker_command)), timeout_(timeout) {}

CompilePool::~CompilePool() = default;  // each WorkerProcess closes its pipes and reaps its child, noexcept

std::vector<CompileResult> CompilePool::compile(const std::vector<CompileRequest>& requests,
                                                const CubinCache& cache, const Progress& progress,
                                                const OnResult& on_result) {
  const std::size_t total = requests.size();
  std::vector<CompileResult> results(total);
  std::vector<std::string> keys(total);
  std::vector<std::vector<std::size_t>> copies(total);  // for each leader, the later requests with its key
  std::vector<std::size_t> pending;                     // leaders that are not in the cache
  std::map<std::string, std::size_t> leader_of;
  std::size_t done = 0;
  auto finish = [&](std::size_t leader, CompileResult result) {
    for (std::size_t i : copies[leader]) results[i] = result;
    results[leader] = std::move(result);
    if (on_result) {
      on_result(leader, results[leader]);
      for (std::size_t i : copies[leader]) on_result(i, results[i]);
    }
    for (std::size_t n = 0; n <= copies[leader].size(); ++n)
      if (progress) progress(++done, total);
  };

  for (std::size_t i = 0; i < total; ++i) {
    keys[i] = cache_key(requests[i]);
    auto [leader, inserted] = leader_of.emplace(keys[i], i);
    if (!inserted) copies[leader->second].push_back(i);
  }
  for (std::size_t i = 0; i < total; ++i) {
    if (leader_of.at(keys[i]) != i) continue;
    if (std::optional<CompileResult> hit = cache.load(keys[i]))
      finish(i, std::move(*hit));
    else
      pending.push_back(i);
  }
  if (pending.empty()) return results;

  if (workers_ == 0) {
    for (std::size_t i : pending) {
      try {
        finish(i, compile_cached(requests[i], cache));
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::io) throw;  // the cache cannot be written: no compile error (see on_reply)
        finish(i, failed(keys[i], e.what()));
      }
    }
    return results;
  }

  if (workers_cache_dir_ != cache.dir()) procs_.clear();  // workers are bound to one cache directory
  workers_cache_dir_ = cache.dir();
  std::vector<std::string> argv = command_;
  argv.push_back(cache.dir().string());
  procs_.resize(
      std::min<std::size_t>(static_cast<std::size_t>(workers_), std::max(procs_.size(), pending.size())));
  Dispatch(procs_, argv, timeout_, requests, keys, cache, finish).run(pending);
  return results;
}

}  // namespace flashtune::jit
