#pragma once
// Reading and writing whole files with every failure reported: a write that the disk refuses (ENOSPC,
// EFBIG under `ulimit -f`, /dev/full) is an Error(io) naming the file and the system's reason, never a
// silently short file; a read refuses what is not a regular file (a FIFO would block, /dev/zero never ends)
// and what is larger than the caller allows.
//
//   write_file("out.json", text);               // created or truncated, 0644 less the umask
//   write_file_atomically(dir / "k.cubin", b);  // a temporary beside it, then rename(2)
//   std::string yaml = read_regular_file(path, 1 << 20, "search space");
//   finish_stdout();                            // at exit: flushes, throws when the output was lost
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace flashtune {

// Writes `bytes` to `path` (created or truncated). Throws Error(io): "cannot write out.json: No space left on
// device".
void write_file(const std::filesystem::path& path, std::string_view bytes);

// Writes `bytes` to a temporary file beside `target` (mode 0600 before the umask), then renames it over
// `target`, so that readers see the old content or the new one, never a part. Throws Error(io) naming the
// file; the temporary is removed on failure.
void write_file_atomically(const std::filesystem::path& target, std::string_view bytes);

// The whole content of the regular file `path`, at most `max_bytes`. Throws Error(not_found) when it does not
// exist and Error(io) when it is not a regular file (a directory, FIFO, device), is larger than `max_bytes`
// or cannot be read; `what` names it in the message ("search space /dev/zero: not a regular file (a
// character device)").
std::string read_regular_file(const std::filesystem::path& path, std::size_t max_bytes,
                              std::string_view what);

// Flushes std::cout and stdout. Throws Error(io) "cannot write standard output: ..." when anything written to
// them was lost (a closed pipe, a full disk, /dev/full).
void finish_stdout();

}  // namespace flashtune
