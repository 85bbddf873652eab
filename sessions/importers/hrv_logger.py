"""HRV Logger RR files (Marco Altini's iOS/Android app, ``*_RR*.csv``).

Layout: comma-separated with a header; the columns are found by name (spaces around names ignored)::

    date,rr,since start
    2025-03-15 09:00:15.123,823,0
    2025-03-15 09:00:15.946,812,823

- ``rr``: the interval in milliseconds (required);
- ``date``: the phone's wall time of the row (first one kept as the recording start; some versions
  write an offset such as ``+0000``), or ``timestamp`` in Unix milliseconds;
- ``since start``: elapsed milliseconds, whose convention (before or after the interval) differs
  between app versions, so it is not used: beat times are the cumulative sum of ``rr``.

Old iOS versions wrote the header ``date, timestamp, rr, since start`` above rows of three fields
(date, rr, since start); such rows are read with ``timestamp`` dropped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from biofeedback.errors import InputError
from sessions.importers._text import check_wall_time, parse_number, parse_wall_time, read_lines
from sessions.importers.base import RRRecording
from sessions.importers.plain_text import intervals_to_ms

FORMAT = "hrv-logger"


def _header(line: str) -> list[str]:
    return [f.strip().lower() for f in line.split(",")]


def looks_like_hrv_logger(lines: list[str]) -> str | None:
    cols = _header(lines[0]) if lines else []
    if "rr" in cols and ("date" in cols or "timestamp" in cols) and any(c in cols for c in ("since start", "since_start")):
        return "header with 'rr', 'date'/'timestamp' and 'since start' columns"
    return None


def read_hrv_logger(path: str | Path) -> RRRecording:
    lines = read_lines(path)
    cols = _header(lines[0])
    if "rr" not in cols:
        raise InputError(f"no 'rr' column in the header {lines[0].strip()[:80]!r}", path=path, line=1)
    short = [c for c in cols if c != "timestamp"] if ("date" in cols and "timestamp" in cols) else None
    rr: list[tuple[int, float]] = []
    start_wall: datetime | None = None
    for number in range(2, len(lines) + 1):
        raw = lines[number - 1]
        if not raw.strip():
            continue
        fields = [f.strip() for f in raw.split(",")]
        names = cols
        if len(fields) != len(cols):
            if short is not None and len(fields) == len(short):
                names = short
            else:
                raise InputError(f"expected {len(cols)} comma-separated fields, got {len(fields)}", path=path, line=number)
        row = dict(zip(names, fields))
        if start_wall is None:
            if "date" in row:
                start_wall = parse_wall_time(row["date"])
                if start_wall is None:
                    raise InputError(f"not a date: {row['date'][:40]!r}", path=path, line=number)
                check_wall_time(start_wall, what="date", path=path, line=number)
            elif "timestamp" in row:
                ms = parse_number(row["timestamp"], what="timestamp (Unix ms)", path=path, line=number)
                try:
                    start_wall = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
                except (OverflowError, OSError, ValueError):
                    raise InputError(f"timestamp out of range: {row['timestamp'][:40]!r}", path=path, line=number) from None
                check_wall_time(start_wall, what="timestamp", path=path, line=number)
        value = parse_number(row["rr"], what="rr (ms)", path=path, line=number)
        rr.append((number, value))
    if not rr:
        raise InputError("header but no RR intervals", path=path, line=1)
    rr_ms, t_s, checked = intervals_to_ms(rr, path, "ms")
    return RRRecording(
        rr_ms=rr_ms,
        t_s=t_s,
        format=FORMAT,
        path=str(path),
        start_wall=start_wall,
        notes=("HRV Logger: beat times are the cumulative sum of 'rr' ('since start' is not used)",) + checked,
    )
