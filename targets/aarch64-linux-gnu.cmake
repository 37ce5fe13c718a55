# 64-bit Raspberry Pi OS (Cortex-A53 / A72): clang for aarch64-linux-gnu, tests under qemu-aarch64.
# Debian packages: clang, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user.
set(LOWBIT_TARGET aarch64-neon CACHE STRING "lowbit target description")
include("${CMAKE_CURRENT_LIST_DIR}/../cmake/CrossToolchain.cmake")
