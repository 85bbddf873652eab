"""The breathing pacer: a pure function of time."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.errors import InputError
from biofeedback.practices import (
    BreathPattern,
    breath_boundaries,
    breathing_state,
    parse_pattern,
    parse_ratio,
    pattern_from_rate,
)

seconds = st.floats(min_value=1.0, max_value=12.0, allow_nan=False)
holds = st.one_of(st.just(0.0), st.floats(min_value=0.5, max_value=10.0, allow_nan=False))
patterns = st.builds(BreathPattern, inhale_s=seconds, exhale_s=seconds, hold_in_s=holds, hold_out_s=holds)
times = st.floats(min_value=0.0, max_value=3600.0, allow_nan=False)


def test_resonance_pattern_is_six_per_minute_and_walks_through_its_phases() -> None:
    p = parse_pattern("4-0-6-0")
    assert p.period_s == 10.0 and p.rate_bpm == 6.0 and p.frequency_hz == pytest.approx(0.1)
    assert [breathing_state(p, t).phase for t in (0, 2, 3.99, 4, 9.99, 10)] == [
        "inhale", "inhale", "inhale", "exhale", "exhale", "inhale",
    ]
    s = breathing_state(p, 2.0)
    assert s.phase_progress == pytest.approx(0.5)
    assert s.lung_volume == pytest.approx(0.5)
    assert s.seconds_left_in_phase == pytest.approx(2.0)
    assert breathing_state(p, 4.0).lung_volume == pytest.approx(1.0)
    assert breathing_state(p, 25.0).breath_index == 2


def test_478_has_a_hold_with_full_lungs() -> None:
    p = parse_pattern("4-7-8")
    assert (p.inhale_s, p.hold_in_s, p.exhale_s, p.hold_out_s) == (4, 7, 8, 0)
    s = breathing_state(p, 7.5)
    assert s.phase == "hold_in" and s.lung_volume == 1.0 and s.seconds_left_in_phase == pytest.approx(3.5)


def test_box_holds_empty_at_the_end() -> None:
    s = breathing_state(parse_pattern("4-4-4-4"), 14.0)
    assert s.phase == "hold_out" and s.lung_volume == 0.0 and s.phase_progress == pytest.approx(0.5)


def test_rate_with_default_ratio_40_60() -> None:
    p = pattern_from_rate(5.5)
    assert p.period_s == pytest.approx(60 / 5.5)
    assert p.inhale_s / p.period_s == pytest.approx(0.4)
    assert p.hold_in_s == p.hold_out_s == 0
    assert parse_ratio("40:60") == pytest.approx(0.4)
    assert pattern_from_rate(6, parse_ratio("1:2")).inhale_s == pytest.approx(10 / 3)


@pytest.mark.parametrize("text", ["", "4", "4-x-6", "4--6", "0-0-6-0", "4-0-0-0", "40-0-60-0-1"])
def test_bad_patterns_are_input_errors_naming_the_text(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_pattern(text)
    assert "pattern" in str(info.value)


@pytest.mark.parametrize("rate", [0.0, 0.5, 31.0, math.nan, math.inf])
def test_rates_out_of_range_are_refused(rate: float) -> None:
    with pytest.raises(InputError, match="breathing rate"):
        pattern_from_rate(rate)


@settings(max_examples=200, deadline=None)
@given(patterns, times)
def test_state_is_periodic_with_the_pattern_period(p: BreathPattern, t: float) -> None:
    a = breathing_state(p, t)
    b = breathing_state(p, t + p.period_s)
    if min(a.phase_progress, 1 - a.phase_progress) * a.phase_duration_s < 1e-6:
        return  # exactly on a phase boundary, rounding may pick either side
    assert b.phase == a.phase
    assert b.phase_progress == pytest.approx(a.phase_progress, abs=1e-6)
    assert b.lung_volume == pytest.approx(a.lung_volume, abs=1e-6)
    assert b.breath_index in (a.breath_index + 1,)


@settings(max_examples=200, deadline=None)
@given(patterns, times)
def test_lung_volume_is_in_range_and_continuous(p: BreathPattern, t: float) -> None:
    s = breathing_state(p, t)
    assert 0.0 <= s.lung_volume <= 1.0
    assert 0.0 <= s.phase_progress <= 1.0
    assert 0.0 <= s.seconds_left_in_phase <= s.phase_duration_s + 1e-9
    # Continuity: half-cosine easing has slope at most pi / (2 * shortest breathing phase) per second.
    dt = 1e-3
    max_slope = math.pi / (2 * min(p.inhale_s, p.exhale_s))
    assert abs(breathing_state(p, t + dt).lung_volume - s.lung_volume) <= max_slope * dt + 1e-9


@settings(max_examples=100, deadline=None)
@given(patterns)
def test_phase_sequence_within_a_breath_follows_the_pattern(p: BreathPattern) -> None:
    expected = [n for n, d in (("inhale", p.inhale_s), ("hold_in", p.hold_in_s), ("exhale", p.exhale_s),
                               ("hold_out", p.hold_out_s)) if d > 0]
    seen: list[str] = []
    for i in range(400):
        phase = breathing_state(p, (i + 0.5) * p.period_s / 400).phase
        if not seen or seen[-1] != phase:
            seen.append(phase)
    assert seen == expected


def test_breath_boundaries_are_whole_breaths() -> None:
    p = parse_pattern("4-0-6-0")
    assert breath_boundaries(p, 0, 35) == [0, 10, 20, 30]
    assert breath_boundaries(p, 5, 30) == [10, 20, 30]
    assert breath_boundaries(p, 31, 30) == []
    for t in breath_boundaries(p, 0, 100):
        assert breathing_state(p, t).phase == "inhale" and breathing_state(p, t).phase_progress == 0.0
