"""What `biofeedback session` and `biofeedback demo` share: practice options, outputs, the ending.

Standard library only at module level (imported while building ``--help``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from biofeedback.cli.common import add_home_option, parse_duration_s
from biofeedback.cli.lsl_option import add_lsl_options

FRAME_INTERVAL_S = 1 / 15  # the live screen redraws 15 times a second (the pacer needs >= 10)


def add_practice_options(parser: argparse.ArgumentParser, *, default_practice: str = "resonance") -> None:
    g = parser.add_argument_group("practice")
    g.add_argument("--practice", metavar="NAME", default=default_practice,
                   help=f"the practice (default: {default_practice}; see `biofeedback practices`)")
    g.add_argument("--pattern", metavar="IN-HOLD-OUT-HOLD",
                   help="custom breathing pattern in seconds, e.g. 4-0-6-0 (overrides the practice's pacer)")
    g.add_argument("--rate", metavar="BREATHS_PER_MIN", type=float,
                   help="custom breathing rate, e.g. 5.5 (inhale 40%% of each breath unless --ratio)")
    g.add_argument("--ratio", metavar="IN:OUT", help="inhale:exhale ratio with --rate, e.g. 40:60 or 1:1.5")
    g.add_argument("--spell", metavar="DURATION", type=parse_duration_s,
                   help="length of each soothing-touch spell (default 20s)")
    g.add_argument("--lang", choices=("en", "nl"), default="en", help="language of the prompts (default: en)")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jsonl", action="store_true",
                        help="print one JSON object per beat and per event instead of the live screen "
                             "(the default when standard output is not a terminal)")
    add_home_option(parser)
    add_lsl_options(parser)


def build_practice(args: argparse.Namespace, home: Any) -> tuple[Any, dict[str, Any]]:
    """The practice with --pattern/--rate/--ratio/--spell applied, and those settings as data."""
    from biofeedback.practices import customize, get_practice, parse_pattern, parse_ratio, practice_dirs

    problems: dict[str, Any] = {}
    practice = get_practice(args.practice, practice_dirs(home), problems)  # a broken file of another practice
    for problem in problems.values():                                      # is reported and skipped
        print(f"warning: skipped practice file: {problem}", file=sys.stderr)
    settings: dict[str, Any] = {}
    pattern = parse_pattern(args.pattern) if args.pattern else None
    ratio = parse_ratio(args.ratio) if args.ratio else None
    if args.pattern:
        settings["pattern"] = args.pattern
    if args.rate is not None:
        settings["rate_bpm"] = args.rate
    if args.ratio:
        settings["ratio"] = args.ratio
    if args.spell is not None:
        settings["spell_s"] = args.spell
    rate = args.rate
    assessed = None
    if practice.name == RESONANCE_PRACTICE and args.pattern is None and rate is None:
        assessed = stored_resonance_rate(home)
        if assessed is not None:
            rate = assessed.resonance_rate_bpm
            settings.update(rate_bpm=rate, rate_source="assessment", assessment_session=assessed.session_id)
    practice = customize(practice, pattern=pattern, rate_bpm=rate, inhale_fraction=ratio, spell_s=args.spell)
    if practice.pattern is not None:
        settings.setdefault("pattern", practice.pattern.label)
        if practice.name == RESONANCE_PRACTICE:
            settings["rate_note"] = rate_note(practice.pattern.rate_bpm, getattr(args, "lang", "en"),
                                              "assessment" if assessed is not None
                                              else "given" if args.rate is not None or args.pattern else "default",
                                              None if assessed is None else assessed.assessed_wall[:10])
    return practice, settings


#: The practice that paces at the user's resonance rate once an assessment found it.
RESONANCE_PRACTICE = "resonance"


def stored_resonance_rate(home: Any) -> Any:
    """The latest successful assessment in the store at ``home`` (``None``: no store or none yet)."""
    from sessions.assessments import resonance_rate
    from sessions.store import Store

    store = Store.open_existing(home)
    if store is None:
        return None
    with store:
        return resonance_rate(store)


def rate_note(rate_bpm: float, lang: str, source: str, date: str | None = None) -> str:
    """Which pacer rate and where it came from, for the live screen: ``source`` is ``assessment``,
    ``given`` (--rate / --pattern) or ``default`` (the practice's own)."""
    from biofeedback.practices.texts import fill, format_number, lookup

    key = {"assessment": "assess.rate_from", "given": "assess.rate_given"}.get(source, "assess.rate_default")
    rate = format_number(round(rate_bpm, 2), "g", lang)
    return fill(lookup(key, lang) or key, {"rate_bpm": rate, "date": date or ""})


def wants_jsonl(args: argparse.Namespace) -> bool:
    return bool(args.jsonl) or not sys.stdout.isatty()


def print_ending(store: Any, outcome: Any, *, as_json: bool, lang: str = "en", simulated: bool = False) -> None:
    """After a session: the before/after comparison and where the session is stored.

    In JSON-lines mode both go to standard output as objects (``{"type": "comparison", ...}``,
    ``{"type": "stored", ...}``) after the beat and event lines, and a one-line summary to stderr;
    otherwise the comparison table and the location are printed for people.
    """
    import json

    from biofeedback.cli.tables import render_phase_comparison
    from sessions.compare import compare_phases
    from sessions.stored import read_session

    comparison = compare_phases(read_session(store, outcome.session_id)) if outcome.n_beats else None
    from biofeedback.practices.texts import shipped_texts

    texts = shipped_texts(lang)
    status = texts.get(f"end.{outcome.status}", outcome.status)
    reason = texts.get(f"end.reason.{outcome.end_reason}", outcome.end_reason)
    if outcome.n_beats:
        where = texts["end.stored"].format(id=outcome.session_id, status=f"{status}, {reason}",
                                           n=outcome.n_beats, path=store.path)
    else:
        where = texts["end.nothing_kept"].format(reason=reason, path=store.path)
    if as_json:
        if comparison is not None:
            sys.stdout.write(json.dumps({"type": "comparison", **comparison.to_json_dict()}, allow_nan=False) + "\n")
        sys.stdout.write(json.dumps({"type": "stored", "session_id": outcome.session_id if outcome.n_beats else None,
                                     "status": outcome.status, "end_reason": outcome.end_reason,
                                     "n_beats": outcome.n_beats, "store": str(store.path)}) + "\n")
        sys.stdout.flush()
        print(where, file=sys.stderr)
        return
    if comparison is not None:
        print()
        render_phase_comparison(comparison, sys.stdout, lang=lang, simulated=simulated)
    print(where)
