"""Elite HRV RR exports (``Settings > Export Data``: one .txt file per reading).

Layout: RR intervals in integer milliseconds, one a line, without header or times; some exports put
them on one line separated by commas (a trailing comma is allowed). The file name carries the
reading's start, ``YYYY-MM-DD HH-MM-SS.txt`` (phone local time), which becomes ``start_wall``.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from biofeedback.errors import InputError
from sessions.importers._text import check_wall_time, parse_number, read_lines
from sessions.importers.base import RRRecording
from sessions.importers.plain_text import intervals_to_ms

FORMAT = "elite-hrv"
_NAME_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ _T](\d{2})-(\d{2})-(\d{2})", re.ASCII)
_NUMBERS_WITH_COMMAS = re.compile(r"^[\d\s.]*,[\d\s.,]*$", re.ASCII)


def looks_like_elite_hrv(lines: list[str]) -> str | None:
    first = next((ln for ln in lines if ln.strip()), "")
    if _NUMBERS_WITH_COMMAS.match(first):
        return "comma-separated numbers without a header"
    return None


def start_from_name(path: str | Path) -> datetime | None:
    m = _NAME_TIME.search(Path(path).name)
    if not m:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def read_elite_hrv(path: str | Path) -> RRRecording:
    lines = read_lines(path)
    rr: list[tuple[int, float]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        tokens = [t.strip() for t in raw.split(",")]
        if tokens and tokens[-1] == "" and len(tokens) > 1:
            tokens = tokens[:-1]
        for token in tokens:
            if not token:
                raise InputError("empty value between commas", path=path, line=number)
            value = parse_number(token, what="RR interval (ms)", path=path, line=number)
            rr.append((number, value))
    if not rr:
        raise InputError("no RR intervals", path=path)
    rr_ms, t_s, checked = intervals_to_ms(rr, path, "ms")
    start = start_from_name(path)
    if start is not None:
        check_wall_time(start, what="start time in the file name", path=path, line=None)
    notes = ("Elite HRV export: intervals in ms, beat times are their cumulative sum",) + checked
    if start is not None:
        notes += (f"start time {start.isoformat()} taken from the file name (phone local time)",)
    return RRRecording(rr_ms=rr_ms, t_s=t_s, format=FORMAT, path=str(path), start_wall=start, notes=notes)
