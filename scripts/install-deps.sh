#!/usr/bin/env bash
# Installs the Debian packages lowbit needs, only those that are missing: a new machine starts bare.
set -euo pipefail

packages=(
  cmake ninja-build pkg-config clang llvm libclang-dev libbenchmark-dev libcpuinfo-dev
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
  # The ResNet-18 benchmark's peers (float sgemm, oneDNN int8) and its chart.
  libopenblas-dev libdnnl-dev python3-matplotlib
  # The training engine: Fashion-MNIST, and zlib for the host and (multiarch) the two boards.
  dataset-fashion-mnist zlib1g-dev zlib1g-dev:arm64 zlib1g-dev:armhf
  # lowbit-tune's dispatch of host timings to other machines (--sshlogin).
  parallel
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
# A mirror in the middle of a sync makes 'update' fail for one index; the install decides.
# The boards' zlib comes from Debian's multiarch packages, which need their architectures known.
for arch in arm64 armhf; do
  dpkg --print-foreign-architectures | grep -qx "$arch" || $sudo dpkg --add-architecture "$arch"
done
$sudo apt-get update -qq || echo "install-deps: apt-get update reported errors, trying the install anyway" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
