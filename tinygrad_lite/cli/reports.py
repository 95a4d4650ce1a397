"""The lines the commands print about a run: what is trained, how it ended, how a checkpoint
scores."""
from __future__ import annotations

import argparse

import numpy as np

from .. import __version__
from ..models.zoo import describe


def train_header(args: argparse.Namespace, model: object, n_images: int) -> str:
    """The first line of `train`: the network, the recipe and the data."""
    return (f"tinygrad-lite {__version__}: {describe(model)}, {args.cost} cost, "
            + (f"{args.init} init, " if args.model == "mlp" else "")
            + f"{args.optimizer} lr {args.lr:g}"
            + (f" x{args.lr_decay:g} per epoch" if args.lr_decay != 1 else "")
            + (f" momentum {args.momentum:g}" if args.momentum else "")
            + (f" weight decay {args.weight_decay:g}" if args.weight_decay else "")
            + f", batch {args.batch_size}, {args.epochs} epoch{'s' * (args.epochs != 1)}, {n_images} training images"
            + (" (expanded)" if args.expand_data else "") + f", {args.dtype}, seed {args.seed}")


def train_summary(history: list[dict], elapsed: float) -> str:
    """The last epoch's score, the best one, and the time taken."""
    best = max(history, key=lambda r: r["correct"])
    last = history[-1]
    return (f"final: {last['correct']} / {last['total']} ({100 * last['accuracy']:.2f}%), "
            f"best {best['correct']} at epoch {best['epoch']}, "
            f"{elapsed:.1f}s in all ({sum(r['seconds'] for r in history):.1f}s training)")


def score(pred: np.ndarray, labels: np.ndarray) -> str:
    """'9512 / 10000 (95.12%)'."""
    correct = int((pred == labels).sum())
    return f"{correct} / {len(labels)} ({100 * correct / len(labels):.2f}%)"


def member_lines(path: str, model: object, meta: dict, out: np.ndarray,
                 labels: np.ndarray) -> list[str]:
    """What `evaluate` says about one checkpoint."""
    return [f"{path}: {describe(model)} network, {meta.get('cost', '?')} cost",
            score(out.argmax(axis=1), labels)]


def ensemble_line(n: int, pred: np.ndarray, labels: np.ndarray) -> str:
    return f"ensemble of {n} (averaged outputs): {score(pred, labels)}"
