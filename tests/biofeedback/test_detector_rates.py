"""Detector goal on labelled records (issue 17 section 4), offline and live (causal) detectors:
isolated premature beats found >= 95 %, false labels on N beats inside all-N stretches <= 0.5 %
pooled and <= 1 % on every record. Definitions: :mod:`biofeedback.hrv.artifacts.scoring`.
Every labelled record in ../shared/data is used (``*_beats*.csv[.gz]`` with a ``symbol`` column)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest

from biofeedback.hrv.artifacts import ArtifactSettings, detect_artifacts
from biofeedback.hrv.artifacts.scoring import DetectionRates, detection_rates

MIN_SENSITIVITY_PCT = 95.0
MAX_FALSE_POOLED_PCT = 0.5
MAX_FALSE_RECORD_PCT = 1.0


def _labelled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        rows = list(csv.DictReader(f))
    sym = np.array([r["symbol"] for r in rows[1:]])  # the first beat has no interval
    rr = np.array([float(r["rr_ms_from_prev_beat"]) for r in rows[1:]])
    return sym, rr


def _records(shared_data: Path) -> list[Path]:
    found = sorted(p for sub in ("holter", "labelled") for p in (shared_data / sub).glob("*_beats*.csv*"))
    if not found:
        pytest.skip(f"no labelled beat records in {shared_data}")
    return found


@pytest.mark.shared_data
@pytest.mark.parametrize("mode", ["offline", "causal"])
def test_detector_goal_on_labelled_records(shared_data: Path, mode: str) -> None:
    pooled = DetectionRates(0, 0, 0, 0)
    for path in _records(shared_data):
        sym, rr = _labelled(path)
        res = detect_artifacts(rr, mode=mode)
        r = detection_rates(sym, res.labels, res.valid)
        pooled = pooled + r
        assert r.false_label_pct <= MAX_FALSE_RECORD_PCT, (path.name, r)
    assert pooled.sensitivity_pct >= MIN_SENSITIVITY_PCT, pooled
    assert pooled.false_label_pct <= MAX_FALSE_POOLED_PCT, pooled


@pytest.mark.shared_data
def test_version_1_detector_missed_the_goal(shared_data: Path) -> None:
    """The thresholds of settings version 1 (no relative floor) flag > 0.5 % pooled: the test above
    fails without the change."""
    legacy = ArtifactSettings(min_threshold_frac=0.0)
    pooled = DetectionRates(0, 0, 0, 0)
    for path in _records(shared_data):
        sym, rr = _labelled(path)
        res = detect_artifacts(rr, settings=legacy)
        pooled = pooled + detection_rates(sym, res.labels, res.valid)
    assert pooled.false_label_pct > MAX_FALSE_POOLED_PCT
