"""The dispatcher: every command module is there, and one that fails to import fails loudly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from biofeedback.cli.main import COMMANDS, build_parser


def test_every_command_is_in_the_help() -> None:
    text = build_parser().format_help()
    assert all(name in text for name in COMMANDS)


def test_a_command_module_that_fails_to_import_is_an_error_not_a_missing_command() -> None:
    with pytest.raises(ModuleNotFoundError) as info:
        build_parser({"demo": "biofeedback.cli.cmd_demo", "ghost": "biofeedback.cli.cmd_ghost"})
    assert info.value.name == "biofeedback.cli.cmd_ghost"


def test_a_broken_installation_exits_non_zero_naming_the_module(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = ("import sys; from biofeedback.cli import main as m; "
            "m.COMMANDS['ghost'] = 'biofeedback.cli.cmd_ghost'; sys.exit(m.main(['--help']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "biofeedback.cli.cmd_ghost" in r.stderr


def test_a_command_is_parsed_without_loading_the_other_commands(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`biofeedback analyze FILE` builds the analyze parser only (start-up time); its errors read the same."""
    code = ("import sys; from biofeedback.cli.main import main; "
            f"status = main(['analyze', {str(tmp_path / 'missing.txt')!r}, '--json']); "
            "print(status, sorted(m for m in sys.modules if m.startswith('biofeedback.cli.cmd_')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split(None, 1) == ["2", "['biofeedback.cli.cmd_analyze']\n"]
    assert "missing.txt" in r.stderr
