#pragma once
// Running the flashtune executable from a test: its exit code and what it printed (stdout and stderr
// together). FLASHTUNE_EXE is the built executable's path, defined by the test's CMake target.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace flashtune::cli_test {

struct CliRun {
  int code;            // the exit status; -1 when killed by a signal or not started
  std::string output;  // stdout and stderr
};

// Runs `env FLASHTUNE_EXE args` through the shell, its stderr captured, so args may redirect stdout (">
// /dev/full") without losing the messages; `env` is a prefix of VAR=value assignments (or shell commands
// ending in one: "ulimit -f 20; VAR=x"), or empty.
inline CliRun run_flashtune(const std::string& args, const std::string& env = "") {
  const std::string cmd =
      "{ " + env + (env.empty() ? "" : " ") + std::string(FLASHTUNE_EXE) + " " + args + "; } 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace flashtune::cli_test
