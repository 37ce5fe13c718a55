# Shared body of the per-board toolchain files in targets/: everything comes from the target's
# description (triple, flags, QEMU command), so a board is described in one place.
# Needs LOWBIT_TARGET to be set by the including toolchain file.
# Debian packages: clang, and the board's binutils + libc (gcc-<triple>, libc6-dev-<arch>-cross),
# qemu-user to run the tests.
set(LOWBIT_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/..")
include("${CMAKE_CURRENT_LIST_DIR}/LowbitTarget.cmake")
lowbit_read_target(${LOWBIT_TARGET})

set(LOWBIT_MCPU "" CACHE STRING "CPU to tune for (default: the first of the target's cpus)")
set(mcpu "${LOWBIT_MCPU}")
if(mcpu STREQUAL "")
  list(GET LOWBIT_T_cpus 0 mcpu)
endif()

set(CMAKE_SYSTEM_NAME Linux)
string(REGEX MATCH "^[^-]+" CMAKE_SYSTEM_PROCESSOR "${LOWBIT_T_triple}")
set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET "${LOWBIT_T_triple}")
list(JOIN LOWBIT_T_cflags " " flags)
set(CMAKE_C_FLAGS_INIT "-mcpu=${mcpu} ${flags}")
set(CMAKE_CROSSCOMPILING_EMULATOR ${LOWBIT_T_qemu})

set(CMAKE_FIND_ROOT_PATH "/usr/${LOWBIT_T_triple}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
