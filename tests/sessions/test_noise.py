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
