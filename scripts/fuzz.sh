#!/usr/bin/env bash
# Builds the readers' libFuzzer harnesses (tests/fuzz/) and runs each one after the other, then
# prints executions and crashes per fuzzer; exits non-zero when one crashed (or leaked, hung, ran
# out of memory). docs/design.md, "Fuzzing the readers".
#
#   scripts/fuzz.sh [--seconds N | --runs N] [fuzzer...]
#
# fuzzers: spec target tuning schedules idx checkpoint config (default: all), 60 seconds each by default;
# with both --seconds and --runs, each stops at the first limit it reaches.
# The build folder is build/fuzz, configured as the host-asan preset (LOWBIT_FUZZ_BUILD names
# another); what libFuzzer finds stays in
# its tests/fuzz/corpus/<fuzzer>, crash inputs in tests/fuzz/crash/. Reproduce one with
#   build/fuzz/tests/fuzz/lowbit-fuzz-<fuzzer> <crash file>
set -euo pipefail
cd "$(dirname "$0")/.."
all=(spec target tuning schedules idx checkpoint config)
limit=()
fuzzers=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) limit+=(-max_total_time="${2:?--seconds needs a number}"); shift 2 ;;
    --runs) limit+=(-runs="${2:?--runs needs a number}"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: error: unknown option $1 (--seconds N, --runs N)" >&2; exit 2 ;;
    *)
      if [[ ! " ${all[*]} " == *" $1 "* ]]; then
        echo "fuzz.sh: error: unknown fuzzer '$1' (${all[*]})" >&2
        exit 2
      fi
      fuzzers+=("$1"); shift ;;
  esac
done
[[ ${#fuzzers[@]} -gt 0 ]] || fuzzers=("${all[@]}")
[[ ${#limit[@]} -gt 0 ]] || limit=(-max_total_time=60)

build="${LOWBIT_FUZZ_BUILD:-build/fuzz}"
# The host-asan configuration, which builds the fuzzers, in a folder of its own.
cmake --preset host-asan -B "$build" -DLOWBIT_FUZZ=ON >/dev/null
dir="$build/tests/fuzz"
if [[ ! -f "$dir/CTestTestfile.cmake" ]] || ! grep -q fuzz "$dir/CTestTestfile.cmake"; then
  echo "fuzz.sh: error: this compiler cannot build libFuzzer harnesses (-fsanitize=fuzzer)" >&2
  exit 2
fi
cmake --build "$build" -j2 --target "${fuzzers[@]/#/lowbit-fuzz-}"

failed=0
rows=()
for fuzzer in "${fuzzers[@]}"; do
  log="$dir/$fuzzer.log"
  mkdir -p "$dir/corpus/$fuzzer" "$dir/crash"
  echo "== $fuzzer: ${limit[*]}"
  status=0
  "$dir/lowbit-fuzz-$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$dir/crash/$fuzzer-" "$dir/corpus/$fuzzer" "$dir/seeds/$fuzzer" \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  crashes=$(grep -c 'Test unit written to' "$log" || true)
  if [[ $status -ne 0 ]]; then
    failed=1
    crashes=$((crashes > 0 ? crashes : 1))
    grep -m3 'ERROR:\|SUMMARY:\|Test unit written to' "$log" || tail -5 "$log"
  fi
  rows+=("$(printf '%-11s %14s %10s %8s   %s' "$fuzzer" "${runs:-?}" "${speed:-?}" "$crashes" "$log")")
done
printf '\n%-11s %14s %10s %8s   %s\n' fuzzer executions exec/s crashes log
printf '%s\n' "${rows[@]}"
exit $failed
