"""What the command line shows while it works: lines that survive a closed pipe, and a progress
line on a terminal."""
from __future__ import annotations

import os
import sys
from typing import Any


def say(text: str = "") -> None:
    """Print a line. If standard output is a pipe whose reader has gone (`train | head -1`),
    the rest of the output is dropped and the command carries on (training still saves)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # as Python's docs advise for SIGPIPE
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def warn(text: str) -> None:
    """A line on standard error."""
    print(text, file=sys.stderr)


class Progress:
    """Progress within an epoch on a terminal, one line overwritten with \\r: batches done,
    images per second, time left. At most five updates a second; `clear` before other output."""

    def __init__(self, stream: Any, batch_size: int) -> None:
        self.stream, self.batch_size, self.shown, self.last = stream, batch_size, False, 0.0

    def __call__(self, done: int, total: int, seconds: float) -> None:
        if seconds - self.last < 0.2 and done < total:
            return
        self.last = seconds if done < total else 0.0
        rate = done * self.batch_size / max(seconds, 1e-9)
        left = seconds / done * (total - done)
        self.write(f"\r  batch {done}/{total}  {rate:,.0f} images/s  {left:.0f}s left ")
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.write("\r" + " " * 60 + "\r")
            self.shown = False

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


# the library's hints name Python arguments; the command line's name its flags
IN_FLAGS: dict[str, str] = {"(auto; threads=N to change)": "(auto; --threads to change)",
                            "pass replace=True to replace it": "pass --force to replace it"}


def in_flags(line: str) -> str:
    """A line of the library's, its Python hints worded as the command line's flags."""
    for python, flag in IN_FLAGS.items():
        line = line.replace(python, flag)
    return line


def logger(progress: Progress | None) -> Any:
    """A log function for training: clears the progress line, then says the line (its hints
    worded as flags)."""
    def log(line: str) -> None:
        if progress is not None:
            progress.clear()
        say(in_flags(line))
    return log
