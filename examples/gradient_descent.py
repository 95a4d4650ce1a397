"""Gradient descent on a bowl: C(x, y) = x² + y², three learning rates.

    python examples/gradient_descent.py [--plot docs/gradient_descent.png]

C is built from Tensors and backward() gives its gradient, checked against the formula
∇C = (2x, 2y). Then the step rule w → w − η∇C runs with a small, a good and a too-large
learning rate η, each from its own point at the same distance |w| = 2.5 from the minimum (so
the paths do not overlap), counting the steps until |w| < 1e-3. On this bowl one step
multiplies w by (1 − 2η): it shrinks for 0 < η < 1 (fastest at η = 0.5, one step) and grows
for η > 1, so η = 1.05 overshoots further each step and diverges.
"""
import argparse
import io

import numpy as np

from tinygrad_lite import Tensor, optim
from tinygrad_lite.files import write_file

RATES = {"small": 0.05, "good": 0.4, "too large": 1.05}
STARTS = {"small": (-1.5, 2.0), "good": (1.5, 2.0), "too large": (2.4, -0.7)}  # all |w| = 2.5
TOL, MAX_STEPS = 1e-3, 200


def cost(w: Tensor) -> Tensor:
    """C(x, y) = x² + y², w = (x, y)."""
    x, y = w[0], w[1]
    return x ** 2 + y ** 2


def gradient(point: tuple) -> np.ndarray:
    """∇C at a point, by backward()."""
    w = Tensor(np.array(point, np.float64), requires_grad=True)
    cost(w).backward()
    return w.grad


def descend(lr: float, start: tuple, steps: int = MAX_STEPS) -> tuple:
    """Run w → w − η∇C with optim.SGD; the path (steps + 1, 2) and how many steps reached
    |w| < TOL (None if none did). Stops early once |w| passes 1e6."""
    w = Tensor(np.array(start, np.float64), requires_grad=True)
    opt = optim.SGD([w], lr=lr)
    path, reached = [w.numpy().copy()], None
    for k in range(1, steps + 1):
        opt.zero_grad()
        cost(w).backward()
        opt.step()
        path.append(w.numpy().copy())
        if reached is None and np.linalg.norm(path[-1]) < TOL:
            reached = k
        if np.linalg.norm(path[-1]) > 1e6:
            break
    return np.array(path), reached


def plot(paths: dict, file: str) -> None:
    """The contours with the three paths, and |w| against the step."""
    from tinygrad_lite.plot import pyplot
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [1, 1]})
    g = np.linspace(-3, 3, 201)
    X, Y = np.meshgrid(g, g)
    ax.contour(X, Y, X ** 2 + Y ** 2, levels=np.linspace(0.25, 9, 12), cmap="Greys",
               linewidths=0.8)
    colors = {"small": "tab:blue", "good": "tab:green", "too large": "tab:red"}
    for name, (lr, path, reached) in paths.items():
        shown = path[:12] if reached is None else path[:40]
        ax.plot(shown[:, 0], shown[:, 1], "o-", ms=3, lw=1, color=colors[name],
                label=f"η = {lr:g} ({name})")
        ax2.semilogy(np.linalg.norm(path, axis=1), color=colors[name],
                     label=f"η = {lr:g}: " + (f"{reached} steps" if reached else "diverges"))
    for start in STARTS.values():
        ax.plot(*start, "k*", ms=10)
    ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xlabel="x", ylabel="y",
           title="C(x, y) = x² + y²,  ∇C = (2x, 2y)")
    ax.text(-2.85, -2.8, "step rule:  w → w − η ∇C", fontsize=11,
            bbox=dict(facecolor="white", edgecolor="grey"))
    ax.legend(loc="upper left", fontsize=8)
    ax2.axhline(TOL, color="grey", ls="--", lw=0.8)
    ax2.set(xlabel="step", ylabel="|w|", xlim=(0, 100), ylim=(1e-4, 1e4),
            title="distance to the minimum (dashed: 1e-3)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    write_file(file, lambda f: f.write(buf.getvalue()), replace=True, error=ValueError)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="write the figure here (a .png; needs matplotlib)")
    args = parser.parse_args()
    print("the gradient of C(x, y) = x² + y² from backward(), beside (2x, 2y):")
    for point in [(1.5, 2.0), (-0.3, 0.7), (2.0, -1.0)]:
        got = gradient(point)
        print(f"  at {point}: backward {got.tolist()}  formula {[2 * v for v in point]}  "
              f"equal: {np.allclose(got, 2 * np.array(point), rtol=0, atol=1e-12)}")
    print(f"steps of w → w − η∇C from |w| = 2.5 until |w| < {TOL:g} (at most {MAX_STEPS}):")
    paths = {}
    for name, lr in RATES.items():
        path, reached = descend(lr, STARTS[name])
        paths[name] = (lr, path, reached)
        end = np.linalg.norm(path[-1])
        print(f"  η = {lr:<5g} ({name}): " + (f"{reached} steps" if reached else
              f"diverges, |w| = {end:.3g} after {len(path) - 1} steps"))
    if args.plot:
        plot(paths, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
