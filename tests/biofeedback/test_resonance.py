"""Resonance frequency and RSA amplitude."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.hrv.frequency_domain import Spectrum
from biofeedback.hrv.resonance import hr_turning_points, resonance, resonance_from_spectrum, rsa_amplitude


def _breathing_beats(breath_hz: float, duration_s: float = 120.0, hr_mean: float = 70.0, hr_amp: float = 5.0):
    """Beats whose instantaneous HR is hr_mean + hr_amp·sin(2π·breath_hz·t)."""
    t, rr, now = [], [], 0.0
    while now < duration_s:
        hr = hr_mean + hr_amp * math.sin(2 * math.pi * breath_hz * now)
        now += 60.0 / hr
        t.append(now)
        rr.append(60000.0 / hr)
    return np.array(t), np.array(rr)


@pytest.mark.parametrize("breath_hz", [0.075, 0.1, 0.12])
def test_resonance_finds_the_breathing_rhythm(breath_hz: float) -> None:
    t, rr = _breathing_beats(breath_hz)
    r = resonance(t, rr)
    assert r.peak_hz == pytest.approx(breath_hz, abs=1 / 120)  # the 120 s grid step
    assert 0 < r.peak_power_ms2 <= r.band_power_ms2
    assert r.peak_psd_ms2_per_hz > 0


def test_resonance_from_spectrum_hand_computed() -> None:
    f = np.arange(0, 1.0, 0.01)
    p = np.where(f == 0.1, 50.0, 10.0)
    r = resonance_from_spectrum(Spectrum(f, p, "welch", 100, 1.0))
    assert r.peak_hz == 0.1 and r.peak_psd_ms2_per_hz == 50.0
    # LF 0.04-0.15: 0.11 · 10 plus the triangle (50 - 10) · 0.01 under the spike
    assert r.band_power_ms2 == pytest.approx(1.1 + 0.4)
    # peak band 0.085-0.115: 0.03 · 10 + triangle parts: edges at 0.085 / 0.115 are 5 mm from 0.09 / 0.11
    # PSD at 0.09 is 10, rising to 50 at 0.1: area 0.02·10 + 0.01·40 = 0.6, plus 0.01 · 10 at the ends
    assert r.peak_power_ms2 == pytest.approx(0.6 + 0.1)
    assert math.isnan(resonance_from_spectrum(Spectrum(np.zeros(0), np.zeros(0), "welch", 0, math.nan)).peak_hz)


def test_rsa_with_breath_boundaries_hand_computed() -> None:
    t = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    rr = np.array([1000.0, 750.0, 1000.0, 1000.0, 800.0, 1000.0, 600.0])  # HR 60 80 60 60 75 60 100
    rsa = rsa_amplitude(t, rr, breath_boundaries_s=[0.0, 3.0, 6.0, 6.9, 9.0])
    # breath 1: 60, 80, 60 -> 20; breath 2: 60, 75, 60 -> 15; breath 3: one beat -> nan; 4: none -> nan
    assert rsa.method == "breaths"
    assert rsa.amplitude_bpm[:2].tolist() == [20.0, 15.0]
    assert math.isnan(rsa.amplitude_bpm[2]) and math.isnan(rsa.amplitude_bpm[3])
    assert rsa.mean_amplitude_bpm == 17.5
    assert rsa.start_s.tolist() == [0.0, 3.0, 6.0, 6.9] and rsa.end_s.tolist() == [3.0, 6.0, 6.9, 9.0]
    # an invalid beat is ignored (the 80 bpm beat removed: breath 1 becomes 60, 60 -> 0)
    valid = np.array([True, False, True, True, True, True, True])
    assert rsa_amplitude(t, rr, valid, breath_boundaries_s=[0.0, 3.0]).amplitude_bpm.tolist() == [0.0]
    with pytest.raises(ValueError, match="increasing"):
        rsa_amplitude(t, rr, breath_boundaries_s=[0.0, 3.0, 2.0])


def test_turning_points_with_hysteresis() -> None:
    # rises to 70.2 (the wobble 70 -> 69.5 is below the 2 bpm hysteresis), falls to 61, up to 68, down
    assert hr_turning_points([60, 65, 70, 69.5, 70.2, 62, 61, 68, 66], 2.0) == [4, 6, 7]
    assert hr_turning_points([70, 60, 65, 70, 69.5, 70.2, 62, 61, 68, 66], 2.0) == [1, 5, 7, 8]
    assert hr_turning_points([60, 60.5, 60.2, 60.4], 1.0) == []
    assert hr_turning_points([70.0], 1.0) == []


def test_rsa_from_hr_extrema_matches_the_oscillation() -> None:
    """HR = 70 ± 5 beats/min at 0.1 Hz: peak-to-trough 10 beats/min per cycle (beats sample the
    sine, so slightly less: within 0.5)."""
    t, rr = _breathing_beats(0.1)
    rsa = rsa_amplitude(t, rr)
    assert rsa.method == "hr_extrema"
    assert rsa.amplitude_bpm.size >= 10  # 12 breaths in 120 s, minus the incomplete ends
    assert rsa.start_s[0] > t[0]  # the series start is not a trough
    assert np.all(np.abs(rsa.amplitude_bpm - 10.0) <= 0.5)
    assert np.all(np.abs((rsa.end_s - rsa.start_s) - 10.0) <= 1.0)
    # beat-to-beat noise below the hysteresis does not split oscillations
    noisy = 60000.0 / (60000.0 / rr + 0.3 * np.random.default_rng(0).standard_normal(rr.size))
    assert rsa_amplitude(t, noisy).amplitude_bpm.size == rsa.amplitude_bpm.size
