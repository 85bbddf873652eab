"""The ``biofeedback`` console script: a thin dispatcher over one module per command.

Each command lives in ``biofeedback/cli/cmd_<name>.py`` and exposes

- ``HELP``: a one-line summary shown in ``biofeedback --help``;
- ``register(parser)``: add the command's arguments (and an epilog with examples);
- ``run(args) -> int``: do the work, return the exit status.

Command modules import only the standard library at module level, so ``biofeedback --help`` stays
fast; heavy libraries (numpy, scipy, bleak, matplotlib...) are imported inside ``run``.
Errors: a :class:`~biofeedback.errors.BiofeedbackError` is printed as one line on stderr and the
process exits with its status (2 bad input, 1 failure); argparse usage errors exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Mapping
from typing import NoReturn

# One BLAS/OpenMP thread for the whole command, set before numpy is first imported (a user's own
# setting wins). The analyses are sequential (a cohort runs recordings in processes, like Dask's
# workers, which set the same), OpenBLAS's idle helper threads spin on the other core (--jobs 1 of
# the cohort benchmark: 9.0 -> 6.6 s CPU, 8.0 -> 6.6 s wall), and a threaded dot product over long
# arrays can round differently with another core count: one thread gives the same bits everywhere.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# name -> module; the order is the order in --help.
COMMANDS: dict[str, str] = {
    "demo": "biofeedback.cli.cmd_demo",
    "session": "biofeedback.cli.cmd_session",
    "assess": "biofeedback.cli.cmd_assess",
    "analyze": "biofeedback.cli.cmd_analyze",
    "scan": "biofeedback.cli.cmd_scan",
    "pair": "biofeedback.cli.cmd_pair",
    "devices": "biofeedback.cli.cmd_devices",
    "sessions": "biofeedback.cli.cmd_sessions",
    "assessments": "biofeedback.cli.cmd_assessments",
    "show": "biofeedback.cli.cmd_show",
    "delete": "biofeedback.cli.cmd_delete",
    "compare": "biofeedback.cli.cmd_compare",
    "trends": "biofeedback.cli.cmd_trends",
    "replay": "biofeedback.cli.cmd_replay",
    "import": "biofeedback.cli.cmd_import",
    "export": "biofeedback.cli.cmd_export",
    "report": "biofeedback.cli.cmd_report",
    "practices": "biofeedback.cli.cmd_practices",
    "app": "biofeedback.cli.cmd_app",
}

DESCRIPTION = """\
Heart-rate-variability biofeedback: watch your body settle while you practise slow breathing or
soothing touch. Works with any Bluetooth LE chest strap that has the standard Heart Rate Service
(Polar H10, Garmin HRM, Wahoo TICKR...), or with the built-in simulator.
"""

EPILOG = """\
examples:
  biofeedback demo                       a 3-minute guided session on the simulator
  biofeedback demo --speed max           the same, as fast as possible
  biofeedback app --demo                 the same in your browser (local only)
  biofeedback scan                       find heart-rate straps in range
  biofeedback session --practice resonance --lang nl
  biofeedback analyze recording.txt --json
  biofeedback compare last

Your recordings stay on this machine (see --home); files are created private (0600).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, naming the command, exit status 2.
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(commands: Mapping[str, str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser of every command in ``commands`` (name -> module). A command module that fails to
    import is a bug of the installation: its error is raised, never a command silently missing."""
    from biofeedback import __version__

    parser = _Parser(
        prog="biofeedback",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"biofeedback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module_name in commands.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.register(p)
        p.set_defaults(_run=module.run)
    return parser


def _exit_at_once(status: int) -> NoReturn:
    """End the process without the interpreter's teardown, which takes 0.2-0.4 s once numba is
    loaded (freeing its ~100 000 objects module by module). Only for a command run as a program
    (``argv`` None) that sets ``args.exit_at_once``: it holds nothing that needs closing (no store,
    no open file, no worker). Its output is flushed first."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # e.g. a closed pipe: nothing more can be written anyway
            pass
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    from biofeedback.errors import BiofeedbackError

    given = sys.argv[1:] if argv is None else argv
    # `biofeedback CMD ...` parses with CMD's parser alone (the others' modules and options cost
    # ~25 ms of every start-up); anything else (--help, --version, no or an unknown command) with all
    parser = build_parser({given[0]: COMMANDS[given[0]]} if given and given[0] in COMMANDS else COMMANDS)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    args.own_process = argv is None  # run as the program, not called by another (e.g. a test)
    try:
        status = int(args._run(args) or 0)
        if argv is None and getattr(args, "exit_at_once", False):
            _exit_at_once(status)
        return status
    except BiofeedbackError as exc:
        print(f"biofeedback {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"biofeedback {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # e.g. `biofeedback analyze x --per-beat --jsonl | head`: not an error.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # a bug: still one line, unless the user asks for the traceback
        if os.environ.get("BIOFEEDBACK_DEBUG"):
            traceback.print_exc()
        print(
            f"biofeedback {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set BIOFEEDBACK_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
