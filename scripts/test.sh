#!/usr/bin/env bash
# The whole test suite: the host build (with the aarch64 and armv7 builds, whose tests run under
# QEMU), then the host tests again under ASan + UBSan. Installs missing packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
for preset in host host-asan; do
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  ctest --preset "$preset"
done
