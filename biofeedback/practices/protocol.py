"""The shape of a guided session: baseline rest, practice, recovery rest (pure; no clock reads).

Times ``t_s`` are seconds since the session started. Phases are half-open intervals
``[start_s, end_s)``; at ``t_s >= total_s`` the session is ``"done"``. A phase of length 0 is skipped.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from biofeedback.errors import InputError

PhaseName = Literal["baseline", "practice", "recovery", "done"]

#: Session phases in order (``"done"`` follows the last one).
PHASES: tuple[PhaseName, ...] = ("baseline", "practice", "recovery")


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    """One phase of the protocol: ``[start_s, end_s)`` seconds since session start."""

    name: PhaseName
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class PhaseState:
    """Where the session is: the phase ``name``, seconds ``elapsed_s`` since it began and ``remaining_s``
    until it ends (for ``"done"``: seconds since the end, and 0). ``start_s`` is when the phase began,
    seconds since session start."""

    name: PhaseName
    elapsed_s: float
    remaining_s: float
    start_s: float


@dataclass(frozen=True, slots=True)
class Protocol:
    """Baseline rest, practice, recovery rest, in seconds (each may be 0).

    The defaults (3 min, 10 min, 3 min) let the comparison judge mean HR, RMSSD and coherence
    (three half-overlapping 64 s windows need 128 s; docs/comparison.md).
    """

    baseline_s: float = 180.0
    practice_s: float = 600.0
    recovery_s: float = 180.0

    def __post_init__(self) -> None:
        for name in ("baseline_s", "practice_s", "recovery_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"session protocol: {name} must be a number of seconds >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def total_s(self) -> float:
        return self.baseline_s + self.practice_s + self.recovery_s

    @property
    def practice_start_s(self) -> float:
        """When the practice (and the pacer, whose time is ``t_s - practice_start_s``) begins."""
        return self.baseline_s

    @property
    def recovery_start_s(self) -> float:
        return self.baseline_s + self.practice_s

    def phase_boundaries(self) -> tuple[PhaseSpan, ...]:
        """The non-empty phases in order, each ``[start_s, end_s)``; together they cover ``[0, total_s)``."""
        spans = []
        start = 0.0
        for name, duration in zip(PHASES, (self.baseline_s, self.practice_s, self.recovery_s)):
            if duration > 0:
                spans.append(PhaseSpan(name=name, start_s=start, end_s=start + duration))
            start += duration
        return tuple(spans)

    def phase_at(self, t_s: float) -> PhaseState:
        """The phase at ``t_s`` seconds since session start (times before 0 count as 0).

        A bisection over the phases' start times (computed once per protocol): the live runner
        asks once a beat."""
        t = max(0.0, t_s)
        starts, spans = _phase_table(self.baseline_s, self.practice_s, self.recovery_s)
        i = bisect_right(starts, t) - 1
        if i >= 0:
            span = spans[i]
            if t < span.end_s:  # the spans are contiguous: only the last one starting at or before t can hold it
                return PhaseState(span.name, elapsed_s=t - span.start_s, remaining_s=span.end_s - t, start_s=span.start_s)
        total = self.total_s
        return PhaseState("done", elapsed_s=t - total, remaining_s=0.0, start_s=total)


@lru_cache(maxsize=64)
def _phase_table(baseline_s: float, practice_s: float, recovery_s: float) -> tuple[tuple[float, ...], tuple[PhaseSpan, ...]]:
    """``(start times, spans)`` of :meth:`Protocol.phase_boundaries` for :meth:`Protocol.phase_at`."""
    spans = Protocol(baseline_s, practice_s, recovery_s).phase_boundaries()
    return tuple(span.start_s for span in spans), spans
