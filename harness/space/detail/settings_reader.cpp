// The sections with settings: `sram_budgets:`, `measure:`, `prune:` and `strategy:`. Every key is optional
// and range-checked; a missing key keeps the default of search_space.hpp.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <optional>

#include <fmt/format.h>

#include "space/detail/section_readers.hpp"

namespace flashtune::space::detail {
namespace {

// The largest budget accepted: far above any SM's shared memory (227 KiB on sm_90), far below overflow.
constexpr std::int64_t kMaxBudgetBytes = std::int64_t{1} << 30;

// "48 KiB" -> 49152, "50000 B" and "50000" -> 50000, "max" -> 0; nullopt for anything else, with `unit`
// set when the text is an integer and a unit we do not know ("99 KB"), and `too_large` when it is a known
// unit but over kMaxBudgetBytes (or past 64 bits).
std::optional<std::int64_t> parse_budget(std::string_view s, std::string* unit, bool* too_large) {
  if (s == "max") return 0;
  std::int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if ((ec != std::errc() && ec != std::errc::result_out_of_range) || ptr == s.data()) return std::nullopt;
  std::string_view rest = s.substr(static_cast<std::size_t>(ptr - s.data()));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const bool known = rest.empty() || rest == "B" || rest == "KiB";
  if (!known) {
    const bool word = std::all_of(rest.begin(), rest.end(),
                                  [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    if (word) *unit = std::string(rest);  // else not "<integer> <unit>" at all: no unit to blame
    return std::nullopt;
  }
  const std::int64_t scale = rest == "KiB" ? 1024 : 1;
  if (ec == std::errc::result_out_of_range || n > kMaxBudgetBytes / scale) {
    *too_large = true;
    return std::nullopt;
  }
  return n * scale;
}

// The entries of `section`, a map of the given keys.
Fields settings(const YamlReader& r, const Field& section, std::initializer_list<std::string_view> keys) {
  Fields fields = r.map(section.value, section.key);
  r.allow_only(fields, section.key, keys);
  return fields;
}

// x within the interval; open ends exclude their bound: "measure.max_noise must be in (0, 1), got '150%'".
enum class End { open, closed };
double checked(const YamlReader& r, const Value& v, const std::string& what, double x, End lo_end, double lo,
               double hi, End hi_end) {
  const bool above_lo = lo_end == End::open ? x > lo : x >= lo;
  const bool below_hi = hi_end == End::open ? x < hi : x <= hi;
  if (!above_lo || !below_hi)
    r.fail(v.where, fmt::format("{} must be in {}{}, {}{}, got '{}'", what, lo_end == End::open ? "(" : "[",
                                lo, hi, hi_end == End::open ? ")" : "]", v.node.Scalar()));
  return x;
}

}  // namespace

std::vector<SramBudget> read_sram_budgets(const YamlReader& r, const Field& section) {
  std::vector<SramBudget> out;
  for (const Value& v : r.list(section.value, "sram_budgets")) {
    const std::string& s = r.scalar(v, "sram budget", "a size");
    std::string unit;
    bool too_large = false;
    const std::optional<std::int64_t> bytes = parse_budget(s, &unit, &too_large);
    if (too_large)
      r.fail(v.where,
             fmt::format("sram budget '{}' is too large (at most {} KiB; an SM has 227 KiB on sm_90)", s,
                         kMaxBudgetBytes / 1024));
    if (!bytes && !unit.empty())
      r.fail(v.where, fmt::format("sram budget '{}': unknown unit '{}' (expected KiB or B)", s, unit));
    if (!bytes)
      r.fail(v.where, fmt::format("sram budget: expected bytes, '<n> KiB', '<n> B' or max, got '{}'", s));
    if (s != "max" && *bytes <= 0) r.fail(v.where, fmt::format("sram budget must be > 0, got '{}'", s));
    const SramBudget b{*bytes, v.where};
    for (const SramBudget& seen : out)
      if (seen.bytes == b.bytes)
        r.fail(v.where, fmt::format("duplicate sram budget {} (also at {}:{})", b.label(), seen.where.line,
                                    seen.where.column));
    out.push_back(b);
  }
  return out;
}

MeasureSettings read_measure(const YamlReader& r, const Field& section) {
  MeasureSettings m;
  const Fields fields =
      settings(r, section,
               {"warmup", "min_samples", "max_samples", "min_time", "max_noise", "timeout",
                "throttle_threshold", "throttle_retries", "flush_l2", "verify", "top_k", "remeasure_rounds",
                "trial_timeout", "share_equal_occupancy", "profile", "profile_utilization"});
  for (const Field& field : fields.all()) {  // not a structured binding: clang < 16 cannot capture one
    const std::string& key = field.key;
    const Value& v = field.value;
    const std::string what = "measure." + key;
    auto count = [&](std::int64_t lo, std::int64_t hi) {
      return static_cast<int>(r.integer(v, what, lo, hi));
    };
    auto seconds = [&](End lo_end, double hi) {
      return checked(r, v, what, r.duration(v, what), lo_end, 0, hi, End::closed);
    };
    if (key == "warmup") m.warmup = count(0, 10000);
    if (key == "min_samples") m.min_samples = count(1, 1000000);
    if (key == "max_samples") m.max_samples = count(1, 1000000);
    if (key == "min_time") m.min_time_s = seconds(End::closed, 3600);
    if (key == "max_noise")
      m.max_noise = checked(r, v, what, r.fraction(v, what), End::open, 0, 1, End::open);
    if (key == "timeout") m.timeout_s = seconds(End::open, 86400);
    if (key == "throttle_threshold")
      m.throttle_threshold = checked(r, v, what, r.fraction(v, what), End::closed, 0, 1, End::closed);
    if (key == "throttle_retries") m.throttle_retries = count(0, 100);
    if (key == "flush_l2") m.flush_l2 = r.boolean(v, what);
    if (key == "verify") m.verify = r.boolean(v, what);
    if (key == "top_k") m.top_k = count(1, 100000);
    if (key == "remeasure_rounds") m.remeasure_rounds = count(0, 10000);
    if (key == "trial_timeout") m.trial_timeout_s = seconds(End::open, 86400);
    if (key == "share_equal_occupancy") m.share_equal_occupancy = r.boolean(v, what);
    if (key == "profile") {
      const std::string& k = r.scalar(v, what, "none, all or top_k");
      const std::optional<ProfileMode> mode = parse_profile_mode(k);
      if (!mode) r.fail(v.where, fmt::format("unknown measure.profile '{}' (expected none, all, top_k)", k));
      m.profile = *mode;
    }
    if (key == "profile_utilization") m.profile_utilization = r.boolean(v, what);
  }
  if (m.max_samples < m.min_samples) {
    const Field* at = fields.find("max_samples") ? fields.find("max_samples") : fields.find("min_samples");
    r.fail(at->value.where, fmt::format("measure: max_samples ({}) must be >= min_samples ({})",
                                        m.max_samples, m.min_samples));
  }
  // A measurement may be taken throttle_retries + 1 times, each up to timeout: all of it must fit in the
  // trial's own limit, or a trial that re-measures on a throttled GPU is killed as a timeout.
  if (const double worst = m.timeout_s * (m.throttle_retries + 1); worst >= m.trial_timeout_s) {
    const Field* at = fields.find("trial_timeout")      ? fields.find("trial_timeout")
                      : fields.find("throttle_retries") ? fields.find("throttle_retries")
                                                        : fields.find("timeout");
    r.fail(at->value.where,
           fmt::format(
               "measure: timeout ({} s) x (throttle_retries ({}) + 1) = {} s must be below trial_timeout "
               "({} s)",
               m.timeout_s, m.throttle_retries, worst, m.trial_timeout_s));
  }
  return m;
}

PruneSettings read_prune(const YamlReader& r, const Field& section) {
  PruneSettings p;
  const Fields fields = settings(r, section, {"max_spill_bytes", "max_registers", "min_blocks_per_sm"});
  for (const auto& [key, key_where, v] : fields.all()) {
    const std::string what = "prune." + key;
    if (key == "max_spill_bytes") p.max_spill_bytes = static_cast<int>(r.integer(v, what, -1, INT_MAX));
    if (key == "max_registers") p.max_registers = static_cast<int>(r.integer(v, what, 1, 255));
    if (key == "min_blocks_per_sm") p.min_blocks_per_sm = static_cast<int>(r.integer(v, what, 1, 64));
  }
  return p;
}

StrategySettings read_strategy(const YamlReader& r, const Field& section) {
  StrategySettings s;
  const Fields fields = settings(r, section, {"kind", "budget", "seed", "race_margin"});
  for (const auto& [key, key_where, v] : fields.all()) {
    const std::string what = "strategy." + key;
    if (key == "kind") {
      const std::string k = r.string(v, what);
      const std::optional<StrategyKind> kind = parse_strategy(k);
      if (!kind)
        r.fail(v.where, fmt::format("unknown strategy kind '{}' (expected exhaustive, random, racing)", k));
      s.kind = *kind;
    }
    if (key == "budget") s.budget = static_cast<int>(r.integer(v, what, 0, INT_MAX));
    if (key == "seed") s.seed = static_cast<std::uint64_t>(r.integer(v, what, 0));
    if (key == "race_margin")
      s.race_margin = checked(r, v, what, r.fraction(v, what), End::closed, 0, 1, End::open);
  }
  return s;
}

}  // namespace flashtune::space::detail
