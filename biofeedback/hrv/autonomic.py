r"""PNS and SNS indices: Kubios-like approximations with published resting norms.

Kubios HRV (Tarvainen et al. 2014, doi:10.1016/j.cmpb.2013.07.024; Kubios HRV user's guide,
"PNS and SNS indexes") defines

* PNS index = mean of the z-scores of mean RR, RMSSD and SD1 (Poincaré SD1 in normalised units),
* SNS index = mean of the z-scores of mean HR, Baevsky's stress index (square-root form) and SD2,

where each z-score is :math:`z = (x - \mu_{norm}) / \sigma_{norm}` against normal resting values
of healthy adults. **Kubios' own normative means and SDs are not public**, so these indices are
approximations: 0 means "like the average healthy adult at rest", ±1 one population SD away.
Our norms (``NORMS``), short-term (~5 min) supine/seated rest in healthy adults:

=================  ==========  =========  ===================================================
quantity           mean        SD         source
=================  ==========  =========  ===================================================
mean RR (ms)       926         90         Nunan, Sandercock & Brodie (2010), Pacing Clin
                                          Electrophysiol 33:1407-1417,
                                          doi:10.1111/j.1540-8159.2010.02841.x
RMSSD (ms)         42          15         Nunan et al. (2010)
SD1 (ms)           29.7        10.6       derived: SD1 ≈ RMSSD/√2 (Brennan et al. 2001,
                                          doi:10.1109/10.959330) applied to Nunan's RMSSD
mean HR (1/min)    64.8        6.3        derived: 60000/926; SD by the delta method
                                          60000·90/926²
stress index       10.0        2.5        derived from Baevsky's resting range SI ≈ 50-150
(√ form)                                  (Baevsky & Chernikova 2017,
                                          doi:10.12710/cardiometry.2017.10.6676):
                                          √50 ≈ 7.1 … √150 ≈ 12.2 taken as mean ± 2 SD
SD2 (ms)           64.2        24.9       derived: SD2 = √(2·SDNN² − SD1²) with Nunan's
                                          SDNN 50 ± 16 ms; SD by the delta method
=================  ==========  =========  ===================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._kernels import mean_of_three_z

__all__ = ["Norm", "NORMS", "PNS_NORMS", "SNS_NORMS", "z_score", "pns_index", "sns_index"]


@dataclass(frozen=True, slots=True)
class Norm:
    """A population mean and SD of one index, with where it comes from."""

    mean: float
    sd: float
    source: str


NORMS: dict[str, Norm] = {
    "mean_rr_ms": Norm(926.0, 90.0, "Nunan et al. 2010, doi:10.1111/j.1540-8159.2010.02841.x"),
    "rmssd_ms": Norm(42.0, 15.0, "Nunan et al. 2010, doi:10.1111/j.1540-8159.2010.02841.x"),
    "sd1_ms": Norm(42.0 / math.sqrt(2.0), 15.0 / math.sqrt(2.0), "derived: RMSSD/sqrt(2) from Nunan et al. 2010"),
    "mean_hr_bpm": Norm(60000.0 / 926.0, 60000.0 * 90.0 / 926.0**2, "derived: 60000/mean RR, Nunan et al. 2010"),
    "stress_index": Norm(10.0, 2.5, "derived: sqrt of Baevsky's resting SI 50-150 as mean +- 2 SD"),
    "sd2_ms": Norm(
        math.sqrt(2 * 50.0**2 - 0.5 * 42.0**2),
        2 * 50.0 / math.sqrt(2 * 50.0**2 - 0.5 * 42.0**2) * 16.0,
        "derived: sqrt(2 SDNN^2 - SD1^2), SDNN 50 +- 16 ms, Nunan et al. 2010",
    ),
}


def z_score(value: float, norm: Norm) -> float:
    """:math:`(x - \\mu) / \\sigma` against a :class:`Norm`.

    Examples
    --------
    >>> z_score(1016.0, NORMS["mean_rr_ms"])  # (1016 - 926) / 90
    1.0
    """
    return (value - norm.mean) / norm.sd


#: The norms of :func:`pns_index` and :func:`sns_index` as ``(mean, sd)`` pairs in the order of their
#: arguments (the per-beat engine passes them to its compiled step).
PNS_NORMS = tuple(v for k in ("mean_rr_ms", "rmssd_ms", "sd1_ms") for v in (NORMS[k].mean, NORMS[k].sd))
SNS_NORMS = tuple(v for k in ("mean_hr_bpm", "stress_index", "sd2_ms") for v in (NORMS[k].mean, NORMS[k].sd))


def pns_index(mean_rr_ms: float, rmssd_ms: float, sd1_ms: float) -> float:
    r"""Parasympathetic (PNS) index, Kubios-like approximation (dimensionless, population SDs).

    :math:`PNS = \frac13\left(z(\overline{RR}) + z(RMSSD) + z(SD1)\right)` with the norms in
    ``NORMS`` (see the module docstring for sources). Positive = more vagal activity than the
    average resting adult. ``nan`` if any input is ``nan``. Window: whatever window the inputs
    came from (Kubios recommends ≥ 1 min; the engine uses its time-domain window). One compiled
    function (:func:`biofeedback.hrv._kernels.mean_of_three_z`), the per-beat engine's too.

    Examples
    --------
    >>> pns_index(926.0, 42.0, 42.0 / 2 ** 0.5)  # exactly the norms
    0.0
    >>> round(pns_index(1016.0, 57.0, (42.0 + 15.0) / 2 ** 0.5), 6)  # each one SD above
    1.0
    """
    m1, s1, m2, s2, m3, s3 = PNS_NORMS
    return float(mean_of_three_z(float(mean_rr_ms), m1, s1, float(rmssd_ms), m2, s2, float(sd1_ms), m3, s3, 1.0))


def sns_index(mean_hr_bpm: float, stress_index: float, sd2_ms: float) -> float:
    r"""Sympathetic (SNS) index, Kubios-like approximation (dimensionless, population SDs).

    :math:`SNS = \frac13\left(z(\overline{HR}) + z(SI) - z(SD2)\right)`, where SI is the stress index
    in Kubios' square-root form (:func:`biofeedback.hrv.time_domain.stress_index`). As in Kubios, a
    *lower* SD2 means more sympathetic activity, so its z-score enters with a minus sign (Kubios'
    guide: "Mean HR, Baevsky's stress index and SD2 in normalised units"; SD2 decreases with
    sympathetic activation). Norms in ``NORMS``. ``nan`` if any input is ``nan``. One compiled
    function (:func:`biofeedback.hrv._kernels.mean_of_three_z`), the per-beat engine's too.

    Examples
    --------
    >>> round(sns_index(60000 / 926, 10.0, NORMS["sd2_ms"].mean), 12)  # exactly the norms
    0.0
    """
    m1, s1, m2, s2, m3, s3 = SNS_NORMS
    return float(mean_of_three_z(float(mean_hr_bpm), m1, s1, float(stress_index), m2, s2, float(sd2_ms), m3, s3,
                                 -1.0))
