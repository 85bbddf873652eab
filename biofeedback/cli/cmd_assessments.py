"""``biofeedback assessments``: your past resonance-frequency assessments."""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_home_option, resolve_home

HELP = "list your past resonance-frequency assessments and your current resonance rate"

DESCRIPTION = """\
Every resonance-frequency assessment in the store (`biofeedback assess`, `biofeedback demo --assess`),
oldest first: when, which protocol, the rate it found and the runner-up, or `repeat` when too little of
it was usable. The latest rate found is your resonance rate, used by resonance breathing unless you
give --rate. Seeing the rates side by side shows whether yours is stable over weeks.
"""

EPILOG = """\
examples:
  biofeedback assessments
  biofeedback assessments --json          one object per assessment, with the criteria per rate
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.run_assessment import rate_text
    from sessions.assessments import list_assessments, resonance_rate
    from sessions.store import Store

    store = Store.open_existing(resolve_home(args))
    rows = []
    current = None
    if store is not None:
        with store:
            rows = list_assessments(store)
            current = resonance_rate(store)
    if args.json:
        json.dump([r.to_json_dict() for r in rows], sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no assessments yet (run `biofeedback assess`, or try `biofeedback demo --assess --speed max`)")
        return 0
    print(f"{'session':<12}  {'when':<16}  {'protocol':<8}  {'rate/min':>8}  {'runner-up':>9}  {'usable':>6}  result")
    for r in rows:
        when = r.assessed_wall[:16].replace("T", " ")
        result = "ok" if r.status == "ok" else f"repeat ({r.result.reason})"
        print(f"{r.session_id:<12}  {when:<16}  {r.protocol:<8}  {rate_text(r.resonance_rate_bpm, 'en'):>8}  "
              f"{rate_text(r.runner_up_bpm, 'en'):>9}  {100 * r.result.usable_share:>5.0f}%  {result}")
    if current is not None:
        print(f"\nyour resonance rate: {rate_text(current.resonance_rate_bpm, 'en')} breaths/min "
              f"(assessment {current.session_id}, {current.assessed_wall[:10]})")
    return 0
