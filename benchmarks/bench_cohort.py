"""Cohort throughput: ``biofeedback analyze FILE... --json`` over the shared Holter files.

Runs of the real command in a fresh process each, on the same cohort (every plain-text RR file in
``../shared/data/holter``, listed ``--repeat`` times so that both workers have work to the end;
default six times, 24 recordings: a study's cohort, in which the command's
start-up, paid once by ``--jobs 1`` and ``--jobs 2`` alike, is a small share; with 8 recordings
Amdahl's bound for that start-up is below the goal and the benchmark prints it): ``--jobs 1`` (in one process), ``--jobs 2`` (two worker processes
forked from the command once it has loaded the analysis), the previous pool once for comparison
(``--jobs 2`` with workers from a ``forkserver``, each loading the compiled kernels itself; run by
replacing ``sessions.cohort.start_method`` in the benchmark's child, not by an option of the
command), and ``--scheduler`` on a Dask cluster this benchmark starts on loopback (a scheduler and
two single-threaded worker processes, ``distributed.LocalCluster``). It checks the outputs are
identical, then reports recordings/s, beats/s, the speed-up of two jobs over one (goal >= 1.8x on
this 2-core machine), and a paper estimate for 10 000 recordings of 24 h on a 100-worker cluster
from the measured cost of one recording-hour with one worker.

Wall-clock ratios are only meaningful on an idle machine. So each local run also writes its
accounting (``BIOFEEDBACK_COHORT_TRACE``, see ``sessions.cohort.trace_json``) and the benchmark
prints, from CPU times that other people's jobs hardly change:

- start-up: from the launch to the first recording (wall) and the command's CPU time by then;
  the exit: from the output written to the process gone (the interpreter's teardown);
- per worker: its start-up (wall from the pool's start to its first recording; CPU before it),
  busy and idle time, and the tail (the time one worker waits alone at the end);
- the sum of per-recording CPU times, the total CPU of the run (command + workers), the command's
  own CPU while the workers run, the bytes of a result;
- the CPU-accounted speed-up: the ``--jobs 1`` run's CPU time over ``--jobs 2``'s critical path
  (the command's CPU before the workers start + the busiest worker's CPU), i.e. the wall speed-up
  on two dedicated cores; and Amdahl's bound for that start-up: ``(S + W) / (S + W / 2)`` with S
  the serial start-up CPU and W the CPU of all recordings (the best any pool can do while the
  command's start-up, which ``--jobs 1`` pays too, comes before the first recording), for this
  cohort and for a study of 200 such recordings.

Run alone: ``python benchmarks/bench_cohort.py [--repeat N]``, or as the ``cohort`` section of
``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the Dask scheduler here unpickles our tasks

from bench_engine import Options, Row  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HOLTER = ROOT.parent / "shared" / "data" / "holter"
GOAL_SPEEDUP = 1.8
ROUNDS = 2
#: The paper cohort of the estimate.
PAPER_RECORDINGS = 10_000
PAPER_HOURS = 24.0
PAPER_WORKERS = 100
#: A study's cohort (the issue's "200 Holter files"), for Amdahl's bound with the measured start-up.
STUDY_RECORDINGS = 200


def holter_files() -> list[Path]:
    files = sorted(HOLTER.glob("*.txt"))
    if not files:
        raise SystemExit(f"bench_cohort: no plain-text RR files in {HOLTER}")
    return files


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


#: The command, or (for the previous pool) the command with workers from a forkserver.
COMMAND = [sys.executable, "-m", "biofeedback.cli"]
FORKSERVER_COMMAND = [sys.executable, "-c", "import sys; import sessions.cohort as c; "
                      "c.start_method = lambda: 'forkserver'; from biofeedback.cli.main import main; "
                      "sys.exit(main(sys.argv[1:]))"]


@dataclass
class Run:
    """One run of the command: wall time, rows, CPU time (the command and the workers it waited
    for) and its accounting (``BIOFEEDBACK_COHORT_TRACE``, None for Dask), with the launch time on
    the same monotonic clock."""

    wall_s: float
    rows: list[dict]
    cpu_s: float
    trace: dict | None
    launch_s: float


def run_cli(files: list[Path], *extra: str, command: list[str] = COMMAND, trace: bool = True) -> Run:
    """``analyze FILES --json EXTRA`` in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="bench-cohort-") as d:
        env = _env()
        trace_path = Path(d) / "trace.json"
        if trace:
            env["BIOFEEDBACK_COHORT_TRACE"] = str(trace_path)
        # --skip-lines 1: the first line of the PhysioNet *_secs files is the time of the first beat (for
        # the *_ms files it drops one interval of ~80 000, which does not matter for throughput).
        cmd = [*command, "analyze", *map(str, files), "--json", "--skip-lines", "1", *extra]
        cpu0 = _children_cpu_s()
        launch = time.monotonic()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - t0
        cpu = _children_cpu_s() - cpu0
        if proc.returncode != 0:
            raise SystemExit(f"bench_cohort: analyze {' '.join(extra)} failed ({proc.returncode}): "
                             f"{proc.stderr[-2000:]}")
        tr = json.loads(trace_path.read_text()) if trace else None
    return Run(wall, [json.loads(line) for line in proc.stdout.splitlines()], cpu, tr, launch)


def run_dask(files: list[Path]) -> Run:
    """The same through a Dask cluster on loopback: a scheduler and two one-thread worker processes."""
    from distributed import LocalCluster

    os.environ["PYTHONPATH"] = _env()["PYTHONPATH"]  # the workers import biofeedback from this tree
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as cluster:
        return run_cli(files, "--scheduler", cluster.scheduler_address, trace=False)


@dataclass
class Accounting:
    """Where the time of one local run went (seconds; see the module docstring)."""

    wall_s: float
    to_first_recording_s: float  # launch -> the first recording starts (wall)
    serial_cpu_s: float  # the command's CPU before the first recording (start-up, warm-up)
    worker_startup_wall_s: list[float]  # per worker: pool start -> its first recording
    worker_startup_cpu_s: list[float]  # per worker: its CPU before its first recording
    worker_cpu_s: list[float]  # per worker: start-up + its recordings
    busy_s: list[float]  # per worker: wall time analysing
    idle_s: list[float]  # per worker: pool phase - busy
    tail_s: float  # last result - the first worker to run out of work
    recordings_cpu_s: float  # sum of per-recording CPU times
    total_cpu_s: float  # command + workers
    parent_cpu_in_pool_s: float  # the command's CPU while the workers run
    row_bytes: float  # mean JSON bytes of one result
    critical_cpu_s: float  # serial CPU + the busiest worker's CPU (+ the command's CPU after)
    exit_s: float  # the output written -> the process gone (the interpreter's teardown), wall


def accounting(run: Run) -> Accounting:
    t = run.trace
    assert t is not None
    recs = t["recordings"]
    first_start = min(r["start_s"] for r in recs)
    in_process = t["start_method"] == "in-process"
    pool_start = first_start if in_process else t["pool_start_s"]
    serial_cpu = recs[0]["cpu_before_s"] if in_process else t["parent_cpu_at_pool_s"]
    by_pid: dict[int, list[dict]] = {}
    for r in sorted(recs, key=lambda r: r["start_s"]):
        by_pid.setdefault(r["pid"], []).append(r)
    phase = t["gathered_s"] - pool_start
    busy = [sum(r["end_s"] - r["start_s"] for r in rs) for rs in by_pid.values()]
    startup_cpu = [0.0 if in_process else rs[0]["cpu_before_s"] for rs in by_pid.values()]
    worker_cpu = [s + sum(r["cpu_s"] for r in rs) for s, rs in zip(startup_cpu, by_pid.values())]
    recordings_cpu = sum(r["cpu_s"] for r in recs)
    parent_cpu = t["parent_cpu_s"]
    parent_in_pool = 0.0 if in_process else parent_cpu - t["parent_cpu_at_pool_s"]
    total = parent_cpu if in_process else parent_cpu + sum(worker_cpu)
    critical = parent_cpu if in_process else serial_cpu + max(max(worker_cpu), (sum(worker_cpu) + parent_in_pool) / 2)
    return Accounting(
        wall_s=run.wall_s, to_first_recording_s=first_start - run.launch_s, serial_cpu_s=serial_cpu,
        worker_startup_wall_s=[rs[0]["start_s"] - pool_start for rs in by_pid.values()],
        worker_startup_cpu_s=startup_cpu, worker_cpu_s=worker_cpu, busy_s=busy, idle_s=[phase - b for b in busy],
        tail_s=t["gathered_s"] - min(rs[-1]["end_s"] for rs in by_pid.values()), recordings_cpu_s=recordings_cpu,
        total_cpu_s=total, parent_cpu_in_pool_s=parent_in_pool,
        row_bytes=sum(r["row_bytes"] for r in recs) / len(recs), critical_cpu_s=critical,
        exit_s=run.launch_s + run.wall_s - t["end_s"])


def _list(xs: list[float]) -> str:
    return "/".join(f"{x:.2f}" for x in xs)


def accounting_rows(sec: str, name: str, a: Accounting) -> list[Row]:
    rows = [Row(sec, f"{name}: launch -> first recording (wall); command's CPU by then",
                f"{a.to_first_recording_s:.2f} s; {a.serial_cpu_s:.2f} s")]
    if len(a.busy_s) > 1:
        rows += [
            Row(sec, f"{name}: per worker start-up: wall from pool start, CPU before its first recording",
                f"{_list(a.worker_startup_wall_s)} s; {_list(a.worker_startup_cpu_s)} s"),
            Row(sec, f"{name}: per worker busy / idle (wall), tail", f"{_list(a.busy_s)} / {_list(a.idle_s)} s, "
                f"tail {a.tail_s:.2f} s"),
            Row(sec, f"{name}: command's CPU while the workers run; bytes per result",
                f"{a.parent_cpu_in_pool_s:.2f} s; {a.row_bytes:.0f} B"),
        ]
    rows.append(Row(sec, f"{name}: CPU of the recordings (sum); total CPU; sum / wall",
                    f"{a.recordings_cpu_s:.1f} s; {a.total_cpu_s:.1f} s; {a.recordings_cpu_s / a.wall_s:.2f}"))
    rows.append(Row(sec, f"{name}: output written -> process gone (wall)", f"{a.exit_s:.2f} s"))
    return rows


def section_cohort(opts: Options, repeat: int | None = None) -> list[Row]:
    base = holter_files()
    repeat = repeat if repeat is not None else (1 if opts.quick else 6)
    files = base * repeat
    load = os.getloadavg()[0]
    # Alternating runs, best of ROUNDS each: other people's jobs on this shared VM come and go.
    runs1, runs2 = [], []
    for _ in range(ROUNDS):
        runs1.append(run_cli(files, "--jobs", "1"))
        runs2.append(run_cli(files, "--jobs", "2"))
    r1 = min(runs1, key=lambda r: r.wall_s)
    r2 = min(runs2, key=lambda r: r.wall_s)
    rfs = run_cli(files, "--jobs", "2", command=FORKSERVER_COMMAND)
    rd = run_dask(files)
    if not r1.rows == r2.rows == rfs.rows == rd.rows:
        raise SystemExit("bench_cohort: the runs disagree")
    load_after = os.getloadavg()[0]
    n = len(files)
    beats = sum(r["n_beats"] for r in r1.rows)
    hours = sum(r["duration_s"] for r in r1.rows) / 3600.0
    speedup = r1.wall_s / r2.wall_s
    a1, a2, afs = accounting(r1), accounting(r2), accounting(rfs)
    cpu_speedup = a1.total_cpu_s / a2.critical_cpu_s
    s_cpu, w_cpu = a2.serial_cpu_s, a2.recordings_cpu_s
    amdahl = (s_cpu + w_cpu) / (s_cpu + w_cpu / 2)
    w_study = w_cpu / n * STUDY_RECORDINGS
    amdahl_study = (s_cpu + w_study) / (s_cpu + w_study / 2)
    # Paper estimate: one worker analyses a recording-hour in cpu/hours seconds (the CPU time of the
    # --jobs 1 run, start-up included: on a dedicated core wall = CPU; on this shared VM the wall time
    # also holds other people's jobs); 10 000 x 24 h spread over 100 workers, perfectly balanced.
    s_per_hour = r1.cpu_s / hours
    per_recording_s = s_per_hour * PAPER_HOURS
    paper_s = PAPER_RECORDINGS / PAPER_WORKERS * per_recording_s
    sec = "cohort"
    return [
        Row(sec, "cohort", f"{n} recordings ({len(base)} Holter files x {repeat}), {beats} beats, {hours:.0f} h"),
        Row(sec, "load average (1 min) before / after the runs (2 cores)", f"{load:.1f} / {load_after:.1f}"),
        Row(sec, "runs", f"--jobs 1 and --jobs 2 alternating, best of {ROUNDS} each; forkserver and Dask once"),
        Row(sec, "--jobs 1: wall, CPU, recordings/s, beats/s",
            f"{r1.wall_s:.1f} s, {r1.cpu_s:.1f} s, {n / r1.wall_s:.3f}/s, {beats / r1.wall_s:,.0f}/s"),
        Row(sec, "--jobs 2: wall, CPU, recordings/s, beats/s",
            f"{r2.wall_s:.1f} s, {r2.cpu_s:.1f} s, {n / r2.wall_s:.3f}/s, {beats / r2.wall_s:,.0f}/s"),
        Row(sec, "--jobs 2 speed-up over --jobs 1 (wall)", f"{speedup:.2f}x", f">= {GOAL_SPEEDUP}x",
            speedup >= GOAL_SPEEDUP),
        Row(sec, "--jobs 2 speed-up, CPU-accounted (two dedicated cores)", f"{cpu_speedup:.2f}x",
            f">= {GOAL_SPEEDUP}x", cpu_speedup >= GOAL_SPEEDUP),
        Row(sec, "Amdahl's bound with this start-up: (S + W) / (S + W/2)",
            f"{amdahl:.2f}x (S = {s_cpu:.2f} s serial start-up CPU, W = {w_cpu:.1f} s)"),
        Row(sec, f"the same bound for a study of {STUDY_RECORDINGS} such recordings", f"{amdahl_study:.2f}x"),
        *accounting_rows(sec, "--jobs 1", a1),
        *accounting_rows(sec, "--jobs 2", a2),
        Row(sec, "previous pool (forkserver) --jobs 2: wall",
            f"{rfs.wall_s:.1f} s ({r1.wall_s / rfs.wall_s:.2f}x --jobs 1)"),
        *accounting_rows(sec, "forkserver", afs),
        Row(sec, "Dask LocalCluster (2 workers x 1 thread, loopback)",
            f"{rd.wall_s:.1f} s, {beats / rd.wall_s:,.0f} beats/s, {r1.wall_s / rd.wall_s:.2f}x --jobs 1"),
        Row(sec, "cost of one 24 h recording on one worker (CPU)",
            f"{per_recording_s:.1f} s ({s_per_hour:.3f} s per recording-hour)"),
        Row(sec, f"paper: {PAPER_RECORDINGS} x {PAPER_HOURS:.0f} h on {PAPER_WORKERS} workers",
            f"{paper_s / 60:.0f} min ({paper_s / 3600:.2f} h)"),
    ]


SECTIONS = {"cohort": section_cohort}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=6, help="list each Holter file this many times (default 6)")
    args = p.parse_args(argv)
    for row in section_cohort(Options(), repeat=args.repeat):
        print("  ".join(c for c in row.cells() if c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
