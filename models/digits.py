"""The seed's digit network as tinygrad_lite layer modules: Linear + Sigmoid per layer."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygrad_lite import nn

from .network import NeuralNetwork

FORMAT = "tinygrad_lite.DigitNet"  # what a DigitNet checkpoint's metadata says it is


class DigitNet(nn.Sequential):
    """DigitNet((784, 30, 10)) = Sequential(Linear(784, 30), Sigmoid(), Linear(30, 10), Sigmoid()).

    State-dict names are PyTorch Sequential's: "0.weight", "0.bias", "2.weight", "2.bias".
    init: "standard" (the seed's N(0, 1)), "scaled" (N(0, 1/n_in) weights) or "default"
    (PyTorch's); see nn.Linear. `seed` makes the draws reproducible.
    """

    def __init__(self, sizes: Sequence[int] = (784, 30, 10), dtype: Any = np.float32,
                 init: str = "standard", seed: Any = None) -> None:
        if len(sizes) < 2:
            raise ValueError(f"DigitNet needs at least two layer sizes, got {sizes}")
        rng = np.random.default_rng(seed)
        layers: list[nn.Module] = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out, dtype=dtype, init=init, rng=rng), nn.Sigmoid()]
        super().__init__(*layers)
        self.sizes = tuple(int(n) for n in sizes)

    def linears(self) -> list[nn.Linear]:
        return [m for m in self if isinstance(m, nn.Linear)]

    @classmethod
    def from_network(cls, net: NeuralNetwork, dtype: Any = None) -> "DigitNet":
        """A DigitNet carrying the same weights and biases as a NeuralNetwork."""
        model = cls(net.sizes, dtype=dtype or net.weights[0].dtype)
        for layer, w, b in zip(model.linears(), net.weights, net.biases):
            layer.weight.data[...] = w
            layer.bias.data[...] = b.ravel()
        return model

    def to_network(self) -> NeuralNetwork:
        """A NeuralNetwork carrying the same weights and biases (columns for the biases)."""
        net = NeuralNetwork(self.sizes, dtype=self.linears()[0].weight.dtype)
        net.weights = [m.weight.data.copy() for m in self.linears()]
        net.biases = [m.bias.data[:, None].copy() for m in self.linears()]
        return net

    def config(self) -> dict:
        """The constructor's arguments (JSON values): what a checkpoint records."""
        return {"sizes": list(self.sizes)}

    @staticmethod
    def num_parameters(sizes: Sequence[int]) -> int:
        """How many weights and biases DigitNet(sizes) has (ValueError for bad sizes)."""
        if (not isinstance(sizes, (list, tuple)) or len(sizes) < 2 or
                not all(type(n) is int and n > 0 for n in sizes)):
            raise ValueError(f"DigitNet sizes must be two or more positive ints, got {sizes!r}")
        return sum(m * n + n for m, n in zip(sizes, sizes[1:]))
