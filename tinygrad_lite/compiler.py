"""Capture's compiler: small passes over the recorded kernels, then straight-line numpy source.

A captured step is a list of kernel calls (fn, args, params, out), as `capture.Recorder` saw
them. The passes below rewrite that list; each is one small function returning the new list and
how many places it changed, and `step.source` starts with a comment listing them:

    lower     an op's forward or backward whose body is a few numpy calls (Affine, Sigmoid,
              SquaredError, Matmul) becomes those calls, in the same order, so the passes after
              can see its parts (not Sigmoid on arrays that its kernel takes in blocks);
    fold      a transpose of a parameter (Wᵀ) is taken once, at compile time: the optimizers
              change parameters in place, so the view stays valid;
    common    a pure numpy call repeated with the same arguments (SquaredError's a - y, in its
              forward and its backward) is computed once;
    dead      a pure call whose result nobody reads is dropped (a kernel with side effects, such
              as an optimizer's step or a gradient's store, and the returned value, are kept);
    scalars   a constant number given to an elementwise call (σ's 1 + e) becomes a 0-d array of
              the call's dtype once, at compile time, rather than at every call;
    buffers   a numpy call that can write into an array (`out`) writes into one planned once,
              at compile time, instead of a new array at every replay; an array nobody reads
              any more lends its buffer to a later one of its shape.

Every pass keeps the floating-point operations and their order exactly: a replay stays
bit-identical to the eager step. Two rewrites that would not are left out on purpose: computing
σ'(z) = σ(1 - σ) another way (g*σ*(1-σ) rounds differently from g*(σ - σ²)), and writing a
gradient where the eager step zeroes an array and adds into it (0 + (-0.0) is +0.0, so a copy
of the gradient would differ in the sign of its zeros).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .ops import Affine, Matmul, Sigmoid, SquaredError
from .ops.blocks import in_blocks
from .tensor import Function


@dataclass
class Instr:
    """One call of the step: out = fn(*args, [into,] **params).

    `into` is a planned buffer the call writes into (numpy's `out`, passed last)."""
    fn: Callable
    args: tuple
    params: dict
    out: Any
    into: np.ndarray | None = None


quiet_exp = np.errstate(over="ignore")(np.exp)  # σ's e^-x, overflow to inf silent (as in eager)
quiet_exp.__name__ = quiet_exp.__qualname__ = "quiet_exp"

# numpy calls that return a new array and keep no reference to their arguments
FRESH = {np.matmul, np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.exp,
         quiet_exp, np.add.reduce, np.vdot, operator.mul}
VIEWS = {np.transpose, np.asarray}  # may return (a view of) their argument
NO_OUT = {np.vdot, operator.mul}  # FRESH calls without an `out` argument


def loss_scale(g: Any, c: float) -> float:
    """SquaredError.backward's factor 2c·g for a scalar seed g, computed as it computes it."""
    return 2 * c * float(g)


def from_calls(calls: list[tuple]) -> list[Instr]:
    """The recorder's (fn, args, params, out) tuples as instructions."""
    return [Instr(fn, tuple(args), dict(params), out) for fn, args, params, out in calls]


# --- lower: an op's kernel as the numpy calls it makes ---------------------------------------

def _affine_forward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    x, w, b = args
    if x.ndim != 2 or w.ndim != 2:
        return None
    wt = np.transpose(w)
    t = np.matmul(x, wt)
    return [Instr(np.transpose, (w,), {}, wt), Instr(np.matmul, (x, wt), {}, t),
            Instr(np.add, (t, b), {}, out)]


def _affine_backward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    g, _, x, w, _ = args
    if x.ndim != 2:
        return None
    gx, gw, gb = out
    code = [Instr(np.matmul, (g, w), {}, gx)] if gx is not None else []
    if gw is not None:
        gt = np.transpose(g)
        code += [Instr(np.transpose, (g,), {}, gt), Instr(np.matmul, (gt, x), {}, gw)]
    if gb is not None:
        code.append(Instr(np.add.reduce, (g, 0, None), {}, gb))
    return code


def _sigmoid_forward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    (x,) = args
    if in_blocks(x):  # large: the op's own kernel, in cache-sized blocks
        return None
    n = np.negative(x)
    e = quiet_exp(n)
    s = np.add(1, e)
    return [Instr(np.negative, (x,), {}, n), Instr(quiet_exp, (n,), {}, e),
            Instr(np.add, (1, e), {}, s), Instr(np.true_divide, (1, s), {}, out)]


def _sigmoid_backward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    g, y = args[0], args[1]
    if in_blocks(g, y):
        return None
    a, b = np.multiply(g, y), np.subtract(1, y)
    return [Instr(np.multiply, (g, y), {}, a), Instr(np.subtract, (1, y), {}, b),
            Instr(np.multiply, (a, b), {}, out[0])]


def _squared_forward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    a, y = args
    d = np.subtract(a, y)
    if d.dtype.kind != "f":
        return None
    s = np.vdot(d, d)
    m = operator.mul(s, params["c"])
    return [Instr(np.subtract, (a, y), {}, d), Instr(np.vdot, (d, d), {}, s),
            Instr(operator.mul, (s, params["c"]), {}, m), Instr(np.asarray, (m,), {}, out)]


def _squared_backward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    g, _, a, y = args
    if not isinstance(g, np.ndarray) or g.ndim != 0:
        return None
    d, k = np.subtract(a, y), loss_scale(g, params["c"])
    da, dy = out
    tmp = da if da is not None else np.multiply(d, k)
    code = [Instr(np.subtract, (a, y), {}, d), Instr(loss_scale, (g, params["c"]), {}, k),
            Instr(np.multiply, (d, k), {}, tmp)]
    return code + ([Instr(np.negative, (tmp,), {}, dy)] if dy is not None else [])


def _matmul_forward(args: tuple, params: dict, out: Any) -> list[Instr] | None:
    a, b = args
    return [Instr(np.matmul, (a, b), {}, out)] if a.ndim == 2 and b.ndim == 2 else None


LOWERINGS: dict[Callable, Callable] = {
    Affine.forward: _affine_forward, Affine.backward: _affine_backward,
    Sigmoid.forward: _sigmoid_forward, Sigmoid.backward: _sigmoid_backward,
    SquaredError.forward: _squared_forward, SquaredError.backward: _squared_backward,
    Matmul.forward: _matmul_forward,
}


def lower(prog: list[Instr]) -> tuple[list[Instr], int]:
    """Replace each kernel in LOWERINGS by its numpy calls (same operations, same order)."""
    new, count = [], 0
    for ins in prog:
        rule = LOWERINGS.get(ins.fn)
        code = rule(ins.args, ins.params, ins.out) if rule and not ins.into else None
        if code is None:
            new.append(ins)
        else:
            new += code
            count += 1
    return new, count


# --- which calls are pure --------------------------------------------------------------------

def _op_kernels() -> set:
    """The forward and backward of every Function subclass: pure functions of their arrays."""
    kernels, stack = set(), list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        kernels.update(f for f in (cls.__dict__.get("forward"), cls.__dict__.get("backward"))
                       if f is not None)
    return {getattr(k, "__func__", k) for k in kernels}


def is_pure(ins: Instr, op_kernels: set) -> bool:
    """No effect but its result: a numpy call of FRESH or VIEWS, loss_scale, or an op's kernel."""
    return (ins.fn in FRESH or ins.fn in VIEWS or ins.fn is loss_scale
            or ins.fn in op_kernels)


def _outs(ins: Instr) -> tuple:
    return tuple(o for o in (ins.out if isinstance(ins.out, tuple) else (ins.out,))
                 if o is not None)


def _key(obj: Any) -> Any:
    """What identifies an argument: an array by identity, a constant by value."""
    if isinstance(obj, (tuple, list)):
        return (type(obj), tuple(_key(o) for o in obj))
    if isinstance(obj, (int, float, str, bool, type(None))) and type(obj) is not np.ndarray:
        return (type(obj), obj, id(obj))  # a computed float is a value of the step
    return id(obj)


# --- common: one call for repeated pure numpy calls -------------------------------------------

def eliminate_common(prog: list[Instr], inputs: list = (),
                     returned: list = ()) -> tuple[list[Instr], int]:
    """A FRESH call with the same function and arguments as an earlier one reads the earlier
    result instead, unless a call with side effects came between that could have changed one
    of the arguments in place: any, if it was given an array made in the step (perhaps a view
    of another); else any but the inputs and the new arrays pure calls made (not views: an
    op's result may be a view of a parameter that an optimizer's step changes). A returned
    result is computed again: the step returns it as an array of its own."""
    ops, seen, alias, new, count = _op_kernels(), {}, {}, [], 0
    made = {id(a) for a in inputs}
    owned, kept = set(made), {id(r) for r in returned}
    for ins in prog:
        args = tuple(alias.get(id(a), a) for a in ins.args)
        ins = Instr(ins.fn, args, ins.params, ins.out, ins.into)
        if not is_pure(ins, ops):  # it may write into an array it is given, or a view's base
            steps = any(isinstance(a, np.ndarray) and id(a) in made for a in _flat(ins.args))
            seen = {} if steps else {k: v for k, v in seen.items()
                                     if all(i in owned for i in _ids(k[1]))}
        elif ins.fn in FRESH and not ins.params and ins.into is None:
            key = (ins.fn, tuple(_key(a) for a in args))
            if key in seen and id(ins.out) not in kept:
                alias[id(ins.out)] = seen[key]
                count += 1
                continue
            seen.setdefault(key, ins.out)
        owned.update(_new_arrays(ins) if is_pure(ins, ops) else ())
        made.update(id(o) for o in _outs(ins))
        new.append(ins)
    _rename(new, alias)
    return new, count


def _new_arrays(ins: Instr) -> list[int]:
    """The ids of the arrays a pure call made: neither views nor its arguments."""
    return [id(o) for o in _outs(ins) if isinstance(o, np.ndarray) and o.base is None
            and id(o) not in _reads(ins)]


def _flat(args: tuple) -> list:
    return [o for a in args for o in (a if isinstance(a, (tuple, list)) else (a,))]


def _ids(key: tuple) -> list[int]:
    """The array ids in a key made by _key (its plain ints)."""
    return [k for k in key if type(k) is int]


def _rename(prog: list[Instr], alias: dict) -> None:
    """Arguments and params (an index array, say) that name an eliminated result name the
    earlier one."""
    def new(a: Any) -> Any:
        if isinstance(a, (tuple, list)) and any(id(o) in alias for o in a):
            return type(a)(alias.get(id(o), o) for o in a)
        return alias.get(id(a), a)
    for ins in prog:
        ins.args = tuple(new(a) for a in ins.args)
        ins.params = {k: new(v) for k, v in ins.params.items()}


# --- fold: views of arrays made outside the step, taken once ---------------------------------

def fold_views(prog: list[Instr], inputs: list = ()) -> tuple[list[Instr], int]:
    """A view (Wᵀ) of an array made outside the step and not an input (a parameter, changed in
    place by the optimizers) is the same view at every replay: take it once, here."""
    made, new = {id(a) for a in inputs}, []
    for ins in prog:
        if ins.fn is np.transpose and not any(i in made for i in _reads(ins)):
            continue  # its result, the view taken while lowering, is now a constant
        made.update(id(o) for o in _outs(ins))
        new.append(ins)
    return new, len(prog) - len(new)


# --- dead: drop pure calls whose results nobody reads ----------------------------------------

def _reads(ins: Instr) -> list[int]:
    ids = []
    for a in (*ins.args, *ins.params.values()):
        ids += [id(o) for o in a] if isinstance(a, (tuple, list)) else [id(a)]
    return ids


def eliminate_dead(prog: list[Instr], returned: list) -> tuple[list[Instr], int]:
    """Walk backwards from the returned arrays and every impure call (optimizer steps,
    gradient stores, checks of values); drop the pure calls none of them reads."""
    ops, live = _op_kernels(), {id(r) for r in returned}
    kept = []
    for ins in reversed(prog):
        if is_pure(ins, ops) and not any(id(o) in live for o in _outs(ins)):
            continue
        live.update(_reads(ins))
        kept.append(ins)
    return kept[::-1], len(prog) - len(kept)


# --- scalars: numbers as 0-d arrays, converted once ----------------------------------------

ELEMENTWISE = {np.add, np.subtract, np.multiply, np.true_divide}


def _constant(number: Any, dtype: np.dtype) -> np.ndarray:
    """number as a read-only 0-d array of dtype (the source names it by its value)."""
    a = np.array(number, dtype)
    a.flags.writeable = False
    return a


def scalars_to_arrays(prog: list[Instr]) -> tuple[list[Instr], int]:
    """A constant number given to an elementwise call with a float result (σ's 1 + e) is
    converted by numpy at every call to the result's dtype; convert it once, here, to a 0-d
    array of that dtype: the same value, so the same bits, and a faster call. A number the
    step computes (loss_scale's) stays as it is."""
    computed, made, count = set(), {}, 0
    for ins in prog:
        if (ins.fn in ELEMENTWISE and type(ins.out) is np.ndarray
                and ins.out.dtype.kind == "f"):
            args = tuple(made.setdefault((type(a), repr(a), ins.out.dtype),  # -0.0 is not 0.0
                                         _constant(a, ins.out.dtype))
                         if isinstance(a, (int, float, np.floating)) and id(a) not in computed
                         else a for a in ins.args)
            count += sum(a is not b for a, b in zip(args, ins.args))
            ins.args = args
        computed.update(id(o) for o in _outs(ins))
    return prog, count


# --- buffers: write into arrays planned once ------------------------------------------------

def _escaping(prog: list[Instr], returned: list) -> set[int]:
    """Arrays that outlive the replay or may be kept by a call: returned ones, arguments of
    calls outside FRESH, and (through VIEWS) the arrays such a view was taken of."""
    esc = {id(r) for r in returned}
    for ins in reversed(prog):
        if ins.fn in FRESH:
            continue
        if ins.fn in VIEWS and not any(id(o) in esc for o in _outs(ins)):
            continue
        esc.update(_reads(ins))
    return esc


def _last_reads(prog: list[Instr]) -> dict[int, int]:
    """For each array, the index of the last call that reads it, itself or a view of it."""
    last: dict[int, int] = {}
    for i in range(len(prog) - 1, -1, -1):
        ins = prog[i]
        for r in _reads(ins):
            last.setdefault(r, i)
        if ins.fn in VIEWS:  # reading the view later reads its base then
            for o in _outs(ins):
                for r in _reads(ins):
                    last[r] = max(last[r], last.get(id(o), i))
    return last


def plan_buffers(prog: list[Instr], returned: list) -> tuple[list[Instr], int]:
    """Give each array made by a FRESH call with an `out` argument, and kept by no one after
    the replay, a buffer allocated here once; the call writes into it. A buffer whose value
    nobody reads any more is used again for a later array of its shape, dtype and layout, so
    the step works in few arrays, warm in the cache, as fresh arrays from malloc would be."""
    esc, last, count = _escaping(prog, returned), _last_reads(prog), 0
    free: dict[tuple, list] = {}  # (shape, dtype, strides) -> buffers whose values are dead
    release: dict[int, list] = {}  # call index -> buffers free once that call has run
    for i, ins in enumerate(prog):
        out = ins.out
        if (ins.fn in FRESH and ins.fn not in NO_OUT and not ins.params and ins.into is None
                and type(out) is np.ndarray and id(out) not in esc):
            key = (out.shape, out.dtype, out.strides)
            pool = free.get(key)
            ins.into = pool.pop() if pool else np.empty_like(out)
            release.setdefault(last.get(id(out), i), []).append((key, ins.into))
            count += 1
        for key, buf in release.pop(i, ()):
            free.setdefault(key, []).append(buf)
    return prog, count


PASSES: list[tuple[str, Callable]] = [  # each run(prog, inputs, returned) -> (prog, count)
    ("lower", lambda prog, inputs, returned: lower(prog)),
    ("fold", lambda prog, inputs, returned: fold_views(prog, inputs)),
    ("common", lambda prog, inputs, returned: eliminate_common(prog, inputs, returned)),
    ("dead", lambda prog, inputs, returned: eliminate_dead(prog, returned)),
    ("scalars", lambda prog, inputs, returned: scalars_to_arrays(prog)),
    ("buffers", lambda prog, inputs, returned: plan_buffers(prog, returned)),
]


def compile_calls(calls: list[tuple], inputs: list, returned: list,
                  passes: list[tuple[str, Callable]] | None = None
                  ) -> tuple[list[Instr], list[str]]:
    """Run the passes over the recorded calls of a step with these input arrays and returned
    arrays: the program and one note per pass."""
    prog, notes = from_calls(calls), []
    for name, run in PASSES if passes is None else passes:
        before = len(prog)
        prog, count = run(prog, inputs, returned)
        notes.append(f"{name} {count} ({before} -> {len(prog)} calls)")
    return prog, notes


def emit(prog: list[Instr], notes: list[str], names: dict, namespace: dict,
         ref: Callable[[Any], str], const: Callable[[Any], str], keep: list = ()) -> list[str]:
    """Lines of the step's body: `names` maps ids of arrays to their names in the source, and
    `ref`/`const` name an argument or a constant (capture's code generator lends them). A
    variable is deleted after its last use, unless it is in `keep` (returned), so the step
    holds no more memory than the eager step, which frees each array as it is done with it."""
    lines = ["    # passes (what each changed):"] + [f"    #   {n}" for n in notes] if notes else []
    scalars: set[int] = set()  # ids of Python numbers computed by the step (loss_scale)
    last = {r: i for i, ins in enumerate(prog) for r in _reads(ins)}
    variables, kept = set(), {id(k) for k in keep}

    def arg(a: Any) -> str:
        return names[id(a)] if id(a) in scalars else ref(a)

    buffers: dict[int, str] = {}  # a buffer used again keeps its name
    for i, ins in enumerate(prog):
        call = [arg(a) for a in ins.args]
        if ins.into is not None:
            name = buffers.setdefault(id(ins.into), f"b{len(buffers)}")
            namespace[name] = ins.into
            call.append(name)
        call += [f"{k}={ref(v)}" for k, v in ins.params.items()]
        text = (f"{call[0]}.T" if ins.fn is np.transpose and len(call) == 1 else  # the same view
                f"{const(ins.fn)}({', '.join(call)})")
        if ins.into is not None:
            names[id(ins.out)] = name
        else:
            fresh = [id(o) for o in _outs(ins) if id(o) not in names]
            text = f"{_targets(ins.out, names)} = {text}"
            variables.update(o for o in fresh if o in names)
            if ins.fn is loss_scale:
                scalars.add(id(ins.out))
        lines.append(f"    {text}")
        done = [o for o in {*_reads(ins), *(id(o) for o in _outs(ins))}
                if o in variables and o not in kept and last.get(o, i) <= i]
        if done:
            lines.append("    del " + ", ".join(sorted((names[o] for o in done),
                                                         key=lambda n: int(n[1:]))))
            variables.difference_update(done)
    return lines


def _targets(out: Any, names: dict) -> str:
    outs = out if isinstance(out, tuple) else (out,)
    targets = []
    for o in outs:
        if not isinstance(o, (np.ndarray, np.generic, float)):
            targets.append("_")
        else:
            names.setdefault(id(o), f"v{len(names)}")
            targets.append(names[id(o)])
    return ", ".join(targets) + ("," if isinstance(out, tuple) and len(outs) == 1 else "")
