"""The ``--jsonl`` output's cost per beat: ``python benchmarks/bench_jsonl_output.py [--beats N]``.

The rows are real: the first ``--beats`` beats (default 4000) of the 21 h Holter file
(``../shared/data/holter/rr_healthy_subjects_000_ms.txt``) through the engine, each beat's
``BeatIndices.to_json_dict()`` behind a read-only view as the live runner hands it out, in three
phases (baseline, practice, recovery) by thirds. Timed per beat, CPU, in alternating rounds (the
fastest round and the median of 9), on the same rows:

- ``json.dumps``: ``json.dumps({"type": "beat", "phase": ..., **values}, allow_nan=False)`` and a
  newline, the text a script reads (every way below must give these bytes; checked first);
- ``beat_json_line``: one beat's line (orjson's text checked and respaced);
- ``beat_json_lines``: runs of 20 beats (about what the output thread finds queued at each wake at
  ``--speed max``), one orjson call a run;
- ``writer + JsonlSink``: the whole path of a session at full speed, ``OutputWriter.on_beat`` for
  every beat on this thread and the output thread writing the lines to a text stream over
  ``/dev/null`` (process CPU of both threads).

Also: how many rows fall back to ``json.dumps`` (a float below 1e-4, an escaped character...).
``--demo MINUTES``: instead, ``biofeedback demo --minutes MINUTES --speed max --seed 24`` in a
fresh process with standard output to ``/dev/null`` (so JSON lines are written), printing the
output thread's CPU time at its end and the process's CPU (``resource``, children included).
Compare two versions of the code by running this alternately in the same conditions (the machine's
load changes the absolute figures; the ratios to ``json.dumps`` are steadier).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from biofeedback.beat import Beat
from biofeedback.cli import live_output  # its names looked up when used: --demo also times older versions
from biofeedback.engine import EngineSettings, HRVEngine

FILE = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "holter" / "rr_healthy_subjects_000_ms.txt"
RUN = 20
ROUNDS = 9

Beats = list[tuple[Any, str, Mapping[str, Any]]]


def engine_rows(n: int) -> Beats:
    """``n`` beats' ``(indices, phase, values)`` as the live runner hands them to its outputs."""
    rr = np.loadtxt(FILE, max_rows=n)
    t = np.cumsum(rr) / 1000.0
    eng = HRVEngine(EngineSettings())
    out: Beats = []
    for a, b in zip(rr.tolist(), t.tolist()):
        for ind in eng.push(Beat(rr_ms=a, t_s=b)):
            phase = ("baseline", "practice", "recovery")[min(2, 3 * len(out) // n)]
            out.append((ind, phase, MappingProxyType(ind.to_json_dict())))
    return out


def _by_json_dumps(beats: Beats) -> None:
    for _, phase, values in beats:
        (json.dumps({"type": "beat", "phase": phase, **values}, allow_nan=False) + "\n").encode()


def _by_line(beats: Beats) -> None:
    for _, phase, values in beats:
        live_output.beat_json_line(phase, values)


def _by_runs(beats: Beats) -> None:
    for k in range(0, len(beats), RUN):
        live_output.beat_json_lines(beats[k:k + RUN])


def _through_writer(beats: Beats) -> None:
    out = io.TextIOWrapper(open("/dev/null", "wb"), encoding="utf-8")  # noqa: SIM115 - closed below
    writer = live_output.OutputWriter([live_output.JsonlSink(out)]).start()
    on_beat = writer.on_beat
    for indices, phase, values in beats:
        on_beat(indices, phase, values)
    writer.close()
    out.close()


#: Run in the demo's process: the CLI as the program, the output thread's CPU printed on stderr at its end.
_DEMO = """
import sys, time
import biofeedback.cli.live_output as L
work = L.OutputWriter._work
def timed(self):
    try:
        work(self)
    finally:
        print(f"output thread CPU {time.thread_time():.2f} s", file=sys.stderr, flush=True)
L.OutputWriter._work = timed
sys.argv = ["biofeedback", *sys.argv[1:]]
from biofeedback.cli.main import main
sys.exit(main())
"""


def demo(minutes: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _DEMO, "demo", "--minutes", str(minutes), "--speed", "max",
                               "--seed", "24", "--home", home], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=os.environ, check=True)
        wall = time.perf_counter() - w0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    thread = [line for line in done.stderr.splitlines() if line.startswith("output thread")]
    print(f"demo {minutes} min: wall {wall:.1f} s, CPU {cpu:.1f} s; {thread[-1] if thread else 'no output thread'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beats", type=int, default=4000, help="beats of the Holter file to use (default 4000)")
    ap.add_argument("--demo", type=int, metavar="MINUTES", help="time a demo of MINUTES at --speed max instead")
    args = ap.parse_args()
    if args.demo:
        demo(args.demo)
        return
    beats = engine_rows(args.beats)
    expected = b"".join((json.dumps({"type": "beat", "phase": p, **v}, allow_nan=False) + "\n").encode()
                        for _, p, v in beats)
    assert b"".join(live_output.beat_json_line(p, v) for _, p, v in beats) == expected
    assert b"".join(live_output.beat_json_lines(beats[k:k + RUN]) for k in range(0, len(beats), RUN)) == expected
    fallbacks = sum(live_output._flat_items(dict(v)) is None for _, _, v in beats)
    ways: dict[str, Callable[[Beats], None]] = {"json.dumps": _by_json_dumps, "beat_json_line": _by_line,
                                               f"beat_json_lines (runs of {RUN})": _by_runs,
                                               "writer + JsonlSink": _through_writer}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            c0 = time.process_time()
            way(beats)
            times[name].append((time.process_time() - c0) / len(beats) * 1e6)
    ref = statistics.median(times["json.dumps"])
    print(f"{len(beats)} beats, {len(expected) / len(beats):.0f} bytes a line, "
          f"{fallbacks} by json.dumps ({100 * fallbacks / len(beats):.2f} %)")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32s} CPU {med:6.2f} us/beat (fastest round {min(ts):6.2f}), {ref / med:4.2f}x json.dumps")


if __name__ == "__main__":
    main()
