"""The seed's NeuralNetwork: a sigmoid network trained by mini-batch SGD on the quadratic cost,
with backprop written out by hand, the four equations labelled (δ is dC/dz, ⊙ elementwise):

    BP1  δᴸ = ∇ₐC ⊙ σ'(zᴸ)                 error at the output layer
    BP2  δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)       error moved back one layer
    BP3  ∂C/∂bˡ = δˡ
    BP4  ∂C/∂wˡ = δˡ (aˡ⁻¹)ᵀ

Vectors are columns, as in the seed: x is (784, 1), weights[l] is (out, in), biases[l] is (out, 1).
`backprop_batch` is the same four equations in matrix form over a mini-batch of rows (N, 784):
the exact reference the autodiff network is checked against, and the speed limit benchmarks use.

Bugs of the seed's notebook fixed here:
1. `_backpropagation` printed debug output (z, the cost derivative, shapes) for every example.
2. It returned (nabla_w, nabla_b) while its caller unpacked (nabla_b, nabla_w), so biases were
   updated with weight gradients and vice versa (a shape error, or silent nonsense for square
   layers). `backprop` returns (nabla_b, nabla_w), as its caller expects.
3. `evaluate` called `self.feedforward`, which did not exist (only `_feedforward` did).
4. `if test_data:` is ambiguous for a numpy array of test data; `is not None` is meant.
5. `random.shuffle(training_data)` reordered the caller's list in place, unseeded; here a seeded
   permutation is used and the caller's data is left alone.
6. σ(z) = 1/(1 + e⁻ᶻ) warned of overflow for z below about -709; the limit 0 is exact, so the
   warning is silenced.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


@np.errstate(over="ignore")  # e⁻ᶻ overflows to inf below z ≈ -709, and 1/(1 + inf) = 0 exactly
def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e⁻ᶻ), exactly 0 or 1 in the limits, with no overflow warning."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """σ'(z) = σ(z)(1 - σ(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def _column(v: Any) -> np.ndarray:
    v = np.asarray(v)
    return v.reshape(-1, 1) if v.ndim == 1 else v


def _label(y: Any) -> int:
    """A test label given as an int or as a one-hot vector."""
    y = np.asarray(y)
    return int(y) if y.size == 1 else int(np.argmax(y))


class NeuralNetwork:
    """A fully connected sigmoid network, e.g. NeuralNetwork([784, 30, 10]).

    Weights and biases start as standard normal draws, as in the seed; `seed` makes them (and the
    shuffling in `learn`) reproducible.
    """

    def __init__(self, sizes: Sequence[int], seed: int | None = None,
                 dtype: Any = np.float64) -> None:
        if len(sizes) < 2 or any(int(n) < 1 for n in sizes):
            raise ValueError(f"sizes must be at least two positive layer sizes, got {sizes}")
        self.sizes = [int(n) for n in sizes]
        self.number_of_layers = len(sizes)
        self._rng = np.random.default_rng(seed)
        self.weights = [self._rng.standard_normal((y, x)).astype(dtype)
                        for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [self._rng.standard_normal((y, 1)).astype(dtype) for y in self.sizes[1:]]

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """The output for input a: a column (784, 1), or columns (784, N) side by side.
        A flat vector (784,) is taken as a column."""
        a = _column(a)
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        """(nabla_b, nabla_w): the gradient of C_x = ½||y - a(x)||² for one example (columns;
        flat vectors are taken as columns)."""
        x, y = _column(x), _column(y)
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for w, b in zip(self.weights, self.biases):  # feedforward, keeping every z and a
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])  # BP1
        nabla_b[-1] = delta                                                      # BP3
        nabla_w[-1] = delta @ activations[-2].T                                  # BP4
        for l in range(2, self.number_of_layers):
            delta = (self.weights[-l + 1].T @ delta) * sigmoid_prime(zs[-l])      # BP2
            nabla_b[-l] = delta                                                  # BP3
            nabla_w[-l] = delta @ activations[-l - 1].T                          # BP4
        return nabla_b, nabla_w

    def backprop_batch(self, X: np.ndarray, Y: np.ndarray) -> tuple[list, list]:
        """BP1-BP4 in matrix form for a mini-batch of rows X (N, in), Y (N, out): the sums over
        the batch of the per-example (nabla_b, nabla_w) from `backprop`."""
        activations = [X]
        for w, b in zip(self.weights, self.biases):  # row form: z = a wᵀ + bᵀ
            activations.append(sigmoid(activations[-1] @ w.T + b.T))
        a = activations[-1]
        delta = (a - Y) * (a * (1 - a))                       # BP1, σ'(z) = a(1 - a)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        for l in range(1, self.number_of_layers):
            if l > 1:
                a = activations[-l]
                delta = (delta @ self.weights[-l + 1]) * (a * (1 - a))  # BP2
            nabla_b[-l] = delta.sum(axis=0)[:, None]          # BP3, summed over the batch
            nabla_w[-l] = delta.T @ activations[-l - 1]       # BP4, summed over the batch
        return nabla_b, nabla_w

    def batch_gradients(self, batch: Sequence[tuple]) -> tuple[list, list]:
        """(nabla_b, nabla_w) summed over the (x, y) examples of a batch, the seed's way:
        backprop one example at a time."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        return nabla_b, nabla_w

    def update_mini_batch(self, batch: Sequence[tuple], learning_rate: float) -> None:
        """One SGD step, the seed's way: backprop each (x, y), average, w -= η ∇w."""
        nabla_b, nabla_w = self.batch_gradients(batch)
        self._apply(nabla_b, nabla_w, learning_rate / len(batch))

    def update_mini_batch_matrix(self, X: np.ndarray, Y: np.ndarray,
                                 learning_rate: float) -> None:
        """The same step with the matrix-form backprop over rows X (N, in), Y (N, out)."""
        nabla_b, nabla_w = self.backprop_batch(X, Y)
        self._apply(nabla_b, nabla_w, learning_rate / len(X))

    def _apply(self, nabla_b: list, nabla_w: list, step: float) -> None:
        for w, nw in zip(self.weights, nabla_w):
            w -= step * nw
        for b, nb in zip(self.biases, nabla_b):
            b -= step * nb

    def learn(self, training_data: Sequence[tuple], epochs: int, batch_size: int,
              learning_rate: float, test_data: Sequence[tuple] | None = None,
              vectorized: bool = False) -> None:
        """Mini-batch SGD, printing "Epoch i: correct / total" after each epoch when test_data is
        given ("Epoch i complete" otherwise). training_data holds (x, y) column pairs, y one-hot;
        test_data holds (x, label). vectorized=True uses the matrix-form step (same maths)."""
        training_data = list(training_data)
        test_data = None if test_data is None else list(test_data)
        if epochs < 0 or batch_size < 1:
            raise ValueError(f"need epochs >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
        n = len(training_data)
        if vectorized and n:
            X_all = np.stack([np.ravel(x) for x, _ in training_data])
            Y_all = np.stack([np.ravel(y) for _, y in training_data])
        for i in range(epochs):
            order = self._rng.permutation(n)
            for k in range(0, n, batch_size):
                idx = order[k:k + batch_size]
                if vectorized:
                    self.update_mini_batch_matrix(X_all[idx], Y_all[idx], learning_rate)
                else:
                    self.update_mini_batch([training_data[j] for j in idx], learning_rate)
            if test_data is not None:
                print(f"Epoch {i}: {self.evaluate(test_data)} / {len(test_data)}")
            else:
                print(f"Epoch {i} complete")

    def evaluate(self, test_data: Sequence[tuple]) -> int:
        """How many test inputs the network classifies right (the most active output neuron)."""
        return sum(int(np.argmax(self.feedforward(x)) == _label(y)) for x, y in test_data)

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∇ₐC_x = a - y for the quadratic cost."""
        return output_activations - y
