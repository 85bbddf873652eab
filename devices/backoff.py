"""Reconnection delays: a pure function of the attempt number (no clock, no global random state).

``delay = min(cap_s, base_s * factor ** (attempt - 1))``, then shortened by a *deterministic*
jitter of up to ``jitter`` (a fraction) drawn from ``random.Random`` seeded with ``(seed, attempt)``:
the same seed gives the same delays on every run (tests, replays), different seeds spread several
clients apart so they do not all retry in the same instant. With the defaults: about 0.5, 1, 2, 4,
8, 16, then 30 s (the cap) for every later attempt. (Cf. bleak-retry-connector's
``calculate_backoff_time``.)
"""

from __future__ import annotations

import random

BASE_S = 0.5
FACTOR = 2.0
CAP_S = 30.0
JITTER = 0.25


def backoff_delay_s(
    attempt: int,
    *,
    seed: int = 0,
    base_s: float = BASE_S,
    factor: float = FACTOR,
    cap_s: float = CAP_S,
    jitter: float = JITTER,
) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (1 = the first retry).

    Always within ``[(1 - jitter) * d, d]`` where ``d = min(cap_s, base_s * factor ** (attempt - 1))``.
    Raises ``ValueError`` for ``attempt < 1`` or parameters out of range.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if not (base_s > 0 and factor >= 1 and cap_s >= base_s and 0 <= jitter < 1):
        raise ValueError(
            f"need base_s > 0, factor >= 1, cap_s >= base_s, 0 <= jitter < 1; got "
            f"base_s={base_s}, factor={factor}, cap_s={cap_s}, jitter={jitter}"
        )
    # factor ** (attempt - 1) overflows for huge attempts: past the cap it no longer matters.
    exponent = min(attempt - 1, 1024)
    try:
        raw = base_s * factor**exponent
    except OverflowError:
        raw = cap_s
    delay = min(cap_s, raw)
    u = random.Random(f"{seed}:{attempt}").random()  # str seeds are hashed deterministically (sha512)
    return delay * (1.0 - jitter * u)
