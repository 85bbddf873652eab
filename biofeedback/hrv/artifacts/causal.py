"""The causal (live) Lipponen & Tarvainen detector: two beats of look-ahead, bounded memory.

Part of :mod:`biofeedback.hrv.artifacts`; equals ``detect_artifacts(..., mode="causal")`` label
for label (tested). The per-beat step is compiled (:func:`._kernels.causal_push`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._kernels import _I_COUNT, _I_DONE, _I_PREV, _I_RUN, _I_SETTLED, causal_end_run, causal_layout, causal_push
from .classification import LABELS, LOOKAHEAD_BEATS, NORMAL, ArtifactSettings

_SNAPSHOT_WINDOWS = ("absd", "rrwin", "absm")  # |dRR| over window_beats, RR over median_beats, |mRR|


@dataclass(frozen=True, slots=True)
class SettledBeat:
    """The causal detector's verdict on one beat (``index`` counts beats pushed since creation)."""

    index: int
    label: str
    valid: bool


def _settled(r: int) -> SettledBeat:
    """The kernel's result ``index * 16 + 8 * valid + code`` as a :class:`SettledBeat`."""
    return SettledBeat(r >> 4, LABELS[r & 7], (r & 8) != 0)


class CausalArtifactDetector:
    """Live Lipponen & Tarvainen classification with ``LOOKAHEAD_BEATS`` (2) beats of look-ahead.

    ``push(rr_ms)`` returns the beats settled by this push: normally one, beat ``n - 3`` when the
    ``n``-th beat of the run arrives (none for the first two beats of a run). ``end_run()`` (call
    it at a gap, and at the end of the stream) settles the last beats of the run with the
    reflected neighbours of the offline algorithm and restarts the detector. Memory is bounded by
    ``window_beats``. The labels equal ``detect_artifacts(..., mode="causal")`` exactly.

    A push is one compiled call (:func:`._kernels.causal_push`) on a preallocated state: the
    trailing windows (``|dRR|`` and ``|mRR|`` over ``window_beats``, RR over ``median_beats``) are
    FIFO rings with sorted copies updated by one removal and one insertion, and the thresholds and
    the decision use the float operations of :mod:`.classification` in the same order, so labels,
    valid flags and :meth:`snapshot` are those of the pure-Python detector it replaces (main
    4e685ba) bit for bit (tests/biofeedback/test_causal_detector_digest.py).
    """

    lookahead_beats = LOOKAHEAD_BEATS

    def __init__(self, settings: ArtifactSettings | None = None):
        self.settings = st = settings or ArtifactSettings()
        self._layout = lay = causal_layout(st.window_beats, st.median_beats)
        self._fs = np.zeros(lay.float_size)
        self._fs[:7] = (st.alpha, st.c1, st.c2, st.min_threshold_ms, st.max_threshold_frac,
                        st.min_threshold_frac, st.neighbour_line)
        self._st = np.zeros(lay.int_size, dtype=np.int64)
        self._st[0], self._st[1], self._st[_I_PREV] = st.window_beats, st.median_beats, NORMAL
        self._out = np.empty(LOOKAHEAD_BEATS + 1, dtype=np.int64)

    @property
    def pending(self) -> int:
        """Beats pushed but not yet settled."""
        return int(self._st[_I_COUNT] - self._st[_I_DONE])

    def push(self, rr_ms: float) -> list[SettledBeat]:
        r = causal_push(self._fs, self._st, float(rr_ms))
        return [] if r < 0 else [_settled(r)]

    @property
    def kernel_state(self) -> tuple[np.ndarray, np.ndarray]:
        """The compiled detector's state ``(floats, ints)``, for a caller that runs
        :func:`._kernels.causal_push` inside its own compiled step (the engine's per-beat step):
        the same push as :meth:`push`. The kernel answers a push with a plain int: ``-1`` when no
        beat settled, else ``index * 16 + 8 * valid + code`` (``code`` the position of the label in
        ``LABELS``, ``valid`` 0 or 1)."""
        return self._fs, self._st

    def end_run(self) -> list[SettledBeat]:
        """Settle the beats still pending (end of stream or a gap) and restart."""
        return [_settled(r) for r in self.end_run_codes()]

    def end_run_codes(self) -> list[int]:
        """:meth:`end_run` as the kernel's plain ints (as :attr:`kernel_state` describes them)."""
        k = causal_end_run(self._fs, self._st, self._out)
        return self._out[:k].tolist()

    # -- snapshot / restore (for the engine's snapshot) ------------------------------------------
    # The format of the pure-Python detector (main 4e685ba): each window's values oldest first,
    # the run's last (up to) 4 RR and dRR, its counters.
    def snapshot(self) -> dict[str, Any]:
        lay, fs, st = self._layout, self._fs, self._st
        n = int(st[_I_RUN])
        tail = range(max(n - lay.ring, 0), n)
        state: dict[str, Any] = {"settings": self.settings.to_dict(), "count": int(st[_I_COUNT])}
        for w, name in enumerate(_SNAPSHOT_WINDOWS):
            off, cap = lay.windows[w]
            length, head = int(st[lay.int_window_at + 2 * w]), int(st[lay.int_window_at + 2 * w + 1])
            state[name] = [float(fs[off + (head + k) % cap]) for k in range(length)]
        state["rr"] = [float(fs[lay.rr_at + i % lay.ring]) for i in tail]
        state["d"] = [float(fs[lay.d_at + i % lay.ring]) for i in tail]
        state["run_len"] = n
        state["settled_in_run"] = int(st[_I_SETTLED])
        state["prev_code"] = int(st[_I_PREV])
        return state

    @classmethod
    def restore(cls, state: dict[str, Any]) -> "CausalArtifactDetector":
        """The detector of :meth:`snapshot` (also those of the pure-Python detector, same format);
        ``ValueError`` naming the field when the state is not one a detector can be in."""
        self = cls(ArtifactSettings.from_dict(state["settings"]))
        lay, fs, st = self._layout, self._fs, self._st
        n, j, count = int(state["run_len"]), int(state["settled_in_run"]), int(state["count"])
        prev = int(state["prev_code"])
        windows = [[float(x) for x in state[name]] for name in _SNAPSHOT_WINDOWS]
        tails = [[float(x) for x in state[name]] for name in ("rr", "d")]
        expected = {"run_len": (n >= 0 and 0 <= j <= n and n - j <= LOOKAHEAD_BEATS and count >= n - j),
                    "prev_code": 0 <= prev < len(LABELS),
                    "rr": len(tails[0]) == min(n, lay.ring), "d": len(tails[1]) == min(n, lay.ring)}
        for w, name in enumerate(_SNAPSHOT_WINDOWS):
            expected[name] = len(windows[w]) == min(j if name == "absm" else n, lay.windows[w][1])
        bad = [name for name, ok in expected.items() if not ok]
        if bad:
            raise ValueError(f"artifact detector snapshot: inconsistent {', '.join(bad)}")
        for w, values in enumerate(windows):
            off, cap = lay.windows[w]
            fs[off: off + len(values)] = values
            fs[off + cap: off + cap + len(values)] = sorted(values)
            st[lay.int_window_at + 2 * w], st[lay.int_window_at + 2 * w + 1] = len(values), 0
        for at, values in zip((lay.rr_at, lay.d_at), tails):
            for k, x in enumerate(values):
                fs[at + (n - len(values) + k) % lay.ring] = x
        st[_I_RUN], st[_I_SETTLED], st[_I_PREV] = n, j, prev
        st[_I_COUNT], st[_I_DONE] = count, count - n + j
        return self
