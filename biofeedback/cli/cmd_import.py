"""``biofeedback import FILE``: store an RR file from another app as a session."""

from __future__ import annotations

import argparse
import sys

from biofeedback.cli.common import add_home_option, add_lang_option, require_file, resolve_home, resolve_lang

HELP = "import an RR file (Kubios, Polar Sensor Logger, HRV Logger, Elite HRV, CSV, plain) as a session"

from biofeedback.cli.common import FORMAT_NAMES  # noqa: E402

DESCRIPTION = """\
Read RR intervals from a file and store them as a new session (source "import"), so that `show`,
`export`, `analyze` and `replay` work on it like on a recorded one. The format is detected from the
file's first lines and printed; choose it with --format when detection is not what you want.
Every bad line is reported as FILE:LINE: problem, and then nothing is stored.
Importing the same file (same sha256) twice is refused, naming the existing session; --force
imports it again. An imported session has no phases (baseline/practice/recovery).
"""

EPILOG = """\
formats:
  plain                one interval a line, ms or s (--units to say which)
  csv                  a CSV column of intervals (--column NAME, else a column named rr/ibi/...)
  kubios               Kubios HRV RR series export (# SIGNAL/SERIES EXPORT) or results report
  polar-sensor-logger  Polar Sensor Logger *_RR.txt (Phone timestamp;RR-interval [ms])
  hrv-logger           HRV Logger *_RR.csv (date,rr,since start)
  elite-hrv            Elite HRV export (ms one a line, or comma separated)
  time-rr              header-less "arrival time, interval" lines (BLE strap loggers)

examples:
  biofeedback import night.txt                          detect the format
  biofeedback import rr.txt --units s                   a plain file in seconds
  biofeedback import data.csv --format csv --column IBI
  biofeedback import Polar_H10_20260301_RR.txt --force  import again although imported before
  biofeedback import night.txt --lang nl                what it prints, in Dutch (or BIOFEEDBACK_LANG=nl)
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the RR file")
    parser.add_argument("--format", choices=FORMAT_NAMES, default=None, help="the file's format (default: detect)")
    parser.add_argument("--units", choices=("ms", "s"), default=None, help="unit of plain/csv values (default: infer)")
    parser.add_argument("--column", metavar="NAME", default=None, help="csv: the column with the intervals")
    parser.add_argument("--skip-lines", type=int, metavar="N", default=None, help="plain: ignore the first N lines")
    parser.add_argument("--force", action="store_true", help="import even if this file was imported before")
    add_lang_option(parser)
    add_home_option(parser)


class _Bar:
    """A one-line progress bar on stderr (only used when stderr is a terminal, for files of at least
    ``min_beats`` beats)."""

    def __init__(self, label: str = "importing", min_beats: int = 20_000) -> None:
        self.shown = -1
        self.label = label
        self.min_beats = min_beats

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_beats:
            return
        pct = 100 * done // max(total, 1)
        if pct != self.shown:
            self.shown = pct
            filled = pct * 30 // 100
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}% ({done}/{total} beats)")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from collections.abc import Sequence

    from sessions.importing import import_file
    from sessions.store import Store

    from biofeedback.practices.texts import say, translate

    lang = resolve_lang(args)
    path = require_file(args.file)

    def show(notes: Sequence[str]) -> None:
        for note in notes:
            print(say("cli.note", lang, note=translate(note, lang, "reader")), file=sys.stderr)

    progress = _Bar(say("import.progress", lang)) if sys.stderr.isatty() else None
    with Store.open_home(resolve_home(args)) as store:
        result = import_file(store, path, args.format, units=args.units, column=args.column,
                             skip_lines=args.skip_lines, force=args.force, progress=progress, on_notes=show)
    print(say("import.done", lang, n=result.n_beats, format=result.format, id=result.session_id))
    return 0
