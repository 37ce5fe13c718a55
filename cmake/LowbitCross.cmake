# Cross builds for the boards, driven from the host build: each is this project configured with the
# board's toolchain file (from its target description), sharing the host's lowbit-gen. Their tests
# join this build's ctest, run through the QEMU command of the description.
include(ExternalProject)

set(cross_test_dirs "")
foreach(target IN LISTS LOWBIT_CROSS_TARGETS)
  lowbit_read_target(${target})
  if(NOT LOWBIT_T_toolchain)
    message(FATAL_ERROR "lowbit: target ${target} has no toolchain file")
  endif()
  set(dir "${CMAKE_BINARY_DIR}/cross/${target}")
  ExternalProject_Add(lowbit-${target}
    SOURCE_DIR "${LOWBIT_SOURCE_DIR}"
    BINARY_DIR "${dir}"
    CMAKE_GENERATOR "${CMAKE_GENERATOR}"
    CMAKE_ARGS
      "-DCMAKE_TOOLCHAIN_FILE=${LOWBIT_SOURCE_DIR}/targets/${LOWBIT_T_toolchain}"
      "-DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}"
      "-DLOWBIT_GEN_EXECUTABLE=${LOWBIT_GEN}"
      "-DLOWBIT_WERROR=${LOWBIT_WERROR}"
      "-DLOWBIT_ASSERTS=${LOWBIT_ASSERTS}"
      "-DLOWBIT_DIGEST_REFERENCE=${CMAKE_BINARY_DIR}/quantize-digests.txt"
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    DEPENDS lowbit-kernels)
  list(APPEND cross_test_dirs "${dir}")
  message(STATUS "lowbit: cross target ${target} in ${dir}, tests under ${LOWBIT_T_qemu}")
endforeach()

if(cross_test_dirs)
  set(include_file "${CMAKE_BINARY_DIR}/CTestCrossTargets.cmake")
  set(content "")
  foreach(dir IN LISTS cross_test_dirs)
    string(APPEND content "subdirs(\"${dir}\")\n")
  endforeach()
  file(WRITE "${include_file}" "${content}")
  set_property(DIRECTORY "${LOWBIT_SOURCE_DIR}" APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endif()
