"""``biofeedback analyze FILE``: HRV indices of an RR file, whole recording or beat by beat.

Standard library only at module level (``biofeedback --help`` stays fast); numpy, rich and the
HRV core are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator

from biofeedback.cli.common import parse_duration_s, require_file

HELP = "HRV indices of an RR-interval file (whole recording, or per beat)"

DESCRIPTION = """\
Compute heart-rate-variability indices (Kubios-compatible defaults) of a file of RR intervals:
a plain text file with one interval a line (milliseconds or seconds), or a CSV file with the
intervals in a named column. Artifacts (ectopic, missed, extra, long and short beats) are
detected and corrected with Lipponen & Tarvainen (2019) unless --no-correction is given; the
file itself is never changed. When the unit is not given it is inferred and the inference is
printed on stderr. Intervals longer than 3 s are pauses: they become gaps, not beats.
"""

EPILOG = """\
examples:
  biofeedback analyze rr.txt                         table of the whole recording
  biofeedback analyze rr.txt --units s --json        one JSON object (keys: see below)
  biofeedback analyze polar.csv --column rr          intervals from the CSV column "rr"
  biofeedback analyze rr.txt --per-beat --jsonl      one JSON object per beat (streaming engine)
  biofeedback analyze rr.txt --per-beat --jsonl --time-window 2m --frequency-window 5m
  biofeedback analyze holter.txt --skip-lines 1 --method lomb --detrend smoothness-priors
  biofeedback analyze study/ --json --jobs 2 > cohort.jsonl   a cohort: one JSON line per recording
  biofeedback analyze 'study/*.txt' --csv --out cohort.csv   the same as CSV (a folder or glob expands)
  biofeedback analyze study/ --json --scheduler tcp://10.0.0.5:8786   on a Dask cluster
  biofeedback analyze study/ --per-beat --out per-beat/    one per-beat file per recording

--json keys: n_beats duration_s mean_rr_ms mean_hr_bpm sdnn_ms rmssd_ms ln_rmssd pnn50_pct
pnn20_pct sd1_ms sd2_ms stress_index vlf_ms2 lf_ms2 hf_ms2 total_power_ms2 lf_hf lf_nu hf_nu
lf_peak_hz hf_peak_hz coherence artifacts_pct (null = undefined for this recording).
Cohorts (several FILEs, a folder, a glob, or --csv/--out/--scheduler): one row per recording in
the order given, each the --json object of that file plus "file" ("error" instead when it failed);
--json prints one row a line, --csv a table; --per-beat --out DIR writes DIR/<name>.parquet
(pyarrow installed) or DIR/<name>.jsonl per recording. See README "For researchers".
Exit status: 0 ok, 1 some recordings of a cohort failed (summary on stderr), 2 bad file or option
(one line on stderr naming file, line and problem).
"""

_DETREND = {"none": "mean", "smoothness-priors": "smoothness_priors"}
_PROGRESS_MIN_BEATS = 5000


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="+",
                        help="RR file: one interval a line, or CSV with --column; several files, a folder or "
                             "a glob make a cohort")
    parser.add_argument("--units", choices=("ms", "s"), default=None,
                        help="unit of the intervals (default: inferred from the values, reported on stderr)")
    parser.add_argument("--column", metavar="NAME", default=None,
                        help="read a CSV file and take the intervals from this column (name, or 1-based number)")
    parser.add_argument("--skip-lines", metavar="N", type=int, default=0,
                        help="ignore the first N lines of a plain file (e.g. a start time)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    out.add_argument("--csv", action="store_true", help="cohort: one CSV row per recording")
    out.add_argument("--per-beat", action="store_true",
                     help="indices for every beat from the streaming engine (windows end at each beat)")
    parser.add_argument("--jsonl", action="store_true", help="with --per-beat: one JSON object a line")
    parser.add_argument("--no-correction", action="store_true",
                        help="analyse the raw intervals (no artifact detection or correction)")
    parser.add_argument("--time-window", metavar="DUR", type=parse_duration_s, default=None,
                        help="per-beat time-domain window (default 60s)")
    parser.add_argument("--frequency-window", metavar="DUR", type=parse_duration_s, default=None,
                        help="per-beat frequency-domain window (default 120s)")
    parser.add_argument("--coherence-window", metavar="DUR", type=parse_duration_s, default=None,
                        help="per-beat coherence window (default 64s)")
    parser.add_argument("--method", choices=("welch", "lomb"), default="welch",
                        help="power spectrum: Welch on the 4 Hz spline (default, Kubios) or Lomb-Scargle")
    parser.add_argument("--detrend", choices=tuple(_DETREND), default="none",
                        help="detrending before the spectrum (default none: mean removed)")
    from sessions.cohort import add_cohort_options

    add_cohort_options(parser)


def _read(args: argparse.Namespace, file: str):
    from sessions.importers.csv_column import read_csv_column
    from sessions.importers.plain_text import read_plain_text

    from biofeedback.errors import InputError

    path = require_file(file)
    if args.column is not None:
        return read_csv_column(path, args.column, units=args.units)
    try:
        return read_plain_text(path, units=args.units, skip_lines=args.skip_lines)
    except InputError as exc:
        if path.suffix.lower() in (".csv", ".tsv") and exc.problem.startswith("not a number"):
            raise InputError(exc.problem + " (a CSV file? name the RR column with --column NAME)",
                             path=exc.path, line=exc.line) from None
        raise


def _breaks(rec):
    """Gap flags from the recording's own times: a beat later than its interval says."""
    import numpy as np

    rr = rec.rr_ms
    b = np.zeros(rr.size, dtype=bool)
    if rec.t_s is not None and rr.size > 1:
        dt_ms = np.diff(rec.t_s) * 1000.0
        b[1:] = dt_ms > rr[1:] * (1 + 1e-9) + 1e-6
    return b


def _settings(args: argparse.Namespace):
    from biofeedback.engine import EngineSettings

    kw = {}
    for opt, name in (("time_window", "time_window_s"), ("frequency_window", "frequency_window_s"),
                      ("coherence_window", "coherence_window_s")):
        v = getattr(args, opt)
        if v is not None:
            if not v > 0:
                from biofeedback.errors import InputError

                raise InputError(f"--{opt.replace('_', '-')} must be longer than 0 s")
            kw[name] = v
    return EngineSettings(
        method=args.method, detrend=_DETREND[args.detrend], artifact_detection=not args.no_correction, **kw
    )


def _progress(total: int):
    """A rich progress bar on stderr when it is a terminal and the work is long, else None."""
    if total < _PROGRESS_MIN_BEATS or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    return Progress(console=Console(stderr=True), transient=True)


def run(args: argparse.Namespace) -> int:
    from biofeedback.errors import InputError

    if args.jsonl and not args.per_beat:
        raise InputError("--jsonl needs --per-beat (use --json for the whole recording)")
    from sessions.cohort import is_cohort, run_cohort

    if is_cohort(args):
        return run_cohort(args, file_json, file_per_beat)
    settings = _settings(args)
    rec = _read(args, args.file[0])
    for note in rec.notes:
        print(f"biofeedback analyze: {rec.path}: {note}", file=sys.stderr)
    if args.per_beat:
        return _per_beat(args, rec, settings)
    return _whole(args, rec, settings)


def file_json(args: argparse.Namespace, file: str) -> tuple[dict, tuple[str, ...]]:
    """The ``--json`` object of one file and the reader's notes: a cohort's row (run in a worker)."""
    rec = _read(args, file)
    return summary_json(args, rec, _settings(args)), tuple(rec.notes)


def file_per_beat(args: argparse.Namespace, file: str) -> tuple[Iterator[dict], tuple[str, ...]]:
    """The ``--per-beat --jsonl`` objects of one file and the reader's notes (a cohort's per-beat task)."""
    rec = _read(args, file)
    return per_beat_json(rec, _settings(args)), tuple(rec.notes)


def _whole(args, rec, settings) -> int:
    d = summary_json(args, rec, settings)
    if args.json:
        print(json.dumps(d))
        return 0
    _print_table(rec, d, args)
    return 0


def summary_json(args, rec, settings) -> dict:
    """The whole-recording indices of ``analyze --json``: the one place its keys come from."""
    from biofeedback.hrv.artifacts import detect_artifacts
    from biofeedback.hrv.summary import summarize

    t = rec.beat_times_s()
    breaks = _breaks(rec)
    if args.no_correction:
        summary = summarize(rec.rr_ms, t, None, breaks, method=settings.method, detrend=settings.detrend)
    else:
        res = detect_artifacts(rec.rr_ms, t, breaks, settings=settings.artifacts)
        summary = summarize(
            res.rr_ms_corrected, res.t_s_corrected, None, res.breaks_corrected,
            artifacts_pct=res.artifacts_pct, method=settings.method, detrend=settings.detrend,
        )
    return summary.to_json_dict()


_UNITS = {
    "n_beats": "", "duration_s": "s", "mean_rr_ms": "ms", "mean_hr_bpm": "bpm", "sdnn_ms": "ms",
    "rmssd_ms": "ms", "ln_rmssd": "ln(ms)", "pnn50_pct": "%", "pnn20_pct": "%", "sd1_ms": "ms",
    "sd2_ms": "ms", "stress_index": "", "vlf_ms2": "ms²", "lf_ms2": "ms²", "hf_ms2": "ms²",
    "total_power_ms2": "ms²", "lf_hf": "", "lf_nu": "n.u.", "hf_nu": "n.u.", "lf_peak_hz": "Hz",
    "hf_peak_hz": "Hz", "coherence": "", "artifacts_pct": "%",
}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.0f}"


def _print_table(rec, d: dict, args) -> None:
    from rich.console import Console
    from rich.table import Table

    from pathlib import Path

    title = f"{Path(rec.path).name}: {'raw' if args.no_correction else 'artifact-corrected'}, {args.method}"
    table = Table(title=title, title_justify="left")
    table.add_column("index")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key, value in d.items():
        table.add_row(key, _fmt(value), _UNITS.get(key, ""))
    Console().print(table)


def per_beat_json(rec, settings, on_beat: Callable[[int], None] | None = None) -> Iterator[dict]:
    """The per-beat objects of ``analyze --per-beat --jsonl``, in order (``on_beat(i)`` every 1000 beats)."""
    from biofeedback.beat import Beat, Gap
    from biofeedback.engine import HRVEngine

    rr = rec.rr_ms.tolist()
    t = rec.beat_times_s().tolist()
    breaks = _breaks(rec).tolist()
    engine = HRVEngine(settings)
    for i, (r, ti, brk) in enumerate(zip(rr, t, breaks)):
        if brk:
            yield from (bi.to_json_dict() for bi in engine.push(Gap(start_s=t[i - 1], end_s=ti - r / 1000.0, reason="file")))
        yield from (bi.to_json_dict() for bi in engine.push(Beat(rr_ms=r, t_s=ti)))
        if on_beat is not None and i % 1000 == 0:
            on_beat(i)
    yield from (bi.to_json_dict() for bi in engine.flush())


def _per_beat(args, rec, settings) -> int:
    out = sys.stdout
    columns = ("t_s", "rr_ms", "hr_bpm", "artifact", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence")

    def emit(items) -> None:
        for d in items:
            if args.jsonl:
                out.write(json.dumps(d) + "\n")
            else:
                out.write("\t".join(_fmt(d[c]) if not isinstance(d[c], str) else d[c] for c in columns) + "\n")

    if not args.jsonl:
        out.write("\t".join(columns) + "\n")
    progress = _progress(rec.rr_ms.size)
    on_beat = None
    if progress is not None:
        progress.start()
        task = progress.add_task("analysing", total=rec.rr_ms.size)
        on_beat = lambda i: progress.update(task, completed=i)  # noqa: E731
    try:
        emit(per_beat_json(rec, settings, on_beat))
    finally:
        if progress is not None:
            progress.stop()
    return 0
