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
from biofeedback.hrv.artifacts.scoring import DetectionRates, clear_premature_valid, detection_rates

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
    legacy = ArtifactSettings(min_threshold_frac=0.0, neighbour_line=0.0)
    pooled = DetectionRates(0, 0, 0, 0)
    for path in _records(shared_data):
        sym, rr = _labelled(path)
        res = detect_artifacts(rr, settings=legacy)
        pooled = pooled + detection_rates(sym, res.labels, res.valid)
    assert pooled.false_label_pct > MAX_FALSE_POOLED_PCT


# --- clean recordings: the default policy stays close to the uncorrected values (issue 17 section 2) ---

MAX_RMSSD_LOSS_PCT = 3.0


def _rmssd_ms(rr: np.ndarray, valid: np.ndarray) -> float:
    from biofeedback.hrv.successive import successive_differences_ms

    d = successive_differences_ms(rr, valid)
    return float(np.sqrt(np.mean(d * d)))


@pytest.mark.shared_data
@pytest.mark.parametrize("mode", ["offline", "causal"])
def test_default_rmssd_close_to_raw_on_clean_hours(shared_data: Path, mode: str) -> None:
    """On the seven one-hour pyhrv series the default (exclude flagged beats) RMSSD is within 3 % of
    the raw series' RMSSD once the unmistakable premature beats are left out (series 3 has four,
    whose exclusion alone costs 2.9 %); without the neighbour-line test the detector lost 14-25 % on series 1-3."""
    from biofeedback.hrv.policy import apply_policy

    paths = sorted((shared_data / "one-hour").glob("pyhrv_series_*_rr_ms.txt"))
    if len(paths) != 7:
        pytest.skip(f"the seven one-hour pyhrv series are not all in {shared_data / 'one-hour'}")
    legacy = ArtifactSettings(neighbour_line=0.0)  # without the neighbour-line test
    legacy_losses = []
    for path in paths:
        rr = np.loadtxt(path)
        ref = _rmssd_ms(rr, clear_premature_valid(rr))
        got = _rmssd_ms(rr, apply_policy(rr, mode=mode).valid)
        assert abs(got / ref - 1.0) * 100.0 <= MAX_RMSSD_LOSS_PCT, (path.name, got, ref)
        old = _rmssd_ms(rr, apply_policy(rr, mode=mode, settings=legacy).valid)
        legacy_losses.append((1.0 - old / ref) * 100.0)
    assert max(legacy_losses) > 10.0  # the test fails without the change
