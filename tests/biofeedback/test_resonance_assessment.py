"""Proof on the simulator: the stepped and sliding assessments find a simulated person's resonance rate,
and a person with strong noise or many ectopic beats is asked to repeat the assessment.

The simulator runs in-process without a clock (``RRSimulator.beats_until``) and the pure core analyses
the beats: about half a second per assessment.
"""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.practices.assessment import ASSESSMENT_REST_S, assessment_schedule
from biofeedback.resonance import AssessmentResult, assess
from devices.simulator import RRSimulator


def simulated_assessment(protocol: str, resonance_bpm: float, seed: int, *, noise_scale: float = 1.0,
                         ectopic_rate: float = 0.0, missed_rate: float = 0.0) -> AssessmentResult:
    schedule = assessment_schedule(protocol)
    p0 = ASSESSMENT_REST_S

    def phase(t_s: float) -> float:  # spontaneous breathing at rest, then the pacer
        return (t_s * 14 / 60) % 1.0 if t_s < p0 else schedule.phase_at(t_s - p0)

    sim = RRSimulator(seed, "rest", breathing=phase, resonance_bpm=resonance_bpm, noise_scale=noise_scale,
                      ectopic_rate=ectopic_rate, missed_rate=missed_rate, quantise_ticks=True)
    beats = sim.beats_until(p0 + schedule.duration_s)
    return assess(schedule, np.array([b.t_s for b in beats]), np.array([b.rr_ms for b in beats]), pacer_start_s=p0)


@pytest.mark.parametrize("resonance_bpm", [4.5, 5.5, 6.5])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stepped_finds_the_resonance_rate_within_a_quarter_breath(resonance_bpm, seed):
    result = simulated_assessment("stepped", resonance_bpm, seed)
    assert result.status == "ok"
    assert abs(result.resonance_rate_bpm - resonance_bpm) <= 0.25
    assert result.runner_up_bpm is not None and result.runner_up_bpm != result.resonance_rate_bpm
    assert [r.rate_bpm for r in result.rates] == [6.5, 6.0, 5.5, 5.0, 4.5]


@pytest.mark.parametrize("resonance_bpm,seed", [(4.5, 1), (4.8, 2), (5.2, 3), (5.5, 4), (6.0, 5), (6.5, 2)])
def test_sliding_finds_the_resonance_rate_within_0_35(resonance_bpm, seed):
    result = simulated_assessment("sliding", resonance_bpm, seed)
    assert result.status == "ok"
    assert abs(result.resonance_rate_bpm - resonance_bpm) <= 0.35
    assert result.sweep is not None and len(result.sweep.rate_bpm) == 78
    assert result.runner_up_bpm is not None and abs(result.runner_up_bpm - result.resonance_rate_bpm) >= 0.5


@pytest.mark.parametrize("protocol", ["stepped", "sliding"])
@pytest.mark.parametrize("kind", ["noise", "ectopic"])
def test_a_poor_signal_asks_to_repeat_rather_than_naming_a_rate(protocol, kind):
    if kind == "noise":
        result = simulated_assessment(protocol, 5.5, 2, noise_scale=8.0)
    else:
        result = simulated_assessment(protocol, 5.5, 2, ectopic_rate=0.08, missed_rate=0.02)
    assert result.status == "repeat"
    assert result.resonance_rate_bpm is None and result.runner_up_bpm is None
    assert result.reason in ("too_few_usable_steps", "too_few_usable_breaths", "weak_breathing_rhythm")


def test_the_result_round_trips_through_json():
    result = simulated_assessment("stepped", 5.5, 1)
    d = result.to_json_dict()
    back = AssessmentResult.from_json_dict(d)
    assert back.to_json_dict() == d
    assert {"rate_bpm", "lf_peak_power_ms2", "lf_peak_hz", "peak_trough_bpm", "phase_deg", "coherence"} <= set(d["rates"][0])


def test_a_strap_drop_marks_its_step_unusable_and_too_many_drops_ask_to_repeat():
    schedule = assessment_schedule("stepped")
    p0 = ASSESSMENT_REST_S
    sim = RRSimulator(4, "rest", breathing=lambda t: (t * 14 / 60) % 1.0 if t < p0 else schedule.phase_at(t - p0),
                      resonance_bpm=5.5, quantise_ticks=True)
    beats = sim.beats_until(p0 + schedule.duration_s)
    t = np.array([b.t_s for b in beats])
    rr = np.array([b.rr_ms for b in beats])

    def with_drops(spans):
        keep = np.ones(t.size, bool)
        for a, b in spans:
            keep &= ~((t >= a) & (t < b))
        breaks = np.zeros(int(keep.sum()), bool)
        kept_t = t[keep]
        for _, b in spans:
            i = int(np.searchsorted(kept_t, b))
            if i < breaks.size:
                breaks[i] = True  # the first beat after the drop follows a gap
        return assess(schedule, kept_t, rr[keep], pacer_start_s=p0, breaks=breaks)

    step = schedule.steps[1]  # 6.0/min: the strap drops for 40 s of its analysed stretch
    one = with_drops([(p0 + step.analysis_start_s + 20, p0 + step.analysis_start_s + 60)])
    assert one.status == "ok" and one.resonance_rate_bpm == 5.5
    assert [r.usable for r in one.rates] == [True, False, True, True, True]
    assert one.rates[1].reason in ("signal_lost", "too_few_beats")
    drops = [(p0 + s.analysis_start_s + 10, p0 + s.analysis_start_s + 60) for s in schedule.steps[:3]]
    assert with_drops(drops).status == "repeat"
