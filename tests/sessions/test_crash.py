"""A recorder killed with SIGKILL loses at most its last second, never corrupts the store.

A real subprocess (``tests.sessions.crash_probe``) records beats paced on an injected virtual clock into
a real SQLite file and reports each beat on stdout; the test reads those lines (no sleeps), kills the
process at a point chosen by a seeded RNG, then reopens the store.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sessions.crash_probe import probe_beats
from sessions.recorder import Recorder
from sessions.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL (POSIX) not available")

COMMIT_INTERVAL_S = 1.0  # Recorder's default, which the probe uses


@pytest.mark.parametrize("seed", [11, 20261121])
def test_sigkill_loses_at_most_the_last_second(tmp_path: Path, seed: int) -> None:
    db = tmp_path / "home" / "biofeedback.sqlite"
    kill_after = random.Random(seed).randint(40, 90)  # beats reported before the kill (~1.6-3.6 s)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sessions.crash_probe", str(db), str(seed), "0.04"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    reported: list[float] = []
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[0] == "session", first
        session_id = first[1]
        assert proc.stdin is not None
        while len(reported) < kill_after:
            proc.stdin.write("\n")  # one more beat, please
            proc.stdin.flush()
            kind, seq, arrival = proc.stdout.readline().split()
            assert kind == "beat" and int(seq) == len(reported)
            reported.append(float(arrival))
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()
    assert proc.returncode == -signal.SIGKILL

    # Integrity, checked on a plain connection before anything else touches the file.
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT status FROM sessions WHERE id = ?", (session_id,)).fetchone()[0] == "recording"
    conn.close()

    with Store(db) as store:  # opening notices the dead recorder
        info = store.get_session(session_id)
        assert info.status == "incomplete"
        assert info.end_wall is None
        beats = store.beats(session_id)
    assert beats, "nothing was committed although more than a second of beats was recorded"

    # Exactly a prefix of what was sent, bit for bit.
    expected = probe_beats(seed)
    for i, b in enumerate(beats):
        ticks, rr_ms, t_s = next(expected)
        assert (b.seq, b.rr_ticks_1024, b.rr_ms, b.t_s, b.contact) == (i, ticks, rr_ms, t_s, True)
        if i < len(reported):
            assert b.arrival_s == reported[i]

    # At most the last second is missing: every beat that arrived more than one commit interval
    # before the last reported beat is present.
    last_arrival = reported[-1]
    must_have = sum(1 for a in reported if a <= last_arrival - COMMIT_INTERVAL_S)
    assert must_have > 0
    assert len(beats) >= must_have
    missing = reported[len(beats) :]
    if missing:
        assert missing[0] > last_arrival - COMMIT_INTERVAL_S


def test_incomplete_session_stays_readable_and_a_new_recording_works(tmp_path: Path) -> None:
    """After a crash recovery the store is still writable and the incomplete session analysable."""
    db = tmp_path / "home" / "biofeedback.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sessions.crash_probe", str(db), "3", "0.0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        proc.stdin.write("\n" * 2000)
        proc.stdin.flush()
        session_id = proc.stdout.readline().split()[1]
        for _ in range(2000):
            proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()
    with Store(db) as store:
        assert store.get_session(session_id).status == "incomplete"
        assert [b.seq for b in store.beats(session_id)] == list(range(len(store.beats(session_id))))
        from datetime import datetime, timezone

        from sessions.store import NewSession

        sid2 = store.create_session(NewSession("simulator", datetime(2026, 1, 2, tzinfo=timezone.utc)))
        with Recorder(store, sid2):
            pass
        assert store.get_session(sid2).status == "complete"
