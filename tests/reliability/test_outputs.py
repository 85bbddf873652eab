"""Recording never depends on its consumers: a reader that stops reading delays only its own lines."""

from __future__ import annotations

import fcntl
import json
import signal
import os
import subprocess

from tests.reliability.reliability_cli import CLI, cli_env, jsonl, stored, wait_until_finished


def _small_pipe() -> tuple[int, int]:
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)  # full after ~3 beat lines: the writer blocks at once
    return r, w


def test_a_stalled_jsonl_reader_gets_every_line_and_the_store_every_beat(tmp_path):
    home = tmp_path / "home"
    r, w = _small_pipe()
    proc = subprocess.Popen([*CLI, "demo", "--speed", "20", "--minutes", "0.5", "--jsonl", "--home", str(home)],
                            stdout=w, stderr=subprocess.PIPE, env=cli_env())
    os.close(w)
    try:
        # The session lasts 1.5 s of real time; the reader stalls for longer than the whole session.
        wait_until_finished(home, timeout_s=15)
        with os.fdopen(r, "r") as reader:
            out = reader.read()
        assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stderr:
            proc.stderr.close()
    lines = jsonl(out)
    beats = [o for o in lines if o["type"] == "beat"]
    times = [b["t_s"] for b in beats]
    # Every beat of the 30 s session, none missing after the stall, every line in order.
    assert times == sorted(times) and times[-1] > 27.0
    assert max(b - a for a, b in zip(times, times[1:])) < 2.0
    assert [t for (t,) in stored(home, "SELECT t_s FROM beats ORDER BY seq")] == times
    assert not stored(home, "SELECT 1 FROM gaps")
    assert lines[-1]["type"] == "stored" and lines[-1]["n_beats"] == len(beats)


def test_a_kill_at_speed_20_loses_at_most_one_second_of_session(tmp_path):
    home = tmp_path / "home"
    proc = subprocess.Popen([*CLI, "demo", "--speed", "20", "--minutes", "2", "--jsonl", "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli_env())
    printed: list[float] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith('{"type": "beat"'):
                printed.append(json.loads(line)["t_s"])
                if len(printed) == 45:  # ~40 s into the session, ~2 s of real time
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    kept = [t for (t,) in stored(home, "SELECT t_s FROM beats ORDER BY seq")]
    assert kept[: len(printed)] == printed[: len(kept)]
    lost_s = printed[-1] - (kept[-1] if kept else 0.0)
    assert lost_s <= 1.5, f"{len(printed) - len(kept)} printed beats ({lost_s:.1f} s of session) lost"
