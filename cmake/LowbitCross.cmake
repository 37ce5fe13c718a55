# Cross builds for the boards, driven from the host build: each is this project configured with the
# board's toolchain file (from its target description), sharing the host's lowbit-gen. Their tests
# join this build's ctest, run through the QEMU command of the description.
include(ExternalProject)

# lowbit-train of the board under QEMU against this build's (docs/design.md, "Cross-target
# determinism"): match, the integer fixed8-sr run checkpoint by checkpoint at every step, bit for
# bit; float, the default config, which must train there and stay within its tolerance. Needs the
# board's zlib (its lowbit-train is not built without it) and the Fashion-MNIST files.
function(lowbit_train_qemu_tests)
  set(data /usr/share/datasets/fashion-mnist)
  if(NOT TARGET lowbit-test-train-match OR NOT EXISTS ${data}/train-images-idx3-ubyte.gz OR
     NOT EXISTS /usr/lib/${LOWBIT_T_triple}/libz.a)
    message(STATUS "lowbit: no lowbit-train tests under QEMU for ${target} (needs the board's "
                   "zlib1g-dev and Fashion-MNIST: scripts/install-deps.sh)")
    return()
  endif()
  # the QEMU command and the binary as one argument, "|" between the words
  list(JOIN LOWBIT_T_qemu "|" board)
  foreach(part match float)
    set(name train.qemu.${target}.${part})
    add_test(NAME ${name}
             COMMAND ${CMAKE_COMMAND} -DPART=${part} -DHOST_EXE=$<TARGET_FILE:lowbit-train>
                     "-DBOARD=${board}|${dir}/runtime/train/cli/lowbit-train"
                     -DMATCH=$<TARGET_FILE:lowbit-test-train-match>
                     -DCONFIGS=${LOWBIT_SOURCE_DIR}/runtime/train/configs -DDATA=${data}
                     -DDIR=${CMAKE_BINARY_DIR}/tests/train-qemu-${target}-${part}
                     -P ${LOWBIT_SOURCE_DIR}/tests/train_qemu_test.cmake)
    # about 25 s of CPU under qemu-arm; the margin is for a loaded machine
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endforeach()
endfunction()

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
  lowbit_train_qemu_tests()
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
