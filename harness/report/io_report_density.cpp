// Section 8 of the IO report: block sparsity. The block-sparse problems of fa2_fwd that differ only in their
// layout's density (and its seed), bytes against the layout's density: the FlashAttention paper's
// block-sparse figure, model beside measured.
#include <map>

#include <fmt/format.h>

#include "core/block_layout.hpp"
#include "report/detail/io_report_data.hpp"

namespace flashtune::report::detail {
namespace {
// The problem without its density and seed: what the problems of one plot share.
std::string family_of(const AttentionProblem& p) {
  AttentionProblem f = p;
  f.sparse_density = 0;
  f.sparse_seed = 0;
  return f.to_string();
}
}  // namespace

ReportSection bytes_vs_density(const IoData& d) {
  ReportSection s{
      .number = 8,
      .title = "Block sparsity: bytes vs block density",
      .intro =
          "fa2_fwd on block-sparse layouts (core/block_layout.hpp) that differ only in their density: tiles "
          "of blocks the layout drops are never loaded, so K and V's bytes fall with the density. Per "
          "density the fastest configuration with counters; x is the drawn layout's density (kept blocks "
          "/ all). The measured/model columns compare the SMs' L2 traffic with the requested bytes and "
          "DRAM with the DRAM estimate of the same trial."};
  std::map<std::string, std::vector<const ProblemRows*>> families;
  for (const ProblemRows& p : d.problems)
    if (p.problem.block_sparse() && !rows_of(p, "fa2_fwd").empty())
      families[family_of(p.problem)].push_back(&p);
  for (const auto& [family, problems] : families) {
    Plot plot{.title = fmt::format("fa2_fwd · {}: bytes vs block density", family),
              .x_label = "block density (kept layout blocks / all)",
              .y_label = "GB (10⁹ bytes)"};
    ByteSeries bytes;
    ReportTable t{.title = family,
                  .header = {"density", "configuration", "median ms (measured)", "requested GB (model)",
                             "L2↔SM GB (measured)", "measured / model", "DRAM GB (model)",
                             "DRAM GB (measured)", "measured / model"}};
    std::map<double, const IoTrialRow*> by_density;
    for (const ProblemRows* p : problems)
      if (const IoTrialRow* r = fastest(with_counters_else_all(rows_of(*p, "fa2_fwd"))))
        by_density[block_layout(p->problem).density()] = r;
    std::vector<const IoTrialRow*> used;
    for (const auto& [x, r] : by_density) {
      used.push_back(r);
      const std::string note = config_note(*r);
      bytes.add(x, *r, note);
      const bool sm_side = r->profiled && r->l2_sm_bytes >= 0;
      t.rows.push_back({fmt::format("{:.3f}", x), config_text(r->params), ms(r->median_ms),
                        gb(r->model.requested.total()), sm_side ? gb(r->l2_sm_bytes) : kNone,
                        sm_side ? ratio(r->l2_sm_bytes, r->model.requested.total()) : kNone,
                        gb(r->model.dram.total()), r->profiled ? gb(r->dram_bytes()) : kNone,
                        r->profiled ? ratio(r->dram_bytes(), r->model.dram.total()) : kNone});
    }
    plot.series = {bytes.requested, bytes.dram_model, bytes.l2_sm, bytes.dram};
    plot.caption =
        "Dashed: model (harness/iomodel: the requested bytes count each query tile's kept key tiles); solid: "
        "measured (CUPTI counters of the configuration's profiled launch).";
    plot.provenance = t.provenance = provenance(d, used);
    s.plots.push_back(std::move(plot));
    s.tables.push_back(std::move(t));
  }
  if (s.tables.empty()) s.intro += " No block-sparse fa2_fwd trial in the selected sweeps.";
  return s;
}

}  // namespace flashtune::report::detail
