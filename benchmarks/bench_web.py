"""`biofeedback app` measured in a real headless Chromium; prints one line per figure.

    python benchmarks/bench_web.py [--hours H] [--speed X]

- first paint: navigation start -> first contentful paint, and -> the first live heart rate on screen
  (`--demo`, a fresh page), median of 5 page loads;
- beat to screen: the server sends a beat line on /ws/live -> the page's `[data-index]` elements show it
  and the next animation frame runs (a Python WebSocket client on the same machine timestamps the send
  side; both clocks are the system clock), median and p95 over the beats of 20 s at 1x;
- server CPU: the server process's user+system CPU time over wall time during a live 1x session with one
  page open (from /proc/PID/stat), percent of one core;
- memory: the server's resident memory (VmRSS) during a long simulated live session (default 1 h at 60x,
  one page open the whole time), sampled every simulated 10 minutes: it stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_app(home: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback.cli", "app", "--no-browser", "--home", str(home), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=60):
        proc.kill()
        raise SystemExit("biofeedback app printed nothing within 60 s")
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_paint(browser, url: str) -> tuple[float, float]:
    fcp, live, timings = [], [], []
    for _ in range(5):
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_selector("[data-index=hr_bpm][data-value]", timeout=30_000)
        fcp.append(page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime"))
        live.append(page.evaluate("performance.getEntriesByName('bf-first-value')[0].startTime"))
        marks = page.evaluate("JSON.stringify(performance.getEntriesByType('resource').map(e => [e.name.split('/').pop(), Math.round(e.responseEnd)]))")
        timings.append(marks)
        ctx.close()
    print("  resources of the last load (name, responseEnd ms):", timings[-1])
    return statistics.median(fcp), statistics.median(live)


def beat_to_screen(browser, url: str, base: str, cookie: tuple[str, str], seconds: float) -> list[float]:
    import websockets

    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("[data-index=hr_bpm][data-value]", timeout=30_000)
    page.evaluate("""() => { window.__shown = {}; const box = document.querySelector('.metrics');
        new MutationObserver(() => { const t = box.dataset.beatT;
          requestAnimationFrame(() => { if (!(t in window.__shown)) window.__shown[t] = performance.timeOrigin + performance.now(); }); })
        .observe(box, { attributes: true, attributeFilter: ['data-beat-t'] }); }""")
    sent: dict[str, float] = {}

    async def listen() -> None:
        host = base.split("//", 1)[1]
        headers = {"Cookie": f"{cookie[0]}={cookie[1]}"}
        async with websockets.connect(f"ws://{host}/ws/live", origin=base, additional_headers=headers) as ws:
            end = time.time() + seconds
            while time.time() < end:
                try:
                    line = await asyncio.wait_for(ws.recv(), timeout=max(0.01, end - time.time()))
                except asyncio.TimeoutError:
                    break
                t = time.time() * 1000
                obj = json.loads(line)
                if obj.get("type") == "beat":
                    sent[repr(obj["t_s"])] = t

    import threading

    th = threading.Thread(target=lambda: asyncio.run(listen()))  # Playwright's sync API owns this thread's loop
    th.start()
    th.join(seconds + 30)
    shown = page.evaluate("window.__shown")
    ctx.close()
    out = []
    for key, t_send in sent.items():
        # the page formats t_s with JavaScript's Number -> string; match by value
        for k, t_shown in shown.items():
            if abs(float(k) - float(key)) < 1e-9:
                out.append(t_shown - t_send)
                break
    return out


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0, help="simulated hours of the memory run (default 1)")
    ap.add_argument("--speed", type=float, default=60.0, help="speed of the memory run (default 60)")
    opts = ap.parse_args()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        # -- first paint, beat to screen and CPU: a live 1x demo of 10 minutes
        proc, url = start_app(Path(tmp) / "a", "--demo", "--minutes", "10")
        base = url.split("/?", 1)[0]
        try:
            time.sleep(5)  # let the first beats settle: a page loaded later shows them at once
            fcp, live = first_paint(browser, url)
            print(f"web first paint: first contentful paint {fcp:.0f} ms, first live heart rate {live:.0f} ms (median of 5)")
            ctx = browser.new_context()
            pg = ctx.new_page()
            pg.goto(url)
            cookie = next((c["name"], c["value"]) for c in ctx.cookies() if c["name"].startswith("biofeedback_"))
            pg.wait_for_selector("[data-index=hr_bpm][data-value]", timeout=30_000)
            c0, w0 = cpu_s(proc.pid), time.monotonic()
            lat = beat_to_screen(browser, url, base, cookie, 20.0)
            c1, w1 = cpu_s(proc.pid), time.monotonic()
            ctx.close()
            lat.sort()
            if lat:
                print(f"web beat to screen: median {statistics.median(lat):.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms "
                      f"over {len(lat)} beats (WebSocket send -> DOM updated + next animation frame)")
            print(f"web server CPU during a live 1x session with two pages open: {100 * (c1 - c0) / (w1 - w0):.1f} % of one core "
                  f"over {w1 - w0:.0f} s")
        finally:
            stop(proc)
        # -- memory over a long simulated live session, one page open
        minutes = opts.hours * 60
        proc, url = start_app(Path(tmp) / "b", "--demo", "--minutes", f"{minutes:g}", "--speed", f"{opts.speed:g}")
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_selector("[data-index=hr_bpm][data-value]", timeout=60_000)
            samples = []
            t0 = time.monotonic()
            real_s = minutes * 60 / opts.speed
            step = 600 / opts.speed  # every simulated 10 minutes
            while time.monotonic() - t0 < real_s - 1 and proc.poll() is None:
                samples.append((time.monotonic() - t0, rss_mb(proc.pid)))
                time.sleep(step)
            ctx.close()
        finally:
            stop(proc)
        line = ", ".join(f"{t * opts.speed / 60:.0f} min {m:.0f} MB" for t, m in samples)
        print(f"web server memory (VmRSS) over {minutes:g} simulated minutes at {opts.speed:g}x, page open: {line}")
        if len(samples) >= 3:
            print(f"web server memory growth after the first sample: {samples[-1][1] - samples[1][1]:+.1f} MB")
        browser.close()


if __name__ == "__main__":
    main()
