"""Writing files safely: never half-written, never over something we did not mean to replace.

`write_file` writes into a temporary file beside the target, named `.<name>.tmp-<pid>-<hex>`,
fsyncs it, then renames it over the target (`replace=True`) or links it in only where no file
exists (`replace=False`): whether a file is in the way is decided when the file is linked in,
not when the command started. `check_output` checks, before any work, that a path can be
written (its folder exists and takes new files; no file there unless it may be replaced).
Errors name the path the caller gave, never the temporary file. The temporary file is removed
on any exception and on SIGTERM or SIGHUP (the signal is then re-delivered to the previous handler); one left by a killed process
is removed by the next write of the same name. New files get mode 0666 minus the umask.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import stat
import threading
from typing import BinaryIO, Callable

_KINDS = {stat.S_ISDIR: "directory", stat.S_ISFIFO: "FIFO (named pipe)", stat.S_ISSOCK: "socket",
          stat.S_ISCHR: "character device", stat.S_ISBLK: "block device"}


def kind(mode: int) -> str:
    """'regular file', 'directory', 'FIFO (named pipe)', ... for an st_mode."""
    return next((name for test, name in _KINDS.items() if test(mode)),
                "regular file" if stat.S_ISREG(mode) else "special file")


def size_text(n: int) -> str:
    """1 GiB, 64 MiB, 512 bytes: a limit as a reader would write it."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


class OutputError(Exception):
    """A file cannot be written where asked: named in one line, with the user's path."""


class OutputExists(OutputError, FileExistsError):
    """A file appeared at the path while it was being written: it is left as it is."""


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signalled(signum: int, frame: object) -> None:
    raise _Signalled(signum)


def _trap_signals() -> dict:
    """While writing, SIGTERM/SIGHUP raise _Signalled (main thread only; ignored ones stay so)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) not in (signal.SIG_IGN, None):
            saved[signum] = signal.signal(signum, _raise_signalled)
    return saved


def _alive(pid: int) -> bool:
    if os.name == "nt" or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale(folder: str, stem: str) -> None:
    """Remove our temporary files for `stem` whose writing process is gone."""
    pattern = re.compile(re.escape(f".{stem}.tmp-") + r"(\d+)-[0-9a-f]{8}")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _alive(int(match[1])):
            path = os.path.join(folder, name)
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
            except OSError:
                pass


def _link_new(tmp: str, target: str) -> None:
    """Put tmp's content at target only if nothing is there (FileExistsError otherwise)."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise
    except OSError:  # no hard links here (FAT, some network file systems): exclusive copy
        pass
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(target)
        raise


def check_target(path: str | os.PathLike, error: type[Exception]) -> tuple[str, int | None]:
    """The file a write to `path` would create or replace (a symlink's target) and its st_mode
    (None if absent), after refusing what must not be replaced: a directory, device, FIFO or
    socket, a read-only file, a path ending in a separator, a missing folder."""
    path = os.fspath(path)
    if not path or path.endswith(("/", os.sep)):
        raise error(f"cannot write {path!r}: the path names a folder, not a file")
    target = os.path.realpath(path) if os.path.islink(path) else path
    via = f" (the link's target {target})" if target != path else ""
    try:
        mode = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise error(f"{path} is a {kind(mode)}{via}, not a regular file; refusing to replace it")
    if mode is not None and (not mode & 0o222 or not os.access(target, os.W_OK)):
        raise error(f"{path}{via} is read-only; refusing to replace it")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise error(f"cannot write {path}: folder {folder} "
                    + ("is not a folder" if os.path.exists(folder) else "does not exist"))
    return target, mode


def check_output(path: str | os.PathLike, replace: bool = False,
                 error: type[Exception] = OutputError) -> None:
    """Before any work: `error` unless a file can be written at `path`: not a folder or special
    file (see check_target), no file there unless `replace`, and a folder that takes new files
    (tried by creating and removing an empty file: root's writes to a read-only mount or to
    /proc are refused too)."""
    path = os.fspath(path)
    target, mode = check_target(path, error)
    if mode is not None and not replace:
        raise error(f"{path} exists; pass replace=True to replace it, or name another file")
    folder = os.path.dirname(os.path.abspath(target))
    probe = os.path.join(folder, f".{os.path.basename(target)[:200]}.tmp-{os.getpid()}-"
                                 f"{secrets.token_hex(4)}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as e:
        raise error(f"cannot write {path}: folder {folder} does not take new files "
                    f"({e.strerror or e})") from None


def _open_temp(folder: str, stem: str) -> tuple[int, str]:
    """A new temporary file beside the target: (descriptor, path). Mode 0666 minus the umask."""
    while True:
        name = os.path.join(folder, f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue


def _put(tmp: str, target: str, replace: bool) -> None:
    """Move the finished temporary file to target: over it, or only where nothing is."""
    if replace:
        os.replace(tmp, target)
    else:
        _link_new(tmp, target)
        os.unlink(tmp)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def write_file(path: str | os.PathLike, write: Callable[[BinaryIO], None], replace: bool,
               error: type[Exception], check: Callable[[str], None] | None = None) -> None:
    """Write `path` through `write(file)`; `check(tmp_path)` may inspect the result first.

    replace=True: a regular file at `path` is replaced atomically, keeping its permission bits;
    a symbolic link is followed and the file it points to is replaced (the link stays); what
    check_target refuses raises `error`. replace=False: OutputExists (a FileExistsError) if
    anything is at `path` when the file is linked in (that file is left as it is). A file
    system error (no permission, disk full) raises `error` naming `path`, never the temporary
    file; what `write` and `check` raise propagates."""
    path = os.fspath(path)
    target, mode = check_target(path, error)
    folder, base = os.path.split(os.path.abspath(target))
    stem = base[:200]  # room for the suffix within the usual 255-byte name limit
    _remove_stale(folder, stem)
    tmp = None
    saved = _trap_signals()
    try:
        try:
            fd, tmp = _guard(path, error, _open_temp, folder, stem)
            with os.fdopen(fd, "wb") as f:
                if mode is not None:  # a replaced file keeps its permission bits
                    os.chmod(tmp, stat.S_IMODE(mode))
                write(f)
                _guard(path, error, _flush, f)
            if check is not None:
                check(tmp)
            _guard(path, error, _put, tmp, target, replace)
            tmp = None
        finally:
            if tmp is not None:
                _unlink_quietly(tmp)
            for signum, handler in saved.items():
                signal.signal(signum, handler)
    except _Signalled as s:
        signal.raise_signal(s.signum)  # the previous handler's turn: by default, the process ends
        raise error(f"writing {path} was interrupted by signal {s.signum}; nothing was written") \
            from None


def _flush(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())


def _guard(path: str, error: type[Exception], step: Callable, *args: object) -> object:
    """step(*args), its file system errors reworded to name the user's `path`."""
    try:
        return step(*args)
    except FileExistsError:
        raise OutputExists(f"{path} exists (it appeared while working) and was left as it is; "
                           "pass replace=True to replace it, or name another file") from None
    except OSError as e:
        raise error(f"cannot write {path}: {e.strerror or e}") from None
