"""The command line's grammar: argument types, and each command's options as a table that
`build_parser` turns into argparse parsers. The models' recipes and their descriptions come from
the model zoo (models/zoo.py); nothing here restates them."""
from __future__ import annotations

import argparse
import math
from typing import Any, Callable

from .. import __version__
from ..models.zoo import MODELS, TEXT_MODELS
from ..nn import INITS
from ..train import COSTS
from .memory import ENV as MEMORY_ENV, parse_size

DEFAULT_CHECKPOINT = "digitnet.npz"
PROG = "tinygrad-lite"
ABOUT = "tinygrad-lite: train the seed's digit network on MNIST, evaluate it, and look inside."


# --- argument types: each rejects a bad value with a one-line message ------------------------

def number(kind: Callable, low: float, strict: bool = False) -> Callable[[str], Any]:
    """A parser of `kind` (int or float) values >= low (> low if strict), finite."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}, got {text}")
        return value
    return parse


def sizes(text: str) -> list[int]:
    """'784,30,10' -> [784, 30, 10]: a digit network's layers."""
    try:
        values = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes are comma-separated integers, got {text!r}") from None
    if len(values) < 2 or values[0] != 784 or values[-1] != 10 or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"sizes must start at 784 (28x28 pixels) and end at 10 (digits), with positive "
            f"hidden layers, e.g. 784,30,10; got {text}")
    return values


def dropout(text: str) -> float:
    """A probability in [0, 1)."""
    p = number(float, 0)(text)
    if p >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return p


def model_name(text: str) -> str:
    """A name registered in the model zoo."""
    if text not in MODELS and text not in TEXT_MODELS:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; choose from "
                                         f"{', '.join([*MODELS, *TEXT_MODELS])}")
    return text


SEED = number(int, 0)


# --- help and errors ---------------------------------------------------------------------------

class Help(argparse.HelpFormatter):
    """Help that ends each option with its default; an option whose default is None says in
    its own words what happens when it is unset, and a flag is off unless given."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if default is not None and default is not False and default is not argparse.SUPPRESS \
                and action.option_strings:
            text += " (default: %(default)s)"
        return text


class HelpWithEpilog(Help):
    """Keeps the epilog's own line breaks (the table of models)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in text.splitlines())


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem (and where help is), exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def models_help() -> str:
    """The zoo's models and their recipes, for train's --help."""
    lines = ["models (--model NAME) and their default recipes, which the flags override:"]
    for name, entry in [*MODELS.items(), *TEXT_MODELS.items()]:
        lines.append(f"  {name:<13}{entry.about}")
        lines.append(f"  {'':<13}{entry.recipe.describe()}")
    return "\n".join(lines)


def train_description() -> str:
    return (f"Train on MNIST. Defaults: the seed's recipe, {MODELS['mlp'].about}: "
            f"{MODELS['mlp'].recipe.describe()}; each --model has its own recipe (below), which "
            "the flags override. --model gpt and char-rnn are language models trained on the "
            "bundled tiny Shakespeare (then sample from them with 'tinygrad-lite sample').")


# --- the options, as tables: (flags, argparse keywords) ----------------------------------------

Option = tuple[tuple[str, ...], dict]


def unset(field: str) -> str:
    """'(unset: the model's; mlp: 3.0)' for a recipe field."""
    value = getattr(MODELS["mlp"].recipe, field)
    shown = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
    return f"(unset: the model's; mlp: {shown})"


def network(hidden: int | None) -> list[Option]:
    """--sizes or --hidden: one mutually exclusive pair (marked by 'exclusive')."""
    return [(("--sizes",), dict(type=sizes, exclusive=True, help="layer sizes, e.g. 784,30,10 "
                                "(unset: 784,N,10 with N from --hidden)")),
            (("--hidden",), dict(type=number(int, 1), default=hidden, exclusive=True,
                                 help="one hidden layer of N neurons"
                                 + ("" if hidden else " (unset: 30)")))]


DATA: list[Option] = [
    (("--data-dir",), dict(help="folder with the four MNIST IDX files (.gz or raw); unset: "
                                "$TINYGRAD_LITE_DATA, else the copy bundled with the package")),
    (("--download",), dict(action="store_true", help="fetch MNIST into the cache folder (or "
                                                     "--data-dir) if missing")),
]
THREADS: list[Option] = [
    (("--threads",), dict(type=number(int, 1), help="BLAS threads for numpy's matrix products "
                                                    "(unset: chosen from the matrix sizes, and "
                                                    "said once)")),
]
MEMORY: list[Option] = [
    (("--memory-budget",), dict(type=parse_size, metavar="SIZE", help="memory for the images "
                                "scored at once (e.g. 512MiB, 4GiB): the batch is chosen to fit, "
                                "and a network one image of which needs more is refused (unset: "
                                f"${MEMORY_ENV}, else 2 GiB or half the available memory, "
                                "whichever is less)")),
]


def force(what: str) -> list[Option]:
    return [(("--force",), dict(action="store_true", help=f"replace existing {what} (else the "
                                "command refuses to start; a file that appears while it runs "
                                "is never replaced)"))]


POSITIVE = number(int, 1)
TEXT_TRAIN: list[Option] = [
    (("--max-iters",), dict(type=number(int, 0), help="language models: training iterations "
                            "(unset: the model's; gpt: 2000); the cosine decay ends there")),
    (("--block-size",), dict(type=POSITIVE, help="language models: characters of context per "
                             "example (unset: 64)")),
    (("--n-layer",), dict(type=POSITIVE, help="gpt: transformer blocks (unset: 4)")),
    (("--n-head",), dict(type=POSITIVE, help="gpt: attention heads per block (unset: 4)")),
    (("--n-embd",), dict(type=POSITIVE, help="gpt: numbers per position, a multiple of "
                         "--n-head (unset: 128)")),
    (("--eval-interval",), dict(type=POSITIVE, help="language models: estimate the train and "
                                "validation loss every N iterations (unset: 250)")),
    (("--eval-iters",), dict(type=POSITIVE, help="language models: random batches per "
                             "estimate (unset: 20)")),
    (("--grad-clip",), dict(type=number(float, 0), help="language models: clip the gradient "
                            "norm to this, 0 for none (unset: 1.0)")),
]
TRAIN: list[Option] = [
    (("--model",), dict(type=model_name, default="mlp", help="which network (listed below)")),
    *network(None),
    (("--epochs",), dict(type=number(int, 0), help="passes over the training images "
                                                   + unset("epochs"))),
    (("--batch-size",), dict(type=number(int, 1), help="images per step " + unset("batch_size"))),
    (("--lr",), dict(type=number(float, 0, strict=True), help="learning rate η " + unset("lr"))),
    (("--lr-decay",), dict(type=number(float, 0, strict=True), help="multiply the learning "
                           "rate by this after each epoch " + unset("lr_decay"))),
    (("--cost",), dict(choices=list(COSTS), help="the cost C; cross-entropy (Nielsen's) needs "
                       "sigmoid outputs, so only mlp takes it " + unset("cost"))),
    (("--init",), dict(choices=list(INITS), help="standard: N(0,1) (the seed); scaled: "
                       "N(0,1/n_in) weights; default: PyTorch's uniform; only mlp can change "
                       "it " + unset("init"))),
    (("--optimizer",), dict(choices=["sgd", "adam"], help="the update rule "
                            + unset("optimizer"))),
    (("--momentum",), dict(type=number(float, 0), help="SGD's momentum (not with adam) "
                           + unset("momentum"))),
    (("--weight-decay",), dict(type=number(float, 0), help="L2 penalty λ: each step adds λ·p "
                               "to every parameter p's gradient " + unset("weight_decay"))),
    (("--dropout",), dict(type=dropout, help="dropout probability P in [0, 1) before each "
                          "fully connected layer (unset: the model's; not for mlp)")),
    (("--expand-data",), dict(action=argparse.BooleanOptionalAction, help="train on the "
                              "expanded set: each image also shifted one pixel up, down, left "
                              "and right (5x the images) " + unset("expand_data"))),
    (("--dtype",), dict(choices=["float32", "float64"], default="float32",
                        help="the parameters' precision")),
    (("--seed",), dict(type=SEED, default=0, help="for the initial weights and shuffling")),
    (("--limit",), dict(type=number(int, 1), help="train on the first N images only (unset: "
                                                  "all 60,000)")),
    (("--eager",), dict(action="store_true", help="run every step eagerly instead of "
                                                  "capturing and replaying it")),
    (("--save",), dict(metavar="PATH", default=DEFAULT_CHECKPOINT,
                       help="write the checkpoint (.npz) here when done")),
    (("--no-save",), dict(dest="save", action="store_const", const=None,
                          help="do not write a checkpoint")),
    *force("files at --save and --plot"),
    (("--plot",), dict(metavar="PATH", help="write learning curves to PATH (.png, .svg or "
                       ".pdf) and beside it PATH-misclassified (misclassified digits) and, for "
                       "a model with a layer reading the pixels, PATH-weights (its weights), "
                       "e.g. p.png, p-misclassified.png, p-weights.png (needs matplotlib; "
                       "unset: no plots)")),
    *MEMORY, *THREADS, *DATA,
    *TEXT_TRAIN,
]
EVALUATE: list[Option] = [
    (("checkpoint",), dict(nargs="*", default=[DEFAULT_CHECKPOINT],
                           help=f"from train (default: {DEFAULT_CHECKPOINT}); several: each is "
                           "scored, then their ensemble (the average of their output "
                           "probabilities)")),
    *MEMORY, *THREADS, *DATA,
]
SAMPLE: list[Option] = [
    (("checkpoint",), dict(nargs="?", default="gpt.npz", help="a language model from "
                           "'train --model gpt' or char-rnn (default: gpt.npz)")),
    (("--start",), dict(help="the prompt the text continues (unset: a newline)")),
    (("--tokens",), dict(type=number(int, 0), default=500, help="characters to generate")),
    (("--temperature",), dict(type=number(float, 0, strict=True), default=0.8,
                              help="divide the logits by this: < 1 surer, > 1 wilder")),
    (("--top-k",), dict(type=POSITIVE, default=200, help="draw from the K likeliest "
                        "characters only")),
    (("--seed",), dict(type=SEED, default=0, help="for the draws")),
    (("--threads",), dict(type=number(int, 1), help="BLAS threads (unset: 1)")),
]
GRAPH: list[Option] = [
    *network(30),
    (("--batch-size",), dict(type=number(int, 1), default=10, help="images in the batch")),
    (("--seed",), dict(type=SEED, default=0, help="for the weights and the images")),
    (("--out",), dict(metavar="FILE", help="FILE.dot (DOT text), a FILE.svg / FILE.png "
                      "picture drawn by --engine (Graphviz writes FILE.dot instead if it is "
                      "missing or fails), or FILE.html: the explorer page, whose nodes show "
                      "values and gradients and which steps through backward (unset: DOT "
                      "text to standard output)")),
    (("--engine",), dict(choices=["auto", "graphviz", "matplotlib"], default="auto",
                         help="what draws --out FILE.svg / FILE.png: Graphviz's dot program, "
                         "matplotlib, or auto: Graphviz if installed, else matplotlib")),
    *force("files at --out (and its FILE.dot)"), *DATA,
]
EXPLAIN: list[Option] = [
    *network(None),
    (("--index",), dict(type=number(int, 0), default=0, help="which test image")),
    (("--checkpoint",), dict(help="explain a trained network (from train; unset: random "
                                  "weights from --seed; its layers replace --sizes/--hidden)")),
    (("--seed",), dict(type=SEED, default=0, help="for random weights, without --checkpoint")),
    *DATA,
]
GRADCHECK: list[Option] = [
    *network(30),
    (("--dtype",), dict(choices=["float64", "float32"], default="float64",
                        help="the parameters' precision")),
    (("--mode",), dict(choices=["auto", "full", "projection"], default="auto",
                       help="full: every element; projection: random directions vᵀ∇C; "
                            "auto: full up to 30,000 parameters (--order 1 only)")),
    (("--directions",), dict(type=number(int, 1), default=10,
                             help="random directions in projection mode (and for --order 2)")),
    (("--order",), dict(type=int, choices=[1, 2], default=1, help="1: gradients; 2: second "
                        "derivatives (Hessian-vector products, float64)")),
    (("--batch-size",), dict(type=number(int, 1), default=10, help="images in the cost")),
    (("--seed",), dict(type=SEED, default=0, help="for the weights, images, directions")),
    *DATA,
]

# name: (help in the list of commands, options, extra parser keywords)
COMMANDS: dict[str, tuple[str, list[Option], Callable[[], dict]]] = {
    "train": ("train a digit network on MNIST", TRAIN,
              lambda: dict(description=train_description(), epilog=models_help(),
                           formatter_class=HelpWithEpilog)),
    "evaluate": ("test accuracy and confusion matrix of a checkpoint, or of an ensemble of "
                 "checkpoints", EVALUATE, dict),
    "sample": ("generate text from a language model's checkpoint", SAMPLE, dict),
    "graph": ("the digit network's cost graph for one mini-batch (DOT text or a picture)",
              GRAPH, dict),
    "explain": ("BP1-BP4 on one test image, checked against autodiff", EXPLAIN, dict),
    "gradcheck": ("autodiff vs finite differences vs BP1-BP4, per parameter tensor; exits 1 if "
                  "a check fails", GRADCHECK, dict),
}


def add_options(p: argparse.ArgumentParser, options: list[Option]) -> None:
    """Add each (flags, keywords) option; those marked exclusive share one group."""
    group = None
    for flags, keywords in options:
        keywords = dict(keywords)
        if keywords.pop("exclusive", False):
            group = group or p.add_mutually_exclusive_group()
            group.add_argument(*flags, **keywords)
        else:
            p.add_argument(*flags, **keywords)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `tinygrad-lite`, one subparser per entry of COMMANDS."""
    parser = Parser(prog=PROG, description=ABOUT)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (summary, options, extra) in COMMANDS.items():
        add_options(sub.add_parser(name, help=summary, **extra()), options)
    return parser


