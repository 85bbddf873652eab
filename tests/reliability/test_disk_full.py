"""A full disk (here a file size limit, `ulimit -f`, in the subprocess) while recording: exit 1 with
one plain line, every beat committed before the failure kept, and the count of those that could not
be stored."""

from __future__ import annotations

import re
import resource
import subprocess

from tests.reliability.reliability_cli import CLI, cli_env, jsonl, stored


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (400 * 1024, 400 * 1024))  # the WAL fills it in seconds


def test_disk_full_while_recording_is_one_plain_line_and_keeps_what_was_stored(tmp_path):
    home = tmp_path / "home"
    proc = subprocess.run([*CLI, "demo", "--speed", "max", "--minutes", "5", "--jsonl", "--home", str(home)],
                          capture_output=True, text=True, timeout=120, env=cli_env(), preexec_fn=_limit_file_size)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in lines[0], proc.stderr
    m = re.search(r"disk could not be written .*: (\d+) of the (\d+) beats of session (\w+) could not be stored "
                  r"\(the first (\d+) are safe in the store\)", lines[0])
    assert m, lines[0]
    lost, total, sid, safe = int(m[1]), int(m[2]), m[3], int(m[4])
    printed = [o for o in jsonl(proc.stdout) if o["type"] == "beat"]
    assert total == len(printed) and lost + safe == total and lost > 0
    # Every beat committed before the disk filled is in the store, exactly as printed.
    kept = [t for (t,) in stored(home, "SELECT t_s FROM beats WHERE session_id = ? ORDER BY seq", (sid,))]
    assert len(kept) == safe and kept == [b["t_s"] for b in printed[:safe]]
