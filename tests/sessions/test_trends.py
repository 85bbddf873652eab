"""Daily trends from a real store, with injected dates (nothing here reads the clock)."""

from __future__ import annotations

import io
import math
import statistics
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from biofeedback.beat import Beat
from biofeedback.engine import EngineSettings
from biofeedback.hrv.artifacts import detect_artifacts
from biofeedback.hrv.time_domain import time_domain
from devices.clock import VirtualClock
from sessions.recorder import Recorder
from sessions.store import NewSession, Store
from biofeedback.cli.tables import render_trends
from sessions.trends import DAILY_GOAL_MIN, daily_trends, session_date

UTC = timezone.utc


def rr_series(seed: int, n: int, spread_ms: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    return 950.0 + spread_ms * np.sin(2 * np.pi * i / 4.5) + rng.uniform(-spread_ms / 5, spread_ms / 5, n)


def add_session(store: Store, start: datetime, *, seed: int, baseline_s: float = 60.0, practice_s: float = 0.0,
                spread_ms: float = 30.0, phases: bool = True) -> float | None:
    """Record a session (beats through the recorder); return the expected baseline lnRMSSD."""
    kind = "live" if phases else "import"
    sid = store.create_session(NewSession(source_kind=kind, start_wall=start, engine_settings=EngineSettings().to_dict()))
    total_s = baseline_s + practice_s
    n = int(total_s / 0.95) + 2
    rr = rr_series(seed, n, spread_ms)
    t = np.cumsum(rr) / 1000.0
    keep = t <= total_s
    rr, t = rr[keep], t[keep]
    assert detect_artifacts(rr).n_artifacts == 0  # clean beats: the expected value needs no artifact handling
    with Recorder(store, sid, clock=VirtualClock()) as rec:
        current = None
        if phases:
            rec.begin_phase("baseline", 0.0)
            current = "baseline"
        for r, ti in zip(rr.tolist(), t.tolist()):
            if current == "baseline" and practice_s and ti >= baseline_s:
                rec.end_phase("baseline", baseline_s)
                rec.begin_phase("practice", baseline_s)
                current = "practice"
            rec.add_beat(Beat(rr_ms=r, t_s=ti))
        if current is not None:
            rec.end_phase(current, total_s)
    if not phases:
        return None
    base = t < baseline_s
    return math.log(time_domain(rr[base]).rmssd_ms)


def test_simulated_sessions_count_in_no_row(tmp_path):
    with Store.open_home(tmp_path) as store:
        add_session(store, datetime(2026, 3, 1, 8, tzinfo=UTC), seed=1, practice_s=25 * 60)
        demo = store.create_session(NewSession(source_kind="simulator", start_wall=datetime(2026, 3, 1, 9, tzinfo=UTC)),
                                    status="complete")
        assert store.get_session(demo).simulated
        trends = daily_trends(store, 1, today=date(2026, 3, 1))
    assert trends.rows[0].n_sessions == 1 and trends.n_simulated == 1
    assert trends.rows[0].practice_min == pytest.approx(25.0, abs=1.5 / 60)  # up to the last beat
    buf = io.StringIO()
    render_trends(trends, buf)
    assert "1 simulated session(s)" in buf.getvalue()


def test_baseline_ln_rmssd_rolling_mean_cv_and_practice_minutes(tmp_path):
    day0 = date(2026, 3, 1)
    at = lambda d, h=8: datetime(2026, 3, 1 + d, h, 0, tzinfo=UTC)  # noqa: E731
    expected: dict[date, list[float]] = {}
    with Store.open_home(tmp_path) as store:
        # day 0, 1, 3: one session each; day 4: two (mean); day 5: an import (no phases: does not count)
        for d, seed, spread, practice_s in ((0, 1, 30.0, 25 * 60), (1, 2, 40.0, 10 * 60), (3, 3, 20.0, 0.0),
                                            (4, 4, 35.0, 12 * 60)):
            expected.setdefault(day0 + timedelta(days=d), []).append(
                add_session(store, at(d), seed=seed, spread_ms=spread, practice_s=practice_s))
        expected[day0 + timedelta(days=4)].append(add_session(store, at(4, 19), seed=5, spread_ms=25.0,
                                                              practice_s=9 * 60))
        add_session(store, at(5), seed=6, phases=False, baseline_s=300)
        add_session(store, at(9), seed=7)  # after "today": not shown
        trends = daily_trends(store, 6, today=date(2026, 3, 6))
    assert [r.day for r in trends.rows] == [day0 + timedelta(days=k) for k in range(6)]
    rows = {r.day: r for r in trends.rows}
    daily = {d: statistics.fmean(v) for d, v in expected.items()}
    for d, value in daily.items():
        assert rows[d].baseline_ln_rmssd == pytest.approx(value, rel=1e-3)
    assert rows[day0 + timedelta(days=4)].n_baselines == 2 and rows[day0 + timedelta(days=4)].n_sessions == 2
    assert rows[day0 + timedelta(days=2)].baseline_ln_rmssd is None
    imported = rows[day0 + timedelta(days=5)]
    assert imported.n_sessions == 1 and imported.baseline_ln_rmssd is None and imported.practice_min == 0.0
    # Rolling: fewer than 3 days with a baseline -> None and a reason.
    for k in (0, 1):
        r = rows[day0 + timedelta(days=k)]
        assert r.rolling_mean_7d is None and r.cv_7d_pct is None and "needs >= 3" in r.rolling_reason
        assert r.n_days_7d == k + 1
    r3 = rows[day0 + timedelta(days=3)]
    window = [daily[day0 + timedelta(days=k)] for k in (0, 1, 3)]
    assert r3.n_days_7d == 3 and r3.rolling_reason is None
    assert r3.rolling_mean_7d == pytest.approx(statistics.fmean(window), rel=1e-3)
    assert r3.cv_7d_pct == pytest.approx(100 * statistics.stdev(window) / statistics.fmean(window), rel=1e-2)
    r5 = rows[day0 + timedelta(days=5)]
    assert r5.n_days_7d == 4
    # Practice minutes: sum of the practice phases of the day, against 20 minutes.
    assert rows[day0].practice_min == pytest.approx(25.0, abs=0.05) and rows[day0].goal_met
    assert rows[day0 + timedelta(days=1)].practice_min == pytest.approx(10.0, abs=0.05)
    assert not rows[day0 + timedelta(days=1)].goal_met
    assert rows[day0 + timedelta(days=4)].practice_min == pytest.approx(21.0, abs=0.1)
    assert rows[day0 + timedelta(days=4)].goal_met
    assert trends.days_goal_met == 2 and DAILY_GOAL_MIN == 20.0
    d = trends.to_json_dict()
    assert d["today"] == "2026-03-06" and len(d["rows"]) == 6
    assert d["rows"][0]["date"] == "2026-03-01" and set(d["rows"][0]) >= {
        "baseline_ln_rmssd", "rolling_mean_7d", "cv_7d_pct", "practice_min", "goal_met"}


def test_the_rolling_window_reaches_back_before_the_first_row(tmp_path):
    with Store.open_home(tmp_path) as store:
        for d in range(5):
            add_session(store, datetime(2026, 4, 1 + d, 7, tzinfo=UTC), seed=1 + d)
        trends = daily_trends(store, 2, today=date(2026, 4, 8))
    assert [r.day.isoformat() for r in trends.rows] == ["2026-04-07", "2026-04-08"]
    assert trends.rows[0].n_days_7d == 5 and trends.rows[1].n_days_7d == 4  # 04-01 falls out of the window
    assert all(r.rolling_mean_7d is not None for r in trends.rows)
    assert all(r.baseline_ln_rmssd is None for r in trends.rows)


def test_days_are_dates_on_the_clock_where_the_session_was_recorded(tmp_path):
    amsterdam_summer = timezone(timedelta(hours=2))
    start = datetime(2026, 6, 2, 0, 30, tzinfo=amsterdam_summer)  # 22:30 UTC on June 1
    assert session_date(start.isoformat()) == date(2026, 6, 2)
    with Store.open_home(tmp_path) as store:
        add_session(store, start, seed=3)
        trends = daily_trends(store, 3)  # today defaults to the latest session's date: no clock read
    assert trends.today == date(2026, 6, 2)
    assert [r.n_sessions for r in trends.rows] == [0, 0, 1]


def test_short_baselines_do_not_count_and_the_table_renders(tmp_path):
    import io

    with Store.open_home(tmp_path) as store:
        add_session(store, datetime(2026, 5, 1, 8, tzinfo=UTC), seed=1, baseline_s=20.0, practice_s=120.0)
        trends = daily_trends(store, 1, today=date(2026, 5, 1))
    row = trends.rows[0]
    assert row.baseline_ln_rmssd is None and row.n_sessions == 1 and row.practice_min == pytest.approx(2.0, abs=0.05)
    buf = io.StringIO()
    render_trends(trends, buf)
    assert "2026-05-01" in buf.getvalue() and "\x1b[" not in buf.getvalue()
    with Store.open_home(tmp_path) as store, pytest.raises(ValueError):
        daily_trends(store, 0, today=date(2026, 5, 1))


def test_practice_minutes_count_only_what_was_recorded(tmp_path):
    """A practice phase closed after the last beat (quit early) counts up to the last beat, and a
    gap inside it (strap out of range) does not count."""
    from biofeedback.beat import Gap

    with Store.open_home(tmp_path) as store:
        sid = store.create_session(NewSession(source_kind="live", start_wall=datetime(2026, 3, 1, 8, tzinfo=UTC)))
        with Recorder(store, sid, clock=VirtualClock()) as rec:
            rec.begin_phase("practice", 0.0)
            for k in range(1, 121):  # beats up to 120 s
                rec.add_beat(Beat(rr_ms=1000.0, t_s=float(k)))
            rec.add_gap(Gap(30.0, 60.0, "out_of_range"))  # 30 s without beats inside the practice
            rec.end_phase("practice", 600.0)  # the phase was planned for 10 minutes
        trends = daily_trends(store, days=1, today=date(2026, 3, 1))
    assert trends.rows[-1].practice_min == pytest.approx((120.0 - 30.0) / 60.0)
