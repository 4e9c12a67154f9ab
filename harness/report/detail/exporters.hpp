#pragma once
// What the exporters share: the entries grouped by GPU, the document JSON and YAML render, and one function
// per format (each in its own file), which export_format.cpp dispatches to.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/records.hpp"

namespace flashtune::report::detail {

struct GpuGroup {
  GpuIdentity gpu;
  std::vector<store::BestEntry> entries;  // ordered by template, source hash, NVRTC version, problem key
};
// Ordered by GpuIdentity::key().
std::vector<GpuGroup> group_by_gpu(const std::vector<store::BestEntry>& entries);

// "flashtune 0.1.0"
std::string_view generated_by();
// 2: the problem key carries the attention variant; 3: and the block-sparse block and density.
inline constexpr int kExportVersion = 3;

// The document of export_format.hpp, keys in that order.
nlohmann::ordered_json export_document(const std::vector<store::BestEntry>& entries);

std::string export_json(const std::vector<store::BestEntry>& entries);    // export_json.cpp
std::string export_yaml(const std::vector<store::BestEntry>& entries);    // export_yaml.cpp
std::string export_header(const std::vector<store::BestEntry>& entries);  // export_header.cpp

}  // namespace flashtune::report::detail
