"""``biofeedback analyze FILE``: HRV indices of an RR file, whole recording or beat by beat.

Standard library only at module level (``biofeedback --help`` stays fast); numpy, rich and the
HRV core are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from biofeedback.cli.common import (
    FORMAT_NAMES,
    add_lang_option,
    parse_beat_range,
    parse_duration_s,
    require_file,
    resolve_lang,
)

if TYPE_CHECKING:  # pragma: no cover
    from biofeedback.engine import BeatIndices
    from biofeedback.hrv.frequency_domain import Detrend

HELP = "HRV indices of an RR-interval file (whole recording, or per beat)"

DESCRIPTION = """\
Compute heart-rate-variability indices (Kubios-compatible defaults) of a file of RR intervals, in
any format `biofeedback import` reads (plain text, CSV column, Kubios, Polar Sensor Logger, HRV
Logger, Elite HRV; detected unless --format is given), with the same reader and gap rule: `analyze
FILE --json` equals `import FILE` + `compare last --json` (phase "whole"). Artifacts (ectopic,
missed, extra, long and short beats) are detected with Lipponen & Tarvainen (2019) and, by default,
EXCLUDED: no successive difference across a flagged beat, spectra from the spline through the valid
beats (the live engine's policy; nothing is invented). --correction interpolate replaces them as
Kubios does; --no-correction analyses the raw series. The file itself is never changed. When the
unit is not given it is inferred and the inference is printed on stderr. Intervals longer than 3 s
are pauses: they become gaps, not beats. A one-line warning on stderr says when the signal quality
is not good (see "quality" below).
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
  biofeedback analyze rr.txt --lang nl               the table in Dutch (or set BIOFEEDBACK_LANG=nl)

  biofeedback analyze study/ --json --jobs 2 > cohort.jsonl   a cohort: one JSON line per recording
  biofeedback analyze 'study/*.txt' --csv --out cohort.csv   the same as CSV (a folder or glob expands)
  biofeedback analyze study/ --json --scheduler tcp://10.0.0.5:8786   on a Dask cluster
  biofeedback analyze study/ --per-beat --out per-beat/    one per-beat file per recording

--json keys: n_beats duration_s mean_rr_ms mean_hr_bpm sdnn_ms rmssd_ms ln_rmssd pnn50_pct
pnn20_pct sd1_ms sd2_ms stress_index vlf_ms2 lf_ms2 hf_ms2 total_power_ms2 lf_hf lf_nu hf_nu
lf_peak_hz hf_peak_hz coherence artifacts_pct nn50 lf_ar_ms2 hf_ar_ms2 lf_hf_ar apen sampen
dfa_alpha1 dfa_alpha2 hrv_triangular_index tinn_ms (null = undefined for this recording;
formulas in docs/indices.md), then
"quality": {valid_pct, artifacts_pct, longest_bridge_s, verdict: good|fair|poor} (good: <= 5 %
artifacts, Kubios' guidance, and no bridge > 4 s; poor: < 80 % valid beats; docs/artifacts.md) and
"notes": a list of sentences (e.g. slow breathing puts the respiratory peak in LF, so LF/HF is not
sympathetic dominance).
--lang (default $BIOFEEDBACK_LANG, else en) changes the table only: --json, --csv and --per-beat
keys and values are the same in every language.
Cohorts (several FILEs, a folder, a glob, or --csv/--out/--scheduler): one row per recording in
the order given, each the --json object of that file plus "file" ("error" instead when it failed);
--json prints one row a line, --csv a table; --per-beat --out DIR writes DIR/<name>.parquet
(pyarrow installed) or DIR/<name>.jsonl per recording. See README "For researchers".
Exit status: 0 ok, 1 some recordings of a cohort failed (summary on stderr), 2 bad file or option
(one line on stderr naming file, line and problem).
"""

_DETREND: dict[str, "Detrend"] = {"none": "mean", "smoothness-priors": "smoothness_priors"}
_PROGRESS_MIN_BEATS = 5000


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="+",
                        help="RR file: one interval a line, or CSV with --column; several files, a folder or "
                             "a glob make a cohort")
    parser.add_argument("--format", choices=FORMAT_NAMES, default=None,
                        help="the file's format (default: detected from its first lines, as `import` does, "
                             "and printed on stderr)")
    parser.add_argument("--units", choices=("ms", "s"), default=None,
                        help="unit of the intervals (default: inferred from the values, reported on stderr)")
    parser.add_argument("--column", metavar="NAME", default=None,
                        help="read a CSV file and take the intervals from this column (name, or 1-based number)")
    parser.add_argument("--skip-lines", metavar="N", type=int, default=None,
                        help="ignore the first N lines of a plain file (e.g. a start time)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    out.add_argument("--csv", action="store_true", help="cohort: one CSV row per recording")
    out.add_argument("--per-beat", action="store_true",
                     help="indices for every beat from the streaming engine (windows end at each beat)")
    parser.add_argument("--jsonl", action="store_true", help="with --per-beat: one JSON object a line")
    parser.add_argument("--correction", choices=("exclude", "interpolate", "none"), default=None,
                        help="artifact policy: exclude flagged beats (default, as live and compare), "
                             "interpolate them (Kubios-style replacement), or none (raw series)")
    parser.add_argument("--no-correction", action="store_true",
                        help="analyse the raw intervals (same as --correction none)")
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
    add_lang_option(parser, "of the table (--json, --csv and --per-beat are the same in every language)")

    from sessions.cohort import add_cohort_options

    add_cohort_options(parser)


def _read(args: argparse.Namespace, file: str):
    """The file through the reader `biofeedback import` uses (one reader behind both)."""
    from sessions.importers import read_recording

    from biofeedback.errors import InputError

    path = require_file(file)
    options = {"units": args.units, "column": args.column, "skip_lines": args.skip_lines or None}
    try:
        return read_recording(path, args.format, **options)
    except InputError as exc:
        if path.suffix.lower() in (".csv", ".tsv") and exc.problem.startswith("not a number"):
            raise InputError(exc.problem + " (a CSV file? name the RR column with --column NAME)",
                             path=exc.path, line=exc.line) from None
        raise


def _beats(rec):
    """``(rr_ms, t_s, breaks)`` as `import` stores them: the same times and the same gap rule."""
    import numpy as np

    from sessions.importers.base import gap_spans  # not sessions.importing: that loads the store

    rr = np.asarray(rec.rr_ms, dtype=np.float64)
    t = np.asarray(rec.beat_times_s(), dtype=np.float64)
    b = np.zeros(rr.size, dtype=bool)
    for i, _, _ in gap_spans(rr, t):
        b[i] = True
    return rr, t, b


def _correction(args: argparse.Namespace) -> str:
    from biofeedback.errors import InputError

    if args.no_correction and args.correction not in (None, "none"):
        raise InputError(f"--no-correction and --correction {args.correction} contradict each other")
    if args.no_correction:
        return "none"
    return args.correction or "exclude"


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
        method=args.method, detrend=_DETREND[args.detrend], artifact_detection=_correction(args) != "none", **kw
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
        return run_cohort(args, file_json, file_per_beat, warm_up)
    own_process = getattr(args, "own_process", False)
    if own_process:
        # numba's start-up leaves ~100 000 objects that the cyclic collector would scan ~270 times
        # (two full passes), ~10 % of a summary's CPU. One recording's summary, then the process
        # ends (exit_at_once): no cyclic garbage worth collecting, the collector stays off. Its own
        # process only. --per-beat turns it back on below, with the start-up's objects frozen.
        gc.disable()
    settings = _settings(args)
    if args.per_beat and _correction(args) == "interpolate":
        raise InputError("--per-beat shows the live engine's indices, which exclude artifacts: "
                         "--correction interpolate applies to the whole-recording summary only")
    rec = _read(args, args.file[0])
    from biofeedback.practices.texts import translate

    lang = resolve_lang(args)
    for note in rec.notes:
        print(f"biofeedback analyze: {rec.path}: {translate(note, lang, 'reader')}", file=sys.stderr)
    if args.per_beat:
        if own_process:
            # a long loop: the collector on again, without rescanning what the start-up loaded
            gc.freeze()
            gc.enable()
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


def warm_up(args: argparse.Namespace) -> None:
    """Load into this process all that one file's analysis needs (the readers, the HRV core, the
    compiled kernels from numba's cache) by analysing a synthetic recording (one ectopic pair; 1500
    beats, 21 min, for the summary; 600 beats for ``--per-beat``, whose beat-by-beat engine costs
    more a beat) with ``args``'s analysis options: a cohort's local workers fork from this process
    afterwards and start with it all in place. Best effort: an option that fails here fails in every
    row anyway, and a kernel not loaded here is loaded by the worker that needs it."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from sessions.importers import FORMATS, read_recording

    i = np.arange(600 if args.per_beat else 1500)
    rr = np.round(850.0 + 50.0 * np.sin(2 * np.pi * i * 0.85 / 6.0) + 15.0 * np.sin(i * 1.7))
    rr[300] -= 300.0  # an ectopic pair: the artifact path loads too
    rr[301] += 300.0
    try:
        for fmt in FORMATS.values():
            fmt.reader()
        with tempfile.TemporaryDirectory(prefix="biofeedback-warm-") as d:
            path = Path(d) / "warm-up.txt"
            path.write_text("".join(f"{v:g}\n" for v in rr))
            rec = read_recording(path)
        settings = _settings(args)
        if args.per_beat:
            for _ in per_beat_json(rec, settings):
                pass
        else:
            summary_json(args, rec, settings)
    except Exception:  # noqa: BLE001, S110 - best effort: the real rows report their own errors
        pass


def _whole(args, rec, settings) -> int:
    d = summary_json(args, rec, settings)
    q = d["quality"]
    if q["verdict"] != "good":
        from biofeedback.hrv.quality import Quality

        def num(key: str) -> float:
            return float("nan") if q[key] is None else float(q[key])

        quality = Quality(num("valid_pct"), num("artifacts_pct"), num("longest_bridge_s"), q["verdict"])
        print(f"biofeedback analyze: {rec.path}: {_quality_warning(quality, resolve_lang(args))}", file=sys.stderr)
    args.exit_at_once = True  # nothing left to close: skip the interpreter's teardown (biofeedback.cli.main)
    if args.json:
        print(json.dumps(d))
        return 0
    _print_table(rec, d, args, _correction(args))
    return 0


def summary_json(args, rec, settings) -> dict:
    """The whole-recording indices of ``analyze --json`` (and of each cohort row): the one place its
    keys come from. The stretch goes through the one artifact policy and the one summary function."""
    from biofeedback.hrv.notes import spectral_notes
    from biofeedback.hrv.policy import apply_policy
    from biofeedback.hrv.summary import summarize_stretch

    rr, t, breaks = _beats(rec)
    correction = _correction(args)
    # detection runs even for --no-correction, so the quality of the raw series is reported
    beats = apply_policy(rr, t, breaks, correction=correction, settings=settings.artifacts)
    summary = summarize_stretch(
        beats, method=settings.method, detrend=settings.detrend, si_bin_ms=settings.si_bin_ms,
        fs_hz=settings.fs_hz, smoothness_lambda=settings.smoothness_lambda, nfft=settings.welch_nfft,
        coherence_method=settings.coherence_method, dfa_short_beats=args.dfa_short, dfa_long_beats=args.dfa_long,
    )
    if correction == "none":
        summary = dataclasses.replace(summary, artifacts_pct=0.0)
    quality = beats.quality()
    notes = spectral_notes(summary.lf_nu, summary.lf_peak_hz)
    return {**summary.to_json_dict(), "quality": quality.to_json_dict(), "notes": list(notes)}


_UNITS = {
    "n_beats": "", "duration_s": "s", "mean_rr_ms": "ms", "mean_hr_bpm": "bpm", "sdnn_ms": "ms",
    "rmssd_ms": "ms", "ln_rmssd": "ln(ms)", "pnn50_pct": "%", "pnn20_pct": "%", "sd1_ms": "ms",
    "sd2_ms": "ms", "stress_index": "", "vlf_ms2": "ms²", "lf_ms2": "ms²", "hf_ms2": "ms²",
    "total_power_ms2": "ms²", "lf_hf": "", "lf_nu": "n.u.", "hf_nu": "n.u.", "lf_peak_hz": "Hz",
    "hf_peak_hz": "Hz", "coherence": "", "artifacts_pct": "%", "nn50": "", "lf_ar_ms2": "ms²",
    "hf_ar_ms2": "ms²", "lf_hf_ar": "", "apen": "", "sampen": "", "dfa_alpha1": "", "dfa_alpha2": "",
    "hrv_triangular_index": "", "tinn_ms": "ms",
}


def _fmt(v, lang: str = "en") -> str:
    """A number of the table or of the per-beat TSV (``lang``: decimal comma in Dutch; "-" for null)."""
    from biofeedback.practices.texts import format_number

    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return format_number(v, ".4g" if abs(v) < 1e5 else ".0f", lang)


def _quality_warning(quality, lang: str) -> str:  # type: ignore[no-untyped-def]
    """The quality warning (:meth:`biofeedback.hrv.quality.Quality.warning`) in ``lang``."""
    from biofeedback.hrv.quality import WARNING_SPECS
    from biofeedback.practices.texts import format_number, say

    if lang == "en":
        return str(quality.warning())
    values = {k: format_number(v, WARNING_SPECS[k], lang) for k, v in quality.warning_values().items()}
    return say("note.quality", lang, verdict=say(f"compare.verdict.{quality.verdict}", lang), **values)


def _note_text(note: str, d: dict, lang: str) -> str:
    """A note of ``--json``'s "notes" in ``lang`` (the slow-breathing note is translated; the JSON keeps
    the English)."""
    from biofeedback.hrv.notes import SLOW_BREATHING_SPECS, slow_breathing_values, spectral_notes
    from biofeedback.practices.texts import format_number, say

    values = slow_breathing_values(d.get("lf_nu"), d.get("lf_peak_hz"))
    if lang == "en" or values is None or note not in spectral_notes(d.get("lf_nu"), d.get("lf_peak_hz")):
        return note
    return say("note.slow_breathing", lang,
               **{k: format_number(v, SLOW_BREATHING_SPECS[k], lang) for k, v in values.items()})


def _print_table(rec, d: dict, args, correction: str) -> None:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from biofeedback.practices.texts import say

    lang = resolve_lang(args)
    title = say("analyze.title", lang, file=Path(rec.path).name, policy=say(f"analyze.policy.{correction}", lang),
                method=args.method)
    table = Table(title=title, title_justify="left")
    table.add_column(say("analyze.index", lang))
    table.add_column(say("analyze.value", lang), justify="right")
    table.add_column(say("analyze.unit", lang))
    for key, value in d.items():
        if key in ("quality", "notes"):
            continue
        table.add_row(key, _fmt(value, lang), _UNITS.get(key, ""))
    q = d["quality"]
    table.add_row(say("analyze.quality", lang), say(f"compare.verdict.{q['verdict']}", lang),
                  say("analyze.quality_detail", lang, valid=_fmt(q["valid_pct"], lang),
                      bridge=_fmt(q["longest_bridge_s"], lang)))
    console = Console()
    console.print(table)
    for note in d["notes"]:
        console.print(say("cli.note", lang, note=_note_text(note, d, lang)), markup=False)


def per_beat_indices(rec, settings, on_beat: Callable[[int], None] | None = None) -> Iterator[BeatIndices]:
    """The engine's :class:`~biofeedback.engine.BeatIndices` of every beat of ``rec``, in order
    (``on_beat(i)`` every 1000 beats): the one loop behind ``--per-beat``."""
    from biofeedback.engine import HRVEngine

    engine = HRVEngine(settings)
    for i, rr, t, breaks in _thousands(rec):
        yield from engine.push_beats(rr, t, breaks)
        if on_beat is not None:
            on_beat(i)
    yield from engine.flush()


def per_beat_jsonl(rec, settings, on_beat: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The output of ``analyze --per-beat --jsonl`` in blocks of up to 1000 lines: the lines of
    :meth:`~biofeedback.engine.BeatIndices.to_json_line` of every beat of :func:`per_beat_indices`, the
    same bytes, from :meth:`~biofeedback.engine.HRVEngine.json_lines` (no object per beat)."""
    from biofeedback.engine import HRVEngine

    engine = HRVEngine(settings)
    for i, rr, t, breaks in _thousands(rec):
        yield b"".join(engine.json_lines(rr, t, breaks))
        if on_beat is not None:
            on_beat(i)
    yield b"".join(bi.to_json_line() for bi in engine.flush())


def _thousands(rec) -> Iterator[tuple[int, list[float], list[float], list[bool]]]:
    """The beats of ``rec`` (:func:`_beats`: RR, time, a gap before the beat) 1000 at a time, each
    block with the index of its first beat."""
    rr_a, t_a, b_a = _beats(rec)
    rr, t, breaks = rr_a.tolist(), t_a.tolist(), b_a.tolist()
    for i in range(0, len(rr), 1000):
        yield i, rr[i:i + 1000], t[i:i + 1000], breaks[i:i + 1000]


def per_beat_json(rec, settings, on_beat: Callable[[int], None] | None = None) -> Iterator[dict]:
    """The per-beat objects of ``analyze --per-beat --jsonl``, in order (``on_beat(i)`` every 1000 beats)."""
    return (bi.to_json_dict() for bi in per_beat_indices(rec, settings, on_beat))


def _per_beat(args, rec, settings) -> int:
    columns = ("t_s", "rr_ms", "hr_bpm", "artifact", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence")
    progress = _progress(rec.rr_ms.size)
    on_beat = None
    if progress is not None:
        progress.start()
        task = progress.add_task("analysing", total=rec.rr_ms.size)
        on_beat = lambda i: progress.update(task, completed=i)  # noqa: E731
    try:
        if args.jsonl:
            # orjson lines (BeatIndices.to_json_line) written as bytes, a thousand per write
            out_text = sys.stdout
            out_text.flush()
            buffer = getattr(out_text, "buffer", None)  # None: a text-only stream (e.g. io.StringIO)
            write: Callable[[bytes], object] = (
                buffer.write if buffer is not None else (lambda b: out_text.write(b.decode()))
            )
            for block in per_beat_jsonl(rec, settings, on_beat):
                write(block)
            if buffer is not None:
                buffer.flush()
        else:
            out = sys.stdout
            out.write("\t".join(columns) + "\n")
            for d in per_beat_json(rec, settings, on_beat):
                out.write("\t".join(_fmt(d[c]) if not isinstance(d[c], str) else d[c] for c in columns) + "\n")
    finally:
        if progress is not None:
            progress.stop()
    return 0
