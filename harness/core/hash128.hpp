#pragma once
// A 128-bit non-cryptographic digest: two 64-bit FNV-1a streams that differ in offset basis and byte mapping,
// each finished with a 64-bit avalanche mix. Good against accidental collisions (cache keys, checksums); not
// against an adversary.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flashtune {

class Hash128 {
 public:
  void bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      a_ = (a_ ^ p[i]) * kPrime;
      b_ = (b_ ^ static_cast<unsigned char>(p[i] ^ 0xa5u)) * kPrime;
    }
  }
  // A tagged, length-prefixed field, so that ("ab", "c") and ("a", "bc") hash differently.
  void field(std::string_view tag, std::string_view value) {
    bytes(tag.data(), tag.size());
    number(static_cast<std::int64_t>(value.size()));
    bytes(value.data(), value.size());
  }
  void number(std::int64_t v) { bytes(&v, sizeof v); }

  // 32 lowercase hex digits.
  std::string hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(32, '0');
    const std::uint64_t words[2] = {mix(a_), mix(b_)};
    for (int w = 0; w < 2; ++w)
      for (int i = 0; i < 16; ++i) out[w * 16 + i] = kDigits[(words[w] >> (60 - 4 * i)) & 0xf];
    return out;
  }

 private:
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  static std::uint64_t mix(std::uint64_t x) {  // the murmur3 64-bit finalizer
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }
  std::uint64_t a_ = 0xcbf29ce484222325ULL;  // the FNV-1a 64 offset basis
  std::uint64_t b_ = 0x6c62272e07bb0142ULL;  // the high half of the FNV-1a 128 offset basis
};

}  // namespace flashtune
