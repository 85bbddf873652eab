"""The engine's cost per beat, steady state: ``python benchmarks/bench_beat_cost.py [--profile]``.

Loads the 21 h Holter file (``../shared/data/holter/rr_healthy_subjects_000_ms.txt``, ms, one RR
per line), takes its first 20 000 beats, pushes 300 to warm up (numba kernels loaded, windows
full), then times ``HRVEngine.push`` of the rest with the default settings (wall and CPU time per
beat, and the fastest and median of its batches of 500 beats: on a loaded machine the fastest batch
is the steadiest figure). ``--profile``: cProfile of the same loop instead, the top 15 functions by
own time. Compare two versions of the code by running this alternately in the same conditions (the
machine's load changes the absolute figures).
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
    ap.add_argument("--profile", action="store_true", help="cProfile the loop (top 15 by own time)")
    args = ap.parse_args()
    rr = np.loadtxt(FILE, max_rows=N_BEATS)
    t = np.cumsum(rr) / 1000.0
    beats = [Beat(rr_ms=float(a), t_s=float(b)) for a, b in zip(rr, t)]
    eng = HRVEngine(EngineSettings())
    for b in beats[:WARM_UP]:
        eng.push(b)
    push = eng.push
    rest = beats[WARM_UP:]
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        for b in rest:
            push(b)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(15)
        return
    batches = []
    c0, w0 = time.process_time(), time.perf_counter()
    for k in range(0, len(rest), BATCH):
        b0 = time.perf_counter()
        for b in rest[k:k + BATCH]:
            push(b)
        batches.append((time.perf_counter() - b0) / len(rest[k:k + BATCH]))
    w, c = time.perf_counter() - w0, time.process_time() - c0
    batches.sort()
    print(f"{len(rest)} beats: wall {w / len(rest) * 1e6:.1f} us/beat, cpu {c / len(rest) * 1e6:.1f} us/beat; "
          f"batches of {BATCH}: fastest {batches[0] * 1e6:.1f}, median {batches[len(batches) // 2] * 1e6:.1f} us/beat")


if __name__ == "__main__":
    main()
