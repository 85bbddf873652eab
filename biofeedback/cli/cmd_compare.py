"""``biofeedback compare SESSION [SESSION_B]``: before/after within a session, or two sessions side by side.

Standard library only at module level (``biofeedback --help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_home_option, open_existing_store

HELP = "compare baseline, practice and recovery of a session, or two sessions"

DESCRIPTION = """\
With one SESSION: its baseline rest, practice and recovery rest side by side (heart rate, RMSSD,
ln RMSSD, SDNN, LF and HF power, LF/HF, coherence, relaxation index, artifacts), computed from the
stored raw beats after artifact correction, with the change from the baseline and whether it is
beyond the noise: a bootstrap 95% interval of the change over 30-120 s sub-windows of each phase
that excludes 0. A phase too short for an index shows "—" and says why.

With two sessions A and B: the same indices per phase, and B − A.

SESSION is an id, a unique prefix of one, or `last`. Method and limits: docs/comparison.md.
"""

EPILOG = """\
examples:
  biofeedback compare last                    the most recent session: before vs during vs after
  biofeedback compare 3fa2 --json             as JSON (keys: session_id phases changes method)
  biofeedback compare 3fa2 last               two sessions, phase by phase, B − A
  biofeedback compare 3fa2 9c01 --json        keys: session_a session_b phases{a b changes} method
  biofeedback compare last --details          why a value is missing or a change not judged
  biofeedback compare last --lang nl          in Dutch (default: the session's language)

--json: phases.<phase>.indices.<key> = {"value", "reason"} and changes.<phase>.<key> =
{"abs", "rel_pct", "ci95", "beyond_noise", "verdict", "reason", "n_subwindows"}; keys: mean_hr_bpm
rmssd_ms ln_rmssd sdnn_ms lf_ms2 hf_ms2 lf_hf coherence relaxation artifacts_pct (null = not
available, with the reason).
Exit status: 0 ok, 2 unknown session or no store.
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("session_b", metavar="SESSION_B", nargs="?", default=None,
                        help="a second session: compare the two side by side (B − A)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--details", action="store_true",
                        help="say why each missing value is missing and why a change is not judged "
                             "(default: one folded line)")
    parser.add_argument("--lang", choices=("en", "nl"), default=None,
                        help="language of the table (default: the session's language)")
    add_home_option(parser)



def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.tables import render_phase_comparison, render_session_comparison
    from sessions.compare import compare_phases, compare_sessions
    from sessions.stored import read_session

    with open_existing_store(args) as store:
        session_a = read_session(store, store.resolve_session(args.session))
        info = session_a.info
        lang = args.lang or session_lang(info)
        if args.session_b is None:
            comparison = compare_phases(session_a)
        else:
            pair = compare_sessions(session_a, read_session(store, store.resolve_session(args.session_b)))
    if args.session_b is None:
        if args.json:
            sys.stdout.write(json.dumps(comparison.to_json_dict(), allow_nan=False) + "\n")
        else:
            render_phase_comparison(comparison, sys.stdout, lang=lang, details=args.details,
                                    simulated=is_simulated(info))
    elif args.json:
        sys.stdout.write(json.dumps(pair.to_json_dict(), allow_nan=False) + "\n")
    else:
        render_session_comparison(pair, sys.stdout, lang=lang, details=args.details)
    return 0


def session_lang(info: object) -> str:
    """The language a session was practised in (its stored ``practice_settings.lang``), else English."""
    lang = (getattr(info, "practice_settings", None) or {}).get("lang")
    return lang if lang in ("en", "nl") else "en"


def is_simulated(info: object) -> bool:
    return bool(getattr(info, "simulated", False))
