"""A character-level vanilla RNN with backpropagation through time written by hand, in numpy.

One step reads a character x_t (a one-hot column of the vocabulary) and the previous state:

    a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      the recurrent layer's weighted input (z)
    h_t = tanh(a_t)                                  its activation, the new state
    y_t = W_hy h_t + b_y                             the output layer's weighted input: logits
    p_t = softmax(y_t)                               the predicted next-character distribution
    C   = -(1/N) Σ_t log p_t[target_t]               cross-entropy, the mean over N predictions

The same weights are used at every step: unrolled over T steps, the network is a T-layer deep
network whose layers share W_hh. Backprop through it is the seed's BP1-BP4 (δ is dC/dz):

    BP1  δʸ_t = p_t - onehot(target_t)   (÷ N)    error of the output layer, per step: softmax
                                                  with cross-entropy gives a - y, no σ' factor
    BP2  δʰ_t = (W_hyᵀ δʸ_t + W_hhᵀ δʰ_{t+1}) ⊙ (1 - h_t²)
                                                  error moved back: from the output above AND
                                                  from the next step (the layer "after" in
                                                  time); tanh'(a) = 1 - tanh(a)²
    BP3  ∂C/∂b = Σ_t δ_t                          a shared bias sums its errors over the steps
    BP4  ∂C/∂W = Σ_t δ_t (input_t)ᵀ               a shared weight sums δ times its input

Truncated BPTT: a long text is cut into sequences of T characters; the state h_T of one is the
h0 of the next, but no gradient flows across the cut (δʰ_{T+1} = 0).

Names are those of PyTorch's RNNCell and a Linear head: weight_ih (H, V), weight_hh (H, H),
bias_ih (H,), bias_hh (H,), head.weight (V, H), head.bias (V,). Weights start N(0, 0.01²) and
biases 0, small enough that tanh starts in its linear part. Rows are examples: a batch of B
sequences is (B, T) character ids; a single sequence (T,) is a batch of one.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, nn, no_grad, stack

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "head.weight", "head.bias")


def softmax(y: np.ndarray) -> np.ndarray:
    """softmax(y)_i = e^{y_i - max y} / Σ_j e^{y_j - max y}, along the last axis."""
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class CharRNNHandwritten:
    """A vanilla RNN over a vocabulary of `vocab_size` characters with `hidden_size` tanh units;
    `params` maps the PyTorch names to arrays."""

    def __init__(self, vocab_size: int, hidden_size: int, seed: int | None = None,
                 dtype: Any = np.float64) -> None:
        if vocab_size < 1 or hidden_size < 1:
            raise ValueError(f"vocab_size and hidden_size must be positive, got {vocab_size}, "
                             f"{hidden_size}")
        self.vocab_size, self.hidden_size, self.dtype = vocab_size, hidden_size, np.dtype(dtype)
        rng = np.random.default_rng(seed)
        V, H = vocab_size, hidden_size
        shapes = {"weight_ih": (H, V), "weight_hh": (H, H), "bias_ih": (H,), "bias_hh": (H,),
                  "head.weight": (V, H), "head.bias": (V,)}
        self.params = {name: (0.01 * rng.standard_normal(shape) if "weight" in name
                              else np.zeros(shape)).astype(self.dtype)
                       for name, shape in shapes.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The parameters by name (the arrays themselves, not copies)."""
        return self.params

    def _check(self, ids: Any, name: str) -> np.ndarray:
        ids = np.asarray(ids)
        ids = ids[None] if ids.ndim == 1 else ids
        if ids.ndim != 2 or ids.shape[1] == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{name} must be integer ids of shape (T,) or (B, T), T >= 1, got "
                             f"{ids.dtype} of shape {ids.shape}")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"{name} holds ids outside [0, {self.vocab_size})")
        return ids

    def _h0(self, h0: np.ndarray | None, batch: int) -> np.ndarray:
        if h0 is None:
            return np.zeros((batch, self.hidden_size), self.dtype)
        h0 = np.asarray(h0, self.dtype)
        h0 = np.broadcast_to(h0, (batch, self.hidden_size)) if h0.ndim == 1 else h0
        if h0.shape != (batch, self.hidden_size):
            raise ValueError(f"h0 must be ({self.hidden_size},) or ({batch}, "
                             f"{self.hidden_size}), got {h0.shape}")
        return h0

    def step(self, ids: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step for a batch: (h_t, y_t) from ids (B,) and h_{t-1} (B, H). W_ih x_t, x_t
        one-hot, is column x_t of W_ih: a lookup, no product."""
        P = self.params
        a = P["weight_ih"].T[ids] + P["bias_ih"] + h @ P["weight_hh"].T + P["bias_hh"]
        h = np.tanh(a)
        return h, h @ P["head.weight"].T + P["head.bias"]

    def forward(self, inputs: Any, h0: np.ndarray | None = None) -> tuple[list, np.ndarray]:
        """The states [h_0, h_1, ..., h_T], each (B, H), and the logits (B, T, V)."""
        inputs = self._check(inputs, "inputs")
        hs, logits = [self._h0(h0, len(inputs))], []
        for t in range(inputs.shape[1]):
            h, y = self.step(inputs[:, t], hs[-1])
            hs.append(h)
            logits.append(y)
        return hs, np.stack(logits, axis=1)

    def loss_and_grads(self, inputs: Any, targets: Any, h0: np.ndarray | None = None
                       ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """(C, gradients by name, h_T): the mean cross-entropy of predicting targets[.., t]
        after inputs[.., :t+1], its gradient by backprop through time (BP1-BP4 above), and the
        last state (the next sequence's h0 in truncated BPTT). h0 defaults to zeros."""
        inputs, targets = self._check(inputs, "inputs"), self._check(targets, "targets")
        if inputs.shape != targets.shape:
            raise ValueError(f"inputs {inputs.shape} and targets {targets.shape} differ")
        hs, logits = self.forward(inputs, h0)
        B, T = inputs.shape
        p = softmax(logits)                                        # (B, T, V)
        picked = p[np.arange(B)[:, None], np.arange(T), targets]
        loss = float(-np.mean(np.log(picked)))
        delta_y = p.copy()                                         # BP1: δʸ = p - onehot(y),
        delta_y[np.arange(B)[:, None], np.arange(T), targets] -= 1  # over N = B T predictions
        delta_y /= B * T
        return loss, self._backward(inputs, hs, delta_y), hs[-1]

    def _backward(self, inputs: np.ndarray, hs: list, delta_y: np.ndarray
                  ) -> dict[str, np.ndarray]:
        """BP2-BP4 from the output errors δʸ (B, T, V), from the last step back to the first."""
        P = self.params
        g = {name: np.zeros_like(value) for name, value in P.items()}
        g_ih_rows = np.zeros((self.vocab_size, self.hidden_size), self.dtype)  # ∂C/∂W_ihᵀ
        delta_next = np.zeros_like(hs[0])                # δʰ_{T+1} = 0: nothing after the cut
        for t in reversed(range(inputs.shape[1])):
            h, h_prev, dy = hs[t + 1], hs[t], delta_y[:, t]
            g["head.bias"] += dy.sum(axis=0)                        # BP3 (output layer)
            g["head.weight"] += dy.T @ h                            # BP4 (output layer)
            delta = (dy @ P["head.weight"] + delta_next @ P["weight_hh"]) * (1 - h * h)  # BP2
            g["bias_ih"] += delta.sum(axis=0)                       # BP3 (both biases of a)
            g["bias_hh"] += delta.sum(axis=0)
            g["weight_hh"] += delta.T @ h_prev                      # BP4, input h_{t-1}
            np.add.at(g_ih_rows, inputs[:, t], delta)   # BP4, input x_t one-hot: δ to column x_t
            delta_next = delta                          # what step t - 1 receives through W_hh
        g["weight_ih"] = g_ih_rows.T.copy()
        return g

    def sample(self, start: int, n: int, h: np.ndarray | None = None,
               rng: np.random.Generator | int | None = None, temperature: float = 1.0
               ) -> np.ndarray:
        """n character ids drawn one at a time from softmax(y_t / temperature), each fed back
        as the next input, starting from id `start` and state h (zeros by default)."""
        if n < 0 or not temperature > 0:
            raise ValueError(f"need n >= 0 and temperature > 0, got {n}, {temperature}")
        rng = np.random.default_rng(rng)
        ids = self._check(np.array([start]), "start")[0]
        h = self._h0(h, 1)
        out = np.empty(n, np.int64)
        for i in range(n):
            h, y = self.step(ids, h)
            ids = np.array([rng.choice(self.vocab_size, p=softmax(y[0] / temperature))])
            out[i] = ids[0]
        return out


def train_steps(model: CharRNNHandwritten, ids: np.ndarray, seq_length: int, steps: int,
                learning_rate: float = 0.1, clip: float = 5.0) -> list[float]:
    """Adagrad over consecutive sequences of `ids` (truncated BPTT, the state carried across
    cuts, back to zeros at the end of the text): m += g², w -= η g / √(m + 1e-8), with each
    gradient first clipped to [-clip, clip]. Returns the loss of every step."""
    memory = {name: np.zeros_like(w) for name, w in model.params.items()}
    losses, pos, h = [], 0, None
    for _ in range(steps):
        if pos + seq_length + 1 > len(ids):
            pos, h = 0, None
        chunk = ids[pos:pos + seq_length + 1]
        loss, grads, h = model.loss_and_grads(chunk[:-1], chunk[1:], h)
        for name, w in model.params.items():
            g = np.clip(grads[name], -clip, clip)
            memory[name] += g * g
            w -= learning_rate * g / np.sqrt(memory[name] + 1e-8)
        losses.append(loss)
        pos += seq_length
    return losses


class CharRNN(nn.Module):
    """The same network on the engine: `logits, loss = model(idx, targets)` as GPT's (idx and
    targets (B, T) ids; loss the mean cross-entropy over the B T predictions, None without
    targets), with the handwritten model's parameter names and init, so their state_dicts are
    interchangeable. W_ih x_t for a one-hot x_t is row x_t of W_ihᵀ: an embedding lookup."""

    def __init__(self, vocab_size: int = 65, hidden_size: int = 256, dtype: Any = np.float32,
                 seed: Any = None) -> None:
        if vocab_size < 1 or hidden_size < 1:
            raise ValueError(f"vocab_size and hidden_size must be positive, got {vocab_size}, "
                             f"{hidden_size}")
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        init = CharRNNHandwritten(vocab_size, hidden_size, seed, dtype).params
        self.weight_ih = Tensor(init["weight_ih"], requires_grad=True)
        self.weight_hh = Tensor(init["weight_hh"], requires_grad=True)
        self.bias_ih = Tensor(init["bias_ih"], requires_grad=True)
        self.bias_hh = Tensor(init["bias_hh"], requires_grad=True)
        self.head = nn.Linear(hidden_size, vocab_size, dtype=dtype)
        self.load_state_dict({"head.weight": init["head.weight"], "head.bias": init["head.bias"]},
                             strict=False)

    def config(self) -> dict:
        """CharRNN(**model.config()) builds the same architecture."""
        return {"vocab_size": self.vocab_size, "hidden_size": self.hidden_size}

    @staticmethod
    def num_parameters(vocab_size: int, hidden_size: int) -> int:
        V, H = vocab_size, hidden_size
        return H * V + H * H + 2 * H + V * H + V

    def states(self, idx: Any, h0: Tensor | None = None) -> list[Tensor]:
        """h_1..h_T, each (B, H): h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), h0 = 0 by
        default (then the first step skips W_hh h0, and a one-step sequence leaves W_hh
        without a gradient)."""
        inputs = F.embedding(idx, self.weight_ih.T) + self.bias_ih  # (B, T, H)
        h, hs = h0, []
        for t in range(inputs.shape[1]):
            a = inputs[:, t]
            h = (a if h is None else a + F.linear(h, self.weight_hh)) + self.bias_hh
            h = h.tanh()
            hs.append(h)
        return hs

    def forward(self, idx: Any, targets: Any = None) -> tuple[Tensor, Tensor | None]:
        logits = self.head(stack(self.states(idx), dim=1))  # (B, T, V)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1))

    def generate(self, idx: Any, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, rng: Any = None) -> np.ndarray:
        """idx (B, T) followed by max_new_tokens ids drawn one at a time (as GPT.generate), the
        state carried from step to step."""
        from .gpt import check_sampling, sample_next
        check_sampling(max_new_tokens, temperature, top_k)
        rng = np.random.default_rng(rng)
        idx = np.array(idx.data if isinstance(idx, Tensor) else idx, dtype=np.int64, ndmin=2)
        with no_grad():
            h = self.states(idx)[-1]
            for _ in range(max_new_tokens):
                logits = self.head(h).data.astype(np.float64)
                nxt = sample_next(logits, temperature, top_k, rng)
                idx = np.concatenate([idx, nxt[:, None]], axis=1)
                h = self.states(nxt[:, None], h)[-1]
        return idx
