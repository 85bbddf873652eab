"""``biofeedback export SESSION``: write a session's beats (rr, csv) or everything (json)."""

from __future__ import annotations

import argparse
import sys

from biofeedback.cli.common import add_home_option, add_lang_option, resolve_lang

HELP = "export a session as RR intervals (Kubios), a CSV of every beat, or JSON"

DESCRIPTION = """\
Write one session to a file (--out, created private: mode 0600) or to standard output.
  rr    one RR interval in milliseconds a line, full precision (705.078125): opens in Kubios HRV
  csv   every beat: seq,t_s,arrival_s,rr_ms,rr_ticks_1024,contact,artifact,phase
  json  the whole session: metadata, phases, beats, gaps, events and the indices shown live
SESSION is an id, a unique prefix of one, or `last`.
"""

EPILOG = """\
examples:
  biofeedback export last --format rr --out last_rr.txt      for Kubios HRV
  biofeedback export 3fa2 --format csv > beats.csv
  biofeedback export last --format json --out session.json
  biofeedback export last --format rr --out rr.txt --lang nl   the confirmation in Dutch
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--format", choices=("rr", "csv", "json"), required=True, help="what to write")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="write here (mode 0600) instead of stdout; '-' is stdout. An existing file is "
                             "not overwritten unless --force; a device, pipe, directory or link is refused")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    add_lang_option(parser, "of the confirmation (the file is the same in every language)")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from biofeedback.cli.common import open_existing_store
    from biofeedback.errors import InputError
    from sessions.exporting import export_session, open_private_output

    from biofeedback.practices.texts import say

    lang = resolve_lang(args)
    with open_existing_store(args) as store:
        sid = store.resolve_session(args.session)
        if args.out is None or args.out == "-":
            export_session(store, sid, args.format, sys.stdout)
            return 0
        out = Path(args.out)
        try:
            with open_private_output(out, force=args.force) as f:
                n = export_session(store, sid, args.format, f)
        except PermissionError:
            raise InputError("permission denied", path=out) from None
    print(say("export.done", lang, n=n, id=sid, path=out, format=args.format), file=sys.stderr)
    return 0
