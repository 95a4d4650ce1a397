"""Curvature and the learning rate: the largest eigenvalue λ of the Hessian of the seed's cost,
found by power iteration on Hessian-vector products, during training; gradient descent on a
quadratic bowl of curvature λ converges only if η < 2/λ.

    python examples/curvature.py [--plot docs/curvature.png] [--images 10000]

The network is the seed's 784-30-10 sigmoid net with the quadratic cost C = 1/2n Σ ||y - a||²
(float64), trained by SGD on mini-batches of 10. λ is measured on the cost of 1,000 training
images: H v comes from autograd.functional.hvp (forward mode over the reverse sweep, about the
price of two gradients), and v <- Hv / ||Hv|| converges to the top eigenvector. Then one epoch is
trained at each of several learning rates, to set beside 2/λ.
"""
import argparse
import sys

import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, optim
from tinygrad_lite.autograd.functional import hvp
from tinygrad_lite.data import load_mnist
from tinygrad_lite.models import DigitNet
from tinygrad_lite.train import evaluate

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--images", type=int, default=10000, help="training images per epoch")
parser.add_argument("--rates", default="0.3,3,10,30,100,300", help="learning rates to try")
parser.add_argument("--iterations", type=int, default=30, help="power iterations per λ")
parser.add_argument("--plot", help="write the figure here (needs matplotlib)")
args = parser.parse_args()

data = load_mnist()
X, Y = data.train_images[:args.images], F.one_hot(data.train_labels[:args.images])
Xh, Yh = X[:1000].astype(np.float64), Y[:1000].astype(np.float64)  # the cost λ is measured on
Xt, yt = data.test_images[:2000], data.test_labels[:2000]


def top_eigenvalue(model: DigitNet, iterations: int) -> float:
    """λ_max of the Hessian of C on (Xh, Yh) at the model's weights, by power iteration."""
    params = tuple(Tensor(p.data.astype(np.float64)) for p in model.parameters())

    def cost(w1, b1, w2, b2):
        a = F.linear(F.linear(Tensor(Xh), w1, b1).sigmoid(), w2, b2).sigmoid()
        return F.quadratic_cost(a, Yh)

    rng = np.random.default_rng(0)
    v = [rng.standard_normal(p.shape) for p in params]
    lam = 0.0
    for _ in range(iterations):
        norm = np.sqrt(sum((u * u).sum() for u in v))
        v = [u / norm for u in v]
        _, hv = hvp(cost, params, tuple(v))
        hv = [h.numpy() for h in hv]
        lam = sum((h * u).sum() for h, u in zip(hv, v))  # Rayleigh quotient vᵀHv
        v = hv
    return float(lam)


def train(lr: float, epochs: int = 1, track: bool = False) -> tuple:
    """SGD at learning rate lr; (test accuracy, final batch cost, [(images seen, λ)])."""
    model = DigitNet((784, 30, 10), dtype=np.float64, seed=0)
    opt = optim.SGD(model.parameters(), lr=lr)
    order = np.random.default_rng(0).permutation(len(X))
    lams, cost = [], float("nan")
    marks = {k for k in (0, 100, 1000, 3000, len(X) - 10) if 0 <= k < len(X)} if track else set()
    with np.errstate(all="ignore"):
        for k in range(0, len(X), 10):
            if k in marks:
                lams.append((k, top_eigenvalue(model, args.iterations)))
            idx = order[k:k + 10]
            opt.zero_grad()
            loss = F.quadratic_cost(model(Tensor(X[idx].astype(np.float64))), Y[idx])
            loss.backward()
            opt.step()
            cost = loss.item()
    return evaluate(model, Xt, yt) / len(yt), cost, lams


acc, _, lams = train(3.0, track=True)
print(f"λ_max of the Hessian of C ({len(Xh)} training images) while training at η = 3.0:")
for seen, lam in lams:
    print(f"  after {seen:>6} images: λ = {lam:8.4f}   2/λ = {2 / lam:8.2f}")
lam_end = lams[-1][1]
print(f"\none epoch of {len(X)} images at each learning rate (2/λ after training at η = 3: "
      f"{2 / lam_end:.1f}):")
results = []
for lr in (float(r) for r in args.rates.split(",")):
    acc, cost, _ = train(lr)
    results.append((lr, acc))
    side = "below" if lr < 2 / lam_end else "above"
    print(f"  η = {lr:6g}: test accuracy {acc:6.1%}, last batch cost {cost:.3g}   "
          f"η·λ/2 = {lr * lam_end / 2:.2f} ({side} 1)")
best = max(results, key=lambda r: r[1])
stable = [f"{lr:g}: {a:.0%}" for lr, a in results if lr < 2 / lam_end]
unstable = [f"{lr:g}: {a:.0%}" for lr, a in results if lr >= 2 / lam_end]
print(f"\nBelow 2/λ = {2 / lam_end:.1f}: {', '.join(stable) or 'none'}; above: "
      f"{', '.join(unstable) or 'none'}. Best: η = {best[0]:g}.")
print("A step of size η multiplies the error along the top eigenvector by (1 - ηλ): below "
      "η = 2/λ it shrinks, above it grows, so the cost climbs out of the valley; far below, "
      "steps are safe but slow. 2/λ is a bound from a quadratic model of the cost near the "
      "weights, measured on a sample of images, not an exact threshold for noisy mini-batch SGD.")

if args.plot:
    from tinygrad_lite.plot import pyplot
    try:
        plt = pyplot()
    except ImportError as e:
        sys.exit(f"--plot: {e}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([s for s, _ in lams], [lam for _, lam in lams], "o-")
    left.set_xlabel("training images seen (η = 3)")
    left.set_ylabel("λ_max of the Hessian")
    left.set_title("Curvature during training")
    rates, accs = zip(*results)
    right.semilogx(rates, [100 * a for a in accs], "o-", label="test accuracy after one epoch")
    right.axvline(2 / lam_end, color="red", linestyle="--", label=f"2/λ = {2 / lam_end:.1f}")
    right.set_xlabel("learning rate η")
    right.set_ylabel("test accuracy (%)")
    right.set_title("Learning rates against 2/λ")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")
