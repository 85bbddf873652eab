"""Replay reproduces the live indices bit for bit, through the same pipeline, on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import numpy as np
import pytest

from biofeedback.beat import Beat
from biofeedback.practices import Protocol, customize, get_practice
from devices.clock import VirtualClock
from devices.simulator import SimulatorSource
from sessions.index_chunks import decode_rows, encode_columnar
from sessions.live import SessionPlan, run_session
from sessions.recorder import Recorder
from sessions.replay import ReplayBeat, ReplayEvent, SessionReplay, paced, replay_session, values_identical
from sessions.simulated import simulated_person
from sessions.store import NewSession, Store

PROTOCOL = Protocol(baseline_s=120, practice_s=300, recovery_s=120)


def record(store: Store, *, seed: int, protocol: Protocol = PROTOCOL, duration_s: float | None = None,
           **artifacts: float) -> str:
    practice = customize(get_practice("resonance"), rate_bpm=6.0)
    plan = SessionPlan(practice=practice, protocol=protocol, source_kind="simulator")
    clock = VirtualClock()
    person = simulated_person(practice, protocol, seed=seed, **artifacts)
    source = SimulatorSource(person, clock=clock, duration_s=duration_s or protocol.total_s)
    return asyncio.run(run_session(source, plan, store, clock=clock, commit_clock=clock)).session_id


@pytest.fixture(scope="module")
def artifact_session(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Store.open_home(home) as store:
        sid = record(store, seed=4, ectopic_rate=0.02, missed_rate=0.01, contact_loss_per_hour=20)
    return home, sid


def test_replay_equals_live_bit_for_bit_with_artifacts_and_gaps(artifact_session):
    home, sid = artifact_session
    with Store.open_home(home) as store:
        live = store.beat_indices(sid)
        gaps = store.gaps(sid)
        n = len(store.beats(sid))
        records, outcome = replay_session(store, sid)
    # The session really has what makes replay hard.
    assert len(gaps) >= 1
    assert sum(1 for d in live.values() if d["artifact"] != "normal") >= 5
    assert any(d["gap_before"] for d in live.values())
    assert any(d["relaxation"] is not None for d in live.values())
    assert outcome.reanalysis is False and outcome.matches is True
    assert outcome.n_beats == outcome.n_live == outcome.n_compared == outcome.n_identical == n == len(live)
    assert outcome.summary_line() == f"replay matches live: {n}/{n} beats identical"
    beats = [r for r in records if isinstance(r, ReplayBeat)]
    for r in beats:
        assert r.indices == live[r.seq]
        assert all(values_identical(live[r.seq][k], v) for k, v in r.indices.items())


def test_records_interleave_events_by_recorded_position_and_carry_phases(artifact_session):
    home, sid = artifact_session
    with Store.open_home(home) as store:
        events = store.events(sid)
        records, _ = replay_session(store, sid)
    beats = [r for r in records if isinstance(r, ReplayBeat)]
    assert [b.seq for b in beats] == list(range(len(beats)))
    replayed_events = [r for r in records if isinstance(r, ReplayEvent)]
    assert [(e.next_seq, e.t_s, e.kind) for e in replayed_events] == [(e.next_seq, e.t_s, e.kind) for e in events]
    seen = 0  # beats output so far
    for r in records:
        if isinstance(r, ReplayBeat):
            seen += 1
        else:
            assert r.next_seq == seen  # recorded after beat next_seq - 1, before beat next_seq
    for b in beats:
        expected = "baseline" if b.t_s < 120 else "practice" if b.t_s < 420 else "recovery"
        assert b.phase == expected
    obj = beats[0].to_json_dict()
    assert obj["type"] == "beat" and obj["phase"] == "baseline"
    assert {"t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence", "artifact"} <= set(obj)
    json.dumps(replayed_events[0].to_json_dict(), allow_nan=False)


def test_reanalysis_with_a_longer_window_gives_other_numbers_and_says_so(artifact_session):
    home, sid = artifact_session
    with Store.open_home(home) as store:
        live = store.beat_indices(sid)
        records, outcome = replay_session(store, sid, overrides={"time_window_s": 90.0, "frequency_window_s": 180.0})
        _, same = replay_session(store, sid, overrides={"time_window_s": 60.0})  # equals the recorded setting
    assert outcome.reanalysis is True and outcome.matches is None
    assert outcome.summary_line().startswith("re-analysis of session") and "not compared" in outcome.summary_line()
    assert outcome.settings["time_window_s"] == 90.0
    beats = [r for r in records if isinstance(r, ReplayBeat)]
    assert len(beats) == len(live)
    differing = sum(1 for b in beats if b.indices["rmssd_ms"] != live[b.seq]["rmssd_ms"])
    assert differing > len(beats) // 2
    assert same.reanalysis is False and same.matches is True


def test_a_tampered_live_index_is_reported_as_the_first_difference(tmp_path):
    with Store.open_home(tmp_path) as store:
        sid = record(store, seed=8, protocol=Protocol(baseline_s=60, practice_s=60, recovery_s=30))
        row = store.beat_indices(sid)[40]
        row["rmssd_ms"] = row["rmssd_ms"] + 1e-9
        # rewrite the stored chunk that holds beat 40, with that one value changed
        with store.transaction() as conn:
            first, data = conn.execute("SELECT first_seq, data FROM beat_index_chunks WHERE session_id = ? "
                                       "AND first_seq <= 40 AND last_seq >= 40", (sid,)).fetchone()
            rows = [(s, row if s == 40 else d) for s, d in decode_rows(data)]
            conn.execute("UPDATE beat_index_chunks SET data = ? WHERE session_id = ? AND first_seq = ?",
                         (encode_columnar(rows), sid, first))
        _, outcome = replay_session(store, sid)
    n = outcome.n_live
    assert outcome.matches is False
    d = outcome.first_difference
    assert (d.seq, d.key) == (40, "rmssd_ms") and d.live == row["rmssd_ms"] and d.replay != d.live
    assert outcome.n_identical == n - 1
    assert outcome.summary_line().startswith(f"replay differs from live: {n - 1}/{n} beats identical")


def test_a_session_that_ended_during_its_baseline_replays_exactly(tmp_path):
    protocol = Protocol(baseline_s=60, practice_s=60, recovery_s=60)
    with Store.open_home(tmp_path) as store:
        sid = record(store, seed=2, protocol=protocol, duration_s=45.0)
        phases = store.phases(sid)
        _, outcome = replay_session(store, sid)
    assert [p.name for p in phases] == ["baseline"] and phases[0].end_s < 60
    assert outcome.matches is True, outcome.summary_line()


def test_an_imported_session_has_nothing_to_compare(tmp_path):
    rr = 900.0 + 30.0 * np.sin(np.arange(200) / 2.0)
    with Store.open_home(tmp_path) as store:
        sid = store.create_session(NewSession(source_kind="import", start_wall=datetime(2026, 2, 1, tzinfo=timezone.utc)))
        with Recorder(store, sid, clock=VirtualClock()) as rec:
            for r, t in zip(rr.tolist(), (np.cumsum(rr) / 1000.0).tolist()):
                rec.add_beat(Beat(rr_ms=r, t_s=t))
        records, outcome = replay_session(store, sid)
    assert outcome.matches is None and outcome.n_beats == 200
    assert "nothing to compare" in outcome.summary_line()
    assert all(r.phase is None for r in records if isinstance(r, ReplayBeat))


def test_paced_output_follows_the_recorded_times_on_an_injected_clock(artifact_session):
    home, sid = artifact_session
    store = Store.open_home(home)
    replay = SessionReplay(store, sid)  # reads the stored live indices as it goes: keep the store open
    clock = VirtualClock(start_s=100.0)

    async def collect(speed: float):
        out = []
        async for rec in paced(replay.records(), speed=speed, clock=clock):
            out.append((clock.monotonic_s() - 100.0, rec))
        return out

    try:
        out = asyncio.run(collect(10.0))
        for at, rec in out:
            assert at >= rec.t_s / 10.0 - 1e-9
        assert [r for _, r in out if isinstance(r, ReplayBeat)] and len(out) > 100
        assert out[-1][0] == pytest.approx(max(r.t_s for _, r in out) / 10.0, abs=1e-6)
        assert replay.outcome is not None and replay.outcome.matches is True
        before = clock.monotonic_s()
        fast = asyncio.run(collect(float("inf")))
        assert clock.monotonic_s() == before and len(fast) == len(out)
        with pytest.raises(ValueError):
            asyncio.run(collect(0.0))
    finally:
        store.close()


@pytest.mark.parametrize(("version", "changed_key"), [(1, "coherence"), (2, "lf_ms2")])
def test_a_session_recorded_with_older_settings_replays_with_its_own_version(tmp_path, version, changed_key):
    """Stored sessions keep the engine settings version they were recorded with: a version-1
    session (coherence on the native 64 s grid) and a version-2 session (Welch spectrum at the
    window's own length) replay bit for bit, not with today's version."""
    from biofeedback.engine import SETTINGS_VERSION, EngineSettings

    protocol = Protocol(baseline_s=60, practice_s=120, recovery_s=60)
    practice = customize(get_practice("resonance"), rate_bpm=6.0)
    plan = SessionPlan(practice=practice, protocol=protocol, source_kind="simulator",
                       engine_settings=EngineSettings(version=version))
    clock = VirtualClock()
    source = SimulatorSource(simulated_person(practice, protocol, seed=5), clock=clock, duration_s=protocol.total_s)
    with Store.open_home(tmp_path) as store:
        sid = asyncio.run(run_session(source, plan, store, clock=clock, commit_clock=clock)).session_id
        assert store.get_session(sid).engine_settings["version"] == version != SETTINGS_VERSION
        live = store.beat_indices(sid)
        records, outcome = replay_session(store, sid)
    assert outcome.matches is True and outcome.n_compared == outcome.n_identical == len(live) > 200
    assert outcome.settings["version"] == version
    # today's version would have shown other values: the replay did not use it
    from dataclasses import replace

    from biofeedback.engine import HRVEngine

    old = EngineSettings.from_dict(outcome.settings)
    eng = HRVEngine(replace(old, version=SETTINGS_VERSION))
    with Store.open_home(tmp_path) as store:
        today = [b for item in store.items(sid) for b in eng.push(item)] + eng.flush()
    assert len(today) == len(live)
    assert sum(b.to_json_dict()[changed_key] != live[b.index][changed_key] for b in today) > len(live) // 2
    assert all(r.indices == live[r.seq] for r in records if isinstance(r, ReplayBeat))
