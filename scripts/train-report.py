#!/usr/bin/python3
"""The training table and chart from lowbit-train and PyTorch logs.

Usage: train-report.py LOG [LOG ...] [--pytorch PYTORCH_LOG] [--md docs/training.md]
                       [--png docs/training.png] [--command TEXT]

Each LOG is one lowbit-train run's --log (JSON lines, docs/design.md section 25), named
[NAME=]PATH; without NAME the config is the file name without its extension (results/fixed8-sr.jsonl
is "fixed8-sr"). Epoch records are "kind":"epoch" (a record without kind is one too, as logs
before step records); step records "kind":"step". Where a resumed run logged an epoch or a step
twice the last record counts. PYTORCH_LOG is bench/pytorch_fashion.py's --log: its "epoch"
records are the PyTorch float row, its "measure" records the thread-setting table.

The Markdown (stdout without --md) has one row per run: the final epoch's test accuracy, its
difference to the "float" run in percentage points, the BitOPs of the whole run relative to float
(32/32) and to static 8/8 (the engine's counter, from the last epoch record; PyTorch's float is
1 and 16 by definition), the mean epoch wall time (training and evaluation), the mean training
images per second, the threads and the memory (lowbit's arena bytes, the process's peak resident
set). The PNG has the test accuracy per epoch of every run and, below, the forward bits per
logged step of every run whose forward bits changed (CPT).
Both files are written to a temporary file beside them and renamed, so a failed run leaves the old
ones. A missing or malformed log gives a one-line error and exit status 2.
"""

import argparse
import json
import os
import sys
import tempfile

MIB = 1048576.0


class BadInput(Exception):
    pass


class Run:
    def __init__(self, name, path):
        self.name, self.path = name, path
        self.epochs = {}  # epoch -> record
        self.steps = {}  # step -> record
        self.measures = []

    def last(self):
        return self.epochs[max(self.epochs)]

    def mean(self, key):
        values = [r[key] for r in self.epochs.values() if isinstance(r.get(key), (int, float))]
        return sum(values) / len(values) if values else None


def number(record, key, where, required=True):
    v = record.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if required or v is not None:
            raise BadInput(f"{where}: no number '{key}'")
        return None
    return v


def load(name, path, pytorch=False):
    run = Run(name, path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read ({e.strerror if isinstance(e, OSError) else e})")
    for i, line in enumerate(lines, 1):
        where = f"{path}:{i}"
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInput(f"{where}: not JSON ({e.msg})")
        if not isinstance(r, dict):
            raise BadInput(f"{where}: not a JSON object")
        kind = r.get("kind", "epoch")
        if kind == "step":
            number(r, "fw_bits", where)
            run.steps[int(number(r, "step", where))] = r
        elif kind in ("epoch", "measure"):
            number(r, "epoch", where)
            acc = number(r, "test_acc", where)
            if not 0 <= acc <= 1:
                raise BadInput(f"{where}: test_acc {acc} is not in [0, 1]")
            for key in ("seconds", "images_per_second"):
                number(r, key, where, required=False)
            if kind == "measure":
                run.measures.append(r)
            else:
                if not pytorch:
                    number(r, "bitops_vs_float", where)
                    number(r, "bitops_vs_8_8", where)
                run.epochs[int(r["epoch"])] = r
        else:
            raise BadInput(f"{where}: unknown kind '{kind}'")
    if not run.epochs:
        raise BadInput(f"{path}: no epoch records")
    return run


def fmt(v, spec, missing="n/a"):
    return missing if v is None else format(v, spec)


def memory(r):
    parts = []
    if isinstance(r.get("arena_bytes"), (int, float)):
        parts.append(f"arena {r['arena_bytes'] / MIB:.1f} MiB")
    if isinstance(r.get("peak_rss_bytes"), (int, float)):
        parts.append(f"peak RSS {r['peak_rss_bytes'] / MIB:.1f} MiB")
    return ", ".join(parts) or "n/a"


def threads(r, pytorch):
    if pytorch:
        return f"torch {r.get('torch_threads', r.get('threads', '?'))}, " \
               f"OpenBLAS {r.get('blas_threads', '?')}"
    return str(r.get("threads", "n/a"))


def markdown(runs, pytorch, png, command):
    float_run = next((r for r in runs if r.name == "float"), None)
    base = float_run.last()["test_acc"] if float_run else None
    out = ["# Training on Fashion-MNIST: lowbit-train against PyTorch", ""]
    if command:
        out += [f"Made by `{command}`.", ""]
    out += ["| config | epochs | test acc | vs float (pp) | BitOPs vs float | BitOPs vs 8/8 | "
            "epoch s | img/s | threads | memory |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    rows = [(r, False) for r in runs] + ([(pytorch, True)] if pytorch else [])
    for run, is_torch in rows:
        last = run.last()
        acc = last["test_acc"]
        diff = (acc - base) * 100 if base is not None else None
        bf = 1.0 if is_torch else last["bitops_vs_float"]
        b8 = 16.0 if is_torch else last["bitops_vs_8_8"]
        name = "pytorch-float" if is_torch else run.name
        out.append(f"| {name} | {len(run.epochs)} | {acc * 100:.2f}% | "
                   f"{fmt(diff, '+.2f')} | {bf:.4f} | {b8:.4f} | "
                   f"{fmt(run.mean('seconds'), '.1f')} | "
                   f"{fmt(run.mean('images_per_second'), '.0f')} | {threads(last, is_torch)} | "
                   f"{memory(last)} |")
    out += ["", "test acc: the last epoch's, on the whole test subset; vs float: against the "
            "lowbit-train float run" + ("" if float_run else " (none given: n/a)") +
            "; BitOPs: the run's multiply-accumulates weighted by the bits of their operands, "
            "relative to 32 x 32 and to 8 x 8 (PyTorch's float: 1 and 16 by definition); epoch "
            "s: the mean epoch wall time, training and evaluation; img/s: the mean of the epochs' "
            "training images per second (steps only); memory: the last epoch's."]
    if pytorch and pytorch.measures:
        out += ["", "PyTorch thread settings (one short epoch each, the fastest trains):", "",
                "| torch threads | OpenBLAS threads | img/s |", "|---|---|---|"]
        for m in pytorch.measures:
            out.append(f"| {m.get('torch_threads', '?')} | {m.get('blas_threads', '?')} | "
                       f"{fmt(m.get('images_per_second'), '.0f')} |")
    if png:
        cpt = [f"{r.name} ({len(r.steps)} step records, forward bits "
               f"{min(s['fw_bits'] for s in r.steps.values())}.."
               f"{max(s['fw_bits'] for s in r.steps.values())})" for r in cpt_runs(runs)]
        out += ["", "The chart's forward-bits panel: " + (", ".join(cpt) or "no run changed its "
                "forward bits") + "."]
        out += ["", f"![test accuracy per epoch and CPT's forward bits]({os.path.basename(png)})"]
    return "\n".join(out) + "\n"


def cpt_runs(runs):
    return [r for r in runs if len({s["fw_bits"] for s in r.steps.values()}) > 1]


def chart(runs, pytorch):
    try:
        import matplotlib
    except ImportError:
        raise BadInput("no matplotlib for the chart (Debian: python3-matplotlib, /usr/bin/python3)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), gridspec_kw={"height_ratios": [3, 2]})
    for run in runs:
        xs = sorted(run.epochs)
        top.plot(xs, [run.epochs[x]["test_acc"] * 100 for x in xs], marker="o", label=run.name)
    if pytorch:
        xs = sorted(pytorch.epochs)
        top.plot(xs, [pytorch.epochs[x]["test_acc"] * 100 for x in xs], marker="s",
                 linestyle="--", color="black", label="pytorch-float")
    top.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    top.set_xlabel("epoch")
    top.set_ylabel("test accuracy (%)")
    top.set_title("Fashion-MNIST test accuracy per epoch")
    top.grid(alpha=0.3)
    top.legend(fontsize="small")
    cpt = cpt_runs(runs)
    for run in cpt:
        xs = sorted(run.steps)
        bottom.step(xs, [run.steps[x]["fw_bits"] for x in xs], where="post", label=run.name)
    if cpt:
        bottom.legend(fontsize="small")
    else:
        bottom.text(0.5, 0.5, "no run with changing forward bits in its step records",
                    ha="center", va="center", transform=bottom.transAxes)
    bottom.set_xlabel("step")
    bottom.set_ylabel("forward bits")
    bottom.set_title("CPT: forward bits per logged step")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def write_atomic(path, write):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs", nargs="+", metavar="LOG", help="[NAME=]lowbit-train --log file")
    p.add_argument("--pytorch", help="bench/pytorch_fashion.py's --log")
    p.add_argument("--md", help="Markdown output (default stdout)")
    p.add_argument("--png", help="chart output")
    p.add_argument("--command", help="the command that made the logs, for the Markdown")
    args = p.parse_args()
    try:
        runs = []
        for spec in args.logs:
            name, _, path = spec.rpartition("=")
            name = name or os.path.splitext(os.path.basename(path))[0]
            if any(r.name == name for r in runs):
                raise BadInput(f"{path}: a second log of config '{name}'")
            runs.append(load(name, path))
        pytorch = load("pytorch-float", args.pytorch, pytorch=True) if args.pytorch else None
        for out in (args.md, args.png):
            if out and not os.path.isdir(os.path.dirname(os.path.abspath(out))):
                raise BadInput(f"{out}: its folder does not exist")
        text = markdown(runs, pytorch, args.png, args.command)
        fig = chart(runs, pytorch) if args.png else None
    except BadInput as e:
        print(f"train-report: {e}", file=sys.stderr)
        return 2
    if fig is not None:
        write_atomic(args.png, lambda f: fig.savefig(f, format="png", dpi=100))
    if args.md:
        write_atomic(args.md, lambda f: f.write(text.encode("utf-8")))
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
