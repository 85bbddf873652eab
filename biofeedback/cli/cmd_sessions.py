"""``biofeedback sessions``: list the recorded and imported sessions."""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_home_option, resolve_home

HELP = "list recorded and imported sessions"

DESCRIPTION = """\
List every session in the store, oldest first: its id (type any unique prefix of it, or `last`, where
a command asks for SESSION), start time, length, number of beats, status and what it was
(practice and strap, or the imported file). Status is `complete`, `recording` (in progress) or
`incomplete` (the recording stopped early, e.g. the program was killed; what was recorded is kept).
"""

EPILOG = """\
examples:
  biofeedback sessions                    the table
  biofeedback sessions --json             machine-readable, one object per session
  biofeedback sessions --home ~/study1    the sessions stored in ~/study1
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_home_option(parser)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def describe(info: object) -> str:
    """What the session was, in a few words."""
    kind = getattr(info, "source_kind")
    if kind == "import":
        return f"import {getattr(info, 'import_format')}: {getattr(info, 'device_name')}"
    parts = [getattr(info, "practice") or "", getattr(info, "device_name") or kind]
    what = " on ".join(p for p in parts if p)
    return f"[simulated] {what}" if getattr(info, "simulated", False) else what


def run(args: argparse.Namespace) -> int:
    from sessions.store import Store

    store = Store.open_existing(resolve_home(args), readonly=True)
    infos = []
    if store is not None:
        with store:
            infos = store.list_sessions()
    if args.json:
        json.dump([i.to_json_dict() for i in infos], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if not infos:
        print("no sessions yet (record one with `biofeedback demo` or `biofeedback import FILE`)")
        return 0
    print(f"{'id':<12}  {'start':<16}  {'length':>8}  {'beats':>7}  {'status':<10}  {'ended':<12}  what")
    for i in infos:
        start = i.start_wall[:16].replace("T", " ")
        print(
            f"{i.id:<12}  {start:<16}  {format_duration(i.duration_s):>8}  {i.n_beats:>7}  {i.status:<10}  {i.end_reason or '-':<12}  {describe(i)}"
        )
    return 0
