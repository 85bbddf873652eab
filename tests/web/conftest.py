"""Shared by the browser tests: the app in a subprocess, and the browser (skipped, naming what is missing)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def start_app() -> Callable[..., tuple[subprocess.Popen[str], str]]:
    def start(home: Path, *args: str, env: dict[str, str] | None = None,
              timeout_s: float = 30.0) -> tuple[subprocess.Popen[str], str]:
        """`biofeedback app --no-browser --home HOME ARGS`; the process and the URL it printed first."""
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error", **(env or {})}
        proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "app", "--no-browser", "--home", str(home),
                                 *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
                                cwd=ROOT)
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=timeout_s):
            proc.kill()
            raise AssertionError(f"biofeedback app printed nothing within {timeout_s} s")
        line = proc.stdout.readline().strip()
        assert line.startswith("http://") and "/?token=" in line, line
        return proc, line

    return start


@pytest.fixture(scope="session")
def stop_app() -> Callable[[subprocess.Popen[str]], str]:
    def stop(proc: subprocess.Popen[str]) -> str:
        """Ctrl-C, as a user stops it; its standard error."""
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        return err

    return stop
