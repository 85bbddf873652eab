"""The extended Kubios indices: hand-computed cases, brute-force definitions and NeuroKit2 where they agree."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeedback.hrv.ar_spectrum import AR_GRID_HZ, ar_spectrum, armcov
from biofeedback.hrv.dfa import dfa, dfa_alpha, fluctuation_ms
from biofeedback.hrv.entropy import _match_counts, entropies
from biofeedback.hrv.extended import EXTENDED_KEYS, extended_indices
from biofeedback.hrv.geometric import HIST_BIN_MS, rr_histogram, tinn_ms, triangular_index
from biofeedback.hrv.summary import SUMMARY_KEYS, summarize
from biofeedback.hrv.time_domain import nnxx_count, pnnxx_pct

W = HIST_BIN_MS


def _rr(seed: int, n: int, quantum_ms: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 850.0 + np.cumsum(rng.standard_normal(n)) * 3.0 + 40.0 * rng.standard_normal(n)
    return np.round(x / quantum_ms) * quantum_ms


def _nk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import neurokit2 as nk
    return nk


# -- NN50 ---------------------------------------------------------------------------------------
def test_nn50_by_hand_and_only_between_valid_neighbours() -> None:
    rr = [800.0, 860.0, 850.0, 920.0, 700.0]  # diffs 60, -10, 70, -220
    assert nnxx_count(rr, 50.0) == 3
    assert nnxx_count(rr, 50.0, valid=[True, True, True, False, True]) == 1  # 60 only
    assert nnxx_count(rr, 50.0, breaks=[False, False, False, True, False]) == 2  # no diff into beat 3
    assert nnxx_count(rr, 50.0) == pytest.approx(pnnxx_pct(rr, 50.0) * 4 / 100)
    assert nnxx_count([800.0], 50.0) == 0


# -- ApEn / SampEn ------------------------------------------------------------------------------
def _brute(x: np.ndarray, m: int, r: float) -> tuple[float, float, float]:
    """All-pairs ApEn, SampEn (issue / Kubios form) and SampEn over N-m templates for both counts."""
    n = x.size

    def matches(k: int, count: int) -> np.ndarray:
        t = np.lib.stride_tricks.sliding_window_view(x, k)[:count]
        return (np.max(np.abs(t[:, None, :] - t[None, :, :]), axis=2) <= r).sum(axis=1)  # self included

    cm, cm1 = matches(m, n - m + 1), matches(m + 1, n - m)
    apen = float(np.mean(np.log(cm / (n - m + 1))) - np.mean(np.log(cm1 / (n - m))))
    b, a = float(cm.sum() - (n - m + 1)), float(cm1.sum() - (n - m))
    b_same = float(matches(m, n - m).sum() - (n - m))
    if a == 0 or b == 0:
        return apen, math.nan, math.nan
    sampen = -math.log((a / ((n - m) * (n - m - 1))) / (b / ((n - m + 1) * (n - m))))
    return apen, sampen, -math.log(a / b_same)


def test_entropies_by_hand() -> None:
    # 1 2 1 2 1, r = 0.5: B = 4 ordered pairs of length-2 templates, A = 2 of length 3
    e = entropies([1.0, 2.0, 1.0, 2.0, 1.0], r_ms=0.5)
    assert e.sampen == 0.0  # -ln[(2/(3·2)) / (4/(4·3))]
    assert e.apen == pytest.approx(math.log(2 / 4) - (2 * math.log(2 / 3) + math.log(1 / 3)) / 3, abs=1e-15)
    # default r = 0.2 · SDNN (ddof 1)
    x = _rr(0, 50)
    assert entropies(x).r_ms == pytest.approx(0.2 * float(np.std(x, ddof=1)), rel=1e-15)
    # undefined: too short, or no match of length m+1
    assert math.isnan(entropies([800.0, 810.0, 820.0]).sampen)
    assert math.isnan(entropies([1.0, 5.0, 9.0, 13.0, 17.0], r_ms=0.1).sampen)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(8, 250), quantum=st.sampled_from([1.0, 1000 / 1024, 1e-6]),
       r_sd=st.floats(0.05, 0.5))
def test_entropies_equal_the_all_pairs_definition(seed: int, n: int, quantum: float, r_sd: float) -> None:
    x = _rr(seed, n, quantum)
    r = r_sd * float(np.std(x, ddof=1))
    apen, sampen, _ = _brute(x, 2, r)
    e = entropies(x, r_ms=r)
    assert e.apen == pytest.approx(apen, rel=1e-12, abs=1e-12)
    if math.isfinite(sampen):
        assert e.sampen == pytest.approx(sampen, rel=1e-12, abs=1e-12)
    else:
        assert math.isnan(e.sampen)


def _brute_counts(x: np.ndarray, m: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs match counts (self excluded) of the length-m and length-(m+1) templates."""
    def counts(k: int, count: int) -> np.ndarray:
        t = np.lib.stride_tricks.sliding_window_view(x, k)[:count]
        return (np.max(np.abs(t[:, None, :] - t[None, :, :]), axis=2) <= r).sum(axis=1) - 1
    return counts(m, x.size - m + 1), counts(m + 1, x.size - m)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(3, 300), quantum=st.sampled_from([1.0, 1000 / 1024, 7.8125, 1e-6]),
       r_sd=st.sampled_from([0.0, 0.05, 0.2, 0.5, 3.0]), m=st.sampled_from([1, 2]))
def test_both_match_counters_equal_the_all_pairs_counts(seed: int, n: int, quantum: float, r_sd: float,
                                                        m: int) -> None:
    # the rank sweep (few distinct values) and the distinct-template scan (max_ranks=0) count alike
    x = _rr(seed, n, quantum)
    r = r_sd * float(np.std(x, ddof=1))
    want = _brute_counts(x, m, r)
    for max_ranks in (4096, 0):
        got = _match_counts(x, m, r, max_ranks=max_ranks)
        assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_match_counts_on_a_boundary_of_the_tolerance() -> None:
    # differences exactly r and one ulp above it, on quantised values: the sweep uses abs(u - v) <= r
    x = np.array([800.0, 810.0, 820.0, 810.0, 800.0, 830.0, 810.0, 820.0, 840.0, 800.0])
    for r in (10.0, np.nextafter(10.0, 0.0), 20.0, 0.0):
        want = _brute_counts(x, 2, r)
        got = _match_counts(x, 2, r)
        assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_entropies_against_neurokit2() -> None:
    nk = _nk()
    x = _rr(3, 600)
    e = entropies(x)
    # ApEn: the same definition (Pincus, self-matches, natural log)
    assert e.apen == pytest.approx(nk.entropy_approximate(x, dimension=2, tolerance=e.r_ms)[0], rel=1e-12)
    # SampEn: NeuroKit2 counts B over the first N-m templates (Richman & Moorman's form); Kubios'
    # (the issue's) over all N-m+1. Ours equals the latter; NeuroKit2 equals the former; both close.
    _, kubios_form, nk_form = _brute(x, 2, e.r_ms)
    assert e.sampen == pytest.approx(kubios_form, rel=1e-12)
    assert nk.entropy_sample(x, dimension=2, tolerance=e.r_ms)[0] == pytest.approx(nk_form, rel=1e-12)
    assert e.sampen == pytest.approx(nk_form, rel=0.01)


def test_entropies_are_excluded_beats_aware() -> None:
    x = _rr(4, 200)
    bad = x.copy()
    bad[50] = 3000.0
    valid = np.ones(x.size, dtype=bool)
    valid[50] = False
    assert entropies(bad, valid) == entropies(np.delete(x, 50))


# -- DFA ----------------------------------------------------------------------------------------
def test_dfa_by_hand() -> None:
    # a profile that is a straight line in each box of 3 has F(3) = 0; box of 2 on 5 samples drops one
    assert fluctuation_ms(np.array([0.0, 1.0, 2.0, 5.0, 5.0, 5.0]), 3) == 0.0
    # boxes of 3 on 0 1 0 | 0 1 0: line fit of (0, 1, 0) is flat at 1/3; residuals -1/3, 2/3, -1/3
    assert fluctuation_ms(np.array([0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 9.0]), 3) == pytest.approx(math.sqrt(2 / 9))
    # x_k = 2k - 1: the profile is k² minus a line; in every box the residual of a parabola after a
    # line fit is the same, with Σ residual² = n(n²-1)(n²-4)/180, so F(n)² = (n²-1)(n²-4)/180
    k = np.arange(1, 401, dtype=np.float64)
    x = 2.0 * k - 1.0
    ns = np.arange(4, 17, dtype=np.float64)
    f = np.sqrt((ns**2 - 1) * (ns**2 - 4) / 180.0)
    assert fluctuation_ms(np.cumsum(x - x.mean()), 7) == pytest.approx(f[3], rel=1e-9)
    assert dfa_alpha(x, beats=(4, 16)) == pytest.approx(np.polyfit(np.log(ns), np.log(f), 1)[0], rel=1e-9)
    with pytest.raises(ValueError):
        dfa_alpha(x, beats=(16, 4))
    assert math.isnan(dfa_alpha(x[:7], beats=(4, 16)))


@pytest.mark.parametrize("beats", [(4, 16), (17, 64), (5, 30)])
def test_dfa_equals_neurokit2_without_overlap(beats: tuple[int, int]) -> None:
    nk = _nk()
    x = _rr(5, 1500)
    ref, _ = nk.fractal_dfa(x, scale=np.arange(beats[0], beats[1] + 1), overlap=False)
    assert dfa_alpha(x, beats=beats) == pytest.approx(ref, rel=1e-10)
    d = dfa(x, short_beats=beats)
    assert d.alpha1 == pytest.approx(ref, rel=1e-10) and d.short_beats == beats


# -- AR spectrum --------------------------------------------------------------------------------
def test_armcov_by_hand_and_against_a_qr_least_squares() -> None:
    a, s2 = armcov([1.0, 2.0, -1.0, 1.0], 1)
    assert a[0] == pytest.approx(1 / 6, rel=1e-14) and s2 == pytest.approx(35 / 18, rel=1e-14)
    z = np.cumsum(np.random.default_rng(2).standard_normal(3000))
    z = z - z.mean()
    p = 16
    w = np.lib.stride_tricks.sliding_window_view(z, p + 1)
    x = np.vstack([w[:, p - 1 :: -1], w[:, 1:]])
    y = np.concatenate([w[:, p], w[:, 0]])
    ref = -np.linalg.lstsq(x, y, rcond=None)[0]
    a, s2 = armcov(z, p)
    assert np.allclose(a, ref, rtol=1e-9, atol=1e-12)
    assert s2 == pytest.approx(float(np.sum((y + x @ ref) ** 2)) / (2 * (z.size - p)), rel=1e-9)


def test_armcov_recovers_a_known_ar2_process() -> None:
    rng = np.random.default_rng(7)
    e = rng.standard_normal(20000)
    z = np.zeros_like(e)
    for n in range(2, z.size):  # z_n - 1.5 z_{n-1} + 0.8 z_{n-2} = e_n
        z[n] = 1.5 * z[n - 1] - 0.8 * z[n - 2] + e[n]
    a, s2 = armcov(z, 2)
    assert a == pytest.approx([-1.5, 0.8], abs=0.01)
    assert s2 == pytest.approx(1.0, abs=0.03)


def test_ar_spectrum_grid_bands_and_removed_beats() -> None:
    x = _rr(8, 400)
    ar = ar_spectrum(None, x)
    f = ar.spectrum.freq_hz
    assert f[1] == pytest.approx(AR_GRID_HZ) and f[-1] == pytest.approx(2.0) and f.size == 601
    # bands by the trapezoid rule on the grid (edges 0.04 = 12/300, 0.15 = 45/300, 0.4 = 120/300)
    p = ar.spectrum.psd_ms2_per_hz
    assert ar.lf_ar_ms2 == pytest.approx(np.trapezoid(p[12:46], f[12:46]), rel=1e-12)
    assert ar.hf_ar_ms2 == pytest.approx(np.trapezoid(p[45:121], f[45:121]), rel=1e-12)
    assert ar.lf_hf_ar == pytest.approx(ar.lf_ar_ms2 / ar.hf_ar_ms2)
    # the one-sided PSD integrates to about the variance of the 4 Hz series
    assert np.trapezoid(p, f) == pytest.approx(float(np.var(x)), rel=0.35)
    valid = np.ones(x.size, dtype=bool)
    valid[100] = False
    t = np.cumsum(x) / 1000.0
    assert ar_spectrum(t, x, valid).lf_ar_ms2 == ar_spectrum(np.delete(t, 100), np.delete(x, 100)).lf_ar_ms2
    assert math.isnan(ar_spectrum(None, [800.0] * 3).lf_ar_ms2)


# -- geometric ----------------------------------------------------------------------------------
def test_triangular_index_bins_from_zero_by_hand() -> None:
    # 1/128 s bins from 0: 800, 801, 803 ms share bin 102 ([796.875, 804.6875)); 805 is in bin 103
    assert rr_histogram([800.0, 801.0, 803.0, 805.0])[102:].tolist() == [3, 1]
    assert triangular_index([800.0, 801.0, 803.0, 805.0]) == 4 / 3
    # bins from the minimum would put 800-807.8 together (4 in one bin): another value
    assert math.isnan(triangular_index([]))


def test_triangular_index_equals_neurokit2() -> None:
    nk = _nk()
    x = _rr(9, 800)
    peaks = nk.intervals_to_peaks(x, sampling_rate=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hti = float(nk.hrv_time(peaks, sampling_rate=1000)["HRV_HTI"].iloc[0])
    assert triangular_index(np.diff(peaks).astype(float)) == pytest.approx(hti, rel=1e-12)


def test_tinn_by_hand() -> None:
    rr = [100.5 * W] + [101.5 * W] * 2 + [102.5 * W] * 4 + [103.5 * W] * 2 + [104.5 * W]
    assert tinn_ms(rr) == pytest.approx(6 * W)  # N = 99, M = 105: error 5/9 on each side
    assert tinn_ms([800.0] * 5) == pytest.approx(2 * W)  # one bin: the narrowest triangle
    assert math.isnan(tinn_ms([]))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(20, 400))
def test_tinn_is_the_least_squares_triangle_over_the_whole_histogram(seed: int, n: int) -> None:
    """Brute force over every (N, M) of the Task Force construction equals the separable search."""
    x = _rr(seed, n)
    d = rr_histogram(x).astype(float)
    d = np.concatenate([d, [0.0, 0.0]])
    k = np.arange(d.size, dtype=float)
    xm = int(np.argmax(d))
    occ = np.flatnonzero(d)
    best_err, best_w = np.inf, 0.0
    for nn in range(max(occ[0] - 1, 0), xm):
        for mm in range(xm + 1, occ[-1] + 2):
            q = np.where(k <= xm, d[xm] * (k - nn) / (xm - nn), d[xm] * (mm - k) / (mm - xm))
            err = float(np.sum((d - np.clip(q, 0.0, None)) ** 2))
            tol = 1e-9 * max(1.0, err)
            if err < best_err - tol or (abs(err - best_err) <= tol and (mm - nn) * W > best_w):
                best_err, best_w = err, (mm - nn) * W  # ties: the wider triangle
    assert tinn_ms(x) == pytest.approx(best_w)


# -- summary / analyze keys ---------------------------------------------------------------------
def test_summary_appends_the_extended_keys_in_the_contract_order() -> None:
    assert EXTENDED_KEYS == ("nn50", "lf_ar_ms2", "hf_ar_ms2", "lf_hf_ar", "apen", "sampen", "dfa_alpha1",
                             "dfa_alpha2", "hrv_triangular_index", "tinn_ms")
    assert SUMMARY_KEYS[-10:] == EXTENDED_KEYS and SUMMARY_KEYS[22] == "artifacts_pct"
    x = _rr(10, 500)
    s = summarize(x, dfa_short_beats=(5, 12))
    e = extended_indices(x, dfa_short_beats=(5, 12))
    d = s.to_json_dict()
    assert [d[k] for k in EXTENDED_KEYS] == [getattr(e, k) for k in EXTENDED_KEYS]
    assert isinstance(d["nn50"], int)
    short = summarize([800.0, 810.0]).to_json_dict()
    assert short["nn50"] == 0 and all(short[k] is None for k in EXTENDED_KEYS[1:8])
    assert short["hrv_triangular_index"] == 2.0  # 810 and 800 ms in two bins: 2 / 1
