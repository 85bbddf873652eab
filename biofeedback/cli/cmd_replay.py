"""``biofeedback replay SESSION``: recompute a session's indices from its raw beats, exactly as live.

Standard library only at module level (``biofeedback --help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_home_option, parse_duration_s, parse_speed, progress_bar
from biofeedback.cli.lsl_option import add_lsl_options, lsl_publisher

HELP = "recompute a session from its raw beats and check it reproduces the live indices"

DESCRIPTION = """\
Feed the stored raw beats and gaps of SESSION, in the order they were recorded, through the same
code that computed the indices live (same engine settings, same baseline end), and compare every
beat's indices with those shown live: `replay matches live: N/N beats identical`, or the first
difference. Events (prompts, markers, connection changes) come between the beats where they were
recorded.

Re-analysis: --time-window, --frequency-window, --coherence-window, --method, --detrend or
--no-correction recompute the session with other settings; the output then says it is a
re-analysis and is not compared with the live indices.

Exit status: 0 ok (replay identical, or a re-analysis), 1 replay differs from live, 2 bad input.
"""

EPILOG = """\
examples:
  biofeedback replay last                         check the last session reproduces bit for bit
  biofeedback replay 3fa2 --jsonl > beats.jsonl   per-beat JSON (keys of `analyze --per-beat --jsonl`
                                                  plus type and phase) and events; summary on stderr
  biofeedback replay last --speed 1               replay at the pace it was recorded
  biofeedback replay last --speed 10 --jsonl      ten times faster
  biofeedback replay last --time-window 90s --frequency-window 180s --method lomb   a re-analysis
  biofeedback replay last --speed 1 --lsl         publish it again on Lab Streaming Layer, at its pace
"""

_DETREND = {"none": "mean", "smoothness-priors": "smoothness_priors"}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--speed", type=parse_speed, default=float("inf"), metavar="X|max",
                        help="pace the output at X times the recorded pace, or as fast as possible with "
                             "'max' (default: max)")
    parser.add_argument("--jsonl", action="store_true",
                        help="print one JSON object per beat and per event (summary line on stderr)")
    g = parser.add_argument_group("re-analysis (the result is not compared with the live indices)")
    g.add_argument("--time-window", metavar="DUR", type=parse_duration_s, default=None,
                   help="time-domain window (recorded default 60s)")
    g.add_argument("--frequency-window", metavar="DUR", type=parse_duration_s, default=None,
                   help="frequency-domain window (recorded default 120s)")
    g.add_argument("--coherence-window", metavar="DUR", type=parse_duration_s, default=None,
                   help="coherence window (recorded default 64s)")
    g.add_argument("--method", choices=("welch", "lomb"), default=None, help="power spectrum method")
    g.add_argument("--detrend", choices=tuple(_DETREND), default=None, help="detrending before the spectrum")
    g.add_argument("--no-correction", action="store_true", help="no artifact detection")
    add_home_option(parser)
    add_lsl_options(parser)


def overrides_of(args: argparse.Namespace) -> dict:
    from biofeedback.errors import InputError

    out: dict = {}
    for opt, name in (("time_window", "time_window_s"), ("frequency_window", "frequency_window_s"),
                      ("coherence_window", "coherence_window_s")):
        value = getattr(args, opt)
        if value is not None:
            if not value > 0:
                raise InputError(f"--{opt.replace('_', '-')} must be longer than 0 s")
            out[name] = value
    if args.method is not None:
        out["method"] = args.method
    if args.detrend is not None:
        out["detrend"] = _DETREND[args.detrend]
    if args.no_correction:
        out["artifact_detection"] = False
    return out


def _text_line(rec) -> str:  # type: ignore[no-untyped-def]
    def f(v, spec: str) -> str:  # type: ignore[no-untyped-def]
        return "-".rjust(int(spec.split(".")[0])) if v is None else format(v, spec)

    if hasattr(rec, "indices"):
        d = rec.indices
        return (f"{d['t_s']:9.3f}  {rec.phase or '-':<9} HR {f(d['hr_bpm'], '5.1f')}  RMSSD {f(d['rmssd_ms'], '6.1f')}"
                f"  coherence {f(d['coherence'], '5.2f')}  relaxation {f(d['relaxation'], '5.1f')}  {d['artifact']}")
    return f"{rec.t_s:9.3f}  {rec.phase or '-':<9} [{rec.kind}] {json.dumps(rec.data, ensure_ascii=False)}"


def run(args: argparse.Namespace) -> int:
    import asyncio
    import math

    from biofeedback.cli.common import open_existing_store
    from devices.clock import RealClock
    from sessions.replay import SessionReplay, paced

    overrides = overrides_of(args)
    lsl = lsl_publisher(args)
    with open_existing_store(args) as store:
        sid = store.resolve_session(args.session)
        replay = SessionReplay(store, sid, overrides=overrides)
        out = sys.stdout
        show = args.jsonl or math.isfinite(args.speed)
        if lsl is not None:
            lsl.start(sid)

        def emit(rec) -> None:  # type: ignore[no-untyped-def]
            if lsl is not None:
                lsl.publish_record(rec)
            if not show:
                return
            if args.jsonl:
                out.write(json.dumps(rec.to_json_dict(), allow_nan=False, default=str) + "\n")
            else:
                out.write(_text_line(rec) + "\n")
            if math.isfinite(args.speed):
                out.flush()

        try:
            if show and math.isfinite(args.speed):
                async def go() -> None:
                    async for rec in paced(replay.records(), speed=args.speed, clock=RealClock()):
                        emit(rec)

                asyncio.run(go())
            else:
                from sessions.replay import ReplayBeat

                total = store.get_session(sid).n_beats
                with progress_bar(0 if show else total, "replay") as progress:
                    for rec in replay.records():
                        emit(rec)
                        if not show and progress is not None and isinstance(rec, ReplayBeat) and rec.seq % 1000 == 0:
                            progress(rec.seq, total)
        finally:
            if lsl is not None:
                lsl.close()
    outcome = replay.outcome
    assert outcome is not None
    line = outcome.summary_line()
    if overrides and not outcome.reanalysis:
        line += " (the settings given equal the recorded ones)"
    if args.jsonl:
        print(f"biofeedback replay: {line}", file=sys.stderr)
    else:
        out.write(line + "\n")
    return 1 if outcome.matches is False else 0
