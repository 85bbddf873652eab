"""Each resonance-assessment criterion on synthetic beat series with known amplitude and phase."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.resonance import RateCriteria, breath_phase, choose_stepped, fit_breathing_rhythm, rate_criteria


def paced_beats(rate_bpm: float, amp_bpm: float, phase_deg: float, *, duration_s: float = 120.0,
                hr0: float = 66.0, noise_bpm: float = 0.0, seed: int = 0):
    """Beats whose HR at the middle of each interval is ``hr0 - amp * cos(2 pi p + phase)``, ``p`` the
    pacer phase (breaths of ``60 / rate`` s from t = 0): the HR wave leads the pacer by ``phase_deg``."""
    rng = np.random.default_rng(seed)
    period = 60.0 / rate_bpm
    phi = math.radians(phase_deg)
    t, ts, rrs = 0.0, [], []
    while True:
        rr = 60000.0 / hr0
        for _ in range(3):  # solve rr = 60000 / HR(t + rr / 2) by fixed point
            p = ((t + rr / 2000.0) / period) % 1.0
            hr = hr0 - amp_bpm * math.cos(2 * math.pi * p + phi) + noise_bpm * float(rng.standard_normal())
            rr = 60000.0 / hr
        t += rr / 1000.0
        if t > duration_s:
            break
        ts.append(t)
        rrs.append(rr)
    onsets = np.arange(0.0, duration_s + 1e-9, period)
    return np.array(ts), np.array(rrs), onsets


def test_breath_phase_is_linear_within_each_breath_and_undefined_outside():
    p = breath_phase([0.5, 1.0, 2.0, 3.0, 4.5, 6.0], [1.0, 3.0, 6.0])
    assert np.isnan(p[0]) and np.isnan(p[-1])
    assert p[1:5].tolist() == [0.0, 0.5, 0.0, 0.5]


@pytest.mark.parametrize("phase_deg", [-60.0, 0.0, 45.0])
def test_the_fitted_rhythm_recovers_amplitude_and_phase(phase_deg):
    p = np.linspace(0, 6, 300, endpoint=False) % 1.0
    fit = fit_breathing_rhythm(70 - 4.0 * np.cos(2 * np.pi * p + math.radians(phase_deg)), p)
    assert fit.amplitude_bpm == pytest.approx(4.0)
    assert fit.phase_deg == pytest.approx(phase_deg, abs=1e-9)
    assert fit.r2 == pytest.approx(1.0)


@pytest.mark.parametrize("phase_deg", [-40.0, 0.0, 30.0])
def test_phase_and_peak_to_trough_of_a_known_hr_wave(phase_deg):
    t, rr, onsets = paced_beats(5.5, 5.0, phase_deg, duration_s=60 / 5.5 * 10)
    c = rate_criteria(t, rr, np.ones(t.size, bool), onsets, 5.5)
    assert c.phase_deg == pytest.approx(phase_deg, abs=2.0)
    assert c.amplitude_bpm == pytest.approx(5.0, rel=0.02)
    # max - min of beat samples of a 10 bpm peak-to-trough wave: a little under 10
    assert 9.0 <= c.peak_trough_bpm <= 10.0
    assert c.smoothness > 0.99 and c.peaks_per_breath == 1.0
    assert c.usable and c.reason is None and c.n_breaths == 10


def test_lf_peak_sits_at_the_breathing_rate_and_holds_the_wave_power():
    # RR = 900 + 50 cos(2 pi f t) exactly: power a^2 / 2 = 1250 ms^2 at f = 0.09 Hz.
    f, a = 0.09, 50.0
    t = np.cumsum(np.full(250, 0.9))
    rr = 900.0 + a * np.cos(2 * np.pi * f * t)
    period = 1 / f
    onsets = np.arange(0.0, period * 20 + 1e-9, period)
    c = rate_criteria(t, rr, np.ones(t.size, bool), onsets, 60 * f)
    assert c.lf_peak_hz == pytest.approx(f, abs=1 / (onsets[-1] - onsets[0]))
    assert c.peak_at_rate
    assert c.lf_peak_power_ms2 == pytest.approx(a * a / 2, rel=0.1)
    assert c.coherence > 3  # one clean rhythm


def test_noise_lowers_smoothness_and_coherence_until_the_stretch_is_unusable():
    t, rr, onsets = paced_beats(6.0, 4.0, 0.0, duration_s=100.0)
    clean = rate_criteria(t, rr, np.ones(t.size, bool), onsets, 6.0)
    t, rr, onsets = paced_beats(6.0, 4.0, 0.0, duration_s=100.0, noise_bpm=2.0)
    some = rate_criteria(t, rr, np.ones(t.size, bool), onsets, 6.0)
    t, rr, onsets = paced_beats(6.0, 4.0, 0.0, duration_s=100.0, noise_bpm=8.0)
    lots = rate_criteria(t, rr, np.ones(t.size, bool), onsets, 6.0)
    assert clean.smoothness > some.smoothness > lots.smoothness
    assert clean.coherence > lots.coherence
    assert some.peaks_per_breath >= 1.0
    assert clean.usable and not lots.usable and lots.reason == "no_breathing_rhythm"


def test_removed_beats_count_as_artifacts_and_lost_signal():
    t, rr, onsets = paced_beats(6.0, 4.0, 0.0, duration_s=100.0)
    valid = np.ones(t.size, bool)
    valid[::5] = False  # 20 % removed
    c = rate_criteria(t, rr, valid, onsets, 6.0)
    assert c.artifacts_pct == pytest.approx(20.0, abs=1.0)
    assert not c.usable and c.reason == "artifacts"
    assert c.coverage == pytest.approx(0.8, abs=0.03)


def _crit(rate, pt, lf, phase, coh=2.0, r2=0.8, usable=True):
    return RateCriteria(rate, 0.0, 100.0, 10, lf, rate / 60, True, pt, phase, pt / 2, r2, 1.0, coh, 0.0, 1.0,
                        usable, None if usable else "artifacts")


def test_the_decision_prefers_phase_synchrony_and_amplitude_and_skips_unusable_steps():
    rates = (
        _crit(6.5, 8.0, 900.0, -50.0),
        _crit(6.0, 10.0, 1200.0, -25.0),
        _crit(5.5, 11.0, 1500.0, 2.0),
        _crit(5.0, 20.0, 3000.0, 0.0, usable=False),  # biggest, but from a bad stretch
        _crit(4.5, 10.5, 1300.0, 40.0),
    )
    scores, best, runner = choose_stepped(rates)
    assert rates[best].rate_bpm == 5.5
    assert rates[runner].rate_bpm == 6.0
    assert math.isnan(scores[3])
