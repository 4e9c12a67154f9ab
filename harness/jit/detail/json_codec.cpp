#include "jit/detail/json_codec.hpp"

#include "core/hash128.hpp"

namespace flashtune::jit::detail {
using nlohmann::json;

json request_to_json(const CompileRequest& request) {
  json include_dirs = json::array();
  for (const auto& dir : request.include_dirs) include_dirs.push_back(dir.string());
  return json{{"source_file", request.source_file.string()},
              {"include_dirs", include_dirs},
              {"name_expressions", request.name_expressions},
              {"arch", request.arch},
              {"extra_options", request.extra_options}};
}

CompileRequest request_from_json(const json& j) {
  CompileRequest request;
  request.source_file = j.at("source_file").get<std::string>();
  for (const auto& dir : j.at("include_dirs")) request.include_dirs.emplace_back(dir.get<std::string>());
  request.name_expressions = j.at("name_expressions").get<std::vector<std::string>>();
  request.arch = j.at("arch").get<std::string>();
  request.extra_options = j.at("extra_options").get<std::vector<std::string>>();
  return request;
}

std::string dump_line(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string cubin_hash(const std::vector<char>& cubin) {
  flashtune::Hash128 h;
  h.bytes(cubin.data(), cubin.size());
  return h.hex();
}

json result_to_json(const CompileResult& result) {
  json ptxas = json::array();
  for (const PtxasInfo& p : result.ptxas)
    ptxas.push_back({{"function", p.function},
                     {"registers", p.registers},
                     {"static_smem_bytes", p.static_smem_bytes},
                     {"stack_bytes", p.stack_bytes},
                     {"spill_store_bytes", p.spill_store_bytes},
                     {"spill_load_bytes", p.spill_load_bytes},
                     {"barriers", p.barriers}});
  return json{{"ok", result.ok},
              {"log", result.log},
              {"cache_key", result.cache_key},
              {"compile_ms", result.compile_ms},
              {"lowered_names", result.lowered_names},
              {"ptxas", ptxas},
              {"cubin_bytes", result.cubin.size()},
              {"cubin_hash", cubin_hash(result.cubin)}};
}

CompileResult result_from_json(const json& j) {
  CompileResult result;
  result.ok = j.at("ok").get<bool>();
  result.log = j.at("log").get<std::string>();
  result.cache_key = j.at("cache_key").get<std::string>();
  result.compile_ms = j.at("compile_ms").get<double>();
  result.lowered_names = j.at("lowered_names").get<std::map<std::string, std::string>>();
  for (const json& p : j.at("ptxas"))
    result.ptxas.push_back(PtxasInfo{.function = p.at("function").get<std::string>(),
                                     .registers = p.at("registers").get<int>(),
                                     .static_smem_bytes = p.at("static_smem_bytes").get<int>(),
                                     .stack_bytes = p.at("stack_bytes").get<int>(),
                                     .spill_store_bytes = p.at("spill_store_bytes").get<int>(),
                                     .spill_load_bytes = p.at("spill_load_bytes").get<int>(),
                                     .barriers = p.at("barriers").get<int>()});
  return result;
}

}  // namespace flashtune::jit::detail
