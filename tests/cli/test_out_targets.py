"""`export --out` and `report --out`: never replace a device or another odd target, never overwrite
a file silently, `--out -` writes to standard output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from biofeedback.cli.main import main
from tests.reliability.reliability_cli import PROJECT_ROOT, run_cli

FIXTURE = PROJECT_ROOT / "tests" / "sessions" / "fixtures" / "plain_ms.txt"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    assert main(["import", str(FIXTURE), "--home", str(h)]) == 0
    return h


def _device(tmp_path: Path) -> Path:
    """A character device like /dev/full, made in the test's own directory (never the real one)."""
    path = tmp_path / "full"
    if os.geteuid() == 0:
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 7))
    else:
        os.mkfifo(path)
    return path


def test_a_device_target_is_refused_and_left_alone(home, tmp_path, capsys):
    dev = _device(tmp_path)
    kind = os.stat(dev).st_mode
    for argv in (["export", "last", "--format", "rr", "--out", str(dev), "--force"],
                 ["report", "last", "--out", str(dev) + ".png"]):
        if argv[0] == "report":
            os.rename(dev, str(dev) + ".png")
            dev = Path(str(dev) + ".png")
        assert main([*argv, "--home", str(home)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not a regular file" in err
        assert os.stat(dev).st_mode == kind  # still the device, not a regular file


def test_an_existing_file_needs_force(home, tmp_path, capsys):
    out = tmp_path / "rr.txt"
    out.write_text("precious\n")
    assert main(["export", "last", "--format", "rr", "--out", str(out), "--home", str(home)]) == 2
    err = capsys.readouterr().err
    assert "already exists; use --force" in err and err.count("\n") == 1
    assert out.read_text() == "precious\n"
    assert main(["export", "last", "--format", "rr", "--out", str(out), "--force", "--home", str(home)]) == 0
    assert out.read_text() != "precious\n" and stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_out_dash_is_standard_output_in_a_subprocess(home, tmp_path):
    proc = run_cli("export", "last", "--format", "rr", "--out", "-", "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.splitlines()[0]) == 910.0 and not (Path.cwd() / "-").exists()
