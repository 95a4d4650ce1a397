"""A small GPT in PyTorch, shaped like nanoGPT's model, trained with nanoGPT's CPU recipe on the
bundled tiny Shakespeare: the reference a GPT on the engine is measured against.

    python benchmarks/gpt_torch.py                      # the recipe: 2000 iterations, 2 threads
    python benchmarks/gpt_torch.py --max-iters 50 --save gpt.npz

The recipe (nanoGPT's shakespeare_char on a CPU): blocks of 64 characters, batches of 12, 4
layers, 4 heads, 128 wide, no dropout; AdamW, lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on
2-D parameters only; 100 warmup iterations, then cosine decay to 1e-4 at iteration 2000;
gradient norm clipped to 1.0. Every 250 iterations it prints `step N: train loss X, val loss Y`
(each the mean over 20 random batches), and at the end the loss over the whole validation split
(every non-overlapping 64-character window). Importing this file runs nothing and needs no torch;
torch is imported by the functions that use it.

Parameter names are nanoGPT's (transformer.wte.weight, transformer.h.0.attn.c_attn.weight, ...,
lm_head.weight, which is the same tensor as transformer.wte.weight); `export_npz` writes them.
"""
from __future__ import annotations

import argparse
import functools
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tinygrad_lite.data import Text, get_batch, load_shakespeare


@dataclass
class GPTConfig:
    """nanoGPT's configuration fields. bias: biases in the Linears and LayerNorms."""
    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True


@dataclass
class Recipe:
    """The training settings (nanoGPT's names)."""
    batch_size: int = 12
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    weight_decay: float = 0.1
    warmup_iters: int = 100
    lr_decay_iters: int = 2000
    max_iters: int = 2000
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20
    seed: int = 1337
    threads: int = 2


def build_gpt(config: GPTConfig) -> Any:
    """A torch.nn.Module with nanoGPT's structure, names and initialisation:
    logits = lm_head(ln_f(h_L(...h_1(wte[idx] + wpe[pos])))), each block
    x + attn(ln_1(x)) then x + mlp(ln_2(x)); weights N(0, 0.02²), biases 0, and the c_proj
    weights N(0, (0.02 / √(2 n_layer))²) (they feed the residual stream, two per layer)."""
    return _gpt_class()(config)


@functools.cache
def _layers() -> tuple[type, type, type]:
    """nanoGPT's LayerNorm, CausalSelfAttention and MLP modules (torch imported here)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class LayerNorm(nn.Module):
        """LayerNorm whose bias is optional (torch's has none or both before 2.1)."""

        def __init__(self, n: int, bias: bool) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))
            self.bias = nn.Parameter(torch.zeros(n)) if bias else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)

    class CausalSelfAttention(nn.Module):
        def __init__(self, c: GPTConfig) -> None:
            super().__init__()
            self.n_head, self.dropout = c.n_head, c.dropout
            self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)  # q, k, v stacked
            self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
            self.resid_dropout = nn.Dropout(c.dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                       for t in (q, k, v))                                   # (B, nh, T, hs)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=self.dropout if self.training else 0)
            y = y.transpose(1, 2).contiguous().view(B, T, C)                 # heads side by side
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self, c: GPTConfig) -> None:
            super().__init__()
            self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)
            self.dropout = nn.Dropout(c.dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    return LayerNorm, CausalSelfAttention, MLP


@functools.cache
def _gpt_class() -> type:
    """nanoGPT's Block and GPT modules (torch imported here)."""
    import torch
    from torch import nn
    from torch.nn import functional as F
    LayerNorm, CausalSelfAttention, MLP = _layers()

    class Block(nn.Module):
        def __init__(self, c: GPTConfig) -> None:
            super().__init__()
            self.ln_1, self.attn = LayerNorm(c.n_embd, c.bias), CausalSelfAttention(c)
            self.ln_2, self.mlp = LayerNorm(c.n_embd, c.bias), MLP(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self, c: GPTConfig) -> None:
            super().__init__()
            self.config = c
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(c.vocab_size, c.n_embd), wpe=nn.Embedding(c.block_size, c.n_embd),
                drop=nn.Dropout(c.dropout), h=nn.ModuleList(Block(c) for _ in range(c.n_layer)),
                ln_f=LayerNorm(c.n_embd, c.bias)))
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied: one tensor, two names
            _initialise(self, c)

        def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> tuple:
            T = idx.shape[1]
            if T > self.config.block_size:
                raise ValueError(f"sequence of {T} is longer than block_size "
                                 f"{self.config.block_size}")
            pos = torch.arange(T, device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            if targets is None:
                return logits, None
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
            return logits, loss

    return GPT


def _initialise(model: Any, config: GPTConfig) -> None:
    import torch
    from torch import nn
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            torch.nn.init.zeros_(module.bias)
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight"):
            torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))


def configure_optimizer(model: Any, r: Recipe) -> Any:
    """AdamW with weight decay on the 2-D parameters (matrices, embeddings) and none on the
    rest (biases, LayerNorm gains), as nanoGPT's configure_optimizers."""
    import torch
    params = [p for p in model.parameters() if p.requires_grad]  # the tied weight once
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": r.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=r.learning_rate, betas=(r.beta1, r.beta2))


def learning_rate(it: int, r: Recipe) -> float:
    """Linear warmup lr (it + 1) / (warmup + 1), then cosine from lr to min_lr at
    lr_decay_iters: min_lr + ½(1 + cos(π t))(lr - min_lr), t the fraction of the decay done."""
    if it < r.warmup_iters:
        return r.learning_rate * (it + 1) / (r.warmup_iters + 1)
    if it > r.lr_decay_iters:
        return r.min_lr
    t = (it - r.warmup_iters) / (r.lr_decay_iters - r.warmup_iters)
    return r.min_lr + 0.5 * (1.0 + math.cos(math.pi * t)) * (r.learning_rate - r.min_lr)


def estimate_loss(model: Any, data: Text, config: GPTConfig, r: Recipe,
                  rng: np.random.Generator) -> dict[str, float]:
    """Mean loss over eval_iters random batches of each split."""
    import torch
    out = {}
    model.eval()
    with torch.no_grad():
        for split, ids in (("train", data.train), ("val", data.val)):
            losses = [model(*map(torch.from_numpy,
                                 get_batch(ids, config.block_size, r.batch_size, rng)))[1].item()
                      for _ in range(r.eval_iters)]
            out[split] = float(np.mean(losses))
    model.train()
    return out


def split_loss(model: Any, ids: np.ndarray, block_size: int, batch: int = 256) -> float:
    """Mean cross-entropy over every non-overlapping window of a split: windows start at 0,
    block_size, 2 block_size, ...; each predicts its next block_size characters."""
    import torch
    n = (len(ids) - 1) // block_size
    x = ids[:n * block_size].reshape(n, block_size)
    y = ids[1:n * block_size + 1].reshape(n, block_size)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for k in range(0, n, batch):
            _, loss = model(torch.from_numpy(x[k:k + batch]), torch.from_numpy(y[k:k + batch]))
            total += loss.item() * len(x[k:k + batch])
    model.train()
    return total / n


def export_npz(model: Any, path: str) -> list[str]:
    """Write the model's state_dict to an .npz under nanoGPT's names (float32 arrays; the tied
    transformer.wte.weight and lm_head.weight both appear, equal). Returns the names."""
    state = {name: t.detach().cpu().numpy().astype(np.float32)
             for name, t in model.state_dict().items()}
    np.savez(path, **state)
    return list(state)


def train(config: GPTConfig, r: Recipe, data: Text | None = None, log: Any = print) -> dict:
    """nanoGPT's loop: iterations 0..max_iters, each evaluated first when a multiple of
    eval_interval, then one AdamW step at learning_rate(it). Returns the model and timings."""
    import torch
    torch.manual_seed(r.seed)
    torch.set_num_threads(r.threads)
    data = load_shakespeare() if data is None else data
    rng = np.random.default_rng(r.seed)
    model = build_gpt(config)
    opt = configure_optimizer(model, r)
    stepping, start = 0.0, time.perf_counter()
    for it in range(r.max_iters + 1):
        if it % r.eval_interval == 0:
            losses = estimate_loss(model, data, config, r, rng)
            log(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = learning_rate(it, r)
        x, y = map(torch.from_numpy, get_batch(data.train, config.block_size, r.batch_size, rng))
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), r.grad_clip)
        opt.step()
        stepping += time.perf_counter() - t0
    wall = time.perf_counter() - start
    return {"model": model, "wall_s": wall, "ms_per_iter": 1000 * stepping / (r.max_iters + 1),
            "last_loss": loss.item()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-iters", type=int, default=Recipe.max_iters)
    p.add_argument("--threads", type=int, default=Recipe.threads)
    p.add_argument("--save", metavar="PATH.npz", help="write the trained state_dict there")
    args = p.parse_args(argv)
    config, r = GPTConfig(), Recipe(max_iters=args.max_iters, threads=args.threads)
    print(f"config {asdict(config)}")
    result = train(config, r)
    val_ids = load_shakespeare().val
    val = split_loss(result["model"], val_ids, config.block_size)
    n = sum(p.numel() for p in result["model"].parameters())
    print(f"parameters {n:,}; whole validation split: loss {val:.4f} over "
          f"{(len(val_ids) - 1) // config.block_size} windows of {config.block_size}")
    print(f"wall {result['wall_s']:.1f} s, {result['ms_per_iter']:.1f} ms/iter (training steps, "
          f"{r.threads} threads)")
    if args.save:
        export_npz(result["model"], args.save)
        print(f"saved {args.save}")


if __name__ == "__main__":
    main()
