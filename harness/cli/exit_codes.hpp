#pragma once
// flashtune's exit codes (docs/cli.md lists them; tests check them).

namespace flashtune::cli {

enum ExitCode : int {
  kOk = 0,
  kFailure = 1,      // an unexpected error (a bug, a file system error)
  kUsage = 2,        // bad command line or bad input values
  kNoGpu = 3,        // the command needs a GPU and there is none; compile-time work was still done
  kTrialFailed = 4,  // at least one configuration failed to compile, launch or verify
};

}  // namespace flashtune::cli
