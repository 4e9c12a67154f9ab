# test_install: `cmake --install` into a fresh prefix, then the installed flashtune, run from another folder
# with no FLASHTUNE_* variables, finds its installed templates, search spaces and compile worker: `info`
# names P/share/flashtune/kernel_templates, `compile` of one configuration and `tune --compile-only` of the
# installed small.yaml succeed.
#   cmake -DBUILD=<build dir> -DPREFIX=<empty prefix> -P install_check.cmake
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${PREFIX}" RESULT_VARIABLE rc
                OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
foreach(f bin/flashtune bin/flashtune-jit-worker bin/flashtune-trial-worker
          share/flashtune/kernel_templates/fa2_fwd.cuh share/flashtune/kernel_templates/common/smem_bytes.h
          share/flashtune/search_spaces/fa2_fwd.yaml)
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
file(REMOVE_RECURSE "${PREFIX}")
