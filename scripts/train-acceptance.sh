#!/usr/bin/env bash
# The training acceptance (issue 11): every shipped config of runtime/train/configs/ trained by
# lowbit-train with --log into a results folder, then the float PyTorch baseline
# (bench/pytorch_fashion.py: the thread settings measured, then training at the fastest), then
# the table and chart (scripts/train-report.py). The machine is waited quiet
# (/work/shared/tools/wait-quiet.sh where it exists) before each timed run; a run that starts on a
# busy machine is named in the results folder's acceptance.txt, its timing is noisy.
# Usage: scripts/train-acceptance.sh [--epochs N] [--train-limit N] [--test-limit N]
#          [--threads N] [--threads-grid G] [--configs "float fixed8-sr ..."] [--out DIR]
#          [--build DIR] [--md FILE] [--png FILE]
#   --epochs 10, --train-limit 0 and --test-limit 0 (all) are the acceptance; a smaller run is a
#   smoke check. --threads: lowbit-train's (default: the online CPUs). --threads-grid: PyTorch's
#   settings, torch threads x OpenBLAS threads (default 1,2x1,2 on 2 CPUs). --out: the logs and
#   outputs (default results/training). --build: a configured build folder (default: build/host,
#   configured with the host preset). The report goes to docs/training.md and docs/training.png
#   for the full acceptance, to the results folder otherwise, unless --md/--png say.
# Environment: QUIET (the wait tool, default ../shared/tools/wait-quiet.sh from the repository;
# empty: no wait).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "train-acceptance.sh: $*" >&2
  exit 2
}
count() {
  case "$2" in '' | *[!0-9]*) die "$1: '$2' is not a whole number" ;; esac
}

cpus=$(nproc)
epochs=10 train_limit=0 test_limit=0 threads=$cpus grid="" configs="" out=results/training
build="" md="" png=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --epochs) count "$1" "$2"; epochs=$2 ;;
    --train-limit) count "$1" "$2"; train_limit=$2 ;;
    --test-limit) count "$1" "$2"; test_limit=$2 ;;
    --threads) count "$1" "$2"; threads=$2 ;;
    --threads-grid) grid=$2 ;;
    --configs) configs=$2 ;;
    --out) out=$2 ;;
    --build) build=$2 ;;
    --md) md=$2 ;;
    --png) png=$2 ;;
    *) die "unknown option '$1'" ;;
  esac
  shift 2
done
[ "$epochs" -ge 1 ] || die "--epochs: at least 1"
[ "$threads" -ge 1 ] || die "--threads: at least 1"
if [ -z "$grid" ]; then
  if [ "$cpus" -ge 2 ]; then grid=1,2x1,2; else grid=1x1; fi
fi
if [ -z "$configs" ]; then
  # float first: the report's differences are against it
  configs=float
  for f in runtime/train/configs/*.cfg; do
    c=$(basename "$f" .cfg)
    [ "$c" = float ] || configs="$configs $c"
  done
fi
for c in $configs; do
  [ -f "runtime/train/configs/$c.cfg" ] || die "no config runtime/train/configs/$c.cfg"
done
full=no
if [ "$epochs" = 10 ] && [ "$train_limit" = 0 ] && [ "$test_limit" = 0 ]; then full=yes; fi
if [ -z "$md" ]; then
  if [ $full = yes ]; then md=docs/training.md; else md=$out/training.md; fi
fi
if [ -z "$png" ]; then
  if [ $full = yes ]; then png=docs/training.png; else png=$out/training.png; fi
fi
# Debian's python3-matplotlib and python3-torch are only in /usr/bin/python3, which another
# python3 on the PATH (pyenv, a venv) may hide.
python=/usr/bin/python3
"$python" -c "import matplotlib" 2>/dev/null ||
  die "no matplotlib in $python (bash scripts/install-deps.sh installs python3-matplotlib)"

if [ -z "$build" ]; then
  build=build/host
  cmake --preset host >/dev/null
fi
cmake --build "$build" --target lowbit-train
train="$build/runtime/train/cli/lowbit-train"
[ -x "$train" ] || die "no $train after the build"

mkdir -p "$out"
notes="$out/acceptance.txt"
model=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //' || true)
{
  echo "train-acceptance.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD)"
  echo "CPU: ${model:-unknown}, $cpus online"
  echo "epochs $epochs, train limit $train_limit, test limit $test_limit (0: all)"
  echo "lowbit-train: --threads $threads; PyTorch: the fastest of torch x OpenBLAS threads $grid"
} >"$notes"
quiet=${QUIET-../shared/tools/wait-quiet.sh}
wait_quiet() {
  if [ -n "$quiet" ] && [ -x "$quiet" ] && ! "$quiet"; then
    echo "train-acceptance.sh: the machine did not get quiet before $1; its timing is noisy" >&2
    echo "noisy: $1 started on a busy machine" >>"$notes"
  fi
}

logs=()
for c in $configs; do
  log="$out/$c.jsonl"
  wait_quiet "$c"
  echo "== lowbit-train $c: $epochs epochs, --threads $threads"
  # a step record every 10 steps, so the report's panel follows CPT's cycles (32 over the run)
  "$train" --config "runtime/train/configs/$c.cfg" --epochs "$epochs" --train-limit "$train_limit" \
    --test-limit "$test_limit" --threads "$threads" --progress 10 --log "$log.tmp" >"$out/$c.out"
  mv "$log.tmp" "$log"
  tail -n 1 "$out/$c.out"
  logs+=("$log")
done

wait_quiet pytorch
echo "== PyTorch float: thread settings $grid, then $epochs epochs at the fastest"
"$python" bench/pytorch_fashion.py --mode all --epochs "$epochs" --train-limit "$train_limit" \
  --test-limit "$test_limit" --threads-grid "$grid" --log "$out/pytorch.jsonl" |
  tee "$out/pytorch.out"
grep '^fastest' "$out/pytorch.out" >>"$notes" || true

command="bash scripts/train-acceptance.sh --epochs $epochs --train-limit $train_limit"
command="$command --test-limit $test_limit --threads $threads --threads-grid $grid"
"$python" scripts/train-report.py "${logs[@]}" --pytorch "$out/pytorch.jsonl" --md "$md" \
  --png "$png" --command "$command"
echo "== $md, $png (logs in $out, notes in $notes)"
cat "$notes"
