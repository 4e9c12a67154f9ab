// Deployable bundles without a GPU: written from best entries (NVRTC compiles the cubins here), read back
// equal, looked up by the store's rule, and refused with a message for every way one can be wrong: another
// GPU or driver, an altered or missing cubin, a damaged or foreign manifest, a folder that is not a bundle.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "kernels/kernel_template.hpp"
#include "run/instance.hpp"
#include "runtime/best_config.hpp"
#include "runtime/bundle.hpp"
#include "runtime/bundle_writer.hpp"
#include "runtime/runtime.hpp"
#include "store/result_store.hpp"
#include "testing/cli_run.hpp"

namespace flashtune::runtime {
namespace {
namespace fs = std::filesystem;

const GpuIdentity kGpu{"NVIDIA H100 80GB HBM3", 9, 0, 132, 232448, 52428800, 13000};

store::BestEntry entry(const std::string& id, const AttentionProblem& p) {
  store::BestEntry e;
  e.key = best_key_for(p, kGpu, id, 232448);
  e.problem = p;
  e.params = find_template(id).default_config(variant_of(p));
  e.median_ms = 1.5;
  e.tflops = 400;
  return e;
}

const AttentionProblem kFa2{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 64};
const AttentionProblem kHopper{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128, .causal = true};

class BundleTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flashtune-bundle-" + std::to_string(::getpid()) + "-" +
                                        testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string refusal(const std::function<void()>& f, ErrorKind kind) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      return e.what();
    }
    return "accepted";
  }
  fs::path dir_;
};

TEST_F(BundleTest, RoundTrip) {
  const BundleWriteReport r = write_bundle({entry("fa2_fwd", kFa2), entry("hopper_fwd", kHopper)}, dir_);
  EXPECT_EQ(r.entries, 2u);
  EXPECT_EQ(r.cubins, 2u);
  EXPECT_TRUE(r.left_out.empty());
  const Bundle b = read_bundle(dir_);
  EXPECT_EQ(b.gpu, kGpu);
  EXPECT_EQ(b.arch, "sm_90a");
  ASSERT_EQ(b.entries.size(), 2u);
  for (const BundleEntry& e : b.entries) {
    const AttentionProblem& p = e.best.key.template_id == "fa2_fwd" ? kFa2 : kHopper;
    const store::BestEntry want = entry(e.best.key.template_id, p);
    EXPECT_EQ(e.best.key, want.key);
    EXPECT_EQ(e.best.params, want.params);
    EXPECT_EQ(e.best.problem.seqlen, p.seqlen);
    // Every kernel of the instance has its lowered name, and the cubin reads back checked.
    const run::Instance inst = run::Instance::make(find_template(e.best.key.template_id), e.best.params, p);
    for (const std::string& expr : inst.name_expressions())
      EXPECT_TRUE(e.lowered_names.contains(expr)) << expr;
    EXPECT_EQ(read_bundle_cubin(b, e).size(), e.cubin_bytes);
  }
  // The store's rule: the exact bucket, the nearest one, nothing for another head_dim or causality.
  AttentionProblem nearby = kFa2;
  nearby.seqlen = 100;
  ASSERT_NE(bundle_entry_for(b, "fa2_fwd", nearby), nullptr);
  EXPECT_EQ(bundle_entry_for(b, "fa2_fwd", nearby)->best.key.problem.seqlen_bucket, 4096);
  AttentionProblem other = kFa2;
  other.head_dim = 128;
  EXPECT_EQ(bundle_entry_for(b, "fa2_fwd", other), nullptr);
  other = kFa2;
  other.causal = true;
  EXPECT_EQ(bundle_entry_for(b, "fa2_fwd", other), nullptr);
  EXPECT_EQ(bundle_entry_for(b, "fa1_fwd", kFa2), nullptr);
  EXPECT_EQ(describe_entries(b).size(), 2u);

  // Written again over itself: still one whole bundle, no stray cubins.
  (void)write_bundle({entry("fa2_fwd", kFa2)}, dir_);
  EXPECT_EQ(read_bundle(dir_).entries.size(), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "cubins"), fs::directory_iterator()), 1);
}

TEST_F(BundleTest, ReadsWithoutTheKernelSources) {
  (void)write_bundle({entry("fa2_fwd", kFa2)}, dir_);
  const fs::path empty = dir_ / "no-sources";
  fs::create_directories(empty);
  const char* before = std::getenv("FLASHTUNE_KERNEL_DIR");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("FLASHTUNE_KERNEL_DIR", empty.c_str(), 1);  // any use of the sources would now throw
  const Bundle b = read_bundle(dir_);
  ASSERT_EQ(b.entries.size(), 1u);
  EXPECT_FALSE(read_bundle_cubin(b, b.entries[0]).empty());
  EXPECT_NE(bundle_entry_for(b, "fa2_fwd", kFa2), nullptr);
  if (saved.empty())
    ::unsetenv("FLASHTUNE_KERNEL_DIR");
  else
    ::setenv("FLASHTUNE_KERNEL_DIR", saved.c_str(), 1);
}

TEST_F(BundleTest, RefusesAnotherGpuOrDriver) {
  (void)write_bundle({entry("fa2_fwd", kFa2)}, dir_);
  const Bundle b = read_bundle(dir_);
  EXPECT_NO_THROW(check_bundle_gpu(b, kGpu));
  GpuIdentity h200 = kGpu;
  h200.name = "NVIDIA H200";
  std::string why = refusal([&] { check_bundle_gpu(b, h200); }, ErrorKind::invalid_argument);
  EXPECT_NE(why.find("was made for NVIDIA H100 80GB HBM3 (sm_90a, 132 SMs, driver 13.0); this GPU is NVIDIA "
                     "H200 (sm_90a, 132 SMs, driver 13.0) (another GPU model)"),
            std::string::npos)
      << why;
  GpuIdentity newer = kGpu;
  newer.driver_version = 13010;
  why = refusal([&] { check_bundle_gpu(b, newer); }, ErrorKind::invalid_argument);
  EXPECT_NE(why.find("(driver 13.0 vs 13.1)"), std::string::npos) << why;
}

TEST_F(BundleTest, RefusesDamage) {
  (void)write_bundle({entry("fa2_fwd", kFa2)}, dir_);
  const Bundle b = read_bundle(dir_);
  const fs::path cubin = dir_ / b.entries[0].cubin;
  std::string bytes = read_regular_file(cubin, 1 << 28, "cubin");
  bytes[bytes.size() / 2] ^= 0x40;
  write_file(cubin, bytes);
  std::string why = refusal([&] { (void)read_bundle_cubin(b, b.entries[0]); }, ErrorKind::io);
  EXPECT_NE(why.find(cubin.string() + " is altered or truncated"), std::string::npos) << why;
  fs::remove(cubin);
  why = refusal([&] { (void)read_bundle_cubin(b, b.entries[0]); }, ErrorKind::not_found);
  EXPECT_NE(why.find(cubin.string()), std::string::npos) << why;

  const fs::path manifest = dir_ / "manifest.json";
  const std::string text = read_regular_file(manifest, 1 << 20, "manifest");
  write_file(manifest, text.substr(0, text.size() / 2));
  why = refusal([&] { (void)read_bundle(dir_); }, ErrorKind::io);
  EXPECT_NE(why.find(manifest.string() + ": not a usable flashtune bundle manifest"), std::string::npos)
      << why;
  std::string v3 = text;
  v3.replace(v3.find("\"flashtune_bundle\": 2"), 21, "\"flashtune_bundle\": 3");
  write_file(manifest, v3);
  why = refusal([&] { (void)read_bundle(dir_); }, ErrorKind::io);
  EXPECT_NE(why.find("format 3, this flashtune reads formats 1 to 2"), std::string::npos) << why;
  std::string escape = text;
  escape.replace(escape.find("\"cubins/"), 8, "\"../../x");
  write_file(manifest, escape);
  why = refusal([&] { (void)read_bundle(dir_); }, ErrorKind::io);
  EXPECT_NE(why.find("is not cubins/*.cubin"), std::string::npos) << why;

  fs::remove(manifest);
  why = refusal([&] { (void)read_bundle(dir_); }, ErrorKind::not_found);
  EXPECT_NE(why.find("no manifest.json there"), std::string::npos) << why;
  why = refusal([&] { Runtime rt({.bundle = dir_}); }, ErrorKind::not_found);
  EXPECT_NE(why.find("no manifest.json there"), std::string::npos) << why;
}

TEST_F(BundleTest, WriterRefusals) {
  store::BestEntry other_gpu = entry("fa2_fwd", kFa2);
  other_gpu.key.gpu.driver_version = 12080;
  std::string why = refusal(
      [&] {
        (void)write_bundle({entry("fa2_fwd", kFa2), other_gpu}, dir_);
      },
      ErrorKind::invalid_argument);
  EXPECT_NE(why.find("a bundle holds one GPU: found 2 (use --gpu)"), std::string::npos) << why;

  store::BestEntry stale = entry("fa2_fwd", kFa2);
  stale.key.source_hash = "0123456789abcdef";
  why = refusal([&] { (void)write_bundle({stale}, dir_); }, ErrorKind::invalid_argument);
  EXPECT_NE(why.find("tuned on another source of fa2_fwd (src=0123456789abcdef"), std::string::npos) << why;
  const BundleWriteReport r = write_bundle({stale, entry("hopper_fwd", kHopper)}, dir_);
  EXPECT_EQ(r.entries, 1u);
  EXPECT_EQ(r.left_out.size(), 1u);

  const fs::path foreign = dir_ / "cubins";  // a folder with files and no manifest: somebody's
  why = refusal([&] { (void)write_bundle({entry("fa2_fwd", kFa2)}, foreign); }, ErrorKind::io);
  EXPECT_NE(why.find("is not empty and holds no bundle"), std::string::npos) << why;
}

TEST_F(BundleTest, ExportCommandWritesOne) {
  using cli_test::contains;
  fs::create_directories(dir_);
  const fs::path db = dir_ / "r.db";
  {
    store::ResultStore results(db);
    results.put_best(entry("fa2_fwd", kFa2));
    store::BestEntry stale = entry("hopper_fwd", kHopper);
    stale.key.source_hash = "0123456789abcdef0123456789abcdef";
    results.put_best(stale);
  }
  const fs::path out = dir_ / "bundle";
  const cli_test::CliRun r = cli_test::run_flashtune("export --all --stale --format bundle -o " +
                                                     out.string() + " --db " + db.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote a bundle of 1 configurations (1 cubins) to " + out.string()))
      << r.output;
  EXPECT_TRUE(contains(r.output, "left out: ")) << r.output;
  EXPECT_TRUE(contains(r.output, "tuned on another source of hopper_fwd")) << r.output;
  const Bundle b = read_bundle(out);
  ASSERT_EQ(b.entries.size(), 1u);
  EXPECT_EQ(b.entries[0].best.key.template_id, "fa2_fwd");

  const cli_test::CliRun no_dir = cli_test::run_flashtune("export --all --format bundle --db " + db.string());
  EXPECT_NE(no_dir.code, 0) << no_dir.output;
  EXPECT_TRUE(contains(no_dir.output, "export --format bundle needs --output DIR")) << no_dir.output;
}

}  // namespace
}  // namespace flashtune::runtime
