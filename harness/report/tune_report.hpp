#pragma once
// The sweep's summary as text: the winners (one row per problem and SRAM budget), the funnel (combinations ->
// constraints -> template rules -> budgets -> compiled -> trials by status), and the time split.
#include <ostream>

#include "tune/tune_summary.hpp"

namespace flashtune::report {

void print_tune_summary(const tune::TuneSummary& s, std::ostream& out);

}  // namespace flashtune::report
