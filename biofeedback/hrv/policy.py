"""The artifact policy: which beats the indices of a stretch are computed from. One place for it.

``analyze``, ``compare``, ``trends``, ``report``, ``export`` (through the stored-session value,
:attr:`sessions.stored.StoredSession.artifacts`) and the live engine all apply the same rule:

* ``"exclude"`` (the default, and the live engine's rule): the beats are classified
  (Lipponen & Tarvainen 2019, :mod:`biofeedback.hrv.artifacts`); a flagged beat, and the interval
  after it that its correction would rewrite (the compensatory pause), are *excluded* from every
  index: successive differences are formed only between valid neighbours of one run (never across
  a removed beat or a gap), and spectra come from the spline through the valid beats. Nothing is
  invented: with frequent premature beats (bigeminy) an interpolating correction turns the
  short-long pattern into a new oscillation (the Polar H10 PVC recording: RMSSD 140.9 ms
  interpolated, about 17 ms from the normal-to-normal pairs).
* ``"interpolate"``: Kubios-style replacement, for users who want it: the corrected series of
  :func:`biofeedback.hrv.artifacts.detect_artifacts` (extra beats removed, missed beats split,
  ectopic/long/short beats moved to the midpoint of their neighbours), every corrected beat used.
* ``"none"``: the raw series, every beat used (``--no-correction``).

The labels are computed in every case where detection is on, so the quality of a stretch
(:mod:`biofeedback.hrv.quality`) is reported even for ``"none"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .artifacts import ArtifactSettings, detect_artifacts
from .quality import Quality, quality_of

__all__ = ["Correction", "CORRECTIONS", "PolicyBeats", "apply_policy"]

Correction = Literal["exclude", "interpolate", "none"]
CORRECTIONS: tuple[str, ...] = ("exclude", "interpolate", "none")


@dataclass(frozen=True, eq=False)
class PolicyBeats:
    """The beats an index is computed from, after the artifact policy.

    ``t_s``, ``rr_ms``, ``valid``, ``breaks``: the series the kernels see (raw beats with the
    ``valid`` mask for ``"exclude"``; the corrected series, all valid, for ``"interpolate"``; the
    raw series, all valid, for ``"none"``). ``labels``/``raw_valid``: the classification of the raw
    beats (all ``"normal"``/True when detection is off). ``correction``: the policy applied.
    """

    t_s: NDArray[np.float64]
    rr_ms: NDArray[np.float64]
    valid: NDArray[np.bool_]
    breaks: NDArray[np.bool_]
    labels: tuple[str, ...]
    raw_t_s: NDArray[np.float64]
    raw_rr_ms: NDArray[np.float64]
    raw_valid: NDArray[np.bool_]
    correction: str

    @property
    def n_raw(self) -> int:
        return int(self.raw_rr_ms.size)

    @property
    def n_labelled(self) -> int:
        return len(self.labels) - self.labels.count("normal")

    @property
    def artifacts_pct(self) -> float:
        """100 · raw beats labelled as artifacts / raw beats (0 for no beats)."""
        return 100.0 * self.n_labelled / self.n_raw if self.n_raw else 0.0

    def quality(self) -> Quality:
        """The quality of the raw stretch (:func:`biofeedback.hrv.quality.quality_of`)."""
        return quality_of(self.raw_t_s, self.raw_rr_ms, self.raw_valid, self.n_labelled)


def apply_policy(
    rr_ms: ArrayLike,
    t_s: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
    *,
    correction: str = "exclude",
    detection: bool = True,
    settings: ArtifactSettings | None = None,
    mode: str = "offline",
) -> PolicyBeats:
    """Classify a stretch of raw beats (unless ``detection`` is False) and apply ``correction``.

    Examples
    --------
    >>> rr = 800 + 40 * np.sin(np.arange(200) / 3.0)
    >>> rr[100] -= 300; rr[101] += 300          # a premature beat and its compensatory pause
    >>> p = apply_policy(rr)
    >>> p.labels[100], bool(p.valid[100]), bool(p.valid[101]), int(p.valid.sum())
    ('ectopic', False, False, 198)
    >>> apply_policy(rr, correction="interpolate").rr_ms[100] == apply_policy(rr, correction="interpolate").rr_ms[101]
    np.True_
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    rr = np.asarray(rr_ms, dtype=np.float64)
    n = int(rr.size)
    t = np.cumsum(rr) / 1000.0 if t_s is None else np.asarray(t_s, dtype=np.float64)
    b = np.zeros(n, dtype=bool) if breaks is None else np.asarray(breaks, dtype=bool)
    ones = np.ones(n, dtype=bool)
    if not detection or n == 0:
        return PolicyBeats(t, rr, ones, b, ("normal",) * n, t, rr, ones, "none" if not detection else correction)
    res = detect_artifacts(rr, t, b, settings=settings, mode=mode)
    raw_valid = np.asarray(res.valid, dtype=bool)
    if correction == "exclude":
        return PolicyBeats(t, rr, raw_valid, b, res.labels, t, rr, raw_valid, correction)
    if correction == "interpolate":
        c = res.rr_ms_corrected
        return PolicyBeats(res.t_s_corrected, c, np.ones(c.size, dtype=bool), res.breaks_corrected, res.labels,
                           t, rr, raw_valid, correction)
    return PolicyBeats(t, rr, ones, b, res.labels, t, rr, raw_valid, correction)
