"""Wire a resonance-frequency assessment together: the same live runner as a guided session (recording,
reconnects, markers, q, crash safety), then the analysis of the recorded beats, the result kept in the
store as the user's resonance rate, and the table (or one JSON object) at the end.

Standard library only at module level (imported while building ``--help``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from biofeedback.cli.common import parse_duration_s

#: ``--protocol`` choices (the first is the default).
PROTOCOL_CHOICES = ("stepped", "sliding")


def _rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of rates: {text!r} (use e.g. 6.5,6,5.5,5,4.5)") from None
    if not rates:
        raise argparse.ArgumentTypeError("give at least one rate")
    return rates


def add_assessment_options(parser: argparse.ArgumentParser, *, flag_prefix: str = "") -> None:
    """``--protocol`` and the stepped protocol's rates, step length, settling time and ratio."""
    g = parser.add_argument_group("assessment")
    g.add_argument("--protocol", choices=PROTOCOL_CHOICES, default="stepped",
                   help="stepped: 2 minutes at each of 6.5, 6, 5.5, 5 and 4.5 breaths/min (default); "
                        "sliding: the rate slows smoothly from 6.75 to 4.25 breaths/min over ~15 minutes "
                        "(Fisher & Lehrer 2022)")
    g.add_argument("--rates", type=_rates, default=None, metavar="R1,R2,...",
                   help="stepped: the rates in breaths/min, in order (default: 6.5,6,5.5,5,4.5)")
    g.add_argument("--step", type=parse_duration_s, default=None, metavar="DURATION",
                   help="stepped: time at each rate (default: 2m)")
    g.add_argument("--settle", type=parse_duration_s, default=None, metavar="DURATION",
                   help="stepped: settling time after each change, not analysed (default: 20s)")
    g.add_argument("--ratio", metavar="IN:OUT", default=None,
                   help="inhale:exhale ratio (default: 4:6 stepped, 1:1 sliding)")
    g.add_argument("--rest", type=parse_duration_s, default=60.0, metavar="DURATION",
                   help="rest before the pacer starts (default: 1m)")
    g.add_argument("--lang", choices=("en", "nl"), default="en", help="language of the prompts (default: en)")


def schedule_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The schedule's settings as data (kept with the session so the analysis can be recomputed)."""
    from biofeedback.errors import InputError
    from biofeedback.practices import parse_ratio

    settings: dict[str, Any] = {"protocol": args.protocol}
    if args.protocol == "stepped":
        if args.rates is not None:
            settings["rates_bpm"] = args.rates
        if args.step is not None:
            settings["step_s"] = args.step
        if args.settle is not None:
            settings["settle_s"] = args.settle
    elif args.rates is not None or args.step is not None or args.settle is not None:
        raise InputError("--rates, --step and --settle are for --protocol stepped")
    if args.ratio is not None:
        settings["inhale_fraction"] = parse_ratio(args.ratio)
    return settings


def assessment_plan(settings: dict[str, Any], *, rest_s: float, lang: str, source: str,
                    simulated: dict[str, Any] | None = None) -> Any:
    """The :class:`~sessions.live.SessionPlan` of an assessment: the schedule of ``settings``
    (:func:`schedule_settings`), ``rest_s`` of rest first; ``simulated`` (seed, profile, speed, path,
    resonance_rate_bpm) kept with a simulated one. Used by ``assess``, ``demo --assess`` and the app."""
    from biofeedback.practices.assessment import assessment_practice, assessment_protocol, build_schedule
    from biofeedback.practices.texts import check_lang
    from sessions.live import SessionPlan

    schedule = build_schedule(settings)
    practice = assessment_practice(schedule)
    protocol = assessment_protocol(schedule, rest_s)
    practice_settings: dict[str, Any] = {"assessment": settings, "pattern": practice.pattern.label}  # type: ignore[union-attr]
    if source != "strap":
        practice_settings.update(simulated or {})
    return SessionPlan(practice=practice, protocol=protocol, lang=check_lang(lang), practice_settings=practice_settings,
                       source_kind="live" if source == "strap" else "simulator")


def conclude_assessment(store: Any, outcome: Any, protocol: str) -> tuple[Any, dict[str, Any]]:
    """After the run: analyse the recorded beats, keep the result (the user's resonance rate when it is
    ``ok``); return the :class:`~sessions.assessments.StoredAssessment` (``None`` without beats) and the
    one JSON object ``--json`` prints (``{"type": "assessment", ...}``)."""
    from sessions.assessments import analyse_session, save_assessment

    stored = None
    if outcome.n_beats:
        stored = save_assessment(store, outcome.session_id, analyse_session(store, outcome.session_id))
    obj: dict[str, Any] = {"type": "assessment", "session_id": outcome.session_id, "session_status": outcome.status}
    if stored is not None:
        obj.update(stored.result.to_json_dict())
    else:
        obj.update(protocol=protocol, status="repeat", resonance_rate_bpm=None, runner_up_bpm=None, rates=[],
                   reason="no_beats")
    return stored, obj


def run_assessment(args: argparse.Namespace, *, source: str) -> int:
    from biofeedback.cli.common import resolve_home
    from biofeedback.cli.run_session import SOURCES, run_live
    from sessions.store import Store

    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    home = resolve_home(args)
    speed = float(getattr(args, "speed", 1.0))
    simulated = None
    if source != "strap":
        simulated = dict(seed=args.seed, profile=args.profile, speed="max" if math.isinf(speed) else speed,
                         path=source, resonance_rate_bpm=args.resonance_rate)
    plan = assessment_plan(schedule_settings(args), rest_s=args.rest, lang=args.lang, source=source,
                           simulated=simulated)
    lang = plan.lang
    as_json = bool(getattr(args, "json", False))
    as_jsonl = bool(args.jsonl) or (not as_json and not sys.stdout.isatty())
    with Store.open_home(home) as store:
        outcome = run_live(args, plan, store, source=source, speed=speed, as_json=as_jsonl, quiet=as_json)
        stored, obj = conclude_assessment(store, outcome, args.protocol)
        where = f"session {outcome.session_id} ({outcome.status}, {outcome.n_beats} beats) stored in {store.path}"
        if as_json or as_jsonl:
            sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
            sys.stdout.flush()
            print(where, file=sys.stderr)
        else:
            print()
            if stored is not None:
                print(render_result(stored.result, lang))
            print(where)
    return 0 if outcome.status == "complete" else 1


def _num(x: float, fmt: str) -> str:
    return "-" if not math.isfinite(x) else format(x, fmt)


def rate_text(rate: float | None, lang: str) -> str:
    """A rate for people: ``5.5`` (``5,5`` in Dutch)."""
    from biofeedback.practices.texts import format_number

    if rate is None:
        return "-"
    return format_number(rate, "g", lang)


def render_result(result: Any, lang: str = "en") -> str:
    """The table per rate and the conclusion (or the advice to repeat)."""
    from biofeedback.practices.texts import fill, lookup

    head = (f"{'rate/min':>8}  {'LF peak ms²':>11}  {'LF peak Hz':>10}  {'peak-trough bpm':>15}  {'phase °':>7}  "
            f"{'coherence':>9}  {'R²':>5}  {'artifacts %':>11}  {'usable':<18}  {'score':>5}")
    lines = [f"resonance assessment ({result.protocol})", head]
    for i, r in enumerate(result.rates):
        score = result.scores[i] if i < len(result.scores) else float("nan")
        usable = "yes" if r.usable else f"no ({r.reason})"
        chosen = " <" if result.resonance_rate_bpm is not None and abs(r.rate_bpm - result.resonance_rate_bpm) < 0.13 else ""
        lines.append(
            f"{r.rate_bpm:>8g}  {_num(r.lf_peak_power_ms2, '.0f'):>11}  {_num(r.lf_peak_hz, '.3f'):>10}  "
            f"{_num(r.peak_trough_bpm, '.1f'):>15}  {_num(r.phase_deg, '.0f'):>7}  {_num(r.coherence, '.2f'):>9}  "
            f"{_num(r.smoothness, '.2f'):>5}  {_num(r.artifacts_pct, '.1f'):>11}  {usable:<18}  "
            f"{_num(score, '.2f'):>5}{chosen}"
        )
    lines.append("")
    if result.status == "ok":
        text = lookup("assess.result", lang) or ""
        lines.append(fill(text, {"rate_bpm": rate_text(result.resonance_rate_bpm, lang),
                                 "runner_up": rate_text(result.runner_up_bpm, lang)}))
    else:
        lines.append((lookup("assess.repeat", lang) or "") + f" ({result.reason})")
    return "\n".join(lines)
