"""The language-model commands: `train --model gpt|char-rnn` on the bundled tiny Shakespeare,
`sample` from a checkpoint, and `evaluate` of a language-model checkpoint (the loss and bits
per character over the whole validation split)."""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from ..models import zoo
from ..models.language import TextRecipe, fit_text, split_loss
from ..threads import blas_threads
from .errors import CommandError, UsageError
from .memory import available
from .outputs import check_outputs, listing
from .progress import Progress, logger, say

# train's flags that only the MNIST models take, and those only the language models take
MNIST_ONLY = ("epochs", "cost", "optimizer", "momentum", "lr_decay", "expand_data", "limit",
              "sizes", "plot", "init")
TEXT_ONLY = ("max_iters", "block_size", "n_layer", "n_head", "n_embd", "eval_interval",
             "eval_iters", "grad_clip")
GPT_ONLY = ("n_layer", "n_head", "n_embd", "dropout")
DEFAULT_THREADS = 1  # measured fastest for these sizes on two cores (docs/sequence_models.md)


class IterationProgress(Progress):
    """The progress line of a language model's training: iterations, their rate, time left."""

    def __call__(self, done: int, total: int, seconds: float) -> None:
        if seconds - self.last < 0.2 and done < total:
            return
        self.last = seconds if done < total else 0.0
        left = seconds / done * (total - done)
        self.write(f"\r  iteration {done}/{total}  {done / max(seconds, 1e-9):.1f} it/s  "
                   f"{left:.0f}s left ")
        self.shown = True


def check_flags(args: argparse.Namespace) -> None:
    """UsageError for a flag the model does not take."""
    text = zoo.is_text_model(args.model)
    for name in (MNIST_ONLY if text else TEXT_ONLY):
        if getattr(args, name, None) not in (None, False):
            kind = "the MNIST models" if text else "the language models (gpt, char-rnn)"
            raise UsageError(f"--{name.replace('_', '-')} applies to {kind}, not --model "
                             f"{args.model}")
    if args.model == "gpt" and args.hidden is not None:
        raise UsageError("--hidden applies to mlp and char-rnn; the gpt's width is --n-embd")
    if args.model == "char-rnn":
        for name in GPT_ONLY:
            if getattr(args, name, None) is not None:
                raise UsageError(f"--{name.replace('_', '-')} applies to --model gpt; the "
                                 "char-rnn's size is --hidden")


def text_recipe(args: argparse.Namespace) -> TextRecipe:
    """The model's recipe with the flags given."""
    r = zoo.TEXT_MODELS[args.model].recipe
    given = {f: getattr(args, f) for f in ("lr", "batch_size", "weight_decay", "max_iters",
                                           "block_size", "eval_interval", "eval_iters",
                                           "grad_clip") if getattr(args, f, None) is not None}
    if "max_iters" in given:  # a shorter run decays over its own length, as nanoGPT's configs
        given.setdefault("lr_decay_iters", min(r.lr_decay_iters, given["max_iters"]))
        given["warmup_iters"] = min(r.warmup_iters, given["lr_decay_iters"] // 20)
    r = replace(r, **given)
    if r.eval_iters < 1 or r.eval_interval < 1:
        raise UsageError("--eval-interval and --eval-iters must be at least 1")
    return r


def text_model(args: argparse.Namespace, vocab_size: int, block_size: int) -> Any:
    """The zoo's gpt or char-rnn, sized by the flags."""
    extra: dict = {"vocab_size": vocab_size}
    if args.model == "gpt":
        extra["block_size"] = block_size
        for name in GPT_ONLY:
            if getattr(args, name, None) is not None:
                extra[name] = getattr(args, name)
    elif args.hidden is not None:
        extra["hidden_size"] = args.hidden
    try:
        return zoo.build(args.model, dtype=np.dtype(args.dtype), seed=args.seed, **extra)
    except ValueError as e:
        raise UsageError(str(e)) from None


def checkpoint_path(args: argparse.Namespace, default: str) -> str | None:
    """--save, whose default for a language model is MODEL.npz rather than the digits'."""
    return f"{args.model}.npz" if args.save == default else args.save


def cmd_train_text(args: argparse.Namespace, default_save: str) -> int:
    from ..data import load_shakespeare
    check_flags(args)
    r = text_recipe(args)
    args.save = checkpoint_path(args, default_save)
    if args.force and not args.save:
        raise UsageError("--force replaces the file at --save, and there is none (--no-save)")
    outputs = [("--save", args.save)] if args.save else []
    check_outputs(outputs, args.force)
    data = load_shakespeare()
    if r.block_size >= len(data.val):
        raise UsageError(f"--block-size {r.block_size} is longer than the validation split "
                         f"({len(data.val):,} characters)")
    model = text_model(args, data.vocab_size, r.block_size)
    threads = args.threads or DEFAULT_THREADS
    count = sum(p.numel() for p in model.parameters())
    say(f"tinygrad-lite: {zoo.describe(model)}, {count:,} parameters; "
        f"{r.describe()}; {args.dtype}, seed {args.seed}, {threads} BLAS thread"
        + ("s" if threads > 1 else ""))
    if outputs:
        say(listing(outputs))
    progress = IterationProgress(sys.stderr, r.batch_size) if sys.stderr.isatty() else None
    start = time.perf_counter()
    with blas_threads(threads):
        try:
            history = fit_text(model, data, r.block_size, r, seed=args.seed,
                               use_capture=not args.eager, log=logger(progress),
                               progress=progress)
        except FloatingPointError as e:
            raise CommandError(f"training diverged: {e}; try a smaller --lr") from None
    if progress is not None:
        progress.clear()
    say(f"done: {r.max_iters} iterations in {time.perf_counter() - start:.1f}s")
    if args.save:
        zoo.save_checkpoint(model, args.save, replace=args.force, kind=zoo.TEXT_FORMAT,
                            model=args.model, vocab="".join(data.chars), seed=args.seed,
                            recipe=asdict(r), history=history)
        say(f"saved {args.save} (tinygrad-lite evaluate {args.save}; tinygrad-lite sample "
            f"{args.save})")
    return 0


def load_text_model(path: str, command: str) -> tuple[Any, dict]:
    """A language model's checkpoint; CommandError if it holds another kind of model."""
    model, meta = zoo.load_checkpoint(path)
    if meta.get("kind") != zoo.TEXT_FORMAT or not isinstance(meta.get("vocab"), str):
        raise CommandError(f"{path} holds a {type(model).__name__} ({zoo.describe(model)}), "
                           f"not a language model; {command} takes a checkpoint from "
                           "'tinygrad-lite train --model gpt' (or char-rnn)")
    if len(meta["vocab"]) != model.vocab_size:
        raise CommandError(f"{path}: its vocabulary of {len(meta['vocab'])} characters does "
                           f"not fit the model's {model.vocab_size}")
    return model, meta


def encode(prompt: str, vocab: str) -> np.ndarray:
    """The ids of prompt's characters; CommandError naming one outside the vocabulary."""
    stoi = {c: i for i, c in enumerate(vocab)}
    for i, c in enumerate(prompt):
        if c not in stoi:
            raise CommandError(f"--start: character {c!r} at position {i} is not in the "
                               f"model's vocabulary of {len(vocab)} characters")
    return np.array([stoi[c] for c in prompt], dtype=np.int64)


def check_tokens(tokens: int) -> None:
    """CommandError if the text asked for would not fit in memory (ids and characters, about
    16 bytes each while generating)."""
    free = available()
    if free is not None and tokens * 16 > free:
        raise CommandError(f"--tokens {tokens:,} would need about {tokens * 16 / 2**30:,.1f} GiB "
                           f"for the ids and text, more than the {free / 2**30:,.1f} GiB of "
                           "memory available")


def cmd_sample(args: argparse.Namespace) -> int:
    args.start = "\n" if args.start is None else args.start
    if args.start == "":
        raise UsageError("--start must hold at least one character (e.g. a newline)")
    check_tokens(args.tokens)
    model, meta = load_text_model(args.checkpoint, "sample")
    vocab = meta["vocab"]
    idx = encode(args.start, vocab)
    with blas_threads(args.threads or DEFAULT_THREADS):
        out = model.generate(idx[None], args.tokens, temperature=args.temperature,
                             top_k=args.top_k, rng=args.seed)
    say("".join(vocab[i] for i in out[0].tolist()))
    return 0


def evaluate_text(path: str, model: Any, meta: dict, threads: int | None) -> int:
    """The loss and bits per character of a language model over the whole validation split."""
    from ..data import load_shakespeare
    data = load_shakespeare()
    if meta["vocab"] != "".join(data.chars):
        raise CommandError(f"{path}: its vocabulary is not tiny Shakespeare's")
    block = int(meta.get("recipe", {}).get("block_size", getattr(model, "block_size", 64)))
    start = time.perf_counter()
    with blas_threads(threads or DEFAULT_THREADS):
        loss = split_loss(model, data.val, block)
    windows = (len(data.val) - 1) // block
    say(f"{path}: {zoo.describe(model)}")
    say(f"validation loss {loss:.4f} ({loss / math.log(2):.4f} bits per character) over the "
        f"whole validation split: {windows:,} windows of {block} characters "
        f"({time.perf_counter() - start:.1f}s)")
    return 0
