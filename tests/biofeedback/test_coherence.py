"""HeartMath-style coherence: hand-computed ratio, window, search band, invalid beats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.hrv.coherence import Coherence, coherence, coherence_from_spectrum, last_window
from biofeedback.hrv.frequency_domain import Spectrum, power_spectrum


def _sine_beats(freq_hz: float, n: int = 200, rr0: float = 900.0, amp: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(1, n + 1) * rr0 / 1000.0
    return t, rr0 + amp * np.sin(2 * np.pi * freq_hz * t)


def test_hand_computed_ratio() -> None:
    # Flat PSD 1 ms²/Hz on a 1/64 Hz grid with 100 ms²/Hz at 6/64 = 0.09375 Hz.
    f = np.arange(0, 2.0, 1 / 64)
    p = np.where(f == 6 / 64, 100.0, 1.0)
    c = coherence_from_spectrum(Spectrum(f, p, "welch", 80, 1.0))
    # peak band 0.07875-0.10875 Hz; PSD at each edge: 1 + 99 · (0.000625 / 0.015625) = 4.96
    peak = 2 * 0.015 * (4.96 + 100.0) / 2  # 1.5744
    # total 0.0033-0.4 Hz: 1 · 0.3967 plus the triangle 99 · (1/64) under the spike
    total = 0.3967 + 99 / 64  # 1.943575
    assert c.peak_hz == 0.09375
    assert c.peak_power_ms2 == pytest.approx(peak, rel=1e-12)
    assert c.total_power_ms2 == pytest.approx(total, rel=1e-12)
    assert c.ratio == pytest.approx(peak / (total - peak), rel=1e-12)  # 4.2646
    assert c.ratio_squared == pytest.approx(c.ratio**2, rel=1e-12)


def test_peak_is_searched_only_in_004_026_hz() -> None:
    f = np.arange(0, 2.0, 1 / 64)
    p = np.ones_like(f)
    p[f == 20 / 64] = 500.0  # 0.3125 Hz: outside the search band
    p[f == 5 / 64] = 50.0  # 0.078 Hz: the largest inside
    p[f == 2 / 64] = 900.0  # 0.031 Hz: below the band
    c = coherence_from_spectrum(Spectrum(f, p, "welch", 80, 1.0))
    assert c.peak_hz == 5 / 64


def test_pure_rhythm_is_coherent_and_noise_is_not() -> None:
    t, rr = _sine_beats(6 / 64)  # on a bin of the 64 s spectrum
    c = coherence(t, rr, method="grid")
    assert c.peak_hz == pytest.approx(6 / 64)
    # Hann leakage spreads a pure tone over 3 bins: ratio ≈ 4.5 on a bin (version 1 grid)
    assert c.ratio == pytest.approx(4.53, abs=0.02)
    # the fine grid finds the peak to ±1/1024 Hz; the Hann main lobe holds ≈ 90 % of the power
    # within ±0.015 Hz, so ratio ≈ 9
    c = coherence(t, rr)
    assert c.peak_hz == pytest.approx(6 / 64, abs=1 / 1024)
    assert 8.5 < c.ratio < 10.0
    noise = 900.0 + 30.0 * np.random.default_rng(0).standard_normal(200)
    assert coherence(None, noise).ratio < 1.0


def test_only_the_last_64_s_count() -> None:
    t, rr = _sine_beats(6 / 64, n=300)
    junk = rr.copy()
    junk[:150] = 900.0 + 200.0 * np.random.default_rng(1).standard_normal(150)  # beats older than 64 s
    assert t[-1] - t[150] > 64.0
    assert coherence(t, junk) == coherence(t, rr)
    tw, rw, vw = last_window(t, rr, None, 64.0)
    assert tw[0] >= t[-1] - 64.0 and tw[-1] == t[-1] and vw is None
    c = coherence(t, rr, window_s=100.0)  # a longer window is allowed
    assert isinstance(c, Coherence) and c != coherence(t, rr)


def test_invalid_beats_are_dropped() -> None:
    t, rr = _sine_beats(6 / 64)
    bad = rr.copy()
    bad[-30] = 2000.0
    valid = np.ones(rr.size, dtype=bool)
    valid[-30] = False
    kept = np.arange(rr.size) != rr.size - 30
    assert coherence(t, bad, valid) == coherence(t[kept], rr[kept])


def test_too_few_beats_give_nan() -> None:
    c = coherence([1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0])
    assert math.isnan(c.ratio) and math.isnan(c.peak_hz)
    empty = coherence_from_spectrum(power_spectrum(None, []))
    assert math.isnan(empty.ratio_squared)
    # no grid point inside the search band (a spectrum too coarse): nan, not an error
    coarse = Spectrum(np.array([0.0, 0.5, 1.0]), np.ones(3), "welch", 5, 1.0)
    assert math.isnan(coherence_from_spectrum(coarse).ratio)


def _paced_beats(freq_hz: float, phase: float, noise: np.ndarray, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose RR swings ±60 ms at ``freq_hz`` (the same swing and noise at every frequency)."""
    rr = np.empty(n)
    t = np.empty(n)
    now = 0.0
    for i in range(n):
        rr[i] = 900.0 + 60.0 * math.sin(2 * math.pi * freq_hz * now + phase) + noise[i]
        now += rr[i] / 1000.0
        t[i] = now
    return t, rr


@settings(max_examples=60, deadline=None)
@given(
    freqs_hz=st.tuples(st.floats(0.085, 0.115), st.floats(0.085, 0.115)),
    phases=st.tuples(st.floats(0.0, 2 * math.pi), st.floats(0.0, 2 * math.pi)),
    seed=st.integers(0, 2**16),
)
def test_equal_oscillations_score_alike_anywhere_in_0085_0115_hz(
    freqs_hz: tuple[float, float], phases: tuple[float, float], seed: int
) -> None:
    """The property the fine grid buys: the ratio does not depend on where the rhythm falls on the
    64 s FFT grid. Two equal ±60 ms oscillations (with the same 2 ms beat jitter) at any two
    frequencies in 0.085-0.115 Hz and any phases score within 15 % of each other. (The "grid"
    method fails this: 0.1 Hz, between two bins, scores ~35 % below 0.094 Hz, on a bin.)"""
    noise = 2.0 * np.random.default_rng(seed).standard_normal(80)
    a, b = (coherence(*_paced_beats(f, ph, noise)) for f, ph in zip(freqs_hz, phases))
    assert a.peak_hz == pytest.approx(freqs_hz[0], abs=0.002)
    assert max(a.ratio, b.ratio) / min(a.ratio, b.ratio) < 1.15


def test_01_hz_is_not_the_lowest_and_the_grid_method_penalised_it() -> None:
    # The case: five-minute series with the same 6 bpm swing and the same noise, scored as
    # analyze does (mean over 64 s windows every 5 s), at 0.085, 0.0875, ..., 0.115 Hz.
    from biofeedback.hrv.summary import mean_coherence

    noise = 20.0 * np.random.default_rng(1).standard_normal(340)
    freqs = np.linspace(0.085, 0.115, 13)
    assert freqs[6] == pytest.approx(0.1)
    fine = [mean_coherence(*_paced_beats(f, 0.3, noise, 340)) for f in freqs]
    grid = [mean_coherence(*_paced_beats(f, 0.3, noise, 340), method="grid") for f in freqs]
    assert max(fine) / min(fine) < 1.15
    assert fine[6] > min(fine)
    assert max(grid) / min(grid) > 1.3 and grid[6] < 0.9 * max(grid)  # version 1 penalised 0.1 Hz


def test_engine_coherence_follows_the_settings_version() -> None:
    from biofeedback.beat import Beat
    from biofeedback.engine import EngineSettings, HRVEngine

    t, rr = _paced_beats(0.1, 0.0, np.zeros(80))
    for version, method in ((1, "grid"), (2, "fine")):
        eng = HRVEngine(EngineSettings(artifact_detection=False, version=version))
        out = [eng.push(Beat(rr_ms=float(r), t_s=float(x)))[0] for x, r in zip(t, rr)]
        assert out[-1].coherence == coherence(t, rr, method=method).ratio  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["fine", "grid"])
def test_batched_coherence_ratios_equal_the_per_window_reference(method: str) -> None:
    """coherence_ratios (batched FFTs, used by mean_coherence) equals coherence_spectrum +
    coherence_from_spectrum window by window to 1e-9, with removed beats, a gap, windows too short
    for a spectrum and windows of fewer than 64 s of knots (other segment lengths)."""
    from biofeedback.hrv.coherence import coherence_from_spectrum, coherence_ratios, coherence_spectrum

    rng = np.random.default_rng(7)
    rr = 800.0 + 60.0 * np.sin(np.arange(1500) / 2.3) + 40.0 * rng.standard_normal(1500)
    t = np.cumsum(rr) / 1000.0
    t[700:] += 90.0  # a 90 s gap: windows over it hold few beats
    valid = rng.random(1500) > 0.1
    valid[300:340] = False  # a long bridge
    ends = np.arange(t[0] + 10.0, t[-1], 3.0)
    lo = np.searchsorted(t, ends - 64.0, side="left")
    hi = np.searchsorted(t, ends, side="right")
    got = coherence_ratios(t, rr, valid, lo, hi, method=method)
    ref = np.array([coherence_from_spectrum(coherence_spectrum(t[a:b], rr[a:b], valid[a:b], method=method)).ratio
                    for a, b in zip(lo, hi)])
    assert np.isnan(ref).any() and np.isfinite(ref).sum() > 300
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-9, atol=0.0)
    got_all = coherence_ratios(t, rr, None, lo, hi, method=method)
    ref_all = [coherence_from_spectrum(coherence_spectrum(t[a:b], rr[a:b], None, method=method)).ratio
               for a, b in zip(lo, hi)]
    np.testing.assert_allclose(got_all, ref_all, rtol=1e-9, atol=0.0)


def test_compiled_pairwise_sum_is_numpys_sum_bit_for_bit() -> None:
    """The mean removed in coherence_ratios is numpy's np.add.reduce exactly (lengths across the
    8-accumulator and 128-value block boundaries)."""
    from biofeedback.hrv._kernels import pairwise_sum

    rng = np.random.default_rng(3)
    for n in [0, 1, 7, 8, 9, 127, 128, 129, 255, 256, 257, 300, 1000, 4099]:
        a = 800.0 + 50.0 * rng.standard_normal(n)
        assert pairwise_sum(a, 0, n) == np.add.reduce(a), n
