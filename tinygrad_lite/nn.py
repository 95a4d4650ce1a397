"""Layer modules, shaped like torch.nn: Module, Linear, Sigmoid, ReLU, Tanh, Sequential,
ModuleList."""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from . import functional as F
from .tensor import Tensor, _call, _zero_grads


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
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's grad to None (PyTorch's default, set_to_none=True)."""
        _call(_zero_grads, self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter name -> a copy of its values."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy values into the existing parameters (in place, keeping their dtype)."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        values = {k: np.asarray(v.data if isinstance(v, Tensor) else v)
                  for k, v in state_dict.items() if k in own}
        wrong = [f"{k}: expected {own[k].shape}, got {v.shape}" for k, v in values.items()
                 if v.shape != own[k].shape]
        problems = wrong + ([f"missing keys: {missing}", f"unexpected keys: {unexpected}"]
                            if strict and (missing or unexpected) else [])
        if problems:
            raise RuntimeError(f"error loading state_dict into {type(self).__name__}: "
                               + "; ".join(problems))
        for k, v in values.items():
            np.copyto(own[k].data, v, casting="same_kind")

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


class Linear(Module):
    """y = x @ Wᵀ + b, with W of shape (out_features, in_features) and b of shape (out_features,).

    init: "standard", the seed's N(0, 1) for weights and biases; "scaled", N(0, 1/in_features)
    weights (Nielsen's improved init) and N(0, 1) biases; "default", PyTorch's
    U(-1/√in, 1/√in) for both. `rng` is a numpy Generator or an int seed, for reproducible runs.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float32, init: str = "default",
                 rng: np.random.Generator | int | None = None) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear: sizes must be positive, got {in_features}, {out_features}")
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {INITS}, got {init!r}")
        rng = np.random.default_rng(rng)
        shape_w, shape_b = (out_features, in_features), (out_features,)
        if init == "default":
            k = 1 / np.sqrt(in_features)
            w, b = rng.uniform(-k, k, shape_w), rng.uniform(-k, k, shape_b)
        else:
            scale = 1 / np.sqrt(in_features) if init == "scaled" else 1.0
            w, b = rng.standard_normal(shape_w) * scale, rng.standard_normal(shape_b)
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
