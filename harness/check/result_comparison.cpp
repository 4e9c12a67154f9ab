#include "check/result_comparison.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "check/detail/hardware_key.hpp"
#include "core/enum_names.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "store/best_entry_json.hpp"
#include "store/result_store.hpp"

namespace flashtune::check {
namespace {

using detail::hardware_key;
using nlohmann::json;

bool is_sqlite(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  return in.gcount() == sizeof header && std::string_view(header, 15) == "SQLite format 3";
}

// The largest export read: a JSON export is ~1 KiB per entry.
constexpr std::size_t kMaxExportBytes = std::size_t{256} << 20;

// A comparison is only as good as its numbers: a median that is not a positive time (negative, zero, NaN, or
// absurdly large: over a day), noise outside [0, 10] or a negative sample count is refused, naming the entry.
void check_numbers(const ComparedEntry& c, const std::string& source) {
  const std::string what = fmt::format("{}: {} {}", source, c.template_id, c.problem.to_string());
  if (!std::isfinite(c.median_ms) || c.median_ms <= 0 || c.median_ms > 86'400'000)
    throw Error(ErrorKind::io,
                fmt::format("{}: median_ms {} is not a time in (0, 86400000] ms", what, c.median_ms));
  if (c.noise && (!std::isfinite(*c.noise) || *c.noise < 0 || *c.noise > 10))
    throw Error(ErrorKind::io, fmt::format("{}: noise {} is not in [0, 10]", what, *c.noise));
  if (c.samples < 0) throw Error(ErrorKind::io, fmt::format("{}: samples {} is negative", what, c.samples));
}

ComparisonSide load_database(const std::filesystem::path& path) {
  const store::ResultStore db(path, store::ResultStore::Access::read_only);
  ComparisonSide side{path.string(), "database", {}};
  std::map<std::int64_t, std::vector<store::TrialRecord>> trials;  // by sweep, loaded when needed
  for (const store::BestEntry& e : db.best_entries()) {
    ComparedEntry c{e.key.gpu, e.key.template_id, e.key.problem, e.params, e.median_ms, std::nullopt,
                    0,         e.updated_at};
    if (e.sweep_id != 0 && e.trial_id != 0) {
      auto it = trials.find(e.sweep_id);
      if (it == trials.end()) it = trials.emplace(e.sweep_id, db.trials(e.sweep_id)).first;
      for (const store::TrialRecord& t : it->second)
        if (t.id == e.trial_id && t.samples > 1) {
          c.noise = t.noise;
          c.samples = t.samples;
        }
    }
    check_numbers(c, path.string());
    side.entries.push_back(std::move(c));
  }
  return side;
}

ComparisonSide load_export(const std::filesystem::path& path) {
  const std::string text = read_regular_file(path, kMaxExportBytes, "export");
  ComparisonSide side{path.string(), "export", {}};
  try {
    const json doc = json::parse(text);
    if (!doc.is_object() || !doc.contains("flashtune_export"))
      throw Error(ErrorKind::io,
                  path.string() +
                      " is neither a flashtune database nor an export (flashtune export --format "
                      "json): no flashtune_export key");
    for (const json& g : doc.at("gpus")) {
      const GpuIdentity gpu = store::gpu_from_json(g);
      for (const json& e : g.at("entries")) {
        store::BestEntry best;
        try {
          best = store::entry_from_json(e, gpu);
        } catch (const Error& bad) {
          throw Error(ErrorKind::io, path.string() + ": " + bad.what());
        }
        ComparedEntry c;
        c.gpu = gpu;
        c.template_id = best.key.template_id;
        c.problem = best.key.problem;
        c.params = best.params;
        c.median_ms = e.at("median_ms").get<double>();
        if (e.contains("noise") && e.at("noise").is_number()) c.noise = e.at("noise").get<double>();
        if (e.contains("samples") && e.at("samples").is_number()) c.samples = e.at("samples").get<int>();
        check_numbers(c, path.string());
        side.entries.push_back(std::move(c));
      }
    }
  } catch (const json::exception& e) {
    throw Error(ErrorKind::io, fmt::format("{}: not a flashtune export: {}", path.string(), e.what()));
  }
  return side;
}

using MatchKey = std::tuple<std::string, std::string, store::ProblemKey>;

// One entry per key: the most recently updated (the later one in file order on a tie).
std::map<MatchKey, ComparedEntry> by_key(const ComparisonSide& side, bool any_gpu, std::size_t* left_out) {
  std::map<MatchKey, ComparedEntry> out;
  for (const ComparedEntry& e : side.entries) {
    const MatchKey k{any_gpu ? std::string() : hardware_key(e.gpu), e.template_id, e.problem};
    auto [it, inserted] = out.emplace(k, e);
    if (inserted) continue;
    ++*left_out;
    if (e.updated_at >= it->second.updated_at) it->second = e;
  }
  return out;
}

std::map<std::string, GpuIdentity> gpus_of(const ComparisonSide& side) {
  std::map<std::string, GpuIdentity> out;
  for (const ComparedEntry& e : side.entries) out.emplace(hardware_key(e.gpu), e.gpu);
  return out;
}

}  // namespace

ComparisonSide load_comparison_side(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorKind::not_found, fmt::format("compare: {} is not a file", path.string()));
  return is_sqlite(path) ? load_database(path) : load_export(path);
}

namespace {
constexpr EnumNames<Verdict, 6> kVerdicts{{{
    {Verdict::same, "SAME"},
    {Verdict::faster, "FASTER"},
    {Verdict::slower, "SLOWER"},
    {Verdict::ambiguous, "AMBIGUOUS"},
    {Verdict::added, "ADDED"},
    {Verdict::removed, "REMOVED"},
}}};
}  // namespace

std::string_view to_string(Verdict v) {
  return kVerdicts.name(v);
}

Verdict classify(double change, double noise, double threshold) {
  const double magnitude = std::abs(change);
  if (magnitude <= std::max(threshold, noise)) return Verdict::same;
  if (magnitude > std::max(threshold, 3 * noise)) return change > 0 ? Verdict::slower : Verdict::faster;
  return Verdict::ambiguous;
}

std::size_t Comparison::count(Verdict v) const {
  std::size_t n = 0;
  for (const ComparisonRow& r : rows) n += r.verdict == v;
  return n;
}

Comparison compare(const ComparisonSide& old_side, const ComparisonSide& new_side,
                   const ComparisonOptions& options) {
  Comparison c;
  c.old_path = old_side.path;
  c.new_path = new_side.path;
  c.options = options;

  const auto old_gpus = gpus_of(old_side), new_gpus = gpus_of(new_side);
  auto names = [](const std::map<std::string, GpuIdentity>& gpus) {
    std::vector<std::string> n;
    for (const auto& [key, g] : gpus) n.push_back(key);
    return fmt::format("{}", fmt::join(n, ", "));
  };
  bool shared = false;
  for (const auto& [key, g] : old_gpus) {
    auto it = new_gpus.find(key);
    if (it == new_gpus.end()) {
      if (!options.any_gpu) c.notes.push_back(fmt::format("GPU {} only in OLD", g.name));
      continue;
    }
    shared = true;
    if (it->second.driver_version != g.driver_version)
      c.notes.push_back(fmt::format("{}: driver {} in OLD, {} in NEW", g.name, g.driver_version,
                                    it->second.driver_version));
  }
  if (!options.any_gpu)
    for (const auto& [key, g] : new_gpus)
      if (!old_gpus.contains(key)) c.notes.push_back(fmt::format("GPU {} only in NEW", g.name));
  if (!shared && !options.any_gpu && !old_gpus.empty() && !new_gpus.empty())
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("compare: OLD and NEW share no GPU (OLD: {}; NEW: {}); --any-gpu compares across GPUs",
                    names(old_gpus), names(new_gpus)));

  std::size_t old_dups = 0, new_dups = 0;
  const auto olds = by_key(old_side, options.any_gpu, &old_dups);
  const auto news = by_key(new_side, options.any_gpu, &new_dups);
  if (old_dups > 0)
    c.notes.push_back(fmt::format("OLD: {} older entries for the same problem left out", old_dups));
  if (new_dups > 0)
    c.notes.push_back(fmt::format("NEW: {} older entries for the same problem left out", new_dups));

  std::set<MatchKey> keys;
  for (const auto& [k, e] : olds) keys.insert(k);
  for (const auto& [k, e] : news) keys.insert(k);
  std::size_t without_noise = 0;
  for (const MatchKey& k : keys) {
    ComparisonRow r;
    if (auto it = olds.find(k); it != olds.end()) r.old_entry = it->second;
    if (auto it = news.find(k); it != news.end()) r.new_entry = it->second;
    if (!r.new_entry) {
      r.verdict = Verdict::removed;
    } else if (!r.old_entry) {
      r.verdict = Verdict::added;
    } else {
      r.change = r.old_entry->median_ms > 0 ? r.new_entry->median_ms / r.old_entry->median_ms - 1 : 0;
      r.noise_known = r.old_entry->noise.has_value() && r.new_entry->noise.has_value();
      if (r.noise_known)
        r.noise = std::hypot(*r.old_entry->noise, *r.new_entry->noise);
      else
        ++without_noise;
      r.verdict = classify(r.change, r.noise, options.threshold);
    }
    c.rows.push_back(std::move(r));
  }
  if (without_noise > 0)
    c.notes.push_back(fmt::format(
        "{} of the matched problems lack noise data on a side ({} is {}, {} is {}): judged by the {:.1f}% "
        "threshold alone",
        without_noise, old_side.path, old_side.kind, new_side.path, new_side.kind, options.threshold * 100));
  return c;
}

}  // namespace flashtune::check
