"""tinygrad-lite: train the seed's digit network on MNIST, evaluate it, and look inside.

The command line is an application above the library: `parse` holds the grammar (a table of
options per command), `commands` one small function per command, `reports` the lines they
print, `progress` the progress line, `outputs` the checks on every file a command writes, and
`memory` the budget that evaluation stays within. The work is done by the library
(`tinygrad_lite`) and the model zoo (`tinygrad_lite.models.zoo`).

Every failure the user can cause (bad arguments, files, data or settings, a diverging run, the
machine's limits) is reported in one line on standard error, with exit status 2 for arguments
that are invalid or do not go together and 1 for the rest. Anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from .commands import COMMANDS
from .errors import REPORTED, USAGE, CommandError, UsageError, one_line
from .parse import build_parser
from .progress import Progress, say

__all__ = ["main", "build_parser", "CommandError", "UsageError", "Progress", "say"]


def _escape_what_cannot_be_shown() -> None:
    """A terminal that cannot show δ or σ: escape them instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass


def main(argv: list[str] | None = None) -> int:
    """Run `tinygrad-lite argv` and return its exit status."""
    _escape_what_cannot_be_shown()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        # numpy's floating-point warnings would precede our own line: the commands report
        # what matters (a cost that became NaN stops training with its own error).
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"tinygrad-lite {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. head, which stopped reading
        say()  # sends the rest to devnull
        return 0
    except REPORTED as e:
        print(f"tinygrad-lite {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 2 if isinstance(e, USAGE) else 1


if __name__ == "__main__":
    sys.exit(main())
