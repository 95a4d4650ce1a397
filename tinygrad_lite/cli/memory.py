"""The memory budget that evaluation and prediction stay within: how many images go through a
network at once is chosen from it, and a network one image of which needs more is refused.

The budget: --memory-budget, else the TINYGRAD_LITE_MEMORY environment variable (bytes, or
with a unit: 512MiB, 2GiB, 1.5GB), else 2 GiB or half the memory available now, whichever is
less."""
from __future__ import annotations

import argparse
import os
import re

from ..files import size_text
from .errors import CommandError, UsageError

ENV = "TINYGRAD_LITE_MEMORY"
DEFAULT = 2 << 30
MAX_BATCH = 1000
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
          "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12,
          "tib": 2**40}


def parse_size(text: str) -> int:
    """'2GiB' -> 2147483648; argparse.ArgumentTypeError for anything else or below 1 MiB."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*", text)
    unit = match and match[2].lower()
    if not match or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"a size is bytes or a number with a unit (512MiB, "
                                         f"2GiB), got {text!r}")
    size = int(float(match[1]) * _UNITS[unit])
    if size < 2**20:
        raise argparse.ArgumentTypeError(f"the memory budget must be at least 1 MiB, got {text}")
    return size


def available() -> int | None:
    """Bytes of memory available now (None if the system does not say)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def budget(given: int | None) -> tuple[int, str]:
    """The budget in bytes and where it came from."""
    if given is not None:
        return given, "--memory-budget"
    if os.environ.get(ENV):
        try:
            return parse_size(os.environ[ENV]), ENV
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"{ENV}: {e}") from None
    free = available()
    if free is not None and free // 2 < DEFAULT:
        return max(free // 2, 2**20), "half the memory available"
    return DEFAULT, "the default"


def batch_for(per_image: int, given: int | None, what: str) -> int:
    """Images per forward pass: as many as the budget holds, at most MAX_BATCH. CommandError
    naming `what` if one image needs more than the budget."""
    limit, origin = budget(given)
    if per_image > limit:
        raise CommandError(f"{what} needs about {size_text(per_image)} per image, more than the "
                         f"memory budget of {size_text(limit)} ({origin}); raise it with "
                         f"--memory-budget or {ENV} if the machine has the memory")
    return max(1, min(MAX_BATCH, limit // max(per_image, 1)))
