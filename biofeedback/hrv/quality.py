"""Signal quality: how much of a stretch of beats is clean, and when an index must not be shown.

One module for every quality rule, used by the live engine (per window), the whole-recording
summary (``analyze --json`` ``quality``) and the phase comparison (``compare``/``report``).
Thresholds and their reasons (also in docs/artifacts.md, "Signal quality"):

* ``valid_pct`` = 100 · valid beats / beats (a beat is valid when it is a clean
  normal-to-normal interval: not labelled, not the compensatory interval after a label).
* ``longest_bridge_s``: the longest spacing between consecutive valid beats the spectral spline
  has to bridge (s; about one RR when nothing was removed); gaps count too.
* A window's indices are ``null`` with a reason when ``valid_pct < MIN_VALID_PCT`` (80 %): with
  more than one beat in five removed, the time-domain statistics come from a minority pattern
  and the spline is mostly bridges. Spectral indices (VLF/LF/HF, LF/HF, n.u., peaks, resonance)
  and coherence are also ``null`` when ``longest_bridge_s > MAX_BRIDGE_S`` (4 s): one premature
  beat and its compensatory pause bridge about 2 RR (1.6-2.7 s between 90 and 45 bpm), while a
  4 s hole already spans 60 % of the longest HF period (6.7 s at 0.15 Hz) and flattens it.
* The relaxation baseline needs ``BASELINE_MIN_S`` (60 s) of valid beats and ``MIN_VALID_PCT``.
* Verdict of a recording or phase: ``good`` when ``artifacts_pct <= GOOD_MAX_ARTIFACTS_PCT``
  (5 %, Kubios' guidance: results from recordings with more than about 5 % corrected beats should
  be read with care; Tarvainen et al., Kubios HRV user's guide 3.x, "Artefact correction") and
  ``longest_bridge_s <= MAX_BRIDGE_S``; ``poor`` when ``valid_pct < MIN_VALID_PCT``; else
  ``fair``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "MIN_VALID_PCT",
    "MAX_BRIDGE_S",
    "BASELINE_MIN_S",
    "GOOD_MAX_ARTIFACTS_PCT",
    "POOR_SIGNAL_MESSAGE",
    "Quality",
    "quality_of",
    "verdict_of",
    "window_problem",
    "windows_fine",
    "baseline_problem",
]

MIN_VALID_PCT = 80.0
MAX_BRIDGE_S = 4.0
BASELINE_MIN_S = 60.0
GOOD_MAX_ARTIFACTS_PCT = 5.0
POOR_SIGNAL_MESSAGE = "signal poor: check the strap"


def verdict_of(valid_pct: float, artifacts_pct: float, longest_bridge_s: float) -> str:
    """``"good"``, ``"fair"`` or ``"poor"`` (thresholds in the module docstring).

    Examples
    --------
    >>> verdict_of(99.0, 0.5, 1.1), verdict_of(88.0, 6.0, 2.0), verdict_of(60.0, 30.0, 9.0)
    ('good', 'fair', 'poor')
    """
    if not valid_pct >= MIN_VALID_PCT:
        return "poor"
    if artifacts_pct <= GOOD_MAX_ARTIFACTS_PCT and not longest_bridge_s > MAX_BRIDGE_S:
        return "good"
    return "fair"


@dataclass(frozen=True, slots=True)
class Quality:
    """The quality of a stretch of beats (units in the names; ``verdict``: good | fair | poor)."""

    valid_pct: float
    artifacts_pct: float
    longest_bridge_s: float
    verdict: str

    def to_json_dict(self) -> dict[str, float | str | None]:
        """Plain JSON (an undefined figure, e.g. of a stretch without beats, is ``None``)."""

        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "valid_pct": finite(self.valid_pct),
            "artifacts_pct": finite(self.artifacts_pct),
            "longest_bridge_s": finite(self.longest_bridge_s),
            "verdict": self.verdict,
        }

    def warning(self) -> str | None:
        """One line for stderr when the verdict is not good, else ``None`` (English;
        :data:`WARNING_SPECS` and :data:`WARNING` let a caller write it in another language)."""
        if self.verdict == "good":
            return None
        return WARNING.format(**{k: format(v, WARNING_SPECS[k]) for k, v in self.warning_values().items()},
                              verdict=self.verdict)

    def warning_values(self) -> dict[str, float]:
        """The numbers of :meth:`warning` (format them with :data:`WARNING_SPECS`)."""
        return {"valid_pct": self.valid_pct, "artifacts_pct": self.artifacts_pct,
                "max_artifacts_pct": GOOD_MAX_ARTIFACTS_PCT, "longest_bridge_s": self.longest_bridge_s}


#: The quality warning, English (its Dutch is ``note.quality`` in
#: ``biofeedback/practices/prompts/nl.toml``; a test keeps en.toml's copy equal to this one).
WARNING = ("signal quality {verdict}: {valid_pct} % valid beats, {artifacts_pct} % labelled artifacts (Kubios "
           "advises care above {max_artifacts_pct} %), longest bridge {longest_bridge_s} s; read the indices with care")
#: How the warning's numbers are written (format specs).
WARNING_SPECS = {"valid_pct": ".0f", "artifacts_pct": ".1f", "max_artifacts_pct": "g", "longest_bridge_s": ".1f"}


def quality_of(t_s: ArrayLike, rr_ms: ArrayLike, valid: ArrayLike | None, n_labelled: int) -> Quality:
    """Quality of one stretch: ``valid`` (None = all valid) and the number of labelled beats.

    ``longest_bridge_s`` is the longest spacing between consecutive valid beats, the first valid
    interval counted from its own start (as the spline's knots; ``nan`` with no valid beat).

    Examples
    --------
    >>> q = quality_of([1.0, 2.0, 3.0, 4.0], [1000.0] * 4, [True, False, True, True], 1)
    >>> q.valid_pct, q.artifacts_pct, q.longest_bridge_s, q.verdict
    (75.0, 25.0, 2.0, 'poor')
    """
    t = np.asarray(t_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    n = int(t.size)
    if n == 0:
        return Quality(math.nan, math.nan, math.nan, "poor")
    v = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    n_valid = int(np.count_nonzero(v))
    valid_pct = 100.0 * n_valid / n
    artifacts_pct = 100.0 * n_labelled / n
    if n_valid == 0:
        bridge = math.nan
    else:
        knots = t[v]
        first = float(rr[v][0]) / 1000.0
        bridge = max(first, float(np.diff(knots).max())) if knots.size > 1 else first
    return Quality(valid_pct, artifacts_pct, bridge, verdict_of(valid_pct, artifacts_pct, bridge))


def window_problem(valid_pct: float, longest_bridge_s: float | None = None) -> str | None:
    """Why a window's indices must be ``null`` (or ``None`` when it is fine).

    ``longest_bridge_s`` is checked for spectral windows only (pass ``None`` for the time domain).

    Examples
    --------
    >>> window_problem(95.0, 1.2) is None, window_problem(70.0)
    (True, 'only 70 % valid beats (needs >= 80 %)')
    """
    if not valid_pct >= MIN_VALID_PCT:
        return f"only {valid_pct:.0f} % valid beats (needs >= {MIN_VALID_PCT:g} %)"
    if longest_bridge_s is not None and longest_bridge_s > MAX_BRIDGE_S:
        return f"a {longest_bridge_s:.1f} s stretch bridged (at most {MAX_BRIDGE_S:g} s)"
    return None


def windows_fine(time_valid_pct: float, frequency_valid_pct: float, frequency_bridge_s: float,
                 coherence_valid_pct: float, coherence_bridge_s: float) -> bool:
    """True when :func:`window_problem` finds nothing in any of the engine's three windows (time domain;
    frequency domain and coherence, with their longest bridges): the test of every beat, in one call.

    Examples
    --------
    >>> windows_fine(100.0, 98.0, 1.2, 97.0, 1.1), windows_fine(100.0, 98.0, 4.5, 97.0, 1.1)
    (True, False)
    """
    return (time_valid_pct >= MIN_VALID_PCT and frequency_valid_pct >= MIN_VALID_PCT
            and coherence_valid_pct >= MIN_VALID_PCT
            and not frequency_bridge_s > MAX_BRIDGE_S and not coherence_bridge_s > MAX_BRIDGE_S)


def baseline_problem(valid_s: float, valid_pct: float) -> str | None:
    """Why a baseline rest cannot be the relaxation index's reference (``None`` when it can): it needs
    ``BASELINE_MIN_S`` (60 s) of valid beats and ``MIN_VALID_PCT`` (80 %) valid beats.

    Examples
    --------
    >>> baseline_problem(90.0, 97.0) is None, baseline_problem(8.0, 30.0)
    (True, 'baseline refused: 8 s of valid beats, 30 % valid (needs >= 60 s and >= 80 %)')
    """
    if valid_s < BASELINE_MIN_S or not valid_pct >= MIN_VALID_PCT:
        return (f"baseline refused: {valid_s:.0f} s of valid beats, {valid_pct:.0f} % valid "
                f"(needs >= {BASELINE_MIN_S:g} s and >= {MIN_VALID_PCT:g} %)")
    return None
