"""The files a command writes, all checked before any work starts: each folder takes new files,
no two outputs are the same file, and none replaces an existing file unless --force is given.
The writes themselves link each file in only where none exists (see tinygrad_lite.files), so a
file that appears while the command runs is kept too."""
from __future__ import annotations

import os

from ..files import OutputError, check_output
from .errors import CommandError, UsageError


def check_outputs(outputs: list[tuple[str, str]], force: bool) -> None:
    """outputs: (flag, path) pairs. CommandError naming the flag and path of the first that
    cannot be written; UsageError if two flags name one file."""
    seen: dict[str, str] = {}
    for flag, path in outputs:
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"{flag} {path}: {seen[key]} writes that file too; name another")
        seen[key] = f"{flag} {path}"
    for flag, path in outputs:
        try:
            check_output(path, replace=force)
        except OutputError as e:
            raise CommandError(f"{flag}: {e}") from None


def listing(outputs: list[tuple[str, str]]) -> str:
    """'writes: a.npz (--save), p.png, p-misclassified.png (--plot)'."""
    by_flag: dict[str, list[str]] = {}
    for flag, path in outputs:
        by_flag.setdefault(flag, []).append(path)
    return "writes: " + "; ".join(f"{', '.join(paths)} ({flag})"
                                  for flag, paths in by_flag.items())
