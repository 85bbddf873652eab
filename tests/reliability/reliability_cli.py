"""Running the real ``biofeedback`` CLI in a subprocess, as a user would (shared by the reliability tests)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "biofeedback.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **extra}
    env.pop("BIOFEEDBACK_DEBUG", None)
    return env


def run_cli(*args: str, timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=cli_env(),
                          **kwargs)  # type: ignore[call-overload]


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def stored(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows read straight from the store file (a plain read-only connection, not the code under test)."""
    conn = sqlite3.connect(f"file:{home / 'biofeedback.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(condition: Callable[[], object], *, timeout_s: float) -> None:
    """Wait (real time: another process is running) until ``condition()`` is true; a store that
    does not exist yet or is half created counts as false."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.02)  # polling a subprocess, not timing the code under test
    raise AssertionError(f"still not true after {timeout_s} s: {condition}")


def wait_until_finished(home: Path, *, timeout_s: float) -> None:
    """Wait until the store in ``home`` holds a finished session."""
    wait_until(lambda: stored(home, "SELECT 1 FROM sessions WHERE status != 'recording'"), timeout_s=timeout_s)
