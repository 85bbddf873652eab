"""The store stays private: its files and home are tightened on open, another user's are refused,
and the directories the tool creates are 0700 whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.reliability.reliability_cli import CLI, PROJECT_ROOT, cli_env, run_cli

FIXTURE = PROJECT_ROOT / "tests" / "sessions" / "fixtures" / "plain_ms.txt"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _import(home: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "import", str(FIXTURE), "--home", str(home)], capture_output=True, text=True,
                          timeout=60, env=cli_env(), preexec_fn=lambda: os.umask(umask))


def test_created_directories_are_private_whatever_the_umask(tmp_path):
    home = tmp_path / "a" / "b" / "home"
    proc = _import(home, umask=0)
    assert proc.returncode == 0, proc.stderr
    assert [_mode(d) for d in (tmp_path / "a", tmp_path / "a" / "b", home)] == [0o700] * 3
    assert _mode(home / "biofeedback.sqlite") == 0o600


def test_a_loosened_store_and_home_are_tightened_on_open(tmp_path):
    home = tmp_path / "home"
    assert _import(home).returncode == 0
    os.chmod(home, 0o777)
    os.chmod(home / "biofeedback.sqlite", 0o644)
    proc = run_cli("sessions", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert _mode(home) == 0o700 and _mode(home / "biofeedback.sqlite") == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file another user's needs root")
@pytest.mark.parametrize("what", ["home", "store"])
def test_another_users_home_or_store_is_refused(tmp_path, what):
    home = tmp_path / "home"
    assert _import(home).returncode == 0
    target = home if what == "home" else home / "biofeedback.sqlite"
    os.chmod(target, 0o777 if what == "home" else 0o666)
    os.chown(target, 65534, 65534)  # nobody
    for command in (["sessions"], ["import", str(FIXTURE)]):
        proc = run_cli(*command, "--home", str(home))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "belongs to another user" in lines[0]
    assert _mode(target) in (0o777, 0o666)  # not touched
