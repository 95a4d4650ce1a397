"""One pre-norm transformer block (GPT-2's and nanoGPT's Block), forward and backward by hand in
numpy:

    out = x1 + mlp(ln_2(x1)),   x1 = x + attn(ln_1(x))

x is (B, T, C): B sequences of T positions, each a row of C numbers (the residual stream).
Linear layers are PyTorch's: z = a Wᵀ + b with W (out, in). Backprop through the block is the
seed's four equations applied to each layer in turn, from the output back to x (δ = dC/dz for a
layer's weighted input z, ⊙ elementwise; rows are examples, so products are on the right):

    BP1  δ at the block's output is given: dC/dout, from whatever is above (a loss, a block)
    BP2  δ moves back through a Linear: dC/da = δ W; through an elementwise function f:
         δ ⊙ f'(z) (GELU); through functions that mix a row (softmax, layer norm) by their
         Jacobian-vector products below; a residual x + f(x) passes δ straight through AND
         through f, and the two are added
    BP3  dC/db = Σ_rows δ
    BP4  dC/dW = δᵀ a   (the sum over rows of δ aᵀ)

Parameter names are nanoGPT's: ln_1.weight, ln_1.bias, attn.c_attn.weight (3C, C),
attn.c_attn.bias, attn.c_proj.weight (C, C), attn.c_proj.bias, ln_2.weight, ln_2.bias,
mlp.c_fc.weight (4C, C), mlp.c_fc.bias, mlp.c_proj.weight (C, 4C), mlp.c_proj.bias.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

EPS = 1e-5  # layer norm's ε, PyTorch's and nanoGPT's
_erf = np.vectorize(math.erf, otypes=[np.float64])


# --- Linear: z = a Wᵀ + b --------------------------------------------------------------------

def linear(a: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z = a Wᵀ + b over the last axis (PyTorch's Linear)."""
    return a @ w.T + b


def linear_backward(delta: np.ndarray, a: np.ndarray, w: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dC/da, dC/dW, dC/db) from δ = dC/dz: BP2 δ W, BP4 δᵀ a, BP3 Σ δ (over all rows)."""
    d2, a2 = delta.reshape(-1, delta.shape[-1]), a.reshape(-1, a.shape[-1])
    return delta @ w, d2.T @ a2, d2.sum(axis=0)


# --- Layer norm: y = γ (x - μ) / √(σ² + ε) + β, over each row --------------------------------

def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray
               ) -> tuple[np.ndarray, tuple]:
    """y = γ x̂ + β with x̂ = (x - μ) / √(σ² + ε), μ and σ² the mean and (biased) variance of
    each row. Returns y and what the backward needs (x̂, 1/√(σ² + ε))."""
    mu = x.mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + EPS)
    xhat = (x - mu) * inv_std
    return xhat * gamma + beta, (xhat, inv_std)


def layer_norm_backward(dy: np.ndarray, cache: tuple, gamma: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dC/dx, dC/dγ, dC/dβ). dC/dβ = Σ dy (BP3), dC/dγ = Σ dy ⊙ x̂ (BP4, one weight per
    column); and BP2 through the normalisation, whose μ and σ depend on the whole row:
    dC/dx = (g - mean(g) - x̂ mean(g ⊙ x̂)) / √(σ² + ε), g = γ ⊙ dy."""
    xhat, inv_std = cache
    g = dy * gamma
    dx = inv_std * (g - g.mean(axis=-1, keepdims=True)
                    - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    rows = dy.reshape(-1, dy.shape[-1])
    return dx, (rows * xhat.reshape(rows.shape)).sum(axis=0), rows.sum(axis=0)


# --- GELU: x Φ(x), exact or with tanh ---------------------------------------------------------

def gelu(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU(z) = z Φ(z), Φ(z) = ½(1 + erf(z / √2)) the standard normal CDF ("none", PyTorch's
    default and nanoGPT's); "tanh": ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))) (GPT-2's)."""
    if approximate == "tanh":
        return 0.5 * z * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    if approximate == "none":
        return (z * 0.5 * (1.0 + _erf(z / math.sqrt(2)))).astype(z.dtype)
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_prime(z: np.ndarray, approximate: str = "none") -> np.ndarray:
    """GELU'(z): Φ(z) + z φ(z), φ(z) = e^{-z²/2} / √(2π); with tanh, u = √(2/π)(z + 0.044715 z³):
    ½(1 + tanh u) + ½ z (1 - tanh² u) √(2/π)(1 + 3 · 0.044715 z²)."""
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (z + 0.044715 * z ** 3))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * k * (1 + 3 * 0.044715 * z * z)
    if approximate == "none":
        cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2)))
        return (cdf + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)).astype(z.dtype)
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


# --- Causal self-attention: softmax(q kᵀ / √d + mask) v, per head -----------------------------

def softmax(s: np.ndarray) -> np.ndarray:
    """softmax along the last axis, e^{s - max s} / Σ e^{s - max s}; -inf entries give 0."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(da: np.ndarray, a: np.ndarray) -> np.ndarray:
    """BP2 through a = softmax(s), row by row: dC/ds = a ⊙ (da - Σ_j da_j a_j). The Jacobian
    diag(a) - a aᵀ, applied without forming it."""
    return a * (da - (da * a).sum(axis=-1, keepdims=True))


def _heads(t: np.ndarray, n_head: int) -> np.ndarray:
    """(B, T, C) -> (B, n_head, T, C / n_head): head h owns columns h d ... (h + 1) d - 1."""
    B, T, C = t.shape
    return t.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def _merge(t: np.ndarray) -> np.ndarray:
    """(B, n_head, T, d) -> (B, T, n_head d): the heads side by side again."""
    B, H, T, d = t.shape
    return t.transpose(0, 2, 1, 3).reshape(B, T, H * d)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Causal attention per head (B, H, T, d): s = q kᵀ / √d, position i sees j ≤ i only
    (s_ij = -inf for j > i), a = softmax(s), y = a v. Returns y and a."""
    T, d = q.shape[-2], q.shape[-1]
    s = q @ k.swapaxes(-1, -2) / math.sqrt(d)
    s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    a = softmax(s)
    return a @ v, a


def attention_backward(dy: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                       a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dq, dk, dv) from dy = dC/dy. y = a v: dC/da = dy vᵀ, dC/dv = aᵀ dy (BP2, BP4 with v
    playing the weights); softmax backward gives dC/ds (masked entries: a = 0 there, so 0);
    s = q kᵀ / √d: dq = ds k / √d, dk = dsᵀ q / √d."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    dv = a.swapaxes(-1, -2) @ dy
    ds = softmax_backward(dy @ v.swapaxes(-1, -2), a)
    return ds @ k * scale, ds.swapaxes(-1, -2) @ q * scale, dv


# --- The block --------------------------------------------------------------------------------

class TransformerBlockHandwritten:
    """nanoGPT's Block: x + attn(ln_1(x)), then + mlp(ln_2(x)), MLP c_fc -> GELU -> c_proj.

    Weights start N(0, 0.02²), the two c_proj weights N(0, (0.02 / √(2 n_layer))²) (they add
    to the residual stream, two per block), biases 0, layer-norm gains 1: nanoGPT's init."""

    def __init__(self, n_embd: int, n_head: int, seed: int | None = None,
                 dtype: Any = np.float64, approximate: str = "none", n_layer: int = 1) -> None:
        if n_embd < 1 or n_head < 1 or n_embd % n_head:
            raise ValueError(f"n_embd must be a positive multiple of n_head, got {n_embd}, "
                             f"{n_head}")
        gelu(np.zeros(1), approximate)  # refuse an unknown approximation now
        self.n_embd, self.n_head, self.approximate = n_embd, n_head, approximate
        C, rng, dtype = n_embd, np.random.default_rng(seed), np.dtype(dtype)
        shapes = {"ln_1.weight": (C,), "ln_1.bias": (C,), "attn.c_attn.weight": (3 * C, C),
                  "attn.c_attn.bias": (3 * C,), "attn.c_proj.weight": (C, C),
                  "attn.c_proj.bias": (C,), "ln_2.weight": (C,), "ln_2.bias": (C,),
                  "mlp.c_fc.weight": (4 * C, C), "mlp.c_fc.bias": (4 * C,),
                  "mlp.c_proj.weight": (C, 4 * C), "mlp.c_proj.bias": (C,)}
        self.params = {}
        for name, shape in shapes.items():
            std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") else 0.02
            value = (rng.normal(0.0, std, shape) if len(shape) == 2
                     else np.ones(shape) if name.startswith("ln") and "weight" in name
                     else np.zeros(shape))
            self.params[name] = value.astype(dtype)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The parameters by name (the arrays themselves, not copies)."""
        return self.params

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, dict]:
        """out (B, T, C) for x (B, T, C), and the values the backward needs."""
        P, c = self.params, {"x": x}
        if x.ndim != 3 or x.shape[-1] != self.n_embd:
            raise ValueError(f"x must be (B, T, {self.n_embd}), got {x.shape}")
        c["l1"], c["ln_1"] = layer_norm(x, P["ln_1.weight"], P["ln_1.bias"])
        qkv = linear(c["l1"], P["attn.c_attn.weight"], P["attn.c_attn.bias"])
        c["q"], c["k"], c["v"] = (_heads(t, self.n_head) for t in np.split(qkv, 3, axis=-1))
        y, c["a"] = attention(c["q"], c["k"], c["v"])
        c["y"] = _merge(y)
        x1 = x + linear(c["y"], P["attn.c_proj.weight"], P["attn.c_proj.bias"])  # residual
        c["l2"], c["ln_2"] = layer_norm(x1, P["ln_2.weight"], P["ln_2.bias"])
        c["f"] = linear(c["l2"], P["mlp.c_fc.weight"], P["mlp.c_fc.bias"])
        c["g"] = gelu(c["f"], self.approximate)
        out = x1 + linear(c["g"], P["mlp.c_proj.weight"], P["mlp.c_proj.bias"])  # residual
        return out, c

    def backward(self, c: dict, dout: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(dC/dx, gradients by name) from dout = dC/dout (BP1: given from above), layer by
        layer from the output back: BP2 moves δ, BP3 and BP4 read each layer's gradients."""
        P, grads = self.params, {}

        def through_linear(delta: np.ndarray, a: np.ndarray, name: str) -> np.ndarray:
            da, grads[f"{name}.weight"], grads[f"{name}.bias"] = linear_backward(
                delta, a, P[f"{name}.weight"])                     # BP2, BP4, BP3
            return da

        def through_norm(dy: np.ndarray, cache: tuple, name: str) -> np.ndarray:
            dx, grads[f"{name}.weight"], grads[f"{name}.bias"] = layer_norm_backward(
                dy, cache, P[f"{name}.weight"])
            return dx

        dg = through_linear(dout, c["g"], "mlp.c_proj")             # out = x1 + mlp: δ
        df = dg * gelu_prime(c["f"], self.approximate)              # BP2: δ ⊙ GELU'(z)
        dl2 = through_linear(df, c["l2"], "mlp.c_fc")
        dx1 = dout + through_norm(dl2, c["ln_2"], "ln_2")           # both residual paths
        dy = through_linear(dx1, c["y"], "attn.c_proj")
        dq, dk, dv = attention_backward(_heads(dy, self.n_head), c["q"], c["k"], c["v"],
                                        c["a"])
        dqkv = np.concatenate([_merge(dq), _merge(dk), _merge(dv)], axis=-1)
        dl1 = through_linear(dqkv, c["l1"], "attn.c_attn")
        dx = dx1 + through_norm(dl1, c["ln_1"], "ln_1")             # both residual paths
        return dx, {name: grads[name] for name in P}
