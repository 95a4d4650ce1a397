"""Layer modules, shaped like torch.nn: Module, Linear, Conv1d/2d, ConvTranspose2d, pools,
activations, Dropout, Sequential, ModuleList, the losses as modules, and for sequences Embedding,
LayerNorm, RNNCell and RNN. Gradient tools: nn.utils (clip_grad_norm_)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Iterable, Iterator

import numpy as np

from . import functional as F
from . import nn_utils as utils  # noqa: F401 (nn.utils.clip_grad_norm_)
from .creation import generator
from .observer import module_called
from .errors import ShapeError
from .ops.conv import as_tuple
from .ops.movement import stack
from .tensor import Tensor, from_numpy, kernel, mark_changed, zero_grads


_changes = 0  # how many times an attribute of a Module was set or deleted (a layer, a mode...)


def module_changes() -> int:
    """How many times an attribute of any Module was set or deleted: a layer or a parameter
    assigned or deleted, train() or eval() (capture checks it before each replay)."""
    return _changes


class Module:
    """A piece of a network. Parameters are the attributes that are Tensors requiring grad, and
    those of child modules, in the order they were assigned; `forward` says what it computes.
    `training` is True until eval() (Dropout acts only in training mode)."""

    training = True

    def forward(self, *args: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        module_called(self)
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse a list or tuple holding layers or parameters: they would not be registered."""
        if isinstance(value, (list, tuple)) and any(
                isinstance(v, Module) or (isinstance(v, Tensor) and v.requires_grad)
                for v in value):
            raise TypeError(
                f"{type(self).__name__}.{name}: a plain {type(value).__name__} of layers or "
                "parameters is not registered, so parameters(), state_dict() and optimizers "
                f"would miss them; use nn.ModuleList({name}) for layers, or assign each "
                "parameter to its own attribute")
        global _changes
        _changes += 1
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        """Deleting an attribute (a layer, a parameter) is a change, as setting one is."""
        global _changes
        _changes += 1
        object.__delattr__(self, name)

    def children(self) -> Iterator[tuple[str, "Module"]]:
        return ((k, v) for k, v in vars(self).items() if isinstance(v, Module))

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for name, value in vars(self).items():
            if isinstance(value, Tensor) and value.requires_grad:
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Tensor]:
        """Each parameter once, even if shared by several layers (an optimizer updates it once)."""
        unique = {id(p): p for _, p in self.named_parameters()}
        return list(unique.values())

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (or eval mode, mode=False) on this module and all its children."""
        self.training = bool(mode)
        for _, m in self.children():
            m.train(mode)
        return self

    def eval(self) -> "Module":
        """Eval mode: the same as train(False)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's grad to None (PyTorch's default, set_to_none=True)."""
        kernel(zero_grads, self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter name -> a copy of its values."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy values into the existing parameters (in place, keeping their dtype), all or
        nothing: every key, shape and dtype is checked first, and on any problem a RuntimeError
        lists them all and no parameter is changed. strict=False tolerates missing and
        unexpected keys."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of arrays, got "
                            f"{type(state_dict).__name__}")
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        values, problems = {}, []
        for k, v in state_dict.items():
            if k not in own:
                continue
            try:
                v = np.asarray(v.data if isinstance(v, Tensor) else v)
            except (TypeError, ValueError) as e:
                problems.append(f"{k}: not a numeric array ({e})")
                continue
            p = own[k]
            if v.dtype.kind not in "biuf" or not np.can_cast(v.dtype, p.dtype, "same_kind"):
                problems.append(f"{k}: values of dtype {v.dtype} cannot be loaded into a "
                                f"{p.dtype} parameter")
            elif v.shape != p.shape:
                problems.append(f"{k}: expected shape {p.shape}, got {v.shape}")
            values[k] = v
        if strict and (missing or unexpected):
            problems += [f"missing keys: {missing}", f"unexpected keys: {unexpected}"]
        if problems:
            raise RuntimeError(f"error loading state_dict into {type(self).__name__}: "
                               + "; ".join(problems))
        for k, v in values.items():
            np.copyto(own[k].data, v, casting="same_kind")
            mark_changed(own[k])

    def save(self, path: str) -> None:
        """Write state_dict() to an .npz checkpoint (tinygrad_lite.save)."""
        from .serialization import save
        save(self.state_dict(), path)

    def load(self, path: str) -> None:
        """Load an .npz checkpoint written by save() into this module."""
        from .serialization import load
        self.load_state_dict(load(path))

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = [f"  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(kids) + "\n)" if kids else ")")


INITS = ("standard", "scaled", "default")


def _check_memory(layer: str, count: int) -> None:
    """MemoryError naming the layer if its weights (drawn in float64) exceed the machine's RAM."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = 2**63 - 1
    if count * 8 > ram:
        raise MemoryError(f"{layer}: its weight has {count:,} elements "
                          f"({count * 8 / 2**30:,.1f} GiB as float64), more than this "
                          f"machine's {ram / 2**30:,.1f} GiB of RAM")


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """The generator for an init: the library's (manual_seed) by default, else from rng."""
    return generator() if rng is None else np.random.default_rng(rng)


class Linear(Module):
    """y = x @ Wᵀ + b, with W of shape (out_features, in_features) and b of shape (out_features,).

    init: "standard", the seed's N(0, 1) for weights and biases; "scaled", N(0, 1/in_features)
    weights (Nielsen's improved init) and N(0, 1) biases; "default", PyTorch's
    U(-1/√in, 1/√in) for both. `rng` is a numpy Generator or an int seed, for reproducible runs;
    by default the library's generator (see tinygrad_lite.manual_seed).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float32, init: str = "default",
                 rng: np.random.Generator | int | None = None) -> None:
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"Linear: {name} must be an int, got {n!r}")
            if n < 1:
                raise ValueError(f"Linear: {name} must be >= 1, got {n}")
        in_features, out_features = int(in_features), int(out_features)
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {INITS}, got {init!r}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Linear: dtype must be a numpy float dtype, got {dtype!r}") from None
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be a float dtype, got {dtype}")
        _check_memory(f"Linear({in_features}, {out_features})", in_features * out_features)
        try:
            rng = _rng(rng)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Linear: rng must be a numpy Generator or a seed >= 0, got "
                             f"{rng!r} ({e})") from None
        shape_w, shape_b = (out_features, in_features), (out_features,)
        try:
            if init == "default":
                k = 1 / np.sqrt(in_features)
                w, b = rng.uniform(-k, k, shape_w), rng.uniform(-k, k, shape_b)
            else:
                scale = 1 / np.sqrt(in_features) if init == "scaled" else 1.0
                w, b = rng.standard_normal(shape_w) * scale, rng.standard_normal(shape_b)
        except MemoryError:
            raise MemoryError(f"Linear({in_features}, {out_features}): not enough memory for a "
                              f"{shape_w} weight") from None
        self.in_features, self.out_features = in_features, out_features
        self.weight = Tensor(w, requires_grad=True, dtype=dtype)
        self.bias = Tensor(b, requires_grad=True, dtype=dtype) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class ModuleList(Module):
    """A list of modules whose parameters are registered; child i is attribute "i", so names
    read "layers.0.weight" when the list is assigned to `self.layers` (as in PyTorch)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: item {len(self)} is a "
                            f"{type(module).__name__}, not a Module")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def __iter__(self) -> Iterator[Module]:
        return (m for _, m in self.children())

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __getitem__(self, i: int) -> Module:
        return list(self)[i]


class Sequential(ModuleList):
    """Modules applied in turn; child i is attribute "i", so names read "0.weight", "2.bias"."""

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def forward(self, x: Tensor) -> Tensor:
        for m in vars(self).values():
            if isinstance(m, Module):
                x = m.forward(x)
        return x


class _ConvNd(Module):
    """The parameters of a convolution over nd spatial dims: weight (out, in/groups, *kernel),
    or (in, out/groups, *kernel) if transposed, and bias, both U(-1/√fan_in, 1/√fan_in) with
    fan_in = weight.shape[1] · |kernel| (PyTorch's default, kaiming-uniform with a = √5)."""

    nd, transposed = 2, False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int | tuple = 1, padding: int | tuple | str = 0,
                 dilation: int | tuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = np.float32, rng: Any = None) -> None:
        name = type(self).__name__
        kernel = as_tuple(kernel_size, self.nd, "kernel_size", name, 1)
        if in_channels < 1 or out_channels < 1 or groups < 1:
            raise ValueError(f"{name}: channels and groups must be positive, got "
                             f"{in_channels}, {out_channels}, groups={groups}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels {in_channels} and out_channels "
                             f"{out_channels} must both be divisible by groups={groups}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode must be 'zeros' (the only one supported), "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.padding_mode = groups, padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + kernel
        rng, k = _rng(rng), 1 / np.sqrt(shape[1] * np.prod(kernel))
        self.weight = Tensor(rng.uniform(-k, k, shape), requires_grad=True, dtype=dtype)
        self.bias = (Tensor(rng.uniform(-k, k, out_channels), requires_grad=True, dtype=dtype)
                     if bias else None)

    def extra_repr(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)}" for k, default in (
            ("output_padding", 0), ("dilation", 1), ("groups", 1))
            if getattr(self, k, default) != default)
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}{extra}, "
                f"bias={self.bias is not None}")


class Conv1d(_ConvNd):
    """out = conv1d(x, weight, bias, stride, padding, dilation, groups), weight (out_channels,
    in_channels/groups, k)."""

    nd = 1

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv2d(_ConvNd):
    """out = conv2d(x, weight, bias, stride, padding, dilation, groups) with weight
    (out_channels, in_channels/groups, kh, kw) and bias (out_channels,)."""

    nd = 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """out = conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups,
    dilation) with weight (in_channels, out_channels/groups, kh, kw): conv2d's adjoint, the
    layer that upsamples. forward(x, output_size) picks output_padding to reach output_size."""

    nd, transposed = 2, True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int | tuple = 1, padding: int | tuple = 0,
                 output_padding: int | tuple = 0, groups: int = 1, bias: bool = True,
                 dilation: int | tuple = 1, padding_mode: str = "zeros",
                 dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype, rng=rng)
        self.output_padding = output_padding

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        extra = self.output_padding
        if output_size is not None:
            extra = self._output_padding(x, tuple(output_size)[-self.nd:])
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, extra,
                                  self.groups, self.dilation)

    def _output_padding(self, x: Tensor, size: tuple) -> tuple:
        name, nd = type(self).__name__, self.nd
        stride, padding, dilation = (as_tuple(v, nd, n, name, least) for v, n, least in (
            (self.stride, "stride", 1), (self.padding, "padding", 0),
            (self.dilation, "dilation", 1)))
        base = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                zip(x.shape[-nd:], stride, padding, dilation, self.kernel_size)]
        return tuple(int(want) - b for want, b in zip(size, base))


class MaxPool2d(Module):
    """The maximum of each window (F.max_pool2d); stride defaults to kernel_size."""

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0, dilation: int | tuple = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        extra = f", dilation={self.dilation}" if self.dilation != 1 else ""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}{extra}"


class MaxPool1d(MaxPool2d):
    """The maximum of each window (F.max_pool1d); stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Any:
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    """The mean of each window (F.avg_pool2d); stride defaults to kernel_size."""

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(AvgPool2d):
    """The mean of each window (F.avg_pool1d); stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class Flatten(Module):
    """x.flatten(start_dim, end_dim): by default each example (axis 0) to one row."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)


class Dropout(Module):
    """F.dropout(x, p) in training mode; the identity after eval()."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _softmax_dim(dim: int | None, x: Tensor) -> int:
    """PyTorch's choice when dim is not given: 0 for 0-, 1- and 3-D inputs, else 1."""
    return dim if dim is not None else 0 if x.ndim in (0, 1, 3) else 1


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(dim=_softmax_dim(self.dim, x))


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(dim=_softmax_dim(self.dim, x))


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # PyTorch's Identity accepts and ignores any arguments

    def forward(self, x: Tensor) -> Tensor:
        return x


class MSELoss(Module):
    """F.mse_loss(pred, target, reduction)."""

    def __init__(self, *, reduction: str = "mean") -> None:
        self.reduction = reduction

    def forward(self, pred: Tensor, target: Any) -> Tensor:
        return F.mse_loss(pred, target, reduction=self.reduction)


class CrossEntropyLoss(MSELoss):
    """F.cross_entropy(logits, labels, reduction)."""

    def forward(self, logits: Tensor, labels: Any) -> Tensor:
        return F.cross_entropy(logits, labels, reduction=self.reduction)


class NLLLoss(MSELoss):
    """F.nll_loss(log_probs, labels, reduction)."""

    def forward(self, log_probs: Tensor, labels: Any) -> Tensor:
        return F.nll_loss(log_probs, labels, reduction=self.reduction)


# --- more activations (F.gelu, F.elu, ...) and BCEWithLogitsLoss ----------------------------------


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class CELU(ELU):
    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0,
                 inplace: bool = False) -> None:
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0)


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _Elementwise(Module):
    """An activation without parameters: forward applies `fn`, a function of functional."""
    fn = staticmethod(F.silu)

    def __init__(self, inplace: bool = False) -> None:
        pass

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)


class SiLU(_Elementwise):
    fn = staticmethod(F.silu)


class Mish(_Elementwise):
    fn = staticmethod(F.mish)


class Hardswish(_Elementwise):
    fn = staticmethod(F.hardswish)


class Softsign(_Elementwise):
    fn = staticmethod(F.softsign)


class LogSigmoid(_Elementwise):
    fn = staticmethod(F.logsigmoid)


class BCEWithLogitsLoss(Module):
    """F.binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)."""

    def __init__(self, weight: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.pos_weight,
                                                  self.reduction)

# --- sequence models ----------------------------------------------------------------------------


def _count(value: Any, name: str, layer: str) -> int:
    """A positive int argument, else TypeError / ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: {name} must be >= 1, got {value}")
    return int(value)


class Embedding(Module):
    """A table of num_embeddings vectors of size embedding_dim: out = weight[input], weight
    N(0, 1) as PyTorch's, the row padding_idx zeros (and it gets no gradient)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = np.float32, rng: np.random.Generator | int | None = None) -> None:
        n = _count(num_embeddings, "num_embeddings", "Embedding")
        d = _count(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -n <= padding_idx < n:
                raise ValueError(f"Embedding: padding_idx must lie in [{-n}, {n}), got "
                                 f"{padding_idx}")
            padding_idx = int(padding_idx) % n
        w = _rng(rng).standard_normal((n, d))
        if padding_idx is not None:
            w[padding_idx] = 0
        self.num_embeddings, self.embedding_dim, self.padding_idx = n, d, padding_idx
        self.weight = Tensor(w, requires_grad=True, dtype=dtype)

    def forward(self, input: Any) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class LayerNorm(Module):
    """F.layer_norm over the last dimensions normalized_shape, with a weight (ones) and a bias
    (zeros) of that shape if elementwise_affine (bias=False: no bias)."""

    def __init__(self, normalized_shape: int | tuple, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float32) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        self.normalized_shape, self.eps = tuple(int(n) for n in shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = Tensor(np.ones(shape), requires_grad=True, dtype=dtype) \
            if elementwise_affine else None
        self.bias = Tensor(np.zeros(shape), requires_grad=True, dtype=dtype) \
            if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


_NONLINEARITIES = {"tanh": Tensor.tanh, "relu": Tensor.relu}


def _rnn_weights(input_size: int, hidden_size: int, bias: bool, dtype: Any,
                 rng: np.random.Generator | int | None) -> list:
    """W_ih (h, in), W_hh (h, h), b_ih, b_hh (h,) (None without bias), U(-1/√h, 1/√h)."""
    rng = _rng(rng)
    k = 1 / np.sqrt(hidden_size)
    shapes = [(hidden_size, input_size), (hidden_size, hidden_size)]
    shapes += [(hidden_size,), (hidden_size,)] if bias else []
    made = [Tensor(rng.uniform(-k, k, s), requires_grad=True, dtype=dtype) for s in shapes]
    return made + [None] * (4 - len(made))


def _rnn_step(x: Tensor, h: Tensor, w: list, act: Any) -> Tensor:
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""
    return act(F.linear(x, w[0], w[2]) + F.linear(h, w[1], w[3]))


def _nonlinearity(name: str, layer: str) -> Any:
    if name not in _NONLINEARITIES:
        raise ValueError(f"{layer}: nonlinearity must be 'tanh' or 'relu', got {name!r}")
    return _NONLINEARITIES[name]


class RNNCell(Module):
    """One step of an Elman RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu), for x
    (N, input_size) or (input_size,); h defaults to zeros. Init U(-1/√h, 1/√h) as PyTorch's."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = np.float32,
                 rng: np.random.Generator | int | None = None) -> None:
        self.input_size = _count(input_size, "input_size", "RNNCell")
        self.hidden_size = _count(hidden_size, "hidden_size", "RNNCell")
        self.nonlinearity, self._act = nonlinearity, _nonlinearity(nonlinearity, "RNNCell")
        w = _rnn_weights(input_size, hidden_size, bias, dtype, rng)
        self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh = w

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input = input if isinstance(input, Tensor) else Tensor(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ShapeError(f"RNNCell: input must be (N, {self.input_size}) or "
                             f"({self.input_size},), got shape {input.shape}")
        want = input.shape[:-1] + (self.hidden_size,)
        if hx is None:
            hx = from_numpy(np.zeros(want, input.dtype))
        elif hx.shape != want:
            raise ShapeError(f"RNNCell: hx must have shape {want} for input {input.shape}, "
                             f"got {hx.shape}")
        w = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        return _rnn_step(input, hx, w, self._act)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"


class RNN(Module):
    """An Elman RNN over a sequence: for each layer l and time t,
    h_t = tanh(x_t W_ih_lᵀ + b_ih_l + h_(t-1) W_hh_lᵀ + b_hh_l), x_t being the layer below's h_t.
    input (L, N, input_size) ((N, L, input_size) if batch_first, or unbatched (L, input_size)),
    hx (num_layers, N, hidden_size), zeros by default. Returns (output: every h_t of the last
    layer, h_n: each layer's last h). PyTorch's parameter names (weight_ih_l0...) and init."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype: Any = np.float32,
                 rng: np.random.Generator | int | None = None) -> None:
        if dropout or bidirectional:
            raise NotImplementedError("RNN: dropout between layers and bidirectional are not "
                                      "supported")
        self.input_size = _count(input_size, "input_size", "RNN")
        self.hidden_size = _count(hidden_size, "hidden_size", "RNN")
        self.num_layers = _count(num_layers, "num_layers", "RNN")
        self.nonlinearity, self._act = nonlinearity, _nonlinearity(nonlinearity, "RNN")
        self.batch_first, self.bias = batch_first, bias
        rng = _rng(rng)
        for layer in range(self.num_layers):
            size = input_size if layer == 0 else hidden_size
            w = _rnn_weights(size, hidden_size, bias, dtype, rng)
            for name, t in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), w):
                setattr(self, f"{name}_l{layer}", t)

    def _weights(self, layer: int) -> list:
        return [getattr(self, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh", "bias_ih",
                                                          "bias_hh")]

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(f"RNN: input must be (L, N, {self.input_size}) (batch_first: "
                             f"(N, L, ...)) or (L, {self.input_size}), got shape {x.shape}")
        batched = x.ndim == 3
        x = x.transpose(0, 1) if batched and self.batch_first else x
        x = x if batched else x.unsqueeze(1)
        want = (self.num_layers, x.shape[1], self.hidden_size)
        if hx is None:
            hx = from_numpy(np.zeros(want, x.dtype))
        elif hx.shape != (want if batched else (want[0], want[2])):
            raise ShapeError(f"RNN: hx must have shape {want if batched else (want[0], want[2])}"
                             f", got {hx.shape}")
        elif not batched:
            hx = hx.unsqueeze(1)
        last = []
        for layer in range(self.num_layers):
            h, w, outs = hx[layer], self._weights(layer), []
            for t in range(x.shape[0]):
                h = _rnn_step(x[t], h, w, self._act)
                outs.append(h)
            x = stack(outs, 0)
            last.append(h)
        h_n = stack(last, 0)
        if not batched:
            return x.squeeze(1), h_n.squeeze(1)
        return (x.transpose(0, 1) if self.batch_first else x), h_n

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"batch_first={self.batch_first}")
