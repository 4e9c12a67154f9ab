#include "kernels/kernel_template.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/enum_names.hpp"
#include "core/error.hpp"

namespace flashtune {

const KernelTemplate& fa2_template();       // fa2_template.cpp
const KernelTemplate& fa2_bwd_template();   // fa2_bwd_template.cpp
const KernelTemplate& standard_template();  // standard_template.cpp
const KernelTemplate& fa1_template();       // fa1_template.cpp
const KernelTemplate& fault_template();     // fault_template.cpp (testing only)
const KernelTemplate& hopper_template();    // hopper_template.cpp

ProblemVariant variant_of(const AttentionProblem& p) {
  return {.head_dim = p.head_dim,
          .dtype = p.dtype,
          .causal = p.causal,
          .general = p.num_kv_heads() != p.heads || p.keys() != p.seqlen || p.layout != Layout::bhsd,
          .window = p.windowed(),
          .softcap = p.softcap != 0.0f,
          .varlen = p.varlen(),
          .block_sparse = p.block_sparse()};
}

std::string to_string(const ProblemVariant& v) {
  return fmt::format("d{} {}{}{}{}{}{}{}", v.head_dim, to_string(v.dtype), v.causal ? " causal" : "",
                     v.general ? " general" : "", v.window ? " window" : "", v.softcap ? " softcap" : "",
                     v.varlen ? " varlen" : "", v.block_sparse ? " sparse" : "");
}

ParamValues KernelTemplate::default_config(const ProblemVariant& variant) const {
  (void)variant;
  ParamValues v;
  for (const ParamSpec& p : params()) v[p.name] = p.default_value;
  return v;
}

void KernelTemplate::require_valid(const ParamValues& values, const ProblemVariant& variant) const {
  if (auto why = invalid_reason(values, variant))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("{} {} ({}): {}", id(), to_string(values), to_string(variant), *why));
}

std::optional<std::string> unsupported_reason(const KernelTemplate& t, const ParamValues& values,
                                              const AttentionProblem& p) {
  const TemplateSupport s = t.support(values);
  auto no = [&](std::string what) { return fmt::format("{} does not support {}", t.id(), what); };
  if (std::find(s.passes.begin(), s.passes.end(), p.pass) == s.passes.end())
    return no(fmt::format("the {} pass", to_string(p.pass)));
  if (std::find(s.head_dims.begin(), s.head_dims.end(), p.head_dim) == s.head_dims.end())
    return no(fmt::format("head_dim {} (it has {})", p.head_dim, fmt::join(s.head_dims, ", ")));
  if (p.num_kv_heads() != p.heads && !s.grouped_heads)
    return no(fmt::format("grouped key/value heads (kv_heads {} < heads {})", p.num_kv_heads(), p.heads));
  if (p.keys() != p.seqlen && !s.unequal_lengths)
    return no(fmt::format("unequal lengths (seqlen {}, seqlen_k {})", p.seqlen, p.keys()));
  if (p.windowed() && !s.window)
    return no(fmt::format("a window (left {}, right {})", p.window_left, p.window_right));
  if (p.softcap != 0.0f && !s.softcap) return no(fmt::format("softcap ({})", p.softcap));
  if (std::find(s.layouts.begin(), s.layouts.end(), p.layout) == s.layouts.end())
    return no(fmt::format("the {} layout{}", to_string(p.layout), p.varlen() ? " (variable lengths)" : ""));
  if (p.block_sparse()) {
    if (s.sparse_tile_m == 0) return no("block-sparse layouts");
    if (p.sparse_block % s.sparse_tile_m != 0 || p.sparse_block % s.sparse_tile_n != 0)
      return no(
          fmt::format("a block-sparse block of {} with tiles of {} x {} (the block must be a multiple "
                      "of both)",
                      p.sparse_block, s.sparse_tile_m, s.sparse_tile_n));
  }
  return std::nullopt;
}

namespace {
constexpr EnumNames<TensorMapRequest::Tensor, 4> kTensors{{{
    {TensorMapRequest::Tensor::q, "q"},
    {TensorMapRequest::Tensor::k, "k"},
    {TensorMapRequest::Tensor::v, "v"},
    {TensorMapRequest::Tensor::o, "o"},
}}};
}  // namespace

std::string_view to_string(TensorMapRequest::Tensor t) {
  return kTensors.name(t);
}

TensorMapRequest::Tensor tensor_from_string(std::string_view name) {
  if (const auto t = kTensors.parse(name)) return *t;
  throw Error(ErrorKind::invalid_argument, fmt::format("unknown tensor '{}' (q, k, v or o)", name));
}

namespace {
const std::vector<const KernelTemplate*>& catalog() {
  static const std::vector<const KernelTemplate*> all = {
      &fa2_template(),    &standard_template(), &fa1_template(),
      &hopper_template(), &fa2_bwd_template(),  &fault_template(),
  };
  return all;
}
}  // namespace

const KernelTemplate& find_template(std::string_view id) {
  for (const KernelTemplate* t : catalog())
    if (t->id() == id) return *t;
  throw Error(ErrorKind::not_found,
              fmt::format("unknown kernel template '{}' (known: {})", id, fmt::join(template_ids(), ", ")));
}

std::vector<std::string> template_ids() {
  std::vector<std::string> ids;
  for (const KernelTemplate* t : catalog()) ids.emplace_back(t->id());
  return ids;
}

std::optional<std::string> check_params(const KernelTemplate& t, const ParamValues& values) {
  std::vector<std::string> names;
  for (const ParamSpec& p : t.params()) names.push_back(p.name);
  for (const auto& [name, value] : values) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& p : t.params())
      if (p.name == name) spec = &p;
    if (spec == nullptr)
      return fmt::format("unknown parameter '{}' ({} has {})", name, t.id(), fmt::join(names, ", "));
    if (value < spec->min || value > spec->max)
      return fmt::format("{} = {} is outside {}..{}", name, value, spec->min, spec->max);
  }
  for (const ParamSpec& p : t.params())
    if (p.required && !values.contains(p.name))
      return fmt::format("parameter '{}' of {} is missing", p.name, t.id());
  return std::nullopt;
}

std::int64_t param_or_default(const KernelTemplate& t, const ParamValues& values, std::string_view name) {
  if (auto it = values.find(std::string(name)); it != values.end()) return it->second;
  for (const ParamSpec& p : t.params())
    if (p.name == name) return p.default_value;
  throw Error(ErrorKind::not_found, fmt::format("{} has no parameter '{}'", t.id(), name));
}

std::string to_string(const ParamValues& values) {
  std::string s;
  for (const auto& [name, value] : values) s += fmt::format("{}{}={}", s.empty() ? "" : " ", name, value);
  return s;
}

}  // namespace flashtune
