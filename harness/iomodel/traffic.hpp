#pragma once
// Bytes moved between a kernel and a memory level, reads and writes kept apart.
namespace flashtune::iomodel {

struct Traffic {
  double read_bytes = 0, write_bytes = 0;
  double total() const { return read_bytes + write_bytes; }
};

inline Traffic operator+(Traffic x, const Traffic& y) {
  return {x.read_bytes + y.read_bytes, x.write_bytes + y.write_bytes};
}
inline Traffic operator*(double k, const Traffic& t) {
  return {k * t.read_bytes, k * t.write_bytes};
}

}  // namespace flashtune::iomodel
