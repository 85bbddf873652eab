"""The engine's cost per beat, steady state: ``python benchmarks/bench_beat_cost.py [--profile]``.

Loads the 21 h Holter file (``../shared/data/holter/rr_healthy_subjects_000_ms.txt``, ms, one RR
per line), takes its first 20 000 beats, pushes 300 to warm up (numba kernels loaded, windows
full), then times, with the default settings, two ways through the engine's one step:

- ``push``: ``HRVEngine.push`` of one ``Beat`` at a time (a live session; the ``BeatIndices`` of
  each beat);
- ``json_lines``: ``HRVEngine.json_lines`` of 500 beats at a time, joined (``analyze --per-beat
  --jsonl``: the JSON line of each beat, no object per beat).

Each: wall and CPU time per beat, and the fastest and median of its batches of 500 beats (on a loaded
machine the fastest batch is the steadiest figure). ``--profile``: cProfile of the same loops instead,
the top 15 functions by own time (numpy's FFT ufuncs do not show: their time is their caller's).
Compare two versions of the code by running this alternately in the same conditions (the machine's
load changes the absolute figures).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

import numpy as np

from biofeedback.beat import Beat
from biofeedback.engine import EngineSettings, HRVEngine

FILE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "holter" / "rr_healthy_subjects_000_ms.txt"
N_BEATS = 20_000
WARM_UP = 300
BATCH = 500


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", action="store_true", help="cProfile the loops (top 15 by own time)")
    args = ap.parse_args()
    rr = np.loadtxt(FILE, max_rows=N_BEATS)
    t = np.cumsum(rr) / 1000.0
    rr_l, t_l = rr.tolist(), t.tolist()
    beats = [Beat(rr_ms=a, t_s=b) for a, b in zip(rr_l, t_l)]

    def warm() -> HRVEngine:
        eng = HRVEngine(EngineSettings())
        for b in beats[:WARM_UP]:
            eng.push(b)
        return eng

    def push_batch(eng: HRVEngine, k: int) -> None:
        push = eng.push
        for b in beats[k:k + BATCH]:
            push(b)

    def lines_batch(eng: HRVEngine, k: int) -> None:
        b"".join(eng.json_lines(rr_l[k:k + BATCH], t_l[k:k + BATCH]))

    starts = range(WARM_UP, len(beats), BATCH)
    n = len(beats) - WARM_UP
    for name, batch in (("push", push_batch), ("json_lines", lines_batch)):
        eng = warm()
        if args.profile:
            pr = cProfile.Profile()
            pr.enable()
            for k in starts:
                batch(eng, k)
            pr.disable()
            print(f"-- {name}")
            pstats.Stats(pr).sort_stats("tottime").print_stats(15)
            continue
        batches = []
        c0, w0 = time.process_time(), time.perf_counter()
        for k in starts:
            b0 = time.perf_counter()
            batch(eng, k)
            batches.append((time.perf_counter() - b0) / len(beats[k:k + BATCH]))
        w, c = time.perf_counter() - w0, time.process_time() - c0
        batches.sort()
        print(f"{name}: {n} beats: wall {w / n * 1e6:.1f} us/beat, cpu {c / n * 1e6:.1f} us/beat; "
              f"batches of {BATCH}: fastest {batches[0] * 1e6:.1f}, median {batches[len(batches) // 2] * 1e6:.1f} us/beat")


if __name__ == "__main__":
    main()
