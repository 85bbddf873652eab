"""``biofeedback sessions``: list the recorded and imported sessions."""

from __future__ import annotations

import argparse
import json
import sys

from biofeedback.cli.common import add_home_option, add_lang_option, resolve_home, resolve_lang

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
  biofeedback sessions --lang nl          in Dutch (or set BIOFEEDBACK_LANG=nl)
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_lang_option(parser, "of the table (--json is the same in every language)")
    add_home_option(parser)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def describe(info: object, lang: str = "en") -> str:
    """What the session was, in a few words, in ``lang``."""
    from biofeedback.practices.texts import say

    kind = getattr(info, "source_kind")
    if kind == "import":
        return say("sessions.imported", lang, format=getattr(info, "import_format"), name=getattr(info, "device_name"))
    practice, device = getattr(info, "practice") or "", getattr(info, "device_name") or kind
    what = say("sessions.on", lang, practice=practice, device=device) if practice and device else practice or device
    return say("sessions.simulated", lang, what=what) if getattr(info, "simulated", False) else what


def status_text(status: str, lang: str = "en") -> str:
    """A session's status (complete, recording, incomplete) in ``lang``."""
    from biofeedback.practices.texts import lookup

    return lookup(f"end.state.{status}", lang) or status


def end_reason_text(reason: str | None, lang: str = "en", *, long: bool = False) -> str:
    """How a session ended (finished, quit, interrupted, source_ended) in ``lang``: a word or two, or
    (``long``) with what it means; "-" when not known."""
    from biofeedback.practices.texts import lookup

    if not reason:
        return "-"
    return lookup(f"end.{'why' if long else 'short'}.{reason}", lang) or reason


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
    from biofeedback.practices.texts import say

    lang = resolve_lang(args)
    if not infos:
        print(say("sessions.none", lang))
        return 0
    h = {k: say(f"sessions.{k}", lang) for k in ("id", "start", "length", "beats", "status", "ended", "what")}
    rows = [(i, status_text(i.status, lang), end_reason_text(i.end_reason, lang)) for i in infos]
    w_status = max(10, len(h["status"]), *(len(st) for _, st, _ in rows))
    w_ended = max(12, len(h["ended"]), *(len(en) for _, _, en in rows))
    print(f"{h['id']:<12}  {h['start']:<16}  {h['length']:>8}  {h['beats']:>7}  {h['status']:<{w_status}}  "
          f"{h['ended']:<{w_ended}}  {h['what']}")
    for i, st, en in rows:
        start = i.start_wall[:16].replace("T", " ")
        print(f"{i.id:<12}  {start:<16}  {format_duration(i.duration_s):>8}  {i.n_beats:>7}  {st:<{w_status}}  "
              f"{en:<{w_ended}}  {describe(i, lang)}")
    return 0
