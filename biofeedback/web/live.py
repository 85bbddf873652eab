"""The server's one live session and its fan-out to the open pages.

The recording runs in the server process through :func:`sessions.live.run_session`, the runner of
``biofeedback session`` and ``biofeedback demo``. The page is only a view:

- beats and events reach the pages as the very lines ``--jsonl`` prints: a :class:`WebSink` feeds
  :class:`biofeedback.cli.live_output.JsonlSink` a writer that hands each line to the hub, which keeps
  the latest state (for a reload or a second tab) and queues the line to every page;
- ``{"type": "frame", ...}`` objects (web only) carry the session's own pacer state
  (:func:`biofeedback.practices.pacer_at`) and the phase clock 15 times a second, so the breathing guide
  follows the session's pacer timing; the page only interpolates between frames;
- a page that falls behind is dropped (its queue is bounded); it reconnects and gets the snapshot.
  The source, the clock and the store never wait for a page (outputs never drive the recording).

Markers and the early end go through ``run_session``'s key seam (``" "`` and ``"q"``), as in the
terminal; closing a page changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biofeedback.cli.live_output import JsonlSink
from biofeedback.engine import BeatIndices
from biofeedback.errors import InputError
from biofeedback import events as ev
from biofeedback.hrv.zones import COHERENCE_ZONES as _COHERENCE_BOUNDS
from biofeedback.practices import Practice, Protocol, pacer_at

#: Recent beats kept for the heart-rate wave and the coherence trace of a page that (re)connects.
RECENT_BEATS = 300
#: Lines queued for one page before it counts as fallen behind and is dropped.
QUEUE_LIMIT = 4000
#: Fastest simulated session the app offers (real time x this).
MAX_SPEED = 60.0

#: Display bands of the coherence ratio: the zones of :mod:`biofeedback.hrv.zones` (one place, shared with
#: the terminal's live screen). The page colours the value by these bands; it never classifies by itself.
COHERENCE_ZONES: tuple[tuple[str, float, float | None], ...] = (
    ("low", 0.0, _COHERENCE_BOUNDS[0]), ("medium", _COHERENCE_BOUNDS[0], _COHERENCE_BOUNDS[1]),
    ("high", _COHERENCE_BOUNDS[1], None))
#: The relaxation index runs 0..100 (:func:`biofeedback.hrv.relaxation_index`).
RELAXATION_SCALE = (0.0, 100.0)


def warm_up_engine() -> None:
    """Load the engine's compiled kernels (numba's cache) before a session starts: the first windows
    otherwise take a second or two, during which a fast simulated session's clock runs on without beats.
    A throwaway engine, 120 synthetic beats; nothing is stored."""
    from biofeedback.beat import Beat
    from biofeedback.engine import HRVEngine

    engine = HRVEngine()
    t_s = 0.0
    for i in range(120):
        rr_ms = 900.0 + 40.0 * math.sin(i / 2.0)
        t_s += rr_ms / 1000.0
        engine.push(Beat(rr_ms=rr_ms, t_s=t_s))


class Busy(InputError):
    """A live session is already running in this store (the second start is refused)."""


@dataclass(frozen=True)
class StartRequest:
    """What the start form (or ``--demo``) asks for."""

    practice: str = "resonance"
    lang: str = "en"
    baseline_s: float = 45.0
    practice_s: float = 90.0
    recovery_s: float = 45.0
    source: str = "simulator"  # simulator | strap
    speed: float = 1.0
    seed: int = 7
    profile: str = "rest"
    #: The pacer's rate, breaths/min; ``None``: as the terminal chooses it (resonance breathing: the
    #: user's resonance rate from their latest assessment, else the practice's own rate).
    rate_bpm: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> "StartRequest":
        """Validate a start request from the page; :class:`InputError` names the bad field."""
        from biofeedback.practices.pattern import MAX_RATE_BPM, MIN_RATE_BPM
        from biofeedback.practices.texts import check_lang

        kw = _fields(data, cls, "start request", texts=("practice", "lang", "source", "profile"),
                     numbers=("baseline_s", "practice_s", "recovery_s", "speed", "rate_bpm"))
        req = cls(**kw)
        check_lang(req.lang)
        if req.rate_bpm is not None and not MIN_RATE_BPM <= req.rate_bpm <= MAX_RATE_BPM:
            raise InputError(f"rate_bpm must be {MIN_RATE_BPM:g}-{MAX_RATE_BPM:g} breaths/min, got {req.rate_bpm:g}")
        for name in ("baseline_s", "practice_s", "recovery_s"):
            v = getattr(req, name)
            if not 0 <= v <= 4 * 3600:
                raise InputError(f"{name} must be between 0 and 14400 seconds, got {v:g}")
        if req.practice_s <= 0:
            raise InputError("practice_s must be longer than 0 s")
        _check_source(req.source, req.speed, req.profile)
        return req


def _fields(data: Any, cls: type, what: str, *, texts: tuple[str, ...], numbers: tuple[str, ...],
            number_lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a JSON request object, type-checked (``null`` leaves a number at its default)."""
    if not isinstance(data, dict):
        raise InputError(f"the {what} must be a JSON object")
    unknown = set(data) - set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    if unknown:
        raise InputError(f"unknown field {sorted(unknown)[0]!r} in the {what}")

    def number(name: str, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{name} must be a number")
        return float(v)

    kw: dict[str, Any] = {}
    for name in texts:
        if name in data:
            if not isinstance(data[name], str):
                raise InputError(f"{name} must be a string")
            kw[name] = data[name]
    for name in numbers:
        if name in data and data[name] is not None:
            kw[name] = number(name, data[name])
    for name in number_lists:
        if name in data and data[name] is not None:
            if not isinstance(data[name], list) or not data[name]:
                raise InputError(f"{name} must be a list of numbers")
            kw[name] = tuple(number(name, v) for v in data[name])
    if "seed" in data:
        if isinstance(data["seed"], bool) or not isinstance(data["seed"], int):
            raise InputError("seed must be a whole number")
        kw["seed"] = data["seed"]
    return kw


def _check_source(source: str, speed: float, profile: str) -> None:
    if source not in ("simulator", "strap"):
        raise InputError(f"source must be 'simulator' or 'strap', got {source!r}")
    if not 0 < speed <= MAX_SPEED or (source == "strap" and speed != 1.0):
        raise InputError(f"speed must be > 0 and at most {MAX_SPEED:g} (1 with a strap), got {speed:g}")
    if profile not in ("rest", "anxious", "athlete"):
        raise InputError(f"profile must be rest, anxious or athlete, got {profile!r}")


@dataclass(frozen=True)
class AssessRequest:
    """What the assessment form asks for: ``biofeedback assess`` (strap) or ``demo --assess`` (simulator)
    with their options. ``None``: the protocol's default (docs/resonance.md)."""

    protocol: str = "stepped"
    lang: str = "en"
    source: str = "simulator"  # simulator | strap
    speed: float = 1.0
    seed: int = 7
    profile: str = "rest"
    #: The simulated person's resonance rate, breaths/min (``demo --assess --resonance-rate``).
    resonance_rate_bpm: float = 5.5
    rest_s: float = 60.0
    rates_bpm: tuple[float, ...] | None = None
    step_s: float | None = None
    settle_s: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> "AssessRequest":
        """Validate an assessment request from the page; :class:`InputError` names the bad field."""
        from biofeedback.practices.texts import check_lang

        kw = _fields(data, cls, "assessment request", texts=("protocol", "lang", "source", "profile"),
                     numbers=("speed", "resonance_rate_bpm", "rest_s", "step_s", "settle_s"),
                     number_lists=("rates_bpm",))
        req = cls(**kw)
        check_lang(req.lang)
        if req.protocol not in ("stepped", "sliding"):
            raise InputError(f"protocol must be 'stepped' or 'sliding', got {req.protocol!r}")
        _check_source(req.source, req.speed, req.profile)
        if not 3.0 <= req.resonance_rate_bpm <= 9.0:
            raise InputError(f"resonance_rate_bpm must be 3-9 breaths/min, got {req.resonance_rate_bpm:g}")
        if not 0 <= req.rest_s <= 3600:
            raise InputError(f"rest_s must be between 0 and 3600 seconds, got {req.rest_s:g}")
        if req.protocol == "sliding" and (req.rates_bpm, req.step_s, req.settle_s) != (None, None, None):
            raise InputError("rates_bpm, step_s and settle_s are for the stepped protocol")
        return req

    def settings(self) -> dict[str, Any]:
        """The schedule's settings, as ``assess --rates/--step/--settle`` give them
        (:func:`biofeedback.cli.run_assessment.schedule_settings`)."""
        from biofeedback.cli.run_assessment import schedule_settings

        return schedule_settings(argparse.Namespace(
            protocol=self.protocol, rates=None if self.rates_bpm is None else list(self.rates_bpm),
            step=self.step_s, settle=self.settle_s, ratio=None))


class _LineWriter:
    """The text stream JsonlSink writes to: every line goes to ``deliver``."""

    def __init__(self, deliver: Callable[[str], None]):
        self.deliver = deliver

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line:
                self.deliver(line)
        return len(text)

    def flush(self) -> None:
        pass


class Subscriber:
    """One open page: a bounded queue of JSON lines."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.dropped = False

    def put(self, line: str) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped = True  # the page reconnects and starts again from the snapshot


class _KeyQueue:
    """Key presses for run_session's ``keys`` seam: " " sets a marker, "q" ends the session."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self.queue.get()


class LiveRun:
    """The state of the running session as the pages show it."""

    def __init__(self, req: "StartRequest | AssessRequest", practice: Practice, protocol: Protocol,
                 device_name: str | None, rate_note: str | None = None):
        self.req = req
        self.rate_note = rate_note
        self.practice = practice
        self.protocol = protocol
        self.device_name = device_name
        self.session_id: str | None = None
        self.beat: dict[str, Any] | None = None
        self.prompt: str | None = None
        self.origin_s: float | None = None  # session time at which the protocol began (first beat)
        self.connection = "connecting"
        self.reconnects = 0
        self.battery_pct: float | None = None
        self.markers = 0
        self.recent: deque[tuple[float, float | None, float | None]] = deque(maxlen=RECENT_BEATS)
        self.frame: dict[str, Any] | None = None
        self.keys = _KeyQueue()
        self.task: asyncio.Task[Any] | None = None

    def describe(self) -> dict[str, Any]:
        p = self.practice.pattern
        return {
            "session_id": self.session_id,
            "practice": self.practice.name,
            "title": self.practice.title(self.req.lang),
            "lang": self.req.lang,
            "kind": self.practice.kind,
            "source": self.req.source,
            "speed": self.req.speed,
            "device_name": self.device_name,
            "protocol": {"baseline_s": self.protocol.baseline_s, "practice_s": self.protocol.practice_s,
                         "recovery_s": self.protocol.recovery_s, "total_s": self.protocol.total_s},
            "pattern": None if p is None else {"inhale_s": p.inhale_s, "hold_in_s": p.hold_in_s,
                                               "exhale_s": p.exhale_s, "hold_out_s": p.hold_out_s,
                                               "rate_bpm": p.rate_bpm},
            "beat": self.beat,
            "prompt": self.prompt,
            "connection": self.connection,
            "reconnects": self.reconnects,
            "battery_pct": self.battery_pct,
            "markers": self.markers,
            "recent": [list(r) for r in self.recent],
            "frame": self.frame,
            "rate_note": self.rate_note,
            "assessment": self.assessment(),
        }

    def assessment(self) -> dict[str, Any] | None:
        """A resonance assessment's protocol and its rates (stepped) or sweep (sliding), else ``None``."""
        sched = self.practice.schedule
        if sched is None:
            return None
        return {"protocol": sched.protocol, "rates_bpm": [st.rate_bpm for st in sched.steps],
                "start_bpm": sched.breaths[0].rate_bpm, "end_bpm": sched.breaths[-1].rate_bpm,
                "n_breaths": len(sched.breaths)}

    def take_line(self, obj: dict[str, Any]) -> None:
        """Update the state from one ``--jsonl`` object."""
        if obj.get("type") == "beat":
            self.beat = obj
            self.recent.append((obj["t_s"], obj.get("hr_bpm"), obj.get("coherence")))
            return
        if obj.get("type") != "event":
            return
        event = ev.event_from_data(str(obj.get("kind")), float(obj.get("t_s") or 0.0), obj.get("data"))
        if isinstance(event, ev.ProtocolStart):  # the protocol's clock starts at the first beat (sessions.live)
            self.origin_s = float(event.origin_s)
        elif isinstance(event, ev.PromptShown):
            self.prompt = event.text
        elif isinstance(event, (ev.Connected, ev.ContactRegained)):  # the connection state is named by its event
            self.connection = ev.Connected.KIND
        elif isinstance(event, (ev.Disconnected, ev.ContactLost)):
            self.connection = event.kind
        elif isinstance(event, ev.Reconnecting):
            self.connection = event.kind
            self.reconnects += 1
        elif isinstance(event, ev.Battery):
            self.battery_pct = event.battery_pct
        elif isinstance(event, ev.UserMarker):
            self.markers += 1

    def frame_at(self, session_s: float) -> dict[str, Any]:
        """The guide at session time ``session_s`` from the session's own protocol and pacer. The
        protocol starts with the first beat (event ``protocol_start``); until then it stands at 0 and
        the frame says ``waiting``."""
        now_s = 0.0 if self.origin_s is None else session_s - self.origin_s
        phase = self.protocol.phase_at(now_s)
        pacer = None
        if phase.name == "practice":
            state = pacer_at(self.practice, self.protocol, now_s)
            if state is not None:
                pacer = {"phase": state.phase, "phase_progress": state.phase_progress,
                         "lung_volume": state.lung_volume, "breath_index": state.breath_index,
                         "seconds_left_in_phase": state.seconds_left_in_phase,
                         "phase_duration_s": state.phase_duration_s, "rate_bpm": self._rate_at(now_s)}
        frame = {"type": "frame", "t_s": session_s, "phase": phase.name, "phase_elapsed_s": phase.elapsed_s,
                 "phase_remaining_s": phase.remaining_s, "pacer": pacer, "speed": self.req.speed,
                 "waiting": self.origin_s is None}
        step = self._step_at(now_s) if phase.name == "practice" else None
        if step is not None:
            frame["step"] = step
        return frame

    def _rate_at(self, now_s: float) -> float | None:
        """The paced rate now, breaths/min: the assessment schedule's (it changes) or the pattern's."""
        sched = self.practice.schedule
        if sched is not None:
            return sched.rate_at(now_s - self.protocol.practice_start_s)
        return None if self.practice.pattern is None else self.practice.pattern.rate_bpm

    def _step_at(self, now_s: float) -> dict[str, Any] | None:
        """A stepped assessment's current step: ``index`` (0-based), ``count``, ``remaining_s`` and
        ``settling`` (the settling breaths after a change, not analysed)."""
        sched = self.practice.schedule
        if sched is None or not sched.steps:
            return None
        t = now_s - self.protocol.practice_start_s
        breath = sched.breath_at(t)
        k = max(breath.step, 0)
        return {"index": k, "count": len(sched.steps), "remaining_s": max(0.0, sched.steps[k].end_s - t),
                "settling": not breath.analysed}


class WebSink:
    """A :class:`sessions.live.Sink` for the pages: the ``--jsonl`` lines, plus frames."""

    def __init__(self, hub: "LiveHub", run: LiveRun):
        self.hub = hub
        self.run = run
        self.jsonl = JsonlSink(_LineWriter(self._line))  # type: ignore[arg-type]

    def _line(self, line: str) -> None:
        self.run.take_line(json.loads(line))
        self.hub.publish(line)

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None:
        self.jsonl.on_beat(indices, phase, values)

    def on_event(self, event: ev.Event, phase: str | None) -> None:
        self.jsonl.on_event(event, phase)

    def on_frame(self, now_s: float) -> None:
        frame = self.run.frame_at(now_s)
        self.run.frame = frame
        self.hub.publish(json.dumps(frame, allow_nan=False))


class LiveHub:
    """At most one live session per server (and per store), and the pages that watch it."""

    def __init__(self, home: Path):
        self.home = home
        self.run: LiveRun | None = None
        self.last: dict[str, Any] | None = None  # how the last session ended ({"type": "stored", ...})
        self.subscribers: set[Subscriber] = set()

    # -- pages ------------------------------------------------------------------------------------
    def subscribe(self) -> Subscriber:
        sub = Subscriber()
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def publish(self, line: str) -> None:
        for sub in list(self.subscribers):
            sub.put(line)

    def snapshot(self) -> dict[str, Any]:
        """Everything a page needs to show the current state at once."""
        running = self.run is not None and self.run.task is not None and not self.run.task.done()
        return {"type": "snapshot", "live": self.run.describe() if running and self.run else None,
                "last": self.last}

    # -- the session ------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.run is not None and self.run.task is not None and not self.run.task.done()

    def _open_store(self) -> Any:
        """The store, refusing when a session runs here or another program records in it (:class:`Busy`)."""
        from sessions.store import Store

        if self.is_running():
            raise Busy(f"a session is already running ({self.run.session_id if self.run else '?'}); "
                       "end it before starting another")
        store = Store.open_home(self.home)
        others = [i.id for i in store.list_sessions() if i.status == "recording"]
        if others:
            store.close()
            raise Busy(f"session {others[0]} is being recorded by another program; end it before starting another")
        return store

    async def start(self, req: StartRequest) -> str:
        """Start a session; return its id. :class:`Busy` when one is running here or in another program."""
        from biofeedback.cli.run_session import make_clock
        from biofeedback.cli.session_common import build_practice
        from sessions.live import SessionPlan

        store = self._open_store()
        try:
            ns = argparse.Namespace(practice=req.practice, pattern=None, rate=req.rate_bpm, ratio=None, spell=None,
                                    lang=req.lang)
            practice, settings = build_practice(ns, self.home)  # the stored resonance rate, as in the terminal
            protocol = Protocol(baseline_s=req.baseline_s, practice_s=req.practice_s, recovery_s=req.recovery_s)
            if req.source == "simulator":
                settings = {**settings, "seed": req.seed, "profile": req.profile, "speed": req.speed,
                            "path": "simulator"}
            plan = SessionPlan(practice=practice, protocol=protocol, lang=req.lang, practice_settings=settings,
                               source_kind="live" if req.source == "strap" else "simulator")
            clock = make_clock(req.speed, req.source)
            source = self._source(req.source, practice, protocol, req, clock, self.home)
        except BaseException:
            store.close()
            raise
        run = LiveRun(req, practice, protocol, source.info.name, rate_note=settings.get("rate_note"))
        return await self._launch(run, plan, source, store, clock)

    async def start_assessment(self, req: "AssessRequest") -> str:
        """Start a resonance assessment (``biofeedback assess`` / ``demo --assess``: the same plan, runner
        and analysis); when it ends its result is kept and published as ``{"type": "assessment", ...}``."""
        from biofeedback.cli.run_assessment import assessment_plan, conclude_assessment
        from biofeedback.cli.run_session import make_clock

        store = self._open_store()
        try:
            simulated = None
            if req.source == "simulator":
                simulated = {"seed": req.seed, "profile": req.profile, "speed": req.speed, "path": "simulator",
                             "resonance_rate_bpm": req.resonance_rate_bpm}
            plan = assessment_plan(req.settings(), rest_s=req.rest_s, lang=req.lang, source=req.source,
                                   simulated=simulated)
            clock = make_clock(req.speed, req.source)
            source = self._source(req.source, plan.practice, plan.protocol, req, clock, self.home)
        except BaseException:
            store.close()
            raise

        def conclude(outcome: Any) -> dict[str, Any]:
            from sessions.store import Store

            with Store.open_home(self.home) as st:  # in a worker thread: its own connection
                return conclude_assessment(st, outcome, req.protocol)[1]

        run = LiveRun(req, plan.practice, plan.protocol, source.info.name)
        return await self._launch(run, plan, source, store, clock, conclude=conclude)

    async def _launch(self, run: LiveRun, plan: Any, source: Any, store: Any, clock: Any,
                      conclude: Callable[[Any], dict[str, Any]] | None = None) -> str:
        from starlette.concurrency import run_in_threadpool

        from biofeedback.cli.session_common import FRAME_INTERVAL_S
        from sessions.live import run_session

        started: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_started(session_id: str) -> None:
            run.session_id = session_id
            started.set_result(session_id)

        async def go() -> None:
            result: dict[str, Any] | None = None
            try:
                try:
                    outcome = await run_session(source, plan, store, clock=clock, sinks=[WebSink(self, run)],
                                                keys=run.keys.__aiter__(), frame_interval_s=FRAME_INTERVAL_S,
                                                on_started=on_started)
                finally:
                    store.close()
                if conclude is not None:
                    result = await run_in_threadpool(conclude, outcome)
                self.last = {"type": "stored", "session_id": outcome.session_id, "status": outcome.status,
                             "end_reason": outcome.end_reason, "n_beats": outcome.n_beats,
                             "assessment": conclude is not None}
            except Exception as exc:  # noqa: BLE001 - shown to the page as one line
                self.last = {"type": "error", "session_id": run.session_id, "message": str(exc)}
                if not started.done():
                    started.set_exception(exc)
            finally:
                if result is not None:
                    self.publish(json.dumps(result, allow_nan=False, default=str))
                self.publish(json.dumps(self.last, allow_nan=False, default=str))

        self.run = run
        run.task = asyncio.create_task(go())
        session_id = await started
        self.publish(json.dumps(self.snapshot(), allow_nan=False, default=str))  # every open page shows it
        return session_id

    @staticmethod
    def _source(name: str, practice: Practice, protocol: Protocol, req: "StartRequest | AssessRequest", clock: Any,
                home: Path) -> Any:
        if name == "simulator":
            from sessions.simulated import simulated_source

            resonance = req.resonance_rate_bpm if isinstance(req, AssessRequest) else None
            return simulated_source(practice, protocol, seed=req.seed, clock=clock, profile=req.profile,
                                    resonance_bpm=resonance)
        import os

        from biofeedback.cli.common import BLE_TRANSPORT_ENV, resolve_strap
        from devices.ble_strap import BleStrap

        # The strap remembered by `biofeedback pair` or the page's pair button.
        return BleStrap.from_spec(resolve_strap(None, home), os.environ.get(BLE_TRANSPORT_ENV) or None, clock=clock)

    def marker(self) -> None:
        if not self.is_running() or self.run is None:
            raise InputError("no session is running")
        self.run.keys.queue.put_nowait(" ")

    def stop(self) -> None:
        if not self.is_running() or self.run is None:
            raise InputError("no session is running")
        self.run.keys.queue.put_nowait("q")

    async def close(self) -> None:
        """Server shutdown: end a running session properly (it is kept, as with q)."""
        if self.is_running() and self.run is not None and self.run.task is not None:
            self.run.keys.queue.put_nowait("q")
            try:
                await asyncio.wait_for(asyncio.shield(self.run.task), timeout=10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                self.run.task.cancel()
