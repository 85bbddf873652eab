"""Beat classification and artifact correction after Lipponen & Tarvainen (2019).

Three modules: :mod:`.classification` (labels, settings, the decision tree), :mod:`.correction`
(:func:`detect_artifacts`, the valid mask and the interpolated series) and :mod:`.causal` (the live
detector).

Reference
---------
Lipponen JA, Tarvainen MP (2019). "A robust algorithm for heart rate variability time series
artefact correction using novel beat classification". J Med Eng Technol 43(3):173-181,
doi:10.1080/03091902.2019.1640306. This is the automatic correction of Kubios HRV.

Algorithm (per run of beats between gaps; ``RR`` in ms, beat ``j`` ends interval ``RR(j)``)
-----------------------------------------------------------------------------------------
1. ``dRR(j) = RR(j) - RR(j-1)`` (``dRR(0) = 0``: the first beat of a run has no predecessor).
2. ``Th1(j) = alpha * QD(|dRR|)`` over ``window_beats`` (91) beats, ``QD = (Q3 - Q1) / 2`` the
   quartile deviation, ``alpha = 5.2``; ``dRR`` is normalised: ``dRR(j) / Th1(j)``.
3. ``medRR(j)`` = median of ``median_beats`` (11) RR; ``mRR(j) = RR(j) - medRR(j)``, doubled when
   negative; ``Th2(j) = alpha * QD(|mRR|)`` over 91 beats; ``mRR`` normalised by ``Th2``.
4. Subspaces: ``S12(j) = max(dRR(j-1), dRR(j+1))`` if ``dRR(j) > 0`` else ``min(...)``
   (0 when ``dRR(j) == 0``); ``S22(j) = min(dRR(j+1), dRR(j+2))`` if ``dRR(j) >= 0`` else
   ``max(...)``. Neighbours past the ends of a run are reflected (``dRR(n) = dRR(n-2)``).
5. Classification (the paper's Figure 1):
   *ectopic* if ``dRR > 1 and S12 < -c1*dRR - c2`` or ``dRR < -1 and S12 > -c1*dRR + c2``
   (``c1 = 0.13``, ``c2 = 0.17``). This test is centred on the compensatory interval: a premature
   beat ``j`` makes the negative-positive-negative pattern ``dRR(j) < 0 < dRR(j+1), dRR(j+2) < 0``
   whose centre is ``j + 1``, so the test runs on ``dRR(j+1)`` and its neighbours and the label
   goes to the beat out of place, ``j``. Otherwise, if ``|dRR| > 1 or |mRR| > 3``, the beat is
   long/short when ``dRR > 1 and S22 < -1`` (long), ``|mRR| > 3``, or ``dRR < -1 and S22 > 1``
   (short); among those, *extra* if short and ``|RR(j) + RR(j+1) - medRR(j)| < Th2(j)``,
   *missed* if long and ``|RR(j)/2 - medRR(j)| < Th2(j)``, else *long* (``RR(j) > medRR(j)``) or
   *short*.
6. A beat whose interval is rewritten by the correction of the beat before it (the compensatory
   interval after an ectopic, long or short beat, the remainder after an extra detection) is not
   classified again: it is labelled ``"normal"`` but marked not valid.

Correction (offline, :func:`detect_artifacts`) builds a NEW series; the raw one is never changed:
extra beats are removed (their interval merges into the next), a missed beat is split into two
equal intervals (one beat inserted), ectopic/long/short beats are moved to the midpoint between
their neighbours (``RR(j)`` and ``RR(j+1)`` both become their mean: linear interpolation of the
beat time, which keeps every other beat time and the duration unchanged; NeuroKit2 does the same,
Kubios interpolates the RR values with a cubic spline). A flagged last beat of a run, which has no
successor to interpolate with, is dropped from the corrected series.

Extensions (settings, documented in docs/artifacts.md)
-----------------------------------------------------
``max_threshold_frac`` (default 0.2): ``Th1`` and ``Th2`` are capped at 0.2 * ``medRR(j)``. When
ectopy is frequent (bigeminy, trigeminy) the quartile deviations grow with the ectopic beats and
the paper's thresholds no longer see them (2 % flagged on a Polar H10 recording where a third of
the beats are premature); with the cap 44 % are flagged and 13 % of intervals stay valid, while
the results on the PhysioNet-labelled recordings are unchanged (the cap never binds there).
``0`` restores the paper exactly. ``min_threshold_ms`` (default 40 ms; 0 is the paper) floors
both thresholds. The thresholds are 5.2 quartile deviations of the beat-to-beat changes; at the
start of every run (a session's first beats, after each gap) that spread is estimated from two or
three beats and is tiny, so ordinary variation of 10-30 ms was flagged as ectopic (the second beat
of every simulated session was). A premature beat shortens RR by ~20 % (150+ ms at 75 bpm), so a
40 ms floor (5 % of a typical RR) never hides one: on the PhysioNet-labelled recordings it keeps
every V-beat detection and raises the specificity on 1/128 s-quantised Holter data from ~97 % to
98.8-99.6 %.
``min_threshold_frac`` (default 0.09; 0 is the paper) floors both thresholds at 9 % of
``medRR(j)``. ``neighbour_line`` (default 3; 0 is the paper): a beat labelled long by the
beat-to-beat rule alone (``dRR > 1 and S22 < -1``, not missed, ``|mRR| <= 3``) must also stand
more than ``neighbour_line * Th1`` above the line through its two neighbours
(``dRR(j) - dRR(j+1) > 2 * neighbour_line``), else it stays normal: the crest of a deep breath
rises and falls by more than ``Th1`` but is not a spike; the compensatory pause of a premature
beat is. Engine settings version 1 sets both to 0.

Offline versus causal
---------------------
``mode="offline"`` uses centred windows (45 beats either side for the thresholds, 5 for the
median), like the paper. ``mode="causal"`` and :class:`CausalArtifactDetector` (live use) see
at most ``LOOKAHEAD_BEATS = 2`` beats after the beat being classified (``S22`` needs
``dRR(j+2)``): beat ``j`` is settled when beat ``j+2`` arrives. Their thresholds and median use
trailing windows ending at the newest known beat ``e = min(j+2, last)``: ``Th1`` over ``|dRR|`` of
beats ``e-90..e``, ``medRR`` over ``RR`` of ``e-10..e``, ``Th2`` over the ``|mRR|`` already
settled (``j-90..j``), and the neighbours ``dRR(j+1), dRR(j+2)`` are normalised by ``Th1(j)``.
The causal detector restarts after a gap. ``detect_artifacts(mode="causal")`` equals the
streaming detector label for label (tested).

Labels: ``"normal"``, ``"ectopic"``, ``"missed"``, ``"extra"``, ``"long"``, ``"short"``.
``artifacts_pct`` = 100 * (beats not labelled ``"normal"``) / beats.
"""

from __future__ import annotations

from .causal import CausalArtifactDetector, SettledBeat
from .classification import LABELS, LOOKAHEAD_BEATS, ArtifactSettings
from .correction import ArtifactResult, detect_artifacts

__all__ = [
    "LABELS",
    "LOOKAHEAD_BEATS",
    "ArtifactSettings",
    "ArtifactResult",
    "CausalArtifactDetector",
    "SettledBeat",
    "detect_artifacts",
]
