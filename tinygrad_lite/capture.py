"""Capture and replay: record one training step once, then run it as straight-line numpy code.

    step = capture(train_step)        # train_step(x, y): forward, cost, zero_grad, backward, step
    for x, y in batches:
        loss = step(x, y)             # first call: runs eagerly and records; later: replays

While the first call runs, every kernel the engine executes (each op's forward and backward,
the engine's gradient sums, the optimizer's update) is recorded with the arrays it read and
wrote. The record becomes a Python function of the inputs, one line per kernel, with no graph
building, no topological sort and no Tensor objects; `step.source` shows it. Replaying calls the
very same numpy functions in the very same order, so parameters come out bit-identical to the
eager loop.

The recorder is an `observer.Observer`: the engine tells it of every kernel it runs (each op's
forward and backward, a gradient sum, a leaf's store, an optimizer's step, zero_grad, a value
check such as cross_entropy's label range, which thus runs again at every replay and raises the
same error as eagerly), of each way from values to Python (refused), and of each Tensor built
from an array (checked where it is made).

What could make a replay differ from the eager step is refused with CaptureError:
- a batch of another shape or dtype than the captured one (run that batch eagerly), or inputs
  aliased otherwise than at capture (the same array passed twice, then two arrays, or the
  reverse); an input that is a parameter's array is refused at capture;
- any way from a tensor's values to Python during capture: `.data`, `.grad` (read or set),
  `.numpy()`, `.item()`, `.tolist()`, `float()`, `bool()` (an `if` on a tensor), `np.asarray`,
  `repr`/`str`/`format`; the step could branch on them. `argmax` is an op, so its result is
  computed at replay;
- a Tensor built from an array made outside the engine's ops (pass such arrays as inputs), and
  indexing with a boolean mask computed in the step (the result's shape depends on the data);
- an input Tensor that requires grad (a replay would not give it a gradient);
- create_graph=True and forward mode (dual_level, jvp, hvp): their rules compute masks and
  tangents outside the recorded kernels. First-order autograd.grad, vjp and the reverse-mode
  jacobian are recorded like backward().

What the replay checks and re-captures for (running the step eagerly and recording it anew, so
no stale replay runs): a module the step called switched between train() and eval(), or given
another layer, parameter, array (`p.data = ...`) or setting (Dropout's p) since; checked in full
only when some module's attribute or some tensor's array was set since the last check.

What remains the caller's to keep constant between replays: Python values the step reads from
outside (a global, a closure variable, a learning rate schedule written as a Python number in
the step) are frozen at capture, while an optimizer's own settings (`lr`) are
read afresh by each replay of its step; objects the step makes (an optimizer, a layer, a Tensor
from a Python list) are made once, at capture, and reused; arrays from outside are read live, so
changing them in place is seen, replacing them is not. A random array drawn in the step is
refused (an array made outside the ops); a random Python number is frozen. Replay assumes parameters are changed in place (as the optimizers and
load_state_dict do).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import compiler
from .nn import Module, module_changes
from .observer import Observer, observe
from .tensor import Tensor, data_of, from_numpy, next_number, replacements


class CaptureError(RuntimeError):
    """A step cannot be captured, or a replay was asked for inputs it was not captured for."""


class Recorder(Observer):
    """Collects (function, args, params, result) for every kernel run during capture, and
    refuses what a replay could not repeat (see observer.Observer for when each is called)."""

    def __init__(self, inputs: list[np.ndarray]) -> None:
        self.calls: list[tuple] = []
        self.inputs = inputs
        self.input_ids = {id(a): i for i, a in enumerate(inputs)}
        self.produced = set(self.input_ids)
        self.read: set[int] = set()  # ids of the arrays given to the kernels so far
        self.computed: set[int] = set()  # ids of the new arrays the kernels made
        self.first = next_number()  # tensors numbered below existed before capture
        self.modules: dict[int, Module] = {}  # the modules called, guarded at each replay
        self.outside: dict[int, Tensor] = {}  # tensors from before the step (parameters)

    def kernel(self, fn: Callable, args: Any, params: dict, out: Any,
               tensors: tuple = ()) -> None:
        for t in tensors:  # a tensor from outside the step (a parameter) holding an input array
            if t.number >= self.first:
                continue
            self.outside[id(t)] = t
            i = self.input_ids.get(id(data_of(t)))
            if i is not None:
                raise CaptureError(
                    f"input {i} of shape {t.shape} is the array of a tensor made outside the "
                    "step (a parameter?); a replay would read the new input in its place; pass "
                    "a copy")
        for v in params.values():
            for a in (v if isinstance(v, tuple) else (v,)):
                if isinstance(a, np.ndarray) and a.dtype == bool and id(a) in self.produced:
                    raise CaptureError(
                        f"indexing with a boolean mask of shape {a.shape} computed in the step: "
                        "the result's shape depends on the data, so it cannot be replayed; "
                        "run it eagerly")
        self.calls.append((fn, tuple(args), dict(params), out))
        for a in (*args, *params.values()):
            self.read.update(id(o) for o in (a if isinstance(a, (tuple, list)) else (a,)))
        for o in (out if isinstance(out, tuple) else (out,)):
            self.produced.add(id(o))
            if isinstance(o, np.ndarray) and id(o) not in self.read:
                self.computed.add(id(o))  # a new array (not a kernel's argument returned)

    def to_python(self, what: str) -> None:
        raise CaptureError(f"{what} reads a tensor's values while a step is being captured: the "
                           "step could depend on the data, so it cannot be replayed; run it "
                           "eagerly")

    def unsupported(self, what: str, why: str) -> None:
        raise CaptureError(f"{what} cannot be captured: {why}; run this step eagerly")

    def module(self, module: Module) -> None:
        self.modules[id(module)] = module



    def new_array(self, data: np.ndarray, arr: np.ndarray) -> None:
        """A Tensor is being built from `data`, cast to `arr`."""
        if id(data) not in self.produced:
            raise CaptureError(
                f"a Tensor was built from an array of shape {data.shape} made outside the "
                "engine's ops while capturing; it may depend on the data, so pass it to the "
                "captured function as an input")
        if arr is not data:
            self.kernel(np.ndarray.astype, (data, arr.dtype), {}, arr)


def _state(modules: list, tensors: list) -> tuple:
    """What a replay assumes still holds: the called modules' layers, parameters, settings and
    train/eval mode, and the arrays of the tensors from outside the step that it used."""
    return (tuple(_module_state(m) for m in modules), tuple(id(data_of(t)) for t in tensors))


def _module_state(m: Module) -> tuple:
    """A module's mode, and what each attribute is: a layer (recursively), a tensor and its
    array, a setting's value, or another object's identity."""
    items = []
    for k, v in vars(m).items():
        if isinstance(v, Module):
            items.append((k, id(v), _module_state(v)))
        elif isinstance(v, Tensor):
            items.append((k, id(v), id(data_of(v))))
        elif v is None or isinstance(v, (bool, int, float, str, tuple)):
            items.append((k, v))
        else:
            items.append((k, id(v)))
    return (type(m), m.training, tuple(items))


def _is_literal(obj: Any) -> bool:
    """Python constants whose repr reads back as the same value."""
    if obj is None or type(obj) in (bool, int, float, str):
        return obj == obj and obj not in (float("inf"), float("-inf"))  # not nan or inf
    return type(obj) is tuple and all(_is_literal(o) for o in obj)


def _codegen(rec: Recorder, result: Any) -> tuple[str, dict]:
    """Python source for the recorded calls, and the namespace of constants it refers to."""
    names: dict[int, str] = {id(a): f"x{i}" for i, a in enumerate(rec.inputs)}
    namespace: dict[str, Any] = {}
    constants: dict[int, str] = {}

    def const(obj: Any) -> str:
        if _is_literal(obj):
            return repr(obj)
        if id(obj) not in constants:
            if (isinstance(obj, np.ndarray) and obj.ndim == 0 and obj.dtype.kind == "f"
                    and not obj.flags.writeable and obj.base is None):  # a constant number
                name = f"{obj.dtype.name}_{obj.item()!r}".replace(".", "p").replace("-", "m")
                if name.isidentifier():  # float32_1p0
                    name += f"_{len(constants)}" if name in namespace else ""
                    constants[id(obj)] = name
                    namespace[name] = obj
                    return name
            if isinstance(obj, np.dtype):
                label = obj.name
            elif callable(obj):
                label = getattr(obj, "__qualname__", "").replace(".", "_").replace(
                    "<", "").replace(">", "").lstrip("_")
            else:
                label = ""
            constants[id(obj)] = f"{label or 'c'}_{len(constants)}"
            namespace[constants[id(obj)]] = obj
        return constants[id(obj)]

    def ref(obj: Any) -> str:
        if isinstance(obj, (np.ndarray, np.generic)) and id(obj) in names:
            return names[id(obj)]
        if isinstance(obj, np.ndarray) and id(obj) in rec.computed:  # never frozen as a constant
            raise CaptureError(f"an array of shape {obj.shape} made in the step has no call "
                               "that computes it in the replay; run this step eagerly")
        if isinstance(obj, (tuple, list)) and any(isinstance(o, (np.ndarray, np.generic))
                                                  for o in obj):  # e.g. an index (rows, labels)
            items = "".join(ref(o) + ", " for o in obj)
            return f"({items})" if isinstance(obj, tuple) else f"[{items}]"
        return const(obj)

    returned = [data_of(r) for r in (result if isinstance(result, tuple) else (result,))
                if isinstance(r, Tensor)]
    prog, notes = compiler.compile_calls(rec.calls, rec.inputs, returned)
    lines = compiler.emit(prog, notes, names, namespace, ref, const, returned)
    ret = (ref(data_of(result)) if isinstance(result, Tensor) else
           "(" + ", ".join(ref(data_of(r)) for r in result) + ",)" if isinstance(result, tuple)
           else "None")
    args = ", ".join(f"x{i}" for i in range(len(rec.inputs)))
    checks = [f"x{i}.shape != {a.shape!r} or x{i}.dtype != {const(a.dtype)}"
              for i, a in enumerate(rec.inputs)]
    for i, a in enumerate(rec.inputs):  # the same array passed twice must stay so, and v.v.
        checks += [f"x{i} is {'not ' if a is b else ''}x{j}" for j, b in enumerate(rec.inputs[:i])]
    guard = " or ".join(checks) or "False"
    namespace["mismatch"] = _mismatch(rec.inputs)
    source = (f"def step({args}):\n    if {guard}:\n        mismatch({args})\n"
              + "\n".join(lines) + f"\n    return {ret}\n")
    return source, namespace


def _describe(arrays: Any) -> str:
    return ", ".join(f"{a.shape} {a.dtype}" for a in arrays)


def _aliasing(arrays: Any) -> list[int]:
    """For each array, the position of the first one that is the same object."""
    return [next(j for j, b in enumerate(arrays) if b is a) for a in arrays]


def _mismatch(captured: list[np.ndarray]) -> Callable[..., None]:
    """What a replay does when its inputs are not of the captured shapes, dtypes and aliasing."""
    expected, pattern = _describe(captured), _aliasing(captured)

    def mismatch(*arrays: np.ndarray) -> None:
        if _describe(arrays) == expected:
            raise CaptureError(
                f"this step was captured with inputs aliased as {pattern} (for each input, the "
                f"first that is the same array), got {_aliasing(arrays)}; a replay needs the "
                "same array passed at the same positions; run it eagerly")
        raise CaptureError(f"this step was captured for inputs {expected}, got "
                           f"{_describe(arrays)}; run this batch eagerly")
    return mismatch


def _input_array(x: Any, i: int) -> np.ndarray:
    if not isinstance(x, Tensor):
        return np.asarray(x)
    if x.requires_grad:
        raise CaptureError(f"input {i} of shape {x.shape} requires grad: a captured step takes "
                           "data, and would not give it a gradient; pass x.detach()")
    return data_of(x)


class CapturedStep:
    """A function captured on its first call and replayed after; see the module docstring."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.source: str | None = None
        self._replay: Callable | None = None
        self._n_inputs = 0
        self._result_kind: Any = None
        self._guarded: tuple = ([], [])  # the modules and outside tensors the step used
        self._clock: tuple = ()  # (module_changes(), replacements()) when last checked
        self._state: tuple = ()
        self.captures = 0  # how many times the step was captured (a change re-captures it)

    def __call__(self, *inputs: Any) -> Any:
        arrays: Any = inputs
        for x in inputs:
            if x.__class__ is not np.ndarray:
                arrays = [_input_array(x, i) for i, x in enumerate(inputs)]
                break
        if self._replay is None or (
                (module_changes(), replacements()) != self._clock and not self._unchanged()):
            return self._capture(list(arrays))
        if len(arrays) != self._n_inputs:
            raise CaptureError(f"this step was captured for {self._n_inputs} inputs, "
                               f"got {len(arrays)}")
        out = self._replay(*arrays)  # its first line checks the shapes and dtypes
        if self._result_kind is Tensor:
            return from_numpy(out if out.__class__ is np.ndarray else np.asarray(out))
        if self._result_kind is tuple:
            return tuple(from_numpy(np.asarray(o)) for o in out)
        return None

    def _unchanged(self) -> bool:
        """Whether what the replay assumes still holds, checked in full (__call__ asks only
        after a module's attribute was set or a tensor's array replaced somewhere since the
        last check)."""
        self._clock = (module_changes(), replacements())
        return _state(*self._guarded) == self._state

    def _capture(self, arrays: list[np.ndarray]) -> Any:
        rec = Recorder(arrays)
        try:
            with observe(rec):
                result = self.fn(*[from_numpy(a) for a in arrays])
        except RuntimeError as e:
            if "already observed" not in str(e):
                raise
            raise CaptureError("capture cannot be nested") from None
        if not (result is None or isinstance(result, Tensor) or
                (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result))):
            raise CaptureError("a captured function must return a Tensor, a tuple of Tensors, "
                               f"or None; got {type(result).__name__}")
        self.source, namespace = _codegen(rec, result)
        exec(compile(self.source, f"<captured {getattr(self.fn, '__name__', 'step')}>", "exec"),
             namespace)
        self._replay, self._n_inputs = namespace["step"], len(arrays)
        self._guarded = (list(rec.modules.values()), list(rec.outside.values()))
        self._state = _state(*self._guarded)
        self._clock = (module_changes(), replacements())
        self.captures += 1
        self._result_kind = type(result) if result is not None else None
        return result


def capture(fn: Callable[..., Any]) -> CapturedStep:
    """Wrap a training step so it is recorded on its first call and replayed after."""
    return CapturedStep(fn)
