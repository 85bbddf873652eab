"""RR-file readers and the registry that picks one: :func:`read_recording`.

=======================  ==========================================================  ===============
format                   what                                                        options
=======================  ==========================================================  ===============
``plain``                one interval a line, ms or s (:mod:`.plain_text`)           units, skip_lines
``csv``                  a named column of a CSV file (:mod:`.csv_column`)           column, units
``kubios``               Kubios HRV RR series export or results report (:mod:`.kubios`)
``polar-sensor-logger``  Polar Sensor Logger ``*_RR.txt`` (:mod:`.polar_sensor_logger`)
``hrv-logger``           HRV Logger ``*_RR*.csv`` (:mod:`.hrv_logger`)
``elite-hrv``            Elite HRV export, ms one a line or comma separated (:mod:`.elite_hrv`)
``time-rr``              header-less "arrival time, interval" lines (:mod:`.time_rr`)  units
=======================  ==========================================================  ===============

Detection (``format=None``) looks only at the file's first lines, in this order: the Kubios header
lines, the Polar Sensor Logger header, the HRV Logger header, any other header row with letters
(``csv``), header-less lines of two numbers, time then interval (``time-rr``), a header-less line of
comma-separated numbers (``elite-hrv``), else ``plain``. ``biofeedback analyze`` and ``import``
both read through :func:`read_recording` and print what was detected. What was
detected and why is the first line of :attr:`RRRecording.notes`. A single-column millisecond file from
Elite HRV is read as ``plain`` (the two are the same numbers); pass ``format="elite-hrv"`` to take the
start time from an Elite HRV file name.

Every reader returns an :class:`~sessions.importers.base.RRRecording` or raises
:class:`~biofeedback.errors.InputError` naming the file and line; never another exception.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biofeedback.errors import InputError
from sessions.importers.base import RRRecording

__all__ = ["FORMATS", "ImportFormat", "detect_format", "read_recording", "RRRecording"]


@dataclass(frozen=True)
class ImportFormat:
    """A registered reader: ``module:function(path, **options) -> RRRecording``."""

    name: str
    title: str
    module: str
    function: str
    options: tuple[str, ...] = ()

    def reader(self) -> Callable[..., RRRecording]:
        return getattr(importlib.import_module(self.module), self.function)


FORMATS: dict[str, ImportFormat] = {
    f.name: f
    for f in (
        ImportFormat("plain", "plain RR text, one interval a line (ms or s)", "sessions.importers.plain_text",
                     "read_plain_text", ("units", "skip_lines")),
        ImportFormat("csv", "CSV with RR intervals in a named column", "sessions.importers.csv_column",
                     "read_csv_column", ("column", "units")),
        ImportFormat("kubios", "Kubios HRV RR series export or results report", "sessions.importers.kubios",
                     "read_kubios"),
        ImportFormat("polar-sensor-logger", "Polar Sensor Logger RR file (Phone timestamp;RR-interval [ms])",
                     "sessions.importers.polar_sensor_logger", "read_polar_sensor_logger"),
        ImportFormat("hrv-logger", "HRV Logger RR CSV (date,rr,since start)", "sessions.importers.hrv_logger",
                     "read_hrv_logger"),
        ImportFormat("elite-hrv", "Elite HRV RR export (ms, one a line or comma separated)",
                     "sessions.importers.elite_hrv", "read_elite_hrv"),
        ImportFormat("time-rr", "header-less 'arrival time, RR interval' lines (BLE strap loggers)",
                     "sessions.importers.time_rr", "read_time_rr", ("units",)),
    )
}

# Column names taken as the RR column of a CSV when --column is not given (case-insensitive).
RR_COLUMN_NAMES = ("rr", "rr_ms", "rr (ms)", "rr interval", "rr-interval", "rr_interval", "rri", "ibi", "ibi_ms", "nn")


def detect_format(path: str | Path) -> tuple[str, str]:
    """``(format name, reason)`` for ``path``, from its first lines; :class:`InputError` if unreadable."""
    from sessions.importers._text import read_lines
    from sessions.importers.elite_hrv import looks_like_elite_hrv
    from sessions.importers.hrv_logger import looks_like_hrv_logger
    from sessions.importers.kubios import looks_like_kubios
    from sessions.importers.polar_sensor_logger import looks_like_polar_sensor_logger
    from sessions.importers.time_rr import looks_like_time_rr

    lines = read_lines(path)
    for name, test in (
        ("kubios", looks_like_kubios),
        ("polar-sensor-logger", looks_like_polar_sensor_logger),
        ("hrv-logger", looks_like_hrv_logger),
    ):
        why = test(lines)
        if why:
            return name, why
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if not first.startswith("#") and re.search(r"[A-Za-z]{2,}", first) and re.search(r"[,;\t]", first):
        return "csv", "a header row with column names"
    why = looks_like_time_rr(lines)
    if why:
        return "time-rr", why
    why = looks_like_elite_hrv(lines)
    if why:
        return "elite-hrv", why
    return "plain", "numbers, one a line"


def _pick_csv_column(path: str | Path) -> tuple[str, str]:
    from sessions.importers._text import read_lines

    first = read_lines(path)[0]
    names = [n.strip() for n in re.split(r"[,;\t]", first)]
    found = [n for n in names if n.lower() in RR_COLUMN_NAMES]
    if len(found) == 1:
        return found[0], f"RR column {found[0]!r} chosen by its name (pass --column to choose another)"
    shown = ", ".join(repr(n) for n in names[:12])
    if not found:
        raise InputError(f"which column holds the RR intervals? pass --column NAME (columns: {shown})", path=path, line=1)
    raise InputError(f"several columns could hold RR intervals ({', '.join(map(repr, found))}); pass --column NAME",
                     path=path, line=1)


def read_recording(path: str | Path, format: str | None = None, **options: Any) -> RRRecording:
    """Read an RR file with the reader of ``format`` (detected when ``None``).

    ``options`` are passed to the reader (``units``, ``skip_lines`` for plain; ``column``, ``units`` for
    csv); ``None`` values are ignored; an option the format does not take is an :class:`InputError`.
    A named ``column`` turns a detected ``plain``/``elite-hrv``/``time-rr`` file into ``csv`` (``import`` and
    ``analyze`` alike: ``--column 2`` of a header-less CSV). The first
    note says which format was used and why.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if format is None:
        name, why = detect_format(path)
        if "column" in options and name in ("plain", "elite-hrv", "time-rr"):
            name, why = "csv", "a column was named for a file of numbers without a header"
        first_note = f"format detected: {name} ({why})"
    else:
        name = format
        first_note = f"format: {name} (as requested)"
    spec = FORMATS.get(name)
    if spec is None:
        raise InputError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise InputError(f"option {', '.join(unknown)} does not apply to format {name}", path=path)
    extra: tuple[str, ...] = ()
    if name == "csv" and "column" not in options:
        options["column"], picked = _pick_csv_column(path)
        extra = (picked,)
    recording = spec.reader()(path, **options)
    return dataclasses.replace(recording, notes=(first_note,) + extra + tuple(recording.notes))
