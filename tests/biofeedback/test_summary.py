"""Whole-recording summary: exact JSON keys and order, consistency with the kernels."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from biofeedback.hrv.coherence import coherence
from biofeedback.hrv.frequency_domain import frequency_domain
from biofeedback.hrv.summary import SUMMARY_KEYS, Summary, mean_coherence, summarize
from biofeedback.hrv.time_domain import time_domain

CONTRACT_KEYS = (
    "n_beats duration_s mean_rr_ms mean_hr_bpm sdnn_ms rmssd_ms ln_rmssd pnn50_pct pnn20_pct sd1_ms sd2_ms "
    "stress_index vlf_ms2 lf_ms2 hf_ms2 total_power_ms2 lf_hf lf_nu hf_nu lf_peak_hz hf_peak_hz coherence "
    "artifacts_pct nn50 lf_ar_ms2 hf_ar_ms2 lf_hf_ar apen sampen dfa_alpha1 dfa_alpha2 hrv_triangular_index tinn_ms"
).split()


def _recording(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return 900.0 + 50.0 * np.sin(2 * np.pi * 0.1 * k * 0.9) + 10.0 * rng.standard_normal(n)


def test_keys_and_order_are_the_contract() -> None:
    assert list(SUMMARY_KEYS) == CONTRACT_KEYS
    d = summarize(_recording()).to_json_dict()
    assert list(d) == CONTRACT_KEYS
    assert isinstance(d["n_beats"], int)
    json.dumps(d, allow_nan=False)


def test_nan_becomes_null() -> None:
    d = summarize([800.0, 810.0]).to_json_dict()
    assert d["lf_ms2"] is None and d["coherence"] is None and d["sd1_ms"] is None
    assert d["rmssd_ms"] == 10.0 and d["n_beats"] == 2
    assert json.loads(json.dumps(d, allow_nan=False))["lf_hf"] is None
    empty = summarize([])
    assert empty.n_beats == 0 and empty.duration_s == 0.0 and math.isnan(empty.mean_rr_ms)


def test_values_are_the_kernels() -> None:
    rr = _recording()
    t = np.cumsum(rr) / 1000.0
    valid = np.ones(rr.size, dtype=bool)
    valid[[10, 200]] = False
    breaks = np.zeros(rr.size, dtype=bool)
    breaks[300] = True
    s = summarize(rr, t, valid, breaks)
    td = time_domain(rr, valid, breaks)
    fd = frequency_domain(t, rr, valid)
    for key in ("mean_rr_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "sd1_ms", "stress_index"):
        assert getattr(s, key) == getattr(td, key), key
    for key in ("vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf", "lf_nu", "lf_peak_hz"):
        assert getattr(s, key) == getattr(fd, key), key
    assert s.artifacts_pct == pytest.approx(100 * 2 / 400)  # from valid
    assert summarize(rr, t, valid, artifacts_pct=3.0).artifacts_pct == 3.0  # passed in wins
    assert s.duration_s == pytest.approx(t[-1] - t[0] + rr[0] / 1000)
    assert s.n_beats == 400
    assert isinstance(s, Summary)


def test_mean_coherence_is_the_mean_over_windows_every_5_s() -> None:
    rr = _recording(200)
    t = np.cumsum(rr) / 1000.0
    start = t[0] - rr[0] / 1000
    ends = np.arange(start + 64.0, t[-1] + 1e-9, 5.0)
    ratios = [coherence(t[(t >= e - 64) & (t <= e)], rr[(t >= e - 64) & (t <= e)]).ratio for e in ends]
    assert len(ratios) == int((t[-1] - start - 64.0) // 5.0) + 1
    assert mean_coherence(t, rr) == pytest.approx(np.mean(ratios), rel=1e-12)
    assert summarize(rr).coherence == pytest.approx(np.mean(ratios), rel=1e-12)
    assert math.isnan(mean_coherence(t[:50], rr[:50]))  # shorter than 64 s


def test_lomb_option_and_gaps_in_t_s() -> None:
    rr = _recording()
    t = np.cumsum(rr) / 1000.0
    t[200:] += 30.0  # a 30 s dropout
    breaks = np.zeros(rr.size, dtype=bool)
    breaks[200] = True
    s = summarize(rr, t, breaks=breaks, method="lomb")
    assert s.duration_s == pytest.approx(rr.sum() / 1000 + 30.0)
    assert s.lf_ms2 > 0 and s.lf_ms2 == frequency_domain(t, rr, method="lomb").lf_ms2
    assert s.rmssd_ms == time_domain(rr, breaks=breaks).rmssd_ms


@pytest.mark.parametrize(
    "module",
    [
        "successive",
        "time_domain",
        "interpolation",
        "frequency_domain",
        "coherence",
        "resonance",
        "autonomic",
        "relaxation",
        "summary",
        "entropy",
        "dfa",
        "ar_spectrum",
        "geometric",
        "extended",
        "policy",
        "quality",
        "notes",
        "artifacts.correction",
        "artifacts.scoring",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    """Every numpydoc example in biofeedback.hrv runs and prints what it says."""
    import doctest
    import importlib

    mod = importlib.import_module(f"biofeedback.hrv.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
