"""Shared, strict helpers for the text-based RR readers of this package.

Every problem becomes :class:`~biofeedback.errors.InputError` naming the file and the 1-based line:
binary content, undecodable UTF-8 (a truncated multi-byte character), over-long lines, numbers that are
not numbers, impossible intervals. Nothing here guesses silently.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

from biofeedback.errors import InputError
from biofeedback.files import read_regular
from sessions.importers.base import MAX_RR_MS, MIN_RR_MS

#: Largest RR file read (16 MiB: 4 million beats of a plain millisecond file, about 40 days; a 24 h
#: Holter RR file is ~1 MB). Reading peaks at ~50 bytes of memory per byte of a plain file and ~9
#: per byte of a Polar Sensor Logger file (``benchmarks/bench_import_memory.py``), so it stays
#: under ~800 MB; a larger file is refused, before it is read, with a line saying so.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LINE_CHARS = 10_000


def unreadable(exc: OSError, path: str | Path) -> InputError:
    """The one-line error for a file the OS would not give us (missing, a directory, no permission)."""
    if isinstance(exc, FileNotFoundError):
        return InputError("no such file", path=path)
    if isinstance(exc, IsADirectoryError):
        return InputError("is a directory, expected a file", path=path)
    if isinstance(exc, PermissionError):
        return InputError("permission denied", path=path)
    return InputError(f"cannot read: {exc.strerror or exc}", path=path)


def read_text(path: str | Path) -> str:
    """The file's text: UTF-8 with an optional BOM, at most ``MAX_FILE_BYTES``; binary content or
    undecodable bytes (a truncated multi-byte character) are an :class:`InputError` naming the line."""
    p = Path(path)
    data = read_regular(p, max_bytes=MAX_FILE_BYTES, what="RR file")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError("binary data (NUL byte), not a text file", path=p, line=data[:nul].count(b"\n") + 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"undecodable byte 0x{data[exc.start]:02x} (not valid UTF-8 text)", path=p, line=line) from None


def read_lines(path: str | Path) -> list[str]:
    """The file's lines (without line endings, BOM removed), or :class:`InputError`."""
    p = Path(path)
    text = read_text(p)
    if not text.strip():
        raise InputError("empty file (no RR intervals)", path=p)
    lines = text.splitlines()
    if max(map(len, lines)) <= MAX_LINE_CHARS:  # the usual case, without a Python loop
        return lines
    for i, line_text in enumerate(lines, start=1):
        if len(line_text) > MAX_LINE_CHARS:
            raise InputError(f"line too long ({len(line_text)} characters)", path=p, line=i)
    return lines


# Only ASCII digits are numbers: no "8_00", no Arabic-Indic or other Unicode digits (re.ASCII).
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)

#: Wall times a recording may carry (a date outside is a corrupt or forged file, and would overflow
#: Python's datetime once the recording's length is added).
MIN_YEAR, MAX_YEAR = 1970, 2200
#: Longest beat time accepted from a file that states its own times (a 30-day recording).
MAX_TIME_S = 30 * 86400.0


def check_wall_time(stamp: datetime, *, what: str, path: str | Path, line: int | None) -> datetime:
    """``stamp`` if its year is within :data:`MIN_YEAR`-:data:`MAX_YEAR`, else :class:`InputError`."""
    if not MIN_YEAR <= stamp.year <= MAX_YEAR:
        raise InputError(f"{what} {stamp.isoformat()} is out of range (years {MIN_YEAR}-{MAX_YEAR})",
                         path=path, line=line)
    return stamp


def parse_number(text: str, *, what: str, path: str | Path, line: int) -> float:
    """A decimal number in ASCII digits (no inf/nan, no thousands separators, no underscores);
    else InputError."""
    s = text.strip()
    if not _NUMBER.match(s):
        shown = s if len(s) <= 40 else s[:37] + "..."
        raise InputError(f"{what}: not a number: {shown!r}" if what else f"not a number: {shown!r}", path=path,
                         line=line)
    value = float(s)
    if not math.isfinite(value):
        raise InputError(f"{what}: number out of range: {s[:40]!r}", path=path, line=line)
    return value


def check_rr_ms(rr_ms: float, *, path: str | Path, line: int) -> float:
    """Reject impossible intervals (not artifacts: numbers no heart produces)."""
    if rr_ms <= 0:
        raise InputError(f"RR interval must be positive, got {rr_ms:g} ms", path=path, line=line)
    if not MIN_RR_MS <= rr_ms <= MAX_RR_MS:
        raise InputError(
            f"absurd RR interval {rr_ms:g} ms (allowed {MIN_RR_MS:g}-{MAX_RR_MS:g} ms; wrong unit or wrong column?)",
            path=path,
            line=line,
        )
    return rr_ms


def parse_wall_time(text: str) -> datetime | None:
    """A phone/app timestamp (``2026-04-24T14:10:16.752``, ``2025-03-15 09:00:15.123``,
    ``2013-12-10 00:48:03 +0000``); timezone-aware only when the text has an offset. None if not a time."""
    s = re.sub(r"\s+([+-]\d{2}:?\d{2})$", r"\1", text.strip(), flags=re.ASCII)
    if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", s, flags=re.ASCII):
        return None
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None
