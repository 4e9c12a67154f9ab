#include "report/table.hpp"

#include <algorithm>
#include <cctype>

namespace flashtune::report {
namespace {
bool numeric(const std::string& s) {
  return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+');
}
}  // namespace

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size(), 0);
  for (std::size_t i = 0; i < header_.size(); ++i) width[i] = header_[i].size();
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& row, bool head) {
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(width[i] - cell.size(), ' ');
      if (i) out << "  ";
      out << ((!head && numeric(cell)) ? pad + cell : cell + (i + 1 < width.size() ? pad : ""));
    }
    out << '\n';
  };
  line(header_, true);
  std::size_t total = 0;
  for (auto w : width) total += w;
  out << std::string(total + 2 * (width.empty() ? 0 : width.size() - 1), '-') << '\n';
  for (const auto& row : rows_) line(row, false);
}

}  // namespace flashtune::report
