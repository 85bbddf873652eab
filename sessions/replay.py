"""Replay a stored session through the live code path, and check it reproduces the live indices.

A replay feeds the session's stored raw beats and gaps, in the order they were recorded
(:meth:`sessions.store.Store.items`), through :class:`sessions.pipeline.SessionPipeline` built from
the stored :class:`~biofeedback.engine.EngineSettings` and the end of the stored baseline phase:
the same object, fed the same items, that computed the indices shown live. The output must
therefore equal the stored live indices (:meth:`Store.beat_indices`) bit for bit; every beat is
compared key by key (floats by value and sign, ``None`` for undefined), and the first difference,
if any, is reported.

A *re-analysis* overrides some settings (longer windows, Lomb-Scargle, no artifact correction):
it uses the same code path but is not compared with what was shown live.

Events (prompts, markers, connection changes, gaps) are interleaved with the beats by their
recorded position: an event recorded when ``next_seq`` beats had been recorded comes just before
the indices of beat ``next_seq``. :func:`paced` spaces the records out in time on an injected clock
(``--speed X``).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from biofeedback.beat import Beat
from biofeedback.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from biofeedback.practices.protocol import PhaseName
    from biofeedback.engine import EngineSettings
    from devices.clock import Clock
    from sessions.store import Store

__all__ = [
    "OVERRIDABLE",
    "ReplayBeat",
    "ReplayEvent",
    "Difference",
    "ReplayOutcome",
    "SessionReplay",
    "replay_session",
    "paced",
    "values_identical",
]

#: Beats given to the engine at a time between gaps (memory stays flat; the same bits as one by one).
REPLAY_BLOCK_BEATS = 256

#: Settings a re-analysis may change (``EngineSettings`` field names).
OVERRIDABLE = ("time_window_s", "frequency_window_s", "coherence_window_s", "method", "detrend", "artifact_detection")


@dataclass(frozen=True, slots=True)
class ReplayBeat:
    """The replayed indices of beat ``seq`` (``BeatIndices.to_json_dict()``) and its phase."""

    seq: int
    t_s: float
    phase: str | None
    indices: dict[str, Any]

    def to_json_dict(self) -> dict[str, Any]:
        """``{"type": "beat", "phase": ..., <the keys of `biofeedback analyze --per-beat --jsonl`>}``."""
        return {"type": "beat", "phase": self.phase, **self.indices}


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """A recorded event, placed before the beat ``next_seq``."""

    next_seq: int
    t_s: float
    kind: str
    data: dict[str, Any]
    phase: str | None

    def to_json_dict(self) -> dict[str, Any]:
        """``{"type": "event", "t_s", "kind", "phase", "data"}`` (as the live ``--jsonl`` output)."""
        return {"type": "event", "t_s": self.t_s, "kind": self.kind, "phase": self.phase, "data": self.data}


@dataclass(frozen=True, slots=True)
class Difference:
    """The first place where the replay differs from the live indices."""

    seq: int
    t_s: float
    key: str
    live: Any
    replay: Any


@dataclass(frozen=True)
class ReplayOutcome:
    """What a finished replay found.

    ``n_beats``: beats replayed; ``n_live``: beats with stored live indices; ``n_compared``: beats
    with both; ``n_identical``: of those, identical in every key. ``first_difference`` is ``None``
    when all compared beats are identical. A re-analysis compares nothing.
    """

    session_id: str
    reanalysis: bool
    settings: dict[str, Any]
    n_beats: int
    n_live: int
    n_compared: int
    n_identical: int
    first_difference: Difference | None
    recorded_version: str = ""
    replay_version: str = ""
    imported: bool = False

    @property
    def matches(self) -> bool | None:
        """True when every beat with live indices was reproduced identically; None for a re-analysis
        or a session without live indices (an import)."""
        if self.reanalysis or self.n_live == 0:
            return None
        return self.first_difference is None and self.n_compared == self.n_live

    def summary_line(self) -> str:
        """``replay matches live: N/N beats identical``, the first difference, or why nothing was compared."""
        if self.reanalysis:
            return (f"re-analysis of session {self.session_id} with changed settings: {self.n_beats} beats; "
                    "not compared with the live indices")
        if self.n_live == 0:
            if self.n_beats == 0:
                return f"session {self.session_id} has no beats: nothing to replay"
            why = " (an imported session)" if self.imported else ""
            return (f"replayed {self.n_beats} beats of session {self.session_id}; no live indices were "
                    f"recorded{why}: nothing to compare")
        if self.first_difference is None and self.n_compared == self.n_live:
            extra = self.n_beats - self.n_compared
            tail = f" ({extra} more beats replayed that had no live indices)" if extra else ""
            return f"replay matches live: {self.n_identical}/{self.n_live} beats identical{tail}"
        d = self.first_difference
        if d is None:
            return (f"replay differs from live: only {self.n_compared} of {self.n_live} beats with live indices "
                    f"were replayed ({self.n_identical} identical)")
        versions = (f" (recorded with biofeedback {self.recorded_version}, replayed with {self.replay_version})"
                    if self.recorded_version != self.replay_version else "")
        return (f"replay differs from live: {self.n_identical}/{self.n_live} beats identical; first difference at "
                f"beat {d.seq} (t = {d.t_s:.3f} s): {d.key} live {d.live!r}, replay {d.replay!r}{versions}")

    def to_json_dict(self) -> dict[str, Any]:
        d = self.first_difference
        return {
            "type": "summary",
            "session_id": self.session_id,
            "reanalysis": self.reanalysis,
            "matches": self.matches,
            "n_beats": self.n_beats,
            "n_live": self.n_live,
            "n_compared": self.n_compared,
            "n_identical": self.n_identical,
            "first_difference": None if d is None else {
                "seq": d.seq, "t_s": d.t_s, "key": d.key, "live": d.live, "replay": d.replay},
            "settings": self.settings,
            "recorded_version": self.recorded_version,
            "replay_version": self.replay_version,
            "summary": self.summary_line(),
        }


def values_identical(a: Any, b: Any) -> bool:
    """Bit-for-bit equality of two JSON values (floats: equal value and sign; no int/float mix-up
    beyond what JSON itself keeps)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            return False
        return float(a) == float(b) and math.copysign(1.0, a) == math.copysign(1.0, b)
    return type(a) is type(b) and a == b


def _first_difference(live: Mapping[str, Any], replayed: Mapping[str, Any]) -> str | None:
    for key in replayed:
        if key not in live or not values_identical(live[key], replayed[key]):
            return key
    for key in live:
        if key not in replayed:
            return key
    return None


class SessionReplay:
    """One replay of a stored session; iterate :meth:`records`, then read :attr:`outcome`.

    Parameters
    ----------
    store, session_id:
        The store and a full session id (resolve user references with ``store.resolve_session``).
    overrides:
        ``EngineSettings`` fields to change (:data:`OVERRIDABLE`); when they change the stored
        settings the replay is a re-analysis and is not compared with the live indices.
    """

    def __init__(self, store: Store, session_id: str, *, overrides: Mapping[str, Any] | None = None):
        from biofeedback.practices import PhaseSpan
        from sessions.stored import read_outline

        # The session's metadata, settings, phases and events, read as every reader reads them;
        # the beats and the live indices are streamed while replaying (memory stays flat).
        outline = read_outline(store, session_id)
        self.outline = outline
        self.info = outline.info
        self.session_id = session_id
        stored = outline.settings
        self.stored_settings: EngineSettings = stored
        unknown = set(overrides or {}) - set(OVERRIDABLE)
        if unknown:
            raise ValueError(f"cannot override {', '.join(sorted(unknown))}; only {', '.join(OVERRIDABLE)}")
        try:
            self.settings: EngineSettings = replace(stored, **dict(overrides or {}))
        except ValueError as exc:
            raise InputError(f"re-analysis settings: {exc}") from exc
        self.reanalysis = self.settings != stored
        self._items_of = lambda: store.items(session_id)  # streamed from the store while replaying
        self.events = outline.events
        self._store = store
        # The live indices are streamed in seq order while replaying (memory stays flat for a 24 h
        # session), not loaded whole.
        self.n_live = store.count_beat_indices(session_id)
        last = outline.last_beat_s
        self.baseline_end_s = replay_baseline_end(
            [PhaseSpan(cast("PhaseName", p.name), p.start_s, p.end_s if p.closed else math.inf) for p in outline.phases],
            self.info.protocol, 0.0 if last is None else last,
        )
        self.outcome: ReplayOutcome | None = None

    def records(self) -> Iterator[ReplayBeat | ReplayEvent]:
        """The replayed beats and the recorded events, in recorded order (streams as it computes).

        When exhausted, :attr:`outcome` holds the comparison with the live indices.
        """
        from sessions.pipeline import SessionPipeline

        pipeline = SessionPipeline(self.settings, self.baseline_end_s)
        events = self.events
        e = 0
        n_beats = n_compared = n_identical = 0
        first: Difference | None = None

        live_rows = iter(()) if self.reanalysis else self._store.iter_beat_indices(self.session_id)
        pending_live: list[tuple[int, dict[str, Any]]] = []

        def live_for(seq: int) -> dict[str, Any] | None:
            while True:
                if not pending_live:
                    row = next(live_rows, None)
                    if row is None:
                        return None
                    pending_live.append(row)
                live_seq, values = pending_live[0]
                if live_seq > seq:
                    return None
                pending_live.pop()
                if live_seq == seq:
                    return values

        def settle(settled: Iterable[Any]) -> Iterator[ReplayBeat | ReplayEvent]:
            nonlocal e, n_beats, n_compared, n_identical, first
            for bi in settled:
                seq = bi.index
                while e < len(events) and events[e].next_seq <= seq:
                    ev = events[e]
                    yield ReplayEvent(ev.next_seq, ev.t_s, ev.kind, ev.data, self.outline.phase_at(ev.t_s))
                    e += 1
                d = bi.to_json_dict()
                n_beats += 1
                live = live_for(seq)
                if live is not None:
                    n_compared += 1
                    key = _first_difference(live, d)
                    if key is None:
                        n_identical += 1
                    elif first is None:
                        first = Difference(seq, bi.t_s, key, live.get(key), d.get(key))
                yield ReplayBeat(seq, bi.t_s, self.outline.phase_at(bi.t_s), d)

        # the beats between gaps go to the engine REPLAY_BLOCK_BEATS at a time (push_beats: the same
        # bits as one by one, its FFTs done in blocks); the records' order follows the seqs anyway
        rr_ms: list[float] = []
        t_s: list[float] = []
        for item in self._items_of():
            if isinstance(item, Beat):
                rr_ms.append(item.rr_ms)
                t_s.append(item.t_s)
                if len(t_s) == REPLAY_BLOCK_BEATS:
                    yield from settle(pipeline.push_beats(rr_ms, t_s))
                    rr_ms, t_s = [], []
                continue
            if t_s:
                yield from settle(pipeline.push_beats(rr_ms, t_s))
                rr_ms, t_s = [], []
            yield from settle(pipeline.push(item))
        if t_s:
            yield from settle(pipeline.push_beats(rr_ms, t_s))
        yield from settle(pipeline.flush())
        while e < len(events):
            ev = events[e]
            yield ReplayEvent(ev.next_seq, ev.t_s, ev.kind, ev.data, self.outline.phase_at(ev.t_s))
            e += 1
        self.outcome = ReplayOutcome(
            session_id=self.session_id,
            reanalysis=self.reanalysis,
            settings=self.settings.to_dict(),
            n_beats=n_beats,
            n_live=self.n_live,
            n_compared=0 if self.reanalysis else n_compared,
            n_identical=0 if self.reanalysis else n_identical,
            first_difference=None if self.reanalysis else first,
            recorded_version=self.info.software_version,
            replay_version=_version(),
            imported=self.info.source_kind == "import",
        )


def _version() -> str:
    from biofeedback import __version__

    return __version__


def replay_baseline_end(phases: list[Any], protocol: Mapping[str, Any], last_beat_s: float) -> float | None:
    """When the live pipeline ended the baseline: :func:`sessions.pipeline.baseline_end_of` of the
    stored phases, except for a session that ended during its baseline.

    The live runner gives the pipeline the *planned* baseline end (``protocol.baseline_s``); the stored
    baseline phase ends there, or earlier when the session stopped during the baseline. In that case
    no beat reached the planned end, so live never froze a baseline; the stored (early) end would
    freeze one at a beat that falls exactly on it. ``None`` reproduces live.
    """
    from sessions.pipeline import baseline_end_of

    end = baseline_end_of(phases)
    if end is None:
        return None
    planned = protocol.get("baseline_s") if isinstance(protocol, Mapping) else None
    if isinstance(planned, (int, float)) and end < planned and end >= last_beat_s:
        return None
    return end


def replay_session(store: Store, session_id: str, *, overrides: Mapping[str, Any] | None = None) -> tuple[
        list[ReplayBeat | ReplayEvent], ReplayOutcome]:
    """Replay a whole session at once: ``(records, outcome)``."""
    rp = SessionReplay(store, session_id, overrides=overrides)
    records = list(rp.records())
    assert rp.outcome is not None
    return records, rp.outcome


async def paced(records: Iterable[Any], *, speed: float, clock: Clock) -> AsyncIterator[Any]:
    """Yield ``records`` (anything with ``t_s``, seconds since session start) no earlier than
    ``t_s / speed`` seconds of ``clock`` after the first one was asked for; never out of order
    (a record whose time has passed comes at once). ``speed = inf`` yields without waiting."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed!r}")
    t0 = clock.monotonic_s()
    for rec in records:
        if math.isfinite(speed):
            wait = rec.t_s / speed - (clock.monotonic_s() - t0)
            if wait > 0:
                await clock.sleep(wait)
        yield rec
