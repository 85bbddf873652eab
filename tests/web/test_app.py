"""`biofeedback app` in a real headless Chromium (Playwright for Python pointed at /usr/bin/chromium).

One server per module (`biofeedback app --demo --no-browser` at 60x (baseline 10 s, practice 20 s, recovery 10 s of real time), a real subprocess with a real
store), one browser; the tests run in file order along the user's journey: watch the live values,
reload, a second tab, a refused second start, end the session and read the comparison, history,
replay, Dutch. The refusals (no token, foreign Host, foreign Origin) are checked on the wire. Every
wait is bounded; nothing sleeps.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 30_000  # generous: the machine running the tests may be busy

if not CHROMIUM.exists():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip install playwright) is missing")


@pytest.fixture(scope="module")
def app(tmp_path_factory, start_app, stop_app):
    home = tmp_path_factory.mktemp("home")
    proc, url = start_app(home, "--demo", "--speed", "60", "--minutes", "40")
    assert url.startswith("http://127.0.0.1:")
    parts = urlsplit(url)
    yield {"url": url, "base": f"{parts.scheme}://{parts.netloc}", "port": parts.port, "home": home,
           "token": parts.query.split("=", 1)[1], "proc": proc}
    err = stop_app(proc)
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def context(browser, app):
    """A browser context that records every request and WebSocket: none may leave the app's origin."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    seen: list[str] = []

    def route(r):
        seen.append(r.request.url)
        if not r.request.url.startswith(app["base"] + "/"):
            r.abort()
        else:
            r.continue_()

    ctx.route("**/*", route)
    ctx.seen = seen  # type: ignore[attr-defined]
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def page(context, app):
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("websocket", lambda ws: context.seen.append(ws.url))
    pg.goto(app["url"])
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    assert not errors, errors


# -- live -------------------------------------------------------------------------------------------------

def test_token_becomes_a_cookie_and_leaves_the_address(page, app):
    assert page.url == app["base"] + "/"
    cookies = page.context.cookies()
    [c] = [c for c in cookies if c["name"] == f"biofeedback_{app['port']}"]
    assert c["httpOnly"] and c["sameSite"] == "Strict" and c["value"] != app["token"]


def test_heart_rate_and_coherence_update(page):
    page.wait_for_function("() => { const e = document.querySelector('[data-index=hr_bpm]');"
                           " return e && e.dataset.value && Number(e.dataset.value) > 30 }")
    first = page.get_attribute("[data-index=hr_bpm]", "data-value")
    page.wait_for_function("(v) => document.querySelector('[data-index=hr_bpm]').dataset.value !== v", arg=first)
    page.wait_for_function("() => { const e = document.querySelector('[data-index=coherence]');"
                           " return e && e.dataset.value !== undefined && e.dataset.value !== '' }")
    zone = page.get_attribute("[data-metric=coherence]", "data-zone")
    assert zone in ("low", "medium", "high")
    shown, value = page.evaluate("() => { const e = document.querySelector('[data-index=hr_bpm]');"
                                 " return [e.textContent, e.dataset.value] }")
    assert float(shown) == pytest.approx(float(value), abs=0.051)
    assert page.inner_text("[data-live=connection]") == "connected"
    assert page.inner_text("[data-live=phase]") in ("Baseline", "Practice")


def test_reload_shows_the_running_session_at_once(page):
    sid = page.get_attribute("[data-session]", "data-session")
    page.reload()
    # The snapshot arrives with the page's first API call: values are there without waiting for a beat.
    page.wait_for_selector("[data-index=hr_bpm][data-value]", timeout=5000)
    assert page.get_attribute("[data-session]", "data-session") == sid
    assert page.inner_text("[data-live=prompt]").strip()


def test_second_tab_shows_the_same_session_and_a_second_start_is_refused(page, context):
    other = context.new_page()
    try:
        other.goto(page.url)
        other.wait_for_selector("[data-index=hr_bpm][data-value]")
        assert other.get_attribute("[data-session]", "data-session") == page.get_attribute("[data-session]", "data-session")
        status, body = other.evaluate("""async () => { const r = await fetch('/api/session/start', {method: 'POST',
            headers: {'content-type': 'application/json'}, body: JSON.stringify({practice: 'box'})});
            return [r.status, await r.json()] }""")
        assert status == 409 and "already running" in body["error"]
    finally:
        other.close()  # closing a tab does not stop the session
    page.wait_for_function("() => document.querySelector('[data-index=hr_bpm]')")


def test_marker_key(page):
    before = int(page.inner_text("[data-live=markers]"))
    page.locator("main").focus()
    page.keyboard.press(" ")
    page.wait_for_function("(n) => Number(document.querySelector('[data-live=markers]').textContent) > n", arg=before)


def test_guide_moves_with_the_pacer_and_holds_still_for_reduced_motion(page):
    page.wait_for_selector("[data-live=phase][data-phase=practice]")
    page.wait_for_function("() => /^scale\\(0\\.\\d{4}\\)$|^scale\\(1\\.0000\\)$/"
                           ".test(document.querySelector('[data-live=lung]').style.transform)")
    page.emulate_media(reduced_motion="reduce")
    try:
        page.wait_for_function("() => document.querySelector('[data-live=lung]') &&"
                               " document.querySelector('[data-live=lung]').style.transform === 'scale(0.8)'")
        assert page.inner_text("[data-live=cue]") in ("Breathe in", "Breathe out", "Hold")
    finally:
        page.emulate_media(reduced_motion="no-preference")


def test_end_session_and_read_the_comparison(page, app):
    page.wait_for_selector("[data-live=phase][data-phase=practice], [data-live=phase][data-phase=recovery]")
    page.click("#end")
    page.wait_for_selector("#comparison td[data-change=practice][data-key=mean_hr_bpm]")
    sid = page.get_attribute("#comparison", "data-session")
    assert page.url.endswith(f"#/after/{sid}")
    from sessions.compare import compare_phases
    from sessions.store import Store
    from sessions.stored import read_session

    with Store.open_home(app["home"]) as store:  # what `biofeedback compare SID --json` prints
        cmp = json.loads(json.dumps(compare_phases(read_session(store, sid)).to_json_dict()))
    for key in ("mean_hr_bpm", "rmssd_ms"):
        shown = page.inner_text(f"#comparison td[data-phase=baseline][data-key={key}]")
        assert float(shown) == pytest.approx(cmp["phases"]["baseline"]["indices"][key]["value"], abs=0.051)
        verdict = page.get_attribute(f"#comparison td[data-change=practice][data-key={key}]", "data-verdict")
        assert verdict == cmp["changes"]["practice"][key]["verdict"]


def test_history_session_page_and_replay(page):
    page.click("nav [data-nav=history]")
    page.wait_for_selector("#sessions tbody tr")
    row = page.locator("#sessions tbody tr").first
    assert row.locator("[data-simulated]").count() == 1
    row.locator("a").click()
    page.wait_for_selector("#chart-tachogram")
    page.wait_for_selector("[data-export=rr]")
    page.select_option("#replay-speed", "20")
    page.click("#replay-start")
    page.wait_for_function("() => Number(document.getElementById('replay').dataset.beats || 0) >= 5")
    assert page.inner_text("#replay [data-index=hr_bpm]") != "—"
    page.click("#replay-stop")


def test_export_downloads_the_export_format(page, app):
    with page.expect_download() as info:
        page.click("[data-export=rr]")
    path = info.value.path()
    lines = Path(path).read_text().split()
    assert len(lines) > 50 and all(300 < float(x) < 2000 for x in lines)


def test_dutch(page):
    page.select_option("#lang", "nl")
    page.wait_for_function("() => document.querySelector('[data-nav=practise]').textContent === 'Oefenen'")
    assert page.inner_text("[data-nav=history]") == "Geschiedenis"
    assert page.evaluate("document.documentElement.lang") == "nl"
    page.select_option("#lang", "en")


def test_delete_asks_first(page):
    page.click("nav [data-nav=history]")
    page.wait_for_selector("#sessions tbody tr")
    n = page.locator("#sessions tbody tr").count()
    page.locator("#sessions tbody tr a").first.click()
    page.click("#delete")
    page.click("#confirm-cancel")
    assert page.locator("#delete").count() == 1  # still there
    page.click("#delete")
    page.click("#confirm-ok")
    page.wait_for_url("**/#/history")
    if n == 1:
        page.wait_for_selector("[data-t='web.no_sessions']")
    else:
        page.wait_for_function("(n) => document.querySelectorAll('#sessions tbody tr').length === n - 1", arg=n)


# -- resonance assessment ------------------------------------------------------------------------------------

ASSESS_KEYS = ("rate_bpm", "lf_peak_power_ms2", "lf_peak_hz", "peak_trough_bpm", "phase_deg", "coherence")


def test_assessment_runs_in_the_page_and_shows_its_result(page, app):
    """A stepped assessment (1-minute steps at 60x, about 5 s) from the page's form, through the runner
    and analysis of `biofeedback assess`: the live rate, then the table with the numbers `assess --json`
    prints (the stored result), the charts, and the list of past assessments."""
    page.click("nav [data-nav=assessment]")
    page.wait_for_selector("#assess-form")
    page.wait_for_selector("#resonance-rate [data-t='web.no_rate_yet']")
    page.select_option("#a-speed", "60")
    page.click("#a-options summary")
    page.fill("#a-rest", "0.1")
    page.fill("#a-step", "1")
    page.fill("#a-settle", "10")
    page.click("#assess-start")
    # One look at the page while the pacer runs (read together: the short assessment moves on quickly).
    seen = page.wait_for_function("""() => {
        const box = document.querySelector("#ratebar[data-assessment=stepped]");
        const lung = document.querySelector("[data-live=lung]");
        if (!box || !box.querySelector("strong[data-live=rate]") || !box.dataset.rate || !lung) { return null; }
        return {rate: box.dataset.rate, phase: lung.dataset.phase};
    }""").json_value()
    assert round(float(seen["rate"]), 6) in (6.5, 6.0, 5.5, 5.0, 4.5)
    assert seen["phase"] in ("inhale", "exhale")
    page.wait_for_selector("#assess-table tbody tr")
    sid = page.get_attribute("#assessment-result", "data-session")
    assert page.url.endswith(f"#/assessment/{sid}")
    from sessions.assessments import get_assessment
    from sessions.store import Store

    with Store.open_home(app["home"]) as store:  # what `biofeedback assess --json` printed at the end
        result = get_assessment(store, sid).result.to_json_dict()
    assert page.get_attribute("#assess-verdict", "data-status") == result["status"]
    if result["status"] == "ok":
        assert float(page.get_attribute("#assess-verdict", "data-rate")) == result["resonance_rate_bpm"]
        assert page.locator("#assess-table tr[data-chosen]").get_attribute("data-rate") == \
            f"{result['resonance_rate_bpm']:g}"
    rows = page.locator("#assess-table tbody tr")
    assert rows.count() == len(result["rates"]) == 5
    for i, want in enumerate(result["rates"]):
        for key in ASSESS_KEYS:
            shown = rows.nth(i).locator(f"[data-key={key}]").get_attribute("data-value")
            assert (None if shown == "" else float(shown)) == pytest.approx(want[key], rel=1e-12), (i, key)
    assert page.locator("canvas[id^=chart-wave-]").count() == 5
    for chart in ("peak-trough", "lf-power", "phase", "coherence", "smoothness"):
        assert page.locator(f"#chart-{chart}").count() == 1
    page.click("nav [data-nav=assessment]")
    page.wait_for_selector(f"#assessments tbody tr[data-session='{sid}']")
    if result["status"] == "ok":
        assert float(page.get_attribute("#resonance-rate [data-rate]", "data-rate")) == result["resonance_rate_bpm"]


def test_start_form_offers_the_resonance_rate_and_another(page, app):
    from sessions.assessments import resonance_rate
    from sessions.store import Store

    with Store.open_home(app["home"]) as store:
        stored = resonance_rate(store)
    if stored is None:  # the page's short assessment asked to repeat: a full simulated one gives a rate
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "biofeedback.cli", "demo", "--assess", "--speed", "max", "--seed", "3",
                        "--json", "--home", str(app["home"])], check=True, capture_output=True, timeout=300)
        with Store.open_home(app["home"]) as store:
            stored = resonance_rate(store)
    assert stored is not None
    page.goto(app["base"] + "/#/")
    page.wait_for_selector("#rate-field[data-loaded]")
    assert page.input_value("#f-rate") == "assessed"  # pre-selected, saying where it came from
    label = page.locator("#f-rate option[value=assessed]").inner_text()
    assert f"{stored.resonance_rate_bpm:g}/min" in label and stored.assessed_wall[:10] in label
    page.select_option("#f-rate", "other")
    assert page.is_visible("#f-rate-other")
    page.select_option("#f-rate", "assessed")
    page.select_option("#f-speed", "60")
    page.fill("#f-base", "0.5")
    page.click("#start")
    page.wait_for_selector("#ratebar:not([hidden]) [data-live=rate_text]")
    page.wait_for_function("() => document.querySelector('[data-live=rate_text]').textContent.includes('assessment')")
    sid = page.get_attribute("[data-session]", "data-session")
    page.click("#end")
    page.wait_for_selector("#comparison")
    with Store.open_home(app["home"]) as store:
        settings = store.get_session(sid).practice_settings
    assert settings["rate_source"] == "assessment" and settings["rate_bpm"] == stored.resonance_rate_bpm


def test_an_assessment_with_too_little_usable_asks_to_repeat(page, app):
    """Two rates are too few to name one (`assess` needs three usable steps): the page says to repeat
    the assessment, with the reason, and the stored resonance rate stays what it was."""
    from sessions.assessments import resonance_rate
    from sessions.store import Store

    with Store.open_home(app["home"]) as store:
        before = resonance_rate(store)
    page.goto(app["base"] + "/#/assessment")
    page.wait_for_selector("#assess-form")
    status = page.evaluate("""async () => (await fetch('/api/assessment/start', {method: 'POST',
        headers: {'content-type': 'application/json'}, body: JSON.stringify({protocol: 'stepped', speed: 60,
        rest_s: 0, rates_bpm: [6, 5], step_s: 30, settle_s: 5})})).status""")
    assert status == 200
    page.wait_for_selector("#assess-verdict[data-status=repeat]")
    assert "repeat the assessment" in page.inner_text("#assess-verdict")
    assert "too few usable steps" in page.inner_text("#assess-verdict")
    assert page.locator("#assess-table tr[data-chosen]").count() == 0
    with Store.open_home(app["home"]) as store:
        after = resonance_rate(store)
    assert (after and after.session_id) == (before and before.session_id)


def test_no_request_left_the_machine(context, app):
    assert context.seen, "no requests recorded"
    foreign = [u for u in context.seen if not (u.startswith(app["base"] + "/") or u.startswith(f"ws://127.0.0.1:{app['port']}/"))]
    assert not foreign


# -- refusals, on the wire ----------------------------------------------------------------------------------

def _request(app, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", app["port"], timeout=10)
    try:
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def _cookie(app) -> str:
    status, headers, _ = _request(app, "GET", f"/?token={app['token']}", {"Host": f"127.0.0.1:{app['port']}"})
    assert status == 303
    return headers["set-cookie"].split(";", 1)[0]


def test_refused_without_token(app):
    host = {"Host": f"127.0.0.1:{app['port']}"}
    for path in ("/", "/api/sessions", "/static/app.js", "/?token=wrong"):
        status, headers, body = _request(app, "GET", path, host)
        assert status == 401, path
        assert "token" in body
        assert "default-src 'none'" in headers["content-security-policy"]


def test_refused_foreign_host(app):
    cookie = _cookie(app)
    status, _, body = _request(app, "GET", "/api/sessions", {"Host": f"evil.example:{app['port']}", "Cookie": cookie})
    assert status == 403 and "Host" in body
    status, _, _ = _request(app, "GET", "/api/sessions", {"Host": f"localhost:{app['port']}", "Cookie": cookie})
    assert status == 200


def test_refused_foreign_origin(app):
    cookie = _cookie(app)
    host = f"127.0.0.1:{app['port']}"
    status, _, body = _request(app, "POST", "/api/session/marker",
                               {"Host": host, "Cookie": cookie, "Origin": "http://evil.example"})
    assert status == 403 and "origin" in body
    status, _, _ = _request(app, "POST", "/api/session/marker", {"Host": host, "Cookie": cookie})  # no Origin at all
    assert status == 403
    ws = {"Host": host, "Cookie": cookie, "Connection": "Upgrade", "Upgrade": "websocket",
          "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    status, _, _ = _request(app, "GET", "/ws/live", {**ws, "Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = _request(app, "GET", "/ws/live", {**ws, "Origin": f"http://{host}"})
    assert status == 101


def test_help_is_fast_and_does_not_import_the_server():
    code = ("import sys, time; t = time.perf_counter(); from biofeedback.cli.main import main\n"
            "try:\n    main(['app', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'starlette' not in sys.modules and 'uvicorn' not in sys.modules, 'imported'\n"
            "print(time.perf_counter() - t, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "--demo" in out.stdout and "?token=" in out.stdout
    assert float(out.stderr.strip().splitlines()[-1]) < 2.0


def test_wrong_flag_is_one_line_exit_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "biofeedback.cli", "app", "--port", "99999", "--home", str(tmp_path)],
                         capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "--port" in out.stderr


@pytest.mark.parametrize("args, word", [(["--assess"], "--demo"), (["--demo", "--protocol", "sliding"], "--assess")])
def test_assess_flags_need_demo_one_line_exit_2(tmp_path, args, word):
    out = subprocess.run([sys.executable, "-m", "biofeedback.cli", "app", "--no-browser", *args, "--home", str(tmp_path)],
                         capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and word in out.stderr
    assert not list(tmp_path.iterdir())  # nothing created


def test_taken_port_is_exit_1(app, tmp_path):
    out = subprocess.run([sys.executable, "-m", "biofeedback.cli", "app", "--no-browser", "--port", str(app["port"]),
                          "--home", str(tmp_path)], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 1 and "cannot listen" in out.stderr and "internal error" not in out.stderr


def test_another_host_must_be_explicit_and_warns(tmp_path, start_app, stop_app):
    """--host other than 127.0.0.1 prints a warning; the token still applies; its Host is accepted."""
    proc, url = start_app(tmp_path, "--host", "127.0.0.2")
    try:
        assert url.startswith("http://127.0.0.2:")
        port = urlsplit(url).port
        conn = http.client.HTTPConnection("127.0.0.2", port, timeout=10)
        conn.request("GET", "/", headers={"Host": f"127.0.0.2:{port}"})
        assert conn.getresponse().status == 401
        conn.close()
    finally:
        err = stop_app(proc)
    assert "warning: listening on 127.0.0.2" in err
