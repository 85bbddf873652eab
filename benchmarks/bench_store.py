"""Benchmark sections for the store: recording throughput and the peak memory of a 24 h replay.

- ``recording``: beats/s into a real SQLite file with the 1 s commit policy (``bench_recorder.run``).
- ``replay24h``: a 24 h simulated session is recorded live (runner + pipeline + recorder, live
  indices stored for every beat); then a fresh process replays it through the same pipeline,
  checking every beat against the stored live indices, and reports its resident memory at the
  start, after the first 1 000 beats (by then the engine's compiled kernels are loaded: a one-time
  ~30 MiB) and at its peak (``VmHWM``). Memory must not grow with the session's length: the
  peak may exceed the 1 000-beat mark by less than 16 MiB.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_engine import Options, Row

_REPLAY_PROBE = r"""
import json, os, sys
from sessions.store import Store
WARM_UP = 1000
from sessions.replay import SessionReplay

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def peak_mib():
    # VmHWM: this process's own high-water mark. (ru_maxrss is not: Linux carries the forked
    # parent's peak across exec, so it reported the benchmark runner's memory.)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

store = Store.open_home(sys.argv[1])
replay = SessionReplay(store, sys.argv[2])
start = rss_mib()
n = 0
for rec in replay.records():
    n += 1
    if n == WARM_UP:
        # after the first records: the engine's compiled kernels are loaded (one-time, ~30 MiB)
        before = peak_mib()
peak = peak_mib()
print(json.dumps({"start_mib": start, "before_mib": before, "peak_mib": peak, "records": n,
                  "beats": replay.outcome.n_beats, "identical": replay.outcome.n_identical}))
"""


def section_recording(opts: Options) -> list[Row]:
    import bench_recorder

    from sessions.store import Store

    n = 20_000 if opts.quick else 200_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Store.open_home(Path(tmp) / "home") as store:
        for label, extras, virtual in (
            ("raw beats, 1 s commits", False, False),
            ("beats + artifact label + live indices", True, False),
        ):
            rate, commits = bench_recorder.run(store, n, extras=extras, virtual=virtual)
            rows.append(Row("recording", f"{label} ({n:,} beats)", f"{rate:,.0f} beats/s ({commits} commits)"))
    return rows


def section_replay24h(opts: Options) -> list[Row]:
    from biofeedback.practices import Protocol, get_practice
    from devices.clock import VirtualClock
    from sessions.live import SessionPlan, run_session
    from sessions.simulated import simulated_source
    from sessions.store import Store

    hours = 2 if opts.quick else 24
    total = hours * 3600.0
    protocol = Protocol(baseline_s=600.0, practice_s=1200.0, recovery_s=total - 1800.0)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        with Store.open_home(home) as store:
            plan = SessionPlan(practice=get_practice("resonance"), protocol=protocol, source_kind="simulator")
            clock = VirtualClock()
            source = simulated_source(plan.practice, protocol, seed=24, clock=clock)
            outcome = asyncio.run(run_session(source, plan, store, clock=clock))
        record_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        probe = subprocess.run([sys.executable, "-c", _REPLAY_PROBE, str(home), outcome.session_id],
                               capture_output=True, text=True, check=True)
        replay_s = time.perf_counter() - t0
        r = json.loads(probe.stdout)
        db_mib = (home / "biofeedback.sqlite").stat().st_size / 2**20
    return [
        Row(f"replay {hours} h", "beats recorded live (runner + engine + store)",
            f"{outcome.n_beats:,} in {record_s:.1f} s"),
        Row(f"replay {hours} h", "store size", f"{db_mib:.0f} MiB"),
        Row(f"replay {hours} h", "replay time (fresh process)", f"{replay_s:.1f} s"),
        Row(f"replay {hours} h", "replay matches live", f"{r['identical']:,} / {r['beats']:,} beats identical",
            "all", r["identical"] == r["beats"]),
        Row(f"replay {hours} h", "RSS at start / after 1 000 beats / peak",
            f"{r['start_mib']:.0f} / {r['before_mib']:.0f} / {r['peak_mib']:.0f} MiB"),
        Row(f"replay {hours} h", "peak growth after the first 1 000 beats", f"{r['peak_mib'] - r['before_mib']:.0f} MiB",
            "flat", r["peak_mib"] - r["before_mib"] < 16),
    ]


SECTIONS = {"recording": section_recording, "replay24h": section_replay24h}
