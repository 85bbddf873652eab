"""The live runner end to end on the simulator: a real SQLite file, a virtual clock, no sleeps."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import pytest

from biofeedback.cli.live_output import JsonlSink
from biofeedback.practices import Protocol, get_practice, prompt_schedule
from devices.clock import VirtualClock
from devices.errors import DeviceError
from devices.source import DeviceInfo
from sessions.live import SessionPlan, run_session
from sessions.simulated import simulated_source
from sessions.store import Store

PROTOCOL = Protocol(baseline_s=60, practice_s=120, recovery_s=60)


def _run(store: Store, *, keys: AsyncIterator[str] | None = None, sinks=(), seed: int = 3, protocol=PROTOCOL,
         practice: str = "resonance", lang: str = "en"):
    plan = SessionPlan(practice=get_practice(practice), protocol=protocol, lang=lang, source_kind="simulator")
    clock = VirtualClock()
    source = simulated_source(plan.practice, protocol, seed=seed, clock=clock)
    return asyncio.run(run_session(source, plan, store, clock=clock, sinks=sinks, keys=keys))


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_every_beat_is_recorded_shown_once_and_stored_with_its_indices(tmp_path):
    buf = io.StringIO()
    with Store.open_home(tmp_path) as store:
        outcome = _run(store, sinks=[JsonlSink(buf)])
        beats = store.beats(outcome.session_id)
        stored_indices = store.beat_indices(outcome.session_id)
        info = store.get_session(outcome.session_id)
        phases = store.phases(outcome.session_id)
    lines = _lines(buf)
    shown = [o for o in lines if o["type"] == "beat"]
    assert outcome.status == "complete" and outcome.end_reason == "finished"
    assert info.status == "complete"
    assert len(beats) == outcome.n_beats == len(shown) > 200
    assert [o["index"] for o in shown] == list(range(len(beats)))  # each beat once, in order
    assert [o["t_s"] for o in shown] == [b.t_s for b in beats]
    # What was shown is what was stored, exactly (JSON floats round-trip).
    for o in shown:
        stored = stored_indices[o["index"]]
        assert {k: v for k, v in o.items() if k not in ("type", "phase")} == stored
    # The engine's artifact label was written back to every beat.
    assert all(b.artifact == o["artifact"] for b, o in zip(beats, shown))
    assert [(p.name, p.start_s, p.end_s) for p in phases] == [
        ("baseline", 0.0, 60.0), ("practice", 60.0, 180.0), ("recovery", 180.0, 240.0)]
    # Phases of the beats follow the protocol.
    assert {o["phase"] for o in shown if o["t_s"] < 60} == {"baseline"}
    assert {o["phase"] for o in shown if 60 <= o["t_s"] < 180} == {"practice"}


def test_the_values_shown_are_built_once_read_only_and_are_what_is_stored(tmp_path):
    """Every sink gets the beat's ``to_json_dict()`` as ``values``: one read-only mapping per beat,
    the same object for every sink, equal to what the recorder stored."""
    from types import MappingProxyType

    class Keep:
        def __init__(self):
            self.got = []

        def on_beat(self, indices, phase, values):
            self.got.append((indices, values))

        def on_event(self, *a): ...

        def on_frame(self, now_s): ...

    a, b = Keep(), Keep()
    with Store.open_home(tmp_path) as store:
        outcome = _run(store, sinks=[a, b])
        stored = store.beat_indices(outcome.session_id)
    assert len(a.got) == outcome.n_beats > 200
    for (indices, values), (_, other) in zip(a.got, b.got):
        assert values is other and isinstance(values, MappingProxyType)
        assert dict(values) == indices.to_json_dict() == stored[indices.index]
        with pytest.raises(TypeError):
            values["rmssd_ms"] = 0.0  # type: ignore[index]


def test_every_prompt_becomes_one_event_in_order(tmp_path):
    buf = io.StringIO()
    with Store.open_home(tmp_path) as store:
        outcome = _run(store, sinks=[JsonlSink(buf)], lang="nl")
        events = store.events(outcome.session_id)
    expected = [(p.t_s, p.key) for p in prompt_schedule(get_practice("resonance"), PROTOCOL, "nl")]
    recorded = [(e.t_s, e.data["key"]) for e in events if e.kind == "prompt_shown"]
    assert recorded == expected
    assert all(e.data["lang"] == "nl" for e in events if e.kind == "prompt_shown")
    shown = [(o["t_s"], o["data"]["key"]) for o in _lines(buf) if o["type"] == "event" and o["kind"] == "prompt_shown"]
    assert shown == expected
    kinds = [e.kind for e in events]
    assert kinds[-1] == "session_end" and events[-1].data == {"reason": "finished"}


class _After:
    """Key presses sent once the session has shown ``n`` beats (no sleeping, no timing)."""

    def __init__(self, n: int, keys: str):
        self.n, self.keys, self.seen = n, keys, 0
        self.ready = asyncio.Event()

    def on_beat(self, indices, phase, values):
        self.seen += 1
        if self.seen >= self.n:
            self.ready.set()

    def on_event(self, *args):
        pass

    def on_frame(self, now_s):
        pass

    async def __aiter__(self):
        await self.ready.wait()
        for key in self.keys:
            yield key


def test_space_sets_a_marker_and_q_ends_early_keeping_the_session(tmp_path):
    keys = _After(100, " q")
    with Store.open_home(tmp_path) as store:
        outcome = _run(store, keys=keys.__aiter__(), sinks=[keys])
        info = store.get_session(outcome.session_id)
        events = store.events(outcome.session_id)
        phases = store.phases(outcome.session_id)
    assert outcome.end_reason == "quit" and info.status == "complete"
    assert 100 <= outcome.n_beats < 200  # ended in the practice, long before the 240 s protocol
    assert [e.kind for e in events].count("user_marker") == 1
    assert events[-1].kind == "session_end" and events[-1].data == {"reason": "quit"}
    # Every phase that began was closed at the end.
    assert all(p.end_s is not None for p in phases)
    assert phases[-1].name == "practice" and phases[-1].end_s < 180


class _NoStrap:
    info = DeviceInfo(name="missing strap")

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        pass

    def stop(self):
        pass

    async def stream(self):
        raise DeviceError("no Bluetooth adapter found")
        yield  # pragma: no cover


def test_a_source_that_fails_before_any_beat_leaves_no_empty_session(tmp_path):
    plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL)
    with Store.open_home(tmp_path) as store:
        with pytest.raises(DeviceError):
            asyncio.run(run_session(_NoStrap(), plan, store, clock=VirtualClock()))
        assert store.list_sessions() == []


def test_same_seed_same_session(tmp_path):
    a, b = io.StringIO(), io.StringIO()
    with Store.open_home(tmp_path / "a") as store:
        _run(store, sinks=[JsonlSink(a)])
    with Store.open_home(tmp_path / "b") as store:
        _run(store, sinks=[JsonlSink(b)])
    assert a.getvalue() == b.getvalue()


class _LateStrap:
    """The simulator behind a strap that needs ``delay_s`` to connect and send its first beat."""

    def __init__(self, inner, delay_s: float):
        self.inner, self.delay_s = inner, delay_s
        self.info = inner.info

    async def __aenter__(self):
        await self.inner.__aenter__()
        return self

    async def __aexit__(self, *exc):
        await self.inner.__aexit__(*exc)

    def stop(self):
        self.inner.stop()

    async def stream(self):
        import dataclasses

        from biofeedback.beat import Beat

        async for item in self.inner.stream():
            yield dataclasses.replace(item, t_s=item.t_s + self.delay_s) if isinstance(item, Beat) else item


def test_the_protocol_starts_when_the_beats_flow_not_when_connecting(tmp_path):
    plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL, source_kind="simulator")
    clock = VirtualClock()
    inner = simulated_source(plan.practice, Protocol(0, 400, 0), seed=3, clock=clock)
    with Store.open_home(tmp_path) as store:
        outcome = asyncio.run(run_session(_LateStrap(inner, 30.0), plan, store, clock=clock))
        phases = store.phases(outcome.session_id)
        events = store.events(outcome.session_id)
        beats = store.beats(outcome.session_id)
    start = [e for e in events if e.kind == "protocol_start"]
    assert len(start) == 1 and 29.0 < start[0].data["origin_s"] < 30.0 + 1e-9
    origin = start[0].data["origin_s"]
    assert [(p.name, round(p.start_s - origin, 6), round(p.end_s - origin, 6)) for p in phases] == [
        ("baseline", 0.0, 60.0), ("practice", 60.0, 180.0), ("recovery", 180.0, 240.0)]
    assert beats[0].t_s > phases[0].start_s  # the first beat is in the baseline, which is whole
    assert outcome.end_reason == "finished"


def test_plus_and_minus_change_the_pacer_and_are_recorded(tmp_path):
    keys = _After(120, "+-+q")
    with Store.open_home(tmp_path) as store:
        outcome = _run(store, keys=keys.__aiter__(), sinks=[keys])
        events = store.events(outcome.session_id)
    changes = [e.data for e in events if e.kind == "pacer_changed"]
    assert [(c["rate_bpm"], c["key"]) for c in changes] == [(5.5, "+"), (6.0, "-"), (5.5, "+")]
    assert changes[0]["pattern"] == "4.36364-0-6.54545-0"  # 4:6 kept, one breath 60/5.5 s


def test_beats_due_when_the_process_was_stalled_past_the_end_are_still_recorded(tmp_path):
    """The process stalls (a slow disk, a busy machine) and wakes up after the protocol's end: the
    beats that came due meanwhile are recorded before the session ends, none is cut."""
    plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL, source_kind="simulator")
    clock = VirtualClock()

    class Stall:  # a frame that takes "forever": the clock jumps past the end of the protocol
        done = False

        def on_beat(self, *a): ...

        def on_event(self, *a): ...

        def on_frame(self, now_s):
            if now_s > 10.0 and not self.done:
                self.done = True
                clock.advance(PROTOCOL.total_s + 5.0)

    with Store.open_home(tmp_path) as store:
        source = simulated_source(plan.practice, PROTOCOL, seed=3, clock=clock)
        outcome = asyncio.run(run_session(source, plan, store, clock=clock, sinks=[Stall()], frame_interval_s=0.25,
                                          frame_clock=clock))
        beats = store.beats(outcome.session_id)
    reference_dir = tmp_path / "ref"
    with Store.open_home(reference_dir) as ref_store:
        ref = _run(ref_store)
        expected = ref_store.beats(ref.session_id)
    assert outcome.end_reason == "finished"
    assert [b.t_s for b in beats] == [b.t_s for b in expected]


class _Calls:
    """Every sink call, in order, with what it carried."""

    def __init__(self):
        self.calls: list[tuple] = []

    def on_beat(self, indices, phase, values):
        self.calls.append(("beat", repr(indices), phase, dict(values)))  # repr: NaN equals NaN

    def on_event(self, event, phase):
        self.calls.append(("event", repr(event), phase))

    def on_frame(self, now_s): ...


def _run_blocks(store: Store, engine_block_beats: int, engine_process: bool = False):
    from devices.simulator import SimulatorSource
    from sessions.simulated import simulated_person

    protocol = Protocol(baseline_s=90, practice_s=120, recovery_s=60)
    plan = SessionPlan(practice=get_practice("resonance"), protocol=protocol, source_kind="simulator")
    clock = VirtualClock()
    # premature and missed beats, and skin contact lost now and then (gaps)
    person = simulated_person(plan.practice, protocol, seed=8, ectopic_rate=0.03, missed_rate=0.01,
                              contact_loss_per_hour=60.0)
    source = SimulatorSource(person, clock=clock, duration_s=protocol.total_s, beats_per_turn=32)
    sink = _Calls()
    outcome = asyncio.run(run_session(source, plan, store, clock=clock, sinks=[sink],
                                      engine_block_beats=engine_block_beats, engine_process=engine_process))
    sid = outcome.session_id
    stored = (store.beats(sid), store.beat_indices(sid), store.gaps(sid), store.events(sid), store.phases(sid))
    return sink.calls, stored


@pytest.mark.parametrize("engine_process", [False, True], ids=["here", "helper process"])
def test_beats_fed_to_the_engine_in_blocks_give_the_same_session_and_the_same_calls(tmp_path, engine_process):
    # As fast as possible the runner feeds the engine many beats at a time (run_session's
    # engine_block_beats), in a helper process when asked (engine_process): every sink must get the
    # same calls in the same order (events between the beats where they were), and the store the same
    # rows, as beat by beat; the baseline (relaxation), gaps and artifacts included.
    with Store.open_home(tmp_path / "one") as store:
        one, stored_one = _run_blocks(store, 1)
    with Store.open_home(tmp_path / "blocks") as store:
        blocks, stored_blocks = _run_blocks(store, 7, engine_process)
    beats = [c for c in one if c[0] == "beat"]
    assert len(beats) > 250 and len(one) > len(beats) + 20
    assert any(c[3]["relaxation"] is not None for c in beats)  # the baseline ended mid-run
    assert any(c[3]["gap_before"] for c in beats) and any(not c[3]["valid"] for c in beats)
    assert blocks == one
    assert stored_blocks[0] == stored_one[0]  # beats with their artifact labels
    assert stored_blocks[1:] == stored_one[1:]  # indices, gaps, events, phases


def test_engine_block_beats_must_be_a_positive_int(tmp_path):
    with Store.open_home(tmp_path) as store, pytest.raises(ValueError, match="engine_block_beats"):
        plan = SessionPlan(practice=get_practice("resonance"), protocol=PROTOCOL, source_kind="simulator")
        clock = VirtualClock()
        source = simulated_source(plan.practice, PROTOCOL, seed=1, clock=clock)
        asyncio.run(run_session(source, plan, store, clock=clock, engine_block_beats=0))
