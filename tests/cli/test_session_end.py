"""Sessions ended early say so (`sessions`, `show`), and a session without beats is not kept."""

from __future__ import annotations

import json
import select
import signal
import subprocess

from tests.reliability.reliability_cli import CLI, cli_env, run_cli, stored


def test_ctrl_c_before_the_first_beat_keeps_no_session(tmp_path):
    # --speed 0.1: the first simulated beat is ~9 s of real time away.
    proc = subprocess.Popen([*CLI, "demo", "--speed", "0.1", "--jsonl", "--home", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)  # the first line: the session runs
        assert ready, "no output from the demo within 60 s"
        first = proc.stdout.readline()
        assert json.loads(first)["type"] == "event"  # connected, before any beat
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        out = first + out
    finally:
        proc.kill()
    assert "nothing was kept" in err
    assert json.loads(out.splitlines()[-1])["n_beats"] == 0
    assert stored(tmp_path, "SELECT count(*) FROM sessions") == [(0,)]
    assert json.loads(run_cli("sessions", "--json", "--home", str(tmp_path)).stdout) == []


def test_ctrl_c_during_a_session_is_stored_as_interrupted(tmp_path):
    proc = subprocess.Popen([*CLI, "demo", "--speed", "20", "--minutes", "4", "--jsonl", "--home", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli_env())
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(json.loads(line))
            if sum(1 for o in lines if o["type"] == "beat") == 10:
                proc.send_signal(signal.SIGINT)
                break
        lines += [json.loads(line) for line in proc.stdout]
        proc.wait(timeout=30)
    finally:
        proc.kill()
        if proc.stdout:
            proc.stdout.close()
    assert lines[-1]["type"] == "stored" and lines[-1]["end_reason"] == "interrupted"
    listing = json.loads(run_cli("sessions", "--json", "--home", str(tmp_path)).stdout)
    assert [(s["status"], s["end_reason"]) for s in listing] == [("complete", "interrupted")]
    table = run_cli("sessions", "--home", str(tmp_path)).stdout
    assert "interrupted" in table
    assert "interrupted: ended early" in run_cli("show", "last", "--home", str(tmp_path)).stdout
