"""The stored-session value (sessions/stored.py): one reading of a session for every reader, on a real
SQLite file, and the sub-window cut it allows (binary search equals the mask it replaced)."""

from __future__ import annotations

import io
import json
import math
from datetime import datetime, timezone

import numpy as np
import pytest

from biofeedback.beat import Beat, Gap
from biofeedback.engine import EngineSettings
from biofeedback.errors import InputError
from devices.clock import VirtualClock
from sessions.compare import INDEX_KEYS, PhaseBeats, _indices_of, _subwindow_values, session_beats
from sessions.exporting import export_session
from sessions.recorder import Recorder
from sessions.store import NewSession, Store
from sessions.stored import read_outline, read_session, time_slice


def _session(store: Store, rr_ms: np.ndarray, *, phases: list[tuple[str, float, float | None]],
             gaps_before: tuple[int, ...] = (), settings: dict[str, object] | None = None) -> str:
    sid = store.create_session(NewSession(source_kind="simulator", start_wall=datetime(2026, 3, 1, 9, tzinfo=timezone.utc),
                                          engine_settings=settings if settings is not None else EngineSettings().to_dict()))
    t = np.cumsum(rr_ms) / 1000.0
    with Recorder(store, sid, clock=VirtualClock()) as rec:
        for name, start, end in phases:
            rec.begin_phase(name, start)
            if end is not None:
                rec.end_phase(name, end)
        for i, (r, ti) in enumerate(zip(rr_ms.tolist(), t.tolist())):
            if i in gaps_before:
                rec.add_gap(Gap(ti - 2.0, ti - r / 1000.0, "contact_lost"))
            rec.add_beat(Beat(rr_ms=r, t_s=ti))
    return sid


def test_one_reading_gives_arrays_breaks_phases_and_settings(tmp_path):
    rr = np.full(100, 1000.0)  # beats at 1, 2, ..., 100 s
    with Store.open_home(tmp_path) as store:
        sid = _session(store, rr, phases=[("baseline", 0.0, 40.0), ("practice", 40.0, None)], gaps_before=(0, 30))
        s = read_session(store, sid)
        outline = read_outline(store, sid)
    assert s.n_beats == 100 and s.t_s[0] == 1.0 and s.rr_ms[-1] == 1000.0
    assert not s.t_s.flags.writeable
    # a gap before beat 30 breaks it; one before the first beat breaks nothing
    assert np.flatnonzero(s.breaks).tolist() == [30]
    # the practice phase was never closed: it ends at the last beat; the stored end stays None
    practice = s.phase("practice")
    assert practice is not None and practice.end_s == 100.0 and not practice.closed and practice.stored_end_s is None
    assert s.settings == EngineSettings()
    assert outline.phases == s.phases and outline.events == s.events and outline.last_beat_s == 100.0


def test_which_phase_a_time_falls_in_is_one_rule(tmp_path):
    rr = np.full(100, 1000.0)
    with Store.open_home(tmp_path) as store:
        sid = _session(store, rr, phases=[("baseline", 0.0, 40.0), ("practice", 50.0, 100.0)])
        s = read_session(store, sid)
        csv = io.StringIO()
        export_session(store, sid, "csv", csv)
    assert s.phase_at(0.0) == "baseline" and s.phase_at(39.999) == "baseline"
    assert s.phase_at(40.0) is None and s.phase_at(45.0) is None  # between phases
    assert s.phase_at(50.0) == "practice"
    assert s.phase_at(100.0) == "practice"  # the last phase includes its end (the last beat)
    assert s.phase_at(100.5) is None
    names = s.beat_phases()
    assert [names[i] for i in (0, 38, 39, 48, 49, 99)] == ["baseline", "baseline", "", "", "practice", "practice"]
    # export's phase column is the same rule: the beat at 100 s is in the practice
    rows = csv.getvalue().splitlines()[1:]
    assert [r.rsplit(",", 1)[1] for r in rows] == [str(n) for n in names]


def test_unreadable_engine_settings_are_one_clear_error(tmp_path):
    with Store.open_home(tmp_path) as store:
        sid = _session(store, np.full(10, 900.0), phases=[], settings={"version": "x", "method": 3})
        with pytest.raises(InputError, match=f"session {sid}: its stored engine settings cannot be read"):
            read_session(store, sid)


def test_export_json_keeps_an_open_phase_open(tmp_path):
    with Store.open_home(tmp_path) as store:
        sid = _session(store, np.full(20, 1000.0), phases=[("baseline", 0.0, None)])
        out = io.StringIO()
        export_session(store, sid, "json", out)
    assert json.loads(out.getvalue())["phases"] == [{"name": "baseline", "start_s": 0.0, "end_s": None}]


def test_binary_search_cut_equals_the_mask():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.4, 1.6, 500))
    t[100] = t[99]  # equal times are cut as the mask cuts them
    for lo, hi in ((0.0, 30.0), (t[10], t[40]), (t[99], t[100]), (50.5, 80.25), (t[-1], t[-1] + 1), (900.0, 950.0)):
        mask = (t >= lo) & (t < hi)
        assert np.array_equal(np.flatnonzero(mask), np.arange(t.size)[time_slice(t, lo, hi)])
        incl = (t >= lo) & (t <= hi)
        assert np.array_equal(np.flatnonzero(incl), np.arange(t.size)[time_slice(t, lo, hi, include_hi=True)])


@pytest.mark.parametrize("settings", [
    EngineSettings(),  # the batched spectra
    EngineSettings(detrend="smoothness_priors", version=1),  # the per-window spectra; version 1: "grid" coherence
])
def test_sub_windows_in_one_pass_equal_every_index_computed_alone(tmp_path, settings):
    rng = np.random.default_rng(8)
    i = np.arange(420)
    rr = 900.0 + 60.0 * np.sin(2 * np.pi * i / 10.0) + rng.normal(0.0, 10.0, i.size)
    rr[200] -= 300.0
    rr[201] += 300.0  # an artifact: labels and validity enter the sub-windows too
    with Store.open_home(tmp_path) as store:
        sid = _session(store, rr, phases=[("baseline", 0.0, 378.0)], gaps_before=(150,), settings=settings.to_dict())
        beats = session_beats(read_session(store, sid))
    assert beats.settings == settings
    p = beats.phase("baseline")
    assert p is not None
    from biofeedback.hrv.relaxation import Baseline
    from sessions.compare import MIN_SUBWINDOW_COVERAGE, SUBWINDOW_S, SUBWINDOW_STEP_S

    baseline = Baseline(ln_rmssd=3.5, mean_hr_bpm=66.0, coherence=1.0)  # relaxation needs one
    shared = _subwindow_values(p, INDEX_KEYS, beats.settings, baseline)

    for key in INDEX_KEYS:  # the reference: each index alone, every kernel run, a mask per window
        w, step = SUBWINDOW_S[key], SUBWINDOW_STEP_S[key]
        alone = []
        k = 0
        while p.start_s + k * step + w <= p.end_s + 1e-9:
            lo, hi = p.start_s + k * step, p.start_s + k * step + w
            sel = (p.t_s >= lo) & (p.t_s < hi)
            sub = PhaseBeats(p.name, lo, hi, p.t_s[sel], p.rr_ms[sel], p.valid[sel], p.breaks[sel],
                             tuple(lab for lab, s in zip(p.labels, sel.tolist()) if s))
            k += 1
            if float(sub.rr_ms[sub.valid].sum()) / 1000.0 < MIN_SUBWINDOW_COVERAGE * w:
                continue
            v = _indices_of(sub, beats.settings, baseline, whole=False)[key]
            if math.isfinite(v):
                alone.append(float(v))
        assert shared[key] == tuple(alone), key
    assert len(shared["rmssd_ms"]) >= 10 and len(shared["lf_ms2"]) >= 2 and len(shared["relaxation"]) >= 5
