"""Tensor's op methods (x + y, x.exp(), x.flatten()...), one line each: each calls an op
(`ops.Exp.apply`) or a composite (`ops.flatten`) of tinygrad_lite.ops by name. `Tensor`
(tinygrad_lite/tensor.py) inherits them; the ops register themselves in `ops` as they are
defined, so neither this module nor the engine imports the ops package (which imports both).
"""
from __future__ import annotations

import types
from typing import Any

ops = types.SimpleNamespace()  # every op class and composite of tinygrad_lite.ops, by name


class TensorMethods:
    """The methods of Tensor that apply ops; see tinygrad_lite.tensor.Tensor for the rest."""

    __slots__ = ()

    # --- arithmetic -------------------------------------------------------------------------------
    def __add__(self, x: Any) -> "Tensor": return ops.Add.apply(self, ops.operand(self, x))
    def __radd__(self, x: Any) -> "Tensor": return ops.Add.apply(ops.operand(self, x), self)
    def __sub__(self, x: Any) -> "Tensor": return ops.Sub.apply(self, ops.operand(self, x))
    def __rsub__(self, x: Any) -> "Tensor": return ops.Sub.apply(ops.operand(self, x), self)
    def __mul__(self, x: Any) -> "Tensor": return ops.Mul.apply(self, ops.operand(self, x))
    def __rmul__(self, x: Any) -> "Tensor": return ops.Mul.apply(ops.operand(self, x), self)
    def __truediv__(self, x: Any) -> "Tensor": return ops.Div.apply(self, ops.operand(self, x))
    def __rtruediv__(self, x: Any) -> "Tensor": return ops.Div.apply(ops.operand(self, x), self)
    def __neg__(self) -> "Tensor": return ops.Neg.apply(self)
    def __matmul__(self, x: Any) -> "Tensor": return self.matmul(x)
    def __rmatmul__(self, x: Any) -> "Tensor": return ops.operand(self, x).matmul(self)

    def matmul(self, x: Any) -> "Tensor":
        return ops.matmul(self, ops.operand(self, x))

    def __pow__(self, p: Any) -> "Tensor": return ops.power(self, p)
    def __rpow__(self, base: Any) -> "Tensor": return ops.rpower(base, self)

    def exp(self) -> "Tensor": return ops.Exp.apply(self)
    def log(self) -> "Tensor": return ops.Log.apply(self)
    def sigmoid(self) -> "Tensor": return ops.Sigmoid.apply(self)
    def relu(self) -> "Tensor": return ops.ReLU.apply(self)
    def tanh(self) -> "Tensor": return ops.Tanh.apply(self)
    def sqrt(self) -> "Tensor": return ops.Sqrt.apply(self)
    def rsqrt(self) -> "Tensor": return ops.Rsqrt.apply(self)
    def sin(self) -> "Tensor": return ops.Sin.apply(self)
    def cos(self) -> "Tensor": return ops.Cos.apply(self)
    def tan(self) -> "Tensor": return ops.Tan.apply(self)
    def floor(self) -> "Tensor": return ops.Rounding.apply(self, kind="floor")
    def ceil(self) -> "Tensor": return ops.Rounding.apply(self, kind="ceil")
    def trunc(self) -> "Tensor": return ops.Rounding.apply(self, kind="trunc")
    def sign(self) -> "Tensor": return ops.Rounding.apply(self, kind="sign")
    def log2(self) -> "Tensor": return ops.Log2.apply(self)
    def exp2(self) -> "Tensor": return ops.Exp2.apply(self)
    def erf(self) -> "Tensor": return ops.Erf.apply(self)
    def pow(self, exponent: Any) -> "Tensor": return ops.power(self, exponent)

    def clamp(self, min: float | None = None, max: float | None = None) -> "Tensor":
        if min is None and max is None:
            raise ValueError("clamp: give min, max or both")
        return ops.Clamp.apply(self, lo=min, hi=max)

    def sum(self, axis: int | tuple | None = None, keepdims: bool = False, *,
            dim: int | tuple | None = None, keepdim: bool | None = None,
            dtype: None = None, out: None = None) -> "Tensor":
        """Σ over axis (all axes by default); PyTorch's dim/keepdim are accepted too."""
        return ops.total(self, "sum", axis, keepdims, dim, keepdim, dtype, out)

    def mean(self, axis: int | tuple | None = None, keepdims: bool = False, *,
             dim: int | tuple | None = None, keepdim: bool | None = None,
             dtype: None = None, out: None = None) -> "Tensor":
        """Σ x / (number of elements summed); np.mean(t) calls this too."""
        return ops.total(self, "mean", axis, keepdims, dim, keepdim, dtype, out)

    def reshape(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def permute(self, *axes: int) -> "Tensor":
        return ops.Permute.apply(self, axes=tuple(a % max(self.ndim, 1) for a in axes))

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> "Tensor":
        """No arguments: reverse the axes (numpy's .T); two: swap those axes (PyTorch's)."""
        return ops.transpose(self, dim0, dim1)

    T = property(transpose)

    def swapaxes(self, axis0: int, axis1: int) -> "Tensor":
        """Swap two axes (PyTorch's and numpy's name for transpose(dim0, dim1))."""
        return self.transpose(axis0, axis1)

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        ops.setitem(self, index, value)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        return ops.LogSoftmax.apply(self, axis=axis if dim is None else dim)

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> "Tensor":
        """e^x / Σ e^x along axis (a row of only -inf gives NaN, as PyTorch's)."""
        return ops.Softmax.apply(self, axis=axis if dim is None else dim, safe=False)

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> "Tensor":
        """Index of the first largest value, over all elements or along axis/dim (no gradient)."""
        return ops.Argmax.apply(self, axis=axis if dim is None else dim,
                                keepdims=keepdims if keepdim is None else keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        """Index of the first smallest value, over all elements or along dim (no gradient)."""
        return ops.Argmin.apply(self, axis=dim, keepdims=keepdim)

    def cumsum(self, dim: int) -> "Tensor": return ops.cumsum(self, dim)
    def cumprod(self, dim: int) -> "Tensor": return ops.cumprod(self, dim)
    def flip(self, *dims: Any) -> "Tensor": return ops.flip(self, *dims)
    def repeat(self, *sizes: Any) -> "Tensor": return ops.repeat(self, *sizes)
    def split(self, split_size: Any, dim: int = 0) -> tuple: return ops.split(self, split_size, dim)
    def chunk(self, chunks: int, dim: int = 0) -> tuple: return ops.chunk(self, chunks, dim)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> "Tensor":
        """The p-norm over dim (all elements by default; "fro" is 2): linalg.vector_norm."""
        return ops.vector_norm(self, 2 if p == "fro" else p, dim, keepdim)

    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> "Tensor":
        """Category indices drawn from the weights in each row (torch.multinomial)."""
        return ops.multinomial(self, num_samples, replacement, generator=generator)

    # --- comparisons: elementwise, broadcasting, bool results without grad (as PyTorch) ------
    __hash__ = object.__hash__  # hashing stays by identity: the engine keys dicts by tensor

    def _compare(self, x: Any, op: str) -> Any:
        return ops.compare(self, x, op, strict=False)

    def __eq__(self, x: Any) -> Any: return self._compare(x, "eq")  # type: ignore[override]
    def __ne__(self, x: Any) -> Any: return self._compare(x, "ne")  # type: ignore[override]
    def __lt__(self, x: Any) -> Any: return self._compare(x, "lt")
    def __le__(self, x: Any) -> Any: return self._compare(x, "le")
    def __gt__(self, x: Any) -> Any: return self._compare(x, "gt")
    def __ge__(self, x: Any) -> Any: return self._compare(x, "ge")

    def eq(self, x: Any) -> "Tensor": return ops.compare(self, x, "eq", strict=True)
    def ne(self, x: Any) -> "Tensor": return ops.compare(self, x, "ne", strict=True)
    def lt(self, x: Any) -> "Tensor": return ops.compare(self, x, "lt", strict=True)
    def le(self, x: Any) -> "Tensor": return ops.compare(self, x, "le", strict=True)
    def gt(self, x: Any) -> "Tensor": return ops.compare(self, x, "gt", strict=True)
    def ge(self, x: Any) -> "Tensor": return ops.compare(self, x, "ge", strict=True)

    def any(self) -> "Tensor":
        """True if any element is nonzero (no gradient)."""
        return ops.AnyNonzero.apply(self)

    def all(self) -> "Tensor":
        """True if every element is nonzero (no gradient)."""
        return ops.AllNonzero.apply(self)


    # --- the network author's API: max/min, selection, joining and shape ops ------------------
    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool = False) -> Any:
        """The largest value. x.max(): over all elements; x.max(axis=a, keepdims=k): numpy's
        values along an axis; x.max(d) or x.max(dim=d, keepdim=k): PyTorch's (values, indices)
        pair. x.max(other_tensor) is x.maximum(other_tensor), as in PyTorch. Ties and NaN: see
        ops.Max."""
        if isinstance(dim, TensorMethods):
            return self.maximum(dim)
        return ops.extreme(self, "max", dim, keepdim, axis, keepdims)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool = False) -> Any:
        """The smallest value: the same spellings, tie and NaN rules as max."""
        if isinstance(dim, TensorMethods):
            return self.minimum(dim)
        return ops.extreme(self, "min", dim, keepdim, axis, keepdims)

    def maximum(self, other: Any) -> "Tensor":
        return ops.Maximum.apply(self, ops.operand(self, other))

    def minimum(self, other: Any) -> "Tensor":
        return ops.Minimum.apply(self, ops.operand(self, other))

    def abs(self) -> "Tensor": return ops.Abs.apply(self)
    def __abs__(self) -> "Tensor": return ops.Abs.apply(self)

    def where(self, condition: Any, other: Any) -> "Tensor":
        """self where condition is true, else other (PyTorch's x.where(cond, y))."""
        return ops.where(condition, self, other)

    def gather(self, dim: int, index: Any) -> "Tensor":
        """out[i][j][k] = self[i][index[i][j][k]][k] for dim=1 (likewise for any dim)."""
        return ops.gather(self, dim, index)

    def squeeze(self, dim: int | tuple | None = None) -> "Tensor":
        """Drop axes of size 1: all of them, or those in dim that have size 1 (PyTorch's)."""
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> "Tensor":
        """Insert an axis of size 1 at dim (in -ndim-1 .. ndim)."""
        return ops.unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Merge the axes start_dim..end_dim (inclusive) into one."""
        return ops.flatten(self, start_dim, end_dim)

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """value where the bool mask is True (broadcast to self's shape), else self."""
        return ops.masked_fill(self, mask, value)

    def tril(self, diagonal: int = 0) -> "Tensor":
        """The lower triangle of the last two axes (j <= i + diagonal), zeros elsewhere."""
        return ops.triangle(self, diagonal, upper=False)

    def triu(self, diagonal: int = 0) -> "Tensor":
        """The upper triangle of the last two axes (j >= i + diagonal), zeros elsewhere."""
        return ops.triangle(self, diagonal, upper=True)

    def view(self, *shape: Any) -> "Tensor":
        """The same as reshape (numpy arrays need no contiguity)."""
        return self.reshape(*shape)

    def expand(self, *sizes: Any) -> "Tensor":
        """A broadcast view to sizes; -1 keeps an axis' size; new axes go in front."""
        return ops.expand(self, *sizes)

    # --- in place, with PyTorch's rules: a tensor that requires grad changes only under
    # no_grad (a graph that saved its old values is then refused at backward) -------------------
    def __iadd__(self, x: Any) -> "Tensor": return ops.update_(self, "add_", x, augmented=True)
    def __isub__(self, x: Any) -> "Tensor": return ops.update_(self, "sub_", x, augmented=True)
    def __imul__(self, x: Any) -> "Tensor": return ops.update_(self, "mul_", x, augmented=True)
    def __itruediv__(self, x: Any) -> "Tensor":
        return ops.update_(self, "div_", x, augmented=True)
    def add_(self, other: Any, *, alpha: float = 1) -> "Tensor":
        return ops.update_(self, "add_", other, alpha)
    def sub_(self, other: Any, *, alpha: float = 1) -> "Tensor":
        return ops.update_(self, "sub_", other, alpha)
    def mul_(self, other: Any) -> "Tensor": return ops.update_(self, "mul_", other)
    def div_(self, other: Any) -> "Tensor": return ops.update_(self, "div_", other)
    def zero_(self) -> "Tensor": return ops.fill_(self, 0)
    def fill_(self, value: Any) -> "Tensor": return ops.fill_(self, value)
    def copy_(self, src: Any) -> "Tensor": return ops.copy_(self, src)
    def clamp_(self, min: float | None = None, max: float | None = None) -> "Tensor":
        return ops.clamp_(self, min, max)
