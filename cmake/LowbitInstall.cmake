# `cmake --install <build> --prefix <prefix>`: liblowbit (static and shared), its headers, a CMake
# package (find_package(lowbit): lowbit::lowbit, lowbit::lowbit_shared, lowbit::lowbit_static), a
# pkg-config file (lowbit.pc) and, in a host build, lowbit-gen with its templates and targets under
# share/lowbit. A cross build (rpi-* presets, or the host build's build/host/cross/<target>)
# installs the board's library only: a staging prefix to copy to the board.
# Included from runtime/CMakeLists.txt, where the libraries and the cpuinfo result are in scope.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(lowbit_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/lowbit")
set_target_properties(lowbit PROPERTIES EXPORT_NAME lowbit_static)
set_target_properties(lowbit_shared PROPERTIES EXPORT_NAME lowbit_shared)
install(TARGETS lowbit lowbit_shared EXPORT lowbit-targets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(DIRECTORY "${LOWBIT_SOURCE_DIR}/runtime/include/lowbit" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.h")
install(EXPORT lowbit-targets NAMESPACE lowbit:: FILE lowbit-targets.cmake
        DESTINATION "${lowbit_cmake_dir}")

# What the static library needs of its consumers: Threads, and cpuinfo on x86 when it was found.
set(LOWBIT_PC_PRIVATE "")
if(CMAKE_THREAD_LIBS_INIT)  # empty where libc has pthreads (glibc >= 2.34)
  string(APPEND LOWBIT_PC_PRIVATE "Libs.private: ${CMAKE_THREAD_LIBS_INIT}\n")
endif()
set(LOWBIT_CONFIG_CPUINFO OFF)
if(LOWBIT_CPUINFO_FOUND)
  string(APPEND LOWBIT_PC_PRIVATE "Requires.private: libcpuinfo\n")
  set(LOWBIT_CONFIG_CPUINFO ON)
endif()

configure_package_config_file("${LOWBIT_SOURCE_DIR}/cmake/lowbit-config.cmake.in"
  "${CMAKE_CURRENT_BINARY_DIR}/lowbit-config.cmake" INSTALL_DESTINATION "${lowbit_cmake_dir}")
# 0.x: a minor version may change the API, as it changes the soname.
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/lowbit-config-version.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/lowbit-config.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/lowbit-config-version.cmake"
        DESTINATION "${lowbit_cmake_dir}")

# lowbit.pc finds its prefix from its own folder (${pcfiledir}), so that a staging prefix still
# works once copied elsewhere.
set(pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH LOWBIT_PC_PREFIX_FROM_PCFILEDIR "/${pc_dir}" "/")
string(REGEX REPLACE "/$" "" LOWBIT_PC_PREFIX_FROM_PCFILEDIR "${LOWBIT_PC_PREFIX_FROM_PCFILEDIR}")
configure_file("${LOWBIT_SOURCE_DIR}/cmake/lowbit.pc.in" "${CMAKE_CURRENT_BINARY_DIR}/lowbit.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/lowbit.pc" DESTINATION "${pc_dir}")

# lowbit-gen runs on the build machine: a host build installs it (its own build's install rules),
# a cross build does not put an x86 program into the board's prefix.
if(NOT CMAKE_CROSSCOMPILING AND LOWBIT_GEN_BUILD_DIR)
  install(SCRIPT "${LOWBIT_GEN_BUILD_DIR}/cmake_install.cmake")
endif()
