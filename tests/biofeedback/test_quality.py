"""Signal quality (issue 17 section 3): verdicts, per-window nulls with reasons in the engine, the
relaxation baseline refusal, and settings version 1 reproducing the old outputs bit for bit."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from biofeedback.beat import Beat, Gap
from biofeedback.engine import BeatIndices, EngineSettings, HRVEngine
from biofeedback.hrv.policy import apply_policy
from biofeedback.hrv.quality import MAX_BRIDGE_S, MIN_VALID_PCT, quality_of, verdict_of, window_problem, windows_fine


def _sinus(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 850.0 + 40.0 * np.sin(2 * np.pi * np.arange(n) * 0.85 / 6.0) + rng.normal(0.0, 8.0, n)


def _with_ectopics(rr: np.ndarray, pct: float, seed: int = 2) -> np.ndarray:
    """Premature beats (35 % early, full compensatory pause) on ``pct`` % of the beats, spread out."""
    rr = rr.copy()
    n_ect = int(round(rr.size * pct / 100.0))
    if n_ect:
        idx = np.linspace(20, rr.size - 20, n_ect).astype(int)
        for i in idx:
            d = 0.35 * rr[i]
            rr[i] -= d
            rr[i + 1] += d
    return rr


@pytest.mark.parametrize("pct, verdict", [(0, "good"), (3, "good"), (10, "fair"), (40, "poor")])
def test_verdicts_on_synthetic_artifact_loads(pct: float, verdict: str) -> None:
    rr = _with_ectopics(_sinus(1500), pct)
    q = apply_policy(rr).quality()
    assert q.verdict == verdict, q
    if pct <= 10:  # isolated premature beats: one label each
        assert q.artifacts_pct == pytest.approx(pct, abs=1.0)
    else:  # every 2.5 beats the pairs overlap and more beats are out of place
        assert q.artifacts_pct > 30
    assert (q.warning() is None) == (verdict == "good")


def test_verdict_thresholds() -> None:
    assert verdict_of(100.0, 0.0, 1.0) == "good"
    assert verdict_of(99.0, 5.0, 4.0) == "good"
    assert verdict_of(99.0, 5.1, 1.0) == "fair"  # Kubios' 5 % guidance
    assert verdict_of(99.0, 1.0, 4.5) == "fair"  # a bridge longer than the spectra tolerate
    assert verdict_of(MIN_VALID_PCT - 0.1, 1.0, 1.0) == "poor"
    assert quality_of([], [], None, 0).verdict == "poor"


@pytest.mark.shared_data
def test_verdicts_on_the_real_strap_files(shared_data: Path) -> None:
    from sessions.importers import read_recording

    pvc = read_recording(shared_data / "real-strap" / "polar_h10_pvc_rr.csv")
    q = apply_policy(pvc.rr_ms, pvc.beat_times_s()).quality()
    assert q.verdict == "poor" and q.valid_pct < 20 and q.artifacts_pct > 40
    calm = read_recording(shared_data / "real-strap" / "polar_h10_breathing_ibi.csv", column="2")
    q = apply_policy(calm.rr_ms, calm.beat_times_s()).quality()
    assert q.verdict == "good" and q.valid_pct > 99


def _run(settings: EngineSettings, rr: np.ndarray, baseline_end_s: float | None = None,
         gap_at: int | None = None) -> list[BeatIndices]:
    from sessions.pipeline import SessionPipeline

    t = np.cumsum(rr) / 1000.0
    if gap_at is not None:
        t[gap_at:] += 7.0
    pipe = SessionPipeline(settings, baseline_end_s)
    out: list[BeatIndices] = []
    for i, (r, ti) in enumerate(zip(rr.tolist(), t.tolist())):
        if i == gap_at:
            out += pipe.push(Gap(start_s=t[i - 1], end_s=ti - r / 1000.0, reason="test"))
        out += pipe.push(Beat(rr_ms=r, t_s=ti))
    return out + pipe.flush()


def test_engine_nulls_poor_windows_with_a_reason() -> None:
    clean = _sinus(400)
    rr = np.concatenate([clean, _with_ectopics(_sinus(200, 3), 40), clean])
    out = _run(EngineSettings(), rr)
    d = [b.to_json_dict() for b in out]
    assert all(k in d[0] for k in ("time_valid_pct", "frequency_bridge_s", "signal_ok", "quality_reason"))
    poor = [x for x in d if not x["signal_ok"]]
    assert poor, "40 % premature beats must make some windows poor"
    for x in poor:
        assert x["quality_reason"]
        if "time domain" in x["quality_reason"]:
            assert x["rmssd_ms"] is None and x["sdnn_ms"] is None and x["time_valid_pct"] < MIN_VALID_PCT
        if "spectrum" in x["quality_reason"]:
            assert x["lf_ms2"] is None and x["lf_hf"] is None and x["resonance_hz"] is None
    # clean windows keep their numbers
    assert d[350]["signal_ok"] and d[350]["rmssd_ms"] is not None and d[350]["quality_reason"] is None
    assert d[-1]["signal_ok"] and d[-1]["lf_ms2"] is not None
    # a 7 s gap is a bridge the spectra refuse until it leaves their windows
    gap = [b.to_json_dict() for b in _run(EngineSettings(), _sinus(400), gap_at=250)]
    assert "spectrum" in gap[260]["quality_reason"] and gap[260]["lf_ms2"] is None
    assert gap[260]["rmssd_ms"] is not None  # the time domain never bridges


def test_relaxation_baseline_needs_60_s_and_80_pct_valid_beats() -> None:
    # 30 s of clean baseline: refused under version 2 (accepted by version 1)
    rr = _sinus(400)
    v2 = _run(EngineSettings(), rr, baseline_end_s=30.0)
    assert all(b.relaxation is None for b in v2)
    assert "baseline refused" in (v2[-1].quality.relaxation_reason or "")  # type: ignore[union-attr]
    v1 = _run(EngineSettings(version=1), rr, baseline_end_s=30.0)
    assert v1[-1].relaxation is not None and "relaxation_reason" not in v1[-1].to_json_dict()
    # 120 s of baseline with 40 % premature beats: refused
    bad = np.concatenate([_with_ectopics(_sinus(140, 4), 40), _sinus(300)])
    out = _run(EngineSettings(), bad, baseline_end_s=120.0)
    assert all(b.relaxation is None for b in out)
    assert "% valid" in (out[-1].quality.relaxation_reason or "")  # type: ignore[union-attr]
    # 90 s of clean baseline: accepted
    ok = _run(EngineSettings(), rr, baseline_end_s=90.0)
    assert ok[-1].relaxation is not None and ok[-1].quality.relaxation_reason is None  # type: ignore[union-attr]


def test_version_1_settings_reproduce_the_version_1_engine_bit_for_bit() -> None:
    """Fingerprint of the per-beat JSON of the version-1 engine (main before settings version 2), on a
    series with premature beats, a gap and a baseline: stored sessions replay bit for bit."""
    v1 = {"time_window_s": 60.0, "coherence_window_s": 64.0, "frequency_window_s": 120.0, "method": "welch",
          "detrend": "mean", "fs_hz": 4.0, "segment_s": 300.0, "overlap": 0.5, "smoothness_lambda": 500.0,
          "si_bin_ms": 50.0, "artifact_detection": True,
          "artifacts": {"alpha": 5.2, "c1": 0.13, "c2": 0.17, "window_beats": 91, "median_beats": 11,
                        "min_threshold_ms": 40.0, "max_threshold_frac": 0.2}, "version": 1}
    rng = np.random.default_rng(11)
    n = 900
    rr = 850.0 + 60.0 * np.sin(2 * np.pi * np.arange(n) * 0.85 / 6.0) + rng.normal(0, 15.0, n)
    for i in rng.integers(0, n, 40):
        rr[i] *= rng.choice([0.55, 0.8, 1.6])
    t = np.cumsum(rr) / 1000.0
    t[500:] += 7.0
    eng = HRVEngine(EngineSettings.from_dict(v1))
    h = hashlib.sha256()
    for i, (r, ti) in enumerate(zip(rr.tolist(), t.tolist())):
        if i == 500:
            eng.push(Gap(start_s=t[499], end_s=ti - r / 1000.0, reason="test"))
        if i == 300:
            eng.end_baseline()
        for b in eng.push(Beat(rr_ms=r, t_s=ti)):
            h.update(json.dumps(b.to_json_dict(), sort_keys=True).encode())
    for b in eng.flush():
        h.update(json.dumps(b.to_json_dict(), sort_keys=True).encode())
    assert h.hexdigest() == "3e6cf322cc37b3673b5679e7649d651065efcd1fe48e7795d1375b5fc3435008"
    assert EngineSettings.from_dict(v1).to_dict()["version"] == 1
    assert EngineSettings().version == 3 and EngineSettings.from_dict(EngineSettings().to_dict()) == EngineSettings()
    with pytest.raises(ValueError, match="version 4"):
        EngineSettings.from_dict({**v1, "version": 4})
    assert math.isfinite(EngineSettings.from_dict(v1).artifacts.max_threshold_frac)


def test_compare_refuses_a_poor_baseline_phase_by_the_same_rule() -> None:
    from sessions.compare import PhaseBeats, baseline_refusal

    def phase(rr: np.ndarray, valid: np.ndarray) -> PhaseBeats:
        t = np.cumsum(rr) / 1000.0
        return PhaseBeats("baseline", 0.0, float(t[-1]), t, rr, valid, np.zeros(rr.size, dtype=bool),
                          tuple("normal" if v else "ectopic" for v in valid))

    rr = _sinus(120)
    assert baseline_refusal(phase(rr, np.ones(rr.size, dtype=bool))) is None  # 100 s, all valid
    assert "baseline refused" in (baseline_refusal(phase(rr[:50], np.ones(50, dtype=bool))) or "")  # 42 s
    half = np.arange(rr.size) % 3 != 0  # 67 % valid
    assert "67 % valid" in (baseline_refusal(phase(rr, half)) or "")


_pct_or_s = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                      st.sampled_from([MAX_BRIDGE_S, MIN_VALID_PCT, math.nextafter(MIN_VALID_PCT, 0.0),
                                       math.nextafter(MAX_BRIDGE_S, 10.0), 0.0, 100.0]))


@given(_pct_or_s, _pct_or_s, _pct_or_s, _pct_or_s, _pct_or_s)
def test_windows_fine_is_window_problem_finding_nothing_in_the_three_windows(
    valid_t: float, valid_f: float, bridge_f: float, valid_c: float, bridge_c: float,
) -> None:
    expect = (window_problem(valid_t) is None and window_problem(valid_f, bridge_f) is None
              and window_problem(valid_c, bridge_c) is None)
    assert windows_fine(valid_t, valid_f, bridge_f, valid_c, bridge_c) is expect
