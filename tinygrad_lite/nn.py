"""Layer modules, shaped like torch.nn: Module, Linear, Sigmoid, ReLU, Tanh, Sequential,
ModuleList."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Iterable, Iterator

import numpy as np

from . import functional as F
from .tensor import Tensor, _kernel, _mark_changed, _zero_grads


class Module:
    """A piece of a network. Parameters are the attributes that are Tensors requiring grad, and
    those of child modules, in the order they were assigned; `forward` says what it computes."""

    def forward(self, *args: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any) -> Tensor:
        return self.forward(*args)

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
        object.__setattr__(self, name, value)

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

    def zero_grad(self) -> None:
        """Set every parameter's grad to None (PyTorch's default, set_to_none=True)."""
        _kernel(_zero_grads, self.parameters())

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
            _mark_changed(own[k])

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


class Linear(Module):
    """y = x @ Wᵀ + b, with W of shape (out_features, in_features) and b of shape (out_features,).

    init: "standard", the seed's N(0, 1) for weights and biases; "scaled", N(0, 1/in_features)
    weights (Nielsen's improved init) and N(0, 1) biases; "default", PyTorch's
    U(-1/√in, 1/√in) for both. `rng` is a numpy Generator or an int seed, for reproducible runs.
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
            rng = np.random.default_rng(rng)
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


class Sequential(Module):
    """Modules applied in turn; child i is attribute "i", so names read "0.weight", "2.bias"."""

    def __init__(self, *modules: Module) -> None:
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)

    def __iter__(self) -> Iterator[Module]:
        return (m for _, m in self.children())

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __getitem__(self, i: int) -> Module:
        return list(self)[i]

    def forward(self, x: Tensor) -> Tensor:
        for m in vars(self).values():
            if isinstance(m, Module):
                x = m.forward(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters are registered; child i is attribute "i", so names
    read "layers.0.weight" when the list is assigned to `self.layers` (as in PyTorch)."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: item {len(self)} is a {type(module).__name__}, "
                            "not a Module")
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
