// The printers of `flashtune check`: JUnit XML that parses and counts right, JSON that reads back, the text
// summary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "report/check_report.hpp"

namespace flashtune::report {
namespace {

using check::CheckCase;
using check::CheckOutcome;
using check::CheckResult;
using check::CheckStage;

CheckResult sample() {
  CheckResult r;
  r.spaces = {"a.yaml", "b & c.yaml"};
  r.notes = {"a note"};
  r.wall_s = 12.5;
  auto add = [&](std::string space, CheckStage stage, CheckOutcome o, std::string problem,
                 std::string detail) {
    r.cases.push_back({std::move(space), "fa2_fwd", "block_m=64 block_n=64 stages=2 warps=4 (d64 bf16)",
                       std::move(problem), stage, o, std::move(detail), 0.25});
  };
  add("a.yaml", CheckStage::compile, CheckOutcome::pass, "", "registers 128");
  add("a.yaml", CheckStage::compile, CheckOutcome::fail, "",
      "fa2_fwd.cuh(12): error: static assertion failed with \"<too big> & 'odd'\"\n\x01second line");
  add("a.yaml", CheckStage::verify, CheckOutcome::expected_failure, "B2 H3 N17 d64 bf16",
      "incorrect: O differs");
  add("a.yaml", CheckStage::verify, CheckOutcome::skipped, "B2 H3 N1 d64 bf16", "does not compile");
  add("b & c.yaml", CheckStage::verify, CheckOutcome::unexpected_pass, "B2 H3 N1000 d64 bf16 causal",
      "verified");
  add("b & c.yaml", CheckStage::memcheck, CheckOutcome::fail, "B2 H3 N1 d64 bf16",
      "Invalid __global__ write of size 2 bytes\nlog: /tmp/x.log");
  return r;
}

std::size_t occurrences(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

TEST(JUnitXml, CountsAndEscapes) {
  const std::string xml = check_junit_xml(sample());
  EXPECT_TRUE(
      xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"flashtune check\" "
                      "tests=\"6\" failures=\"3\" errors=\"0\" skipped=\"1\" time=\"12.500\">"))
      << xml;
  EXPECT_EQ(occurrences(xml, "<testsuite "), 2u);
  EXPECT_EQ(occurrences(xml, "<testcase "), 6u);
  EXPECT_EQ(occurrences(xml, "<failure "), 3u);
  EXPECT_EQ(occurrences(xml, "<skipped "), 1u);
  EXPECT_NE(xml.find("<testsuite name=\"b &amp; c.yaml\" tests=\"2\" failures=\"2\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"compile block_m=64 block_n=64 stages=2 warps=4 (d64 bf16)\""),
            std::string::npos);
  EXPECT_NE(
      xml.find("name=\"verify block_m=64 block_n=64 stages=2 warps=4 (d64 bf16) on B2 H3 N17 d64 bf16\""),
      std::string::npos);
  EXPECT_NE(xml.find("&quot;&lt;too big&gt; &amp; &apos;odd&apos;&quot;"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_NE(xml.find("message=\"unexpected pass: verified\""), std::string::npos);
  EXPECT_NE(xml.find("<system-out>expected failure: incorrect: O differs</system-out>"), std::string::npos);
}

// Python's XML parser reads it, with the counts CI systems take from it (skipped when there is no python3).
TEST(JUnitXml, ParsesWithPython) {
  if (std::system("python3 -c 'import xml.etree.ElementTree' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no python3";
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("flashtune-junit-" + std::to_string(::getpid()) + ".xml");
  std::ofstream(file) << check_junit_xml(sample());
  const std::string cmd =
      "python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
      "cs = r.findall('./testsuite/testcase'); "
      "print(r.tag, len(r.findall('testsuite')), len(cs), len([c for c in cs if c.find('failure') is not "
      "None]), "
      "len([c for c in cs if c.find('skipped') is not None]), r.get('failures'))\" " +
      file.string();
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[256] = {};
  const std::size_t n = fread(buf, 1, sizeof buf - 1, p);
  const int status = pclose(p);
  std::filesystem::remove(file);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(std::string(buf, n), "testsuites 2 6 3 1 3\n");
}

TEST(CheckJson, RoundTrips) {
  const CheckResult r = sample();
  const CheckResult back = parse_check_json(check_json(r));
  EXPECT_EQ(back.spaces, r.spaces);
  EXPECT_EQ(back.notes, r.notes);
  EXPECT_EQ(back.wall_s, r.wall_s);
  ASSERT_EQ(back.cases.size(), r.cases.size());
  for (std::size_t i = 0; i < r.cases.size(); ++i) {
    const CheckCase &a = r.cases[i], &b = back.cases[i];
    EXPECT_EQ(a.space, b.space);
    EXPECT_EQ(a.template_id, b.template_id);
    EXPECT_EQ(a.configuration, b.configuration);
    EXPECT_EQ(a.problem, b.problem);
    EXPECT_EQ(a.stage, b.stage);
    EXPECT_EQ(a.outcome, b.outcome);
    EXPECT_EQ(a.detail, b.detail);
    EXPECT_EQ(a.seconds, b.seconds);
  }
  EXPECT_TRUE(back.failed());
  EXPECT_NE(check_json(r).find("\"failed\": true"), std::string::npos);
  EXPECT_THROW(parse_check_json("{\"flashtune_check\": 2}"), Error);
  EXPECT_THROW(parse_check_json("not json"), Error);
}

TEST(CheckSummary, ListsFailuresAndTheVerdict) {
  std::ostringstream out;
  print_check_summary(sample(), out);
  const std::string s = out.str();
  EXPECT_NE(s.find("a.yaml      compile"), std::string::npos) << s;
  EXPECT_NE(s.find("FAIL compile fa2_fwd block_m=64"), std::string::npos) << s;
  EXPECT_NE(s.find("UNEXPECTED PASS verify"), std::string::npos) << s;
  EXPECT_NE(s.find("expected failures:\n  verify"), std::string::npos) << s;
  EXPECT_NE(
      s.find("check: FAILED (6 cases: 1 pass, 2 fail, 1 expected failures, 1 unexpected passes, 1 skipped"),
      std::string::npos)
      << s;

  CheckResult ok;
  ok.spaces = {"a.yaml"};
  ok.cases.push_back(
      {"a.yaml", "fa2_fwd", "x", "", CheckStage::compile, CheckOutcome::expected_failure, "e", 0});
  std::ostringstream out2;
  print_check_summary(ok, out2);
  EXPECT_NE(out2.str().find("check: PASSED"), std::string::npos) << out2.str();
}

}  // namespace
}  // namespace flashtune::report
