"""How good is a finite difference? Relative error of central and forward differences against
the exact (autodiff) derivative, for steps eps from 1e-1 to 1e-12, in float64 and float32.

    python examples/gradient_checking.py [--plot gradient_checking.png]

The function is the digit network's quadratic cost on ten MNIST images, along a random unit
direction u in parameter space: f(t) = C(θ + t u), whose exact derivative at 0 is ⟨∇C, u⟩.
Truncation error falls with eps (as eps² for central differences, eps for forward ones) while
rounding error grows as (machine epsilon)/eps; the best eps sits where the two meet.
"""
import argparse
import sys

import numpy as np


import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet
from tinygrad_lite import Tensor, no_grad
from tinygrad_lite.data import load_mnist

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--plot", help="write a log-log plot here (needs matplotlib)")
args = parser.parse_args()

data = load_mnist()
X, Y = data.test_images[:10], F.one_hot(data.test_labels[:10])
model32 = DigitNet((784, 30, 10), dtype=np.float32, seed=0)
model64 = DigitNet((784, 30, 10), dtype=np.float64)
model64.load_state_dict(model32.state_dict())       # the same point, exact in both dtypes

rng = np.random.default_rng(1)
params64, params32 = model64.parameters(), model32.parameters()
u = [rng.normal(size=p.shape) for p in params64]
norm = np.sqrt(sum((v**2).sum() for v in u))
u = [v / norm for v in u]

F.quadratic_cost(model64(Tensor(X.astype(np.float64))), Y.astype(np.float64)).backward()
exact = sum((p.grad * v).sum() for p, v in zip(params64, u))   # ⟨∇C, u⟩ by autodiff, float64


def f(model, params, t):
    """C(θ + t u), computed in the model's dtype."""
    dtype = params[0].dtype
    saved = [p.data.copy() for p in params]
    for p, v in zip(params, u):
        p.data += (t * v).astype(dtype)
    with no_grad():
        value = float(F.quadratic_cost(model(Tensor(X.astype(dtype))), Y.astype(dtype)).data)
    for p, s in zip(params, saved):
        p.data[...] = s
    return value


epsilons = 10.0 ** -np.arange(1, 13)
table = {}
for name, model, params in (("float64", model64, params64), ("float32", model32, params32)):
    f0 = f(model, params, 0.0)
    central = [abs((f(model, params, e) - f(model, params, -e)) / (2 * e) - exact) / abs(exact)
               for e in epsilons]
    forward = [abs((f(model, params, e) - f0) / e - exact) / abs(exact) for e in epsilons]
    table[f"central {name}"], table[f"forward {name}"] = central, forward

print(f"exact directional derivative ⟨∇C, u⟩ = {exact:.12e}\n")
print(f"{'eps':>8}" + "".join(f"{k:>18}" for k in table))
for i, e in enumerate(epsilons):
    print(f"{e:>8.0e}" + "".join(f"{v[i]:>18.2e}" for v in table.values()))
print("\nbest eps:  " + ",  ".join(f"{k} {epsilons[int(np.argmin(v))]:.0e} "
                                   f"(error {min(v):.1e})" for k, v in table.items()))

if args.plot:
    from tinygrad_lite.plot import pyplot
    try:
        plt = pyplot()
    except ImportError as e:
        sys.exit(f"--plot: {e}")
    fig, ax = plt.subplots(figsize=(7, 5))
    for (k, v), style in zip(table.items(), ["o-", "s--", "o-", "s--"]):
        ax.loglog(epsilons, np.maximum(v, 1e-17), style, label=k)
    ax.set(xlabel="step eps", ylabel="relative error", title="Finite differences vs autodiff")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")
