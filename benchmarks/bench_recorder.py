"""Recording throughput: beats/s into a real SQLite file with the 1 s commit policy (real clock).

Each beat also gets its artifact label and a live-indices JSON row, as in a live session.
Run: ``python benchmarks/bench_recorder.py [N_BEATS]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from biofeedback.beat import Beat
from devices.clock import RealClock
from sessions.recorder import Recorder
from sessions.store import NewSession, Store

INDICES = {k: 12.345678901234 for k in ("t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence")}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        clock = RealClock()
        with Store.open_home(Path(tmp) / "home") as store:
            for label, with_extras in (("beats only", False), ("beats + label + indices", True)):
                sid = store.create_session(NewSession("simulator", clock.wall_now()))
                t0 = time.perf_counter()
                with Recorder(store, sid, clock=clock) as rec:
                    t_s = 0.0
                    for i in range(n):
                        ticks = 700 + (i * 37) % 400
                        rr = ticks * 1000 / 1024
                        t_s += rr / 1000
                        seq = rec.add_beat(Beat(rr, t_s, rr_ticks_1024=ticks, arrival_s=t_s, contact=True))
                        if with_extras:
                            rec.set_artifact_label(seq, "normal")
                            rec.add_indices(seq, INDICES)
                elapsed = time.perf_counter() - t0
                print(f"{label}: {n} beats in {elapsed:.2f} s = {n / elapsed:,.0f} beats/s ({rec.commits} commits)")


if __name__ == "__main__":
    main()
