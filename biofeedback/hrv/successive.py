"""Successive RR differences that respect removed beats and gaps.

Only two beats that are both valid and adjacent in the same run (no gap between them) form a
difference. A removed (invalid) beat therefore ends a run exactly like a gap does: the beats on
either side of it are *not* paired. This is the rule of NeuroKit2's ``_intervals_successive`` and
of Kubios HRV, which never difference across a removed beat.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["successive_pair_mask", "successive_differences_ms", "successive_pairs_ms"]


def _as_mask(mask: ArrayLike | None, n: int, name: str, default: bool) -> NDArray[np.bool_]:
    if mask is None:
        return np.full(n, default, dtype=bool)
    m = np.asarray(mask, dtype=bool)
    if m.shape != (n,):
        raise ValueError(f"{name} has shape {m.shape}, expected ({n},) like rr_ms")
    return m


def successive_pair_mask(
    n: int, valid: ArrayLike | None = None, breaks: ArrayLike | None = None
) -> NDArray[np.bool_]:
    """Which of the ``n - 1`` adjacent beat pairs ``(i - 1, i)`` form a successive difference.

    Pair ``i - 1`` (element ``i - 1`` of the result) is usable when beat ``i - 1`` and beat ``i``
    are both valid and ``breaks[i]`` is False (no gap right before beat ``i``).

    Parameters
    ----------
    n:
        Number of beats.
    valid:
        Boolean mask, False = artifact/removed beat; ``None`` means all beats are valid.
    breaks:
        Boolean mask, True at beat ``i`` = a gap came right before beat ``i``; ``None`` = no gaps.

    Returns
    -------
    numpy.ndarray of bool, shape ``(max(n - 1, 0),)``

    Examples
    --------
    >>> successive_pair_mask(4, valid=[True, False, True, True]).tolist()
    [False, False, True]
    >>> successive_pair_mask(4, breaks=[False, False, True, False]).tolist()
    [True, False, True]
    """
    if n < 2:
        return np.zeros(0, dtype=bool)
    v = _as_mask(valid, n, "valid", True)
    b = _as_mask(breaks, n, "breaks", False)
    return v[:-1] & v[1:] & ~b[1:]


def successive_pairs_ms(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, breaks: ArrayLike | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Poincaré pairs ``(RR_i, RR_{i+1})`` of successive valid beats, in ms.

    Examples
    --------
    >>> x, y = successive_pairs_ms([800.0, 810.0, 790.0], valid=[True, True, True])
    >>> x.tolist(), y.tolist()
    ([800.0, 810.0], [810.0, 790.0])
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    keep = successive_pair_mask(rr.size, valid, breaks)
    return rr[:-1][keep], rr[1:][keep]


def successive_differences_ms(
    rr_ms: ArrayLike, valid: ArrayLike | None = None, breaks: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Successive differences ``RR_{i} - RR_{i-1}`` (ms) over pairs of valid beats in one run.

    Parameters
    ----------
    rr_ms:
        RR intervals in milliseconds, one per beat.
    valid:
        Boolean mask, False = artifact/removed beat (never paired). ``None`` = all valid.
    breaks:
        Boolean mask, True at beat ``i`` = a gap/dropout right before beat ``i`` (beats ``i - 1``
        and ``i`` are not paired). ``None`` = no gaps.

    Returns
    -------
    numpy.ndarray
        One difference per usable pair, in beat order (ms). Empty for fewer than two beats.

    Examples
    --------
    A removed beat and a gap both stop the pairing:

    >>> successive_differences_ms([800, 820, 1500, 830, 840], valid=[1, 1, 0, 1, 1]).tolist()
    [20.0, 10.0]
    >>> successive_differences_ms([800, 820, 830, 840], breaks=[0, 0, 1, 0]).tolist()
    [20.0, 10.0]
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    keep = successive_pair_mask(rr.size, valid, breaks)
    return np.diff(rr)[keep]
