"""How many hidden neurons: the seed's 784-n-10 network trained at n = 5 ... 100.

    python examples/hidden_sizes.py [--plot docs/hidden_sizes.png] [--epochs 10] [--repeats 3]
    python examples/hidden_sizes.py --quick     # a few seconds: small sizes, fewer images

Each size is trained with the seed's recipe (quadratic cost, N(0, 1) init, SGD on batches of 10,
η = 3.0) for the same budget of epochs, from several seeds; the table gives the test accuracy
(10,000 images) and the training time per run. Beside them: the seed illustrates its network
with n = 15 (it reports no accuracy), and Nielsen's book reports about 95% for n = 30 and
96.59% for n = 100, each after 30 epochs on 50,000 images.
"""
import argparse
import time

import numpy as np

from tinygrad_lite import optim
from tinygrad_lite.data import load_mnist
from tinygrad_lite.models import DigitNet
from tinygrad_lite.train import fit

SIZES = (5, 10, 15, 30, 60, 100)
BOOK = {30: "~95% (book, 30 epochs)", 100: "96.59% (book, 30 epochs)"}
SEED_NOTE = {15: "the seed's illustrated size"}


def train(n: int, seed: int, epochs: int, data: tuple) -> tuple[float, float]:
    """Test accuracy and seconds for 784-n-10 trained `epochs` epochs from `seed`."""
    images, labels, test = data
    model = DigitNet((784, n, 10), init="standard", seed=seed)
    start = time.perf_counter()
    history = fit(model, images, labels, optim.SGD(model.parameters(), lr=3.0), epochs=epochs,
                  batch_size=10, test=test, seed=seed, log=None)
    return history[-1]["accuracy"], time.perf_counter() - start


def plot(rows: list[tuple], file: str) -> None:
    """Accuracy and time against n, each run a dot and the mean a line."""
    from tinygrad_lite.plot import pyplot
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ns = [n for n, _, _ in rows]
    for n, accs, secs in rows:
        ax1.plot([n] * len(accs), 100 * np.array(accs), ".", color="tab:blue", alpha=0.5)
        ax2.plot([n] * len(secs), secs, ".", color="tab:orange", alpha=0.5)
    ax1.plot(ns, [100 * np.mean(a) for _, a, _ in rows], "o-", color="tab:blue",
             label="this library (mean of runs)")
    ax1.plot([30, 100], [95.0, 96.59], "k*", ms=10, label="Nielsen's book (30 epochs)")
    ax1.axvline(15, color="grey", ls=":", lw=1, label="n = 15: the seed's picture")
    ax1.set(xscale="log", xlabel="hidden neurons n", ylabel="test accuracy (%)",
            title="Accuracy against n")
    ax2.plot(ns, [np.mean(s) for _, _, s in rows], "o-", color="tab:orange")
    ax2.set(xscale="log", xlabel="hidden neurons n", ylabel="seconds per run",
            title="Training time against n")
    for ax in (ax1, ax2):
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per run (the budget)")
    parser.add_argument("--repeats", type=int, default=3, help="seeds per size")
    parser.add_argument("--images", type=int, default=60000, help="training images")
    parser.add_argument("--quick", action="store_true",
                        help="n = 5, 15, 30; 1 epoch on 3,000 images, 2 seeds, 2,000 test images")
    parser.add_argument("--plot", help="write the figure here (a .png; needs matplotlib)")
    args = parser.parse_args()
    sizes, tests = SIZES, 10000
    if args.quick:
        sizes, args.epochs, args.repeats, args.images, tests = (5, 15, 30), 1, 2, 3000, 2000
    mnist = load_mnist()
    data = (mnist.train_images[:args.images], mnist.train_labels[:args.images],
            (mnist.test_images[:tests], mnist.test_labels[:tests]))
    print(f"784-n-10, quadratic cost, SGD batch 10, η 3.0, {args.epochs} epoch(s) on "
          f"{args.images} images, seeds 0-{args.repeats - 1}; test on {tests} images")
    print(f"{'n':>4} {'accuracy % (mean)':>18} {'min':>6} {'max':>6} {'s/run':>6}  beside")
    rows = []
    for n in sizes:
        runs = [train(n, seed, args.epochs, data) for seed in range(args.repeats)]
        accs, secs = [a for a, _ in runs], [s for _, s in runs]
        rows.append((n, accs, secs))
        note = BOOK.get(n, SEED_NOTE.get(n, ""))
        print(f"{n:>4} {100 * np.mean(accs):>18.2f} {100 * min(accs):>6.2f} "
              f"{100 * max(accs):>6.2f} {np.mean(secs):>6.2f}  {note}")
    if args.plot:
        plot(rows, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
