#pragma once
// A plain text table: the one printer of this stage. The core hands it rows of strings; it aligns them.
#include <ostream>
#include <string>
#include <vector>

namespace flashtune::report {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t size() const { return rows_.size(); }
  // Columns padded to their widest cell; numbers (cells starting with a digit, '-' or '+') right-aligned.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace flashtune::report
