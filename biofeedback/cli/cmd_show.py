"""``biofeedback show SESSION``: one session's details."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from biofeedback.cli.common import add_home_option, add_lang_option, open_existing_store, resolve_lang

HELP = "show one session: times, device, practice, phases, gaps and events"

DESCRIPTION = """\
Show what is stored about one session: when and how it was recorded (device, practice, engine
settings, software version), its phases, its gaps and a count of its events. SESSION is an id, a
unique prefix of one, or `last`. The beats themselves are exported with `biofeedback export`.
"""

EPILOG = """\
examples:
  biofeedback show last                   the most recent session
  biofeedback show 3fa2                   the session whose id starts with 3fa2
  biofeedback show last --json            everything but the beats, as JSON
  biofeedback show last --lang nl         in Dutch (or set BIOFEEDBACK_LANG=nl)
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_lang_option(parser, "of the text (--json is the same in every language)")
    add_home_option(parser)



def run(args: argparse.Namespace) -> int:
    with open_existing_store(args) as store:
        sid = store.resolve_session(args.session)
        info = store.get_session(sid)
        phases = store.phases(sid)
        gaps = store.gaps(sid)
        events = store.events(sid)
        n_indices = store.count_beat_indices(sid)
    if args.json:
        doc = {
            "session": info.to_json_dict(),
            "phases": [{"name": p.name, "start_s": p.start_s, "end_s": p.end_s} for p in phases],
            "gaps": [{"next_seq": g.next_seq, "start_s": g.gap.start_s, "end_s": g.gap.end_s, "reason": g.gap.reason}
                     for g in gaps],
            "events": [{"next_seq": e.next_seq, "t_s": e.t_s, "kind": e.kind, "data": e.data} for e in events],
            "n_live_indices": n_indices,
        }
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    _print_text(info, phases, gaps, events, n_indices, resolve_lang(args))
    return 0


def _print_text(info, phases, gaps, events, n_indices: int, lang: str) -> None:  # type: ignore[no-untyped-def]
    """The session as labelled lines in ``lang`` (labels in a column as wide as the longest)."""
    from biofeedback.cli.cmd_sessions import describe, end_reason_text, format_duration, status_text
    from biofeedback.practices.texts import format_number, lookup, say

    keys = ("session", "what", "start", "end", "beats", "device", "practice", "protocol", "imported", "software",
            "phases", "gaps", "events")
    label = {k: say(f"show.{k}", lang) for k in keys}
    width = max(len(v) for v in label.values()) + 2

    def line(key: str, text: str) -> None:
        print(f"{label[key]:<{width}}{text}".rstrip())

    def num(x: float) -> str:
        return format_number(x, ".1f", lang)

    line("session", f"{info.id}  ({status_text(info.status, lang)})")
    line("what", f"{describe(info, lang)}  [{info.source_kind}]")
    line("start", info.start_wall)
    line("end", f"{info.end_wall or '-'}" + (f"  ({end_reason_text(info.end_reason, lang, long=True)})"
                                              if info.end_reason else ""))
    line("beats", say("show.beats_line", lang, n=info.n_beats, duration=format_duration(info.duration_s),
                      n_live=n_indices))
    if info.device_address or info.device_kind:
        line("device", f"{info.device_name or '-'}  {info.device_address or ''}  ({info.device_kind or '-'})")
    if info.practice:
        line("practice", f"{info.practice}  {json.dumps(info.practice_settings)}")
    if info.protocol:
        line("protocol", json.dumps(info.protocol))
    if info.import_path:
        line("imported", say("show.imported_line", lang, path=info.import_path, format=info.import_format,
                             sha256=info.import_sha256))
    line("software", f"biofeedback {info.software_version}")
    none = say("show.none", lang)
    if phases:
        print(label["phases"])
        for p in phases:
            name = lookup(f"compare.phase.{p.name}", lang) or p.name
            end = "-" if p.end_s is None else num(p.end_s)
            print(f"  {name:<10} {num(p.start_s):>8} s .. {end} s")
    else:
        line("phases", none)
    if gaps:
        line("gaps", say("show.gaps_line", lang, n=len(gaps), seconds=num(sum(g.gap.duration_s for g in gaps))))
        for g in gaps[:10]:
            reason = lookup(f"show.gap.{g.gap.reason}", lang) or g.gap.reason
            print(f"  {num(g.gap.start_s):>8} s .. {num(g.gap.end_s)} s  {reason}")
        if len(gaps) > 10:
            print("  " + say("show.more", lang, n=len(gaps) - 10))
    counts = Counter(e.kind for e in events)
    line("events", ", ".join(f"{lookup(f'show.event.{k}', lang) or k} {n}" for k, n in sorted(counts.items()))
         or none)
