r"""Relaxation index 0-100 relative to the user's own resting baseline.

No published index exists for "how relaxed am I compared with my own rest", so this one is our
design, kept simple and stated in full. It combines three changes from the baseline, each scaled
by a typical within-person variation so that one unit means "a clearly meaningful change":

.. math::

    x = \frac{1}{K}\left[\frac{\ln RMSSD - \ln RMSSD_0}{0.25}
        - \frac{HR - HR_0}{5\ \mathrm{beats/min}}
        + \frac{\ln(1 + C) - \ln(1 + C_0)}{0.5}\right],
    \qquad R = \frac{100}{1 + e^{-x}}

where the subscript 0 marks the baseline, C is the coherence ratio
(:func:`biofeedback.hrv.coherence.coherence`) and K the number of terms that are defined (terms
whose current or baseline value is ``nan`` are left out). R = 50 at the baseline; R > 50 when
vagal HRV rises, heart rate falls or the rhythm becomes more coherent; R ≈ 73 for a one-unit
improvement on every term, ≈ 88 for two units.

Why these terms and scales:

* lnRMSSD is the standard within-person index of vagal activity; its day-to-day SD in a resting
  person is about 0.1-0.3 (coefficient of variation of lnRMSSD 3-13 %; Plews, Laursen, Stanley,
  Kilding & Buchheit 2013, Sports Med 43:773-781, doi:10.1007/s40279-013-0071-8), so 0.25
  (RMSSD ×1.28) is a change beyond normal fluctuation;
* heart rate falls with relaxation; 5 beats/min is about the within-session SD of resting HR;
* coherence rises with slow, even breathing (McCraty 2022, doi:10.1007/s10484-022-09554-2); its
  ratio is skewed, so its logarithm (of 1 + C, to stay finite at 0) is used; 0.5 ≈ the ratio going
  from 0.5 to 1.5.
* The logistic keeps R in 0-100 without hard clipping and makes 50 the baseline by construction.

Window: the inputs come from the engine's windows (time domain and coherence over their windows);
the baseline from the baseline rest phase of the same session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Baseline", "relaxation_index", "LN_RMSSD_SCALE", "HR_SCALE_BPM", "LN_COHERENCE_SCALE"]

LN_RMSSD_SCALE = 0.25
HR_SCALE_BPM = 5.0
LN_COHERENCE_SCALE = 0.5


@dataclass(frozen=True, slots=True)
class Baseline:
    """The user's resting reference values (typically means over the baseline rest phase).

    Attributes
    ----------
    ln_rmssd: ln(RMSSD in ms) at rest.
    mean_hr_bpm: mean heart rate at rest (beats/min).
    coherence: coherence ratio at rest (dimensionless); ``nan`` if unknown.
    """

    ln_rmssd: float
    mean_hr_bpm: float
    coherence: float

    def to_dict(self) -> dict[str, float]:
        return {"ln_rmssd": self.ln_rmssd, "mean_hr_bpm": self.mean_hr_bpm, "coherence": self.coherence}

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> Baseline:
        return cls(float(d["ln_rmssd"]), float(d["mean_hr_bpm"]), float(d["coherence"]))


def relaxation_index(ln_rmssd: float, mean_hr_bpm: float, coherence: float, baseline: Baseline) -> float:
    """Relaxation index in 0-100, 50 = the user's baseline (formula in the module docstring).

    Parameters
    ----------
    ln_rmssd:
        Current ln(RMSSD/ms).
    mean_hr_bpm:
        Current mean heart rate (beats/min).
    coherence:
        Current coherence ratio (≥ 0).
    baseline:
        The user's resting values.

    Returns
    -------
    float
        ``nan`` when no term is defined.

    Examples
    --------
    >>> b = Baseline(ln_rmssd=3.5, mean_hr_bpm=70.0, coherence=0.5)
    >>> relaxation_index(3.5, 70.0, 0.5, b)
    50.0
    >>> # lnRMSSD +0.25 and HR −5 are +1 each, coherence unchanged: x = (1 + 1 + 0)/3
    >>> round(relaxation_index(3.75, 65.0, 0.5, b), 4)  # 100 / (1 + e^(−2/3))
    66.0756
    """
    # (computed every beat after the baseline: plain tests and sums, in the terms' order)
    isfinite = math.isfinite
    x = 0.0
    k = 0
    b = baseline.ln_rmssd
    if isfinite(ln_rmssd) and isfinite(b):
        x += (ln_rmssd - b) / LN_RMSSD_SCALE
        k = 1
    b = baseline.mean_hr_bpm
    if isfinite(mean_hr_bpm) and isfinite(b):
        x += -(mean_hr_bpm - b) / HR_SCALE_BPM
        k += 1
    b = baseline.coherence
    if isfinite(coherence) and isfinite(b) and coherence > -1 and b > -1:
        x += (math.log1p(coherence) - math.log1p(b)) / LN_COHERENCE_SCALE
        k += 1
    if not k:
        return float("nan")
    x = x / k
    if x >= 0:
        return 100.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return 100.0 * e / (1.0 + e)
