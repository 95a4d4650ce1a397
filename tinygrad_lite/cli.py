"""tinygrad-lite: train the seed's digit network on MNIST, evaluate it, and look inside."""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any, Callable

import numpy as np

from . import __version__

SEED_RECIPE = "784-30-10 sigmoid, quadratic cost, N(0,1) init, SGD batch 10, lr 3.0, 30 epochs"
DEFAULT_CHECKPOINT = "digitnet.npz"


class CommandError(Exception):
    """A problem to report in one line, without a traceback."""


# --- argument types: each rejects a bad value with a one-line message ------------------------

def _number(kind: Callable, low: float, strict: bool = False) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}, got {text}")
        return value
    return parse


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes are comma-separated integers, got {text!r}") from None
    if len(sizes) < 2 or sizes[0] != 784 or sizes[-1] != 10 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"sizes must start at 784 (28x28 pixels) and end at 10 (digits), with positive "
            f"hidden layers, e.g. 784,30,10; got {text}")
    return sizes


def _network_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--sizes", type=_sizes, help="layer sizes (default 784,30,10)")
    group.add_argument("--hidden", type=_number(int, 1), help="one hidden layer of N neurons")


def _resolve_sizes(args: argparse.Namespace) -> list[int]:
    if args.sizes:
        return args.sizes
    return [784, args.hidden if args.hidden else 30, 10]


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with the four MNIST IDX files (.gz or raw); "
                   "default: $TINYGRAD_LITE_DATA, else the copy bundled with the package")
    p.add_argument("--download", action="store_true",
                   help="fetch MNIST into the cache folder (or --data-dir) if missing")


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem (and where help is), exit status 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygrad-lite", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tinygrad-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("train", help="train the digit network on MNIST",
                       description=f"Train on MNIST. Defaults: the seed's recipe, {SEED_RECIPE}.")
    _network_args(p)
    p.add_argument("--epochs", type=_number(int, 0), default=30,
                   help="passes over the training images (default 30)")
    p.add_argument("--batch-size", type=_number(int, 1), default=10,
                   help="images per SGD step (default 10)")
    p.add_argument("--lr", type=_number(float, 0, strict=True), default=3.0,
                   help="learning rate η (default 3.0)")
    p.add_argument("--cost", choices=["quadratic", "cross-entropy"], default="quadratic")
    p.add_argument("--init", choices=["standard", "scaled", "default"], default="standard",
                   help="standard: N(0,1) (the seed); scaled: N(0,1/n_in) weights; "
                        "default: PyTorch's uniform")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--momentum", type=_number(float, 0), default=0.0)
    p.add_argument("--weight-decay", type=_number(float, 0), default=0.0,
                   help="L2 penalty λ: each step adds λ·p to every parameter p's gradient")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--seed", type=int, default=None, help="for the initial weights and shuffling")
    p.add_argument("--limit", type=_number(int, 1), help="train on the first N images only")
    p.add_argument("--eager", action="store_true",
                   help="run every step eagerly instead of capturing and replaying it")
    p.add_argument("--save", metavar="PATH", default=DEFAULT_CHECKPOINT,
                   help=f"write the checkpoint (.npz) here when done (default: {DEFAULT_CHECKPOINT})")
    p.add_argument("--no-save", dest="save", action="store_const", const=None,
                   help="do not write a checkpoint")
    p.add_argument("--plot", metavar="PATH", help="write learning curves to PATH (.png) and, "
                   "beside it, misclassified digits and hidden weights (needs matplotlib)")
    _data_arg(p)

    p = sub.add_parser("evaluate", help="test accuracy and confusion matrix of a checkpoint")
    p.add_argument("checkpoint", nargs="?", default=DEFAULT_CHECKPOINT,
                   help=f"from train (default: {DEFAULT_CHECKPOINT})")
    _data_arg(p)

    p = sub.add_parser("graph", help="the digit network's cost graph for one mini-batch (DOT)")
    _network_args(p)
    p.add_argument("--batch-size", type=_number(int, 1), default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", metavar="FILE", help="FILE.dot, or FILE.svg / FILE.png rendered by "
                   "Graphviz's dot program if installed; default: DOT text to standard output")
    _data_arg(p)

    p = sub.add_parser("explain", help="BP1-BP4 on one test image, checked against autodiff")
    _network_args(p)
    p.add_argument("--index", type=_number(int, 0), default=0, help="which test image")
    p.add_argument("--checkpoint", help="explain a trained network (from train --save)")
    p.add_argument("--seed", type=int, default=0, help="for random weights, without --checkpoint")
    _data_arg(p)

    p = sub.add_parser("gradcheck", help="autodiff vs finite differences vs BP1-BP4, "
                       "per parameter tensor; exits 1 if a check fails")
    _network_args(p)
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--mode", choices=["auto", "full", "projection"], default="auto",
                   help="full: every element; projection: random directions vᵀ∇C; "
                        "auto: full up to 30,000 parameters")
    p.add_argument("--directions", type=_number(int, 1), default=10)
    p.add_argument("--batch-size", type=_number(int, 1), default=10)
    p.add_argument("--seed", type=int, default=0)
    _data_arg(p)
    return parser


# --- commands ------------------------------------------------------------------------------

def _load_data(args: argparse.Namespace):
    from .data import load_mnist
    return load_mnist(args.data_dir, download=args.download)


def cmd_train(args: argparse.Namespace) -> int:
    from .models import DigitNet

    from . import optim, save
    from .train import fit

    plot = None
    if args.plot:
        try:
            from . import plot
        except ImportError:
            print("note: --plot needs matplotlib (pip install 'tinygrad_lite[plot]'); "
                  "training without plots", file=sys.stderr)
    if args.save:
        folder = os.path.dirname(os.path.abspath(args.save))
        if not os.path.isdir(folder):
            raise CommandError(f"cannot save to {args.save}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise CommandError(f"cannot save to {args.save}: folder {folder} is not writable "
                               "(choose another with --save PATH, or --no-save)")
    sizes = _resolve_sizes(args)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    data = _load_data(args)
    images, labels = data.train_images, data.train_labels
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    dtype = np.dtype(args.dtype)
    init_seed, shuffle_seed = np.random.SeedSequence(seed).spawn(2)  # independent streams
    model = DigitNet(sizes, dtype=dtype, init=args.init, seed=init_seed)
    if args.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                        weight_decay=args.weight_decay)
    else:
        if args.momentum:
            raise CommandError("--momentum applies to --optimizer sgd; Adam has betas instead")
        opt = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    print(f"tinygrad-lite {__version__}: {'-'.join(map(str, sizes))} sigmoid, {args.cost} cost, "
          f"{args.init} init, {args.optimizer} lr {args.lr:g}"
          + (f" momentum {args.momentum:g}" if args.momentum else "")
          + (f" weight decay {args.weight_decay:g}" if args.weight_decay else "")
          + f", batch {args.batch_size}, {args.epochs} epochs, {len(images)} training images, "
          f"{args.dtype}, seed {seed}", flush=True)
    start = time.perf_counter()
    history = fit(model, images, labels, opt, epochs=args.epochs, batch_size=args.batch_size,
                  cost=args.cost, test=(data.test_images, data.test_labels), seed=shuffle_seed,
                  use_capture=not args.eager, log=lambda line: print(line, flush=True))
    elapsed = time.perf_counter() - start
    if history:
        best = max(history, key=lambda r: r["correct"])
        last = history[-1]
        print(f"final: {last['correct']} / {last['total']} ({100 * last['accuracy']:.2f}%), "
              f"best {best['correct']} at epoch {best['epoch']}, "
              f"{elapsed:.1f}s in all ({sum(r['seconds'] for r in history):.1f}s training)")
    if args.save:
        meta = {"format": "tinygrad_lite.DigitNet", "version": __version__, "sizes": sizes,
                "dtype": args.dtype, "cost": args.cost, "init": args.init,
                "optimizer": args.optimizer, "lr": args.lr, "momentum": args.momentum,
                "weight_decay": args.weight_decay, "batch_size": args.batch_size,
                "epochs": args.epochs, "seed": seed, "history": history}
        save(model.state_dict(), args.save, metadata=meta)
        print(f"saved {args.save} (tinygrad-lite evaluate {args.save})")
    if plot is not None:
        written = plot.training_report(args.plot, history, model, data.test_images,
                                       data.test_labels)
        print("plots: " + ", ".join(written))
    return 0


def load_digitnet(path: str):
    """A DigitNet and its recipe from a checkpoint written by `train --save`."""
    from .models import DigitNet

    from .serialization import CheckpointError, load
    state, meta = load(path, with_metadata=True)
    sizes, dtype = meta.get("sizes"), meta.get("dtype", "float32")
    if (not isinstance(sizes, list) or len(sizes) < 2 or
            not all(isinstance(n, int) and n > 0 for n in sizes) or
            dtype not in ("float32", "float64") or
            [np.shape(state.get(f"{2 * i}.weight")) for i in range(len(sizes) - 1)] !=
            [(n, m) for m, n in zip(sizes, sizes[1:])]):
        raise CheckpointError(f"{path}: no valid architecture recorded (sizes {sizes!r}, dtype "
                              f"{dtype!r}); was it written by 'tinygrad-lite train --save'?")
    model = DigitNet(sizes, dtype=np.dtype(dtype))
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: {e}") from None
    return model, meta


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .train import predict
    model, meta = load_digitnet(args.checkpoint)
    if model.sizes[0] != 784 or model.sizes[-1] != 10:
        raise CommandError(f"{args.checkpoint}: network {model.sizes} is not a 784-...-10 "
                           "digit network")
    data = _load_data(args)
    pred, labels = predict(model, data.test_images), data.test_labels
    correct = int((pred == labels).sum())
    print(f"{args.checkpoint}: {'-'.join(map(str, model.sizes))} network, "
          f"{meta.get('cost', '?')} cost")
    print(f"{correct} / {len(labels)} ({100 * correct / len(labels):.2f}%)")
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, pred), 1)
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("      " + "".join(f"{j:>6}" for j in range(10)))
    for i in range(10):
        print(f"{i:>6}" + "".join(f"{n:>6}" for n in confusion[i]))
    return 0


def _batch(args: argparse.Namespace, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n random MNIST test images and their one-hot labels."""
    from . import functional as F
    data = _load_data(args)
    idx = np.random.default_rng(seed).choice(len(data.test_labels), n, replace=False)
    return data.test_images[idx], F.one_hot(data.test_labels[idx], 10, np.float32)


def cmd_graph(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from .models import DigitNet

    from . import Tensor
    from . import functional as F
    from .viz import to_dot

    sizes = _resolve_sizes(args)
    ext = os.path.splitext(args.out)[1].lower() if args.out else ""
    if args.out and ext not in (".dot", ".gv", ".svg", ".png"):
        raise CommandError(f"--out {args.out}: use a .dot, .svg or .png file name")
    model = DigitNet(sizes, seed=args.seed)
    X, Y = _batch(args, args.batch_size, args.seed)
    x, y = Tensor(X), Tensor(Y)
    cost = F.quadratic_cost(model(x), y)
    cost.backward(retain_graph=True)
    names = dict(model.named_parameters(), **{"x (images)": x, "y (targets)": y, "cost C": cost})
    dot = to_dot(cost, params=names)
    if not args.out:
        sys.stdout.write(dot)
        return 0
    if ext in (".dot", ".gv"):
        with open(args.out, "w") as f:
            f.write(dot)
        print(f"wrote {args.out}; render it with: dot -Tsvg {args.out} -o graph.svg")
        return 0
    if shutil.which("dot"):
        subprocess.run(["dot", f"-T{ext[1:]}", "-o", args.out], input=dot, text=True, check=True)
        print(f"wrote {args.out}")
        return 0
    dot_path = os.path.splitext(args.out)[0] + ".dot"
    with open(dot_path, "w") as f:
        f.write(dot)
    print(f"Graphviz's dot program is not installed (Debian: apt-get install graphviz), so "
          f"wrote {dot_path}; render it with: dot -T{ext[1:]} {dot_path} -o {args.out}")
    return 0


def _summary(v: np.ndarray) -> str:
    return f"min {v.min():+.3e}  mean {v.mean():+.3e}  max {v.max():+.3e}"


def cmd_explain(args: argparse.Namespace) -> int:
    from .models import NeuralNetwork
    from .models.explain import example, explain_backprop

    if args.checkpoint:
        net = load_digitnet(args.checkpoint)[0].to_network()
        net.weights = [w.astype(np.float64) for w in net.weights]
        net.biases = [b.astype(np.float64) for b in net.biases]
        origin = f"weights from {args.checkpoint}"
    else:
        net = NeuralNetwork(_resolve_sizes(args), seed=args.seed)
        origin = f"random N(0,1) weights, seed {args.seed}"
    data = _load_data(args)
    try:
        x, y = example(data.test_images, data.test_labels, args.index)
    except IndexError as e:
        raise CommandError(str(e)) from None
    reports = explain_backprop(net, x, y)
    out = reports[-1].a
    print(f"Test image {args.index}: a {data.test_labels[args.index]}. Network "
          f"{'-'.join(map(str, net.sizes))}, {origin}. Cost C = ½||y - a||².")
    print(f"Prediction: {int(out.argmax())} (output a = "
          + " ".join(f"{v:.3f}" for v in out) + ")\n")
    for r in reversed(reports):   # in the order backprop visits them: output layer first
        kind = "output layer" if r.equation == "BP1" else "hidden layer"
        print(f"layer {r.layer} ({kind}, {r.grad_w.shape[1]} -> {r.grad_w.shape[0]})")
        formula = "(a - y) ⊙ σ'(z)" if r.equation == "BP1" else "(wᵀ δ_next) ⊙ σ'(z)"
        rows = [("z = w a + b", _summary(r.z), ""), ("a = σ(z)", _summary(r.a), ""),
                (f"δ = {formula}", _summary(r.delta), r.equation),
                ("∂C/∂b = δ", "max |hand - autodiff| = "
                 f"{np.abs(r.grad_b - r.autodiff_b).max():.2e}", "BP3"),
                ("∂C/∂w = δ aᵀ", "max |hand - autodiff| = "
                 f"{np.abs(r.grad_w - r.autodiff_w).max():.2e}", "BP4")]
        for label, value, tag in rows:
            print(f"  {label:<26}{value:<58}{'[' + tag + ']' if tag else ''}".rstrip())
    worst = max(r.max_diff for r in reports)
    scale = max(max(np.abs(r.grad_w).max(), np.abs(r.grad_b).max()) for r in reports)
    if worst > 1e-9 * max(scale, 1.0):
        print(f"\nMISMATCH: the handwritten equations and autodiff differ by up to {worst:.3e}",
              file=sys.stderr)
        return 1
    print(f"\nLargest difference {worst:.2e}: BP1-BP4 and the autodiff engine agree "
          "to float64 rounding.")
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from .models import DigitNet
    from .models.explain import check_gradients

    sizes = _resolve_sizes(args)
    model = DigitNet(sizes, dtype=np.dtype(args.dtype), seed=args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    mode = args.mode if args.mode != "auto" else ("full" if n_params <= 30000 else "projection")
    X, Y = _batch(args, args.batch_size, args.seed)
    print(f"gradcheck: {'-'.join(map(str, sizes))} network, {n_params} parameters, {args.dtype}, "
          f"{args.batch_size} MNIST test images, quadratic cost, mode {mode}")
    results = check_gradients(model, X, Y, mode=mode, directions=args.directions, seed=args.seed)
    print(f"{'parameter':<10}{'shape':>12}  {'checked':<22}{'max abs err':>12}{'rel err':>10}"
          f"{'rel err vs BP1-4':>18}")
    for r in results:
        print(f"{r.name:<10}{str(r.shape):>12}  {r.checked:<22}{r.numeric_abs:>12.2e}"
              f"{r.numeric_rel:>10.2e}{r.handwritten_rel:>18.2e}  {'ok' if r.passed else 'FAIL'}")
    from .models.explain import TOLERANCES
    eps, tol_n, tol_h = TOLERANCES[args.dtype]
    print(f"(central differences with eps {eps:g}; pass: rel err <= {tol_n:g} vs differences, "
          f"<= {tol_h:g} vs the handwritten equations)")
    failed = [r.name for r in results if not r.passed]
    if failed:
        print(f"gradcheck FAILED for {', '.join(failed)}", file=sys.stderr)
        return 1
    print("gradcheck passed")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "graph": cmd_graph,
            "explain": cmd_explain, "gradcheck": cmd_gradcheck}


def main(argv: list[str] | None = None) -> int:
    from .capture import CaptureError
    from .data import DataError
    from .serialization import CheckpointError
    from .train import TrainingError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except (CommandError, DataError, CheckpointError, TrainingError, CaptureError) as e:
        print(f"tinygrad-lite {args.command}: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        sys.stderr.close()
        return 0
    except OSError as e:
        print(f"tinygrad-lite {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tinygrad-lite {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
