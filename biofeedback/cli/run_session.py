"""Wire a guided session together for the CLI: store, clock, source, outputs, keys, the ending.

`biofeedback demo` and `biofeedback session` differ only in the source they build; everything else
(recording, the pipeline, the screen or JSON lines, the comparison at the end) is this one path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import signal
import sys
from typing import Any

from biofeedback.cli.common import resolve_ble_transport, resolve_home, resolve_strap
from biofeedback.cli.session_common import FRAME_INTERVAL_S, build_practice, print_ending, wants_jsonl


#: Where the beats come from: your strap, the simulator, or the simulator behind a virtual BLE strap.
SOURCES = ("strap", "simulator", "virtual-ble")


def make_clock(speed: float, source: str) -> Any:
    """Session time: real, scaled by ``speed``, or as fast as possible (``inf``). Through the
    virtual BLE strap "as fast as possible" is the virtual loop's own time
    (:class:`devices.clock.LoopClock` under :func:`~devices.bumble_backend.virtual_time.run_virtual`)."""
    from devices.clock import LoopClock, RealClock, ScaledClock, VirtualClock

    if math.isinf(speed) and source == "virtual-ble":
        return LoopClock()
    if math.isinf(speed):
        from datetime import datetime

        return VirtualClock(start_wall=datetime.now().astimezone())
    return RealClock() if speed == 1.0 else ScaledClock(speed)


#: Beats the simulator delivers per turn of the event loop on a virtual clock (``--speed max``):
#: ~30 ms of work, so Ctrl-C and other tasks still run many times a second.
MAX_SPEED_BEATS_PER_TURN = 32
#: Beats fed to the engine together as fast as possible (``--speed max``; see ``run_session``'s
#: ``engine_block_beats``), computed by a helper process on the other core (``engine_process``); in
#: real time every beat goes through at once, here.
MAX_SPEED_ENGINE_BLOCK_BEATS = 32


#: The shortest soothing-touch spell: a prompt every few seconds is flashing, not a spell.
MIN_SPELL_S = 5.0


def check_spell(spell_s: float | None, protocol: Any) -> None:
    """Refuse a ``--spell`` under :data:`MIN_SPELL_S` or longer than the practice it divides."""
    from biofeedback.errors import InputError

    if spell_s is None:
        return
    if spell_s < MIN_SPELL_S:
        raise InputError(f"--spell must be at least {MIN_SPELL_S:g}s, got {spell_s:g}s")
    if protocol.practice_s > 0 and spell_s > protocol.practice_s:
        raise InputError(f"--spell {spell_s:g}s is longer than the practice ({protocol.practice_s:g}s)")


def run_guided_session(args: argparse.Namespace, protocol: Any, *, source: str) -> int:
    own_process = bool(getattr(args, "own_process", False))
    if own_process:
        # numba's and numpy's start-up leaves ~100 000 objects that every full collection of the
        # session would scan again: loaded with the cyclic collector off, then frozen, and the
        # collector on for the session (its own process only; a caller's process keeps its own)
        gc.disable()
    try:
        from biofeedback.practices.texts import check_lang
        from sessions.live import SessionPlan

        check_spell(getattr(args, "spell", None), protocol)
        home = resolve_home(args)
        lang = check_lang(args.lang)
        practice, practice_settings = build_practice(args, home)
    finally:
        if own_process:
            gc.freeze()
            gc.enable()
    from sessions.store import Store

    speed = float(getattr(args, "speed", 1.0))
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if source != "strap":
        practice_settings = {**practice_settings, "seed": args.seed, "profile": args.profile,
                             "speed": "max" if math.isinf(speed) else speed, "path": source}
    plan = SessionPlan(practice=practice, protocol=protocol, lang=lang, practice_settings=practice_settings,
                       source_kind="live" if source == "strap" else "simulator")
    as_json = wants_jsonl(args)
    with Store.open_home(home) as store:
        outcome = run_live(args, plan, store, source=source, speed=speed, as_json=as_json)
        print_ending(store, outcome, as_json=as_json, lang=lang, simulated=source != "strap")
    return 0 if outcome.status == "complete" else 1


def run_live(args: argparse.Namespace, plan: Any, store: Any, *, source: str, speed: float, as_json: bool,
             quiet: bool = False) -> Any:
    """Run the plan live from ``source`` to its end; return the :class:`~sessions.live.SessionOutcome`.
    ``quiet``: no screen and no JSON lines (a progress bar on stderr when it is a terminal)."""
    main = _run(args, plan, store, source=source, speed=speed, as_json=as_json, quiet=quiet)
    if source == "virtual-ble" and math.isinf(speed):
        from devices.bumble_backend.virtual_time import run_virtual

        return run_virtual(main)  # as fast as possible through the BLE stack: virtual loop time
    return asyncio.run(main)


def output_writer(consumers: list[Any]) -> Any:
    """The one place a session's outputs are assembled: the display (JSON lines, the screen or the
    progress bar) plus any further consumer (an LSL outlet...), all fed by one
    :class:`~biofeedback.cli.live_output.OutputWriter` thread so the recording never waits for them."""
    from biofeedback.cli.live_output import OutputWriter

    return OutputWriter(list(consumers))


async def _run(args: argparse.Namespace, plan: Any, store: Any, *, source: str, speed: float, as_json: bool,
               quiet: bool = False) -> Any:
    from biofeedback.cli.keys import terminal_keys
    from biofeedback.cli.live_output import JsonlSink, ScreenSink
    from biofeedback.cli.lsl_option import lsl_publisher
    from sessions.live import run_session

    clock = make_clock(speed, source)
    block = MAX_SPEED_ENGINE_BLOCK_BEATS if math.isinf(speed) else 1
    lsl = lsl_publisher(args)  # --lsl: one more sink, started once the session exists
    more: list[Any] = [lsl] if lsl is not None else []
    started = lsl.start if lsl is not None else None
    async with _source(args, plan, clock, source) as hr_source:
        loop = asyncio.get_running_loop()
        interrupt = asyncio.Event()

        def stop_on_signal() -> None:
            interrupt.set()  # the session ends now and is kept, end reason "interrupted"

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop_on_signal)
        try:
            # Every output is a consumer of one OutputWriter thread: the recording never waits for it.
            if as_json:
                with output_writer([JsonlSink(sys.stdout), *more]) as writer:
                    return await run_session(hr_source, plan, store, clock=clock, sinks=[writer],
                                             frame_interval_s=None if math.isinf(speed) else FRAME_INTERVAL_S,
                                             on_started=started, interrupt=interrupt, engine_block_beats=block,
                                             engine_process=block > 1)
            if math.isinf(speed) or quiet:
                return await _run_with_progress(hr_source, plan, store, clock, interrupt, more, started, block)
            with terminal_keys() as keys, ScreenSink(plan.practice, plan.protocol, plan.lang,
                                                     hr_source.info.name,
                                                     note=plan.practice_settings.get("rate_note")) as screen, \
                    output_writer([screen, *more]) as writer:
                return await run_session(hr_source, plan, store, clock=clock, sinks=[writer], keys=keys,
                                         frame_interval_s=FRAME_INTERVAL_S, on_started=started,
                                         interrupt=interrupt)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
            if lsl is not None:
                lsl.close()


async def _run_with_progress(source: Any, plan: Any, store: Any, clock: Any, interrupt: asyncio.Event,
                             more: list[Any], started: Any, engine_block_beats: int) -> Any:
    """As fast as possible: no live screen, a progress bar of simulated time on stderr."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sessions.live import run_session

    class ProgressSink:
        def __init__(self, progress: Progress, task: Any):
            self.progress, self.task = progress, task

        def on_beat(self, indices: Any, phase: str | None, values: Any) -> None:
            self.progress.update(self.task, completed=min(indices.t_s, plan.protocol.total_s),
                                 description=f"{phase or '':9s}")

        def on_event(self, event: Any, phase: str | None) -> None:
            pass

        def on_frame(self, now_s: float) -> None:
            pass

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("baseline", total=plan.protocol.total_s)
        with output_writer([ProgressSink(progress, task), *more]) as writer:
            return await run_session(source, plan, store, clock=clock, sinks=[writer], on_started=started,
                                     interrupt=interrupt, engine_block_beats=engine_block_beats,
                                     engine_process=engine_block_beats > 1)


@contextlib.asynccontextmanager
async def _source(args: argparse.Namespace, plan: Any, clock: Any, source: str):
    """The heart-rate source the command asked for (entered by run_session itself)."""
    if source == "simulator":
        from sessions.simulated import simulated_source

        # As fast as possible (a virtual clock) the simulator hands out MAX_SPEED_BEATS_PER_TURN beats
        # per turn of the event loop instead of one: the same beats and times, fewer loop turns.
        yield simulated_source(plan.practice, plan.protocol, seed=args.seed, clock=clock, profile=args.profile,
                               resonance_bpm=getattr(args, "resonance_rate", None),
                               beats_per_turn=MAX_SPEED_BEATS_PER_TURN)
    elif source == "virtual-ble":
        from devices.virtual_demo import virtual_strap_source
        from sessions.simulated import simulated_person

        person = simulated_person(plan.practice, plan.protocol, seed=args.seed, profile=args.profile,
                                  resonance_bpm=getattr(args, "resonance_rate", None))
        # The protocol starts at the first beat, after connecting: the strap sends for longer than the
        # protocol and the session ends it.
        async with virtual_strap_source(person, clock=clock, duration_s=plan.protocol.total_s + 600.0) as strap:
            yield strap
    else:
        from devices.ble_strap import BleStrap

        yield BleStrap.from_spec(resolve_strap(args.device, resolve_home(args)), resolve_ble_transport(args),
                                 clock=clock)
