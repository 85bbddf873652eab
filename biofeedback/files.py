"""Opening a user's file safely: regular files only, refused before anything is read.

A named pipe (FIFO) would block a read for ever, ``/dev/zero`` would never end, a socket or a
directory is not a recording. :func:`open_regular` opens without blocking (``O_NONBLOCK``), checks
with ``fstat`` on the opened descriptor (no race between the check and the read), and refuses
anything that is not a regular file with an :class:`~biofeedback.errors.InputError` (exit 2, one
line). :func:`read_regular` also caps the size, so memory stays bounded.

Writing: :func:`write_private_atomically` is the one way a file of ours is written whole (exports,
reports, cohort files, the remembered-devices file): private (0600), under a temporary name in the
same directory, flushed to disk, renamed into place, and the directory entry flushed too, so a crash
or a full disk leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from biofeedback.errors import InputError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """``"a named pipe (FIFO)"``, ``"a character device"``... for a mode that is not a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: str | Path, mode: int) -> InputError:
    return InputError(f"is {kind_of(mode)}, not a regular file; give a file", path=path)


def check_regular(path: str | Path) -> Path:
    """``path`` if it names an existing regular file (symlinks followed); else :class:`InputError`.
    Nothing is opened."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError("no such file", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=p) from exc
    if not stat.S_ISREG(st.st_mode):
        raise not_regular(p, st.st_mode)
    return p


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading in binary; :class:`InputError` for anything else (checked on
    the opened descriptor, without blocking on a FIFO)."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InputError("no such file", path=p) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path=p) from None
    except PermissionError:
        raise InputError("permission denied", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=p) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(p, st.st_mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, *, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (:class:`InputError` otherwise, before
    reading more than ``max_bytes + 1`` bytes, whatever the file claims its size is)."""
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise InputError(f"{what} too large ({size} bytes; the limit is {max_bytes} bytes)", path=path)
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    if len(data) > max_bytes:
        raise InputError(f"{what} too large (more than {max_bytes} bytes)", path=path)
    return data


@contextlib.contextmanager
def write_private_atomically(
    path: str | Path, *, binary: bool = False, before_replace: Callable[[Path], object] | None = None
) -> Iterator[IO[Any]]:
    """``with write_private_atomically(path) as f: f.write(...)``: ``path`` holds what was written,
    or (on any exception in the block, a full disk, a failed check) is left as it was.

    The data goes to a temporary file created 0600 in ``path``'s directory; when the block ends it is
    flushed and ``fsync``-ed, ``before_replace(path)`` runs (a last check of the target: it may
    raise), the file is renamed over ``path`` (``os.replace``, atomic on POSIX) and the directory is
    ``fsync``-ed so the rename itself survives a crash. The temporary file is removed on failure.
    Text mode writes UTF-8 with ``\\n`` line ends.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)  # created 0600
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        f: IO[Any]
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory: str | Path) -> None:
    """Flush ``directory``'s entries (a rename, a new file) to disk; nothing where the platform
    cannot open a directory (Windows)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except (PermissionError, IsADirectoryError):  # Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
