"""`--lsl`: real pylsl inlets on loopback receive the RR, HRV and Markers streams of a demo and of a
replay; the RR samples are the printed beats, in order. Every wait is bounded (resolve and pull
timeouts; the command waits for our inlets with --lsl-wait before its session starts)."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from biofeedback.cli.main import main

pytest.importorskip("pylsl")

from pylsl.util import LostError  # noqa: E402

from sessions.lsl import hrv_channels, load_pylsl  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 30.0


def _env(*prefix: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}  # loopback-only configuration
    env["PYTHONPATH"] = os.pathsep.join(map(str, [*prefix, PROJECT_ROOT]))
    return env


def _run_and_listen(pylsl: Any, tmp_path: Path, *argv: str | Path) -> tuple[dict[str, Any], "_Received", str, str]:
    """Start the command (output to files: a full pipe would stall it while we pull), open inlets on
    its three streams, pull until it has ended; every wait bounded."""
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", *map(str, argv)], stdout=out, stderr=err,
                                env=_env())
    try:
        inlets = _inlets(pylsl)
        got = _Received()
        got.pull(inlets, proc)
        rc = proc.wait(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0, err_path.read_text()
    return inlets, got, out_path.read_text(), err_path.read_text()


def _inlets(pylsl: Any) -> dict[str, Any]:
    """Resolve the three streams (bounded) and open an inlet on each: the command waits for them."""
    inlets = {}
    for kind in ("RR", "HRV", "Markers"):
        found = pylsl.resolve_byprop("type", kind, minimum=1, timeout=TIMEOUT_S)
        assert found, f"no {kind} stream within {TIMEOUT_S} s"
        # recover=False: once the command has ended and its outlets are gone, a pull raises LostError
        # (after the buffered samples) instead of waiting for the stream to come back.
        inlet = pylsl.StreamInlet(found[0], max_buflen=360, recover=False)
        inlet.open_stream(timeout=TIMEOUT_S)
        inlets[kind] = inlet
        inlets[kind + " info"] = inlet.info(timeout=TIMEOUT_S)  # full metadata, while the stream exists
    return inlets


class _Received:
    """Everything the three inlets got, pulled while the command runs and after it ended."""

    def __init__(self) -> None:
        self.samples: dict[str, list[list[Any]]] = {"RR": [], "HRV": [], "Markers": []}
        self.stamps: dict[str, list[float]] = {"RR": [], "HRV": [], "Markers": []}

    def pull(self, inlets: dict[str, Any], proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + TIMEOUT_S * 2
        open_ = {"RR", "HRV", "Markers"}
        ended_at: float | None = None
        while open_ and time.monotonic() < deadline:
            if ended_at is None and proc.poll() is not None:
                ended_at = time.monotonic()
            if ended_at is not None and time.monotonic() > ended_at + 5.0:
                break  # bounded: nothing more can come 5 s after the outlets are gone
            for kind in sorted(open_):
                try:
                    chunk, ts = inlets[kind].pull_chunk(timeout=0.05)
                except LostError:  # the outlet is gone and the buffer is empty
                    open_.discard(kind)
                    continue
                self.samples[kind] += chunk
                self.stamps[kind] += ts


def _close(inlets: dict[str, Any]) -> None:
    for kind in ("RR", "HRV", "Markers"):
        inlets[kind].close_stream()


def _check_streams(inlets: dict[str, Any], got: _Received, lines: list[dict], session_id: str,
                   kinds: set[str]) -> None:
    beats = [d for d in lines if d["type"] == "beat"]
    events = [d for d in lines if d["type"] == "event"]
    assert len(beats) > 50

    rr, rr_ts = got.samples["RR"], got.stamps["RR"]
    assert [s[0] for s in rr] == [b["rr_ms"] for b in beats]  # the printed beats, in order
    # each beat stamped at its own time on the LSL clock: t0 + t_s
    assert [t - rr_ts[0] for t in rr_ts] == pytest.approx([b["t_s"] - beats[0]["t_s"] for b in beats], abs=1e-6)

    info = inlets["RR info"]
    assert (info.type(), info.channel_count(), info.source_id()) == ("RR", 1, session_id)
    assert info.nominal_srate() == 0.0  # irregular
    ch = info.desc().child("channels").child("channel")
    assert (ch.child_value("label"), ch.child_value("unit"), ch.child_value("type")) == ("rr_ms", "ms", "RR")

    channels = hrv_channels()
    hrv = got.samples["HRV"]
    assert len(hrv) == len(beats)
    hrv_info = inlets["HRV info"]
    assert hrv_info.source_id() == session_id
    labels, ch = [], hrv_info.desc().child("channels").first_child()
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    assert labels == list(channels) and "rmssd_ms" in labels and "artifact" not in labels
    for sample, beat in zip(hrv, beats):
        for name, value in zip(channels, sample):
            expected = beat[name]
            if expected is None:
                assert math.isnan(value), name
            else:
                assert value == float(expected), name

    markers = got.samples["Markers"]
    got = [json.loads(s[0]) for s in markers]
    assert got == [{"kind": e["kind"], "t_s": e["t_s"], "phase": e["phase"], "data": e["data"]} for e in events]
    assert kinds <= {m["kind"] for m in got}


def test_demo_publishes_rr_hrv_and_markers_equal_to_its_printed_output(tmp_path: Path) -> None:
    inlets, got, out, _ = _run_and_listen(load_pylsl(), tmp_path, "demo", "--speed", "max", "--minutes", "1.5",
                                          "--jsonl", "--home", tmp_path / "home", "--lsl",
                                          "--lsl-wait", f"{TIMEOUT_S:g}s")
    lines = [json.loads(line) for line in out.splitlines()]
    stored = lines[-1]
    assert stored["type"] == "stored"
    try:
        _check_streams(inlets, got, lines, stored["session_id"],
                       {"phase_begin", "phase_end", "prompt_shown", "session_end"})
    finally:
        _close(inlets)


def test_replay_publishes_the_recorded_session(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["demo", "--speed", "max", "--minutes", "1.5", "--jsonl", "--home", str(home)]) == 0
    inlets, got, out, err = _run_and_listen(load_pylsl(), tmp_path, "replay", "last", "--jsonl", "--home", home,
                                            "--lsl", "--lsl-wait", f"{TIMEOUT_S:g}s")
    assert "replay matches live" in err
    lines = [json.loads(line) for line in out.splitlines()]
    session_id = inlets["RR info"].source_id()
    try:
        # replay's events are the recorded ones (its phases are in each beat's "phase", not events)
        _check_streams(inlets, got, lines, session_id, {"prompt_shown", "session_end"})
    finally:
        _close(inlets)


def test_lsl_without_pylsl_says_how_to_install_it_and_records_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked" / "pylsl"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('pylsl is not installed (blocked by the test)')\n")
    home = tmp_path / "home"
    proc = subprocess.run([sys.executable, "-m", "biofeedback.cli", "demo", "--speed", "max", "--jsonl",
                           "--home", str(home), "--lsl"],
                          capture_output=True, text=True, timeout=60, env=_env(blocked.parent))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == ["biofeedback demo: error: --lsl needs pylsl: pip install 'biofeedback[lsl]'"]
    from sessions.store import Store

    store = Store.open_existing(home)
    if store is not None:  # the store may exist; no session was started in it
        with store:
            assert store.list_sessions() == []
