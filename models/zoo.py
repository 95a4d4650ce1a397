"""The named models of `tinygrad-lite train --model NAME`, each with its default recipe, and
the checkpoints that record a model's architecture so it can be rebuilt from the file alone.

A recipe is how a model is trained by default (every field a `train` flag overrides). `mlp` is
the seed's network and recipe; the chapter-6 rows use the book's architectures, trained with
Adam in a few epochs (the book's SGD for 60 epochs would take hours on two cores); `conv` is
the quickest recipe here that reaches 99% test accuracy.

The zoo also says which settings cannot train a model (`check_recipe`: e.g. Nielsen's
cross-entropy needs sigmoid outputs, which a conv model's logits are not), what a checkpoint
records (`RECORD`, `save_checkpoint`), what kind of output an ensemble averages
(`output_kind`), and how much memory one image's forward pass holds (`activation_bytes`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import numpy as np

from tinygrad_lite import CheckpointError, __version__, load, nn, save

from .chapter6 import ConvNet
from .char_rnn import CharRNN
from .digits import FORMAT as DIGITNET_FORMAT, DigitNet
from .gpt import GPT
from .language import TextRecipe

FORMAT = "tinygrad_lite.model"  # what a checkpoint's metadata says it is


class RecipeError(ValueError):
    """Training settings that cannot work together (e.g. a cost the model's outputs cannot
    feed): named in one line, with the setting that fits."""


@dataclass(frozen=True)
class Recipe:
    """How a model trains by default: `tinygrad-lite train` flags override each field."""
    cost: str = "log-likelihood"
    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 10
    batch_size: int = 64
    weight_decay: float = 0.0
    momentum: float = 0.0
    init: str = "default"
    lr_decay: float = 1.0
    expand_data: bool = False

    def describe(self) -> str:
        return (f"{self.cost} cost, {self.optimizer} lr {self.lr:g}"
                + (f" x{self.lr_decay:g} per epoch" if self.lr_decay != 1 else "")
                + (f" momentum {self.momentum:g}" if self.momentum else "")
                + (f" weight decay {self.weight_decay:g}" if self.weight_decay else "")
                + f", batch {self.batch_size}, {self.epochs} epochs"
                + (", expanded data" if self.expand_data else ""))


@dataclass(frozen=True)
class Entry:
    """A registered model: its class, constructor arguments, default recipe, one-line story."""
    cls: type
    args: dict = field(default_factory=dict)
    recipe: Recipe = Recipe()
    about: str = ""


BOOK = Recipe(epochs=10, lr_decay=0.8)  # the chapter-6 rows without expanded data

CLASSES: dict[str, type] = {"DigitNet": DigitNet, "ConvNet": ConvNet, "GPT": GPT,
                             "CharRNN": CharRNN}

MODELS: dict[str, Entry] = {
    "mlp": Entry(DigitNet, {"sizes": [784, 30, 10]},
                 Recipe("quadratic", "sgd", 3.0, 30, 10, init="standard"),
                 "the seed's 784-30-10 sigmoid network (chapter 1)"),
    "shallow": Entry(ConvNet, {"conv": [], "hidden": [100]},
                     Recipe("log-likelihood", "sgd", 0.1, 60, 10),
                     "784-100-10 sigmoid, softmax output (chapter 6's baseline)"),
    "conv-pool": Entry(ConvNet, {"conv": [20], "hidden": [100]},
                       Recipe(epochs=10, lr_decay=0.8, batch_size=16),
                       "20 5x5 filters, 2x2 max pool, FC 100 sigmoid, softmax"),
    "conv-pool2": Entry(ConvNet, {"conv": [20, 40], "hidden": [100]}, BOOK,
                        "two conv-pool layers (20, 40 filters), FC 100 sigmoid, softmax"),
    "conv-relu": Entry(ConvNet, {"conv": [20, 40], "hidden": [100], "activation": "relu"},
                       BOOK, "the same with ReLU"),
    "conv-fc2": Entry(ConvNet, {"conv": [20, 40], "hidden": [100, 100], "activation": "relu"},
                      Recipe(epochs=6, lr_decay=0.7, expand_data=True),
                      "ReLU, an extra FC layer of 100"),
    "conv-dropout": Entry(ConvNet, {"conv": [20, 40], "hidden": [1000, 1000],
                                    "activation": "relu", "dropout": 0.5},
                          Recipe(epochs=8, lr_decay=0.7, expand_data=True),
                          "ReLU, two FC layers of 1000, dropout 0.5"),
    "conv": Entry(ConvNet, {"conv": [20, 40], "hidden": [100], "activation": "relu"},
                  Recipe(epochs=8, lr_decay=0.7), "conv-relu, trained quickly to 99%"),
}
# the language models, trained on tiny Shakespeare by models/language.py's loop
TEXT_MODELS: dict[str, Entry] = {
    "gpt": Entry(GPT, {"block_size": 64, "vocab_size": 65, "n_layer": 4, "n_head": 4,
                       "n_embd": 128, "dropout": 0.0, "bias": True}, TextRecipe(),
                 "nanoGPT's small GPT on tiny Shakespeare: 4 layers, 4 heads, 128 wide"),
    "char-rnn": Entry(CharRNN, {"vocab_size": 65, "hidden_size": 256},
                      TextRecipe(lr=2e-3, weight_decay=0.0, batch_size=32),
                      "a vanilla tanh RNN of 256 units on tiny Shakespeare, 64-step BPTT"),
}
TEXT_FORMAT = "tinygrad_lite.language_model"  # a language-model checkpoint's "kind"


# what each model class's last layer gives: sigmoid outputs in (0, 1), or logits (any real
# number, made a distribution by softmax)
OUTPUTS: dict[type, str] = {DigitNet: "sigmoid", ConvNet: "logits"}
# the costs that need a kind of output: Nielsen's cross-entropy takes ln a and ln(1 - a)
COST_NEEDS: dict[str, str] = {"cross-entropy": "sigmoid"}
COST_FOR: dict[str, str] = {"sigmoid": "cross-entropy", "logits": "log-likelihood"}

# the checkpoint's record of how a network was trained: the model's name, each recipe field,
# the seed and the number of training images (None: all), then the per-epoch history
RECORD: tuple[str, ...] = ("model", *(f.name for f in fields(Recipe)), "seed", "limit")


def is_text_model(name: str) -> bool:
    """Whether the registered model `name` is a language model (trained on text)."""
    return name in TEXT_MODELS


def check_recipe(name: str, settings: Mapping[str, Any]) -> None:
    """RecipeError if `settings` (a recipe's fields, e.g. cost="cross-entropy") cannot train
    the registered model `name`: a cost its outputs cannot feed, SGD's momentum with Adam, an
    increasing learning rate, dropout for a model without dropout layers."""
    outputs = OUTPUTS[MODELS[name].cls]
    cost = settings.get("cost")
    if COST_NEEDS.get(cost, outputs) != outputs:
        raise RecipeError(
            f"--cost {cost} needs {COST_NEEDS[cost]} outputs in (0, 1) (it takes ln a and "
            f"ln(1 - a)); --model {name} ends in {outputs}: use --cost {COST_FOR[outputs]} "
            "(or quadratic)")
    if settings.get("optimizer") == "adam" and settings.get("momentum"):
        raise RecipeError("--momentum applies to --optimizer sgd; Adam has betas instead")
    if settings.get("lr_decay", 1) > 1:
        raise RecipeError(f"--lr-decay must be at most 1 (a decay), got "
                          f"{settings['lr_decay']:g}")
    if settings.get("dropout") and MODELS[name].cls is DigitNet:
        raise RecipeError(f"--dropout applies to the convolutional models; --model {name} has "
                          "no dropout layers")


def training_record(settings: Mapping[str, Any]) -> dict:
    """The fields of RECORD taken from `settings` (e.g. vars() of train's arguments)."""
    return {name: settings[name] for name in RECORD}


def output_kind(meta: Mapping[str, Any]) -> str:
    """What a checkpoint's network gives, as an ensemble averages it: class probabilities
    (the softmax of a log-likelihood network's logits) or its outputs themselves."""
    return ("softmax probabilities" if meta.get("cost") == "log-likelihood" else
            "sigmoid outputs")


def activation_bytes(model: nn.Module) -> int:
    """About how many bytes one image's forward pass holds at once: the activations of every
    layer, and for each convolution the patches it multiplies (an estimate from the shapes,
    computed without running the model)."""
    itemsize = model.parameters()[0].dtype.itemsize
    if isinstance(model, DigitNet):
        return itemsize * 2 * sum(model.sizes)
    count, channels, side = 784, 1, 28
    for n in model.conv:
        out = side - 4
        count += channels * 25 * out * out + 2 * n * out * out + n * (out // 2) ** 2
        channels, side = n, out // 2
    widths = [channels * side * side, *model.hidden, 10]
    return itemsize * (count + 2 * sum(widths))


def build(name: str, dtype: Any = np.float32, seed: Any = None, **overrides: Any) -> nn.Module:
    """The registered model `name`, its constructor arguments updated by `overrides`."""
    entry = MODELS.get(name) or TEXT_MODELS.get(name)
    if entry is None:
        raise ValueError(f"unknown model {name!r}; the models are "
                         f"{', '.join([*MODELS, *TEXT_MODELS])}")
    return entry.cls(**{**entry.args, **overrides}, dtype=dtype, seed=seed)


def recipe(name: str) -> dict:
    """The default recipe of a registered model, as a dict of train's option names."""
    return asdict(MODELS[name].recipe)


def architecture(model: nn.Module) -> dict:
    """{"class": name, "args": constructor arguments}: enough to rebuild `model`."""
    cls = type(model).__name__
    if CLASSES.get(cls) is not type(model):
        raise TypeError(f"architecture: {cls} is not one of the models {sorted(CLASSES)}")
    return {"class": cls, "args": model.config()}


def save_checkpoint(net: nn.Module, path: str, replace: bool = True, **recipe: Any) -> None:
    """Write the weights, the architecture and the dtype of `net`, with `recipe` (how it was
    trained, e.g. model="conv", lr=1e-3: JSON values; see RECORD) as metadata, so
    `load_checkpoint(path)` needs nothing else. replace=False: a file at `path` when the
    checkpoint is linked in is kept, and CheckpointError raised (see tinygrad_lite.save)."""
    dtype = net.parameters()[0].dtype.name
    meta = {"format": FORMAT, "version": __version__, "architecture": architecture(net),
            "dtype": dtype, **recipe}
    save(net.state_dict(), path, metadata=meta, replace=replace)


def load_checkpoint(path: str, cls: type | None = None) -> tuple[nn.Module, dict]:
    """The model in a checkpoint written by `save_checkpoint` (or an older DigitNet's), and its
    metadata; CheckpointError naming the file if it records no architecture we can rebuild (or,
    given `cls`, not a `cls`)."""
    state, meta = load(path, with_metadata=True)
    model = _rebuild(path, state, meta)
    if cls is not None and not isinstance(model, cls):
        raise CheckpointError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}")
    return model, meta


def _rebuild(path: str, state: dict, meta: dict) -> nn.Module:
    """The model a checkpoint's metadata describes, carrying its weights."""
    arch, dtype = meta.get("architecture"), meta.get("dtype", "float32")
    if meta.get("format") == DIGITNET_FORMAT or (arch is None and "sizes" in meta):
        arch = {"class": "DigitNet", "args": {"sizes": meta.get("sizes")}}
    if (not isinstance(arch, dict) or arch.get("class") not in CLASSES or
            not isinstance(arch.get("args"), dict) or dtype not in ("float32", "float64")):
        raise CheckpointError(f"{path}: no known model architecture recorded ({arch!r}, dtype "
                              f"{dtype!r}); was it written by 'tinygrad-lite train'?")
    cls, args = CLASSES[arch["class"]], arch["args"]
    held = sum(int(np.size(a)) for a in state.values())
    try:
        # checked before building: a corrupt size is cheap (GPT: the tied head counted twice)
        needed = getattr(cls, "state_size", cls.num_parameters)(**args)
        if needed != held:
            raise ValueError(f"its architecture needs {needed:,} parameters, the file holds "
                             f"{held:,}")
        model = cls(**args, dtype=np.dtype(dtype))
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError, KeyError, MemoryError) as e:
        raise CheckpointError(f"{path}: {arch['class']} {args}: {e}") from None
    return model


def describe(model: nn.Module) -> str:
    """A model's layers in a few words: "784-30-10 sigmoid", "conv 20-40 relu, FC 100"."""
    if isinstance(model, DigitNet):
        return f"{'-'.join(map(str, model.sizes))} sigmoid"
    if isinstance(model, GPT):
        c = model.config_
        return (f"GPT {c.n_layer} layers, {c.n_head} heads, {c.n_embd} wide, block "
                f"{c.block_size}, vocabulary {c.vocab_size}" + (f", dropout {c.dropout:g}"
                                                                 if c.dropout else ""))
    if isinstance(model, CharRNN):
        return f"char-RNN {model.hidden_size} tanh units, vocabulary {model.vocab_size}"
    conv = f"conv {'-'.join(map(str, model.conv))} (5x5, pool 2), " if model.conv else "784, "
    return (f"{conv}FC {'-'.join(map(str, model.hidden))} {model.activation}"
            + (f", dropout {model.dropout:g}" if model.dropout else "") + ", softmax")


def probabilities(model: nn.Module, cost: str, images: np.ndarray,
                  threads: int | None = None, batch_size: int = 1000) -> np.ndarray:
    """The model's output for each image as a distribution over the classes to average in an
    ensemble: softmax of the logits for a log-likelihood model, else the outputs themselves;
    `batch_size` images at a time."""
    from tinygrad_lite.train import outputs
    out = outputs(model, images, batch_size, threads=threads).astype(np.float64)
    if cost != "log-likelihood":
        return out
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ensemble(members: list[np.ndarray]) -> np.ndarray:
    """The members' outputs (each (N, classes)) averaged: the ensemble's output."""
    shapes = {np.shape(m) for m in members}
    if len(shapes) != 1:
        raise ValueError(f"ensemble: members' outputs must have one shape, got {sorted(shapes)}")
    return np.mean(members, axis=0)
