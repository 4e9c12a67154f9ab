#include "store/best_key.hpp"

#include <fmt/format.h>

namespace flashtune::store {

std::string BestKey::to_string() const {
  return fmt::format("{} {} src={} nvrtc={} {}", gpu.key(), template_id, source_hash, nvrtc_version,
                     problem.to_string());
}

}  // namespace flashtune::store
