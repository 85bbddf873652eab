"""Time-domain indices: hand-computed cases, invariants (Hypothesis) and NeuroKit2 agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.hrv.successive import successive_differences_ms, successive_pair_mask
from biofeedback.hrv.time_domain import (
    TimeDomain,
    baevsky_stress_index,
    hr_range_bpm,
    ln_rmssd,
    mean_hr_bpm,
    mean_rr_ms,
    pnnxx_pct,
    poincare_sd_ms,
    rmssd_ms,
    sdnn_ms,
    stress_index,
    time_domain,
)

RR = [800.0, 860.0, 850.0, 880.0, 790.0]


def test_hand_computed_small_series() -> None:
    # diffs: +60, -10, +30, -90  (4 successive differences)
    td = time_domain(RR)
    assert td.n_beats == 5
    assert td.mean_rr_ms == pytest.approx((800 + 860 + 850 + 880 + 790) / 5)  # 836
    dev = [800 - 836, 860 - 836, 850 - 836, 880 - 836, 790 - 836]  # -36, 24, 14, 44, -46
    assert td.sdnn_ms == pytest.approx(math.sqrt(sum(d * d for d in dev) / 4))  # sqrt(6120/4)
    assert td.rmssd_ms == pytest.approx(math.sqrt((60**2 + 10**2 + 30**2 + 90**2) / 4))  # sqrt(12700/4)
    assert td.rmssd_ms == pytest.approx(56.347138, rel=1e-7)
    assert td.ln_rmssd == pytest.approx(math.log(math.sqrt(3175.0)))
    assert td.pnn50_pct == pytest.approx(100 * 2 / 4)  # |60| and |90| exceed 50
    assert td.pnn20_pct == pytest.approx(100 * 3 / 4)  # 60, 30, 90 exceed 20 (10 does not)
    # Poincaré: (x - y)/sqrt2 = -d/sqrt2 with d = 60, -10, 30, -90 (mean -2.5)
    d = np.array([60.0, -10.0, 30.0, -90.0])
    assert td.sd1_ms == pytest.approx(math.sqrt(sum((d - d.mean()) ** 2) / 3 / 2))
    s = np.array([800 + 860, 860 + 850, 850 + 880, 880 + 790]) / math.sqrt(2)
    assert td.sd2_ms == pytest.approx(math.sqrt(sum((s - s.mean()) ** 2) / 3))
    assert td.sd1_sd2 == pytest.approx(td.sd1_ms / td.sd2_ms)
    # HR: 60000/790 - 60000/880
    assert td.hr_range_bpm == pytest.approx(75.9493670886 - 68.1818181818)
    assert td.mean_hr_bpm == pytest.approx(sum(60000 / r for r in RR) / 5)


def test_stress_index_hand_computed() -> None:
    # 50 ms bins: [750,800) holds 790; [800,850) holds 800; [850,900) holds 860, 850, 880.
    # Mo = 0.875 s, AMo = 3/5 = 60 %, MxDMn = (880 - 790) ms = 0.09 s.
    si = 60.0 / (2 * 0.875 * 0.09)
    assert baevsky_stress_index(RR) == pytest.approx(si)  # 380.95
    assert stress_index(RR) == pytest.approx(math.sqrt(si))  # Kubios' square-root form
    assert time_domain(RR).stress_index == pytest.approx(math.sqrt(si))
    # a 100 ms bin puts 800, 860, 850, 880 together ([800, 900)): Mo 0.85 s, AMo 80 %
    assert baevsky_stress_index(RR, bin_ms=100.0) == pytest.approx(80.0 / (2 * 0.85 * 0.09))
    # ties pick the lowest bin: 800 | 900 -> Mo 0.825 s, AMo 50 %, MxDMn 0.1 s
    assert baevsky_stress_index([800.0, 900.0]) == pytest.approx(50.0 / (2 * 0.825 * 0.1))


def test_invalid_beat_and_gap_give_the_same_differences() -> None:
    rr = [800.0, 820.0, 1500.0, 830.0, 845.0]
    removed = successive_differences_ms(rr, valid=[True, True, False, True, True])
    rr_gap = [800.0, 820.0, 830.0, 845.0]
    gap = successive_differences_ms(rr_gap, breaks=[False, False, True, False])
    assert removed.tolist() == gap.tolist() == [20.0, 15.0]
    assert successive_pair_mask(5, valid=[True, True, False, True, True]).tolist() == [True, False, False, True]


def test_short_data_gives_nan_not_errors() -> None:
    empty = time_domain([])
    assert empty.n_beats == 0 and math.isnan(empty.mean_rr_ms) and math.isnan(empty.rmssd_ms)
    one = time_domain([800.0])
    assert one.mean_rr_ms == 800.0 and math.isnan(one.sdnn_ms) and math.isnan(one.rmssd_ms)
    two = time_domain([800.0, 820.0])
    assert two.rmssd_ms == 20.0 and math.isnan(two.sd1_ms) and math.isnan(two.sd2_ms)
    # all beats invalid
    none = time_domain([800.0, 820.0, 830.0], valid=[False, False, False])
    assert none.n_beats == 0 and math.isnan(none.mean_hr_bpm) and math.isnan(none.pnn50_pct)
    # a constant series: RMSSD 0, ln RMSSD -inf, SI infinite (MxDMn = 0)
    flat = time_domain([800.0] * 5)
    assert flat.rmssd_ms == 0.0 and flat.ln_rmssd == -math.inf and math.isinf(flat.stress_index)


def test_bad_shapes_are_rejected_with_a_message() -> None:
    with pytest.raises(ValueError, match="valid has shape"):
        time_domain([800.0, 810.0], valid=[True])
    with pytest.raises(ValueError, match="one-dimensional"):
        time_domain([[800.0, 810.0]])


def _small_function_values(rr, valid, breaks) -> dict[str, float]:
    """What each small time-domain function says about the beats (the reference for time_domain)."""
    sd1, sd2 = poincare_sd_ms(rr, valid, breaks)
    return {
        "mean_rr_ms": mean_rr_ms(rr, valid),
        "mean_hr_bpm": mean_hr_bpm(rr, valid),
        "sdnn_ms": sdnn_ms(rr, valid),
        "rmssd_ms": rmssd_ms(rr, valid, breaks),
        "ln_rmssd": ln_rmssd(rr, valid, breaks),
        "pnn50_pct": pnnxx_pct(rr, 50.0, valid, breaks),
        "pnn20_pct": pnnxx_pct(rr, 20.0, valid, breaks),
        "sd1_ms": sd1,
        "sd2_ms": sd2,
        "stress_index": stress_index(rr, valid),
        "hr_range_bpm": hr_range_bpm(rr, valid),
    }


def test_time_domain_equals_the_small_functions() -> None:
    rng = np.random.default_rng(7)
    rr = 850 + 60 * rng.standard_normal(300)
    valid = rng.random(300) > 0.1
    breaks = rng.random(300) > 0.95
    td = time_domain(rr, valid, breaks)
    expected = _small_function_values(rr, valid, breaks)
    for key, value in expected.items():
        assert getattr(td, key) == pytest.approx(value, rel=1e-12), key
    assert td.n_beats == int(valid.sum())
    assert isinstance(td, TimeDomain) and set(td.to_dict()) >= set(expected)


rr_lists = st.lists(st.floats(300.0, 2000.0, allow_nan=False), min_size=3, max_size=80)


@settings(max_examples=60, deadline=None)
@given(rr=rr_lists, offset=st.floats(-250.0, 250.0), seed=st.integers(0, 2**32 - 1))
def test_properties_offset_invariance_and_nonnegativity(rr: list[float], offset: float, seed: int) -> None:
    a = np.array(rr)
    valid = np.random.default_rng(seed).random(a.size) > 0.2
    r = rmssd_ms(a, valid)
    assert math.isnan(r) or r >= 0.0
    # RMSSD, SDNN, SD1, SD2 and pNNxx depend only on differences from the mean / successive diffs
    b = a + offset
    for f in (rmssd_ms, sdnn_ms):
        x, y = f(a, valid), f(b, valid)
        assert (math.isnan(x) and math.isnan(y)) or y == pytest.approx(x, rel=1e-9, abs=1e-6)
    ta, tb = time_domain(a, valid), time_domain(b, valid)
    for key in ("sd1_ms", "sd2_ms", "pnn50_pct", "pnn20_pct"):
        x, y = getattr(ta, key), getattr(tb, key)
        assert (math.isnan(x) and math.isnan(y)) or y == pytest.approx(x, rel=1e-9, abs=1e-6), key


@settings(max_examples=60, deadline=None)
@given(rr=rr_lists, seed=st.integers(0, 2**32 - 1))
def test_property_masked_beat_equals_a_break(rr: list[float], seed: int) -> None:
    """Removing beat k (valid=False) gives the same differences as deleting it and marking a break
    before the beat that followed it (and before the removed beat's own position)."""
    a = np.array(rr)
    valid = np.random.default_rng(seed).random(a.size) > 0.3
    masked = successive_differences_ms(a, valid=valid)
    kept = a[valid]
    breaks = np.zeros(kept.size, dtype=bool)
    idx = np.flatnonzero(valid)
    breaks[1:] = np.diff(idx) > 1  # a removed beat lay between these two kept beats
    assert masked.tolist() == successive_differences_ms(kept, breaks=breaks).tolist()
    # and no difference ever involves an invalid beat
    assert masked.size == int(np.sum(valid[:-1] & valid[1:]))


@settings(max_examples=40, deadline=None)
@given(rr=rr_lists, cut=st.integers(1, 79))
def test_property_chunked_differences_equal_whole(rr: list[float], cut: int) -> None:
    """Differences of a series = differences of two chunks + the one pair across the cut."""
    a = np.array(rr)
    cut = min(cut, a.size - 1)
    whole = successive_differences_ms(a)
    parts = np.concatenate([successive_differences_ms(a[:cut]), [a[cut] - a[cut - 1]], successive_differences_ms(a[cut:])])
    assert whole.tolist() == parts.tolist()
    # a break at the cut drops exactly that pair
    breaks = np.zeros(a.size, dtype=bool)
    breaks[cut] = True
    split = np.concatenate([successive_differences_ms(a[:cut]), successive_differences_ms(a[cut:])])
    assert successive_differences_ms(a, breaks=breaks).tolist() == split.tolist()


def test_agrees_with_neurokit2_hrv_time() -> None:
    """NeuroKit2 0.2.x ``hrv_time`` on {RRI, RRI_Time}: MeanNN, SDNN (ddof=1), RMSSD are the same
    formulas (tolerance 1e-9 relative, floating point only). Its pNN50/pNN20 divide NN50 by
    (number of differences + 1), ours by the number of differences, so ours = NK · (M+1)/M
    exactly. SD1 = SDSD/√2 (NK's SDSD is the ddof=1 SD of the differences). A removed beat is
    given to NeuroKit as NaN, which it excludes from the differences just as ``valid`` does."""
    nk = pytest.importorskip("neurokit2")
    rng = np.random.default_rng(3)
    rr = 900 + 50 * rng.standard_normal(200) + 30 * np.sin(np.arange(200) * 0.6)
    t = np.cumsum(rr) / 1000
    valid = np.ones(rr.size, dtype=bool)
    valid[[20, 21, 90, 150]] = False
    rr_nan = np.where(valid, rr, np.nan)
    out = nk.hrv_time({"RRI": rr_nan, "RRI_Time": t}).iloc[0]
    ours = time_domain(rr, valid)
    m = successive_differences_ms(rr, valid).size
    assert ours.mean_rr_ms == pytest.approx(out["HRV_MeanNN"], rel=1e-9)
    assert ours.sdnn_ms == pytest.approx(out["HRV_SDNN"], rel=1e-9)
    assert ours.rmssd_ms == pytest.approx(out["HRV_RMSSD"], rel=1e-9)
    assert ours.pnn50_pct == pytest.approx(out["HRV_pNN50"] * (m + 1) / m, rel=1e-9)
    assert ours.pnn20_pct == pytest.approx(out["HRV_pNN20"] * (m + 1) / m, rel=1e-9)
    assert ours.sd1_ms == pytest.approx(out["HRV_SDSD"] / math.sqrt(2), rel=1e-9)


@settings(max_examples=80, deadline=None)
@given(rr=st.lists(st.floats(300.0, 2000.0, allow_nan=False), min_size=0, max_size=200), seed=st.integers(0, 2**32 - 1))
def test_property_time_domain_equals_the_small_functions(rr: list[float], seed: int) -> None:
    """The compiled one-pass time domain == the small numpy functions, with random masks."""
    a = np.array(rr)
    rng = np.random.default_rng(seed)
    valid = rng.random(a.size) > 0.2
    breaks = rng.random(a.size) > 0.9
    td = time_domain(a, valid, breaks)
    for key, value in _small_function_values(a, valid, breaks).items():
        got = getattr(td, key)
        if math.isnan(value):
            assert math.isnan(got), key
        else:
            assert got == pytest.approx(value, rel=1e-9, abs=1e-9), key
