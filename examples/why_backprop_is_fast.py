"""Why backprop is fast: the full gradient of a digit network's cost three ways, timed as the
number of parameters grows from tens to tens of thousands.

    python examples/why_backprop_is_fast.py [--plot docs/why_backprop_is_fast.png]

- finite differences: two evaluations of the cost per parameter, (C(θ + ε eᵢ) - C(θ - ε eᵢ)) / 2ε;
- forward mode: one forward pass carrying a tangent per parameter (a JVP with v = eᵢ gives
  ∂C/∂θᵢ): the cost of forward mode grows with the number of inputs of the function (here the
  parameters);
- reverse mode (backprop): one forward and one backward pass give every ∂C/∂θᵢ at once: its cost
  grows with the number of outputs (one: the cost C).

Differences and forward mode make P passes for P parameters, backprop one: the time ratio
forward/reverse grows like P. On the log-log plot the first two rise with slope about 1 here
(at these sizes one pass costs nearly the same whatever P: Python's per-op work dominates the
small matrix products), backprop stays nearly flat; for large layers, where a pass itself costs
~P, the slopes tend to 2 and 1.
"""
import argparse
import sys
import time

import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, no_grad
from tinygrad_lite.autograd import forward_ad as fwAD
from tinygrad_lite.data import load_mnist

SIZES = [(8, 4, 2), (16, 8, 4), (49, 16, 10), (196, 20, 10), (784, 10, 10), (784, 30, 10)]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--plot", help="write the log-log plot here (needs matplotlib)")
parser.add_argument("--max-params", type=int, default=30000,
                    help="skip networks with more parameters (for a quick run)")
args = parser.parse_args()

data = load_mnist()
images, labels = data.test_images[:10], F.one_hot(data.test_labels[:10])


def inputs(n_in: int, n_out: int) -> tuple:
    """Ten test images shrunk to n_in pixels (average pooling), targets cut to n_out classes."""
    side = int(round(np.sqrt(n_in)))
    if side * side == n_in and 28 % side == 0:
        k = 28 // side
        x = images.reshape(10, side, k, side, k).mean(axis=(2, 4)).reshape(10, n_in)
    else:
        x = images[:, :n_in]
    return x.astype(np.float64), labels[:, :n_out].astype(np.float64)


def cost(x, y, params):
    h = Tensor(x)
    for w, b in zip(params[::2], params[1::2]):
        h = F.linear(h, w, b).sigmoid()
    return F.quadratic_cost(h, y)


def by_differences(x, y, params, eps=1e-6):
    grads = []
    with no_grad():
        for p in params:
            g, data = np.zeros(p.shape), p.data
            for i in np.ndindex(p.shape):
                old = data[i]
                data[i] = old + eps
                plus = cost(x, y, params).item()
                data[i] = old - eps
                minus = cost(x, y, params).item()
                data[i] = old
                g[i] = (plus - minus) / (2 * eps)
            grads.append(g)
    return grads


def by_forward_mode(x, y, params):
    grads = []
    for k, p in enumerate(params):
        g = np.zeros(p.shape)
        for i in np.ndindex(p.shape):
            with fwAD.dual_level():
                tangent = np.zeros(p.shape)
                tangent[i] = 1
                duals = list(params)
                duals[k] = fwAD.make_dual(p, tangent)
                g[i] = fwAD.unpack_dual(cost(x, y, duals)).tangent.item()
        grads.append(g)
    return grads


def by_reverse_mode(x, y, params):
    for p in params:
        p.grad = None
    cost(x, y, params).backward()
    return [p.grad for p in params]


def timed(fn, *a, budget=0.2):
    """(median seconds of one call over calls fitting in about `budget` seconds, result)."""
    times, result = [], None
    while sum(times) < budget or len(times) < 3:
        t = time.perf_counter()
        result = fn(*a)
        times.append(time.perf_counter() - t)
        if times[-1] > budget:
            break
    return float(np.median(times)), result


rows = []
print(f"{'network':>12}{'params':>8}{'differences s':>15}{'forward s':>11}{'reverse s':>11}"
      f"{'fwd/rev':>9}  max |difference|")
for sizes in SIZES:
    rng = np.random.default_rng(0)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [Tensor(rng.standard_normal((n_out, n_in)), requires_grad=True),
                   Tensor(rng.standard_normal(n_out), requires_grad=True)]
    count = sum(p.numel() for p in params)
    if count > args.max_params:
        continue
    x, y = inputs(sizes[0], sizes[-1])
    t_fd, g_fd = timed(by_differences, x, y, params)
    t_fw, g_fw = timed(by_forward_mode, x, y, params)
    t_rv, g_rv = timed(by_reverse_mode, x, y, params)
    err = max(max(np.abs(a - b).max(), np.abs(c - b).max()) for a, b, c in zip(g_fd, g_rv, g_fw))
    rows.append((count, t_fd, t_fw, t_rv))
    print(f"{'-'.join(map(str, sizes)):>12}{count:>8}{t_fd:>15.4f}{t_fw:>11.4f}{t_rv:>11.5f}"
          f"{t_fw / t_rv:>9.0f}  {err:.1e}")

counts, fd, fw, rv = (np.array(c) for c in zip(*rows))
big = counts >= 500  # the slope once the arrays, not Python's per-op overhead, dominate
print("\nslopes of log(time) against log(parameters), networks of 500 parameters and more:")
for name, t in (("finite differences", fd), ("forward mode", fw), ("reverse mode", rv)):
    if big.sum() >= 2:
        print(f"  {name:<19}{np.polyfit(np.log(counts[big]), np.log(t[big]), 1)[0]:5.2f}")
print(f"Forward mode and differences make one pass per parameter ({counts[-1]} for the largest "
      "network), backprop one pass for all: forward/reverse time grew from "
      f"{fw[0] / rv[0]:.0f}x to {fw[-1] / rv[-1]:.0f}x.")

if args.plot:
    from tinygrad_lite.plot import pyplot
    try:
        plt = pyplot()
    except ImportError as e:
        sys.exit(f"--plot: {e}")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for t, label, marker in ((fd, "finite differences (2 passes per parameter)", "s"),
                             (fw, "forward mode (1 JVP per parameter)", "o"),
                             (rv, "reverse mode: backprop (1 backward pass)", "^")):
        ax.loglog(counts, t, marker=marker, label=label)
    ax.set_xlabel("parameters P")
    ax.set_ylabel("seconds for the full gradient")
    ax.set_title("Why backprop is fast")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")
