"""Tensors made from nothing (torch.zeros, torch.rand...) and the library's random generator."""
from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor, from_numpy, kernel

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind rand, randn, dropout and nn layers' default init."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The library's random generator (what manual_seed seeds)."""
    return _generator


def _size(size: tuple) -> tuple:
    """zeros(2, 3) and zeros((2, 3)) alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


def _new(data: np.ndarray, requires_grad: bool) -> Tensor:
    return from_numpy(data).requires_grad_(requires_grad)


def _random(kind: str, shape: tuple, dtype: Any) -> np.ndarray:
    """A kernel, so a captured step draws new numbers on each replay."""
    draw = _generator.random if kind == "rand" else _generator.standard_normal
    return draw(shape, dtype=dtype)


def zeros(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.zeros(_size(size), dtype), requires_grad)


def ones(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    return _new(np.ones(_size(size), dtype), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of fill_value; dtype from it as PyTorch (float32, int64 or bool) if not given."""
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 np.int64 if isinstance(fill_value, (int, np.integer)) else np.float32)
    return _new(np.full(_size((size,)), fill_value, dtype), requires_grad)


def rand(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the library's generator (see manual_seed)."""
    return _new(kernel(_random, "rand", _size(size), np.dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the library's generator (see manual_seed)."""
    return _new(kernel(_random, "randn", _size(size), np.dtype(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below end (arange(n) is 0..n-1); int64 for ints, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else np.float32
    return _new(np.arange(start, end, step).astype(dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = np.float32,
        requires_grad: bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=dtype), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=_like(t, dtype), requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def _like(t: Tensor, dtype: Any) -> Any:
    return t.dtype if dtype is None else dtype
