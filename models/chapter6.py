"""The networks of chapter 6 of Nielsen's book ("Deep learning"), as tinygrad_lite modules.

Every one reads a batch of flat 784-pixel images, sees it as (N, 1, 28, 28), passes it through
conv-pool layers (5x5 filters, no padding, 2x2 max pooling), then fully connected layers, and
ends in 10 logits: a softmax output layer trained with the log-likelihood cost
(cross-entropy), as in the book's network3.py. The only architecture knobs are in the
constructor, so a checkpoint rebuilds a network from its arguments alone.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygrad_lite import Tensor, nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


class ConvNet(nn.Module):
    """ConvNet(conv=(20, 40), hidden=(100,)) =
    [Conv2d(c, 20, 5), act, MaxPool2d(2)], [Conv2d(20, 40, 5), act, MaxPool2d(2)], Flatten,
    [Dropout(p), Linear(640, 100), act], Dropout(p), Linear(100, 10).

    conv: filters per conv-pool layer (none: a fully connected net); hidden: widths of the fully
    connected layers; activation: "sigmoid", "relu" or "tanh"; dropout: p before each fully
    connected layer (0: no Dropout modules). Weights: PyTorch's default init from `seed`.
    State-dict names: "features.0.weight" (conv layers), "classifier.1.weight" (linear layers).
    """

    def __init__(self, conv: Sequence[int] = (20,), hidden: Sequence[int] = (100,),
                 activation: str = "sigmoid", dropout: float = 0.0, dtype: Any = np.float32,
                 seed: Any = None) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"ConvNet: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"ConvNet: dropout must be in [0, 1), got {dropout}")
        if not all(isinstance(n, (int, np.integer)) and n > 0 for n in (*conv, *hidden)):
            raise ValueError(f"ConvNet: conv and hidden must be positive ints, got {conv}, "
                             f"{hidden}")
        rng, act = np.random.default_rng(seed), ACTIVATIONS[activation]
        self.conv, self.hidden = tuple(int(n) for n in conv), tuple(int(n) for n in hidden)
        self.activation, self.dropout = activation, float(dropout)
        features: list[nn.Module] = []
        channels, side = 1, 28
        for n in self.conv:
            features += [nn.Conv2d(channels, n, 5, dtype=dtype, rng=rng), act(), nn.MaxPool2d(2)]
            channels, side = n, (side - 4) // 2
        if side < 1:
            raise ValueError(f"ConvNet: {len(self.conv)} conv-pool layers leave no pixels")
        classifier: list[nn.Module] = []
        widths = [channels * side * side, *self.hidden, 10]
        for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
            classifier += [nn.Dropout(dropout)] if dropout else []
            classifier += [nn.Linear(n_in, n_out, dtype=dtype, rng=rng)]
            classifier += [act()] if i < len(widths) - 2 else []  # the output: logits
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(*classifier)

    def config(self) -> dict:
        """The constructor's arguments (JSON values): what a checkpoint records to rebuild it."""
        return {"conv": list(self.conv), "hidden": list(self.hidden),
                "activation": self.activation, "dropout": self.dropout}

    @staticmethod
    def num_parameters(conv: Sequence[int] = (20,), hidden: Sequence[int] = (100,),
                       activation: str = "sigmoid", dropout: float = 0.0) -> int:
        """How many weights and biases ConvNet(conv, hidden) has (ValueError for bad sizes)."""
        sizes = (*conv, *hidden)
        if not all(type(n) is int and n > 0 for n in sizes):
            raise ValueError(f"ConvNet: conv and hidden must be positive ints, got {conv}, "
                             f"{hidden}")
        count, channels, side = 0, 1, 28
        for n in conv:
            count, channels, side = count + n * (channels * 25 + 1), n, (side - 4) // 2
        widths = [channels * max(side, 0) ** 2, *hidden, 10]
        return count + sum(m * n + n for m, n in zip(widths, widths[1:]))

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x.reshape(-1, 1, 28, 28)) if self.conv else x
        return self.classifier(x.flatten(1))
