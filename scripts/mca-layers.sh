#!/usr/bin/env bash
# The Cortex-A53 whole-layer model of ResNet-18's C2-C12 (docs/design.md, "Whole-call models"):
# generator/tune/harness.c, built static for aarch64 against a cross build's liblowbit.a, runs one
# lb_conv2d_run per layer and configuration under QEMU, and scripts/mca-trace.sh schedules every
# instruction it executes on llvm-mca's model. A model, not a measurement: every load hits L1,
# there are no memory stalls, and the Pi 3's 1.2 GHz turns cycles into milliseconds. To keep the
# traces short, each run computes the layer's first ROWS output rows (the rows do the same work),
# and the table scales them to the layer.
# Usage: scripts/mca-layers.sh CROSS_BUILD [ROWS] [CPU] [DATA_CPU]
#   CROSS_BUILD  an aarch64 build folder with runtime/liblowbit.a (the host build's
#                build/host/cross/aarch64-neon, or the rpi-aarch64 preset's build/rpi-aarch64)
#   CPU          llvm-mca's model and clang's -mcpu (default cortex-a53)
#   DATA_CPU     the cpu whose per-CPU data and schedule database the runtime follows
#                (LOWBIT_CPU; default CPU, the tuned choice; `default` for the untuned one)
set -euo pipefail
build="${1:?usage: scripts/mca-layers.sh CROSS_BUILD [ROWS] [CPU] [DATA_CPU]}"
rows="${2:-1}"
cpu="${3:-cortex-a53}"
# QEMU user mode does not show the guest's MIDR: the runtime is told which cpu it is on.
export LOWBIT_CPU="${4:-$cpu}"
root="$(cd "$(dirname "$0")/.." && pwd)"
lib="$build/runtime/liblowbit.a"
[ -f "$lib" ] || { echo "mca-layers: no $lib (build the aarch64 target first)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
clang --target=aarch64-linux-gnu -mcpu="$cpu" -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
  -static \
  -I"$root/runtime/include" "$root/generator/tune/harness.c" "$lib" -lm -lpthread -o "$work/layer"

# name, then lb_operand bits and encoding of A and of W (bench/resnet_bench.cc's configurations)
configs=("int16 9 s 8 s" "A1W1u 1 u 1 u" "A2W1 2 u 1 u" "A2W2 2 u 2 u")
printf '| layer | %s | KiB moved (int16, A1W1) |\n' \
  "$(printf '%s | ' "${configs[@]%% *}" | sed 's/ | $//')"
printf '|---|%s---|\n' "$(printf -- '---|%.0s' "${configs[@]}")"
kernels=""
declare -A speedups
for layer in C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12; do
  line="| $layer |"
  base=""
  moved=""
  picked="| $layer |"
  for c in "${configs[@]}"; do
    read -r name abits aenc wbits wenc <<<"$c"
    out=$(bash "$root/scripts/mca-trace.sh" --cpu "$cpu" --region lb_mca_begin,lb_mca_end '.*' \
      "$work/layer" "$layer" "$abits" "$aenc" "$wbits" "$wenc" auto "$rows" 0)
    cycles=$(awk '$1 == "all" { print $4 }' <<<"$out")
    # The whole layer (ROWS 0): its output rows, the bytes a call moves at the least (input and
    # weight codes, sums) and the kernel the runtime picked.
    whole=$(qemu-aarch64 -cpu "$cpu" "$work/layer" "$layer" "$abits" "$aenc" "$wbits" "$wenc" auto 0 0)
    full=$(awk '$1 == "macs" { print $6 }' <<<"$whole")
    total=$(awk -v c="$cycles" -v r="$rows" -v f="$full" 'BEGIN { printf "%.0f", c / r * f }')
    [ -n "$base" ] || base="$total"
    line+=$(awk -v t="$total" -v b="$base" 'BEGIN { printf " %.2f Mcyc, %.2f ms, %.2fx |", t / 1e6, t / 1.2e6, b / t }')
    speedups[$name]+="$(awk -v t="$total" -v b="$base" 'BEGIN { printf "%.4f", b / t }') "
    case "$name" in
      int16|A1W1u) moved+="${moved:+, }$(awk '$1 == "bytes" { printf "%.0f", $2 / 1024 }' <<<"$whole")" ;;
    esac
    picked+=" $(awk '$1 == "bytes" { print $4 }' <<<"$whole") |"
  done
  echo "$line $moved |"
  kernels+="$picked"$'\n'
done
line="| median |"
for c in "${configs[@]}"; do
  line+=$(tr ' ' '\n' <<<"${speedups[${c%% *}]}" | sed '/^$/d' | sort -g |
    awk '{ v[NR] = $1 } END { printf " %.2fx |", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
done
echo "$line |"
echo
echo "llvm-mca $(llvm-mca --version | awk '/LLVM version/ { for (i = 1; i < NF; i++) if ($i == "version") print $(i + 1) }') -mcpu=$cpu over the executed instructions of lb_conv2d_run (weights prepacked, activation packing included), first $rows output row(s) scaled to the layer; ms at 1.2 GHz; speedup against int16 (9-bit A x 8-bit W on the 16-bit kernel); kernels and blocks as LB_AUTO picks them with the data of LOWBIT_CPU=$LOWBIT_CPU. A model: all loads hit L1; KiB moved is what a call reads and writes at the least (input and weight codes, int32 or int64 sums)."
echo
printf '| layer | %s |\n' "$(printf '%s | ' "${configs[@]%% *}" | sed 's/ | $//')"
printf '|---|%s\n' "$(printf -- '---|%.0s' "${configs[@]}")"
printf '%s' "$kernels"
