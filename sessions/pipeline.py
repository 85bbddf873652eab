"""The one code path from a session's beats and gaps to its indices, shared by live and replay.

Everything that changes the indices is a pure function of the items pushed and of the session's
stored settings: the :class:`~biofeedback.engine.HRVEngine` settings, and the end of the baseline
phase, at which the user's baseline (for the relaxation index) is frozen. The pipeline ends the
baseline just before the first beat at or after ``baseline_end_s``: that rule reads only beat
times, so a replay of the stored beats with the stored phase end reproduces the live indices bit for
bit. Prompts, markers and connection events never touch the indices.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from biofeedback.beat import Beat, Gap
from biofeedback.engine import BeatIndices, EngineSettings, HRVEngine
from biofeedback.practices import PhaseSpan


class SessionPipeline:
    """Push beats and gaps in recorded order; get :class:`BeatIndices` for the settled beats.

    Parameters
    ----------
    settings:
        The engine settings stored with the session.
    baseline_end_s:
        When the baseline rest ended (seconds since session start), or ``None`` when the session
        has no baseline; until then, and without a baseline, ``relaxation`` is ``None``.
    """

    def __init__(self, settings: EngineSettings, baseline_end_s: float | None):
        self.settings = settings
        self.engine = HRVEngine(settings)
        self.baseline_end_s = baseline_end_s
        self._baseline_closed = baseline_end_s is None

    def push(self, item: Beat | Gap) -> list[BeatIndices]:
        if not self._baseline_closed and isinstance(item, Beat) and item.t_s >= self.baseline_end_s:  # type: ignore[operator]
            self._close_baseline()
        return self.engine.push(item)

    def push_beats(self, rr_ms: Sequence[float], t_s: Sequence[float]) -> Iterator[BeatIndices]:
        """:meth:`push` of ``Beat(rr_ms[i], t_s[i])`` for each ``i`` in order (a session as fast as
        possible, a replay): the same :class:`BeatIndices`, the same bits, fed to the engine many at a
        time (:meth:`~biofeedback.engine.HRVEngine.push_beats`, its FFTs done in blocks). The baseline
        still ends just before the first beat at or after ``baseline_end_s``. Lazy: a bad beat raises
        when it is reached, after the indices of the beats before it; until the iterator is exhausted,
        call nothing else on this pipeline.
        """
        n = len(t_s)
        split = n
        if not self._baseline_closed:
            end_s = self.baseline_end_s
            split = next((i for i, t in enumerate(t_s) if t >= end_s), n)  # type: ignore[operator]
        push_beats = self.engine.push_beats
        if split == n:
            yield from push_beats(rr_ms, t_s)
            return
        if split:
            yield from push_beats(rr_ms[:split], t_s[:split])
        self._close_baseline()
        yield from push_beats(rr_ms[split:], t_s[split:])

    def flush(self) -> list[BeatIndices]:
        """Settle the beats still waiting for look-ahead (the end of the session)."""
        return self.engine.flush()

    def snapshot(self) -> dict[str, Any]:
        """The complete state (the engine's :meth:`~biofeedback.engine.HRVEngine.snapshot`, whether the
        baseline has ended), plain data: :meth:`restore` continues bit for bit (a helper process taking
        over a session's engine, :mod:`sessions.engine_worker`)."""
        return {"engine": self.engine.snapshot(), "baseline_end_s": self.baseline_end_s,
                "baseline_closed": self._baseline_closed}

    @classmethod
    def restore(cls, state: dict[str, Any]) -> "SessionPipeline":
        """The pipeline of a :meth:`snapshot`."""
        engine = HRVEngine.restore(state["engine"])
        pipeline = cls(engine.settings, state["baseline_end_s"])
        pipeline.engine = engine
        pipeline._baseline_closed = bool(state["baseline_closed"])
        return pipeline

    def _close_baseline(self) -> None:
        self._baseline_closed = True
        try:
            self.engine.end_baseline()
        except ValueError:
            pass  # too few clean beats in the baseline: relaxation stays None for this session


def baseline_end_of(phases: Sequence[PhaseSpan]) -> float | None:
    """The end of the recorded baseline phase (a :class:`~biofeedback.practices.PhaseSpan`, ``end_s``
    may be ``inf`` while open), ``None`` when the session had none or it never ended."""
    for span in phases:
        if span.name == "baseline":
            return span.end_s if math.isfinite(span.end_s) else None
    return None
