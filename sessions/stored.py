"""A stored session as one typed value: the one way to read a session for analysis and output.

:func:`read_session` reads a session once (its metadata, engine settings, beats, gaps, phases and
events) into a :class:`StoredSession`; ``compare``, ``trends``, ``report`` and the web app read
that value. ``replay`` and ``export`` stream the beat rows from the store instead (memory stays
flat for a 24 h session) and read only the :class:`SessionOutline` (:func:`read_outline`): the
same phases, settings and events.

What is decided here, once:

- **The end of a phase never closed** (a crashed recording): the last beat, or the phase start when
  the last beat came before it (:func:`resolve_phases`).
- **Which phase a time falls in** (:meth:`SessionOutline.phase_at`): phases are half-open
  ``[start_s, end_s)`` as in :class:`biofeedback.practices.protocol.Protocol`; the last phase
  includes its end (the last beat of a session stopped early ends it); when phases overlap the
  later one wins. ``None`` outside every phase.
- **Gaps as breaks**: ``breaks[i]`` is True when a gap was recorded right before beat ``i`` (``i > 0``;
  a gap before the first beat breaks nothing): no successive difference spans it.
- **The stored engine settings**, parsed once (:class:`~biofeedback.engine.EngineSettings`; a session
  recorded before settings were stored gets the defaults; unreadable ones are an :class:`InputError`).
- **The artifact labels** of the one artifact policy (:mod:`biofeedback.hrv.policy`, offline, flagged
  beats excluded), computed on first use (:attr:`StoredSession.artifacts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from biofeedback.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from biofeedback.engine import EngineSettings
    from biofeedback.hrv.policy import PolicyBeats
    from sessions.store import SessionInfo, Store, StoredEvent, StoredGap, StoredPhase

__all__ = [
    "SessionPhase",
    "SessionOutline",
    "StoredSession",
    "read_outline",
    "read_session",
    "resolve_phases",
    "engine_settings_of",
    "time_slice",
]


@dataclass(frozen=True, slots=True)
class SessionPhase:
    """A stored phase over ``[start_s, end_s)`` seconds since session start; ``closed`` False for a
    phase that was never ended (its ``end_s`` is then the last beat, see :func:`resolve_phases`)."""

    name: str
    start_s: float
    end_s: float
    closed: bool = True

    @property
    def stored_end_s(self) -> float | None:
        """The end as stored: ``None`` for a phase never closed (``export``, the web app)."""
        return self.end_s if self.closed else None


def resolve_phases(stored: list[StoredPhase], last_beat_s: float | None) -> tuple[SessionPhase, ...]:
    """The stored phases with the end of a phase never closed set to the last beat (never before the
    phase's start; 0 s for a session without beats)."""
    last = 0.0 if last_beat_s is None else float(last_beat_s)
    return tuple(
        SessionPhase(p.name, float(p.start_s), float(p.end_s), True) if p.end_s is not None
        else SessionPhase(p.name, float(p.start_s), max(last, float(p.start_s)), False)
        for p in stored
    )


def engine_settings_of(info: SessionInfo) -> EngineSettings:
    """The engine settings stored with a session (the defaults when none were stored)."""
    from biofeedback.engine import EngineSettings

    if info.engine_settings is None:
        return EngineSettings()
    try:
        return EngineSettings.from_dict(info.engine_settings)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"session {info.id}: its stored engine settings cannot be read ({exc})") from exc


def time_slice(t_s: NDArray[np.float64], lo_s: float, hi_s: float, *, include_hi: bool = False) -> slice:
    """The beats with ``lo_s <= t_s < hi_s`` (``<= hi_s`` with ``include_hi``) of time-ordered ``t_s``,
    as a slice: two binary searches, O(log n), instead of an O(n) mask. ``t_s`` must never decrease."""
    lo = int(t_s.searchsorted(lo_s, side="left"))
    hi = int(t_s.searchsorted(hi_s, side="right" if include_hi else "left"))
    return slice(lo, max(lo, hi))


@dataclass(frozen=True)
class SessionOutline:
    """A stored session without its beats: metadata, engine settings, phases, gaps and events."""

    info: SessionInfo
    settings: EngineSettings
    phases: tuple[SessionPhase, ...]
    gaps: tuple[StoredGap, ...]
    events: tuple[StoredEvent, ...]

    @property
    def session_id(self) -> str:
        return self.info.id

    @property
    def last_beat_s(self) -> float | None:
        """``t_s`` of the last beat (``None`` without beats)."""
        return self.info.duration_s

    @property
    def has_phases(self) -> bool:
        return bool(self.phases)

    def phase(self, name: str) -> SessionPhase | None:
        """The first phase called ``name``, or ``None``."""
        return next((p for p in self.phases if p.name == name), None)

    def phase_at(self, t_s: float) -> str | None:
        """The name of the phase ``t_s`` falls in (the rule in the module docstring), or ``None``."""
        name = None
        last = len(self.phases) - 1
        for i, p in enumerate(self.phases):
            if p.start_s <= t_s < p.end_s or (i == last and t_s == p.end_s):
                name = p.name
        return name


@dataclass(frozen=True, eq=False)
class StoredSession(SessionOutline):
    """A whole stored session: the outline and the raw beats, in ``seq`` order.

    ``t_s`` (s since session start) and ``rr_ms`` (ms): the beats' times and raw intervals as
    read-only float64 arrays; ``breaks`` (bool) True where a gap came right before the beat. (The
    other stored columns of a beat, which only ``export`` writes, are streamed from the store.)
    """

    t_s: NDArray[np.float64]
    rr_ms: NDArray[np.float64]
    breaks: NDArray[np.bool_]
    ordered: bool = True  # t_s never decreases (a recording always; a hand-made store might not)

    @property
    def n_beats(self) -> int:
        return int(self.t_s.size)

    def phase_slice(self, p: SessionPhase) -> slice | NDArray[np.intp]:
        """The beats that end in phase ``p`` (:meth:`SessionOutline.phase_at`'s rule: the last phase
        includes its end): a slice, or the indices of the beats when the times are not ordered."""
        last = p is self.phases[-1]
        if self.ordered:
            return time_slice(self.t_s, p.start_s, p.end_s, include_hi=last)
        t = self.t_s
        return np.flatnonzero((t >= p.start_s) & ((t <= p.end_s) if last else (t < p.end_s)))

    def beat_phases(self) -> NDArray[np.object_]:
        """The phase name of every beat (``""`` outside every phase), as an object array."""
        out = np.full(self.n_beats, "", dtype=object)
        for p in self.phases:
            out[self.phase_slice(p)] = p.name
        return out

    @cached_property
    def artifacts(self) -> PolicyBeats:
        """Labels and validity of every beat under the one artifact policy (offline detection with the
        stored settings, flagged beats excluded); computed on first use. The stored beats never change."""
        from biofeedback.hrv.policy import apply_policy

        s = self.settings
        return apply_policy(self.rr_ms, self.t_s, self.breaks, correction="exclude", detection=s.artifact_detection,
                            settings=s.artifacts, mode="offline")


def read_outline(store: Store, session_id: str) -> SessionOutline:
    """A session's metadata, engine settings, phases, gaps and events (no beats)."""
    info = store.get_session(session_id)
    return SessionOutline(info, engine_settings_of(info), resolve_phases(store.phases(session_id), info.duration_s),
                          tuple(store.gaps(session_id)), tuple(store.events(session_id)))


def read_session(store: Store, session_id: str) -> StoredSession:
    """Read a stored session once: every beat, gap, phase and event, and its engine settings."""
    outline = read_outline(store, session_id)
    t, rr = store.beat_times(session_id)  # one query into two arrays, no object per beat
    n = int(t.size)
    breaks = np.zeros(n, dtype=bool)
    for g in outline.gaps:
        if 0 < g.next_seq < n:
            breaks[g.next_seq] = True
    for a in (t, rr, breaks):
        a.setflags(write=False)
    ordered = n < 2 or bool(np.all(np.diff(t) >= 0))
    return StoredSession(outline.info, outline.settings, outline.phases, outline.gaps, outline.events,
                         t, rr, breaks, ordered)
