# 32-bit Raspberry Pi OS (armhf, ARMv7-A + NEON on a Cortex-A53): clang for arm-linux-gnueabihf,
# tests under qemu-arm.
# Debian packages: clang, gcc-arm-linux-gnueabihf, libc6-dev-armhf-cross, qemu-user.
set(LOWBIT_TARGET armv7-neon CACHE STRING "lowbit target description")
include("${CMAKE_CURRENT_LIST_DIR}/../cmake/CrossToolchain.cmake")
