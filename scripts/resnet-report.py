#!/usr/bin/env python3
"""The ResNet-18 table and chart from lowbit-bench-resnet runs.

Usage: resnet-report.py RESULT.json [MORE.json ...] [--md docs/resnet18.md]
                        [--png docs/resnet18.png] [--peak PEAK.json] [--command TEXT]

RESULT.json is Google Benchmark's JSON (--benchmark_out=FILE --benchmark_out_format=json, or
--benchmark_format=json on stdout), with or without repetitions and aggregates. Rows are named
"<layer>/<config>/t<threads>" (a trailing "/real_time" is Google Benchmark's). Per row the report
takes the median GOPS of the repetitions; the speedup is that median over the median of the
"int16" row (the fixed 16-bit baseline) of the same layer and thread count, both from this file,
so from the same run. A config named "<config>@<isa>" (lowbit's AVX-512 rows, from a run with
--isa=native on a CPU that has the family) is divided by "int16@<isa>" of its own run. Several
files (an --isa=avx2 run and a native one) are merged; a row in two files is an error. The
Markdown gets one table per thread count (GOPS and speedup per layer and
configuration, and their medians over the convolutions), the kernel or library behind each row, 2
threads over 1 where both ran, the CPU (its /proc/cpuinfo model name and lowbit's description, as
the run recorded them in the JSON context), the machine's share of CPU for one-thread rows and
each configuration against the oneDNN row of its own run. The PNG plots the speedup per layer,
one series per configuration, one panel per thread count and ISA run.
With --peak (lowbit-bench-peak's JSON, rows "peak/<mix>@<isa>"), a table gives each
configuration's one-thread conv median as a share of the register-resident peak of its kernel's
instruction mix; a bit-serial kernel of a b-bit by c-bit configuration does b x c 1-bit MACs per
MAC of its codes (a bipolar bit counts as one).
Both files are written to a temporary file beside them and renamed, so a failed run leaves the
old ones. A bad input gives a one-line error and exit status 2.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile

BASELINE = "int16"
LAYERS = ["C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "FC"]
CONFIGS = ["int16", "A1W1u", "A1W1b", "A2W1", "A2W2", "A3W1", "A1W3", "A3W3", "A4W4", "A8W2",
           "A8W4", "A8W8", "float", "onednn"]
# A one-thread row whose thread got less of a CPU than this lost time to other work.
MIN_CPU_SHARE = 0.9
NAME = re.compile(r"^([^/]+)/([^/]+)/t([0-9]+)(/.*)?$")


class BadInput(Exception):
    pass


class Row:
    def __init__(self):
        self.gops, self.real, self.cpu = [], [], []
        # The median aggregate (gops, real, cpu, repetitions): used when there are no iterations,
        # as with --benchmark_report_aggregates_only.
        self.aggregate = None
        self.labels = []
        self.error = None

    def gops_median(self):
        if self.gops:
            return statistics.median(self.gops)
        return self.aggregate[0] if self.aggregate else None

    def cpu_share(self):
        if self.real:
            real, cpu = statistics.median(self.real), statistics.median(self.cpu)
        elif self.aggregate:
            real, cpu = self.aggregate[1], self.aggregate[2]
        else:
            return None
        return cpu / real if real > 0 else None

    def repetitions(self):
        if self.gops:
            return len(self.gops)
        return self.aggregate[3] if self.aggregate else 0


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}")
    # With --benchmark_format=json on stdout, messages printed before the run precede the JSON.
    start = text.find("{")
    try:
        data = json.loads(text[start:] if start >= 0 else text)
    except json.JSONDecodeError as e:
        raise BadInput(f"not JSON: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise BadInput("not Google Benchmark JSON (no list 'benchmarks')")
    context = data.get("context")
    if not isinstance(context, dict):
        raise BadInput("not Google Benchmark JSON (no object 'context')")
    rows = {}
    for b in data["benchmarks"]:
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise BadInput("a benchmark entry without a name")
        name = b.get("run_name", b["name"])
        m = NAME.match(name)
        if not m:
            raise BadInput(f"benchmark '{name}' is not <layer>/<config>/t<threads>")
        key = (m.group(1), m.group(2), int(m.group(3)))
        row = rows.setdefault(key, Row())
        if b.get("error_occurred"):
            row.error = str(b.get("error_message", "failed"))
            continue
        label = b.get("label")
        if isinstance(label, str) and label and label not in row.labels:
            row.labels.append(label)
        try:
            gops = float(b["GOPS"])
            real, cpu = float(b["real_time"]), float(b["cpu_time"])
        except (KeyError, TypeError, ValueError):
            raise BadInput(f"benchmark '{b['name']}' has no numeric GOPS, real_time, cpu_time")
        run_type = b.get("run_type", "iteration")
        if run_type == "iteration":
            row.gops.append(gops)
            row.real.append(real)
            row.cpu.append(cpu)
        elif run_type == "aggregate" and b.get("aggregate_name") == "median":
            reps = b.get("repetitions")
            row.aggregate = (gops, real, cpu, reps if isinstance(reps, int) else 0)
    rows = {k: r for k, r in rows.items() if r.error or r.gops_median() is not None}
    if not rows:
        raise BadInput("no benchmark rows with results")
    return context, rows


def ordered(values, order):
    known = [v for v in order if v in values]
    return known + sorted(v for v in values if v not in order)


def isa_of(config):
    """The "@<isa>" suffix of a config name, or ""."""
    at = config.find("@")
    return config[at:] if at >= 0 else ""


def ordered_configs(values):
    """Plain configs in CONFIGS order, then each ISA's configs in the same order."""
    def key(c):
        base = c[:len(c) - len(isa_of(c))]
        return (isa_of(c), CONFIGS.index(base) if base in CONFIGS else len(CONFIGS), base)
    return sorted(values, key=key)


def ratio(rows, layer, config, other, threads):
    row, base = rows.get((layer, config, threads)), rows.get((layer, other, threads))
    if row is None or base is None or row.error or base.error:
        return None
    g, b = row.gops_median(), base.gops_median()
    return g / b if g is not None and b else None


def speedup(rows, layer, config, threads):
    return ratio(rows, layer, config, BASELINE + isa_of(config), threads)


def cell(rows, layer, config, threads):
    row = rows.get((layer, config, threads))
    if row is None:
        return ""
    if row.error:
        return "failed"
    text = f"{row.gops_median():.1f}"
    s = speedup(rows, layer, config, threads)
    if s is not None:
        text += f" / {s:.2f}x"
    share = row.cpu_share()
    if threads == 1 and share is not None and share < MIN_CPU_SHARE:
        text += " \\*"
    return text


def conv_median(rows, layers, config, threads):
    convs = [l for l in layers if l != "FC"]
    gops = [rows[(l, config, threads)].gops_median() for l in convs
            if (l, config, threads) in rows and not rows[(l, config, threads)].error]
    ratios = [s for s in (speedup(rows, l, config, threads) for l in convs) if s is not None]
    if not gops:
        return ""
    text = f"{statistics.median(gops):.1f}"
    if ratios:
        text += f" / {statistics.median(ratios):.2f}x"
    return text


def vs_onednn(rows, layers, config, threads):
    """Median over the convolutions of config's GOPS over its own run's oneDNN row."""
    convs = [l for l in layers if l != "FC"]
    other = "onednn" + isa_of(config)
    ratios = [r for r in (ratio(rows, l, config, other, threads) for l in convs) if r is not None]
    return f"{statistics.median(ratios):.2f}x" if ratios else ""


KERNEL = re.compile(r"^lb_gemm_(bitserial|bitserialxor|direct_([a-z0-9]+))_.*__([a-z0-9]+)$")
BITS = re.compile(r"^A([0-9]+)W([0-9]+)")


def load_peaks(path):
    """{mix: median GOPS} from lowbit-bench-peak's JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        raise BadInput(f"not JSON: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise BadInput("not Google Benchmark JSON (no list 'benchmarks')")
    runs = {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b.get("name")) if isinstance(b, dict) else None
        m = re.match(r"^peak/([^/]+)(/.*)?$", name or "")
        if not m:
            raise BadInput(f"benchmark '{name}' is not peak/<mix>")
        if b.get("error_occurred") or b.get("run_type", "iteration") != "iteration":
            continue
        try:
            runs.setdefault(m.group(1), []).append(float(b["GOPS"]))
        except (KeyError, TypeError, ValueError):
            raise BadInput(f"benchmark '{name}' has no numeric GOPS")
    return {mix: statistics.median(v) for mix, v in runs.items()}


def peak_share(rows, layers, config, peaks):
    """(mix, work per MAC, conv median GOPS, peak GOPS) of config at one thread, or None."""
    labels = [lab for l in layers for lab in (rows.get((l, config, 1)) or Row()).labels]
    kernels = {lab.split(";")[0] for lab in labels}
    m = KERNEL.match(kernels.pop()) if len(kernels) == 1 else None
    if m is None:
        return None
    bits = BITS.match(config)
    if m.group(1).startswith("bitserial"):
        mix, work = "bitserial", (int(bits.group(1)) * int(bits.group(2)) if bits else 1)
    else:
        mix, work = ("s16" if m.group(2) == "s16" else "u8s8"), 1
    mix += "@" + m.group(3)
    convs = [rows[(l, config, 1)].gops_median() for l in layers if l != "FC"
             and (l, config, 1) in rows and not rows[(l, config, 1)].error]
    if mix not in peaks or not convs:
        return None
    return mix, work, statistics.median(convs), peaks[mix]


def markdown(contexts, rows, sources, command, peaks=None):
    layers = ordered({k[0] for k in rows}, LAYERS)
    configs = ordered_configs({k[1] for k in rows})
    threads = sorted({k[2] for k in rows})
    reps = sorted({r.repetitions() for r in rows.values() if r.repetitions()})
    out = ["# ResNet-18 layer by layer: lowbit against the fixed 16-bit baseline", ""]
    names = ", ".join(f"`{os.path.basename(s)}`" for s in sources)
    dates = ", ".join(c.get("date", "?") for c in contexts)
    out.append(f"Made by `scripts/resnet-report.py` from {names}"
               + (f" (`{command}`)" if command else "") + f", run {dates}.")
    out.append("")
    for source, context in zip(sources, contexts):
        cpu = context.get("cpu_model") or "?"
        out.append(f"- `{os.path.basename(source)}`: ISA {context.get('lowbit_isa', 'native')}; "
                   f"CPU: {cpu} (/proc/cpuinfo), lowbit: {context.get('lowbit_cpu', '?')}, "
                   f"{context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz; "
                   f"load average at the start "
                   f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}; "
                   f"peers: {context.get('lowbit_peers', '?')}")
    context = contexts[0]
    text = f"- Low-bit configurations through {context.get('lowbit_strategy', '?')}."
    if any(isa_of(c) for c in configs):
        text += (" `<config>@avx512`: lowbit's AVX-512 kernels, divided by their own 16-bit "
                 "baseline (`int16@avx512`), with oneDNN at its native ISA (`onednn@avx512`); "
                 "the configs without a suffix ran with lowbit and oneDNN capped at AVX2.")
    out.append(text)
    io = context.get("lowbit_io", "?")
    out.append(f"- lowbit rows: {io}; timed: the activation packing (which quantizes float "
               f"input as it packs), the GEMM and the output stage; weights packed before. "
               f"`float`: floats in and out; `onednn`: codes in (7-bit on AVX2, where it "
               f"saturates beyond; 8-bit with VNNI), int32 sums out. The last table says what "
               f"each row ran.")
    for t in threads:
        out += ["", f"## {t} thread{'s' if t > 1 else ''}", ""]
        out.append("| config | " + " | ".join(layers) + " | conv median |")
        out.append("|---" * (len(layers) + 2) + "|")
        for c in configs:
            if not any((l, c, t) in rows for l in layers):
                continue
            cells = [cell(rows, l, c, t) for l in layers]
            out.append(f"| {c} | " + " | ".join(cells) + f" | {conv_median(rows, layers, c, t)} |")
    peers = [c for c in configs if c.startswith("onednn")]
    if peers:
        out += ["", "## Against oneDNN's int8 GEMM of the same run", "",
                "Median over the convolutions of the layer GOPS over the `onednn` row of the "
                "same run, layer and thread count.", "",
                "| config | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads)
                + " |", "|---" * (len(threads) + 1) + "|"]
        for c in configs:
            if c.startswith("onednn") or c.startswith("float"):
                continue
            cells = [vs_onednn(rows, layers, c, t) for t in threads]
            if any(cells):
                out.append(f"| {c} | " + " | ".join(cells) + " |")
    if peaks and 1 in threads:
        out += ["", "## Share of the register-resident peak (1 thread)", "",
                "Conv median GOPS times the 1-bit MACs per MAC (bit-serial: abits x wbits), over "
                "the peak of the kernel's instruction mix measured by `lowbit-bench-peak` (no "
                "loads, no stores) on the same machine.", "",
                "| config | mix | work per MAC | conv median GOPS | peak GOPS | share |",
                "|---|---|---|---|---|---|"]
        for c in configs:
            share = peak_share(rows, layers, c, peaks)
            if share:
                mix, work, gops, peak = share
                out.append(f"| {c} | {mix} | {work} | {gops:.1f} | {peak:.1f} | "
                           f"{gops * work / peak:.0%} |")
    if 1 in threads and 2 in threads:
        out += ["", "## 2 threads over 1", "", "| config | " + " | ".join(layers) + " |",
                "|---" * (len(layers) + 1) + "|"]
        for c in configs:
            cells = []
            for l in layers:
                one, two = rows.get((l, c, 1)), rows.get((l, c, 2))
                ok = one and two and not one.error and not two.error and one.gops_median()
                cells.append(f"{two.gops_median() / one.gops_median():.2f}x" if ok else "")
            if any(cells):
                out.append(f"| {c} | " + " | ".join(cells) + " |")
    out += ["", "## What each row ran", "", "| config | kernel or library; operands; in, out |",
            "|---|---|"]
    for c in configs:
        labels = []
        for k in sorted((k for k in rows if k[1] == c), key=lambda k: (k[2], LAYERS.index(k[0])
                                                                      if k[0] in LAYERS else 99)):
            for label in rows[k].labels:
                if label not in labels:
                    labels.append(label)
        errors = sorted({f"{k[0]}/t{k[2]}: {r.error}" for k, r in rows.items()
                         if k[1] == c and r.error})
        text = "<br>".join(labels + [f"failed {e}" for e in errors])
        out.append(f"| {c} | {text.replace('|', '/')} |")
    return "\n".join(out) + "\n"


def chart(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    layers = ordered({k[0] for k in rows}, LAYERS)
    all_configs = ordered_configs({k[1] for k in rows})
    threads = sorted({k[2] for k in rows})
    isas = sorted({isa_of(c) for c in all_configs})
    fig, axes = plt.subplots(len(isas), len(threads), figsize=(6.5 * len(threads) + 2,
                             5.5 * len(isas)), sharey=True, squeeze=False)
    # Every config keeps its colour and marker from one chart to the next.
    tab20 = plt.get_cmap("tab20").colors
    colors = tab20[0::2] + tab20[1::2]
    markers = "os^vD<>phX*P8d"

    peers = {"float": "black", "onednn": "dimgray"}

    def style(config):
        i = CONFIGS.index(config) if config in CONFIGS else len(CONFIGS)
        return peers.get(config, colors[i % len(colors)]), markers[i % len(markers)]
    ratios = []
    panels = [(isa, t, ax) for isa, line in zip(isas, axes) for t, ax in zip(threads, line)]
    for isa, t, ax in panels:
        x = list(range(len(layers)))
        for config in all_configs:
            if isa_of(config) != isa or config == BASELINE + isa:
                continue
            # The legend names the config without its ISA, which the panel's title gives.
            c = config[:len(config) - len(isa)]
            ys = [speedup(rows, l, config, t) for l in layers]
            if all(y is None for y in ys):
                continue
            ratios += [y for y in ys if y]
            color, marker = style(c)
            ax.plot(x, [y if y else float("nan") for y in ys], marker=marker, color=color, label=c,
                    linestyle="--" if c in peers else "-", linewidth=1.2,
                    markersize=5)
        ax.axhline(1.0, color="black", linewidth=1.0)
        ax.set_xticks(x)
        ax.set_xticklabels(layers)
        kernels = f"lowbit {isa[1:]}" if isa else "AVX2 (lowbit and oneDNN capped)"
        if not isa and len(isas) == 1:
            kernels = "lowbit"
        ax.set_title(f"{kernels}, {t} thread{'s' if t > 1 else ''}")
        ax.set_xlabel("layer")
        ax.grid(True, axis="y", alpha=0.3)
    ax0 = axes[0][0]
    if ratios:
        ax0.set_yscale("log", base=2)
        lo, hi = min(ratios), max(ratios)
        ticks = [2.0 ** e for e in range(-6, 7) if lo / 2 <= 2.0 ** e <= hi * 2]
        ax0.yaxis.set_major_locator(FixedLocator(ticks))
        ax0.yaxis.set_minor_locator(NullLocator())
        ax0.set_yticklabels([f"{v:g}x" if v >= 1 else f"1/{round(1 / v)}x" for v in ticks])
    ax0.set_ylabel(f"speedup over the 16-bit baseline ({BASELINE})")
    handles, labels = [], []
    for line in axes:
        for ax in line:
            for h, l in zip(*ax.get_legend_handles_labels()):
                if l not in labels:
                    handles.append(h)
                    labels.append(l)
    fig.legend(handles, labels, loc="center right", title="config")
    fig.suptitle("ResNet-18 layers: lowbit and peers over the fixed 16-bit baseline")
    fig.tight_layout(rect=(0, 0, 1 - 1.6 / fig.get_figwidth(), 1))
    write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", nargs="+", help="Google Benchmark JSON of lowbit-bench-resnet")
    parser.add_argument("--md", default="docs/resnet18.md")
    parser.add_argument("--png", default="docs/resnet18.png")
    parser.add_argument("--command", default="", help="the command that made the run, for the table")
    parser.add_argument("--peak", help="lowbit-bench-peak JSON: each kernel's share of its peak")
    args = parser.parse_args()
    prog = os.path.basename(sys.argv[0])
    contexts, rows = [], {}
    for path in args.json:
        try:
            context, more = load(path)
            twice = sorted(set(more) & set(rows))
            if twice:
                layer, config, threads = twice[0]
                raise BadInput(f"row {layer}/{config}/t{threads} is also in an earlier file")
        except BadInput as e:
            print(f"{prog}: {path}: {e}", file=sys.stderr)
            return 2
        contexts.append(context)
        rows.update(more)
    try:
        import matplotlib  # noqa: F401  (checked before anything is written)
    except ImportError:
        print(f"{prog}: no matplotlib for {sys.executable} (Debian: python3-matplotlib, for "
              f"/usr/bin/python3)", file=sys.stderr)
        return 2
    peaks = None
    if args.peak:
        try:
            peaks = load_peaks(args.peak)
        except BadInput as e:
            print(f"{prog}: {args.peak}: {e}", file=sys.stderr)
            return 2
    text = markdown(contexts, rows, args.json, args.command, peaks)
    write_atomic(args.md, lambda f: f.write(text.encode("utf-8")))
    chart(rows, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
