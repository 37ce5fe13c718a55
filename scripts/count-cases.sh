#!/usr/bin/env bash
# Cases checked per target in the last ctest run of a build tree: the sum of the "N passed" lines
# the GEMM tests print. Usage: scripts/count-cases.sh [build dir, default build/host]
set -euo pipefail
log="${1:-build/host}/Testing/Temporary/LastTest.log"
[ -f "$log" ] || { echo "count-cases: no ctest log at $log (run ctest first)" >&2; exit 2; }
awk '
  / Testing: / { split($3, part, "."); target = part[1]; tests[target]++ }
  /^[0-9]+ passed, [0-9]+ failed$/ { passed[target] += $1; failed[target] += $3 }
  END { for (t in tests) if (t in passed) printf "%-14s %3d tests %8d cases passed %d failed\n", t, tests[t], passed[t], failed[t] }
' "$log" | sort
