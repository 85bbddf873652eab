"""``biofeedback report SESSION --out FILE``: one figure (PNG) or page (HTML) of a stored session.

Standard library only at module level (``biofeedback --help`` stays fast); numpy, matplotlib and the
HRV core are imported inside the functions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from biofeedback.cli.common import add_home_option, progress_bar

HELP = "draw a session report: tachogram, trends, spectra, Poincaré plot (PNG or HTML)"

DESCRIPTION = """\
Draw a report of a stored session: the RR tachogram with the phases, artifacts and events, the
rolling RMSSD and coherence shown live (recomputed from the raw beats for an imported session),
the power spectrum of each phase, the Poincaré plot, and (HTML) the before/after comparison table.
FILE ends in .png (the figure, 1200 x 1100 pixels) or .html (a self-contained page: the figure
embedded, nothing loaded from the network). The file is created private (mode 0600). The figure
is drawn by a second, local Python process started at once, while the session is read and
compared (another core's work; if it fails, the figure is drawn in this process).
"""

EPILOG = """\
examples:
  biofeedback report last --out session.html       page with the figure and the comparison table
  biofeedback report 3fa2 --out 3fa2.png           the figure only
  biofeedback report last --out - --format png > r.png   to standard output
An existing file is not overwritten unless --force; a target that is not a regular file (a device,
a pipe, a directory, a symbolic link) is refused.
Exit status: 0 ok, 2 unknown session, unknown extension, missing directory, existing or odd target.
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="an id, a unique prefix of one, or 'last'")
    parser.add_argument("--out", metavar="FILE", required=True,
                        help="the report file: FILE.png or FILE.html; '-' writes to standard output")
    parser.add_argument("--format", choices=("png", "html"), default=None,
                        help="png or html (default: from the --out suffix; html for --out -)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--lang", choices=("en", "nl"), default=None,
                        help="language of the report (default: the session's language)")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.common import open_existing_store
    from biofeedback.errors import InputError

    from sessions.exporting import check_output_target

    to_stdout = args.out == "-"
    out = Path(args.out).expanduser()
    if not to_stdout:
        if out.suffix.lower() not in (".png", ".html", ".htm"):
            raise InputError("the report must be a .png or .html file", path=out)
        if not out.parent.is_dir():
            raise InputError("directory does not exist", path=out.parent)
        check_output_target(out, force=args.force)  # before the work, and again before the rename
    with open_existing_store(args) as store:
        sid = store.resolve_session(args.session)
        info = store.get_session(sid)
        if not info.n_beats:
            raise InputError(f"session {sid} has no beats: nothing to draw")
        from biofeedback.cli.cmd_compare import session_lang

        lang = args.lang or session_lang(info)
        from sessions.report_worker import FigureWorker

        # a helper process imports matplotlib while the session is read and draws the panels while
        # the phases are compared; the figure is the same as drawn here (sessions/report_worker.py)
        worker = FigureWorker.start()
        try:
            with progress_bar(info.n_beats, "report") as progress:
                from sessions.report import render_report, report_bytes
                from sessions.report_data import report_data

                data = report_data(store, sid, lang, progress, None if worker is None else worker.send_draft)
                if progress is not None:
                    progress(info.n_beats, info.n_beats)
                draw = report_bytes if worker is None else worker.report_bytes
                if to_stdout:
                    content = draw(data, args.format or "html")
                else:
                    path = render_report(data, out, force=args.force, draw=draw)
        finally:
            if worker is not None:
                worker.close()
    from biofeedback.practices.texts import shipped_texts

    T = shipped_texts(lang)
    if to_stdout:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        print(T["end.report_stdout"].format(id=sid), file=sys.stderr)
        return 0
    print(T["end.report"].format(id=sid, path=path), file=sys.stderr)
    return 0

