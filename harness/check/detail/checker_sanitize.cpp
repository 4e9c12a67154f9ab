// The memcheck and racecheck stages: each chosen configuration in its own trial worker, started under
// compute-sanitizer, so that whatever the sanitizer reports is that configuration's.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "check/detail/checker.hpp"
#include "core/error.hpp"

namespace flashtune::check::detail {
namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The last `n` non-empty lines of text.
std::vector<std::string> last_lines(const std::string& text, std::size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
  return lines;
}

std::filesystem::path log_dir(const CheckOptions& o) {
  std::filesystem::path dir = o.log_dir;
  if (dir.empty())
    dir = std::filesystem::temp_directory_path() / fmt::format("flashtune-check-{}", ::getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

void Checker::sanitize(SanitizerTool tool) {
  const std::filesystem::path dir = log_dir(options_);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < plan_.configs.size(); ++i) {
    if (!chosen_[i]) continue;
    report(fmt::format("{} {}", to_string(tool), plan_.configs[i].label));
    CheckCase k = sanitize_one(tool, plan_.configs[i], i);
    failed += k.outcome == CheckOutcome::fail;
    result_.cases.push_back(std::move(k));
  }
  if (failed > 0)
    note(fmt::format("{}: {} configurations failed; the sanitizer's logs are in {}", to_string(tool), failed,
                     dir.string()));
}

CheckCase Checker::sanitize_one(SanitizerTool tool, const CheckConfig& c, std::size_t index) {
  const CheckStage stage = tool == SanitizerTool::memcheck ? CheckStage::memcheck : CheckStage::racecheck;
  std::vector<AttentionProblem> problems;
  std::vector<std::string> names;
  std::string why_not;
  for (const AttentionProblem& q : plan_.problems)
    if (c.variant() == variant_of(q) && runnable(c, q, &why_not)) {
      problems.push_back(q);
      names.push_back(q.to_string());
    }
  CheckCase k = make_case(c, stage, fmt::format("{}", fmt::join(names, "; ")));
  if (problems.empty()) {
    k.outcome = CheckOutcome::skipped;
    k.detail = why_not.empty() ? "no check problem of its variant" : why_not;
    return k;
  }

  const std::filesystem::path dir = log_dir(options_);
  const std::filesystem::path log = dir / fmt::format("{}-{:04}.log", to_string(tool), index);
  const std::filesystem::path err = dir / fmt::format("{}-{:04}.stderr", to_string(tool), index);
  std::filesystem::remove(log);
  std::filesystem::remove(err);
  const std::vector<std::string> argv = sanitized_command(
      options_.sanitizer.empty() ? default_sanitizer_command() : options_.sanitizer, tool, log, worker_argv_);
  // The sanitizer slows kernels down by orders of magnitude, and writes its summary when the worker exits.
  const double timeout_s = space_.measure.trial_timeout_s * 20;
  std::vector<std::string> failures;
  std::string ended;
  const auto t0 = Clock::now();
  try {
    trial::TrialClient client(argv, cubin_.dir(),
                              {.stderr_file = err, .exit_grace = std::chrono::seconds(60)});
    const trial::TrialClient::Hello h = client.hello(timeout_s);
    if (!h.device) failures.push_back("the worker under compute-sanitizer sees no GPU: " + h.no_gpu);
    for (std::size_t i = 0; h.device && i < problems.size() && failures.empty(); ++i) {
      client.set_problem(problems[i], space_.strategy.seed, false, timeout_s);
      run::TrialSpec spec = spec_of(c, problems[i]);
      spec.verify = false;  // correctness is the verify stage's: here only what the sanitizer sees
      const run::TrialOutcome o = client.run(spec, timeout_s);
      // Stop at the first failure: a restarted worker would overwrite the sanitizer's log.
      if (o.status != TrialStatus::ok)
        failures.push_back(fmt::format("{}: {}: {}", problems[i].to_string(), to_string(o.status), o.detail));
    }
    ended = client.close();
  } catch (const Error& e) {
    failures.push_back(e.what());
  }
  k.seconds = seconds_since(t0);

  const SanitizerReport r = read_sanitizer_log(read_text(log));
  const bool flagged = ended == fmt::format("exit status {}", kSanitizerExitCode);
  if (r.clean && failures.empty() && !flagged) {
    k.outcome = CheckOutcome::pass;
    k.detail = fmt::format("{}: no errors on {} problems{}", to_string(tool), problems.size(),
                           r.has_summary ? "" : " (the sanitizer wrote no summary)");
    return k;
  }
  k.outcome = CheckOutcome::fail;
  std::vector<std::string> lines = r.error_lines;
  if (r.errors > 0) lines.push_back(fmt::format("{} errors reported", r.errors));
  for (std::string& f : failures) lines.push_back(std::move(f));
  if (flagged)
    lines.push_back(fmt::format("the worker ended with the sanitizer's exit status {}", kSanitizerExitCode));
  if (r.error_lines.empty())
    for (std::string& l : last_lines(read_text(err), 5)) lines.push_back("stderr: " + l);
  lines.push_back("log: " + log.string());
  k.detail = fmt::format("{}", fmt::join(lines, "\n"));
  return k;
}

}  // namespace flashtune::check::detail
