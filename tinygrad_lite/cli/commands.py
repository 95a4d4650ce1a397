"""One function per command: each checks its arguments and outputs before any work, asks the
library and the model zoo to do the work, and prints what the reports module words."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from typing import Any

import numpy as np

from .. import functional as F
from ..files import OutputError, write_file
from ..models import DigitNet, NeuralNetwork
from ..models import zoo
from . import reports
from .errors import CommandError, UsageError
from .memory import batch_for
from .outputs import check_outputs, listing
from .parse import DEFAULT_CHECKPOINT as DEFAULT_SAVE
from .progress import Progress, logger, say, warn


# --- shared steps ------------------------------------------------------------------------------

def resolve_sizes(args: argparse.Namespace) -> list[int]:
    """The digit network's layers from --sizes or --hidden (30 if neither)."""
    return args.sizes or [784, args.hidden or 30, 10]


def load_data(args: argparse.Namespace, n_inputs: int) -> Any:
    """MNIST, checked to fit a network whose first layer takes n_inputs."""
    from ..data import load_mnist
    data = load_mnist(args.data_dir, download=args.download)
    if data.test_images.shape[1] != n_inputs:
        raise CommandError(f"the images have {data.test_images.shape[1]} pixels each, but the "
                           f"network's first layer takes {n_inputs}")
    return data


def digit_net(sizes: tuple, path: str) -> None:
    """CommandError unless the network reads 784 pixels and gives 10 outputs."""
    if sizes[0] != 784 or sizes[-1] != 10:
        raise CommandError(f"{path}: network {'-'.join(map(str, sizes))} is not a 784-...-10 "
                           "digit network")


def test_batch(args: argparse.Namespace, data: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random MNIST test images and their one-hot labels."""
    if n > len(data.test_labels):
        raise CommandError(f"--batch-size {n} is more than the {len(data.test_labels)} test "
                           "images")
    idx = np.random.default_rng(args.seed).choice(len(data.test_labels), n, replace=False)
    return data.test_images[idx], F.one_hot(data.test_labels[idx], 10, np.float32)


def scoring_batch(model: Any, args: argparse.Namespace, what: str) -> int:
    """Images per forward pass when scoring `model`, from the memory budget."""
    return batch_for(zoo.activation_bytes(model), args.memory_budget, what)


# --- train -------------------------------------------------------------------------------------

def fill_recipe(args: argparse.Namespace) -> None:
    """Fill each recipe flag left unset with the model's default; UsageError (or the zoo's
    RecipeError, exit status 2 too) for settings that cannot go together."""
    by_default = args.expand_data is None
    for flag, value in zoo.recipe(args.model).items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    if args.model != "mlp":
        for flag, given in (("--sizes", args.sizes), ("--hidden", args.hidden),
                            ("--init", args.init != "default" and args.init)):
            if given:
                raise UsageError(f"{flag} applies to --model mlp; --model {args.model} has its "
                                 "own layers (see --help)")
    zoo.check_recipe(args.model, vars(args))
    if args.expand_data and args.limit:
        raise UsageError("--expand-data and --limit cannot be combined: the expanded set is "
                         "made from all 60,000 images" + (f" (--model {args.model} expands "
                         "by default: pass --no-expand-data)" if by_default else ""))
    if args.limit and args.batch_size > args.limit:
        raise UsageError(f"--batch-size {args.batch_size} is more than the --limit {args.limit} "
                         "training images")
    if args.force and not args.save and not args.plot:
        raise UsageError("--force replaces files at --save or --plot, and there are none "
                         "(--no-save without --plot)")


def make_model(args: argparse.Namespace, seed: Any) -> Any:
    """The network to train: the zoo's model, with --sizes/--init (mlp) or --dropout."""
    extra: dict = {}
    if args.model == "mlp":
        extra = {"sizes": resolve_sizes(args), "init": args.init}
    elif args.dropout is not None:
        extra = {"dropout": args.dropout}
    return zoo.build(args.model, dtype=np.dtype(args.dtype), seed=seed, **extra)


def make_optimizer(args: argparse.Namespace, params: list) -> Any:
    from .. import optim
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay)
    return optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)


def train_outputs(args: argparse.Namespace, model: Any) -> tuple[list[tuple[str, str]], Any]:
    """Every file train writes, checked now, and the plot module (None: no plots)."""
    outputs = [("--save", args.save)] if args.save else []
    plot = None
    if args.plot:
        from .. import plot
        try:
            outputs += [("--plot", p) for p in plot.report_paths(args.plot, model)]
        except OutputError as e:
            raise CommandError(f"--plot: {e}") from None
    check_outputs(outputs, args.force)
    if plot is not None and not plot.available():
        warn("note: --plot needs matplotlib (pip install matplotlib); training "
             "without plots")
        plot, outputs = None, [o for o in outputs if o[0] != "--plot"]
    return outputs, plot


def training_images(args: argparse.Namespace, data: Any) -> tuple[np.ndarray, np.ndarray]:
    images, labels = data.train_images[:args.limit], data.train_labels[:args.limit]
    if args.expand_data:
        from ..data import expand_mnist
        images, labels = expand_mnist(images, labels)
    if args.batch_size > len(images):
        raise CommandError(f"--batch-size {args.batch_size} is more than the {len(images)} "
                           "training images")
    return images, labels


def cmd_train(args: argparse.Namespace) -> int:
    from .. import train
    from . import text
    if zoo.is_text_model(args.model):
        return text.cmd_train_text(args, DEFAULT_SAVE)
    text.check_flags(args)
    fill_recipe(args)
    init_seed, shuffle_seed = np.random.SeedSequence(args.seed).spawn(2)  # independent streams
    model = make_model(args, init_seed)
    outputs, plot = train_outputs(args, model)
    per_batch = scoring_batch(model, args, f"--model {args.model}")
    data = load_data(args, model.parameters()[0].shape[-1] if args.model == "mlp" else 784)
    images, labels = training_images(args, data)
    opt = make_optimizer(args, model.parameters())
    say(reports.train_header(args, model, len(images)))
    if outputs:
        say(listing(outputs))
    progress = Progress(sys.stderr, args.batch_size) if sys.stderr.isatty() else None
    start = time.perf_counter()
    history = train.fit(model, images, labels, opt, epochs=args.epochs,
                        batch_size=args.batch_size, cost=args.cost,
                        test=(data.test_images, data.test_labels), seed=shuffle_seed,
                        use_capture=not args.eager, log=logger(progress), threads=args.threads,
                        lr_decay=args.lr_decay, progress=progress, eval_batch_size=per_batch)
    if history:
        say(reports.train_summary(history, time.perf_counter() - start))
    if args.save:
        zoo.save_checkpoint(model, args.save, replace=args.force, history=history,
                            **zoo.training_record(vars(args)))
        say(f"saved {args.save} (tinygrad-lite evaluate {args.save})")
    if plot is not None:
        written = plot.training_report(args.plot, history, model, data.test_images,
                                       data.test_labels, replace=args.force,
                                       batch_size=per_batch)
        say("plots: " + ", ".join(written))
    return 0


# --- evaluate ----------------------------------------------------------------------------------

def load_members(paths: list[str]) -> list[tuple[str, Any, dict]]:
    """Each checkpoint's (path, model, metadata), checked to be digit networks whose outputs
    can be averaged together."""
    members = [(path, *zoo.load_checkpoint(path)) for path in paths]
    first_path, first, first_meta = members[0]
    for path, model, meta in members:
        if hasattr(model, "sizes"):
            digit_net(model.sizes, path)
        kind, first_kind = zoo.output_kind(meta), zoo.output_kind(first_meta)
        if kind != first_kind:
            raise CommandError(f"{path} ({zoo.describe(model)}, {meta.get('cost')} cost) and "
                               f"{first_path} ({zoo.describe(first)}, {first_meta.get('cost')} "
                               f"cost) differ: the first gives {kind}, the second {first_kind}; "
                               "an ensemble averages outputs of one kind")
    return members


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..train import confusion_matrix, confusion_table
    from . import text
    members = load_members(args.checkpoint)
    texts = [m for m in members if m[2].get("kind") == zoo.TEXT_FORMAT]
    if texts and len(members) > 1:
        raise UsageError(f"{texts[0][0]} is a language model: evaluate it on its own")
    if texts:
        return text.evaluate_text(*texts[0], threads=args.threads)
    batches = [scoring_batch(model, args, path) for path, model, _ in members]
    data = load_data(args, 784)
    labels, outs = data.test_labels, []
    for (path, model, meta), batch in zip(members, batches):
        outs.append(zoo.probabilities(model, meta.get("cost", "quadratic"), data.test_images,
                                      threads=args.threads, batch_size=batch))
        for line in reports.member_lines(path, model, meta, outs[-1], labels):
            say(line)
    pred = zoo.ensemble(outs).argmax(axis=1)
    if len(members) > 1:
        say(reports.ensemble_line(len(members), pred, labels))
    say(confusion_table(confusion_matrix(pred, labels, 10)))
    return 0


# --- graph -------------------------------------------------------------------------------------

def graph_engine(args: argparse.Namespace) -> str:
    """Which engine draws --out: 'graphviz', 'matplotlib', or 'text' (DOT text)."""
    from ..viz import DRAW_FORMATS, FORMATS, available
    ext = os.path.splitext(args.out or "")[1].lower()
    if ext == ".html":
        if args.engine != "auto":
            raise UsageError(f"--engine {args.engine} draws a picture; an .html --out is the "
                             "explorer page, drawn by the browser")
        return "html"
    if args.out and ext not in FORMATS:
        raise UsageError(f"--out {args.out}: use a {', '.join(FORMATS + ('.html',))} file name")
    picture = ext in DRAW_FORMATS
    if args.engine != "auto" and not picture:
        raise UsageError(f"--engine {args.engine} draws a picture: give --out FILE.svg or "
                         "FILE.png")
    has_dot = shutil.which("dot") is not None
    if args.engine == "graphviz" and not has_dot:
        raise CommandError("--engine graphviz: Graphviz's dot program is not installed "
                           "(Debian: apt-get install graphviz); or use --engine matplotlib")
    if args.engine == "matplotlib" and not available():
        raise CommandError('--engine matplotlib: matplotlib is not installed (pip install '
                           'matplotlib); or use --engine graphviz')
    if not picture:
        return "text"
    if args.engine == "matplotlib" or (args.engine == "auto" and not has_dot and available()):
        return "matplotlib"
    return "graphviz"


def graph_outputs(args: argparse.Namespace, engine: str) -> None:
    """Check --out, and the FILE.dot Graphviz writes instead if it is missing or fails."""
    if not args.out:
        if args.force:
            raise UsageError("--force replaces the file at --out, and there is no --out")
        return
    outputs = [("--out", args.out)]
    if engine == "graphviz":
        outputs.append(("--out", os.path.splitext(args.out)[0] + ".dot"))
    check_outputs(outputs, args.force)


def cmd_graph(args: argparse.Namespace) -> int:
    from ..models.explain import cost_graph
    from ..viz import render
    sizes = resolve_sizes(args)
    engine = graph_engine(args)
    graph_outputs(args, engine)
    data = load_data(args, sizes[0])
    X, Y = test_batch(args, data, args.batch_size)
    if engine == "html":
        from ..models.explain import cost_tensors
        from ..viz import write_html
        say(write_html(args.out, *cost_tensors(DigitNet(sizes, seed=args.seed), X, Y),
                       replace=args.force))
        return 0
    graph = cost_graph(DigitNet(sizes, seed=args.seed), X, Y)
    if engine == "matplotlib":
        write_figure(graph.draw(), args.out, args.force)
        say(f"wrote {args.out} (drawn with matplotlib)")
    else:
        dot = graph.to_dot()
        say(render(dot, args.out, replace=args.force) if args.out else dot.rstrip("\n"))
    return 0


def write_figure(fig: Any, path: str, replace: bool) -> None:
    """A matplotlib figure into `path` (.png or .svg), linked in only where no file is unless
    `replace`."""
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format=os.path.splitext(path)[1][1:].lower(), dpi=100)
    write_file(path, lambda f: f.write(buf.getvalue()), replace=replace, error=OutputError)


# --- explain and gradcheck ---------------------------------------------------------------------

def explained_network(args: argparse.Namespace) -> tuple[NeuralNetwork, str]:
    """The network to explain, in float64, and where its weights come from."""
    if not args.checkpoint:
        net = NeuralNetwork(resolve_sizes(args), seed=args.seed)
        return net, f"random N(0,1) weights, seed {args.seed}"
    if args.sizes or args.hidden:
        raise UsageError(f"--checkpoint {args.checkpoint} brings its own layers; drop "
                         f"{'--sizes' if args.sizes else '--hidden'}")
    model, _ = zoo.load_checkpoint(args.checkpoint, DigitNet)
    digit_net(model.sizes, args.checkpoint)
    net = model.to_network()
    net.weights = [w.astype(np.float64) for w in net.weights]
    net.biases = [b.astype(np.float64) for b in net.biases]
    return net, f"weights from {args.checkpoint}"


def cmd_explain(args: argparse.Namespace) -> int:
    from ..models.explain import example, explain_report
    net, origin = explained_network(args)
    data = load_data(args, net.sizes[0])
    if not 0 <= args.index < len(data.test_images):
        raise CommandError(f"--index must be in [0, {len(data.test_images)}), got {args.index}")
    x, y = example(data.test_images, data.test_labels, args.index)
    text, ok = explain_report(net, x, y, f"Test image {args.index}: a "
                              f"{data.test_labels[args.index]}; {origin}")
    if ok:
        say(text)
        return 0
    body, verdict = text.rsplit("\n", 1)
    say(body)
    warn(verdict)
    return 1


def check_gradcheck_args(args: argparse.Namespace) -> None:
    if args.order == 2 and args.dtype != "float64":
        raise UsageError("--order 2 checks second derivatives in float64; drop --dtype float32")
    if args.order == 2 and args.mode != "auto":
        raise UsageError(f"--mode {args.mode} applies to --order 1; --order 2 checks random "
                         "directions (--directions)")


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from ..models.explain import (check_gradients, check_second_derivatives, gradcheck_report,
                                  second_derivatives_report)
    check_gradcheck_args(args)
    sizes = resolve_sizes(args)
    model = DigitNet(sizes, dtype=np.dtype(args.dtype), seed=args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    mode = args.mode if args.mode != "auto" else ("full" if n_params <= 30000 else "projection")
    data = load_data(args, sizes[0])
    X, Y = test_batch(args, data, args.batch_size)
    name = "gradcheck" if args.order == 1 else "gradcheck --order 2"
    say(f"{name}: {'-'.join(map(str, sizes))} network, {n_params} parameters, "
        + (f"{args.dtype}, " if args.order == 1 else "float64, ")
        + f"{args.batch_size} MNIST test images, quadratic cost, "
        + (f"mode {mode}" if args.order == 1 else "second derivatives"))
    if args.order == 1:
        results = check_gradients(model, X, Y, mode=mode, directions=args.directions,
                                  seed=args.seed)
        say(gradcheck_report(results, args.dtype))
    else:
        results = check_second_derivatives(model, X, Y, directions=args.directions,
                                           seed=args.seed)
        say(second_derivatives_report(results))
    failed = [r.name for r in results if not r.passed]
    if failed:
        warn(f"{name} FAILED for {', '.join(failed)}")
        return 1
    say(f"{name} passed")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from . import text
    return text.cmd_sample(args)


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "sample": cmd_sample,
            "graph": cmd_graph, "explain": cmd_explain, "gradcheck": cmd_gradcheck}
