# install: `cmake --install` of this build into a fresh prefix, then example/ (the README's program)
# built against it with find_package(lowbit) and with pkg-config and run; the same against an
# aarch64 staging install of the cross build in build/<host>/cross/aarch64-neon, built with the
# rpi-aarch64 preset's toolchain file and run under QEMU. The installed lowbit-gen generates a
# kernel from share/lowbit. Skips, saying so, the parts whose tools are missing.
# Inputs: BUILD_DIR, SOURCE_DIR, WORK_DIR, GENERATOR, C_COMPILER, CROSS_BUILD_DIR (empty: no
# aarch64 part).
set(skipped "")
find_program(pkg_config pkg-config)
if(NOT pkg_config)
  message("SKIPPED: pkg-config is not installed (Debian: pkgconf)")
  return()
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
endfunction()

# Installs build_dir into WORK_DIR/<name>, builds example/ against it and runs it through ctest.
function(install_and_build name build_dir)
  set(prefix "${WORK_DIR}/${name}")
  set(example "${WORK_DIR}/example-${name}")
  file(REMOVE_RECURSE "${prefix}" "${example}")
  run("cmake --install ${build_dir}" "${CMAKE_COMMAND}" --install "${build_dir}" --prefix "${prefix}")
  run("configuring example/ for ${name}" "${CMAKE_COMMAND}" -E env ${ARGN}
      "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install/example" -B "${example}" -G "${GENERATOR}"
      -DCMAKE_BUILD_TYPE=Release "-DEXAMPLE_SOURCE=${SOURCE_DIR}/docs/example.c" ${example_args})
  run("building example/ for ${name}" "${CMAKE_COMMAND}" --build "${example}")
  execute_process(COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${example}" --output-on-failure
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the example built against the ${name} install failed:\n${out}")
  endif()
  execute_process(COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${example}" -R cmake-shared -V
                  OUTPUT_VARIABLE out)
  string(REGEX MATCHALL "[0-9]+: [^\n]*" lines "${out}")
  message(STATUS "${name}: find_package and pkg-config builds pass; the program prints:")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "cmake-shared|Test command|Test timeout|Environment|Working Directory")
      string(REGEX REPLACE "^[0-9]+: " "" line "${line}")
      message(STATUS "  ${line}")
    endif()
  endforeach()
endfunction()

# Host: the whole install, lowbit-gen included.
set(example_args "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_PREFIX_PATH=${WORK_DIR}/host")
install_and_build(host "${BUILD_DIR}" "PKG_CONFIG_PATH=${WORK_DIR}/host/lib/pkgconfig")
set(gen "${WORK_DIR}/host/bin/lowbit-gen")
execute_process(COMMAND "${gen}" --help OUTPUT_VARIABLE help ERROR_VARIABLE help)
if(NOT help MATCHES "templates folder \\(default: ${WORK_DIR}/host/share/lowbit/templates\\)")
  message(FATAL_ERROR "the installed lowbit-gen does not default to its share/lowbit:\n${help}")
endif()
run("the installed lowbit-gen" "${gen}" --target aarch64-neon --op gemm --strategy bitserial
    --a 2u --w 1b --tile 4x4 -o "${WORK_DIR}/gen")
message(STATUS "host: the installed lowbit-gen generates from ${WORK_DIR}/host/share/lowbit")

# aarch64: the cross build's install is a staging prefix for the board.
if(NOT CROSS_BUILD_DIR)
  list(APPEND skipped "aarch64 (aarch64-neon is not in LOWBIT_CROSS_TARGETS)")
else()
  find_program(qemu qemu-aarch64)
  find_program(clang clang)
  if(NOT qemu OR NOT clang OR NOT EXISTS /usr/aarch64-linux-gnu/lib)
    list(APPEND skipped "aarch64 (needs clang, qemu-aarch64 and libc6-dev-arm64-cross)")
  else()
    # The toolchain file confines find_package to the board's sysroot: name the package's folder.
    set(example_args "-DCMAKE_TOOLCHAIN_FILE=${SOURCE_DIR}/targets/aarch64-linux-gnu.cmake"
                     "-Dlowbit_DIR=${WORK_DIR}/aarch64/lib/cmake/lowbit")
    install_and_build(aarch64 "${CROSS_BUILD_DIR}"
                      "PKG_CONFIG_LIBDIR=${WORK_DIR}/aarch64/lib/pkgconfig" --unset=PKG_CONFIG_PATH)
  endif()
endif()

if(skipped)
  list(JOIN skipped "; " skipped)
  message("SKIPPED: ${skipped}")
endif()
