"""Relaxation index 0-100 relative to the user's baseline."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.hrv.relaxation import Baseline, relaxation_index

BASE = Baseline(ln_rmssd=3.5, mean_hr_bpm=70.0, coherence=0.5)
NAN = float("nan")


def test_baseline_is_50_and_hand_computed_values() -> None:
    assert relaxation_index(3.5, 70.0, 0.5, BASE) == 50.0
    # every term +1 (lnRMSSD +0.25, HR −5, ln(1+C) +0.5): x = 1 -> 100/(1+e⁻¹) = 73.1059
    coh = math.exp(math.log1p(0.5) + 0.5) - 1
    assert relaxation_index(3.75, 65.0, coh, BASE) == pytest.approx(100 / (1 + math.exp(-1)))
    # every term −2: x = −2 -> 100/(1+e²) = 11.9203
    coh = math.exp(math.log1p(0.5) - 1.0) - 1
    assert relaxation_index(3.0, 80.0, coh, BASE) == pytest.approx(100 / (1 + math.exp(2)))


def test_undefined_terms_are_left_out() -> None:
    # coherence unknown: x = (+1 + +1)/2 = 1
    assert relaxation_index(3.75, 65.0, NAN, BASE) == pytest.approx(100 / (1 + math.exp(-1)))
    no_coh_base = Baseline(3.5, 70.0, NAN)
    # baseline coherence unknown: lnRMSSD +1, HR 0 -> x = (1 + 0)/2
    assert relaxation_index(3.75, 70.0, 3.0, no_coh_base) == pytest.approx(100 / (1 + math.exp(-0.5)))
    assert math.isnan(relaxation_index(NAN, NAN, NAN, BASE))
    assert math.isnan(relaxation_index(-math.inf, NAN, NAN, BASE))  # ln RMSSD of a flat series
    assert Baseline.from_dict(BASE.to_dict()) == BASE


@settings(max_examples=100, deadline=None)
@given(
    ln_rmssd=st.floats(0.0, 6.0),
    hr=st.floats(35.0, 200.0),
    coh=st.floats(0.0, 50.0),
    d=st.floats(0.01, 1.0),
)
def test_properties_bounded_and_monotone(ln_rmssd: float, hr: float, coh: float, d: float) -> None:
    r = relaxation_index(ln_rmssd, hr, coh, BASE)
    assert 0.0 <= r <= 100.0
    assert relaxation_index(ln_rmssd + d, hr, coh, BASE) >= r  # more vagal HRV: more relaxed
    assert relaxation_index(ln_rmssd, hr - 10 * d, coh, BASE) >= r  # lower HR: more relaxed
    assert relaxation_index(ln_rmssd, hr, coh + d, BASE) >= r  # more coherent: more relaxed


def _relaxation_as_first_written(ln_rmssd: float, mean_hr_bpm: float, coherence: float, b: Baseline) -> float:
    """The index as written before its per-beat speed-up (a list of terms, ``sum``/``len``): the
    reference the fast version must equal bit for bit (replay of stored sessions depends on it)."""
    terms = []
    if math.isfinite(ln_rmssd) and math.isfinite(b.ln_rmssd):
        terms.append((ln_rmssd - b.ln_rmssd) / 0.25)
    if math.isfinite(mean_hr_bpm) and math.isfinite(b.mean_hr_bpm):
        terms.append(-(mean_hr_bpm - b.mean_hr_bpm) / 5.0)
    if math.isfinite(coherence) and math.isfinite(b.coherence) and coherence > -1 and b.coherence > -1:
        terms.append((math.log1p(coherence) - math.log1p(b.coherence)) / 0.5)
    if not terms:
        return float("nan")
    x = sum(terms) / len(terms)
    if x >= 0:
        return 100.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return 100.0 * e / (1.0 + e)


_any_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                       st.sampled_from([0.0, -0.0, -1.0, -1.5, 1e-300, math.nan, math.inf, -math.inf]))


@settings(max_examples=500, deadline=None)
@given(_any_float, _any_float, _any_float, _any_float, _any_float, _any_float)
def test_same_bits_as_first_written(ln_rmssd: float, hr: float, coh: float, b_ln: float, b_hr: float,
                                    b_coh: float) -> None:
    b = Baseline(b_ln, b_hr, b_coh)
    try:
        want = _relaxation_as_first_written(ln_rmssd, hr, coh, b)
    except OverflowError as exc:  # math.exp of a huge x: the same error
        with pytest.raises(type(exc)):
            relaxation_index(ln_rmssd, hr, coh, b)
        return
    got = relaxation_index(ln_rmssd, hr, coh, b)
    assert (math.isnan(want) and math.isnan(got)) or got.hex() == want.hex()
