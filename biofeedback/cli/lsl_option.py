"""``--lsl``: publish a session to Lab Streaming Layer; one option for every command that runs one.

``session``, ``demo`` (through :func:`~biofeedback.cli.session_common.add_output_options`) and
``replay`` take it; a new command adds it with :func:`add_lsl_options` and gets its sink with
:func:`lsl_publisher` (pass it among the sinks, and its ``start`` as ``on_started``).
Standard library only at module level (``--help`` stays fast).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from biofeedback.cli.common import parse_duration_s

if TYPE_CHECKING:
    from sessions.lsl import LslPublisher


def add_lsl_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("Lab Streaming Layer (pip install 'biofeedback[lsl]')")
    g.add_argument("--lsl", action="store_true",
                   help="publish LSL streams while the session runs: RR (rr_ms per beat), HRV (the per-beat "
                        "indices) and Markers (phases, prompts, markers, gaps); source_id = the session id; "
                        "discovered on this machine only unless LSLAPICFG names your lab's lsl_api.cfg")
    g.add_argument("--lsl-wait", metavar="DUR", type=parse_duration_s, default=0.0,
                   help="with --lsl: before the session starts, wait up to DUR (e.g. 30s) for a consumer such "
                        "as LabRecorder on each stream (default: do not wait)")


def lsl_publisher(args: argparse.Namespace) -> LslPublisher | None:
    """The LSL sink when ``--lsl`` was given (exit 2 saying how to install pylsl when it is missing)."""
    if not getattr(args, "lsl", False):
        return None
    from sessions.lsl import LslPublisher, load_pylsl

    return LslPublisher(load_pylsl(), wait_s=args.lsl_wait)
