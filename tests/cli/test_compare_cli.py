"""`compare`, `trends`, `replay` and `report` through the real CLI, in subprocesses, on sessions
recorded by `biofeedback demo` (the simulator through the live runner) into a real store."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from datetime import date, datetime

import pytest

CLI = [sys.executable, "-m", "biofeedback.cli"]
INDEX_KEYS = ["mean_hr_bpm", "rmssd_ms", "ln_rmssd", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence",
              "relaxation", "artifacts_pct"]


def _run(*args: str, timeout: float = 120, lang_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    env.pop("BIOFEEDBACK_HOME", None)
    env.pop("BIOFEEDBACK_LANG", None)
    if lang_env is not None:
        env["BIOFEEDBACK_LANG"] = lang_env
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _ok(*args: str, lang_env: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = _run(*args, lang_env=lang_env)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def store_home(tmp_path_factory):
    """Two 8-minute demo sessions of the same simulated person (same seed) in one store."""
    home = tmp_path_factory.mktemp("home")
    ids = []
    for _ in range(2):
        proc = _ok("demo", "--speed", "max", "--minutes", "8", "--seed", "5", "--jsonl", "--home", str(home))
        stored = [json.loads(line) for line in proc.stdout.splitlines() if '"type": "stored"' in line]
        ids.append(stored[0]["session_id"])
    return home, ids


def test_compare_one_session_json_has_the_documented_keys(store_home):
    home, (a, b) = store_home
    d = json.loads(_ok("compare", b, "--json", "--home", str(home)).stdout)
    assert d["session_id"] == b
    assert list(d["phases"]) == ["baseline", "practice", "recovery"]
    for phase in d["phases"].values():
        assert {"duration_s", "n_beats", "indices"} <= set(phase)
        assert list(phase["indices"]) == INDEX_KEYS
        assert all(set(v) == {"value", "reason"} for v in phase["indices"].values())
    assert list(d["changes"]) == ["practice", "recovery"]
    hr = d["changes"]["practice"]["mean_hr_bpm"]
    assert {"abs", "rel_pct", "ci95", "beyond_noise"} <= set(hr)
    rmssd = d["changes"]["practice"]["rmssd_ms"]
    assert rmssd["abs"] > 0 and rmssd["beyond_noise"] is True
    # The default demo judges mean HR, RMSSD and coherence baseline -> practice.
    for key in ("mean_hr_bpm", "rmssd_ms", "coherence"):
        assert d["changes"]["practice"][key]["beyond_noise"] is not None, key
    # A 48 s recovery is too short for LF and says so.
    lf = d["phases"]["recovery"]["indices"]["lf_ms2"]
    assert lf["value"] is None and lf["reason"].startswith("too short")


def test_compare_table_and_prefix_and_last(store_home):
    home, (a, b) = store_home
    text = _ok("compare", "last", "--home", str(home)).stdout
    assert f"Session {b} (simulated)" in text and "practice − baseline" in text and "\x1b[" not in text
    assert "↑↓ beyond noise" in text and "Not judged (too little data): " in text
    assert f"Session {a}" in _ok("compare", a[:6], "--home", str(home)).stdout


def test_compare_two_sessions_of_the_same_person(store_home):
    home, (a, b) = store_home
    d = json.loads(_ok("compare", a, b, "--json", "--home", str(home)).stdout)
    assert d["session_a"] == a and d["session_b"] == b
    assert list(d["phases"]) == ["baseline", "practice", "recovery"]
    for phase in d["phases"].values():
        assert set(phase) == {"a", "b", "changes"}
        assert list(phase["changes"]) == INDEX_KEYS
        for ch in phase["changes"].values():
            assert ch["beyond_noise"] is not True  # same seed: the same beats
            assert ch["abs"] in (0.0, None)
    text = _ok("compare", a, b, "--home", str(home)).stdout
    assert "B − A" in text


def test_unknown_session_and_missing_store_exit_2_with_one_line(store_home, tmp_path):
    home, _ = store_home
    for args in (("compare", "zzzz", "--home", str(home)), ("replay", "zzzz", "--home", str(home)),
                 ("report", "zzzz", "--out", str(tmp_path / "r.png"), "--home", str(home)),
                 ("compare", "last", "--home", str(tmp_path / "empty")), ("trends", "--home", str(tmp_path / "empty"))):
        proc = _run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "error" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert "zzzz" in _run("compare", "zzzz", "--home", str(home)).stderr
    assert not (tmp_path / "empty").exists()  # reading commands create nothing


def test_demos_are_marked_simulated_and_left_out_of_trends(store_home):
    home, (a, b) = store_home
    recorded = datetime.fromisoformat(json.loads(_ok("compare", "last", "--json", "--home", str(home)).stdout)
                                      ["start_wall"]).date().isoformat()
    d = json.loads(_ok("trends", "--days", "7", "--json", "--home", str(home)).stdout)
    assert d["days"] == 7 and len(d["rows"]) == 7 and d["goal_min"] == 20
    assert {"today", "days_goal_met", "practice_min_total"} <= set(d)
    assert d["rows"][-1]["date"] == d["today"]
    assert date.fromisoformat(d["today"]) >= date.fromisoformat(recorded)  # the CLI passes today's date
    today = next(r for r in d["rows"] if r["date"] == recorded)
    assert today["n_sessions"] == 0 and today["practice_min"] == 0  # two demos: not the user's practice
    assert d["n_simulated_left_out"] == 2 and d["practice_min_total"] == 0
    text = _ok("trends", "--home", str(home)).stdout
    assert "practice: 0 min in all" in text and "2 simulated session(s)" in text
    listing = _ok("sessions", "--home", str(home)).stdout
    assert listing.count("[simulated]") == 2
    infos = json.loads(_ok("sessions", "--json", "--home", str(home)).stdout)
    assert [i["simulated"] for i in infos] == [True, True]


def test_replay_matches_live_and_prints_per_beat_jsonl(store_home):
    home, (a, _) = store_home
    proc = _ok("replay", a, "--home", str(home))
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("replay matches live: ") and line.endswith(" beats identical")
    n, m = line.split(": ")[1].split()[0].split("/")
    assert n == m and int(n) > 400
    proc = _ok("replay", a, "--jsonl", "--home", str(home))
    objs = [json.loads(x) for x in proc.stdout.splitlines()]
    beats = [o for o in objs if o["type"] == "beat"]
    events = [o for o in objs if o["type"] == "event"]
    assert len(beats) == int(n) and [b["index"] for b in beats] == list(range(len(beats)))
    for key in ("t_s", "rr_ms", "hr_bpm", "rmssd_ms", "sdnn_ms", "lf_ms2", "hf_ms2", "lf_hf", "coherence",
                "artifact", "phase"):
        assert key in beats[0], key
    assert {b["phase"] for b in beats} == {"baseline", "practice", "recovery"}
    assert [e["kind"] for e in events].count("prompt_shown") >= 3
    assert "replay matches live" in proc.stderr
    paced = _ok("replay", a, "--jsonl", "--speed", "5000", "--home", str(home))  # 8 min in ~0.1 s
    assert paced.stdout == proc.stdout
    text = _ok("replay", a, "--speed", "5000", "--home", str(home)).stdout.splitlines()
    assert len(text) == len(objs) + 1 and text[-1].startswith("replay matches live")
    assert sum(" HR " in line for line in text) == len(beats)


def test_replay_reanalysis_says_so_and_does_not_compare(store_home):
    home, (a, _) = store_home
    proc = _ok("replay", a, "--time-window", "90s", "--frequency-window", "180s", "--method", "lomb",
               "--home", str(home))
    assert "re-analysis" in proc.stdout and "not compared" in proc.stdout
    assert "matches" not in proc.stdout
    live = [json.loads(x) for x in _ok("replay", a, "--jsonl", "--home", str(home)).stdout.splitlines()]
    re = [json.loads(x) for x in _ok("replay", a, "--jsonl", "--time-window", "90s", "--no-correction",
                                     "--home", str(home)).stdout.splitlines()]
    live_rmssd = [o["rmssd_ms"] for o in live if o["type"] == "beat"]
    re_rmssd = [o["rmssd_ms"] for o in re if o["type"] == "beat"]
    assert len(live_rmssd) == len(re_rmssd) and live_rmssd != re_rmssd
    bad = _run("replay", a, "--time-window", "0s", "--home", str(home))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_png_and_html_private_and_unknown_extension(store_home, tmp_path):
    home, (a, _) = store_home
    png = tmp_path / "r.png"
    _ok("report", a, "--out", str(png), "--home", str(home))
    assert _png_size(png.read_bytes()) == (1200, 1100)
    assert png.stat().st_mode & 0o777 == 0o600
    html = tmp_path / "r.html"
    _ok("report", "last", "--out", str(html), "--home", str(home))
    text = html.read_text(encoding="utf-8")
    assert "<table" in text and "heart rate" in text and "data:image/png;base64," in text
    assert "http://" not in text and "https://" not in text
    assert html.stat().st_mode & 0o777 == 0o600
    bad = _run("report", a, "--out", str(tmp_path / "r.pdf"), "--home", str(home))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "r.pdf" in bad.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_help_has_examples():
    for cmd in ("compare", "trends", "replay", "report"):
        out = _ok(cmd, "--help").stdout
        assert "examples:" in out and f"biofeedback {cmd}" in out, cmd


def test_an_imported_recording_is_compared_replayed_and_drawn(tmp_path):
    import numpy as np

    home = tmp_path / "home"
    rng = np.random.default_rng(3)
    rr = 880.0 + 45.0 * np.sin(2 * np.pi * np.arange(400) / 4.7) + rng.uniform(-6, 6, 400)
    f = tmp_path / "rr.txt"
    f.write_text("\n".join(f"{x:.0f}" for x in rr) + "\n")
    _ok("import", str(f), "--units", "ms", "--home", str(home))
    d = json.loads(_ok("compare", "last", "--json", "--home", str(home)).stdout)
    assert list(d["phases"]) == ["whole"] and d["changes"] == {} and "no phases" in d["note"]
    assert d["phases"]["whole"]["n_beats"] == 400
    assert d["phases"]["whole"]["indices"]["relaxation"]["value"] is None
    out = _ok("replay", "last", "--home", str(home)).stdout
    assert "nothing to compare" in out and "imported" in out
    png = tmp_path / "imp.png"
    _ok("report", "last", "--out", str(png), "--home", str(home))
    assert _png_size(png.read_bytes()) == (1200, 1100)
    day = datetime.fromisoformat(d["start_wall"]).date().isoformat()  # the file's time: just now
    t = json.loads(_ok("trends", "--json", "--days", "7", "--home", str(home)).stdout)
    row = next(r for r in t["rows"] if r["date"] == day)
    assert row["n_sessions"] == 1  # counted as a session, but
    assert row["practice_min"] == 0.0 and row["baseline_ln_rmssd"] is None  # imports have no phases


def test_dutch_compare_and_report_have_no_english(store_home, tmp_path):
    import re

    home, (a, b) = store_home
    text = _ok("compare", b, "--lang", "nl", "--details", "--home", str(home)).stdout
    assert "oefening − rustmeting" in text and "Sessie" in text
    out = tmp_path / "r.html"
    proc = _ok("report", b, "--lang", "nl", "--out", str(out), "--home", str(home))
    assert "rapport van sessie" in proc.stderr
    page = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", out.read_text(encoding="utf-8")))
    page = page[page.index("Sessie"):]  # after the style sheet
    for shown in (text, page):
        _assert_no_english(shown)


#: English words that must not appear in Dutch output (whole words).
ENGLISH = ("baseline", "practice", "recovery", "heart rate", "Session", "session", "needs", "beyond", "noise",
           "not judged", "complete", "incomplete", "Before", "beats", "artifacts", "relaxation", "simulated",
           "finished", "length", "ended", "what", "device", "phases", "phase", "gaps", "events", "none", "with",
           "live indices", "marker", "days", "goal", "in all", "left out", "imported", "wrote",
           "deleted", "started", "value", "unit", "quality", "valid", "longest", "excluded", "note", "good",
           "fair", "poor", "date", "mean")


def _assert_no_english(shown: str) -> None:
    import re

    for english in ENGLISH:
        assert not re.search(rf"\b{english}\b", shown), (english, shown[:3000])


@pytest.fixture(scope="module")
def small_home(tmp_path_factory):
    """A one-minute demo session (`demo --speed max --minutes 1`) in its own store."""
    home = tmp_path_factory.mktemp("small")
    _ok("demo", "--speed", "max", "--minutes", "1", "--home", str(home))
    return home


def test_dutch_store_commands_and_analyze_have_no_english(small_home, tmp_path):
    """sessions, show, trends, export, import, analyze (table) and delete speak Dutch with --lang nl,
    numbers with a decimal comma; --json stays the same in every language."""
    import re

    home = str(small_home)
    shown = {
        "sessions": _ok("sessions", "--lang", "nl", "--home", home).stdout,
        "show": _ok("show", "last", "--lang", "nl", "--home", home).stdout,
        "trends": _ok("trends", "--lang", "nl", "--home", home).stdout,
    }
    assert "voltooid" in shown["sessions"] and "[gesimuleerd]" in shown["sessions"] and "afgerond" in shown["sessions"]
    assert "rustmeting" in shown["show"] and "afgerond: het protocol" in shown["show"]
    assert "gesimuleerde sessie(s)" in shown["trends"] and "Laatste 30 dagen" in shown["trends"]
    rr = tmp_path / "rr.txt"
    shown["export"] = _ok("export", "last", "--format", "rr", "--out", str(rr), "--lang", "nl", "--home", home).stderr
    assert "slagen van sessie" in shown["export"]
    imported = _ok("import", str(rr), "--lang", "nl", "--home", home)
    shown["import"] = imported.stdout
    shown["import notes"] = imported.stderr
    assert "let op: formaat herkend: plain" in imported.stderr
    assert "slagen geïmporteerd" in shown["import"]
    new_id = shown["import"].split()[-1]
    analyzed = _ok("analyze", str(rr), "--lang", "nl")
    shown["analyze"] = analyzed.stdout
    shown["analyze notes"] = analyzed.stderr
    assert "eenheid afgeleid: milliseconden" in analyzed.stderr
    assert "waarde" in shown["analyze"] and "kwaliteit" in shown["analyze"]
    assert re.search(r"rmssd_ms +│? *\d+,\d", shown["analyze"]), shown["analyze"]
    assert not re.search(r"\d\.\d", shown["analyze"].split("\n", 1)[1])  # the title holds the file name
    shown["sessions2"] = _ok("sessions", "--lang", "nl", "--home", home).stdout
    assert "geïmporteerd" in shown["sessions2"]
    shown["show2"] = _ok("show", new_id, "--lang", "nl", "--home", home).stdout
    shown["delete"] = _ok("delete", new_id, "--lang", "nl", "--home", home).stdout
    assert f"sessie {new_id} verwijderd" in shown["delete"]
    for name, text in shown.items():
        # paths are the user's; `show` prints the stored practice settings and protocol as JSON
        _assert_no_english(re.sub(r"\{.*\}", " ", re.sub(r"/\S+", " ", text)))
    # The default comes from BIOFEEDBACK_LANG; --lang wins; --json is the same in every language.
    assert "voltooid" in _ok("sessions", "--home", home, lang_env="nl").stdout
    assert "complete" in _ok("sessions", "--lang", "en", "--home", home, lang_env="nl").stdout
    assert _ok("sessions", "--json", "--home", home, lang_env="nl").stdout == \
        _ok("sessions", "--json", "--home", home).stdout
    assert _ok("show", "last", "--json", "--lang", "nl", "--home", home).stdout == \
        _ok("show", "last", "--json", "--home", home).stdout
    bad = _run("sessions", "--home", home, lang_env="fr")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "BIOFEEDBACK_LANG" in bad.stderr


def test_lang_names_match_the_shipped_languages():
    from biofeedback.cli.common import LANG_NAMES
    from biofeedback.practices.texts import LANGS

    assert LANG_NAMES == LANGS


def test_every_reader_note_is_translated(tmp_path):
    """Every note the file readers write (detection, units, headers, gaps, start time) on the shipped
    fixtures, the real-strap exports and a few made-up files has a Dutch text (en.toml's [reader]
    sentences match the readers' own)."""
    import re
    from pathlib import Path

    from biofeedback.practices.texts import translate
    from sessions.importers import read_recording
    from sessions.importing import session_start

    fixtures = Path(__file__).parents[1] / "sessions" / "fixtures"
    real = Path(__file__).parents[3] / "shared" / "data" / "real-strap"
    (tmp_path / "long.txt").write_text("0.9\n0.91\n4.5\n0.9\n0.92\n" * 4)
    (tmp_path / "skip.txt").write_text("2026-03-01 07:00\n900\n910\n905\n" * 1 + "900\n" * 20)
    (tmp_path / "cols.csv").write_text("t,ibi\n1,900\n2,\n3,910\n" + "4,905\n" * 20)
    (tmp_path / "bare.csv").write_text("1,900\n2,910\n" + "3,905\n" * 20)
    reads = [(p, {}) for p in sorted(fixtures.iterdir()) if p.suffix in (".txt", ".csv")]
    reads += [(p, {}) for p in sorted(real.glob("*.csv"))]
    reads += [(tmp_path / "long.txt", {}), (tmp_path / "skip.txt", {"skip_lines": 1}),
              (tmp_path / "cols.csv", {"column": "ibi"}), (tmp_path / "bare.csv", {"column": "2"}),
              (fixtures / "plain_ms.txt", {"format": "plain", "units": "ms"})]
    notes = set()
    for path, options in reads:
        fmt = options.pop("format", None)
        try:
            rec = read_recording(path, fmt, **options)
        except Exception:  # a fixture made to be refused
            continue
        notes.update(rec.notes)
        start_note = session_start(rec)[1]
        if start_note:
            notes.add(start_note)
    assert len(notes) >= 10, notes
    for note in notes:
        dutch = translate(note, "nl", "reader")
        assert dutch != note, note
        _assert_no_english(re.sub(r"'[^']*'", " ", dutch))  # quoted: the file's own column names
