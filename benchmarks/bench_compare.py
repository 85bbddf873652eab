"""Benchmark section ``compare24h``: ``compare`` of a 24 h session (issue 13's goal: <= 2 s).

A 24 h simulated session (10 min baseline, 20 min practice, the rest recovery: the shape of
``bench_store``'s ``replay24h``) is recorded live into a real SQLite file; then a fresh process reads
it once (:func:`sessions.stored.read_session`) and compares its phases
(:func:`sessions.compare.compare_phases`: every index of every phase, ~7 700 sub-windows, the
bootstrap), timed without the imports, wall and CPU; and ``biofeedback compare ID --json`` runs as a
user would, start-up included.

Run alone (``--home``/``--session`` reuse a recording; ``--profile N`` prints the N costliest
functions of the comparison by cProfile, in one more fresh process, after the numba kernels'
first call)::

    python benchmarks/bench_compare.py [--hours 24] [--home DIR --session ID] [--profile N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_engine import Options, Row

GOAL_S = 2.0

_PROBE = r"""
import json, sys, time
from sessions.compare import compare_phases
from sessions.store import Store
from sessions.stored import read_session
import biofeedback.hrv.summary, biofeedback.hrv.policy  # imports are not the comparison's time

with Store.open_home(sys.argv[1]) as store:
    w, c = time.perf_counter(), time.process_time()
    comparison = compare_phases(read_session(store, sys.argv[2]))
    wall, cpu = time.perf_counter() - w, time.process_time() - c
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "n_beats": sum(p.n_beats for p in comparison.phases)}))
"""

_PROFILE = r"""
import cProfile, pstats, sys
from sessions.compare import compare_phases
from sessions.store import Store
from sessions.stored import read_session

with Store.open_home(sys.argv[1]) as store:
    read_session(store, sys.argv[2]).artifacts  # the numba kernels' first call is not the comparison's
    profile = cProfile.Profile()
    profile.enable()
    compare_phases(read_session(store, sys.argv[2]))
    profile.disable()
pstats.Stats(profile).sort_stats("tottime").print_stats(int(sys.argv[3]))
"""


def record(home: Path, hours: float) -> tuple[str, int]:
    """Record a simulated session of ``hours`` into the store at ``home``: (session id, beats)."""
    from biofeedback.practices import Protocol, get_practice
    from devices.clock import VirtualClock
    from sessions.live import SessionPlan, run_session
    from sessions.simulated import simulated_source
    from sessions.store import Store

    protocol = Protocol(baseline_s=600.0, practice_s=1200.0, recovery_s=hours * 3600.0 - 1800.0)
    plan = SessionPlan(practice=get_practice("resonance"), protocol=protocol, source_kind="simulator")
    clock = VirtualClock()
    with Store.open_home(home) as store:
        outcome = asyncio.run(run_session(simulated_source(plan.practice, protocol, seed=24, clock=clock), plan,
                                          store, clock=clock))
    return outcome.session_id, outcome.n_beats


def measure(home: Path, session_id: str, hours: float) -> list[Row]:
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(home), session_id],
                           capture_output=True, text=True, check=True)
    r = json.loads(probe.stdout)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "biofeedback.cli", "compare", session_id, "--json", "--home", str(home)],
                   capture_output=True, check=True)
    cli_s = time.perf_counter() - t0
    name = f"compare {hours:g} h"
    return [
        Row(name, f"read once + compare_phases ({r['n_beats']:,} beats; fresh process, imports excluded)",
            f"{r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU", f"<= {GOAL_S:g} s", r["wall_s"] <= GOAL_S),
        Row(name, "biofeedback compare ID --json (start-up included)", f"{cli_s:.2f} s"),
    ]


def section_compare24h(opts: Options) -> list[Row]:
    hours = 2.0 if opts.quick else 24.0
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        session_id, _ = record(home, hours)
        return measure(home, session_id, hours)


SECTIONS = {"compare24h": section_compare24h}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--home", type=Path, help="a store holding the session to compare (else one is recorded)")
    p.add_argument("--session", help="with --home: the session id")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="also print the N functions of the comparison taking the most time (cProfile)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, sid = a.home, a.session
        if home is None or not sid:
            home = Path(tmp) / "home"
            sid, _ = record(home, a.hours)
        rows = measure(home, sid, a.hours)
        if a.profile:
            subprocess.run([sys.executable, "-c", _PROFILE, str(home), sid, str(a.profile)], check=True)
    for r in rows:
        print("  ".join(c for c in r.cells() if c))


if __name__ == "__main__":
    main()
