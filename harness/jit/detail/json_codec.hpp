#pragma once
// JSON forms of CompileRequest and CompileResult, shared by the cubin cache's metadata files and the compile
// worker's line protocol. A result's JSON is its metadata only: the cubin travels as its own file.
#include <nlohmann/json.hpp>

#include "jit/compile_request.hpp"

namespace flashtune::jit::detail {

nlohmann::json request_to_json(const CompileRequest& request);
CompileRequest request_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception on a bad shape

// ok, log, cache_key, compile_ms, lowered_names, ptxas, and the cubin's size and checksum (cubin_bytes,
// cubin_hash) so that a reader can tell a truncated or foreign cubin file from the right one.
nlohmann::json result_to_json(const CompileResult& result);
// Everything but the cubin, which stays empty; cache_hit is false. Throws nlohmann::json::exception on a bad
// shape.
CompileResult result_from_json(const nlohmann::json& j);

// One line of JSON text (no newline). Invalid UTF-8 (in a compiler log, say) is replaced, never thrown about.
std::string dump_line(const nlohmann::json& j);

// The checksum stored as cubin_hash.
std::string cubin_hash(const std::vector<char>& cubin);

}  // namespace flashtune::jit::detail
