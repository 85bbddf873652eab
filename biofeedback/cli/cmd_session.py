"""``biofeedback session``: a guided session with your own heart-rate strap."""

from __future__ import annotations

import argparse

from biofeedback.cli.common import add_ble_transport_option, parse_duration_s
from biofeedback.cli.session_common import add_output_options, add_practice_options

HELP = "a guided session with your strap: baseline rest, practice, recovery rest"

DESCRIPTION = """\
Run a guided session with a Bluetooth LE heart-rate strap (any strap with the standard Heart Rate
Service: Polar H10, Garmin HRM, Wahoo TICKR...): baseline rest, then the practice with its pacer and
prompts, then recovery rest. Every beat is recorded as the strap sent it; if the strap drops out,
the session goes on, reconnects and marks the gap. At the end you see the before/after comparison.

Keys: space sets a marker, + / - make the pacer slower / faster, q ends early (the session is
kept and compared), Ctrl-C the same. The session clock starts with the first beat.
"""

EPILOG = """\
examples:
  biofeedback session                                   the paired strap (see `biofeedback pair`)
  biofeedback session --device "Polar H10 A1B2C3D4"     a strap by name (or by address)
  biofeedback session --practice 4-7-8 --lang nl
  biofeedback session --practice self-hug --practice-time 5m
  biofeedback session --baseline 0 --practice-time 20m --recovery 0
  biofeedback session --pattern 4-0-6-0                 your own breathing pattern (seconds)
  biofeedback session --ble-transport usb:0             a USB Bluetooth dongle driven by bumble
  biofeedback session --jsonl > session.jsonl           one JSON object per beat and per event
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", metavar="NAME|ADDRESS", default=None,
                        help="the strap (default: the one remembered by `biofeedback pair`, "
                             "else the first heart-rate strap found)")
    add_ble_transport_option(parser)
    g = parser.add_argument_group("protocol (durations like 90s, 2m; 0 skips a phase)")
    g.add_argument("--baseline", type=parse_duration_s, default=180.0, metavar="DURATION",
                   help="baseline rest before the practice (default: 3m: long enough to judge coherence)")
    g.add_argument("--practice-time", type=parse_duration_s, default=600.0, metavar="DURATION",
                   help="length of the practice (default: 10m)")
    g.add_argument("--recovery", type=parse_duration_s, default=180.0, metavar="DURATION",
                   help="recovery rest after the practice (default: 3m)")
    add_practice_options(parser)
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.run_session import run_guided_session
    from biofeedback.practices import Protocol

    protocol = Protocol(baseline_s=args.baseline, practice_s=args.practice_time, recovery_s=args.recovery)
    return run_guided_session(args, protocol, source="strap")
