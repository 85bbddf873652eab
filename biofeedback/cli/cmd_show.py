"""``biofeedback show SESSION``: one session's details."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from biofeedback.cli.common import add_home_option, open_existing_store

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
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_home_option(parser)



#: How ``show`` words a session's end reason.
END_REASON_TEXT = {
    "finished": "finished: the protocol ran to its end",
    "quit": "quit: ended early with q",
    "interrupted": "interrupted: ended early with Ctrl-C or a signal",
    "source_ended": "source ended: the strap or source stopped sending",
}


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.cmd_sessions import describe, format_duration

    with open_existing_store(args) as store:
        sid = store.resolve_session(args.session)
        info = store.get_session(sid)
        phases = store.phases(sid)
        gaps = store.gaps(sid)
        events = store.events(sid)
        n_indices = store.conn.execute("SELECT count(*) FROM beat_indices WHERE session_id = ?", (sid,)).fetchone()[0]
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
    print(f"session   {info.id}  ({info.status})")
    print(f"what      {describe(info)}  [{info.source_kind}]")
    print(f"start     {info.start_wall}")
    print(f"end       {info.end_wall or '-'}" + (f"  ({END_REASON_TEXT.get(info.end_reason, info.end_reason)})"
                                                   if info.end_reason else ""))
    print(f"beats     {info.n_beats}  over {format_duration(info.duration_s)}  ({n_indices} with live indices)")
    if info.device_address or info.device_kind:
        print(f"device    {info.device_name or '-'}  {info.device_address or ''}  ({info.device_kind or '-'})")
    if info.practice:
        print(f"practice  {info.practice}  {json.dumps(info.practice_settings)}")
    if info.protocol:
        print(f"protocol  {json.dumps(info.protocol)}")
    if info.import_path:
        print(f"imported  {info.import_path}  format {info.import_format}  sha256 {info.import_sha256}")
    print(f"software  biofeedback {info.software_version}")
    if phases:
        print("phases")
        for p in phases:
            end = "-" if p.end_s is None else f"{p.end_s:.1f}"
            print(f"  {p.name:<10} {p.start_s:8.1f} s .. {end} s")
    else:
        print("phases    none")
    if gaps:
        print(f"gaps      {len(gaps)}, {sum(g.gap.duration_s for g in gaps):.1f} s in all")
        for g in gaps[:10]:
            print(f"  {g.gap.start_s:8.1f} s .. {g.gap.end_s:.1f} s  {g.gap.reason}")
        if len(gaps) > 10:
            print(f"  ... {len(gaps) - 10} more (see --json)")
    counts = Counter(e.kind for e in events)
    print("events    " + (", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"))
    return 0
