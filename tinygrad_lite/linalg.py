"""torch.linalg's vector norm (import tinygrad_lite.linalg, or tinygrad_lite.linalg.vector_norm)."""
from __future__ import annotations

from typing import Any

from .ops.reduce import vector_norm as norm_op
from .tensor import Tensor


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """(Σ |x|^ord)^(1/ord) over dim (all elements by default); ord >= 1, inf or -inf; the
    gradient at the zero vector is 0, as PyTorch's."""
    return norm_op(x if isinstance(x, Tensor) else Tensor(x), ord, dim, keepdim)
