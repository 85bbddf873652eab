"""The start form keeps what the user chose when the live link's snapshot comes (it comes just after
the page loads, and again at every reconnect): a real app, a real headless Chromium, the page's live
WebSocket held by the test (Playwright's route_web_socket) so that the snapshot comes when the test
says, after the user has chosen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip install playwright) is missing")


def test_an_idle_snapshot_leaves_the_start_form_as_the_user_left_it(tmp_path, start_app, stop_app):
    proc, url = start_app(tmp_path)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page()
            page.set_default_timeout(60_000)  # a loaded CI machine
            links = []

            def hold(link):  # the link opens; nothing reaches the page but what the test sends
                links.append(link)

            page.route_web_socket("**/ws/live", hold)
            page.goto(url)
            page.wait_for_selector("body[data-ready] [data-live=ws][data-state=connected]")
            page.select_option("#f-source", "strap")
            page.wait_for_selector("#strap-default [data-t='web.none']")
            page.fill("#f-base", "0.7")
            # what an idle app sends when the link opens; then the link closes, which the page shows
            # only after it has handled the snapshot (a WebSocket's messages come before its close)
            links[-1].send(json.dumps({"type": "snapshot", "live": None, "last": None}))
            links[-1].close()
            page.wait_for_selector("[data-live=ws][data-state=disconnected]")
            assert page.input_value("#f-source") == "strap"
            assert page.is_visible("#strap-default [data-t='web.none']")
            assert page.input_value("#f-base") == "0.7"
            browser.close()
    finally:
        err = stop_app(proc)
    assert "Traceback" not in err, err
