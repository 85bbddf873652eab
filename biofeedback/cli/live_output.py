"""Where a running session shows itself: JSON lines for scripts, the live screen for people.

Both are consumers of :class:`OutputWriter`, the one sink :func:`sessions.live.run_session` is given:
the writer puts every beat, event and frame on a queue and returns at once; its own thread hands them
to the consumers in order. A consumer that blocks (a ``--jsonl`` reader that stops reading, a
terminal paused with Ctrl-S) delays only that thread: the source, the clock and the recording never
wait for an output. Add a consumer (an LSL outlet, a web socket...) with :meth:`OutputWriter.add`.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from operator import countOf
from types import MappingProxyType
from typing import IO, Any
from typing import Protocol as TypingProtocol

import orjson

from biofeedback.engine import BeatIndices
from biofeedback.events import (
    Battery,
    Connected,
    ContactLost,
    ContactRegained,
    Disconnected,
    Event,
    PacerChanged,
    PromptShown,
    ProtocolStart,
    Reconnecting,
    UserMarker,
)
from biofeedback.json_values import finite_or_none
from biofeedback.practices import Practice, Protocol, pacer_at


class Consumer(TypingProtocol):
    """What an output receives, on the writer's thread (may be slow, may block; should not raise).
    ``values`` is ``indices.to_json_dict()``, built once per beat by the runner, read-only."""

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None: ...

    def on_event(self, event: Event, phase: str | None) -> None: ...

    def on_frame(self, now_s: float) -> None: ...


_STOP = object()
#: After handing out what was queued, the output thread rests this long (real time) before it waits
#: again, so that a session at full speed wakes it a few hundred times a second, not once a beat.
BATCH_PAUSE_S = 0.005


class OutputWriter:
    """A queue-fed thread that feeds the session's outputs (the seam between recording and display).

    ``on_beat``/``on_event``/``on_frame`` (called on the event loop) only enqueue; a daemon thread
    calls the same method of every consumer, in order. Nothing is dropped except frames: at most one
    frame waits in the queue (a frame is a redraw, the next one supersedes it). A consumer that
    raises (a closed pipe) is detached and its error kept in :attr:`errors`; the others go on.
    :meth:`close` waits until every queued item has been handed out (a stalled reader still gets
    every line once it reads again), then stops the thread. Use as a context manager.
    """

    def __init__(self, consumers: list[Consumer] | None = None):
        self.consumers: list[Consumer] = list(consumers or [])
        self.errors: list[BaseException] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._frame_pending = threading.Event()
        self._thread = threading.Thread(target=self._work, name="biofeedback-output", daemon=True)
        self._started = False

    def add(self, consumer: Consumer) -> None:
        """Add a consumer (before the session starts)."""
        if self._started:
            raise RuntimeError("add consumers before the writer starts")
        self.consumers.append(consumer)

    def start(self) -> "OutputWriter":
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def __enter__(self) -> "OutputWriter":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the loop's side: enqueue only ------------------------------------------------------------
    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None:
        self._queue.put(("on_beat", (indices, phase, values)))

    def on_event(self, event: Event, phase: str | None) -> None:
        self._queue.put(("on_event", (event, phase)))

    def on_frame(self, now_s: float) -> None:
        if not self._frame_pending.is_set():
            self._frame_pending.set()
            self._queue.put(("on_frame", (now_s,)))

    def close(self, timeout_s: float | None = None) -> None:
        """Hand out everything queued, then stop the thread (waits up to ``timeout_s``, default for ever)."""
        if not self._started:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    # -- the writer thread ------------------------------------------------------------------------
    def _work(self) -> None:
        # Woken by the first item, the thread hands out everything queued, then rests BATCH_PAUSE_S
        # before it waits again: at --speed max (a beat every few hundred microseconds) it wakes
        # ~200 times a second instead of once a beat, so the session's thread seldom waits for the
        # GIL; in real time a line is at most that much later (a frame lasts 67 ms).
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            item = get()
            while True:
                if item is _STOP:
                    return
                self._hand_out(item)
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            time.sleep(BATCH_PAUSE_S)

    def _hand_out(self, item: tuple[str, tuple[Any, ...]]) -> None:
        name, args = item
        if name == "on_frame":
            self._frame_pending.clear()
        for consumer in list(self.consumers):
            method: Callable[..., None] = getattr(consumer, name)
            try:
                method(*args)
            except BaseException as exc:  # a closed pipe or a broken terminal: detach, keep going
                self.errors.append(exc)
                self.consumers.remove(consumer)


#: ``json.dumps(obj, allow_nan=False)`` without building an encoder per call (the same text).
_encode_line = json.JSONEncoder(allow_nan=False).encode
_dumps = orjson.dumps
#: orjson's indented text; a datetime, a dataclass or a subclass of str, int, dict or list (which
#: ``json.dumps`` refuses or spells its own way) makes orjson raise instead of writing it.
_INDENTED = (orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
             | orjson.OPT_PASSTHROUGH_SUBCLASS)


def _orjson_floats_fit() -> bool:
    """Whether this orjson spells floats as :func:`_flat_items` expects: as ``repr`` (``json.dumps``)
    from 1e-4 on (large ones too: ``1e+16``), and every smaller one with ``e-`` or ``0.0000`` in its
    text (orjson 3.13 writes ``0.00001``, ``1e-6``). Checked once, at import; if not (another orjson
    version), :func:`_flat_items` gives nothing and every line is ``json.dumps``'."""
    same = [1e-4, 0.00012, 0.1 + 0.2, 812.5, -0.0, 0.0, 1e15, 123456789012345.6, 9999999999999998.0,
            1e16, 1.5e16, -2.5e22, 1.7976931348623157e308]
    small = [9.999999999999999e-05, 1.234e-05, 1e-05, 9.9e-06, 1e-06, 1.5e-07, 1e-10, 5e-324]
    return (_dumps(same) == json.dumps(same, separators=(",", ":")).encode()
            and all(b"e-" in t or b"0.0000" in t for t in map(_dumps, small + [-x for x in small])))


_FLOATS_FIT = _orjson_floats_fit()


def _flat_items(obj: dict[str, Any]) -> bytes | None:
    """The items of ``json.dumps(obj, allow_nan=False)`` (its text between the braces) as bytes,
    written by orjson, or None where that text is not proven the same (the caller then uses
    ``json.dumps``, which also raises for NaN and infinity).

    orjson's indented text ``{\\n  "key": value,\\n  ...\\n}`` already has ``json.dumps``' key
    separator ``": "``; a raw newline is never inside a string (orjson escapes it), so every
    ``",\\n  "`` separates two items and becomes ``", "``. The text is taken only when every
    difference is excluded, each by one check:

    - an escaped character (a quote, a backslash or a control character in a string, spelled
      differently by the two): no backslash in the text;
    - a character ``json.dumps`` escapes and orjson does not: ASCII only, and no DEL;
    - a float below 1e-4, spelled differently (orjson ``0.00001``, ``1e-6``; ``json.dumps``
      ``1e-05``, ``1e-06``): no ``0.0000`` and no ``e-``; from 1e-4 on, the two write the same
      shortest digits (:func:`_orjson_floats_fit`);
    - NaN or infinity, which orjson writes as ``null`` where ``json.dumps`` refuses them: as many
      ``null`` as None values;
    - a nested list or object that is not empty (``json.dumps`` writes ``[1, 2]``): a newline
      left after the replacement;
    - a key not a str, an int beyond 64 bits, a datetime, a dataclass, a subclass of a built-in
      type, a numpy scalar: orjson raises.

    An object ``json.dumps`` cannot encode at all (a UUID, an Enum without a mixin type) is outside
    this contract: orjson writes it.
    """
    if not _FLOATS_FIT:
        return None
    try:
        text = _dumps(obj, option=_INDENTED)
    except orjson.JSONEncodeError:
        return None
    if (
        b"\\" in text
        or not text.isascii()
        or b"\x7f" in text
        or b"0.0000" in text
        or text.count(b"null") != countOf(obj.values(), None)
    ):
        return None
    minus = text.find(b"-")  # an exponent "e-" (a '-' is rare: found by memchr, faster than "e-" in)
    while minus > 0:
        if text[minus - 1] == 101:  # "e"
            return None
        minus = text.find(b"-", minus + 1)
    items = text[4:-2].replace(b",\n  ", b", ")
    return None if b"\n" in items else items


def flat_json_text(obj: dict[str, Any]) -> str:
    """``json.dumps(obj, allow_nan=False)`` of a flat object (values: floats, ints, strings,
    booleans, ``None``), the same text, written by orjson when that gives it (:func:`_flat_items`;
    anything else goes to ``json.dumps``, which raises for NaN as before).

    >>> flat_json_text({"type": "beat", "rr_ms": 812.5, "x": 1e-05, "ok": True, "why": None})
    '{"type": "beat", "rr_ms": 812.5, "x": 1e-05, "ok": true, "why": null}'
    """
    items = _flat_items(obj) if type(obj) is dict else None
    return _encode_line(obj) if items is None else "{" + items.decode() + "}"


#: ``{"type": "beat", "phase": <phase>, `` as ``json.dumps`` writes it, by phase (a handful).
_BEAT_HEADS: dict[str | None, bytes] = {}


def _beat_head(phase: str | None) -> bytes:
    cached = phase is None or type(phase) is str
    head = _BEAT_HEADS.get(phase) if cached else None
    if head is None:
        head = (_encode_line({"type": "beat", "phase": phase})[:-1] + ", ").encode()
        if cached and len(_BEAT_HEADS) < 64:
            _BEAT_HEADS[phase] = head
    return head


def beat_json_line(phase: str | None, values: Mapping[str, Any]) -> bytes:
    """The ``--jsonl`` line of one beat: ``json.dumps({"type": "beat", "phase": phase, **values},
    allow_nan=False) + "\\n"`` as UTF-8 bytes, byte for byte, mostly written by orjson
    (:func:`_flat_items`) after ``json.dumps``' own text of the first two items."""
    d = values.copy() if type(values) is MappingProxyType else values
    if type(d) is dict and d and "type" not in d and "phase" not in d:
        items = _flat_items(d)
        if items is not None:
            return _beat_head(phase) + items + b"}\n"
    return (_encode_line({"type": "beat", "phase": phase, **values}) + "\n").encode()


class JsonlSink:
    """One JSON object per line: ``{"type": "beat", "phase": ..., <per-beat indices>}`` for every
    beat (the keys of ``biofeedback analyze --per-beat --jsonl``), and
    ``{"type": "event", "t_s": ..., "kind": ..., "phase": ..., "data": {...}}`` for every event."""

    def __init__(self, out: IO[str]):
        self.out = out

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None:
        self.out.write(beat_json_line(phase, values).decode())

    def on_event(self, event: Event, phase: str | None) -> None:
        obj = event.to_json_dict(phase)
        obj["data"] = {k: finite_or_none(v) for k, v in obj["data"].items()}
        self.out.write(json.dumps(obj, allow_nan=False, default=str) + "\n")
        self.out.flush()

    def on_frame(self, now_s: float) -> None:
        pass


class ScreenSink:
    """The live screen (rich): pacer, heart-rate wave, prompt, coherence and relaxation zones, RMSSD."""

    TREND_LENGTH = 60

    def __init__(self, practice: Practice, protocol: Protocol, lang: str, device_name: str | None,
                 console: Any = None, note: str | None = None):
        from rich.console import Console
        from rich.live import Live

        from biofeedback.practices.pacer import PacerSegment
        from biofeedback.practices.texts import shipped_texts

        self.practice = practice
        self.protocol = protocol
        self.lang = lang
        self.texts = shipped_texts(lang)
        self.device_name = device_name
        self.note = note  # e.g. which pacer rate and where it came from, shown with the title
        self.console = console or Console()
        self.live = Live(console=self.console, auto_refresh=False, transient=False, redirect_stdout=False)
        self.latest: BeatIndices | None = None
        self.trend: deque[float | None] = deque(maxlen=self.TREND_LENGTH)
        self.wave: deque[tuple[float, float]] = deque(maxlen=400)  # > 60 s of beats at any heart rate
        self.prompt: str | None = None
        self.connection = ("waiting", self.texts["conn.waiting"])
        self.battery_pct: float | None = None
        self.markers = 0
        self.now_s = 0.0
        self.pacer: tuple[PacerSegment, ...] = (PacerSegment(0.0, practice.pattern),) if practice.pattern else ()
        self.origin_s: float | None = None  # session time at which the protocol began (first beat)

    def __enter__(self) -> "ScreenSink":
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.on_frame(self.now_s)
        self.live.__exit__(None, None, None)

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None:
        self.latest = indices
        self.trend.append(finite_or_none(indices.rmssd_ms))
        hr = finite_or_none(indices.hr_bpm)
        if hr is not None and indices.valid:
            self.wave.append((indices.t_s, hr))
        if self.connection[0] == "waiting":
            self.connection = ("ok", self.texts["conn.connected"])

    def on_event(self, event: Event, phase: str | None) -> None:
        T = self.texts
        if isinstance(event, ProtocolStart):
            self.origin_s = float(event.origin_s)
        elif isinstance(event, PromptShown):
            self.prompt = event.text
        elif isinstance(event, (Connected, ContactRegained)):
            # Connected, but the session clock waits for the first beat.
            self.connection = ("ok", T["conn.connected"]) if self.latest is not None else ("waiting", T["conn.waiting"])
        elif isinstance(event, Disconnected):
            self.connection = ("trouble", T["conn.disconnected"].format(reason=event.reason or "?"))
        elif isinstance(event, Reconnecting):
            self.connection = ("connecting", T["conn.reconnecting"].format(attempt=event.attempt))
        elif isinstance(event, ContactLost):
            self.connection = ("trouble", T["conn.contact_lost"])
        elif isinstance(event, Battery):
            self.battery_pct = event.battery_pct
        elif isinstance(event, UserMarker):
            self.markers += 1
        elif isinstance(event, PacerChanged) and self.pacer:
            from biofeedback.practices.pacer import retimed, scaled_pattern

            pattern = scaled_pattern(self.pacer[0].pattern, float(event.rate_bpm))
            origin = self.origin_s or 0.0
            self.pacer = retimed(self.pacer, max(0.0, event.t_s - origin - self.protocol.practice_start_s), pattern)

    def state(self, now_s: float):
        from biofeedback.cli.live_screen import LiveState
        from biofeedback.practices.pacer import adjusted_state, segment_at

        t_protocol = 0.0 if self.origin_s is None else now_s - self.origin_s
        phase = self.protocol.phase_at(t_protocol)
        pacer = None
        rate = None
        touch = None
        if phase.name == "practice":
            t_practice = t_protocol - self.protocol.practice_start_s
            if self.practice.schedule is not None:  # a resonance assessment: its own rate schedule
                pacer = pacer_at(self.practice, self.protocol, t_protocol)
            elif self.pacer:
                pacer = adjusted_state(self.pacer, t_practice)
                rate = segment_at(self.pacer, t_practice).pattern.rate_bpm
            if self.practice.touch is not None:
                touch = self.practice.title(self.lang)
        i = self.latest
        return LiveState(
            phase=phase.name,
            phase_elapsed_s=phase.elapsed_s,
            phase_remaining_s=phase.remaining_s,
            practice_title=self.practice.title(self.lang) + (f" · {self.note}" if self.note else "")
            + (f" · {round(pacer_rate, 2):g}/min" if (pacer_rate := self._schedule_rate(t_protocol)) else ""),
            pacer=pacer,
            pacer_rate_bpm=rate,
            touch=touch,
            prompt=self.prompt,
            hr_bpm=None if i is None else finite_or_none(i.hr_bpm),
            rmssd_ms=None if i is None else finite_or_none(i.rmssd_ms),
            coherence=None if i is None else finite_or_none(i.coherence),
            relaxation=None if i is None else i.relaxation,
            hr_wave=tuple(self.wave),
            now_s=now_s,
            trend=tuple(self.trend),
            artifacts_pct=None if i is None else finite_or_none(i.artifacts_pct),
            signal_poor=(self.texts["label.signal_poor"]
                         if i is not None and i.quality is not None and not i.quality.signal_ok else None),
            connection=self.connection[1],
            connection_kind=self.connection[0],
            battery_pct=self.battery_pct,
            device_name=self.device_name,
            marker_count=self.markers,
            lang=self.lang,
        )

    def _schedule_rate(self, t_protocol: float) -> float | None:
        """The paced rate of a resonance assessment at protocol time ``t_protocol`` (its pacer's rate
        changes), else ``None``."""
        if self.practice.schedule is None or self.protocol.phase_at(t_protocol).name != "practice":
            return None
        return self.practice.schedule.rate_at(t_protocol - self.protocol.practice_start_s)

    def on_frame(self, now_s: float) -> None:
        from biofeedback.cli.live_screen import render_live

        self.now_s = now_s
        self.live.update(render_live(self.state(now_s)), refresh=True)
