#!/usr/bin/env bash
# How far an llvm-mca model can be trusted to pick schedules (docs/design.md, section 33): on this
# x86 machine lowbit-tune times a search of AVX2 schedules, then scores exactly the same schedules
# by llvm-mca's model of MODEL_CPU over every instruction of each run (under QEMU, whose x86 CPU
# runs AVX2 and no AVX-512: hence --isa avx2), and this prints, per pair and shape class, the
# Spearman rank correlation of the two and how much slower (timed) the model's pick is than the
# timed best. The same question as for the Cortex-A53, whose schedules only the model scores.
# Usage: scripts/tune-trust.sh BUILD [MODEL_CPU] [BUDGET] [PAIRS] [SHAPES]
#   BUILD      a host build folder (its generator/tune/lowbit-tune)
#   MODEL_CPU  llvm-mca's CPU (default znver3)
#   BUDGET     schedules timed per pair and class (default 24)
#   PAIRS      lowbit-tune --pairs (default 1u:1u,2u:2u)
#   SHAPES     lowbit-tune --shape (default "C2 C3 C7 C11 C12")
# Time it on a quiet machine (../shared/tools/wait-quiet.sh before); it writes into
# results/tune-trust/ and prints a Markdown table.
set -euo pipefail
build="${1:?usage: scripts/tune-trust.sh BUILD [MODEL_CPU] [BUDGET] [PAIRS] [SHAPES]}"
model="${2:-znver3}"
budget="${3:-24}"
pairs="${4:-1u:1u,2u:2u}"
shapes="${5:-C2 C3 C7 C11 C12}"
tune="$build/generator/tune/lowbit-tune"
[ -x "$tune" ] || { echo "tune-trust: no $tune (build the host first)" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/results/tune-trust"
mkdir -p "$out"
common=(--target x86-avx2 --isa avx2 --pairs "$pairs" --shape "$shapes" --fresh)
"$tune" "${common[@]}" --budget "$budget" --work "$out/time" --db "$out/timed.schedules"
"$tune" "${common[@]}" --score mca --mcpu "$model" --replay "$out/time/journal" --work "$out/mca"
python3 - "$out/time/journal" "$out/mca/journal" "$model" "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')" <<'EOF'
import sys

def read(path):
    scores = {}
    for line in open(path).read().splitlines()[1:]:
        if " score=" in line:
            key, score = line.rsplit(" score=", 1)
            scores[key] = float(score)
    return scores

def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r

def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else float("nan")

timed, modelled = read(sys.argv[1]), read(sys.argv[2])
classes = {}
for key in timed:
    if key in modelled:
        pair, kmax, schedule = key.split(" ", 2)
        classes.setdefault((pair, kmax), []).append((timed[key], modelled[key], schedule))
print(f"Timed on {sys.argv[4]} (one thread, median thread CPU time) against llvm-mca "
      f"-mcpu={sys.argv[3]} over the same runs under QEMU:\n")
print("| pair | class | schedules | Spearman | model's pick, timed, vs timed best |")
print("|---|---|---|---|---|")
for (pair, kmax), rows in sorted(classes.items()):
    t = [r[0] for r in rows]
    m = [r[1] for r in rows]
    pick = min(rows, key=lambda r: (r[1], r[2]))
    print(f"| {pair} | {kmax} | {len(rows)} | {spearman(t, m):.2f} | "
          f"{pick[0] / min(t):.2f}x ({pick[2]}) |")
EOF
