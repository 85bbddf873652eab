"""``biofeedback assess``: find your resonance breathing rate with your strap."""

from __future__ import annotations

import argparse

from biofeedback.cli.common import add_ble_transport_option, add_home_option
from biofeedback.cli.run_assessment import add_assessment_options

HELP = "find your resonance breathing rate (stepped or sliding assessment) with your strap"

DESCRIPTION = """\
A guided resonance-frequency assessment with your Bluetooth LE heart-rate strap: a minute of rest,
then breathing with a pacer whose rate changes, while every beat is recorded (the same live screen and
recorder as `biofeedback session`: reconnects, markers, q and crash safety all hold).

  stepped (default)  2 minutes at each of 6.5, 6, 5.5, 5 and 4.5 breaths/min, inhale:exhale 4:6;
                     the first 20 s after each change settle and are not analysed.
  sliding            the breath slows smoothly from 6.75 to 4.25 breaths/min over about 15 minutes,
                     changing only between breaths, inhale 50 % (Fisher & Lehrer 2022).

At the end you see, per rate, the LF peak power and frequency, the heart-rate peak-to-trough per
breath, the phase between heart rate and the pacer, the smoothness of the heart-rate wave and
coherence, and the rate they point to, with the runner-up. That rate is stored as your resonance rate:
resonance breathing (`biofeedback session`, `biofeedback demo`) then paces at it unless you give
--rate. When too little of the assessment was usable (a loose strap, many extra beats) you are asked
to repeat it instead. The criteria and the decision rule: docs/resonance.md.

Keys: space sets a marker, q ends early (what was recorded is kept and analysed), Ctrl-C the same.
"""

EPILOG = """\
examples:
  biofeedback assess                              the stepped protocol with the paired strap
  biofeedback assess --protocol sliding --lang nl
  biofeedback assess --rates 7,6.5,6,5.5,5 --step 3m
  biofeedback assess --jsonl > assess.jsonl       one JSON object per beat and event, the result last
  biofeedback assessments                         your past results
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", metavar="NAME|ADDRESS", default=None,
                        help="the strap (default: the one remembered by `biofeedback pair`, "
                             "else the first heart-rate strap found)")
    add_ble_transport_option(parser)
    add_assessment_options(parser)
    parser.add_argument("--jsonl", action="store_true",
                        help="print one JSON object per beat and per event instead of the live screen, and "
                             "the result as the last line (the default when standard output is not a terminal)")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.run_assessment import run_assessment

    return run_assessment(args, source="strap")
