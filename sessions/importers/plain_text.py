"""Reader for plain RR files: one interval a line, in milliseconds or seconds.

Blank lines and lines starting with ``#`` are ignored. The unit is ``units="ms"`` or ``"s"``;
when not given it is inferred from the median value (below 10 -> seconds, else milliseconds)
and the inference, with its reason, goes into :attr:`RRRecording.notes` (never silent). A value
that looks like the other unit (a number below 10 in a millisecond file, above 10 in a second
file) is an error ("mixed units"), as are non-numbers, zero/negative intervals and intervals
shorter than ``MIN_RR_MS`` (impossible, not artifacts). An interval longer than ``MAX_RR_MS`` is
a pause or dropout: it becomes a gap in the beat times (noted), not a beat. Every error names the
file and the 1-based line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from biofeedback.errors import InputError

from ._text import parse_number, read_text as decode_text
from .base import ABSURD_RR_MS, MAX_RR_MS, MIN_RR_MS, RRRecording

__all__ = ["read_plain_text", "decode_text", "intervals_to_ms", "UNITS"]

UNITS = ("ms", "s")
# Median below this -> the file is in seconds (RR of 10 s is impossible; 10 ms too).
_UNIT_SPLIT = 10.0


# One plain decimal number (ASCII digits) with spaces or tabs around: a line the line-by-line loop of
# read_plain_text accepts as is. Blank lines (but trailing ones), comments and Unicode spaces take that
# loop (and its error messages).
_PLAIN_LINE = re.compile(r"[ \t]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t]*", re.ASCII)


def _plain_numbers(lines: list[str]) -> np.ndarray | None:
    """The values of ``lines`` (trailing blank lines dropped) if every one is a finite plain number,
    else ``None`` (the caller then reads line by line, which names the first bad line)."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    body = lines[:end] if end < len(lines) else lines
    if not body or "" in body:
        return None
    values = _whole_numbers("\n".join(body), len(body))
    if values is None:
        if not all(map(_PLAIN_LINE.fullmatch, body)):
            return None
        values = np.array(list(map(float, body)), dtype=np.float64)
    return values if bool(np.isfinite(values).all()) else None


_POW10 = np.array([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15])


def _whole_numbers(joined: str, n_lines: int) -> np.ndarray | None:
    """The values of the ``n_lines`` lines of ``joined`` (joined by "\\n") when every line is 1-15 ASCII
    digits, else ``None``: whole numbers below 2**53, each the sum of its digits times powers of ten
    in float64, exact (the same values as ``float(int(line))``), without a Python loop.

    Examples
    --------
    >>> _whole_numbers("812\\n0790\\n999999999999999", 3).tolist(), _whole_numbers("8.5\\n9", 2)
    ([812.0, 790.0, 999999999999999.0], None)
    """
    b = np.frombuffer(joined.encode(), dtype=np.uint8)  # a non-ASCII character: bytes >= 0x80
    newline = b == 10
    if not ((b - 48 <= 9) | newline).all():  # uint8: a byte below "0" wraps above 9
        return None
    ends = np.append(np.flatnonzero(newline), b.size)  # where each line ends
    if ends.size != n_lines:
        return None
    starts = np.append(0, ends[:-1] + 1)
    lengths = ends - starts
    if int(lengths.min()) < 1 or int(lengths.max()) > 15:
        return None
    at = np.flatnonzero(~newline)
    power = np.repeat(ends, lengths) - at - 1  # a digit's place in its line, counted from the right
    terms = (b[at] - 48).astype(np.float64) * _POW10[power]
    return np.add.reduceat(terms, starts - np.arange(n_lines))  # digits of a line in order: exact sums


def _number(text: str, path: Path, line: int) -> float:
    if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise InputError(f"not a finite number: {text!r}", path=path, line=line)
    return parse_number(text, what="", path=path, line=line)


def intervals_to_ms(
    values: Iterable[tuple[int, float]], path: str | Path, units: str | None
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """Check ``(line, value)`` pairs and convert them to ms; returns ``(rr_ms, t_s, notes)``.

    ``units`` is ``"ms"``, ``"s"`` or ``None`` (infer from the median; the inference is a note).
    Raises :class:`InputError` (path, line) for an empty list, a zero/negative value, mixed
    units, or an interval shorter than ``MIN_RR_MS``. An interval longer than ``MAX_RR_MS`` is a
    pause/dropout, not a beat: it is left out of ``rr_ms`` and the beat times ``t_s``
    (``cumsum`` of every value, in s) keep the time it spanned, so the next beat starts a new
    run; a note says so. ``t_s`` is ``None`` when there was no such interval.
    """
    pairs = list(values)
    return checked_intervals_to_ms(np.array([v for _, v in pairs], dtype=np.float64),
                                   np.array([line for line, _ in pairs], dtype=np.int64), path, units)


def checked_intervals_to_ms(
    arr: np.ndarray, lines: np.ndarray, path: str | Path, units: str | None
) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """:func:`intervals_to_ms` of the values ``arr`` (float64) read from the 1-based ``lines``
    (int64, same size): the same checks, errors and notes, on whole arrays."""
    p = Path(path)
    if not arr.size:
        raise InputError("empty file: no RR intervals", path=p)
    if units is not None and units not in UNITS:
        raise InputError(f"unknown unit {units!r} (use ms or s)", path=p)
    nonpositive = np.flatnonzero(arr <= 0)
    if nonpositive.size:
        k = int(nonpositive[0])
        v = float(arr[k])
        raise InputError(f"{'zero' if v == 0 else 'negative'} interval {v:g}", path=p, line=int(lines[k]))
    notes: list[str] = []
    if units is None:
        med = float(np.median(arr))
        units = "s" if med < _UNIT_SPLIT else "ms"
        notes.append(
            f"units inferred as {'seconds' if units == 's' else 'milliseconds'} "
            f"(median value {med:g} {'<' if units == 's' else '>='} {_UNIT_SPLIT:g}); pass --units to override"
        )
        # a value that belongs to the other unit means the file mixes units
        other_unit = np.flatnonzero(arr < _UNIT_SPLIT if units == "ms" else arr >= _UNIT_SPLIT)
        if other_unit.size:
            k = int(other_unit[0])
            other = "seconds" if units == "ms" else "milliseconds"
            # A Holter export whose first line is the start time or offset, not an interval.
            hint = " (the first line looks like a start time, not an interval: pass --skip-lines 1)" if k == 0 else ""
            raise InputError(
                f"mixed units: {float(arr[k]):g} looks like {other} but most values are in "
                f"{'milliseconds' if units == 'ms' else 'seconds'}{hint}",
                path=p,
                line=int(lines[k]),
            )
    else:
        med = float(np.median(arr))
        if (units == "s") != (med < _UNIT_SPLIT):
            seen = "milliseconds" if units == "s" else "seconds"
            raise InputError(f"--units {units} does not fit these values: their median {med:g} is in {seen}; "
                             f"pass --units {'ms' if units == 's' else 's'} or leave --units out", path=p)
    rr_ms = arr * 1000.0 if units == "s" else arr
    bad = np.flatnonzero(rr_ms < MIN_RR_MS)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"impossible RR interval {rr_ms[i]:g} ms (shorter than {MIN_RR_MS:g} ms = "
            f"{60000 / MIN_RR_MS:g} bpm; units: {units})",
            path=p,
            line=int(lines[i]),
        )
    absurd = np.flatnonzero(rr_ms > ABSURD_RR_MS)
    if absurd.size:
        i = int(absurd[0])
        raise InputError(f"absurd RR interval {rr_ms[i]:g} ms (longer than a day; units: {units})",
                         path=p, line=int(lines[i]))
    t_s = None
    long_ = rr_ms > MAX_RR_MS
    if long_.any():
        # Longer than any heartbeat: a pause/dropout. Keep the time (t_s), drop the "interval".
        t_all = np.cumsum(rr_ms) / 1000.0
        gap_lines = lines[long_].tolist()
        shown = ", ".join(str(x) for x in gap_lines[:5]) + (", ..." if len(gap_lines) > 5 else "")
        notes.append(
            f"{len(gap_lines)} interval(s) longer than {MAX_RR_MS:g} ms treated as gaps, not beats (line {shown})"
        )
        rr_ms = rr_ms[~long_]
        t_s = t_all[~long_]
        if not rr_ms.size:
            raise InputError("no RR intervals: every value is a gap", path=p)
    return rr_ms, t_s, tuple(notes)


def read_plain_text(path: str | Path, *, units: str | None = None, skip_lines: int = 0) -> RRRecording:
    """Read a plain RR file (one interval a line) into an :class:`RRRecording` (``format="plain"``).

    Parameters
    ----------
    path:
        The file.
    units:
        ``"ms"``, ``"s"``, or ``None`` to infer (reported in ``notes``).
    skip_lines:
        Leading lines to ignore (e.g. 1 for PhysioNet exports whose first line is the start time).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "rr.txt"
    >>> _ = f.write_text("0.8\\n0.81\\n\\n0.79\\n")
    >>> rec = read_plain_text(f)
    >>> rec.rr_ms.tolist(), rec.notes[0].split(" (")[0]
    ([800.0, 810.0, 790.0], 'units inferred as seconds')
    """
    p = Path(path)
    text = decode_text(p)
    lines = text.splitlines()
    fast = _plain_numbers(lines[skip_lines:])
    if fast is not None:  # every line a number: the same values, checks and errors, without a loop
        line_numbers = np.arange(skip_lines + 1, skip_lines + 1 + fast.size, dtype=np.int64)
        rr_ms, t_s, notes = checked_intervals_to_ms(fast, line_numbers, p, units)
        if skip_lines:
            notes = notes + (f"skipped the first {skip_lines} line(s)",)
        return RRRecording(rr_ms=rr_ms, t_s=t_s, format="plain", path=str(p), notes=notes)
    values: list[tuple[int, float]] = []
    for lineno, raw in enumerate(lines, start=1):
        if lineno <= skip_lines:
            continue
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        values.append((lineno, _number(s, p, lineno)))
    rr_ms, t_s, notes = intervals_to_ms(values, p, units)
    if skip_lines:
        notes = notes + (f"skipped the first {skip_lines} line(s)",)
    return RRRecording(rr_ms=rr_ms, t_s=t_s, format="plain", path=str(p), notes=notes)
