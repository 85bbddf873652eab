"""`biofeedback demo --assess`, `biofeedback assessments`, `biofeedback assess` through the real CLI, and
resonance breathing pacing at the stored rate afterwards."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "biofeedback.cli"]
RATE_KEYS = {"rate_bpm", "lf_peak_power_ms2", "lf_peak_hz", "peak_trough_bpm", "phase_deg", "coherence"}


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    proc = _run("demo", "--assess", "--resonance-rate", "6", "--seed", "2", "--speed", "max", "--json",
                "--home", str(home))
    return home, proc


def test_demo_assess_json_ends_with_one_result_object(assessed):
    home, proc = assessed
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1  # --json alone: only the result
    result = json.loads(lines[-1])
    assert result["protocol"] == "stepped" and result["status"] == "ok"
    assert result["resonance_rate_bpm"] == 6.0
    assert result["runner_up_bpm"] in (5.5, 6.5)
    assert [r["rate_bpm"] for r in result["rates"]] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(RATE_KEYS <= set(r) for r in result["rates"])


def test_the_assessment_is_listed_and_kept_as_a_session_of_its_own_kind(assessed):
    home, proc = assessed
    listed = _run("assessments", "--json", "--home", str(home))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    session_id = json.loads(proc.stdout.splitlines()[-1])["session_id"]
    assert [r["session_id"] for r in rows] == [session_id] and rows[0]["resonance_rate_bpm"] == 6.0
    table = _run("assessments", "--home", str(home))
    assert "your resonance rate: 6 breaths/min" in table.stdout
    sessions = json.loads(_run("sessions", "--json", "--home", str(home)).stdout)
    assert sessions[0]["practice"] == "assess-stepped"
    assert sessions[0]["practice_settings"]["assessment"] == {"protocol": "stepped"}


def test_resonance_breathing_then_paces_at_the_stored_rate_unless_rate_is_given(assessed):
    home, _ = assessed
    for extra, rate, source in (((), 6.0, "assessment"), (("--rate", "5"), 5.0, None)):
        proc = _run("demo", "--speed", "max", "--minutes", "1", "--home", str(home), *extra)
        assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(home / "biofeedback.sqlite")
    rows = conn.execute("SELECT practice, practice_settings_json FROM sessions WHERE practice = 'resonance' "
                        "ORDER BY start_wall, rowid").fetchall()
    conn.close()
    first, second = (json.loads(r[1]) for r in rows)
    assert first["rate_source"] == "assessment" and first["rate_bpm"] == 6.0
    assert "6/min, from your assessment of" in first["rate_note"]
    assert "rate_source" not in second and second["rate_bpm"] == 5.0 and "as you asked" in second["rate_note"]


@pytest.mark.parametrize("args", [
    ("demo", "--assess", "--rate", "6"),
    ("demo", "--assess", "--resonance-rate", "12"),
    ("demo", "--json"),
    ("demo", "--protocol", "sliding"),
    ("assess", "--protocol", "sliding", "--rates", "6,5"),
    ("assess", "--rates", "6,x"),
])
def test_wrong_flags_are_one_clear_line_and_exit_2(args, tmp_path):
    proc = _run(*args, "--home", str(tmp_path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "error" in proc.stderr
    assert not (tmp_path / "biofeedback.sqlite").exists() or "assess" in args


def test_report_of_an_assessment_draws_its_own_figure(assessed, tmp_path):
    from sessions.assessment_report import assessment_figure_data
    from sessions.store import Store

    home, proc = assessed
    session_id = json.loads(proc.stdout.splitlines()[-1])["session_id"]
    page = tmp_path / "a.html"
    done = _run("report", session_id, "--out", str(page), "--home", str(home))
    assert done.returncode == 0, done.stderr
    assert page.read_text().count("data:image/png;base64,") == 2  # the assessment figure and the session's
    assert page.stat().st_mode & 0o777 == 0o600
    with Store.open_home(home) as store:
        data = assessment_figure_data(store, session_id)
    assert [w.rate_bpm for w in data.waves] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(w.hr_bpm.size > 50 and len(w.inhalations) >= 7 for w in data.waves)


def test_the_assessment_figure_marks_the_chosen_rate_and_says_repeat_when_needed():
    import struct

    import numpy as np

    from biofeedback.resonance import AssessmentResult
    from sessions.assessment_report import (
        PANEL_TITLES, AssessmentFigure, RateWave, assessment_png, build_assessment_figure,
    )

    doc = {"protocol": "stepped", "status": "ok", "resonance_rate_bpm": 5.5, "runner_up_bpm": 5.0, "rates": [
        {"rate_bpm": r, "start_s": 0.0, "end_s": 100.0, "n_breaths": 9, "lf_peak_power_ms2": 900.0 + i,
         "lf_peak_hz": r / 60, "peak_at_rate": True, "peak_trough_bpm": 8.0 + i, "phase_deg": 10.0 * i,
         "amplitude_bpm": 4.0, "smoothness": 0.8, "peaks_per_breath": 1.0, "coherence": 3.0, "artifacts_pct": 0.0,
         "coverage": 1.0, "usable": True, "reason": None, "score": 5.0} for i, r in enumerate((6.0, 5.5, 5.0))]}
    waves = tuple(RateWave(r, np.arange(50.0), 70 + np.sin(np.arange(50.0)), ((0.0, 4.0),)) for r in (6.0, 5.5, 5.0))
    fig = build_assessment_figure(AssessmentFigure(AssessmentResult.from_json_dict(doc), waves))
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes[:5]] == list(PANEL_TITLES)
    assert "resonance rate 5.5" in fig._suptitle.get_text()
    repeat = AssessmentResult.from_json_dict({**doc, "status": "repeat", "resonance_rate_bpm": None,
                                              "runner_up_bpm": None, "reason": "too_few_usable_steps"})
    fig = build_assessment_figure(AssessmentFigure(repeat, waves))
    assert "repeat the assessment" in fig._suptitle.get_text()
    png = assessment_png(AssessmentFigure(repeat, waves))  # what `report --out F.png` writes for an assessment
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1200, 900)


def test_the_live_screen_says_which_rate_and_where_it_came_from():
    import io

    from rich.console import Console

    from biofeedback.cli.live_output import ScreenSink
    from biofeedback.events import ProtocolStart
    from biofeedback.cli.session_common import rate_note
    from biofeedback.practices.assessment import assessment_practice, assessment_protocol, stepped_schedule

    schedule = stepped_schedule()
    practice, protocol = assessment_practice(schedule), assessment_protocol(schedule, 60.0)
    sink = ScreenSink(practice, protocol, "en", "Simulator", console=Console(file=io.StringIO()))
    assert "/min" not in sink.state(60.0 + 130.0).practice_title  # waiting for the strap: no protocol yet
    sink.on_event(ProtocolStart(2.0, origin_s=2.0), None)  # the first beat at session time 2 s
    assert sink.state(2.0 + 60.0 + 130.0).practice_title.endswith("· 6/min")  # the second step
    assert sink.state(2.0 + 60.0 + 130.0).pacer is not None
    assert "/min" not in sink.state(2.0 + 30.0).practice_title  # resting: no pacer yet
    note = rate_note(5.5, "nl", "assessment", "2026-12-01")
    assert note == "5,5/min, uit je meting van 2026-12-01"
    assert "default" in rate_note(6.0, "en", "default")
