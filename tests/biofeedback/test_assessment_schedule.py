"""The stepped and sliding pacer schedules are pure functions of time."""

from __future__ import annotations

import pytest

from biofeedback.errors import InputError
from biofeedback.practices import prompt_schedule
from biofeedback.practices.assessment import (
    assessment_practice,
    assessment_protocol,
    build_schedule,
    sliding_schedule,
    stepped_schedule,
)


def test_stepped_holds_whole_breaths_at_each_rate_and_marks_the_settling_breaths():
    s = stepped_schedule()
    assert [st.rate_bpm for st in s.steps] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert s.duration_s == pytest.approx(600.0)
    for k, st in enumerate(s.steps):
        breaths = [b for b in s.breaths if b.step == k]
        assert all(b.rate_bpm == pytest.approx(st.rate_bpm) for b in breaths)
        assert breaths[0].onset_s == pytest.approx(st.start_s) and breaths[-1].end_s == pytest.approx(st.end_s)
        settling = [b for b in breaths if not b.analysed]
        assert settling and all(b.onset_s < st.start_s + 20.0 for b in settling)
        assert st.analysis_start_s >= st.start_s + 20.0 - 1e-9
        assert all(b.inhale_s == pytest.approx(0.4 * b.period_s) for b in breaths)
    assert stepped_schedule((6.0, 5.0), step_s=60.0, settle_s=0.0).duration_s == pytest.approx(60.0 * 2)


def test_sliding_grows_the_period_by_the_same_step_every_breath():
    s = sliding_schedule()
    periods = [b.period_s for b in s.breaths]
    steps = {round(b - a, 9) for a, b in zip(periods, periods[1:])}
    assert len(steps) == 1 and steps.pop() > 0
    assert s.breaths[0].rate_bpm == pytest.approx(6.75) and s.breaths[-1].rate_bpm == pytest.approx(4.25)
    assert 850 < s.duration_s < 950
    assert all(b.inhale_s == pytest.approx(b.period_s / 2) for b in s.breaths)


def test_phase_and_pacer_state_depend_only_on_time_and_change_rate_only_at_onsets():
    s = sliding_schedule()
    b = s.breaths[10]
    assert s.phase_at(b.onset_s) == pytest.approx(0.0)
    assert s.phase_at(b.onset_s + b.period_s / 4) == pytest.approx(0.25)
    assert s.rate_at(b.onset_s + 0.01) == s.rate_at(b.end_s - 0.01) == b.rate_bpm
    st = s.state_at(b.onset_s + b.inhale_s / 2)
    assert st.phase == "inhale" and st.breath_index == 10 and st.lung_volume == pytest.approx(0.5)
    assert s.state_at(b.onset_s + b.inhale_s + 0.1).phase == "exhale"
    assert s.state_at(123.4) == s.state_at(123.4)


def test_settings_rebuild_the_schedule_and_bad_settings_are_refused():
    assert build_schedule({"protocol": "stepped", "rates_bpm": [6, 5]}) == stepped_schedule((6.0, 5.0))
    for bad in ({"protocol": "zigzag"}, {"protocol": "stepped", "rates_bpm": "6,5"},
                {"protocol": "stepped", "rates_bpm": [40]}, {"protocol": "sliding", "duration_s": "long"}):
        with pytest.raises(InputError):
            build_schedule(bad)


def test_the_assessment_session_announces_each_new_rate():
    s = stepped_schedule()
    practice, protocol = assessment_practice(s), assessment_protocol(s, 60.0)
    prompts = prompt_schedule(practice, protocol, "nl")
    steps = [p for p in prompts if p.key == "assess.step"]
    assert [p.t_s for p in steps] == pytest.approx([60.0 + st.start_s for st in s.steps[1:]])
    assert "6 ademhalingen per minuut" in steps[0].text
    assert prompts[0].key == "assess.rest" and prompts[0].text.startswith("Rust even een minuut")
    assert prompts[1].key == "assess.intro.stepped" and prompts[1].t_s == 60.0
    assert not [p for p in prompts if p.key.startswith("cue.")]
