"""Artifact correction: the offline result of a classification and the interpolated series.

Part of :mod:`biofeedback.hrv.artifacts`. :func:`detect_artifacts` classifies every beat
(:mod:`.classification`) and builds :class:`ArtifactResult`: the labels, the ``valid`` mask the
artifact policy uses (:mod:`biofeedback.hrv.stretch`), and a NEW, corrected series (extra beats
removed, missed beats split, ectopic/long/short beats moved to the midpoint of their neighbours)
for the named ``interpolate`` option. The raw series is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .classification import EXTRA, LABELS, MISSED, ArtifactSettings, _codes, _runs, _valid_from_codes

@dataclass(frozen=True, eq=False)
class ArtifactResult:
    """Labels of the raw beats and the corrected series (a new array; the raw one is untouched).

    Attributes
    ----------
    rr_ms:
        The raw intervals (a read-only copy), ms.
    labels:
        One label per raw beat (see :data:`LABELS`).
    valid:
        Per raw beat: True when its raw interval is a clean normal-to-normal interval (label
        ``"normal"`` and not rewritten by the correction of the beat before it).
    rr_ms_corrected, t_s_corrected, breaks_corrected:
        The corrected series (length may differ: extra beats removed, missed beats inserted), its
        beat times (s) and its gap flags (True = a gap right before that beat).
    source_index:
        For each corrected beat, the raw beat it comes from.
    artifacts_pct:
        100 * number of beats not labelled ``"normal"`` / number of beats (0 for no beats).
    """

    rr_ms: NDArray[np.float64]
    labels: tuple[str, ...]
    valid: NDArray[np.bool_]
    rr_ms_corrected: NDArray[np.float64]
    t_s_corrected: NDArray[np.float64]
    breaks_corrected: NDArray[np.bool_]
    source_index: NDArray[np.int64]
    artifacts_pct: float
    settings: ArtifactSettings = field(default_factory=ArtifactSettings)
    mode: str = "offline"

    @property
    def n_artifacts(self) -> int:
        return sum(1 for lab in self.labels if lab != "normal")

    def counts(self) -> dict[str, int]:
        """Number of beats per label, every label present (zeros included)."""
        out = dict.fromkeys(LABELS, 0)
        for lab in self.labels:
            out[lab] += 1
        return out


def _prepare(rr_ms: ArrayLike, t_s: ArrayLike | None, breaks: ArrayLike | None):
    rr = np.array(rr_ms, dtype=np.float64, copy=True)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be one-dimensional, got shape {rr.shape}")
    if rr.size and not (np.all(np.isfinite(rr)) and rr.min() > 0):
        raise ValueError("rr_ms must be finite and > 0")
    n = rr.size
    b = np.zeros(n, dtype=bool) if breaks is None else np.asarray(breaks, dtype=bool).copy()
    if b.shape != (n,):
        raise ValueError(f"breaks has shape {b.shape}, expected ({n},) like rr_ms")
    if t_s is None:
        t = np.cumsum(rr) / 1000.0
    else:
        t = np.array(t_s, dtype=np.float64, copy=True)
        if t.shape != (n,):
            raise ValueError(f"t_s has shape {t.shape}, expected ({n},) like rr_ms")
    rr.setflags(write=False)
    return rr, t, b


def detect_artifacts(
    rr_ms: ArrayLike,
    t_s: ArrayLike | None = None,
    breaks: ArrayLike | None = None,
    *,
    settings: ArtifactSettings | None = None,
    mode: str = "offline",
) -> ArtifactResult:
    """Classify every beat and build the corrected series (Lipponen & Tarvainen 2019).

    Parameters
    ----------
    rr_ms:
        Raw RR intervals in ms (> 0). Never modified.
    t_s:
        Beat times in s; ``None`` = ``cumsum(rr_ms) / 1000``.
    breaks:
        True at beat ``i`` = a gap right before beat ``i``; each run is classified on its own.
    settings:
        Classifier parameters (paper defaults).
    mode:
        ``"offline"`` (centred windows, the paper) or ``"causal"`` (trailing windows, two beats of
        look-ahead: what :class:`CausalArtifactDetector` computes live).

    Returns
    -------
    ArtifactResult

    Examples
    --------
    >>> import numpy as np
    >>> rr = 800 + 40 * np.sin(np.arange(200) / 3.0)
    >>> rr[100] -= 300; rr[101] += 300          # a premature beat and its compensatory pause
    >>> res = detect_artifacts(rr)
    >>> res.labels[100], bool(res.valid[101]), round(res.artifacts_pct, 2)
    ('ectopic', False, 0.5)
    >>> bool(np.all(res.rr_ms == rr))            # raw untouched
    True
    """
    st = settings or ArtifactSettings()
    rr, t, b = _prepare(rr_ms, t_s, breaks)
    codes = _codes(rr, b, st, mode)
    return _build_result(rr, t, b, codes, st, mode)



def _build_result(rr, t, b, codes, st: ArtifactSettings, mode: str) -> ArtifactResult:
    n = rr.size
    valid = _valid_from_codes(codes, b)
    rr_c = rr.copy()
    t_c = t.copy()
    keep = np.ones(n, dtype=bool)
    run_id = np.cumsum(b) if n else np.zeros(0, dtype=np.int64)
    if n:
        run_id = run_id - run_id[0]
    run_end = np.empty(n, dtype=np.int64)
    for s, e in _runs(n, b):
        run_end[s:e] = e - 1
    inserts: list[tuple[int, float, float]] = []  # (before raw index, rr_ms, t_s)
    for i in np.flatnonzero(codes).tolist():
        code = int(codes[i])
        if code == EXTRA:
            rr_c[i + 1] = rr_c[i] + rr_c[i + 1]
            keep[i] = False
        elif code == MISSED:
            half = rr_c[i] / 2.0
            rr_c[i] = half
            inserts.append((i, half, t_c[i] - half / 1000.0))
        else:  # ectopic, long, short: move beat i to the midpoint of its neighbours
            if i + 1 <= run_end[i]:
                mean = (rr_c[i] + rr_c[i + 1]) / 2.0
                rr_c[i] = mean
                rr_c[i + 1] = mean
                t_c[i] = t_c[i + 1] - mean / 1000.0
            else:
                keep[i] = False
    src = np.flatnonzero(keep)
    out_rr, out_t, out_src = rr_c[src], t_c[src], src.astype(np.int64)
    if inserts:
        pos = np.searchsorted(src, [p for p, _, _ in inserts])
        out_rr = np.insert(out_rr, pos, [r for _, r, _ in inserts])
        out_t = np.insert(out_t, pos, [tt for _, _, tt in inserts])
        out_src = np.insert(out_src, pos, [p for p, _, _ in inserts])
    rid = run_id[out_src] if n else np.zeros(0, dtype=np.int64)
    out_b = np.zeros(out_src.size, dtype=bool)
    if out_src.size:
        out_b[0] = bool(b[0])
        out_b[1:] = rid[1:] != rid[:-1]
    for arr in (out_rr, out_t, out_b, out_src, valid):
        arr.setflags(write=False)
    pct = 100.0 * float(np.count_nonzero(codes)) / n if n else 0.0
    return ArtifactResult(
        rr_ms=rr,
        labels=tuple(map(LABELS.__getitem__, codes.tolist())),
        valid=valid,
        rr_ms_corrected=out_rr,
        t_s_corrected=out_t,
        breaks_corrected=out_b,
        source_index=out_src,
        artifacts_pct=pct,
        settings=st,
        mode=mode,
    )

