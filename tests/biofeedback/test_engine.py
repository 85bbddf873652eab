"""The streaming engine equals the batch kernels on the same windows; bounded, deterministic."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biofeedback.beat import Beat, Gap
from biofeedback.engine import SETTINGS_VERSION, BeatIndices, EngineSettings, HRVEngine, WindowQuality, json_line
from biofeedback.hrv.artifacts import ArtifactSettings, detect_artifacts
from biofeedback.hrv.autonomic import pns_index, sns_index
from biofeedback.hrv.coherence import coherence
from biofeedback.hrv.frequency_domain import frequency_domain, power_spectrum
from biofeedback.hrv.quality import window_problem
from biofeedback.hrv.relaxation import Baseline, relaxation_index
from biofeedback.hrv.resonance import resonance
from biofeedback.hrv.time_domain import rmssd_ms, time_domain

REL = 1e-9


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (bool, str, int)) and not isinstance(a, float):
        return a == b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= REL * max(abs(a), abs(b)) or abs(a - b) < 1e-300


def _series(seed: int, n: int, n_artifacts: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    rr = 850.0 + 60.0 * np.sin(2 * np.pi * k * 0.85 / 6.0) + rng.normal(0, 15.0, n)
    for i in rng.integers(0, max(n, 1), n_artifacts if n else 0):
        rr[i] *= rng.choice([0.55, 1.6])
    return rr, np.cumsum(rr) / 1000.0


def _run(engine: HRVEngine, items) -> list[BeatIndices]:
    out: list[BeatIndices] = []
    for it in items:
        out += engine.push(it)
    out += engine.flush()
    return out


def _items(rr: np.ndarray, t: np.ndarray, gaps_before: set[int]):
    for i, (r, ti) in enumerate(zip(rr.tolist(), t.tolist())):
        if i in gaps_before:
            yield Gap(start_s=t[i - 1], end_s=ti - r / 1000.0, reason="test")
        yield Beat(rr_ms=r, t_s=ti)


def _check_against_batch(out, rr, t, breaks, s: EngineSettings) -> None:
    """Recompute every index of every settled beat with the batch kernels and compare."""
    if s.artifact_detection:
        res = detect_artifacts(rr, t, breaks, settings=s.artifacts, mode="causal")
        valid, labels = res.valid, res.labels
    else:
        valid, labels = np.ones(rr.size, dtype=bool), ("normal",) * rr.size
    assert [b.index for b in out] == list(range(rr.size))
    for b in out:
        j = b.index
        assert b.t_s == t[j] and b.rr_ms == rr[j]
        assert b.artifact == labels[j] and b.valid == bool(valid[j]) and b.gap_before == bool(breaks[j])
        w = slice(int(np.searchsorted(t, t[j] - s.time_window_s, side="left")), j + 1)
        td = time_domain(rr[w], valid[w], breaks[w], si_bin_ms=s.si_bin_ms)
        f = slice(int(np.searchsorted(t, t[j] - s.frequency_window_s, side="left")), j + 1)
        fd = frequency_domain(t[f], rr[f], valid[f], method=s.method, detrend=s.detrend, nfft=s.welch_nfft)
        res_ = resonance(t[f], rr[f], valid[f], nfft=s.welch_nfft)
        # coherence gets the whole history: the kernel cuts its own last window
        coh = coherence(t[: j + 1], rr[: j + 1], valid[: j + 1], window_s=s.coherence_window_s)
        expect = {
            "n_beats": td.n_beats, "mean_rr_ms": td.mean_rr_ms, "mean_hr_bpm": td.mean_hr_bpm,
            "sdnn_ms": td.sdnn_ms, "rmssd_ms": td.rmssd_ms, "ln_rmssd": td.ln_rmssd,
            "pnn50_pct": td.pnn50_pct, "pnn20_pct": td.pnn20_pct, "sd1_ms": td.sd1_ms, "sd2_ms": td.sd2_ms,
            "stress_index": td.stress_index, "vlf_ms2": fd.vlf_ms2, "lf_ms2": fd.lf_ms2, "hf_ms2": fd.hf_ms2,
            "total_power_ms2": fd.total_power_ms2, "lf_hf": fd.lf_hf, "lf_nu": fd.lf_nu, "hf_nu": fd.hf_nu,
            "lf_peak_hz": fd.lf_peak_hz, "hf_peak_hz": fd.hf_peak_hz, "coherence": coh.ratio,
            "coherence_peak_hz": coh.peak_hz,
            "pns_index": pns_index(td.mean_rr_ms, td.rmssd_ms, td.sd1_ms),
            "sns_index": sns_index(td.mean_hr_bpm, td.stress_index, td.sd2_ms),
        }
        expect["resonance_hz"] = res_.peak_hz
        if s.version >= 2:  # the quality rule of biofeedback.hrv.quality on the same windows
            c = slice(int(np.searchsorted(t, t[j] - s.coherence_window_s, side="left")), j + 1)
            c_bridge = power_spectrum(t[c], rr[c], valid[c], segment_s=s.coherence_window_s).longest_bridge_s
            time_keys = ("mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct", "pnn20_pct",
                         "sd1_ms", "sd2_ms", "stress_index", "pns_index", "sns_index")
            freq_keys = ("vlf_ms2", "lf_ms2", "hf_ms2", "total_power_ms2", "lf_hf", "lf_nu", "hf_nu", "lf_peak_hz",
                         "hf_peak_hz", "resonance_hz")
            poor = 0
            for keys, pct, bridge in ((time_keys, valid[w].mean() * 100, None),
                                      (freq_keys, valid[f].mean() * 100, fd.longest_bridge_s),
                                      (("coherence", "coherence_peak_hz"), valid[c].mean() * 100, c_bridge)):
                if window_problem(float(pct), bridge) is not None:
                    expect.update(dict.fromkeys(keys, math.nan))
                    poor += 1
            assert b.quality is not None and b.quality.signal_ok == (poor == 0)
        for key, value in expect.items():
            assert _close(getattr(b, key), value), (j, key, getattr(b, key), value)
        n_art = sum(1 for lab in labels[: j + 1] if lab != "normal")
        assert _close(b.artifacts_pct, 100.0 * n_art / (j + 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 160),
    n_artifacts=st.integers(0, 6),
    gaps=st.lists(st.integers(1, 159), max_size=3),
    windows=st.tuples(
        st.sampled_from([5.0, 20.0, 60.0]), st.sampled_from([16.0, 64.0]), st.sampled_from([30.0, 120.0])
    ),
    detection=st.booleans(),
    method=st.sampled_from(["welch", "lomb"]),
)
def test_streaming_equals_batch_on_the_same_windows(seed, n, n_artifacts, gaps, windows, detection, method) -> None:
    rr, t = _series(seed, n, n_artifacts)
    gap_set = {g for g in gaps if g < n}
    # a gap also moves the clock on: shift later beats by 5 s
    for g in sorted(gap_set):
        t[g:] += 5.0
    breaks = np.zeros(n, dtype=bool)
    breaks[list(gap_set)] = True
    s = EngineSettings(
        time_window_s=windows[0], coherence_window_s=windows[1], frequency_window_s=windows[2],
        artifact_detection=detection, method=method,
    )
    out = _run(HRVEngine(s), _items(rr, t, gap_set))
    _check_against_batch(out, rr, t, breaks, s)


@pytest.mark.shared_data
def test_streaming_equals_batch_on_a_real_recording(shared_data: Path) -> None:
    rr = np.loadtxt(shared_data / "one-hour" / "pyhrv_series_1_rr_ms.txt")[:700]
    t = np.cumsum(rr) / 1000.0
    s = EngineSettings()
    out = _run(HRVEngine(s), _items(rr, t, set()))
    _check_against_batch(out, rr, t, np.zeros(rr.size, dtype=bool), s)
    assert math.isfinite(out[-1].lf_ms2) and math.isfinite(out[-1].coherence)


def test_push_lags_two_beats_with_detection_and_none_without() -> None:
    rr, t = _series(3, 30)
    eng = HRVEngine()
    assert eng.lookahead_beats == 2
    for i, (r, ti) in enumerate(zip(rr.tolist(), t.tolist())):
        got = [b.index for b in eng.push(Beat(r, ti))]
        assert got == ([i - 2] if i >= 2 else [])
    assert [b.index for b in eng.flush()] == [28, 29]
    assert eng.flush() == []
    eng = HRVEngine(EngineSettings(artifact_detection=False))
    assert eng.lookahead_beats == 0
    assert [b.index for b in eng.push(Beat(800.0, 0.8))] == [0]


def test_a_gap_settles_pending_beats_and_restarts_the_detector() -> None:
    rr, t = _series(4, 40)
    t[20:] += 30.0
    eng = HRVEngine()
    out = []
    for i in range(20):
        out += eng.push(Beat(float(rr[i]), float(t[i])))
    settled = eng.push(Gap(start_s=float(t[19]), end_s=float(t[20] - rr[20] / 1000), reason="disconnect"))
    assert [b.index for b in settled] == [18, 19]
    assert eng.push(Beat(float(rr[20]), float(t[20]))) == []  # the detector restarted: lag again
    assert eng.push(Beat(float(rr[21]), float(t[21]))) == []
    first = eng.push(Beat(float(rr[22]), float(t[22])))
    assert [b.index for b in first] == [20] and first[0].gap_before
    # no difference across the gap: RMSSD equals the batch value with the break
    valid = np.array([b.valid for b in out + settled + first])
    breaks = np.zeros(21, dtype=bool)
    breaks[20] = True
    w = int(np.searchsorted(t[:21], t[20] - 60.0))
    assert first[0].rmssd_ms == pytest.approx(rmssd_ms(rr[w:21], valid[w:], breaks[w:21]), rel=1e-12)
    assert first[0].rmssd_ms != pytest.approx(rmssd_ms(rr[w:21], valid[w:]), rel=1e-6)


def test_buffers_stay_bounded_over_a_long_run() -> None:
    s = EngineSettings(time_window_s=10.0, coherence_window_s=8.0, frequency_window_s=15.0)
    eng = HRVEngine(s)
    rng = np.random.default_rng(5)
    t = 0.0
    biggest = 0
    for i in range(6000):
        r = float(rng.uniform(300.0, 1200.0))
        t += r / 1000.0
        if i % 1000 == 999:
            eng.push(Gap(start_s=t - r / 1000, end_s=t, reason="test"))
        eng.push(Beat(r, t))
        sizes = eng.buffer_sizes()
        biggest = max(biggest, sizes["ring_capacity"])
        assert sizes["ring_beats"] <= sizes["ring_capacity"]
        assert sizes["pending"] <= 2
    assert biggest == 1024  # never grew beyond its first allocation


def test_baseline_and_relaxation_index() -> None:
    rr, t = _series(6, 200)
    eng = HRVEngine()
    out = []
    for r, ti in zip(rr[:100].tolist(), t[:100].tolist()):
        out += eng.push(Beat(r, ti))
    assert out and all(b.relaxation is None for b in out)
    assert all(b.to_json_dict()["relaxation"] is None for b in out)
    base = eng.end_baseline()
    # baseline = all settled beats so far (98: two wait for look-ahead), all valid here
    settled = rr[:98]
    assert all(b.valid for b in out)
    assert base.ln_rmssd == pytest.approx(math.log(rmssd_ms(settled)), rel=1e-12)
    assert base.mean_hr_bpm == pytest.approx(float(np.mean(60000.0 / settled)), rel=1e-12)
    assert base.coherence == pytest.approx(np.nanmean([b.coherence for b in out]), rel=1e-12)
    later = []
    for r, ti in zip(rr[100:].tolist(), t[100:].tolist()):
        later += eng.push(Beat(r, ti))
    b = later[-1]
    assert b.relaxation == pytest.approx(relaxation_index(b.ln_rmssd, b.mean_hr_bpm, b.coherence, base), rel=1e-12)
    assert 0.0 <= b.relaxation <= 100.0
    given_base = Baseline(ln_rmssd=3.0, mean_hr_bpm=80.0, coherence=0.2)
    eng2 = HRVEngine(baseline=given_base)
    assert eng2.baseline == given_base
    with pytest.raises(ValueError):
        HRVEngine().end_baseline()


def test_json_dict_has_python_floats_and_nulls() -> None:
    eng = HRVEngine(EngineSettings(artifact_detection=False))
    b = eng.push(Beat(800.0, 0.8))[0]
    d = b.to_json_dict()
    for key in ("t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence", "artifact"):
        assert key in d
    assert d["rmssd_ms"] is None and d["lf_ms2"] is None and d["relaxation"] is None  # NaN / None -> null
    assert type(d["t_s"]) is float and type(d["mean_rr_ms"]) is float and type(d["index"]) is int
    assert d["artifact"] == "normal"
    json.dumps(d, allow_nan=False)
    rr, t = _series(8, 120)
    out = _run(HRVEngine(), _items(rr, t, set()))
    for b in out:
        dd = b.to_json_dict()
        assert all(v is None or type(v) in (float, int, bool, str) for v in dd.values())
        json.dumps(dd, allow_nan=False)


def _json_value_by_value(obj: BeatIndices | WindowQuality) -> dict[str, object]:
    """to_json_dict as first written (every value converted on its own): the reference of its fast path."""
    from dataclasses import fields

    out: dict[str, object] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if f.name == "quality":
            continue
        if isinstance(obj, WindowQuality):  # its values as they are, but non-finite floats
            out[f.name] = None if isinstance(v, float) and not math.isfinite(v) else v
        elif isinstance(v, bool) or v is None or isinstance(v, str):
            out[f.name] = v
        elif isinstance(v, (int, np.integer)):
            out[f.name] = int(v)
        else:
            fv = float(v)
            out[f.name] = fv if math.isfinite(fv) else None
    quality = getattr(obj, "quality", None)
    if quality is not None:
        out.update(_json_value_by_value(quality))
    return out


@functools.cache
def _beats_of_version(version: int) -> tuple[BeatIndices, ...]:
    rr, t = _series(5, 200)
    return tuple(_run(HRVEngine(EngineSettings(version=version)), _items(rr, t, set())))


_json_values = st.one_of(
    st.floats(width=64), st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324]),
    st.integers(-(2**70), 2**70), st.booleans(), st.none(), st.text(max_size=3),
    st.floats(width=64).map(np.float64), st.integers(-100, 100).map(np.int64),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_json_dict_fast_path_equals_value_by_value(data: st.DataObject) -> None:
    # a real beat's values, some replaced by anything a caller might put there (NaN, infinities,
    # overflowing sums, numpy scalars, ints in float fields, None, strings): the same object, key for key,
    # type for type, as converting every value on its own
    beats = _beats_of_version(data.draw(st.sampled_from([1, 3])))
    b = beats[data.draw(st.integers(0, len(beats) - 1))]
    for target in ("beat", "quality"):
        obj = b if target == "beat" else b.quality
        if obj is None:
            continue
        names = [f for f in obj.__slots__ if f != "quality"]
        changes = data.draw(st.dictionaries(st.sampled_from(names), _json_values, max_size=4))
        if target == "beat":
            b = replace(b, **changes)
        else:
            b = replace(b, quality=replace(obj, **changes))
    got, want = b.to_json_dict(), _json_value_by_value(b)
    assert list(got) == list(want)
    for key in want:
        assert type(got[key]) is type(want[key]), key
        assert repr(got[key]) == repr(want[key]), key


@pytest.mark.parametrize("version", [1, 2])
def test_json_line_parses_equal_to_the_json_dumps_line(version: int) -> None:
    # realistic beats: premature beats, a gap, the first beats (nulls), a baseline (relaxation set),
    # windows nulled for quality; the orjson line must parse to the same keys, order and values
    rr, t = _series(11, 260, n_artifacts=6)
    t[140:] += 10.0  # a 10 s pause: the spectra bridge it, so version 2 nulls them for quality
    eng = HRVEngine(EngineSettings(version=version))
    out: list[BeatIndices] = []
    for i, it in enumerate(_items(rr, t, {140})):
        out += eng.push(it)
        if i == 120:
            eng.end_baseline()
    out += eng.flush()
    assert any(not b.valid for b in out) and any(b.gap_before for b in out)
    assert any(b.relaxation is not None for b in out) and any(b.relaxation is None for b in out)
    if version == 2:
        assert any(b.quality is not None and not b.quality.signal_ok for b in out)
    for b in out:
        line = b.to_json_line()
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        old = json.dumps(b.to_json_dict())  # the line as it was written before orjson
        parsed = json.loads(line)
        assert list(parsed.items()) == list(json.loads(old).items())  # same keys, same order, same values
        assert b"NaN" not in line and b"Infinity" not in line
        assert json_line(b.to_json_dict()) == line  # one encoder: the dict and the fields give the same bytes
    nulls = json.loads(out[0].to_json_line())
    assert nulls["rmssd_ms"] is None and nulls["lf_ms2"] is None and nulls["relaxation"] is None


def test_settings_round_trip() -> None:
    s = EngineSettings(
        time_window_s=90.0, coherence_window_s=32.0, frequency_window_s=300.0, method="lomb",
        detrend="smoothness_priors", artifacts=ArtifactSettings(alpha=4.5, max_threshold_frac=0.0),
    )
    d = s.to_dict()
    assert EngineSettings.from_dict(json.loads(json.dumps(d))) == s
    assert EngineSettings.from_dict(EngineSettings().to_dict()) == EngineSettings()
    with pytest.raises(ValueError):
        EngineSettings.from_dict({**d, "bogus": 1})
    with pytest.raises(ValueError):
        EngineSettings(time_window_s=0.0)
    with pytest.raises(ValueError):
        EngineSettings(method="fft")


def test_replay_is_bit_for_bit_and_snapshot_restore_continues() -> None:
    rr, t = _series(9, 260, n_artifacts=4)
    items = list(_items(rr, t, {130}))
    a = [b.to_json_dict() for b in _run(HRVEngine(), items)]
    b = [b.to_json_dict() for b in _run(HRVEngine(), items)]
    assert json.dumps(a) == json.dumps(b)
    eng = HRVEngine()
    first = []
    for it in items[:150]:
        first += eng.push(it)
    eng.end_baseline()
    state = json.loads(json.dumps(eng.snapshot()))  # JSON-able
    twin = HRVEngine.restore(state)
    rest_a = [x.to_json_dict() for x in _run(eng, items[150:])]
    rest_b = [x.to_json_dict() for x in _run(twin, items[150:])]
    assert json.dumps(rest_a) == json.dumps(rest_b)
    assert rest_a[-1]["relaxation"] is not None


def test_bad_beats_are_rejected() -> None:
    eng = HRVEngine()
    eng.push(Beat(800.0, 10.0))
    with pytest.raises(ValueError, match="t_s must increase"):
        eng.push(Beat(800.0, 10.0))
    with pytest.raises(ValueError, match="rr_ms"):
        eng.push(Beat(-5.0, 11.0))
    with pytest.raises(TypeError):
        eng.push("beat")  # type: ignore[arg-type]


# -- settings versions --------------------------------------------------------------------------
GOLDEN_V1 = Path(__file__).parent / "fixtures" / "engine_v1_golden.json"


def _golden_run(settings: EngineSettings, items: list) -> list[dict]:
    eng = HRVEngine(settings)
    rows: list[dict] = []
    for it in items:
        item = Beat(rr_ms=it[1], t_s=it[2]) if it[0] == "beat" else Gap(it[1], it[2], "contact_lost")
        rows += [b.to_json_dict() for b in eng.push(item)]
    return rows + [b.to_json_dict() for b in eng.flush()]


def _digest(rows: list[dict]) -> str:
    import hashlib

    h = hashlib.sha256()
    for d in rows:
        h.update(json.dumps({k: (float(v).hex() if isinstance(v, float) else v) for k, v in d.items()},
                            sort_keys=True).encode())
    return h.hexdigest()


def test_version_1_settings_reproduce_the_output_of_the_version_1_engine_bit_for_bit() -> None:
    # The golden file was written by the engine as it was before version 2 existed (see
    # fixtures/make_engine_v1_golden.py): beats with premature beats and a gap, every field of every beat.
    golden = json.loads(GOLDEN_V1.read_text())
    s = EngineSettings.from_dict(golden["settings"])
    assert s.version == 1 and s.coherence_method == "grid"
    rows = _golden_run(s, golden["items"])
    assert [None if d["coherence"] is None else float(d["coherence"]).hex() for d in rows] == golden["coherence_hex"]
    assert _digest(rows) == golden["all_fields_sha256"]
    # version 2 (new sessions) computes coherence on the fine grid: other numbers
    v2 = _golden_run(EngineSettings.from_dict({**golden["settings"], "version": 2}), golden["items"])
    assert sum(a["coherence"] != b["coherence"] for a, b in zip(rows, v2)) > 300
    assert all(a["rmssd_ms"] == b["rmssd_ms"] for a, b in zip(rows, v2))


#: sha256 (as _digest) of every field of every beat of the golden items under version-2 settings,
#: with a baseline ended after item 200, as computed by the engine before issue 13's per-beat work
#: (commit a636dab): version 2 is a frozen recipe, so faster code must give the same bits.
V2_ALL_FIELDS_SHA256 = "3a4415e094129730ac0aed3477e222ce23500bed353f1b41b2eae9a71709ac37"


def test_version_2_settings_reproduce_the_recorded_version_2_output_bit_for_bit() -> None:
    golden = json.loads(GOLDEN_V1.read_text())
    eng = HRVEngine(EngineSettings.from_dict({**golden["settings"], "version": 2}))
    rows: list[dict] = []
    for i, it in enumerate(golden["items"]):
        item = Beat(rr_ms=it[1], t_s=it[2]) if it[0] == "beat" else Gap(it[1], it[2], "contact_lost")
        rows += [b.to_json_dict() for b in eng.push(item)]
        if i == 200:
            eng.end_baseline()
    rows += [b.to_json_dict() for b in eng.flush()]
    assert len(rows) == 420
    assert sum(r["relaxation"] is not None for r in rows) == 159 and sum(not r["signal_ok"] for r in rows) == 125
    assert _digest(rows) == V2_ALL_FIELDS_SHA256


def test_settings_versions() -> None:
    assert SETTINGS_VERSION == 3 and EngineSettings().version == 3
    assert EngineSettings().to_dict()["version"] == 3
    assert EngineSettings().coherence_method == "fine"
    for v in (1, 2, 3):
        s = EngineSettings.from_dict({**EngineSettings().to_dict(), "version": v})
        assert s.version == v and EngineSettings.from_dict(s.to_dict()) == s
    assert EngineSettings.from_dict({}).version == SETTINGS_VERSION
    # the Welch FFT length is a property of the version, not a stored key: an old stored dict
    # (no such key) reads as its own version, padding nothing before version 3
    assert "welch_nfft" not in EngineSettings().to_dict()
    for v, nfft in ((1, None), (2, None), (3, 1200)):
        assert EngineSettings.from_dict({**EngineSettings().to_dict(), "version": v}).welch_nfft == nfft
    for bad in (0, 4, "2", True, 2.0):
        with pytest.raises(ValueError, match="version"):
            EngineSettings.from_dict({"version": bad})
    # the version survives snapshot/restore
    eng = HRVEngine(EngineSettings(version=1))
    assert HRVEngine.restore(eng.snapshot()).settings.version == 1


def test_version_3_puts_the_welch_spectrum_on_the_fixed_grid_of_one_full_segment() -> None:
    # version 3 zero-pads every Welch segment to round(segment_s * fs_hz) points: the grid is
    # 1/300 Hz whatever the window's length (478-481 samples for 120 s); version 2 keeps the
    # segment's own length (grid fs / samples)
    from biofeedback.hrv.frequency_domain import window_welch_spectrum

    v2, v3 = EngineSettings(version=2), EngineSettings()
    assert (v2.welch_nfft, v3.welch_nfft) == (None, 1200)
    assert EngineSettings(segment_s=240.0, fs_hz=5.0).welch_nfft == 1200
    rr, t = _series(5, 400)
    for end in (150, 151, 152, 153, 399):
        lo = int(np.searchsorted(t, t[end] - 120.0, side="left"))
        sp3 = window_welch_spectrum(t, rr, None, lo, end + 1, nfft=v3.welch_nfft)
        sp2 = window_welch_spectrum(t, rr, None, lo, end + 1, nfft=v2.welch_nfft)
        assert sp3 is not None and sp2 is not None
        assert sp3.freq_hz.size == 601 and sp3.freq_hz[1] == 1.0 / 300.0 and sp3.freq_hz[-1] == 2.0
        n = round(4.0 / sp2.freq_hz[1])  # the segment's own length
        assert 470 <= n <= 481 and sp2.freq_hz.size == n // 2 + 1
        # the same windowed series: zero-padding only samples its spectrum more finely
        assert sp3.psd_ms2_per_hz.sum() / 300.0 == pytest.approx(sp2.psd_ms2_per_hz.sum() * sp2.freq_hz[1], rel=1e-9)
    # the engine: v3's frequency indices differ from v2's, the time domain does not
    items = list(_items(rr, t, set()))
    a, b = _run(HRVEngine(v2), items), _run(HRVEngine(v3), items)
    assert all(_close(x.rmssd_ms, y.rmssd_ms) and _close(x.coherence, y.coherence) for x, y in zip(a, b))
    late = [(x, y) for x, y in zip(a, b) if x.t_s > 130.0]
    assert sum(x.lf_ms2 != y.lf_ms2 for x, y in late) == len(late) > 200
    assert all(y.lf_peak_hz * 300.0 == pytest.approx(round(y.lf_peak_hz * 300.0), abs=1e-9) for _, y in late)
    assert all(y.resonance_hz == y.lf_peak_hz for _, y in late)


def test_version_3_smoothness_priors_and_lomb_take_the_settings_nfft() -> None:
    # the power_spectrum fallback (detrending other than the mean) pads like the in-place path
    rr, t = _series(8, 300)
    for s in (EngineSettings(detrend="smoothness_priors"), EngineSettings(method="lomb")):
        out = _run(HRVEngine(replace(s, artifact_detection=False)), _items(rr, t, set()))
        _check_against_batch(out, rr, t, np.zeros(rr.size, dtype=bool), replace(s, artifact_detection=False))


# -- many beats at once: push_beats, json_lines (the per-beat re-analysis of a recording) ------------
@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("detection", [True, False])
def test_push_beats_and_json_lines_give_what_push_gives(version: int, detection: bool) -> None:
    rr, t = _series(5, 320, n_artifacts=6)
    gaps = {120, 200}
    s = replace(EngineSettings.from_dict({"version": version}), artifact_detection=detection)
    by_push = _run(HRVEngine(s), list(_items(rr, t, gaps)))
    gap_before = [i in gaps for i in range(rr.size)]
    eng = HRVEngine(s)
    many = list(eng.push_beats(rr.tolist(), t.tolist(), gap_before)) + eng.flush()
    # repr: every field, floats to the last bit (NaN != NaN would defeat ==)
    assert repr(many) == repr(by_push) and len(many) == rr.size
    assert all(type(b) is BeatIndices for b in many)
    assert any(not b.valid for b in many) == detection and [b.index for b in many if b.gap_before] == sorted(gaps)
    assert all((b.quality is None) == (version == 1) for b in many)
    eng = HRVEngine(s)
    lines = list(eng.json_lines(rr.tolist(), t.tolist(), gap_before)) + [b.to_json_line() for b in eng.flush()]
    assert lines == [b.to_json_line() for b in by_push]
    # and without gaps: gap_before may be left out
    eng = HRVEngine(s)
    plain = list(eng.push_beats(rr.tolist(), t.tolist())) + eng.flush()
    assert repr(plain) == repr(_run(HRVEngine(s), list(_items(rr, t, set()))))


@pytest.mark.parametrize(("version", "method", "n"), [(3, "welch", 2300), (2, "welch", 2300), (3, "lomb", 150)])
def test_push_beats_over_a_ring_compaction_gives_what_push_gives(version: int, method: str, n: int) -> None:
    # push_beats and json_lines settle beats in blocks whose FFTs are done together (engine._rows):
    # blocks end at gaps, at a full ring (1024 beats: compacted twice) and where FFT lengths change
    # (version 2: each segment at its own length); lomb (resonance off the spectrum) goes one beat at a time
    rr, t = _series(8, n, n_artifacts=n // 90)
    gaps = {50, 500, 1030, 1031, 2050}
    s = replace(EngineSettings.from_dict({"version": version}), method=method)
    by_push = _run(HRVEngine(s), list(_items(rr, t, gaps)))
    gap_before = [i in gaps for i in range(rr.size)]
    eng = HRVEngine(s)
    lines = list(eng.json_lines(rr.tolist(), t.tolist(), gap_before)) + [b.to_json_line() for b in eng.flush()]
    assert lines == [b.to_json_line() for b in by_push] and len(lines) == rr.size
    assert eng.buffer_sizes() == HRVEngine(s).buffer_sizes() | {"ring_beats": eng.buffer_sizes()["ring_beats"]}
    eng2 = HRVEngine(s)
    for it in _items(rr, t, gaps):
        eng2.push(it)
    eng2.flush()
    assert json.dumps(eng.snapshot()) == json.dumps(eng2.snapshot())


def test_push_beats_with_a_gap_every_few_beats_gives_what_push_gives() -> None:
    # a gap settles the pending beats one at a time (slot 0, their own FFT lengths, version 2: each
    # segment at its own length); the block after it must set its lengths again
    rr, t = _series(8, 700, n_artifacts=8)
    gaps = set(range(11, 700, 11))
    s = EngineSettings.from_dict({"version": 2})
    by_push = _run(HRVEngine(s), list(_items(rr, t, gaps)))
    eng = HRVEngine(s)
    lines = list(eng.json_lines(rr.tolist(), t.tolist(), [i in gaps for i in range(rr.size)]))
    assert lines + [b.to_json_line() for b in eng.flush()] == [b.to_json_line() for b in by_push]


def test_push_beats_checks_the_beats_as_push_does() -> None:
    # a bad beat in the middle of a block: every beat settled before it comes first, as from push
    rr, t = _series(4, 300)
    t_bad = t.copy()
    t_bad[203] = t_bad[202]
    by_push: list[BeatIndices] = []
    eng = HRVEngine()
    for r, ti in zip(rr[:203].tolist(), t[:203].tolist()):
        by_push += eng.push(Beat(rr_ms=r, t_s=ti))
    got: list[bytes] = []
    eng = HRVEngine()
    with pytest.raises(ValueError, match="beat 203: t_s must increase"):
        for line in eng.json_lines(rr.tolist(), t_bad.tolist()):
            got.append(line)
    assert got == [b.to_json_line() for b in by_push] and len(got) == 201
    eng = HRVEngine()
    with pytest.raises(ValueError, match="beat 2: t_s must increase"):
        list(eng.push_beats([800.0, 800.0, 800.0], [0.8, 1.6, 1.6]))
    with pytest.raises(ValueError, match="beat 0: rr_ms must be finite and > 0"):
        list(HRVEngine().json_lines([math.nan], [0.8]))
    with pytest.raises(ValueError):  # sequences of different lengths
        list(HRVEngine().push_beats([800.0, 800.0], [0.8]))
    with pytest.raises(ValueError):
        list(HRVEngine().push_beats([800.0, 800.0], [0.8, 1.6], [False]))


def test_the_engines_beat_indices_are_those_of_the_constructor() -> None:
    """The engine builds BeatIndices and WindowQuality without their __init__ (engine._builder): the
    same frozen objects, equal and hashed as the constructor's, copied, replaced and pickled alike."""
    import dataclasses
    import pickle

    from biofeedback.engine import WindowQuality, _builder

    rr, t = _series(3, 200)
    b = _run(HRVEngine(), list(_items(rr, t, set())))[-1]
    assert b.quality is not None and all(not (isinstance(v, float) and math.isnan(v))
                                         for v in dataclasses.astuple(b) if not isinstance(v, dict))
    made = BeatIndices(*(getattr(b, f.name) for f in dataclasses.fields(BeatIndices)))
    assert type(b) is BeatIndices and type(b.quality) is WindowQuality
    assert b == made and hash(b) == hash(made) and repr(b) == repr(made)
    assert b.quality == WindowQuality(*dataclasses.astuple(b.quality))
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.rr_ms = 1.0  # type: ignore[misc]
    assert dataclasses.replace(b, rr_ms=1.0).rr_ms == 1.0 and pickle.loads(pickle.dumps(b)) == b

    @dataclasses.dataclass(frozen=True)
    class NoSlots:  # its objects have a __dict__: no twin of the same layout, the class itself is used
        x: float

    assert _builder(NoSlots) is NoSlots
