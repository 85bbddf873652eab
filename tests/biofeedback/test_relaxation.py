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
