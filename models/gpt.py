"""A small GPT on the engine, shaped like nanoGPT's model: the same structure, parameter names,
initialisation and call, so weights move between the two (see benchmarks/gpt_torch.py).

    logits = lm_head(ln_f(h_L(...h_1(wte[idx] + wpe[0..T-1]))))
    block:   x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
    attn:    q, k, v = split(c_attn(x)); per head softmax(q kᵀ/√d + causal mask) v; c_proj
    mlp:     c_proj(GELU(c_fc(x)))

The head is tied to the token embedding (lm_head.weight is transformer.wte.weight: one tensor,
two names in the state_dict, updated once). Init: every Linear and Embedding weight
N(0, 0.02²), biases 0, and the two c_proj weights of each block N(0, (0.02/√(2 n_layer))²):
they add into the residual stream, 2 n_layer times in all.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, nn, no_grad


@dataclass
class GPTConfig:
    """nanoGPT's configuration: block_size (longest context), vocab_size, n_layer blocks of
    n_head heads over n_embd numbers per position, dropout, bias (in Linears and LayerNorms)."""
    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd {self.n_embd} must be a multiple of n_head "
                             f"{self.n_head} (each head takes n_embd / n_head numbers)")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees positions 0..t only."""

    def __init__(self, c: GPTConfig, dtype: Any, rng: np.random.Generator) -> None:
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias, dtype=dtype, rng=rng)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias, dtype=dtype, rng=rng)
        self.resid_dropout = nn.Dropout(c.dropout)
        self.n_head, self.dropout = c.n_head, c.dropout

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = (t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in self.c_attn(x).split(C, dim=2))             # (B, heads, T, C/heads)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))


class MLP(nn.Module):
    """c_proj(GELU(c_fc(x))): widen to 4 n_embd, GELU (exact, erf), back to n_embd."""

    def __init__(self, c: GPTConfig, dtype: Any, rng: np.random.Generator) -> None:
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias, dtype=dtype, rng=rng)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias, dtype=dtype, rng=rng)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, c: GPTConfig, dtype: Any, rng: np.random.Generator) -> None:
        self.ln_1 = nn.LayerNorm(c.n_embd, bias=c.bias, dtype=dtype)
        self.attn = CausalSelfAttention(c, dtype, rng)
        self.ln_2 = nn.LayerNorm(c.n_embd, bias=c.bias, dtype=dtype)
        self.mlp = MLP(c, dtype, rng)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """The embeddings, the blocks and the final layer norm (nanoGPT's `transformer` dict)."""

    def __init__(self, c: GPTConfig, dtype: Any, rng: np.random.Generator) -> None:
        self.wte = nn.Embedding(c.vocab_size, c.n_embd, dtype=dtype, rng=rng)
        self.wpe = nn.Embedding(c.block_size, c.n_embd, dtype=dtype, rng=rng)
        self.drop = nn.Dropout(c.dropout)
        self.h = nn.ModuleList(Block(c, dtype, rng) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias, dtype=dtype)


class GPT(nn.Module):
    """nanoGPT's GPT: `logits, loss = model(idx, targets)`. idx (B, T) int ids, T <= block_size;
    loss the mean cross-entropy of predicting targets (B, T), or None without targets, when only
    the last position's logits (B, 1, vocab) are computed (all that generation needs)."""

    def __init__(self, config: GPTConfig | None = None, dtype: Any = np.float32,
                 seed: Any = None, **fields: Any) -> None:
        if config is not None and fields:
            raise TypeError("GPT: give a GPTConfig or its fields, not both")
        c = config if config is not None else GPTConfig(**fields)
        rng = np.random.default_rng(seed)
        self.config_ = c
        self.transformer = Transformer(c, dtype, rng)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False, dtype=dtype, rng=rng)
        self.transformer.wte.weight = self.lm_head.weight  # tied: one tensor, two names
        self.load_state_dict(initial_state(self, rng))

    @property
    def vocab_size(self) -> int:
        return self.config_.vocab_size

    @property
    def block_size(self) -> int:
        return self.config_.block_size

    def config(self) -> dict:
        """The GPTConfig fields: GPT(**model.config()) builds the same architecture."""
        return asdict(self.config_)

    @staticmethod
    def num_parameters(**fields: Any) -> int:
        """The distinct parameters of a GPT with these GPTConfig fields (the tied head once)."""
        c = GPTConfig(**fields)
        C, b = c.n_embd, int(c.bias)
        block = 2 * C * (1 + b) + 3 * C * C + 3 * C * b + C * C + C * b + 8 * C * C + 5 * C * b
        return (c.vocab_size + c.block_size) * C + c.n_layer * block + C * (1 + b)

    @staticmethod
    def state_size(**fields: Any) -> int:
        """The numbers its state_dict holds: the parameters, and the tied head a second time."""
        c = GPTConfig(**fields)
        return GPT.num_parameters(**fields) + c.vocab_size * c.n_embd

    def forward(self, idx: Any, targets: Any = None) -> tuple[Tensor, Tensor | None]:
        T, tr = idx.shape[-1], self.transformer
        if T > self.config_.block_size:
            raise ValueError(f"GPT: a sequence of {T} is longer than block_size "
                             f"{self.config_.block_size}")
        x = tr.drop(tr.wte(idx) + tr.wpe.weight[:T])  # wpe(arange(T)) is its first T rows
        for block in tr.h:
            x = block(x)
        x = tr.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, -1:, :]), None
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def generate(self, idx: Any, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, rng: Any = None) -> np.ndarray:
        """idx (B, T) followed by max_new_tokens ids, each drawn from softmax(logits /
        temperature) over the top_k likeliest (all if None) given the last block_size ids, and
        fed back. rng: a numpy Generator or seed. Runs in eval mode under no_grad."""
        check_sampling(max_new_tokens, temperature, top_k)
        rng = np.random.default_rng(rng)
        idx = np.array(idx.data if isinstance(idx, Tensor) else idx, dtype=np.int64, ndmin=2)
        was_training = self.training
        self.eval()
        with no_grad():
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -self.config_.block_size:])
                nxt = sample_next(logits.data[:, -1, :].astype(np.float64), temperature, top_k,
                                  rng)
                idx = np.concatenate([idx, nxt[:, None]], axis=1)
        self.train(was_training)
        return idx


def check_sampling(max_new_tokens: int, temperature: float, top_k: int | None) -> None:
    """ValueError for a negative count, temperature <= 0 or top_k < 1."""
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if not temperature > 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1 (or None: all), got {top_k}")


def sample_next(logits: np.ndarray, temperature: float, top_k: int | None,
                rng: np.random.Generator) -> np.ndarray:
    """One id per row of logits (B, V): from softmax(logits / temperature), every logit below
    the row's top_k-th largest set to -inf first."""
    z = logits / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.sort(z, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p], dtype=np.int64)


def initial_state(model: GPT, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """nanoGPT's init for every parameter by name: weights of Linears and Embeddings
    N(0, 0.02²), c_proj weights N(0, (0.02/√(2 n_layer))²), biases 0, LayerNorm gains 1."""
    state, proj_std = {}, 0.02 / math.sqrt(2 * model.config_.n_layer)
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight"):
            state[name] = rng.standard_normal(p.shape) * proj_std
        elif p.ndim == 2:
            state[name] = rng.standard_normal(p.shape) * 0.02
        elif ".ln_" in name or name.startswith("transformer.ln_f"):
            state[name] = np.ones(p.shape) if name.endswith("weight") else np.zeros(p.shape)
        else:
            state[name] = np.zeros(p.shape)
    state["transformer.wte.weight"] = state["lm_head.weight"]  # one tensor: one draw
    return state
