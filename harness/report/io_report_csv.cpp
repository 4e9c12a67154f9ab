// The IO report as CSV (RFC 4180): one row per trial, model and measured bytes side by side. Bytes are exact
// integers where they are (the requested model), measured ones as stored; an unprofiled trial leaves the
// measured columns empty.
#include <fmt/format.h>

#include "report/detail/io_report_data.hpp"
#include "report/detail/io_report_printers.hpp"

namespace flashtune::report::detail {
namespace {

std::string field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string bytes(double v) {
  return fmt::format("{:.0f}", v);
}

std::string param(const ParamValues& p, const char* name) {
  const auto it = p.find(name);
  return it == p.end() ? "" : std::to_string(it->second);
}

}  // namespace

std::string render_io_csv(const IoReport& r) {
  std::string out =
      "sweep_id,trial_id,template,problem,batch,heads,seqlen,head_dim,dtype,causal,budget_bytes,params,block_"
      "m,"
      "block_n,smem_bytes,blocks_per_sm,median_ms,tflops,model_requested_read_bytes,model_requested_write_"
      "bytes,"
      "model_dram_read_bytes,model_dram_write_bytes,model_l2_bytes,profiled,measured_dram_read_bytes,"
      "measured_dram_write_bytes,measured_l2_bytes,measured_l2_sm_bytes,model_dram_assumption\n";
  for (const IoTrialRow& t : r.trials) {
    const AttentionProblem& p = t.problem;
    const std::vector<std::string> cells = {
        std::to_string(t.sweep_id),
        std::to_string(t.trial_id),
        t.template_id,
        problem_text(p),
        std::to_string(p.batch),
        std::to_string(p.heads),
        std::to_string(p.seqlen),
        std::to_string(p.head_dim),
        std::string(to_string(p.dtype)),
        p.causal ? "1" : "0",
        std::to_string(t.smem_budget),
        to_string(t.params),
        param(t.params, "block_m"),
        param(t.params, "block_n"),
        std::to_string(t.smem_bytes),
        std::to_string(t.blocks_per_sm),
        fmt::format("{:.6g}", t.median_ms),
        fmt::format("{:.5g}", t.tflops),
        bytes(t.model.requested.read_bytes),
        bytes(t.model.requested.write_bytes),
        bytes(t.model.dram.read_bytes),
        bytes(t.model.dram.write_bytes),
        bytes(t.model.l2_bytes),
        t.profiled ? "1" : "0",
        t.profiled ? bytes(t.dram_read_bytes) : "",
        t.profiled ? bytes(t.dram_write_bytes) : "",
        t.profiled ? bytes(t.l2_bytes) : "",
        t.profiled && t.l2_sm_bytes >= 0 ? bytes(t.l2_sm_bytes) : "",
        t.model.dram_assumption,
    };
    std::string line;
    for (const std::string& c : cells) {
      if (!line.empty()) line += ',';
      line += field(c);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace flashtune::report::detail
