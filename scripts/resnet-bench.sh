#!/usr/bin/env bash
# The ResNet-18 table and chart: builds lowbit-bench-resnet (host preset), waits for a quiet
# machine (/work/shared/tools/wait-quiet.sh where it exists), runs every row with repetitions into
# one JSON file, and turns it into docs/resnet18.md and docs/resnet18.png (scripts/resnet-report.py;
# each file is written whole or not at all). On a CPU with lowbit's AVX-512 family (AVX-512 F, DQ,
# BW, VL, VPOPCNTDQ, VNNI) it runs twice, one process after the other: with lowbit and oneDNN
# capped at AVX2 (--isa=avx2), then natively (rows "<config>@avx512"); the report merges both.
# Usage: scripts/resnet-bench.sh [lowbit-bench-resnet options, e.g. --io=float or --threads=1]
# Environment: BUILD (default build/host), REPS (repetitions, default 5), MIN_TIME (seconds per
# repetition, default 0.2), OUT (output folder, default docs), QUIET (the wait tool, default
# /work/shared/tools/wait-quiet.sh; empty: no wait).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build/host}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.2}
out=${OUT:-docs}
case "$reps" in
  '' | *[!0-9]* | 0) echo "resnet-bench.sh: bad REPS '$reps' (want 1 or more)" >&2; exit 2 ;;
esac

# Debian's python3-matplotlib is only in /usr/bin/python3, which another python3 on the PATH
# (pyenv, a venv) may hide.
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c "import matplotlib" 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "resnet-bench.sh: no python3 with matplotlib (bash scripts/install-deps.sh installs it)" >&2
  exit 2
fi

if [ "$build" = build/host ]; then
  cmake --preset host >/dev/null
else
  cmake -S . -B "$build" >/dev/null
fi
peak_target=""
case "$(uname -m)" in x86_64) peak_target=lowbit-bench-peak ;; esac
cmake --build "$build" --target lowbit-bench-resnet $peak_target
bench="$build/bench/lowbit-bench-resnet"

quiet=${QUIET-../shared/tools/wait-quiet.sh}
if [ -n "$quiet" ] && [ -x "$quiet" ] && ! "$quiet"; then
  echo "resnet-bench.sh: the machine did not get quiet; nothing timed" >&2
  exit 3
fi
passes=(native)
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
avx512=yes
for f in avx512f avx512dq avx512bw avx512vl avx512_vpopcntdq avx512_vnni; do
  case " $flags " in *" $f "*) ;; *) avx512=no ;; esac
done
if [ "$avx512" = yes ]; then
  passes=(avx2 native)
fi
jsons=()
for isa in "${passes[@]}"; do
  # OpenBLAS 0.3.21 does not know every newer x86 model and then falls back to its Prescott (SSE3)
  # kernels, a weak float peer; on an AVX-512 CPU, give it the kernels of the pass's ISA unless the
  # caller chose. The float rows' label names the kernels OpenBLAS ran.
  if [ "$avx512" = yes ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if [ "$isa" = avx2 ]; then coretype=Haswell; else coretype=SkylakeX; fi
  else
    coretype=${OPENBLAS_CORETYPE:-}
  fi
  json="$build/resnet18-$isa.json"
  tmp="$json.tmp"
  args=("$@" --isa="$isa" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time")
  echo "== $bench ${args[*]}"
  OPENBLAS_CORETYPE=$coretype "$bench" "${args[@]}" --benchmark_out="$tmp" \
    --benchmark_out_format=json
  mv "$tmp" "$json"
  jsons+=("$json")
done

peak_args=()
if [ -n "$peak_target" ]; then
  # The register-resident peaks of the kernels' instruction mixes, in the same run.
  peak="$build/peak.json"
  echo "== $build/bench/lowbit-bench-peak"
  "$build/bench/lowbit-bench-peak" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
    --benchmark_out="$peak.tmp" --benchmark_out_format=json
  mv "$peak.tmp" "$peak"
  peak_args=(--peak "$peak")
fi

mkdir -p "$out"
"$python" scripts/resnet-report.py "${jsons[@]}" "${peak_args[@]}" --md "$out/resnet18.md" \
  --png "$out/resnet18.png" --command "bash scripts/resnet-bench.sh${*:+ $*}"
echo "== $out/resnet18.md, $out/resnet18.png (from ${jsons[*]})"
