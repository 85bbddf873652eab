"""Kubios HRV text files: the RR series export and the results report.

Two layouts, both written by Kubios HRV (Standard/Premium 3.x, Scientific 4.x) and recognised by their
first line:

- **RR series export** (``File > Export > Signal/Series``; the "type 1" ASCII layout of the Kubios
  user's guide)::

      # SIGNAL/SERIES EXPORT - KUBIOS
      # File:        ...
      # Comment:     ...
      766.000
      727.000

  ``#`` lines are header fields; then one RR interval a line, in milliseconds. The values go through
  the same checks as a plain file (:func:`sessions.importers.plain_text.intervals_to_ms`): seconds
  are inferred and noted, mixed units refused, intervals longer than ``MAX_RR_MS`` become gaps.

- **Results report** (``Save results`` as .txt): comma-separated sections; the section that starts
  ``RR INTERVAL DATA and SPECTRUM ESTIMATES`` has, for the first sample, the columns ``Time`` and
  ``RR interval`` in seconds (a units row ``(s)`` below the names). Rows where those two fields are
  blank belong to the longer spectrum columns and are skipped. Beat times come from ``Time``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from biofeedback.errors import InputError
from sessions.importers._text import MAX_TIME_S, check_rr_ms, check_wall_time, parse_number, read_lines
from sessions.importers._units import seconds_text_to_ms
from sessions.importers.base import MAX_RR_MS, RRRecording
from sessions.importers.plain_text import intervals_to_ms

FORMAT = "kubios"
SERIES_MARK = "# SIGNAL/SERIES EXPORT"
REPORT_MARK = "HRV ANALYSIS RESULTS"
DATA_SECTION = "RR INTERVAL DATA"


def looks_like_kubios(lines: list[str]) -> str | None:
    """Why these lines are a Kubios file, or None."""
    head = [ln.strip() for ln in lines[:8] if ln.strip()]
    if head and head[0].upper().startswith(SERIES_MARK) and "KUBIOS" in head[0].upper():
        return "first line '# SIGNAL/SERIES EXPORT - KUBIOS'"
    if head and head[0].upper().startswith(REPORT_MARK) and any("kubios" in ln.lower() for ln in head[:4]):
        return "first lines 'HRV ANALYSIS RESULTS' ... 'Kubios HRV'"
    return None


def read_kubios(path: str | Path) -> RRRecording:
    """Read a Kubios RR series export or results report (see the module docstring)."""
    lines = read_lines(path)
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first.upper().startswith(SERIES_MARK):
        return _read_series(path, lines)
    if first.upper().startswith(REPORT_MARK):
        return _read_report(path, lines)
    raise InputError(
        "not a Kubios file (expected '# SIGNAL/SERIES EXPORT - KUBIOS' or 'HRV ANALYSIS RESULTS' on the first line)",
        path=path,
        line=1,
    )


def _read_series(path: str | Path, lines: list[str]) -> RRRecording:
    pairs: list[tuple[int, float]] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if text and not text.startswith("#"):
            pairs.append((number, parse_number(text, what="RR interval", path=path, line=number)))
    if not pairs:
        raise InputError("no RR intervals after the Kubios header", path=path)
    # Kubios writes milliseconds; seconds are accepted, inferred and noted, mixed units refused.
    rr_ms, t_s, notes = intervals_to_ms(pairs, path, None)
    return RRRecording(
        rr_ms=rr_ms, t_s=t_s, format=FORMAT, path=str(path), notes=("Kubios RR series export",) + notes
    )


def _read_report(path: str | Path, lines: list[str]) -> RRRecording:
    start_wall = None
    section = None
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if text.lower().startswith("measurement date:"):
            start_wall = _parse_measurement_date(text.split(":", 1)[1].strip())
            if start_wall is not None:
                check_wall_time(start_wall, what="measurement date", path=path, line=number)
        if text.upper().startswith(DATA_SECTION):
            section = number
            break
    if section is None:
        raise InputError("Kubios report without an 'RR INTERVAL DATA' section (export it with RR data)", path=path)
    # Find the column-name row ("Time", "RR interval") and check the units row below it.
    names_line = None
    for number in range(section + 1, min(section + 6, len(lines) + 1)):
        fields = [f.strip().lower() for f in lines[number - 1].split(",")]
        if "time" in fields and "rr interval" in fields:
            names_line = number
            t_col, rr_col = fields.index("time"), fields.index("rr interval")
            break
    if names_line is None:
        raise InputError("no 'Time' and 'RR interval' columns under 'RR INTERVAL DATA'", path=path, line=section)
    units = [f.strip() for f in lines[names_line].split(",")] if names_line < len(lines) else []
    if len(units) <= max(t_col, rr_col) or units[t_col] != "(s)" or units[rr_col] != "(s)":
        raise InputError("expected the units row '(s)' under 'Time' and 'RR interval'", path=path, line=names_line + 1)
    rr: list[float] = []
    times: list[float] = []
    long_lines: list[int] = []
    for number in range(names_line + 2, len(lines) + 1):
        raw = lines[number - 1]
        if not raw.strip():
            break
        fields = raw.split(",")
        if len(fields) <= max(t_col, rr_col):
            break  # the next section
        t_text, rr_text = fields[t_col].strip(), fields[rr_col].strip()
        if not t_text and not rr_text:
            continue  # a spectrum-only row after the last beat
        if not t_text or not rr_text:
            raise InputError("a beat row with a time but no RR interval (or the reverse)", path=path, line=number)
        t_s = parse_number(t_text, what="Time", path=path, line=number)
        if not 0.0 <= t_s <= MAX_TIME_S:
            raise InputError(f"Time {t_text[:40]} s is out of range (0 to {MAX_TIME_S:g} s)", path=path, line=number)
        parse_number(rr_text, what="RR interval", path=path, line=number)
        rr_ms = seconds_text_to_ms(rr_text)
        if rr_ms <= MAX_RR_MS:
            check_rr_ms(rr_ms, path=path, line=number)
        if times and not t_s > times[-1]:
            raise InputError(f"beat times must increase ({t_text} s after {times[-1]!r} s)", path=path, line=number)
        if rr_ms > MAX_RR_MS:
            long_lines.append(number)  # a pause, not a beat: its time stays in the next beat's time
            continue
        rr.append(rr_ms)
        times.append(t_s)
    if not rr:
        raise InputError("the 'RR INTERVAL DATA' section has no beats", path=path, line=names_line)
    return RRRecording(
        rr_ms=np.asarray(rr, dtype=np.float64),
        t_s=np.asarray(times, dtype=np.float64),
        format=FORMAT,
        path=str(path),
        start_wall=start_wall,
        notes=("Kubios results report: RR data of the first sample (seconds, 1 ms resolution)",)
        + ((f"{len(long_lines)} interval(s) longer than {MAX_RR_MS:g} ms treated as gaps, not beats "
            f"(line {', '.join(map(str, long_lines[:5]))})",) if long_lines else ()),
    )


def _parse_measurement_date(text: str) -> datetime | None:
    for fmt in ("%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d-%b-%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None
