"""Recording throughput: beats/s into a real SQLite file (WAL, synchronous=NORMAL).

Three runs, each a fresh session in a temporary store:

1. real clock, 1 s commit policy, raw beats only;
2. real clock, 1 s commit policy, each beat with its artifact label and a live-indices JSON row;
3. a VirtualClock advanced by each interval (a ``--speed max`` simulation): a commit every ~1.25 beats.

Run: ``python benchmarks/bench_recorder.py [N_BEATS]`` (default 200 000).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from biofeedback.beat import Beat
from devices.clock import RealClock, VirtualClock
from sessions.recorder import Recorder
from sessions.store import NewSession, Store

INDICES = {
    k: 12.345678901234
    for k in ("t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence")
}


def run(store: Store, n: int, *, extras: bool, virtual: bool) -> tuple[float, int]:
    clock = VirtualClock() if virtual else RealClock()
    t0 = time.perf_counter()
    with Recorder.create(store, NewSession("simulator", clock.wall_now()), clock=clock) as rec:
        t_s = 0.0
        for i in range(n):
            ticks = 700 + (i * 37) % 400
            rr = ticks * 1000 / 1024
            t_s += rr / 1000
            if virtual:
                clock.advance(rr / 1000)
            seq = rec.add_beat(Beat(rr, t_s, rr_ticks_1024=ticks, arrival_s=t_s, contact=True))
            if extras:
                rec.set_artifact_label(seq, "normal")
                rec.add_indices(seq, INDICES)
    return n / (time.perf_counter() - t0), rec.commits


def commit_cost(n_commits: int = 5000, rounds: int = 3) -> dict[str, float]:
    """CPU microseconds of one commit of two beats into a fresh store (the best of ``rounds``,
    variants alternated): ``insert`` one ``INSERT``, as the recorder commits beats alone at
    ``--speed max`` (:func:`sessions.store_rows.insert_beats`); ``transaction`` the same rows in
    ``BEGIN IMMEDIATE ... COMMIT`` (every commit before); ``no_trigger`` one ``INSERT`` into a
    store whose ``beats_raw_rows_never_replaced`` trigger was dropped (what that trigger's lookup
    costs; for comparison only, a recording always has it)."""
    from datetime import datetime, timezone

    from sessions.store_rows import Rows, insert_beats, write_rows

    best: dict[str, float] = {}
    for _ in range(rounds):
        for variant in ("insert", "transaction", "no_trigger"):
            with tempfile.TemporaryDirectory() as tmp, Store.open_home(Path(tmp) / "home") as store:
                sid = store.create_session(NewSession("simulator", datetime.now(timezone.utc)))
                if variant == "no_trigger":
                    store.conn.execute("DROP TRIGGER beats_raw_rows_never_replaced")
                c0 = time.process_time()
                for i in range(n_commits):
                    t_s = 0.9 * i
                    beats = [(sid, 2 * i + k, 921, 899.4140625, t_s, t_s, 1) for k in (0, 1)]
                    if variant == "transaction":
                        with store.transaction():
                            write_rows(store, Rows(beats=beats))
                    else:
                        insert_beats(store, beats)
                us = 1e6 * (time.process_time() - c0) / n_commits
                best[variant] = min(best.get(variant, us), us)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp, Store.open_home(Path(tmp) / "home") as store:
        for label, extras, virtual in (
            ("real clock, beats only", False, False),
            ("real clock, beats + label + indices", True, False),
            ("virtual clock (--speed max), beats only", False, True),
        ):
            rate, commits = run(store, n, extras=extras, virtual=virtual)
            print(f"{label:<42} {rate:>10,.0f} beats/s  ({n} beats, {commits} commits)")


if __name__ == "__main__":
    main()
