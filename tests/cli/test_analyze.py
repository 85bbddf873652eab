"""`biofeedback analyze` run as a real subprocess on files written here and on ../shared/data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biofeedback.hrv.summary import SUMMARY_KEYS

KEYS = (
    "n_beats duration_s mean_rr_ms mean_hr_bpm sdnn_ms rmssd_ms ln_rmssd pnn50_pct pnn20_pct sd1_ms sd2_ms "
    "stress_index vlf_ms2 lf_ms2 hf_ms2 total_power_ms2 lf_hf lf_nu hf_nu lf_peak_hz hf_peak_hz coherence "
    "artifacts_pct nn50 lf_ar_ms2 hf_ar_ms2 lf_hf_ar apen sampen dfa_alpha1 dfa_alpha2 hrv_triangular_index tinn_ms"
).split()
PER_BEAT_KEYS = {"t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence", "artifact"}


def analyze(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "biofeedback.cli", "analyze", *map(str, args)],
        capture_output=True, text=True, timeout=300,
    )


def _rr(n: int = 400, seed: int = 0, ectopic: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rr = 850.0 + 50.0 * np.sin(2 * np.pi * np.arange(n) * 0.85 / 6.0) + rng.normal(0, 10.0, n)
    rr = np.round(rr)
    if ectopic:
        rr[200] -= 300.0
        rr[201] += 300.0
    return rr


def _write_lines(path: Path, values, fmt: str = "{:g}") -> Path:
    path.write_text("".join(fmt.format(v) + "\n" for v in values))
    return path


def test_json_has_exactly_the_documented_keys(tmp_path: Path) -> None:
    f = _write_lines(tmp_path / "rr.txt", _rr())
    proc = analyze(f, "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert list(d)[: len(KEYS)] == KEYS == list(SUMMARY_KEYS)
    assert list(d)[len(KEYS):] == ["quality", "notes"]
    assert set(d["quality"]) == {"valid_pct", "artifacts_pct", "longest_bridge_s", "verdict"}
    assert d["quality"]["verdict"] == "good" and d["notes"] == []
    d = {k: d[k] for k in KEYS}
    assert d["n_beats"] == 400
    assert d["mean_rr_ms"] == pytest.approx(float(np.mean(_rr())), rel=1e-9)
    assert all(v is None or isinstance(v, (int, float)) for v in d.values())
    # the unit was inferred, and the inference was said on stderr (never silently)
    assert "units inferred as milliseconds" in proc.stderr


def test_seconds_file_matches_the_ms_file(tmp_path: Path) -> None:
    rr = _rr()
    ms = json.loads(analyze(_write_lines(tmp_path / "ms.txt", rr), "--json").stdout)
    proc = analyze(_write_lines(tmp_path / "s.txt", rr / 1000.0, "{:.4f}"), "--json", "--units", "s")
    assert proc.returncode == 0 and "inferred" not in proc.stderr
    s = json.loads(proc.stdout)
    for k in ("mean_rr_ms", "sdnn_ms", "rmssd_ms", "lf_ms2", "hf_ms2"):
        assert s[k] == pytest.approx(ms[k], rel=1e-9)


def test_correction_is_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    f = _write_lines(tmp_path / "rr.txt", _rr(ectopic=True))
    fixed = json.loads(analyze(f, "--json").stdout)
    raw = json.loads(analyze(f, "--json", "--no-correction").stdout)
    assert fixed["artifacts_pct"] == pytest.approx(100.0 / 400)
    assert raw["rmssd_ms"] > 1.3 * fixed["rmssd_ms"]  # the ectopic pair inflates raw RMSSD (50 vs 34 ms)
    # the default excludes the flagged beats (no difference across them); interpolation is a named option
    assert fixed["n_beats"] == raw["n_beats"] == 400
    interpolated = json.loads(analyze(f, "--json", "--correction", "interpolate").stdout)
    assert interpolated["rmssd_ms"] != fixed["rmssd_ms"]
    assert interpolated["rmssd_ms"] == pytest.approx(fixed["rmssd_ms"], rel=0.05)
    assert json.loads(analyze(f, "--json", "--correction", "none").stdout) == raw
    proc = analyze(f, "--json", "--no-correction", "--correction", "interpolate")
    assert proc.returncode == 2 and "contradict" in proc.stderr


def test_csv_column(tmp_path: Path) -> None:
    rr = _rr()
    f = tmp_path / "strap.csv"
    rows = "".join(f"{t:.3f},{60000 / r:.0f},{r:g}\n" for t, r in zip(np.cumsum(rr) / 1000, rr))
    f.write_text("time_s,hr,RR\n" + rows)
    proc = analyze(f, "--column", "RR", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_beats"] == 400


def test_per_beat_jsonl_one_object_per_beat(tmp_path: Path) -> None:
    f = _write_lines(tmp_path / "rr.txt", _rr(300, ectopic=False))
    proc = analyze(f, "--per-beat", "--jsonl", "--time-window", "2m", "--frequency-window", "90s",
                   "--coherence-window", "32s", "--method", "lomb", "--detrend", "smoothness-priors")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 300
    assert all(PER_BEAT_KEYS <= set(r) for r in rows)
    assert [r["index"] for r in rows] == list(range(300))
    # the 2 min time window holds every beat up to ~120 s
    last = rows[-1]
    assert last["n_beats"] == sum(1 for r in rows if r["t_s"] >= last["t_s"] - 120.0 and r["valid"])
    assert "NaN" not in proc.stdout


def test_jsonl_blocks_are_the_lines_of_the_per_beat_indices(tmp_path: Path) -> None:
    # --jsonl writes per_beat_jsonl's blocks (HRVEngine.json_lines, no object per beat): the bytes of
    # to_json_line of every beat of per_beat_indices, across a gap and artifacts
    from biofeedback.cli import cmd_analyze
    from biofeedback.cli.main import build_parser

    rr = _rr(1300, ectopic=True).tolist()
    f = _write_lines(tmp_path / "rr.txt", rr[:1100] + [4500.0] + rr[1100:])
    args = build_parser().parse_args(["analyze", str(f), "--units", "ms", "--per-beat", "--jsonl"])
    rec, settings = cmd_analyze._read(args, args.file[0]), cmd_analyze._settings(args)
    seen: list[int] = []
    blocks = list(cmd_analyze.per_beat_jsonl(rec, settings, seen.append))
    lines = [b.to_json_line() for b in cmd_analyze.per_beat_indices(rec, settings)]
    assert b"".join(blocks) == b"".join(lines) and len(lines) == 1300 and seen == [0, 1000]
    rows = [json.loads(line) for line in lines]
    assert [r["index"] for r in rows if r["gap_before"]] == [1100] and not all(r["valid"] for r in rows)


def test_a_pause_in_the_file_becomes_a_gap(tmp_path: Path) -> None:
    rr = _rr(120).tolist()
    f = _write_lines(tmp_path / "rr.txt", rr[:60] + [4500.0] + rr[60:])
    proc = analyze(f, "--per-beat", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "1 interval(s) longer than 3000 ms treated as gaps" in proc.stderr and ":" in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 120
    assert [r["index"] for r in rows if r["gap_before"]] == [60]
    assert rows[60]["t_s"] == pytest.approx(sum(rr[:61]) / 1000.0 + 4.5)


def test_json_of_a_file_with_a_pause_does_not_load_the_store(tmp_path: Path) -> None:
    """analyze --json reads, applies the gap rule and analyses without the store, sqlite3 or the
    event types (they cost start-up time and nothing here writes a session)."""
    rr = _rr(200).tolist()
    f = _write_lines(tmp_path / "rr.txt", rr[:60] + [4500.0] + rr[60:])
    code = (
        "import sys, json\n"
        "from biofeedback.cli.main import main\n"
        f"status = main(['analyze', {str(f)!r}, '--units', 'ms', '--json'])\n"
        "loaded = [m for m in ('sqlite3', 'sessions.store', 'sessions.importing', 'biofeedback.events')"
        " if m in sys.modules]\n"
        "print(json.dumps([status, loaded]), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == [0, []]
    assert json.loads(proc.stdout)["n_beats"] == 200


def test_per_beat_text_table(tmp_path: Path) -> None:
    f = _write_lines(tmp_path / "rr.txt", _rr(50))
    proc = analyze(f, "--per-beat", "--units", "ms")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["t_s", "rr_ms", "hr_bpm"]
    assert len(lines) == 51


def test_table_output(tmp_path: Path) -> None:
    proc = analyze(_write_lines(tmp_path / "rr.txt", _rr()), "--units", "ms")
    assert proc.returncode == 0, proc.stderr
    for key in ("rmssd_ms", "lf_ms2", "artifacts_pct"):
        assert key in proc.stdout
    assert proc.stderr.strip().splitlines() == [f"biofeedback analyze: {tmp_path / 'rr.txt'}: format detected: plain "
                                                "(numbers, one a line)"]  # says what it read; nothing else


@pytest.mark.parametrize(
    ("content", "extra", "where", "fragment"),
    [
        (b"", (), "", "empty file"),
        (b"800\n810\nabc\n", (), ":3:", "not a number"),
        (b"800\n-5\n", (), ":2:", "negative interval"),
        (b"800\n0\n", (), ":2:", "zero interval"),
        (b"800\n900\n12\n", ("--units", "ms"), ":3:", "impossible RR interval 12 ms"),
        (b"800\n810\n0.79\n", (), ":3:", "mixed units"),
        (b"800\n\x00\x00\x07", (), ":2:", "binary data"),
        (b"800\n\xff810\n", (), ":2:", "undecodable byte"),
        (b"t,rr\n1,800\n", ("--column", "ibi"), ":1:", "no column 'ibi'"),
    ],
)
def test_bad_file_one_line_exit_2(tmp_path: Path, content: bytes, extra, where: str, fragment: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    proc = analyze(f, *extra)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("biofeedback analyze: error: ")
    assert str(f) + where in lines[0] and fragment in lines[0]


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    proc = analyze(tmp_path / "nope.txt")
    assert proc.returncode == 2 and "no such file" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    f = _write_lines(tmp_path / "rr.txt", _rr(20))
    proc = analyze(f, "--jsonl")
    assert proc.returncode == 2 and "--jsonl needs --per-beat" in proc.stderr
    proc = analyze(f, "--time-window", "soon")
    assert proc.returncode == 2 and "not a duration" in proc.stderr


def test_dfa_ranges_are_options(tmp_path: Path) -> None:
    f = _write_lines(tmp_path / "rr.txt", _rr())
    default = json.loads(analyze(f, "--json", "--units", "ms").stdout)
    assert isinstance(default["nn50"], int) and default["dfa_alpha1"] is not None
    same = json.loads(analyze(f, "--json", "--units", "ms", "--dfa-short", "4-16", "--dfa-long", "17-64").stdout)
    assert same == default
    other = json.loads(analyze(f, "--json", "--units", "ms", "--dfa-short", "5-12", "--dfa-long", "13-40").stdout)
    assert other["dfa_alpha1"] != default["dfa_alpha1"] and other["dfa_alpha2"] != default["dfa_alpha2"]
    assert {k: v for k, v in other.items() if not k.startswith("dfa")} == \
        {k: v for k, v in default.items() if not k.startswith("dfa")}
    for bad in ("16-4", "2-8", "4", "a-b"):
        proc = analyze(f, "--json", "--dfa-short", bad)
        assert proc.returncode == 2 and "--dfa-short" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_help_has_examples() -> None:
    proc = analyze("--help")
    assert proc.returncode == 0
    assert "examples:" in proc.stdout and "--per-beat --jsonl" in proc.stdout and "--column" in proc.stdout
    assert "--dfa-short N-M" in proc.stdout and "hrv_triangular_index tinn_ms" in proc.stdout


@pytest.mark.shared_data
def test_reference_recordings(shared_data: Path) -> None:
    proc = analyze(shared_data / "one-hour" / "pyhrv_series_1_rr_ms.txt", "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert list(d)[: len(KEYS)] == KEYS and d["n_beats"] == 4684 and 3500 < d["duration_s"] < 3700
    proc = analyze(shared_data / "real-strap" / "polar_h10_pvc_rr.csv", "--column", "rr", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["artifacts_pct"] > 30.0
    proc = analyze(shared_data / "real-strap" / "polar_h10_pvc_rr.csv", "--json")  # the reader of `import`
    assert proc.returncode == 0 and "RR column 'rr' chosen by its name" in proc.stderr
    d = json.loads(proc.stdout)
    assert 15.0 < d["rmssd_ms"] < 20.0  # normal-to-normal pairs (an interpolated bigeminy gave 140.9 ms)
    assert d["quality"]["verdict"] == "poor" and "signal quality poor" in proc.stderr
    proc = analyze(shared_data / "holter" / "nsr2db_nsr001_rr_secs.txt", "--skip-lines", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_beats"] == 106456  # raw beats (flagged ones excluded, none invented)
    assert "treated as gaps" in proc.stderr and "inferred as seconds" in proc.stderr


@pytest.mark.shared_data
def test_both_real_strap_files_import_and_analyse_without_flags(shared_data, tmp_path):
    for name, fmt, n in (("polar_h10_breathing_ibi.csv", "time-rr", 620), ("polar_h10_pvc_rr.csv", "csv", 797)):
        f = shared_data / "real-strap" / name
        proc = analyze(f, "--json")
        assert proc.returncode == 0, proc.stderr
        assert f"format detected: {fmt}" in proc.stderr  # says what it chose
        assert json.loads(proc.stdout)["n_beats"] >= n - 5
        imp = subprocess.run([sys.executable, "-m", "biofeedback.cli", "import", str(f), "--home", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
        assert imp.returncode == 0 and f"({fmt})" in imp.stdout, imp.stderr
        assert f"format detected: {fmt}" in imp.stderr


@pytest.mark.shared_data
def test_a_holter_start_time_gets_a_hint_and_wrong_units_say_so(shared_data):
    proc = analyze(shared_data / "holter" / "nsr2db_nsr001_rr_secs.txt")
    assert proc.returncode == 2 and "pass --skip-lines 1" in proc.stderr
    proc = analyze(shared_data / "real-strap" / "polar_h10_breathing_ibi.csv", "--units", "s")
    assert proc.returncode == 2 and "--units s does not fit these values" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_the_cli_lists_every_format_the_reader_knows():
    from biofeedback.cli.common import FORMAT_NAMES
    from sessions.importers import FORMATS

    assert FORMAT_NAMES == tuple(FORMATS)


def test_called_in_process_the_cyclic_collector_stays_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the command turns the collector off only in its own process (a one-shot summary); a caller's
    # process (this test's, a cohort worker's) keeps it
    import gc

    from biofeedback.cli.main import main

    f = _write_lines(tmp_path / "rr.txt", _rr())
    assert gc.isenabled()
    assert main(["analyze", str(f), "--json"]) == 0
    assert gc.isenabled()
    assert json.loads(capsys.readouterr().out)["n_beats"] == 400


def test_per_beat_in_its_own_process_runs_with_the_collector_on_and_the_start_up_frozen(tmp_path: Path) -> None:
    # as the program (main() without argv), --per-beat loads numba with the cyclic collector off, then
    # freezes what the start-up loaded and turns the collector on for its long loop
    f = _write_lines(tmp_path / "rr.txt", _rr())
    code = f"""if True:
        import gc, sys
        from biofeedback.cli import cmd_analyze
        per_beat = cmd_analyze._per_beat

        def spy(args, rec, settings):
            sys.stderr.write(f"collector {{gc.isenabled()}} frozen {{gc.get_freeze_count()}}\\n")
            return per_beat(args, rec, settings)

        cmd_analyze._per_beat = spy
        sys.argv = ["biofeedback", "analyze", {str(f)!r}, "--per-beat", "--jsonl"]
        from biofeedback.cli.main import main
        sys.exit(main())
    """
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    enabled, frozen = proc.stderr.split("collector ")[1].split()[0::2]
    assert enabled == "True"
    assert int(frozen) > 10_000  # numba's and numpy's objects, not scanned again by full collections
    assert len(proc.stdout.splitlines()) == 400
