"""Hostile and odd files: refused in one line (exit 2) before they are read, in bounded time and
memory; a bad practice file of the user's is skipped unless it is the one selected."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from biofeedback.errors import InputError
from biofeedback.practices import load_practice_file
from biofeedback.practices.texts import fill
from tests.reliability.reliability_cli import CLI, cli_env, run_cli



def _limited(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with 1 GiB of address space (a reader that slurps /dev/zero dies instead of the machine)."""
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env=cli_env(),
                          preexec_fn=limit)


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


@pytest.mark.parametrize("command", ["import", "analyze"])
def test_a_fifo_or_a_device_is_refused_before_reading(tmp_path, command):
    fifo = tmp_path / "rr.txt"
    os.mkfifo(fifo)  # nobody ever writes to it: reading it would block for ever
    home = ("--home", str(tmp_path / "home")) if command == "import" else ()
    _one_line_exit_2(_limited(command, str(fifo), *home), "named pipe (FIFO)")
    _one_line_exit_2(_limited(command, "/dev/zero", *home), "character device")


def test_an_oversized_rr_file_is_refused_in_one_line(tmp_path):
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(17 * 1024 * 1024)  # sparse: no disk used
    _one_line_exit_2(_limited("analyze", str(big)), "too large")


def test_a_fifo_among_practice_files_is_skipped_and_the_shipped_ones_work(tmp_path):
    practices = tmp_path / "practices"
    practices.mkdir()
    os.mkfifo(practices / "stuck.toml")
    proc = subprocess.run([*CLI, "practices", "--home", str(tmp_path)], capture_output=True, text=True,
                          timeout=60, env=cli_env())
    assert proc.returncode == 0 and "resonance" in proc.stdout
    assert "stuck.toml" in proc.stderr and "named pipe" in proc.stderr


HOSTILE = {
    "format-spec": '[text.en]\n"x.intro" = "{x:>1500000000}"\n[prompts]\nintro = "x.intro"\n',
    "attribute": '[text.en]\n"x.intro" = "{foo.bar}"\n[prompts]\nintro = "x.intro"\n',
    "tiny-reminder": '[breathing]\npattern = "4-0-6-0"\n[prompts]\nreminder_every_s = 1e-300\n',
    "huge-phase": '[breathing]\npattern = "4-0-1e308-0"\n',
    "huge-spell": '[touch]\ngesture = "hand-on-heart"\nspell_s = 1e308\n',
    "deep": "x = " + "[" * 2000 + "]" * 2000 + "\n",
    "big": "# " + "x" * (70 * 1024) + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_practice_files_are_refused_with_a_line(tmp_path, name):
    path = tmp_path / f"{name}.toml"
    path.write_text(HOSTILE[name], encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_practice_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_texts_are_never_format_strings():
    assert fill("in {inhale_s}, {x:>1500000000} {foo.bar} {0}", {"inhale_s": "4"}) == \
        "in 4, {x:>1500000000} {foo.bar} {0}"


def test_a_bad_practice_file_is_an_error_only_when_selected(tmp_path):
    practices = tmp_path / "practices"
    practices.mkdir()
    (practices / "mine.toml").write_text(HOSTILE["attribute"], encoding="utf-8")
    chosen = run_cli("demo", "--practice", "mine", "--speed", "max", "--minutes", "0.1", "--home", str(tmp_path))
    _one_line_exit_2(chosen, "unknown placeholder {foo.bar}")
    other = run_cli("demo", "--speed", "max", "--minutes", "0.1", "--jsonl", "--home", str(tmp_path))
    assert other.returncode == 0, other.stderr
    assert "warning: skipped practice file:" in other.stderr and "mine.toml" in other.stderr
