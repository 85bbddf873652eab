"""Polar Sensor Logger RR files (``*_RR.txt``), the Android app by Jukka Happonen.

Layout: a header line ``Phone timestamp;RR-interval [ms]`` and one row per RR interval, fields
separated by ``;``::

    Phone timestamp;RR-interval [ms]
    2026-04-24T14:10:16.752;937
    2026-04-24T14:10:16.752;941

``Phone timestamp`` is the phone's local wall time (no zone) when the notification carrying the
interval **arrived**; a notification may carry two intervals, which then share a timestamp. So the
timestamps are not beat times: beat times are the cumulative sum of the intervals, and the first
timestamp is kept as the recording's start (naive local time).
"""

from __future__ import annotations

from pathlib import Path

from biofeedback.errors import InputError
from sessions.importers._text import check_wall_time, parse_number, parse_wall_time, read_lines
from sessions.importers.base import RRRecording
from sessions.importers.plain_text import intervals_to_ms

FORMAT = "polar-sensor-logger"


def looks_like_polar_sensor_logger(lines: list[str]) -> str | None:
    head = lines[0].strip().lower() if lines else ""
    if head.startswith("phone timestamp") and "rr-interval" in head:
        return "header 'Phone timestamp;RR-interval [ms]'"
    return None


def read_polar_sensor_logger(path: str | Path) -> RRRecording:
    lines = read_lines(path)
    header = [f.strip() for f in lines[0].split(";")]
    lowered = [f.lower() for f in header]
    if not lowered or not lowered[0].startswith("phone timestamp"):
        raise InputError("expected the header 'Phone timestamp;RR-interval [ms]'", path=path, line=1)
    rr_col = next((i for i, f in enumerate(lowered) if f.startswith("rr-interval")), None)
    if rr_col is None:
        raise InputError(f"no 'RR-interval [ms]' column in the header {lines[0].strip()!r}", path=path, line=1)
    if "[ms]" not in lowered[rr_col]:
        raise InputError(f"RR column {header[rr_col]!r} does not say [ms]", path=path, line=1)
    rr: list[tuple[int, float]] = []
    start_wall = None
    for number in range(2, len(lines) + 1):
        raw = lines[number - 1]
        if not raw.strip():
            continue
        fields = raw.split(";")
        if len(fields) <= rr_col:
            raise InputError(f"expected {len(header)} ';'-separated fields, got {len(fields)}", path=path, line=number)
        stamp = parse_wall_time(fields[0])
        if stamp is None:
            raise InputError(f"not a phone timestamp: {fields[0].strip()[:40]!r}", path=path, line=number)
        check_wall_time(stamp, what="phone timestamp", path=path, line=number)
        if start_wall is None:
            start_wall = stamp
        value = parse_number(fields[rr_col], what="RR-interval [ms]", path=path, line=number)
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
        notes=(
            "Polar Sensor Logger: phone timestamps are notification arrival times; "
            "beat times are the cumulative sum of the intervals",
        )
        + checked,
    )
