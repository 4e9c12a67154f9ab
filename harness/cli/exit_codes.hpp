#pragma once
// flashtune's exit codes (docs/cli.md lists them; tests check them).

namespace flashtune::cli {

enum ExitCode : int {
  kOk = 0,
  kFailure = 1,      // an unexpected error (a bug, a file system error)
  kUsage = 2,        // bad command line or bad input values
  kNoGpu = 3,        // the command needs a GPU and there is none; compile-time work was still done
  kTrialFailed = 4,  // bench: a configuration failed; tune: a (problem, budget) has no passing configuration
  kBadSpace = 5,     // the search space file is invalid (the message names file:line:column)
  kCheckFailed = 6,  // check: an unexpected compile error, wrong result or sanitizer report, or pass
  kRegression = 7,   // compare: at least one problem is SLOWER
};

}  // namespace flashtune::cli
