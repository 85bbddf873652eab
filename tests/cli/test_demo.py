"""`biofeedback demo` and `biofeedback session` through the real CLI, in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "biofeedback.cli"]


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    proc = _run("demo", "--speed", "max", "--minutes", "12", "--seed", "11", "--home", str(home))
    return home, proc


def test_demo_at_max_speed_streams_every_beat_and_event_in_order(demo_run):
    home, proc = demo_run
    assert proc.returncode == 0, proc.stderr
    objs = _jsonl(proc.stdout)  # stdout is not a terminal: JSON lines, not the screen
    beats = [o for o in objs if o["type"] == "beat"]
    events = [o for o in objs if o["type"] == "event"]
    assert [b["index"] for b in beats] == list(range(len(beats)))
    assert 12 * 60 * 0.9 < len(beats) < 12 * 60 * 1.6  # ~60-90 bpm for 12 minutes
    for key in ("t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence",
                "artifact", "phase"):
        assert key in beats[0], key
    assert [b["t_s"] for b in beats] == sorted(b["t_s"] for b in beats)
    kinds = [e["kind"] for e in events]
    assert kinds.count("phase_begin") == 3 and kinds.count("phase_end") == 3
    assert [e["data"]["phase"] for e in events if e["kind"] == "phase_begin"] == ["baseline", "practice", "recovery"]
    assert kinds[-1] == "session_end" and events[-1]["data"]["reason"] == "finished"
    stored = [o for o in objs if o["type"] == "stored"]
    assert len(stored) == 1 and stored[0]["status"] == "complete" and stored[0]["n_beats"] == len(beats)
    assert (home / "biofeedback.sqlite").exists()
    assert (home / "biofeedback.sqlite").stat().st_mode & 0o777 == 0o600


def test_demo_comparison_shows_the_relaxation_response(demo_run):
    home, proc = demo_run
    comparison = [o for o in _jsonl(proc.stdout) if o["type"] == "comparison"]
    assert len(comparison) == 1, "the demo ends with the before/after comparison"
    change = comparison[0]["changes"]["practice"]
    assert change["mean_hr_bpm"]["abs"] < 0  # the heart settles during the practice
    assert change["rmssd_ms"]["abs"] > 0
    assert change["mean_hr_bpm"]["beyond_noise"] is True


def test_demo_through_the_full_ble_path(tmp_path):
    proc = _run("demo", "--ble", "--speed", "max", "--minutes", "2", "--home", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    objs = _jsonl(proc.stdout)
    events = [o for o in objs if o["type"] == "event"]
    info = [e for e in events if e["kind"] == "device_info"]
    assert info and info[0]["data"]["manufacturer"] == "Polar Electro Oy"
    beats = [o for o in objs if o["type"] == "beat"]
    origin = next(e["data"]["origin_s"] for e in events if e["kind"] == "protocol_start")
    assert len(beats) > 100 and all(b["t_s"] < origin + 120 for b in beats)
    # Stored as what it is: no invented Polar with a battery.
    info = json.loads(_run("sessions", "--json", "--home", str(tmp_path)).stdout)[0]
    assert info["simulated"] and info["device_name"].startswith("Virtual BLE strap (simulated")
    assert info["device_info"]["battery_pct"] is None and info["device_info"]["manufacturer"] is None


def test_bad_flags_are_one_line_and_exit_2(tmp_path):
    for args in (["demo", "--speed", "fast"], ["demo", "--practice", "nope", "--home", str(tmp_path)],
                 ["demo", "--minutes", "-1", "--home", str(tmp_path)], ["session", "--baseline", "soon"]):
        proc = _run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr


def test_session_without_a_bluetooth_adapter_fails_in_one_line_and_keeps_no_empty_session(tmp_path):
    proc = _run("session", "--home", str(tmp_path), "--jsonl", timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("biofeedback session: error:")
    listing = _run("sessions", "--json", "--home", str(tmp_path))
    assert json.loads(listing.stdout) == []


def test_the_live_screen_shows_the_heart_zones_keys_and_plus_slows_the_pacer(tmp_path):
    pexpect = pytest.importorskip("pexpect", reason="pexpect (test extra) absent")
    # 4 minutes at 20x: the practice starts after 108 s of session time (5.4 s real time).
    child = pexpect.spawn(CLI[0], [*CLI[1:], "demo", "--speed", "20", "--minutes", "4", "--home", str(tmp_path)],
                          dimensions=(24, 80), encoding="utf-8", timeout=60)
    try:
        child.expect("Baseline")  # the phase line of the live screen
        child.expect("space = marker")  # the key hints
        a = r"(?:\x1b\[[0-9;]*m| )+"  # spaces and the colours between the parts of a line
        child.expect(rf"Heart rate{a}\d+ bpm{a}last 60 s · \d+–\d+ bpm")  # the wave's title and scale...
        child.expect("[▁▂▃▄▅▆▇█]{5}")  # ...and the wave itself
        child.expect(rf"Coherence{a}[█·]")  # the coherence scale...
        child.expect(rf"\d\.\d\d{a}(low|medium|high)")  # ...its value and its zone
        child.expect("pacer 6.0 breaths/min", timeout=60)  # the practice began
        child.send("+")
        child.expect("pacer 5.5 breaths/min")
        child.send("q")
        child.expect("stored in")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    listing = _run("sessions", "--json", "--home", str(tmp_path))
    sessions = json.loads(listing.stdout)
    assert len(sessions) == 1 and sessions[0]["status"] == "complete" and sessions[0]["end_reason"] == "quit"
    assert "quit: ended early" in _run("show", "last", "--home", str(tmp_path)).stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "biofeedback.sqlite") as conn:
        rows = conn.execute("SELECT data_json FROM events WHERE kind = 'pacer_changed'").fetchall()
    assert [json.loads(r[0])["rate_bpm"] for r in rows] == [5.5]  # the key press is recorded


DURATION_FLAGS = [
    ["session", "--baseline"], ["session", "--practice-time"], ["session", "--recovery"], ["session", "--spell"],
    ["demo", "--spell"], ["analyze", "x.txt", "--time-window"], ["analyze", "x.txt", "--frequency-window"],
    ["analyze", "x.txt", "--coherence-window"], ["replay", "last", "--time-window"], ["scan", "--timeout"],
    ["pair", "strap", "--timeout"],
]


@pytest.mark.parametrize("flag", DURATION_FLAGS, ids=lambda f: " ".join(f))
def test_every_duration_flag_refuses_a_bare_number_with_a_hint(flag, tmp_path):
    proc = _run(*flag, "10", "--home", str(tmp_path)) if flag[0] != "scan" else _run(*flag, "10")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "needs a unit" in proc.stderr and "10s" in proc.stderr and "10m" in proc.stderr


def test_durations_out_of_sense_are_refused_and_minutes_stay_minutes(tmp_path):
    for args, words in ((["demo", "--spell", "2s"], "at least 5s"),
                        (["demo", "--minutes", "1", "--spell", "1m"], "longer than the practice"),
                        (["session", "--baseline=-5s"], "not a duration"),
                        (["session", "--baseline", "2w"], "not a duration"),
                        (["demo", "--minutes", "nan"], "minutes must be > 0")):
        proc = _run(*args, "--home", str(tmp_path))
        assert proc.returncode == 2 and words in proc.stderr, (args, proc.stderr)
    assert not (tmp_path / "biofeedback.sqlite").exists()  # nothing recorded


def test_demo_in_its_own_process_runs_the_session_with_the_start_up_frozen(tmp_path):
    # as the program, the demo loads numpy and numba with the cyclic collector off, then freezes
    # what the start-up loaded (not scanned again by the session's full collections) and runs the
    # session with the collector on
    code = f"""if True:
        import gc, sys
        import sessions.live as live
        run_session = live.run_session

        async def spy(*args, **kwargs):
            sys.stderr.write(f"collector {{gc.isenabled()}} frozen {{gc.get_freeze_count()}}\\n")
            return await run_session(*args, **kwargs)

        live.run_session = spy
        sys.argv = ["biofeedback", "demo", "--speed", "max", "--minutes", "1", "--home", {str(tmp_path)!r}]
        from biofeedback.cli.main import main
        sys.exit(main())
    """
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    enabled, frozen = proc.stderr.split("collector ")[1].splitlines()[0].split()[0::2]
    assert enabled == "True"
    assert int(frozen) > 10_000  # numpy's and numba's objects
    assert _jsonl(proc.stdout)[-1]["type"] == "stored"


def test_demo_called_in_process_leaves_the_callers_collector_alone(tmp_path, capsys):
    import gc

    from biofeedback.cli.main import main

    frozen = gc.get_freeze_count()
    assert main(["demo", "--speed", "max", "--minutes", "1", "--home", str(tmp_path)]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    assert _jsonl(capsys.readouterr().out)[-1]["type"] == "stored"
