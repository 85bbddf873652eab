"""Run a guided session live: source -> pipeline -> store, screen and JSON lines.

:func:`run_session` is the whole of a session, used by ``biofeedback session`` (a BLE strap) and
``biofeedback demo`` (the simulator, or the simulator behind the virtual BLE strap). It

1. creates the session in the store with everything needed to replay it exactly (device, practice,
   protocol, engine settings);
2. records every raw beat, gap and device event the moment it arrives (the recorder commits at least
   once a second, so a killed process loses at most the last second);
3. pushes beats and gaps through :class:`~sessions.pipeline.SessionPipeline` (the code path replay
   uses too) and stores the indices shown for every beat; as fast as possible, a block of beats at a
   time, perhaps in a helper process (``engine_block_beats``, ``engine_process``: the same indices,
   the same calls of the sinks in the same order);
4. starts the protocol when the first beat arrives (a strap may take seconds to connect and to
   send beats: the baseline does not count down meanwhile; event ``protocol_start``), then
   turns phase changes and prompts of the :class:`~sessions.timeline.Timeline` into events, exactly
   once each, from beat times and, in real time, from screen frames;
5. ends when the protocol is over, when the user presses ``q`` or Ctrl-C, or when the source ends:
   the session is kept, marked complete, and its end reason (``finished``, ``quit``,
   ``interrupted``, ``source_ended``) is stored; an exception marks it incomplete. A session that
   recorded no beat is not kept.

Outputs go to *sinks* (the rich live screen, a JSON-lines stream); the runner holds no display logic.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol as TypingProtocol

from biofeedback.beat import Beat, Gap
from biofeedback.engine import BeatIndices, EngineSettings
from biofeedback.events import Event, PacerChanged, PromptShown, ProtocolStart, SessionEnd, UserMarker
from biofeedback.practices import Practice, Prompt, Protocol
from devices.clock import Clock, RealClock
from devices.source import DeviceEvent, HeartRateSource, SourceItem
from sessions.engine_worker import BlockPipeline, EngineHelper
from sessions.pipeline import SessionPipeline
from sessions.recorder import Recorder
from sessions.store import NewSession, Store
from sessions.timeline import PhaseChange, Timeline

#: After the protocol's end on the clock, the source is stopped once it has delivered nothing for this
#: long (frame-clock time): a source catching up after a stall delivers its overdue beats first, a
#: strap out of range is stopped well within 1 s.
END_GRACE_S = 0.5
#: Blocks and events waiting to be shown (engine_block_beats > 1) beyond which the runner waits for the
#: engine (a helper process still starting, or slower than the recording).
MAX_WAITING = 256
_RESULT = object()  # in _Run.waiting: a block's settled beats, still due from the engine


@dataclass(frozen=True)
class SessionPlan:
    """What the user asked for: the practice, the protocol, the prompt language, the engine settings."""

    practice: Practice
    protocol: Protocol
    lang: str = "en"
    engine_settings: EngineSettings = field(default_factory=EngineSettings)
    practice_settings: dict[str, Any] = field(default_factory=dict)
    source_kind: str = "live"  # stored as the session's source kind: live | simulator


def _stored_device(info: Any, *, simulated: bool) -> Any:
    """The device as stored: a simulated session behind the virtual BLE strap is not stored as the
    strap it imitates (its name, maker and battery are the simulator's inventions)."""
    import dataclasses

    from devices.source import DeviceInfo

    if not simulated or not isinstance(info, DeviceInfo) or info.kind == "simulator":
        return info
    return dataclasses.replace(info, name=f"Virtual BLE strap (simulated, advertised as {info.name!r})",
                               manufacturer=None, model=None, firmware=None, battery_pct=None, kind="virtual")


class Sink(TypingProtocol):
    """Receives what a session shows. Every method must be quick and must not raise.

    ``on_beat`` gets the beat's indices, its phase and ``values``: ``indices.to_json_dict()``, built
    once per beat by the runner (the same mapping is stored by the recorder), read-only."""

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None: ...

    def on_event(self, event: Event, phase: str | None) -> None: ...

    def on_frame(self, now_s: float) -> None: ...


@dataclass(frozen=True)
class SessionOutcome:
    session_id: str
    status: str  # complete | incomplete
    end_reason: str
    n_beats: int
    duration_s: float


class _Run:
    """The state of one running session (not reusable)."""

    def __init__(self, source: HeartRateSource, plan: SessionPlan, store: Store, clock: Clock,
                 sinks: Sequence[Sink], commit_clock: Clock, engine_block_beats: int = 1,
                 engine_helper: EngineHelper | None = None):
        self.source = source
        self.plan = plan
        self.clock = clock
        self.sinks = list(sinks)
        self.timeline = Timeline(plan.practice, plan.protocol, plan.lang)
        # The protocol (and its clock) starts when the first beat arrives: ``origin_s`` is then the
        # session time at which that beat's interval began. Until then: "waiting for the strap".
        self.origin_s: float | None = None
        self.pipeline: SessionPipeline | None = None
        self.session_id = store.create_session(
            NewSession.from_device(
                plan.source_kind,
                clock.wall_now(),
                _stored_device(source.info, simulated=plan.source_kind == "simulator"),
                simulated=plan.source_kind == "simulator",
                practice=plan.practice.name,
                practice_settings={"lang": plan.lang, **plan.practice_settings},
                protocol={
                    "baseline_s": plan.protocol.baseline_s,
                    "practice_s": plan.protocol.practice_s,
                    "recovery_s": plan.protocol.recovery_s,
                },
                engine_settings=plan.engine_settings.to_dict(),
            )
        )
        # as fast as possible (engine_block_beats > 1), the recorder commits thousands of times a
        # second: its WAL checkpoints (and their fsync) run on a thread of their own
        self.recorder = Recorder(store, self.session_id, clock=commit_clock,
                                 background_checkpoints=engine_block_beats > 1)
        self.open_phases: list[str] = []
        self.now_s = 0.0
        self.last_beat_s = 0.0
        self.n_beats = 0
        self.n_taken = 0  # items taken from the source (the frame task watches it after the end)
        self.end_reason: str | None = None
        self.stop_requested = asyncio.Event()
        self.pacer_pattern = plan.practice.pattern
        # engine_block_beats > 1 (see run_session): the engine takes the recorded beats a block at a time
        # (self.blocks, perhaps in a helper process: engine_helper), and what is shown waits in
        # self.waiting, in order: _RESULT for a block's settled beats still due, (event, phase) for an
        # event that came after them.
        self.engine_block_beats = engine_block_beats
        self.engine_helper = engine_helper
        self.blocks: BlockPipeline | None = None
        self.block: list[Beat] = []  # recorded beats not yet submitted
        self.waiting: deque[Any] = deque()

    # -- what happens ----------------------------------------------------------------------------
    def phase(self) -> str | None:
        return self.open_phases[-1] if self.open_phases else None

    def start_protocol(self, first: Beat) -> None:
        """The first beat arrived: the protocol starts where its interval began."""
        origin = max(0.0, first.t_s - first.rr_ms / 1000.0)
        self.origin_s = origin
        baseline_s = self.plan.protocol.baseline_s
        baseline_end_s = origin + baseline_s if baseline_s > 0 else None
        if self.engine_block_beats == 1:
            self.pipeline = SessionPipeline(self.plan.engine_settings, baseline_end_s)
        else:
            self.blocks = BlockPipeline(self.plan.engine_settings, baseline_end_s, helper=self.engine_helper)
            self.engine_helper = None  # the block pipeline's now
        self._record(ProtocolStart(origin, origin))

    def advance(self, now_s: float, *, from_frame: bool = False) -> None:
        """Bring the timeline up to session time ``now_s``: record and show the phase changes and
        prompts due (nothing before the protocol started).

        The end of the protocol seen by a beat stops the source at once; seen by a frame (the clock,
        between beats), the source is stopped once it has been quiet for :data:`END_GRACE_S` (see
        :func:`_frames`), so items already due (a source catching up after the process was stalled)
        are still recorded."""
        if now_s > self.now_s:
            self.now_s = now_s
        if self.origin_s is None:
            return
        origin = self.origin_s
        for item in self.timeline.advance(now_s - origin):
            t = origin + item.t_s
            if isinstance(item, PhaseChange):
                if item.begin:
                    begun = self.recorder.begin_phase(item.name, t)
                    self.open_phases.append(item.name)
                    self._show_event(begun)
                else:
                    ended = self.recorder.end_phase(item.name, t)
                    self.open_phases.remove(item.name)
                    self._show_event(ended, item.name)
            else:
                self._prompt(item, t)
        if now_s - origin >= self.plan.protocol.total_s and self.end_reason is None:
            if from_frame:
                self.end_reason = "finished"  # the frame task stops the source after the grace
            else:
                self.request_stop("finished")

    def _prompt(self, prompt: Prompt, t_s: float) -> None:
        self._record(PromptShown(t_s, prompt.key, prompt.text, self.plan.lang))

    def _record(self, event: Event) -> None:
        self.recorder.record(event)
        self._show_event(event)

    def _show_event(self, event: Event, phase: str | None = None) -> None:
        phase = phase or self.phase()
        if self.block:
            self.submit_block()  # the beats before it first, in the order push() by push() shows them
        if self.waiting:  # after what is still due from the engine
            self.waiting.append((event, phase))
            self.drain()
            return
        for sink in self.sinks:
            sink.on_event(event, phase)

    def take(self, item: SourceItem) -> None:
        """Record one item from the source the moment it arrives, then compute and show."""
        self.n_taken += 1
        if isinstance(item, Beat):
            if self.origin_s is None:
                self.start_protocol(item)
            assert self.origin_s is not None
            if item.t_s - self.origin_s >= self.plan.protocol.total_s:
                self.advance(item.t_s)
                self.request_stop("finished")  # keeps an earlier reason
                return  # after the end of the protocol: not part of this session
            self.advance(item.t_s)
            self.recorder.add_beat(item)
            self.n_beats += 1
            self.last_beat_s = item.t_s
            if self.pipeline is not None:
                self._show_indices(self.pipeline.push(item))
            else:
                self.block.append(item)
                if len(self.block) >= self.engine_block_beats:
                    self.submit_block()
        elif isinstance(item, Gap):
            if self.block:
                self.submit_block()
            self.advance(item.end_s)
            self._show_event(self.recorder.add_gap(item))
            if self.pipeline is not None:
                self._show_indices(self.pipeline.push(item))
            elif self.blocks is not None:
                self.blocks.submit_gap(item)
                self._wait_for_result()
        else:
            self.recorder.record(item)
            self.advance(item.t_s)
            self._show_event(item)

    def submit_block(self) -> None:
        """Give the engine the beats waiting in :attr:`block`; show and store what settles when it is back."""
        assert self.blocks is not None
        block, self.block = self.block, []
        self.blocks.submit_beats(block)
        self._wait_for_result()

    def _wait_for_result(self) -> None:
        self.waiting.append(_RESULT)
        self.drain()

    def drain(self, *, wait: bool = False) -> None:
        """Show what is due, in order: the settled beats back from the engine, and the events that
        came after them. A result not back yet stops it (``wait``: waits for everything; more than
        :data:`MAX_WAITING` things waiting: waits for the first)."""
        waiting = self.waiting
        while waiting:
            head = waiting[0]
            if head is _RESULT:
                assert self.blocks is not None
                settled = self.blocks.next_result(wait or len(waiting) > MAX_WAITING)
                if settled is None:
                    return
                waiting.popleft()
                for first_seq, last_seq, chunks in self.blocks.take_block_chunks():  # encoded by the helper
                    self.recorder.offer_block_chunks(first_seq, last_seq, chunks)
                self._show_indices(settled)
            else:
                waiting.popleft()
                event, phase = head
                for sink in self.sinks:
                    sink.on_event(event, phase)

    def close_engine(self) -> None:
        """End the engine's helper process, if any (the session is over)."""
        if self.blocks is not None:
            self.blocks.close()
        if self.engine_helper is not None:
            self.engine_helper.close()
            self.engine_helper = None

    def _show_indices(self, settled: Iterable[BeatIndices]) -> None:
        origin = self.origin_s or 0.0
        phase_at = self.timeline.protocol.phase_at
        add_settled = self.recorder.add_settled
        for indices in settled:
            # built once: stored as it is, shared read-only with every output (JSON lines, LSL...)
            stored = indices.to_json_dict()
            add_settled(indices.index, stored, indices.artifact)
            values = MappingProxyType(stored)
            phase = phase_at(indices.t_s - origin).name
            for sink in self.sinks:
                sink.on_beat(indices, phase, values)

    def marker(self, label: str = "") -> None:
        self._record(UserMarker(self.now_s, label))

    def pace(self, key: str) -> None:
        """``+``: the pacer one step slower (longer breaths); ``-``: one step faster; recorded as a
        ``pacer_changed`` event. Nothing happens for a practice without a pacer or beyond the
        allowed breathing rates."""
        from biofeedback.errors import InputError
        from biofeedback.practices.pacer import PACER_STEP_BPM, scaled_pattern

        if self.pacer_pattern is None:
            return
        step = -PACER_STEP_BPM if key == "+" else PACER_STEP_BPM
        rate = round((self.pacer_pattern.rate_bpm + step) / PACER_STEP_BPM) * PACER_STEP_BPM
        try:
            pattern = scaled_pattern(self.pacer_pattern, rate)
        except InputError:
            return
        self.pacer_pattern = pattern
        self._record(PacerChanged(self.now_s, rate, pattern.label, key))

    def request_stop(self, reason: str) -> None:
        if self.end_reason is None:
            self.end_reason = reason
        self.stop_requested.set()
        self.source.stop()

    def finish(self) -> float:
        """Settle the last beats, close the open phases, record why the session ended."""
        if self.pipeline is not None:
            self._show_indices(self.pipeline.flush())
        elif self.blocks is not None:
            if self.block:
                self.submit_block()
            self.blocks.submit_flush()
            self._wait_for_result()
            self.drain(wait=True)
        end_s = max(self.now_s, self.last_beat_s)
        if self.end_reason == "finished" and self.origin_s is not None:
            end_s = max(end_s, self.origin_s + self.plan.protocol.total_s)
            self.advance(end_s)  # the last phase end and the closing prompt
        for name in reversed(self.open_phases):
            self._show_event(self.recorder.end_phase(name, end_s), name)
        self.open_phases.clear()
        reason = self.end_reason or "source_ended"
        self._record(SessionEnd(end_s, reason))
        return end_s


async def run_session(
    source: HeartRateSource,
    plan: SessionPlan,
    store: Store,
    *,
    clock: Clock,
    sinks: Sequence[Sink] = (),
    keys: AsyncIterator[str] | None = None,
    frame_interval_s: float | None = None,
    frame_clock: Clock | None = None,
    commit_clock: Clock | None = None,
    on_started: Callable[[str], None] | None = None,
    interrupt: asyncio.Event | None = None,
    engine_block_beats: int = 1,
    engine_process: bool = False,
) -> SessionOutcome:
    """Run one guided session from ``source`` to the end; return where it was stored and how it ended.

    Parameters
    ----------
    clock:
        Session time (the same clock the source stamps its items with).
    sinks:
        Receivers of beats, events and frames (screen, JSON lines).
    keys:
        Key presses: ``" "`` sets a marker, ``"q"`` ends the session early (it is kept), ``"+"`` /
        ``"-"`` make the pacer slower / faster (events ``pacer_changed``).
    frame_interval_s:
        When set, a frame task advances the timeline on ``frame_clock`` time and calls
        ``on_frame`` this often (real-time sessions: the pacer and prompts move between beats).
        ``None`` (as fast as possible) lets beat times alone drive the timeline.
    frame_clock:
        What paces the frames (default real time, whatever the session clock's speed).
    commit_clock:
        The recorder's commit clock (default real time, so a simulated session at full speed still
        commits once per real second).
    interrupt:
        Set it (from a SIGINT/SIGTERM handler) to end the session early with end reason
        ``interrupted`` (kept like ``q``).
    engine_block_beats:
        1 (the default): every beat goes through the pipeline the moment it is recorded, and what it
        settles is shown at once. ``N > 1`` (a session as fast as possible, where no one watches a
        beat arrive): recorded beats wait until ``N`` have come, or an event is to be shown, or a
        gap comes, or the session ends, and then go through the engine together
        (:meth:`~sessions.pipeline.SessionPipeline.push_beats`: the same indices, the same bits,
        about half the engine's time a beat); the sinks get the same calls in the same order, and the
        store the same rows. The raw beats are recorded (and committed) the moment they arrive, as
        always; the store's WAL checkpoints run on a thread of their own
        (:class:`~sessions.checkpointer.WalCheckpointer`).
    engine_process:
        With ``engine_block_beats > 1``: compute the blocks in a helper process on the machine's
        other core (:mod:`sessions.engine_worker`; computed here without two usable cores or when the
        helper fails) while this process goes on recording; what the sinks get, and the store, stay
        the same (the sinks' calls come a little later, at most :data:`MAX_WAITING` blocks and events).
    """
    if not (isinstance(engine_block_beats, int) and engine_block_beats >= 1):
        raise ValueError(f"engine_block_beats must be an int >= 1, got {engine_block_beats!r}")
    helper = EngineHelper.launch() if engine_process and engine_block_beats > 1 else None
    try:
        run = _Run(source, plan, store, clock, sinks, commit_clock or RealClock(), engine_block_beats, helper)
    except BaseException:
        if helper is not None:
            helper.close()
        raise
    if on_started is not None:
        on_started(run.session_id)
    status = "incomplete"
    try:
        async with source:
            t0 = clock.monotonic_s()
            run.advance(0.0)
            tasks = [asyncio.create_task(_consume(run))]
            if frame_interval_s is not None:
                tasks.append(asyncio.create_task(_frames(run, t0, frame_interval_s, frame_clock or RealClock())))
            if keys is not None:
                tasks.append(asyncio.create_task(_keys(run, keys)))
            if interrupt is not None:
                tasks.append(asyncio.create_task(_interrupt(run, interrupt)))
            try:
                await tasks[0]
            except (asyncio.CancelledError, KeyboardInterrupt):
                run.request_stop("interrupted")
                raise
            finally:
                for task in tasks[1:]:
                    task.cancel()
                await asyncio.gather(*tasks[1:], return_exceptions=True)
        end_s = run.finish()
        status = "complete"
    finally:
        run.close_engine()
        run.recorder.finish(status, run.end_reason or ("source_ended" if status == "complete" else None))
        if run.n_beats == 0:
            # Stopped or failed before a single beat (Ctrl-C at once, no strap found, no adapter):
            # the empty session holds nothing recorded, so it is not kept (it would count in trends).
            store.delete_session(run.session_id)
    return SessionOutcome(run.session_id, status, run.end_reason or "source_ended", run.n_beats, end_s)


async def _consume(run: _Run) -> None:
    async for item in run.source.stream():
        run.take(item)
        if run.stop_requested.is_set() and isinstance(item, DeviceEvent):
            continue  # let the source say goodbye (disconnected) before it ends
        if run.stop_requested.is_set():
            run.source.stop()


async def _frames(run: _Run, t0: float, interval_s: float, frame_clock: Clock) -> None:
    # Session time comes from the session clock; frames are paced in real time (>= 10 per second).
    quiet_since: float | None = None  # after the end: when the source last delivered something
    taken = run.n_taken
    while not run.stop_requested.is_set():
        now = run.clock.monotonic_s() - t0
        run.advance(now, from_frame=True)
        if run.end_reason == "finished":
            if quiet_since is None or run.n_taken != taken:
                quiet_since, taken = frame_clock.monotonic_s(), run.n_taken
            elif frame_clock.monotonic_s() - quiet_since >= END_GRACE_S:
                run.request_stop("finished")
        run.recorder.poll()
        for sink in run.sinks:
            sink.on_frame(now)
        await frame_clock.sleep(interval_s)


async def _interrupt(run: _Run, interrupt: asyncio.Event) -> None:
    await interrupt.wait()
    run.request_stop("interrupted")


async def _keys(run: _Run, keys: AsyncIterator[str]) -> None:
    async for key in keys:
        if key == " ":
            run.marker()
        elif key in ("+", "="):
            run.pace("+")
        elif key in ("-", "_"):
            run.pace("-")
        elif key in ("q", "Q", "\x1b"):
            run.request_stop("quit")
            return

