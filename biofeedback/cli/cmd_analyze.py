"""``biofeedback analyze FILE``: HRV indices of an RR file, whole recording or beat by beat.

Standard library only at module level (``biofeedback --help`` stays fast); numpy, rich and the
HRV core are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import FORMAT_NAMES, parse_beat_range, parse_duration_s, require_file

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
  biofeedback analyze polar.csv                      the format is detected and printed (as for import)
  biofeedback analyze polar.csv --column rr          intervals from the CSV column "rr"
  biofeedback analyze rr.txt --per-beat --jsonl      one JSON object per beat (streaming engine)
  biofeedback analyze rr.txt --per-beat --jsonl --time-window 2m --frequency-window 5m
  biofeedback analyze holter.txt --skip-lines 1 --method lomb --detrend smoothness-priors
  biofeedback analyze rr.txt --json --dfa-short 4-12 --dfa-long 13-64

--json keys: n_beats duration_s mean_rr_ms mean_hr_bpm sdnn_ms rmssd_ms ln_rmssd pnn50_pct
pnn20_pct sd1_ms sd2_ms stress_index vlf_ms2 lf_ms2 hf_ms2 total_power_ms2 lf_hf lf_nu hf_nu
lf_peak_hz hf_peak_hz coherence artifacts_pct nn50 lf_ar_ms2 hf_ar_ms2 lf_hf_ar apen sampen
dfa_alpha1 dfa_alpha2 hrv_triangular_index tinn_ms (null = undefined for this recording;
formulas in docs/indices.md).
Exit status: 0 ok, 2 bad file or option (one line on stderr naming file, line and problem).
"""

_DETREND = {"none": "mean", "smoothness-priors": "smoothness_priors"}
_PROGRESS_MIN_BEATS = 5000


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="RR file: one interval a line, or CSV with --column")
    parser.add_argument("--format", choices=FORMAT_NAMES, default=None,
                        help="the file's format (default: detected from its first lines, as `import` does, "
                             "and printed on stderr)")
    parser.add_argument("--units", choices=("ms", "s"), default=None,
                        help="unit of the intervals (default: inferred from the values, reported on stderr)")
    parser.add_argument("--column", metavar="NAME", default=None,
                        help="read a CSV file and take the intervals from this column (name, or 1-based number)")
    parser.add_argument("--skip-lines", metavar="N", type=int, default=0,
                        help="ignore the first N lines of a plain file (e.g. a start time)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
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
    parser.add_argument("--dfa-short", metavar="N-M", type=parse_beat_range, default=(4, 16),
                        help="box sizes in beats of DFA alpha1 (default 4-16, as Kubios)")
    parser.add_argument("--dfa-long", metavar="N-M", type=parse_beat_range, default=(17, 64),
                        help="box sizes in beats of DFA alpha2 (default 17-64, as Kubios)")


def _read(args: argparse.Namespace):
    """The recording through the one reader `import` uses (format detected unless given), its notes
    (what was detected and why) on stderr."""
    from sessions.importers import read_recording

    path = require_file(args.file)
    fmt = args.format or ("csv" if args.column is not None else None)
    recording = read_recording(path, fmt, units=args.units, column=args.column,
                               skip_lines=args.skip_lines or None)
    return recording


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
    settings = _settings(args)
    rec = _read(args)
    for note in rec.notes:
        print(f"biofeedback analyze: {rec.path}: {note}", file=sys.stderr)
    if args.per_beat:
        return _per_beat(args, rec, settings)
    return _whole(args, rec, settings)


def _whole(args, rec, settings) -> int:
    from biofeedback.hrv.artifacts import detect_artifacts
    from biofeedback.hrv.summary import summarize

    t = rec.beat_times_s()
    breaks = _breaks(rec)
    if args.no_correction:
        summary = summarize(rec.rr_ms, t, None, breaks, method=settings.method, detrend=settings.detrend,
                            dfa_short_beats=args.dfa_short, dfa_long_beats=args.dfa_long)
    else:
        res = detect_artifacts(rec.rr_ms, t, breaks, settings=settings.artifacts)
        summary = summarize(
            res.rr_ms_corrected, res.t_s_corrected, None, res.breaks_corrected,
            artifacts_pct=res.artifacts_pct, method=settings.method, detrend=settings.detrend,
            dfa_short_beats=args.dfa_short, dfa_long_beats=args.dfa_long,
        )
    d = summary.to_json_dict()
    if args.json:
        print(json.dumps(d))
        return 0
    _print_table(rec, d, args)
    return 0


_UNITS = {
    "n_beats": "", "duration_s": "s", "mean_rr_ms": "ms", "mean_hr_bpm": "bpm", "sdnn_ms": "ms",
    "rmssd_ms": "ms", "ln_rmssd": "ln(ms)", "pnn50_pct": "%", "pnn20_pct": "%", "sd1_ms": "ms",
    "sd2_ms": "ms", "stress_index": "", "vlf_ms2": "ms²", "lf_ms2": "ms²", "hf_ms2": "ms²",
    "total_power_ms2": "ms²", "lf_hf": "", "lf_nu": "n.u.", "hf_nu": "n.u.", "lf_peak_hz": "Hz",
    "hf_peak_hz": "Hz", "coherence": "", "artifacts_pct": "%", "nn50": "", "lf_ar_ms2": "ms²",
    "hf_ar_ms2": "ms²", "lf_hf_ar": "", "apen": "", "sampen": "", "dfa_alpha1": "", "dfa_alpha2": "",
    "hrv_triangular_index": "", "tinn_ms": "ms",
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


def _per_beat(args, rec, settings) -> int:
    from biofeedback.beat import Beat, Gap
    from biofeedback.engine import HRVEngine

    rr = rec.rr_ms.tolist()
    t = rec.beat_times_s().tolist()
    breaks = _breaks(rec).tolist()
    engine = HRVEngine(settings)
    out = sys.stdout
    columns = ("t_s", "rr_ms", "hr_bpm", "artifact", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence")

    def emit(items) -> None:
        for bi in items:
            d = bi.to_json_dict()
            if args.jsonl:
                out.write(json.dumps(d) + "\n")
            else:
                out.write("\t".join(_fmt(d[c]) if not isinstance(d[c], str) else d[c] for c in columns) + "\n")

    if not args.jsonl:
        out.write("\t".join(columns) + "\n")
    progress = _progress(len(rr))
    task = None
    if progress is not None:
        progress.start()
        task = progress.add_task("analysing", total=len(rr))
    try:
        for i, (r, ti, brk) in enumerate(zip(rr, t, breaks)):
            if brk:
                emit(engine.push(Gap(start_s=t[i - 1], end_s=ti - r / 1000.0, reason="file")))
            emit(engine.push(Beat(rr_ms=r, t_s=ti)))
            if task is not None and i % 1000 == 0:
                progress.update(task, completed=i)
        emit(engine.flush())
    finally:
        if progress is not None:
            progress.stop()
    return 0
