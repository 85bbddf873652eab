"""The causal (live) Lipponen & Tarvainen detector: two beats of look-ahead, bounded memory.

Part of :mod:`biofeedback.hrv.artifacts`; equals ``detect_artifacts(..., mode="causal")`` label
for label (tested).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

from .classification import (
    _MIN_RUN_BEATS,
    _REWRITES_NEXT,
    LABELS,
    LOOKAHEAD_BEATS,
    NORMAL,
    ArtifactSettings,
    _bound_threshold,
    _classify,
    _div,
    _qd,
    _quantile_sorted,
)

@dataclass(frozen=True, slots=True)
class SettledBeat:
    """The causal detector's verdict on one beat (``index`` counts beats pushed since creation)."""

    index: int
    label: str
    valid: bool


class _SortedWindow:
    """The last ``width`` values, also kept sorted (bisect: O(width) memmove, tiny constants)."""

    __slots__ = ("width", "fifo", "sorted")

    def __init__(self, width: int):
        self.width = width
        self.fifo: deque[float] = deque()
        self.sorted: list[float] = []

    def add(self, x: float) -> None:
        self.fifo.append(x)
        bisect.insort(self.sorted, x)
        if len(self.fifo) > self.width:
            old = self.fifo.popleft()
            del self.sorted[bisect.bisect_left(self.sorted, old)]

    def clear(self) -> None:
        self.fifo.clear()
        self.sorted.clear()

    def state(self) -> list[float]:
        return list(self.fifo)


class CausalArtifactDetector:
    """Live Lipponen & Tarvainen classification with ``LOOKAHEAD_BEATS`` (2) beats of look-ahead.

    ``push(rr_ms)`` returns the beats settled by this push: normally one, beat ``n - 3`` when the
    ``n``-th beat of the run arrives (none for the first two beats of a run). ``end_run()`` (call
    it at a gap, and at the end of the stream) settles the last beats of the run with the
    reflected neighbours of the offline algorithm and restarts the detector. Memory is bounded by
    ``window_beats``. The labels equal ``detect_artifacts(..., mode="causal")`` exactly.
    """

    lookahead_beats = LOOKAHEAD_BEATS

    def __init__(self, settings: ArtifactSettings | None = None):
        self.settings = settings or ArtifactSettings()
        self._count = 0  # beats pushed since creation (the index of the next beat)
        self._reset_run()

    def _reset_run(self) -> None:
        st = self.settings
        self._absd = _SortedWindow(st.window_beats)
        self._rrwin = _SortedWindow(st.median_beats)
        self._absm = _SortedWindow(st.window_beats)
        self._rr: deque[float] = deque(maxlen=LOOKAHEAD_BEATS + 2)  # rr(j-1) .. rr(j+2)
        self._d: deque[float] = deque(maxlen=LOOKAHEAD_BEATS + 2)  # d(j-1) .. d(j+2)
        self._run_len = 0  # beats in the current run
        self._settled_in_run = 0
        self._prev_code = NORMAL

    @property
    def pending(self) -> int:
        """Beats pushed but not yet settled."""
        return self._run_len - self._settled_in_run

    def push(self, rr_ms: float) -> list[SettledBeat]:
        rr = float(rr_ms)
        d = rr - self._rr[-1] if self._run_len else 0.0
        self._rr.append(rr)
        self._d.append(d)
        self._absd.add(abs(d))
        self._rrwin.add(rr)
        self._run_len += 1
        self._count += 1
        if self._run_len >= LOOKAHEAD_BEATS + 1:
            return [self._settle(final=False)]
        return []

    def end_run(self) -> list[SettledBeat]:
        """Settle the beats still pending (end of stream or a gap) and restart."""
        out: list[SettledBeat] = []
        while self.pending:
            out.append(self._settle(final=True))
        self._reset_run()
        return out

    def _settle(self, final: bool) -> SettledBeat:
        j = self._settled_in_run  # index within the run
        idx = self._count - self._run_len + j
        n = self._run_len
        if n < _MIN_RUN_BEATS:
            code = NORMAL
            mval = 0.0
        else:
            st = self.settings
            last = n - 1  # newest known beat of the run
            # local views: rr/d deques hold the newest values; map run index -> deque position
            base = n - len(self._d)

            dq = self._d

            def d_at(i: int) -> float:
                if i < 0:
                    i = -i
                if i > last:
                    i = 2 * last - i
                return dq[i - base]

            med = _quantile_sorted(self._rrwin.sorted, 0.5)
            th1 = _bound_threshold(st.alpha * _qd(self._absd.sorted), med, st)
            rr_j = self._rr[j - base]
            mval = rr_j - med
            if mval < 0:
                mval = mval * 2.0
            self._absm.add(abs(mval))
            th2 = _bound_threshold(st.alpha * _qd(self._absm.sorted), med, st)
            mn = mval / th2 if th2 != 0.0 else math.nan
            dn = _div(d_at(j), th1)
            if self._settled_in_run and self._prev_code in _REWRITES_NEXT:
                self._prev_code = NORMAL
                self._settled_in_run += 1
                return SettledBeat(idx, "normal", False)
            rr_next = self._rr[j + 1 - base] if j + 1 <= last else math.nan
            code = _classify(dn, _div(d_at(j + 1), th1), _div(d_at(j + 2), th1), j + 1 <= last,
                             mn, rr_j, rr_next, med, th2, st.c1, st.c2, st.neighbour_line)
        valid = code == NORMAL and not (self._settled_in_run and self._prev_code in _REWRITES_NEXT)
        self._prev_code = code
        self._settled_in_run += 1
        return SettledBeat(idx, LABELS[code], valid)

    # -- snapshot / restore (for the engine's snapshot) ------------------------------------------
    def snapshot(self) -> dict:
        return {
            "settings": self.settings.to_dict(),
            "count": self._count,
            "absd": self._absd.state(),
            "rrwin": self._rrwin.state(),
            "absm": self._absm.state(),
            "rr": list(self._rr),
            "d": list(self._d),
            "run_len": self._run_len,
            "settled_in_run": self._settled_in_run,
            "prev_code": self._prev_code,
        }

    @classmethod
    def restore(cls, state: dict) -> "CausalArtifactDetector":
        self = cls(ArtifactSettings.from_dict(state["settings"]))
        self._count = int(state["count"])
        for name in ("absd", "rrwin", "absm"):
            win: _SortedWindow = getattr(self, "_" + name)
            for x in state[name]:
                win.add(float(x))
        self._rr.extend(float(x) for x in state["rr"])
        self._d.extend(float(x) for x in state["d"])
        self._run_len = int(state["run_len"])
        self._settled_in_run = int(state["settled_in_run"])
        self._prev_code = int(state["prev_code"])
        return self
