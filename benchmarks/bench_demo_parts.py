"""Two parts of the 24 h demo, timed in process: ``python benchmarks/bench_demo_parts.py [--home DIR] [--minutes M]``.

1. **The simulator and its source loop**: the person of ``biofeedback demo --minutes M --seed 24``
   (the resonance practice, the demo's protocol, ``--speed max``: a ``VirtualClock`` and
   ``MAX_SPEED_BEATS_PER_TURN`` beats a turn of the event loop), every item of
   ``SimulatorSource.stream`` taken by an ``async for`` that does nothing else; and the generator alone
   (``RRSimulator.next_beat`` of the same person). CPU time, best of 3, and µs a beat.
2. **The ending comparison** (what ``print_ending`` computes after the demo): the session read once
   (``read_session``), ``compare_phases`` and its JSON text; CPU time, best of 3 after one warm-up. On the
   newest session of ``--home`` (a store ``biofeedback demo`` wrote), else on a demo of ``--minutes``
   recorded first into a temporary directory (``biofeedback demo --speed max`` in a fresh process, whose
   wall and CPU time are printed too).

The machine's load changes the absolute figures: compare two versions of the code by running this
alternately in the same conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from biofeedback.cli.cmd_demo import demo_protocol  # noqa: E402
from biofeedback.cli.run_session import MAX_SPEED_BEATS_PER_TURN  # noqa: E402
from biofeedback.practices import get_practice  # noqa: E402
from devices.clock import VirtualClock  # noqa: E402
from sessions.simulated import simulated_person, simulated_source  # noqa: E402

SEED = 24


def source_loop(minutes: float) -> tuple[float, int]:
    """CPU seconds of one pass over the demo's source stream, and its beats."""
    practice, protocol = get_practice("resonance"), demo_protocol(minutes)
    source = simulated_source(practice, protocol, seed=SEED, clock=VirtualClock(),
                              beats_per_turn=MAX_SPEED_BEATS_PER_TURN)
    n = 0

    async def run() -> None:
        nonlocal n
        async for _ in source.stream():
            n += 1

    t0 = time.process_time()
    asyncio.run(run())
    return time.process_time() - t0, n - 2  # connected and disconnected


def generator(minutes: float, n_beats: int) -> float:
    """CPU seconds of ``n_beats`` calls of the demo person's ``next_beat``."""
    sim = simulated_person(get_practice("resonance"), demo_protocol(minutes), seed=SEED)
    next_beat = sim.next_beat
    t0 = time.process_time()
    for _ in range(n_beats):
        next_beat()
    return time.process_time() - t0


def ending(home: Path) -> tuple[float, int]:
    """CPU seconds of the ending comparison of the newest session in ``home``, and its beats."""
    from sessions.compare import compare_phases
    from sessions.store import Store
    from sessions.stored import read_session

    store = Store.open_existing(home)
    if store is None:
        raise SystemExit(f"no store in {home}")
    with store:
        info = max(store.list_sessions(), key=lambda i: i.start_wall)
        t0 = time.process_time()
        session = read_session(store, info.id)
        comparison = compare_phases(session)
        json.dumps({"type": "comparison", **comparison.to_json_dict()}, allow_nan=False)
        return time.process_time() - t0, session.n_beats


def record_demo(minutes: float, home: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "biofeedback.cli", "demo", "--minutes", f"{minutes:g}", "--speed", "max",
                    "--seed", str(SEED), "--home", str(home)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"demo --minutes {minutes:g} --speed max --seed {SEED} > /dev/null: wall {wall:.1f} s, CPU {cpu:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="a store written by `biofeedback demo` (default: record one)")
    ap.add_argument("--minutes", type=float, default=1440.0, help="the demo's length (default 1440: 24 h)")
    args = ap.parse_args()
    source_loop(10.0)  # warm-up (imports, first calls)
    runs = [source_loop(args.minutes) for _ in range(3)]
    cpu, n = min(runs)
    print(f"simulator + source loop, {n} beats: {cpu:.3f} s CPU ({cpu / n * 1e6:.1f} µs a beat), best of 3")
    gen = min(generator(args.minutes, n) for _ in range(3))
    print(f"  of which the generator (next_beat): {gen:.3f} s CPU ({gen / n * 1e6:.1f} µs a beat), best of 3")
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home
        if home is None:
            home = Path(tmp) / "home"
            record_demo(args.minutes, home)
        ending(home)  # warm-up (kernels loaded)
        cpu, n = min(ending(home) for _ in range(3))
        print(f"ending comparison (read + compare_phases + JSON), {n} beats: {cpu:.3f} s CPU, best of 3")


if __name__ == "__main__":
    main()
