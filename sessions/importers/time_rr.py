"""Reader for header-less "time, interval" CSV files, as BLE strap loggers write them.

Each line is two numbers separated by a comma (or semicolon or tab): the time the interval
arrived, in seconds (any origin, e.g. seconds since the logger started), and the RR interval
(ms or s, inferred as in :mod:`.plain_text` unless ``units`` is given). For example the real
Polar H10 log ``polar_h10_breathing_ibi.csv``::

    2.211511135101318359e-01,9.360000000000000000e+02
    1.256629943847656250e+00,1.020000000000000000e+03

The arrival times are notification times: a strap sends the intervals of one second in one
notification, so several beats share a time and the times do not say when each beat happened.
They are therefore not used as beat times (beat times are the running sum of the intervals, as
for plain files); a note says so. Every error names the file and the 1-based line.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from biofeedback.errors import InputError

from ._text import parse_number, read_lines
from .base import RRRecording
from .plain_text import intervals_to_ms

__all__ = ["read_time_rr", "looks_like_time_rr"]

_SPLIT = re.compile(r"\s*[,;\t]\s*")
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_LINE = re.compile(rf"^\s*{_NUM}\s*[,;\t]\s*{_NUM}\s*$")


def looks_like_time_rr(lines: list[str]) -> str | None:
    """Why the file looks like "time, interval" lines (``None`` if it does not): the first five
    non-empty lines are two numbers each and the first column does not decrease."""
    rows = list(itertools.islice((ln for ln in lines if ln.strip()), 5))
    if not rows or not all(_LINE.match(r) for r in rows):
        return None
    times = [float(_SPLIT.split(r.strip())[0]) for r in rows]
    if any(b < a for a, b in zip(times, times[1:])):
        return None
    return "two numbers a line without a header: arrival time (s), RR interval"


def read_time_rr(path: str | Path, *, units: str | None = None) -> RRRecording:
    """Read a "time, interval" file into an :class:`RRRecording` (``format="time-rr"``)."""
    p = Path(path)
    pairs: list[tuple[int, float]] = []
    for i, text in enumerate(read_lines(p), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = _SPLIT.split(text.strip())
        if len(fields) != 2:
            raise InputError(f"expected two numbers (time, interval), found {len(fields)} fields", path=p, line=i)
        parse_number(fields[0], what="time", path=p, line=i)
        pairs.append((i, parse_number(fields[1], what="RR interval", path=p, line=i)))
    rr_ms, t_s, notes = intervals_to_ms(pairs, p, units)
    notes = (*notes, "the first column (arrival times of the strap's notifications) is not used as beat times")
    return RRRecording(rr_ms=rr_ms, t_s=t_s, format="time-rr", path=str(p), notes=notes)
