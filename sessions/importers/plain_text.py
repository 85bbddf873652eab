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
    p = Path(path)
    pairs = list(values)
    if not pairs:
        raise InputError("empty file: no RR intervals", path=p)
    if units is not None and units not in UNITS:
        raise InputError(f"unknown unit {units!r} (use ms or s)", path=p)
    for line, v in pairs:
        if v <= 0:
            raise InputError(f"{'zero' if v == 0 else 'negative'} interval {v:g}", path=p, line=line)
    notes: list[str] = []
    arr = np.array([v for _, v in pairs], dtype=np.float64)
    if units is None:
        med = float(np.median(arr))
        units = "s" if med < _UNIT_SPLIT else "ms"
        notes.append(
            f"units inferred as {'seconds' if units == 's' else 'milliseconds'} "
            f"(median value {med:g} {'<' if units == 's' else '>='} {_UNIT_SPLIT:g}); pass --units to override"
        )
        # a value that belongs to the other unit means the file mixes units
        for k, (line, v) in enumerate(pairs):
            if (units == "ms" and v < _UNIT_SPLIT) or (units == "s" and v >= _UNIT_SPLIT):
                other = "seconds" if units == "ms" else "milliseconds"
                # A Holter export whose first line is the start time or offset, not an interval.
                hint = " (the first line looks like a start time, not an interval: pass --skip-lines 1)" if k == 0 else ""
                raise InputError(
                    f"mixed units: {v:g} looks like {other} but most values are in "
                    f"{'milliseconds' if units == 'ms' else 'seconds'}{hint}",
                    path=p,
                    line=line,
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
            line=pairs[i][0],
        )
    absurd = np.flatnonzero(rr_ms > ABSURD_RR_MS)
    if absurd.size:
        i = int(absurd[0])
        raise InputError(f"absurd RR interval {rr_ms[i]:g} ms (longer than a day; units: {units})",
                         path=p, line=pairs[i][0])
    t_s = None
    long_ = rr_ms > MAX_RR_MS
    if long_.any():
        # Longer than any heartbeat: a pause/dropout. Keep the time (t_s), drop the "interval".
        t_all = np.cumsum(rr_ms) / 1000.0
        lines = [pairs[i][0] for i in np.flatnonzero(long_)]
        shown = ", ".join(str(x) for x in lines[:5]) + (", ..." if len(lines) > 5 else "")
        notes.append(
            f"{len(lines)} interval(s) longer than {MAX_RR_MS:g} ms treated as gaps, not beats (line {shown})"
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
    values: list[tuple[int, float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
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
