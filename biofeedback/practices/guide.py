"""Glue for a session runner: the pacer, the current prompt and the breath onsets in session time.

Session time ``t_s`` is seconds since the session started; the pacer's own time starts with the practice
(``t_s - protocol.practice_start_s``). All pure.
"""

from __future__ import annotations

import bisect

from biofeedback.practices.pacer import PacerState, breath_boundaries, breathing_state
from biofeedback.practices.practice import Practice
from biofeedback.practices.prompts import Prompt
from biofeedback.practices.protocol import Protocol


def pacer_at(practice: Practice, protocol: Protocol, t_s: float) -> PacerState | None:
    """The pacer at session time ``t_s``, or ``None`` outside the practice phase or without a pattern."""
    if practice.pattern is None or protocol.phase_at(t_s).name != "practice":
        return None
    if practice.schedule is not None:
        return practice.schedule.state_at(t_s - protocol.practice_start_s)
    return breathing_state(practice.pattern, t_s - protocol.practice_start_s)


def current_prompt(schedule: list[Prompt], t_s: float) -> Prompt | None:
    """The latest prompt with ``prompt.t_s <= t_s`` (what the screen keeps showing), or ``None``."""
    i = bisect.bisect_right(schedule, t_s, key=lambda p: p.t_s)
    return schedule[i - 1] if i else None


def practice_breath_onsets_s(practice: Practice, protocol: Protocol) -> list[float]:
    """Session times of the paced breath onsets within the practice phase (consecutive pairs delimit the
    breaths for the per-breath RSA); empty without a pattern or practice."""
    if practice.pattern is None or protocol.practice_s <= 0:
        return []
    p0 = protocol.practice_start_s
    if practice.schedule is not None:
        return [p0 + t for t in practice.schedule.onsets_s if t <= protocol.practice_s + 1e-9]
    return [p0 + t for t in breath_boundaries(practice.pattern, 0.0, protocol.practice_s)]
