"""Seconds per epoch of the seed's digit network, implementation by implementation, in one process.

    python benchmarks/bench.py                    # batch 10 / hidden 30 and batch 100 / hidden 100
    python benchmarks/bench.py --repeats 7 --json results.json
    python benchmarks/bench.py --end-to-end       # also the full 30-epoch recipe, with peak memory
    python benchmarks/bench.py --threads-only     # `fit` with 1 BLAS thread vs the default,
                                                  # idle and beside a busy process
    python benchmarks/bench.py --conv             # the conv net: ours eager and captured vs
                                                  # PyTorch eager, batch 10 and 64, peak memory
    python benchmarks/bench.py --conv-op          # one conv2d forward and backward vs PyTorch's

Every implementation trains the same network (784-H-10 sigmoid, quadratic cost, plain SGD) on
the real MNIST training images in the same batches; runs are interleaved (6,000 images of each
in turn) so that load on the machine falls on all alike, and the median epoch is reported.
PyTorch rows
appear when torch is installed, JAX rows (jax.jit of the gradient and the update, on the CPU)
when jax is installed; a missing one is skipped with a printed line. JAX runs single-threaded
like the rest: this script sets XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1" before jax is first imported (unless XLA_FLAGS is already set);
run it with OPENBLAS_NUM_THREADS=1 for numpy's BLAS. On machines that set OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE, unset both for this command when timing numpy at its best:

    OPENBLAS_NUM_THREADS=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python benchmarks/bench.py --skip-seed
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# before jax is imported: one thread for XLA's CPU backend, as numpy's BLAS gets with
# OPENBLAS_NUM_THREADS=1 (not set here: --threads-only compares thread counts)
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402


import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet, NeuralNetwork
from tinygrad_lite import Tensor, capture, optim
from tinygrad_lite.data import load_mnist
from tinygrad_lite.threads import current_threads
from tinygrad_lite.train import fit

LR = 3.0


def seed_per_example(X, Y, batch, hidden):
    """The seed's algorithm: backprop one column-vector example at a time (float64)."""
    net = NeuralNetwork([784, hidden, 10], seed=0)
    Xc, Yc = X.astype(np.float64)[:, :, None], Y.astype(np.float64)[:, :, None]

    def run(lo, hi):
        for k in range(lo, hi, batch):
            net.update_mini_batch(list(zip(Xc[k:k + batch], Yc[k:k + batch])), LR)
    return run


def handwritten(X, Y, batch, hidden):
    """BP1-BP4 in matrix form over the mini-batch, plain numpy (models/network.py)."""
    net = NeuralNetwork([784, hidden, 10], seed=0, dtype=np.float32)

    def run(lo, hi):
        for k in range(lo, hi, batch):
            net.update_mini_batch_matrix(X[k:k + batch], Y[k:k + batch], LR)
    return run


def handwritten_lean(X, Y, batch, hidden):
    """The same step written as tersely as numpy allows: σ's overflow silenced once per chunk
    rather than per call, no cost value, no lists: the floor an eager framework is measured
    against."""
    net = NeuralNetwork([784, hidden, 10], seed=0, dtype=np.float32)
    W1, W2 = net.weights
    b1, b2 = net.biases[0].ravel(), net.biases[1].ravel()   # views: updated in place below

    def run(lo, hi):
        with np.errstate(over="ignore"):  # e^-z may overflow to inf, giving σ = 0: fine
            for k in range(lo, hi, batch):
                x, y = X[k:k + batch], Y[k:k + batch]
                a1 = 1 / (1 + np.exp(-(x @ W1.T + b1)))
                a2 = 1 / (1 + np.exp(-(a1 @ W2.T + b2)))
                d2 = (a2 - y) * a2 * (1 - a2)
                d1 = (d2 @ W2) * a1 * (1 - a1)
                step = LR / len(x)
                np.subtract(W2, step * (d2.T @ a1), out=W2)
                np.subtract(b2, step * d2.sum(axis=0), out=b2)
                np.subtract(W1, step * (d1.T @ x), out=W1)
                np.subtract(b1, step * d1.sum(axis=0), out=b1)
    return run


def _step(hidden):
    model = DigitNet((784, hidden, 10), seed=0)
    opt = optim.SGD(model.parameters(), lr=LR)

    def step(x, y):
        loss = F.quadratic_cost(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def eager(X, Y, batch, hidden):
    """The plain loop a user writes: forward, cost, zero_grad, backward, step."""
    step = _step(hidden)

    def run(lo, hi):
        for k in range(lo, hi, batch):
            step(Tensor(X[k:k + batch]), Tensor(Y[k:k + batch]))
    return run


def captured(X, Y, batch, hidden):
    """The same step captured once and replayed (tinygrad_lite.capture)."""
    step = capture(_step(hidden))

    def run(lo, hi):
        for k in range(lo, hi, batch):
            step(X[k:k + batch], Y[k:k + batch])
    return run


def torch_eager(X, Y, batch, hidden):
    """PyTorch eager on the CPU: the same model, cost and SGD."""
    import torch
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.Sigmoid(),
                                torch.nn.Linear(hidden, 10), torch.nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def run(lo, hi):
        for k in range(lo, hi, batch):
            x, y = Xt[k:k + batch], Yt[k:k + batch]
            loss = ((model(x) - y) ** 2).sum() / (2 * len(x))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return run


def jax_jit(X, Y, batch, hidden):
    """JAX on the CPU: jax.jit of the gradient and the SGD update together, float32."""
    import jax
    import jax.numpy as jnp
    net = NeuralNetwork([784, hidden, 10], seed=0, dtype=np.float32)
    params = [jnp.asarray(a) for a in (net.weights[0], net.biases[0].ravel(),
                                       net.weights[1], net.biases[1].ravel())]

    def cost(ps, x, y):
        w1, b1, w2, b2 = ps
        a1 = jax.nn.sigmoid(x @ w1.T + b1)
        a2 = jax.nn.sigmoid(a1 @ w2.T + b2)
        return jnp.sum((a2 - y) ** 2) / (2 * x.shape[0])

    @jax.jit
    def step(ps, x, y):
        grads = jax.grad(cost)(ps, x, y)
        return [p - LR * g for p, g in zip(ps, grads)]

    jax.block_until_ready(step(params, X[:batch], Y[:batch]))  # compile outside the timing
    state = {"params": params}

    def run(lo, hi):
        ps = state["params"]
        for k in range(lo, hi, batch):
            ps = step(ps, X[k:k + batch], Y[k:k + batch])
        jax.block_until_ready(ps)
        state["params"] = ps
    return run


IMPLEMENTATIONS = [("seed per-example", "float64", seed_per_example),
                   ("handwritten numpy", "float32", handwritten),
                   ("handwritten, lean loop", "float32", handwritten_lean),
                   ("tinygrad_lite eager", "float32", eager),
                   ("tinygrad_lite captured", "float32", captured),
                   ("JAX jit", "float32", jax_jit),
                   ("PyTorch eager", "float32", torch_eager)]


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def have_jax() -> bool:
    try:
        import jax  # noqa: F401
        return True
    except ImportError:
        return False


def time_configs(X, Y, configs, repeats, skip_seed, chunk=6000):
    """Median seconds per epoch. Each epoch is run in chunks of `chunk` images, the
    implementations taking turns chunk by chunk, so that the machine's changing load falls on
    all of them alike."""
    rows = []
    for batch, hidden in configs:
        impls = [(n, d, f) for n, d, f in IMPLEMENTATIONS
                 if (n != "PyTorch eager" or have_torch()) and (n != "JAX jit" or have_jax())
                 and (n != "seed per-example" or not skip_seed)]
        runs = {name: make(X, Y, batch, hidden) for name, _, make in impls}
        times = {name: [] for name, _, _ in impls}
        # PyTorch goes last, on its own: its worker threads keep spinning for a while after
        # each op and would slow down whichever implementation ran right after it.
        groups = [[n for n in runs if n != "PyTorch eager"],
                  [n for n in runs if n == "PyTorch eager"]]
        for group in groups:
            for _ in range(repeats if group else 0):
                epoch = dict.fromkeys(group, 0.0)
                for lo in range(0, len(X), chunk):
                    for name in group:
                        start = time.perf_counter()
                        runs[name](lo, min(lo + chunk, len(X)))
                        epoch[name] += time.perf_counter() - start
                for name in group:
                    times[name].append(epoch[name])
        base = statistics.median(times["handwritten numpy"])
        for name, dtype, _ in impls:
            med = statistics.median(times[name])
            rows.append({"implementation": name, "dtype": dtype, "batch": batch,
                         "hidden": hidden, "images": len(X), "s_per_epoch": med,
                         "ratio_to_handwritten": med / base, "examples_per_s": len(X) / med,
                         "runs": times[name]})
    return rows


HANDWRITTEN_RECIPE = r"""
import time, numpy as np
from tinygrad_lite.models import NeuralNetwork
from tinygrad_lite.data import load_mnist
from tinygrad_lite.threads import current_threads
from tinygrad_lite.train import fit
d = load_mnist()
Y = np.eye(10, dtype=np.float32)[d.train_labels]
net = NeuralNetwork([784, 30, 10], seed=0, dtype=np.float32)
rng = np.random.default_rng(0)
for epoch in range({epochs}):
    order = rng.permutation(len(Y))
    for k in range(0, len(Y), 10):
        idx = order[k:k + 10]
        net.update_mini_batch_matrix(d.train_images[idx], Y[idx], 3.0)
    correct = int((net.feedforward(d.test_images.T).argmax(0) == d.test_labels).sum())
    print(f"Epoch {{epoch}}: {{correct}} / 10000", flush=True)
"""


PEAK_REPORT = """
import atexit, sys
def _peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("peak-rss-kb", line.split()[1], file=sys.stderr)
atexit.register(_peak)
"""


def _child(code):
    """Run python code in a fresh process: wall time, its peak RSS in MB (VmHWM, read by the
    child itself: a parent's getrusage would count this big process's pages), last epoch line."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:  # train writes its checkpoint there
        proc = subprocess.run([sys.executable, "-c", PEAK_REPORT + code], capture_output=True,
                              text=True, cwd=folder)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr}")
    peaks = [ln.split()[1] for ln in proc.stderr.splitlines() if ln.startswith("peak-rss-kb")]
    peak = int(peaks[-1]) / 1024 if peaks else float("nan")
    epochs = [ln for ln in proc.stdout.splitlines() if ln.startswith("Epoch")]
    return seconds, peak, epochs[-1] if epochs else proc.stdout.strip().splitlines()[-1]


def end_to_end(epochs):
    """`tinygrad-lite train` (the seed's recipe) and handwritten numpy doing the same, each in a
    fresh process: wall time including data loading and per-epoch evaluation, and peak RSS."""
    hand = HANDWRITTEN_RECIPE.format(epochs=epochs)
    ours = ("from tinygrad_lite.cli import main; "
            f"main(['train', '--seed', '0', '--epochs', '{epochs}'])")
    rows = []
    for name, code in (("handwritten numpy", hand), ("tinygrad-lite train", ours)):
        seconds, peak, last = _child(code)
        rows.append({"implementation": name, "epochs": epochs, "seconds": seconds,
                     "peak_rss_mb": peak, "last_line": last})
    return rows


THREAD_RECIPES = [  # name, hidden, batch, cost, init, SGD settings: the README's two recipes
    ("784-30-10 batch 10 (the seed's)", 30, 10, "quadratic", "standard", dict(lr=3.0)),
    ("784-300-10 batch 20", 300, 20, "cross-entropy", "scaled",
     dict(lr=0.1, momentum=0.9, weight_decay=5e-5)),
]


def threads_comparison(images, labels, epochs, repeats):
    """Seconds for `epochs` epochs of `fit` (capture on, no evaluation) with one BLAS thread and
    with BLAS's default, on the machine as it is and beside a busy process (a busy loop started
    here and stopped after); the two thread counts take turns, median of `repeats`."""
    default = current_threads()
    rows = []
    for background in ("as is", "busy process"):
        busy = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                if background == "busy process" else None)
        try:
            for name, hidden, batch, cost, init, sgd in THREAD_RECIPES:
                times = {1: [], default: []}
                for _ in range(repeats):
                    for threads in times:
                        model = DigitNet((784, hidden, 10), init=init, seed=0)
                        opt = optim.SGD(model.parameters(), **sgd)
                        start = time.perf_counter()
                        fit(model, images, labels, opt, epochs, batch, cost, log=None,
                            threads=threads)
                        times[threads].append(time.perf_counter() - start)
                rows.append({"recipe": name, "background": background, "epochs": epochs,
                             "images": len(images), "default_threads": default,
                             **{f"s_{t}_threads": statistics.median(v)
                                for t, v in times.items()}})
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return rows


def print_threads(rows):
    default = rows[0]["default_threads"]
    print(f"{'recipe':<34}{'background':<14}{'1 thread':>10}{f'{default} (default)':>14}"
          f"{'ratio':>8}")
    for r in rows:
        one, dflt = r["s_1_threads"], r[f"s_{default}_threads"]
        print(f"{r['recipe']:<34}{r['background']:<14}{one:>9.2f}s{dflt:>13.2f}s"
              f"{dflt / one:>8.2f}")
    print(f"(seconds for {rows[0]['epochs']} epochs of fit on {rows[0]['images']} images, "
          "median; ratio: default threads over one thread)")


# --- the convolutional net: conv-pool (20 5x5 filters, 2x2 max pool), FC 100, 10 outputs ------

CONV_LR = 0.1


def _conv_model():
    from tinygrad_lite.models.zoo import build
    return build("conv-pool", seed=0)  # sigmoid, as the book's first conv net


def _conv_step():
    from tinygrad_lite.train import training_step
    model = _conv_model()
    return training_step(model, optim.SGD(model.parameters(), lr=CONV_LR), "log-likelihood")


def conv_eager(X, Y, batch):
    step = _conv_step()

    def run(lo, hi):
        for k in range(lo, hi, batch):
            step(Tensor(X[k:k + batch]), Tensor(Y[k:k + batch]))
    return run


def conv_captured(X, Y, batch):
    step = capture(_conv_step())

    def run(lo, hi):
        for k in range(lo, hi, batch):
            step(X[k:k + batch], Y[k:k + batch])
    return run


def conv_torch(X, Y, batch):
    import torch
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 20, 5), nn.Sigmoid(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2880, 100), nn.Sigmoid(),
                          nn.Linear(100, 10))
    opt = torch.optim.SGD(model.parameters(), lr=CONV_LR)
    Xt, labels = torch.from_numpy(X), torch.from_numpy(Y.argmax(axis=1))

    def run(lo, hi):
        for k in range(lo, hi, batch):
            loss = nn.functional.cross_entropy(model(Xt[k:k + batch]), labels[k:k + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return run


CONV_IMPLEMENTATIONS = {"tinygrad_lite eager": conv_eager,
                        "tinygrad_lite captured": conv_captured, "PyTorch eager": conv_torch}

CONV_CHILD = """
import sys, numpy as np
sys.path.insert(0, {folder!r})
import bench
from tinygrad_lite.data import load_mnist
from tinygrad_lite.threads import blas_threads
d = load_mnist()
X = np.ascontiguousarray(d.train_images[:{n}])
Y = np.eye(10, dtype=np.float32)[d.train_labels[:{n}]]
if {torch!r}:
    import torch
    torch.set_num_threads({threads})
print("peak-before-kb", [l.split()[1] for l in open("/proc/self/status")
                         if l.startswith("VmRSS:")][0], file=sys.stderr)
try:
    with open("/proc/self/clear_refs", "w") as f:  # Linux: restart the peak (VmHWM) here
        f.write("5")
except OSError:
    pass
with blas_threads({threads}):
    bench.CONV_IMPLEMENTATIONS[{name!r}](X, Y, {batch})(0, {n})
"""


def _conv_peak(name, batch, n, threads):
    """Peak RSS (MB) of a fresh process training `name` on n images, and that peak less its
    RSS just before training (data loaded, libraries imported): what training itself adds."""
    import os
    code = CONV_CHILD.format(folder=os.path.dirname(os.path.abspath(__file__)), n=n,
                             torch=name.startswith("PyTorch"), threads=threads, name=name,
                             batch=batch)
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.run([sys.executable, "-c", PEAK_REPORT + code], capture_output=True,
                              text=True, cwd=folder)
    if proc.returncode:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr}")
    kb = {ln.split()[0]: int(ln.split()[1].strip("'[]")) for ln in proc.stderr.splitlines()
          if ln.startswith("peak-")}
    return kb["peak-rss-kb"] / 1024, (kb["peak-rss-kb"] - kb["peak-before-kb"]) / 1024


def time_conv(X, Y, batches, repeats, threads, chunk=640):
    """Seconds per epoch of 60,000 images, scaled from the median time over X (a slice of the
    training images), implementations taking turns chunk by chunk as in time_configs."""
    from tinygrad_lite.threads import blas_threads
    names = [n for n in CONV_IMPLEMENTATIONS if n != "PyTorch eager" or have_torch()]
    if have_torch():
        import torch
        torch.set_num_threads(threads)
    rows = []
    for batch in batches:
        runs = {n: CONV_IMPLEMENTATIONS[n](X, Y, batch) for n in names}
        times = {n: [] for n in names}
        with blas_threads(threads):
            for n in names:  # warm up: capture, first allocations
                runs[n](0, batch * 2)
            for _ in range(repeats):
                epoch = dict.fromkeys(names, 0.0)
                for lo in range(0, len(X), chunk):
                    for n in names:
                        start = time.perf_counter()
                        runs[n](lo, min(lo + chunk, len(X)))
                        epoch[n] += time.perf_counter() - start
                for n in names:
                    times[n].append(epoch[n])
        torch_s = statistics.median(times["PyTorch eager"]) if have_torch() else float("nan")
        for n in names:
            med = statistics.median(times[n])
            total, added = _conv_peak(n, batch, len(X), threads)
            rows.append({"implementation": n, "batch": batch, "images_timed": len(X),
                         "s_per_epoch": med * 60000 / len(X), "ratio_to_torch": med / torch_s,
                         "peak_rss_mb": total, "training_adds_mb": added, "runs": times[n]})
    return rows


def print_conv(rows, threads, repeats):
    print(f"conv net (conv 20 5x5 sigmoid, max pool 2, FC 100 sigmoid, 10 logits; "
          f"log-likelihood, SGD), {threads} thread(s) for numpy's BLAS and PyTorch")
    print(f"{'implementation':<24}{'batch':>6}{'s/epoch':>10}{'/ PyTorch':>10}"
          f"{'peak RSS':>10}{'training adds':>15}")
    for r in rows:
        print(f"{r['implementation']:<24}{r['batch']:>6}{r['s_per_epoch']:>10.1f}"
              f"{r['ratio_to_torch']:>10.2f}{r['peak_rss_mb']:>8.0f}MB"
              f"{r['training_adds_mb']:>13.0f}MB")
    print(f"(s/epoch: median of {repeats} passes over the first {rows[0]['images_timed']} "
          "training images, interleaved, scaled to 60,000 images; peak RSS of a fresh process "
          "training on them, and how far training raises it above the process's size after "
          "loading MNIST and the libraries)")


def time_conv_op(repeats: int, threads: int) -> list[dict]:
    """Milliseconds for one conv2d forward and backward (batch 64, 1 to 20 channels, 28x28,
    5x5, with a bias), ours and PyTorch's, with and without the input's gradient: the median of
    `repeats` rounds of 20 calls each, the two libraries taking turns."""
    import torch
    import tinygrad_lite.functional as TF
    from tinygrad_lite.threads import blas_threads
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(np.float32)
               for s in ((64, 1, 28, 28), (20, 1, 5, 5), (20,)))
    g = rng.standard_normal((64, 20, 24, 24)).astype(np.float32)
    rows = []
    for input_grad in (True, False):
        def ours():
            ts = [Tensor(x, requires_grad=input_grad), Tensor(w, requires_grad=True),
                  Tensor(b, requires_grad=True)]
            TF.conv2d(*ts).backward(g)

        def theirs():
            ts = [torch.tensor(x, requires_grad=input_grad), torch.tensor(w, requires_grad=True),
                  torch.tensor(b, requires_grad=True)]
            torch.nn.functional.conv2d(*ts).backward(torch.from_numpy(g))
        times = {"ours": [], "PyTorch": []}
        with blas_threads(threads):
            for _ in range(repeats):
                for name, fn in (("ours", ours), ("PyTorch", theirs)):
                    start = time.perf_counter()
                    for _ in range(20):
                        fn()
                    times[name].append((time.perf_counter() - start) / 20 * 1000)
        ours_ms, torch_ms = statistics.median(times["ours"]), statistics.median(times["PyTorch"])
        rows.append({"input_grad": input_grad, "ours_ms": ours_ms, "torch_ms": torch_ms,
                     "ratio": ours_ms / torch_ms})
        print(f"conv2d forward + backward, batch 64, 1 -> 20 channels, 28x28, 5x5, input grad "
              f"{input_grad!s:<5}: ours {ours_ms:6.2f} ms, PyTorch {torch_ms:6.2f} ms, "
              f"ratio {ours_ms / torch_ms:.2f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=60000, help="images per epoch")
    parser.add_argument("--skip-seed", action="store_true", help="skip the slow per-example row")
    parser.add_argument("--end-to-end", action="store_true")
    parser.add_argument("--epochs", type=int, default=30, help="for --end-to-end")
    parser.add_argument("--threads-only", action="store_true",
                        help="only compare 1 BLAS thread with the default in fit")
    parser.add_argument("--conv", action="store_true",
                        help="only the conv net: batch 10 and 64, ours and PyTorch's")
    parser.add_argument("--conv-op", action="store_true",
                        help="only one conv2d forward and backward, ours and PyTorch's")
    parser.add_argument("--conv-images", type=int, default=3200,
                        help="training images timed per conv epoch (scaled to 60,000)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for numpy's BLAS and PyTorch in --conv")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    if args.conv_op:
        rows = time_conv_op(args.repeats, args.threads)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"conv_op": rows}, f, indent=1)
        return
    data = load_mnist()
    if args.conv:
        n = args.conv_images
        X = np.ascontiguousarray(data.train_images[:n])
        Y = F.one_hot(data.train_labels[:n], 10, np.float32)
        rows = time_conv(X, Y, (10, 64), args.repeats, args.threads)
        print_conv(rows, args.threads, args.repeats)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"conv": rows}, f, indent=1)
        return
    if args.threads_only:
        n = min(args.images, 6000)
        rows = threads_comparison(data.train_images[:n], data.train_labels[:n], 2, args.repeats)
        print_threads(rows)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"threads": rows}, f, indent=1)
        return
    X = np.ascontiguousarray(data.train_images[:args.images])
    Y = F.one_hot(data.train_labels[:args.images], 10, np.float32)
    for name, present in (("PyTorch", have_torch()), ("JAX", have_jax())):
        if not present:
            print(f"({name} is not installed: its rows are skipped)")
    rows = time_configs(X, Y, [(10, 30), (100, 100)], args.repeats, args.skip_seed)
    print(f"{'implementation':<24}{'dtype':<9}{'batch':>6}{'hidden':>7}{'s/epoch':>10}"
          f"{'ratio':>8}{'examples/s':>12}")
    for r in rows:
        print(f"{r['implementation']:<24}{r['dtype']:<9}{r['batch']:>6}{r['hidden']:>7}"
              f"{r['s_per_epoch']:>10.3f}{r['ratio_to_handwritten']:>8.2f}"
              f"{r['examples_per_s']:>12,.0f}")
    print(f"(median of {args.repeats} epochs of {len(X)} images, interleaved; ratio: to "
          "handwritten numpy at the same batch and hidden size)")
    result = {"per_epoch": rows}
    if args.end_to_end:
        e2e = end_to_end(args.epochs)
        result["end_to_end"] = e2e
        print(f"\nend to end, {args.epochs} epochs with per-epoch evaluation, fresh processes:")
        for r in e2e:
            print(f"{r['implementation']:<24}{r['seconds']:>8.1f}s  peak RSS "
                  f"{r['peak_rss_mb']:>5.0f} MB  "
                  f"{r['last_line']}")
        print(f"ratio: {e2e[1]['seconds'] / e2e[0]['seconds']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
