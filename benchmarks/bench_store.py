"""Benchmark sections for the store: recording throughput, and what a 24 h session costs.

- ``recording``: beats/s into a real SQLite file with the 1 s commit policy (``bench_recorder.run``).
- ``demo24h``: ``biofeedback demo --minutes 1440 --speed max`` in a fresh process, as a user runs
  it (session recorded live through runner + engine + store, then compared): wall time, goal
  <= 15 s (issue 13), and its CPU time (steadier than the wall time on a shared machine); and the
  recorder alone: the session's first 8 000 beats with their live indices and labels recorded again
  as at ``--speed max`` (the recorder's clock real time, as the live runner's: a commit per second of
  session time carrying the beats, the labels and indices about twice a real second): CPU and wall
  time per beat and WAL pages written per commit (no checkpoint meanwhile). The session it records is the 24 h session of the next sections (2 h with
  ``--quick``).
- ``store``: that session's store, all in (database + WAL file, raw beats, labels, live
  indices) per beat, goal <= 300 B (issue 13); the size of each table (``dbstat``); and, as the
  comparator in the same run, the same session stored as before migration 0008 (one JSON row of
  live indices a beat).
- ``report``: ``biofeedback report SESSION --out r.html`` of it in a fresh process: wall time (goal
  <= 5 s), CPU time (with the figure worker it starts, ``sessions/report_worker.py``), and peak
  resident memory (``VmHWM``, goal <= 300 MiB) and the worker's (``ru_maxrss``: its own peak, or the
  report's size when it was started, whichever is larger).
- ``replay24h``: a fresh process replays it through the same pipeline, checking every beat against
  the stored live indices, and reports its resident memory at the start, after the first 1 000
  beats (by then the engine's compiled kernels are loaded: a one-time ~30 MiB) and at its peak
  (``VmHWM``). Memory must not grow with the session's length: the peak may exceed the 1 000-beat
  mark by less than 16 MiB.
"""

from __future__ import annotations

import atexit
import json
import resource
import shutil
import sqlite3
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
    cost = bench_recorder.commit_cost(2000 if opts.quick else 5000)
    rows.append(Row("recording", "a commit of two beats, CPU: one INSERT (as at --speed max) / in BEGIN ... COMMIT "
                    "/ one INSERT without the raw-beats trigger",
                    f"{cost['insert']:.0f} / {cost['transaction']:.0f} / {cost['no_trigger']:.0f} us"))
    return rows


_CLI_PROBE = r"""
import collections, json, resource, sys, threading, time
# each thread's CPU time (user + system), summed by name ("biofeedback-merge" for all the merges)
threads_cpu = collections.Counter()
_run = threading.Thread.run
def _counted_run(self):
    try:
        _run(self)
    finally:
        threads_cpu[self.name] += time.thread_time()
threading.Thread.run = _counted_run
from biofeedback.cli.main import main
rc = main(sys.argv[2:])
threads_cpu["main"] += time.thread_time()
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
# the largest peak of its own child processes (report's figure worker, the engine's helper), KiB on
# Linux, and their CPU time
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"rc": rc, "peak_mib": peak, "children_peak_mib": kids.ru_maxrss / 1024,
               "children_cpu_s": kids.ru_utime + kids.ru_stime, "threads_cpu_s": threads_cpu}, out)
"""


def _cli(args: list[str], probe_out: Path) -> tuple[float, float]:
    """Run ``biofeedback ARGS`` in a fresh process (its output discarded): (wall s, peak MiB)."""
    wall_s, _, peak = _cli_cpu(args, probe_out)
    return wall_s, peak


def _cli_cpu(args: list[str], probe_out: Path) -> tuple[float, float, float]:
    """Like :func:`_cli`, also the process's CPU time (user + system, all its threads): (wall s,
    CPU s, peak MiB). On a shared machine the CPU time varies less than the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CLI_PROBE, str(probe_out), *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    wall_s = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads(probe_out.read_text())
    return wall_s, cpu_s, float(result["peak_mib"])


class _Day:
    """The session recorded by ``biofeedback demo --minutes M --speed max`` (24 h; 2 h with
    ``--quick``), recorded once per run and shared by the sections."""

    def __init__(self, hours: int):
        self.hours = hours
        self.tmp = Path(tempfile.mkdtemp(prefix="bench_store_"))
        atexit.register(shutil.rmtree, self.tmp, True)
        self.home = self.tmp / "home"
        self.demo_s, self.demo_cpu_s, self.demo_peak_mib = _cli_cpu(
            ["demo", "--minutes", str(hours * 60), "--speed", "max", "--seed", "24", "--home", str(self.home)],
            self.tmp / "demo.json",
        )
        probe = json.loads((self.tmp / "demo.json").read_text())
        # of which the engine's helper process (sessions/engine_worker.py), and each thread's here
        self.demo_helper_cpu_s = float(probe.get("children_cpu_s", 0.0))
        self.demo_threads_cpu_s: dict[str, float] = probe.get("threads_cpu_s", {})
        from sessions.store import Store

        with Store.open_home(self.home, readonly=True) as store:
            (info,) = store.list_sessions()
        self.session_id = info.id
        self.n_beats = info.n_beats


_DAYS: dict[int, _Day] = {}


def _day(opts: Options) -> _Day:
    hours = 2 if opts.quick else 24
    if hours not in _DAYS:
        _DAYS[hours] = _Day(hours)
    return _DAYS[hours]


#: Beats of the demo's session re-recorded by :func:`_recorder_alone`.
RERECORD_BEATS = 8000


def _recorder_alone(day: _Day) -> tuple[float, float, float, int]:
    """The recorder alone, as at ``--speed max``: the first RERECORD_BEATS beats of the day's session,
    with their stored live indices and labels, recorded again into a fresh store with the live
    runner's commit clock (real time) while session time runs as fast as the recorder takes the
    beats (a commit per second of session time with the beats; the labels and indices about twice a
    second of real time). (CPU us a beat, wall us a beat, WAL pages a commit, commits); the WAL is
    not checkpointed meanwhile, so its page count is every page the commits wrote (and the wall
    time holds no checkpoint's fsyncs)."""
    from biofeedback.beat import Beat
    from devices.clock import RealClock
    from sessions.recorder import Recorder
    from sessions.store import NewSession, Store

    with Store.open_home(day.home, readonly=True) as src:
        beats = src.conn.execute(
            "SELECT seq, rr_ticks_1024, rr_ms, arrival_s, t_s, contact, artifact FROM beats WHERE session_id = ? "
            "AND seq < ? ORDER BY seq", (day.session_id, RERECORD_BEATS)).fetchall()
        indices = dict(row for row in src.iter_beat_indices(day.session_id) if row[0] < RERECORD_BEATS)
    with tempfile.TemporaryDirectory() as tmp, Store.open_home(Path(tmp) / "home") as store:
        store.conn.execute("PRAGMA wal_autocheckpoint = 0")
        clock = RealClock()
        c0, w0 = time.process_time(), time.perf_counter()
        with Recorder.create(store, NewSession("simulator", clock.wall_now()), clock=clock) as rec:
            for seq, ticks, rr, arrival, t_s, contact, artifact in beats:
                rec.add_beat(Beat(rr, t_s, rr_ticks_1024=ticks, arrival_s=arrival, contact=bool(contact)))
                rec.add_indices(seq, indices[seq])
                rec.set_artifact_label(seq, artifact)
        cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
        frames = store.conn.execute("PRAGMA wal_checkpoint").fetchone()[1]
    return 1e6 * cpu_s / len(beats), 1e6 * wall_s / len(beats), frames / rec.commits, rec.commits


def section_demo24h(opts: Options) -> list[Row]:
    day = _day(opts)
    label = f"demo {day.hours} h"
    goal = 15.0 * day.hours / 24
    us_per_beat, wall_us, pages, commits = _recorder_alone(day)
    return [
        Row(label, f"the recorder alone: its first {RERECORD_BEATS:,} beats re-recorded at --speed max",
            f"{us_per_beat:.0f} us a beat CPU, {wall_us:.0f} us wall, {pages:.1f} WAL pages a commit "
            f"({commits:,} commits)"),
        Row(label, f"demo --minutes {day.hours * 60} --speed max (fresh process)",
            f"{day.demo_s:.1f} s ({day.n_beats:,} beats)", f"<= {goal:.3g} s", day.demo_s <= goal),
        Row(label, "its CPU time (user + system, every thread and process)",
            f"{day.demo_cpu_s:.1f} s ({1e6 * day.demo_cpu_s / max(day.n_beats, 1):.0f} us a beat), of which the "
            f"engine's helper process {day.demo_helper_cpu_s:.1f} s"),
        Row(label, "  its threads' CPU: main / index merges / JSON-lines output / the helper's answers read",
            " / ".join(f"{day.demo_threads_cpu_s.get(name, 0.0):.1f}" for name in
                       ("main", "biofeedback-merge", "biofeedback-output", "biofeedback-engine-reader")) + " s"),
        Row(label, "its peak memory", f"{day.demo_peak_mib:.0f} MiB"),
    ]


def _table_bytes(path: Path) -> dict[str, int]:
    """Bytes of the pages of each table and index (``dbstat``), empty if SQLite lacks it."""
    conn = sqlite3.connect(path)
    try:
        return {name: int(size) for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")}
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def _store_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("biofeedback.sqlite*") if p.is_file())


def _json_row_copy(day: _Day) -> Path:
    """The day's session stored as before migration 0008: schema 0007, one JSON row of live
    indices a beat (``json.dumps`` of what was shown, as the recorder wrote it)."""
    from sessions.migrations import apply_migrations
    from sessions.store import Store

    path = day.tmp / "json_rows.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    apply_migrations(conn, upto="0007_assessments")
    conn.execute("ATTACH DATABASE ? AS day", (str(day.home / "biofeedback.sqlite"),))
    conn.execute("BEGIN")
    for table in ("sessions", "phases", "beats", "gaps", "events"):
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM day.{table}")
    with Store.open_home(day.home, readonly=True) as store:
        rows = ((day.session_id, seq, json.dumps(d)) for seq, d in store.iter_beat_indices(day.session_id))
        conn.executemany("INSERT INTO beat_indices (session_id, seq, indices_json) VALUES (?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE day")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def section_store(opts: Options) -> list[Row]:
    day = _day(opts)
    label = f"store {day.hours} h"
    n = day.n_beats
    total = _store_bytes(day.home)
    tables = _table_bytes(day.home / "biofeedback.sqlite")
    rows = [Row(label, f"store per beat, all in ({n:,} beats, {total / 2**20:.1f} MiB)", f"{total / n:.0f} B",
                "<= 300 B", total / n <= 300)]
    for name, what in (("beats", "raw beats + labels"), ("beat_index_chunks", "live indices (chunks)")):
        if name in tables:
            rows.append(Row(label, f"  of which {what}", f"{tables[name] / n:.0f} B"))
    old = _json_row_copy(day)
    old_tables = _table_bytes(old)
    old_total = old.stat().st_size
    rows.append(Row(label, "before 0008: one JSON row of live indices a beat", f"{old_total / n:.0f} B"
                    + (f" (indices {old_tables['beat_indices'] / n:.0f} B)" if "beat_indices" in old_tables else "")))
    rows.append(Row(label, "size ratio JSON rows / chunks", f"{old_total / total:.1f}x"))
    return rows


def section_report(opts: Options) -> list[Row]:
    day = _day(opts)
    label = f"report {day.hours} h"
    probe = day.tmp / "report.json"
    wall_s, cpu_s, peak = _cli_cpu(["report", day.session_id, "--out", str(day.tmp / "r.html"), "--force",
                                    "--home", str(day.home)], probe)
    worker = float(json.loads(probe.read_text()).get("children_peak_mib", 0.0))
    return [
        Row(label, "report SESSION --out r.html (fresh process)", f"{wall_s:.1f} s", "<= 5 s", wall_s <= 5.0),
        Row(label, "its CPU time (user + system, with its figure worker)", f"{cpu_s:.1f} s"),
        Row(label, "its peak memory (VmHWM) / its figure worker's (ru_maxrss)", f"{peak:.0f} / {worker:.0f} MiB",
            "<= 300 MiB", peak <= 300.0),
    ]


def section_replay24h(opts: Options) -> list[Row]:
    day = _day(opts)
    hours = day.hours
    t0 = time.perf_counter()
    probe = subprocess.run([sys.executable, "-c", _REPLAY_PROBE, str(day.home), day.session_id],
                           capture_output=True, text=True, check=True)
    replay_s = time.perf_counter() - t0
    r = json.loads(probe.stdout)
    return [
        Row(f"replay {hours} h", "replay time (fresh process)", f"{replay_s:.1f} s"),
        Row(f"replay {hours} h", "replay matches live", f"{r['identical']:,} / {r['beats']:,} beats identical",
            "all", r["identical"] == r["beats"]),
        Row(f"replay {hours} h", "RSS at start / after 1 000 beats / peak",
            f"{r['start_mib']:.0f} / {r['before_mib']:.0f} / {r['peak_mib']:.0f} MiB"),
        Row(f"replay {hours} h", "peak growth after the first 1 000 beats", f"{r['peak_mib'] - r['before_mib']:.0f} MiB",
            "flat", r["peak_mib"] - r["before_mib"] < 16),
    ]


SECTIONS = {"recording": section_recording, "demo24h": section_demo24h, "store": section_store,
            "report": section_report, "replay24h": section_replay24h}
