"""Frequency-domain indices of many windows in batched calls (biofeedback/hrv/batch.py): the values of
frequency_domain on each window, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.hrv.batch import FREQUENCY_ROW_KEYS, frequency_domain_rows
from biofeedback.hrv.frequency_domain import frequency_domain


def _beats(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    rr = 900.0 + 60.0 * np.sin(2 * np.pi * i / 10.0) + rng.normal(0.0, 15.0, n)
    t = np.cumsum(rr) / 1000.0
    valid = rng.random(n) > 0.03  # a few removed beats: the spline bridges them
    return t, rr, valid


@pytest.mark.parametrize("nfft", [None, 1200], ids=["own_length", "settings_v3_nfft"])
@pytest.mark.parametrize("use_valid", [True, False])
def test_every_window_equals_frequency_domain_alone_bit_for_bit(use_valid: bool, nfft: int | None) -> None:
    t, rr, valid = _beats(6_000, 4)
    v = valid if use_valid else None
    # 60 s and 120 s windows every 15 s (more than one batch of 512), windows of 0-3 beats (no
    # spectrum), and windows longer than one 300 s Welch segment (averaged segments: the general path)
    starts = np.arange(0.0, t[-1] - 120.0, 15.0)
    lo = np.concatenate([t.searchsorted(starts), t.searchsorted(starts), [10, 10, 10, 0, 100]])
    hi = np.concatenate([t.searchsorted(starts + 60.0), t.searchsorted(starts + 120.0), [10, 12, 13, 900, 2_000]])
    assert lo.size > 512
    rows = frequency_domain_rows(t, rr, v, lo, hi, nfft=nfft)
    for k, (a, b) in enumerate(zip(lo.tolist(), hi.tolist())):
        want = frequency_domain(t[a:b], rr[a:b], None if v is None else v[a:b], nfft=nfft)
        for key in FREQUENCY_ROW_KEYS:
            got, exp = rows[key][k], getattr(want, key)
            assert np.float64(got).tobytes() == np.float64(exp).tobytes(), (k, key, got, exp)
    assert np.isnan(rows["lf_ms2"][-5:-2]).all() and np.isfinite(rows["lf_ms2"][-2:]).all()


def test_a_window_whose_valid_beats_go_back_in_time_is_refused_as_frequency_domain_does() -> None:
    t, rr, _ = _beats(300, 5)
    t = t.copy()
    t[150] = t[148]
    with pytest.raises(ValueError, match="strictly increasing"):
        frequency_domain(t[100:200], rr[100:200])
    with pytest.raises(ValueError, match="strictly increasing"):
        frequency_domain_rows(t, rr, None, [0, 100], [90, 200])
