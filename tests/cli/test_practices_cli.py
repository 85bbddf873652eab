"""`biofeedback practices`: list shipped and user practices, in English or Dutch, as text or JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from biofeedback.cli.main import main


def test_lists_practices_in_english(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert main(["practices", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "resonance" in out and "Resonance breathing [4-0-6-0 (6/min)]" in out
    assert "4-7-8 breathing [4-7-8-0" in out and "box" in out
    assert "Hand on heart [hand-on-heart 20 s]" in out
    assert "Self-compassion [hand-on-heart 60 s + 4-0-6-0 (6/min)]" in out


def test_lists_practices_in_dutch(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    assert main(["practices", "--lang", "nl", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "Resonantieademhaling" in out and "Hand op je hart" in out and "Zelfcompassie" in out


def test_json_includes_user_practices(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (home / "practices").mkdir()
    (home / "practices" / "evening.toml").write_text(
        'title = { en = "Evening", nl = "Avond" }\n[breathing]\npattern = "4-2-8-0"\n', encoding="utf-8"
    )
    assert main(["practices", "--json", "--lang", "nl", "--home", str(home)]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["evening"]["title"] == "Avond" and rows["evening"]["pattern"] == "4-2-8-0"
    assert rows["evening"]["source"] == str(home / "practices" / "evening.toml")
    assert rows["resonance"]["rate_bpm"] == 6.0 and rows["resonance"]["source"] == "built-in"
    assert rows["4-7-8"]["hold_in_s"] == 7.0 and rows["self-hug"]["kind"] == "touch"
    assert rows["hand-on-cheek"]["pattern"] is None and rows["hand-on-cheek"]["spell_s"] == 20.0


def test_bad_user_file_is_reported_in_one_line_and_skipped(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (home / "practices").mkdir()
    bad = home / "practices" / "oops.toml"
    bad.write_text("[breathing\n", encoding="utf-8")
    assert main(["practices", "--home", str(home)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"warning: skipped practice file: {bad}:1: invalid TOML") and err.count("\n") == 1
    assert "resonance" in out and "oops" not in out


def test_bad_language_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["practices", "--lang", "fr"])
    assert info.value.code == 2


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["practices", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "biofeedback practices --lang nl" in out and "--home" in out


def test_command_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, biofeedback.cli.cmd_practices\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'rich', 'matplotlib', 'scipy')"
        " or m.startswith('biofeedback.practices')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
