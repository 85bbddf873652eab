"""The report's per-beat RMSSD and coherence: read as columns from the stored live indices, and the
same numbers from a replay when the live indices are not stored."""

from __future__ import annotations

import asyncio
import math

import numpy as np

from sessions.report_data import _per_beat_series
from biofeedback.practices import Protocol, customize, get_practice
from devices.clock import VirtualClock
from devices.simulator import SimulatorSource
from sessions.live import SessionPlan, run_session
from sessions.simulated import simulated_person
from sessions.store import Store

KEYS = ("rmssd_ms", "coherence")


def _record(store: Store) -> str:
    """A 150 s simulated resonance session (baseline, practice, recovery) recorded into ``store``: its id."""
    protocol = Protocol(baseline_s=60, practice_s=60, recovery_s=30)
    practice = customize(get_practice("resonance"), rate_bpm=6.0)
    clock = VirtualClock()
    source = SimulatorSource(simulated_person(practice, protocol, seed=3), clock=clock, duration_s=protocol.total_s)
    plan = SessionPlan(practice=practice, protocol=protocol, source_kind="simulator")
    return asyncio.run(run_session(source, plan, store, clock=clock, commit_clock=clock)).session_id


def test_the_stored_columns_and_a_replay_give_the_report_the_same_series(tmp_path):
    with Store.open_home(tmp_path) as store:
        sid = _record(store)
        n = store.get_session(sid).n_beats
        live = store.beat_indices(sid)
        assert len(live) == n
        stored = _per_beat_series(store, sid, n, KEYS)
        for key in KEYS:
            want = [math.nan if live[i][key] is None else live[i][key] for i in range(n)]
            np.testing.assert_array_equal(stored[key], np.array(want))
        assert np.isnan(stored["coherence"]).any() and np.isfinite(stored["coherence"]).any()
        with store.transaction() as conn:  # as for an imported session: no live indices
            conn.execute("DELETE FROM beat_index_chunks WHERE session_id = ?", (sid,))
        replayed = _per_beat_series(store, sid, n, KEYS)
    for key in KEYS:
        np.testing.assert_array_equal(replayed[key], stored[key])


def test_the_subtitle_writes_the_session_length_as_the_reader_writes_numbers(tmp_path):
    from sessions.report_data import report_data

    with Store.open_home(tmp_path) as store:
        sid = _record(store)
        english = report_data(store, sid, "en").subtitle
        dutch = report_data(store, sid, "nl").subtitle
    minutes = next(part for part in english.split(" · ") if part.endswith(" min"))
    assert minutes.startswith("2.") and minutes[2].isdigit()  # 150 s of session: "2.5 min"
    assert minutes.replace(".", ",") in dutch.split(" · ")  # "2,5 min" in Dutch
