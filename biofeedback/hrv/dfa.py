r"""Detrended fluctuation analysis (DFA) of an RR series: short- and long-term scaling exponents α1, α2.

Definition (Peng, Havlin, Stanley & Goldberger 1995, Chaos 5(1):82-87, doi:10.1063/1.166141), as
Kubios HRV computes it (Tarvainen et al. 2014, doi:10.1016/j.cmpb.2013.07.024):

1. Series: the RR intervals of the valid beats in order, :math:`x_1 \dots x_N` (ms).
2. Profile :math:`y_k = \sum_{i=1}^{k} (x_i - \bar x)`.
3. For a box size n (beats): the profile is cut into :math:`\lfloor N/n \rfloor` non-overlapping
   boxes from the start (the remainder at the end is dropped); in each box a least-squares straight
   line :math:`\hat y` is fitted and removed.
4. :math:`F(n) = \sqrt{\frac{1}{n \lfloor N/n \rfloor} \sum_k (y_k - \hat y_k)^2}` over all boxed samples (ms).
5. α = least-squares slope of :math:`\log F(n)` on :math:`\log n` over every integer n in the range:
   α1 over 4-16 beats, α2 over 17-64 beats (Kubios' defaults; ``analyze --dfa-short``/``--dfa-long``).

Dimensionless; ``nan`` when fewer than two box sizes have at least one box (N < 2·lower bound) or a
fluctuation is 0. Window: the whole series passed in. Kubios 3.1 applies an undocumented
"detrending for nonlinear analysis" to 1 h recordings, so its α values there do not follow from
the raw series; this function does not try to imitate it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .entropy import nn_series

__all__ = ["DFA", "DFA_SHORT_BEATS", "DFA_LONG_BEATS", "dfa", "dfa_alpha", "fluctuation_ms"]

NAN = float("nan")
#: Kubios HRV's default box-size ranges (beats) of α1 and α2.
DFA_SHORT_BEATS: tuple[int, int] = (4, 16)
DFA_LONG_BEATS: tuple[int, int] = (17, 64)


@dataclass(frozen=True, slots=True)
class DFA:
    """Short- and long-term DFA scaling exponents (dimensionless) and their box-size ranges (beats)."""

    alpha1: float
    alpha2: float
    short_beats: tuple[int, int]
    long_beats: tuple[int, int]


def fluctuation_ms(profile: NDArray[np.float64], n: int) -> float:
    """F(n) (ms): RMS of the profile around per-box least-squares lines, boxes of n from the start.

    Examples
    --------
    A profile that is a straight line inside each box has no fluctuation:

    >>> fluctuation_ms(np.array([0.0, 1.0, 2.0, 5.0, 5.0, 5.0]), 3)
    0.0
    """
    k = profile.size // n
    if k < 1 or n < 2:
        return NAN
    y = profile[: k * n].reshape(k, n)
    t = np.arange(n, dtype=np.float64) - 0.5 * (n - 1)  # centred box time: slope = Σ t·y / Σ t²
    slope = (y @ t) / float(t @ t)
    resid = y - y.mean(axis=1, keepdims=True) - slope[:, None] * t[None, :]
    return float(math.sqrt(float(np.einsum("ij,ij->", resid, resid)) / (k * n)))


def dfa_alpha(rr_ms: ArrayLike, valid: ArrayLike | None = None, *, beats: tuple[int, int] = DFA_SHORT_BEATS) -> float:
    """DFA scaling exponent over the box sizes ``beats`` = (lo, hi), inclusive (module docstring).

    Examples
    --------
    White noise has α = 0.5 (the smallest boxes bias α1 up a little):

    >>> x = 800.0 + 50.0 * np.random.default_rng(0).standard_normal(5000)
    >>> round(dfa_alpha(x, beats=(4, 16)), 2), round(dfa_alpha(x, beats=(17, 64)), 2)
    (0.59, 0.49)
    """
    lo, hi = _check_range(beats)
    x = nn_series(rr_ms, valid)
    if x.size < 2 * lo:
        return NAN
    profile = np.cumsum(x - x.mean())
    ns = [n for n in range(lo, hi + 1) if profile.size // n >= 1]
    f = np.array([fluctuation_ms(profile, n) for n in ns])
    if len(ns) < 2 or not (f > 0).all():
        return NAN
    return float(np.polyfit(np.log(np.array(ns, dtype=np.float64)), np.log(f), 1)[0])


def dfa(
    rr_ms: ArrayLike,
    valid: ArrayLike | None = None,
    *,
    short_beats: tuple[int, int] = DFA_SHORT_BEATS,
    long_beats: tuple[int, int] = DFA_LONG_BEATS,
) -> DFA:
    """α1 (``short_beats``, default 4-16) and α2 (``long_beats``, default 17-64) of the valid beats.

    Examples
    --------
    >>> d = dfa(800.0 + 50.0 * np.random.default_rng(0).standard_normal(5000))
    >>> round(d.alpha1, 2), d.long_beats
    (0.59, (17, 64))
    """
    return DFA(
        dfa_alpha(rr_ms, valid, beats=short_beats),
        dfa_alpha(rr_ms, valid, beats=long_beats),
        _check_range(short_beats),
        _check_range(long_beats),
    )


def _check_range(beats: tuple[int, int]) -> tuple[int, int]:
    lo, hi = (int(b) for b in beats)
    if not (3 <= lo < hi):
        raise ValueError(f"a DFA box-size range needs 3 <= N < M beats, got {beats[0]}-{beats[1]}")
    return lo, hi
