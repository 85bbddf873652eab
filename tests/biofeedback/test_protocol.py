"""The session protocol: baseline, practice, recovery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from biofeedback.errors import InputError
from biofeedback.practices import PhaseSpan, Protocol


def test_default_protocol_phases() -> None:
    p = Protocol()
    assert (p.baseline_s, p.practice_s, p.recovery_s, p.total_s) == (180, 600, 180, 960)
    p = Protocol(120, 600, 120)
    assert p.phase_boundaries() == (
        PhaseSpan("baseline", 0, 120),
        PhaseSpan("practice", 120, 720),
        PhaseSpan("recovery", 720, 840),
    )
    s = p.phase_at(130.0)
    assert (s.name, s.elapsed_s, s.remaining_s, s.start_s) == ("practice", 10.0, 590.0, 120.0)
    assert p.phase_at(0).name == "baseline"
    assert p.phase_at(119.999).name == "baseline"
    assert p.phase_at(120).name == "practice"
    assert p.phase_at(720).name == "recovery"
    done = p.phase_at(900)
    assert (done.name, done.elapsed_s, done.remaining_s) == ("done", 60.0, 0.0)


def test_zero_length_phases_are_skipped() -> None:
    p = Protocol(baseline_s=0, practice_s=60, recovery_s=0)
    assert [s.name for s in p.phase_boundaries()] == ["practice"]
    assert p.phase_at(0).name == "practice"
    assert p.phase_at(60).name == "done"
    assert Protocol(0, 0, 0).phase_at(0).name == "done"


@pytest.mark.parametrize("kwargs", [{"baseline_s": -1}, {"practice_s": float("nan")}, {"recovery_s": "2m"}])
def test_bad_durations_are_input_errors(kwargs: dict) -> None:
    with pytest.raises(InputError, match="protocol"):
        Protocol(**kwargs)


durations = st.floats(min_value=0, max_value=3600, allow_nan=False)


@given(durations, durations, durations, st.floats(min_value=0, max_value=12000, allow_nan=False))
def test_phase_at_agrees_with_boundaries(b: float, p: float, r: float, t: float) -> None:
    proto = Protocol(b, p, r)
    spans = proto.phase_boundaries()
    assert sum(s.duration_s for s in spans) == pytest.approx(proto.total_s)
    state = proto.phase_at(t)
    inside = [s for s in spans if s.start_s <= t < s.end_s]
    if inside:
        assert state.name == inside[0].name
        assert state.elapsed_s + state.remaining_s == pytest.approx(inside[0].duration_s)
        assert state.start_s + state.elapsed_s == pytest.approx(t)
    else:
        assert state.name == "done" and state.remaining_s == 0


def test_phase_at_by_bisection_equals_the_first_span_holding_t() -> None:
    """phase_at bisects a cached table of start times: the same state as scanning the spans, at
    the boundaries, inside, before 0 and after the end, with empty phases in between."""
    for proto in (Protocol(3240.0, 3240.0, 720.0), Protocol(0.0, 60.0, 0.0), Protocol(10.0, 0.0, 5.0),
                  Protocol(0.1, 0.2, 0.30000000000000004), Protocol(0.0, 0.0, 0.0)):
        spans = proto.phase_boundaries()
        points = [-1.0, 0.0, proto.total_s, proto.total_s + 7.5]
        points += [x for s in spans for x in (s.start_s, s.end_s, (s.start_s + s.end_s) / 2)]
        for t in points:
            inside = [s for s in spans if s.start_s <= max(0.0, t) < s.end_s]
            state = proto.phase_at(t)
            if inside:
                s = inside[0]
                tt = max(0.0, t)
                assert (state.name, state.elapsed_s, state.remaining_s, state.start_s) == (
                    s.name, tt - s.start_s, s.end_s - tt, s.start_s)
            else:
                assert (state.name, state.remaining_s, state.start_s) == ("done", 0.0, proto.total_s)
