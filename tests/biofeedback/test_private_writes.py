"""The one private, atomic file writer (biofeedback/files.py: write_private_atomically), used by
exports, reports, cohort files and the remembered-devices file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from biofeedback.files import fsync_directory, write_private_atomically


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_new_file_is_private_and_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with write_private_atomically(target) as f:
        f.write("a\nb\n")
        assert not target.exists()  # nothing at the target until the block ends
    assert target.read_text() == "a\nb\n" and _mode(target) == 0o600
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_existing_file_is_replaced_and_made_private(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    with write_private_atomically(target, binary=True) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and _mode(target) == 0o600


def test_a_failure_in_the_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "devices.json"
    target.write_text("precious\n")
    with pytest.raises(RuntimeError, match="disk full"):
        with write_private_atomically(target) as f:
            f.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "precious\n" and os.listdir(tmp_path) == ["devices.json"]


def test_a_last_check_that_refuses_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("precious\n")

    def refuse(path: Path) -> None:
        raise ValueError(f"{path.name} changed meanwhile")

    with pytest.raises(ValueError, match="report.html changed meanwhile"):
        with write_private_atomically(target, before_replace=refuse) as f:
            f.write("new")
    assert target.read_text() == "precious\n" and os.listdir(tmp_path) == ["report.html"]


def test_a_bare_file_name_is_written_in_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with write_private_atomically("plain.txt") as f:
        f.write("x")
    assert (tmp_path / "plain.txt").read_text() == "x"
    fsync_directory(".")
