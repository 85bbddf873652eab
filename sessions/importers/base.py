"""What every RR-file reader returns, and the rules they share.

A reader takes a path (and options) and returns an :class:`RRRecording`, or raises
:class:`biofeedback.errors.InputError` naming the file, the 1-based line and the problem. Readers
never guess units silently: when a format leaves the unit open, the guess and its reason go into
:attr:`RRRecording.notes`, which the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike

# Limits used to reject impossible numbers (not artifacts). The QRS complex alone lasts 80-120 ms,
# so no detector reports two beats closer than ~100 ms: a shorter value is a wrong unit or a corrupt
# file. 100-300 ms is a detection artifact (e.g. a double-counted T wave): kept as recorded and
# labelled by the artifact stage, never refused (a 21 h Holter file with one such beat must load).
MIN_RR_MS = 100.0
MAX_RR_MS = 3000.0  # 20 bpm; longer is a pause/gap, not an RR interval
ABSURD_RR_MS = 86_400_000.0  # one day: no RR file holds a pause that long; a corrupt value
GAP_THRESHOLD_S = 1.0  # a beat whose interval starts more than this after the previous beat: a pause (gap_spans)


@dataclass(frozen=True)
class RRRecording:
    """RR intervals read from a file.

    Attributes
    ----------
    rr_ms:
        float64 array of intervals in milliseconds, in file order, exactly as in the file
        (converted from seconds or ticks when the file used those units).
    t_s:
        Beat times in seconds from the first beat of the file when the file has its own times,
        else ``None`` (then times are the cumulative sum of ``rr_ms``).
    format:
        The reader's format name (e.g. ``"plain"``, ``"csv"``, ``"kubios"``).
    path:
        The file read.
    start_wall:
        Wall time of the recording's start when the file says it (timezone-aware if known).
    notes:
        Human-readable lines the CLI prints (e.g. the inferred unit and why).
    rr_ticks_1024:
        Raw 1/1024 s ticks when the file has them, else ``None``.
    """

    rr_ms: np.ndarray
    t_s: np.ndarray | None
    format: str
    path: str
    start_wall: datetime | None = None
    notes: tuple[str, ...] = field(default=())
    rr_ticks_1024: np.ndarray | None = None

    def beat_times_s(self) -> np.ndarray:
        """Beat times: the file's own, else the cumulative sum of the intervals (first beat at rr[0])."""
        if self.t_s is not None:
            return self.t_s
        return np.cumsum(self.rr_ms) / 1000.0


def gap_spans(rr_ms: ArrayLike, t_s: ArrayLike) -> list[tuple[int, float, float]]:
    """``(next beat, start_s, end_s)`` of every pause in a recording: where a beat's interval starts
    more than :data:`GAP_THRESHOLD_S` after the previous beat. The one rule for ``import`` and
    ``analyze`` (so both see the same gaps); here, beside the readers, so ``analyze`` need not load
    the store.

    Examples
    --------
    >>> gap_spans([800.0, 800.0, 800.0], [0.8, 1.6, 4.0])
    [(2, 1.6, 3.2)]
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    t = np.asarray(t_s, dtype=np.float64)
    start = t[1:] - rr[1:] / 1000.0  # the same float operations, element by element
    return [(i + 1, float(t[i]), float(start[i])) for i in np.flatnonzero(start - t[:-1] > GAP_THRESHOLD_S).tolist()]
