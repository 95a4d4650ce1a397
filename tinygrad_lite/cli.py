"""tinygrad-lite: train the seed's digit network on MNIST, evaluate it, and look inside.

This module parses the command line and dispatches: the work is done by the library
(`tinygrad_lite`) and the models (`tinygrad_lite.models`). Every failure is reported in one line
on standard error, with exit status 2 for bad arguments and 1 for anything else.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
import warnings
from typing import Any, Callable

import numpy as np

from . import __version__
from .nn import INITS
from .train import COSTS

SEED_RECIPE = "784-30-10 sigmoid, quadratic cost, N(0,1) init, SGD batch 10, lr 3.0, 30 epochs"
DEFAULT_CHECKPOINT = "digitnet.npz"


class CommandError(Exception):
    """A problem to report in one line, without a traceback."""


class UsageError(CommandError):
    """Arguments that do not go together: reported in one line, exit status 2."""


# --- output that survives a closed pipe (train | head) -----------------------------------------

def say(text: str = "") -> None:
    """Print a line. If standard output is a pipe whose reader has gone (`train | head -1`),
    the rest of the output is dropped and the command carries on (training still saves)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # as Python's docs advise for SIGPIPE
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


# --- argument types: each rejects a bad value with a one-line message ------------------------

def _number(kind: Callable, low: float, strict: bool = False) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
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


_seed = _number(int, 0)


class _Help(argparse.HelpFormatter):
    """Help that ends each option with its default; an option whose default is None says in
    its own words what happens when it is unset, and a flag is off unless given."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default is not None and default is not False and default is not argparse.SUPPRESS \
                and action.option_strings:
            text += " (default: %(default)s)"
        return text


class _HelpWithEpilog(_Help):
    """Keeps the epilog's own line breaks (the table of models)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in text.splitlines())


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem (and where help is), exit status 2. Help
    shows every option's default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _network_args(p: argparse.ArgumentParser, hidden: int | None = 30) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--sizes", type=_sizes, help="layer sizes, e.g. 784,30,10 (unset: "
                       "784,N,10 with N from --hidden)")
    group.add_argument("--hidden", type=_number(int, 1), default=hidden,
                       help="one hidden layer of N neurons" + ("" if hidden else
                                                              " (unset: 30)"))


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with the four MNIST IDX files (.gz or raw); "
                   "unset: $TINYGRAD_LITE_DATA, else the copy bundled with the package")
    p.add_argument("--download", action="store_true",
                   help="fetch MNIST into the cache folder (or --data-dir) if missing")


def _dropout(text: str) -> float:
    p = _number(float, 0)(text)
    if p >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return p


def _model_name(text: str) -> str:
    from .models.zoo import MODELS
    if text not in MODELS:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; choose from "
                                         f"{', '.join(MODELS)}")
    return text


def _models_help() -> str:
    from .models.zoo import MODELS
    lines = ["models (--model NAME) and their default recipes, which the flags override:"]
    for name, entry in MODELS.items():
        lines.append(f"  {name:<13}{entry.about}")
        lines.append(f"  {'':<13}{entry.recipe.describe()}")
    return "\n".join(lines)


def _threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=_number(int, 1), help="BLAS threads for numpy's matrix "
                   "products (unset: chosen from the matrix sizes, and said once)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tinygrad-lite", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tinygrad-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("train", help="train a digit network on MNIST",
                       description=f"Train on MNIST. Defaults: the seed's recipe, {SEED_RECIPE}; "
                       "each --model has its own recipe (below), which the flags override.",
                       epilog=_models_help(), formatter_class=_HelpWithEpilog)
    p.add_argument("--model", type=_model_name, default="mlp",
                   help="which network (listed below)")
    _network_args(p, hidden=None)
    p.add_argument("--epochs", type=_number(int, 0),
                   help="passes over the training images (unset: the model's; mlp: 30)")
    p.add_argument("--batch-size", type=_number(int, 1),
                   help="images per step (unset: the model's; mlp: 10)")
    p.add_argument("--lr", type=_number(float, 0, strict=True),
                   help="learning rate η (unset: the model's; mlp: 3.0)")
    p.add_argument("--lr-decay", type=_number(float, 0, strict=True), help="multiply the "
                   "learning rate by this after each epoch (unset: the model's; mlp: 1)")
    p.add_argument("--cost", choices=list(COSTS),
                   help="the cost C (unset: the model's; mlp: quadratic)")
    p.add_argument("--init", choices=list(INITS),
                   help="standard: N(0,1) (the seed); scaled: N(0,1/n_in) weights; "
                        "default: PyTorch's uniform (unset: the model's; mlp: standard; only "
                        "mlp can change it)")
    p.add_argument("--optimizer", choices=["sgd", "adam"],
                   help="the update rule (unset: the model's; mlp: sgd)")
    p.add_argument("--momentum", type=_number(float, 0),
                   help="SGD's momentum (unset: the model's; mlp: 0)")
    p.add_argument("--weight-decay", type=_number(float, 0),
                   help="L2 penalty λ: each step adds λ·p to every parameter p's gradient "
                        "(unset: the model's; mlp: 0)")
    p.add_argument("--dropout", type=_dropout, help="dropout probability P in [0, 1) before "
                   "each fully connected layer (unset: the model's; not for mlp)")
    p.add_argument("--expand-data", action=argparse.BooleanOptionalAction,
                   help="train on the expanded set: each image also shifted one pixel up, down, "
                   "left and right (5x the images) (unset: the model's; mlp: no)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="the parameters' precision")
    p.add_argument("--seed", type=_seed, default=0, help="for the initial weights and shuffling")
    p.add_argument("--limit", type=_number(int, 1),
                   help="train on the first N images only (unset: all 60,000)")
    p.add_argument("--eager", action="store_true",
                   help="run every step eagerly instead of capturing and replaying it")
    p.add_argument("--save", metavar="PATH", default=DEFAULT_CHECKPOINT,
                   help="write the checkpoint (.npz) here when done")
    p.add_argument("--no-save", dest="save", action="store_const", const=None,
                   help="do not write a checkpoint")
    p.add_argument("--force", action="store_true",
                   help="replace an existing checkpoint at --save (else training refuses to start)")
    p.add_argument("--plot", metavar="PATH", help="write learning curves to PATH (.png, .svg or "
                   ".pdf) and, beside it, misclassified digits and hidden weights (needs "
                   "matplotlib; unset: no plots)")
    _threads_arg(p)
    _data_args(p)

    p = sub.add_parser("evaluate", help="test accuracy and confusion matrix of a checkpoint, "
                       "or of an ensemble of checkpoints")
    p.add_argument("checkpoint", nargs="*", default=[DEFAULT_CHECKPOINT],
                   help=f"from train (default: {DEFAULT_CHECKPOINT}); several: each is scored, "
                   "then their ensemble (the average of their output probabilities)")
    _threads_arg(p)
    _data_args(p)

    p = sub.add_parser("graph", help="the digit network's cost graph for one mini-batch "
                       "(DOT text or a picture)")
    _network_args(p)
    p.add_argument("--batch-size", type=_number(int, 1), default=10, help="images in the batch")
    p.add_argument("--seed", type=_seed, default=0, help="for the weights and the images")
    p.add_argument("--out", metavar="FILE", help="FILE.dot (DOT text), or a FILE.svg / FILE.png "
                   "picture drawn by --engine (unset: DOT text to standard output)")
    p.add_argument("--engine", choices=["auto", "graphviz", "matplotlib"], default="auto",
                   help="what draws --out FILE.svg / FILE.png: Graphviz's dot program, "
                        "matplotlib, or auto: Graphviz if installed, else matplotlib")
    _data_args(p)

    p = sub.add_parser("explain", help="BP1-BP4 on one test image, checked against autodiff")
    _network_args(p)
    p.add_argument("--index", type=_number(int, 0), default=0, help="which test image")
    p.add_argument("--checkpoint", help="explain a trained network (from train; unset: "
                   "random weights from --seed)")
    p.add_argument("--seed", type=_seed, default=0, help="for random weights, without --checkpoint")
    _data_args(p)

    p = sub.add_parser("gradcheck", help="autodiff vs finite differences vs BP1-BP4, "
                       "per parameter tensor; exits 1 if a check fails")
    _network_args(p)
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                   help="the parameters' precision")
    p.add_argument("--mode", choices=["auto", "full", "projection"], default="auto",
                   help="full: every element; projection: random directions vᵀ∇C; "
                        "auto: full up to 30,000 parameters")
    p.add_argument("--directions", type=_number(int, 1), default=10,
                   help="random directions in projection mode (and for --order 2)")
    p.add_argument("--order", type=int, choices=[1, 2], default=1,
                   help="1: gradients; 2: second derivatives (Hessian-vector products, float64)")
    p.add_argument("--batch-size", type=_number(int, 1), default=10, help="images in the cost")
    p.add_argument("--seed", type=_seed, default=0, help="for the weights, images, directions")
    _data_args(p)
    return parser


# --- shared steps ------------------------------------------------------------------------------

def _resolve_sizes(args: argparse.Namespace) -> list[int]:
    return args.sizes or [784, args.hidden or 30, 10]


def _load_data(args: argparse.Namespace, sizes: list[int]) -> Any:
    """MNIST, checked to fit a network whose first layer takes sizes[0] inputs."""
    from .data import load_mnist
    data = load_mnist(args.data_dir, download=args.download)
    if data.test_images.shape[1] != sizes[0]:
        raise CommandError(f"the images have {data.test_images.shape[1]} pixels each, but the "
                           f"network's first layer takes {sizes[0]}")
    return data


def _digit_net(sizes: tuple, path: str) -> None:
    if sizes[0] != 784 or sizes[-1] != 10:
        raise CommandError(f"{path}: network {'-'.join(map(str, sizes))} is not a 784-...-10 "
                           "digit network")


def _output(path: str, force: bool, flag: str) -> str:
    """Check before any work that `path` can be written: not a folder or special file, in a
    folder that exists, and (unless force) not replacing a file."""
    from .files import check_target
    try:
        _, mode = check_target(path, CommandError)
    except CommandError as e:
        raise CommandError(f"{flag}: {e}") from None
    if mode is not None and not force:
        raise CommandError(f"{flag}: {path} exists; pass --force to replace it, or name another "
                           "file")
    return path


def _batch(args: argparse.Namespace, data: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random MNIST test images and their one-hot labels."""
    from . import functional as F
    if n > len(data.test_labels):
        raise CommandError(f"--batch-size {n} is more than the {len(data.test_labels)} test "
                           "images")
    idx = np.random.default_rng(args.seed).choice(len(data.test_labels), n, replace=False)
    return data.test_images[idx], F.one_hot(data.test_labels[idx], 10, np.float32)


# --- commands ----------------------------------------------------------------------------------

def _recipe(args: argparse.Namespace) -> None:
    """Fill each recipe flag left unset with the model's default, and check the combination."""
    from .models.zoo import recipe
    by_default = args.expand_data is None
    for flag, value in recipe(args.model).items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    if args.model != "mlp":
        for flag, given in (("--sizes", args.sizes), ("--hidden", args.hidden),
                            ("--init", args.init != "default" and args.init)):
            if given:
                raise UsageError(f"{flag} applies to --model mlp; --model {args.model} has "
                                   "its own layers (see --help)")
    elif args.dropout:
        raise UsageError("--dropout applies to the convolutional models; --model mlp has "
                           "no dropout layers")
    if args.optimizer == "adam" and args.momentum:
        raise CommandError("--momentum applies to --optimizer sgd; Adam has betas instead")
    if args.lr_decay > 1:
        raise UsageError(f"--lr-decay must be at most 1 (a decay), got {args.lr_decay:g}")
    if args.expand_data and args.limit:
        raise UsageError("--expand-data and --limit cannot be combined: the expanded set is "
                           "made from all 60,000 images" + (f" (--model {args.model} expands "
                           "by default: pass --no-expand-data)" if by_default else ""))


def _make_model(args: argparse.Namespace, seed: Any) -> Any:
    from .models import DigitNet
    from .models.zoo import build
    if args.model == "mlp":
        return DigitNet(_resolve_sizes(args), dtype=np.dtype(args.dtype), init=args.init,
                        seed=seed)
    extra = {} if args.dropout is None else {"dropout": args.dropout}
    return build(args.model, dtype=np.dtype(args.dtype), seed=seed, **extra)


def _make_optimizer(args: argparse.Namespace, params: list) -> Any:
    from . import optim
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay)
    return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)


class Progress:
    """Progress within an epoch on a terminal, one line overwritten with \\r: batches done,
    images per second, time left. At most five updates a second; `clear` before other output."""

    def __init__(self, stream: Any, batch_size: int) -> None:
        self.stream, self.batch_size, self.shown, self.last = stream, batch_size, False, 0.0

    def __call__(self, done: int, total: int, seconds: float) -> None:
        if seconds - self.last < 0.2 and done < total:
            return
        self.last = seconds if done < total else 0.0
        rate = done * self.batch_size / max(seconds, 1e-9)
        left = seconds / done * (total - done)
        self.write(f"\r  batch {done}/{total}  {rate:,.0f} images/s  {left:.0f}s left ")
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.write("\r" + " " * 60 + "\r")
            self.shown = False

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def cmd_train(args: argparse.Namespace) -> int:
    from .models.zoo import describe, save_checkpoint
    from .train import fit
    _recipe(args)
    save_path = _output(args.save, args.force, "--save") if args.save else None
    plot = None
    if args.plot:
        from . import plot
        try:
            paths = plot.report_paths(args.plot)
        except ValueError as e:
            raise CommandError(f"--plot: {e}") from None
        for path in paths:
            _output(path, True, "--plot")
        if not plot.available():
            print("note: --plot needs matplotlib (pip install 'tinygrad_lite[plot]'); training "
                  "without plots", file=sys.stderr)
            plot = None
    init_seed, shuffle_seed = np.random.SeedSequence(args.seed).spawn(2)  # independent streams
    model = _make_model(args, init_seed)
    data = _load_data(args, [784 if args.model != "mlp" else _resolve_sizes(args)[0]])
    images, labels = data.train_images[:args.limit], data.train_labels[:args.limit]
    if args.expand_data:
        from .data import expand_mnist
        images, labels = expand_mnist(images, labels)
    if args.batch_size > len(images):
        raise CommandError(f"--batch-size {args.batch_size} is more than the {len(images)} "
                           "training images")
    opt = _make_optimizer(args, model.parameters())
    say(f"tinygrad-lite {__version__}: {describe(model)}, {args.cost} cost, "
        + (f"{args.init} init, " if args.model == "mlp" else "")
        + f"{args.optimizer} lr {args.lr:g}"
        + (f" x{args.lr_decay:g} per epoch" if args.lr_decay != 1 else "")
        + (f" momentum {args.momentum:g}" if args.momentum else "")
        + (f" weight decay {args.weight_decay:g}" if args.weight_decay else "")
        + f", batch {args.batch_size}, {args.epochs} epochs, {len(images)} training images"
        + (" (expanded)" if args.expand_data else "") + f", {args.dtype}, seed {args.seed}")
    progress = Progress(sys.stderr, args.batch_size) if sys.stderr.isatty() else None

    def log(line: str) -> None:
        if progress is not None:
            progress.clear()
        say(line)

    start = time.perf_counter()
    history = fit(model, images, labels, opt, epochs=args.epochs, batch_size=args.batch_size,
                  cost=args.cost, test=(data.test_images, data.test_labels), seed=shuffle_seed,
                  use_capture=not args.eager, log=log, threads=args.threads,
                  lr_decay=args.lr_decay, progress=progress)
    elapsed = time.perf_counter() - start
    if history:
        best = max(history, key=lambda r: r["correct"])
        last = history[-1]
        say(f"final: {last['correct']} / {last['total']} ({100 * last['accuracy']:.2f}%), "
            f"best {best['correct']} at epoch {best['epoch']}, "
            f"{elapsed:.1f}s in all ({sum(r['seconds'] for r in history):.1f}s training)")
    if save_path:
        save_checkpoint(model, save_path, model=args.model, cost=args.cost, init=args.init,
                        optimizer=args.optimizer, lr=args.lr, lr_decay=args.lr_decay,
                        momentum=args.momentum,
                        weight_decay=args.weight_decay, batch_size=args.batch_size,
                        epochs=args.epochs, seed=args.seed, expand_data=args.expand_data,
                        limit=args.limit, history=history)
        say(f"saved {save_path} (tinygrad-lite evaluate {save_path})")
    if plot is not None:
        written = plot.training_report(args.plot, history, model, data.test_images,
                                       data.test_labels)
        say("plots: " + ", ".join(written))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .models.zoo import describe, ensemble, load_checkpoint, probabilities
    from .train import confusion_matrix, confusion_table
    members = [(path, *load_checkpoint(path)) for path in args.checkpoint]
    first_path, first, first_meta = members[0]
    for path, model, meta in members:
        if hasattr(model, "sizes"):
            _digit_net(model.sizes, path)
        if _output_kind(meta) != _output_kind(first_meta):
            raise CommandError(f"{path} ({describe(model)}, {meta.get('cost')} cost) and "
                               f"{first_path} ({describe(first)}, {first_meta.get('cost')} "
                               f"cost) differ: the first gives {_output_kind(meta)}, the "
                               f"second {_output_kind(first_meta)}; an ensemble averages "
                               "outputs of one kind")
    data = _load_data(args, [784])
    labels = data.test_labels
    outs = []
    for path, model, meta in members:
        outs.append(probabilities(model, meta.get("cost", "quadratic"), data.test_images,
                                  threads=args.threads))
        correct = int((outs[-1].argmax(axis=1) == labels).sum())
        say(f"{path}: {describe(model)} network, {meta.get('cost', '?')} cost")
        say(f"{correct} / {len(labels)} ({100 * correct / len(labels):.2f}%)")
    pred = ensemble(outs).argmax(axis=1)
    if len(members) > 1:
        correct = int((pred == labels).sum())
        say(f"ensemble of {len(members)} (averaged outputs): {correct} / {len(labels)} "
            f"({100 * correct / len(labels):.2f}%)")
    say(confusion_table(confusion_matrix(pred, labels, 10)))
    return 0


def _output_kind(meta: dict) -> str:
    """What a checkpoint's network outputs, as an ensemble averages it: class probabilities
    (softmax of the logits of a log-likelihood network) or sigmoid outputs."""
    return ("softmax probabilities" if meta.get("cost") == "log-likelihood" else
            "sigmoid outputs")


def cmd_graph(args: argparse.Namespace) -> int:
    from .models import DigitNet
    from .models.explain import cost_graph
    from .viz import DRAW_FORMATS, FORMATS, available, render
    sizes = _resolve_sizes(args)
    engine = args.engine
    if args.out:
        if os.path.splitext(args.out)[1].lower() not in FORMATS:
            raise CommandError(f"--out {args.out}: use a {', '.join(FORMATS)} file name")
        _output(args.out, True, "--out")
    picture = bool(args.out) and os.path.splitext(args.out)[1].lower() in DRAW_FORMATS
    if engine != "auto" and not picture:
        raise UsageError(f"--engine {engine} draws a picture: give --out FILE.svg or FILE.png")
    if engine == "graphviz" and shutil.which("dot") is None:
        raise CommandError("--engine graphviz: Graphviz's dot program is not installed "
                           "(Debian: apt-get install graphviz); or use --engine matplotlib")
    if engine == "matplotlib" and not available():
        raise CommandError('--engine matplotlib: matplotlib is not installed (pip install '
                           '"tinygrad_lite[plot]"); or use --engine graphviz')
    if engine == "auto" and picture and shutil.which("dot") is None and available():
        engine = "matplotlib"
    data = _load_data(args, sizes)
    X, Y = _batch(args, data, args.batch_size)
    graph = cost_graph(DigitNet(sizes, seed=args.seed), X, Y)
    if engine == "matplotlib":
        graph.draw(path=args.out)
        say(f"wrote {args.out} (drawn with matplotlib)")
    else:
        dot = graph.to_dot()
        say(render(dot, args.out) if args.out else dot.rstrip("\n"))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .models import DigitNet, NeuralNetwork
    from .models.explain import example, explain_report
    if args.checkpoint:
        model, _ = DigitNet.from_checkpoint(args.checkpoint)
        _digit_net(model.sizes, args.checkpoint)
        net = model.to_network()
        net.weights = [w.astype(np.float64) for w in net.weights]
        net.biases = [b.astype(np.float64) for b in net.biases]
        origin = f"weights from {args.checkpoint}"
    else:
        net = NeuralNetwork(_resolve_sizes(args), seed=args.seed)
        origin = f"random N(0,1) weights, seed {args.seed}"
    data = _load_data(args, list(net.sizes))
    try:
        x, y = example(data.test_images, data.test_labels, args.index)
    except IndexError as e:
        raise CommandError(str(e)) from None
    text, ok = explain_report(net, x, y, f"Test image {args.index}: a "
                              f"{data.test_labels[args.index]}; {origin}")
    if ok:
        say(text)
        return 0
    body, verdict = text.rsplit("\n", 1)
    say(body)
    print(verdict, file=sys.stderr)
    return 1


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from .models import DigitNet
    from .models.explain import check_gradients, gradcheck_report
    sizes = _resolve_sizes(args)
    if args.order == 2 and args.dtype != "float64":
        raise UsageError("--order 2 checks second derivatives in float64; drop --dtype float32")
    model = DigitNet(sizes, dtype=np.dtype(args.dtype), seed=args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    if args.order == 2:
        return _gradcheck_second(args, model, sizes, n_params)
    mode = args.mode if args.mode != "auto" else ("full" if n_params <= 30000 else "projection")
    data = _load_data(args, sizes)
    X, Y = _batch(args, data, args.batch_size)
    say(f"gradcheck: {'-'.join(map(str, sizes))} network, {n_params} parameters, {args.dtype}, "
        f"{args.batch_size} MNIST test images, quadratic cost, mode {mode}")
    results = check_gradients(model, X, Y, mode=mode, directions=args.directions, seed=args.seed)
    say(gradcheck_report(results, args.dtype))
    failed = [r.name for r in results if not r.passed]
    if failed:
        print(f"gradcheck FAILED for {', '.join(failed)}", file=sys.stderr)
        return 1
    say("gradcheck passed")
    return 0


def _gradcheck_second(args: argparse.Namespace, model: Any, sizes: list, n_params: int) -> int:
    from .models.explain import check_second_derivatives, second_derivatives_report
    data = _load_data(args, sizes)
    X, Y = _batch(args, data, args.batch_size)
    say(f"gradcheck --order 2: {'-'.join(map(str, sizes))} network, {n_params} parameters, "
        f"float64, {args.batch_size} MNIST test images, quadratic cost, second derivatives")
    results = check_second_derivatives(model, X, Y, directions=args.directions, seed=args.seed)
    say(second_derivatives_report(results))
    failed = [r.name for r in results if not r.passed]
    if failed:
        print(f"gradcheck --order 2 FAILED for {', '.join(failed)}", file=sys.stderr)
        return 1
    say("gradcheck --order 2 passed")
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "graph": cmd_graph,
            "explain": cmd_explain, "gradcheck": cmd_gradcheck}


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) if str(e) else type(e).__name__
    return "out of memory" + (f": {text}" if str(e) else "") if isinstance(e, MemoryError) \
        else text


def main(argv: list[str] | None = None) -> int:
    from .gradcheck import GradcheckError
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show δ or σ: escape them
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        # numpy's floating-point warnings would precede our own line: the commands report
        # what matters (a cost that became NaN stops training with its own error).
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"tinygrad-lite {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        say()  # sends the rest to devnull
        return 0
    except (CommandError, ValueError, TypeError, RuntimeError, MemoryError, OSError,
            GradcheckError) as e:
        print(f"tinygrad-lite {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2 if isinstance(e, UsageError) else 1


if __name__ == "__main__":
    sys.exit(main())
