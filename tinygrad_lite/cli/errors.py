"""The command line's own errors, and every error type that `main` reports in one line."""
from __future__ import annotations

from ..data import DataError
from ..files import OutputError
from ..gradcheck import GradcheckError
from ..models.zoo import RecipeError
from ..serialization import CheckpointError
from ..train import TrainingError
from ..viz import RenderError
from .progress import in_flags


class CommandError(Exception):
    """A problem to report in one line, without a traceback (exit status 1)."""


class UsageError(CommandError):
    """Arguments that do not go together: reported in one line, exit status 2."""


# What the user can cause (bad files, data, settings, a diverging run, the machine's limits):
# one line each. Anything else is a bug in this program and keeps its traceback.
REPORTED: tuple[type[BaseException], ...] = (
    CommandError, RecipeError, CheckpointError, DataError, TrainingError, GradcheckError,
    RenderError, OutputError, OSError, MemoryError)
USAGE: tuple[type[BaseException], ...] = (UsageError, RecipeError)


def one_line(e: BaseException) -> str:
    """The error's message on one line ("out of memory: ..." for a MemoryError)."""
    text = in_flags(" ".join(str(e).split())) if str(e) else type(e).__name__
    if isinstance(e, MemoryError):
        return "out of memory" + (f": {text}" if str(e) else "")
    return text
