"""The Starlette application of ``biofeedback app``: the page, a small JSON API, two WebSockets.

Routes (all behind :class:`biofeedback.web.security.Guard`):

==========================================  =====================================================
``GET /``                                   the page (one HTML file; views are ``#/...`` routes)
``GET /static/...``                         its CSS and JavaScript (shipped in the package)
``GET /api/setup``                          practices, texts (``en``/``nl``), coherence zones, defaults
``GET /api/state``                          the live snapshot (as the first WebSocket message)
``POST /api/session/start``                 start a session (409 when one is running in the store)
``POST /api/session/marker``, ``/stop``     a marker; end early (the session is kept)
``GET /api/sessions``                       the sessions list (``biofeedback sessions --json``)
``GET /api/sessions/{id}``                  one session (``to_json_dict`` of the store's info)
``GET /api/sessions/{id}/compare``          ``biofeedback compare ID --json``
``GET /api/sessions/{id}/charts``           tachogram, phases, markers, spectra, Poincaré (``report``'s data)
``GET /api/sessions/{id}/export?format=``   ``biofeedback export ID --format rr|csv|json`` as a download
``POST /api/sessions/{id}/delete``          ``biofeedback delete ID``
``GET /api/trends?days=N``                  ``biofeedback trends --json``
``GET /api/strap``                          the default strap (``biofeedback devices``)
``POST /api/strap/scan``, ``/pair``         ``biofeedback scan --json``; ``biofeedback pair ADDRESS``
``GET /api/resonance-rate``                 the user's resonance rate (latest ``ok`` assessment) or ``null``
``POST /api/assessment/start``              start a resonance assessment (``assess`` / ``demo --assess``)
``GET /api/assessments``                    ``biofeedback assessments --json``
``GET /api/assessments/{id}``               one assessment's result (``assess --json``) and its chart data
``WS /ws/live``                             snapshot, then the ``--jsonl`` lines and frames
``WS /ws/replay/{id}?speed=X``              ``biofeedback replay ID --jsonl --speed X``, then the outcome
==========================================  =====================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from biofeedback.errors import BiofeedbackError, InputError
from biofeedback.events import UserMarker
from biofeedback.web.live import (
    COHERENCE_ZONES,
    MAX_SPEED,
    RELAXATION_SCALE,
    AssessRequest,
    Busy,
    LiveHub,
    StartRequest,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
EXPORT_FORMATS = ("rr", "csv", "json")
T = TypeVar("T")


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, allow_nan=False, default=str, ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/json",
                    headers={"cache-control": "no-store"})


def _error(exc: BaseException, status: int) -> Response:
    return _json({"error": str(exc)}, status)


def _page_texts(lang: str) -> dict[str, str]:
    """The shipped texts (prompts and labels of the terminal) plus the page's own, for ``lang``."""
    import tomllib

    from biofeedback.practices.texts import flatten, shipped_texts

    with open(STATIC_DIR.parent / "texts" / f"{lang}.toml", "rb") as f:
        page = flatten(tomllib.load(f))
    return {**shipped_texts(lang), **{f"web.{k}": v for k, v in page.items()}}


def create_app(home: Path, *, demo: Any = None, lang: str = "en") -> Starlette:
    """The application for the store in ``home``. ``demo``: a :class:`StartRequest` (or an
    :class:`AssessRequest`) started at once."""
    hub = LiveHub(home)

    def with_store(fn: Callable[[Any], T], empty: Callable[[], T] | None = None) -> Callable[[], T]:
        def call() -> T:
            from sessions.store import Store

            store = Store.open_existing(home)
            if store is None:
                if empty is not None:
                    return empty()
                raise InputError("no sessions recorded yet")
            with store:
                return fn(store)

        return call

    async def in_store(fn: Callable[[Any], T], empty: Callable[[], T] | None = None) -> T:
        return await run_in_threadpool(with_store(fn, empty))

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-store"})

    async def setup(request: Request) -> Response:
        def build() -> dict[str, Any]:
            from biofeedback.practices import load_practices, practice_dirs
            from sessions.compare import INDEX_KEYS, LABELS

            practices = []
            for p in sorted(load_practices(practice_dirs(home)).values(), key=lambda p: p.name):
                pat = p.pattern
                practices.append({"name": p.name, "kind": p.kind,
                                  "title": {lg: p.title(lg) for lg in ("en", "nl")},
                                  "description": {lg: p.description(lg) for lg in ("en", "nl")},
                                  "rate_bpm": None if pat is None else pat.rate_bpm})
            return {"lang": lang, "practices": practices,
                    "texts": {lg: _page_texts(lg) for lg in ("en", "nl")},
                    "coherence_zones": [{"name": n, "lo": lo, "hi": hi} for n, lo, hi in COHERENCE_ZONES],
                    "relaxation_scale": list(RELAXATION_SCALE), "max_speed": MAX_SPEED,
                    "defaults": StartRequest().__dict__, "export_formats": list(EXPORT_FORMATS),
                    "assessment": True, "assessment_defaults": AssessRequest().__dict__,
                    "compare_keys": list(INDEX_KEYS), "compare_units": {k: LABELS[k][1] for k in INDEX_KEYS}}

        return _json(await run_in_threadpool(build))

    async def state(request: Request) -> Response:
        return _json(hub.snapshot())

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise InputError("the request body is not JSON") from None

    async def start(request: Request) -> Response:
        return await launch(request, lambda data: hub.start(StartRequest.from_json(data)))

    async def assessment_start(request: Request) -> Response:
        return await launch(request, lambda data: hub.start_assessment(AssessRequest.from_json(data)))

    async def launch(request: Request, go: Callable[[Any], Any]) -> Response:
        try:
            session_id = await go(await body_of(request))
        except Busy as exc:
            return _error(exc, 409)
        except BiofeedbackError as exc:
            return _error(exc, 400 if exc.exit_status == 2 else 500)
        return _json({"session_id": session_id})

    async def marker(request: Request) -> Response:
        try:
            hub.marker()
        except InputError as exc:
            return _error(exc, 409)
        return _json({"ok": True})

    async def stop(request: Request) -> Response:
        try:
            hub.stop()
        except InputError as exc:
            return _error(exc, 409)
        return _json({"ok": True})

    async def sessions(request: Request) -> Response:
        def listing(store: Any) -> list[dict[str, Any]]:
            return [{**i.to_json_dict(), "simulated": i.source_kind == "simulator"} for i in store.list_sessions()]

        return _json(await in_store(listing, list))

    async def one(fn: Callable[[Any, str], Any], request: Request) -> Response:
        ref = request.path_params["sid"]

        def call(store: Any) -> Any:
            return fn(store, store.resolve_session(ref))

        try:
            return _json(await in_store(call))
        except InputError as exc:  # unknown session: 404; anything else (being recorded, ambiguous): 400
            return _error(exc, 404 if str(exc).startswith("no session") else 400)
        except BiofeedbackError as exc:
            return _error(exc, 400 if exc.exit_status == 2 else 500)

    async def session(request: Request) -> Response:
        def info(store: Any, sid: str) -> dict[str, Any]:
            from sessions.stored import read_outline

            s = read_outline(store, sid)  # the session's metadata, phases and events, as every reader reads them
            i = s.info
            return {**i.to_json_dict(), "simulated": i.source_kind == "simulator",
                    "phases": [{"name": p.name, "start_s": p.start_s, "end_s": p.stored_end_s} for p in s.phases],
                    "markers": [{"t_s": e.t_s, "kind": e.kind, "data": e.data} for e in s.events
                                if e.kind == UserMarker.KIND]}

        return await one(info, request)

    async def compare(request: Request) -> Response:
        def comparison(store: Any, sid: str) -> dict[str, Any]:
            from sessions.compare import compare_phases
            from sessions.stored import read_session

            return dict(compare_phases(read_session(store, sid)).to_json_dict())

        return await one(comparison, request)

    async def charts(request: Request) -> Response:
        return await one(chart_data, request)

    async def export(request: Request) -> Response:
        fmt = request.query_params.get("format", "")
        if fmt not in EXPORT_FORMATS:
            return _error(InputError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}"), 400)

        def write(store: Any, sid: str) -> tuple[str, str]:
            from sessions.exporting import export_session

            out = io.StringIO()
            export_session(store, sid, fmt, out)
            return sid, out.getvalue()

        try:
            sid, text = await in_store(lambda s: write(s, s.resolve_session(request.path_params["sid"])))
        except InputError as exc:
            return _error(exc, 404)
        ext = {"rr": "txt", "csv": "csv", "json": "json"}[fmt]
        name = f"session_{sid}_{fmt}.{ext}" if fmt == "rr" else f"session_{sid}.{ext}"
        return Response(text, media_type="application/json" if fmt == "json" else "text/plain; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})

    async def delete(request: Request) -> Response:
        def remove(store: Any, sid: str) -> dict[str, Any]:
            d = store.delete_session(sid)
            return {"session_id": d.session_id, "beats": d.beats, "phases": d.phases, "gaps": d.gaps,
                    "events": d.events, "indices": d.indices}

        return await one(remove, request)

    async def trends(request: Request) -> Response:
        try:
            days = int(request.query_params.get("days", "30"))
        except ValueError:
            days = 0
        if not 1 <= days <= 3660:
            return _error(InputError("days must be a whole number between 1 and 3660"), 400)

        def build(store: Any) -> dict[str, Any]:
            from datetime import date

            from sessions.trends import daily_trends

            return dict(daily_trends(store, days, today=date.today()).to_json_dict())

        return _json(await in_store(build, lambda: {"rows": [], "days": days, "goal_min": 20}))

    async def strap(request: Request) -> Response:
        from devices.paired import default_device

        def read() -> Any:
            d = default_device(home)
            return None if d is None else d.to_json_dict()

        try:
            return _json({"default": await run_in_threadpool(read)})
        except BiofeedbackError as exc:
            return _error(exc, 400)

    async def strap_scan(request: Request) -> Response:
        """``biofeedback scan --json`` (4 s) on the stack of ``$BIOFEEDBACK_BLE_TRANSPORT``."""
        from devices.ble_stack import ble_backend_for, close_backend
        from devices.ble_strap import discover_heart_rate_devices

        if hub.is_running():
            return _error(InputError("a session is running; scan when it has ended"), 409)
        try:
            backend, kwargs = ble_backend_for(_transport())
            try:
                found = await discover_heart_rate_devices(4.0, backend=backend, backend_kwargs=kwargs)
            finally:
                await close_backend(kwargs)
        except BiofeedbackError as exc:
            return _error(exc, 503 if exc.exit_status == 1 else 400)
        return _json([d.to_json_dict() for d in found])

    async def strap_pair(request: Request) -> Response:
        """``biofeedback pair ADDRESS``: find it (8 s) and remember it as the default strap."""
        from devices.ble_stack import ble_backend_for, close_backend
        from devices.ble_strap import find_heart_rate_device
        from devices.paired import remember

        try:
            data = await body_of(request)
            ident = data.get("address") if isinstance(data, dict) else None
            if not isinstance(ident, str) or not ident.strip():
                raise InputError("pair needs the strap's address")
            backend, kwargs = ble_backend_for(_transport())
            try:
                device, adv = await find_heart_rate_device(ident, 8.0, backend=backend, backend_kwargs=kwargs)
            finally:
                await close_backend(kwargs)
            paired = await run_in_threadpool(remember, home, adv.local_name or device.name, device.address)
        except BiofeedbackError as exc:
            return _error(exc, 503 if exc.exit_status == 1 else 400)
        return _json({"default": paired.to_json_dict()})

    async def resonance(request: Request) -> Response:
        def current(store: Any) -> dict[str, Any] | None:
            from sessions.assessments import resonance_rate

            r = resonance_rate(store)
            return None if r is None else {"rate_bpm": r.resonance_rate_bpm, "session_id": r.session_id,
                                           "assessed_wall": r.assessed_wall, "protocol": r.protocol}

        return _json({"resonance_rate": await in_store(current, lambda: None)})

    async def assessments(request: Request) -> Response:
        def listing(store: Any) -> list[dict[str, Any]]:
            from sessions.assessments import list_assessments

            return [r.to_json_dict() for r in list_assessments(store)]

        return _json(await in_store(listing, list))

    async def assessment(request: Request) -> Response:
        return await one(assessment_data, request)

    async def live_ws(ws: WebSocket) -> None:
        await ws.accept()
        sub = hub.subscribe()
        try:
            await ws.send_text(json.dumps(hub.snapshot(), allow_nan=False, default=str))
            await _pump(ws, sub.queue, lambda: sub.dropped)
        finally:
            hub.unsubscribe(sub)

    async def replay_ws(ws: WebSocket) -> None:
        await ws.accept()
        try:
            speed = float(ws.query_params.get("speed", "1"))
        except ValueError:
            speed = math.nan
        if not 1 <= speed <= 20:
            await ws.send_text(json.dumps({"type": "error", "message": "replay speed must be between 1 and 20"}))
            await ws.close()
            return
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)
        task = asyncio.create_task(_replay(home, ws.path_params["sid"], speed, queue))
        try:
            await _pump(ws, queue, lambda: False, until=task)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from biofeedback.web.live import warm_up_engine

        await run_in_threadpool(warm_up_engine)
        if demo is not None:
            try:
                await (hub.start_assessment(demo) if isinstance(demo, AssessRequest) else hub.start(demo))
            except BiofeedbackError as exc:  # e.g. another program is recording in this store
                import sys

                print(f"biofeedback app: the demo did not start: {exc}", file=sys.stderr, flush=True)
        try:
            yield
        finally:
            await hub.close()

    routes: list[Any] = [
        Route("/", index),
        Route("/api/setup", setup),
        Route("/api/state", state),
        Route("/api/session/start", start, methods=["POST"]),
        Route("/api/session/marker", marker, methods=["POST"]),
        Route("/api/session/stop", stop, methods=["POST"]),
        Route("/api/sessions", sessions),
        Route("/api/sessions/{sid}", session),
        Route("/api/sessions/{sid}/compare", compare),
        Route("/api/sessions/{sid}/charts", charts),
        Route("/api/sessions/{sid}/export", export),
        Route("/api/sessions/{sid}/delete", delete, methods=["POST"]),
        Route("/api/trends", trends),
        Route("/api/strap", strap),
        Route("/api/strap/scan", strap_scan, methods=["POST"]),
        Route("/api/strap/pair", strap_pair, methods=["POST"]),
        Route("/api/resonance-rate", resonance),
        Route("/api/assessment/start", assessment_start, methods=["POST"]),
        Route("/api/assessments", assessments),
        Route("/api/assessments/{sid}", assessment),
        WebSocketRoute("/ws/live", live_ws),
        WebSocketRoute("/ws/replay/{sid}", replay_ws),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.hub = hub
    return app


def _transport() -> str | None:
    """The Bluetooth stack: ``$BIOFEEDBACK_BLE_TRANSPORT`` (a bumble transport), else the OS's."""
    import os

    from biofeedback.cli.common import BLE_TRANSPORT_ENV

    return os.environ.get(BLE_TRANSPORT_ENV) or None


async def _pump(ws: WebSocket, queue: "asyncio.Queue[str]", dropped: Callable[[], bool],
                until: "asyncio.Task[Any] | None" = None) -> None:
    """Send queued lines to the page until it goes away (or ``until`` is done and the queue empty)."""
    receiver = asyncio.create_task(_drain_incoming(ws))
    try:
        while True:
            if dropped():
                await ws.close(code=1013)  # fallen behind: the page reconnects and gets the snapshot
                return
            getter = asyncio.create_task(queue.get())
            waits: set[asyncio.Future[Any]] = {getter, receiver}
            if until is not None and not until.done():
                waits.add(until)
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await ws.send_text(getter.result())
                continue
            getter.cancel()
            if receiver in done:
                return
            if until is not None and until.done() and queue.empty():
                await ws.close()
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        receiver.cancel()


async def _drain_incoming(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return


async def _replay(home: Path, ref: str, speed: float, queue: "asyncio.Queue[str]") -> None:
    """``biofeedback replay REF --jsonl --speed X`` into ``queue``, then ``{"type": "replay_end", ...}``."""
    from devices.clock import RealClock
    from sessions.replay import SessionReplay, paced
    from sessions.store import Store

    try:
        store = Store.open_existing(home)
        if store is None:
            raise InputError("no sessions recorded yet")
        with store:
            replay = SessionReplay(store, store.resolve_session(ref))
            await queue.put(json.dumps({"type": "replay_start", "session_id": replay.session_id}))
            async for rec in paced(replay.records(), speed=speed, clock=RealClock()):
                await queue.put(json.dumps(rec.to_json_dict(), allow_nan=False, default=str))
            outcome = replay.outcome
            await queue.put(json.dumps({"type": "replay_end", "summary": outcome.summary_line() if outcome else "",
                                        "matches": outcome.matches if outcome else None}))
    except BiofeedbackError as exc:
        await queue.put(json.dumps({"type": "error", "message": str(exc)}))


def chart_data(store: Any, sid: str) -> dict[str, Any]:
    """The session's charts as plain numbers: the data of ``biofeedback report`` (one builder)."""
    from sessions.report_data import report_data

    if not store.get_session(sid).n_beats:
        raise InputError(f"session {sid} has no beats: nothing to draw")
    d = report_data(store, sid)

    def nums(a: Any) -> list[float | None]:
        return [float(x) if math.isfinite(x) else None for x in a]

    return {
        "session_id": sid,
        "beat_t_s": nums(d.beat_t_s), "rr_ms": nums(d.rr_ms),
        "artifact": [a not in ("normal", "") for a in d.artifacts] if d.artifacts else [],
        "phases": [{"name": p.name, "start_s": p.start_s, "end_s": p.end_s} for p in d.phases],
        "events": [{"t_s": e.t_s, "kind": e.kind, "label": e.label} for e in d.events],
        "spectra": [{"phase": s.phase, "freq_hz": nums(s.freq_hz), "psd_ms2_hz": nums(s.psd_ms2_hz)}
                    for s in d.spectra],
        "poincare": {"x_ms": nums(d.poincare_x_ms), "y_ms": nums(d.poincare_y_ms)},
        "coherence": {"t_s": nums(d.coherence.t_s), "values": nums(d.coherence.values)} if d.coherence else None,
    }


def assessment_data(store: Any, sid: str) -> dict[str, Any]:
    """One assessment: its kept result as ``biofeedback assess --json`` prints it, with ``session_id``
    and ``assessed_wall`` (``assessments --json``), and the HR wave of each analysed stretch with the
    pacer's inhalations (the data of the assessment figure of ``biofeedback report``: one builder)."""
    from sessions.assessment_report import assessment_figure_data
    from sessions.assessments import get_assessment

    info = store.get_session(sid)
    fig = assessment_figure_data(store, sid)  # InputError when the session is not an assessment
    stored = get_assessment(store, sid)
    result = stored.to_json_dict() if stored is not None else {"session_id": sid, "assessed_wall": info.start_wall,
                                                                **fig.result.to_json_dict()}

    def nums(a: Any) -> list[float | None]:
        return [float(x) if math.isfinite(x) else None for x in a]

    return {**result, "kept": stored is not None, "simulated": info.source_kind == "simulator",
            "waves": [{"rate_bpm": w.rate_bpm, "t_s": nums(w.t_s), "hr_bpm": nums(w.hr_bpm),
                       "inhalations": [list(p) for p in w.inhalations]} for w in fig.waves]}
