"""A tiny recorder process for the crash test (``tests/sessions/test_crash.py``); not a user command.

``python -m tests.sessions.crash_probe DB SEED [PACE_S]`` (run from the repository root) creates a
``simulator`` session in the store file ``DB`` and records the deterministic beats :func:`probe_beats`
gives for ``SEED``, one every ``PACE_S`` seconds (default 0.04) of an injected clock
(:class:`devices.clock.VirtualClock`, advanced after each beat: no sleeping, the recorder's
once-a-second commits follow that clock), stamping each with its arrival time on it. It records a
beat for every line it reads on stdin (the test sets the pace, so the process is exactly where the
test thinks when it is killed) and stops at the end of stdin. After each beat is
handed to the recorder it prints ``beat <seq> <arrival_s repr>`` and flushes stdout, so the test knows
exactly what was sent and can kill the process at a chosen point. It records until it is killed.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator

from biofeedback.beat import Beat
from devices.clock import VirtualClock
from sessions.recorder import Recorder
from sessions.store import NewSession, Store


def probe_beats(seed: int) -> Iterator[tuple[int, float, float]]:
    """Endless ``(rr_ticks_1024, rr_ms, t_s)`` of a strap-like beat series, the same for the same seed."""
    rng = random.Random(seed)
    t_s = 0.0
    while True:
        ticks = rng.randint(600, 1100)
        rr_ms = ticks * 1000 / 1024
        t_s += rr_ms / 1000
        yield ticks, rr_ms, t_s


def main(argv: list[str]) -> int:
    db, seed = argv[0], int(argv[1])
    pace_s = float(argv[2]) if len(argv) > 2 else 0.04
    clock = VirtualClock()
    store = Store(db)
    session_id = store.create_session(NewSession("simulator", clock.wall_now(), device_name="crash-probe"))
    t0 = clock.monotonic_s()
    out = sys.stdout
    out.write(f"session {session_id}\n")
    out.flush()
    recorder = Recorder(store, session_id, clock=clock)
    for seq, (ticks, rr_ms, t_s) in enumerate(probe_beats(seed)):
        if not sys.stdin.readline():
            return 0  # the test closed stdin: stop (without finishing the session)
        arrival_s = clock.monotonic_s() - t0
        got = recorder.add_beat(Beat(rr_ms, t_s, rr_ticks_1024=ticks, arrival_s=arrival_s, contact=True))
        assert got == seq
        out.write(f"beat {seq} {arrival_s!r}\n")
        out.flush()
        clock.advance(pace_s)
    return 0  # pragma: no cover - probe_beats never ends


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
