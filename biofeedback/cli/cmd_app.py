"""``biofeedback app``: the whole practice journey in the browser, served on this machine only.

Standard library only at module level (``biofeedback --help`` stays fast); Starlette and uvicorn are
imported inside :func:`run`.
"""

from __future__ import annotations

import argparse

from biofeedback.cli.common import add_home_option, parse_speed
from biofeedback.cli.run_assessment import PROTOCOL_CHOICES

HELP = "the app in your browser: practise, see the comparison, history and charts (local only)"

DESCRIPTION = """\
Serve the app on this machine (127.0.0.1, a random free port unless --port) and open it in your
browser. The first line printed is the address with a secret token,
  http://127.0.0.1:PORT/?token=...
Open that address (the token becomes a private cookie); nothing on the page is loaded from
elsewhere and nothing leaves this machine. In the page: start a session (practice, language, phase
durations, your paired strap or the simulator), practise with the moving breathing guide, your heart
rate as a wave, coherence with its zones, relaxation, RMSSD, signal quality and phase clock (space
or the button sets a marker), read the before/after comparison, browse your history (replay,
charts, export, delete) and trends, and run a resonance-frequency assessment (the table and charts
of `biofeedback assess`; resonance breathing then offers the rate it found). Closing the tab does
not stop a session; one session runs at a time per store. Ctrl-C stops the server (a running session is ended and kept).

Live values on the page are elements carrying the per-beat JSON key, e.g.
  <span data-index="hr_bpm">64.2</span>
(the keys of `biofeedback analyze --per-beat --jsonl`); the page's WebSocket /ws/live carries the
same objects as `biofeedback demo --jsonl`.
"""

EPILOG = """\
examples:
  biofeedback app --demo                   try it: a simulated guided session starts at once
  biofeedback app --demo --speed 10        the same, ten times faster
  biofeedback app --demo --assess --speed 30   a simulated resonance assessment (as `demo --assess`)
  biofeedback app --lang nl                the page in Dutch
  biofeedback app --port 8765 --no-browser serve on a fixed port; open the printed address yourself

--host other than 127.0.0.1 (e.g. 0.0.0.0) exposes your health data to your network: it is allowed
only when given explicitly, prints a warning, and the token still applies.
"""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {value}")
    return value


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=_port, default=0, metavar="N",
                        help="the port to listen on (default: a random free port)")
    parser.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                        help="the address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser")
    parser.add_argument("--demo", action="store_true",
                        help="start a simulated guided session at once (as `biofeedback demo`)")
    parser.add_argument("--speed", type=parse_speed, default=1.0, metavar="X",
                        help="with --demo: simulated time runs X times faster (1-60; default: 1)")
    parser.add_argument("--minutes", type=float, default=3.0,
                        help="with --demo: session length, split 1/4 rest, 1/2 practice, 1/4 rest (default: 3)")
    parser.add_argument("--practice", default="resonance", metavar="NAME",
                        help="with --demo: the practice (default: resonance)")
    parser.add_argument("--assess", action="store_true",
                        help="with --demo: a simulated resonance assessment instead (as `biofeedback demo --assess`)")
    parser.add_argument("--protocol", choices=PROTOCOL_CHOICES, default=None,
                        help="with --demo --assess: stepped (default) or sliding")
    parser.add_argument("--lang", choices=("en", "nl"), default="en", help="the page's language (default: en)")
    add_home_option(parser)


def run(args: argparse.Namespace) -> int:
    from biofeedback.cli.common import resolve_home
    from biofeedback.errors import InputError
    from biofeedback.web.live import MAX_SPEED, AssessRequest, StartRequest

    demo: StartRequest | AssessRequest | None = None
    if (args.assess or args.protocol) and not args.demo:
        raise InputError("--assess and --protocol are for --demo")
    if args.protocol and not args.assess:
        raise InputError("--protocol is for --demo --assess")
    if args.demo:
        if not 0 < args.speed <= MAX_SPEED:
            raise InputError(f"--speed must be > 0 and at most {MAX_SPEED:g} in the app, got {args.speed:g}")
        if not 0 < args.minutes <= 24 * 60:
            raise InputError(f"--minutes must be > 0 and at most 1440, got {args.minutes:g}")
        total_s = args.minutes * 60.0
        if args.assess:
            demo = AssessRequest(protocol=args.protocol or PROTOCOL_CHOICES[0], lang=args.lang, speed=args.speed)
        else:
            demo = StartRequest(practice=args.practice, lang=args.lang, baseline_s=total_s / 4,
                                practice_s=total_s / 2, recovery_s=total_s / 4, source="simulator", speed=args.speed)
    from biofeedback.web.serve import serve

    return serve(resolve_home(args), host=args.host, port=args.port, open_browser=not args.no_browser,
                 demo=demo, lang=args.lang)
