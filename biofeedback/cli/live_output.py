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
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
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
    ``values`` is ``indices.to_json_dict()``, built once per beat by the runner, read-only.

    A consumer may also define ``on_beats(beats)``: the writer then hands it every run of beats
    queued one after the other at once (a sequence of ``(indices, phase, values)``, in order, up to
    :data:`MAX_RUN`), instead of one ``on_beat`` each (:meth:`JsonlSink.on_beats` writes a run in
    one call)."""

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None: ...

    def on_event(self, event: Event, phase: str | None) -> None: ...

    def on_frame(self, now_s: float) -> None: ...


#: What a consumer's ``on_beat`` is given: the beat's indices, its phase and its values.
BeatArgs = tuple[BeatIndices, str | None, Mapping[str, Any]]
_STOP = object()
#: After handing out what was queued, the output thread rests this long (real time) before it waits
#: again, so that a session at full speed wakes it a few hundred times a second, not once a beat.
BATCH_PAUSE_S = 0.005
#: At most this many beats go to a consumer's ``on_beats`` in one call (a run of a stalled reader's
#: backlog is handed out in pieces of ~80 KB of text, which stay in the CPU cache between passes).
MAX_RUN = 64


class OutputWriter:
    """A queue-fed thread that feeds the session's outputs (the seam between recording and display).

    ``on_beat``/``on_event``/``on_frame`` (called on the event loop) only enqueue; a daemon thread
    calls the same method of every consumer, in order (consecutive beats as one ``on_beats`` call
    to a consumer that has it). Nothing is dropped except frames: at most one frame waits in the
    queue (a frame is a redraw, the next one supersedes it). A consumer that raises (a closed pipe)
    is detached and its error kept in :attr:`errors`; the others go on. :meth:`close` waits until
    every queued item has been handed out (a stalled reader still gets every line once it reads
    again), then stops the thread. Use as a context manager.
    """

    def __init__(self, consumers: list[Consumer] | None = None):
        self.consumers: list[Consumer] = list(consumers or [])
        self.errors: list[BaseException] = []
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._put = self._queue.put
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
        self._put(("on_beat", (indices, phase, values)))

    def on_event(self, event: Event, phase: str | None) -> None:
        self._put(("on_event", (event, phase)))

    def on_frame(self, now_s: float) -> None:
        if not self._frame_pending.is_set():
            self._frame_pending.set()
            self._put(("on_frame", (now_s,)))

    def close(self, timeout_s: float | None = None) -> None:
        """Hand out everything queued, then stop the thread (waits up to ``timeout_s``, default for ever)."""
        if not self._started:
            return
        self._put(_STOP)
        self._thread.join(timeout_s)

    # -- the writer thread ------------------------------------------------------------------------
    def _work(self) -> None:
        # Woken by the first item, the thread hands out everything queued, then rests BATCH_PAUSE_S
        # before it waits again: at --speed max (a beat every few hundred microseconds) it wakes
        # ~200 times a second instead of once a beat, so the session's thread seldom waits for the
        # GIL; in real time a line is at most that much later (a frame lasts 67 ms). Beats queued
        # one after the other are gathered into a run, handed out before the next other item.
        get, get_nowait = self._queue.get, self._queue.get_nowait
        run: list[BeatArgs] = []
        while True:
            item = get()
            while True:
                if item is _STOP:
                    self._hand_out_beats(run)
                    return
                name, args = item
                if name == "on_beat":
                    run.append(args)
                    if len(run) >= MAX_RUN:
                        self._hand_out_beats(run)
                        run = []
                else:
                    if run:
                        self._hand_out_beats(run)
                        run = []
                    self._hand_out(name, args)
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
            if run:
                self._hand_out_beats(run)
                run = []
            time.sleep(BATCH_PAUSE_S)

    def _hand_out(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "on_frame":
            self._frame_pending.clear()
        for consumer in list(self.consumers):
            method: Callable[..., None] = getattr(consumer, name)
            try:
                method(*args)
            except BaseException as exc:  # a closed pipe or a broken terminal: detach, keep going
                self._detach(consumer, exc)

    def _hand_out_beats(self, run: list[BeatArgs]) -> None:
        if not run:
            return
        for consumer in list(self.consumers):
            on_beats: Callable[[list[BeatArgs]], None] | None = getattr(consumer, "on_beats", None)
            try:
                if on_beats is not None:
                    on_beats(run)
                else:
                    on_beat = consumer.on_beat
                    for args in run:
                        on_beat(*args)
            except BaseException as exc:  # as in _hand_out: this consumer gets nothing more
                self._detach(consumer, exc)

    def _detach(self, consumer: Consumer, exc: BaseException) -> None:
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


def _same_as_json_dumps(text: bytes, n_none: int) -> bool:
    """Whether orjson's indented ``text`` of flat objects holding ``n_none`` None values in all,
    respaced as :func:`_flat_items` and :func:`beat_json_lines` do, is ``json.dumps``' text.

    orjson's indented text already has ``json.dumps``' key separator ``": "``, and a raw newline is
    never inside a string (orjson escapes it), so the respacing of the item separators (newline
    and indentation replaced) cannot touch a string. The text is taken only when every other
    difference is excluded, each by one check:

    - an escaped character (a quote, a backslash or a control character in a string, spelled
      differently by the two): no backslash in the text;
    - a character ``json.dumps`` escapes and orjson does not: ASCII only, and no DEL;
    - a float below 1e-4, spelled differently (orjson ``0.00001``, ``1e-6``; ``json.dumps``
      ``1e-05``, ``1e-06``): no ``0.0000`` and no ``e-``; from 1e-4 on, the two write the same
      shortest digits (:func:`_orjson_floats_fit`);
    - NaN or infinity, which orjson writes as ``null`` where ``json.dumps`` refuses them: as many
      ``null`` as None values (a ``null`` inside a string only adds to the count);
    - a nested list or object that is not empty (``json.dumps`` writes ``[1, 2]``): the caller
      finds a newline left after the respacing (its opening bracket's newline is never replaced);
    - a key not a str, an int beyond 64 bits, a datetime, a dataclass, a subclass of a built-in
      type, a numpy scalar: orjson raised before (:data:`_INDENTED`).

    An object ``json.dumps`` cannot encode at all (a UUID, an Enum without a mixin type) is outside
    this contract: orjson writes it.
    """
    if (
        not _FLOATS_FIT
        or b"\\" in text
        or not text.isascii()
        or b"\x7f" in text
        or b"0.0000" in text
        or text.count(b"null") != n_none
    ):
        return False
    minus = text.find(b"-")  # an exponent "e-" (a '-' is rare: found by memchr, faster than "e-" in)
    while minus > 0:
        if text[minus - 1] == 101:  # "e"
            return False
        minus = text.find(b"-", minus + 1)
    return True


def _flat_items(obj: dict[str, Any]) -> bytes | None:
    """The items of ``json.dumps(obj, allow_nan=False)`` (its text between the braces) as bytes,
    written by orjson, or None where that text is not proven the same (:func:`_same_as_json_dumps`;
    the caller then uses ``json.dumps``, which also raises for NaN and infinity).

    orjson's indented text is ``{\\n  "key": value,\\n  ...\\n}``: every ``",\\n  "``
    separates two items and becomes ``", "``."""
    try:
        text = _dumps(obj, option=_INDENTED)
    except orjson.JSONEncodeError:
        return None
    if not _same_as_json_dumps(text, countOf(obj.values(), None)):
        return None
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


def _beat_dict(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """``values`` as a dict orjson can write after a beat's head (a copy of a read-only view; the
    same dict), or None (not a dict, empty, or holding a ``type`` or ``phase`` key of its own)."""
    d = values.copy() if type(values) is MappingProxyType else values
    if type(d) is dict and d and "type" not in d and "phase" not in d:
        return d
    return None


def _beat_line_by_json_dumps(phase: str | None, values: Mapping[str, Any]) -> bytes:
    return (_encode_line({"type": "beat", "phase": phase, **values}) + "\n").encode()


def beat_json_line(phase: str | None, values: Mapping[str, Any]) -> bytes:
    """The ``--jsonl`` line of one beat: ``json.dumps({"type": "beat", "phase": phase, **values},
    allow_nan=False) + "\\n"`` as UTF-8 bytes, byte for byte, mostly written by orjson
    (:func:`_flat_items`) after ``json.dumps``' own text of the first two items."""
    d = _beat_dict(values)
    items = None if d is None else _flat_items(d)
    if items is None:
        return _beat_line_by_json_dumps(phase, values)
    return _beat_head(phase) + items + b"}\n"


def _run_lines(head: bytes, dicts: list[dict[str, Any]]) -> bytes | None:
    """The lines of beats of one phase (``head`` + the items of each dict + ``}``, each ending in a
    newline) from one orjson text of them all, or None where that text is not proven the same.

    orjson's indented text of the list is ``[\\n  {\\n    "key": value,\\n    ...\\n  },\\n  {\\n    ...
    \\n  }\\n]``: every ``",\\n    "`` separates two items and becomes ``", "``; every
    ``"\\n  },\\n  {\\n    "`` ends a beat and begins the next and becomes ``"}\\n" + head``. A
    nested container keeps its opening newline: then more than the k + 3 newlines of k beats are
    left."""
    try:
        text = _dumps(dicts, option=_INDENTED)
    except orjson.JSONEncodeError:
        return None
    if not _same_as_json_dumps(text, countOf(chain.from_iterable(map(dict.values, dicts)), None)):
        return None
    body = text.replace(b",\n    ", b", ").replace(b"\n  },\n  {\n    ", b"}\n" + head)
    if body.count(b"\n") != len(dicts) + 3:
        return None
    return head + body[10:-6] + b"}\n"


def beat_json_lines(beats: Sequence[BeatArgs]) -> bytes:
    """The ``--jsonl`` lines of a run of beats: the bytes of :func:`beat_json_line` of each, joined,
    written by one orjson call for each stretch of beats of one phase (:func:`_run_lines`; a
    stretch it cannot prove goes beat by beat). A beat that ``json.dumps`` refuses (NaN) raises
    as it would alone; the lines before it are then lost with the run, so :meth:`JsonlSink.on_beats`
    writes such a run beat by beat."""
    out: list[bytes] = []
    i, n = 0, len(beats)
    while i < n:
        phase = beats[i][1]
        dicts: list[dict[str, Any]] = []
        j = i
        while j < n and beats[j][1] == phase and type(beats[j][1]) is type(phase):  # (1 == True: not one phase)
            d = _beat_dict(beats[j][2])
            if d is None:
                break
            dicts.append(d)
            j += 1
        if len(dicts) > 1:  # beats i..j-1: one phase, each values a dict
            lines = _run_lines(_beat_head(phase), dicts)
            out.append(lines if lines is not None else b"".join(beat_json_line(p, v) for _, p, v in beats[i:j]))
            i = j
        else:
            _, p, v = beats[i]
            out.append(beat_json_line(p, v))
            i += 1
    return b"".join(out)


class JsonlSink:
    """One JSON object per line: ``{"type": "beat", "phase": ..., <per-beat indices>}`` for every
    beat (the keys of ``biofeedback analyze --per-beat --jsonl``), and
    ``{"type": "event", "t_s": ..., "kind": ..., "phase": ..., "data": {...}}`` for every event."""

    def __init__(self, out: IO[str]):
        self.out = out

    def on_beat(self, indices: BeatIndices, phase: str | None, values: Mapping[str, Any]) -> None:
        self.out.write(beat_json_line(phase, values).decode())

    def on_beats(self, beats: Sequence[BeatArgs]) -> None:
        """The lines of a run of beats, written in one call (:func:`beat_json_lines`). A run with a
        beat ``json.dumps`` refuses (NaN) is written beat by beat: the lines before it are written
        before the error goes on, as with ``on_beat``."""
        try:
            text = beat_json_lines(beats)
        except Exception:
            for indices, phase, values in beats:
                self.on_beat(indices, phase, values)
            return
        self.out.write(text.decode())

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
