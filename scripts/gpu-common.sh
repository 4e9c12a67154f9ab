# Sourced by the scripts/gpu-*.sh device runs (from the repository root): the output folder $out ($OUT, else
# ./gpu-out), the staged packages unpacked (.gpu-deps/*.deb: the sqlite3 headers the GPU machine lacks), CUDA on
# PATH, everything printed also kept in $out/run.log; and gpu_build, the Release build with its log kept only
# when it fails.
out="${OUT:-gpu-out}"; mkdir -p "$out"
for f in .gpu-deps/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
export PATH=/usr/local/cuda/bin:$PATH
exec > >(tee "$out/run.log") 2>&1

gpu_build() {
  { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build -j16; } > "$out/build.log" 2>&1 \
    || { tail -60 "$out/build.log"; exit 1; }
  rm -f "$out/build.log"
}
