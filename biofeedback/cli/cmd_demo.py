"""``biofeedback demo``: a complete guided session on the simulator, no hardware, no set-up."""

from __future__ import annotations

import argparse

from biofeedback.cli.common import parse_speed
from biofeedback.cli.run_assessment import PROTOCOL_CHOICES
from biofeedback.cli.session_common import add_output_options, add_practice_options


def parse_minutes(text: str) -> float:
    """``--minutes N``: a plain number of minutes (its name is its unit); ``5m`` is accepted too."""
    t = text.strip()
    if t.endswith("m") or t.endswith("min"):
        t = t.removesuffix("min").removesuffix("m")
    try:
        value = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r} (e.g. 5 or 2.5)") from None
    if not 0 < value <= 24 * 60:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"minutes must be > 0 and at most 1440, got {text!r}")
    return value


HELP = "a complete guided session on the simulator (no strap needed)"

DESCRIPTION = """\
Run a complete guided session on the built-in simulator: baseline rest, practice, recovery rest.
The simulated person follows the pacer and relaxes during the practice (RMSSD and coherence rise,
heart rate settles), like a real person does over a few minutes. The session is recorded in your
store marked "simulated" (shown in `sessions`, left out of `trends`) and ends with the before/after
answer: mean heart rate, RMSSD and coherence judged baseline -> practice against the noise.

Keys: space sets a marker, + / - make the pacer slower / faster, q ends early (the session is
kept and compared), Ctrl-C the same. The session clock starts with the first beat.
"""

EPILOG = """\
examples:
  biofeedback demo                          5 minutes at real time: 2:15 rest, 2:15 practice, 0:30 rest
  biofeedback demo --speed max              the same session, computed as fast as possible
  biofeedback demo --speed 10 --minutes 10  10 simulated minutes in 1 real minute
  biofeedback demo --practice 4-7-8 --lang nl
  biofeedback demo --practice self-hug --spell 20s
  biofeedback demo --ble                    the same demo through a virtual strap and the full BLE path
  biofeedback demo --speed max --jsonl      one JSON object per beat and per event, for scripts
  biofeedback demo --assess --speed max     a resonance assessment of a person resonating at 5.5/min
  biofeedback demo --assess --protocol sliding --resonance-rate 4.8 --speed max --json
"""

DEFAULT_MINUTES = 5.0
#: How ``--minutes`` is split: baseline and practice long enough (>= 128 s at the default 5 min) for
#: three half-overlapping 64 s coherence windows each, so the comparison judges mean HR, RMSSD and
#: coherence baseline -> practice (docs/comparison.md); a short recovery rest closes the session.
DEMO_SPLIT = (0.45, 0.45, 0.10)


def demo_protocol(minutes: float):  # type: ignore[no-untyped-def]
    """The demo's protocol for a session of ``minutes`` (split by :data:`DEMO_SPLIT`)."""
    from biofeedback.practices import Protocol

    total_s = minutes * 60.0
    b, p, r = DEMO_SPLIT
    return Protocol(baseline_s=total_s * b, practice_s=total_s * p, recovery_s=total_s * r)


#: The simulated person's resonance rate with --assess, breaths/min (a typical adult's, Vaschillo et al. 2006).
DEFAULT_RESONANCE_BPM = 5.5
#: Rest before the pacer in a simulated assessment, seconds.
ASSESS_REST_S = 60.0


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speed", type=parse_speed, default=1.0, metavar="X|max",
                        help="simulated time runs X times faster than real time, or as fast as possible "
                             "with 'max' (default: 1)")
    parser.add_argument("--minutes", type=parse_minutes, default=DEFAULT_MINUTES,
                        help=f"session length in minutes (a plain number: minutes), split 45%% rest, 45%% practice, "
                             f"10%% rest (default: {DEFAULT_MINUTES:g})")
    parser.add_argument("--seed", type=int, default=7, help="the simulated person's seed (default: 7)")
    parser.add_argument("--profile", choices=("rest", "anxious", "athlete"), default="rest",
                        help="the simulated person (default: rest)")
    parser.add_argument("--ble", action="store_true",
                        help="run through a virtual BLE strap over bleak and the bumble stack (no hardware)")
    add_practice_options(parser)
    add_output_options(parser)
    g = parser.add_argument_group("resonance assessment (--assess)")
    g.add_argument("--assess", action="store_true",
                   help="run a resonance-frequency assessment (like `biofeedback assess`) instead of a session")
    g.add_argument("--protocol", choices=PROTOCOL_CHOICES, default=None,
                   help="stepped (default) or sliding, see `biofeedback assess --help`")
    g.add_argument("--resonance-rate", type=float, default=None, metavar="BPM",
                   help="the simulated person's resonance rate in breaths/min (default with --assess: "
                        f"{DEFAULT_RESONANCE_BPM:g})")
    g.add_argument("--json", action="store_true",
                   help="with --assess: print the result as one JSON object on the last line "
                        "(resonance_rate_bpm, protocol, runner_up_bpm, rates: [...])")


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.run_session import run_guided_session
    from biofeedback.errors import InputError

    if args.resonance_rate is not None and not 3.0 <= args.resonance_rate <= 9.0:
        raise InputError(f"--resonance-rate must be 3-9 breaths/min, got {args.resonance_rate:g}")
    if args.assess:
        from biofeedback.cli.run_assessment import run_assessment

        for flag, value in (("--pattern", args.pattern), ("--rate", args.rate), ("--ratio", args.ratio),
                            ("--spell", args.spell)):
            if value is not None:
                raise InputError(f"{flag} does not apply to --assess (the assessment sets the pacer)")
        if args.practice != "resonance":
            raise InputError("--practice does not apply to --assess (the assessment sets the pacer)")
        args.protocol = args.protocol or PROTOCOL_CHOICES[0]
        if args.resonance_rate is None:
            args.resonance_rate = DEFAULT_RESONANCE_BPM
        args.rates = args.step = args.settle = args.ratio = None
        args.rest = ASSESS_REST_S
        return run_assessment(args, source="virtual-ble" if args.ble else "simulator")
    if args.json:
        raise InputError("--json is for --assess; use --jsonl for a session's beats and events")
    if args.protocol is not None:
        raise InputError("--protocol is for --assess")

    protocol = demo_protocol(args.minutes)
    return run_guided_session(args, protocol, source="virtual-ble" if args.ble else "simulator")
