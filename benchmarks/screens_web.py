"""Screenshots of every page of `biofeedback app` at 1280x800 and 390x844 (a phone in portrait), in
headless Chromium, for people to look at (written to a folder you name; not kept in the repository).

    python benchmarks/screens_web.py [OUT_DIR]        (default: /tmp/bf-screens)
    python benchmarks/screens_web.py OUT_DIR assessment   only the resonance-assessment pages
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def start_app(home: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "app", "--no-browser", "--home", str(home), *args],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        proc.kill()
        raise SystemExit("biofeedback app printed nothing within 60 s")
    return proc, proc.stdout.readline().strip()


def assessment_screens(out: Path) -> None:
    """The assessment page: the form, a stepped assessment running (1-minute steps at 60x), its result,
    the list of past ones, and the start form offering the rate it found."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_app(Path(tmp))
        base = url.split("/?", 1)[0]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                ctx.set_default_timeout(60_000)
                page = ctx.new_page()
                page.goto(url)
                page.goto(base + "/#/assessment")
                page.wait_for_selector("#assess-form")
                for name, (w, h) in SIZES.items():
                    page.set_viewport_size({"width": w, "height": h})
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(out / f"assess-form-{name}.png"), full_page=True)
                page.set_viewport_size({"width": 1280, "height": 800})
                page.select_option("#a-speed", "20")
                page.click("#a-options summary")
                page.fill("#a-rest", "0.25")
                page.fill("#a-step", "1")
                page.fill("#a-settle", "10")
                page.click("#assess-start")
                page.wait_for_selector("#ratebar strong[data-live=rate]")
                page.wait_for_timeout(6_000)  # a few breaths of the wave (a screenshot script, not a test)
                for name, (w, h) in SIZES.items():
                    page.set_viewport_size({"width": w, "height": h})
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(out / f"assess-live-{name}.png"), full_page=True)
                page.wait_for_selector("#assess-table", timeout=120_000)
                sid = page.get_attribute("#assessment-result", "data-session")
                for name, (w, h) in SIZES.items():
                    page.set_viewport_size({"width": w, "height": h})
                    page.goto(base + f"/#/assessment/{sid}")
                    page.wait_for_selector("#chart-smoothness")
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(out / f"assess-result-{name}.png"), full_page=True)
                    page.goto(base + "/#/assessment")
                    page.wait_for_selector("#assessments")
                    page.screenshot(path=str(out / f"assess-list-{name}.png"), full_page=True)
                    page.goto(base + "/#/")
                    page.wait_for_selector("#rate-field[data-loaded]")
                    page.screenshot(path=str(out / f"start-rate-{name}.png"), full_page=True)
                page.select_option("#lang", "nl")
                page.goto(base + f"/#/assessment/{sid}")
                page.wait_for_selector("#chart-smoothness")
                page.screenshot(path=str(out / "assess-result-phone-nl.png"), full_page=True)
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bf-screens")
    out.mkdir(parents=True, exist_ok=True)
    if sys.argv[2:] == ["assessment"]:
        assessment_screens(out)
        for f in sorted(out.glob("assess*.png")) + sorted(out.glob("start-rate*.png")):
            print(f)
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_app(Path(tmp), "--demo", "--speed", "60", "--minutes", "6")
        base = url.split("/?", 1)[0]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                ctx.set_default_timeout(60_000)
                page = ctx.new_page()
                page.goto(url)
                # the demo runs to its end: the page goes to the comparison, or (loaded late) links to it
                page.wait_for_selector("#comparison, [data-last] a")
                sid = (page.get_attribute("#comparison", "data-session") if page.locator("#comparison").count()
                       else page.get_attribute("[data-last] a", "href").rsplit("/", 1)[1])
                views = {"after": f"#/after/{sid}", "history": "#/history", "session": f"#/session/{sid}",
                         "trends": "#/trends", "start": "#/"}
                for name, (w, h) in SIZES.items():
                    page.set_viewport_size({"width": w, "height": h})
                    for view, frag in views.items():
                        page.goto(base + "/" + frag)
                        page.wait_for_selector("main > *")
                        if view == "session":
                            page.wait_for_selector("#chart-poincare")
                            page.wait_for_selector("#comparison")
                        if view == "after":
                            page.wait_for_selector("#comparison")
                        if view == "trends":
                            page.wait_for_selector("#chart-minutes")
                        page.screenshot(path=str(out / f"{view}-{name}.png"), full_page=view in ("session", "after"))
                # a live session, started from the page's form, at real time
                page.set_viewport_size({"width": 1280, "height": 800})
                page.goto(base + "/#/")
                page.fill("#f-base", "0.1")
                page.select_option("#f-speed", "1")
                page.click("#start")
                page.wait_for_selector("[data-live=phase][data-phase=practice]")
                page.wait_for_function("() => document.querySelectorAll('[data-index=hr_bpm][data-value]').length")
                page.wait_for_timeout(12_000)  # a few breaths of the wave (a screenshot script, not a test)
                for name, (w, h) in SIZES.items():
                    page.set_viewport_size({"width": w, "height": h})
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(out / f"live-{name}.png"), full_page=True)
                page.select_option("#lang", "nl")
                page.wait_for_timeout(500)
                page.screenshot(path=str(out / "live-phone-nl.png"), full_page=True)
                page.goto(base + f"/#/after/{sid}")
                page.wait_for_selector("#comparison")
                page.screenshot(path=str(out / "after-phone-nl.png"), full_page=True)
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    assessment_screens(out)
    for f in sorted(out.glob("*.png")):
        print(f)


if __name__ == "__main__":
    main()
