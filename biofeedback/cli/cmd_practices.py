"""``biofeedback practices``: list the guided practices (shipped and your own)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from biofeedback.cli.common import add_home_option, resolve_home

HELP = "list the guided practices (breathing patterns, soothing touch)"

DESCRIPTION = """\
List the practices you can use with `biofeedback session --practice NAME`: slow breathing with a
pacer (resonance, 4-7-8, box, paced) and soothing touch (hand-on-heart, hand-on-cheek, self-hug,
self-compassion). Your own practices are read from <home>/practices/*.toml and override shipped ones
with the same name (see docs/practices.md for the format).
"""

EPILOG = """\
examples:
  biofeedback practices                   the practices, in English
  biofeedback practices --lang nl         in Dutch
  biofeedback practices --json            machine-readable: name, kind, title, description, pattern...
  biofeedback practices --home ~/bf       include the practices in ~/bf/practices/
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=("en", "nl"), default="en", help="language of titles and descriptions")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.practices import SHIPPED_DIR, load_practices, practice_dirs

    problems: dict[str, Any] = {}
    practices = load_practices(practice_dirs(resolve_home(args)), problems)
    for problem in problems.values():  # a broken file of the user's is reported and skipped
        print(f"warning: skipped practice file: {problem}", file=sys.stderr)
    rows = [_row(p, args.lang, str(SHIPPED_DIR)) for p in practices.values()]
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        what = f"{r['pattern']} ({r['rate_bpm']:.3g}/min)" if r["pattern"] else ""
        if r["touch"]:
            spell = f"{r['touch']} {r['spell_s']:g} s"
            what = f"{spell} + {what}" if what else spell
        print(f"{r['name']:<{width}}  {r['title']} [{what}]")
        if r["description"]:
            print(f"{'':<{width}}  {r['description']}")
    return 0


def _row(practice: Any, lang: str, shipped_dir: str) -> dict[str, Any]:
    """One practice as plain data (the --json output)."""
    p = practice.pattern
    t = practice.touch
    return {
        "name": practice.name,
        "kind": practice.kind,
        "title": practice.title(lang),
        "description": practice.description(lang),
        "pattern": p.label if p else None,
        "rate_bpm": round(p.rate_bpm, 6) if p else None,
        "inhale_s": p.inhale_s if p else None,
        "hold_in_s": p.hold_in_s if p else None,
        "exhale_s": p.exhale_s if p else None,
        "hold_out_s": p.hold_out_s if p else None,
        "touch": t.gesture if t else None,
        "spell_s": t.spell_s if t else None,
        "rest_s": t.rest_s if t else None,
        "source": "built-in" if practice.source.startswith(shipped_dir) else practice.source,
    }
