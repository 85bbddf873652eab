"""The session timeline: every phase change and prompt exactly once, in order, whatever the times
at which the runner asks (every beat, every frame, the same time twice, exactly at an item's time)."""

from __future__ import annotations

import random

import pytest

from biofeedback.practices import Protocol, get_practice
from sessions.timeline import PhaseChange, Timeline


def _every_item(practice: str, protocol: Protocol) -> list:
    """What one call after the end gives: every item, in the documented order."""
    return Timeline(get_practice(practice), protocol, "en").advance(protocol.total_s + 1.0)


@pytest.mark.parametrize("practice", ["resonance", "self-hug", "4-7-8"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_item_once_in_order_at_the_first_call_at_or_after_its_time(practice: str, seed: int) -> None:
    protocol = Protocol(baseline_s=60, practice_s=300, recovery_s=60)
    timeline = Timeline(get_practice(practice), protocol, "en")
    expected = _every_item(practice, protocol)
    item_times = [item.t_s for item in expected]
    rng = random.Random(seed)
    times = sorted([rng.uniform(-1.0, 430.0) for _ in range(3000)] + item_times + item_times[::2])
    got: list = []
    previous = None
    for now in times:
        due = timeline.advance(now)
        for item in due:  # due now, and not due at the previous call
            assert item.t_s <= now and (previous is None or item.t_s > previous)
        # phase changes at a time come before the prompts at that time
        assert due == sorted(due, key=lambda e: (e.t_s, 0 if isinstance(e, PhaseChange) else 1))
        got.extend(due)
        previous = now if previous is None else max(previous, now)
    assert got == expected
    assert timeline.advance(1e9) == []
