#!/usr/bin/env bash
# The main job on its built-in default: build lowbit for this host and for the Raspberry Pi boards,
# generate kernels for the host and for a Cortex-A53, check the A53 kernels under QEMU against the
# reference, and print the host's speed against the 16-bit baseline (ResNet-18 C2 as a GEMM).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

cmake --preset host
cmake --build --preset host

gen=build/host/host-gen/lowbit-gen
demo=build/demo
rm -rf "$demo"
echo "== lowbit-gen: kernels for the host (x86-avx2) and for the Cortex-A53 (aarch64-neon)"
# target, cpu, bit-serial tile, direct tile (the tiles of kernels.spec)
for spec in "x86-avx2 znver3 4x2 4x16" "aarch64-neon cortex-a53 4x4 8x8"; do
  set -- $spec
  out="$demo/$1"
  mkdir -p "$out"
  gen_args=(--target "$1" --mcpu "$2")
  "$gen" "${gen_args[@]}" --op gemm --strategy bitserial --a 2u --w 1u --tile "$3" -o "$out"
  "$gen" "${gen_args[@]}" --op gemm --strategy bitserial-xor --a 1b --w 1b --tile "$3" -o "$out"
  "$gen" "${gen_args[@]}" --op gemm --strategy direct --format s16 --tile "$4" -o "$out"
done

echo "== the Cortex-A53 kernels under QEMU (qemu-aarch64) against the reference"
ctest --test-dir build/host --output-on-failure -j 2 \
  -R '^(aarch64-neon\.gemm\.(exact\.a[123]|extreme\.k(4096|65536))|gen\.standalone\.neon.*)$'

echo "== host speed against the 16-bit baseline"
build/host/bench/lowbit-bench-gemm --threads=1 --benchmark_min_time=0.2
