#!/usr/bin/python3
"""The float PyTorch baseline of lowbit-train: the same network, data, optimizer and batch.

Usage: pytorch_fashion.py [--mode measure|train|all] [--epochs N] [--train-limit N]
                          [--test-limit N] [--threads-grid 1,2x1,2] [--threads T --blas-threads B]
                          [--measure-images N] [--seed N] [--data DIR] [--log FILE]

The network is lowbit-train's float.cfg: conv3x3 32 (pad 1), relu, maxpool 2, conv3x3 64 (pad 1),
relu, maxpool 2, flatten in lowbit's NHWC order (h, w, c), dense 128, relu, dense 10, softmax
cross-entropy (the batch mean); He-uniform weights (U(-sqrt(6 / fan_in), +sqrt(6 / fan_in))) and
zero biases as lowbit's engine; SGD with momentum (v = mu v + g, w -= lr v, as lowbit's float
update), lr 0.05, momentum 0.9, batch 64, the last partial batch of an epoch dropped; the images
as byte / 255 in [0, 1], lowbit's lbt_gather; the gzip IDX files of --data read with gzip and
numpy (no download). Evaluation is the argmax of the logits over the whole test subset.

Threads: torch's own pool (torch.set_num_threads, OpenMP, also oneDNN's convolutions) and
OpenBLAS's (Debian's torch calls libblas.so.3, OpenBLAS's pthread build, which sizes its pool
from OPENBLAS_NUM_THREADS when it loads) are set apart, so every run is a child process started
with OMP_NUM_THREADS=T and OPENBLAS_NUM_THREADS=B in its environment. OpenBLAS 0.3.21 (Debian 12)
does not know every newer x86 model and then runs its Prescott (SSE3) kernels, a weak float peer:
unless OPENBLAS_CORETYPE is set, the children get SkylakeX on a CPU with AVX-512 F, DQ, BW and VL
and Haswell on one with AVX2 and FMA (the records name it, "openblas_coretype").
  --mode measure  one short run (1 epoch of --measure-images training images, 1000 test images)
                  per setting of --threads-grid ("1,2x1,2": torch threads {1,2} x OpenBLAS threads
                  {1,2}); prints the images per second of each and the fastest
  --mode train    --epochs at --threads/--blas-threads (default 1 and 1)
  --mode all      measure, then train at the fastest setting (the default)
--log FILE gets JSON lines in lowbit-train's epoch-record schema (docs/design.md section 25):
"kind":"epoch" for the training run's epochs, "kind":"measure" for the measuring runs, each with
epoch, step, train_loss, train_acc, test_acc, seconds (the epoch's wall time, training and
evaluation), images_per_second (training steps only), threads (torch's), torch_threads,
blas_threads, openblas_coretype, peak_rss_bytes and "config":"pytorch-float". The file is written
beside FILE and renamed at the end, so a failed run leaves the old one.
If torch is missing the script installs Debian's python3-torch (apt-get update, apt-get install -y
python3-torch, through sudo when not root). Run it with /usr/bin/python3 (Debian's packages).
Bad options or data: one line on stderr, exit status 2.
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


class BadInput(Exception):
    pass


def ensure_torch():
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    if sudo and not shutil.which("sudo"):
        raise BadInput("torch is missing and installing python3-torch needs root or sudo")
    print("pytorch_fashion: installing python3-torch", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "python3-torch"]):
        if subprocess.run(sudo + cmd, env=env, stdout=sys.stderr).returncode != 0:
            raise BadInput(" ".join(sudo + cmd) + " failed")
    check = subprocess.run([sys.executable, "-c", "import torch, numpy"],
                           stderr=subprocess.DEVNULL)
    if check.returncode != 0:
        raise BadInput(f"python3-torch installed, but {sys.executable} cannot import torch "
                       "(run the script with /usr/bin/python3)")


def read_idx(path, magic, limit):
    import numpy as np
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise BadInput(f"{path}: cannot read ({e})")
    dims = magic - 2048
    if len(data) < 4 + 4 * dims or int.from_bytes(data[0:4], "big") != magic:
        raise BadInput(f"{path}: not an IDX file of {dims} dimension(s)")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    count = 1
    for d in shape:
        count *= d
    body = data[4 + 4 * dims:]
    if len(body) != count:
        raise BadInput(f"{path}: {len(body)} bytes of data for a shape of {shape}")
    array = np.frombuffer(body, dtype=np.uint8).reshape(shape)
    return array[:limit] if limit else array


def load_split(data, split, limit):
    images = read_idx(os.path.join(data, f"{split}-images-idx3-ubyte.gz"), 2051, limit)
    labels = read_idx(os.path.join(data, f"{split}-labels-idx1-ubyte.gz"), 2049, limit)
    if len(images) != len(labels) or labels.max(initial=0) > 9:
        raise BadInput(f"{data}: {split} images and labels do not match")
    return images, labels


def build_model(torch, seed):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
            self.fc1 = nn.Linear(7 * 7 * 64, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
            x = x.permute(0, 2, 3, 1).flatten(1)  # lowbit's NHWC flatten order
            return self.fc2(torch.relu(self.fc1(x)))

    torch.manual_seed(seed)
    net = Net()
    for layer in (net.conv1, net.conv2, net.fc1, net.fc2):
        # bound gain * sqrt(3 / fan_in) with the ReLU gain sqrt(2): sqrt(6 / fan_in)
        nn.init.kaiming_uniform_(layer.weight, a=0, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    return net


def peak_rss_bytes():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def worker(args):
    """One run in this process (the parent set the thread environment); JSON lines on stdout."""
    import torch
    torch.set_num_threads(args.threads)
    train_x, train_y = load_split(args.data, "train", args.train_limit)
    test_x, test_y = load_split(args.data, "t10k", args.test_limit)
    batch = 64
    steps = len(train_x) // batch
    if steps == 0:
        raise BadInput(f"{len(train_x)} training examples are fewer than the batch of {batch}")
    train_x = torch.from_numpy(train_x.copy()).unsqueeze(1)
    train_y = torch.from_numpy(train_y.astype("int64"))
    test_x = torch.from_numpy(test_x.copy()).unsqueeze(1)
    test_y = torch.from_numpy(test_y.astype("int64"))
    net = build_model(torch, args.seed)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(args.seed)
    step = 0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        busy, loss_sum, correct = 0.0, 0.0, 0
        order = torch.randperm(len(train_x), generator=shuffle)
        net.train()
        for s in range(steps):
            t0 = time.perf_counter()
            idx = order[s * batch:(s + 1) * batch]
            x = train_x[idx].float().div_(255.0)
            y = train_y[idx]
            opt.zero_grad(set_to_none=True)
            z = net(x)
            loss = loss_fn(z, y)
            loss.backward()
            opt.step()
            busy += time.perf_counter() - t0
            loss_sum += loss.item()
            correct += int((z.argmax(1) == y).sum())
            step += 1
        net.eval()
        hits = 0
        with torch.no_grad():
            for at in range(0, len(test_x), 1000):
                z = net(test_x[at:at + 1000].float().div_(255.0))
                hits += int((z.argmax(1) == test_y[at:at + 1000]).sum())
        record = {
            "epoch": epoch, "step": step, "train_loss": round(loss_sum / steps, 6),
            "train_acc": round(correct / (steps * batch), 6),
            "test_acc": round(hits / len(test_x), 6),
            "seconds": round(time.perf_counter() - start, 3),
            "images_per_second": round(steps * batch / busy, 1) if busy > 0 else 0.0,
            "threads": torch.get_num_threads(), "torch_threads": torch.get_num_threads(),
            "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "auto"),
            "peak_rss_bytes": peak_rss_bytes(), "config": "pytorch-float",
            "kind": args.kind,
        }
        print(json.dumps(record), flush=True)
        print(f"pytorch_fashion: epoch {epoch} test_acc {record['test_acc']:.4f} "
              f"img/s {record['images_per_second']:.0f} seconds {record['seconds']:.1f} "
              f"(torch {args.threads}, openblas {record['blas_threads']})", file=sys.stderr)


def openblas_coretype():
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        flags = []
    if all(f in flags for f in ("avx512f", "avx512dq", "avx512bw", "avx512vl")):
        return "SkylakeX"
    return "Haswell" if "avx2" in flags and "fma" in flags else ""


def run_child(args, kind, torch_threads, blas_threads, epochs, train_limit, test_limit):
    """Runs worker() in a child with the thread environment; returns its records."""
    env = dict(os.environ, OMP_NUM_THREADS=str(torch_threads),
               OPENBLAS_NUM_THREADS=str(blas_threads))
    coretype = openblas_coretype()
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--kind", kind,
           "--threads", str(torch_threads), "--epochs", str(epochs),
           "--train-limit", str(train_limit), "--test-limit", str(test_limit),
           "--seed", str(args.seed), "--data", args.data]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    sys.stderr.write("".join(line + "\n" for line in proc.stderr.splitlines()
                             if line.startswith("pytorch_fashion: epoch")))
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        last = lines[-1].removeprefix("pytorch_fashion: ") if lines else ""
        raise BadInput(last or f"the run failed ({proc.returncode})")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def parse_grid(text):
    try:
        torch_part, blas_part = text.split("x")
        grid = [(int(t), int(b)) for t in torch_part.split(",") for b in blas_part.split(",")]
    except ValueError:
        raise BadInput(f"--threads-grid: '{text}' is not T,T,...xB,B,... (e.g. 1,2x1,2)")
    if any(t < 1 or t > 256 or b < 1 or b > 256 for t, b in grid):
        raise BadInput(f"--threads-grid: '{text}': thread counts are 1..256")
    return grid


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["measure", "train", "all"], default="all")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train-limit", type=int, default=0, help="first N training examples; 0 all")
    p.add_argument("--test-limit", type=int, default=0, help="first N test examples; 0 all")
    p.add_argument("--threads-grid", default="1,2x1,2")
    p.add_argument("--threads", type=int, default=1, help="torch threads (--mode train)")
    p.add_argument("--blas-threads", type=int, default=1, help="OpenBLAS threads (--mode train)")
    p.add_argument("--measure-images", type=int, default=12800)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--log")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--kind", default="epoch", help=argparse.SUPPRESS)
    args = p.parse_args()
    try:
        for name in ("epochs", "threads", "blas_threads", "measure_images"):
            if getattr(args, name) < 1:
                raise BadInput(f"--{name.replace('_', '-')}: must be at least 1")
        if args.train_limit < 0 or args.test_limit < 0:
            raise BadInput("--train-limit and --test-limit are 0 (all) or more")
        if args.worker:
            worker(args)
            return 0
        grid = parse_grid(args.threads_grid)
        for split in ("train", "t10k"):
            if not os.path.exists(os.path.join(args.data, f"{split}-images-idx3-ubyte.gz")):
                raise BadInput(f"{args.data}: no {split}-images-idx3-ubyte.gz")
        log_dir = os.path.dirname(os.path.abspath(args.log)) if args.log else None
        if log_dir and not os.path.isdir(log_dir):
            raise BadInput(f"{args.log}: no folder {log_dir}")
        ensure_torch()
        records = []
        setting = (args.threads, args.blas_threads)
        if args.mode in ("measure", "all"):
            measured = []
            images = min(args.measure_images, args.train_limit or args.measure_images)
            tests = min(1000, args.test_limit or 1000)
            for t, b in grid:
                r = run_child(args, "measure", t, b, 1, images, tests)
                records += r
                measured.append((r[-1]["images_per_second"], t, b))
                print(f"measure: torch {t} openblas {b}: {r[-1]['images_per_second']:.0f} img/s",
                      flush=True)
            best = max(measured)
            setting = (best[1], best[2])
            print(f"fastest: torch {setting[0]} openblas {setting[1]} ({best[0]:.0f} img/s)",
                  flush=True)
        if args.mode in ("train", "all"):
            r = run_child(args, "epoch", setting[0], setting[1], args.epochs, args.train_limit,
                          args.test_limit)
            records += r
            last = r[-1]
            print(f"pytorch float: test_acc {last['test_acc']:.4f} after {last['epoch']} epochs, "
                  f"{last['images_per_second']:.0f} img/s, torch {setting[0]} openblas "
                  f"{setting[1]}", flush=True)
        if args.log:
            fd, tmp = tempfile.mkstemp(dir=log_dir, prefix=".pytorch_fashion.")
            with os.fdopen(fd, "w") as f:
                f.write("".join(json.dumps(r) + "\n" for r in records))
            os.chmod(tmp, 0o644)
            os.replace(tmp, args.log)
    except BadInput as e:
        print(f"pytorch_fashion: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
