// End to end: `flashtune report io` on the fixture database (io_fixture.hpp), then the HTML in headless
// Chromium: the screenshot is not blank (non-white pixels, many colours, the plots' line colours present) and
// the rendered DOM holds every plot as an <svg>. Chromium is required: CI installs it (scripts/setup.sh);
// without it this test fails and says so.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "report/io_fixture.hpp"
#include "report/io_report_model.hpp"
#include "report/png_reader.hpp"
#include "store/store_test_util.hpp"

namespace flashtune::report {
namespace {
namespace fs = std::filesystem;
using store::testing::ScratchDir;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// FLASHTUNE_CHROMIUM, else the first of the usual names on PATH; "" when there is none.
std::string find_chromium() {
  if (const char* env = std::getenv("FLASHTUNE_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::vector<fs::path> on_path;
  for (std::string d; std::getline(dirs, d, ':');) on_path.emplace_back(d);
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"})
    for (const fs::path& d : on_path)
      if (fs::exists(d / name)) return (d / name).string();
  return "";
}

int run(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string quoted(const fs::path& p) {
  return "'" + p.string() + "'";
}

TEST(IoReportHtml, RendersInHeadlessChromium) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium was not found (PATH or FLASHTUNE_CHROMIUM): this test needs it to render the IO report; "
         "scripts/setup.sh installs it (apt-get install chromium)";
  ScratchDir dir;
  const fs::path db = testing::io_report_test_db(dir.path());
  const fs::path out = dir / "report";

  // The command line, as a user runs it.
  const fs::path cli_log = dir / "cli.log";
  ASSERT_EQ(run(fmt::format("{} report io --db {} --out {} > {} 2>&1", FLASHTUNE_EXE, quoted(db), quoted(out),
                            quoted(cli_log))),
            0)
      << read_text(cli_log);
  const std::string cli_text = read_text(cli_log);
  EXPECT_NE(cli_text.find("wrote"), std::string::npos) << cli_text;
  const fs::path html = out / "io-report.html";
  ASSERT_TRUE(fs::exists(html)) << cli_text;
  ASSERT_TRUE(fs::exists(out / "io-report.md"));
  ASSERT_TRUE(fs::exists(out / "io-report.csv"));
  if (testing::kSyntheticFixture) {
    EXPECT_NE(cli_text.find("SYNTHETIC"), std::string::npos) << cli_text;
  }

  std::size_t plots = 0;
  {
    const store::ResultStore store(db);
    for (const ReportSection& s : build_io_report(store, {}).sections) plots += s.plots.size();
  }
  ASSERT_GT(plots, 0u);

  const std::string flags = fmt::format(
      "--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
      "--user-data-dir={} --window-size=1400,16000",
      quoted(dir / "chromium-profile"));
  const std::string url = "file://" + html.string();
  const fs::path log = dir / "chromium.log";

  // The rendered DOM: every plot is an inline <svg>.
  const fs::path dom = dir / "dom.html";
  ASSERT_EQ(run(fmt::format("timeout 60 {} {} --dump-dom '{}' > {} 2> {}", chromium, flags, url, quoted(dom),
                            quoted(log))),
            0)
      << read_text(log);
  const std::string dom_text = read_text(dom);
  std::size_t svgs = 0;
  for (std::size_t at = dom_text.find("<svg"); at != std::string::npos; at = dom_text.find("<svg", at + 1))
    ++svgs;
  EXPECT_GE(svgs, plots) << "the rendered DOM has " << svgs << " <svg> elements for " << plots << " plots";
  EXPECT_NE(dom_text.find("Model vs measured"), std::string::npos);

  // The screenshot: not blank.
  const fs::path png = dir / "io-report.png";
  ASSERT_EQ(run(fmt::format("timeout 60 {} {} --screenshot={} '{}' > {} 2>&1", chromium, flags, quoted(png),
                            url, quoted(log))),
            0)
      << read_text(log);
  ASSERT_TRUE(fs::exists(png)) << read_text(log);
  const testing::RgbaImage img = testing::read_png(png);
  EXPECT_EQ(img.width, 1400);
  EXPECT_GT(img.height, 1000);
  std::size_t non_white = 0;
  std::set<std::uint32_t> colours;
  std::size_t blue = 0, green = 0;  // fa2_fwd's line colour #1f77b4, the DRAM series' #2ca02c
  for (std::size_t i = 0; i + 3 < img.pixels.size(); i += 4) {
    const std::uint8_t r = img.pixels[i], g = img.pixels[i + 1], b = img.pixels[i + 2];
    if (r < 245 || g < 245 || b < 245) ++non_white;
    colours.insert((std::uint32_t{r} << 16) | (std::uint32_t{g} << 8) | b);
    auto near = [&](int R, int G, int B) {
      return std::abs(r - R) < 12 && std::abs(g - G) < 12 && std::abs(b - B) < 12;
    };
    blue += near(0x1f, 0x77, 0xb4);
    green += near(0x2c, 0xa0, 0x2c);
  }
  const double total = static_cast<double>(img.width) * img.height;
  EXPECT_GT(non_white / total, 0.02) << non_white << " non-white pixels of " << total;
  EXPECT_GT(colours.size(), 50u);
  EXPECT_GT(blue, 200u);
  EXPECT_GT(green, 200u);
  // Keep the screenshot, the report and the database for people to look at when asked
  // (FLASHTUNE_KEEP_SCREENSHOT=DIR).
  if (const char* keep = std::getenv("FLASHTUNE_KEEP_SCREENSHOT"); keep && *keep) {
    fs::create_directories(keep);
    fs::copy_file(png, fs::path(keep) / "io-report.png", fs::copy_options::overwrite_existing);
    fs::copy(out, fs::path(keep), fs::copy_options::overwrite_existing | fs::copy_options::recursive);
    fs::copy_file(db, fs::path(keep) / db.filename(), fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace flashtune::report
