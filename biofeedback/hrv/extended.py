"""The Kubios-report indices beyond the time and frequency domain, for one recording or stretch.

One call computes them all from the same beats (units in the names; formula, window and reference
in each module): NN50 (:func:`biofeedback.hrv.time_domain.nnxx_count`), the AR spectrum's LF, HF
and LF/HF (:mod:`biofeedback.hrv.ar_spectrum`), ApEn and SampEn (:mod:`biofeedback.hrv.entropy`),
DFA α1 and α2 (:mod:`biofeedback.hrv.dfa`), the HRV triangular index and TINN
(:mod:`biofeedback.hrv.geometric`). Removed beats (``valid`` False) are excluded from every index:
NN50 counts only differences of successive valid beats of one run (no difference across a
``breaks`` gap); the AR spectrum's spline bridges them; the entropies, DFA and the histogram use the
valid beats in order.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from numpy.typing import ArrayLike

from .ar_spectrum import ar_spectrum
from .constants import NN50_MS
from .dfa import DFA_LONG_BEATS, DFA_SHORT_BEATS, dfa
from .entropy import entropies
from .geometric import geometric
from .time_domain import nnxx_count

__all__ = ["EXTENDED_KEYS", "ExtendedIndices", "extended_indices"]

#: The keys ``analyze --json`` appends after its original keys, in this order (a contract).
EXTENDED_KEYS: tuple[str, ...] = (
    "nn50",
    "lf_ar_ms2",
    "hf_ar_ms2",
    "lf_hf_ar",
    "apen",
    "sampen",
    "dfa_alpha1",
    "dfa_alpha2",
    "hrv_triangular_index",
    "tinn_ms",
)


@dataclass(frozen=True, slots=True)
class ExtendedIndices:
    """NN50 (count), AR LF/HF (ms²) and LF/HF, ApEn, SampEn, DFA α1/α2, HTI (dimensionless), TINN (ms)."""

    nn50: int
    lf_ar_ms2: float
    hf_ar_ms2: float
    lf_hf_ar: float
    apen: float
    sampen: float
    dfa_alpha1: float
    dfa_alpha2: float
    hrv_triangular_index: float
    tinn_ms: float


assert tuple(f.name for f in fields(ExtendedIndices)) == EXTENDED_KEYS


def extended_indices(
    rr_ms: ArrayLike,
    t_s: ArrayLike | None = None,
    valid: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
    *,
    dfa_short_beats: tuple[int, int] = DFA_SHORT_BEATS,
    dfa_long_beats: tuple[int, int] = DFA_LONG_BEATS,
) -> ExtendedIndices:
    """All the extended indices of one series (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> rr = 900.0 + 40.0 * np.sin(2 * np.pi * 0.1 * np.arange(600) * 0.9)
    >>> rr = rr + 5.0 * np.random.default_rng(0).standard_normal(600)
    >>> e = extended_indices(rr)
    >>> e.nn50, round(e.lf_hf_ar) > 10, 0.0 < e.sampen < 1.0
    (0, True, True)
    """
    ar = ar_spectrum(t_s, rr_ms, valid)
    ent = entropies(rr_ms, valid)
    d = dfa(rr_ms, valid, short_beats=dfa_short_beats, long_beats=dfa_long_beats)
    g = geometric(rr_ms, valid)
    return ExtendedIndices(
        nn50=nnxx_count(rr_ms, NN50_MS, valid, breaks),
        lf_ar_ms2=ar.lf_ar_ms2,
        hf_ar_ms2=ar.hf_ar_ms2,
        lf_hf_ar=ar.lf_hf_ar,
        apen=ent.apen,
        sampen=ent.sampen,
        dfa_alpha1=d.alpha1,
        dfa_alpha2=d.alpha2,
        hrv_triangular_index=g.hrv_triangular_index,
        tinn_ms=g.tinn_ms,
    )
