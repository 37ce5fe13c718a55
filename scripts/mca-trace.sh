#!/usr/bin/env bash
# Modelled cycles of whole calls on an Arm core (docs/design.md, "Whole-call models"): a static
# aarch64 program runs under qemu-aarch64, which logs every translated block and every block it
# executes (-d in_asm,exec,nochain); the instructions executed inside the named functions, in the
# order they ran, become one straight-line stream that llvm-mca schedules on the CPU's model.
# Loops, packing, edges and the calls' epilogues all count; branches cost what the model says of
# a taken branch, and every load is assumed to hit L1 (llvm-mca has no cache model).
# Usage: scripts/mca-trace.sh [--cpu CPU] [--region BEGIN,END] [--keep DIR] FUNCTIONS PROGRAM [ARGS...]
#   FUNCTIONS  comma-separated symbol patterns (awk regular expressions, anchored), e.g.
#              'lb_pack_bitplanes_4r_k128__neon,memcpy.*'
#   --region   count only what runs after the program enters function BEGIN and before it enters
#              END (markers around the call to model, e.g. generator/tune/harness.c's)
# Prints, per pattern group and in all: instructions executed and modelled cycles.
set -euo pipefail
cpu=cortex-a53
# The CPU QEMU emulates: glibc then picks the string functions that CPU would run.
qemu_cpu=cortex-a53
keep=""
region=","
while [ $# -gt 0 ]; do
  case "$1" in
  --cpu) cpu="$2"; qemu_cpu="$2"; shift 2 ;;
  --keep) keep="$2"; shift 2 ;;
  --region) region="$2"; shift 2 ;;
  -*) echo "mca-trace: unknown option '$1'" >&2; exit 2 ;;
  *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "usage: scripts/mca-trace.sh [--cpu CPU] [--keep DIR] FUNCTIONS PROGRAM [ARGS...]" >&2; exit 2; }
functions="$1"
program="$2"
shift 2
[ -x "$program" ] || { echo "mca-trace: '$program' is not an executable" >&2; exit 2; }
# aarch64 programs are static; x86-64 ones may load shared libraries (Debian has no static
# cpuinfo), whose code is not modelled, but must not be position-independent, so that the
# addresses QEMU logs are those of the disassembly.
kind=$(file "$program")
if grep -q 'ARM aarch64.*statically linked' <<<"$kind"; then
  triple=aarch64-linux-gnu qemu=qemu-aarch64 comment='//'
elif grep -q 'LSB executable, x86-64' <<<"$kind"; then
  # QEMU's x86 CPUs are not named as LLVM's: its max (AVX2, no AVX-512) runs the AVX2 kernels.
  triple=x86_64-linux-gnu qemu=qemu-x86_64 comment='#' qemu_cpu=max
else
  echo "mca-trace: '$program' is neither a static aarch64 program nor a non-PIE x86-64 one" >&2
  exit 2
fi

work="${keep:-$(mktemp -d)}"
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT

# Address ranges of the functions that match a pattern: "start end name".
llvm-nm -S --defined-only "$program" | awk -v pats="$functions" '
  function hex(s,   i, c, v) { v = 0; s = tolower(s); sub(/^0x/, "", s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }; return v }
  BEGIN { n = split(pats, p, ",") }
  NF == 4 && ($3 == "T" || $3 == "t" || $3 == "W" || $3 == "i") {
    for (i = 1; i <= n; i++) if ($4 ~ ("^" p[i] "$")) {
      start = hex($1); size = hex($2)
      if (size > 0) printf "%d %d %s\n", start, start + size, $4
    }
  }' >"$work/ranges"
[ -s "$work/ranges" ] || { echo "mca-trace: no function of '$program' matches '$functions'" >&2; exit 2; }

"$qemu" -cpu "$qemu_cpu" -d in_asm,exec,nochain -D "$work/qemu.log" "$program" "$@" >"$work/stdout"

# The program's instructions in LLVM's syntax; pc-relative operands become '.', which keeps
# the instruction's kind and latency and assembles without the program's labels.
llvm-objdump -d --no-show-raw-insn --triple="$triple" "$program" | awk -v comment="$comment" '
  function hex(s,   i, c, v) { v = 0; s = tolower(s); sub(/^0x/, "", s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }; return v }
  /^ *[0-9a-f]+:[ \t]/ {
    addr = $1; sub(/:$/, "", addr)
    line = $0; sub(/^ *[0-9a-f]+:[ \t]+/, "", line)
    gsub(/0x[0-9a-f]+ <[^>]*>/, ".", line)
    at = index(line, comment); if (at) line = substr(line, 1, at - 1); sub(/[ \t]+$/, "", line)
    printf "%d\t%s\n", hex(addr), line
  }' >"$work/insns"

# The executed stream: each block executed inside a range, as the addresses of its instructions.
awk -v ranges="$work/ranges" -v insns="$work/insns" -v stream="$work/stream.s" -v region="$region" '
  function hex(s,   i, c, v) { v = 0; s = tolower(s); sub(/^0x/, "", s); for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); v = v * 16 + c - 1 }; return v }
  BEGIN {
    while ((getline l < ranges) > 0) { split(l, fld, " "); n++; lo[n] = fld[1]; hi[n] = fld[2]; nm[n] = fld[3] }
    while ((getline l < insns) > 0) { t = index(l, "\t"); text[substr(l, 1, t - 1) + 0] = substr(l, t + 1) }
    split(region, marks, ",")
    inside = marks[1] == ""
  }
  function owner(a,   i) {
    if (a in owners) return owners[a]
    for (i = 1; i <= n; i++) if (a >= lo[i] && a < hi[i]) return owners[a] = i
    return owners[a] = 0
  }
  /^IN:/ { inblock = 1; first = -1; next }
  inblock && /^0x[0-9a-f]+:/ {
    # x86: the rest of a long instruction'"'"'s bytes, on a line of its own without a mnemonic
    for (i = 2; i <= NF && $i ~ /^[0-9a-f][0-9a-f]$/; i++) {}
    if (i > NF) next
    a = hex(substr($1, 1, length($1) - 1))
    if (first < 0) { first = a; count[first] = 0 }
    block[first, count[first]++] = a
    next
  }
  inblock && !/^0x/ { inblock = 0 }
  /^Trace / {
    s = $0; sub(/^[^[]*\[[0-9a-f]+\//, "", s); sub(/\/.*/, "", s)
    pc = hex(s)
    name = $NF
    if (marks[1] != "" && name == marks[1]) inside = 1
    if (marks[2] != "" && name == marks[2]) inside = 0
    if (!inside) next
    o = owner(pc)
    if (!o || !(pc in count)) next
    for (j = 0; j < count[pc]; j++) {
      a = block[pc, j]
      if (!(a in text)) { printf "mca-trace: no instruction at 0x%x\n", a > "/dev/stderr"; exit 3 }
      print text[a] > stream
      executed[nm[o]]++
    }
  }
  END { for (f in executed) printf "%s %d\n", f, executed[f] > (stream ".counts") }' "$work/qemu.log"
[ -s "$work/stream.s" ] || { echo "mca-trace: the program executed none of '$functions'" >&2; exit 2; }

llvm-mca -mtriple="$triple" -mcpu="$cpu" -iterations=1 -all-stats=false -instruction-info=false \
  -resource-pressure=false "$work/stream.s" >"$work/mca.txt" 2>"$work/mca.err" && ! grep -q "error:" "$work/mca.err" ||
  { echo "mca-trace: llvm-mca: $(grep -m1 error "$work/mca.err")" >&2; exit 3; }
cycles=$(awk '/^Total Cycles:/ { print $3 }' "$work/mca.txt")
total=$(wc -l <"$work/stream.s")
sort "$work/stream.s.counts" | awk '{ printf "%-48s %12d instructions\n", $1, $2 }'
printf '%-48s %12d instructions %12d cycles (llvm-mca %s, -mcpu=%s, all loads hit L1)\n' \
  all "$total" "$cycles" "$(llvm-mca --version | awk '/LLVM version/ { for (i = 1; i < NF; i++) if ($i == "version") print $(i + 1) }')" "$cpu"
