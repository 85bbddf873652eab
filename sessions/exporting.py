"""Export a recorded session: ``rr`` (one interval a line), ``csv`` (every beat) or ``json`` (everything).

- ``rr``: one RR interval in milliseconds a line, written with Python's shortest exact float text
  (``705.078125``, ``800.0``), so reading it back gives the very same float64. Kubios HRV and
  ``biofeedback import`` read it as a plain millisecond file. Gaps cannot be written in this format.
- ``csv``: a header ``seq,t_s,arrival_s,rr_ms,rr_ticks_1024,contact,artifact,phase`` and one row per
  beat; empty cells where a value is unknown; ``contact`` is 1/0; ``phase`` is the phase the beat
  falls in (by ``t_s``: :meth:`sessions.stored.SessionOutline.phase_at`), empty outside any phase.
- ``json``: one object with ``session`` (metadata), ``phases``, ``beats``, ``gaps``, ``events`` and
  ``indices`` (what was shown live, by seq). Floats are exact; a non-finite float becomes ``null``.

:func:`export_session` writes to a text stream; :func:`open_private_output` creates the output file
with mode 0600 (written under a temporary name and renamed when complete).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from biofeedback.errors import InputError
from biofeedback.files import not_regular, write_private_atomically
from sessions.store import Store
from sessions.stored import read_outline

FORMATS = ("rr", "csv", "json")
CSV_HEADER = "seq,t_s,arrival_s,rr_ms,rr_ticks_1024,contact,artifact,phase"
JSON_FORMAT_NAME = "biofeedback-session"
JSON_FORMAT_VERSION = 1


def _num(value: float | int | None) -> str:
    return "" if value is None else repr(value)


def _csv_text(value: str | None) -> str:
    if value is None:
        return ""
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def export_session(store: Store, session_id: str, fmt: str, out: IO[str]) -> int:
    """Write session ``session_id`` to ``out`` in ``fmt``; return the number of beats written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    # the session's outline as every reader reads it; the beat rows streamed (memory stays flat)
    session = read_outline(store, session_id)
    n = 0
    if fmt == "rr":
        for b in store.iter_beats(session_id):
            out.write(f"{b.rr_ms!r}\n")
            n += 1
    elif fmt == "csv":
        out.write(CSV_HEADER + "\n")
        for b in store.iter_beats(session_id):
            n += 1
            contact = None if b.contact is None else int(b.contact)
            out.write(
                f"{b.seq},{_num(b.t_s)},{_num(b.arrival_s)},{_num(b.rr_ms)},{_num(b.rr_ticks_1024)},"
                f"{_num(contact)},{_csv_text(b.artifact)},{_csv_text(session.phase_at(b.t_s))}\n"
            )
    else:
        beats = [
            {
                "seq": b.seq,
                "t_s": b.t_s,
                "arrival_s": b.arrival_s,
                "rr_ms": b.rr_ms,
                "rr_ticks_1024": b.rr_ticks_1024,
                "contact": b.contact,
                "artifact": b.artifact,
            }
            for b in store.iter_beats(session_id)
        ]
        document = {
            "format": JSON_FORMAT_NAME,
            "format_version": JSON_FORMAT_VERSION,
            "session": session.info.to_json_dict(),
            "phases": [{"name": p.name, "start_s": p.start_s, "end_s": p.stored_end_s} for p in session.phases],
            "beats": beats,
            "gaps": [
                {"next_seq": g.next_seq, "start_s": g.gap.start_s, "end_s": g.gap.end_s, "reason": g.gap.reason}
                for g in session.gaps
            ],
            "events": [
                {"next_seq": e.next_seq, "t_s": e.t_s, "kind": e.kind, "data": e.data} for e in session.events
            ],
            "indices": {str(seq): d for seq, d in store.beat_indices(session_id).items()},
        }
        n = len(beats)
        json.dump(_finite(document), out, indent=1, allow_nan=False)
        out.write("\n")
    return n


def check_output_target(path: str | Path, *, force: bool) -> Path:
    """``path`` if a file may be written there: :class:`InputError` (exit 2) for a target that exists
    and is not a regular file (a device such as ``/dev/full``, a FIFO, a directory, a symbolic link:
    renaming over it would replace it), for an existing file unless ``force``, and for a directory
    that does not exist."""
    target = Path(path)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise InputError("is a symbolic link; give the file it points to, or another name", path=target)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(target, st.st_mode)
        if not force:
            raise InputError("already exists; use --force to overwrite it, or --out - for standard output",
                             path=target)
    if not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise InputError("no such directory for the output file", path=target)
    return target


@contextlib.contextmanager
def open_private_output(path: str | Path, *, force: bool = True, binary: bool = False) -> Iterator[IO[Any]]:
    """A file at ``path`` created 0600, written under a temporary name and renamed into place only
    if the ``with`` block succeeds (a failed export never leaves a half-written file). The target is
    checked by :func:`check_output_target` before and again just before the rename."""
    target = check_output_target(path, force=force)
    with write_private_atomically(target, binary=binary,
                                  before_replace=lambda t: check_output_target(t, force=force)) as f:
        yield f
