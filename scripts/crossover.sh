#!/usr/bin/env bash
# Measures the LB_AUTO crossover of this host: runs lowbit-bench-gemm --crossover RUNS times on one
# thread (waiting for a quiet machine before each run where /work/shared/tools/wait-quiet.sh
# exists, and again for a run that lost its CPU to other work, up to 3 attempts), then
# lowbit-crossover writes targets/<target>.crossover from the runs. The runs' CSV
# files stay in <build>/crossover-runs/, which the file's "written by" line names.
# Usage: scripts/crossover.sh [RUNS (default 3)] [lowbit-crossover options, e.g. --default]
# Environment: TARGET (default x86-avx2), BUILD (default build/host), SHAPE (MxNxK), MIN_TIME
# (seconds per repetition, default 0.2 as in the main job: short runs fit between others' builds).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
[ $# -gt 0 ] && shift
case "$runs" in
  '' | *[!0-9]* | 0) echo "crossover.sh: bad run count '$runs' (want 1 or more)" >&2; exit 2 ;;
esac
target=${TARGET:-x86-avx2}
build=${BUILD:-build/host}
bench="$build/bench/lowbit-bench-gemm"
tool="$build/bench/lowbit-crossover"
quiet=/work/shared/tools/wait-quiet.sh
[ -f "targets/$target.target" ] || { echo "crossover.sh: no targets/$target.target" >&2; exit 2; }
for exe in "$bench" "$tool"; do
  if [ ! -x "$exe" ]; then
    echo "crossover.sh: no $exe (build first: cmake --build --preset host)" >&2
    exit 2
  fi
done

results="$build/crossover-runs"
rm -rf "$results"
mkdir -p "$results"
shape_args=()
[ -n "${SHAPE:-}" ] && shape_args=("--shape=$SHAPE")
for i in $(seq 1 "$runs"); do
  for attempt in 1 2 3; do
    [ -x "$quiet" ] && "$quiet"
    echo "== run $i of $runs, attempt $attempt"
    "$bench" --crossover --threads=1 "${shape_args[@]}" --benchmark_min_time="${MIN_TIME:-0.2}" \
      --benchmark_out="$results/run$i.csv" --benchmark_out_format=csv
    status=0
    "$tool" --target "$target" -o "$results/check.crossover" "$results/run$i.csv" || status=$?
    [ "$status" -eq 0 ] && break
    if [ "$status" -ne 3 ] || [ "$attempt" -eq 3 ]; then exit "$status"; fi
  done
done
rm -f "$results/check.crossover"
"$tool" --target "$target" "$@" -o "targets/$target.crossover" "$results"/run*.csv
echo "== targets/$target.crossover"
cat "targets/$target.crossover"
