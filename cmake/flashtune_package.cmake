# The install rules of flashtune::runtime (harness/CMakeLists.txt), included by the top CMakeLists.txt:
#   P/lib/libflashtune_runtime.so             RUNPATH: NVRTC's folder (dlopen'ed by jit/)
#   P/include/flashtune/{runtime,core}/*.hpp  the public headers, in their source layout
#   P/lib/cmake/flashtune/                    flashtuneConfig.cmake, flashtuneConfigVersion.cmake,
#                                             flashtuneTargets*.cmake
include(CMakePackageConfigHelpers)

# The installed library finds its kernel templates at <its folder>/../share/flashtune (core/paths.cpp).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR CMAKE_INSTALL_LIBDIR MATCHES "/")
  message(WARNING "CMAKE_INSTALL_LIBDIR=${CMAKE_INSTALL_LIBDIR}: the installed libflashtune_runtime.so looks "
                  "for its kernel templates in its folder's ../share/flashtune and will not find them there; "
                  "configure with -DCMAKE_INSTALL_LIBDIR=lib or set FLASHTUNE_KERNEL_DIR at run time")
endif()

set(flashtune_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/flashtune)
install(TARGETS flashtune_runtime_shared EXPORT flashtuneTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/flashtune)
install(EXPORT flashtuneTargets NAMESPACE flashtune:: DESTINATION ${flashtune_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/flashtuneConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/flashtuneConfig.cmake
                              INSTALL_DESTINATION ${flashtune_cmake_dir})
# 0.x: the library's SOVERSION is the major version, so a 0.y package accepts any 0.x request.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/flashtuneConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/flashtuneConfig.cmake ${PROJECT_BINARY_DIR}/flashtuneConfigVersion.cmake
        DESTINATION ${flashtune_cmake_dir})
