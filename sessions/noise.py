r"""Is a change beyond the noise? The statistics of :mod:`sessions.compare` (pure: numpy only).

Method: a seeded, deterministic **bootstrap over sub-windows**. Each phase is cut into
consecutive, non-overlapping sub-windows aligned at the phase start, of a length per index
(:data:`sessions.compare.SUBWINDOW_S`: 30 s for mean HR, RMSSD, lnRMSSD and artifacts; 60 s for
SDNN and HF; 64 s for coherence and relaxation; 120 s for LF and LF/HF: each index's own minimum,
or 30 s); coherence and relaxation windows advance by 32 s (:data:`sessions.compare.SUBWINDOW_STEP_S`,
half overlap as in Welch), so a 128 s phase holds three of them. A sub-window is used when its
beats cover at least 80 % of it (:data:`MIN_SUBWINDOW_COVERAGE`; gaps, removed beats). The index is
computed on every sub-window; the spread of these values within a phase is the index's
moment-to-moment noise. ``B`` = 2000 times (:data:`BOOTSTRAP_RESAMPLES`), the sub-windows of each
phase are resampled with replacement and the difference of their means taken; the 2.5th and 97.5th
percentiles of these differences, shifted so that they are centred on the whole-phase difference,
give ``ci95``. A change is ``beyond_noise`` when ``ci95`` excludes 0. Each phase needs at least
:data:`MIN_SUBWINDOWS` = 3 usable sub-windows for a verdict, else ``ci95`` and ``beyond_noise`` are
``None`` with a reason (e.g. a 2-minute baseline holds only one 120 s sub-window, so LF cannot be
judged). The random generator is seeded from a constant and the index, so the same data always
give the same interval.

Limits (what this does not tell):

* Sub-windows are treated as independent. Neighbouring sub-windows are correlated (slow drifts,
  Mayer waves), which makes the interval too narrow; a trend within a phase (the relaxation
  response building up during practice) makes it wider. With 3-5 sub-windows the bootstrap
  underestimates the spread by about ``sqrt((n-1)/n)`` and has few distinct values.
* The interval describes noise within *this* session (is the practice different from this
  baseline?), not day-to-day variation (would it happen again tomorrow?). For that, see
  :mod:`sessions.trends`.
* For indices that depend on the window length (SDNN, LF, LF/HF) the sub-window values are
  smaller or noisier than the whole-phase value; only their spread is used, centred on the
  whole-phase difference, which makes the verdict conservative for them.
* Ten indices are tested at once without correction for multiple comparisons: about one in
  twenty "beyond noise" flags can be chance even when nothing changed.
* Phases of different length are compared as they are (SDNN and LF grow with length).

The smallest worthwhile change (0.5 × the between-sub-window SD) is an alternative this module does
not use (docs/comparison.md says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from biofeedback.json_values import finite_or_none

__all__ = [
    "MIN_SUBWINDOWS",
    "MIN_SUBWINDOW_COVERAGE",
    "BOOTSTRAP_RESAMPLES",
    "CONFIDENCE",
    "BOOTSTRAP_SEED",
    "Change",
    "bootstrap_difference_ci",
    "change_between",
]

MIN_SUBWINDOWS = 3
MIN_SUBWINDOW_COVERAGE = 0.8
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 20190603  # any constant: the intervals are reproducible, not tuned


@dataclass(frozen=True, slots=True)
class Change:
    """The change of one index from phase (or session) A to B.

    ``abs`` = B − A in the index's unit; ``rel_pct`` = 100·(B − A)/|A| (``None`` for ``ln_rmssd``,
    already a log ratio, and when A is 0); ``ci95`` = bootstrap 95 % interval of B − A over
    sub-windows; ``beyond_noise`` = ``ci95`` excludes 0. ``None`` values carry a ``reason``.
    ``n_subwindows`` = usable sub-windows in A and B.
    """

    abs: float | None
    rel_pct: float | None
    ci95: tuple[float, float] | None
    beyond_noise: bool | None
    reason: str | None = None
    n_subwindows: tuple[int, int] = (0, 0)

    @property
    def verdict(self) -> str:
        """``"higher (beyond noise)"``, ``"lower (beyond noise)"``, ``"no clear change"``, ``"not judged"``
        or ``"not available"``."""
        if self.abs is None:
            return "not available"
        if self.beyond_noise is None:
            return "not judged"
        if self.beyond_noise:
            return ("higher" if self.abs > 0 else "lower") + " (beyond noise)"
        return "no clear change"

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "abs": finite_or_none(self.abs),
            "rel_pct": finite_or_none(self.rel_pct),
            "ci95": None if self.ci95 is None else [finite_or_none(self.ci95[0]), finite_or_none(self.ci95[1])],
            "beyond_noise": self.beyond_noise,
            "verdict": self.verdict,
            "reason": self.reason,
            "n_subwindows": list(self.n_subwindows),
        }


def bootstrap_difference_ci(
    a: Sequence[float], b: Sequence[float], *, seed: Sequence[int] = (),
    n_resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Percentile bootstrap of ``mean(b) − mean(a)``: ``(lo, hi, observed)``.

    ``a`` and ``b`` (sub-window values) are resampled independently with replacement
    ``n_resamples`` times; ``lo``/``hi`` are the ``(1 ± confidence)/2`` quantiles of the resampled
    differences, ``observed`` the difference of the sample means. Deterministic: the generator is
    PCG64 seeded with ``[BOOTSTRAP_SEED, *seed]``.

    Examples
    --------
    >>> lo, hi, d = bootstrap_difference_ci([1.0, 1.1, 0.9, 1.0], [2.0, 2.1, 1.9, 2.0])
    >>> round(d, 6), lo > 0
    (1.0, True)
    """
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.size < 1 or xb.size < 1:
        raise ValueError("need at least one value on each side")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([BOOTSTRAP_SEED, *seed])))
    mean_a = _resample_means(rng, xa, n_resamples)
    mean_b = _resample_means(rng, xb, n_resamples)
    d = mean_b - mean_a
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(d, [alpha, 1.0 - alpha])
    return float(lo), float(hi), float(xb.mean() - xa.mean())


#: Resamples drawn and averaged per block by :func:`_resample_means`: at least this many, more for few
#: sub-windows, up to about :data:`_BLOCK_VALUES` indices a block.
_BLOCK_ROWS = 16
_BLOCK_VALUES = 16384


def _resample_means(rng: np.random.Generator, x: np.ndarray, n_resamples: int) -> np.ndarray:
    """The means of ``n_resamples`` resamples of ``x`` with replacement: the values of
    ``x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)``, bit for bit, drawn and
    averaged a block of resamples at a time so that the indices and the values they pick stay in the
    cache (a 24 h phase has ~3 000 sub-windows: 6 million indices at once): :data:`_BLOCK_ROWS`
    resamples, or as many as make :data:`_BLOCK_VALUES` indices when ``x`` is short (fewer numpy calls).
    The blocks draw the same stream as one call (the generator keeps an unused half of a 64-bit
    output for its next draw; ``tests/sessions/test_noise.py`` pins it)."""
    n = int(x.size)
    out = np.empty(n_resamples, dtype=np.float64)
    rows = max(_BLOCK_ROWS, _BLOCK_VALUES // max(n, 1))
    for r0 in range(0, n_resamples, rows):
        r1 = min(n_resamples, r0 + rows)
        # ndarray.mean's own steps (the sum along the row, then a division by the count) without
        # its Python wrapper, which cost as much as the arithmetic for 125 blocks
        np.add.reduce(x[rng.integers(0, n, size=(r1 - r0, n))], axis=1, out=out[r0:r1])
    out /= n
    return out


def change_between(va: float, vb: float, sa: Sequence[float], sb: Sequence[float], *, relative: bool,
                   seed: Sequence[int], subwindow_s: float, a_name: str, b_name: str) -> Change:
    """The change from ``va`` (phase ``a_name``) to ``vb`` (``b_name``), judged against the noise of the
    sub-window values ``sa`` and ``sb`` (the module docstring); ``relative`` False leaves ``rel_pct``
    ``None`` (an index that is already a log ratio)."""
    d = vb - va
    rel = None if (not relative or va == 0) else 100.0 * d / abs(va)
    counts = (len(sa), len(sb))
    if min(counts) < MIN_SUBWINDOWS:
        return Change(
            d, rel, None, None,
            f"not judged: needs >= {MIN_SUBWINDOWS} usable {subwindow_s:g} s sub-windows in each phase "
            f"({a_name} has {counts[0]}, {b_name} has {counts[1]})",
            counts,
        )
    lo, hi, observed = bootstrap_difference_ci(sa, sb, seed=seed)
    ci = (d + lo - observed, d + hi - observed)
    beyond = bool(ci[0] > 0 or ci[1] < 0)
    return Change(d, rel, ci, beyond, None, counts)
