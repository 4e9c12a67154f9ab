# test_install: `cmake --install` into a fresh prefix, then the installed flashtune, run from another folder
# with no FLASHTUNE_* variables, finds its installed templates, search spaces and compile worker: `info`
# names P/share/flashtune/kernel_templates, `compile` of one configuration and `tune --compile-only` of the
# installed small.yaml succeed. The runtime library (docs/install.md): the installed headers are exactly
# runtime.hpp's include closure, libflashtune_runtime.so needs no CUPTI, libcuda, NVRTC or yaml-cpp and
# exports only flashtune::, and examples/cpp builds against the prefix's CMake package and runs (without a
# GPU it says so and exits 0).
#   cmake -DBUILD=<build dir> -DPREFIX=<empty prefix> -DSOURCE=<source dir> -DGENERATOR=<generator>
#         -DMAKE_PROGRAM=<its make program> -DCXX=<C++ compiler> -DREADELF=<readelf> -DCUDA_BIN=<CUDA bin dir>
#         -P install_check.cmake
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${PREFIX}" RESULT_VARIABLE rc
                OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
foreach(f bin/flashtune bin/flashtune-jit-worker bin/flashtune-trial-worker
          share/flashtune/kernel_templates/fa2_fwd.cuh share/flashtune/kernel_templates/common/smem_bytes.h
          share/flashtune/search_spaces/fa2_fwd.yaml lib/libflashtune_runtime.so
          include/flashtune/runtime/runtime.hpp lib/cmake/flashtune/flashtuneConfig.cmake
          lib/cmake/flashtune/flashtuneConfigVersion.cmake lib/cmake/flashtune/flashtuneTargets.cmake)
  if(NOT EXISTS "${PREFIX}/${f}")
    message(FATAL_ERROR "not installed: ${PREFIX}/${f}")
  endif()
endforeach()
set(run ${CMAKE_COMMAND} -E env --unset=FLASHTUNE_KERNEL_DIR --unset=FLASHTUNE_SPACE_DIR
        --unset=FLASHTUNE_JIT_WORKER --unset=FLASHTUNE_TRIAL_WORKER "FLASHTUNE_CACHE_DIR=${PREFIX}/cache")
execute_process(COMMAND ${run} "${PREFIX}/bin/flashtune" info WORKING_DIRECTORY "${PREFIX}"
                OUTPUT_VARIABLE info RESULT_VARIABLE rc)
if(NOT info MATCHES "templates +${PREFIX}/share/flashtune/kernel_templates")
  message(FATAL_ERROR "the installed flashtune does not use its installed templates:\n${info}")
endif()
execute_process(COMMAND ${run} "${PREFIX}/bin/flashtune" compile -q --template fa2_fwd --param block_m=64
                        --param block_n=64 --param warps=4 --param stages=1 -d 64 --dtype bf16 --causal no
                WORKING_DIRECTORY "${PREFIX}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "1 configurations for sm_90a: 1 compiled, 0 failed")
  message(FATAL_ERROR "installed flashtune compile failed (${rc}):\n${out}\n${err}")
endif()
execute_process(COMMAND ${run} "${PREFIX}/bin/flashtune" tune --compile-only -q --db "${PREFIX}/t.db"
                        "${PREFIX}/share/flashtune/search_spaces/small.yaml"
                WORKING_DIRECTORY "${PREFIX}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
# Exit 3: no GPU here, the compile-time work was done (docs/cli.md).
if(NOT (rc EQUAL 0 OR rc EQUAL 3) OR NOT out MATCHES "kernels: 5 compiled \\(0 from the cubin cache, 0 failed\\)")
  message(FATAL_ERROR "installed flashtune tune --compile-only failed (${rc}):\n${out}\n${err}")
endif()

# The installed headers are runtime.hpp's include closure in the source tree, no more and no less.
file(WRITE "${PREFIX}/closure.cpp" "#include \"runtime/runtime.hpp\"\n")
execute_process(COMMAND "${CXX}" -std=c++20 -H -fsyntax-only -I "${SOURCE}/harness" "${PREFIX}/closure.cpp"
                ERROR_VARIABLE tree RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "runtime.hpp does not compile on its own:\n${tree}")
endif()
set(closure)
string(REPLACE "\n" ";" tree "${tree}")
foreach(line IN LISTS tree)  # -H: one line per header, ". path", ".. path" by depth
  string(REGEX REPLACE "^\\.+ " "" header "${line}")
  string(FIND "${header}" "${SOURCE}/harness/" at)
  if(at EQUAL 0 AND NOT header STREQUAL line)
    file(RELATIVE_PATH header "${SOURCE}/harness" "${header}")
    list(APPEND closure "${header}")
  endif()
endforeach()
file(GLOB_RECURSE installed RELATIVE "${PREFIX}/include/flashtune" "${PREFIX}/include/flashtune/*")
list(REMOVE_DUPLICATES closure)
list(SORT closure)
list(SORT installed)
if(NOT closure STREQUAL installed)
  message(FATAL_ERROR "the installed headers (harness/CMakeLists.txt, flashtune_runtime_shared's file set) "
                      "are not runtime.hpp's include closure:\n"
                      "  installed: ${installed}\n  closure:   ${closure}")
endif()

# The library needs no CUPTI, no libcuda or NVRTC (both dlopen'ed: a program that runs a deployable bundle
# starts without NVRTC) and no yaml-cpp; only what this list names, and it finds them all.
execute_process(COMMAND "${READELF}" -d "${PREFIX}/lib/libflashtune_runtime.so" OUTPUT_VARIABLE dynamic
                RESULT_VARIABLE rc)
string(REGEX MATCHALL "\\(NEEDED\\)[^[]*\\[[^]]*\\]" needed "${dynamic}")
string(REGEX REPLACE "\\(NEEDED\\)[^[]*\\[([^]]*)\\]" "\\1" needed "${needed}")
message(STATUS "libflashtune_runtime.so needs: ${needed}")
foreach(lib IN LISTS needed)
  if(lib MATCHES "^lib(cupti|cuda|nvrtc|yaml-cpp)\\.so" OR
     NOT lib MATCHES "^(lib(c|m|gcc_s|stdc\\+\\+|dl|pthread|rt|fmt|sqlite3)\\.so|ld-linux)")
    message(FATAL_ERROR "libflashtune_runtime.so needs ${lib} (all: ${needed})")
  endif()
endforeach()
execute_process(COMMAND ldd "${PREFIX}/lib/libflashtune_runtime.so" OUTPUT_VARIABLE resolved
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR resolved MATCHES "not found")
  message(FATAL_ERROR "libflashtune_runtime.so's libraries are not all found (${rc}):\n${resolved}")
endif()
# It exports flashtune's symbols only (cmake/flashtune_runtime.map): none of the fmt, nlohmann_json or
# standard library code linked in, which could bind to a program's own copies.
execute_process(COMMAND "${READELF}" -W -C --dyn-syms "${PREFIX}/lib/libflashtune_runtime.so"
                OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
string(REGEX MATCHALL "[^\n]+" symbols "${symbols}")
set(foreign)
foreach(line IN LISTS symbols)
  if(line MATCHES "^ *[0-9]+: [0-9a-f]+ +[0-9]+ [A-Z_]+ +(GLOBAL|WEAK) +[A-Z]+ +[0-9]+ (.*)$" AND
     NOT CMAKE_MATCH_2 MATCHES "^((typeinfo|typeinfo name|vtable) for )?flashtune::")
    list(APPEND foreign "${CMAKE_MATCH_2}")
  endif()
endforeach()
if(NOT rc EQUAL 0 OR foreign)
  message(FATAL_ERROR "libflashtune_runtime.so exports symbols outside flashtune:: (${rc}):\n${foreign}")
endif()

# examples/cpp against the prefix's package, with the main build's generator, compiler and CUDA Toolkit.
set(example "${PREFIX}/example-build")
get_filename_component(cuda_root "${CUDA_BIN}" DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}/examples/cpp" -B "${example}" -G "${GENERATOR}"
                        "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}" "-DCMAKE_CXX_COMPILER=${CXX}"
                        -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${PREFIX}"
                        "-DCUDAToolkit_ROOT=${cuda_root}"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(STRINGS "${example}/CMakeCache.txt" found REGEX "^flashtune_DIR:")
if(NOT rc EQUAL 0 OR NOT found STREQUAL "flashtune_DIR:PATH=${PREFIX}/lib/cmake/flashtune")
  message(FATAL_ERROR "examples/cpp does not configure against ${PREFIX} (${rc}, ${found}):\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${example}" OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "examples/cpp does not build against ${PREFIX}:\n${out}\n${err}")
endif()
execute_process(COMMAND ${run} "${example}/flashtune_example" WORKING_DIRECTORY "${PREFIX}"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
# No NVIDIA driver at all: the program cannot start without libcuda.so.1. The toolkit's stub stands in for it
# (its cuInit fails), so that the example's own no-GPU path runs.
if(NOT rc EQUAL 0 AND err MATCHES "libcuda\\.so\\.1")
  file(STRINGS "${example}/CMakeCache.txt" stub REGEX "^CUDA_cuda_driver_LIBRARY:")
  string(REGEX REPLACE "^[^=]*=" "" stub "${stub}")
  file(MAKE_DIRECTORY "${PREFIX}/cuda-stub")
  file(CREATE_LINK "${stub}" "${PREFIX}/cuda-stub/libcuda.so.1" SYMBOLIC)
  execute_process(COMMAND ${run} "LD_LIBRARY_PATH=${PREFIX}/cuda-stub" "${example}/flashtune_example"
                  WORKING_DIRECTORY "${PREFIX}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
endif()
if(NOT rc EQUAL 0 OR NOT out MATCHES "^no CUDA device: .*; this example needs a GPU\n$|max abs error over")
  message(FATAL_ERROR "examples/cpp failed (${rc}):\n${out}\n${err}")
endif()
message(STATUS "examples/cpp: ${out}")
file(REMOVE_RECURSE "${PREFIX}")
