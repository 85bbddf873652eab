"""Before/after comparison on real stored sessions: simulated live sessions in a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import json
import math
from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.beat import Beat
from biofeedback.engine import EngineSettings
from biofeedback.hrv.time_domain import time_domain
from biofeedback.practices import Protocol, customize, get_practice
from devices.clock import VirtualClock
from devices.simulator import SimulatorSource
from biofeedback.cli.tables import render_phase_comparison, render_session_comparison
from sessions.compare import INDEX_KEYS, MIN_SUBWINDOWS
from sessions.compare import compare_phases as compare_stored
from sessions.compare import compare_sessions as compare_stored_pair
from sessions.live import SessionPlan, run_session
from sessions.recorder import Recorder
from sessions.simulated import simulated_person
from sessions.store import NewSession, Store
from sessions.stored import read_session


def compare_phases(store: Store, session_id: str):  # type: ignore[no-untyped-def]
    """The comparison of a stored session, read once (as `compare` reads it)."""
    return compare_stored(read_session(store, session_id))


def compare_sessions(store: Store, id_a: str, id_b: str):  # type: ignore[no-untyped-def]
    return compare_stored_pair(read_session(store, id_a), read_session(store, id_b))

PROTOCOL = Protocol(baseline_s=180, practice_s=300, recovery_s=120)


def record_simulated(store: Store, *, seed: int, protocol: Protocol = PROTOCOL, rate_bpm: float = 6.0,
                     **artifacts: float) -> str:
    """Run the live runner on a simulated person who breathes at ``rate_bpm`` during the practice and
    relaxes while practising; return the session id."""
    practice = customize(get_practice("resonance"), rate_bpm=rate_bpm)
    plan = SessionPlan(practice=practice, protocol=protocol, source_kind="simulator")
    clock = VirtualClock()
    person = simulated_person(practice, protocol, seed=seed, **artifacts)
    source = SimulatorSource(person, clock=clock, duration_s=protocol.total_s)
    outcome = asyncio.run(run_session(source, plan, store, clock=clock, commit_clock=clock))
    assert outcome.status == "complete"
    return outcome.session_id


@pytest.fixture(scope="module")
def relaxing_session(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Store.open_home(home) as store:
        sid = record_simulated(store, seed=11)
    return home, sid


def test_practice_shows_lower_heart_rate_and_higher_rmssd_beyond_noise(relaxing_session):
    home, sid = relaxing_session
    with Store.open_home(home) as store:
        c = compare_phases(store, sid)
    assert [p.name for p in c.phases] == ["baseline", "practice", "recovery"]
    base, practice = c.phase("baseline"), c.phase("practice")
    hr = c.changes["practice"]["mean_hr_bpm"]
    rmssd = c.changes["practice"]["rmssd_ms"]
    ln = c.changes["practice"]["ln_rmssd"]
    assert practice.value("mean_hr_bpm") < base.value("mean_hr_bpm")
    assert hr.abs < -1.0 and hr.beyond_noise is True and hr.verdict == "lower (beyond noise)"
    assert hr.ci95[1] < 0 and hr.ci95[0] <= hr.abs <= hr.ci95[1]
    assert rmssd.abs > 5.0 and rmssd.beyond_noise is True and rmssd.verdict == "higher (beyond noise)"
    assert rmssd.ci95[0] > 0
    assert ln.beyond_noise is True and ln.rel_pct is None  # a log ratio already
    assert rmssd.rel_pct == pytest.approx(100 * rmssd.abs / base.value("rmssd_ms"))
    # Breathing at 6/min moves the power into LF: coherence and LF rise, relaxation above the baseline's 50.
    assert practice.value("lf_ms2") > base.value("lf_ms2")
    assert practice.value("coherence") > base.value("coherence")
    assert base.value("relaxation") == pytest.approx(50.0)
    assert practice.value("relaxation") > 55.0


def test_changes_are_deterministic_and_the_json_is_the_documented_structure(relaxing_session):
    home, sid = relaxing_session
    with Store.open_home(home) as store:
        d1 = compare_phases(store, sid).to_json_dict()
        d2 = compare_phases(store, sid).to_json_dict()
    assert d1 == d2  # seeded bootstrap: same data, same intervals
    text = json.dumps(d1, allow_nan=False)  # no NaN anywhere
    d = json.loads(text)
    assert d["session_id"] == sid
    assert list(d["phases"]) == ["baseline", "practice", "recovery"]
    for phase in d["phases"].values():
        assert {"duration_s", "n_beats", "indices", "data_s", "start_s", "end_s", "n_artifacts"} <= set(phase)
        assert list(phase["indices"]) == list(INDEX_KEYS)
        for item in phase["indices"].values():
            assert set(item) == {"value", "reason"}
            assert (item["value"] is None) == (item["reason"] is not None)
    assert list(d["changes"]) == ["practice", "recovery"]
    for changes in d["changes"].values():
        assert list(changes) == list(INDEX_KEYS)
        for ch in changes.values():
            assert {"abs", "rel_pct", "ci95", "beyond_noise"} <= set(ch)
            if ch["beyond_noise"] is not None:
                lo, hi = ch["ci95"]
                assert ch["beyond_noise"] == (lo > 0 or hi < 0)
            else:
                assert ch["ci95"] is None and ch["reason"]
    assert d["method"]["bootstrap_resamples"] == 2000


def test_render_is_plain_text_with_words_when_not_a_terminal(relaxing_session):
    home, sid = relaxing_session
    with Store.open_home(home) as store:
        c = compare_phases(store, sid)
    buf = io.StringIO()
    render_phase_comparison(c, buf)
    text = buf.getvalue()
    assert "\x1b[" not in text
    rows = {line.split("  ")[0].strip(): line for line in text.splitlines()}
    assert rows["heart rate bpm"].endswith("↓") and rows["RMSSD ms"].endswith("↑")
    assert "↑↓ beyond noise" in text and "practice − baseline" in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_what_cannot_be_judged_is_one_folded_line_and_details_give_the_reasons(relaxing_session):
    home, sid = relaxing_session
    with Store.open_home(home) as store:
        c = compare_phases(store, sid)
    short, long = io.StringIO(), io.StringIO()
    render_phase_comparison(c, short)
    render_phase_comparison(c, long, details=True)
    folded = [line for line in short.getvalue().splitlines() if line.startswith("Not judged")]
    assert len(folded) == 1 and "LF power" in folded[0] and "--details" in folded[0]
    assert "needs >= 3 sub-windows of 120 s" in long.getvalue() and "Not judged" not in long.getvalue()


def test_dutch_comparison_has_no_english_words(relaxing_session):
    home, sid = relaxing_session
    with Store.open_home(home) as store:
        c = compare_phases(store, sid)
    buf = io.StringIO()
    render_phase_comparison(c, buf, lang="nl", details=True)
    text = buf.getvalue()
    assert "oefening − rustmeting" in text and "Tijdens de oefening" in text
    for english in ("baseline", "practice", "recovery", "heart rate", "Session", "needs", "beyond", "noise",
                    "not judged", "has "):
        assert english not in text, english


def test_a_phase_of_exactly_the_minimum_is_long_enough(tmp_path):
    # A 120 s phase holds ~119.9 s of intervals: LF is computed, not "needs >= 120 s; has 120.0 s".
    with Store.open_home(tmp_path / "h") as store:
        sid = record_simulated(store, seed=3, protocol=Protocol(120, 120, 0))
        c = compare_phases(store, sid)
    base = c.phase("baseline")
    assert base is not None and base.data_s < 120.0
    assert base.indices["lf_ms2"].value is not None


def test_a_20_second_phase_is_too_short_for_lf_and_says_so(tmp_path):
    protocol = Protocol(baseline_s=20, practice_s=150, recovery_s=60)
    with Store.open_home(tmp_path) as store:
        sid = record_simulated(store, seed=5, protocol=protocol)
        c = compare_phases(store, sid)
    base = c.phase("baseline")
    assert 18 < base.data_s <= 20
    lf = base.indices["lf_ms2"]
    assert lf.value is None and lf.reason.startswith("too short: LF power needs >= 120 s")
    assert "this phase has" in lf.reason
    assert base.indices["rmssd_ms"].value is None and "30 s" in base.indices["rmssd_ms"].reason
    assert base.indices["mean_hr_bpm"].value is not None  # 10 s is enough for a mean heart rate
    # The practice phase (150 s) has LF; its change from the too-short baseline is not available.
    assert c.phase("practice").value("lf_ms2") is not None
    change = c.changes["practice"]["lf_ms2"]
    assert change.abs is None and change.verdict == "not available" and "baseline: too short" in change.reason
    # The relaxation index needs the baseline's lnRMSSD.
    assert c.phase("practice").value("relaxation") is None
    d = c.to_json_dict()
    assert d["phases"]["baseline"]["indices"]["lf_ms2"] == {"value": None, "reason": lf.reason}
    buf = io.StringIO()
    render_phase_comparison(c, buf, details=True)
    assert "LF power, baseline: needs >= 120 s of beats, this phase has 19." in buf.getvalue()


def test_two_sessions_with_the_same_seed_show_no_change_beyond_noise(tmp_path):
    with Store.open_home(tmp_path) as store:
        a = record_simulated(store, seed=21)
        b = record_simulated(store, seed=21)
        c = compare_sessions(store, a, b)
    assert c.phase_names == ("baseline", "practice", "recovery")
    for phase in c.phase_names:
        for key in INDEX_KEYS:
            ch = c.changes[phase][key]
            if ch.abs is not None:
                assert ch.abs == 0.0
            assert ch.beyond_noise is not True
            assert ch.verdict in ("no clear change", "not judged", "not available")
    judged = [c.changes[p][k] for p in c.phase_names for k in INDEX_KEYS if c.changes[p][k].beyond_noise is False]
    assert len(judged) >= 6  # the verdict was really made, not skipped
    d = json.loads(json.dumps(c.to_json_dict(), allow_nan=False))
    assert d["session_a"] == a and d["session_b"] == b
    assert set(d["phases"]["practice"]) == {"a", "b", "changes"}
    buf = io.StringIO()
    render_session_comparison(c, buf)
    assert "B − A" in buf.getvalue() and "\x1b[" not in buf.getvalue()


def test_two_different_sessions_differ_by_b_minus_a(tmp_path):
    with Store.open_home(tmp_path) as store:
        a = record_simulated(store, seed=1, rate_bpm=14.0)
        b = record_simulated(store, seed=2, rate_bpm=6.0)
        c = compare_sessions(store, a, b)
    for phase in c.phase_names:
        for key in ("mean_hr_bpm", "rmssd_ms"):
            assert c.changes[phase][key].abs == pytest.approx(c.b[phase].value(key) - c.a[phase].value(key))
    # Practising at resonance (6/min) against 14/min: far more LF power in B's practice.
    assert c.changes["practice"]["lf_ms2"].abs > 0


def _record_beats(store: Store, rr_ms: np.ndarray, phases: list[tuple[str, float, float]] | None,
                  source_kind: str = "simulator") -> str:
    sid = store.create_session(NewSession(source_kind=source_kind, start_wall=datetime(2026, 3, 1, 9, tzinfo=timezone.utc),
                                          engine_settings=EngineSettings().to_dict()))
    clock = VirtualClock()
    with Recorder(store, sid, clock=clock) as rec:
        t = np.cumsum(rr_ms) / 1000.0
        for name, start, end in phases or []:
            rec.begin_phase(name, start)
            rec.end_phase(name, end)
        for r, ti in zip(rr_ms.tolist(), t.tolist()):
            rec.add_beat(Beat(rr_ms=r, t_s=ti))
    return sid


def _clean_rr(n: int, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return 900.0 + 40.0 * np.sin(2 * np.pi * i / 5.0) + rng.normal(0.0, 8.0, n)


def test_artifacts_are_removed_not_counted_as_variability(tmp_path):
    clean = _clean_rr(400)
    dirty = clean.copy()
    # a premature beat with its compensatory pause, right next to a missed beat, twice
    for i in (100, 250):
        dirty[i] -= 300.0
        dirty[i + 1] += 300.0
        dirty[i + 2] = dirty[i + 2] + dirty[i + 3]
        dirty = np.delete(dirty, i + 3)
    phases = [("baseline", 0.0, float(dirty.sum() / 1000.0) + 1.0)]
    with Store.open_home(tmp_path) as store:
        sid = _record_beats(store, dirty, phases)
        c = compare_phases(store, sid)
    base = c.phase("baseline")
    expected = time_domain(clean).rmssd_ms
    assert base.value("rmssd_ms") == pytest.approx(expected, rel=0.05)
    assert time_domain(dirty).rmssd_ms > 1.5 * expected  # what counting them would give
    assert base.n_artifacts >= 4 and base.value("artifacts_pct") == pytest.approx(100 * base.n_artifacts / base.n_beats)
    assert c.changes == {}  # a baseline alone: nothing after it to compare


def test_a_session_without_phases_is_one_whole_recording_and_nothing_to_compare(tmp_path):
    rr = _clean_rr(300)
    with Store.open_home(tmp_path) as store:
        sid = _record_beats(store, rr, None)
        c = compare_phases(store, sid)
        other = _record_beats(store, _clean_rr(300, seed=9), [("baseline", 0.0, 100.0), ("practice", 100.0, 300.0)])
        both = compare_sessions(store, sid, other)
    assert [p.name for p in c.phases] == ["whole"]
    assert c.changes == {} and "no phases" in c.note
    assert c.phase("whole").value("rmssd_ms") == pytest.approx(time_domain(rr).rmssd_ms, rel=1e-12)
    assert c.phase("whole").indices["relaxation"].value is None
    assert both.phase_names == ("whole",) and any("whole recordings" in n for n in both.notes)


def test_each_phase_carries_its_signal_quality_verdict(relaxing_session):
    home, sid = relaxing_session
    with Store.open_home(home) as store:
        c = compare_phases(store, sid)
    for name, phase in c.to_json_dict()["phases"].items():
        q = phase["quality"]
        assert set(q) == {"valid_pct", "artifacts_pct", "longest_bridge_s", "verdict"}
        assert q["verdict"] == "good", (name, q)  # the simulated strap is clean
    buf = io.StringIO()
    render_phase_comparison(c, buf)
    assert "signal quality" in buf.getvalue() and "good" in buf.getvalue()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.floats(300.0, 2000.0), st.sampled_from([600.0, 799.9999999999999, 1000.0 / 3.0])),
                min_size=1, max_size=300),
       st.integers(0, 2**31), st.floats(0.1, 60.0))
def test_sub_window_coverage_is_decided_as_the_sum_of_each_window(rr_list: list[float], seed: int,
                                                                  need_s: float) -> None:
    """_covered (a running sum, exact sums near the threshold) keeps the windows the per-window sum keeps,
    also where a window's sum equals the threshold (a threshold taken from one window's own sum)."""
    from sessions.compare import _covered

    rng = np.random.default_rng(seed)
    rr = np.array(rr_list)
    valid = rng.random(rr.size) < 0.9
    lo = rng.integers(0, rr.size, 40)
    hi = np.minimum(rr.size, lo + rng.integers(0, 60, 40))
    thresholds = [need_s, float(rr[lo[0]:hi[0]][valid[lo[0]:hi[0]]].sum()) / 1000.0]
    for need in thresholds:
        exact = [j for j, (a, b) in enumerate(zip(lo.tolist(), hi.tolist()))
                 if not float(rr[a:b][valid[a:b]].sum()) / 1000.0 < need]
        assert _covered(rr, valid, lo, hi, need) == exact
    assert _covered(rr, valid, lo[:0], hi[:0], need_s) == []
