#pragma once
// A small PNG reader for the report's screenshot test: 8-bit greyscale, grey + alpha, RGB or RGBA, not
// interlaced (what Chromium's --screenshot writes), inflated with zlib, the five scanline filters undone.
// Returns RGBA pixels; throws std::runtime_error for anything else.
#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace flashtune::report::testing {

struct RgbaImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // RGBA, row-major
};

inline RgbaImage read_png(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> file((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
  auto fail = [&](const std::string& why) { throw std::runtime_error(path.string() + ": " + why); };
  static constexpr std::array<std::uint8_t, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (file.size() < 8 || !std::equal(kSignature.begin(), kSignature.end(), file.begin())) fail("not a PNG");
  auto be32 = [&](std::size_t at) {
    return (std::uint32_t{file[at]} << 24) | (std::uint32_t{file[at + 1]} << 16) |
           (std::uint32_t{file[at + 2]} << 8) | std::uint32_t{file[at + 3]};
  };
  RgbaImage img;
  int color_type = -1;
  std::vector<std::uint8_t> idat;
  for (std::size_t at = 8; at + 12 <= file.size();) {
    const std::uint32_t len = be32(at);
    const std::string type(file.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           file.begin() + static_cast<std::ptrdiff_t>(at + 8));
    const std::size_t data = at + 8;
    if (data + len + 4 > file.size()) fail("truncated chunk " + type);
    if (type == "IHDR") {
      img.width = static_cast<int>(be32(data));
      img.height = static_cast<int>(be32(data + 4));
      const int depth = file[data + 8];
      color_type = file[data + 9];
      if (depth != 8 || file[data + 12] != 0) fail("only 8-bit, non-interlaced PNGs are read");
    } else if (type == "IDAT") {
      idat.insert(idat.end(), file.begin() + static_cast<std::ptrdiff_t>(data),
                  file.begin() + static_cast<std::ptrdiff_t>(data + len));
    } else if (type == "IEND") {
      break;
    }
    at = data + len + 4;
  }
  int channels = 0;
  switch (color_type) {
    case 0:
      channels = 1;
      break;
    case 2:
      channels = 3;
      break;
    case 4:
      channels = 2;
      break;
    case 6:
      channels = 4;
      break;
    default:
      fail("unsupported colour type " + std::to_string(color_type));
  }
  const std::size_t stride = static_cast<std::size_t>(img.width) * channels;
  std::vector<std::uint8_t> raw((stride + 1) * static_cast<std::size_t>(img.height));
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, idat.data(), idat.size()) != Z_OK || raw_size != raw.size())
    fail("bad image data");
  std::vector<std::uint8_t> cur(stride), prev(stride, 0);
  img.pixels.resize(static_cast<std::size_t>(img.width) * img.height * 4);
  for (int y = 0; y < img.height; ++y) {
    const std::uint8_t* line = raw.data() + static_cast<std::size_t>(y) * (stride + 1);
    const int filter = line[0];
    for (std::size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<std::size_t>(channels) ? cur[x - channels] : 0;
      const int b = prev[x];
      const int c = x >= static_cast<std::size_t>(channels) ? prev[x - channels] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          fail("bad filter " + std::to_string(filter));
      }
      cur[x] = static_cast<std::uint8_t>(line[1 + x] + pred);
    }
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* s = cur.data() + static_cast<std::size_t>(x) * channels;
      std::uint8_t* d = img.pixels.data() + (static_cast<std::size_t>(y) * img.width + x) * 4;
      const bool grey = channels <= 2;
      d[0] = s[0];
      d[1] = grey ? s[0] : s[1];
      d[2] = grey ? s[0] : s[2];
      d[3] = channels == 2 ? s[1] : channels == 4 ? s[3] : 255;
    }
    std::swap(cur, prev);
  }
  return img;
}

}  // namespace flashtune::report::testing
