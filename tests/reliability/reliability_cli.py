"""Running the real ``biofeedback`` CLI in a subprocess, as a user would (shared by the reliability tests)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
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
