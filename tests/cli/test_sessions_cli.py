"""The session commands run as a user runs them: the real CLI in a subprocess, a real store."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "sessions" / "fixtures"
PROJECT = Path(__file__).resolve().parents[2]


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BIOFEEDBACK_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "biofeedback.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=120,
    )


def dump(home: Path) -> str:
    conn = sqlite3.connect(home / "biofeedback.sqlite")
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_empty_home_lists_nothing_and_creates_nothing(home: Path) -> None:
    r = cli("sessions", home=home)
    assert r.returncode == 0 and "no sessions yet" in r.stdout
    r = cli("sessions", "--json", home=home)
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = cli("show", "last", home=home)
    assert r.returncode == 2 and "no sessions recorded yet" in r.stderr
    assert list(home.iterdir()) == []


def test_import_list_show_export_delete(home: Path, tmp_path: Path) -> None:
    r = cli("import", str(FIXTURES / "kubios_series_export.txt"), home=home)
    assert r.returncode == 0, r.stderr
    assert "note: format detected: kubios" in r.stderr
    sid = r.stdout.split()[-1]
    assert r.stdout.startswith("imported 40 beats (kubios) as session ")
    assert stat.S_IMODE((home / "biofeedback.sqlite").stat().st_mode) == 0o600

    listed = json.loads(cli("sessions", "--json", home=home).stdout)
    assert [(s["id"], s["n_beats"], s["status"], s["source_kind"]) for s in listed] == [(sid, 40, "complete", "import")]
    table = cli("sessions", home=home).stdout
    assert sid in table and "import kubios" in table

    shown = json.loads(cli("show", sid[:5], "--json", home=home).stdout)
    assert shown["session"]["id"] == sid and shown["phases"] == []

    out = tmp_path / "rr.txt"
    r = cli("export", "last", "--format", "rr", "--out", str(out), home=home)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    expected = (FIXTURES / "rr_values.txt").read_text().split()
    assert out.read_text().split() == [f"{float(x)!r}" for x in expected]
    r = cli("export", sid, "--format", "csv", home=home)
    assert r.stdout.splitlines()[0] == "seq,t_s,arrival_s,rr_ms,rr_ticks_1024,contact,artifact,phase"
    assert len(r.stdout.splitlines()) == 41

    r = cli("delete", sid, home=home)
    assert r.returncode == 0 and f"deleted session {sid}" in r.stdout and "40 beats" in r.stdout
    assert json.loads(cli("sessions", "--json", home=home).stdout) == []


BROKEN = sorted(p.name for p in FIXTURES.glob("broken_*"))


@pytest.fixture(scope="module")
def home_with_one_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli") / "home"
    home.mkdir()
    assert cli("import", str(FIXTURES / "plain_ms.txt"), home=home).returncode == 0
    return home


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_file_is_one_line_exit_2_and_nothing_stored(home_with_one_session: Path, name: str) -> None:
    home = home_with_one_session
    before = dump(home)
    r = cli("import", str(FIXTURES / name), home=home)
    assert r.returncode == 2
    errors = [ln for ln in r.stderr.splitlines() if not ln.startswith("note: ")]
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith(f"biofeedback import: error: {FIXTURES / name}")
    assert r.stdout == ""
    assert dump(home) == before


def test_broken_fixtures_are_all_there() -> None:
    assert len(BROKEN) >= 14


def test_reimport_names_the_session_and_force_imports_again(home: Path) -> None:
    f = str(FIXTURES / "hrv_logger_RR.csv")
    sid = cli("import", f, home=home).stdout.split()[-1]
    r = cli("import", f, home=home)
    assert r.returncode == 2 and f"already imported as session {sid}" in r.stderr
    r = cli("import", f, "--force", home=home)
    assert r.returncode == 0 and r.stdout.split()[-1] != sid


def test_bad_session_refs_exit_2(home: Path) -> None:
    """(Ambiguous prefixes are tested with fixed ids in tests/sessions/test_store.py.)"""
    ids = [cli("import", str(FIXTURES / n), home=home).stdout.split()[-1] for n in ("plain_ms.txt", "plain_s.txt")]
    r = cli("show", "zzzz", home=home)
    assert r.returncode == 2 and "no session matches 'zzzz'" in r.stderr
    r = cli("delete", "", home=home)
    assert r.returncode == 2 and "empty session reference" in r.stderr
    r = cli("export", ids[0], "--format", "rr", "--out", str(home / "missing-dir" / "x.txt"), home=home)
    assert r.returncode == 2 and "no such directory" in r.stderr


@pytest.mark.parametrize("command", ["sessions", "show", "delete", "import", "export"])
def test_help_has_examples_and_home(command: str, home: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "biofeedback.cli", command, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "examples:" in r.stdout and "--home" in r.stdout
