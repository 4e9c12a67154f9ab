// flashtune-jit-worker CACHE_DIR: the compile worker process of CompilePool (compile_pool.hpp).
//
// Protocol, one JSON object per line in each direction:
//   stdin:  {"id": N, "request": <CompileRequest as detail::request_to_json>}
//   stdout: {"id": N, "result": <metadata as detail::result_to_json>, "cache_hit": bool}   on success or a
//           compile error (the cubin and the metadata are in CACHE_DIR, under the result's cache_key), or
//           {"id": N, "error": "<message>", "kind": "<ErrorKind>"}                               on an
//           exception ("kind" only for a flashtune::Error: "io" when the cache cannot be written).
// Exits 0 at end of input, 2 on bad usage. Nothing else is written to stdout; diagnostics go to stderr.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "core/error.hpp"
#include "jit/cubin_cache.hpp"
#include "jit/detail/json_codec.hpp"

int main(int argc, char** argv) {
  using namespace flashtune::jit;
  using nlohmann::json;
  if (argc != 2) {
    std::fprintf(stderr, "usage: flashtune-jit-worker CACHE_DIR  (requests on stdin, one JSON line each)\n");
    return 2;
  }
  std::ios::sync_with_stdio(false);
  const CubinCache cache(argv[1]);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json reply;
    try {
      const json request = json::parse(line);
      reply["id"] = request.at("id");
      const CompileResult result = compile_cached(detail::request_from_json(request.at("request")), cache);
      reply["result"] = detail::result_to_json(result);
      reply["cache_hit"] = result.cache_hit;
    } catch (const flashtune::Error& e) {
      reply["error"] = e.what();
      reply["kind"] = std::string(flashtune::to_string(e.kind()));
    } catch (const std::exception& e) {
      reply["error"] = e.what();
    }
    std::cout << detail::dump_line(reply) << '\n' << std::flush;
  }
  return 0;
}
