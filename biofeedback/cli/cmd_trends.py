"""``biofeedback trends``: resting lnRMSSD day by day, its 7-day trend, and practice minutes.

Standard library only at module level (``biofeedback --help`` stays fast).
"""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_home_option, add_lang_option, resolve_lang

HELP = "day-by-day resting lnRMSSD, its 7-day mean and variation, and practice minutes"

DESCRIPTION = """\
One row per day of the last N days: the ln RMSSD of the baseline rest of that day's sessions
(the mean if several), its 7-day rolling mean and coefficient of variation (shown once at least 3
of the 7 days have a baseline), and the minutes of practice against a goal of 20 minutes a day.
Imported recordings have no phases and do not count. Days are the dates on the clock where each
session was recorded. Method and references: docs/comparison.md.
"""

EPILOG = """\
examples:
  biofeedback trends                      the last 30 days
  biofeedback trends --days 7             this week
  biofeedback trends --lang nl            in Dutch (or set BIOFEEDBACK_LANG=nl)
  biofeedback trends --json               keys: today days goal_min days_goal_met practice_min_total rows

--json rows: date n_sessions baseline_ln_rmssd n_baselines rolling_mean_7d cv_7d_pct n_days_7d
rolling_reason practice_min goal_met (null = not available; rolling_reason says why).
"""


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"--days must be between 1 and 3660, got {value}")
    return value


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", metavar="N", type=_days, default=30, help="how many days to show (default: 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    add_lang_option(parser, "of the table (--json is the same in every language)")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from datetime import date

    from biofeedback.cli.common import open_existing_store
    from biofeedback.cli.tables import render_trends
    from sessions.trends import daily_trends

    lang = resolve_lang(args)
    today = date.today()  # the CLI reads the clock; daily_trends never does
    with open_existing_store(args) as store:
        trends = daily_trends(store, args.days, today=today)
    if args.json:
        sys.stdout.write(json.dumps(trends.to_json_dict(), allow_nan=False) + "\n")
    else:
        render_trends(trends, sys.stdout, lang)
    return 0
