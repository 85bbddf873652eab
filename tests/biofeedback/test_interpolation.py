"""The hand-written not-a-knot spline equals scipy's CubicSpline(bc_type="not-a-knot")."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import CubicSpline

from biofeedback.hrv.interpolation import (
    evaluate_spline,
    even_grid_s,
    resample_even,
    resample_not_a_knot,
    spline_slopes,
)


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 50, 500])
def test_equals_scipy_not_a_knot(n: int) -> None:
    rng = np.random.default_rng(n)
    rr = 850 + 80 * rng.standard_normal(n)
    t = np.cumsum(rr) / 1000
    grid, values = resample_not_a_knot(t, rr, 4.0)
    ref = CubicSpline(t, rr, bc_type="not-a-knot")
    assert _max_rel(values, ref(grid)) <= 1e-9
    assert np.max(np.abs(spline_slopes(t, rr) - ref(t, 1))) <= 1e-9 * np.max(np.abs(ref(t, 1)))
    # extrapolation beyond the ends uses the end polynomials, like scipy
    outside = np.array([t[0] - 0.3, t[-1] + 0.3])
    assert _max_rel(evaluate_spline(t, rr, spline_slopes(t, rr), outside), ref(outside)) <= 1e-9


def test_hand_computed_cases() -> None:
    # two knots: the straight line; three knots: the parabola through them
    g, v = resample_not_a_knot([0.0, 1.0], [800.0, 900.0], 4.0)
    assert g.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert v.tolist() == pytest.approx([800.0, 825.0, 850.0, 875.0, 900.0])
    # y = x² through x = 0, 1, 2 -> value 2.25 at 1.5, slopes 2x = 0, 2, 4
    assert spline_slopes([0.0, 1.0, 2.0], [0.0, 1.0, 4.0]).tolist() == pytest.approx([0.0, 2.0, 4.0])
    _, v = resample_not_a_knot([0.0, 1.0, 2.0], [0.0, 1.0, 4.0], 2.0)
    assert v.tolist() == pytest.approx([0.0, 0.25, 1.0, 2.25, 4.0])
    # 4 knots of a cubic reproduce it exactly (not-a-knot = one cubic piece): y = x³ - x
    x = np.array([-1.0, 0.5, 1.0, 3.0])
    _, v = resample_not_a_knot(x, x**3 - x, 2.0)
    q = np.arange(-1.0, 3.01, 0.5)
    assert v.tolist() == pytest.approx((q**3 - q).tolist(), abs=1e-12)


def test_grid_and_fast_path() -> None:
    assert even_grid_s(1.0, 2.0, 4.0).tolist() == [1.0, 1.25, 1.5, 1.75, 2.0]
    assert even_grid_s(1.0, 1.99, 4.0).tolist() == [1.0, 1.25, 1.5, 1.75]
    rng = np.random.default_rng(1)
    rr = 900 + 40 * rng.standard_normal(100)
    t = np.cumsum(rr) / 1000
    grid = even_grid_s(t[0], t[-1], 4.0)
    # the per-beat compiled path and the public function are the same spline (different arithmetic)
    fast = resample_even(t, rr, float(t[0]), grid.size, 4.0)
    assert _max_rel(fast, resample_not_a_knot(t, rr)[1]) <= 1e-12


def test_rejects_bad_knots() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        spline_slopes([0.0, 1.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="at least 2 knots"):
        spline_slopes([0.0], [1.0])


@settings(max_examples=50, deadline=None)
@given(
    rr=st.lists(st.floats(250.0, 2500.0, allow_nan=False), min_size=4, max_size=120),
    fs=st.sampled_from([2.0, 4.0, 7.0]),
)
def test_property_equals_scipy_on_random_beats(rr: list[float], fs: float) -> None:
    a = np.array(rr)
    t = np.cumsum(a) / 1000
    grid, values = resample_not_a_knot(t, a, fs)
    ref = CubicSpline(t, a, bc_type="not-a-knot")(grid)
    # relative to the signal's scale (values can cross zero when the spline overshoots)
    assert np.max(np.abs(values - ref)) <= 1e-9 * np.max(np.abs(ref))


@settings(max_examples=80, deadline=None)
@given(
    spacings=st.lists(
        st.one_of(st.floats(0.3, 2.0), st.floats(2.0, 30.0)),  # beats and bridged gaps / removed beats
        min_size=4,
        max_size=150,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_compiled_path_equals_scipy_with_gaps(spacings: list[float], seed: int) -> None:
    """The per-beat compiled spline equals scipy's, also when a long bridge follows short beats
    (there the elimination has to swap rows, as LAPACK's dgtsv does)."""
    t = np.cumsum(spacings)
    rr = 850.0 + 80.0 * np.random.default_rng(seed).standard_normal(t.size)
    grid = even_grid_s(float(t[0]), float(t[-1]), 4.0)
    fast = resample_even(t, rr, float(t[0]), grid.size, 4.0)
    ref = CubicSpline(t, rr, bc_type="not-a-knot")(grid)
    assert np.max(np.abs(fast - ref)) <= 1e-9 * np.max(np.abs(ref))


def test_compiled_path_swaps_rows_for_a_long_gap() -> None:
    # two short beats, then a 20 s bridge: the second elimination step pivots
    t = np.array([0.0, 0.8, 1.6, 21.6, 22.4, 23.2])
    rr = np.array([800.0, 810.0, 790.0, 900.0, 820.0, 805.0])
    grid = even_grid_s(0.0, 23.2, 4.0)
    fast = resample_even(t, rr, 0.0, grid.size, 4.0)
    assert np.max(np.abs(fast - CubicSpline(t, rr, bc_type="not-a-knot")(grid))) <= 1e-9 * 900.0
