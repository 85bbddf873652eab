"""Scan, pair and practise with a strap in the page: a virtual strap served by another process
(`python -m devices.virtual_strap --serve tcp-server:127.0.0.1:0`), reached through the real BLE path
(bleak over the bumble stack named by BIOFEEDBACK_BLE_TRANSPORT), in a real headless Chromium."""

from __future__ import annotations

import select
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip install playwright) is missing")

pytestmark = pytest.mark.ble


@pytest.fixture
def served_strap():
    proc = subprocess.Popen([sys.executable, "-m", "devices.virtual_strap", "--serve", "tcp-server:127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30.0)
        line = proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
        assert line.startswith("serving "), f"virtual strap did not start: {line!r}"
        yield line.split()[1]
    finally:
        proc.kill()
        proc.communicate()


def test_scan_pair_and_a_session_with_the_strap(tmp_path, served_strap, start_app, stop_app):
    proc, url = start_app(tmp_path, env={"BIOFEEDBACK_BLE_TRANSPORT": served_strap})
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page()
            page.set_default_timeout(60_000)  # a loaded CI machine: the app and the stack start slowly
            page.goto(url)
            page.select_option("#f-source", "strap")
            page.wait_for_selector("#strap-default [data-t='web.none']")
            page.click("#strap-scan")
            page.click("[data-pair]")
            page.wait_for_selector("#strap-default [data-address]")
            # a short session through the strap just paired
            page.fill("#f-base", "0.2")
            page.fill("#f-prac", "0.2")
            page.fill("#f-rec", "0")
            page.click("#start")
            page.wait_for_selector("[data-live=connection][data-state=connected]")
            page.wait_for_function("() => { const e = document.querySelector('[data-index=hr_bpm]');"
                                   " return e && Number(e.dataset.value) > 30 }")
            page.click("#end")
            page.wait_for_selector("#comparison")
            browser.close()
    finally:
        err = stop_app(proc)
    assert "Traceback" not in err, err
