"""Where a running session shows itself: JSON lines for scripts, the live screen for people.

Both are sinks for :func:`sessions.live.run_session`; they only format and print.
"""

from __future__ import annotations

import json
import math
from collections import deque
from typing import IO, Any

from biofeedback.engine import BeatIndices
from biofeedback.practices import Practice, Protocol, breathing_state


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JsonlSink:
    """One JSON object per line: ``{"type": "beat", "phase": ..., <per-beat indices>}`` for every
    beat (the keys of ``biofeedback analyze --per-beat --jsonl``), and
    ``{"type": "event", "t_s": ..., "kind": ..., "phase": ..., "data": {...}}`` for every event."""

    def __init__(self, out: IO[str]):
        self.out = out

    def on_beat(self, indices: BeatIndices, phase: str | None) -> None:
        obj = {"type": "beat", "phase": phase, **indices.to_json_dict()}
        self.out.write(json.dumps(obj, allow_nan=False) + "\n")

    def on_event(self, t_s: float, kind: str, data: dict[str, Any], phase: str | None) -> None:
        obj = {"type": "event", "t_s": t_s, "kind": kind, "phase": phase,
               "data": {k: _clean(v) for k, v in data.items()}}
        self.out.write(json.dumps(obj, allow_nan=False, default=str) + "\n")
        self.out.flush()

    def on_frame(self, now_s: float) -> None:
        pass


class ScreenSink:
    """The live screen (rich): pacer, prompt, heart rate, RMSSD, coherence, relaxation and its trend."""

    TREND_LENGTH = 60

    def __init__(self, practice: Practice, protocol: Protocol, lang: str, device_name: str | None,
                 console: Any = None):
        from rich.console import Console
        from rich.live import Live

        self.practice = practice
        self.protocol = protocol
        self.lang = lang
        self.device_name = device_name
        self.console = console or Console()
        self.live = Live(console=self.console, auto_refresh=False, transient=False, redirect_stdout=False)
        self.latest: BeatIndices | None = None
        self.trend: deque[float | None] = deque(maxlen=self.TREND_LENGTH)
        self.prompt: str | None = None
        self.connection = "connecting"
        self.battery_pct: float | None = None
        self.markers = 0
        self.now_s = 0.0

    def __enter__(self) -> "ScreenSink":
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.on_frame(self.now_s)
        self.live.__exit__(None, None, None)

    def on_beat(self, indices: BeatIndices, phase: str | None) -> None:
        self.latest = indices
        # The trend shows relaxation once a baseline exists, RMSSD before that.
        self.trend.append(indices.relaxation if indices.relaxation is not None else _clean(indices.rmssd_ms))

    def on_event(self, t_s: float, kind: str, data: dict[str, Any], phase: str | None) -> None:
        if kind == "prompt_shown":
            self.prompt = data.get("text")
        elif kind == "connected":
            self.connection = "connected"
        elif kind == "disconnected":
            self.connection = f"disconnected ({data.get('reason', '?')})"
        elif kind == "reconnecting":
            self.connection = f"reconnecting (attempt {data.get('attempt', '?')})"
        elif kind == "contact_lost":
            self.connection = "contact lost"
        elif kind == "contact_regained":
            self.connection = "connected"
        elif kind == "battery":
            self.battery_pct = data.get("battery_pct")
        elif kind == "user_marker":
            self.markers += 1

    def state(self, now_s: float):
        from biofeedback.live_screen import LiveState

        phase = self.protocol.phase_at(now_s)
        pacer = None
        touch = None
        if phase.name == "practice":
            t_practice = now_s - self.protocol.practice_start_s
            if self.practice.pattern is not None:
                pacer = breathing_state(self.practice.pattern, t_practice)
            if self.practice.touch is not None:
                touch = self.practice.title(self.lang)
        i = self.latest
        uses_relaxation = i is not None and i.relaxation is not None
        return LiveState(
            phase=phase.name,
            phase_elapsed_s=phase.elapsed_s,
            phase_remaining_s=phase.remaining_s,
            practice_title=self.practice.title(self.lang),
            pacer=pacer,
            touch=touch,
            prompt=self.prompt,
            hr_bpm=None if i is None else _clean(i.hr_bpm),
            rmssd_ms=None if i is None else _clean(i.rmssd_ms),
            coherence=None if i is None else _clean(i.coherence),
            relaxation=None if i is None else i.relaxation,
            trend=tuple(self.trend),
            trend_label="relaxation" if uses_relaxation else "rmssd",
            artifacts_pct=None if i is None else _clean(i.artifacts_pct),
            signal_poor=i is not None and i.quality is not None and not i.quality.signal_ok,
            connection=self.connection,
            battery_pct=self.battery_pct,
            device_name=self.device_name,
            marker_count=self.markers,
            lang=self.lang,
        )

    def on_frame(self, now_s: float) -> None:
        from biofeedback.live_screen import render_live

        self.now_s = now_s
        self.live.update(render_live(self.state(now_s)), refresh=True)
