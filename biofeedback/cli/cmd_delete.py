"""``biofeedback delete SESSION``: delete one session and everything recorded in it."""

from __future__ import annotations

import argparse

from biofeedback.cli.common import add_home_option, add_lang_option, resolve_lang

HELP = "delete one session (its beats, phases, gaps, events) from the store"

DESCRIPTION = """\
Delete one session and everything recorded in it, in one step, and print what was deleted. It asks
no question (so scripts can use it): check the id first with `biofeedback show SESSION`, and export
what you want to keep with `biofeedback export`. SESSION is an id, a unique prefix of one, or `last`.
A session that is being recorded right now cannot be deleted.
"""

EPILOG = """\
examples:
  biofeedback show 3fa2 && biofeedback delete 3fa2
  biofeedback export last --format json --out backup.json && biofeedback delete last
  biofeedback delete last --lang nl        the confirmation in Dutch (or set BIOFEEDBACK_LANG=nl)
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    add_lang_option(parser, "of the confirmation")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.common import open_existing_store
    from biofeedback.practices.texts import say

    lang = resolve_lang(args)
    with open_existing_store(args, readonly=False) as store:
        sid = store.resolve_session(args.session)
        info = store.get_session(sid)
        deleted = store.delete_session(sid)
    print(say("delete.done", lang, id=sid, kind=info.source_kind, start=info.start_wall, beats=deleted.beats,
              phases=deleted.phases, gaps=deleted.gaps, events=deleted.events, indices=deleted.indices))
    return 0
