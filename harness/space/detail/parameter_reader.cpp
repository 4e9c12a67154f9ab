// The `parameters:` section: for each template parameter, its values as a list, a single integer, an
// inclusive range with a step, or the powers of two between two bounds.
//
//   block_m: [64, 128, 192, 256]
//   block_n: {range: [32, 128], step: 32}   # 32, 64, 96, 128
//   warps: {pow2: [2, 8]}                   # 2, 4, 8
//   stages: 2
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "space/detail/section_readers.hpp"

namespace flashtune::space::detail {
namespace {

constexpr std::size_t kMaxValues = 10000;          // per parameter
constexpr std::size_t kMaxCombinations = 1000000;  // per space

bool is_pow2(std::int64_t v) {
  return v > 0 && (v & (v - 1)) == 0;
}

class ParameterReader {
 public:
  ParameterReader(const YamlReader& r, const ParamSpec& spec, std::string what)
      : r_(r), spec_(spec), what_(std::move(what)) {}

  std::vector<std::int64_t> read(const Value& v) {
    if (v.node.IsSequence()) {
      for (const Value& e : r_.list(v, what_)) add(e, r_.integer(e, what_));
      return std::move(values_);
    }
    if (!v.node.IsMap()) {
      add(v, r_.integer(v, what_));
      return std::move(values_);
    }
    const Fields f = r_.map(v, what_);
    r_.allow_only(f, what_, {"range", "step", "pow2"});
    const Field* range = f.find("range");
    const Field* pow2 = f.find("pow2");
    const Field* step = f.find("step");
    if ((range == nullptr) == (pow2 == nullptr))
      r_.fail(v.where, fmt::format("{}: expected a list, an integer, {{range: [lo, hi], step: s}} or "
                                   "{{pow2: [lo, hi]}}",
                                   what_));
    if (pow2 != nullptr && step != nullptr)
      r_.fail(step->key_where, fmt::format("{}: step applies to range, not pow2", what_));
    return range != nullptr ? read_range(*range, step) : read_pow2(*pow2);
  }

 private:
  // [lo, hi] with lo <= hi, and their values.
  std::pair<Value, Value> bounds(const Field& f) const {
    const std::vector<Value> b = r_.list(f.value, what_);
    if (b.size() != 2)
      r_.fail(f.value.where, fmt::format("{}: {} expects [lo, hi], got {} values", what_, f.key, b.size()));
    return {b[0], b[1]};
  }

  std::vector<std::int64_t> read_range(const Field& range, const Field* step_field) {
    const auto [lo_v, hi_v] = bounds(range);
    const std::int64_t lo = r_.integer(lo_v, what_);
    const std::int64_t hi = r_.integer(hi_v, what_);
    const std::int64_t step = step_field != nullptr ? r_.integer(step_field->value, what_ + " step") : 1;
    if (step <= 0) r_.fail(step_field->value.where, fmt::format("{}: step must be > 0, got {}", what_, step));
    if (lo > hi) r_.fail(range.value.where, fmt::format("{}: empty range [{}, {}] (lo > hi)", what_, lo, hi));
    check_bounds(lo_v, lo);
    check_bounds(hi_v, hi);
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    if (span / static_cast<std::uint64_t>(step) >= kMaxValues) too_many(range.value);
    for (std::int64_t v = lo;; v += step) {
      values_.push_back(v);
      if (hi - v < step) break;
    }
    return std::move(values_);
  }

  std::vector<std::int64_t> read_pow2(const Field& pow2) {
    const auto [lo_v, hi_v] = bounds(pow2);
    const std::int64_t lo = r_.integer(lo_v, what_);
    const std::int64_t hi = r_.integer(hi_v, what_);
    for (const auto& [node, v] : {std::pair{lo_v, lo}, std::pair{hi_v, hi}})
      if (!is_pow2(v))
        r_.fail(node.where, fmt::format("{}: pow2 bounds must be powers of two, got {}", what_, v));
    if (lo > hi) r_.fail(pow2.value.where, fmt::format("{}: empty range [{}, {}] (lo > hi)", what_, lo, hi));
    check_bounds(lo_v, lo);
    check_bounds(hi_v, hi);
    for (std::int64_t v = lo;; v *= 2) {
      values_.push_back(v);
      if (v > hi / 2) break;
    }
    return std::move(values_);
  }

  void add(const Value& at, std::int64_t v) {
    check_bounds(at, v);
    if (std::find(values_.begin(), values_.end(), v) != values_.end())
      r_.fail(at.where, fmt::format("{}: duplicate value {}", what_, v));
    if (values_.size() >= kMaxValues) too_many(at);
    values_.push_back(v);
  }

  void check_bounds(const Value& at, std::int64_t v) const {
    if (v < spec_.min || v > spec_.max)
      r_.fail(at.where,
              fmt::format("{}: {} is outside the template's bounds {}..{}", what_, v, spec_.min, spec_.max));
  }

  [[noreturn]] void too_many(const Value& at) const {
    r_.fail(at.where, fmt::format("{}: more than {} values", what_, kMaxValues));
  }

  const YamlReader& r_;
  const ParamSpec& spec_;
  std::string what_;
  std::vector<std::int64_t> values_;
};

}  // namespace

std::vector<Parameter> read_parameters(const YamlReader& r, const Field& section, const KernelTemplate& t) {
  std::vector<std::string> names;
  for (const ParamSpec& p : t.params()) names.push_back(p.name);
  const Fields fields = r.map(section.value, "parameters");

  std::vector<Parameter> out;
  std::size_t combinations = 1;
  for (const Field& f : fields.all()) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& p : t.params())
      if (p.name == f.key) spec = &p;
    if (spec == nullptr)
      r.fail(f.key_where,
             fmt::format("unknown parameter '{}' ({} has {})", f.key, t.id(), fmt::join(names, ", ")));
    Parameter p{f.key, ParameterReader(r, *spec, fmt::format("parameter '{}'", f.key)).read(f.value),
                f.key_where};
    combinations *= p.values.size();  // <= 10^6 * 10^4: no overflow
    if (combinations > kMaxCombinations)
      r.fail(f.key_where,
             fmt::format("the space exceeds {} combinations at parameter '{}'", kMaxCombinations, f.key));
    out.push_back(std::move(p));
  }
  for (const ParamSpec& p : t.params())
    if (p.required && fields.find(p.name) == nullptr)
      r.fail(section.key_where,
             fmt::format("parameters: '{}' is missing ({} has {})", p.name, t.id(), fmt::join(names, ", ")));
  return out;
}

}  // namespace flashtune::space::detail
