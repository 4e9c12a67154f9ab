#include "jit/cache_key.hpp"

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string_view>

#include "core/error.hpp"
#include "core/hash128.hpp"
#include "jit/compiler.hpp"
#include "jit/nvrtc_program.hpp"

namespace flashtune::jit {
namespace fs = std::filesystem;
namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in.is_open() || !(text << in.rdbuf())) {
    if (std::error_code ec; fs::file_size(path, ec) == 0 && !ec)
      return {};  // an empty header reads as nothing
    throw Error(ErrorKind::io, "cannot read " + path.string());
  }
  return std::move(text).str();
}

// The names in `#include "name"` lines, in order.
std::vector<std::string> quoted_includes(std::string_view text) {
  std::vector<std::string> names;
  auto skip_blanks = [](std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  };
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    skip_blanks(line);
    if (!line.starts_with('#')) continue;
    line.remove_prefix(1);
    skip_blanks(line);
    if (!line.starts_with("include")) continue;
    line.remove_prefix(7);
    skip_blanks(line);
    if (!line.starts_with('"')) continue;
    std::size_t close = line.find('"', 1);
    if (close != std::string_view::npos && close > 1) names.emplace_back(line.substr(1, close - 1));
  }
  return names;
}

fs::path resolve(const std::string& name, const fs::path& including_dir, const std::vector<fs::path>& dirs) {
  std::error_code ec;
  if (fs::path p(name); p.is_absolute()) return fs::is_regular_file(p, ec) ? p : fs::path{};
  if (fs::path p = including_dir / name; fs::is_regular_file(p, ec)) return p;
  for (const fs::path& dir : dirs)
    if (fs::path p = dir / name; fs::is_regular_file(p, ec)) return p;
  return {};
}

// Visits the source and its quoted includes depth-first, each file once. `on_file` gets each found file and
// its text; `on_missing` each quoted include that was not found.
void walk_sources(const CompileRequest& request,
                  const std::function<void(const fs::path&, const std::string&)>& on_file,
                  const std::function<void(const std::string&)>& on_missing) {
  std::error_code ec;
  if (!fs::is_regular_file(request.source_file, ec))
    throw Error(ErrorKind::not_found, "kernel source not found: " + request.source_file.string());
  std::set<fs::path> seen;
  std::function<void(const fs::path&)> visit = [&](const fs::path& file) {
    const fs::path canonical = fs::weakly_canonical(file, ec);
    if (!seen.insert(ec ? file : canonical).second) return;
    const std::string text = read_file(file);
    on_file(file, text);
    for (const std::string& name : quoted_includes(text)) {
      fs::path found = resolve(name, file.parent_path(), request.include_dirs);
      if (found.empty())
        on_missing(name);
      else
        visit(found);
    }
  };
  visit(fs::absolute(request.source_file));
}

}  // namespace

std::vector<fs::path> source_dependencies(const CompileRequest& request) {
  std::vector<fs::path> files;
  walk_sources(
      request, [&](const fs::path& file, const std::string&) { files.push_back(file); },
      [](const std::string&) {});
  return files;
}

std::string cache_key(const CompileRequest& request) {
  Hash128 h;
  h.field("format", std::to_string(kCacheFormatVersion));
  h.field("nvrtc", std::to_string(nvrtc_version()));
  h.field("tu", translation_unit(request));
  for (const std::string& option : nvrtc_options(request)) h.field("option", option);
  for (const std::string& expr : request.name_expressions) h.field("name_expression", expr);
  walk_sources(
      request, [&](const fs::path&, const std::string& text) { h.field("file", text); },
      [&](const std::string& name) { h.field("missing_include", name); });
  return h.hex();
}

std::string source_hash(const CompileRequest& request) {
  Hash128 h;
  walk_sources(
      request,
      [&](const fs::path& file, const std::string& text) {
        h.field("name", file.filename().string());
        h.field("file", text);
      },
      [&](const std::string& name) { h.field("missing_include", name); });
  return h.hex();
}

}  // namespace flashtune::jit
