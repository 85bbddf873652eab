"""Reader for CSV files with RR intervals in a named column.

The first row is the header. ``column`` is a header name (exact, then case-insensitive), or a
1-based column number for files without a header (then a non-numeric first row is taken as a
header and skipped, with a note). The delimiter is sniffed among ``,``, ``;`` and tab. Empty
cells are skipped (counted in the notes). Units, checks and long intervals (gaps) as in
:mod:`sessions.importers.plain_text` (``MIN_RR_MS``/``MAX_RR_MS``, mixed units, inferred unit
reported in the notes). Errors name the file and the 1-based line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from biofeedback.errors import InputError

from .base import RRRecording
from .plain_text import _number, decode_text, intervals_to_ms

__all__ = ["read_csv_column"]


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read_csv_column(path: str | Path, column: str, *, units: str | None = None) -> RRRecording:
    """Read the RR intervals of one CSV column into an :class:`RRRecording` (``format="csv"``).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "rr.csv"
    >>> _ = f.write_text("time,RR\\n0.8,800\\n1.61,810\\n")
    >>> read_csv_column(f, "rr", units="ms").rr_ms.tolist()
    [800.0, 810.0]
    """
    p = Path(path)
    text = decode_text(p)
    if not text.strip():
        raise InputError("empty file: no RR intervals", path=p)
    reader = csv.reader(io.StringIO(text), _dialect(text))
    notes: list[str] = []
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", path=p, line=1) from None
    names = [h.strip() for h in header]
    col: int | None = None
    if column in names:
        col = names.index(column)
    else:
        lowered = [n.lower() for n in names]
        if column.lower() in lowered:
            col = lowered.index(column.lower())
    first_is_data = False
    if col is None and column.strip().isdigit():
        col = int(column) - 1
        if col < 0 or col >= len(names):
            raise InputError(f"no column {column} (the file has {len(names)} columns)", path=p, line=1)
        try:
            float(names[col])
            first_is_data = True
        except ValueError:
            notes.append(f"first row taken as a header ({names[col]!r} in column {column})")
    if col is None:
        shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
        raise InputError(f"no column {column!r} (columns: {shown})", path=p, line=1)
    values: list[tuple[int, float]] = []
    skipped = 0
    if first_is_data:
        values.append((1, _number(names[col], p, 1)))
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if col >= len(row):
                raise InputError(f"row has {len(row)} fields, no column {column!r}", path=p, line=line)
            cell = row[col].strip()
            if not cell:
                skipped += 1
                continue
            values.append((line, _number(cell, p, line)))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=p, line=reader.line_num) from None
    if skipped:
        notes.append(f"{skipped} empty cell(s) in column {column!r} skipped")
    rr_ms, t_s, unit_notes = intervals_to_ms(values, p, units)
    return RRRecording(rr_ms=rr_ms, t_s=t_s, format="csv", path=str(p), notes=unit_notes + tuple(notes))
