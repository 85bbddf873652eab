r"""Zones of the live coherence and relaxation values: low, medium, high (pure).

A bare ``0.54`` says nothing to a person practising; a zone on a scale does. The thresholds are
ours, derived from what each number means (docs/indices.md, "Zones"):

Coherence ratio :math:`C = P_{peak} / (P_{tot} - P_{peak})` (:mod:`biofeedback.hrv.coherence`)
    The share of power in the 0.030 Hz peak band is :math:`C / (1 + C)`.

    * low: :math:`C < 1` (the peak holds less than half the power: an irregular rhythm);
    * medium: :math:`1 \le C < 2` (half to two thirds);
    * high: :math:`C \ge 2` (two thirds or more: a smooth, sine-like rhythm; a perfect sinusoid
      reaches about 9 with the 64 s window and the grid-independent spectrum of engine settings
      version 2, 2.9-4.5 with version 1's 1/64 Hz grid).

    HeartMath's own "challenge levels" use an unpublished scale; these are not those.

Relaxation index :math:`R = 100 / (1 + e^{-x})` (:mod:`biofeedback.hrv.relaxation`; 50 = your baseline)
    One unit of :math:`x` is a clearly meaningful change from the baseline.

    * low: :math:`R < 37.8` (:math:`x < -0.5`: half a unit below your rest);
    * medium: :math:`37.8 \le R < 62.2` (within half a unit of your rest);
    * high: :math:`R \ge 62.2` (:math:`x \ge 0.5`: half a unit or more above your rest).

Unknown values (``None``, NaN) have no zone.
"""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["Zone", "COHERENCE_ZONES", "RELAXATION_ZONES", "COHERENCE_SCALE_MAX", "zone_of"]

Zone = Literal["low", "medium", "high"]

#: Lower bounds of medium and high for the coherence ratio.
COHERENCE_ZONES: tuple[float, float] = (1.0, 2.0)
#: Lower bounds of medium and high for the relaxation index: 100 / (1 + e^(±0.5)).
RELAXATION_ZONES: tuple[float, float] = (100.0 / (1.0 + math.exp(0.5)), 100.0 / (1.0 + math.exp(-0.5)))
#: Where the live screen's coherence scale ends (a practised, steady rhythm reaches 4-8; a perfect
#: sinusoid about 9).
COHERENCE_SCALE_MAX = 8.0


def zone_of(value: float | None, bounds: tuple[float, float]) -> Zone | None:
    """``"low"`` below ``bounds[0]``, ``"medium"`` below ``bounds[1]``, else ``"high"``; ``None`` if unknown.

    >>> zone_of(1.4, COHERENCE_ZONES), zone_of(70.0, RELAXATION_ZONES), zone_of(None, COHERENCE_ZONES)
    ('medium', 'high', None)
    """
    if value is None or not math.isfinite(value):
        return None
    if value < bounds[0]:
        return "low"
    return "medium" if value < bounds[1] else "high"
