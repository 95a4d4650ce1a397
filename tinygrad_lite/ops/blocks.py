"""Elementwise formulas over large arrays, a cache-sized block at a time.

numpy evaluates `1 / (1 + np.exp(-x))` one operation at a time over the whole array. For an
array larger than the CPU's cache (a conv layer's activations, 64 x 20 x 24 x 24 floats: 2.9 MB)
each of the four operations streams the whole array from memory and back. Taken BLOCK elements
at a time, a block and its temporaries stay in the cache between the operations: each element
still gets the same operations in the same order (the same values, bit for bit), in about half
the time.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

BLOCK = 1 << 16  # elements: a float32 block is 256 KB, a few of them fit in a core's L2 cache
LARGE = 1 << 20  # bytes: from about here an array and two temporaries no longer fit in L2
                 # (the conv net's activations at batch 10, 0.46 MB, are faster in one piece)


def in_blocks(*arrays: Any) -> bool:
    """Whether blockwise splits these arguments: C-contiguous float arrays of one shape, each
    larger than LARGE."""
    first = arrays[0]
    return (type(first) is np.ndarray and first.nbytes > LARGE  # the common, small case: fast
            and all(type(a) is np.ndarray and a.dtype.kind == "f" and a.flags.c_contiguous
                    and a.shape == first.shape for a in arrays))


def blockwise(fn: Callable[..., Any], *arrays: Any) -> Any:
    """fn(*arrays, out) for an elementwise fn whose last operation writes into `out` (numpy's
    `out=`; None: into a new array), BLOCK elements at a time if in_blocks, else in one call.
    The result has the arrays' dtype (float formulas whose constants are Python numbers)."""
    if not in_blocks(*arrays):
        return fn(*arrays, None)
    out = np.empty(arrays[0].shape, np.result_type(*arrays))
    flat, into = [a.reshape(-1) for a in arrays], out.reshape(-1)
    for start in range(0, into.size, BLOCK):
        part = slice(start, start + BLOCK)
        fn(*(a[part] for a in flat), into[part])
    return out
