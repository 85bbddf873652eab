"""How well the detector agrees with reference beat annotations (PhysioNet symbols).

Used by the detector test (``tests/biofeedback/test_detector_rates.py``) and the validity
benchmark (``benchmarks/validity.py``, figures in docs/artifacts.md), with one definition:

* **isolated premature beat**: a beat annotated ``V``, ``A`` or ``S`` whose neighbours are both
  ``N``. It counts as *found* when it is excluded from the indices (``valid`` False): either
  labelled itself, or the interval rewritten by the label of the beat before it (when the sinus
  beat before a premature beat is itself irregular the label can fall one beat early; the
  premature interval is still excluded).
* **false label**: an ``N`` beat whose two neighbours are ``N`` too (inside an all-N stretch)
  that carries a label other than ``"normal"``.

For unannotated clean recordings (the one-hour pyhrv series) the reference of the artifact policy is
:func:`clear_premature_valid`: the raw series without its unmistakable premature beats (RR below
0.8 x the mean of both neighbours) and their compensatory intervals, which any policy must remove.

The first annotated beat has no interval and is dropped by the caller (``symbols`` are those of
the intervals' end beats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["DetectionRates", "clear_premature_valid", "detection_rates", "PREMATURE_SYMBOLS"]

PREMATURE_SYMBOLS = ("V", "A", "S")


@dataclass(frozen=True, slots=True)
class DetectionRates:
    """Counts of one record (or pooled); rates in percent."""

    premature_found: int
    premature: int
    false_labels: int
    normal_inside: int

    @property
    def sensitivity_pct(self) -> float:
        return 100.0 * self.premature_found / self.premature if self.premature else float("nan")

    @property
    def false_label_pct(self) -> float:
        return 100.0 * self.false_labels / self.normal_inside if self.normal_inside else float("nan")

    def __add__(self, other: DetectionRates) -> DetectionRates:
        return DetectionRates(self.premature_found + other.premature_found, self.premature + other.premature,
                              self.false_labels + other.false_labels, self.normal_inside + other.normal_inside)


def detection_rates(symbols: Sequence[str] | ArrayLike, labels: Sequence[str], valid: ArrayLike) -> DetectionRates:
    """Score one record (see the module docstring for the definitions).

    Examples
    --------
    >>> detection_rates(list("NNVNNNN"), ["normal"] * 2 + ["ectopic"] + ["normal"] * 4,
    ...                 [True, True, False, False, True, True, True])
    DetectionRates(premature_found=1, premature=1, false_labels=0, normal_inside=2)
    """
    sym = np.asarray(symbols)
    flagged = np.asarray(labels) != "normal"
    excluded = ~np.asarray(valid, dtype=bool)
    n = sym.size
    is_n = sym == "N"
    both_n = np.zeros(n, dtype=bool)
    both_n[1:-1] = is_n[:-2] & is_n[2:]
    isolated = both_n & np.isin(sym, PREMATURE_SYMBOLS)
    inside = both_n & is_n
    return DetectionRates(int(excluded[isolated].sum()), int(isolated.sum()),
                          int(flagged[inside].sum()), int(inside.sum()))


CLEAR_PREMATURE_FRAC = 0.8


def clear_premature_valid(rr_ms: ArrayLike) -> np.ndarray:
    """Valid mask of an unannotated series without its unmistakable premature beats: beat ``i`` with
    ``RR(i) < 0.8 * (RR(i-1) + RR(i+1)) / 2`` is not valid, nor is the interval after it (its
    compensatory pause)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    prem = np.zeros(rr.size, dtype=bool)
    prem[1:-1] = rr[1:-1] < CLEAR_PREMATURE_FRAC * (rr[:-2] + rr[2:]) / 2.0
    valid = ~prem
    valid[1:] &= ~prem[:-1]
    return valid
