"""The noise verdict's statistics (moved with sessions/noise.py from test_compare.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sessions.noise import MIN_SUBWINDOWS, bootstrap_difference_ci


def test_bootstrap_interval_is_seeded_and_separates_clear_differences():
    a = [10.0, 11.0, 9.5, 10.5, 10.2]
    b = [14.0, 15.0, 13.5, 14.2, 14.8]
    r1 = bootstrap_difference_ci(a, b, seed=(1,))
    assert r1 == bootstrap_difference_ci(a, b, seed=(1,))
    lo, hi, observed = r1
    assert observed == pytest.approx(np.mean(b) - np.mean(a))
    assert 0 < lo < observed < hi
    lo2, hi2, _ = bootstrap_difference_ci(a, a, seed=(1,))
    assert lo2 < 0 < hi2
    assert MIN_SUBWINDOWS == 3
    assert math.isclose(bootstrap_difference_ci([1.0], [1.0])[0], 0.0)


def _one_draw_reference(a: np.ndarray, b: np.ndarray, seed: tuple[int, ...], n_resamples: int) -> tuple[float, float]:
    """The bootstrap as first written: every resample index drawn in one call per side."""
    from sessions.noise import BOOTSTRAP_SEED, CONFIDENCE

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([BOOTSTRAP_SEED, *seed])))
    ia = rng.integers(0, a.size, size=(n_resamples, a.size))
    ib = rng.integers(0, b.size, size=(n_resamples, b.size))
    alpha = (1.0 - CONFIDENCE) / 2.0
    lo, hi = np.quantile(b[ib].mean(axis=1) - a[ia].mean(axis=1), [alpha, 1.0 - alpha])
    return float(lo), float(hi)


@pytest.mark.parametrize("na, nb, n_resamples", [(3, 5, 2000), (21, 2879, 2000), (1, 4, 2000), (7, 9, 1999), (5, 6, 17),
                                                   (1000, 1100, 2000), (16385, 3, 40)])
def test_bootstrap_drawn_in_blocks_gives_the_one_draw_interval_bit_for_bit(na: int, nb: int, n_resamples: int) -> None:
    rng = np.random.default_rng(na * 1000 + nb)
    a, b = rng.normal(60.0, 3.0, na), rng.normal(62.0, 3.0, nb)
    lo, hi, _ = bootstrap_difference_ci(a, b, seed=(2, na), n_resamples=n_resamples)
    assert (lo, hi) == _one_draw_reference(a, b, (2, na), n_resamples)
