"""Cohort re-analysis: many RR files, one row each, on local worker processes or a Dask cluster.

``biofeedback analyze FILE... [--jobs N] [--scheduler ADDRESS] [--json | --csv] [--out PATH]``
calls :func:`run_cohort`. The single-file analysis is *not* written here: the command passes its own
single-file functions (``file_json``: the ``analyze FILE --json`` object of one file;
``file_per_beat``: its ``--per-beat --jsonl`` objects), so a cohort row is by construction the
single-file output plus ``file``, whatever keys that output has.

Where the work runs:

- locally (default), ``--jobs N`` worker processes (default: the cores this process may use), a
  :class:`concurrent.futures.ProcessPoolExecutor` whose workers fork from this process after it has
  loaded the analysis (so a worker has no start-up of its own), recordings handed out one at a time,
  largest first; ``--jobs 1`` runs in this process; both call the same per-recording function;
- ``--scheduler tcp://host:8786``: one task per recording submitted to an existing Dask distributed
  cluster (the client comes with ``pip install 'biofeedback[cluster]'``); the workers must have
  ``biofeedback`` installed. No scheduler of our own.

Results are gathered as they complete and written in the order given. A recording that fails
becomes a row ``{"file": ..., "error": "..."}`` and the others go on; :func:`run_cohort` then
returns 1 and prints a summary line naming the failures.

Standard library only at module level (the command registers its options from here while
``biofeedback --help`` is built).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO, cast

from biofeedback.errors import BiofeedbackError, InputError

#: Suffixes of the RR files a folder expands to (plain text and CSV, as ``analyze`` reads them).
RR_SUFFIXES = (".txt", ".rr", ".csv", ".tsv")
#: How to get Dask's client when ``--scheduler`` is used without it.
CLUSTER_EXTRA_HINT = "--scheduler needs Dask's distributed client: pip install 'biofeedback[cluster]'"

JsonTask = Callable[[argparse.Namespace, str], tuple[dict[str, Any], tuple[str, ...]]]
PerBeatTask = Callable[[argparse.Namespace, str], tuple[Iterator[dict[str, Any]], tuple[str, ...]]]
#: What a worker runs: ``(file) -> Result``; picklable (a ``functools.partial`` of module-level functions).
Work = Callable[[str], "Result"]


@dataclass(frozen=True)
class Timing:
    """Where and when one recording was analysed: the process (``pid``), its start and end on the
    system-wide monotonic clock (``time.monotonic``, seconds; comparable across processes on Linux),
    the CPU time of the analysis (``cpu_s``, user + system of that process) and the CPU time that
    process had used before it (``cpu_before_s``: for a worker's first recording, its start-up)."""

    pid: int
    start_s: float
    end_s: float
    cpu_s: float
    cpu_before_s: float

    def to_json_dict(self) -> dict[str, float]:
        return {"pid": self.pid, "start_s": self.start_s, "end_s": self.end_s, "cpu_s": self.cpu_s,
                "cpu_before_s": self.cpu_before_s}


@dataclass(frozen=True)
class Result:
    """One recording's outcome: its row (``None`` when it failed), the reader's notes, its beats, and
    where and when it ran (not part of the output; the accounting of ``BIOFEEDBACK_COHORT_TRACE``)."""

    file: str
    row: dict[str, Any] | None
    error: str | None = None
    notes: tuple[str, ...] = ()
    n_beats: int = 0
    timing: Timing | None = None

    def to_json_dict(self) -> dict[str, Any]:
        if self.row is None:
            return {"file": self.file, "error": self.error}
        return {"file": self.file, **self.row}


@dataclass
class CohortPlan:
    """What to analyse and where the output goes (built from the parsed arguments)."""

    files: list[str]
    jobs: int
    scheduler: str | None
    fmt: str  # json | csv | table | per-beat
    out: str | None
    per_beat_paths: list[str] = field(default_factory=list)


# -- options ----------------------------------------------------------------------------------------
def add_cohort_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--scheduler`` and ``--out`` of ``analyze`` (``--csv`` sits with ``--json``)."""
    g = parser.add_argument_group("cohorts (several files, a folder or a glob)")
    g.add_argument("--jobs", metavar="N", type=int, default=None,
                   help="worker processes on this machine (default: the number of cores)")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run one task per recording on an existing Dask cluster, e.g. tcp://host:8786 "
                        "(needs pip install 'biofeedback[cluster]')")
    g.add_argument("--out", metavar="PATH", default=None,
                   help="write the cohort table to PATH (0600) instead of standard output; with --per-beat, "
                        "the folder for one per-beat file per recording")


def is_cohort(args: argparse.Namespace) -> bool:
    """A cohort: several FILEs, a folder or a glob, or an option only a cohort has. One plain FILE
    without them keeps the single-file output exactly."""
    files: list[str] = args.file
    if len(files) != 1 or args.csv or args.out is not None or args.scheduler is not None:
        return True
    one = files[0]
    return Path(one).is_dir() or (not Path(one).exists() and glob.has_magic(one))


def expand(inputs: Sequence[str]) -> list[str]:
    """FILE arguments -> RR files in the order given: a folder gives its files with an RR suffix
    (sorted by name), a glob its matches (sorted); a plain path stays as given (a missing one fails
    as a row, not for the whole cohort)."""
    files: list[str] = []
    for arg in inputs:
        p = Path(arg)
        if p.is_dir():
            found = sorted(str(c) for c in p.iterdir() if c.is_file() and c.suffix.lower() in RR_SUFFIXES)
            if not found:
                raise InputError(f"no RR files ({', '.join(RR_SUFFIXES)}) in this folder", path=p)
            files.extend(found)
        elif not p.exists() and glob.has_magic(arg):
            matches = sorted(m for m in glob.glob(arg) if Path(m).is_file())
            if not matches:
                raise InputError(f"no files match {arg!r}")
            files.extend(matches)
        else:
            files.append(arg)
    return files


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_of(args: argparse.Namespace) -> CohortPlan:
    if args.jsonl:
        raise InputError("--jsonl is for one file's --per-beat output; a cohort's --per-beat needs --out DIR")
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    if args.scheduler is not None and args.jobs is not None:
        raise InputError("--jobs is for this machine; with --scheduler the cluster's workers do the work")
    files = expand(args.file)
    fmt = "per-beat" if args.per_beat else "json" if args.json else "csv" if args.csv else "table"
    plan = CohortPlan(files=files, jobs=jobs, scheduler=args.scheduler, fmt=fmt, out=args.out)
    if args.per_beat:
        if args.out is None:
            raise InputError("--per-beat with several files needs --out DIR (one per-beat file per recording)")
        plan.per_beat_paths = per_beat_paths(files, Path(args.out), per_beat_format())
    return plan


# -- per-beat files -----------------------------------------------------------------------------------
def per_beat_format() -> str:
    """``parquet`` when pyarrow is installed, else ``jsonl``."""
    try:
        import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "jsonl"
    return "parquet"


def per_beat_paths(files: Sequence[str], out_dir: Path, fmt: str) -> list[str]:
    """``DIR/<file name without suffix>.<fmt>``, ``-2``, ``-3``... when two recordings share a name."""
    seen: dict[str, int] = {}
    paths = []
    for f in files:
        stem = Path(f).name.split(".")[0] or "recording"
        seen[stem] = seen.get(stem, 0) + 1
        name = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"
        paths.append(str(out_dir / f"{name}.{fmt}"))
    return paths


def write_per_beat(rows: Iterable[dict[str, Any]], path: str) -> int:
    """Write per-beat objects to ``path`` (0600): Parquet (``.parquet``, one column per key, null
    where the JSON has null) or JSON lines (``.jsonl``, the lines of ``analyze --per-beat --jsonl``).
    Written under a temporary name and renamed, so a failure leaves no half file. Returns the rows."""
    from biofeedback.files import write_private_atomically
    from sessions.exporting import open_private_output

    if path.endswith(".parquet"):
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        table = pa.Table.from_pylist(list(rows))
        with write_private_atomically(path, binary=True) as f:
            pq.write_table(table, f)
        return int(table.num_rows)
    from biofeedback.engine import json_line

    n = 0
    with open_private_output(path, binary=True) as f:
        for d in rows:
            f.write(json_line(d))
            n += 1
    return n


# -- the work of one recording (runs in a worker) -----------------------------------------------------
# The one per-recording function of every path (in this process, pool workers, Dask workers).
def json_work(task: JsonTask, args: argparse.Namespace, file: str) -> Result:
    clock = _Clock()
    try:
        row, notes = task(args, file)
    except Exception as exc:  # noqa: BLE001 - any failure of one recording is its row; the rest go on
        return Result(file, None, _one_line(exc), timing=clock.stop())
    return Result(file, row, notes=notes, n_beats=int(row.get("n_beats") or 0), timing=clock.stop())


def per_beat_work(task: PerBeatTask, args: argparse.Namespace, out_path: str, file: str) -> Result:
    clock = _Clock()
    try:
        rows, notes = task(args, file)
        n = write_per_beat(rows, out_path)
    except Exception as exc:  # noqa: BLE001
        return Result(file, None, _one_line(exc), timing=clock.stop())
    fmt = Path(out_path).suffix.lstrip(".")
    return Result(file, {"per_beat_file": out_path, "format": fmt, "n_rows": n}, notes=notes, n_beats=n,
                  timing=clock.stop())


class _Clock:
    """Wall (monotonic) and CPU time of one recording's work in the process that does it."""

    def __init__(self) -> None:
        self.cpu0 = time.process_time()
        self.t0 = time.monotonic()

    def stop(self) -> Timing:
        return Timing(os.getpid(), self.t0, time.monotonic(), time.process_time() - self.cpu0, self.cpu0)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, BiofeedbackError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


# -- where the work runs --------------------------------------------------------------------------------
#: What a forkserver imports once when workers cannot fork from this process (see :func:`start_method`).
_PRELOAD = ("biofeedback.engine", "biofeedback.hrv.summary", "biofeedback.hrv.artifacts",
            "sessions.importers.plain_text", "sessions.importers.csv_column")
#: Set to a file name, the accounting of a cohort run is written there as JSON (see :func:`run_cohort`).
TRACE_ENV = "BIOFEEDBACK_COHORT_TRACE"


def start_method() -> str:
    """How local workers start: ``fork`` on Linux when this process runs no other Python thread, so a
    worker begins as a copy of this process with the readers, the HRV core and its compiled kernels
    already loaded (no start-up of its own); else ``forkserver`` (workers fork from a server that
    imported the core once, and each loads the compiled kernels itself).

    Forking is safe here because nothing else runs: the progress bar's thread starts after the
    workers, and the only native threads, OpenBLAS's, are stopped by OpenBLAS around ``fork``
    (its ``pthread_atfork`` handler) and restarted on demand in each process."""
    import threading

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "forkserver"


def largest_first(files: Sequence[str]) -> list[int]:
    """Indices of ``files`` by size, largest first (ties in the order given): handed out one at a time
    to whichever worker is free, the long recordings do not all come last, so no worker waits alone at
    the end while the other has a long one left."""
    sizes = [_size(f) for f in files]
    return sorted(range(len(files)), key=lambda i: -sizes[i])


def results_local(works: Sequence[Work], files: Sequence[str], jobs: int, warm: Callable[[], None] | None = None,
                  marks: dict[str, Any] | None = None) -> Iterator[tuple[int, Result]]:
    """``(index, result)`` as they complete, on ``jobs`` worker processes (in this process for 1).

    With workers, they are started before this returns (call it before any thread starts): ``warm()``
    first loads the analysis into this process, then the workers fork from it (:func:`start_method`),
    and the recordings go to them one at a time, largest first. ``marks`` (when given) receives the
    start method and the monotonic times of the warm-up and of the workers' start."""
    marks = {} if marks is None else marks
    if jobs == 1 or len(files) == 1:
        marks["start_method"] = "in-process"
        return ((i, w(f)) for i, (w, f) in enumerate(zip(works, files)))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = start_method()
    marks["start_method"] = method
    marks["warm_start_s"] = time.monotonic()
    if method == "fork" and warm is not None:
        warm()
    marks["warm_end_s"] = time.monotonic()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(list(_PRELOAD))
    sys.stdout.flush()  # a forked worker must not inherit (and later write) buffered output
    sys.stderr.flush()
    marks["parent_cpu_at_pool_s"] = time.process_time()
    marks["pool_start_s"] = time.monotonic()
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(files)), mp_context=ctx)
    # With fork, every worker starts at the first submit, before the pool's own threads.
    futures = {pool.submit(works[i], files[i]): i for i in largest_first(files)}
    return _as_completed(pool, futures)


def _as_completed(pool: Any, futures: dict[Any, int]) -> Iterator[tuple[int, Result]]:
    from concurrent.futures import as_completed

    try:
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def results_dask(works: Sequence[Work], files: Sequence[str], address: str) -> Iterator[tuple[int, Result]]:
    """``(index, result)`` as they complete on the Dask cluster at ``address``: one task per recording."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(CLUSTER_EXTRA_HINT) from None
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BiofeedbackError(f"cannot reach the Dask scheduler at {address}: {_one_line(exc)}") from exc
    try:
        futures = [client.submit(w, f, pure=False) for w, f in zip(works, files)]
        index = {fut.key: i for i, fut in enumerate(futures)}
        for fut in as_completed(futures, loop=client.loop):
            try:
                res = fut.result()
            except Exception as exc:  # the cluster, not a recording, failed (json_work catches those)
                raise BiofeedbackError(
                    f"the Dask cluster at {address} could not run the analysis: {_one_line(exc)} (its scheduler "
                    "and workers need the same biofeedback installed)") from exc
            yield index[fut.key], res
    finally:
        client.close()


def in_order(results: Iterable[tuple[int, Result]], n: int) -> Iterator[Result]:
    """Results in the order given, each as soon as it and all before it are done."""
    waiting: dict[int, Result] = {}
    next_i = 0
    for i, res in results:
        waiting[i] = res
        while next_i in waiting:
            yield waiting.pop(next_i)
            next_i += 1
    assert next_i == n, f"{n - next_i} recording(s) never came back"


# -- output -----------------------------------------------------------------------------------------------
class _Progress:
    """Recordings done, beats per second and time left on stderr (a terminal only). Time left is
    estimated from the bytes of the files still to do."""

    def __init__(self, files: Sequence[str], enabled: bool):
        self.sizes = [_size(f) for f in files]
        self.total_bytes = sum(self.sizes) or 1
        self.done_bytes = 0
        self.beats = 0
        self.t0 = time.monotonic()
        self.bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("analysing"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[left]}"),
                                console=Console(stderr=True), transient=True, redirect_stdout=False,
                                redirect_stderr=False)
            self.task = self.bar.add_task("cohort", total=len(files), rate="", left="")
            self.bar.start()

    def done(self, i: int, res: Result) -> None:
        self.done_bytes += self.sizes[i]
        self.beats += res.n_beats
        if self.bar is None:
            return
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        left = elapsed * (self.total_bytes - self.done_bytes) / max(self.done_bytes, 1)
        self.bar.update(self.task, advance=1, rate=f"{self.beats / elapsed:,.0f} beats/s",
                        left=f"{_clock(left)} left")

    def note(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _size(f: str) -> int:
    try:
        return os.path.getsize(f)
    except OSError:
        return 0


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _cell(v: Any) -> Any:
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    return json.dumps(v) if isinstance(v, dict) else "" if v is None else v


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    """A row with its objects spread into columns (``quality`` -> ``quality_valid_pct``, ...)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update({f"{k}_{sub}": x for sub, x in v.items()})
        else:
            out[k] = v
    return out


def write_csv(results: Sequence[Result], out: TextIO) -> None:
    """One row per recording: ``file``, the keys of the rows in first-seen order, then ``error``;
    an object's fields as columns of their own (``quality_verdict``), a list (``notes``) as its items
    joined by "; ", null as an empty cell."""
    import csv

    keys: dict[str, None] = {"file": None}
    for r in results:
        for k in _flat(r.to_json_dict()):
            keys.setdefault(k, None)
    keys.pop("error", None)
    columns = [*keys, "error"]
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in results:
        d = _flat(r.to_json_dict())
        w.writerow([_cell(d.get(c)) for c in columns])


_TABLE = ("n_beats", "duration_s", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "lf_hf", "artifacts_pct")


def print_table(results: Sequence[Result], out: TextIO) -> None:
    """For people: a few indices a recording (the full rows: --json or --csv)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="cohort (all indices: --json or --csv)", title_justify="left")
    table.add_column("file")
    for k in _TABLE:
        table.add_column(k, justify="right")
    table.add_column("error")
    for r in results:
        row = r.row or {}
        table.add_row(r.file, *(_fmt(row.get(k)) for k in _TABLE), r.error or "")
    Console(file=out).print(table)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.0f}"
    return str(v)


def run_cohort(args: argparse.Namespace, file_json: JsonTask, file_per_beat: PerBeatTask,
               warm_up: Callable[[argparse.Namespace], None] | None = None) -> int:
    """``analyze`` over a cohort; returns the exit status (1 when any recording failed).

    ``warm_up(args)`` loads one file's analysis into this process before local workers fork from it.
    With the environment variable ``BIOFEEDBACK_COHORT_TRACE`` set to a file name, the run's
    accounting is written there as JSON (see :func:`trace_json`)."""
    marks: dict[str, Any] = {"cohort_start_s": time.monotonic()}
    plan = plan_of(args)
    if plan.fmt == "per-beat":
        assert plan.out is not None
        Path(plan.out).mkdir(mode=0o700, parents=True, exist_ok=True)
        works: list[Work] = [partial(per_beat_work, file_per_beat, args, p) for p in plan.per_beat_paths]
    else:
        works = [partial(json_work, file_json, args)] * len(plan.files)
    if plan.scheduler is not None:
        marks["start_method"] = "dask"
        gathered = results_dask(works, plan.files, plan.scheduler)
    else:
        warm = None if warm_up is None else partial(warm_up, args)
        gathered = results_local(works, plan.files, plan.jobs, warm, marks)
    # Only now (the workers have started) may a thread start: the progress bar's.
    progress = _Progress(plan.files, enabled=sys.stderr.isatty())
    results: list[Result] = []

    def tracked() -> Iterator[tuple[int, Result]]:
        for i, res in gathered:
            progress.done(i, res)
            yield i, res
        marks["gathered_s"] = time.monotonic()

    streaming = plan.fmt in ("json", "per-beat")
    try:
        with _output(plan.out if plan.fmt != "per-beat" else None) as out:
            for res in in_order(tracked(), len(plan.files)):
                for note in res.notes:
                    progress.note(f"biofeedback analyze: {res.file}: {note}")
                results.append(res)
                if streaming:
                    out.write(json.dumps(res.to_json_dict()) + "\n")
                    out.flush()
            if plan.fmt == "csv":
                write_csv(results, out)
            elif plan.fmt == "table":
                print_table(results, out)
    finally:
        progress.stop()
        trace = os.environ.get(TRACE_ENV)
        if trace:
            marks.update(end_s=time.monotonic(), parent_cpu_s=time.process_time(), jobs=plan.jobs)
            _write_trace(trace, trace_json(marks, results))
    # The output is written, the workers and the cluster client are gone: nothing needs the
    # interpreter's teardown (slow once numba is loaded); biofeedback.cli.main skips it when asked.
    args.exit_at_once = True
    failed = [r.file for r in results if r.row is None]
    if failed:
        print(f"biofeedback analyze: {len(failed)} of {len(results)} recordings failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def trace_json(marks: dict[str, Any], results: Sequence[Result]) -> dict[str, Any]:
    """The accounting of one cohort run (``BIOFEEDBACK_COHORT_TRACE``), for ``benchmarks/bench_cohort.py``.

    Times are ``time.monotonic()`` seconds (the system-wide monotonic clock, so a benchmark can set
    them against its own), CPU times are user + system seconds of one process:

    - ``start_method``: ``in-process`` (``--jobs 1``), ``fork``, ``forkserver`` or ``dask``;
    - ``cohort_start_s``: the command reached the cohort code (after its own start-up);
    - ``warm_start_s``/``warm_end_s``: the warm-up before workers fork; ``pool_start_s``: the workers'
      start; ``gathered_s``: the last result came back; ``end_s``: the output is written;
    - ``parent_cpu_at_pool_s``/``parent_cpu_s``: this process's CPU time then and at the end;
    - ``recordings``: in the order given, ``file``, ``pid`` of the process that analysed it,
      ``start_s``/``end_s``, ``cpu_s`` and ``cpu_before_s`` (:class:`Timing`), ``row_bytes`` (its JSON row).
    """
    recs = []
    for r in results:
        d: dict[str, Any] = {"file": r.file, "row_bytes": len(json.dumps(r.to_json_dict()))}
        if r.timing is not None:
            d.update(r.timing.to_json_dict())
        recs.append(d)
    return {**marks, "recordings": recs}


def _write_trace(path: str, trace: dict[str, Any]) -> None:
    from sessions.exporting import open_private_output

    with open_private_output(path) as f:
        f.write(json.dumps(trace, indent=1) + "\n")


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """Standard output, or ``--out PATH`` written privately (0600) and renamed into place at the end."""
    if path is None:
        yield sys.stdout
        return
    from sessions.exporting import open_private_output

    with open_private_output(path) as f:
        yield cast(TextIO, f)
