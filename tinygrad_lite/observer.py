"""Who watches the engine: capture's Recorder today, a profiler or a visualiser tomorrow.

An observer subclasses `Observer` and registers with `observe`; the engine calls it at four
named points, all listed in Observer's docstring. Only one observer watches at a time.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np

current: Observer | None = None  # the observer watching now, else None (read by the engine)


class Observer:
    """Whoever watches the engine subclasses this and registers with `observe` (capture's
    Recorder does; a profiler or a visualiser could). The engine calls it at four points:

    kernel(fn, args, params, out, tensors)  each numpy kernel it runs: an op's forward (from
        Function.apply, with its input tensors), an op's backward (from backprop), and every
        other kernel run through `kernel()` (a gradient sum, an optimizer's step, zero_grad);
    to_python(how)                a tensor's values leave for Python (.item(), bool(), repr...);
    new_array(data, arr)          a Tensor is built from an array made outside the ops;
    unsupported(what, why)        a feature starts that the observer may refuse (create_graph,
                                  forward mode);
    module(m)                     an nn.Module is called (capture guards its layers and mode).
    """

    def kernel(self, fn: Callable, args: Any, params: dict, out: Any, tensors: tuple = ()) -> None:
        pass

    def to_python(self, how: str) -> None:
        pass

    def new_array(self, data: np.ndarray, arr: np.ndarray) -> None:
        pass

    def unsupported(self, what: str, why: str) -> None:
        pass

    def module(self, module: Any) -> None:
        pass


@contextlib.contextmanager
def observe(observer: Observer) -> Iterator[Observer]:
    """Let `observer` watch the engine inside the with block (one observer at a time)."""
    global current
    if current is not None:
        raise RuntimeError("observe: the engine is already observed (observers do not nest)")
    current = observer
    try:
        yield observer
    finally:
        current = None


def kernel(fn: Callable, *args: Any, **params: Any) -> Any:
    """Run fn(*args, **params), a kernel other than an op's forward or backward (an optimizer's
    step, zero_grad, a check of values), where the observer sees it."""
    out = fn(*args, **params)
    if current is not None:
        current.kernel(fn, args, params, out)
    return out


def to_python(how: str) -> None:
    """Tell the observer that a tensor's values leave for Python (`how`)."""
    if current is not None:
        current.to_python(how)


def unsupported(what: str, why: str) -> None:
    """Tell the observer that a feature starts that it may refuse (it raises if it does)."""
    if current is not None:
        current.unsupported(what, why)


def module_called(module: Any) -> None:
    """Tell the observer that an nn.Module is called."""
    if current is not None:
        current.module(module)
