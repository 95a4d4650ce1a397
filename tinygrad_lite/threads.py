"""How many threads numpy's BLAS may use for the matrix products of training and evaluation.

The products of small networks are too small to share between threads: starting and syncing
them costs more than the product, and beside another busy process the threads wait for each
other's cores. Measured on a 2-core machine (OpenBLAS, float32, rows x 784 @ 784 x out, median
of 7 interleaved runs, other processes busy), time with 2 threads over time with 1:

    rows x out        10 x 300   100 x 300   100 x 1000   1000 x 300   10000 x 300   10000 x 1000
    multiply-adds     2.4e6      2.4e7       7.8e7        2.4e8        2.4e9         7.8e9
    2 threads / 1     25         49          16           0.91         0.56          0.79

Below about 1e6 multiply-adds OpenBLAS uses one thread anyway. Hence the rule of `pick_threads`:
one thread below CROSSOVER multiply-adds in the largest product, BLAS's default above.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from threadpoolctl import threadpool_info, threadpool_limits

CROSSOVER = 1e9  # multiply-adds in one product from which more BLAS threads pay off


def pick_threads(batch_size: int, model: Any) -> int | None:
    """1 if the largest matrix product of a step (batch_size rows times the biggest weight
    matrix of the model, in x out) has fewer than CROSSOVER multiply-adds, else None (BLAS's
    default). The seed's 784-30-10 at batch 10 (2.4e5) and 784-300-10 at batch 20 (4.7e6) get
    one thread; evaluating 784-300-10 on 10,000 images at once (2.4e9) gets the default."""
    largest = max((p.numel() for p in model.parameters() if p.ndim == 2), default=0)
    return 1 if batch_size * largest < CROSSOVER else None


def current_threads() -> int:
    """The number of threads numpy's BLAS uses now (1 if no BLAS library is found)."""
    return max((pool["num_threads"] for pool in threadpool_info()
                if pool["user_api"] == "blas"), default=1)


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit numpy's BLAS to `threads` threads inside the block (None: leave it as it is)."""
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None (auto), got {threads!r}")
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def describe_threads(threads: int | None, auto: bool = True, hint: str = "threads=N") -> str:
    """The one-line report of a choice: "BLAS threads: 1 (auto; threads=N to change)", the
    hint in Python's words (the command line words it as its flag, --threads). None stands for BLAS's
    default, reported as the number of threads it uses."""
    n = current_threads() if threads is None else threads
    return f"BLAS threads: {n}" + (f" (auto; {hint} to change)" if auto else "")
